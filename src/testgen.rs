//! Random valid networks as model JSON, each from a seed: the generators
//! of the property tests, of the `compile_random` fuzz target and of
//! `neurtl campaign`. In the library so all three draw the same networks
//! from the same seeds.

use crate::vectors::Rng;
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

pub use crate::frontend::json::sparse_form;

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
        // a quarter of the layers are masked, 90 % zero (structurally
        // sparse), which the compiler and the golden model store sparsely
        let zero_rate = if r.below(4) == 0 { 9 } else { r.below(5) };
        let weights: Vec<Vec<f64>> = (0..units)
            .map(|_| {
                (0..width)
                    .map(|_| on_grid(&mut r, (ws, ww, wi, wsym), zero_rate))
                    .collect()
            })
            .collect();
        let weights = if r.below(3) == 0 {
            sparse_form(&weights)
        } else {
            json!(weights)
        };
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
            // every other layer a prelu, its α per channel made without
            // drawing (so the other layers' draws stay as they were)
            2 if l % 2 == 1 => {
                let alpha: Vec<f64> = (0..width)
                    .map(|c| [0.1, 0.25, -0.5, 0.0, 1.5][c % 5])
                    .collect();
                Some(
                    json!({"name": act, "op": "prelu", "input": prev, "alpha": alpha, "alpha_type": "fixed<8,2,rnd>",
                                  "output_type": rand_type(&mut r, 12, Some(true)).0}),
                )
            }
            2 => Some(
                json!({"name": act, "op": "leaky_relu", "input": prev, "alpha": 0.1, "alpha_type": "ufixed<6,0,rnd>",
                              "output_type": rand_type(&mut r, 12, Some(true)).0}),
            ),
            // every other layer a hard sigmoid, drawn like the hard tanh
            3 if l % 2 == 0 => Some(
                json!({"name": act, "op": "hard_sigmoid", "input": prev, "slope": 0.2, "slope_type": "ufixed<6,0,rnd>",
                       "output_type": rand_type(&mut r, 10, Some(true)).0}),
            ),
            3 => Some(
                json!({"name": act, "op": "hard_tanh", "input": prev, "output_type": rand_type(&mut r, 10, Some(true)).0}),
            ),
            4 => Some(
                json!({"name": act, "op": "quantize", "input": prev, "output_type": rand_type(&mut r, 10, None).0}),
            ),
            // every other layer a requantization by a real scale
            5 if l % 2 == 1 => Some(random_requant(&mut r, &act, &prev, width)),
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
            // A 2-D view of prev, a slice of it on a random axis, flattened
            // again and joined in front of prev.
            3 => {
                let (view, kept) = slice_branch(&mut r, &mut layers, &prev, width, l);
                let cat = format!("slcat{l}");
                layers.push(json!({"name": cat, "op": "concat", "inputs": [view, prev]}));
                prev = cat;
                width += kept;
            }
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

/// Layers that view `src` (`width` elements) as a random 2-D shape, keep
/// a random range of one axis (counted from the end half the time) and
/// flatten it; the last layer's name and its width.
/// A `requant` layer with float32 scales (Brevitas' kind): 2 to 6 bits,
/// any zero point, tie rule and ReLU.
pub fn random_requant(r: &mut Rng, name: &str, input: &str, width: usize) -> Value {
    let f32_of = |x: f64| x as f32 as f64;
    let channels = if r.below(2) == 0 { 1 } else { width };
    let mul: Vec<f64> = (0..channels)
        .map(|_| f32_of(r.range(1, 1000) as f64 * 1e-3))
        .collect();
    let add: Vec<f64> = (0..channels)
        .map(|_| f32_of(r.range(-100, 100) as f64 * 1e-2))
        .collect();
    let bits = 2 + r.below(5) as i64;
    let (min, max) = if r.below(2) == 0 {
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    } else {
        (0, (1 << bits) - 1)
    };
    let zero = r.range(min, max);
    let mode = crate::fixed::QuantMode::ALL[r.below(7) as usize].name();
    let scale = f32_of(r.range(1, 1000) as f64 * 1e-3 / (1 << r.below(4)) as f64);
    json!({"name": name, "op": "requant", "input": input, "mul": mul, "add": add,
           "relu": r.below(3) == 0, "scale": scale, "zero_point": zero,
           "min": min, "max": max, "rounding": mode})
}

