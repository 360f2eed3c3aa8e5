//! Counting the hardware of a scheduled datapath, for the estimate: adder
//! bits that need logic and their carry cells, comparison and selection
//! logic, and the flip-flops that synthesis keeps. Device rules (how bits
//! pack into LUTs) live in `src/estimate.rs`, not here.

use crate::fixed::Format;
use crate::ir::Interval;
use serde::Serialize;

/// Hardware counted while building, for the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub adders: u64,
    pub adder_bits: u64,
    pub const_multipliers: u64,
    pub quantizers: u64,
    pub comparators: u64,
    pub register_bits: u64,
    /// Register bits synthesis merges or removes: copies of a sign bit or
    /// constants by the values' exact intervals, low bits it sees to be
    /// constant (`known_low`), low bits no logic it keeps reads
    /// (`unloaded_low`, which includes the demanded-bits analysis) and the
    /// stages of a wired copy that hold what its source's registers hold
    /// (`shared_stages`).
    pub redundant_register_bits: u64,
    /// Adder bits that need logic: bits below the lowest set bit of a
    /// shifted operand pass through (the resource estimate's main term).
    pub adder_logic_bits: u64,
    /// The part of `adder_logic_bits` in adders of operands at most 4
    /// bits wide (popcount trees), which synthesis packs into LUT6s.
    pub small_adder_logic_bits: u64,
    /// LUT6_2 cells of the ternary adders (`rtl/nt_add3.v`): one per
    /// result bit above the wired low bits. They are instantiated, so
    /// synthesis keeps every one; their bits are not in
    /// `adder_logic_bits`.
    pub ternary_cells: u64,
    /// Adders by the number of bits that need logic, one carry chain
    /// each; how many carry cells that is depends on the device
    /// (`src/estimate.rs`).
    pub carry_chains: std::collections::BTreeMap<u32, u64>,
    /// The register chains cut at every stage something reads: per run
    /// length in stages, the register bits synthesis keeps in runs that
    /// long. Whether a run is packed into a shift-register LUT depends on
    /// the device (`src/estimate.rs`).
    pub shift_runs: std::collections::BTreeMap<u32, u64>,
    /// Bits of comparisons and selections outside adders (rounding
    /// increments, saturation, clamps, max, thresholds).
    pub logic_bits: u64,
    /// LUTs of the activation tables' ROMs, counted as their size, before
    /// synthesis minimizes them.
    pub rom_luts: u64,
    /// Threshold-logic cells (`tl-cells` target) and the deepest chain of
    /// them in one layer.
    pub tl_cells: u64,
    pub tl_depth: u64,
    pub tl: crate::backend::tl_cells::Stats,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.adders += o.adders;
        self.adder_bits += o.adder_bits;
        self.const_multipliers += o.const_multipliers;
        self.quantizers += o.quantizers;
        self.comparators += o.comparators;
        self.register_bits += o.register_bits;
        self.redundant_register_bits += o.redundant_register_bits;
        self.adder_logic_bits += o.adder_logic_bits;
        self.small_adder_logic_bits += o.small_adder_logic_bits;
        self.ternary_cells += o.ternary_cells;
        for (&bits, &n) in &o.carry_chains {
            *self.carry_chains.entry(bits).or_default() += n;
        }
        for (&len, &bits) in &o.shift_runs {
            *self.shift_runs.entry(len).or_default() += bits;
        }
        self.logic_bits += o.logic_bits;
        self.tl_cells += o.tl_cells;
        self.tl_depth = self.tl_depth.max(o.tl_depth);
        self.tl.add(&o.tl);
    }
}

/// Bits of a register of `fmt` holding a value in `range` that synthesis
/// removes: `redundant_bits` at the top, and `low` bits at the bottom that
/// are constant or that nothing reads.
pub fn unkept_bits(fmt: Format, range: Interval, low: u32) -> u32 {
    (redundant_bits(fmt, range) + low).min(fmt.width)
}

