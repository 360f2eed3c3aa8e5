//! The reference interpreter of the datapath IR: every node on raw
//! integers, in arena order. It shares no code with the golden model
//! beyond `crate::fixed::cast` (the one definition of a cast), so where
//! the two agree the lowering computed what the graph IR means.
//!
//! A folded design runs its PE array step by step from the ROM contents
//! of [`Fold`], the way the hardware does, so the schedule and every ROM
//! word are checked against the golden model too.

use super::fold::{Fold, PE_PORTS, PePort};
use super::{Datapath, Kind};
use crate::fixed::cast;

/// Runs samples through a datapath.
pub struct Interpreter<'a> {
    dp: &'a Datapath,
    /// Offset of each model input's first element in a sample.
    offsets: Vec<usize>,
}

impl<'a> Interpreter<'a> {
    pub fn new(dp: &'a Datapath) -> Self {
        let offsets = dp
            .inputs
            .iter()
            .scan(0, |off, &(_, n)| {
                let o = *off;
                *off += n;
                Some(o)
            })
            .collect();
        Interpreter { dp, offsets }
    }

    /// Raw input elements per sample (all model inputs concatenated).
    pub fn input_len(&self) -> usize {
        self.dp.inputs.iter().map(|i| i.1).sum()
    }

    /// Samples back to back in `inputs`; outputs appended to `out` the
    /// same way, as raw wire values (a bipolar element as its bit).
    pub fn run_batch(&self, inputs: &[i128], out: &mut Vec<i128>) {
        let mut vals = vec![0i128; self.dp.nodes.len()];
        for sample in inputs.chunks(self.input_len().max(1)) {
            match &self.dp.fold {
                None => self.eval(sample, &[], &mut vals),
                Some(f) => self.run_folded(f, sample, &mut vals),
            }
            out.extend(self.dp.outputs.iter().map(|o| vals[o.node.index()]));
        }
    }

    /// One sample through a folded design: the logic around the array is
    /// evaluated again whenever a layer's banks are complete (a folded
    /// layer reads only earlier layers' banks), the array one step at a
    /// time.
    fn run_folded(&self, f: &Fold, sample: &[i128], vals: &mut [i128]) {
        let mut banks: Vec<Vec<i128>> = f.layers.iter().map(|l| vec![0; l.u]).collect();
        let pe = Interpreter::new(&f.pe);
        let mut pe_vals = vec![0i128; f.pe.nodes.len()];
        let mut acc = vec![vec![0i128; f.n as usize + 1]; f.pes];
        let mut layer = usize::MAX;
        for (step, s) in f.steps.iter().enumerate() {
            if s.layer != layer {
                self.eval(sample, &banks, vals);
                layer = s.layer;
            }
            let ctl = f.control_rom.word(step);
            let field = |at| bits_value(field_bits(ctl, at));
            let (chunk, group) = (field(f.control.chunk()), field(f.control.group()));
            let lanes = chunk_lanes(f, chunk, vals);
            for (p, acc) in acc.iter_mut().enumerate() {
                let input = |port: PePort| -> Vec<i128> {
                    let bits: &[bool] = match port {
                        PePort::Lanes => return lanes.clone(),
                        PePort::Weights => f.weight_roms[p].word(step),
                        PePort::Mask => field_bits(ctl, f.control.mask()),
                        PePort::First => field_bits(ctl, f.control.first()),
                        PePort::Start => f.start_roms[p].word(group),
                        PePort::Acc => return acc.clone(),
                    };
                    bits.iter().map(|&b| b as i128).collect()
                };
                let sample: Vec<i128> = PE_PORTS.iter().flat_map(|&q| input(q)).collect();
                pe.eval(&sample, &[], &mut pe_vals);
                *acc =
                    f.pe.outputs
                        .iter()
                        .map(|o| pe_vals[o.node.index()])
                        .collect();
            }
            if ctl[f.control.last().0 as usize] {
                write_banks(f, group, &acc, &mut banks);
            }
        }
        self.eval(sample, &banks, vals);
    }

