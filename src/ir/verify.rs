//! The IR verifier. Structural checks run after every pass in debug and
//! test builds; [`lower_check`] is the gate between the passes and the
//! consumers of lowered IR (Verilog back end, golden model): it alone can
//! make a [`Lowered`] token.

use super::{Graph, Op};
use petgraph::Direction;
use std::collections::HashSet;

/// An IR invariant does not hold. Always a compiler bug or a pass run out
/// of order, never a user error: user errors are caught by the front end.
#[derive(Debug, thiserror::Error)]
#[error("IR verification failed at node `{node}`: {what}")]
pub struct VerifyError {
    pub node: String,
    pub what: String,
}

/// Proof that a graph passed [`lower_check`]. Borrowing the graph keeps it
/// from being changed while the proof is held.
#[derive(Debug, Clone, Copy)]
pub struct Lowered<'g> {
    graph: &'g Graph,
}

impl<'g> Lowered<'g> {
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }
}

fn fail(node: &str, what: impl Into<String>) -> VerifyError {
    VerifyError {
        node: node.to_string(),
        what: what.into(),
    }
}

/// Structural invariants that hold between any two passes.
pub fn check(g: &Graph) -> Result<(), VerifyError> {
    let mut names = HashSet::new();
    let order = g.topo();
    if order.len() != g.g.node_count() {
        return Err(fail(&g.name, "graph has a cycle"));
    }
    for n in g.g.node_indices() {
        let node = &g.g[n];
        if !names.insert(node.name.as_str()) {
            return Err(fail(&node.name, "duplicate node name"));
        }
        let mut ports: Vec<usize> =
            g.g.edges_directed(n, Direction::Incoming)
                .map(|e| e.weight().port)
                .collect();
        ports.sort();
        if ports.iter().enumerate().any(|(i, p)| i != *p) {
            return Err(fail(
                &node.name,
                format!("operand ports {ports:?} are not 0..n"),
            ));
        }
        match node.op.arity() {
            Some(a) if a != ports.len() => {
                return Err(fail(
                    &node.name,
                    format!("{} takes {a} operands, has {}", node.op.name(), ports.len()),
                ));
            }
            None if ports.is_empty() => {
                return Err(fail(&node.name, "variadic op without operands"));
            }
            _ => {}
        }
        if let Some(shape) = &node.shape {
            for e in g.g.edges_directed(n, Direction::Outgoing) {
                if e.weight().shape.as_ref() != Some(shape) {
                    return Err(fail(&node.name, "edge shape differs from its producer"));
                }
                if e.weight().format != node.format {
                    return Err(fail(&node.name, "edge format differs from its producer"));
                }
            }
        }
        if let (Some(f), Some(r)) = (&node.format, &node.range) {
            if r.len() != node.size() {
                return Err(fail(&node.name, "range length differs from shape"));
            }
            for &(lo, hi) in r {
                if lo > hi || !f.contains(lo) || !f.contains(hi) {
                    return Err(fail(
                        &node.name,
                        format!("interval [{lo}, {hi}] does not fit {f}"),
                    ));
                }
            }
        }
    }
    for &o in g.outputs.iter().chain(&g.inputs) {
        if !g.g.contains_node(o) {
            return Err(fail(&g.name, "input or output refers to a removed node"));
        }
    }
    Ok(())
}

/// Check that `g` is fully lowered and hand out the token back ends need.
pub fn lower_check(g: &Graph) -> Result<Lowered<'_>, VerifyError> {
    check(g)?;
    if g.meta.latency.is_none() {
        return Err(fail(&g.name, "no pipeline schedule"));
    }
    for n in g.g.node_indices() {
        let node = &g.g[n];
        if node.shape.is_none()
            || node.format.is_none()
            || node.range.is_none()
            || node.exact_frac.is_none()
            || node.stage.is_none()
        {
            return Err(fail(
                &node.name,
                "shape, format, range, exact frac or stage missing",
            ));
        }
        match &node.op {
            Op::BatchNorm(_) => return Err(fail(&node.name, "batchnorm left unfolded")),
            Op::Dense(d) if d.quant.is_none() || d.terms.is_none() => {
                return Err(fail(&node.name, "dense without quantized, pruned weights"));
            }
            Op::LeakyRelu {
                alpha_raw: None, ..
            } => {
                return Err(fail(&node.name, "leaky_relu alpha not quantized"));
            }
            Op::HardSigmoid {
                slope_raw: None, ..
            } => {
                return Err(fail(&node.name, "hard_sigmoid slope not quantized"));
            }
            Op::Threshold(t) if t.raw.is_none() || t.out_raw.is_none() => {
                return Err(fail(&node.name, "threshold without raw thresholds"));
            }
            _ => {}
        }
        if node.bipolar {
            let ok_range = node.range.iter().flatten().all(|&(l, h)| l >= -1 && h <= 1);
            if node.format != Some(super::BIPOLAR) || !ok_range {
                return Err(fail(&node.name, "bipolar node without the bipolar format"));
            }
        }
    }
    Ok(Lowered { graph: g })
}
