//! A second Verilog description of a lowered graph, written as plainly as
//! the semantics read: `*` by each constant weight, one `+` over all of a
//! neuron's terms, and every cast spelled out as a floor, a rounding
//! increment and an overflow rule. It shares nothing with the datapath IR
//! or the `rtl/` primitives, so a proof that the generated design equals
//! it checks the whole back end (lowering, sharing, scheduling, printing)
//! against the graph IR's meaning (see `super`).
//!
//! Every element is a signed wire sized from an interval this printer
//! works out itself from the operands' formats and the constants, never
//! from the compiler's own range analysis.

use crate::fixed::{FixedType, Format, OverflowMode, QuantMode};
use crate::ir::{Accum, Graph, Lowered, Op, PoolKind};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;
use std::fmt::Write;

/// An op the reference cannot describe yet.
#[derive(Debug, thiserror::Error)]
#[error("layer `{layer}`: {what} is not covered by the formal reference yet")]
pub struct Unsupported {
    pub layer: String,
    pub what: String,
}

/// One element: a signed wire and the interval of its values.
#[derive(Debug, Clone)]
struct Val {
    wire: String,
    lo: i128,
    hi: i128,
}

struct Printer {
    body: String,
    fresh: usize,
}

/// Bits of a signed wire that holds every value in `[lo, hi]`.
fn bits(lo: i128, hi: i128) -> u32 {
    let need = |v: i128| 129 - if v < 0 { !v } else { v }.leading_zeros();
    need(lo).max(need(hi)).max(2)
}

/// A signed constant of `w` bits (`w` must hold it).
fn lit(v: i128, w: u32) -> String {
    if v < 0 {
        format!("-{w}'sd{}", v.unsigned_abs())
    } else {
        format!("{w}'sd{v}")
    }
}

/// Raw range of a format.
fn range(f: Format) -> (i128, i128) {
    (f.min_raw(), f.max_raw())
}

fn checked(v: Option<i128>, what: &str) -> Result<i128, Unsupported> {
    v.ok_or_else(|| Unsupported {
        layer: String::new(),
        what: format!("a {what} past 127 bits"),
    })
}

impl Printer {
    /// A wire of `[lo, hi]` assigned `expr`.
    fn wire(&mut self, lo: i128, hi: i128, expr: &str) -> Val {
        let w = bits(lo, hi);
        let name = format!("t{}", self.fresh);
        self.fresh += 1;
        let _ = writeln!(self.body, "  wire signed [{}:0] {name} = {expr};", w - 1);
        Val { wire: name, lo, hi }
    }

    /// `x` sign-extended to at least `w` bits, for a part-select.
    fn widen(&mut self, x: &Val, w: u32) -> String {
        let w = bits(x.lo, x.hi).max(w);
        let name = format!("e{}", self.fresh);
        self.fresh += 1;
        let _ = writeln!(
            self.body,
            "  wire signed [{}:0] {name} = {};",
            w - 1,
            x.wire
        );
        name
    }

    fn constant(&mut self, v: i128) -> Val {
        self.wire(v, v, &lit(v, bits(v, v)))
    }

    /// `Σ c·x + bias` over `terms`, one expression.
    fn sum(&mut self, bias: i128, terms: &[(i128, &Val)]) -> Result<Val, Unsupported> {
        let (mut lo, mut hi) = (bias, bias);
        for &(c, x) in terms {
            let (a, b) = (
                checked(c.checked_mul(x.lo), "product")?,
                checked(c.checked_mul(x.hi), "product")?,
            );
            lo = checked(lo.checked_add(a.min(b)), "sum")?;
            hi = checked(hi.checked_add(a.max(b)), "sum")?;
        }
        let w = bits(lo, hi);
        let mut expr = lit(bias, w);
        for &(c, x) in terms {
            let _ = write!(expr, " + {} * {}", x.wire, lit(c, w));
        }
        Ok(self.wire(lo, hi, &expr))
    }

