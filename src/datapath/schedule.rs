//! Where the registers go: a cycle for every datapath node.
//!
//! A node computed in cycle `c` is read by a node of cycle `c' > c`
//! through `c' − c` registers, one chain per value whatever the number of
//! readers, and every output is read at the latency. So a schedule is only
//! the cycle of each node, plus the latency; the printer builds the chains
//! and the counts price them.
//!
//! Two ways to decide the cycles:
//! - [`by_clock`]: by the delay model and the clock period, the fewest
//!   register bits at the shortest latency (`area`); on designs too large
//!   for it, each node in the cycle of its latest operand unless it would
//!   then settle after the period ([`as_early`]), the registers then moved
//!   to minimum cuts cycle by cycle (`retime`);
//! - [`by_levels`]: the explicit overrides, `--pipeline layer` (a register
//!   after each layer that `schedule_pipeline` marked) and
//!   `--max-adder-depth N` (a register after every N adders within a
//!   layer).

use super::{Datapath, Kind, NodeId, timing};
use crate::backend::timing::{Arrival, DEVICES};

/// A cycle for every node, and the latency at which outputs are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub cycle: Vec<u32>,
    pub latency: u32,
    /// When each node settles in its cycle, on every device.
    pub arrival: Vec<Arrival>,
    /// Per node, the length of its register chain ([`Schedule::delays`]).
    pub delay: Vec<u32>,
}

impl Schedule {
    pub fn of(&self, id: NodeId) -> u32 {
        self.cycle[id.index()]
    }

    /// Per node, the most cycles any reader (or the output port) reads it
    /// late: the length of its register chain.
    fn chains(&self, dp: &Datapath) -> Vec<u32> {
        let mut d = vec![0u32; dp.nodes.len()];
        for (i, node) in dp.nodes.iter().enumerate() {
            for o in node.kind.operands().filter(|&o| !is_const(dp, o)) {
                let late = self.cycle[i] - self.of(o);
                d[o.index()] = d[o.index()].max(late);
            }
        }
        for o in dp.outputs.iter().filter(|o| !is_const(dp, o.node)) {
            let late = self.latency - self.of(o.node);
            d[o.node.index()] = d[o.node.index()].max(late);
        }
        d
    }

    /// A schedule of given cycles: the arrivals and register chains
    /// follow from them.
    pub fn from_cycles(dp: &Datapath, cycle: Vec<u32>, latency: u32) -> Schedule {
        let mut s = Schedule {
            cycle,
            latency,
            arrival: vec![],
            delay: vec![],
        };
        s.finish(dp);
        s
    }

    /// The latency when every output is registered after its cycle.
    pub(super) fn registered_outputs(&self, dp: &Datapath) -> u32 {
        dp.outputs
            .iter()
            .map(|o| self.of(o.node) + 1)
            .max()
            .unwrap_or(0)
    }

    /// Arrivals and register chains from the cycles alone.
    pub(super) fn finish(&mut self, dp: &Datapath) {
        self.time(dp);
        self.delay = self.chains(dp);
    }

    /// The slowest register-to-register path on device `dev`, in ns.
    pub fn critical(&self, dev: usize) -> f64 {
        self.arrival
            .iter()
            .map(|a| a.captured().path(dev))
            .fold(0.0, f64::max)
    }

    /// Register bits of the chains: each value's width times its chain.
    pub fn register_bits(&self, dp: &Datapath) -> u64 {
        self.delay
            .iter()
            .enumerate()
            .map(|(i, &d)| dp.width(NodeId(i as u32)) as u64 * d as u64)
            .sum()
    }

    /// Arrival times of `dp` under these cycles: an operand from an
    /// earlier cycle comes out of a register.
    fn time(&mut self, dp: &Datapath) {
        self.arrival = (0..dp.nodes.len()).map(|_| Arrival::ZERO).collect();
        for i in 0..dp.nodes.len() {
            let t = self.operand_arrival(dp, NodeId(i as u32), self.cycle[i]);
            self.arrival[i] = timing::settle(dp, NodeId(i as u32), t);
        }
    }

