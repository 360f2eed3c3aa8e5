//! The folded array of `--target tl-pe`: binary-neuron layers computed on
//! P threshold-logic processing elements (PEs) under a compile-time
//! schedule. This file plans the array from the graph IR and records it
//! in the datapath ([`Datapath::fold`]): the schedule, the contents of
//! every ROM, and one PE's logic as a datapath of its own. The latency,
//! the II and the resources are read from here, so nothing downstream
//! re-derives the schedule.
//!
//! Every folded layer (a `Neurons` node whose neurons read every input with
//! weights ±m) is rewritten exactly as `dot = m·(α·V + K_j)`, where
//! `V = Σ_i v_i` and `v_i` is the input element's unsigned code (the offset
//! code for signed inputs, the bit for bipolar ones), complemented when the
//! weight is negative; `α` is 2 for bipolar inputs and 1 otherwise, and
//! `K_j` is a per-neuron constant. The neuron fires when `V ≥ T_j`. A PE
//! takes L input elements per cycle and adds their `v` to its accumulator
//! with an adder made of threshold cells; the accumulator starts at
//! `2^n − T_j`, so bit `n` of the final sum is the neuron's output and no
//! comparator is needed.
//!
//! Schedule: layer by layer in topological order, neurons in groups of P
//! (one per PE), each group taking ceil(K/L) steps of one cycle. All PEs
//! read the same L inputs each step (broadcast); each has its own ROM of
//! weight bits (one word per step) and of start values (one per group).
//! The rest of the network is combinational logic of the main datapath
//! between the captured input, the result banks ([`Kind::Bank`]) and the
//! output.

use super::{BIT, Datapath, Kind, NodeId, Output};
use crate::backend::tl_cells::{Limits, Netlist, Sig};
use crate::ir::{Graph, Op};
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;

/// What the folded array is and costs, for the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FoldStats {
    pub pes: u32,
    /// Input elements one PE takes per cycle.
    pub lanes: u32,
    pub cells_per_pe: u64,
    pub cells: u64,
    pub schedule_cycles: u64,
    /// Useful PE-cycles over all PE-cycles of the schedule.
    pub utilization: f64,
    pub weight_memory_bits: u64,
    pub start_value_memory_bits: u64,
    pub control_memory_bits: u64,
    pub folded_layers: Vec<String>,
}

/// One folded layer.
#[derive(Debug, Clone)]
pub struct FoldLayer {
    /// The graph node (a `Neurons` layer).
    pub node: NodeIndex,
    /// Per input element, the bits of its unsigned code (`bits` of them),
    /// as one-bit nodes of the main datapath; filled in by the lowering.
    pub code: Vec<Vec<NodeId>>,
    /// Inputs, neurons, bits per input element.
    pub k: usize,
    pub u: usize,
    pub bits: u32,
    pub chunks: usize,
    pub groups: usize,
    /// Global indices of this layer's first group and first chunk.
    pub group_base: usize,
    pub chunk_base: usize,
    /// Per neuron: the accumulator's start value.
    start: Vec<i128>,
    /// Per neuron and input: whether the weight is positive.
    positive: Vec<Vec<bool>>,
}

/// One cycle of the schedule.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub layer: usize,
    pub group: usize,
    pub chunk: usize,
}

/// A read-only memory: `depth` words of `width` bits, word k in
/// `bits[k·width ..]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rom {
    pub width: u32,
    pub bits: Vec<bool>,
}

impl Rom {
    pub fn depth(&self) -> usize {
        self.bits.len() / self.width.max(1) as usize
    }
    pub fn word(&self, k: usize) -> &[bool] {
        let w = self.width as usize;
        &self.bits[k * w..(k + 1) * w]
    }
}

/// The fields of a control word, lowest first:
/// `{mask, last, first, group, chunk}`.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub chunk_bits: u32,
    pub group_bits: u32,
    pub mask_bits: u32,
}

impl Control {
    pub fn width(&self) -> u32 {
        self.chunk_bits + self.group_bits + 2 + self.mask_bits
    }
    /// `(lowest bit, width)` of each field.
    pub fn chunk(&self) -> (u32, u32) {
        (0, self.chunk_bits)
    }
    pub fn group(&self) -> (u32, u32) {
        (self.chunk_bits, self.group_bits)
    }
    pub fn first(&self) -> (u32, u32) {
        (self.chunk_bits + self.group_bits, 1)
    }
    pub fn last(&self) -> (u32, u32) {
        (self.chunk_bits + self.group_bits + 1, 1)
    }
    pub fn mask(&self) -> (u32, u32) {
        (self.chunk_bits + self.group_bits + 2, self.mask_bits)
    }
}

