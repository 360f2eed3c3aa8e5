//! Register placement of fewest bits, for all cycles at once: minimum-area
//! retiming of the whole datapath as one minimum cut.
//!
//! Timing first. For a node `u` and a node `v` it reaches, launch `u`'s
//! operands from registers and time the logic forward to `v` by the delay
//! model. If `v` then settles after the clock, no schedule may compute `u`
//! and `v` in one cycle: `cycle(v) ≥ cycle(u) + 1`. Every delay of the
//! model is max-plus linear, so these pairs (with `cycle(v) ≥ cycle(o)`
//! for each operand `o`) are exactly the schedules that meet the clock:
//! a path that stays within one cycle starts at a register some node of
//! it reads, and that node's pair bounds the path.
//!
//! Then the bits. A value computed in cycle `c(u)` and read last in cycle
//! `m(u)` (the latency, for an output) costs its width per cycle between.
//! Minimising `Σ width(u) · (m(u) − c(u))` under those difference
//! constraints is an integer program whose variables each take a few
//! values, and it is solved exactly by one minimum cut: each variable `x`
//! becomes a chain of literals `[x ≥ k]`, a constraint `x_j ≥ x_i + b`
//! becomes edges `[x_i ≥ k] → [x_j ≥ k + b]` that no cut may cross, and a
//! literal's cost is an edge to the sink (or, when negative, from the
//! source).

use super::flow::{Flow, INF};
use super::schedule::{Schedule, is_const};
use super::{Datapath, Kind, NodeId, retime, timing};
use crate::backend::timing::Arrival;
use rayon::prelude::*;

/// Designs with more nodes keep the other placements: the pairs grow with
/// the design times the logic of one cycle. A 256-wide MLP (245,078
/// nodes) takes 0.88 s, a 512-wide one (886,910) 9.4 s.
pub const MAX_NODES: usize = 400_000;

/// The constraints: every node's operands, and the pairs of the module
/// doc, grouped by the later node.
struct Constraints {
    /// Per node `v`, the nodes `u` with `cycle(v) ≥ cycle(u) + 1`.
    after: Vec<Vec<u32>>,
    /// The same pairs by `u`: its `v`s.
    later: Vec<Vec<u32>>,
    readers: Vec<Vec<u32>>,
    output: Vec<bool>,
}

/// Whether node `i` holds a fixed cycle: an input or bank is a register
/// before the first cycle, a constant a wire to all of them.
fn fixed(dp: &Datapath, i: usize) -> bool {
    is_const(dp, NodeId(i as u32))
        || matches!(dp.nodes[i].kind, Kind::Input { .. } | Kind::Bank { .. })
}

