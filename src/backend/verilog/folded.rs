//! `--target tl-pe`: binary-neuron layers run on a folded array of P
//! threshold-logic processing elements under a compile-time schedule.
//!
//! Every folded layer (a `Neurons` node whose neurons read every input with
//! weights ±m) is rewritten exactly as `dot = m·(α·V + K_j)`, where
//! `V = Σ_i v_i` and `v_i` is the input element's unsigned code (the offset
//! code for signed inputs, the bit for bipolar ones), complemented when the
//! weight is negative; `α` is 2 for bipolar inputs and 1 otherwise, and
//! `K_j` is a per-neuron constant. The neuron fires when `V ≥ T_j`, with
//! `T_j` computed here. A PE takes L input elements per cycle and adds
//! their `v` to its accumulator with an adder made of threshold cells; the
//! accumulator starts at `2^n − T_j`, so bit `n` of the final sum is the
//! neuron's output and no comparator is needed.
//!
//! Schedule: layer by layer in topological order, neurons in groups of P
//! (one per PE), each group taking ceil(K/L) steps of one cycle. All PEs
//! read the same L inputs each step (broadcast); each has its own ROM of
//! weight bits (one word per step) and of start values (one per group).
//! The rest of the network is combinational logic between the captured
//! input, the result banks and the output.

use super::netlist::{Builder, slice};
use super::view::bits_lit;
use super::{VerilogError, tl_cells_limits};
use crate::backend::tl_cells::{Netlist, Sig};
use crate::ir::{Graph, Op};
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;

/// One folded layer.
struct Layer {
    node: NodeIndex,
    operand: NodeIndex,
    /// Inputs, neurons, bits per input element.
    k: usize,
    u: usize,
    w: u32,
    signed: bool,
    chunks: usize,
    groups: usize,
    /// Global ids of this layer's first group and first chunk.
    group_base: usize,
    chunk_base: usize,
    /// Per neuron: weight sign bits (true = positive), the threshold on
    /// `V` and the accumulator's start value.
    positive: Vec<Vec<bool>>,
    t_v: Vec<i128>,
    start: Vec<i128>,
    /// The largest `V`.
    max_v: i128,
}

/// One cycle of the schedule.
struct Step {
    layer: usize,
    group: usize,
    chunk: usize,
}

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

