//! Golden models checked against references that do not share their code:
//!
//! - every target's golden model against the `fpga` target's, on random
//!   BNNs and on the 450 test images of `examples/bnn_digits`. The targets
//!   lower the same model differently (`tl-cells` and `tl-pe` fuse neurons,
//!   `mac` keeps multiply-accumulate layers), so a pass that changes what a
//!   network computes on one target shows up as a difference;
//! - the golden model against the f64 float reference wherever that is
//!   exact: integer-valued BNNs (dyadic batchnorms, ±1 values, integer
//!   sums and thresholds) and MLPs whose types can neither round nor
//!   overflow. There the trained network and the hardware must agree on
//!   every output of every sample, so an off-by-one threshold, a wrong
//!   shift or a lost bias is a failure, not a small error.
//!
//! No simulator runs here, so hundreds of networks take seconds.
//! NEURTL_GOLDEN_NETS (default 300) sets the number of networks per test,
//! NEURTL_FUZZ_SEED (default 1) the first seed; a failure prints its seed.

mod common;

use neurtl::compile::{Compiled, compile_file, compile_text};
use neurtl::golden::Golden;
use neurtl::ir::{CompileOptions, Target};
use neurtl::metrics::{float_outputs, golden_outputs, real_values};
use serde_json::Value;
use std::path::Path;

const TARGETS: [Target; 4] = [Target::Fpga, Target::Mac, Target::TlCells, Target::TlPe];

/// Random samples per network: enough that thresholds the generators put
/// on reachable sums are hit from both sides.
const SAMPLES: usize = 200;

fn nets() -> (u64, u64) {
    (
        common::env_u64("NEURTL_GOLDEN_NETS", 300),
        common::env_u64("NEURTL_FUZZ_SEED", 1),
    )
}

fn compiled(model: &Value, target: Target) -> Result<Compiled, String> {
    let text = serde_json::to_string(model).unwrap();
    let opts = CompileOptions {
        target,
        ..Default::default()
    };
    compile_text("model.json", &text, opts, None).map_err(|e| format!("{}: {e}", target.name()))
}

/// The golden model of `c`, and its outputs on raw samples as real values.
fn golden_real(c: &Compiled, raw: &[i128]) -> Result<(Golden, Vec<f64>), String> {
    let g = c.golden().map_err(|e| e.to_string())?;
    let out = golden_outputs(&g, raw);
    Ok((g, out))
}

/// Random raw samples for `c`'s inputs (edge cases first).
fn samples(c: &Compiled, seed: u64) -> Result<Vec<i128>, String> {
    let g = c.golden().map_err(|e| e.to_string())?;
    Ok(neurtl::vectors::random(&g.input_formats, SAMPLES, seed))
}

/// `Err` naming the first sample and output element where `got` differs
/// from `want`, and how many samples differ.
fn same(want: &[f64], got: &[f64], per_sample: usize, what: &str) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!(
            "{what}: {} outputs, expected {}",
            got.len(),
            want.len()
        ));
    }
    let per = per_sample.max(1);
    let bad: Vec<usize> = (0..want.len() / per)
        .filter(|s| want[s * per..(s + 1) * per] != got[s * per..(s + 1) * per])
        .collect();
    let Some(&s) = bad.first() else {
        return Ok(());
    };
    let e = (0..per)
        .find(|&e| want[s * per + e] != got[s * per + e])
        .unwrap();
    Err(format!(
        "{what}: {} of {} samples differ; first sample {s}, output element {e}: expected {}, got {}",
        bad.len(),
        want.len() / per,
        want[s * per + e],
        got[s * per + e]
    ))
}

/// The raw codes `c` reads for real input values (bipolar inputs are one
/// bit, 1 = +1), so samples can move between targets whose input wires
/// might differ.
fn raw_for(c: &Compiled, real: &[f64]) -> Result<Vec<i128>, String> {
    let el = c.golden().map_err(|e| e.to_string())?.input_elements();
    Ok(real
        .iter()
        .enumerate()
        .map(|(k, &x)| match el[k % el.len()] {
            (_, true) => (x > 0.0) as i128,
            (f, false) => (x * 2f64.powi(f.frac)) as i128,
        })
        .collect())
}

