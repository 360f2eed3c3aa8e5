//! BNN streamlining: `dense → batchnorm → sign` becomes `dense → threshold`
//! (and `dense → sign` a threshold at 0),
//! one exact integer threshold per neuron, so no batchnorm arithmetic is
//! left in hardware. With γ < 0 the neuron's comparison would flip; the
//! dense row is negated instead (on the quantized integers, which is exact)
//! so every threshold compares with `≥`. With γ = 0 the neuron is the
//! constant sign(β). See `ir/threshold.rs` for the exact comparison.

use super::{Pass, PassError};
use crate::ir::{Accum, BnThreshold, Graph, Op, Threshold, Thresholds};
use petgraph::visit::EdgeRef;

pub struct Streamline;

impl Pass for Streamline {
    fn name(&self) -> &'static str {
        "streamline"
    }
    fn description(&self) -> &'static str {
        "fold dense → batchnorm → sign into dense → integer thresholds"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for sign in g.topo() {
            if !matches!(g.node(sign).op, Op::Sign) {
                continue;
            }
            let bn = g.operands(sign)[0];
            if matches!(g.node(bn).op, Op::Dense(_)) && g.users(bn).len() == 1 {
                // dense → sign: a threshold at 0, so every binary neuron has
                // the same form for the threshold-logic targets.
                g.node_mut(sign).op = Op::Threshold(Threshold {
                    thresholds: Thresholds::Given(vec![vec![0.0]]),
                    out_scale: 2.0,
                    out_bias: -1.0,
                    raw: None,
                    out_raw: None,
                });
                continue;
            }
            let Op::BatchNorm(b) = &g.node(bn).op else {
                continue;
            };
            let b = b.clone();
            let dense = g.operands(bn)[0];
            let exclusive = |n| g.users(n).len() == 1 && !g.outputs.contains(&n);
            // A convolution's batchnorm folds instead: its thresholds would
            // be per channel of a multi-dimensional output.
            let plain = matches!(&g.node(dense).op, Op::Dense(d) if d.conv.is_none());
            if !plain || !exclusive(dense) || !exclusive(bn) {
                // Not the pattern; fold_batchnorm reports what is wrong.
                continue;
            }
            let bn_name = g.node(bn).name.clone();
            if g.node(bn).cast.is_some() {
                return Err(PassError::model(
                    &bn_name,
                    "output_type",
                    "a batchnorm feeding a sign is folded into thresholds; rounding its output first would change which inputs give +1",
                )
                .with_help("remove the batchnorm's output_type"));
            }
            let flipped: Vec<bool> = b.gamma.iter().map(|&g| g < 0.0).collect();
            let dnode = g.node(dense);
            let Op::Dense(d) = &dnode.op else {
                unreachable!()
            };
            if flipped.iter().any(|&f| f) {
                // Negating a row is exact only when nothing rounds or wraps
                // between the sum and the threshold.
                let why = if dnode.cast.is_some() {
                    Some(("output_type", "the dense layer's output_type"))
                } else if matches!(d.accum, Accum::Explicit(_)) {
                    Some(("accum_type", "an explicit accumulator"))
                } else {
                    None
                };
                if let Some((field, what)) = why {
                    return Err(PassError::model(
                        &dnode.name,
                        field,
                        format!(
                            "batchnorm `{bn_name}` has negative gamma, so this layer's neurons are negated to compare with ≥; with {what} that is not exact"
                        ),
                    )
                    .with_help("use an exact (auto) output and accumulator on a dense layer before batchnorm → sign"));
                }
            }
            let th: Vec<BnThreshold> = (0..b.gamma.len())
                .map(|j| BnThreshold {
                    gamma: b.gamma[j],
                    beta: b.beta[j],
                    mean: b.mean[j],
                    var: b.var[j],
                    epsilon: b.epsilon,
                    flipped: flipped[j],
                })
                .collect();
            if let Op::Dense(d) = &mut g.node_mut(dense).op {
                d.flip = flipped;
            }
            let s = g.node_mut(sign);
            s.op = Op::Threshold(Threshold {
                thresholds: Thresholds::BatchNorm(th),
                out_scale: 2.0,
                out_bias: -1.0,
                raw: None,
                out_raw: None,
            });
            // dense → threshold, batchnorm gone.
            let e =
                g.g.edges_directed(sign, petgraph::Direction::Incoming)
                    .next()
                    .unwrap()
                    .id();
            g.g.remove_edge(e);
            g.g.remove_node(bn);
            g.connect(dense, sign, 0);
        }
        Ok(())
    }
}
