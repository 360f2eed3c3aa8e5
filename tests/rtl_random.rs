//! The backbone: random MLPs and BNNs compiled to Verilog must match the golden
//! model bit for bit in Verilator on 1,000 vectors each, and their RTL must
//! pass `verilator --lint-only -Wall` and run in Icarus.
//!
//! NEURTL_FUZZ_NETS (default 50) sets the number of networks,
//! NEURTL_FUZZ_SEED (default 1) the first seed; a failure prints its seed,
//! and NEURTL_FUZZ_SEED=<seed> NEURTL_FUZZ_NETS=1 replays it.

mod common;

use neurtl::compile::{compile_text, generate, vector_files, write_files};
use neurtl::ir::{Adders, CompileOptions, PipelineMode, Target};
use neurtl::sim::{Simulator, lint, simulate};
use std::path::Path;

/// What the compiler promises about a design's timing, to compare with
/// what the testbenches measure.
struct Promise {
    top: String,
    vectors: usize,
    /// `DesignInfo` (what `report.json` says) and the estimate.
    latency: u32,
    ii: u32,
    /// The estimate's latency and II.
    estimated: (u32, u32),
}

/// Compile one random network into `dir`.
fn build(
    model: &serde_json::Value,
    seed: u64,
    target: Target,
    dir: &Path,
    n_vec: usize,
) -> Result<Promise, String> {
    let text = serde_json::to_string(model).unwrap();
    std::fs::write(dir.join("model.json"), &text).unwrap();
    // Vary the pipeline with the seed: layer registers, none, adder cuts,
    // the clock.
    let opts = match seed % 4 {
        0 => CompileOptions {
            mode: PipelineMode::None,
            max_adder_depth: 0,
            ..Default::default()
        },
        1 => CompileOptions {
            mode: PipelineMode::Layer,
            max_adder_depth: 1,
            ..Default::default()
        },
        2 => CompileOptions {
            mode: PipelineMode::Layer,
            max_adder_depth: 2,
            ..Default::default()
        },
        // by the clock, often tighter than the default so that the
        // minimum cuts move registers (`datapath::retime`)
        _ => CompileOptions {
            clock_period_ps: [5000, 2500, 1800][(seed / 4 % 3) as usize],
            // the iCE40 delay model on some (its trees and registers differ)
            delay_model: (seed / 8 % 2) as usize,
            ..Default::default()
        },
    };
    // Cell limits vary too, down to the smallest the compiler accepts.
    let opts = CompileOptions {
        target,
        tl_max_fanin: 3 + (seed / 4 % 4) as u32,
        tl_max_weight: 2 + (seed / 16 % 3) as u32,
        pes: 1 + (seed / 3 % 5) as u32,
        cells_per_pe: [60, 120, 300][(seed / 5 % 3) as usize],
        // two networks of each 50 with ternary adder trees of 7-series
        // cells and one with fused ones, by the clock: small ones that
        // have such adders (Verilator 5.006 takes minutes on their per-bit
        // cells; the datapath interpreter covers them more often), and one
        // in five without cross-input sharing
        adders: match seed % 50 {
            12 | 19 => Adders::Ternary,
            3 => Adders::Fused,
            _ => Adders::Binary,
        },
        share: seed % 5 != 4,
        ..opts
    };
    let mut c = compile_text("model.json", &text, opts, None).map_err(|e| e.to_string())?;
    // one network of each 50 by the clock at a fixed latency, two cycles
    // beyond the shortest: the testbench measures it from the data
    if seed % 50 == 23 {
        let shortest = neurtl::compile::describe(&c)
            .map_err(|e| e.to_string())?
            .latency;
        let opts = CompileOptions {
            latency: Some(shortest + 2),
            ..opts
        };
        c = compile_text("model.json", &text, opts, None).map_err(|e| e.to_string())?;
        let info = neurtl::compile::describe(&c).map_err(|e| e.to_string())?;
        if info.latency != shortest + 2 {
            return Err(format!(
                "--latency {} built {} cycles",
                shortest + 2,
                info.latency
            ));
        }
    }
    let golden = c.golden().map_err(|e| e.to_string())?;
    let inputs = neurtl::vectors::random(&golden.input_formats, n_vec, seed);
    let out = generate(&c, n_vec).map_err(|e| e.to_string())?;
    let mut files = out.design.files.clone();
    files.extend(vector_files(&golden, &out.design.info, &inputs));
    write_files(dir, &files).map_err(|e| e.to_string())?;
    if opts.adders.vendor_cells() && files.iter().any(|f| f.1.contains("nt_add3 ")) {
        TERNARY_BUILDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    check_cell_limits(dir, &opts)?;
    let info = &out.design.info;
    let est = neurtl::estimate::Estimate::of_design(info, 200.0);
    Ok(Promise {
        top: info.top.clone(),
        vectors: n_vec,
        latency: info.latency,
        ii: info.ii,
        estimated: (est.latency_cycles, est.initiation_interval),
    })
}

/// The compiler writes a gate list for `--target tl-cells` only, and
/// every gate in it respects the limits.
fn check_cell_limits(dir: &Path, opts: &CompileOptions) -> Result<(), String> {
    let text = match std::fs::read_to_string(dir.join("tl_netlist.txt")) {
        Ok(t) if opts.target == Target::TlCells => t,
        Err(e) if opts.target == Target::TlCells => {
            return Err(format!("tl-cells design without tl_netlist.txt: {e}"));
        }
        Ok(_) => {
            return Err(format!(
                "tl_netlist.txt written for --target {}",
                opts.target.name()
            ));
        }
        Err(_) => return Ok(()),
    };
    // `key=[a, b, c] next=`: the list runs to the `]` before the next key.
    let list = |line: &str, key: &str, next: &str| -> Vec<String> {
        let start = line.find(&format!("{key}=[")).unwrap() + key.len() + 2;
        let end = line.find(&format!("] {next}=")).unwrap();
        line[start..end].split(", ").map(String::from).collect()
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let inputs = list(line, "inputs", "weights");
        let weights: Vec<i64> = list(line, "weights", "threshold")
            .iter()
            .map(|w| w.parse().unwrap())
            .collect();
        if inputs.len() != weights.len()
            || inputs.len() as u32 > opts.tl_max_fanin
            || weights
                .iter()
                .any(|w| w.unsigned_abs() > opts.tl_max_weight as u64)
        {
            return Err(format!(
                "cell breaks fan-in {} / weight {}: {line}",
                opts.tl_max_fanin, opts.tl_max_weight
            ));
        }
    }
    Ok(())
}

/// `Err` unless simulator `sim` reproduced every vector with the promised
/// latency and II.
fn simulated(dir: &Path, p: &Promise, sim: Simulator) -> Result<(), String> {
    let r = simulate(dir, &p.top, sim).map_err(|e| format!("{sim:?}: {e}"))?;
    let timing = (r.latency, r.ii);
    // A single vector has no interval to measure.
    let want_ii = if p.vectors < 2 { -1 } else { p.ii as i64 };
    if r.mismatches != 0
        || r.vectors as usize != p.vectors
        || timing != (p.latency as i64, want_ii)
        || p.estimated != (p.latency, p.ii)
    {
        return Err(format!(
            "{sim:?}: {} mismatches over {} vectors, measured latency {} and II {} (report {} and {}, estimate {:?})\n{}",
            r.mismatches,
            r.vectors,
            r.latency,
            r.ii,
            p.latency,
            p.ii,
            p.estimated,
            r.details.join("\n")
        ));
    }
    Ok(())
}

fn check(model: &serde_json::Value, seed: u64, target: Target, root: &Path) -> Result<(), String> {
    let dir = root.join(format!("net_{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let p = build(model, seed, target, &dir, 1000)?;
    lint(&dir, &p.top).map_err(|e| format!("lint: {e}"))?;
    simulated(&dir, &p, Simulator::Verilator)?;
    // Icarus is slow on big designs: a short run proves it accepts the RTL
    // and agrees too (50 vectors: past the back-to-back burst, into the
    // idle cycles).
    let p = build(model, seed, target, &dir, 50)?;
    simulated(&dir, &p, Simulator::Iverilog)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Run `check` over as many seeds as `var` says (or `default`), from
/// NEURTL_FUZZ_SEED; report every failing seed.
fn run_seeds(var: &str, default: u64, make: fn(u64) -> (serde_json::Value, Target)) {
    let nets = common::env_u64(var, default);
    let first = common::env_u64("NEURTL_FUZZ_SEED", 1);
    let root = tempfile::tempdir().unwrap();
    common::for_seeds(nets, first, var, |seed| {
        let (model, target) = make(seed);
        check(&model, seed, target, root.path())
    });
}

/// Networks built with ternary adders that instantiate at least one.
static TERNARY_BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn random_networks_match_golden_model_in_rtl() {
    run_seeds("NEURTL_FUZZ_NETS", 50, |s| {
        (common::random_mlp(s), Target::Fpga)
    });
    // the seeds that ask for ternary adders must still get some, or
    // Verilator no longer sees them
    let first = common::env_u64("NEURTL_FUZZ_SEED", 1);
    if first == 1 && common::env_u64("NEURTL_FUZZ_NETS", 50) >= 50 {
        let n = TERNARY_BUILDS.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            n >= 3,
            "only {n} of the ternary-adder networks instantiate nt_add3"
        );
        // and enough of them slice a reshaped value, or requantize by a
        // real scale, for Verilator to see it
        let with = |op: &str| {
            let needle = format!("\"op\":\"{op}\"");
            (1..=50)
                .filter(|&s| common::random_mlp(s).to_string().contains(&needle))
                .count()
        };
        let sliced = with("slice");
        assert!(sliced >= 4, "only {sliced} of 50 networks have a slice");
        let requants = with("requant");
        assert!(requants >= 3, "only {requants} of 50 networks requantize");
    }
}

/// Random convolutional networks (conv1d and conv2d, every padding,
/// strides, dilations, groups). NEURTL_FUZZ_CONVS sets how many.
#[test]
fn random_convolutions_match_golden_model_in_rtl() {
    run_seeds("NEURTL_FUZZ_CONVS", 12, |s| {
        (common::random_conv(s), Target::Fpga)
    });
}

/// Random binarized networks (streamlined thresholds, XNOR-popcount,
/// multi-thresholds, bipolar ports). NEURTL_FUZZ_BNNS sets how many.
#[test]
fn random_bnns_match_golden_model_in_rtl() {
    // Every target in turn, so each sees every kind of network.
    run_seeds("NEURTL_FUZZ_BNNS", 24, |s| {
        let targets = [Target::Fpga, Target::TlCells, Target::TlPe, Target::Mac];
        (common::random_bnn(s), targets[(s % 4) as usize])
    });
}
