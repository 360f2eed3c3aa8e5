//! The examples' claims, checked without a simulator: what their READMEs
//! state about the schedule and the golden model must stay true as the
//! compiler changes (the RTL side is `neurtl run`'s, in the READMEs).

use neurtl::compile::{compile_file, describe};
use neurtl::ir::CompileOptions;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An example's compiled model and its golden outputs, as real values,
/// on the example's `x_test.csv`.
fn golden_on_test_set(dir: &Path) -> (neurtl::compile::Compiled, Vec<f64>) {
    let c = compile_file(&dir.join("model.json"), CompileOptions::default(), None).unwrap();
    let csv = dir.join("x_test.csv");
    let table = neurtl::vectors::read_table(&csv).unwrap();
    let raw = neurtl::vectors::table_to_raw(&csv, &table, &c.input_types(), false).unwrap();
    let out = neurtl::metrics::golden_outputs(&c.golden().unwrap(), &raw);
    (c, out)
}

/// The muon tracker at 160 MHz: the schedule meets the clock by the delay
/// model in at most 15 cycles (93.75 ns, under the 100 ns budget).
#[test]
fn muon_tracker_answers_in_under_100_ns_at_160_mhz() {
    let opts = CompileOptions {
        clock_period_ps: 6250,
        ..Default::default()
    };
    let c = compile_file(&root().join("examples/muon_tracker/model.json"), opts, None).unwrap();
    let info = describe(&c).unwrap();
    assert!(info.latency <= 15, "{} cycles", info.latency);
    assert_eq!(info.ii, 1);
    // the 7-series model's slowest path into a flip-flop
    let slowest = info.timing.critical.msb[0];
    assert!(slowest <= 6.25, "critical path {slowest} ns");
}

/// The golden model's angle resolution on the muon test set: the RMS of
/// Δθ within 30 mrad, as the README states it (5.87 mrad).
#[test]
fn muon_tracker_resolution_is_as_stated() {
    let dir = root().join("examples/muon_tracker");
    let (c, out) = golden_on_test_set(&dir);
    let theta = neurtl::metrics::first_output(&c.graph, &out);
    let targets =
        neurtl::metrics::read_targets(&dir.join("theta_test.csv"), theta.len(), false).unwrap();
    let r = neurtl::metrics::resolution(&theta, &targets, Some(30.0));
    assert_eq!(r.total, 1000);
    assert!((r.rms - 5.8731).abs() < 5e-4 && r.kept == 999, "{r:?}");
}

/// conv_digits' golden accuracy on its 450 test images, as its README
/// states it (96.67 %, 435 of 450).
#[test]
fn conv_digits_accuracy_is_as_stated() {
    let dir = root().join("examples/conv_digits");
    let (c, out) = golden_on_test_set(&dir);
    let labels = neurtl::metrics::read_labels(&dir.join("y_test.csv"), 450, false).unwrap();
    let acc = neurtl::metrics::accuracy(&neurtl::metrics::predictions(&c.graph, &out), &labels);
    assert_eq!((acc.correct, acc.total), (435, 450));
}
