//! The data set a sweep is judged on, and the quality of one compiled
//! point on it: accuracy against labels, or the mean absolute error of the
//! golden model against the float reference.

use super::ExploreError;
use crate::compile::Compiled;
use crate::metrics::{self, Accuracy};
use crate::vectors;
use std::path::Path;

/// What a point is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Percentage of samples whose predicted class is the label (higher
    /// is better).
    Accuracy,
    /// Mean |golden − float| over the elements of the outputs that are not
    /// argmax indices, in real units (lower is better).
    MeanAbsError,
}

/// Samples, optional labels, and what the float reference makes of them.
/// Every point reads its inputs with the same types (the explorer never
/// changes input types), so the raw samples are shared.
pub struct Dataset {
    pub raw: Vec<i128>,
    pub samples: usize,
    pub labels: Option<Vec<usize>>,
    pub metric: Metric,
    /// The float reference's accuracy (with labels).
    pub float_accuracy: Option<Accuracy>,
    float: Vec<f64>,
}

impl Dataset {
    /// Read `inputs` (real values, .npy or CSV) and optional `labels` for
    /// the model `base`.
    pub fn load(
        base: &Compiled,
        inputs: &Path,
        labels: Option<&Path>,
    ) -> Result<Dataset, ExploreError> {
        let t = vectors::read_table(inputs)?;
        let raw = vectors::table_to_raw(inputs, &t, &base.input_types(), false)?;
        let golden = base.golden()?;
        let samples = raw.len() / golden.input_len().max(1);
        let float = metrics::float_outputs(&base.float, &golden, &raw);
        let labels = labels
            .map(|p| metrics::read_labels(p, samples, false))
            .transpose()?;
        let float_accuracy = labels
            .as_ref()
            .map(|l| metrics::accuracy(&metrics::predictions(&base.graph, &float), l));
        let numeric = base
            .graph
            .outputs
            .iter()
            .any(|&o| !matches!(base.graph.node(o).op, crate::ir::Op::Argmax));
        let metric = match (&labels, numeric) {
            (Some(_), _) => Metric::Accuracy,
            (None, true) => Metric::MeanAbsError,
            (None, false) => {
                return Err(ExploreError::Model(format!(
                    "{}: every output is an argmax index, which has no error magnitude; give --labels to measure accuracy",
                    base.file()
                )));
            }
        };
        Ok(Dataset {
            raw,
            samples,
            labels,
            metric,
            float_accuracy,
            float,
        })
    }
}

/// How well one compiled point does on the data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    pub accuracy: Option<Accuracy>,
    /// `None` when every output is an argmax index.
    pub mean_abs_error: Option<f64>,
}

/// Run the golden model of `c` on the data set.
pub fn measure(c: &Compiled, data: &Dataset) -> Result<Quality, ExploreError> {
    let golden = c.golden()?;
    let out = metrics::golden_outputs(&golden, &data.raw);
    let accuracy = data
        .labels
        .as_ref()
        .map(|l| metrics::accuracy(&metrics::predictions(&c.graph, &out), l));
    let (sum, count) = metrics::output_errors(&c.graph, &out, &data.float)
        .iter()
        .filter(|e| !e.argmax)
        .fold((0.0, 0), |(s, n), e| (s + e.sum_abs, n + e.count));
    Ok(Quality {
        accuracy,
        mean_abs_error: (count > 0).then(|| sum / count as f64),
    })
}
