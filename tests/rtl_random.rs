//! The backbone: random MLPs and BNNs compiled to Verilog must match the golden
//! model bit for bit in Verilator on 1,000 vectors each, and their RTL must
//! pass `verilator --lint-only -Wall` and run in Icarus.
//!
//! NEURTL_FUZZ_NETS (default 50) sets the number of networks,
//! NEURTL_FUZZ_SEED (default 1) the first seed; a failure prints its seed,
//! and NEURTL_FUZZ_SEED=<seed> NEURTL_FUZZ_NETS=1 replays it.

mod common;

use neurtl::compile::{compile_text, generate, vector_files, write_files};
use neurtl::ir::{PipelineMode, PipelineOptions};
use neurtl::sim::{Simulator, lint, simulate};
use std::path::Path;

fn env_u64(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Compile one random network into `dir`; returns (top, vectors, latency).
fn build(
    model: &serde_json::Value,
    seed: u64,
    dir: &Path,
    n_vec: usize,
) -> Result<(String, usize, u32), String> {
    let text = serde_json::to_string(model).unwrap();
    std::fs::write(dir.join("model.json"), &text).unwrap();
    // Vary the pipeline with the seed: layer registers, none, adder cuts.
    let opts = match seed % 4 {
        0 => PipelineOptions {
            mode: PipelineMode::None,
            max_adder_depth: 0,
        },
        1 => PipelineOptions {
            mode: PipelineMode::Layer,
            max_adder_depth: 1,
        },
        2 => PipelineOptions {
            mode: PipelineMode::Layer,
            max_adder_depth: 2,
        },
        _ => PipelineOptions::default(),
    };
    let c = compile_text("model.json", &text, opts, None).map_err(|e| e.to_string())?;
    let golden = c.golden().map_err(|e| e.to_string())?;
    let inputs = neurtl::vectors::random(&golden.input_formats, n_vec, seed);
    let out = generate(&c, n_vec).map_err(|e| e.to_string())?;
    let mut files = out.design.files.clone();
    files.extend(vector_files(&golden, &out.design.info, &inputs));
    write_files(dir, &files).map_err(|e| e.to_string())?;
    Ok((out.design.info.top, n_vec, out.design.info.latency))
}

fn check(model: &serde_json::Value, seed: u64, root: &Path) -> Result<(), String> {
    let dir = root.join(format!("net_{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (top, n, latency) = build(model, seed, &dir, 1000)?;
    lint(&dir, &top).map_err(|e| format!("lint: {e}"))?;
    let r = simulate(&dir, &top, Simulator::Verilator).map_err(|e| e.to_string())?;
    if r.mismatches != 0 || r.vectors as usize != n || r.latency != latency as i64 {
        return Err(format!(
            "verilator: {} mismatches over {} vectors, latency {} (report {latency})\n{}",
            r.mismatches,
            r.vectors,
            r.latency,
            r.details.join("\n")
        ));
    }
    // Icarus is slow on big designs: a short run proves it accepts the RTL
    // and agrees too.
    let (top, n, _) = build(model, seed, &dir, 50)?;
    let r = simulate(&dir, &top, Simulator::Iverilog).map_err(|e| e.to_string())?;
    if r.mismatches != 0 || r.vectors as usize != n {
        return Err(format!(
            "icarus: {} mismatches over {} vectors\n{}",
            r.mismatches,
            r.vectors,
            r.details.join("\n")
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Run `check` over `nets` seeds from `first` on two threads; report every
/// failing seed.
fn run_seeds(nets: u64, first: u64, make: fn(u64) -> serde_json::Value) {
    let root = tempfile::tempdir().unwrap();
    let threads = 2;
    let failures = std::sync::Mutex::new(vec![]);
    let next = std::sync::atomic::AtomicU64::new(first);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if seed >= first + nets {
                        break;
                    }
                    if let Err(e) = check(&make(seed), seed, root.path()) {
                        eprintln!("seed {seed} FAILED: {e}");
                        failures.lock().unwrap().push(seed);
                    }
                }
            });
        }
    });
    let f = failures.into_inner().unwrap();
    assert!(
        f.is_empty(),
        "random networks failed, replay with NEURTL_FUZZ_SEED=<seed> NEURTL_FUZZ_NETS=1: seeds {f:?}"
    );
}

#[test]
fn random_networks_match_golden_model_in_rtl() {
    let nets = env_u64("NEURTL_FUZZ_NETS", 50);
    let first = env_u64("NEURTL_FUZZ_SEED", 1);
    run_seeds(nets, first, common::random_mlp);
}

/// Random binarized networks (streamlined thresholds, XNOR-popcount,
/// multi-thresholds, bipolar ports). NEURTL_FUZZ_BNNS sets how many.
#[test]
fn random_bnns_match_golden_model_in_rtl() {
    let nets = env_u64("NEURTL_FUZZ_BNNS", 30);
    let first = env_u64("NEURTL_FUZZ_SEED", 1);
    run_seeds(nets, first, common::random_bnn);
}