/// Bits of `fmt` that a value in `range` never changes: copies of the sign
/// bit, or a constant zero sign of a non-negative signed value.
pub fn redundant_bits(fmt: Format, range: Interval) -> u32 {
    let lo = range.0.min(range.1);
    let hi = range.0.max(range.1);
    if lo == hi {
        return fmt.width; // a constant: the register is removed
    }
    match Format::for_interval(lo, hi, fmt.frac) {
        Some(f) => fmt.width.saturating_sub(f.width),
        None => 0,
    }
}

/// More low bits than any value has: "every bit".
const ALL: u32 = 1 << 16;

/// Trailing zero bits of a constant (`ALL` for zero).
fn tz(v: i128) -> u32 {
    if v == 0 { ALL } else { v.trailing_zeros() }
}

/// Per adder node, whether synthesis builds it as one multi-operand adder
/// (a Yosys `$macc`) rather than as two-operand adders: one that reads
/// another adder of its width unshifted in the same cycle with nothing
/// else reading that one (which `alumacc` merges into it), or the
/// two-adder `0 − a − b`. The merged adder is marked too. A three-term
/// adder is a ternary adder of instantiated cells (`nt_add3`), which
/// nothing merges with.
pub fn merged_adders(dp: &super::Datapath, s: &super::schedule::Schedule) -> Vec<bool> {
    use super::Kind;
    // how many cell ports read each node's own wire: same-cycle operands
    // and the first register of its chain
    let mut ports = vec![0u32; dp.nodes.len()];
    for (i, node) in dp.nodes.iter().enumerate() {
        for o in node.kind.operands() {
            if s.cycle[i] == s.of(o) {
                ports[o.index()] += 1;
            }
        }
    }
    for (p, &d) in ports.iter_mut().zip(&s.delay) {
        *p += (d > 0) as u32;
    }
    let mut merged = vec![false; dp.nodes.len()];
    for (i, node) in dp.nodes.iter().enumerate() {
        let Kind::Add { terms, .. } = &node.kind else {
            continue;
        };
        if terms.len() == 3 {
            continue;
        }
        // two subtracted terms (`0 − a − b`) are two chained adders
        let mut root = terms.len() == 2 && terms.iter().all(|t| t.neg);
        for t in terms.iter() {
            let x = t.node.index();
            // a ternary adder (three terms) is cells, which nothing merges
            if t.shift == 0
                && matches!(&dp.nodes[x].kind, Kind::Add { terms, .. } if terms.len() < 3)
                && dp.nodes[x].fmt.width == node.fmt.width
                && ports[x] == 1
                && s.cycle[x] == s.cycle[i]
            {
                merged[x] = true;
                root = true;
            }
        }
        merged[i] |= root;
    }
    merged
}