    /// `x · 2^k`.
    fn shl(&mut self, x: &Val, k: u32) -> Result<Val, Unsupported> {
        if k == 0 {
            return Ok(x.clone());
        }
        let m = checked(1i128.checked_shl(k).filter(|_| k < 126), "shift")?;
        let (lo, hi) = (
            checked(x.lo.checked_mul(m), "shift")?,
            checked(x.hi.checked_mul(m), "shift")?,
        );
        Ok(self.wire(lo, hi, &format!("{} <<< {k}", x.wire)))
    }

    fn select(&mut self, cond: &str, a: &Val, b: &Val) -> Val {
        let (lo, hi) = (a.lo.min(b.lo), a.hi.max(b.hi));
        self.wire(lo, hi, &format!("({cond}) ? {} : {}", a.wire, b.wire))
    }

    /// `clamp(x, lo, hi)`.
    fn clamp(&mut self, x: &Val, lo: i128, hi: i128) -> Val {
        let w = bits(x.lo.min(lo), x.hi.max(hi)) + 1;
        let expr = format!(
            "({x} < {l}) ? {l} : ({x} > {h}) ? {h} : {x}",
            x = x.wire,
            l = lit(lo, w),
            h = lit(hi, w)
        );
        self.wire(lo.max(x.lo.min(hi)), hi.min(x.hi.max(lo)), &expr)
    }

    /// `x`, raw at `frac`, cast to `ty`: the floor, the rounding
    /// increment the mode asks for, then the overflow rule.
    fn cast(&mut self, x: &Val, frac: i32, ty: &FixedType) -> Result<Val, Unsupported> {
        let sh = frac as i64 - ty.format.frac as i64;
        let q = if sh <= 0 {
            self.shl(x, (-sh) as u32)?
        } else if sh <= 120 {
            self.round(x, sh as u32, ty.quant)
        } else {
            return Err(Unsupported {
                layer: String::new(),
                what: format!("a cast dropping {sh} bits"),
            });
        };
        Ok(self.overflow(&q, ty))
    }

    /// `x / 2^sh` rounded by `mode`.
    fn round(&mut self, x: &Val, sh: u32, mode: QuantMode) -> Val {
        // widen first, so the dropped bits and the sign are both there
        let w = bits(x.lo, x.hi).max(sh + 2);
        let e = self.widen(x, w);
        let rem = format!("{e}[{}:0]", sh - 1);
        let half = format!("{sh}'h{:x}", 1u128 << (sh - 1));
        let tie = format!("({rem} == {half})");
        let above = format!("({rem} > {half})");
        let neg = format!("{e}[{}]", w - 1);
        let (floor_lo, floor_hi) = (x.lo >> sh, x.hi >> sh);
        let floor = self.wire(floor_lo, floor_hi, &format!("{e} >>> {sh}"));
        let up = match mode {
            QuantMode::Trn => "1'b0".to_string(),
            QuantMode::TrnZero => format!("({neg} && ({rem} != 0))"),
            QuantMode::Rnd => format!("({above} || {tie})"),
            QuantMode::RndZero => format!("({above} || ({tie} && {neg}))"),
            QuantMode::RndInf => format!("({above} || ({tie} && !{neg}))"),
            QuantMode::RndMinInf => above,
            QuantMode::RndConv => format!("({above} || ({tie} && {}[0]))", floor.wire),
        };
        let hi = if mode == QuantMode::Trn {
            floor_hi
        } else {
            floor_hi + 1
        };
        self.wire(
            floor_lo,
            hi,
            &format!("{} + $signed({{1'b0, {up}}})", floor.wire),
        )
    }

