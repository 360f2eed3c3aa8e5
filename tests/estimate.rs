//! `neurtl estimate` and `report.json` give the latency and II in cycles
//! that the Verilator testbench measures, for the examples on every target
//! that builds in reasonable time (random networks: `tests/rtl_random.rs`).

mod common;

use common::neurtl_ok as neurtl;
use std::path::Path;

#[test]
fn estimated_latency_and_ii_are_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("examples/jet_tagger/model.json", "fpga"),
        ("examples/bnn_digits/model.json", "fpga"),
        ("examples/bnn_digits/model.json", "mac"),
        ("examples/bnn_digits/model.json", "tl-pe"),
    ];
    for (k, (model, target)) in cases.iter().enumerate() {
        assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(model).exists());
        let e: serde_json::Value = serde_json::from_str(&neurtl(&[
            "estimate", model, "--target", target, "--json", "--clock", "250MHz",
        ]))
        .unwrap();
        let cycles = e["latency_cycles"].as_u64().unwrap();
        assert_eq!(e["latency_ns"].as_f64().unwrap(), cycles as f64 * 4.0);
        let dir = tmp.path().join(k.to_string());
        let run = neurtl(&[
            "run",
            model,
            "--target",
            target,
            "--vectors",
            "20",
            "--clock",
            "250MHz",
            "-o",
            dir.to_str().unwrap(),
        ]);
        // "latency ... testbench measured N cycles", "II ... measured N cycles"
        let measured = |key: &str| -> u64 {
            run.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split("measured ").nth(1))
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no measured {key} in\n{run}"))
        };
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        let ii = e["initiation_interval"].as_u64().unwrap();
        let what = format!("{model} --target {target}");
        assert_eq!(cycles, measured("latency"), "{what}");
        assert_eq!(ii, measured("II"), "{what}");
        assert_eq!(report["latency_cycles"].as_u64(), Some(cycles), "{what}");
        assert_eq!(report["initiation_interval"].as_u64(), Some(ii), "{what}");
        // The folded array takes a sample once the last one is done.
        assert_eq!(ii, if *target == "tl-pe" { cycles } else { 1 }, "{what}");
    }
}

/// The critical path of `model` with `args`, on every device with a delay
/// model.
fn critical_paths(model: &str, args: &[&str]) -> Vec<f64> {
    ["xilinx", "ice40"]
        .iter()
        .map(|d| {
            let mut a = vec!["estimate", model, "--json", "--device", d];
            a.extend_from_slice(args);
            let e: serde_json::Value = serde_json::from_str(&neurtl(&a)).unwrap();
            let t = &e["timing"];
            let path = t["critical_path_ns"].as_f64().unwrap();
            // the slowest layer is the critical path, and the clock follows
            let slowest = t["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["path_ns"].as_f64().unwrap())
                .fold(0.0, f64::max);
            assert!(slowest <= path + 1e-9, "{model} {args:?} on {d}");
            let mhz = t["achievable_mhz"].as_f64().unwrap();
            assert!((mhz * path - 1e3).abs() < 1e-6);
            path
        })
        .collect()
}

/// Registers only ever cut paths: more of them never make the critical
/// path longer, and the jet tagger's long adder trees get shorter. The
/// default schedule, by the clock, meets the clock by the delay model it
/// scheduled with.
#[test]
fn registers_shorten_the_critical_path() {
    let m = "examples/jet_tagger/model.json";
    let none = critical_paths(m, &["--pipeline", "none"]);
    let layer = critical_paths(m, &["--pipeline", "layer"]);
    let deep = critical_paths(m, &["--max-adder-depth", "2"]);
    for d in 0..none.len() {
        assert!(layer[d] < none[d], "{layer:?} vs {none:?}");
        assert!(deep[d] < layer[d], "{deep:?} vs {layer:?}");
    }
    // (the slowest single node, a saturating cast, takes 4.06 ns: 250 MHz
    // cannot be met by registers between nodes)
    for (mhz, device) in [(200.0, "xilinx"), (240.0, "xilinx"), (60.0, "ice40")] {
        let clock = format!("{mhz}MHz");
        let args = [
            "estimate", m, "--json", "--clock", &clock, "--device", device,
        ];
        let e: serde_json::Value = serde_json::from_str(&neurtl(&args)).unwrap();
        let path = e["timing"]["critical_path_ns"].as_f64().unwrap();
        assert!(path <= 1e3 / mhz, "{clock} on {device}: {path} ns");
        assert_eq!(e["timing"]["meets_clock"], true, "{clock} on {device}");
    }
    // the estimate says no device has a delay model for ASICs
    let e: serde_json::Value =
        serde_json::from_str(&neurtl(&["estimate", m, "--json", "--device", "asic"])).unwrap();
    assert!(e["timing"].is_null());
}

/// `--device family:part` adds what the design uses of the part, from the
/// same counts the family's estimate gives, and says when it does not fit.
#[test]
fn a_named_part_reports_utilization_and_fit() {
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["estimate", "--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&neurtl(&a)).unwrap()
    };
    let m = "tests/models/tiny.json";
    let family = json(&[m, "--device", "xilinx"]);
    let part = json(&[m, "--device", "xilinx:xc7a35t"]);
    assert_eq!(part["part"], "xc7a35t");
    let u = part["utilization"].as_array().unwrap();
    let luts = family["luts"].as_u64().unwrap() + family["shift_registers"].as_u64().unwrap();
    assert_eq!(u[0]["resource"], "LUTs");
    assert_eq!(u[0]["used"].as_u64(), Some(luts));
    assert_eq!(u[0]["available"].as_u64(), Some(20_800));
    assert_eq!(u[1]["used"], family["flip_flops"]);
    assert!(family.get("utilization").is_none(), "{family}");
    assert!(!neurtl(&["estimate", m, "--device", "xilinx:xc7a35t"]).contains("DOES NOT FIT"));

    // The jet tagger needs more flip-flops alone than the lp384 has cells.
    let jet = "examples/jet_tagger/model.json";
    let lp = json(&[jet, "--device", "ice40:lp384"]);
    let cells = &lp["utilization"][0];
    assert_eq!(cells["available"].as_u64(), Some(384));
    assert!(cells["used"].as_u64().unwrap() >= lp["flip_flops"].as_u64().unwrap());
    let table = neurtl(&["estimate", jet, "--device", "ice40:lp384"]);
    assert!(
        table.contains("of 384 logic cells") && table.contains("DOES NOT FIT"),
        "{table}"
    );
}
