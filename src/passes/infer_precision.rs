//! Precision inference: exact per-element intervals and formats for every
//! node, from the input types and the actual integer weights (not a worst
//! case over the weight type). Dense accumulators marked `auto` get exactly
//! the width their interval needs, so they can never overflow.

use super::{Pass, PassError};
use crate::fixed::{Format, MAX_WIDTH, OverflowMode, cast_interval};
use crate::ir::interval::{self, add, scale, shl};
use crate::ir::{AccInfo, Accum, BIPOLAR, Graph, Interval, Op, Target, channel_of};

/// Sizes for `target`: XNOR-popcount is chosen here, except for `mac`.
pub struct InferPrecision(pub Target);

fn too_wide(layer: &str, field: &str) -> PassError {
    PassError::model(
        layer,
        field,
        format!(
            "the exact result needs more than {MAX_WIDTH} bits, the widest value neurtl represents"
        ),
    )
    .with_help("give the layer an output_type or accum_type that narrows it")
}

/// A neuron whose result fits but whose partial sums, or the shift-add
/// steps of its products, might not: the datapath builds every
/// intermediate exactly, so the layer is refused rather than wrapped.
fn partial_sums_too_wide(layer: &str, neuron: usize) -> PassError {
    PassError::model(
        layer,
        "weights",
        format!(
            "the partial sums of neuron {neuron} can need more than {MAX_WIDTH} bits (|bias| + Σ|w·x| reaches 2^{}), the widest value neurtl builds",
            MAX_WIDTH - 3
        ),
    )
    .with_help("narrow the weight type's integer bits, or give the layer an explicit accum_type")
}

/// `x` as `raw · 2^-frac` with the smallest `frac` in 0..=64, if any, and
/// `|raw| < 2^100`.
fn dyadic_frac(x: f64) -> Option<(i128, i32)> {
    (0..=64).find_map(|f| {
        let v = x * 2f64.powi(f);
        (v.fract() == 0.0 && v.abs() < 2f64.powi(100)).then_some((v as i128, f))
    })
}

/// The tightest format at `frac` holding every interval.
fn format_of(ranges: &[Interval], frac: i32) -> Option<Format> {
    let lo = ranges.iter().map(|r| r.0).min()?;
    let hi = ranges.iter().map(|r| r.1).max()?;
    Format::for_interval(lo, hi, frac)
}