pub struct Plan {
    layers: Vec<Layer>,
    steps: Vec<Step>,
    pes: usize,
    lanes: usize,
    wmax: u32,
    /// The accumulator has n + 1 bits; bit n is the result.
    n: u32,
    pe: Netlist,
    pe_outs: Vec<Sig>,
    pub stats: FoldStats,
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// The PE's adder: `a + Σ_k v_k` over `lanes` elements of `wmax` bits, the
/// low n + 1 bits, from threshold cells.
fn pe_netlist(lanes: usize, wmax: u32, n: u32, g: &Graph) -> (Netlist, Vec<Sig>) {
    let mut net = Netlist::new(tl_cells_limits(g));
    let mut terms = vec![];
    for i in 0..=n {
        terms.push((Sig::Input(format!("a[{i}]")), 1i128 << i));
    }
    for k in 0..lanes {
        for b in 0..wmax {
            terms.push((
                Sig::Input(format!("v[{}]", k as u32 * wmax + b)),
                1i128 << b,
            ));
        }
    }
    let bits = net.add_bits(&terms, n as usize + 1);
    let bits = net.prune(&bits);
    (net, bits)
}

/// Decide lanes, start values and the schedule.
pub fn plan(g: &Graph) -> Result<Plan, VerilogError> {
    let opts = g.meta.pipeline.unwrap_or_default();
    let fail = |m: String| VerilogError::Folding(m);
    let mut layers = vec![];
    for n in g.topo() {
        let Op::Neurons(nr) = &g.node(n).op else {
            continue;
        };
        let x = g.operands(n)[0];
        let xn = g.node(x);
        let f = xn.format.unwrap();
        let k = xn.size();
        let m = nr.rows[0][0].weight.abs();
        let (w, signed) = if xn.bipolar {
            (1, false)
        } else {
            (f.width, f.signed)
        };
        let alpha = if xn.bipolar { 2 } else { 1 };
        let max_v = k as i128 * ((1i128 << w) - 1);
        let mut positive = vec![];
        let mut t_v = vec![];
        for (row, &t) in nr.rows.iter().zip(&nr.thresholds) {
            let mut pos = vec![false; k];
            // Σ σ·x = α·V + K with the per-term constants of the module doc.
            let mut kk: i128 = 0;
            for term in row {
                let s = term.weight.signum();
                pos[term.input] = s > 0;
                kk += if xn.bipolar {
                    -1
                } else {
                    let neg = if s < 0 { -((1i128 << w) - 1) } else { 0 };
                    neg - if signed { s * (1i128 << (w - 1)) } else { 0 }
                };
            }
            let tv = ceil_div(ceil_div(t, m) - kk, alpha).clamp(0, max_v + 1);
            positive.push(pos);
            t_v.push(tv);
        }
        layers.push(Layer {
            node: n,
            operand: x,
            k,
            u: nr.rows.len(),
            w,
            signed,
            // set once the lanes are known
            chunks: 0,
            groups: 0,
            group_base: 0,
            chunk_base: 0,
            positive,
            t_v,
            start: vec![],
            max_v,
        });
    }
    let max_v = layers.iter().map(|l| l.max_v).max().unwrap_or(0);
    let n = (128 - max_v.leading_zeros()).max(1);
    let wmax = layers.iter().map(|l| l.w).max().unwrap_or(1);
    let kmax = layers.iter().map(|l| l.k).max().unwrap_or(1);
    // The most lanes whose adder fits the cell budget.
    let budget = opts.cells_per_pe as usize;
    let mut best = None;
    for lanes in 1..=kmax {
        let (net, outs) = pe_netlist(lanes, wmax, n, g);
        if net.cells.len() > budget {
            break;
        }
        best = Some((lanes, net, outs));
    }
    let Some((lanes, pe, pe_outs)) = best else {
        let need = pe_netlist(1, wmax, n, g).0.cells.len();
        return Err(fail(format!(
            "a processing element needs at least {need} threshold cells for this network ({}-bit inputs, {}-bit accumulator); --cells-per-pe is {budget}",
            wmax,
            n + 1
        )));
    };
    let pes = opts.pes as usize;
    let mut steps = vec![];
    let (mut gb, mut cb) = (0, 0);
    for (li, l) in layers.iter_mut().enumerate() {
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
        l.start = l.t_v.iter().map(|&t| (1i128 << n) - t).collect();
        (l.group_base, l.chunk_base) = (gb, cb);
        gb += l.groups;
        cb += l.chunks;
    }
    let s = steps.len();
    let useful: usize = layers.iter().map(|l| l.u * l.chunks).sum();
    let step_word = bits_for(cb) + bits_for(gb) + 2 + wmax;
    let stats = FoldStats {
        pes: pes as u32,
        lanes: lanes as u32,
        cells_per_pe: pe.cells.len() as u64,
        cells: (pe.cells.len() * pes) as u64,
        schedule_cycles: s as u64,
        utilization: useful as f64 / (pes * s).max(1) as f64,
        weight_memory_bits: (pes * s * lanes) as u64,
        start_value_memory_bits: (pes * gb) as u64 * (n as u64 + 1),
        control_memory_bits: s as u64 * step_word as u64,
        folded_layers: layers.iter().map(|l| g.node(l.node).name.clone()).collect(),
    };
    Ok(Plan {
        layers,
        steps,
        pes,
        lanes,
        wmax,
        n,
        pe,
        pe_outs,
        stats,
    })
}

impl Plan {
    /// Cycles from taking a sample to `out_valid`, and between samples.
    pub fn latency(&self) -> u32 {
        self.steps.len() as u32 + 1
    }
    pub fn is_folded(&self, n: NodeIndex) -> bool {
        self.layers.iter().any(|l| l.node == n)
    }

    /// The PE module: `s = a + Σ v` from threshold cells.
    pub fn pe_module(&self, name: String) -> Builder {
        let mut b = Builder::new(
            name.clone(),
            format!("{name}: one threshold-logic processing element's adder"),
        );
        b.view.comments.push(format!(
            "s = a + sum of {} lanes of {} bits: {} threshold cells",
            self.lanes,
            self.wmax,
            self.pe.cells.len()
        ));
        b.port("input", "v", self.lanes as u32 * self.wmax);
        b.port("input", "a", self.n + 1);
        b.port("output", "s", self.n + 1);
        let exprs = b.tl_netlist(&self.pe, &self.pe_outs);
        for (i, e) in exprs.into_iter().enumerate() {
            b.assign(format!("s[{i}]"), e);
        }
        b
    }

    /// Create the result bank wires, so consumers can be wired before the
    /// engine exists; returns (node, wire) pairs.
    pub fn bank_wires(&self, t: &mut Builder) -> Vec<(NodeIndex, String)> {
        self.layers
            .iter()
            .map(|l| (l.node, t.wire("bank", l.u as u32)))
            .collect()
    }