fn slice_branch(
    r: &mut Rng,
    layers: &mut Vec<Value>,
    src: &str,
    width: usize,
    l: u64,
) -> (String, usize) {
    let divisors: Vec<usize> = (1..=width).filter(|&d| width.is_multiple_of(d)).collect();
    let rows = divisors[r.below(divisors.len() as u64) as usize];
    let dims = [rows, width / rows];
    let open = r.below(3) as usize; // -1 for one dimension, or neither
    let shape: Vec<i64> = (0..2)
        .map(|i| if i == open { -1 } else { dims[i] as i64 })
        .collect();
    let (view, cut, flat) = (format!("view{l}"), format!("cut{l}"), format!("flat{l}"));
    layers.push(json!({"name": view, "op": "reshape", "input": src, "shape": shape}));
    let axis = r.below(2) as usize;
    let start = r.below(dims[axis] as u64) as usize;
    let end = start + 1 + r.below((dims[axis] - start) as u64) as usize;
    let named = if r.below(2) == 0 {
        axis as i64
    } else {
        axis as i64 - 2
    };
    layers.push(json!({"name": cut, "op": "slice", "input": view, "axis": named, "start": start, "end": end}));
    if r.below(2) == 0 {
        layers.push(json!({"name": flat, "op": "flatten", "input": cut}));
    } else {
        layers.push(json!({"name": flat, "op": "reshape", "input": cut, "shape": [-1]}));
    }
    (flat, width / dims[axis] * (end - start))
}

fn pm1(r: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| if r.below(2) == 0 { -1.0 } else { 1.0 })
        .collect()
}

/// A batchnorm whose parameters often put the sign's threshold exactly on
/// a reachable sum (perfect-square variances, dyadic γ, β, μ), with every
/// sign of γ, zero included; sometimes arbitrary reals instead, unless
/// `exact_only`. The random stream is the same either way, so a seed names
/// the same network shape in both.
fn random_bn(r: &mut Rng, name: &str, input: &str, n: usize, exact_only: bool) -> Value {
    let pick = |r: &mut Rng, v: &[f64]| v[r.below(v.len() as u64) as usize];
    let exact = r.below(4) != 0 || exact_only;
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
    bnn(seed, false)
}

/// A random BNN whose float reference is exact in f64: like `random_bnn`,
/// but every batchnorm has dyadic γ, β, μ, perfect-square variances and no
/// ε, so `γ(x − μ)/√σ² + β` has the sign of the exact real value.
pub fn random_exact_bnn(seed: u64) -> Value {
    bnn(seed, true)
}

