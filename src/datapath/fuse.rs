//! Ternary fusion (`--adders ternary`): an adder whose only reader is an
//! adder of the same cycle becomes that reader's third term, where the
//! scheduled cycle has the time for it. One three-operand adder
//! (`rtl/nt_add3.v`, a LUT6_2 per bit) then does the work of two binary
//! ones (a LUT per bit each).
//!
//! The pass runs on a scheduled datapath and keeps its schedule valid:
//! it walks the arena backwards, so when it reaches a node every reader
//! has settled what it needs of it (the required times of
//! `retime::required_in`, exact because the delay model is max-plus
//! linear), and it fuses only where the fused adder still settles by
//! then. A fusion makes the node's operands' required times tighter, and
//! they are decided later in the walk against those. The scheduler then
//! runs again on the fused datapath, whose old placement is one of the
//! placements it considers.

use super::retime::{is_output, readers, required_in};
use super::schedule::Schedule;
use super::{Datapath, Kind, NodeId, Term, Terms};
use crate::backend::timing::{Arrival, DEVICES};

/// Fuse what the schedule `s` (at `period_ns` on device `dev`) leaves
/// time for; returns how many adders were fused away. The fused-away
/// adders are dead afterwards: [`Datapath::remove_dead`] drops them.
pub fn ternary(dp: &mut Datapath, s: &Schedule, period_ns: f64, dev: usize) -> usize {
    let n = dp.nodes.len();
    let readers = readers(dp);
    let output = is_output(dp);
    let cap = period_ns - DEVICES[dev].setup;
    // a value that a register captures must settle by the clock
    let mut need: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            if output[i] || s.delay[i] > 0 {
                (cap, cap)
            } else {
                (f64::INFINITY, f64::INFINITY)
            }
        })
        .collect();
    let mut gone = vec![false; n];
    let mut fused = 0;
    for i in (0..n).rev() {
        let v = NodeId(i as u32);
        if gone[i] || dp.is_const(v) {
            continue;
        }
        let cands = Candidates {
            dp,
            s,
            readers: &readers,
            output: &output,
        };
        if let Some((u, kind)) = cands.best(v, need[i], dev) {
            dp.set_kind(v, kind);
            gone[u.index()] = true;
            fused += 1;
        }
        let req = required_in(dp, v, dev, need[i]);
        for o in dp.node_ref(v).kind.operands() {
            if s.of(o) == s.cycle[i] && !dp.is_const(o) {
                let r = &mut need[o.index()];
                *r = (r.0.min(req.0), r.1.min(req.1));
            }
        }
    }
    fused
}

/// What may fuse into one node, given the schedule.
struct Candidates<'a> {
    dp: &'a Datapath,
    s: &'a Schedule,
    readers: &'a [Vec<u32>],
    output: &'a [bool],
}

impl Candidates<'_> {
    /// The operand of `v` to fuse into it, and `v`'s fused kind: of the
    /// operands whose fusion settles by `need`, the one whose adder had
    /// the most bits of logic.
    fn best(&self, v: NodeId, need: (f64, f64), dev: usize) -> Option<(NodeId, Kind)> {
        let Kind::Add { terms, wrap: None } = &self.dp.node_ref(v).kind else {
            return None;
        };
        if terms.len() != 2 {
            return None;
        }
        let mut best: Option<(u32, NodeId, Kind)> = None;
        for k in 0..2 {
            let Some(kind) = self.fused(v, terms[k], terms[1 - k]) else {
                continue;
            };
            let u = terms[k].node;
            let saved = super::timing::adder_logic_bits(self.dp, u);
            if best.as_ref().is_some_and(|b| b.0 >= saved) {
                continue;
            }
            let t = self.settles_as(v, &kind);
            if t.lsb[dev] <= need.0 && t.msb[dev] <= need.1 {
                best = Some((saved, u, kind));
            }
        }
        best.map(|(_, u, kind)| (u, kind))
    }

    /// `v` = `inner` + `other` with `inner`'s adder taken in: its two terms
    /// shifted and signed by `inner`, when `inner` is a plain adder of two
    /// terms read by `v` alone in `v`'s cycle, and at most one of the three
    /// terms is subtracted (a ternary adder's carry-in adds one).
    fn fused(&self, v: NodeId, inner: Term, other: Term) -> Option<Kind> {
        let u = inner.node;
        let Kind::Add { terms, wrap: None } = &self.dp.node_ref(u).kind else {
            return None;
        };
        let alone = self.readers[u.index()].len() == 1 && !self.output[u.index()];
        if terms.len() != 2 || !alone || self.s.of(u) != self.s.of(v) {
            return None;
        }
        let mut three = [other; 3];
        for (slot, t) in three.iter_mut().zip(terms.iter()) {
            *slot = Term {
                node: t.node,
                shift: t.shift + inner.shift,
                neg: t.neg != inner.neg,
            };
        }
        if three.iter().filter(|t| t.neg).count() > 1 {
            return None;
        }
        Some(Kind::Add {
            terms: Terms::of(&three),
            wrap: None,
        })
    }

    /// Where `v` would settle, in its cycle, as `kind`.
    fn settles_as(&self, v: NodeId, kind: &Kind) -> Arrival {
        let at = self.s.operands_arrival(self.dp, kind, self.s.of(v));
        super::timing::settle_kind(self.dp, v, kind, at)
    }
}