/// Per node, how many of its lowest raw bits synthesis sees to be 0
/// (`zero`, `ALL` for the constant 0) and to be constant (`constant`):
/// the zeros a shift or a constant puts there, carried through
/// two-operand adders (which Yosys strips of low bits where one operand
/// is 0), casts, clamps and selections. A multi-operand adder
/// (`merged_adders`) shows none: its compressor tree and carry chain
/// hide them.
pub fn known_low(dp: &super::Datapath, merged: &[bool]) -> (Vec<u32>, Vec<u32>) {
    use super::Kind;
    use crate::fixed::OverflowMode;
    let n = dp.nodes.len();
    let (mut z, mut k): (Vec<u32>, Vec<u32>) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, node) in dp.nodes.iter().enumerate() {
        let (zv, kv) = match &node.kind {
            Kind::Const(v) => (tz(*v), ALL),
            Kind::Input { .. } | Kind::Bipolar(_) => (0, node.low),
            Kind::Add { .. } if merged[i] => (0, 0),
            Kind::Add { terms, .. } if terms.len() == 3 => {
                // `nt_add3` ORs the operands below its wired low bits;
                // above them its cells are opaque to synthesis
                let lo = super::timing::free_low_bits(terms).min(node.fmt.width);
                let zeros = terms
                    .iter()
                    .map(|t| z[t.node.index()].saturating_add(t.shift))
                    .min()
                    .expect("three terms")
                    .min(lo);
                (zeros, zeros)
            }
            Kind::Add { terms, .. } => {
                // printed as `a ± b`, the subtracted term second, or as
                // `0 − b` for a lone subtracted term
                let shifted = |t: &super::Term| {
                    let x = t.node.index();
                    (z[x].saturating_add(t.shift), k[x].saturating_add(t.shift))
                };
                let ((za, ka), b) = match terms[..] {
                    [ref t] if t.neg => ((ALL, ALL), Some(t)),
                    [ref t] => (shifted(t), None),
                    [ref a, ref b] if a.neg => (shifted(b), Some(a)),
                    [ref a, ref b] => (shifted(a), Some(b)),
                    _ => unreachable!("three terms are ternary adders"),
                };
                match b {
                    None => (za, ka),
                    Some(b) => {
                        let (zb, kb) = shifted(b);
                        // y = a where b is 0; for a sum also y = b where a is 0
                        let kv = if b.neg {
                            zb.min(ka)
                        } else {
                            zb.min(ka).max(za.min(kb))
                        };
                        (za.min(zb), kv)
                    }
                }
            }
            Kind::Cast { x, from_frac, ty } => {
                let shift = from_frac - ty.format.frac;
                let (zx, kx) = (z[x.index()], k[x.index()]);
                let (zv, kv) = if shift <= 0 {
                    let l = shift.unsigned_abs();
                    (zx.saturating_add(l), kx.saturating_add(l))
                } else {
                    let s = shift as u32;
                    // dropped bits that are all 0 round nothing, in every
                    // mode; truncation keeps whatever is above them
                    let zv = zx.saturating_sub(s);
                    let kv = match ty.quant {
                        crate::fixed::QuantMode::Trn => kx.saturating_sub(s),
                        _ => zv,
                    };
                    (zv, kv)
                };
                match ty.overflow {
                    OverflowMode::Wrap => (zv, kv),
                    OverflowMode::SatZero => (zv, zv),
                    // the largest value, 2^n - 1, is odd
                    OverflowMode::Sat | OverflowMode::SatSym => (0, 0),
                }
            }
            Kind::Clamp { x, shift, lo, hi } => {
                let mut v = z[x.index()].saturating_add(*shift);
                for b in [lo, hi].into_iter().flatten() {
                    v = v.min(tz(*b));
                }
                (v, v)
            }
            Kind::Mux { a, b, .. } => {
                let v = z[a.index()].min(z[b.index()]);
                (v, v)
            }
            Kind::Leaky { .. }
            | Kind::Bank { .. }
            | Kind::Bit { .. }
            | Kind::Ge { .. }
            | Kind::Less { .. }
            | Kind::Not(_)
            | Kind::Table { .. }
            | Kind::TlCell { .. } => (0, 0),
        };
        let w = node.fmt.width;
        z.push(zv.min(w));
        k.push(kv.max(zv).min(w));
    }
    (z, k)
}

