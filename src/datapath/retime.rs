//! Register placement by minimum cuts: where the clock forces a register
//! onto a path, put it where the fewest bits are live.
//!
//! `schedule::by_clock` places every node as early as the clock allows,
//! so each cycle ends wherever its time runs out, often across the wide
//! middle of the adder trees. Here each cycle is decided as a whole:
//! - the nodes that fit into it (timed from the registers the earlier
//!   cycles left) are candidates; a node whose reader does not fit must be
//!   registered if it is computed now;
//! - a candidate may also wait for the next cycle, which costs the
//!   registers its operands then need;
//! - a minimum cut of that choice (a node's cost is its register's bits,
//!   a value held for a later reader is paid once) gives the cheapest
//!   boundary, the largest such set of nodes going into the cycle;
//! - a node that must be computed by this cycle for the outputs to be
//!   ready at the latency (its latest cycle, [`latest`]) is never put off,
//!   so the latency stays that of the as-early schedule.

use super::flow::{Flow, INF};
use super::schedule::{Schedule, is_const};
use super::{Datapath, Kind, NodeId, timing};
use crate::backend::timing::{Arrival, DEVICES};

/// Designs with more nodes keep the as-early placement: the first cycle's
/// flow of a 512-wide MLP (886,910 nodes) takes most of the 2.2 s this
/// placement adds to it, and the flows grow faster than the design.
pub const MAX_NODES: usize = 1_000_000;

/// Per node, the nodes that read it (each once).
pub(super) fn readers(dp: &Datapath) -> Vec<Vec<u32>> {
    let mut r: Vec<Vec<u32>> = vec![vec![]; dp.nodes.len()];
    for (i, n) in dp.nodes.iter().enumerate() {
        for o in n.kind.operands() {
            if r[o.index()].last() != Some(&(i as u32)) {
                r[o.index()].push(i as u32);
            }
        }
    }
    r
}

/// Whether an output element reads each node.
pub(super) fn is_output(dp: &Datapath) -> Vec<bool> {
    let mut out = vec![false; dp.nodes.len()];
    for o in &dp.outputs {
        out[o.node.index()] = true;
    }
    out
}

/// The bits a register of node `i` keeps: its constant low bits are
/// removed by synthesis. Both placements price a register by it.
pub(super) fn live_bits(dp: &Datapath, i: usize) -> u64 {
    dp.width(NodeId(i as u32)).saturating_sub(dp.nodes[i].low) as u64
}

/// Where `id` settles, on device `dev`, when its operands come from
/// registers.
pub(super) fn from_registers(dp: &Datapath, id: NodeId) -> Arrival {
    let t = dp
        .node_ref(id)
        .kind
        .operands()
        .map(|o| {
            if is_const(dp, o) {
                Arrival::ZERO
            } else {
                Arrival::register()
            }
        })
        .fold(Arrival::ZERO, Arrival::max);
    timing::settle(dp, id, t)
}

/// The latest (lsb, msb) its operands may settle at for node `id` to
/// settle by `(lsb, msb)` on device `dev`. Every delay of the model is
/// max-plus linear in the operands' arrival, so probing the lsb and the
/// msb apart gives each output's offset from each.
pub(super) fn required_in(
    dp: &Datapath,
    id: NodeId,
    dev: usize,
    (rl, rm): (f64, f64),
) -> (f64, f64) {
    const FAR: f64 = 1e6;
    let probe = |l: f64, m: f64| {
        let mut t = Arrival::ZERO;
        t.lsb.fill(l);
        t.msb.fill(m);
        let a = timing::settle(dp, id, t);
        (a.lsb[dev], a.msb[dev])
    };
    // offsets of (out lsb, out msb) from the input lsb, then the msb; an
    // output that does not follow an input stays about FAR below
    let (from_l, from_m) = (probe(0.0, -FAR), probe(-FAR, 0.0));
    let bound = |offset: f64, req: f64| {
        if offset < -FAR / 2.0 {
            f64::INFINITY
        } else {
            req - offset
        }
    };
    (
        bound(from_l.0, rl).min(bound(from_l.1, rm)),
        bound(from_m.0, rl).min(bound(from_m.1, rm)),
    )
}