/// Every target's golden model gives the `fpga` target's outputs.
fn targets_agree(model: &Value, seed: u64) -> Result<(), String> {
    let reference = compiled(model, Target::Fpga)?;
    let raw = samples(&reference, seed)?;
    let (g, want) = golden_real(&reference, &raw)?;
    // Real inputs: what every target must take the same way.
    let real = real_values(&raw, &g.input_elements());
    for &t in &TARGETS[1..] {
        let c = compiled(model, t)?;
        let (_, got) = golden_real(&c, &raw_for(&c, &real)?)?;
        same(
            &want,
            &got,
            g.output_len(),
            &format!("{} vs fpga", t.name()),
        )?;
    }
    Ok(())
}

/// The golden model on `target` equals the float reference exactly.
fn equals_float(model: &Value, seed: u64, target: Target) -> Result<(), String> {
    let c = compiled(model, target)?;
    check_f64_exact(&c)?;
    let raw = samples(&c, seed)?;
    let (g, got) = golden_real(&c, &raw)?;
    let want = float_outputs(&c.float, &g, &raw);
    let what = format!("{} golden vs float", target.name());
    same(&want, &got, g.output_len(), &what)
}

/// The exact-grid claim rests on every value fitting f64's 53-bit
/// significand; check it on the compiled formats rather than trust the
/// generator.
fn check_f64_exact(c: &Compiled) -> Result<(), String> {
    for n in c.graph.topo() {
        let node = c.graph.node(n);
        if let Some(f) = node.format
            && f.width > 50
        {
            return Err(format!(
                "`{}` is {} bits wide: f64 is not exact there, the generator must keep values smaller",
                node.name, f.width
            ));
        }
    }
    Ok(())
}

#[test]
fn every_target_matches_fpga_on_random_bnns() {
    let (n, first) = nets();
    common::for_seeds(n, first, "NEURTL_GOLDEN_NETS", |seed| {
        targets_agree(&common::random_bnn(seed), seed)
    });
}

#[test]
fn every_target_matches_fpga_on_bnn_digits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bnn_digits");
    let csv = root.join("x_test.csv");
    let table = neurtl::vectors::read_table(&csv).unwrap();
    let outputs = |t: Target| {
        let opts = CompileOptions {
            target: t,
            ..Default::default()
        };
        let c = compile_file(&root.join("model.json"), opts, None).unwrap();
        let raw = neurtl::vectors::table_to_raw(&csv, &table, &c.input_types(), false).unwrap();
        let (g, out) = golden_real(&c, &raw).unwrap();
        (out, g.output_len())
    };
    let (want, per) = outputs(Target::Fpga);
    assert_eq!(want.len(), 450 * per, "all 450 test images");
    for &t in &TARGETS[1..] {
        let (got, _) = outputs(t);
        same(
            &want,
            &got,
            per,
            &format!("bnn_digits {} vs fpga", t.name()),
        )
        .unwrap();
    }
}

#[test]
fn golden_equals_float_on_integer_bnns() {
    let (n, first) = nets();
    common::for_seeds(n, first, "NEURTL_GOLDEN_NETS", |seed| {
        let model = common::random_exact_bnn(seed);
        TARGETS
            .iter()
            .try_for_each(|&t| equals_float(&model, seed, t))
    });
}

#[test]
fn golden_equals_float_on_exact_grid_mlps() {
    let (n, first) = nets();
    common::for_seeds(n, first, "NEURTL_GOLDEN_NETS", |seed| {
        let model = common::random_exact_mlp(seed);
        [Target::Fpga, Target::Mac]
            .iter()
            .try_for_each(|&t| equals_float(&model, seed, t))
    });
}

/// The comparison itself can fail: one differing element in one sample is
/// reported, with its place.
#[test]
fn the_comparison_sees_one_changed_output() {
    let want = [1.0, -1.0, 1.0, 1.0];
    assert!(same(&want, &want, 2, "same").is_ok());
    let err = same(&want, &[1.0, -1.0, 1.0, -1.0], 2, "x").unwrap_err();
    assert!(
        err.contains("1 of 2 samples differ; first sample 1, output element 1"),
        "{err}"
    );
}

/// Convolutions on an exact grid: the float reference's own loop nest
/// over each axis checks the window geometry (padding, stride, dilation,
/// groups) that the golden model and the hardware share.
#[test]
fn golden_equals_float_on_exact_grid_convolutions() {
    let (n, first) = nets();
    common::for_seeds(n, first, "NEURTL_GOLDEN_NETS", |seed| {
        let model = common::random_conv_exact(seed);
        [Target::Fpga, Target::Mac]
            .iter()
            .try_for_each(|&t| equals_float(&model, seed, t))
    });
}