/// Per node, how many of its lowest raw bits no logic reads that
/// synthesis keeps: logic whose outputs nothing reads is removed, and
/// with it the reads of its own operands. This follows more than the
/// demanded-bits analysis the printer zeros by (`demand.rs`):
///
/// - a comparison with a constant `c` (a threshold, a saturation or clamp
///   bound) looks only at the bits from `c`'s lowest set bit up
///   (`x < c` is `x >> k < c >> k` when `2^k` divides `c`), a comparison
///   with 0 only at the sign;
/// - a clamp or a saturating cast passes its readers' demand on to its
///   operand, like a truncating cast, down to the lowest bit its
///   comparisons look at;
/// - in a two-operand adder, an operand's bits where the other one is
///   known to be 0 (`zero`) pass through to the sum, so the operand needs
///   no more of them than the sum's readers do (a subtracted operand
///   needs all: its borrow runs from its lowest bit).
///
/// That holds for a comparison of at most `cmp_lut_bits` variable bits,
/// which synthesis builds from LUTs and simplifies; a wider one is a
/// carry chain, and every bit it compares is read. A multi-operand adder
/// (`merged`) is a carry chain over all its operands' bits too.
///
/// A signed operand's top bit is read whenever anything of it is: the
/// readers sign-extend it.
pub fn unloaded_low(
    dp: &super::Datapath,
    zero: &[u32],
    merged: &[bool],
    cmp_lut_bits: u32,
) -> Vec<u32> {
    use super::Kind;
    use crate::fixed::{OverflowMode, QuantMode};
    let n = dp.nodes.len();
    let mut u: Vec<u32> = dp.nodes.iter().map(|x| x.fmt.width).collect();
    for o in &dp.outputs {
        u[o.node.index()] = 0;
    }
    for i in (0..n).rev() {
        let node = &dp.nodes[i];
        let mine = u[i];
        if mine >= node.fmt.width {
            continue; // nothing reads this node: it reads nothing
        }
        // the lowest bit a comparison of `bits` variable bits with a
        // constant whose lowest set bit is `k` reads
        let compared = |bits: u32, k: u32| if bits > cmp_lut_bits { 0 } else { k };
        // `x` is read from its bit `from` up (positions past its top are
        // its sign or zero extension)
        let mut need = |x: super::NodeId, from: u32| {
            let f = dp.fmt(x);
            let from = from.min(f.width - f.signed as u32);
            let e = &mut u[x.index()];
            *e = (*e).min(from);
        };
        match &node.kind {
            Kind::Add { terms, .. } if merged[i] => {
                for t in terms.iter() {
                    need(t.node, 0);
                }
            }
            Kind::Add { terms, .. } => {
                for (k, t) in terms.iter().enumerate() {
                    let others = terms
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != k)
                        .map(|(_, o)| zero[o.node.index()].saturating_add(o.shift))
                        .min()
                        .unwrap_or(0);
                    let from = if t.neg {
                        0
                    } else {
                        mine.min(others).saturating_sub(t.shift)
                    };
                    need(t.node, from);
                }
            }
            Kind::Cast { x, from_frac, ty } => {
                let shift = from_frac - ty.format.frac;
                let out = ty.format;
                // the lowest bit of the value on the output grid that the
                // overflow comparisons look at: the bounds are 2^k - 1 and
                // -2^k (or 0), except a symmetric one's odd -(2^k - 1)
                let bound = match ty.overflow {
                    _ if !out.signed => out.width,
                    OverflowMode::SatSym => 0,
                    _ => out.width - 1,
                };
                let xw = dp.fmt(*x).width;
                let bits = if shift > 0 {
                    xw.saturating_sub(shift as u32)
                } else {
                    xw
                };
                let v = match ty.overflow {
                    OverflowMode::Wrap => mine,
                    _ => mine.min(compared(bits, bound)),
                };
                let from = if shift <= 0 {
                    v.saturating_sub(shift.unsigned_abs())
                } else {
                    match ty.quant {
                        QuantMode::Trn => v.saturating_add(shift as u32),
                        // the increment reads the half bit; its carry
                        // runs through every kept bit
                        QuantMode::Rnd => shift as u32 - 1,
                        _ => 0,
                    }
                };
                need(*x, from);
            }
            Kind::Clamp { x, shift, lo, hi } => {
                let bits = dp.fmt(*x).width;
                let mut v = mine;
                if let Some(b) = lo {
                    v = v.min(compared(bits, tz(*b)));
                }
                if let Some(b) = hi {
                    v = v.min(compared(bits, tz(*b + 1)));
                }
                need(*x, v.saturating_sub(*shift));
            }
            Kind::Ge { x, t } => need(*x, compared(dp.fmt(*x).width, tz(*t))),
            Kind::Mux { sel, a, b } => {
                need(*sel, 0);
                need(*a, mine);
                need(*b, mine);
            }
            Kind::Bit { x, index } => need(*x, *index),
            Kind::Table { x, rom } => need(*x, dp.roms[*rom as usize].drop),
            kind => {
                for x in kind.operands() {
                    need(x, 0);
                }
            }
        }
    }
    u
}

