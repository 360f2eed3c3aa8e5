//! The reference interpreter of the datapath IR: every node on raw
//! integers, in arena order. It shares no code with the golden model
//! beyond `crate::fixed::cast` (the one definition of a cast), so where
//! the two agree the lowering computed what the graph IR means.

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
            self.eval(sample, &mut vals);
            out.extend(self.dp.outputs.iter().map(|o| vals[o.node.index()]));
        }
    }

    /// Every node's value for one sample.
    pub fn eval(&self, sample: &[i128], vals: &mut [i128]) {
        for (i, node) in self.dp.nodes.iter().enumerate() {
            let v = |id: super::NodeId| vals[id.index()];
            vals[i] = match &node.kind {
                Kind::Input { port, index } => {
                    sample[self.offsets[*port as usize] + *index as usize]
                }
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
