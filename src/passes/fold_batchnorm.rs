//! Batchnorm folding: `dense → batchnorm` becomes one dense whose weights
//! and bias absorb the normalization, so no multiplier is spent on it.

use super::{Pass, PassError};
use crate::ir::{Graph, Op};
use petgraph::visit::EdgeRef;

pub struct FoldBatchnorm;

impl Pass for FoldBatchnorm {
    fn name(&self) -> &'static str {
        "fold_batchnorm"
    }
    fn description(&self) -> &'static str {
        "fold each batchnorm into the dense layer that feeds it"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for n in g.topo() {
            let Op::BatchNorm(bn) = &g.node(n).op else {
                continue;
            };
            let bn = bn.clone();
            let bn_name = g.node(n).name.clone();
            let bn_cast = g.node(n).cast;
            let src = g.operands(n)[0];
            let foldable = matches!(g.node(src).op, Op::Dense(_))
                && g.users(src).len() == 1
                && !g.outputs.contains(&src);
            if !foldable {
                return Err(PassError::model(
                    &bn_name,
                    "input",
                    format!("`{}` is not a dense layer feeding only this batchnorm", g.node(src).name),
                )
                .with_help("neurtl folds batchnorm into the preceding dense layer; place it directly after one"));
            }
            let dnode = g.node_mut(src);
            let Op::Dense(d) = &mut dnode.op else {
                unreachable!()
            };
            for j in 0..d.units {
                // y = γ (Wx + b − μ)/√(σ²+ε) + β
                let s = bn.gamma[j] / (bn.var[j] + bn.epsilon).sqrt();
                d.weights[j] = d.weights[j].map(|w| w * s);
                d.bias[j] = (d.bias[j] - bn.mean[j]) * s + bn.beta[j];
            }
            if bn_cast.is_some() {
                dnode.cast = bn_cast;
            }
            // Rewire the batchnorm's users to the dense layer.
            let outs: Vec<(petgraph::stable_graph::NodeIndex, usize)> =
                g.g.edges_directed(n, petgraph::Direction::Outgoing)
                    .map(|e| (e.target(), e.weight().port))
                    .collect();
            for (t, port) in outs {
                g.connect(src, t, port);
            }
            for o in g.outputs.iter_mut() {
                if *o == n {
                    *o = src;
                }
            }
            g.g.remove_node(n);
        }
        Ok(())
    }
}