    /// The latest operand of `id` if `id` were computed in cycle `c`.
    pub(super) fn operand_arrival(&self, dp: &Datapath, id: NodeId, c: u32) -> Arrival {
        self.operands_arrival(dp, &dp.node_ref(id).kind, c)
    }

    /// The latest operand of a node of `kind` computed in cycle `c`.
    pub(super) fn operands_arrival(&self, dp: &Datapath, kind: &Kind, c: u32) -> Arrival {
        kind.operands()
            .map(|o| {
                if self.of(o) < c && !is_const(dp, o) {
                    Arrival::register()
                } else {
                    self.arrival[o.index()]
                }
            })
            .fold(Arrival::ZERO, Arrival::max)
    }
}

/// The schedule the options ask for: by the clock (the default), at the
/// latency they fix if they do, or the explicit overrides of `by_levels`.
/// The logic around a folded array is read on every step, so it stays
/// combinational between the array's registers.
pub fn for_options(dp: &Datapath, opts: &crate::ir::CompileOptions) -> Result<Schedule, String> {
    let (period, dev) = (opts.clock_period_ps as f64 / 1000.0, opts.delay_model);
    match opts.mode {
        _ if dp.fold.is_some() => Ok(by_levels(dp, 0)),
        crate::ir::PipelineMode::Clock => match opts.latency {
            None => Ok(by_clock(dp, period, dev)),
            Some(n) => at_latency(dp, period, dev, n),
        },
        _ => Ok(by_levels(dp, opts.max_adder_depth)),
    }
}

/// By the clock, with the latency fixed at `n` cycles: the fewest register
/// bits at it (`area`), or on designs too large for that the shortest
/// schedule with its outputs held in registers until cycle `n`.
pub fn at_latency(dp: &Datapath, period_ns: f64, dev: usize, n: u32) -> Result<Schedule, String> {
    let s = match super::area::by_area(dp, period_ns, dev, Some(n)) {
        Some(s) => s,
        None => by_clock(dp, period_ns, dev),
    };
    if n < s.latency {
        return Err(format!(
            "--latency {n}: at a clock of {period_ns:.3} ns the delay model needs at least {} cycles",
            s.latency
        ));
    }
    if n == s.latency {
        return Ok(s);
    }
    Ok(Schedule::from_cycles(dp, s.cycle, n))
}

/// Constants are wires to every cycle: no register ever holds one.
#[inline]
pub fn is_const(dp: &Datapath, id: NodeId) -> bool {
    dp.is_const(id)
}

/// By the clock on device `dev` (an index into `DEVICES`): the shortest
/// latency, then the fewest register bits, of three placements that meet
/// the clock:
/// - the fewest bits outright, at the shortest latency the clock allows
///   (`area`, an exact minimum cut over all cycles, on designs it can
///   afford);
/// - the as-early placement ([`as_early`]);
/// - at its latency, the minimum cuts of `retime`, cycle by cycle (for
///   designs too large for `area`).
///
/// Outputs are registered, so the latency is one more than the last cycle.
pub fn by_clock(dp: &Datapath, period_ns: f64, dev: usize) -> Schedule {
    let s = as_early(dp, period_ns, dev);
    let (bound, latency) = (period_ns.max(s.critical(dev)), s.latency);
    let mut best = s;
    let mut offer = |x: Schedule| {
        let key = |x: &Schedule| (x.latency, x.register_bits(dp));
        if x.critical(dev) <= bound && key(&x) < key(&best) {
            best = x;
        }
    };
    if let Some(a) = super::area::by_area(dp, period_ns, dev, None) {
        offer(a);
    } else if dp.nodes.len() <= super::retime::MAX_NODES {
        offer(super::retime::by_cuts(dp, period_ns, dev, latency));
    }
    best
}