    /// `q` into `ty`'s format by its overflow mode.
    fn overflow(&mut self, q: &Val, ty: &FixedType) -> Val {
        let f = ty.format;
        let (min, max) = range(f);
        // sat_sym gives up the most negative code, except that a 1-bit
        // signed type keeps -1 (as ap_fixed does)
        let sym = ty.overflow == OverflowMode::SatSym && f.signed && f.width > 1;
        let low = if sym { -max } else { min };
        if q.lo >= low && q.hi <= max {
            return q.clone();
        }
        match ty.overflow {
            OverflowMode::Wrap => {
                let low = format!("{}[{}:0]", self.widen(q, f.width), f.width - 1);
                let expr = if f.signed {
                    format!("$signed({low})")
                } else {
                    format!("$signed({{1'b0, {low}}})")
                };
                self.wire(min, max, &expr)
            }
            OverflowMode::Sat | OverflowMode::SatSym => self.clamp(q, low, max),
            OverflowMode::SatZero => {
                let w = bits(q.lo.min(min), q.hi.max(max)) + 1;
                let expr = format!(
                    "({x} < {l} || {x} > {h}) ? {z} : {x}",
                    x = q.wire,
                    l = lit(min, w),
                    h = lit(max, w),
                    z = lit(0, w)
                );
                self.wire(min.max(q.lo.min(0)), max.min(q.hi.max(0)), &expr)
            }
        }
    }
}

/// The reference module `name` of `l`'s graph: the same ports as the
/// generated top's data buses, combinational.
pub fn reference(l: Lowered<'_>, name: &str) -> Result<String, Unsupported> {
    let g = l.graph();
    let mut p = Printer {
        body: String::new(),
        fresh: 0,
    };
    let mut vals: HashMap<NodeIndex, Vec<Val>> = HashMap::new();
    let mut in_off = 0u64;
    for n in g.topo() {
        let node = g.node(n);
        let named = |mut e: Unsupported| {
            e.layer = node.name.clone();
            e
        };
        let v = match &node.op {
            Op::Input { .. } => input(&mut p, g, n, &mut in_off),
            _ => {
                let exact = element_values(&mut p, g, n, &vals).map_err(named)?;
                let frac = node.exact_frac.expect("infer_precision runs first");
                match &node.cast {
                    Some(ty) => exact
                        .iter()
                        .map(|x| p.cast(x, frac, ty))
                        .collect::<Result<_, _>>()
                        .map_err(named)?,
                    None => exact,
                }
            }
        };
        vals.insert(n, v);
    }
    let (in_bits, out) = (in_off, outputs(&mut p, g, &vals));
    let out_bits: u64 = out.iter().map(|(_, w)| *w as u64).sum();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// The formal reference of `{name}`: the graph's meaning, written naively.\nmodule {name} (\n  input  wire [{}:0] in_data,\n  output wire [{}:0] out_data\n);",
        in_bits.max(1) - 1,
        out_bits.max(1) - 1
    );
    s.push_str(&p.body);
    let parts: Vec<String> = out.iter().rev().map(|(e, _)| e.clone()).collect();
    let _ = writeln!(
        s,
        "  assign out_data = {{{}}};\nendmodule",
        parts.join(", ")
    );
    Ok(s)
}

/// An input's elements, read from its slice of `in_data`.
fn input(p: &mut Printer, g: &Graph, n: NodeIndex, off: &mut u64) -> Vec<Val> {
    let node = g.node(n);
    let f = node.format.expect("formats are known");
    (0..node.size())
        .map(|_| {
            if node.bipolar {
                let bit = format!("in_data[{off}]");
                *off += 1;
                return p.wire(-1, 1, &format!("{bit} ? 2'sd1 : -2'sd1"));
            }
            let (lo, hi) = (*off + f.width as u64 - 1, *off);
            *off += f.width as u64;
            let slice = format!("in_data[{lo}:{hi}]");
            let expr = if f.signed {
                format!("$signed({slice})")
            } else {
                format!("$signed({{1'b0, {slice}}})")
            };
            let (min, max) = range(f);
            p.wire(min, max, &expr)
        })
        .collect()
}

