//! How good a model's outputs are on a data set: the predicted class and
//! the accuracy against labels, and the error of the golden model against
//! the float reference, in real units. `neurtl run` and `neurtl explore`
//! both measure with this module, so the two report the same numbers.
//!
//! Inputs are raw samples (each model input's codes, samples back to back);
//! the float reference is fed the real values of those same codes, so the
//! error measured is that of the design alone, not of input quantization.

use crate::fixed::Format;
use crate::golden::{FloatModel, Golden, wire_to_real};
use crate::ir::{Graph, Op};
use crate::vectors::{VectorError, read_table};
use std::path::Path;

/// Raw wire values as real values; `elements` gives each element's format
/// and whether it is bipolar, repeating for each sample.
pub fn real_values(raw: &[i128], elements: &[(Format, bool)]) -> Vec<f64> {
    raw.iter()
        .enumerate()
        .map(|(k, &v)| {
            let (f, b) = elements[k % elements.len()];
            wire_to_real(v, f, b)
        })
        .collect()
}

/// The golden model's outputs on `raw` samples, as real values.
pub fn golden_outputs(golden: &Golden, raw: &[i128]) -> Vec<f64> {
    let mut out = vec![];
    golden.run_batch(raw, &mut out);
    real_values(&out, &golden.output_elements())
}

/// The float reference's outputs on the real values of `raw` samples; the
/// golden model gives the inputs' formats.
pub fn float_outputs(float: &FloatModel, golden: &Golden, raw: &[i128]) -> Vec<f64> {
    let in_el = golden.input_elements();
    let mut out = vec![];
    for sample in raw.chunks(golden.input_len().max(1)) {
        out.extend(float.run(&real_values(sample, &in_el)));
    }
    out
}

/// The predicted class per sample: the value of the model's argmax output
/// when it has one, else the index of the largest element of output 0
/// (the lowest index on a tie, as `argmax` does).
pub fn predictions(g: &Graph, outputs: &[f64]) -> Vec<usize> {
    let n_out = g.output_elements();
    let mut off = 0;
    let mut pick = None;
    for &o in &g.outputs {
        if matches!(g.node(o).op, Op::Argmax) {
            pick = Some((off, 1));
            break;
        }
        off += g.node(o).size();
    }
    let (off, len) = pick.unwrap_or((0, g.node(g.outputs[0]).size()));
    outputs
        .chunks(n_out.max(1))
        .map(|s| {
            let v = &s[off..off + len];
            if len == 1 {
                v[0] as usize
            } else {
                (0..len).fold(0, |b, i| if v[i] > v[b] { i } else { b })
            }
        })
        .collect()
}

/// Correct predictions out of a number of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
}

impl Accuracy {
    pub fn percent(&self) -> f64 {
        100.0 * self.correct as f64 / self.total.max(1) as f64
    }
}

pub fn accuracy(predicted: &[usize], labels: &[usize]) -> Accuracy {
    Accuracy {
        correct: predicted.iter().zip(labels).filter(|(p, l)| p == l).count(),
        total: labels.len(),
    }
}

/// Class labels, one non-negative integer per sample, from a `.npy` or CSV
/// file; `samples` is how many the inputs hold.
/// With `prefix`, a longer file gives the labels of the first `samples`
/// (for inputs that were cut the same way).
pub fn read_labels(path: &Path, samples: usize, prefix: bool) -> Result<Vec<usize>, VectorError> {
    let bad = |message: String| VectorError::Bad {
        path: path.display().to_string(),
        message,
    };
    let mut t = read_table(path)?;
    let rows = t.values.len() / t.cols.max(1);
    if prefix && t.cols == 1 && rows > samples {
        t.values.truncate(samples);
    } else if t.cols != 1 || rows != samples {
        return Err(bad(format!(
            "expected one label per sample ({samples}), got {rows} rows of {} columns",
            t.cols
        )));
    }
    t.values
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(bad(format!(
                    "label {k} is {v}; labels must be class indices 0, 1, 2, …"
                )))
            }
        })
        .collect()
}