    /// The controller, the schedule ROM, the PEs and the bank writes.
    /// `bus` gives each node's output bus in the top module; `banks` the
    /// bank wires from `bank_wires`; `step`, `run` come from the controller.
    pub fn engine(
        &self,
        t: &mut Builder,
        bus: &std::collections::HashMap<NodeIndex, String>,
        banks: &[(NodeIndex, String)],
        pe_module: &str,
        step: &str,
        run: &str,
    ) {
        let (l, wm, p) = (self.lanes, self.wmax as usize, self.pes);
        let lw = l * wm;
        let n_chunks: usize = self.layers.iter().map(|x| x.chunks).sum();
        let n_groups: usize = self.layers.iter().map(|x| x.groups).sum();
        let (cw, ciw, gw) = (
            bits_for(self.steps.len()),
            bits_for(n_chunks),
            bits_for(n_groups),
        );
        // Every chunk of every folded layer's input as one word of lanes.
        let chunks = t.wire("chunks", (n_chunks * lw) as u32);
        for ly in &self.layers {
            let src = &bus[&ly.operand];
            let xw = ly.w as usize;
            for c in 0..ly.chunks {
                for k in 0..l {
                    let i = c * l + k;
                    for b in 0..wm {
                        let at = (ly.chunk_base + c) * lw + k * wm + b;
                        let e = if i < ly.k && b < xw {
                            let bit = format!("{src}[{}]", i * xw + b);
                            // Offset code for signed inputs: flip the sign bit.
                            if ly.signed && b == xw - 1 {
                                format!("~{bit}")
                            } else {
                                bit
                            }
                        } else {
                            "1'b0".into()
                        };
                        t.assign(format!("{chunks}[{at}]"), e);
                    }
                }
            }
        }
        // Schedule ROM word: {mask, last, first, group, chunk}.
        let sw = ciw + gw + 2 + self.wmax;
        let mut data = vec![];
        for s in &self.steps {
            let ly = &self.layers[s.layer];
            let mut word = vec![false; sw as usize];
            let put = |word: &mut Vec<bool>, at: u32, v: usize, width: u32| {
                for i in 0..width {
                    word[(at + i) as usize] = (v >> i) & 1 == 1;
                }
            };
            put(&mut word, 0, ly.chunk_base + s.chunk, ciw);
            put(&mut word, ciw, ly.group_base + s.group, gw);
            word[(ciw + gw) as usize] = s.chunk == 0;
            word[(ciw + gw + 1) as usize] = s.chunk + 1 == ly.chunks;
            for b in 0..ly.w {
                word[(ciw + gw + 2 + b) as usize] = true;
            }
            data.extend(word);
        }
        let ctl = t.wire("ctl", sw);
        rom(t, self.steps.len(), sw, cw, &data, step, &ctl);
        let sel = |lo: u32, w: u32| {
            if w == 1 {
                format!("{ctl}[{lo}]")
            } else {
                format!("{ctl}[{}:{lo}]", lo + w - 1)
            }
        };
        let grp = t.wire("grp", gw);
        t.assign(grp.clone(), sel(ciw, gw));
        let first = t.wire("first", 1);
        t.assign(first.clone(), sel(ciw + gw, 1));
        let wr = t.wire("wr", 1);
        t.assign(wr.clone(), format!("{run} & {}", sel(ciw + gw + 1, 1)));
        let mask = t.wire("mask", self.wmax);
        t.assign(mask.clone(), sel(ciw + gw + 2, self.wmax));
        let lanes = t.wire("lanes", lw as u32);
        t.inst(
            "nt_mux",
            vec![
                ("N", n_chunks.to_string()),
                ("W", lw.to_string()),
                ("SW", ciw.to_string()),
            ],
            vec![("bus", chunks), ("sel", sel(0, ciw)), ("y", lanes.clone())],
        );
        // The PEs.
        let acc_w = self.n + 1;
        let mut res = vec![];
        for pe in 0..p {
            let mut wbits = vec![];
            for s in &self.steps {
                let ly = &self.layers[s.layer];
                let j = s.group * p + pe;
                for k in 0..l {
                    let i = s.chunk * l + k;
                    // Padding lanes read 0; weight 1 makes their XNOR 0.
                    wbits.push(if j < ly.u && i < ly.k {
                        ly.positive[j][i]
                    } else {
                        true
                    });
                }
            }
            let wv = t.wire("w", l as u32);
            rom(t, self.steps.len(), l as u32, cw, &wbits, step, &wv);
            let mut sbits = vec![];
            for ly in &self.layers {
                for gi in 0..ly.groups {
                    let j = gi * p + pe;
                    let v = if j < ly.u { ly.start[j] } else { 0 };
                    sbits.extend((0..acc_w).map(|b| (v >> b) & 1 == 1));
                }
            }
            let start = t.wire("start", acc_w);
            rom(t, n_groups, acc_w, gw, &sbits, &grp, &start);
            let v = t.wire("v", lw as u32);
            for k in 0..l {
                for b in 0..wm {
                    let at = k * wm + b;
                    t.assign(
                        format!("{v}[{at}]"),
                        format!("~({lanes}[{at}] ^ {wv}[{k}]) & {mask}[{b}]"),
                    );
                }
            }
            let acc = t.wire("acc", acc_w);
            let ain = t.wire("ain", acc_w);
            t.assign(ain.clone(), format!("{first} ? {start} : {acc}"));
            let sum = t.wire("sum", acc_w);
            t.layer(
                pe_module.to_string(),
                format!("u_pe{pe}"),
                vec![
                    ("v".into(), v),
                    ("a".into(), ain),
                    ("s".into(), sum.clone()),
                ],
            );
            t.inst(
                "nt_reg",
                vec![("W", acc_w.to_string()), ("DEPTH", "1".into())],
                vec![("clk", "clk".into()), ("d", sum.clone()), ("q", acc)],
            );
            t.counts.register_bits += acc_w as u64;
            res.push(format!("{sum}[{}]", self.n));
        }
        // Result banks: neuron i of a layer is PE i mod P in group i / P.
        for ly in &self.layers {
            let bank = &banks.iter().find(|b| b.0 == ly.node).unwrap().1;
            let we = t.wire("we", ly.u as u32);
            let d = t.wire("d", ly.u as u32);
            for i in 0..ly.u {
                let gid = ly.group_base + i / p;
                t.assign(slice(&we, i, 1), format!("{wr} & ({grp} == {gw}'d{gid})"));
                t.assign(slice(&d, i, 1), res[i % p].clone());
            }
            t.inst(
                "nt_bank",
                vec![("W", ly.u.to_string())],
                vec![
                    ("clk", "clk".into()),
                    ("we", we),
                    ("d", d),
                    ("q", bank.clone()),
                ],
            );
            t.counts.register_bits += ly.u as u64;
        }
    }