/// Per node, the latest cycle it can be computed in for every output to
/// be registered at `latency`: a reverse as-early-as-possible placement,
/// each node joining its readers' cycle when it settles by the time they
/// need it (the model's delays run backwards exactly, [`required_in`]).
pub fn latest(dp: &Datapath, latency: u32, period_ns: f64, dev: usize) -> Vec<u32> {
    let n = dp.nodes.len();
    let cap = period_ns - DEVICES[dev].setup;
    let mut cycle = vec![u32::MAX; n];
    let mut need = vec![(f64::INFINITY, f64::INFINITY); n];
    let alone: Vec<Arrival> = (0..n)
        .map(|i| from_registers(dp, NodeId(i as u32)))
        .collect();
    for o in &dp.outputs {
        cycle[o.node.index()] = latency.saturating_sub(1);
        need[o.node.index()] = (cap, cap);
    }
    for i in (0..n).rev() {
        let id = NodeId(i as u32);
        if cycle[i] == u32::MAX || is_const(dp, id) {
            continue;
        }
        let req = required_in(dp, id, dev, need[i]);
        for o in dp.node_ref(id).kind.operands() {
            if is_const(dp, o) {
                continue;
            }
            let a = alone[o.index()];
            let fits = a.lsb[dev] <= req.0 && a.msb[dev] <= req.1;
            let (c, r) = if fits {
                (cycle[i], req)
            } else {
                (cycle[i].saturating_sub(1), (cap, cap))
            };
            let j = o.index();
            if c < cycle[j] {
                (cycle[j], need[j]) = (c, r);
            } else if c == cycle[j] {
                need[j] = (need[j].0.min(r.0), need[j].1.min(r.1));
            }
        }
    }
    cycle
}

/// The register placement of the module doc, keeping `latency` (the
/// as-early schedule's) as long as the model lets it.
pub fn by_cuts(dp: &Datapath, period_ns: f64, dev: usize, latency: u32) -> Schedule {
    let n = dp.nodes.len();
    let last = latest(dp, latency, period_ns, dev);
    let (readers, output) = (readers(dp), is_output(dp));
    let mut s = Schedule {
        cycle: vec![u32::MAX; n],
        latency: 0,
        arrival: vec![Arrival::ZERO; n],
        delay: vec![],
    };
    let mut open: Vec<usize> = vec![];
    for (i, node) in dp.nodes.iter().enumerate() {
        if is_const(dp, NodeId(i as u32)) {
            s.cycle[i] = 0;
        } else if matches!(node.kind, Kind::Input { .. } | Kind::Bank { .. }) {
            // registers already, read as such from the first cycle on
            s.cycle[i] = 0;
            s.arrival[i] = Arrival::register();
        } else {
            open.push(i);
        }
    }
    let mut c = 0;
    while !open.is_empty() {
        let late = s.time_open(dp, &open, c, period_ns, dev);
        let now = Stage {
            dp,
            readers: &readers,
            output: &output,
            last: &last,
            cycle: c,
        }
        .choose(&s.cycle, &open, &late);
        for &i in &now {
            s.cycle[i] = c;
        }
        open.retain(|&i| s.cycle[i] == u32::MAX);
        c += 1;
    }
    s.latency = s.registered_outputs(dp);
    s.finish(dp);
    s
}