impl Pass for InferPrecision {
    fn name(&self) -> &'static str {
        "infer_precision"
    }
    fn description(&self) -> &'static str {
        "derive exact value intervals and minimal formats for every node"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for n in g.topo() {
            let ops = g.operands(n);
            let in_fmt: Vec<Format> = ops.iter().map(|&o| g.node(o).format.unwrap()).collect();
            let in_rng: Vec<Vec<Interval>> = ops
                .iter()
                .map(|&o| g.node(o).range.clone().unwrap())
                .collect();
            let name = g.node(n).name.clone();
            let wide = |field: &str| too_wide(&name, field);
            let in_bipolar: Vec<bool> = ops.iter().map(|&o| g.node(o).bipolar).collect();
            let mut threshold = None;
            let mut table = None;
            let mut softmax = None;
            // The op's exact result: (frac, per-element intervals).
            let (frac, ranges, acc) = match &g.node(n).op {
                Op::Input { ty, .. } => {
                    let r = if g.node(n).bipolar {
                        (-1, 1)
                    } else {
                        (ty.format.min_raw(), ty.format.max_raw())
                    };
                    (ty.format.frac, vec![r; g.node(n).size()], None)
                }
                Op::Neurons(_) => unreachable!("fuse_neurons runs after precision inference"),
                Op::Sign => {
                    if !in_fmt[0].signed {
                        return Err(PassError::model(
                            &name,
                            "input",
                            format!(
                                "sign of an unsigned value ({}) is always +1",
                                in_fmt[0]
                            ),
                        )
                        .with_help("apply sign to a signed value, e.g. before the relu or to the dense output"));
                    }
                    let r = in_rng[0]
                        .iter()
                        .map(|&(l, h)| (if h >= 0 { 1 } else { -1 }, if l >= 0 { 1 } else { -1 }))
                        .map(|(a, b)| (a.min(b), a.max(b)))
                        .collect();
                    (0, r, None)
                }
                Op::Threshold(t) => {
                    let (scale, sf) = dyadic_frac(t.out_scale).ok_or_else(|| {
                        PassError::model(
                            &name,
                            "out_scale",
                            "must be a multiple of 2^-64 below 2^60",
                        )
                    })?;
                    let (bias, bf) = dyadic_frac(t.out_bias).ok_or_else(|| {
                        PassError::model(
                            &name,
                            "out_bias",
                            "must be a multiple of 2^-64 below 2^60",
                        )
                    })?;
                    let frac = sf.max(bf);
                    let (scale, bias) = (scale << (frac - sf), bias << (frac - bf));
                    let mut raw = vec![];
                    let mut out = vec![];
                    for (c, &r) in in_rng[0].iter().enumerate() {
                        let ts = t.thresholds.raw(c, in_fmt[0].frac, r);
                        let count = |x: i128| ts.iter().filter(|&&t| x >= t).count() as i128;
                        let (a, b) = (count(r.0) * scale + bias, count(r.1) * scale + bias);
                        out.push((a.min(b), a.max(b)));
                        raw.push(ts);
                    }
                    let steps = raw.first().map_or(0, Vec::len);
                    let bipolar_out = steps == 1 && t.out_scale == 2.0 && t.out_bias == -1.0;
                    threshold = Some((raw, (scale, bias, frac), bipolar_out));
                    (frac, out, None)
                }
                Op::Dense(d) => {
                    let q = d.quant.as_ref().expect("quantize_weights runs first");
                    let fx = in_fmt[0].frac;
                    let fw = d.weight_type.format.frac;
                    let fb = d.bias_type.format.frac;
                    match &d.accum {
                        Accum::Auto => {
                            let prod_frac = fx + fw;
                            let frac = prod_frac.max(fb);
                            let product_shift = (frac - prod_frac) as u32;
                            let bshift = (frac - fb) as u32;
                            let mut ranges = vec![];
                            let mut bias = vec![];
                            for j in 0..d.neurons() {
                                let row = d.row_of(j);
                                let b = q.bias[row]
                                    .checked_mul(1i128 << bshift.min(126))
                                    .filter(|_| bshift < 127);
                                let b = b.ok_or_else(|| wide("bias"))?;
                                let mut r = (b, b);
                                // |b| + Σ |w·x|: every partial sum, and every
                                // shift-add step of a product, stays within
                                // twice this (canonical signed digits)
                                let mut mag = b.unsigned_abs();
                                for (tap, w) in q.weights[row].nonzeros() {
                                    let Some(i) = d.input_of(j, tap) else {
                                        continue;
                                    };
                                    let p = scale(in_rng[0][i], w)
                                        .and_then(|p| shl(p, product_shift))
                                        .ok_or_else(|| wide("weights"))?;
                                    r = add(r, p).ok_or_else(|| wide("weights"))?;
                                    mag = mag
                                        .saturating_add(p.0.unsigned_abs().max(p.1.unsigned_abs()));
                                }
                                if mag >= 1 << (MAX_WIDTH - 3) {
                                    return Err(partial_sums_too_wide(&name, j));
                                }
                                bias.push(b);
                                ranges.push(r);
                            }
                            let format =
                                format_of(&ranges, frac).ok_or_else(|| wide("accum_type"))?;
                            let acc = AccInfo {
                                frac,
                                product_shift,
                                bias,
                                format,
                                ranges: ranges.clone(),
                            };
                            (frac, ranges, Some(acc))
                        }
                        Accum::Explicit(a) => {
                            if a.overflow != OverflowMode::Wrap {
                                return Err(PassError::model(
                                    &name,
                                    "accum_type",
                                    format!(
                                        "{a}: an explicit accumulator wraps after every addition, so only `wrap` overflow is meaningful"
                                    ),
                                )
                                .with_help("drop the overflow mode, or use accum_type \"auto\" for an accumulator that never overflows"));
                            }
                            let bias: Vec<i128> = (0..d.neurons())
                                .map(|j| crate::fixed::cast(q.bias[d.row_of(j)], fb, a).0)
                                .collect();
                            let r = (a.format.min_raw(), a.format.max_raw());
                            let acc = AccInfo {
                                frac: a.format.frac,
                                product_shift: 0,
                                bias,
                                format: a.format,
                                ranges: vec![r; d.neurons()],
                            };
                            (a.format.frac, vec![r; d.neurons()], Some(acc))
                        }
                    }
                }
                Op::BatchNorm(_) => unreachable!("fold_batchnorm removed every batchnorm"),
                Op::Relu => (
                    in_fmt[0].frac,
                    in_rng[0].iter().map(|&r| interval::relu(r).out).collect(),
                    None,
                ),
                Op::Table(t) => {
                    let ty = g
                        .node(n)
                        .cast
                        .expect("the front end requires an output_type");
                    let hull = in_rng[0]
                        .iter()
                        .copied()
                        .reduce(interval::hull)
                        .expect("an element");
                    let rom = crate::ir::Rom::build(t.func, in_fmt[0].frac, hull, t.bits, &ty);
                    let out = in_rng[0].iter().map(|&r| rom.range_over(r)).collect();
                    table = Some(rom);
                    (ty.format.frac, out, None)
                }
                Op::Softmax(sm) => {
                    let ty = g
                        .node(n)
                        .cast
                        .expect("the front end requires an output_type");
                    let row = *g
                        .node(ops[0])
                        .shape
                        .as_ref()
                        .expect("shapes")
                        .last()
                        .expect("an axis");
                    let plan = sm
                        .plan(&in_rng[0], row, in_fmt[0].frac, &ty)
                        .ok_or_else(|| wide("exp_type"))?;
                    let r = plan.out.range_over((plan.t_min, 0));
                    softmax = Some(plan);
                    (ty.format.frac, vec![r; in_rng[0].len()], None)
                }
                Op::Pool(p) => {
                    pool(p, in_fmt[0].frac, &in_rng[0]).ok_or_else(|| wide("divisor_type"))?
                }
                Op::LeakyRelu {
                    alpha_type,
                    alpha_raw,
                    ..
                } => {
                    let a = alpha_raw.as_ref().expect("quantize_weights runs first");
                    let fa = alpha_type.format.frac;
                    if fa < 0 {
                        return Err(PassError::model(
                            &name,
                            "alpha_type",
                            "needs at least 0 fractional bits",
                        ));
                    }
                    let out: Option<Vec<Interval>> = in_rng[0]
                        .iter()
                        .enumerate()
                        .map(|(i, &r)| {
                            interval::leaky_relu(r, a[channel_of(i, a.len())], fa as u32)
                        })
                        .collect();
                    (in_fmt[0].frac + fa, out.ok_or_else(|| wide("alpha"))?, None)
                }
                Op::HardSigmoid {
                    slope_type,
                    slope_raw,
                    offset,
                    ..
                } => {
                    let fs = slope_type.format.frac;
                    let f = in_fmt[0].frac + fs;
                    let off_grid = || {
                        let why = format!(
                            "{offset} and 1 must be exact on the result's grid of {f} fractional bits"
                        );
                        PassError::model(
                            &name,
                            "offset",
                            why + " (the input's plus slope_type's, which needs at least 0)",
                        )
                    };
                    let (off, one) = crate::ir::hard_sigmoid_raw(f, *offset)
                        .filter(|_| fs >= 0)
                        .ok_or_else(off_grid)?;
                    let a = slope_raw.expect("quantize_weights runs first");
                    let out: Option<Vec<Interval>> = in_rng[0]
                        .iter()
                        .map(|&r| interval::hard_sigmoid(r, a, off, one).map(|c| c.out))
                        .collect();
                    (f, out.ok_or_else(|| wide("slope"))?, None)
                }
                Op::HardTanh => {
                    let out: Option<Vec<Interval>> = in_rng[0]
                        .iter()
                        .map(|&r| interval::hard_tanh(r, in_fmt[0].frac).map(|c| c.out))
                        .collect();
                    (
                        in_fmt[0].frac.max(0),
                        out.ok_or_else(|| wide("input"))?,
                        None,
                    )
                }
                Op::Quantize | Op::Flatten | Op::Reshape { .. } => {
                    (in_fmt[0].frac, in_rng[0].clone(), None)
                }
                Op::Slice { .. } | Op::Transpose { .. } => {
                    let keep = g.selection(n).expect("a slice or transpose");
                    let r = keep.iter().map(|&i| in_rng[0][i]).collect();
                    (in_fmt[0].frac, r, None)
                }
                Op::Add => {
                    let frac = in_fmt[0].frac.max(in_fmt[1].frac);
                    let sa = (frac - in_fmt[0].frac) as u32;
                    let sb = (frac - in_fmt[1].frac) as u32;
                    let mut out = vec![];
                    for (a, b) in in_rng[0].iter().zip(&in_rng[1]) {
                        let r = shl(*a, sa).zip(shl(*b, sb)).and_then(|(a, b)| add(a, b));
                        out.push(r.ok_or_else(|| wide("inputs"))?);
                    }
                    (frac, out, None)
                }
                Op::Concat => {
                    let frac = in_fmt.iter().map(|f| f.frac).max().unwrap();
                    let mut out = vec![];
                    for (f, rs) in in_fmt.iter().zip(&in_rng) {
                        for r in rs {
                            out.push(
                                shl(*r, (frac - f.frac) as u32).ok_or_else(|| wide("inputs"))?,
                            );
                        }
                    }
                    (frac, out, None)
                }
                Op::Argmax => {
                    let k = in_rng[0].len() as i128;
                    (0, vec![(0, k - 1)], None)
                }
            };
            let node = g.node(n);
            let bipolar = node.cast.is_none()
                && match &node.op {
                    Op::Input { .. } => node.bipolar,
                    Op::Sign => true,
                    Op::Threshold(_) => threshold.as_ref().is_some_and(|t| t.2),
                    Op::Flatten
                    | Op::Concat
                    | Op::Slice { .. }
                    | Op::Transpose { .. }
                    | Op::Reshape { .. } => in_bipolar.iter().all(|&b| b),
                    _ => false,
                };
            let (format, ranges) = match (&node.op, node.cast) {
                (_, None) if bipolar => (BIPOLAR, ranges),
                (Op::Input { ty, .. }, _) => (ty.format, ranges),
                (_, Some(ty)) => {
                    let r = ranges
                        .iter()
                        .map(|&(l, h)| cast_interval(l, h, frac, &ty))
                        .collect();
                    (ty.format, r)
                }
                (Op::Argmax, None) => {
                    let k = in_rng[0].len() as i128;
                    (Format::for_interval(0, (k - 1).max(1), 0).unwrap(), ranges)
                }
                (_, None) => (
                    format_of(&ranges, frac).ok_or_else(|| wide("output_type"))?,
                    ranges,
                ),
            };
            let node = g.node_mut(n);
            node.bipolar = bipolar;
            if let (Some(acc), Op::Dense(d)) = (acc, &mut node.op) {
                d.xnor = in_bipolar[0]
                    && d.bipolar_weights
                    && matches!(d.accum, Accum::Auto)
                    && self.0 != Target::Mac;
                d.acc = Some(acc);
            }
            if let (Some(plan), Op::Softmax(sm)) = (softmax, &mut node.op) {
                sm.plan = Some(plan);
            }
            if let (Some(rom), Op::Table(t)) = (table, &mut node.op) {
                t.rom = Some(rom);
            }
            if let (Some((raw, out, _)), Op::Threshold(t)) = (threshold, &mut node.op) {
                t.raw = Some(raw);
                t.out_raw = Some(out);
            }
            node.format = Some(format);
            node.range = Some(ranges);
            node.exact_frac = Some(frac);
        }
        Ok(())
    }
}

