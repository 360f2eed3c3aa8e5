//! Demanded bits: per node, how many of its lowest raw bits no reader
//! needs. A truncating cast drops the bits below its grid, a bit select
//! reads one bit, and a select passes its readers' demand on; everything
//! else (adders carry from their lowest bit, comparisons read all bits)
//! needs every bit. Outputs need every bit.
//!
//! The printer drives undemanded bits into registers as zeros, so a
//! register of them is visibly constant for synthesis, the flip-flop count
//! does not include them, and a wrong answer here would show up as a
//! mismatch in simulation rather than as a wrong estimate.

use super::{Datapath, Kind};
use crate::fixed::QuantMode;

/// Per node, the number of low bits no reader needs.
pub fn unread_low(dp: &Datapath) -> Vec<u32> {
    let n = dp.nodes.len();
    let mut unread: Vec<u32> = dp.nodes.iter().map(|x| x.fmt.width).collect();
    for o in &dp.outputs {
        unread[o.node.index()] = 0;
    }
    // Readers come after what they read: walk backwards.
    for i in (0..n).rev() {
        let mine = unread[i];
        let mut need = |x: super::NodeId, k: u32| {
            let u = &mut unread[x.index()];
            *u = (*u).min(k);
        };
        match &dp.nodes[i].kind {
            Kind::Cast { x, from_frac, ty } if ty.quant == QuantMode::Trn => {
                // Output bit j is input bit j + shift, or a constant; past
                // the top it is the sign, which a read output always needs.
                let shift = from_frac - ty.format.frac;
                let mut k = (mine as i64 + shift as i64).max(0) as u32;
                let xf = dp.fmt(*x);
                if xf.signed && mine < dp.nodes[i].fmt.width {
                    k = k.min(xf.width - 1);
                }
                need(*x, k);
            }
            Kind::Bit { x, index } => need(*x, *index),
            Kind::Table { x, rom } => need(*x, dp.roms[*rom as usize].drop),
            Kind::Mux { sel, a, b } => {
                need(*sel, 0);
                need(*a, mine);
                need(*b, mine);
            }
            kind => {
                for x in kind.operands() {
                    need(x, 0);
                }
            }
        }
    }
    for (u, node) in unread.iter_mut().zip(&dp.nodes) {
        *u = (*u).min(node.fmt.width);
    }
    unread
}
