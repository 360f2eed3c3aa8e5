//! Golden files reviewed in diffs: the IR after every pass and the
//! generated Verilog of a tiny model. UPDATE_SNAPSHOTS=1 rewrites them (and
//! creates missing ones); without it a missing snapshot is a failure.

use neurtl::compile::{compile_file, generate};
use neurtl::ir::CompileOptions;
use std::path::Path;

fn snapshot(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    // A missing file fails too: writing it here would pass a test that
    // compared nothing (a renamed snapshot, a checkout without the files).
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {name} is missing ({e}); review the output and create it with UPDATE_SNAPSHOTS=1"
        )
    });
    assert_eq!(
        got, want,
        "snapshot {name} changed; review and rerun with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn ir_after_each_pass() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/tiny.json");
    let mut all = String::new();
    for (pass, _) in neurtl::passes::describe() {
        let c = compile_file(&model, CompileOptions::default(), Some(pass)).unwrap();
        all.push_str(&format!("=== after {pass}\n"));
        all.push_str(
            &neurtl::ir::print::print(&c.graph).replace(&model.display().to_string(), "tiny.json"),
        );
    }
    snapshot("tiny.ir.txt", &all);
}

#[test]
fn generated_verilog() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/tiny.json");
    let c = compile_file(&model, CompileOptions::default(), None).unwrap();
    let out = generate(&c, 10).unwrap();
    let mut all = String::new();
    for (path, text) in &out.design.files {
        if path.starts_with("rtl/tiny") {
            all.push_str(&format!("=== {path}\n{text}"));
        }
    }
    snapshot("tiny.v.txt", &all);
    // Deterministic: a second run gives byte-identical files.
    let again = generate(&c, 10).unwrap();
    assert_eq!(out.design.files, again.design.files);
}