fn bnn(seed: u64, exact_bn: bool) -> Value {
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
            layers.push(random_bn(&mut r, &format!("bn{l}"), &prev, units, exact_bn));
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

/// What the exact-grid generator knows about a value: a bound on its
/// magnitude and a grid (every value is a multiple of 2^-frac).
#[derive(Clone)]
struct Exact {
    name: String,
    width: usize,
    max_abs: f64,
    frac: i64,
}

/// The (signed, w, i, sym) of a type string from `rand_type`, and its grid
/// and magnitude bound as `Exact` sees them.
fn grid_of(w: i64, i: i64, s: bool) -> (f64, i64) {
    let max_abs = 2f64.powi((if s { i - 1 } else { i }) as i32);
    (max_abs, (w - i).max(0))
}

/// A type string that holds every multiple of 2^-frac up to `max_abs` in
/// magnitude, with random slack and modes: a cast to it can neither round
/// nor overflow, whatever its modes say. None when it would not be small.
fn wide_type(r: &mut Rng, max_abs: f64, frac: i64, signed: bool) -> Option<String> {
    // 2^(int) > max_abs + 1 leaves room for sat_sym's missing code.
    let int = (max_abs + 1.0).log2().ceil() as i64 + r.below(2) as i64 + signed as i64;
    let frac = frac + r.below(3) as i64;
    let w = int + frac;
    let kind = if signed { "fixed" } else { "ufixed" };
    let (q, o) = (QUANT[r.below(7) as usize], OVER[r.below(4) as usize]);
    (w <= 40).then(|| format!("{kind}<{w},{int},{q},{o}>"))
}

/// A random dense layer reading `src` on small grids; returns the layer and
/// what its exact output is.
fn exact_dense(r: &mut Rng, name: &str, src: &Exact, units: usize) -> (Value, Exact) {
    let (wt, ws, ww, wi, wsym) = rand_type(r, 5, None);
    let (bt, bs, bw, bi, bsym) = rand_type(r, 6, None);
    let zero_rate = r.below(5);
    let weights: Vec<Vec<f64>> = (0..units)
        .map(|_| {
            (0..src.width)
                .map(|_| on_grid(r, (ws, ww, wi, wsym), zero_rate))
                .collect()
        })
        .collect();
    let bias: Vec<f64> = (0..units)
        .map(|_| on_grid(r, (bs, bw, bi, bsym), 2))
        .collect();
    let max_abs = weights
        .iter()
        .zip(&bias)
        .map(|(row, b)| b.abs() + row.iter().map(|w| w.abs() * src.max_abs).sum::<f64>())
        .fold(0.0, f64::max);
    let frac = (src.frac + grid_of(ww, wi, ws).1).max(grid_of(bw, bi, bs).1);
    let mut d = json!({
        "name": name, "op": "dense", "input": src.name, "units": units,
        "weights": weights, "bias": bias, "weight_type": wt, "bias_type": bt,
    });
    if r.below(3) == 0
        && let Some(t) = wide_type(r, max_abs, frac, true)
    {
        d["output_type"] = json!(t);
    }
    let out = Exact {
        name: name.to_string(),
        width: units,
        max_abs,
        frac,
    };
    (d, out)
}

/// A random activation (or cast) of `x` that keeps values exact; None
/// for no activation.
fn exact_activation(r: &mut Rng, name: &str, x: &Exact) -> Option<(Value, Exact)> {
    let mut y = Exact {
        name: name.to_string(),
        ..x.clone()
    };
    let layer = match r.below(6) {
        0 => json!({"name": name, "op": "relu", "input": x.name}),
        1 => {
            let mut l = json!({"name": name, "op": "relu", "input": x.name});
            if let Some(t) = wide_type(r, x.max_abs, x.frac, false) {
                l["output_type"] = json!(t);
            }
            l
        }
        2 => {
            // A slope on the alpha_type grid: alpha_q = alpha, so the
            // float reference's unquantized slope is the same number.
            let alpha = [0.5, 0.25, 0.125, 0.375][r.below(4) as usize];
            y.frac += 4;
            if alpha == 0.375 {
                // a prelu instead: one slope per channel, some negative,
                // all of magnitude at most 1 (so max_abs holds)
                let alphas: Vec<f64> = (0..x.width)
                    .map(|c| [0.5, -0.25, 0.125, -0.875, 0.0625][c % 5])
                    .collect();
                return Some((
                    json!({"name": name, "op": "prelu", "input": x.name,
                           "alpha": alphas, "alpha_type": "fixed<5,1>"}),
                    y,
                ));
            }
            json!({"name": name, "op": "leaky_relu", "input": x.name,
                   "alpha": alpha, "alpha_type": "ufixed<4,0>"})
        }
        3 if x.width.is_multiple_of(2) => {
            // a hard sigmoid instead, its slope and offset on the grid
            y.max_abs = 1.0;
            y.frac += 3;
            json!({"name": name, "op": "hard_sigmoid", "input": x.name,
                   "slope": 0.375, "slope_type": "fixed<4,1>", "offset": 0.5})
        }
        3 => {
            y.max_abs = x.max_abs.min(1.0);
            json!({"name": name, "op": "hard_tanh", "input": x.name})
        }
        4 => {
            let t = wide_type(r, x.max_abs, x.frac, true)?;
            json!({"name": name, "op": "quantize", "input": x.name, "output_type": t})
        }
        _ => return None,
    };
    Some((layer, y))
}

/// A random MLP on which no type can round or overflow: small input and
/// weight grids, `auto` accumulators, activations without a rounding type
/// and casts to types wide enough for the exact value (random modes that
/// never trigger), plus residual sums, concatenations and an argmax. Every
/// value stays well within f64's 53 bits, so the float reference computes
/// exactly what the hardware must.
pub fn random_exact_mlp(seed: u64) -> Value {
    let mut r = Rng::new(seed.wrapping_mul(0xD1B54A32D192ED03) ^ 0xe7ac7);
    let n_in = 1 + r.below(12) as usize;
    let (in_ty, s, w, i, _) = rand_type(&mut r, 6, None);
    let (max_abs, frac) = grid_of(w, i, s);
    let mut prev = Exact {
        name: "x".into(),
        width: n_in,
        max_abs,
        frac,
    };
    let mut seen = vec![prev.clone()];
    let mut layers = vec![];
    let depth = 1 + r.below(3);
    for l in 0..depth {
        let units = 1 + r.below(16) as usize;
        let (d, out) = exact_dense(&mut r, &format!("fc{l}"), &prev, units);
        layers.push(d);
        prev = out;
        if let Some((a, out)) = exact_activation(&mut r, &format!("act{l}"), &prev) {
            layers.push(a);
            prev = out;
        }
        match r.below(6) {
            0 => {
                let src = seen[r.below(seen.len() as u64) as usize].clone();
                let (d, res) = exact_dense(&mut r, &format!("res{l}"), &src, prev.width);
                layers.push(d);
                let sum = format!("sum{l}");
                layers.push(json!({"name": sum, "op": "add", "inputs": [prev.name, res.name]}));
                prev = Exact {
                    name: sum,
                    width: prev.width,
                    max_abs: prev.max_abs + res.max_abs,
                    frac: prev.frac.max(res.frac),
                };
            }
            1 => {
                let src = seen[r.below(seen.len() as u64) as usize].clone();
                let cat = format!("cat{l}");
                layers.push(json!({"name": cat, "op": "concat", "inputs": [src.name, prev.name]}));
                prev = Exact {
                    name: cat,
                    width: prev.width + src.width,
                    max_abs: prev.max_abs.max(src.max_abs),
                    frac: prev.frac.max(src.frac),
                };
            }
            _ => {}
        }
        seen.push(prev.clone());
    }
    let mut outputs = vec![json!(prev.name)];
    if r.below(3) == 0 {
        layers.push(json!({"name": "decision", "op": "argmax", "input": prev.name}));
        outputs.push(json!("decision"));
    }
    json!({
        "format": "neurtl-model", "version": 1, "name": format!("exact_{seed}"),
        "inputs": [{"name": "x", "shape": [n_in], "type": in_ty}],
        "layers": layers, "outputs": outputs,
    })
}

/// An environment variable as a number, or `default`.
pub fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run `check` on seeds `first..first + nets` on two threads and fail the
/// test naming every failing seed (each failure is printed as it happens);
/// `count_var` is the variable that sets `nets`, for the replay hint.
pub fn for_seeds(
    nets: u64,
    first: u64,
    count_var: &str,
    check: impl Fn(u64) -> Result<(), String> + Sync,
) {
    let failures = std::sync::Mutex::new(vec![]);
    let next = std::sync::atomic::AtomicU64::new(first);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if seed >= first + nets {
                        break;
                    }
                    if let Err(e) = check(seed) {
                        eprintln!("seed {seed} FAILED: {e}");
                        failures.lock().unwrap().push(seed);
                    }
                }
            });
        }
    });
    let mut f = failures.into_inner().unwrap();
    f.sort();
    assert!(
        f.is_empty(),
        "{} of {nets} random networks failed, replay with NEURTL_FUZZ_SEED=<seed> {count_var}=1: seeds {f:?}",
        f.len()
    );
}

