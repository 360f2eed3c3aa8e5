//! Shared by the integration tests: the random-network generator of the
//! RTL property tests, and running the `neurtl` binary.

#![allow(dead_code)]

use neurtl::vectors::Rng;
use serde_json::{Value, json};
use std::process::{Command, Output};

/// The `neurtl` binary with `args`, to run from the crate root.
pub fn neurtl_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neurtl"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The standard output of a run that must have succeeded; otherwise the
/// test fails showing `what` and both streams.
pub fn stdout_of(out: Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Run `neurtl args`, which must succeed, and return its standard output.
pub fn neurtl_ok(args: &[&str]) -> String {
    stdout_of(
        neurtl_command(args).output().unwrap(),
        &format!("neurtl {args:?}"),
    )
}

const QUANT: [&str; 7] = [
    "trn",
    "trn_zero",
    "rnd",
    "rnd_zero",
    "rnd_inf",
    "rnd_min_inf",
    "rnd_conv",
];
const OVER: [&str; 4] = ["wrap", "sat", "sat_zero", "sat_sym"];

/// A random type string: signed or not, 1..=max_w bits, binary point
/// anywhere from well left of the word to past its end, random modes.
fn rand_type(r: &mut Rng, max_w: u64, signed: Option<bool>) -> (String, bool, i64, i64, bool) {
    let s = signed.unwrap_or(r.below(4) != 0);
    let w = 1 + r.below(max_w) as i64;
    let w = if s { w.max(2) } else { w };
    let i = w - r.below(w as u64 + 3) as i64 + 1; // frac in [-1, w+1]
    let q = QUANT[r.below(7) as usize];
    let o = OVER[r.below(4) as usize];
    let kind = if s { "fixed" } else { "ufixed" };
    (format!("{kind}<{w},{i},{q},{o}>"), s, w, i, o == "sat_sym")
}

/// A random real value exactly on the grid of (signed, w, i).
/// sat_sym types cannot hold their most negative code.
fn on_grid(r: &mut Rng, (s, w, i, sym): (bool, i64, i64, bool), zero_bias: u64) -> f64 {
    let frac = w - i;
    let (lo, hi) = if s {
        (-(1i128 << (w - 1)) + sym as i128, (1i128 << (w - 1)) - 1)
    } else {
        (0, (1i128 << w) - 1)
    };
    let raw = match r.below(10) {
        x if x < zero_bias => 0,
        5 => lo,
        6 => hi,
        _ => r.range(lo, hi),
    };
    raw as f64 * 2f64.powi(-(frac as i32))
}

/// A random MLP as model JSON: 1–4 dense layers of 1–40 units with random
/// types, modes, activations and accumulators; sometimes an argmax.
pub fn random_mlp(seed: u64) -> Value {
    let mut r = Rng::new(seed.wrapping_mul(0x2545F4914F6CDD1D) ^ 0x5eed);
    let n_in = 1 + r.below(16) as usize;
    let (in_ty, ..) = rand_type(&mut r, 12, None);
    let mut layers = vec![];
    let mut inputs = vec![json!({"name": "x", "shape": [n_in], "type": in_ty})];
    let mut prev = "x".to_string();
    let mut width = n_in;
    // Every earlier value and its width, for skip connections.
    let mut seen: Vec<(String, usize)> = vec![(prev.clone(), width)];
    if r.below(4) == 0 {
        // A second input, joined to the first.
        let n2 = 1 + r.below(6) as usize;
        let (t2, ..) = rand_type(&mut r, 12, None);
        inputs.push(json!({"name": "x2", "shape": [n2], "type": t2}));
        layers.push(json!({"name": "xin", "op": "concat", "inputs": ["x", "x2"]}));
        prev = "xin".into();
        width += n2;
        seen.push((prev.clone(), width));
    }
    let depth = 1 + r.below(4);
    for l in 0..depth {
        let units = 1 + r.below(if l + 1 == depth { 12 } else { 40 }) as usize;
        let (wt, ws, ww, wi, wsym) = rand_type(&mut r, 8, None);
        let (bt, bs, bw, bi, bsym) = rand_type(&mut r, 10, None);
        let zero_rate = r.below(5);
        let weights: Vec<Vec<f64>> = (0..units)
            .map(|_| {
                (0..width)
                    .map(|_| on_grid(&mut r, (ws, ww, wi, wsym), zero_rate))
                    .collect()
            })
            .collect();
        let bias: Vec<f64> = (0..units)
            .map(|_| on_grid(&mut r, (bs, bw, bi, bsym), 2))
            .collect();
        let name = format!("fc{l}");
        let mut d = json!({
            "name": name, "op": "dense", "input": prev, "units": units,
            "weights": weights, "bias": bias, "weight_type": wt, "bias_type": bt,
        });
        if r.below(5) == 0 {
            let (mut at, ..) = rand_type(&mut r, 24, None);
            // explicit accumulators only wrap
            at = at
                .rsplit_once(',')
                .map(|(a, _)| format!("{a},wrap>"))
                .unwrap();
            d["accum_type"] = json!(at);
        }
        if r.below(4) != 0 {
            d["output_type"] = json!(rand_type(&mut r, 16, None).0);
        }
        layers.push(d);
        prev = name;
        width = units;
        let act = format!("act{l}");
        let a = match r.below(6) {
            0 => Some(
                json!({"name": act, "op": "relu", "input": prev, "output_type": rand_type(&mut r, 12, Some(false)).0}),
            ),
            1 => Some(json!({"name": act, "op": "relu", "input": prev})),
            2 => Some(
                json!({"name": act, "op": "leaky_relu", "input": prev, "alpha": 0.1, "alpha_type": "ufixed<6,0,rnd>",
                              "output_type": rand_type(&mut r, 12, Some(true)).0}),
            ),
            3 => Some(
                json!({"name": act, "op": "hard_tanh", "input": prev, "output_type": rand_type(&mut r, 10, Some(true)).0}),
            ),
            4 => Some(
                json!({"name": act, "op": "quantize", "input": prev, "output_type": rand_type(&mut r, 10, None).0}),
            ),
            _ => None,
        };
        if let Some(a) = a {
            layers.push(a);
            prev = act;
        }
        if r.below(4) == 0 {
            // A per-element power-of-two scale (QONNX's Mul after Trunc),
            // sometimes 0 or 3 times one, then a cast: the registered bits
            // below the cast's grid, or of an element the scale drops, are
            // read by nothing, and the back end zeroes them.
            let k = r.below(5) as i64;
            let weights: Vec<Vec<f64>> = (0..width)
                .map(|i| {
                    (0..width)
                        .map(|j| {
                            let raw = [1.0, 1.0, 1.0, 0.0, 3.0][r.below(5) as usize];
                            if i == j {
                                raw / (1u64 << k) as f64
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            let scale = format!("scale{l}");
            layers.push(json!({
                "name": scale, "op": "dense", "input": prev, "units": width,
                "weights": weights, "weight_type": format!("ufixed<2,{}>", 2 - k),
            }));
            let cast = format!("cast{l}");
            layers.push(
                json!({"name": cast, "op": "quantize", "input": scale, "output_type": rand_type(&mut r, 10, None).0}),
            );
            prev = cast;
        }
        match r.below(8) {
            // Residual: prev + a same-width function of an earlier value.
            0 => {
                let (src, w) = seen[r.below(seen.len() as u64) as usize].clone();
                let (wt, ws, ww, wi, wsym) = rand_type(&mut r, 6, None);
                let weights: Vec<Vec<f64>> = (0..width)
                    .map(|_| {
                        (0..w)
                            .map(|_| on_grid(&mut r, (ws, ww, wi, wsym), 2))
                            .collect()
                    })
                    .collect();
                let res = format!("res{l}");
                layers.push(json!({
                    "name": res, "op": "dense", "input": src, "units": width,
                    "weights": weights, "weight_type": wt,
                }));
                let sum = format!("sum{l}");
                layers.push(json!({"name": sum, "op": "add", "inputs": [prev, res]}));
                prev = sum;
            }
            // Concatenate an earlier value back in.
            1 => {
                let (src, w) = seen[r.below(seen.len() as u64) as usize].clone();
                let cat = format!("cat{l}");
                layers.push(json!({"name": cat, "op": "concat", "inputs": [src, prev]}));
                prev = cat;
                width += w;
            }
            // A layer no output reads: must be left out, not break lint.
            2 => layers.push(json!({"name": format!("dead{l}"), "op": "relu", "input": prev})),
            _ => {}
        }
        seen.push((prev.clone(), width));
    }
    let mut outputs = vec![json!(prev.clone())];
    if r.below(3) == 0 {
        layers.push(json!({"name": "decision", "op": "argmax", "input": prev}));
        outputs.push(json!("decision"));
    }
    json!({
        "format": "neurtl-model", "version": 1, "name": format!("rand_{seed}"),
        "inputs": inputs,
        "layers": layers, "outputs": outputs,
    })
}

fn pm1(r: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| if r.below(2) == 0 { -1.0 } else { 1.0 })
        .collect()
}

/// A batchnorm whose parameters often put the sign's threshold exactly on
/// a reachable sum (perfect-square variances, dyadic γ, β, μ), with every
/// sign of γ, zero included; sometimes arbitrary reals instead.
fn random_bn(r: &mut Rng, name: &str, input: &str, n: usize) -> Value {
    let pick = |r: &mut Rng, v: &[f64]| v[r.below(v.len() as u64) as usize];
    let exact = r.below(4) != 0;
    let mut g = vec![];
    let (mut b, mut m, mut v) = (vec![], vec![], vec![]);
    for _ in 0..n {
        if exact {
            g.push(pick(r, &[1.0, -1.0, 2.0, -0.5, 0.0, 0.25, -3.0]));
            b.push(r.range(-6, 6) as f64 * 0.5);
            m.push(r.range(-8, 8) as f64 * pick(r, &[1.0, 0.5]));
            v.push(pick(r, &[1.0, 4.0, 0.25, 2.25]));
        } else {
            let u = |r: &mut Rng| r.range(-1000, 1000) as f64 / 137.0;
            g.push(if r.below(8) == 0 { 0.0 } else { u(r) });
            b.push(u(r));
            m.push(u(r) * 2.0);
            v.push(0.05 + r.below(1000) as f64 / 97.0);
        }
    }
    json!({"name": name, "op": "batchnorm", "input": input,
           "gamma": g, "beta": b, "mean": m, "var": v,
           "epsilon": if exact { 0.0 } else { 1e-5 }})
}

/// A random binarized network: bipolar (or fixed-point) inputs, 1–3
/// hidden dense layers with bipolar weights, each followed by batchnorm →
/// sign (or sign alone), then an output dense layer with an argmax, a
/// multi-threshold, or a given-threshold sign.
pub fn random_bnn(seed: u64) -> Value {
    let mut r = Rng::new(seed.wrapping_mul(0x9E3779B97F4A7C15) ^ 0xb11);
    // Sizes stay moderate: a threshold-cell netlist has a few cells per
    // input bit per neuron, and Verilator's build time grows with them.
    let n_in = 1 + r.below(32) as usize;
    let mut width = n_in;
    let in_ty = if r.below(4) == 0 {
        rand_type(&mut r, 6, Some(true)).0
    } else {
        "bipolar".to_string()
    };
    let mut layers = vec![];
    let mut prev = "x".to_string();
    let depth = 1 + r.below(3);
    for l in 0..depth {
        let units = 1 + r.below(32) as usize;
        let mut d = json!({
            "name": format!("fc{l}"), "op": "dense", "input": prev, "units": units,
            "weights": (0..units).map(|_| pm1(&mut r, width)).collect::<Vec<_>>(),
            "weight_type": "bipolar",
        });
        if r.below(3) == 0 {
            d["bias"] = json!(
                (0..units)
                    .map(|_| r.range(-12, 12) as f64 * 0.25)
                    .collect::<Vec<_>>()
            );
            d["bias_type"] = json!("fixed<8,4>");
        }
        layers.push(d);
        prev = format!("fc{l}");
        if r.below(5) != 0 {
            layers.push(random_bn(&mut r, &format!("bn{l}"), &prev, units));
            prev = format!("bn{l}");
        }
        layers.push(json!({"name": format!("s{l}"), "op": "sign", "input": prev}));
        prev = format!("s{l}");
        width = units;
    }
    let units = 1 + r.below(12) as usize;
    let mut out = json!({
        "name": "out", "op": "dense", "input": prev, "units": units,
        "weights": (0..units).map(|_| pm1(&mut r, width)).collect::<Vec<_>>(),
        "weight_type": "bipolar",
    });
    if r.below(2) == 0 {
        out["bias"] = json!(
            (0..units)
                .map(|_| r.range(-8, 8) as f64 * 0.5)
                .collect::<Vec<_>>()
        );
        out["bias_type"] = json!("fixed<6,4>");
    }
    layers.push(out);
    let mut outputs = vec![json!("out")];
    match r.below(3) {
        0 => {
            layers.push(json!({"name": "decision", "op": "argmax", "input": "out"}));
            outputs.push(json!("decision"));
        }
        1 => {
            let steps = 1 + r.below(4) as usize;
            let rows = if r.below(2) == 0 { 1 } else { units };
            let t: Vec<Vec<f64>> = (0..rows)
                .map(|_| (0..steps).map(|_| r.range(-10, 10) as f64 * 0.5).collect())
                .collect();
            let scale = [1.0, 2.0, 0.5, -1.0][r.below(4) as usize];
            let bias = r.range(-4, 4) as f64 * 0.5;
            layers.push(json!({"name": "levels", "op": "threshold", "input": "out",
                               "thresholds": t, "out_scale": scale, "out_bias": bias}));
            outputs.push(json!("levels"));
        }
        _ => {
            // One threshold per channel with out 2·[x ≥ t] − 1: bipolar bits.
            let t: Vec<Vec<f64>> = (0..units).map(|_| vec![r.range(-6, 6) as f64]).collect();
            layers.push(json!({"name": "bits", "op": "threshold", "input": "out",
                               "thresholds": t, "out_scale": 2.0, "out_bias": -1.0}));
            outputs.push(json!("bits"));
        }
    }
    json!({
        "format": "neurtl-model", "version": 1, "name": format!("bnn_{seed}"),
        "inputs": [{"name": "x", "shape": [n_in], "type": in_ty}],
        "layers": layers, "outputs": outputs,
    })
}