/// Regression targets, one real value per sample, from a `.npy` or CSV
/// file (as `read_labels`, without the integer check).
pub fn read_targets(path: &Path, samples: usize, prefix: bool) -> Result<Vec<f64>, VectorError> {
    let mut t = read_table(path)?;
    let rows = t.values.len() / t.cols.max(1);
    if prefix && t.cols == 1 && rows > samples {
        t.values.truncate(samples);
    } else if t.cols != 1 || rows != samples {
        return Err(VectorError::Bad {
            path: path.display().to_string(),
            message: format!(
                "expected one target per sample ({samples}), got {rows} rows of {} columns",
                t.cols
            ),
        });
    }
    Ok(t.values)
}

/// The first element of output 0 per sample: a regression's prediction.
pub fn first_output(g: &Graph, outputs: &[f64]) -> Vec<f64> {
    outputs
        .chunks(g.output_elements().max(1))
        .map(|s| s[0])
        .collect()
}

/// The RMS of `prediction − target` over the samples whose difference is
/// within `within` (all of them without one): a resolution, with the
/// samples it kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    pub rms: f64,
    pub kept: usize,
    pub total: usize,
}

pub fn resolution(predicted: &[f64], targets: &[f64], within: Option<f64>) -> Resolution {
    let d: Vec<f64> = predicted
        .iter()
        .zip(targets)
        .map(|(p, t)| p - t)
        .filter(|d| within.is_none_or(|w| d.abs() < w))
        .collect();
    Resolution {
        rms: (d.iter().map(|x| x * x).sum::<f64>() / d.len().max(1) as f64).sqrt(),
        kept: d.len(),
        total: targets.len(),
    }
}

/// |golden − float| over the samples for one model output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputError {
    pub name: String,
    /// An argmax output holds a class index, whose difference is no error
    /// magnitude: callers averaging errors leave these out.
    pub argmax: bool,
    pub max_abs: f64,
    pub sum_abs: f64,
    /// Elements compared (samples × the output's size).
    pub count: usize,
}

/// The error of each model output, golden against float, both as real
/// values with the samples back to back (as the functions above give them).
pub fn output_errors(g: &Graph, golden: &[f64], float: &[f64]) -> Vec<OutputError> {
    let mut errs: Vec<OutputError> = g
        .outputs
        .iter()
        .map(|&o| OutputError {
            name: g.node(o).name.clone(),
            argmax: matches!(g.node(o).op, Op::Argmax),
            max_abs: 0.0,
            sum_abs: 0.0,
            count: 0,
        })
        .collect();
    // Output index of each element of a sample.
    let owner: Vec<usize> = g
        .outputs
        .iter()
        .enumerate()
        .flat_map(|(k, &o)| std::iter::repeat_n(k, g.node(o).size()))
        .collect();
    for (k, (gv, fv)) in golden.iter().zip(float).enumerate() {
        let e = &mut errs[owner[k % owner.len()]];
        let d = (gv - fv).abs();
        e.max_abs = e.max_abs.max(d);
        e.sum_abs += d;
        e.count += 1;
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RMS keeps only the differences inside the window, and counts
    /// them; without a window it keeps all.
    #[test]
    fn resolution_is_the_rms_inside_the_window() {
        let pred = [1.0, 2.0, 40.0, -3.0];
        let targets = [0.0, 0.0, 0.0, 1.0];
        // differences 1, 2, 40, -4: within 30 keeps 1, 2, -4
        let r = resolution(&pred, &targets, Some(30.0));
        assert_eq!((r.kept, r.total), (3, 4));
        assert!((r.rms - (21.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let all = resolution(&pred, &targets, None);
        assert_eq!(all.kept, 4);
        assert!((all.rms - (1621.0f64 / 4.0).sqrt()).abs() < 1e-12);
    }
}