/// A random convolutional network as model JSON: an input of shape
/// [length, channels] or [height, width, channels], one or two `conv1d`
/// or `conv2d` layers with random kernels, strides, dilations, padding
/// (valid, same or explicit) and groups (depthwise among them), random
/// types and accumulators, a per-channel prelu or a relu now and then,
/// a slice of the channels added back, then a dense head.
pub fn random_conv(seed: u64) -> Value {
    conv_net(seed, false)
}

/// `random_conv` with every value exact: no casts and no explicit
/// accumulators, so the float reference equals the golden model.
pub fn random_conv_exact(seed: u64) -> Value {
    conv_net(seed, true)
}

/// The table activations, by op name.
pub const TABLE_OPS: [&str; 7] = [
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "softplus",
    "exp",
    "reciprocal",
];

fn conv_net(seed: u64, exact: bool) -> Value {
    let mut r = Rng::new(seed.wrapping_mul(0x9E3779B97F4A7C15) ^ 0xc0117);
    let rank = 1 + r.below(2) as usize;
    let mut spatial: Vec<usize> = (0..rank)
        .map(|_| 2 + r.below(if rank == 1 { 9 } else { 5 }) as usize)
        .collect();
    let mut channels = 1 + r.below(4) as usize;
    let (in_ty, ..) = rand_type(&mut r, 8, None);
    let mut shape = spatial.clone();
    shape.push(channels);
    let inputs = vec![json!({"name": "x", "shape": shape, "type": in_ty})];
    let mut layers = vec![];
    let mut prev = "x".to_string();
    let convs = 1 + r.below(2);
    for l in 0..convs {
        let groups = match r.below(4) {
            0 => channels,
            1 if channels.is_multiple_of(2) => 2,
            _ => 1,
        };
        let filters = groups * (1 + r.below(3) as usize);
        let kernel: Vec<usize> = (0..rank).map(|_| 1 + r.below(3) as usize).collect();
        let stride: Vec<usize> = (0..rank).map(|_| 1 + (r.below(4) == 0) as usize).collect();
        let dilation: Vec<usize> = (0..rank).map(|_| 1 + (r.below(5) == 0) as usize).collect();
        let mut padding = match r.below(3) {
            0 => json!("valid"),
            1 => json!("same"),
            _ => json!(
                (0..rank)
                    .map(|_| [r.below(3), r.below(2)])
                    .collect::<Vec<_>>()
            ),
        };
        // zeros before and after on axis `a`, by the definition of each
        // padding
        let pads = |padding: &Value, a: usize, n: usize| -> (usize, usize) {
            let span = (kernel[a] - 1) * dilation[a] + 1;
            match padding {
                Value::String(s) if s == "same" => {
                    let total = ((n.div_ceil(stride[a]) - 1) * stride[a] + span).saturating_sub(n);
                    (total / 2, total - total / 2)
                }
                Value::Array(p) => (
                    p[a][0].as_u64().unwrap() as usize,
                    p[a][1].as_u64().unwrap() as usize,
                ),
                _ => (0, 0),
            }
        };
        let span = |a: usize| (kernel[a] - 1) * dilation[a] + 1;
        let fits = |padding: &Value| {
            (0..rank).all(|a| {
                let (lo, hi) = pads(padding, a, spatial[a]);
                spatial[a] + lo + hi >= span(a)
            })
        };
        if !fits(&padding) {
            padding = json!("same");
        }
        for a in 0..rank {
            let (lo, hi) = pads(&padding, a, spatial[a]);
            spatial[a] = (spatial[a] + lo + hi - span(a)) / stride[a] + 1;
        }
        let (wt, ws, ww, wi, wsym) = rand_type(&mut r, 6, None);
        let (bt, bs, bw, bi, bsym) = rand_type(&mut r, 8, None);
        let zero_rate = r.below(5);
        let cpg = channels / groups;
        let filter = |r: &mut Rng| -> Value {
            let taps = |r: &mut Rng| -> Value {
                json!(
                    (0..cpg)
                        .map(|_| on_grid(r, (ws, ww, wi, wsym), zero_rate))
                        .collect::<Vec<_>>()
                )
            };
            if rank == 1 {
                json!((0..kernel[0]).map(|_| taps(r)).collect::<Vec<_>>())
            } else {
                json!(
                    (0..kernel[0])
                        .map(|_| json!((0..kernel[1]).map(|_| taps(r)).collect::<Vec<_>>()))
                        .collect::<Vec<_>>()
                )
            }
        };
        let weights: Vec<Value> = (0..filters).map(|_| filter(&mut r)).collect();
        let bias: Vec<f64> = (0..filters)
            .map(|_| on_grid(&mut r, (bs, bw, bi, bsym), 2))
            .collect();
        let name = format!("conv{l}");
        let mut c = json!({
            "name": name, "op": if rank == 1 { "conv1d" } else { "conv2d" }, "input": prev,
            "filters": filters, "kernel_size": kernel, "strides": stride, "dilation": dilation,
            "padding": padding, "groups": groups,
            "weights": weights, "bias": bias, "weight_type": wt, "bias_type": bt,
        });
        if !exact && r.below(5) == 0 {
            let (at, ..) = rand_type(&mut r, 20, None);
            let at = at
                .rsplit_once(',')
                .map(|(a, _)| format!("{a},wrap>"))
                .unwrap();
            c["accum_type"] = json!(at);
        }
        if !exact && r.below(3) == 0 {
            c["output_type"] = json!(rand_type(&mut r, 14, None).0);
        }
        channels = filters;
        layers.push(c);
        prev = name;
        let act = format!("act{l}");
        match r.below(4) {
            1 => {
                let alpha: Vec<f64> = (0..channels)
                    .map(|c| [0.25, -0.5, 0.0, 1.5][c % 4])
                    .collect();
                let mut p = json!({"name": act, "op": "prelu", "input": prev, "alpha": alpha, "alpha_type": "fixed<6,2>"});
                if !exact {
                    p["output_type"] = json!(rand_type(&mut r, 10, Some(true)).0);
                }
                layers.push(p);
                prev = act;
            }
            2 => {
                let mut p = json!({"name": act, "op": "relu", "input": prev});
                if !exact {
                    p["output_type"] = json!(rand_type(&mut r, 10, Some(false)).0);
                }
                layers.push(p);
                prev = act;
            }
            // a table activation: not exact, so not on the exact grid
            0 if !exact => {
                let f = TABLE_OPS[r.below(TABLE_OPS.len() as u64) as usize];
                let mut t = json!({"name": act, "op": f, "input": prev,
                                   "output_type": rand_type(&mut r, 12, None).0});
                if r.below(3) == 0 {
                    // a small table: low bits dropped first
                    t["table_bits"] = json!(2 + r.below(6));
                }
                layers.push(t);
                prev = act;
            }
            _ => {}
        }
        if let Some(pool) = random_pool(&mut r, &mut spatial, &prev, l, exact) {
            prev = pool["name"].as_str().unwrap().to_string();
            layers.push(pool);
        }
        if channels > 1 && r.below(3) == 0 {
            // the first channels added to the last ones: a branch that
            // slices the channel axis
            let half = channels / 2;
            let (a, b) = (format!("lo{l}"), format!("hi{l}"));
            layers.push(json!({"name": a, "op": "slice", "input": prev, "axis": -1, "start": 0, "end": half}));
            layers.push(json!({"name": b, "op": "slice", "input": prev, "axis": -1, "start": channels - half, "end": channels}));
            let sum = format!("sum{l}");
            layers.push(json!({"name": sum, "op": "add", "inputs": [a, b]}));
            prev = sum;
            channels = half;
        }
    }
    let width: usize = spatial.iter().product::<usize>() * channels;
    let mut flat_in = prev.clone();
    if r.below(2) == 0 {
        // the axes in a random order before flattening, as an importer
        // does to give a channels-first model its element order
        let mut perm: Vec<usize> = (0..=rank).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, r.below(i as u64 + 1) as usize);
        }
        layers.push(json!({"name": "perm", "op": "transpose", "input": prev, "perm": perm}));
        flat_in = "perm".into();
    }
    layers.push(json!({"name": "flat", "op": "flatten", "input": flat_in}));
    let units = 1 + r.below(4) as usize;
    let (wt, ws, ww, wi, wsym) = rand_type(&mut r, 6, None);
    let weights: Vec<Vec<f64>> = (0..units)
        .map(|_| {
            (0..width)
                .map(|_| on_grid(&mut r, (ws, ww, wi, wsym), 2))
                .collect()
        })
        .collect();
    layers.push(
        json!({"name": "head", "op": "dense", "input": "flat", "units": units,
                       "weights": weights, "weight_type": wt}),
    );
    let mut outputs = vec![json!("head"), json!(prev)];
    if !exact && r.below(3) == 0 {
        let ty = format!("ufixed<{},0,rnd,sat>", 6 + r.below(7));
        layers.push(json!({"name": "probs", "op": "softmax", "input": "head", "output_type": ty}));
        outputs.push(json!("probs"));
    }
    json!({
        "format": "neurtl-model", "version": 1, "name": format!("conv_{seed}"),
        "inputs": inputs, "layers": layers, "outputs": outputs,
    })
}

