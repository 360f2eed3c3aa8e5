//! Brevitas models with float-scale quantizers, exported by
//! `export_qonnx` (`tests/fixtures/brevitas/make_fixtures.py`, pinned in
//! its requirements.txt). On each fixture's 500 test samples:
//! - the golden model equals the QONNX graph computed with exact
//!   rationals by the script (Python's `Fraction`, sharing nothing with
//!   neurtl), every output bit for bit;
//! - it equals qonnx's float32 executor to float32 precision on every
//!   sample where the executor's codes are the exact ones; the script
//!   counts the others (a float32 rounding crossing a rounding boundary);
//! - its argmax differs from Brevitas' own forward pass on exactly the
//!   samples where the exact graph's does;
//! - `neurtl run` on the .onnx in Verilator finds no mismatch, and its
//!   golden accuracy is the exact graph's.

mod common;

use neurtl::compile::compile_file;
use neurtl::fixed::dyadic::Dyadic;
use neurtl::ir::CompileOptions;
use neurtl::vectors::{read_table, table_to_raw};
use std::path::{Path, PathBuf};

const FIXTURES: [&str; 2] = ["brevitas_int8", "brevitas_int4"];

fn file(name: &str, what: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/brevitas/{name}.{what}"))
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().to_string()).collect())
        .collect()
}

fn floats(path: &Path) -> Vec<Vec<f64>> {
    csv_rows(path)
        .iter()
        .map(|r| r.iter().map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// `m:e`, meaning m · 2^e.
fn dyadic(text: &str) -> Dyadic {
    let (m, e) = text.split_once(':').unwrap();
    Dyadic::from_raw(m.parse().unwrap(), -e.parse::<i32>().unwrap())
}

fn meta(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(file(name, "meta.json")).unwrap()).unwrap()
}

fn indices(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_u64().unwrap() as usize)
        .collect()
}

fn argmax(row: &[f64]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
}

/// The golden model's outputs on the test samples: raw values and their
/// formats.
fn golden(name: &str) -> (Vec<i128>, Vec<neurtl::fixed::Format>) {
    let c = compile_file(&file(name, "onnx"), CompileOptions::default(), None).unwrap();
    let x = file(name, "x_test.csv");
    let raw = table_to_raw(&x, &read_table(&x).unwrap(), &c.input_types(), false).unwrap();
    let g = c.golden().unwrap();
    let mut out = vec![];
    g.run_batch(&raw, &mut out);
    (out, g.output_elements().iter().map(|e| e.0).collect())
}

#[test]
fn golden_equals_the_exact_graph_the_executor_and_brevitas() {
    for name in FIXTURES {
        let (out, fmts) = golden(name);
        let per = fmts.len();
        let exact = csv_rows(&file(name, "exact.csv"));
        assert_eq!(out.len(), exact.len() * per, "{name}");
        let real: Vec<f64> = out
            .iter()
            .enumerate()
            .map(|(k, &r)| fmts[k % per].to_f64(r))
            .collect();
        for (k, &r) in out.iter().enumerate() {
            let want = dyadic(&exact[k / per][k % per]);
            let got = Dyadic::from_raw(r, fmts[k % per].frac);
            assert!(
                got == want,
                "{name} sample {} output {}: golden {} exact {}",
                k / per,
                k % per,
                real[k],
                exact[k / per][k % per]
            );
        }

        let m = meta(name);
        let boundary = indices(&m["float_boundary_samples"]);
        let executor = floats(&file(name, "qonnx.csv"));
        let mut compared = 0;
        for (s, row) in executor
            .iter()
            .enumerate()
            .filter(|(s, _)| !boundary.contains(s))
        {
            for (o, &e) in row.iter().enumerate() {
                let g = real[s * per + o];
                // float32 accumulation of exact products: a few ulps
                assert!(
                    (g - e).abs() <= 1e-5 * (1.0 + e.abs()),
                    "{name} sample {s} output {o}: golden {g} executor {e}"
                );
                compared += 1;
            }
        }
        assert!(compared >= 450 * per, "{name}: {compared}");

        let brevitas = floats(&file(name, "brevitas.csv"));
        let differs: Vec<usize> = (0..brevitas.len())
            .filter(|&s| argmax(&real[s * per..(s + 1) * per]) != argmax(&brevitas[s]))
            .collect();
        assert_eq!(
            differs,
            indices(&m["argmax_differs_from_brevitas"]),
            "{name}"
        );
        eprintln!(
            "{name}: {} samples exact; {} float32 boundary samples; argmax differs from Brevitas on {}",
            exact.len(),
            boundary.len(),
            differs.len()
        );
    }
}

#[test]
fn brevitas_models_run_in_rtl_with_the_exact_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let out = tmp.path().join(name);
        let x = file(name, "x_test.csv");
        let y = file(name, "y_test.csv");
        let onnx = file(name, "onnx");
        let text = common::neurtl_ok(&[
            "run",
            onnx.to_str().unwrap(),
            "--inputs",
            x.to_str().unwrap(),
            "--labels",
            y.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        common::assert_no_mismatches(&text, name);
        let acc = meta(name)["exact_accuracy"].as_f64().unwrap();
        let hits = (acc * 500.0).round() as usize;
        let want = format!("golden model {:.2}% ({hits}/500)", acc * 100.0);
        assert!(text.contains(&want), "{name}: no `{want}` in\n{text}");
    }
}

/// A real-scaled input times bipolar weights keeps its scale: the ±1
/// weights are integers of the product like any others. The importer once
/// let bipolar weights take the plain path and dropped the input's scale.
#[test]
fn bipolar_weights_keep_the_input_scale() {
    let c = compile_file(
        &file("bipolar_weights", "onnx"),
        CompileOptions::default(),
        None,
    )
    .unwrap();
    let s = 0.1f32 as f64;
    // x / 0.1f32 is 2.6, −3.1, 0.4 (codes 3, −3, 0) and 10, 20, −30: no ties
    let x = [0.26, -0.31, 0.04, 1.0, 2.0, -3.0];
    let codes = [[3i64, -3, 0], [10, 20, -30]];
    // sign of W = [[1.5, −2], [−0.5, 3], [2, 1]]
    let w = [[1i64, -1], [-1, 1], [1, 1]];
    let t = neurtl::vectors::Table {
        cols: 3,
        values: x.to_vec(),
    };
    let raw = table_to_raw(Path::new("x.csv"), &t, &c.input_types(), false).unwrap();
    let g = c.golden().unwrap();
    let mut out = vec![];
    g.run_batch(&raw, &mut out);
    let fmts = g.output_elements();
    for (k, q) in codes.iter().enumerate() {
        for o in 0..2 {
            let sum: i64 = (0..3).map(|i| q[i] * w[i][o]).sum();
            let want = Dyadic::from_f64(s).mul(&Dyadic::from_raw(sum as i128, 0));
            let got = Dyadic::from_raw(out[k * 2 + o], fmts[o].0.frac);
            assert!(
                got == want,
                "sample {k} output {o}: {} ≠ {sum}·s",
                fmts[o].0.to_f64(out[k * 2 + o])
            );
        }
    }
}