/// Each output element's bits on `out_data`, element 0 first.
fn outputs(p: &mut Printer, g: &Graph, vals: &HashMap<NodeIndex, Vec<Val>>) -> Vec<(String, u32)> {
    let mut out = vec![];
    for &o in &g.outputs {
        let node = g.node(o);
        let f = node.format.expect("formats are known");
        for v in &vals[&o] {
            out.push(if node.bipolar {
                (format!("({} == 2'sd1)", v.wire), 1)
            } else {
                let e = p.widen(v, f.width);
                (format!("{e}[{}:0]", f.width - 1), f.width)
            });
        }
    }
    out
}

/// Node `n`'s elements before its cast, raw at its exact frac.
fn element_values(
    p: &mut Printer,
    g: &Graph,
    n: NodeIndex,
    vals: &HashMap<NodeIndex, Vec<Val>>,
) -> Result<Vec<Val>, Unsupported> {
    let node = g.node(n);
    let ops = g.operands(n);
    let arg = |i: usize| &vals[&ops[i]];
    let fmt = |i: usize| g.node(ops[i]).format.expect("formats are known");
    let frac = node.exact_frac.expect("infer_precision runs first");
    let lift = |i: usize| (frac - fmt(i).frac) as u32;
    let unsupported = |what: &str| Unsupported {
        layer: String::new(),
        what: what.to_string(),
    };
    Ok(match &node.op {
        Op::Input { .. } => unreachable!("read by `input`"),
        Op::BatchNorm(_) => unreachable!("lowered IR has no batchnorm"),
        Op::Dense(d) => dense(p, d, arg(0), fmt(0))?,
        Op::Relu => {
            let zero = p.constant(0);
            by_sign(
                p,
                arg(0),
                |_, _, _| Ok(zero.clone()),
                |_, _, x| Ok(x.clone()),
            )?
        }
        Op::LeakyRelu {
            alpha_type,
            alpha_raw,
            ..
        } => {
            let alpha = alpha_raw.as_ref().expect("quantized");
            let shift = alpha_type.format.frac as u32;
            let negative = |p: &mut Printer, i: usize, x: &Val| {
                p.sum(0, &[(alpha[crate::ir::channel_of(i, alpha.len())], x)])
            };
            by_sign(p, arg(0), negative, |p, _, x| p.shl(x, shift))?
        }
        Op::HardTanh => {
            let one = 1i128 << frac;
            each(p, arg(0), |p, x| {
                let s = p.shl(x, lift(0))?;
                Ok(p.clamp(&s, -one, one))
            })?
        }
        Op::HardSigmoid {
            slope_raw, offset, ..
        } => {
            let (offset, one) = crate::ir::hard_sigmoid_raw(frac, *offset)
                .ok_or_else(|| unsupported("its offset"))?;
            let slope = slope_raw.expect("quantized");
            each(p, arg(0), |p, x| {
                let s = p.sum(offset, &[(slope, x)])?;
                Ok(p.clamp(&s, 0, one))
            })?
        }
        Op::Quantize | Op::Flatten | Op::Reshape { .. } => arg(0).clone(),
        Op::Slice { .. } | Op::Transpose { .. } => {
            let keep = g.selection(n).expect("a slice or transpose");
            keep.iter().map(|&i| arg(0)[i].clone()).collect()
        }
        Op::Add => {
            let (a, b) = (arg(0), arg(1));
            let mut out = vec![];
            for (a, b) in a.iter().zip(b) {
                out.push(p.sum(0, &[(1 << lift(0), a), (1 << lift(1), b)])?);
            }
            out
        }
        Op::Concat => {
            let mut out = vec![];
            for i in 0..ops.len() {
                out.extend(each(p, arg(i), |p, x| p.shl(x, lift(i)))?);
            }
            out
        }
        Op::Argmax => vec![argmax(p, arg(0))],
        Op::Sign => {
            let (plus, minus) = (p.constant(1), p.constant(-1));
            by_sign(
                p,
                arg(0),
                |_, _, _| Ok(minus.clone()),
                |_, _, _| Ok(plus.clone()),
            )?
        }
        Op::Neurons(nr) => neurons(p, nr, arg(0))?,
        Op::Threshold(t) => thresholds(p, t, arg(0))?,
        Op::Table(t) => {
            let rom = t.rom.as_ref().expect("built by infer_precision");
            arg(0).iter().map(|x| table(p, rom, x)).collect()
        }
        Op::Pool(pl) => pool(p, pl, arg(0))?,
        Op::Softmax(_) => return Err(unsupported("softmax")),
    })
}

