//! Neuron fusion for the threshold-logic targets: `dense → threshold` with
//! one bipolar step per channel is a binary neuron `[Σ w·x ≥ t]`, which a
//! threshold cell computes whole. The dense bias moves into `t`, so the
//! neuron is one integer weight vector and one integer threshold.

use super::{Pass, PassError};
use crate::ir::{Accum, Graph, Neurons, Op, Target, Term};

pub struct FuseNeurons(pub Target);

impl Pass for FuseNeurons {
    fn name(&self) -> &'static str {
        "fuse_neurons"
    }
    fn description(&self) -> &'static str {
        "merge dense → threshold into binary neurons (threshold-logic targets only)"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if self.0 != Target::TlCells {
            return Ok(());
        }
        for t in g.topo() {
            let Op::Threshold(th) = &g.node(t).op else {
                continue;
            };
            if !g.node(t).bipolar {
                continue;
            }
            let dense = g.operands(t)[0];
            let dn = g.node(dense);
            let Op::Dense(d) = &dn.op else { continue };
            // The threshold must see the exact sum: no cast, no wrapping.
            let exact = dn.cast.is_none() && matches!(d.accum, Accum::Auto);
            if !exact || g.users(dense).len() != 1 || g.outputs.contains(&dense) {
                continue;
            }
            let acc = d.acc.as_ref().expect("infer_precision runs first");
            let raw = th.raw.as_ref().expect("infer_precision runs first");
            let rows: Vec<Vec<Term>> = d
                .terms
                .as_ref()
                .expect("prune_constants runs first")
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|t| Term {
                            input: t.input,
                            weight: t.weight << acc.product_shift,
                        })
                        .collect()
                })
                .collect();
            let thresholds = raw.iter().zip(&acc.bias).map(|(ts, b)| ts[0] - b).collect();
            let src = g.operands(dense)[0];
            g.node_mut(t).op = Op::Neurons(Neurons { rows, thresholds });
            g.g.remove_node(dense);
            g.connect(src, t, 0);
        }
        Ok(())
    }
}
