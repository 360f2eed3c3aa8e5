//! `neurtl synth`: the parsers on captured Yosys and nextpnr output, the
//! three flows on `tests/models/tiny.json` (counts consistent with the
//! design, across flows and with the estimate), and the errors a user
//! meets: a missing tool, a design too large for the iCE40, a Yosys
//! failure, a directory that is not a build.

mod common;

use neurtl::synth::{parse_ltp, parse_nextpnr, parse_stat_json};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/synth").join(name)).unwrap()
}

/// Run the binary from the crate root, with `path` as PATH when given.
fn neurtl(args: &[&str], path: Option<&Path>) -> Output {
    let mut c = common::neurtl_command(args);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

fn ok(out: Output) -> String {
    common::stdout_of(out, "neurtl")
}

/// The error of a run that must fail with exit 2.
fn fails(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `model` compiled into a fresh temporary directory (kept alive by the
/// returned handle).
fn build(model: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    ok(neurtl(
        &[
            "compile",
            model,
            "-o",
            dir.to_str().unwrap(),
            "--vectors",
            "5",
        ],
        None,
    ));
    (tmp, dir)
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sum_cells(cells: &Value, p: impl Fn(&str) -> bool) -> u64 {
    cells
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| p(k))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum()
}

#[test]
fn stat_json_is_read_per_module() {
    let text = fixture("stat_xilinx_tiny.json");
    let s = parse_stat_json(&text, "tiny").unwrap();
    assert!(s.creator.starts_with("Yosys 0.23"), "{}", s.creator);
    assert_eq!(s.cells.values().sum::<u64>(), s.total);
    assert_eq!(s.cells["FDRE"], 38);
    assert_eq!(s.cells["CARRY4"], 11);
    assert_eq!(
        (1..=6).map(|k| s.cells[&format!("LUT{k}")]).sum::<u64>(),
        53
    );
    let g = parse_stat_json(&fixture("stat_generic_tiny.json"), "tiny").unwrap();
    assert_eq!(g.cells["$_DFF_P_"], 23);
    assert_eq!(g.cells.values().sum::<u64>(), g.total);

    let e = parse_stat_json(&text, "other").unwrap_err();
    assert!(e.contains("`other`") && e.contains("\\tiny"), "{e}");
    assert!(parse_stat_json("ERROR: no design", "tiny").is_err());
    assert!(parse_stat_json("{\"modules\": {\"\\\\t\": {}}}", "t").is_err());
}

#[test]
fn ltp_length_is_read() {
    assert_eq!(parse_ltp(&fixture("ltp_tiny.txt")), Some(17));
    assert_eq!(
        parse_ltp("Longest topological path in x (length=0):"),
        Some(0)
    );
    assert_eq!(parse_ltp("no path here"), None);
}

#[test]
fn nextpnr_log_gives_the_routed_fmax_and_utilization() {
    let r = parse_nextpnr(&fixture("nextpnr_tiny_hx8k.log"));
    // The log has an estimate after placement (67.74) and the routed
    // figure after it; the routed one counts.
    let f = r.fmax.as_ref().unwrap();
    assert_eq!(f.mhz, 62.45);
    assert_eq!(f.target_mhz, 200.0);
    assert_eq!(f.clock, "clk$SB_IO_IN_$glb_clk");
    let lc = r
        .utilization
        .iter()
        .find(|u| u.resource == "ICESTORM_LC")
        .unwrap();
    assert_eq!((lc.used, lc.available), (219, 7680));
    assert_eq!(r.utilization.len(), 6);
    assert!(r.overfull().is_none());

    let full = parse_nextpnr(&fixture("nextpnr_wide_hx1k.log"));
    assert!(full.fmax.is_none());
    let o = full.overfull().unwrap();
    assert_eq!(
        (o.resource.as_str(), o.used, o.available),
        ("ICESTORM_LC", 1889, 1280)
    );

    let none = parse_nextpnr("ERROR: Failed to parse JSON");
    assert!(none.fmax.is_none() && none.utilization.is_empty());
}

/// The three flows on tiny agree with each other, with the design's
/// registers and with what they write.
#[test]
fn three_flows_on_tiny() {
    let (_tmp, dir) = build("tests/models/tiny.json");
    let d = dir.to_str().unwrap();
    let report = json_file(&dir.join("report.json"));
    let register_bits = report["counts"]["register_bits"].as_u64().unwrap();
    let run = |device: &str, flow: &str| -> Value {
        let text = ok(neurtl(&["synth", d, "--device", device, "--json"], None));
        let v: Value = serde_json::from_str(&text).unwrap();
        // What is printed is what is written.
        assert_eq!(v, json_file(&dir.join(format!("synth-{flow}.json"))));
        for log in v["synthesis"]["logs"].as_array().unwrap() {
            assert!(dir.join(log.as_str().unwrap()).is_file(), "{log}");
        }
        v
    };

    let x = run("xilinx", "yosys-xilinx");
    let s = &x["synthesis"];
    let ff = s["flip_flops"].as_u64().unwrap();
    assert_eq!(ff, sum_cells(&s["cells"], |k| k.starts_with("FD")));
    assert!(ff > 0);
    // Synthesis can only remove the design's register bits. The estimate
    // predicts what synth_xilinx keeps of them (constant, sign-copy,
    // unloaded and merged bits left out), within the 5 % the calibration
    // set holds (docs/estimation.md).
    let est_ff = x["estimate"]["flip_flops"].as_u64().unwrap();
    assert!(ff <= register_bits, "{ff} {register_bits}");
    assert!(
        est_ff * 100 <= ff * 105 && ff * 100 <= est_ff * 105,
        "estimate {est_ff}, Yosys {ff}"
    );
    let luts = s["figures"]["xilinx"]["luts"].as_u64().unwrap();
    assert_eq!(luts, sum_cells(&s["cells"], |k| k.starts_with("LUT")));
    assert!(luts > 0);
    assert_eq!(
        s["figures"]["xilinx"]["dsp48e1"], 0,
        "constant products are adders"
    );
    let rows = x["comparison"].as_array().unwrap();
    let quantities: Vec<&str> = rows
        .iter()
        .map(|r| r["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(
        quantities,
        ["flip_flops", "luts", "carry4", "critical_path_ns"]
    );
    for r in rows {
        let q = r["quantity"].as_str().unwrap();
        let (e, y) = (
            r["estimate"].as_f64().unwrap(),
            r["synthesized"].as_f64().unwrap(),
        );
        let (estimated, synthesized) = match q {
            "critical_path_ns" => (
                &x["estimate"]["timing"]["critical_path_ns"],
                &s["figures"]["xilinx"]["sta_path_ns"],
            ),
            "flip_flops" => (&x["estimate"][q], &s["flip_flops"]),
            _ => (&x["estimate"][q], &s["figures"]["xilinx"][q]),
        };
        assert!((e - estimated.as_f64().unwrap()).abs() < 1e-3, "{q}");
        assert_eq!(y, synthesized.as_f64().unwrap(), "{q}");
        if q == "critical_path_ns" {
            // The delay model adds routing, which the cells-only STA has not.
            assert!(y > 0.0 && e >= y, "estimate {e} ns, sta {y} ns");
        }
        let err = r["relative_error"].as_f64().unwrap();
        assert!((err - (e - y) / y).abs() < 1e-12);
    }

    let i = run("ice40", "yosys-ice40");
    let s = &i["synthesis"];
    let c = &s["figures"]["ice40"];
    let fmax = c["routed"]["fmax_mhz"].as_f64().unwrap();
    assert!(fmax > 1.0 && fmax < 1000.0, "{fmax}");
    assert_eq!(c["device"], "hx8k");
    let wrapper = c["wrapper_flip_flops"].as_u64().unwrap();
    assert_eq!(
        wrapper,
        report["in_bits"].as_u64().unwrap() + report["out_bits"].as_u64().unwrap() + 2
    );
    // The wrapper's registers come off exactly, leaving the design's:
    // between what the Xilinx flow kept and the estimate (the flows merge
    // duplicate bits differently).
    let ice_ff = s["flip_flops"].as_u64().unwrap();
    // iCE40 keeps at least what 7-series keeps (its comparisons wider
    // than 4 bits are carry chains that read every bit), never more than
    // the design has
    assert!(
        ff <= ice_ff && ice_ff <= register_bits,
        "{ff} {ice_ff} {register_bits}"
    );
    assert_eq!(
        sum_cells(&s["cells"], |k| k.starts_with("SB_DFF")),
        ice_ff + wrapper
    );
    let util = c["routed"]["utilization"].as_array().unwrap();
    let used = |r: &str| {
        let u = util.iter().find(|u| u["resource"] == r).unwrap();
        (
            u["used"].as_u64().unwrap(),
            u["available"].as_u64().unwrap(),
        )
    };
    assert_eq!(used("SB_IO").0, 5, "clk, rst, sin, load, sout");
    let (lc, lc_max) = used("ICESTORM_LC");
    // Every flip-flop sits in a logic cell.
    assert!(lc >= ff + wrapper && lc <= lc_max);
    // Flip-flops and the clock compare on iCE40, the clock with the
    // estimate made for that device.
    let rows = i["comparison"].as_array().unwrap();
    let quantities: Vec<&str> = rows
        .iter()
        .map(|r| r["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(quantities, ["flip_flops", "fmax_mhz"]);
    assert_eq!(i["estimate"]["device"], "ice40");
    let achievable = i["estimate"]["timing"]["achievable_mhz"].as_f64().unwrap();
    assert!((rows[1]["estimate"].as_f64().unwrap() - achievable).abs() <= 0.05);
    assert_eq!(rows[1]["synthesized"].as_f64().unwrap(), fmax);

    let g = run("asic", "yosys-generic");
    let s = &g["synthesis"];
    let f = &s["figures"]["generic"];
    let gff = s["flip_flops"].as_u64().unwrap();
    assert!(gff > 0 && gff <= register_bits);
    assert_eq!(
        f["gates"].as_u64().unwrap() + gff,
        s["total_cells"].as_u64().unwrap()
    );
    assert!(f["logic_depth"].as_u64().unwrap() > 0);
    assert!(
        sum_cells(&s["cells"], |k| k.starts_with("LUT")
            || k.starts_with("SB_"))
            == 0
    );
    // Intermediate files go unless --keep.
    assert!(!dir.join("synth-yosys-generic.ys").exists());
    assert!(!dir.join("synth-yosys-ice40.wrapper.v").exists());
}

#[test]
fn a_design_too_large_for_the_device_says_so() {
    let (_tmp, dir) = build("tests/fixtures/synth/wide.json");
    let d = dir.to_str().unwrap();
    let est: Value = serde_json::from_str(&ok(neurtl(
        &["estimate", "tests/fixtures/synth/wide.json", "--json"],
        None,
    )))
    .unwrap();
    // The build's design (scheduled for the default device) on an iCE40,
    // whose cell holds one LUT and one flip-flop: at least the larger
    // count of cells.
    let luts = est["luts"].as_u64().unwrap();
    let cells = luts.max(est["flip_flops"].as_u64().unwrap());
    // More than the lp384's 384 cells: refused before Yosys.
    assert!(cells > 384);
    let err = fails(neurtl(&["synth", d, "--device", "ice40:lp384"], None));
    assert!(
        err.contains("will not fit the iCE40 lp384")
            && err.contains(&format!("{cells} of 384 logic cells")),
        "{err}"
    );
    assert!(!dir.join("synth-yosys-ice40.yosys.log").exists());
    // Fewer than the hx1k's 1280: nextpnr finds that it needs more cells.
    assert!(cells < 1280);
    let err = fails(neurtl(&["synth", d, "--device", "ice40:hx1k"], None));
    assert!(
        err.contains("does not fit the iCE40 hx1k") && err.contains("ICESTORM_LC of 1280"),
        "{err}"
    );
    assert!(err.contains("synth-yosys-ice40.nextpnr.log"), "{err}");
}

fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not installed; run `make setup`"))
}

#[test]
fn missing_tools_are_named_with_the_install_command() {
    let (tmp, dir) = build("tests/models/tiny.json");
    let d = dir.to_str().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let err = fails(neurtl(&["synth", d], Some(&bin)));
    assert!(
        err.contains("`yosys` was not found") && err.contains("make setup"),
        "{err}"
    );
    // With Yosys but no nextpnr, the ice40 flow stops before synthesizing.
    std::os::unix::fs::symlink(which("yosys"), bin.join("yosys")).unwrap();
    let err = fails(neurtl(&["synth", d, "--device", "ice40"], Some(&bin)));
    assert!(
        err.contains("`nextpnr-ice40` was not found")
            && err.contains("apt-get install nextpnr-ice40"),
        "{err}"
    );
    assert!(!dir.join("synth-yosys-ice40.yosys.log").exists());
}

#[test]
fn a_yosys_failure_shows_the_log() {
    let (_tmp, dir) = build("tests/models/tiny.json");
    let top = dir.join("rtl/tiny.v");
    let text = std::fs::read_to_string(&top).unwrap();
    std::fs::write(&top, text + "\nthis is not verilog\n").unwrap();
    let err = fails(neurtl(
        &["synth", dir.to_str().unwrap(), "--device", "asic"],
        None,
    ));
    assert!(err.contains("yosys failed"), "{err}");
    assert!(err.contains("synth-yosys-generic.yosys.log"), "{err}");
    assert!(err.contains("ERROR"), "{err}");
}

#[test]
fn bad_arguments_are_errors() {
    let (tmp, dir) = build("tests/models/tiny.json");
    let err = fails(neurtl(&["synth", tmp.path().to_str().unwrap()], None));
    assert!(err.contains("not a neurtl build directory"), "{err}");
    let d = dir.to_str().unwrap();
    // A bare part is the family's, and the error says how to write it.
    let err = fails(neurtl(&["synth", d, "--device", "up5k"], None));
    assert!(
        err.contains("--device") && err.contains("ice40:up5k"),
        "{err}"
    );
    let err = fails(neurtl(&["synth", d, "--device", "ice40:xc7a35t"], None));
    assert!(err.contains("xc7a35t"), "{err}");
    let err = fails(neurtl(&["synth", d, "--gates", "AND"], None));
    assert!(err.contains("--device asic"), "{err}");
    let err = fails(neurtl(
        &["synth", d, "--device", "asic", "--gates", "AND;show"],
        None,
    ));
    assert!(err.contains("ABC gate set `AND;show`"), "{err}");
    let err = fails(neurtl(&["synth", d, "--clock", "fast"], None));
    assert!(err.contains("--clock"), "{err}");
}
