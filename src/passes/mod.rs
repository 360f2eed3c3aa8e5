//! Passes over the IR and the one ordered list they run in.
//!
//! A pass is one file holding one small struct: a name, a one-line
//! description, and `run`. The pass manager runs them in [`pipeline`]'s
//! order and, in debug and test builds, verifies the graph after each.

mod fold_batchnorm;
mod fuse_neurons;
mod infer_precision;
mod infer_shapes;
mod prune_constants;
mod quantize_weights;
mod remove_dead;
mod schedule_pipeline;
mod streamline;

use crate::ir::{CompileOptions, Graph, verify};

/// A model the passes cannot compile, located by layer and field.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("layer `{layer}`, field `{field}`: {message}{}", help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
    Model {
        layer: String,
        field: String,
        message: String,
        help: Option<String>,
    },
    #[error("after pass `{pass}`: {source}")]
    Verify {
        pass: &'static str,
        #[source]
        source: verify::VerifyError,
    },
    #[error("unknown pass `{0}`; passes are: {1}")]
    UnknownPass(String, String),
}

impl PassError {
    pub fn model(layer: &str, field: &str, message: impl Into<String>) -> Self {
        PassError::Model {
            layer: layer.to_string(),
            field: field.to_string(),
            message: message.into(),
            help: None,
        }
    }
    pub fn with_help(self, h: impl Into<String>) -> Self {
        match self {
            PassError::Model {
                layer,
                field,
                message,
                ..
            } => PassError::Model {
                layer,
                field,
                message,
                help: Some(h.into()),
            },
            other => other,
        }
    }
}

/// One transformation of the graph.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn run(&self, g: &mut Graph) -> Result<(), PassError>;
}

/// The passes, in the order they must run.
pub fn pipeline(opts: CompileOptions) -> Vec<Box<dyn Pass>> {
    vec![
        // Everything after needs shapes; it also catches wiring mistakes
        // (transposed weights, mismatched operands) before any arithmetic.
        Box::new(infer_shapes::InferShapes),
        // After shape checks, so a broken unused layer is still an error.
        Box::new(remove_dead::RemoveDead),
        // Before batchnorm folding, which would turn bipolar weights into
        // arbitrary reals.
        Box::new(streamline::Streamline),
        // Folding changes the real-valued weights, so it precedes
        // quantization: the folded weights are what get rounded.
        Box::new(fold_batchnorm::FoldBatchnorm),
        Box::new(quantize_weights::QuantizeWeights(opts.strict)),
        // Needs integer weights: intervals are exact over the actual values.
        Box::new(infer_precision::InferPrecision(opts.target)),
        // Zero terms are dropped after sizing; they contribute [0, 0] anyway.
        Box::new(prune_constants::PruneConstants),
        // Needs pruned terms and exact thresholds.
        Box::new(fuse_neurons::FuseNeurons(opts.target)),
        // Counts adder levels of the pruned trees, so it runs last.
        Box::new(schedule_pipeline::SchedulePipeline(opts)),
    ]
}

/// Run the passes up to and including `stop_after` (all when `None`).
pub fn run(g: &mut Graph, opts: CompileOptions, stop_after: Option<&str>) -> Result<(), PassError> {
    let passes = pipeline(opts);
    if let Some(s) = stop_after
        && !passes.iter().any(|p| p.name() == s)
    {
        let names: Vec<_> = passes.iter().map(|p| p.name()).collect();
        return Err(PassError::UnknownPass(s.to_string(), names.join(", ")));
    }
    for p in passes {
        p.run(g)?;
        g.refresh_edges();
        if cfg!(debug_assertions) {
            verify::check(g).map_err(|source| PassError::Verify {
                pass: p.name(),
                source,
            })?;
        }
        if Some(p.name()) == stop_after {
            break;
        }
    }
    Ok(())
}

/// `(name, description)` of every pass, in order.
pub fn describe() -> Vec<(&'static str, &'static str)> {
    pipeline(CompileOptions::default())
        .iter()
        .map(|p| (p.name(), p.description()))
        .collect()
}