    /// Every node's value for one sample, with `banks` the folded layers'
    /// results (empty for a design without a fold).
    pub fn eval(&self, sample: &[i128], banks: &[Vec<i128>], vals: &mut [i128]) {
        for (i, node) in self.dp.nodes.iter().enumerate() {
            let v = |id: super::NodeId| vals[id.index()];
            vals[i] = match &node.kind {
                Kind::Input { port, index } => {
                    sample[self.offsets[*port as usize] + *index as usize]
                }
                Kind::Bank { layer, index } => banks[*layer as usize][*index as usize],
                Kind::Const(c) => *c,
                Kind::Add { terms, wrap } => {
                    let s = terms.iter().fold(0i128, |s, t| {
                        let x = v(t.node) << t.shift;
                        if t.neg {
                            s.wrapping_sub(x)
                        } else {
                            s.wrapping_add(x)
                        }
                    });
                    wrap.map_or(s, |f| f.from_bits(s as u128))
                }
                Kind::Cast { x, from_frac, ty } => cast(v(*x), *from_frac, ty).0,
                Kind::Clamp { x, shift, lo, hi } => {
                    let y = v(*x) << shift;
                    let y = lo.map_or(y, |b| y.max(b));
                    hi.map_or(y, |b| y.min(b))
                }
                Kind::Leaky { x, alpha, shift } => {
                    let x = v(*x);
                    if x >= 0 { x << shift } else { x * alpha }
                }
                Kind::Ge { x, t } => (v(*x) >= *t) as i128,
                Kind::Table { x, rom } => self.dp.roms[*rom as usize].lookup(v(*x)),
                Kind::Less { a, b } => (v(*a) < v(*b)) as i128,
                Kind::Mux { sel, a, b } => {
                    if v(*sel) != 0 {
                        v(*b)
                    } else {
                        v(*a)
                    }
                }
                Kind::Bit { x, index } => v(*x) >> index & 1,
                Kind::Not(x) => 1 - v(*x),
                Kind::Bipolar(x) => 2 * v(*x) - 1,
                Kind::TlCell {
                    inputs,
                    weights,
                    threshold,
                } => {
                    let s: i64 = inputs
                        .iter()
                        .zip(weights)
                        .map(|(&x, &w)| if v(x) != 0 { w } else { 0 })
                        .sum();
                    (s >= *threshold) as i128
                }
            };
        }
    }
}

/// The unsigned number of little-endian `bits`.
fn bits_value(bits: &[bool]) -> usize {
    bits.iter().rev().fold(0, |v, &b| v << 1 | b as usize)
}

/// Field `(lowest bit, width)` of a ROM word.
fn field_bits(word: &[bool], (at, w): (u32, u32)) -> &[bool] {
    &word[at as usize..(at + w) as usize]
}

/// The lanes of global chunk `chunk`: `lanes × wmax` code bits, zero past
/// a layer's inputs and above its code width.
fn chunk_lanes(f: &Fold, chunk: usize, vals: &[i128]) -> Vec<i128> {
    let l = f
        .layers
        .iter()
        .rfind(|l| l.chunk_base <= chunk)
        .expect("chunk of some layer");
    let c = chunk - l.chunk_base;
    let mut out = vec![0i128; f.lanes * f.wmax as usize];
    for k in 0..f.lanes {
        let Some(code) = l.code.get(c * f.lanes + k) else {
            continue;
        };
        for (b, bit) in code.iter().enumerate() {
            out[k * f.wmax as usize + b] = vals[bit.index()];
        }
    }
    out
}

/// The write at the end of group `group`: neuron j of a layer is bit n of
/// its PE's accumulator.
fn write_banks(f: &Fold, group: usize, acc: &[Vec<i128>], banks: &mut [Vec<i128>]) {
    for (li, bank) in banks.iter_mut().enumerate() {
        for (j, b) in bank.iter_mut().enumerate() {
            let (pe, g) = f.writer(li, j);
            if g == group {
                *b = acc[pe][f.n as usize];
            }
        }
    }
}
