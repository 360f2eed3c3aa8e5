//! The fuzzers' inputs, replayed through the checks the fuzz targets run
//! (`neurtl::fuzzing`): the crashes they found (fixed since, each a
//! regression test now) and the minimized corpus of each target, so
//! `make test` covers every behaviour the fuzzers reached without
//! needing the nightly toolchain. See docs/verification.md.

use std::path::{Path, PathBuf};

fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Every file of the target's corpus and regressions through `check`,
/// naming the file that panics.
fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let all: Vec<PathBuf> = ["regressions", "corpus"]
        .iter()
        .flat_map(|k| files(k, target))
        .collect();
    for f in &all {
        let bytes = std::fs::read(f).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(r.is_ok(), "{} panicked", f.display());
    }
    all.len()
}

#[test]
fn model_json_inputs_replay() {
    let n = replay("model_json", |b| {
        if let Ok(t) = std::str::from_utf8(b) {
            neurtl::fuzzing::compile_and_check(t)
        }
    });
    assert!(n > 0, "no model_json inputs committed");
}

#[test]
fn onnx_import_inputs_replay() {
    let n = replay("onnx_import", neurtl::fuzzing::import_and_check);
    assert!(n > 0, "no onnx_import inputs committed");
}

mod common;

#[test]
fn compile_random_inputs_replay() {
    let n = replay("compile_random", |b| {
        let (model, opts, seed) = common::fuzz_case(b);
        assert!(
            neurtl::fuzzing::check_text(&model.to_string(), opts, seed),
            "a generated network does not compile"
        );
    });
    assert!(n > 0, "no compile_random inputs committed");
}