/// `f` of every element.
fn each(
    p: &mut Printer,
    x: &[Val],
    mut f: impl FnMut(&mut Printer, &Val) -> Result<Val, Unsupported>,
) -> Result<Vec<Val>, Unsupported> {
    x.iter().map(|x| f(p, x)).collect()
}

/// Per element (with its index): `negative` of it where it is below 0,
/// else `positive`. Both are printed for every element, in order.
fn by_sign(
    p: &mut Printer,
    x: &[Val],
    negative: impl Fn(&mut Printer, usize, &Val) -> Result<Val, Unsupported>,
    positive: impl Fn(&mut Printer, usize, &Val) -> Result<Val, Unsupported>,
) -> Result<Vec<Val>, Unsupported> {
    let mut out = vec![];
    for (i, x) in x.iter().enumerate() {
        let pos = positive(p, i, x)?;
        let neg = negative(p, i, x)?;
        out.push(p.select(&format!("{} < 0", x.wire), &neg, &pos));
    }
    Ok(out)
}

/// Threshold-gate neurons: +1 where the weighted sum reaches the
/// threshold, else −1.
fn neurons(p: &mut Printer, nr: &crate::ir::Neurons, x: &[Val]) -> Result<Vec<Val>, Unsupported> {
    let (plus, minus) = (p.constant(1), p.constant(-1));
    let mut out = vec![];
    for (row, &t) in nr.rows.iter().zip(&nr.thresholds) {
        let terms: Vec<(i128, &Val)> = row.iter().map(|t| (t.weight, &x[t.input])).collect();
        let s = p.sum(0, &terms)?;
        let w = bits(s.lo.min(t), s.hi.max(t)) + 1;
        out.push(p.select(&format!("{} >= {}", s.wire, lit(t, w)), &plus, &minus));
    }
    Ok(out)
}

/// Multi-thresholds: the number of thresholds each element reaches,
/// scaled and offset into the output type.
fn thresholds(
    p: &mut Printer,
    t: &crate::ir::Threshold,
    x: &[Val],
) -> Result<Vec<Val>, Unsupported> {
    let (scale, bias, _) = t.out_raw.expect("typed by infer_precision");
    let raw = t.raw.as_ref().expect("decided by infer_precision");
    let mut out = vec![];
    for (x, ts) in x.iter().zip(raw) {
        let w = bits(
            x.lo.min(*ts.first().unwrap_or(&0)),
            x.hi.max(*ts.last().unwrap_or(&0)),
        ) + 1;
        let steps: Vec<String> = ts
            .iter()
            .map(|&t| format!("$signed({{1'b0, ({} >= {})}})", x.wire, lit(t, w)))
            .collect();
        let count = if steps.is_empty() {
            p.constant(0)
        } else {
            p.wire(0, ts.len() as i128, &steps.join(" + "))
        };
        out.push(p.sum(bias, &[(scale, &count)])?);
    }
    Ok(out)
}

