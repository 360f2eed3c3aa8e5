//! Edges of the command line: output into a closed pipe, and builds that
//! must not depend on where or in which environment they run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `neurtl estimate … | head -0`: the reader is gone before the first
/// line; neurtl ends quietly (by SIGPIPE, as `cat` does), not with a
/// panic message.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        vec!["estimate", "examples/jet_tagger/model.json"],
        vec!["inspect", "examples/muon_tracker/model.json"],
    ] {
        let mut child = common::neurtl_command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.is_empty(), "{args:?} wrote to stderr: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{args:?}: {:?}",
                out.status
            );
        }
    }
}

/// Every file of `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Each example compiled twice, from two working directories, into
/// differently named directories and under another environment: the
/// same bytes. (The report names the model file as it was given, so both
/// runs give the same absolute path.)
#[test]
fn builds_are_byte_identical_wherever_they_run() {
    let tmp = tempfile::tempdir().unwrap();
    for ex in ["jet_tagger", "bnn_digits", "muon_tracker", "conv_digits"] {
        let abs = root().join(format!("examples/{ex}/model.json"));
        let a = tmp.path().join(format!("{ex}_a"));
        let b = tmp.path().join("elsewhere").join(format!("{ex}_second"));
        let run = |model: &Path, out: &Path, cwd: &Path, env: &[(&str, &str)]| {
            let args = [
                "compile",
                model.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ];
            let o = common::neurtl_command(&args)
                .current_dir(cwd)
                .envs(env.iter().copied())
                .output()
                .unwrap();
            common::stdout_of(o, ex);
        };
        run(&abs, &a, &root(), &[]);
        std::fs::create_dir_all(b.parent().unwrap()).unwrap();
        let env = [
            ("TZ", "Asia/Tokyo"),
            ("LC_ALL", "C"),
            ("RAYON_NUM_THREADS", "1"),
        ];
        run(&abs, &b, tmp.path(), &env);
        let (ta, tb) = (tree(&a), tree(&b));
        let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ta), names(&tb), "{ex}: different files");
        for ((p, x), (_, y)) in ta.iter().zip(&tb) {
            assert!(x == y, "{ex}: {} differs between the builds", p.display());
        }
    }
}