/// Per node, the node its bits are a wired copy of (a cast that only
/// shifts, without saturation, or a bit select; through copies of
/// copies), and how many of its register stages hold the same bits at the
/// same time as a stage of that node's chain: Yosys merges flip-flops
/// with the same input, so those stages are the source's.
fn shared_stages(
    dp: &super::Datapath,
    s: &super::schedule::Schedule,
) -> (Vec<super::NodeId>, Vec<u32>) {
    use super::Kind;
    use crate::fixed::{OverflowMode, QuantMode};
    let n = dp.nodes.len();
    let mut source: Vec<super::NodeId> = (0..n as u32).map(super::NodeId).collect();
    let mut shared = vec![0u32; n];
    for (i, node) in dp.nodes.iter().enumerate() {
        let x = match &node.kind {
            Kind::Cast { x, from_frac, ty }
                if ty.overflow == OverflowMode::Wrap
                    && (*from_frac <= ty.format.frac || ty.quant == QuantMode::Trn) =>
            {
                *x
            }
            Kind::Bit { x, .. } => *x,
            _ => continue,
        };
        let src = source[x.index()];
        source[i] = src;
        let late = s.cycle[i] - s.cycle[src.index()];
        shared[i] = s.delay[i].min(s.delay[src.index()].saturating_sub(late));
    }
    (source, shared)
}