/// As early as the clock allows: a node joins its latest operand's cycle
/// when it settles within `period_ns` (setup included), otherwise it
/// starts the next cycle.
///
/// Joining as early as possible cuts a layer wherever its time runs out,
/// often inside the wide bottom of its adder trees. So each layer is also
/// tried from a fresh cycle, its operands registered (a layer's inputs
/// are few bits next to its partial sums), and the placement keeps
/// whichever of the two registers fewer bits.
pub fn as_early(dp: &Datapath, period_ns: f64, dev: usize) -> Schedule {
    debug_assert!(dev < DEVICES.len());
    let n = dp.nodes.len();
    let mut s = Schedule {
        cycle: vec![0; n],
        latency: 0,
        arrival: vec![Arrival::ZERO; n],
        delay: vec![],
    };
    // The latest cycle any node placed so far reads each node in.
    let mut read = vec![0u32; n];
    let mut held = Held {
        until: vec![u32::MAX; n],
        touched: vec![],
    };
    // The early placement of a layer, in buffers kept across layers: a
    // big layer's are tens of MB, fresh pages for each would be faulted in.
    let (mut early_cycle, mut early_arrival) = (vec![], vec![]);
    for (first, end) in layer_runs(dp) {
        let fresh = fresh_start(dp, &s, first, end, dev);
        s.place(dp, first, end, 0, period_ns, dev);
        early_cycle.clear();
        early_cycle.extend_from_slice(&s.cycle[first..end]);
        early_arrival.clear();
        early_arrival.extend_from_slice(&s.arrival[first..end]);
        let cost_early = register_bits(dp, &s, &read, (first, end), &mut held);
        // the fresh placement stays in `s` unless the early one is cheaper
        s.place(dp, first, end, fresh, period_ns, dev);
        let cost_late = register_bits(dp, &s, &read, (first, end), &mut held);
        if cost_early <= cost_late {
            s.cycle[first..end].copy_from_slice(&early_cycle);
            s.arrival[first..end].copy_from_slice(&early_arrival);
        }
        for i in first..end {
            read[i] = read[i].max(s.cycle[i]);
            for o in dp.nodes[i].kind.operands() {
                read[o.index()] = read[o.index()].max(s.cycle[i]);
            }
        }
    }
    s.latency = s.registered_outputs(dp);
    s.delay = s.chains(dp);
    s
}

/// Each layer's nodes: one run of the arena, `(first, end)`, in order
/// (the lowering makes a layer's nodes while it lowers that layer).
fn layer_runs(dp: &Datapath) -> Vec<(usize, usize)> {
    let mut runs = vec![];
    let mut first = 0;
    for i in 1..=dp.nodes.len() {
        if i == dp.nodes.len() || dp.layer_of[i] != dp.layer_of[first] {
            runs.push((first, i));
            first = i;
        }
    }
    runs
}

/// The first cycle in which every operand of the run `first..end` from
/// an earlier layer can come out of a register.
fn fresh_start(dp: &Datapath, s: &Schedule, first: usize, end: usize, dev: usize) -> u32 {
    let q = Arrival::register().path(dev);
    (first..end)
        .flat_map(|i| dp.nodes[i].kind.operands())
        .filter(|o| o.index() < first && !is_const(dp, *o))
        .map(|o| s.of(o) + (s.arrival[o.index()].path(dev) > q) as u32)
        .max()
        .unwrap_or(0)
}

/// Scratch space of `register_bits`, kept across its calls: per node the
/// last cycle a reader holds it to (`u32::MAX` when unused, and left so),
/// and the nodes that have one.
struct Held {
    until: Vec<u32>,
    touched: Vec<usize>,
}

