//! A small netlist builder: wires, primitive instances and assigns of one
//! generated module, plus the typed values that flow between them. All
//! sizing decisions are made here, in Rust; the template only prints.

use super::view::{InstView, ModuleView, PortView, WireView, b, lit, range_str};
use crate::backend::timing::{self, Arrival};
use crate::backend::tl_cells;
use crate::datapath::count::{Counts, unkept_bits};
use crate::datapath::csd_digits;
use crate::fixed::{FixedType, Format, OverflowMode, QuantMode, cast_interval};
use crate::ir::Interval;
use std::collections::{BTreeMap, HashMap};

/// A value on a wire: its Verilog expression and what it holds.
#[derive(Debug, Clone)]
pub struct Val {
    pub expr: String,
    pub fmt: Format,
    /// Exact raw interval at `fmt.frac`.
    pub range: Interval,
    /// How many of the lowest raw bits are the same for every sample
    /// (a constant's, or grid bits an adder passes through from one).
    /// A register of them holds a constant, which synthesis removes, so
    /// the flip-flop estimate must not count them.
    pub low: u32,
}

impl Val {
    /// A value whose bits are not known to be constant (unless its
    /// interval is a single point).
    pub fn new(expr: String, fmt: Format, range: Interval) -> Val {
        Val {
            expr,
            fmt,
            range,
            low: 0,
        }
        .with_low(0)
    }

    /// `self` with `low` constant low bits, capped to the width; a value
    /// with a one-point interval has all bits constant.
    pub fn with_low(mut self, low: u32) -> Val {
        self.low = if self.range.0 == self.range.1 {
            self.fmt.width
        } else {
            low.min(self.fmt.width)
        };
        self
    }

    /// Bits of this value a register need not keep: sign copies and a
    /// constant sign (`redundant_bits`), and the constant low bits.
    pub fn unkept_bits(&self) -> u32 {
        unkept_bits(self.fmt, self.range, self.low)
    }

    /// `self · 2^k`: the same bits on a coarser grid, no logic.
    pub fn shifted(&self, k: u32) -> Val {
        Val {
            fmt: Format::new(self.fmt.signed, self.fmt.width, self.fmt.frac - k as i32),
            ..self.clone()
        }
    }

    /// A one-bit unsigned value; a constant literal keeps its exact range
    /// so the adders above it are sized for what it can really be.
    pub fn bit(expr: String) -> Val {
        let range = match expr.as_str() {
            "1'b1" => (1, 1),
            "1'b0" => (0, 0),
            _ => (0, 1),
        };
        Val::new(expr, Format::new(false, 1, 0), range)
    }
}

pub struct Builder {
    pub view: ModuleView,
    pub counts: Counts,
    /// Threshold gates, one line each, for the exported gate list.
    pub gates: Vec<String>,
    next: BTreeMap<&'static str, usize>,
    /// Adders, constant products and registers already built, by what they
    /// compute: a second request for the same sum or product (neurons of a
    /// layer often share them) or the same delayed value reuses the first.
    built: HashMap<String, Val>,
    /// When each wire (and input port) settles after the clock edge, by
    /// the delay model; a bus assigned in parts settles with its last part.
    arrival: HashMap<String, Arrival>,
    /// The slowest path into a flip-flop of this module, setup included.
    pub slowest: Arrival,
}

impl Builder {
    pub fn new(name: String, header: String) -> Self {
        Builder {
            view: ModuleView {
                header,
                version: env!("CARGO_PKG_VERSION"),
                comments: vec![],
                name,
                ports: vec![],
                wires: vec![],
                insts: vec![],
                assigns: vec![],
            },
            counts: Counts::default(),
            gates: vec![],
            next: BTreeMap::new(),
            built: HashMap::new(),
            arrival: HashMap::new(),
            slowest: Arrival::ZERO,
        }
    }