/// A dense layer or convolution, neuron by neuron.
fn dense(
    p: &mut Printer,
    d: &crate::ir::Dense,
    x: &[Val],
    x_fmt: Format,
) -> Result<Vec<Val>, Unsupported> {
    let acc = d.acc.as_ref().expect("sized by infer_precision");
    let mut out = vec![];
    for j in 0..d.neurons() {
        let terms = d.neuron_terms(j);
        let v = match &d.accum {
            Accum::Auto => {
                let c: Vec<(i128, &Val)> = terms
                    .iter()
                    .map(|t| (t.weight << acc.product_shift, &x[t.input]))
                    .collect();
                p.sum(acc.bias[j], &c)?
            }
            Accum::Explicit(a) => {
                // each product cast to the accumulator, the sum wrapping
                let prod_frac = x_fmt.frac + d.weight_type.format.frac;
                let mut cast = vec![];
                for t in &terms {
                    let prod = p.sum(0, &[(t.weight, &x[t.input])])?;
                    cast.push(p.cast(&prod, prod_frac, a)?);
                }
                if cast.is_empty() {
                    p.constant(acc.bias[j])
                } else {
                    let ones: Vec<(i128, &Val)> = cast.iter().map(|c| (1, c)).collect();
                    let s = p.sum(acc.bias[j], &ones)?;
                    let wrap = FixedType::new(a.format, a.quant, OverflowMode::Wrap);
                    p.overflow(&s, &wrap)
                }
            }
        };
        out.push(v);
    }
    Ok(out)
}

/// The first largest element's index.
fn argmax(p: &mut Printer, x: &[Val]) -> Val {
    let mut best = x[0].clone();
    let mut idx = p.constant(0);
    for (i, v) in x.iter().enumerate().skip(1) {
        let cond = format!("{} > {}", v.wire, best.wire);
        let here = p.constant(i as i128);
        idx = p.select(&cond, &here, &idx);
        best = p.select(&cond, v, &best);
    }
    idx
}

/// `rom` read at `x`: entry `(x >> drop) − lo`, clamped to the table.
fn table(p: &mut Printer, rom: &crate::ir::Rom, x: &Val) -> Val {
    let (lo, hi) = (
        *rom.entries.iter().min().expect("a table has entries"),
        *rom.entries.iter().max().expect("a table has entries"),
    );
    let key = p.wire(
        x.lo >> rom.drop,
        x.hi >> rom.drop,
        &format!("{} >>> {}", x.wire, rom.drop),
    );
    let w = bits(lo, hi);
    let name = format!("t{}", p.fresh);
    p.fresh += 1;
    let kw = bits(
        key.lo.min(rom.lo),
        key.hi.max(rom.lo + rom.entries.len() as i128),
    ) + 1;
    let last = rom.entries.len() as i128 - 1;
    let _ = writeln!(
        p.body,
        "  reg signed [{}:0] {name};\n  always @* begin",
        w - 1
    );
    let _ = writeln!(
        p.body,
        "    if ({k} < {first}) {name} = {};\n    else if ({k} > {end}) {name} = {};\n    else case ({k})",
        lit(rom.entries[0], w),
        lit(rom.entries[last as usize], w),
        k = key.wire,
        first = lit(rom.lo, kw),
        end = lit(rom.lo + last, kw),
    );
    for (i, &e) in rom.entries.iter().enumerate() {
        let _ = writeln!(
            p.body,
            "      {}: {name} = {};",
            lit(rom.lo + i as i128, kw),
            lit(e, w)
        );
    }
    let _ = writeln!(
        p.body,
        "      default: {name} = {};\n    endcase\n  end",
        lit(0, w)
    );
    Val { wire: name, lo, hi }
}

/// Max or average pooling, element by element.
fn pool(p: &mut Printer, pl: &crate::ir::Pool, x: &[Val]) -> Result<Vec<Val>, Unsupported> {
    let geom = pl.window.geom.as_ref().expect("shapes are known");
    let mut out = vec![];
    for j in 0..geom.positions() * geom.in_channels {
        let (pos, ch) = (j / geom.in_channels, j % geom.in_channels);
        let win = pl.window_of(pos, ch);
        out.push(match pl.kind {
            PoolKind::Max => {
                let mut best = x[win[0]].clone();
                for &i in &win[1..] {
                    best = p.select(&format!("{} > {}", x[i].wire, best.wire), &x[i], &best);
                }
                best
            }
            PoolKind::Avg { .. } => {
                let r = pl.reciprocal(pl.count(win.len()));
                let terms: Vec<(i128, &Val)> = win.iter().map(|&i| (r, &x[i])).collect();
                p.sum(0, &terms)?
            }
        });
    }
    Ok(out)
}