fn constraints(dp: &Datapath, period_ns: f64, dev: usize) -> Constraints {
    let n = dp.nodes.len();
    let (readers, output) = (retime::readers(dp), retime::is_output(dp));
    let mut after: Vec<Vec<u32>> = vec![vec![]; n];
    let mut later: Vec<Vec<u32>> = vec![vec![]; n];
    // Each node's cone is timed on its own, so the cores share them out,
    // in a few runs of nodes with one scratch space each (a big design's
    // is tens of MB).
    let run = n.div_ceil(4 * rayon::current_num_threads()).max(1);
    let frontiers: Vec<Vec<u32>> = (0..n.div_ceil(run))
        .into_par_iter()
        .flat_map_iter(|k| {
            let mut cone = Cone::new(n);
            (k * run..n.min((k + 1) * run))
                .map(|u| match is_const(dp, NodeId(u as u32)) {
                    true => vec![],
                    false => cone.frontier(dp, &readers, u, period_ns, dev),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (u, vs) in frontiers.into_iter().enumerate() {
        for v in vs {
            after[v as usize].push(u as u32);
        }
    }
    drop_implied(&mut after, &readers);
    for (v, us) in after.iter().enumerate() {
        for &u in us {
            later[u as usize].push(v as u32);
        }
    }
    Constraints {
        after,
        later,
        readers,
        output,
    }
}

/// Drop the pairs `(u, v)` that a reader `r` of `u` with its own pair
/// `(r, v)` implies: `cycle(v) ≥ cycle(r) + 1 ≥ cycle(u) + 1`. About
/// two in five pairs of an MLP go, and with them their edges in the cut;
/// the schedules allowed stay the same, and so does the one chosen.
fn drop_implied(after: &mut [Vec<u32>], readers: &[Vec<u32>]) {
    let mut mark = vec![u32::MAX; after.len()];
    for (v, us) in after.iter_mut().enumerate() {
        for &u in us.iter() {
            mark[u as usize] = v as u32;
        }
        us.retain(|&u| {
            !readers[u as usize]
                .iter()
                .any(|&r| mark[r as usize] == v as u32)
        });
    }
}

/// Scratch space of the forward timing from one node.
struct Cone {
    arrival: Vec<Option<Arrival>>,
    touched: Vec<u32>,
}

impl Cone {
    fn new(n: usize) -> Cone {
        Cone {
            arrival: vec![None; n],
            touched: vec![],
        }
    }

    /// The nodes reached from `u` (its operands launched from registers)
    /// that settle after the clock, the first on each path.
    fn frontier(
        &mut self,
        dp: &Datapath,
        readers: &[Vec<u32>],
        u: usize,
        period_ns: f64,
        dev: usize,
    ) -> Vec<u32> {
        self.arrival[u] = Some(retime::from_registers(dp, NodeId(u as u32)));
        self.touched.push(u as u32);
        // arena order is topological: the smallest pending node has all
        // its reached operands timed
        let mut pending: std::collections::BinaryHeap<std::cmp::Reverse<u32>> =
            readers[u].iter().map(|&r| std::cmp::Reverse(r)).collect();
        let mut out = vec![];
        while let Some(std::cmp::Reverse(v)) = pending.pop() {
            let vi = v as usize;
            if self.arrival[vi].is_some() {
                continue;
            }
            let t = dp.nodes[vi]
                .kind
                .operands()
                .filter_map(|o| self.arrival[o.index()])
                .fold(Arrival::ZERO, Arrival::max);
            let a = timing::settle(dp, NodeId(v), t);
            self.arrival[vi] = Some(a);
            self.touched.push(v);
            if a.captured().path(dev) > period_ns {
                out.push(v);
            } else {
                pending.extend(readers[vi].iter().map(|&r| std::cmp::Reverse(r)));
            }
        }
        for &x in &self.touched {
            self.arrival[x as usize] = None;
        }
        self.touched.clear();
        out
    }
}

/// Earliest (`lo`, from [`windows_lo`]) and latest cycles under the
/// constraints at `latency`, or `None` when the latency is too short for
/// them.
fn windows(
    dp: &Datapath,
    c: &Constraints,
    lo: Vec<u32>,
    latency: u32,
) -> Option<(Vec<u32>, Vec<u32>)> {
    let n = dp.nodes.len();
    let mut hi = lo.clone();
    for u in (0..n).rev().filter(|&u| !fixed(dp, u)) {
        let out = c.output[u].then(|| latency.checked_sub(1)).flatten();
        let reads = c.readers[u].iter().map(|&r| Some(hi[r as usize]));
        let pairs = c.later[u].iter().map(|&v| hi[v as usize].checked_sub(1));
        // an unread node (no output depends on it) stays where it starts
        hi[u] = match out.into_iter().map(Some).chain(reads).chain(pairs).min() {
            None => lo[u],
            Some(h) => h?,
        };
        if hi[u] < lo[u] {
            return None;
        }
    }
    Some((lo, hi))
}

/// One integer variable of the cut: values `lo..=hi`, its literals
/// `[x ≥ k]` for `k` in `lo + 1..=hi` at flow nodes `base..`.
#[derive(Clone, Copy)]
struct Var {
    lo: u32,
    hi: u32,
    base: u32,
}

/// A literal: always true, never true, or a flow node (true on the
/// source side of the cut).
enum Lit {
    True,
    False,
    Node(usize),
}

impl Var {
    fn lit(self, k: u32) -> Lit {
        if k <= self.lo {
            Lit::True
        } else if k > self.hi {
            Lit::False
        } else {
            Lit::Node((self.base + k - self.lo - 1) as usize)
        }
    }

    fn nodes(self) -> impl Iterator<Item = (u32, usize)> {
        (self.lo + 1..=self.hi).map(move |k| (k, (self.base + k - self.lo - 1) as usize))
    }
}

/// The layered graph of the module doc.
struct Layered {
    flow: Flow,
    src: usize,
    snk: usize,
    /// Per literal, its cost: bits saved when true (> 0, an edge from
    /// the source) less bits paid (an edge to the sink). Summed before the
    /// edges are made: a literal that both saves and pays would carry the
    /// smaller amount through its two edges whichever side it took, so
    /// only the difference is an edge, and the cut takes fewer paths.
    net: Vec<i64>,
}

impl Layered {
    /// `x_j ≥ x_i + b` as literal implications.
    fn at_least(&mut self, i: Var, j: Var, b: u32) {
        for (k, a) in i.nodes() {
            match j.lit(k + b) {
                Lit::True => {}
                Lit::False => self.flow.edge(a, self.snk, INF),
                Lit::Node(t) => self.flow.edge(a, t, INF),
            }
        }
    }

    /// A variable's chain: `[x ≥ k + 1]` implies `[x ≥ k]`.
    fn chain(&mut self, x: Var) {
        for (_, a) in x.nodes().filter(|&(k, _)| k > x.lo + 1) {
            self.flow.edge(a, a - 1, INF);
        }
    }

    /// `w` bits for each cycle `x` counts up: paid when `up`, saved when
    /// not.
    fn cost(&mut self, x: Var, w: u64, up: bool) {
        for (_, a) in x.nodes() {
            self.net[a] += if up { -(w as i64) } else { w as i64 };
        }
    }

    /// The literals' costs as edges.
    fn costs(&mut self) {
        for (a, &c) in self.net.iter().enumerate() {
            if c > 0 {
                self.flow.edge(self.src, a, c as u64);
            } else if c < 0 {
                self.flow.edge(a, self.snk, c.unsigned_abs());
            }
        }
    }
}

/// The last cycle node `u` is read in, as a variable of the cut: none
/// for a constant (a wire to every cycle) or an unread node, fixed at
/// the latency for an output, and for a node with one reader that
/// reader's own cycle (no variable of its own: the fewest bits never
/// hold a value past its last read).
#[derive(Clone, Copy)]
enum LastRead {
    None,
    Own(Var),
    Reader(Var),
}

/// The schedule of fewest register bits that meets `period_ns` on device
/// `dev` with outputs read at `latency`; `None` when no schedule does, or
/// the design is too large for the cut.
pub fn by_area(
    dp: &Datapath,
    period_ns: f64,
    dev: usize,
    latency: Option<u32>,
) -> Option<Schedule> {
    let n = dp.nodes.len();
    if n > MAX_NODES {
        return None;
    }
    let c = constraints(dp, period_ns, dev);
    let first = windows_lo(dp, &c);
    let shortest = dp
        .outputs
        .iter()
        .map(|o| first[o.node.index()] + 1)
        .max()
        .unwrap_or(1);
    let latency = latency.unwrap_or(shortest).max(shortest);
    let (lo, hi) = windows(dp, &c, first, latency)?;
    let mut next = 0u32;
    let mut var = |lo: u32, hi: u32| {
        let v = Var { lo, hi, base: next };
        next += hi - lo;
        v
    };
    let x: Vec<Var> = (0..n).map(|i| var(lo[i], hi[i])).collect();
    let m: Vec<LastRead> = (0..n)
        .map(|u| match c.readers[u].as_slice() {
            _ if is_const(dp, NodeId(u as u32)) => LastRead::None,
            _ if c.output[u] => LastRead::Own(var(latency, latency)),
            [] => LastRead::None,
            &[r] => LastRead::Reader(x[r as usize]),
            rs => {
                let top = |b: &[u32]| rs.iter().map(|&r| b[r as usize]).max().unwrap_or(0);
                LastRead::Own(var(top(&lo), top(&hi)))
            }
        })
        .collect();
    let (src, snk) = (next as usize, next as usize + 1);
    let mut g = Layered {
        flow: Flow::new(snk + 1),
        src,
        snk,
        net: vec![0; next as usize],
    };
    for u in 0..n {
        g.chain(x[u]);
        let w = retime::live_bits(dp, u);
        let mu = match m[u] {
            LastRead::None => continue,
            LastRead::Reader(mu) => mu,
            LastRead::Own(mu) => {
                g.chain(mu);
                for &r in &c.readers[u] {
                    g.at_least(x[r as usize], mu, 0);
                }
                mu
            }
        };
        g.cost(x[u], w, false);
        g.cost(mu, w, true);
    }
    g.costs();
    for v in (0..n).filter(|&v| !fixed(dp, v)) {
        for o in dp.nodes[v].kind.operands().filter(|&o| !is_const(dp, o)) {
            g.at_least(x[o.index()], x[v], 0);
        }
        for &u in &c.after[v] {
            g.at_least(x[u as usize], x[v], 1);
        }
    }
    g.flow.max_flow(src, snk);
    let sink = g.flow.reaches_sink(snk);
    let cycle = x
        .iter()
        .map(|v| v.lo + v.nodes().filter(|&(_, a)| !sink[a]).count() as u32)
        .collect();
    Some(Schedule::from_cycles(dp, cycle, latency))
}

/// The earliest cycles alone (the latency does not bound them).
fn windows_lo(dp: &Datapath, c: &Constraints) -> Vec<u32> {
    let n = dp.nodes.len();
    let mut lo = vec![0u32; n];
    for v in (0..n).filter(|&v| !fixed(dp, v)) {
        let ops = dp.nodes[v].kind.operands().map(|o| lo[o.index()]);
        let pairs = c.after[v].iter().map(|&u| lo[u as usize] + 1);
        lo[v] = ops.chain(pairs).max().unwrap_or(0);
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::{Output, Term, Terms};
    use crate::fixed::Format;

    /// A random DAG of two-term adders over three inputs.
    fn random_dag(next: &mut impl FnMut(u32) -> u32) -> Datapath {
        let mut dp = Datapath::default();
        let f = Format::new(true, 8, 0);
        dp.inputs.push((f, 3));
        let mut ids: Vec<NodeId> = (0..3).map(|i| dp.input(0, i, f, (-128, 127))).collect();
        let adders = 3 + next(4) as usize;
        while ids.len() < 3 + adders {
            let term = |node, shift, neg| Term { node, shift, neg };
            let a = ids[next(ids.len() as u32) as usize];
            let b = ids[next(ids.len() as u32) as usize];
            let terms = [term(a, next(3), false), term(b, next(3), next(2) == 1)];
            let kind = Kind::Add {
                terms: Terms::of(&terms),
                wrap: None,
            };
            let id = dp.node(kind, 0);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        // every adder no other reads is an output, and one more may be
        let read: Vec<NodeId> = dp.nodes.iter().flat_map(|n| n.kind.operands()).collect();
        let extra = ids[3 + next(adders as u32) as usize];
        for &o in &ids[3..] {
            if !read.contains(&o) || o == extra {
                let port = dp.fmt(o);
                dp.outputs.push(Output { node: o, port });
            }
        }
        dp
    }

    /// The bits the cut minimises, from the schedule's own chains.
    fn bits(dp: &Datapath, s: &Schedule) -> u64 {
        (0..dp.nodes.len())
            .map(|i| (dp.width(NodeId(i as u32)) - dp.nodes[i].low) as u64 * s.delay[i] as u64)
            .sum()
    }

    /// The fewest bits of any schedule at `latency` that meets the clock,
    /// by trying every assignment of cycles to the adders.
    fn brute_force(dp: &Datapath, period_ns: f64, latency: u32) -> Option<u64> {
        let free: Vec<usize> = (0..dp.nodes.len()).filter(|&i| !fixed(dp, i)).collect();
        let mut best = None;
        for code in 0..latency.pow(free.len() as u32) {
            let mut cycle = vec![0u32; dp.nodes.len()];
            let mut c = code;
            for &i in &free {
                cycle[i] = c % latency;
                c /= latency;
            }
            let ordered = (0..dp.nodes.len()).all(|i| {
                dp.nodes[i]
                    .kind
                    .operands()
                    .all(|o| cycle[o.index()] <= cycle[i])
            });
            if !ordered {
                continue;
            }
            let s = Schedule::from_cycles(dp, cycle, latency);
            if s.critical(0) <= period_ns {
                best = Some(best.map_or(bits(dp, &s), |b: u64| b.min(bits(dp, &s))));
            }
        }
        best
    }

    #[test]
    fn the_cut_finds_the_fewest_bits_of_every_schedule() {
        let mut seed = 5u64;
        let mut next = |m: u32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % m as u64) as u32
        };
        let mut cases = 0;
        for _ in 0..60 {
            let dp = random_dag(&mut next);
            // one adder from registers fits every one of these clocks
            let period = [2.4, 3.0, 3.8, 5.0][next(4) as usize];
            let shortest = by_area(&dp, period, 0, None).expect("a small design");
            for latency in [shortest.latency, shortest.latency + 1] {
                let s = by_area(&dp, period, 0, Some(latency)).unwrap();
                assert_eq!(s.latency, latency);
                let want = brute_force(&dp, period, latency);
                assert!(s.critical(0) <= period, "{:?}", s.cycle);
                assert_eq!(
                    Some(bits(&dp, &s)),
                    want,
                    "at {period} ns, latency {latency}"
                );
                cases += 1;
            }
            // and nothing shorter meets the clock
            if shortest.latency > 1 {
                assert_eq!(brute_force(&dp, period, shortest.latency - 1), None);
            }
        }
        assert_eq!(cases, 120);
    }
}
