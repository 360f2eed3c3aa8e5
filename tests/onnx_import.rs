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

mod common;

const FIXTURES: &[&str] = &[
    "float_mlp_gemm",
    "matmul_add",
    "qonnx_mlp",
    "bnn_tfc",
    "qonnx_trunc_v1",
    "qonnx_trunc_v2",
    "slice_prelu",
    "qonnx_conv2d",
    "qonnx_conv1d_tables",
];

/// Fixtures whose neurtl model approximates the executor within a stated
/// bound: a softmax (see docs/model-format.md).
const APPROXIMATE: &[&str] = &["qonnx_softmax"];

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

/// The golden model's outputs on a fixture's inputs, as reals, and the
/// executor's.
fn golden_and_executor(name: &str, tmp: &Path) -> (Vec<f64>, neurtl::vectors::Table) {
    let c = compile_file(
        &dir().join(format!("{name}.onnx")),
        CompileOptions::default(),
        None,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs = inputs_for(name, tmp);
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
    (got, want)
}

/// The softmax fixture: every output within the softmax's stated bound
/// of the executor's (plus the executor's own half LSB of rounding), and
/// no pair of outputs in the opposite order from the executor's.
#[test]
fn softmax_stays_within_its_bound_of_the_executor() {
    let tmp = tempfile::tempdir().unwrap();
    for name in APPROXIMATE {
        let c = compile_file(
            &dir().join(format!("{name}.onnx")),
            CompileOptions::default(),
            None,
        )
        .unwrap();
        let plans: Vec<_> = c
            .graph
            .topo()
            .into_iter()
            .filter_map(|i| match &c.graph.node(i).op {
                neurtl::ir::Op::Softmax(s) => s.plan.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(plans.len(), 1, "{name}: one softmax");
        let out = c.golden().unwrap().output_formats[0].0;
        let bound = plans[0].error_bound() + 2f64.powi(-out.frac) / 2.0;
        let (got, want) = golden_and_executor(name, tmp.path());
        let mut worst = 0f64;
        for (g, w) in got.chunks(want.cols).zip(want.values.chunks(want.cols)) {
            for i in 0..want.cols {
                assert!((0.0..=1.0).contains(&g[i]), "{name}: {g:?} leaves [0, 1]");
                worst = worst.max((g[i] - w[i]).abs());
                for j in 0..want.cols {
                    assert!(
                        !(w[i] > w[j] && g[i] < g[j]),
                        "{name}: outputs {i} and {j} reordered: neurtl {g:?}, executor {w:?}"
                    );
                }
            }
        }
        assert!(
            worst <= bound,
            "{name}: error {worst} above the bound {bound}"
        );
        eprintln!("{name}: max |neurtl − executor| = {worst:.3e}, bound {bound:.3e}");
    }
}

#[test]
fn golden_model_equals_the_independent_executor() {
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let (got, want) = golden_and_executor(name, tmp.path());
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
    for name in FIXTURES.iter().chain(APPROXIMATE) {
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
        let stdout = common::stdout_of(out, &format!("{name}: neurtl run"));
        common::assert_no_mismatches(&stdout, name);
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
        g.node.push(node("Resize", "conv1", &["y"], &["z"]));
        g.node.push(node("LSTM", "sm", &["z"], &["p"]));
        g.output[0].name = Some("p".into());
    }));
    assert!(
        e.contains("2 unsupported nodes")
            && e.contains("Resize `conv1`")
            && e.contains("LSTM `sm`"),
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
    for name in FIXTURES.iter().chain(APPROXIMATE) {
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

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(7),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(2),
        i: Some(v),
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(3),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// W[f][c][i][j] of the convolution model: `k / 64` for flat index `k`.
fn conv_weight(f: usize, c: usize, i: usize, j: usize) -> f64 {
    (((f * 2 + c) * 3 + i) * 3 + j) as f64 / 64.0
}

/// x [N, 2, 5, 5] → Conv(W [3, 2, 3, 3], pads 1) → y, then `edit`, which
/// may append nodes reading `y` and rename the graph output.
fn conv_model(edit: impl FnOnce(&mut GraphProto)) -> Vec<u8> {
    let mut conv = node("Conv", "conv", &["x", "W"], &["y"]);
    conv.attribute.push(attr_ints("pads", &[1, 1, 1, 1]));
    let w: Vec<f32> = (0..54).map(|k| k as f32 / 64.0).collect();
    let mut g = GraphProto {
        name: Some("c".into()),
        node: vec![conv],
        initializer: vec![tensor("W", &[3, 2, 3, 3], &w)],
        input: vec![input("x", &[sym("N"), dim(2), dim(5), dim(5)])],
        output: vec![input("y", &[sym("N"), dim(3), dim(5), dim(5)])],
        ..Default::default()
    };
    edit(&mut g);
    ModelProto::with_graph(g, 13).encode_to_vec()
}

/// `conv_model` with one more node `op` reading `y`, its output the graph's.
fn conv_then(op: &str, attrs: Vec<AttributeProto>, extra: &[&str]) -> Vec<u8> {
    conv_model(|g| {
        let mut ins = vec!["y"];
        ins.extend(extra);
        let mut n = node(op, "next", &ins, &["z"]);
        n.attribute = attrs;
        g.node.push(n);
        g.output[0].name = Some("z".into());
    })
}

#[test]
fn convolutions_import_channels_last_with_their_kernel_reordered() {
    let ok = import(&conv_model(|_| {}), &ImportOptions::default()).unwrap();
    let layers = ok.model["layers"].as_array().unwrap();
    let ops: Vec<&str> = layers.iter().map(|l| l["op"].as_str().unwrap()).collect();
    // the input goes channels-last, the result comes back for the output
    assert_eq!(ops, ["transpose", "conv2d", "transpose"], "{layers:?}");
    let conv = &layers[1];
    assert_eq!(conv["padding"], serde_json::json!([[1, 1], [1, 1]]));
    assert_eq!(conv["filters"], 3);
    // neurtl's kernel is [filters][i][j][channels]
    for (f, c, i, j) in [(1, 1, 2, 0), (2, 0, 1, 2), (0, 1, 0, 0)] {
        let got = conv["weights"][f][i][j][c].as_f64().unwrap();
        assert_eq!(got, conv_weight(f, c, i, j), "w[{f}][{c}][{i}][{j}]");
    }
    // and back to ONNX's [C, H, W] order: output axis 0 is input axis 2
    assert_eq!(layers[2]["perm"], serde_json::json!([2, 0, 1]));
}

#[test]
fn convolutions_and_pools_that_cannot_be_imported_say_why() {
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (
            model(|g| {
                g.node.push(node("MaxPool", "next", &["y"], &["z"]));
                g.output[0].name = Some("z".into());
            }),
            &["next (MaxPool node)", "got a sample of shape [3]"],
        ),
        (
            conv_model(|g| g.node[0].attribute.push(attr_int("group", 4))),
            &["conv (Conv node)", "group 4"],
        ),
        (
            conv_model(|g| g.node[0].attribute.push(attr_ints("kernel_shape", &[2, 2]))),
            &["kernel_shape", "disagrees"],
        ),
        (
            conv_model(|g| g.node[0].attribute[0] = attr_ints("pads", &[1, 1])),
            &["pads", "must be 4 integers"],
        ),
        (
            conv_model(|g| g.node[0].attribute.push(attr_str("auto_pad", "MIDDLE"))),
            &["auto_pad", "MIDDLE"],
        ),
        (
            conv_then(
                "MaxPool",
                vec![attr_ints("kernel_shape", &[2, 2]), attr_int("ceil_mode", 1)],
                &[],
            ),
            &["next (MaxPool node)", "ceil_mode"],
        ),
        (
            conv_then(
                "AveragePool",
                vec![
                    attr_ints("kernel_shape", &[2, 2]),
                    attr_ints("dilations", &[2, 2]),
                ],
                &[],
            ),
            &["dilation"],
        ),
        (
            conv_then("MaxPool", vec![attr_ints("kernel_shape", &[9, 9])], &[]),
            &["kernel_shape", "spans 9 elements"],
        ),
        (
            conv_then("Gelu", vec![attr_str("approximate", "tanh")], &[]),
            &["next (Gelu node)", "approximate"],
        ),
        (
            conv_then("Softmax", vec![attr_int("axis", 2)], &[]),
            &["next (Softmax node)", "axis 2"],
        ),
        (
            conv_then("Transpose", vec![attr_ints("perm", &[1, 0, 2, 3])], &[]),
            &["next (Transpose node)", "keeps the batch"],
        ),
        (
            conv_model(|g| {
                g.node.push(node("Mul", "next", &["y", "s"], &["z"]));
                g.initializer.push(tensor("s", &[5], &[1.0; 5]));
                g.output[0].name = Some("z".into());
            }),
            &["next (Mul node)", "one value per channel"],
        ),
    ];
    for (bytes, want) in cases {
        let e = err(&bytes);
        assert!(want.iter().all(|w| e.contains(w)), "{want:?} not in: {e}");
    }
}
