//! Random-network generator shared by the RTL property tests.

#![allow(dead_code)]

use neurtl::vectors::Rng;
use serde_json::{Value, json};

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