/// Layer, input and model names that are Verilog keywords, comment ends,
/// backslashes, quotes, newlines, non-ASCII, 10,000 characters long, or
/// equal after legalization: the Verilog is lint-clean and carries none
/// of them (so none can inject code), the harness's C header spells each
/// output's name so that a C++ compiler reads back the original, and
/// report.json names every output by its original name.
#[test]
fn hostile_names_give_lint_clean_verilog() {
    let names = [
        "module".to_string(),
        "a */ b".into(),
        "back\\slash".into(),
        "quo\"te".into(),
        "new\nline // x".into(),
        "ünï".into(),
        "L".repeat(10_000),
        "fc 1".into(),
        "fc_1".into(),
        "FC_1".into(),
        "endmodule".into(),
        "$display(\"pwn\");".into(),
    ];
    let mut layers = vec![];
    let mut prev = "wire".to_string();
    for (i, n) in names.iter().enumerate() {
        let w = if i == 0 {
            serde_json::json!([[0.5, -0.25, 0.875], [0.25, 0.5, -1.0]])
        } else {
            serde_json::json!([[0.5, -0.25], [0.75, 0.875]])
        };
        layers.push(serde_json::json!({
            "name": n, "op": "dense", "input": prev, "units": 2, "weights": w,
            "weight_type": "fixed<4,1>", "output_type": "fixed<8,3,rnd,sat>"}));
        prev = n.clone();
    }
    let outputs = [
        prev.clone(),
        "fc 1".into(),
        "ünï".into(),
        "new\nline // x".into(),
        "quo\"te".into(),
        "back\\slash".into(),
    ];
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "module\n*/ evil",
        "inputs": [{"name": "wire", "shape": [3], "type": "fixed<6,3>"}],
        "layers": layers, "outputs": outputs,
    });
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("names.json");
    std::fs::write(&path, model.to_string()).unwrap();
    let out = tmp.path().join("b");
    common::neurtl_ok(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let got: Vec<&str> = report["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, outputs.iter().map(String::as_str).collect::<Vec<_>>());
    let top = report["top"].as_str().unwrap();
    assert!(
        top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{top}"
    );
    let mut sources = vec![];
    let verilog = std::fs::read_dir(out.join("rtl"))
        .unwrap()
        .chain(std::fs::read_dir(out.join("tb")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "v"));
    for p in verilog {
        let text = std::fs::read_to_string(&p).unwrap();
        for bad in ["pwn", "*/ b", "slash", "quo", "ünï", "LLLLLLLL"] {
            assert!(!text.contains(bad), "{} holds `{bad}`", p.display());
        }
        if p.parent().unwrap().ends_with("rtl") {
            sources.push(p);
        }
    }
    assert_eq!(c_header_names(&out.join("tb/tb_config.h")), {
        // one entry per element of each (two-element) output
        outputs
            .iter()
            .flat_map(|o| [o.clone(), o.clone()])
            .collect::<Vec<_>>()
    });
    let lint = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", top])
        .args(&sources)
        .output()
        .expect("verilator (make setup installs it)");
    assert!(
        lint.status.success() && lint.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// The output names of a harness header, as a C++ compiler reads them.
fn c_header_names(header: &Path) -> Vec<String> {
    let dir = header.parent().unwrap();
    let main = dir.join("names.cpp");
    std::fs::write(
        &main,
        "#include <cstdio>\n#include \"tb_config.h\"\nint main() { for (int i = 0; i < TB_N_OUT_FIELDS; i++) { fputs(TB_OUT_FIELDS[i].name, stdout); fputc(0, stdout); } }\n",
    )
    .unwrap();
    let exe = dir.join("names");
    let cc = Command::new("g++")
        .arg("-o")
        .arg(&exe)
        .arg(&main)
        .output()
        .expect("g++");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(run.stdout).unwrap();
    text.split('\0')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Weights written with all 17 significant digits (32-bit codes on a
/// 2^-22 grid) parse to exactly the code they name: the JSON reader must
/// round its decimal-to-binary conversion correctly, or a truncating
/// weight type turns a one-ulp error into a whole LSB. The reference is
/// the integer code each weight was made from.
#[test]
fn weights_with_seventeen_digits_parse_exactly() {
    let mut rng = neurtl::vectors::Rng::new(17);
    let n = 64;
    let codes: Vec<Vec<i64>> = (0..32)
        .map(|_| {
            (0..n)
                .map(|_| rng.range(-(1 << 31), (1 << 31) - 1) as i64)
                .collect()
        })
        .collect();
    let rows: Vec<String> = codes
        .iter()
        .map(|r| {
            let v: Vec<String> = r
                .iter()
                .map(|&c| format!("{:?}", c as f64 / 4194304.0))
                .collect();
            format!("[{}]", v.join(","))
        })
        .collect();
    let text = format!(
        r#"{{"format": "neurtl-model", "version": 1, "name": "digits",
        "inputs": [{{"name": "x", "shape": [{n}], "type": "fixed<8,4>"}}],
        "layers": [{{"name": "fc", "op": "dense", "input": "x", "units": 32,
          "weight_type": "fixed<32,10,trn>", "weights": [{}]}}],
        "outputs": ["fc"]}}"#,
        rows.join(",")
    );
    let c = neurtl::compile::compile_text("digits.json", &text, Default::default(), None).unwrap();
    let fc = c.graph.node(c.graph.find("fc").unwrap());
    let neurtl::ir::Op::Dense(d) = &fc.op else {
        unreachable!()
    };
    let q = &d.quant.as_ref().unwrap().weights;
    for (j, (got, want)) in q.iter().zip(&codes).enumerate() {
        let want: Vec<i128> = want.iter().map(|&c| c as i128).collect();
        assert_eq!(got.to_dense(), want, "row {j}");
    }
}

/// Numbers at the edges, in RTL against the golden model: an 80-bit exact
/// accumulator (48-bit inputs, 32-bit weights), casts to a type with
/// I < 0 and one with I > W, and 1-bit types. The golden model's wide
/// sums are checked against i128 arithmetic first, so the RTL is not
/// only compared with itself.
#[test]
fn wide_accumulators_and_odd_formats_match_in_rtl() {
    let mut rng = neurtl::vectors::Rng::new(3);
    let w: Vec<Vec<i128>> = (0..2)
        .map(|_| {
            (0..3)
                .map(|_| rng.range(-(1 << 31), (1 << 31) - 1))
                .collect()
        })
        .collect();
    let wf: Vec<Vec<f64>> = w
        .iter()
        .map(|r| r.iter().map(|&c| c as f64 / 4194304.0).collect())
        .collect();
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "edges",
        "inputs": [{"name": "a", "shape": [3], "type": "fixed<48,20>"},
                   {"name": "b", "shape": [2], "type": "ufixed<1,1>"}],
        "layers": [
            {"name": "wide", "op": "dense", "input": "a", "units": 2, "weights": wf,
             "weight_type": "fixed<32,10>"},
            {"name": "small", "op": "quantize", "input": "wide", "output_type": "fixed<8,-2,rnd,sat>"},
            {"name": "coarse", "op": "quantize", "input": "wide",
             "output_type": "fixed<4,8,rnd_inf,sat_sym>"},
            {"name": "bits", "op": "dense", "input": "b", "units": 2,
             "weights": [[1.0, -1.0], [0.5, 0.5]], "weight_type": "fixed<3,2>",
             "output_type": "fixed<1,1,trn,wrap>"}],
        "outputs": ["wide", "small", "coarse", "bits"],
    });
    let text = model.to_string();
    let c = neurtl::compile::compile_text("edges.json", &text, Default::default(), None).unwrap();
    let g = c.golden().unwrap();
    assert_eq!(g.output_formats[0].0.width, 80, "an 80-bit accumulator");
    let inputs = neurtl::vectors::random(&g.input_formats, 2000, 9);
    let mut out = vec![];
    g.run_batch(&inputs, &mut out);
    let per_out = out.len() / 2000;
    for (s, x) in inputs.chunks(5).enumerate() {
        for j in 0..2 {
            let exact: i128 = (0..3).map(|i| w[j][i] * x[i]).sum();
            assert_eq!(out[s * per_out + j], exact, "sample {s} neuron {j}");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("edges.json");
    std::fs::write(&path, &text).unwrap();
    let build = tmp.path().join("b");
    let stdout = common::neurtl_ok(&["run", path.to_str().unwrap(), "-o", build.to_str().unwrap()]);
    common::assert_no_mismatches(&stdout, "edges");
}

/// A table whose operand's interval is wider than the table (a ROM
/// address cut to fewer bits than the value has) left the cut bits
/// unread and unsunk: Verilator's `-Wall` warned. Found by the first
/// campaign (job 13: `random_conv(14)`, `--pipeline none`).
#[test]
fn a_cut_table_address_is_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("conv.json");
    std::fs::write(&model, neurtl::testgen::random_conv(14).to_string()).unwrap();
    let out = dir.path().join("build");
    let (m, o) = (model.to_str().unwrap(), out.to_str().unwrap());
    common::neurtl_ok(&[
        "compile",
        m,
        "-o",
        o,
        "--pipeline",
        "none",
        "--vectors",
        "1",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let top = report["top"].as_str().unwrap();
    // -Wall warnings are fatal: any one fails the lint
    if let Err(e) = neurtl::sim::lint(&out, top) {
        panic!("{e}");
    }
}

/// Every rounding mode on every value of an 8-bit input, two fraction
/// bits dropped: the ties (x.5 in output steps) in both signs, and the
/// values on either side of them. The golden model is checked against
/// rounding written out here with integer division, the RTL against the
/// golden model.
#[test]
fn rounding_ties_in_every_mode_match_in_rtl() {
    use neurtl::fixed::QuantMode;
    let modes = QuantMode::ALL.map(QuantMode::name);
    let layers: Vec<_> = modes
        .iter()
        .map(|m| {
            serde_json::json!({"name": format!("q_{m}"), "op": "quantize", "input": "x",
                               "output_type": format!("fixed<8,6,{m},wrap>")})
        })
        .collect();
    let outputs: Vec<_> = modes.iter().map(|m| format!("q_{m}")).collect();
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "ties",
        "inputs": [{"name": "x", "shape": [1], "type": "fixed<8,4>"}],
        "layers": layers, "outputs": outputs,
    });
    let inputs: Vec<i128> = (-128..128).collect();
    let dir = tempfile::tempdir().unwrap();
    let got = common::rtl_on_inputs(&model, &inputs, dir.path());
    let mut ties = 0;
    for (s, &raw) in inputs.iter().enumerate() {
        // raw / 4 in output steps: floor, remainder in quarters
        let (floor, rem) = (raw.div_euclid(4), raw.rem_euclid(4));
        ties += (rem == 2) as usize;
        let above_half = rem == 3;
        let want = |m: QuantMode| -> i128 {
            let up = match m {
                QuantMode::Trn => false,
                QuantMode::TrnZero => raw < 0 && rem != 0,
                QuantMode::Rnd => rem >= 2,
                QuantMode::RndZero => above_half || (rem == 2 && raw < 0),
                QuantMode::RndInf => above_half || (rem == 2 && raw > 0),
                QuantMode::RndMinInf => above_half,
                QuantMode::RndConv => above_half || (rem == 2 && floor % 2 != 0),
            };
            floor + up as i128
        };
        for (k, m) in QuantMode::ALL.into_iter().enumerate() {
            assert_eq!(got[s * modes.len() + k], want(m), "{m:?} of {raw}/16");
        }
    }
    assert_eq!(ties, 64, "a tie every four codes");
}

/// Accumulators near the widest neurtl builds (partial sums below 2^124
/// in magnitude): 64-bit inputs and weights of 2^59 give sums of 2^123
/// (124 bits with the sign), which match in RTL and equal i128
/// arithmetic. Weights of 2^60 reach 2^124 and are refused by name, not
/// wrapped.
#[test]
fn the_widest_accumulator_works_and_one_bit_more_is_a_named_error() {
    let model = |w: f64| {
        serde_json::json!({
            "format": "neurtl-model", "version": 1, "name": "widest",
            "inputs": [{"name": "x", "shape": [2], "type": "fixed<64,64>"}],
            "layers": [{"name": "acc", "op": "dense", "input": "x", "units": 2,
                        "weights": [[w, w], [w, -w]], "weight_type": "fixed<64,64>"}],
            "outputs": ["acc"],
        })
    };
    let w = 2f64.powi(59);
    let mut rng = neurtl::vectors::Rng::new(5);
    let top = i64::MAX as i128;
    let mut inputs = vec![-top - 1, -top - 1, top, top, -top - 1, top];
    inputs.extend((0..400).map(|_| rng.range(-top - 1, top)));
    let dir = tempfile::tempdir().unwrap();
    let got = common::rtl_on_inputs(&model(w), &inputs, dir.path());
    let w = 1i128 << 59;
    for (s, x) in inputs.chunks(2).enumerate() {
        assert_eq!(got[2 * s], w * x[0] + w * x[1], "sample {s} sum");
        assert_eq!(got[2 * s + 1], w * x[0] - w * x[1], "sample {s} difference");
    }
    assert_eq!(got[0], -(1i128 << 123), "the most negative sum is reached");
    let path = dir.path().join("widest.json");
    std::fs::write(&path, model(2f64.powi(60)).to_string()).unwrap();
    let o = common::neurtl_command(&["compile", path.to_str().unwrap(), "-o"])
        .arg(dir.path().join("b2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in ["widest.json", "layer `acc`", "127 bits"] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
}