/// What a scheduled datapath instantiates, with `unread` the demanded-bits
/// analysis (undemanded register bits are driven as zeros, so synthesis
/// keeps none of them). The flip-flops are those Yosys `synth_xilinx`
/// keeps of the registers, before shift-register packing
/// (`shift_runs`).
pub fn count(dp: &super::Datapath, s: &super::schedule::Schedule, unread: &[u32]) -> Counts {
    use super::Kind;
    let mut c = Counts::default();
    let mut tl_depth = vec![0u64; dp.nodes.len()];
    for (i, node) in dp.nodes.iter().enumerate() {
        let id = super::NodeId(i as u32);
        let w = node.fmt.width as u64;
        let in_w = |x: &super::NodeId| dp.fmt(*x).width as u64;
        match &node.kind {
            Kind::Add { terms, .. } if terms.len() == 3 => {
                // `nt_add3`: a LUT6_2 and a quarter CARRY4 per bit from
                // its wired low bits up to the result's top
                let cells = w - (super::timing::free_low_bits(terms) as u64).min(w);
                c.adders += 1;
                c.adder_bits += w;
                c.ternary_cells += cells;
                *c.carry_chains.entry(cells as u32).or_default() += 1;
            }
            Kind::Add { terms, .. } => {
                let live = super::timing::adder_logic_bits(dp, id) as u64;
                c.adders += 1;
                c.adder_bits += w;
                c.adder_logic_bits += live;
                if terms.iter().all(|t| dp.fmt(t.node).width <= 4) {
                    c.small_adder_logic_bits += live;
                }
                *c.carry_chains.entry(live as u32).or_default() += 1;
            }
            Kind::Cast { x, from_frac, ty } => {
                let rounds =
                    *from_frac > ty.format.frac && ty.quant != crate::fixed::QuantMode::Trn;
                let sat = ty.overflow != crate::fixed::OverflowMode::Wrap;
                c.quantizers += (*from_frac > ty.format.frac || sat) as u64;
                c.logic_bits += rounds as u64 * ty.format.width as u64;
                if sat {
                    c.logic_bits += in_w(x) + ty.format.width as u64;
                }
            }
            Kind::Clamp { x, lo, hi, .. } => {
                // a lower bound of 0 is the sign bit (`rtl/nt_clamp.v`)
                let bounds = (lo.is_some() && *lo != Some(0)) as u64 + hi.is_some() as u64;
                c.comparators += bounds;
                c.logic_bits += bounds * in_w(x) + w;
            }
            Kind::Leaky { .. } => c.const_multipliers += 1,
            Kind::Ge { x, .. } => {
                c.comparators += 1;
                c.logic_bits += in_w(x);
            }
            Kind::Less { a, .. } => {
                c.comparators += 1;
                c.logic_bits += in_w(a);
            }
            Kind::Mux { .. } => c.logic_bits += w,
            // per output bit a LUT6 per 64 entries (the MUXF7/F8 that
            // join them are free); synthesis shrinks smooth tables
            Kind::Table { rom, .. } => {
                let a = dp.roms[*rom as usize].address_bits();
                c.rom_luts += w << a.saturating_sub(6);
            }
            Kind::TlCell { inputs, .. } => {
                c.tl_cells += 1;
                tl_depth[i] = 1 + inputs
                    .iter()
                    .map(|x| tl_depth[x.index()])
                    .max()
                    .unwrap_or(0);
                c.tl_depth = c.tl_depth.max(tl_depth[i]);
            }
            Kind::Input { .. }
            | Kind::Bank { .. }
            | Kind::Const(_)
            | Kind::Bit { .. }
            | Kind::Not(_)
            | Kind::Bipolar(_) => {}
        }
    }
    // Registers that hold the same bits as another's are merged: a copy's
    // first `shared` stages are its source's.
    let (source, shared) = shared_stages(dp, s);
    // Every stage of a register chain that something reads: its readers'
    // lateness, and the outputs'; a shared stage is its source's.
    let mut taps: Vec<(u32, u32)> = vec![];
    let mut tap = |o: super::NodeId, late: u32| {
        if late == 0 || super::schedule::is_const(dp, o) {
            return;
        }
        let i = o.index();
        if late <= shared[i] {
            let src = source[i];
            taps.push((src.0, late + s.cycle[i] - s.cycle[src.index()]));
        } else {
            taps.push((o.0, late));
        }
    };
    for (i, node) in dp.nodes.iter().enumerate() {
        for o in node.kind.operands() {
            tap(o, s.cycle[i] - s.of(o));
        }
    }
    for o in &dp.outputs {
        tap(o.node, s.latency - s.of(o.node));
    }
    // a copy's own stages continue from its last shared one
    for (i, &d) in s.delay.iter().enumerate() {
        if (1..d).contains(&shared[i]) {
            tap(
                source[i],
                shared[i] + s.cycle[i] - s.cycle[source[i].index()],
            );
        }
    }
    taps.sort_unstable();
    taps.dedup();
    let mut taps = taps.as_slice();
    let merged = merged_adders(dp, s);
    let (zero, constant) = known_low(dp, &merged);
    let unloaded = unloaded_low(dp, &zero, &merged, crate::estimate::CMP_LUT_BITS);
    for (i, &d) in s.delay.iter().enumerate() {
        let node = &dp.nodes[i];
        c.register_bits += node.fmt.width as u64 * d as u64;
        let low = constant[i].max(unread[i]).max(unloaded[i]);
        let unkept = unkept_bits(node.fmt, node.range, low);
        let kept = (node.fmt.width - unkept) as u64;
        c.redundant_register_bits += unkept as u64 * d as u64 + kept * shared[i] as u64;
        let mut prev = shared[i];
        while let Some((&(n, late), rest)) = taps.split_first() {
            if n as usize != i {
                break;
            }
            if kept > 0 {
                *c.shift_runs.entry(late - prev).or_default() += kept;
            }
            prev = late;
            taps = rest;
        }
    }
    c.register_bits += s.latency as u64;
    c.tl = dp.tl.clone();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::schedule::Schedule;
    use crate::datapath::{Datapath, Kind, NodeId, Output, Term, Terms};
    use crate::fixed::{FixedType, OverflowMode, QuantMode};

    /// A datapath with one signed input of `width` bits.
    fn with_input(width: u32) -> (Datapath, NodeId) {
        let mut dp = Datapath::default();
        let f = Format::new(true, width, 0);
        let x = dp.input(0, 0, f, (f.min_raw(), f.max_raw()));
        (dp, x)
    }

    fn output(dp: &mut Datapath, id: NodeId) {
        let port = dp.fmt(id);
        dp.outputs.push(Output { node: id, port });
    }

    fn term(node: NodeId, shift: u32, neg: bool) -> Term {
        Term { node, shift, neg }
    }

    fn add(dp: &mut Datapath, terms: &[Term]) -> NodeId {
        dp.node(
            Kind::Add {
                terms: Terms::of(terms),
                wrap: None,
            },
            0,
        )
    }

    /// Every node in cycle 0 except those given, outputs read a cycle
    /// after the last, chains as long as the latest reader needs.
    fn schedule(dp: &Datapath, cycles: &[(NodeId, u32)]) -> Schedule {
        let mut cycle = vec![0; dp.nodes.len()];
        for &(id, c) in cycles {
            cycle[id.index()] = c;
        }
        let latency = dp
            .outputs
            .iter()
            .map(|o| cycle[o.node.index()] + 1)
            .max()
            .unwrap_or(0);
        let mut delay = vec![0; dp.nodes.len()];
        for (i, n) in dp.nodes.iter().enumerate() {
            for o in n.kind.operands() {
                delay[o.index()] = delay[o.index()].max(cycle[i] - cycle[o.index()]);
            }
        }
        for o in &dp.outputs {
            delay[o.node.index()] = delay[o.node.index()].max(latency - cycle[o.node.index()]);
        }
        Schedule {
            cycle,
            latency,
            arrival: vec![],
            delay,
        }
    }

    /// `relu(x)` truncated by two bits: the comparison with 0 reads only
    /// the sign, so x's two low bits are read by nothing; past 12 bits the
    /// comparison is a carry chain that reads them all.
    #[test]
    fn a_clamp_passes_a_truncation_on_when_its_comparison_is_narrow() {
        for (width, unread) in [(8, 2), (12, 2), (13, 0)] {
            let (mut dp, x) = with_input(width);
            let relu = dp.node(
                Kind::Clamp {
                    x,
                    shift: 0,
                    lo: Some(0),
                    hi: None,
                },
                0,
            );
            let ty = FixedType::new(
                Format::new(false, width - 2, -2),
                QuantMode::Trn,
                OverflowMode::Wrap,
            );
            let y = dp.node(
                Kind::Cast {
                    x: relu,
                    from_frac: 0,
                    ty,
                },
                -2,
            );
            output(&mut dp, y);
            let merged = vec![false; dp.nodes.len()];
            let (zero, _) = known_low(&dp, &merged);
            let u = unloaded_low(&dp, &zero, &merged, 12);
            assert_eq!(u[x.index()], unread, "{width} bits");
        }
    }

    /// `x ≥ 8` reads bits 3 and up.
    #[test]
    fn a_threshold_reads_from_its_lowest_set_bit() {
        let (mut dp, x) = with_input(8);
        let y = dp.node(Kind::Ge { x, t: 8 }, 0);
        output(&mut dp, y);
        let merged = vec![false; dp.nodes.len()];
        let (zero, _) = known_low(&dp, &merged);
        assert_eq!(unloaded_low(&dp, &zero, &merged, 12)[x.index()], 3);
    }

    /// `a + (b << 3)` with its three low bits unread: they are `a`'s,
    /// passed through, unless the adder is part of a multi-operand one.
    /// Its constant low bits are seen only outside one; a ternary adder's
    /// below its wired bits.
    #[test]
    fn merged_adders_hide_their_low_bits() {
        let (mut dp, a) = with_input(8);
        let f = Format::new(true, 8, 0);
        let b = dp.input(0, 1, f, (f.min_raw(), f.max_raw()));
        let two = add(&mut dp, &[term(a, 0, false), term(b, 3, false)]);
        let ty = FixedType::new(Format::new(true, 9, -3), QuantMode::Trn, OverflowMode::Wrap);
        let y = dp.node(
            Kind::Cast {
                x: two,
                from_frac: 0,
                ty,
            },
            -3,
        );
        output(&mut dp, y);
        let s = schedule(&dp, &[]);
        let merged = merged_adders(&dp, &s);
        assert!(!merged[two.index()]);
        let (zero, _) = known_low(&dp, &merged);
        assert_eq!(unloaded_low(&dp, &zero, &merged, 12)[a.index()], 3);

        let (mut dp, a) = with_input(8);
        let b = dp.input(0, 1, f, (f.min_raw(), f.max_raw()));
        let c2 = dp.input(0, 2, f, (f.min_raw(), f.max_raw()));
        let three = add(
            &mut dp,
            &[term(a, 2, false), term(b, 3, false), term(c2, 4, false)],
        );
        output(&mut dp, three);
        let s = schedule(&dp, &[]);
        let merged = merged_adders(&dp, &s);
        // three terms are a ternary adder of cells, which wires its two
        // lowest bits from zeros and hides nothing above its wired bits
        assert!(!merged[three.index()]);
        let (zero, constant) = known_low(&dp, &merged);
        assert_eq!((zero[three.index()], constant[three.index()]), (2, 2));
    }

    /// `x` and `x << 3` registered alike: one set of flip-flops.
    #[test]
    fn a_shifted_copy_shares_its_sources_registers() {
        let (mut dp, x) = with_input(8);
        let neg = add(&mut dp, &[term(x, 0, true)]);
        let ty = FixedType::new(Format::new(true, 12, 3), QuantMode::Trn, OverflowMode::Wrap);
        let shifted = dp.node(
            Kind::Cast {
                x: neg,
                from_frac: 0,
                ty,
            },
            3,
        );
        output(&mut dp, neg);
        output(&mut dp, shifted);
        let s = schedule(&dp, &[]);
        let c = count(&dp, &s, &vec![0; dp.nodes.len()]);
        let kept = c.register_bits - c.redundant_register_bits;
        // the valid bit and the 9 bits of `neg`
        assert_eq!(kept, 1 + dp.fmt(neg).width as u64);
    }

    /// A value read 2 and 6 cycles late: runs of 2 and 4 stages; the one
    /// read 4 cycles late, a run of 4.
    #[test]
    fn register_chains_are_cut_at_every_tap() {
        let (mut dp, x) = with_input(8);
        let neg = add(&mut dp, &[term(x, 0, true)]);
        let y = add(&mut dp, &[term(neg, 0, false), term(neg, 1, false)]);
        let z = add(&mut dp, &[term(neg, 0, false), term(y, 0, false)]);
        output(&mut dp, z);
        let s = schedule(&dp, &[(y, 2), (z, 6)]);
        let c = count(&dp, &s, &vec![0; dp.nodes.len()]);
        let w = dp.fmt(neg).width as u64;
        assert_eq!(c.shift_runs.get(&2), Some(&w));
        assert_eq!(c.shift_runs.get(&4), Some(&(w + dp.fmt(y).width as u64)));
    }
}