/// The inputs of a PE's datapath, one model input each, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PePort {
    /// The step's L input elements, `wmax` code bits each.
    Lanes,
    /// The PE's weight bit per lane (1 = positive).
    Weights,
    /// Which of the `wmax` code bits the step's layer uses.
    Mask,
    /// The step starts a group: the accumulator restarts.
    First,
    Start,
    Acc,
}

pub const PE_PORTS: [PePort; 6] = [
    PePort::Lanes,
    PePort::Weights,
    PePort::Mask,
    PePort::First,
    PePort::Start,
    PePort::Acc,
];

/// The folded array, as planned.
#[derive(Debug, Clone)]
pub struct Fold {
    pub layers: Vec<FoldLayer>,
    pub steps: Vec<Step>,
    pub pes: usize,
    pub lanes: usize,
    /// Code bits per lane: the widest folded layer input's.
    pub wmax: u32,
    /// The accumulator has `n + 1` bits; bit `n` is a neuron's result.
    pub n: u32,
    /// One PE: `acc' = (first ? start : acc) + Σ v` from threshold cells,
    /// inputs in the order of [`PE_PORTS`], outputs the `n + 1` bits.
    pub pe: Datapath,
    pub control: Control,
    /// Per step, the control word.
    pub control_rom: Rom,
    /// Per PE, one word of lane weight bits per step.
    pub weight_roms: Vec<Rom>,
    /// Per PE, one start value per group (all layers' groups in order).
    pub start_roms: Vec<Rom>,
    pub stats: FoldStats,
}

/// Bits to count `0 .. n − 1`.
pub fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

impl Fold {
    /// Cycles from taking a sample to its result, and between samples.
    pub fn latency(&self) -> u32 {
        self.steps.len() as u32 + 1
    }
    pub fn groups(&self) -> usize {
        self.layers.iter().map(|l| l.groups).sum()
    }
    pub fn chunks(&self) -> usize {
        self.layers.iter().map(|l| l.chunks).sum()
    }
    pub fn layer_of(&self, n: NodeIndex) -> Option<usize> {
        self.layers.iter().position(|l| l.node == n)
    }
    /// The result bank and bit that neuron `j` of layer `l` is written
    /// to, by which PE, in which group.
    pub fn writer(&self, l: usize, j: usize) -> (usize, usize) {
        (j % self.pes, self.layers[l].group_base + j / self.pes)
    }
}

/// Per folded layer, what its neurons need before the lanes are known.
struct Neuron {
    positive: Vec<bool>,
    /// The threshold on `V`.
    t_v: i128,
}

/// Plan the array for `g` (its `Neurons` layers, `check_foldable`
/// already run), with `pes` PEs of at most `budget` cells each.
pub fn plan(g: &Graph, pes: usize, budget: usize, limits: Limits) -> Result<Fold, String> {
    let mut layers = vec![];
    let mut neurons = vec![];
    for n in g.topo() {
        if let Op::Neurons(nr) = &g.node(n).op {
            let (layer, ns) = fold_layer(g, n, nr);
            layers.push(layer);
            neurons.push(ns);
        }
    }
    let max_v = layers
        .iter()
        .map(|l| l.k as i128 * ((1i128 << l.bits) - 1))
        .max()
        .unwrap_or(0);
    let n = (128 - max_v.leading_zeros()).max(1);
    let wmax = layers.iter().map(|l| l.bits).max().unwrap_or(1);
    let kmax = layers.iter().map(|l| l.k).max().unwrap_or(1);
    let fits = |lanes| pe_netlist(lanes, wmax, n, limits).cells.len() <= budget;
    let Some(lanes) = (1..=kmax).take_while(|&l| fits(l)).last() else {
        let need = pe_netlist(1, wmax, n, limits).cells.len();
        return Err(format!(
            "a processing element needs at least {need} threshold cells for this network ({wmax}-bit inputs, {}-bit accumulator); --cells-per-pe is {budget}",
            n + 1
        ));
    };
    let steps = schedule(&mut layers, &neurons, lanes, pes, n);
    let mut fold = Fold {
        pe: pe_datapath(lanes, wmax, n, limits),
        control: Control {
            chunk_bits: bits_for(layers.iter().map(|l| l.chunks).sum()),
            group_bits: bits_for(layers.iter().map(|l| l.groups).sum()),
            mask_bits: wmax,
        },
        layers,
        steps,
        pes,
        lanes,
        wmax,
        n,
        control_rom: Rom {
            width: 0,
            bits: vec![],
        },
        weight_roms: vec![],
        start_roms: vec![],
        stats: empty_stats(),
    };
    fold.control_rom = control_rom(&fold);
    fold.weight_roms = (0..pes).map(|pe| weight_rom(&fold, pe)).collect();
    fold.start_roms = (0..pes).map(|pe| start_rom(&fold, pe)).collect();
    fold.stats = stats(&fold, g);
    Ok(fold)
}

