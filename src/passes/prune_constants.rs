//! Constant pruning: a zero weight costs nothing in hardware, so each
//! neuron keeps only its non-zero terms.

use super::{Pass, PassError};
use crate::ir::{Graph, Op, Term};

pub struct PruneConstants;

impl Pass for PruneConstants {
    fn name(&self) -> &'static str {
        "prune_constants"
    }
    fn description(&self) -> &'static str {
        "drop zero-weight terms from every neuron"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for n in g.topo() {
            if let Op::Dense(d) = &mut g.node_mut(n).op {
                let q = d.quant.as_ref().expect("quantize_weights runs first");
                let terms = q
                    .weights
                    .iter()
                    .map(|row| {
                        row.nonzeros()
                            .map(|(input, weight)| Term { input, weight })
                            .collect()
                    })
                    .collect();
                d.terms = Some(terms);
            }
        }
        Ok(())
    }
}