/// Now and then a max or average pool of `src`, whose spatial extents
/// `spatial` it updates. With `exact`, an average divides by a power of
/// two (the whole kernel, padding counted), on a divisor type that holds
/// it exactly.
fn random_pool(
    r: &mut Rng,
    spatial: &mut [usize],
    src: &str,
    l: u64,
    exact: bool,
) -> Option<Value> {
    let rank = spatial.len();
    let kind = r.below(3);
    if kind == 2 {
        return None;
    }
    let kernel: Vec<usize> = (0..rank)
        .map(|_| {
            if exact && kind == 1 {
                1 + r.below(2) as usize
            } else {
                1 + r.below(3) as usize
            }
        })
        .collect();
    let stride: Vec<usize> = (0..rank)
        .map(|a| if r.below(2) == 0 { kernel[a] } else { 1 })
        .collect();
    let same = r.below(2) == 0 || (0..rank).any(|a| kernel[a] > spatial[a]);
    for a in 0..rank {
        let n = spatial[a];
        spatial[a] = if same {
            n.div_ceil(stride[a])
        } else {
            (n - kernel[a]) / stride[a] + 1
        };
    }
    let op = match (kind, rank) {
        (0, 1) => "maxpool1d",
        (0, _) => "maxpool2d",
        (_, 1) => "avgpool1d",
        _ => "avgpool2d",
    };
    let mut p = json!({"name": format!("pool{l}"), "op": op, "input": src, "kernel_size": kernel,
                       "strides": stride, "padding": if same { "same" } else { "valid" }});
    if kind == 1 {
        p["count_include_pad"] = json!(exact || r.below(2) == 0);
        if exact {
            // 1/4 and 1/2 exactly, in few bits: f64 stays exact downstream
            p["divisor_type"] = json!("ufixed<4,1>");
        } else if r.below(2) == 0 {
            p["divisor_type"] = json!(rand_type(r, 12, Some(false)).0);
        }
    }
    Some(p)
}