/// One folded layer and its neurons' weight signs and thresholds on `V`.
fn fold_layer(g: &Graph, n: NodeIndex, nr: &crate::ir::Neurons) -> (FoldLayer, Vec<Neuron>) {
    let xn = g.node(g.operands(n)[0]);
    let f = xn.format.expect("infer_precision runs first");
    let k = xn.size();
    let m = nr.rows[0][0].weight.abs();
    let (w, signed) = if xn.bipolar {
        (1, false)
    } else {
        (f.width, f.signed)
    };
    let alpha = if xn.bipolar { 2 } else { 1 };
    let max_v = k as i128 * ((1i128 << w) - 1);
    let neurons = nr
        .rows
        .iter()
        .zip(&nr.thresholds)
        .map(|(row, &t)| {
            let mut positive = vec![false; k];
            // Σ σ·x = α·V + K with the per-term constants of the module doc.
            let mut kk: i128 = 0;
            for term in row {
                let s = term.weight.signum();
                positive[term.input] = s > 0;
                kk += if xn.bipolar {
                    -1
                } else {
                    let neg = if s < 0 { -((1i128 << w) - 1) } else { 0 };
                    neg - if signed { s * (1i128 << (w - 1)) } else { 0 }
                };
            }
            let t_v = ceil_div(ceil_div(t, m) - kk, alpha).clamp(0, max_v + 1);
            Neuron { positive, t_v }
        })
        .collect();
    let layer = FoldLayer {
        node: n,
        code: vec![],
        k,
        u: nr.rows.len(),
        bits: w,
        chunks: 0,
        groups: 0,
        group_base: 0,
        chunk_base: 0,
        start: vec![],
        positive: vec![],
    };
    (layer, neurons)
}

/// Split the layers into groups and chunks; returns the steps in order.
fn schedule(
    layers: &mut [FoldLayer],
    neurons: &[Vec<Neuron>],
    lanes: usize,
    pes: usize,
    n: u32,
) -> Vec<Step> {
    let mut steps = vec![];
    let (mut gb, mut cb) = (0, 0);
    for (li, (l, ns)) in layers.iter_mut().zip(neurons).enumerate() {
        l.chunks = l.k.div_ceil(lanes);
        l.groups = l.u.div_ceil(pes);
        for group in 0..l.groups {
            for chunk in 0..l.chunks {
                steps.push(Step {
                    layer: li,
                    group,
                    chunk,
                });
            }
        }
        l.start = ns.iter().map(|x| (1i128 << n) - x.t_v).collect();
        l.positive = ns.iter().map(|x| x.positive.clone()).collect();
        (l.group_base, l.chunk_base) = (gb, cb);
        gb += l.groups;
        cb += l.chunks;
    }
    steps
}

/// The PE's adder as a cell netlist over named inputs `a0..an` (the
/// accumulator) and `v<k·wmax + b>` (lane k, bit b): for the cell count.
fn pe_netlist(lanes: usize, wmax: u32, n: u32, limits: Limits) -> Netlist {
    let mut net = Netlist::new(limits);
    let mut terms: Vec<(Sig, i128)> = (0..=n)
        .map(|i| (Sig::Input(format!("a{i}")), 1i128 << i))
        .collect();
    for k in 0..lanes as u32 {
        for b in 0..wmax {
            terms.push((Sig::Input(format!("v{}", k * wmax + b)), 1i128 << b));
        }
    }
    let bits = net.add_bits(&terms, n as usize + 1);
    net.prune(&bits);
    net
}

/// One PE as a datapath: the lanes' codes, complemented where the weight
/// is negative and masked to the layer's bits, added to the accumulator
/// (or to the start value on a group's first step) by threshold cells.
fn pe_datapath(lanes: usize, wmax: u32, n: u32, limits: Limits) -> Datapath {
    let mut dp = Datapath::default();
    dp.begin_layer("pe", false);
    let widths = |p: PePort| match p {
        PePort::Lanes => lanes * wmax as usize,
        PePort::Weights => lanes,
        PePort::Mask => wmax as usize,
        PePort::First => 1,
        PePort::Start | PePort::Acc => n as usize + 1,
    };
    let ports: Vec<Vec<NodeId>> = PE_PORTS
        .iter()
        .enumerate()
        .map(|(port, &p)| {
            dp.inputs.push((BIT, widths(p)));
            (0..widths(p) as u32)
                .map(|i| dp.input(port as u32, i, BIT, (0, 1)))
                .collect()
        })
        .collect();
    let zero = dp.node(Kind::Const(0), 0);
    let mut terms: Vec<(Sig, i128)> = vec![];
    // the ports in the order of PE_PORTS
    let port = |p: PePort| &ports[p as usize];
    for i in 0..=n as usize {
        let (start, acc, first) = (
            port(PePort::Start)[i],
            port(PePort::Acc)[i],
            port(PePort::First)[0],
        );
        let a = dp.node(
            Kind::Mux {
                sel: first,
                a: acc,
                b: start,
            },
            0,
        );
        terms.push((Sig::Input(a.0.to_string()), 1i128 << i));
    }
    for k in 0..lanes {
        for b in 0..wmax as usize {
            let lane = port(PePort::Lanes)[k * wmax as usize + b];
            let flipped = dp.node(Kind::Not(lane), 0);
            let w = port(PePort::Weights)[k];
            let xnor = dp.node(
                Kind::Mux {
                    sel: w,
                    a: flipped,
                    b: lane,
                },
                0,
            );
            let v = dp.node(
                Kind::Mux {
                    sel: port(PePort::Mask)[b],
                    a: zero,
                    b: xnor,
                },
                0,
            );
            terms.push((Sig::Input(v.0.to_string()), 1i128 << b));
        }
    }
    let mut net = Netlist::new(limits);
    let bits = net.add_bits(&terms, n as usize + 1);
    let bits = net.prune(&bits);
    let cells = super::lower::add_cells(&mut dp, &net);
    for s in &bits {
        let node = super::lower::cell_signal(&mut dp, s, &cells);
        dp.outputs.push(Output { node, port: BIT });
    }
    dp.layers[0].elements = dp.outputs.iter().map(|o| Some(o.node)).collect();
    dp.remove_dead();
    dp
}

