//! Neuron fusion for the threshold-logic targets: `dense → threshold` with
//! one bipolar step per channel is a binary neuron `[Σ w·x ≥ t]`, which a
//! threshold cell computes whole. The dense bias moves into `t`, so the
//! neuron is one integer weight vector and one integer threshold.

use super::{Pass, PassError};
use crate::ir::{Accum, Graph, Neurons, Op, Target, Term};

pub struct FuseNeurons(pub Target);

/// The PE array computes `±m·x` terms only: every neuron of a folded layer
/// reads every input with one weight magnitude. Checked here so the user
/// hears which layer does not fit before any hardware is built.
fn check_foldable(g: &Graph) -> Result<(), PassError> {
    let mut any = false;
    for n in g.topo() {
        let Op::Neurons(nr) = &g.node(n).op else {
            continue;
        };
        any = true;
        let k = g.node(g.operands(n)[0]).size();
        let m = nr
            .rows
            .first()
            .and_then(|r| r.first())
            .map_or(0, |t| t.weight.abs());
        let ok = nr
            .rows
            .iter()
            .all(|r| r.len() == k && r.iter().all(|t| t.weight.abs() == m));
        if !ok {
            return Err(PassError::model(
                &g.node(n).name,
                "input",
                "--target tl-pe folds layers whose neurons read every input with weights of one magnitude (bipolar weights); this layer's dense weights differ",
            )
            .with_help("use weight_type bipolar for the dense layer before this threshold, or --target tl-cells"));
        }
    }
    if !any {
        return Err(PassError::model(
            &g.name,
            "layers",
            "--target tl-pe found no binary-neuron layer to fold (dense → batchnorm → sign, or dense → ±1 threshold)",
        ));
    }
    Ok(())
}

impl Pass for FuseNeurons {
    fn name(&self) -> &'static str {
        "fuse_neurons"
    }
    fn description(&self) -> &'static str {
        "merge dense → threshold into binary neurons (threshold-logic targets only)"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if !matches!(self.0, Target::TlCells | Target::TlPe) {
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
                .neuron_rows()
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
        if self.0 == Target::TlPe {
            check_foldable(g)?;
        }
        Ok(())
    }
}