    /// When the Verilog expression `e` settles: its latest wire or port.
    /// Literals (`8'h1f`: the token after a quote) and unknown names (the
    /// clock) settle at once.
    pub fn arrival(&self, e: &str) -> Arrival {
        let mut t = Arrival::ZERO;
        let mut tok = String::new();
        let mut after_quote = false;
        for ch in e.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                tok.push(ch);
                continue;
            }
            let name =
                !tok.is_empty() && !after_quote && !tok.starts_with(|c: char| c.is_ascii_digit());
            if let Some(a) = self.arrival.get(&tok).filter(|_| name) {
                t = t.max(*a);
            }
            after_quote = ch == '\'';
            tok.clear();
        }
        t
    }

    /// Set when a wire or input port settles.
    pub fn settle(&mut self, name: &str, t: Arrival) {
        self.arrival.insert(name.to_string(), t);
    }

    /// A cell's output settles `delay` after the latest of its inputs.
    fn settle_after(&mut self, out: &str, ins: &[&str], delay: impl Fn(Arrival) -> Arrival) {
        let t = ins
            .iter()
            .fold(Arrival::ZERO, |t, e| t.max(self.arrival(e)));
        self.settle(out, delay(t));
    }
    pub fn port(&mut self, dir: &'static str, name: &str, width: u32) {
        self.view.ports.push(PortView {
            dir,
            range: if width == 1 && name.ends_with("valid") || name == "clk" || name == "rst" {
                String::new()
            } else {
                range_str(width)
            },
            name: name.to_string(),
        });
    }
    fn fresh(&mut self, prefix: &'static str) -> String {
        let k = self.next.entry(prefix).or_insert(0);
        *k += 1;
        format!("{prefix}{}", *k - 1)
    }
    /// A new wire of `width` bits.
    pub fn wire(&mut self, prefix: &'static str, width: u32) -> String {
        let name = self.fresh(prefix);
        self.view.wires.push(WireView {
            range: range_str(width),
            name: name.clone(),
        });
        name
    }
    pub fn assign(&mut self, lhs: String, rhs: String) {
        let base = lhs.split('[').next().unwrap_or(&lhs).to_string();
        let t = self.arrival(&rhs);
        let t = self.arrival.get(&base).map_or(t, |old| old.max(t));
        self.settle(&base, t);
        self.view.assigns.push((lhs, rhs));
    }
    pub fn inst(
        &mut self,
        module: &'static str,
        params: Vec<(&'static str, String)>,
        conns: Vec<(&'static str, String)>,
    ) {
        let name = self.fresh("u");
        // Outputs settle a LUT level after the inputs unless the caller
        // times the cell more exactly; registers start new paths.
        const OUTS: [&str; 8] = ["y", "q", "v", "i", "done", "in_ready", "run", "take"];
        let (outs, ins): (Vec<_>, Vec<_>) = conns.iter().partition(|(p, _)| OUTS.contains(p));
        let t_in = ins
            .iter()
            .fold(Arrival::ZERO, |t, (_, e)| t.max(self.arrival(e)));
        let sequential = matches!(module, "nt_reg" | "nt_valid" | "tl_pe_ctrl" | "nt_bank");
        if sequential {
            self.slowest = self.slowest.max(t_in.captured());
        }
        let t_out = match module {
            _ if sequential => Arrival::register(),
            "nt_const" => Arrival::ZERO,
            _ => timing::lut(t_in),
        };
        for (_, e) in outs {
            self.settle(e, t_out);
        }
        self.view
            .insts
            .push(InstView::new(module.to_string(), name, &params, &conns));
    }

    /// A constant value.
    pub fn constant(&mut self, v: i128, frac: i32) -> Val {
        let fmt = Format::for_interval(v, v, frac).expect("constants fit");
        let w = self.wire("k", fmt.width);
        self.inst(
            "nt_const",
            vec![("OW", fmt.width.to_string()), ("C", lit(v, fmt.width))],
            vec![("y", w.clone())],
        );
        Val::new(w, fmt, (v, v))
    }

    /// `a · c` at `frac_c` fractional bits of `c`, as shifts and adds: `c`
    /// in canonical signed digits (non-adjacent form), so a constant with
    /// d non-zero digits costs d − 1 adders, a power of two costs nothing
    /// (the value is `a` on a coarser grid), and no multiplier is left for
    /// synthesis to map. The digits are summed as a balanced tree. The
    /// result's `frac` is that of the finest digit, which can be coarser
    /// than `a`'s plus `frac_c`; every consumer aligns grids itself.
    /// The same product asked for again (the neurons of a layer share each
    /// input's multiples) is the first one.
    pub fn cmul(&mut self, a: &Val, c: i128, frac_c: i32) -> Val {
        let key = format!("cmul {} {:?} {c} {frac_c}", a.expr, a.fmt);
        if let Some(v) = self.built.get(&key) {
            return v.clone();
        }
        self.counts.const_multipliers += 1;
        let f = a.fmt.frac + frac_c;
        if c == 0 {
            self.sink(a);
            return Val::bit("1'b0".into());
        }
        // a · 2^k is a's raw value on the grid 2^(k − f).
        let a_f = Val {
            fmt: Format::new(a.fmt.signed, a.fmt.width, f),
            ..a.clone()
        };
        let mut terms: Vec<(Val, bool)> = csd_digits(c)
            .into_iter()
            .map(|(k, neg)| (a_f.shifted(k), neg))
            .collect();
        while terms.len() > 1 {
            let mut next = Vec::with_capacity(terms.len().div_ceil(2));
            for pair in terms.chunks(2) {
                next.push(match pair {
                    [x, y] => self.add_signed(x, y),
                    _ => pair[0].clone(),
                });
            }
            terms = next;
        }
        let (v, neg) = terms.pop().expect("c ≠ 0 has a digit");
        let v = self.resolve_sign(v, neg);
        self.built.insert(key, v.clone());
        v
    }

    /// The sum of two signed terms `(v, negative)`: `x + y`, `x − y` or
    /// `−(x + y)`, the last left negative for the caller, so a tree of
    /// terms spends no adder on signs until its root.
    pub fn add_signed(&mut self, x: &(Val, bool), y: &(Val, bool)) -> (Val, bool) {
        match (x.1, y.1) {
            (false, false) => (self.add(&x.0, &y.0), false),
            (false, true) => (self.sub(&x.0, &y.0), false),
            (true, false) => (self.sub(&y.0, &x.0), false),
            (true, true) => (self.add(&x.0, &y.0), true),
        }
    }

    /// `v`, or `0 − v` when `negative`.
    pub fn resolve_sign(&mut self, v: Val, negative: bool) -> Val {
        if !negative {
            return v;
        }
        let zero = Val::new("1'b0".into(), Format::new(false, 1, v.fmt.frac), (0, 0));
        self.sub(&zero, &v)
    }

    /// `x − y` exactly, aligned to the finer grid.
    pub fn sub(&mut self, x: &Val, y: &Val) -> Val {
        self.add_exact(x, y, true)
    }

    /// `x + y` exactly, aligned to the finer grid.
    pub fn add(&mut self, x: &Val, y: &Val) -> Val {
        self.add_exact(x, y, false)
    }

    /// `x ± y` on the finer of the two grids, sized by its exact interval.
    fn add_exact(&mut self, x: &Val, y: &Val, sub: bool) -> Val {
        let frac = x.fmt.frac.max(y.fmt.frac);
        let (sx, sy) = ((frac - x.fmt.frac) as u32, (frac - y.fmt.frac) as u32);
        let (ylo, yhi) = if sub {
            (-y.range.1, -y.range.0)
        } else {
            y.range
        };
        let range = (
            (x.range.0 << sx) + (ylo << sy),
            (x.range.1 << sx) + (yhi << sy),
        );
        let fmt = Format::for_interval(range.0, range.1, frac).expect("sized by infer_precision");
        self.add_sub_raw(x, sx, y, sy, sub, fmt, range)
    }

    /// `x + y` modulo 2^width of `fmt` (explicit, wrapping accumulators).
    pub fn add_wrap(&mut self, x: &Val, y: &Val, fmt: Format) -> Val {
        self.add_sub_raw(x, 0, y, 0, false, fmt, (fmt.min_raw(), fmt.max_raw()))
    }

    #[allow(clippy::too_many_arguments)]
    fn add_sub_raw(
        &mut self,
        x: &Val,
        sx: u32,
        y: &Val,
        sy: u32,
        sub: bool,
        fmt: Format,
        range: Interval,
    ) -> Val {
        let key = format!(
            "add {} {} {sx} {} {} {} {sy} {} {sub} {fmt:?}",
            x.expr, x.fmt.width, x.fmt.signed as u8, y.expr, y.fmt.width, y.fmt.signed as u8
        );
        // Below both operands' constant low bits (or their shift) the sum
        // is a constant too, carries included.
        let low = |v: &Val, s: u32| {
            if v.low == v.fmt.width {
                u32::MAX
            } else {
                v.low + s
            }
        };
        let low = low(x, sx).min(low(y, sy));
        if let Some(v) = self.built.get(&key) {
            return Val::new(v.expr.clone(), fmt, range).with_low(low);
        }
        let w = self.wire("s", fmt.width);
        self.inst(
            "nt_add",
            vec![
                ("AW", x.fmt.width.to_string()),
                ("AS", b(x.fmt.signed)),
                ("ASH", sx.to_string()),
                ("BW", y.fmt.width.to_string()),
                ("BS", b(y.fmt.signed)),
                ("BSH", sy.to_string()),
                ("SUB", b(sub)),
                ("OW", fmt.width.to_string()),
            ],
            vec![
                ("a", x.expr.clone()),
                ("b", y.expr.clone()),
                ("y", w.clone()),
            ],
        );
        self.counts.adders += 1;
        self.counts.adder_bits += fmt.width as u64;
        // x<<sx ± y<<sy: below the larger shift one operand is zero, so
        // those result bits are wires, except under a negated operand; a
        // bit above both operands is the carry out, also free.
        let free = if sub { sy } else { sx.max(sy) }.min(fmt.width);
        let top = fmt.width.min((x.fmt.width + sx).max(y.fmt.width + sy));
        let live = top.saturating_sub(free) as u64;
        self.counts.adder_logic_bits += live;
        if x.fmt.width.max(y.fmt.width) <= 4 {
            self.counts.small_adder_logic_bits += live;
        }
        *self.counts.carry_chains.entry(live as u32).or_default() += 1;
        self.settle_after(&w, &[&x.expr, &y.expr], |t| timing::adder(t, live as u32));
        let v = Val::new(w, fmt, range).with_low(low);
        self.built.insert(key, v.clone());
        v
    }

    /// Cast to `ty` with its modes. Modes that cannot change the result for
    /// this value's interval are dropped, so no logic is spent on them.
    pub fn cast(&mut self, a: &Val, ty: &FixedType) -> Val {
        let shift = a.fmt.frac - ty.format.frac;
        let quant = if shift > 0 { ty.quant } else { QuantMode::Trn };
        let rounded = crate::fixed::quantize(a.range.0, a.fmt.frac, ty.format.frac, quant).zip(
            crate::fixed::quantize(a.range.1, a.fmt.frac, ty.format.frac, quant),
        );
        let (rlo, rhi) = ty.result_range();
        let fits = matches!(rounded, Some(((lo, _), (hi, _))) if lo >= rlo && hi <= rhi);
        let overflow = if fits {
            OverflowMode::Wrap
        } else {
            ty.overflow
        };
        let range = cast_interval(a.range.0, a.range.1, a.fmt.frac, ty);
        let w = self.wire("q", ty.format.width);
        self.inst(
            "nt_quant",
            vec![
                ("IW", a.fmt.width.to_string()),
                ("IS", b(a.fmt.signed)),
                ("SHIFT", shift.to_string()),
                ("OW", ty.format.width.to_string()),
                ("OS", b(ty.format.signed)),
                ("QM", quant.code().to_string()),
                ("OM", overflow.code().to_string()),
            ],
            vec![("a", a.expr.clone()), ("y", w.clone())],
        );
        if shift > 0 || overflow != OverflowMode::Wrap {
            self.counts.quantizers += 1;
        }
        // a rounding increment, and a compare and select to saturate
        let rounds = shift > 0 && !matches!(quant, QuantMode::Trn);
        self.counts.logic_bits += rounds as u64 * ty.format.width as u64;
        if overflow != OverflowMode::Wrap {
            self.counts.logic_bits += (a.fmt.width + ty.format.width) as u64;
        }
        // rounding is an increment; saturating a compare and a select
        let (in_w, out_w) = (a.fmt.width, ty.format.width);
        let saturates = overflow != OverflowMode::Wrap;
        self.settle_after(&w, &[&a.expr], |t| {
            let t = if rounds { timing::adder(t, out_w) } else { t };
            if saturates {
                timing::lut(timing::compare(t, in_w))
            } else {
                t
            }
        });
        // Dropped bits that are all constant round the same way every
        // time; saturation can replace every bit.
        let low = if overflow != OverflowMode::Wrap {
            0
        } else if shift > 0 {
            match quant {
                QuantMode::Trn => a.low.saturating_sub(shift as u32),
                _ if a.low >= shift as u32 => a.low - shift as u32,
                _ => 0,
            }
        } else {
            a.low + (-shift) as u32
        };
        Val::new(w, ty.format, range).with_low(low)
    }

    /// Exact conversion into `fmt`, which must hold the value: a shift and
    /// an extension, no logic.
    pub fn convert(&mut self, a: &Val, fmt: Format) -> Val {
        debug_assert!(fmt.frac >= a.fmt.frac);
        if a.fmt == fmt {
            return a.clone();
        }
        self.cast(a, &FixedType::plain(fmt))
    }

    /// Clamp `a << sh` into `[lo, hi]` (either bound optional), result in `fmt`.
    pub fn clamp(
        &mut self,
        a: &Val,
        sh: u32,
        lo: Option<i128>,
        hi: Option<i128>,
        fmt: Format,
        range: Interval,
    ) -> Val {
        let cw = Format::for_interval(
            lo.unwrap_or(0).min(hi.unwrap_or(0)),
            lo.unwrap_or(0).max(hi.unwrap_or(0)),
            0,
        )
        .unwrap()
        .width
            + 1;
        let w = self.wire("c", fmt.width);
        self.inst(
            "nt_clamp",
            vec![
                ("IW", a.fmt.width.to_string()),
                ("IS", b(a.fmt.signed)),
                ("SH", sh.to_string()),
                ("CW", cw.to_string()),
                ("LO", lit(lo.unwrap_or(0), cw)),
                ("HI", lit(hi.unwrap_or(0), cw)),
                ("ENLO", b(lo.is_some())),
                ("ENHI", b(hi.is_some())),
                ("OW", fmt.width.to_string()),
            ],
            vec![("a", a.expr.clone()), ("y", w.clone())],
        );
        let bounds = lo.is_some() as u64 + hi.is_some() as u64;
        self.counts.comparators += bounds;
        if bounds > 0 {
            self.counts.logic_bits += bounds * a.fmt.width as u64 + fmt.width as u64;
        }
        let in_w = a.fmt.width;
        self.settle_after(&w, &[&a.expr], |t| {
            if bounds > 0 {
                timing::lut(timing::compare(t, in_w))
            } else {
                t
            }
        });
        Val::new(w, fmt, range)
    }

    pub fn leaky(&mut self, a: &Val, alpha: i128, sh: u32, fmt: Format, range: Interval) -> Val {
        let w = self.wire("l", fmt.width);
        self.inst(
            "nt_leaky",
            vec![
                ("IW", a.fmt.width.to_string()),
                ("IS", b(a.fmt.signed)),
                ("SH", sh.to_string()),
                ("OW", fmt.width.to_string()),
                ("A", lit(alpha, fmt.width)),
            ],
            vec![("a", a.expr.clone()), ("y", w.clone())],
        );
        self.counts.const_multipliers += 1;
        // a power-of-two slope is a shift; any other a product
        let (shift_only, out_w) = (alpha.count_ones() == 1, fmt.width);
        self.settle_after(&w, &[&a.expr], |t| {
            timing::lut(if shift_only {
                t
            } else {
                timing::adder(t, out_w)
            })
        });
        Val::new(w, fmt, range)
    }

    /// One argmax comparison of (value, index) pairs.
    pub fn max2(&mut self, a: &(Val, Val), bb: &(Val, Val)) -> (Val, Val) {
        let v = self.wire("mv", a.0.fmt.width);
        let i = self.wire("mi", a.1.fmt.width);
        self.inst(
            "nt_max2",
            vec![
                ("W", a.0.fmt.width.to_string()),
                ("S", b(a.0.fmt.signed)),
                ("IW", a.1.fmt.width.to_string()),
            ],
            vec![
                ("va", a.0.expr.clone()),
                ("ia", a.1.expr.clone()),
                ("vb", bb.0.expr.clone()),
                ("ib", bb.1.expr.clone()),
                ("v", v.clone()),
                ("i", i.clone()),
            ],
        );
        self.counts.comparators += 1;
        self.counts.logic_bits += (2 * a.0.fmt.width + a.1.fmt.width) as u64;
        let vw = a.0.fmt.width;
        let ins = [&a.0.expr[..], &a.1.expr, &bb.0.expr, &bb.1.expr];
        self.settle_after(&v, &ins, |t| timing::lut(timing::compare(t, vw)));
        self.settle_after(&i, &ins, |t| timing::lut(timing::compare(t, vw)));
        (
            Val::new(
                v,
                a.0.fmt,
                (a.0.range.0.min(bb.0.range.0), a.0.range.1.max(bb.0.range.1)),
            ),
            Val::new(
                i,
                a.1.fmt,
                (a.1.range.0.min(bb.1.range.0), a.1.range.1.max(bb.1.range.1)),
            ),
        )
    }

    /// Terminate a value nothing reads.
    /// The bipolar bit of sign(a): 1 when `a ≥ 0`.
    pub fn sign(&mut self, a: &Val) -> String {
        let y = self.wire("sg", 1);
        self.inst(
            "nt_sign",
            vec![("W", a.fmt.width.to_string())],
            vec![("a", a.expr.clone()), ("y", y.clone())],
        );
        self.settle_after(&y, &[&a.expr], |t| t); // the sign bit, a wire
        y
    }

    /// One bit, `a ≥ t` for raw `t` at `a`'s frac. Bounds outside `a`'s
    /// interval give constants, not comparators.
    pub fn ge(&mut self, a: &Val, t: i128) -> String {
        if t <= a.range.0 {
            return "1'b1".into();
        }
        if t > a.range.1 {
            return "1'b0".into();
        }
        let tw = Format::for_interval(t, t, 0).expect("thresholds fit").width + 1;
        let y = self.wire("ge", 1);
        self.inst(
            "nt_ge",
            vec![
                ("W", a.fmt.width.to_string()),
                ("S", b(a.fmt.signed)),
                ("TW", tw.to_string()),
                ("T", lit(t, tw)),
            ],
            vec![("a", a.expr.clone()), ("y", y.clone())],
        );
        self.counts.comparators += 1;
        self.counts.logic_bits += a.fmt.width as u64;
        let w = a.fmt.width;
        self.settle_after(&y, &[&a.expr], |t| timing::compare(t, w));
        y
    }

    /// The cells of a threshold-logic layer as `tl_cell` instances; returns
    /// the Verilog expression of each signal in `outs`.
    pub fn tl_netlist(&mut self, n: &tl_cells::Netlist, outs: &[tl_cells::Sig]) -> Vec<String> {
        let mut names: Vec<String> = vec![];
        let expr = |s: &tl_cells::Sig, names: &[String]| match s {
            tl_cells::Sig::Input(e) => e.clone(),
            tl_cells::Sig::Cell(i) => names[*i].clone(),
            tl_cells::Sig::Const(v) => format!("1'b{}", *v as u8),
        };
        for c in &n.cells {
            let y = self.wire("tl", 1);
            let ww = c
                .weights
                .iter()
                .map(|&w| Format::for_interval(w as i128, w as i128, 0).unwrap().width)
                .max()
                .unwrap_or(1)
                .max(2);
            // Input 0 in the least significant bits, like every bus here.
            let packed: Vec<String> = c
                .weights
                .iter()
                .rev()
                .map(|&w| lit(w as i128, ww))
                .collect();
            let ins: Vec<String> = c.inputs.iter().rev().map(|s| expr(s, &names)).collect();
            self.inst(
                "tl_cell",
                vec![
                    ("N", c.inputs.len().to_string()),
                    ("WW", ww.to_string()),
                    ("WEIGHTS", format!("{{{}}}", packed.join(", "))),
                    ("T", c.threshold.to_string()),
                ],
                vec![("x", format!("{{{}}}", ins.join(", "))), ("y", y.clone())],
            );
            let fwd: Vec<String> = c.inputs.iter().map(|s| expr(s, &names)).collect();
            self.gates.push(format!(
                "{}.{y} inputs=[{}] weights=[{}] threshold={}",
                self.view.name,
                fwd.join(", "),
                c.weights
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                c.threshold
            ));
            names.push(y);
        }
        self.counts.tl_cells += n.cells.len() as u64;
        self.counts.tl_depth = self.counts.tl_depth.max(n.depth() as u64);
        self.counts.tl.add(&n.stats);
        outs.iter().map(|s| expr(s, &names)).collect()
    }

    pub fn sink(&mut self, v: &Val) {
        self.inst(
            "nt_sink",
            vec![("W", v.fmt.width.to_string())],
            vec![("a", v.expr.clone())],
        );
    }

    /// `depth` registers on a bus expression of `width` bits.
    pub fn reg_bus(&mut self, d: String, width: u32, depth: u32) -> String {
        if depth == 0 {
            return d;
        }
        let q = self.wire("r", width);
        self.inst(
            "nt_reg",
            vec![("W", width.to_string()), ("DEPTH", depth.to_string())],
            vec![("clk", "clk".into()), ("d", d), ("q", q.clone())],
        );
        self.counts.register_bits += width as u64 * depth as u64;
        q
    }

    pub fn reg(&mut self, v: &Val, depth: u32) -> Val {
        // The register holds bits; the same bits may be read on several
        // grids (shifted views), so only the wire is shared.
        let key = format!("reg {} {} {depth}", v.expr, v.fmt.width);
        if let Some(r) = self.built.get(&key) {
            return Val {
                expr: r.expr.clone(),
                ..v.clone()
            };
        }
        self.counts.redundant_register_bits += v.unkept_bits() as u64 * depth as u64;
        let r = Val {
            expr: self.reg_bus(v.expr.clone(), v.fmt.width, depth),
            ..v.clone()
        };
        self.built.insert(key, r.clone());
        r
    }

    pub fn valid(&mut self, depth: u32) {
        self.inst(
            "nt_valid",
            vec![("DEPTH", depth.to_string())],
            vec![
                ("clk", "clk".into()),
                ("rst", "rst".into()),
                ("d", "in_valid".into()),
                ("q", "out_valid".into()),
            ],
        );
        self.counts.register_bits += depth as u64;
    }

    /// Instantiate a generated (layer) module by name.
    pub fn layer(&mut self, module: String, inst: String, conns: Vec<(String, String)>) {
        let none: &[(&str, String)] = &[];
        self.view
            .insts
            .push(InstView::new(module, inst, none, &conns));
    }
}

/// Slice of a packed bus: element `i` of `width` bits, element 0 lowest.
pub fn slice(bus: &str, i: usize, width: u32) -> String {
    let lo = i as u64 * width as u64;
    if width == 1 {
        format!("{bus}[{lo}]")
    } else {
        format!("{bus}[{}:{lo}]", lo + width as u64 - 1)
    }
}
