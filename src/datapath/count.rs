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
    /// constants by the values' exact intervals, constant low bits
    /// (`Val::low`) and low bits no consumer reads (`unread.rs`).
    pub redundant_register_bits: u64,
    /// Adder bits that need logic: bits below the lowest set bit of a
    /// shifted operand pass through (the resource estimate's main term).
    pub adder_logic_bits: u64,
    /// The part of `adder_logic_bits` in adders of operands at most 4
    /// bits wide (popcount trees), which synthesis packs into LUT6s.
    pub small_adder_logic_bits: u64,
    /// Adders by the number of bits that need logic, one carry chain
    /// each; how many carry cells that is depends on the device
    /// (`src/estimate.rs`).
    pub carry_chains: std::collections::BTreeMap<u32, u64>,
    /// Bits of comparisons and selections outside adders (rounding
    /// increments, saturation, clamps, max, thresholds).
    pub logic_bits: u64,
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
        for (&bits, &n) in &o.carry_chains {
            *self.carry_chains.entry(bits).or_default() += n;
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

/// What a scheduled datapath instantiates, with `unread` the demanded-bits
/// analysis (undemanded register bits are driven as zeros, so synthesis
/// keeps none of them).
pub fn count(dp: &super::Datapath, s: &super::schedule::Schedule, unread: &[u32]) -> Counts {
    use super::Kind;
    let mut c = Counts::default();
    let mut tl_depth = vec![0u64; dp.nodes.len()];
    for (i, node) in dp.nodes.iter().enumerate() {
        let id = super::NodeId(i as u32);
        let w = node.fmt.width as u64;
        let in_w = |x: &super::NodeId| dp.fmt(*x).width as u64;
        match &node.kind {
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
                let bounds = lo.is_some() as u64 + hi.is_some() as u64;
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
    for (i, &d) in s.delay.iter().enumerate() {
        let node = &dp.nodes[i];
        c.register_bits += node.fmt.width as u64 * d as u64;
        let unkept = unkept_bits(node.fmt, node.range, node.low.max(unread[i]));
        c.redundant_register_bits += unkept as u64 * d as u64;
    }
    c.register_bits += s.latency as u64;
    c.tl = dp.tl.clone();
    c
}
