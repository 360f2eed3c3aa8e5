//! The testbenches catch timing faults, not only wrong values: designs
//! built correctly, then broken by hand in the build directory, must make
//! `neurtl simulate` fail in both simulators with the measured number.
//! A testbench that took its latency or II from the compiler would pass
//! them.

mod common;

use std::path::Path;

/// Replace `from` (which must occur) by `to` in a build directory's file.
fn break_rtl(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`:\n{text}");
    std::fs::write(&p, text.replace(from, to)).unwrap();
}

/// `neurtl simulate dir` in both simulators: each must fail, printing
/// `expect`.
fn simulate_fails(dir: &Path, expect: &str) {
    for sim in ["verilator", "iverilog"] {
        let out = common::neurtl_command(&["simulate", dir.to_str().unwrap(), "--simulator", sim])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success(),
            "{sim} passed a broken design:\n{text}"
        );
        assert!(text.contains(expect), "{sim}: no `{expect}` in\n{text}");
    }
}

/// The valid chain one cycle longer than the data path: the results are
/// read a cycle late.
#[test]
fn late_out_valid_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    let d = dir.to_str().unwrap();
    // a register after each layer: latency 3 whatever the delay model says
    common::neurtl_ok(&[
        "compile",
        "tests/models/tiny.json",
        "-o",
        d,
        "--vectors",
        "100",
        "--pipeline",
        "layer",
    ]);
    common::neurtl_ok(&["simulate", d]);
    break_rtl(
        &dir,
        "rtl/tiny.v",
        "nt_valid #(.DEPTH(3))",
        "nt_valid #(.DEPTH(4))",
    );
    simulate_fails(
        &dir,
        "measured latency 4 cycles, the schedule says 3 cycles",
    );
}

/// A folded controller that waits one cycle more before taking the next
/// sample: every value and every latency is right, only the II is not.
#[test]
fn slower_folded_array_fails_on_its_ii() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("bnn.json");
    std::fs::write(&model, common::random_bnn(3).to_string()).unwrap();
    let dir = tmp.path().join("build");
    let (m, d) = (model.to_str().unwrap(), dir.to_str().unwrap());
    let report = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
    };
    common::neurtl_ok(&[
        "compile",
        m,
        "--target",
        "tl-pe",
        "-o",
        d,
        "--vectors",
        "40",
    ]);
    common::neurtl_ok(&["simulate", d]);
    let ii = report(&dir)["initiation_interval"].as_u64().unwrap();
    let ctrl = "rtl/tl_pe_ctrl.v";
    break_rtl(
        &dir,
        ctrl,
        "assign in_ready = ~busy;",
        "assign in_ready = ~busy & ~fin;",
    );
    break_rtl(
        &dir,
        ctrl,
        "assign take = ~busy & in_valid;",
        "assign take = ~busy & ~fin & in_valid;",
    );
    break_rtl(
        &dir,
        ctrl,
        "if (in_valid) busy",
        "if (in_valid && !fin) busy",
    );
    simulate_fails(
        &dir,
        &format!(
            "measured II {} cycles, the schedule says {ii} cycles",
            ii + 1
        ),
    );
}