fn put(word: &mut [bool], (at, width): (u32, u32), v: usize) {
    for i in 0..width {
        word[(at + i) as usize] = (v >> i) & 1 == 1;
    }
}

/// Per step: `{mask, last, first, group, chunk}`.
fn control_rom(f: &Fold) -> Rom {
    let c = f.control;
    let mut bits = vec![];
    for s in &f.steps {
        let ly = &f.layers[s.layer];
        let mut word = vec![false; c.width() as usize];
        put(&mut word, c.chunk(), ly.chunk_base + s.chunk);
        put(&mut word, c.group(), ly.group_base + s.group);
        put(&mut word, c.first(), (s.chunk == 0) as usize);
        put(&mut word, c.last(), (s.chunk + 1 == ly.chunks) as usize);
        put(&mut word, c.mask(), (1usize << ly.bits) - 1);
        bits.extend(word);
    }
    Rom {
        width: c.width(),
        bits,
    }
}

/// PE `pe`'s weight bit per lane and step. Padding lanes read 0, and
/// weight 1 makes their XNOR 0.
fn weight_rom(f: &Fold, pe: usize) -> Rom {
    let mut bits = vec![];
    for s in &f.steps {
        let ly = &f.layers[s.layer];
        let j = s.group * f.pes + pe;
        for k in 0..f.lanes {
            let i = s.chunk * f.lanes + k;
            bits.push(j >= ly.u || i >= ly.k || ly.positive[j][i]);
        }
    }
    Rom {
        width: f.lanes as u32,
        bits,
    }
}

/// PE `pe`'s accumulator start value per group.
fn start_rom(f: &Fold, pe: usize) -> Rom {
    let w = f.n + 1;
    let mut bits = vec![];
    for ly in &f.layers {
        for gi in 0..ly.groups {
            let j = gi * f.pes + pe;
            let v = if j < ly.u { ly.start[j] } else { 0 };
            bits.extend((0..w).map(|b| (v >> b) & 1 == 1));
        }
    }
    Rom { width: w, bits }
}

fn empty_stats() -> FoldStats {
    FoldStats {
        pes: 0,
        lanes: 0,
        cells_per_pe: 0,
        cells: 0,
        schedule_cycles: 0,
        utilization: 0.0,
        weight_memory_bits: 0,
        start_value_memory_bits: 0,
        control_memory_bits: 0,
        folded_layers: vec![],
    }
}

fn stats(f: &Fold, g: &Graph) -> FoldStats {
    let cells =
        f.pe.nodes
            .iter()
            .filter(|n| matches!(n.kind, Kind::TlCell { .. }))
            .count() as u64;
    let s = f.steps.len();
    let useful: usize = f.layers.iter().map(|l| l.u * l.chunks).sum();
    let rom_bits = |r: &[Rom]| r.iter().map(|r| r.bits.len() as u64).sum::<u64>();
    FoldStats {
        pes: f.pes as u32,
        lanes: f.lanes as u32,
        cells_per_pe: cells,
        cells: cells * f.pes as u64,
        schedule_cycles: s as u64,
        utilization: useful as f64 / (f.pes * s).max(1) as f64,
        weight_memory_bits: rom_bits(&f.weight_roms),
        start_value_memory_bits: rom_bits(&f.start_roms),
        control_memory_bits: f.control_rom.bits.len() as u64,
        folded_layers: f
            .layers
            .iter()
            .map(|l| g.node(l.node).name.clone())
            .collect(),
    }
}
