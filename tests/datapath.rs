//! The datapath IR's interpreter must equal the golden model bit for bit.
//! The two share nothing but `crate::fixed::cast`: the golden model runs
//! the graph IR's kernels, the interpreter runs the integer operations the
//! lowering built (shift-add products, adder trees, popcounts, cells), so
//! any lowering mistake shows as a mismatch here, in microseconds.
//!
//! NEURTL_DP_NETS (default 1000) random MLPs, as many random BNNs and as
//! many random convolutional networks, each
//! over every target the datapath builds; NEURTL_DP_SEED the first seed.

mod common;

use neurtl::compile::compile_text;
use neurtl::ir::{Adders, CompileOptions, PipelineMode, Target};
use rayon::prelude::*;

fn env_u64(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Compile `model` for `target`, run `n` random vectors through the golden
/// model and the datapath interpreter; the first difference, if any.
fn compare(model: &serde_json::Value, seed: u64, target: Target, n: usize) -> Result<(), String> {
    let text = serde_json::to_string(model).unwrap();
    if let Some(path) = std::env::var_os("NEURTL_DP_DUMP") {
        std::fs::write(path, &text).unwrap();
    }
    let opts = CompileOptions {
        target,
        // by the clock, ternary adders are also fused where it has time
        mode: [PipelineMode::Layer, PipelineMode::None, PipelineMode::Clock][(seed % 3) as usize],
        max_adder_depth: (seed / 2 % 3) as u32,
        tl_max_fanin: 3 + (seed / 4 % 4) as u32,
        tl_max_weight: 2 + (seed / 16 % 3) as u32,
        share: (seed / 3).is_multiple_of(2),
        // both delay models (iCE40's has no ternary adders): trees and
        // fusion follow the clock on each
        delay_model: (seed / 15 % 2) as usize,
        adders: match seed / 15 % 2 {
            0 => [Adders::Binary, Adders::Fused, Adders::Ternary][(seed / 5 % 3) as usize],
            _ => Adders::Binary,
        },
        ..Default::default()
    };
    let c = compile_text("model.json", &text, opts, None).map_err(|e| e.to_string())?;
    let golden = c.golden().map_err(|e| e.to_string())?;
    let dp = c.datapath().map_err(|e| e.to_string())?;
    neurtl::fuzzing::datapath_matches_golden(&golden, &dp, n, seed)
}

fn run(nets: u64, first: u64, make: fn(u64) -> serde_json::Value, targets: &[Target]) {
    let failures: Vec<String> = (first..first + nets)
        .into_par_iter()
        .flat_map_iter(|seed| {
            let model = make(seed);
            targets.iter().filter_map(move |&t| {
                compare(&model, seed, t, 200)
                    .err()
                    .map(|e| format!("seed {seed} target {}: {e}", t.name()))
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures (replay with NEURTL_DP_SEED=<seed> NEURTL_DP_NETS=1):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn random_mlps_interpret_like_the_golden_model() {
    let nets = env_u64("NEURTL_DP_NETS", 1000);
    run(
        nets,
        env_u64("NEURTL_DP_SEED", 1),
        common::random_mlp,
        &[Target::Fpga],
    );
}

#[test]
fn random_bnns_interpret_like_the_golden_model() {
    let nets = env_u64("NEURTL_DP_NETS", 1000);
    let targets = [Target::Fpga, Target::Mac, Target::TlCells, Target::TlPe];
    run(
        nets,
        env_u64("NEURTL_DP_SEED", 1),
        common::random_bnn,
        &targets,
    );
}

#[test]
fn random_convolutions_interpret_like_the_golden_model() {
    let nets = env_u64("NEURTL_DP_NETS", 1000);
    run(
        nets,
        env_u64("NEURTL_DP_SEED", 1),
        common::random_conv,
        &[Target::Fpga],
    );
}

/// The examples and every ONNX fixture, on every target the datapath builds.
#[test]
fn examples_and_fixtures_interpret_like_the_golden_model() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("examples/jet_tagger/model.json"),
        root.join("examples/bnn_digits/model.json"),
        root.join("examples/muon_tracker/model.json"),
        root.join("examples/conv_digits/model.json"),
        root.join("tests/models/tiny.json"),
    ];
    for e in std::fs::read_dir(root.join("tests/fixtures/onnx")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "onnx") {
            files.push(p);
        }
    }
    let mut folded = 0;
    for f in files {
        for target in [Target::Fpga, Target::Mac, Target::TlCells, Target::TlPe] {
            let opts = CompileOptions {
                target,
                ..Default::default()
            };
            let c = match neurtl::compile::compile_file(&f, opts, None) {
                Ok(c) => c,
                // only binarized networks fold
                Err(e) if target == Target::TlPe && e.to_string().contains("to fold") => continue,
                Err(e) => panic!("{}: {e}", f.display()),
            };
            folded += (target == Target::TlPe) as u32;
            let golden = c.golden().unwrap();
            let dp = c.datapath().unwrap();
            if let Err(e) = neurtl::fuzzing::datapath_matches_golden(&golden, &dp, 300, 7) {
                panic!("{} on {}: {e}", f.display(), target.name());
            }
        }
    }
    assert!(folded > 0, "bnn_digits folds on tl-pe");
}

/// The random convolutional networks cover what they claim to: both
/// ranks, every padding, strides, dilations, groups, both pools.
#[test]
fn the_convolution_generator_draws_every_feature() {
    let texts: Vec<String> = (1..=200)
        .map(|s| common::random_conv(s).to_string())
        .collect();
    let count = |pat: &str| texts.iter().filter(|t| t.contains(pat)).count();
    for pat in [
        "\"op\":\"conv1d\"",
        "\"op\":\"conv2d\"",
        "\"padding\":\"same\"",
        "\"padding\":\"valid\"",
        "\"padding\":[[",
        "\"dilation\":[2",
        "\"strides\":[2",
        "\"op\":\"maxpool1d\"",
        "\"op\":\"maxpool2d\"",
        "\"op\":\"avgpool1d\"",
        "\"op\":\"avgpool2d\"",
        "\"count_include_pad\":false",
        "\"op\":\"prelu\"",
        "\"op\":\"slice\"",
        "\"op\":\"transpose\"",
        "\"table_bits\"",
        "\"op\":\"softmax\"",
        "\"accum_type\"",
    ] {
        assert!(
            count(pat) >= 5,
            "only {} of 200 networks have {pat}",
            count(pat)
        );
    }
    for f in common::TABLE_OPS {
        let pat = format!("\"op\":\"{f}\"");
        assert!(
            count(&pat) >= 3,
            "only {} of 200 networks have {pat}",
            count(&pat)
        );
    }
    let grouped = texts
        .iter()
        .filter(|t| {
            t.contains("\"groups\":")
                && !t.contains("\"groups\":1,")
                && !t.contains("\"groups\":1}")
        })
        .count();
    assert!(
        grouped >= 5,
        "only {grouped} of 200 networks have groups > 1"
    );
}
