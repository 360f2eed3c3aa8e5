//! ONNX/QONNX import: every committed fixture's golden-model outputs equal
//! those of an independent executor (onnxruntime, or qonnx's executor),
//! the imported designs match the golden model in Verilator, and broken
//! files are rejected with an error, never a panic.
//!
//! Fixtures and the script that made them: tests/fixtures/onnx/.

use neurtl::compile::compile_file;
use neurtl::frontend::onnx::proto::*;
use neurtl::frontend::onnx::{ImportOptions, import};
use neurtl::golden::wire_to_real;
use neurtl::ir::CompileOptions;
use neurtl::vectors::{read_table, table_to_raw};
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &[&str] = &[
    "float_mlp_gemm",
    "matmul_add",
    "qonnx_mlp",
    "bnn_tfc",
    "qonnx_trunc_v1",
    "qonnx_trunc_v2",
    "slice_prelu",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

/// Bipolar inputs take ±1: the sign QONNX's BipolarQuant applies (0 → +1).
/// Other inputs are passed as they are. Returns the path of the inputs.
fn inputs_for(name: &str, tmp: &Path) -> PathBuf {
    let src = dir().join(format!("{name}.inputs.csv"));
    let c = compile_file(
        &dir().join(format!("{name}.onnx")),
        CompileOptions::default(),
        None,
    )
    .unwrap();
    if !c.input_types().iter().any(|t| t.bipolar) {
        return src;
    }
    let text = std::fs::read_to_string(&src).unwrap();
    let signs: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| {
                    if v.trim().parse::<f64>().unwrap() >= 0.0 {
                        "1"
                    } else {
                        "-1"
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let p = tmp.join(format!("{name}.signs.csv"));
    std::fs::write(&p, signs.join("\n")).unwrap();
    p
}

#[test]
fn golden_model_equals_the_independent_executor() {
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let c = compile_file(
            &dir().join(format!("{name}.onnx")),
            CompileOptions::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let inputs = inputs_for(name, tmp.path());
        let t = read_table(&inputs).unwrap();
        let raw_in = table_to_raw(&inputs, &t, &c.input_types(), false).unwrap();
        let golden = c.golden().unwrap();
        let mut raw_out = vec![];
        golden.run_batch(&raw_in, &mut raw_out);
        let elems = golden.output_elements();
        let got: Vec<f64> = raw_out
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                let (f, bip) = elems[k % elems.len()];
                wire_to_real(v, f, bip)
            })
            .collect();
        let want = read_table(&dir().join(format!("{name}.expected.csv"))).unwrap();
        assert_eq!(want.cols, elems.len(), "{name}: output width");
        assert_eq!(got.len(), want.values.len(), "{name}: sample count");
        assert!(got.len() >= 200 * elems.len(), "{name}: too few samples");
        for (k, (g, w)) in got.iter().zip(&want.values).enumerate() {
            // numeric equality: the executor writes -0.0 where neurtl has 0
            assert!(
                g == w,
                "{name}: sample {} output {}: neurtl {g}, executor {w}",
                k / want.cols,
                k % want.cols
            );
        }
    }
}

/// `neurtl run fixture.onnx --inputs fixture.inputs.csv`: the RTL matches
/// the golden model on the fixture's vectors (plus the edge cases).
#[test]
fn imported_models_match_in_rtl() {
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let inputs = inputs_for(name, tmp.path());
        let out = Command::new(env!("CARGO_BIN_EXE_neurtl"))
            .arg("run")
            .arg(dir().join(format!("{name}.onnx")))
            .arg("-o")
            .arg(tmp.path().join(name))
            .arg("--inputs")
            .arg(&inputs)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: neurtl run failed\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find(|l| l.starts_with("mismatches"))
            .unwrap_or_else(|| panic!("{name}: no mismatch count in\n{stdout}"));
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{name}: {line}");
    }
}

// ---- broken files ------------------------------------------------------

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(1),
        float_data: data.to_vec(),
        name: Some(name.into()),
        ..Default::default()
    }
}

fn input(name: &str, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto::float(name, dims)
}

