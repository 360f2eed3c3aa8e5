//! Pipeline scheduling: decides where registers go and computes the exact
//! latency. Operands that arrive early are delayed by the back end so that
//! every node sees one sample's values together (II = 1).

use super::{Pass, PassError};
use crate::ir::{CompileOptions, Graph, Op, PipelineMode, Stage, Target, tree};

pub struct SchedulePipeline(pub CompileOptions);

/// Levels of the reduction tree inside a node (adders of a dense layer).
fn tree_levels(op: &Op) -> u32 {
    match op {
        Op::Dense(d) => tree::dense_levels(d),
        _ => 0,
    }
}

/// Elementwise ops cheap enough to share their producer's pipeline stage.
fn is_cheap_elementwise(op: &Op) -> bool {
    matches!(
        op,
        Op::Relu
            | Op::LeakyRelu { .. }
            | Op::HardTanh
            | Op::HardSigmoid { .. }
            | Op::Quantize
            | Op::Sign
            | Op::Threshold(_)
    )
}

impl Pass for SchedulePipeline {
    fn name(&self) -> &'static str {
        "schedule_pipeline"
    }
    fn description(&self) -> &'static str {
        "place pipeline registers and compute the latency in cycles"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        let user = self.0;
        // The folded array has its own schedule (the back end's); the logic
        // around it is combinational between its registers.
        let opts = match user.target {
            Target::TlPe => CompileOptions {
                mode: PipelineMode::None,
                max_adder_depth: 0,
                ..user
            },
            _ => user,
        };
        for n in g.topo() {
            let start = g
                .operands(n)
                .iter()
                .map(|&o| g.node(o).stage.unwrap().ready())
                .max()
                .unwrap_or(0);
            let node = g.node(n);
            let levels = tree_levels(&node.op);
            let wiring = matches!(
                node.op,
                Op::Input { .. }
                    | Op::Flatten
                    | Op::Concat
                    | Op::Slice { .. }
                    | Op::Transpose { .. }
                    | Op::Reshape { .. }
            );
            let users = g.users(n);
            let fused_into_user = !users.is_empty()
                && !g.outputs.contains(&n)
                && users.iter().all(|&u| is_cheap_elementwise(&g.node(u).op));
            let out_reg = match opts.mode {
                PipelineMode::None | PipelineMode::Clock => false,
                PipelineMode::Layer => !wiring && !fused_into_user,
            };
            let stage = Stage {
                start,
                inner_regs: tree::cuts(levels, opts.max_adder_depth),
                adder_levels_per_stage: opts.max_adder_depth,
                out_reg,
            };
            g.node_mut(n).stage = Some(stage);
        }
        let latency = g
            .outputs
            .iter()
            .map(|&o| g.node(o).stage.unwrap().ready())
            .max()
            .unwrap_or(0);
        g.meta.pipeline = Some(user);
        g.meta.latency = Some(latency);
        Ok(())
    }
}
