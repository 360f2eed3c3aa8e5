//! Shared by the integration tests: the random-network generators of the
//! property tests (`neurtl::testgen`, which the fuzz targets and
//! `neurtl campaign` share), and running the `neurtl` binary.

#![allow(dead_code)]

#[allow(unused_imports)]
pub use neurtl::testgen::*;

use std::process::{Command, Output};

/// The `neurtl` binary with `args`, to run from the crate root.
pub fn neurtl_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neurtl"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The standard output of a run that must have succeeded; otherwise the
/// test fails showing `what` and both streams.
pub fn stdout_of(out: Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Run `neurtl args`, which must succeed, and return its standard output.
pub fn neurtl_ok(args: &[&str]) -> String {
    stdout_of(
        neurtl_command(args).output().unwrap(),
        &format!("neurtl {args:?}"),
    )
}

/// The summary `neurtl run` printed must count 0 RTL mismatches.
pub fn assert_no_mismatches(stdout: &str, what: &str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("mismatches"))
        .unwrap_or_else(|| panic!("{what}: no mismatch count in\n{stdout}"));
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{what}: {line}");
}

/// Compile `model` into `dir` with `inputs` as its test vectors (raw
/// values, one sample after another) and run them in Verilator; panics
/// unless every output matched the golden model. Returns the golden
/// outputs for an independent check.
pub fn rtl_on_inputs(
    model: &serde_json::Value,
    inputs: &[i128],
    dir: &std::path::Path,
) -> Vec<i128> {
    let text = model.to_string();
    let c = neurtl::compile::compile_text("model.json", &text, Default::default(), None).unwrap();
    let g = c.golden().unwrap();
    let per_sample: usize = g.input_formats.iter().map(|f| f.1).sum();
    let n = inputs.len() / per_sample;
    let out = neurtl::compile::generate(&c, n).unwrap();
    let mut files = out.design.files.clone();
    files.extend(neurtl::compile::vector_files(&g, &out.design.info, inputs));
    neurtl::compile::write_files(dir, &files).unwrap();
    let r = neurtl::sim::simulate(dir, &out.design.info.top, neurtl::sim::Simulator::Verilator)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.vectors as usize, n, "vectors simulated");
    assert_eq!(r.mismatches, 0, "RTL mismatches:\n{}", r.details.join("\n"));
    let mut golden = vec![];
    g.run_batch(inputs, &mut golden);
    golden
}