impl Schedule {
    /// Arrivals of the unplaced nodes `open` if computed in the next
    /// cycle (placed operands come from registers); which of them would
    /// then settle after the period because of an unplaced operand.
    fn time_open(
        &mut self,
        dp: &Datapath,
        open: &[usize],
        c: u32,
        period_ns: f64,
        dev: usize,
    ) -> Vec<bool> {
        let mut late = vec![false; dp.nodes.len()];
        for &i in open {
            // unplaced nodes' cycle is u32::MAX, never before `c`
            let t = self.operand_arrival(dp, NodeId(i as u32), c);
            self.arrival[i] = timing::settle(dp, NodeId(i as u32), t);
            // a node too slow for the clock even from registers goes in as
            // soon as its operands are registered, as in the as-early
            // placement: waiting would not make it fit
            let slow = self.arrival[i].captured().path(dev) > period_ns;
            late[i] = slow && !from_placed(dp, &self.cycle, i);
        }
        late
    }
}

/// Whether every operand of node `i` is placed already (or a constant).
fn from_placed(dp: &Datapath, cycle: &[u32], i: usize) -> bool {
    dp.nodes[i]
        .kind
        .operands()
        .all(|o| is_const(dp, o) || cycle[o.index()] != u32::MAX)
}

/// One cycle's choice: which open nodes it computes.
struct Stage<'a> {
    dp: &'a Datapath,
    readers: &'a [Vec<u32>],
    output: &'a [bool],
    last: &'a [u32],
    cycle: u32,
}

impl Stage<'_> {
    /// The candidates (open, not late) that go into this cycle: the
    /// source side of the minimum cut of the module doc. A candidate `v`
    /// is two flow nodes, `v_in → v_out` with its register's bits (cut:
    /// computed now and registered); a value already in a register is one
    /// node fed its bits from the source (cut: held for a reader that
    /// waits).
    fn choose(&self, cycle: &[u32], open: &[usize], late: &[bool]) -> Vec<usize> {
        let dp = self.dp;
        let cand: Vec<usize> = open.iter().copied().filter(|&i| !late[i]).collect();
        let mut slot = vec![u32::MAX; dp.nodes.len()];
        for (k, &i) in cand.iter().enumerate() {
            slot[i] = 2 * k as u32;
        }
        // registers read by a candidate, one flow node each after them
        let mut held = vec![];
        for &i in &cand {
            for o in dp.nodes[i].kind.operands() {
                let j = o.index();
                if !is_const(dp, o) && cycle[j] != u32::MAX && slot[j] == u32::MAX {
                    slot[j] = (2 * cand.len() + held.len()) as u32;
                    held.push(j);
                }
            }
        }
        let (src, snk) = (2 * cand.len() + held.len(), 2 * cand.len() + held.len() + 1);
        let mut f = Flow::new(snk + 1);
        let bits = |j: usize| live_bits(dp, j);
        for &j in &held {
            f.edge(src, slot[j] as usize, bits(j));
        }
        for &i in &cand {
            let (vin, vout) = (slot[i] as usize, slot[i] as usize + 1);
            f.edge(vin, vout, bits(i));
            f.edge(vout, vin, INF);
            if self.last[i] <= self.cycle {
                f.edge(src, vin, INF);
            }
            let waits = self.output[i] || self.readers[i].iter().any(|&r| late[r as usize]);
            if waits {
                f.edge(vout, snk, INF);
            }
            for o in dp.nodes[i].kind.operands() {
                let j = o.index();
                if is_const(dp, o) {
                    continue;
                }
                if cycle[j] != u32::MAX {
                    f.edge(slot[j] as usize, vin, INF);
                } else {
                    f.edge(slot[j] as usize + 1, vin, INF);
                    f.edge(vin, slot[j] as usize, INF);
                }
            }
        }
        f.max_flow(src, snk);
        let sink = f.reaches_sink(snk);
        let now: Vec<usize> = cand
            .iter()
            .copied()
            .filter(|&i| !sink[slot[i] as usize])
            .collect();
        // a cycle that computes nothing only holds registers: take every
        // candidate instead, as the as-early schedule would, and when none
        // fits the clock at all, the nodes that start from registers
        if !now.is_empty() {
            now
        } else if !cand.is_empty() {
            cand
        } else {
            open.iter()
                .copied()
                .filter(|&i| from_placed(dp, cycle, i))
                .collect()
        }
    }
}