fn dim(v: i64) -> Dimension {
    Dimension {
        dim_value: Some(v),
        dim_param: None,
    }
}

fn sym(p: &str) -> Dimension {
    Dimension {
        dim_value: None,
        dim_param: Some(p.into()),
    }
}

fn node(op: &str, name: &str, ins: &[&str], outs: &[&str]) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.into()),
        op_type: Some(op.into()),
        ..Default::default()
    }
}

/// x [N, 2] → Gemm(W [3, 2], transB) → y, with the given changes.
fn model(edit: impl FnOnce(&mut GraphProto)) -> Vec<u8> {
    let mut gemm = node("Gemm", "fc", &["x", "W"], &["y"]);
    gemm.attribute.push(AttributeProto {
        name: Some("transB".into()),
        r#type: Some(2),
        i: Some(1),
        ..Default::default()
    });
    let mut g = GraphProto {
        name: Some("m".into()),
        node: vec![gemm],
        initializer: vec![tensor("W", &[3, 2], &[1.0, 0.5, -1.0, 0.25, 2.0, 0.0])],
        input: vec![input("x", &[sym("N"), dim(2)])],
        output: vec![input("y", &[sym("N"), dim(3)])],
        ..Default::default()
    };
    edit(&mut g);
    ModelProto::with_graph(g, 13).encode_to_vec()
}

