//! How long each datapath node takes, by the delay model of
//! `backend::timing`: an adder is a carry chain over the bits that need
//! logic, a comparison a carry chain, selections and threshold cells a
//! LUT level, wiring nothing. The scheduler asks this file where a node's
//! result settles; nothing here knows about registers.

use super::{Datapath, Kind, NodeId, Term};
use crate::backend::timing::{self, Arrival};
use crate::fixed::{OverflowMode, QuantMode};

/// Bits of adder `id` that need logic: below [`free_low_bits`] at most
/// one term is non-zero and its bits pass through as wires; above every
/// operand's top sits at most the carry out.
pub fn adder_logic_bits(dp: &Datapath, id: NodeId) -> u32 {
    match &dp.node_ref(id).kind {
        Kind::Add { terms, .. } => logic_bits(dp, id, terms),
        _ => 0,
    }
}

/// [`adder_logic_bits`] of node `id` were it a sum of `terms`.
fn logic_bits(dp: &Datapath, id: NodeId, terms: &[Term]) -> u32 {
    let width = dp.width(id);
    let top = terms
        .iter()
        .map(|t| dp.width(t.node) + t.shift)
        .max()
        .unwrap_or(0)
        .min(width);
    top.saturating_sub(free_low_bits(terms).min(width))
}

/// The low bits of a sum of `terms` that are wires: below the operands'
/// second-lowest shift only one term is non-zero (below the lowest, none),
/// unless that term is subtracted, which needs the carry from its lowest
/// bit.
pub fn free_low_bits(terms: &[Term]) -> u32 {
    let lowest = terms
        .iter()
        .min_by_key(|t| t.shift)
        .expect("an adder has terms");
    if lowest.neg || terms.len() == 1 {
        return lowest.shift;
    }
    terms
        .iter()
        .filter(|t| !std::ptr::eq(*t, lowest))
        .map(|t| t.shift)
        .min()
        .unwrap_or(0)
}

/// Where node `id`'s result settles when its operands settle at `t`.
pub fn settle(dp: &Datapath, id: NodeId, t: Arrival) -> Arrival {
    settle_kind(dp, id, &dp.node_ref(id).kind, t)
}

/// Where node `id` would settle as `kind` (of the same value, so of the
/// same width), when its operands settle at `t`.
pub fn settle_kind(dp: &Datapath, id: NodeId, kind: &Kind, t: Arrival) -> Arrival {
    let node = dp.node_ref(id);
    let in_w = |x: NodeId| dp.width(x);
    match kind {
        Kind::Input { .. } | Kind::Bank { .. } => Arrival::register(),
        Kind::Const(_) => Arrival::ZERO,
        // three operands are a 7-series ternary adder (`nt_add3`)
        Kind::Add { terms, .. } if terms.len() == 3 => {
            timing::ternary(t, logic_bits(dp, id, terms))
        }
        Kind::Add { terms, .. } => timing::adder(t, logic_bits(dp, id, terms)),
        Kind::Cast { x, from_frac, ty } => {
            let shift = from_frac - ty.format.frac;
            let rounds = shift > 0 && ty.quant != QuantMode::Trn;
            let t = if rounds {
                timing::adder(t, ty.format.width)
            } else {
                t
            };
            if ty.overflow == OverflowMode::Wrap {
                t
            } else {
                // saturation compares the value the shift leaves (and
                // the rounding's carry out), not the dropped low bits
                let kept = in_w(*x).saturating_sub(shift.max(0) as u32) + rounds as u32;
                timing::lut(timing::compare(t, kept.max(1)))
            }
        }
        // a lower bound of 0 is the sign bit (`rtl/nt_clamp.v`), not a chain
        Kind::Clamp {
            hi: None,
            lo: Some(0),
            ..
        } => timing::lut(t),
        Kind::Clamp { x, .. } => timing::lut(timing::compare(t, in_w(*x))),
        Kind::Leaky { alpha, .. } if alpha.count_ones() == 1 => timing::lut(t),
        Kind::Leaky { .. } => timing::lut(timing::adder(t, node.fmt.width)),
        Kind::Ge { x, .. } => timing::compare(t, in_w(*x)),
        Kind::Less { a, .. } => timing::compare(t, in_w(*a)),
        Kind::Mux { .. } | Kind::TlCell { .. } => timing::lut(t),
        // a LUT6 per output bit and six address bits, then a 4:1 mux
        // level (MUXF7/F8, or LUTs) per two more
        Kind::Table { rom, .. } => {
            let a = dp.roms[*rom as usize].address_bits();
            (0..1 + a.saturating_sub(6).div_ceil(2)).fold(t, |t, _| timing::lut(t))
        }
        Kind::Bit { .. } | Kind::Not(_) | Kind::Bipolar(_) => t,
    }
}
