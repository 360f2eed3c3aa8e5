//! What the fuzz targets (`fuzz/`) check, kept in the library so the
//! inputs they found replay through the same code in `cargo test`
//! (`tests/fuzz_regressions.rs`).
//!
//! Every check returns normally for a model or an error, and panics only
//! on a defect: a panic inside the compiler, or the datapath interpreter
//! disagreeing with the golden model.

use crate::compile::compile_text;
use crate::datapath::Interpreter;
use crate::frontend::onnx;
use crate::ir::CompileOptions;

/// Past this many input or output elements a model is only compiled, not
/// run: the fuzzer looks for wrong handling of small inputs, and a run
/// over millions of elements would only slow it down.
const MAX_RUN_ELEMENTS: usize = 1 << 14;

/// Vectors run through both models per compiled network.
const VECTORS: usize = 16;

/// Model JSON text: compile it; if it compiles, build its golden model and
/// datapath and check they agree on a few random vectors.
pub fn compile_and_check(text: &str) {
    check_text(text, CompileOptions::default(), 0);
}

/// ONNX bytes: import them; what imports goes through
/// [`compile_and_check`].
pub fn import_and_check(bytes: &[u8]) {
    if let Ok(imp) = onnx::import(bytes, &onnx::ImportOptions::default()) {
        compile_and_check(&imp.model.to_string());
    }
}

/// Compile `text` with `opts` and compare the datapath interpreter with
/// the golden model on random vectors from `seed`. Returns whether the
/// model compiled; panics on a disagreement.
pub fn check_text(text: &str, opts: CompileOptions, seed: u64) -> bool {
    let Ok(c) = compile_text("fuzz.json", text, opts, None) else {
        return false;
    };
    let Ok(golden) = c.golden() else {
        return true;
    };
    let small = c.graph.input_elements() <= MAX_RUN_ELEMENTS
        && c.graph.output_elements() <= MAX_RUN_ELEMENTS;
    if !small {
        return true;
    }
    let Ok(dp) = c.datapath() else {
        return true;
    };
    if let Err(e) = datapath_matches_golden(&golden, &dp, VECTORS, seed) {
        panic!("datapath and golden model disagree: {e}\nmodel: {text}");
    }
    true
}

/// Run `n` random vectors from `seed` through the golden model and the
/// datapath interpreter: the first difference, if any.
pub fn datapath_matches_golden(
    golden: &crate::golden::Golden,
    dp: &crate::datapath::Datapath,
    n: usize,
    seed: u64,
) -> Result<(), String> {
    let inputs = crate::vectors::random(&golden.input_formats, n, seed);
    let (mut want, mut got) = (vec![], vec![]);
    golden.run_batch(&inputs, &mut want);
    Interpreter::new(dp).run_batch(&inputs, &mut got);
    if want.len() != got.len() {
        return Err(format!("{} outputs, golden has {}", got.len(), want.len()));
    }
    let per = golden.output_len().max(1);
    match want.iter().zip(&got).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!(
            "sample {} output {}: datapath {} golden {}",
            i / per,
            i % per,
            got[i],
            want[i]
        )),
    }
}