/// The `compile_random` fuzz target's reading of its input: a seed (bytes
/// 0–7), a generator (byte 8) and compile options (bytes 9–11), missing
/// bytes read as 0. Shared with the test that replays its corpus. The
/// generators make only valid networks, so each must compile.
pub fn fuzz_case(data: &[u8]) -> (Value, crate::ir::CompileOptions, u64) {
    use crate::ir::{Adders, CompileOptions, PipelineMode, Target};
    let mut b = [0u8; 12];
    for (d, s) in b.iter_mut().zip(data) {
        *d = *s;
    }
    let seed = u64::from_le_bytes(b[..8].try_into().unwrap());
    let kind = b[8] % 4;
    let model = match kind {
        0 => random_mlp(seed),
        1 => random_exact_mlp(seed),
        2 => random_bnn(seed),
        _ => random_conv(seed),
    };
    let targets = [Target::Fpga, Target::Mac, Target::TlCells, Target::TlPe];
    let modes = [PipelineMode::Layer, PipelineMode::None, PipelineMode::Clock];
    let opts = CompileOptions {
        // only binarized networks have targets beside the default
        target: if kind == 2 {
            targets[b[9] as usize % 4]
        } else {
            Target::Fpga
        },
        mode: modes[b[10] as usize % 3],
        max_adder_depth: (b[11] % 3) as u32,
        share: b[11] & 8 != 0,
        adders: [Adders::Binary, Adders::Fused, Adders::Ternary][(b[11] >> 4) as usize % 3],
        ..Default::default()
    };
    (model, opts, seed)
}