fn err(bytes: &[u8]) -> String {
    match import(bytes, &ImportOptions::default()) {
        Ok(_) => panic!("imported a broken model"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_model_imports() {
    let m = import(&model(|_| {}), &ImportOptions::default()).unwrap();
    let l = &m.model["layers"][0];
    assert_eq!(l["op"], "dense");
    // Gemm with transB: weights already [units][inputs]
    assert_eq!(l["weights"][2][0], 2.0);
    // the narrowest exact type: quarters (2 fraction bits) up to 2.0 = 8
    // quarters, which needs 5 signed bits
    assert_eq!(l["weight_type"], "fixed<5,3>");
}

#[test]
fn broken_files_give_clear_errors() {
    let good = model(|_| {});
    let e = err(&good[..good.len() / 2]);
    assert!(e.contains("not a readable ONNX protobuf file"), "{e}");
    let e = err(b"this is not protobuf at all");
    assert!(e.contains("ONNX"), "{e}");
    let e = err(&[]);
    assert!(e.contains("no graph"), "{e}");

    let e = err(&model(|g| g.initializer.clear()));
    assert!(e.contains("fc (Gemm node)") && e.contains("`W`"), "{e}");

    let e = err(&model(|g| g.input[0] = input("x", &[sym("N"), sym("F")])));
    assert!(e.contains("dimension 1") && e.contains("`F`"), "{e}");
    let e = err(&model(|g| g.input[0] = input("x", &[dim(8), dim(2)])));
    assert!(e.contains("batch dimension 8"), "{e}");

    let e = err(&model(|g| {
        g.node.push(node("Conv", "conv1", &["y"], &["z"]));
        g.node.push(node("Softmax", "sm", &["z"], &["p"]));
        g.output[0].name = Some("p".into());
    }));
    assert!(
        e.contains("2 unsupported nodes")
            && e.contains("Conv `conv1`")
            && e.contains("Softmax `sm`"),
        "{e}"
    );

    let e = err(&model(|g| {
        g.initializer[0].float_data.pop().map(|_| ()).unwrap()
    }));
    assert!(e.contains("initializer `W` holds 5 values"), "{e}");
    let e = err(&model(|g| {
        g.initializer[0].float_data.clear();
        g.initializer[0].raw_data = Some(vec![0; 7]);
    }));
    assert!(e.contains("7 bytes of raw data"), "{e}");
    let e = err(&model(|g| g.initializer[0].float_data[1] = f32::NAN));
    assert!(e.contains("non-finite"), "{e}");
    let e = err(&model(|g| g.initializer[0].data_location = Some(1)));
    assert!(e.contains("external file"), "{e}");
    let e = err(&model(|g| g.output[0].name = Some("nowhere".into())));
    assert!(e.contains("`nowhere` is made by no node"), "{e}");
    let e = err(&model(|g| {
        g.node[0].attribute.push(AttributeProto {
            name: Some("transA".into()),
            r#type: Some(2),
            i: Some(1),
            ..Default::default()
        })
    }));
    assert!(e.contains("transA"), "{e}");
}

fn int_tensor(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![data.len() as i64],
        data_type: Some(7),
        int64_data: data.to_vec(),
        name: Some(name.into()),
        ..Default::default()
    }
}

/// The base model with `y` [N, 3] sliced: starts, ends, axes, steps.
fn sliced(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> Vec<u8> {
    model(|g| {
        g.node
            .push(node("Slice", "cut", &["y", "s", "e", "a", "st"], &["z"]));
        g.initializer.extend([
            int_tensor("s", starts),
            int_tensor("e", ends),
            int_tensor("a", axes),
            int_tensor("st", steps),
        ]);
        g.output[0].name = Some("z".into());
    })
}

#[test]
fn slices_and_prelus_that_cannot_be_imported_say_why() {
    let ok = import(
        &sliced(&[-2], &[100], &[1], &[1]),
        &ImportOptions::default(),
    )
    .unwrap();
    let l = &ok.model["layers"][1];
    assert_eq!(
        (l["op"].as_str(), l["start"].as_u64(), l["end"].as_u64()),
        (Some("slice"), Some(1), Some(3))
    );
    let e = err(&sliced(&[0], &[3], &[1], &[2]));
    assert!(
        e.contains("cut (Slice node)") && e.contains("step 2"),
        "{e}"
    );
    let e = err(&sliced(&[0], &[1], &[0], &[1]));
    assert!(e.contains("keep the batch"), "{e}");
    let e = err(&sliced(&[2], &[1], &[1], &[1]));
    assert!(e.contains("is empty"), "{e}");
    let e = err(&sliced(&[0, 0], &[1, 1], &[1, 1], &[1, 1]));
    assert!(e.contains("one axis"), "{e}");
    let e = err(&model(|g| {
        g.node.push(node("PRelu", "act", &["y", "slope"], &["z"]));
        g.initializer.push(tensor("slope", &[2], &[0.5, 0.25]));
        g.output[0].name = Some("z".into());
    }));
    assert!(
        e.contains("act (PRelu node)") && e.contains("one per channel of the last axis (3)"),
        "{e}"
    );
}

/// The command line names the file and exits with 2.
#[test]
fn cli_error_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("cut.onnx");
    let good = model(|_| {});
    std::fs::write(&p, &good[..good.len() - 3]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neurtl"))
        .args(["import"])
        .arg(&p)
        .args(["-o"])
        .arg(tmp.path().join("m.json"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("cut.onnx"), "{e}");
}

/// Mutated and truncated fixtures: the importer returns a model or an
/// error, never panics. A small deterministic fuzz run; more with
/// NEURTL_FUZZ_IMPORT=<mutations per fixture> and NEURTL_FUZZ_SEED.
#[test]
fn mutated_files_never_panic() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let per = env("NEURTL_FUZZ_IMPORT", 400);
    let mut rng = neurtl::vectors::Rng::new(env("NEURTL_FUZZ_SEED", 7));
    let mut outcomes = [0usize; 2];
    for name in FIXTURES {
        let bytes = std::fs::read(dir().join(format!("{name}.onnx"))).unwrap();
        for _ in 0..per {
            let mut b = bytes.clone();
            match rng.below(3) {
                0 => b.truncate(rng.below(b.len() as u64) as usize),
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(b.len() as u64) as usize;
                        b[i] ^= 1 << rng.below(8);
                    }
                }
                _ => {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] = rng.below(256) as u8;
                }
            }
            let r = std::panic::catch_unwind(|| import(&b, &ImportOptions::default()).is_ok());
            match r {
                Ok(ok) => outcomes[ok as usize] += 1,
                Err(_) => panic!("{name}: the importer panicked on a mutated file"),
            }
        }
    }
    // Both outcomes occur: mutations in weight bytes still import.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