    /// Width of the controller's step counter.
    pub fn step_width(&self) -> u32 {
        bits_for(self.steps.len())
    }
}

/// A ROM of `depth` words of `w` bits read at `addr` (`aw` bits) into wire
/// `q`. Big ROMs are split into segments of at most 2^15 bits, because
/// simulators limit the width of one literal (Verilator: 2^16 bits), and
/// the segment is picked by the high address bits.
fn rom(t: &mut Builder, depth: usize, w: u32, aw: u32, data: &[bool], addr: &str, q: &str) {
    let seg_bits = (1usize << 15) / w.max(1) as usize;
    let lo_bits = (usize::BITS - 1 - seg_bits.max(1).leading_zeros()).min(aw);
    let seg = 1usize << lo_bits;
    if depth <= seg {
        rom_segment(t, depth, w, aw, data, addr, q);
        return;
    }
    let n = depth.div_ceil(seg);
    let outs = t.wire("rom", n as u32 * w);
    let low = t.wire("ra", lo_bits.max(1));
    t.assign(low.clone(), format!("{addr}[{}:0]", lo_bits.max(1) - 1));
    for k in 0..n {
        let words = seg.min(depth - k * seg);
        let bits = &data[k * seg * w as usize..(k * seg + words) * w as usize];
        let part = t.wire("rs", w);
        rom_segment(t, words, w, lo_bits.max(1), bits, &low, &part);
        t.assign(
            format!("{outs}[{}:{}]", (k + 1) * w as usize - 1, k * w as usize),
            part,
        );
    }
    let sw = aw - lo_bits;
    t.inst(
        "nt_mux",
        vec![
            ("N", n.to_string()),
            ("W", w.to_string()),
            ("SW", sw.to_string()),
        ],
        vec![
            ("bus", outs),
            ("sel", format!("{addr}[{}:{lo_bits}]", aw - 1)),
            ("y", q.to_string()),
        ],
    );
}

fn rom_segment(t: &mut Builder, depth: usize, w: u32, aw: u32, data: &[bool], addr: &str, q: &str) {
    t.inst(
        "nt_rom",
        vec![
            ("DEPTH", depth.to_string()),
            ("W", w.to_string()),
            ("AW", aw.to_string()),
            ("DATA", bits_lit(data)),
        ],
        vec![("addr", addr.to_string()), ("q", q.to_string())],
    );
}