/// A pooling layer's exact frac and per-element intervals: the largest of
/// the window's intervals' bounds (max), or the sum of the window's
/// intervals times the quantized `1/count` (average, `frac` plus the
/// divisor's).
fn pool(
    p: &crate::ir::Pool,
    frac: i32,
    x: &[Interval],
) -> Option<(i32, Vec<Interval>, Option<AccInfo>)> {
    let geom = p.window.geom.as_ref().expect("infer_shapes runs first");
    let channels = geom.in_channels;
    let mut out = Vec::with_capacity(geom.positions() * channels);
    for pos in 0..geom.positions() {
        for ch in 0..channels {
            let win = p.window_of(pos, ch);
            let r = match &p.kind {
                crate::ir::PoolKind::Max => win
                    .iter()
                    .map(|&i| x[i])
                    .reduce(|a, b| (a.0.max(b.0), a.1.max(b.1)))?,
                crate::ir::PoolKind::Avg { .. } => {
                    let sum = win.iter().try_fold((0, 0), |s, &i| add(s, x[i]))?;
                    scale(sum, p.reciprocal(p.count(win.len())))?
                }
            };
            out.push(r);
        }
    }
    let frac = match &p.kind {
        crate::ir::PoolKind::Max => frac,
        crate::ir::PoolKind::Avg { divisor_type, .. } => frac + divisor_type.format.frac,
    };
    Some((frac, out, None))
}