/// The register bits the run `first..end`, as placed in `s`, adds: its
/// operands held beyond what earlier readers already hold them for, and
/// its own values held for its own later nodes.
fn register_bits(
    dp: &Datapath,
    s: &Schedule,
    read: &[u32],
    (first, end): (usize, usize),
    held: &mut Held,
) -> u64 {
    let Held {
        until: held,
        touched,
    } = held;
    for i in first..end {
        for o in dp.nodes[i].kind.operands().filter(|&o| !is_const(dp, o)) {
            let h = &mut held[o.index()];
            if *h == u32::MAX {
                touched.push(o.index());
                *h = s.cycle[i];
            } else {
                *h = (*h).max(s.cycle[i]);
            }
        }
    }
    let mut bits = 0;
    for o in touched.drain(..) {
        let until = std::mem::replace(&mut held[o], u32::MAX);
        let from = if o < first {
            read[o].max(s.cycle[o])
        } else {
            s.cycle[o]
        };
        bits += dp.width(NodeId(o as u32)) as u64 * until.saturating_sub(from) as u64;
    }
    bits
}

impl Schedule {
    /// Place the run `first..end` as early as its operands and `min_cycle`
    /// allow, leaving its cycles and arrivals in `self`.
    fn place(
        &mut self,
        dp: &Datapath,
        first: usize,
        end: usize,
        min_cycle: u32,
        period_ns: f64,
        dev: usize,
    ) {
        for i in first..end {
            let id = NodeId(i as u32);
            let ops = dp.node_ref(id).kind.operands();
            let floor = if is_const(dp, id) { 0 } else { min_cycle };
            let c = ops.map(|o| self.of(o)).max().unwrap_or(0).max(floor);
            let a = timing::settle(dp, id, self.operand_arrival(dp, id, c));
            let (c, a) = if a.captured().path(dev) > period_ns {
                let later = self.operand_arrival(dp, id, c + 1);
                (c + 1, timing::settle(dp, id, later))
            } else {
                (c, a)
            };
            self.cycle[i] = c;
            self.arrival[i] = a;
        }
    }
}

/// The explicit overrides: a register after each layer marked `out_reg`
/// (none with `--pipeline none`) and, when `per > 0`, after every `per`
/// adders of a layer's longest chain. A layer starts when its last
/// operand from another layer is ready, so all its neurons start together.
pub fn by_levels(dp: &Datapath, per: u32) -> Schedule {
    let n = dp.nodes.len();
    let mut cycle = vec![0u32; n];
    // Cycle at which a node's value can be read by another layer.
    let mut ready = vec![0u32; n];
    // Adders since the layer's start, on the longest chain into the node.
    let mut level = vec![0u32; n];
    let mut registered = vec![false; n];
    for l in dp.layers.iter().filter(|l| l.out_reg) {
        for id in l.elements.iter().flatten() {
            registered[id.index()] = true;
        }
    }
    for (first, end) in layer_runs(dp) {
        let layer = dp.layer_of[first];
        let own = |o: &NodeId| dp.layer_of[o.index()] == layer;
        let start = (first..end)
            .flat_map(|i| dp.nodes[i].kind.operands())
            .filter(|o| !own(o))
            .map(|o| ready[o.index()])
            .max()
            .unwrap_or(0);
        for i in first..end {
            // the longest adder chain and the latest cycle among operands
            // of this layer
            let (lv, inner) = dp.nodes[i]
                .kind
                .operands()
                .filter(|o| own(o))
                .fold((0, 0), |(l, c), o| {
                    (l.max(level[o.index()]), c.max(cycle[o.index()]))
                });
            let is_add = matches!(dp.nodes[i].kind, Kind::Add { .. });
            level[i] = lv + is_add as u32;
            let cut = if per > 0 && level[i] > 0 {
                (level[i] - 1) / per
            } else {
                0
            };
            cycle[i] = (start + cut).max(inner);
            if matches!(dp.nodes[i].kind, Kind::Const(_) | Kind::Input { .. }) {
                cycle[i] = 0;
            }
            ready[i] = cycle[i] + registered[i] as u32;
        }
    }
    let latency = dp
        .outputs
        .iter()
        .map(|o| ready[o.node.index()])
        .max()
        .unwrap_or(0);
    let mut s = Schedule {
        cycle,
        latency,
        arrival: vec![],
        delay: vec![],
    };
    s.time(dp);
    s.delay = s.chains(dp);
    s
}
