//! Weight quantization: every real-valued weight, bias and leaky-relu slope
//! becomes an integer on its type's grid, rounded with the type's own
//! quantization mode. A value the type cannot hold is an error, not a clip.

use super::{Pass, PassError};
use crate::fixed::{FixedType, cast_f64};
use crate::ir::{DenseQuant, Graph, Op, Row};

pub struct QuantizeWeights;

/// Values that do not fit a type, by position, with their value.
type Misfits = Vec<(String, f64)>;

/// `[i]` or `[r][c]`: where a value sits, written out only for a value
/// that does not fit (a big model has millions of weights).
struct At<const N: usize>([usize; N]);

impl<const N: usize> std::fmt::Display for At<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|i| write!(f, "[{i}]"))
    }
}

/// Quantize `vals`, returning the raw integers and the largest error, or
/// the list of values that do not fit.
fn quantize_all<P: std::fmt::Display>(
    vals: impl Iterator<Item = (P, f64)>,
    ty: &FixedType,
) -> Result<(Vec<i128>, f64), Misfits> {
    let mut out = vec![];
    let mut bad = vec![];
    let mut max_err = 0f64;
    for (pos, v) in vals {
        let (q, ev) = cast_f64(v, ty);
        if ev.overflowed {
            bad.push((pos.to_string(), v));
        }
        max_err = max_err.max((ty.format.to_f64(q) - v).abs());
        out.push(q);
    }
    if bad.is_empty() {
        Ok((out, max_err))
    } else {
        Err(bad)
    }
}

fn clipped_error(layer: &str, field: &str, ty: &FixedType, bad: Vec<(String, f64)>) -> PassError {
    let (lo, hi) = ty.result_range();
    let shown: Vec<String> = bad
        .iter()
        .take(5)
        .map(|(p, v)| format!("{field}{p} = {v}"))
        .collect();
    PassError::model(
        layer,
        field,
        format!(
            "{} value(s) do not fit {ty} (range {} .. {}): {}{}",
            bad.len(),
            ty.format.to_f64(lo),
            ty.format.to_f64(hi),
            shown.join(", "),
            if bad.len() > 5 { ", …" } else { "" }
        ),
    )
    .with_help("widen the type's integer bits, or rescale the weights (after batchnorm folding if the layer has one)")
}

impl Pass for QuantizeWeights {
    fn name(&self) -> &'static str {
        "quantize_weights"
    }
    fn description(&self) -> &'static str {
        "round weights, biases and slopes onto their types' grids"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for n in g.topo() {
            let name = g.node(n).name.clone();
            match &mut g.node_mut(n).op {
                Op::Dense(d) => {
                    if d.bipolar_weights {
                        let bad: Vec<String> = d
                            .weights
                            .iter()
                            .enumerate()
                            .flat_map(|(r, row)| {
                                row.to_dense()
                                    .into_iter()
                                    .enumerate()
                                    .filter(|(_, w)| w.abs() != 1.0)
                                    .map(move |(c, w)| format!("weights[{r}][{c}] = {w}"))
                            })
                            .collect();
                        if !bad.is_empty() {
                            return Err(PassError::model(
                                &name,
                                "weights",
                                format!(
                                    "{} weight(s) are not -1 or +1, as bipolar weights must be: {}{}",
                                    bad.len(),
                                    bad[..bad.len().min(5)].join(", "),
                                    if bad.len() > 5 { ", …" } else { "" }
                                ),
                            )
                            .with_help("binarize the weights with sign() when exporting, or use a fixed-point weight_type"));
                        }
                    }
                    // a zero weight is zero on every grid: only the others
                    // are cast, and each row keeps its zeros where they were
                    let flat = d
                        .weights
                        .iter()
                        .enumerate()
                        .flat_map(|(r, row)| row.nonzeros().map(move |(c, w)| (At([r, c]), w)));
                    let (w, max_weight_error) = quantize_all(flat, &d.weight_type)
                        .map_err(|b| clipped_error(&name, "weights", &d.weight_type, b))?;
                    let bias = d.bias.iter().enumerate().map(|(i, &b)| (At([i]), b));
                    let (bias, max_bias_error) = quantize_all(bias, &d.bias_type)
                        .map_err(|b| clipped_error(&name, "bias", &d.bias_type, b))?;
                    let mut cast = w.into_iter();
                    let mut weights: Vec<Row<i128>> = (d.weights.iter().take(d.units))
                        .map(|row| row.map(|_| cast.next().expect("one per non-zero weight")))
                        .collect();
                    let mut bias = bias;
                    // Negating integers is exact; negating the floats before
                    // rounding would not be (trn is not symmetric).
                    for (j, _) in d.flip.iter().enumerate().filter(|(_, f)| **f) {
                        weights[j] = weights[j].map(|w| -w);
                        bias[j] = -bias[j];
                    }
                    d.quant = Some(DenseQuant {
                        weights,
                        bias,
                        max_weight_error,
                        max_bias_error,
                    });
                }
                Op::LeakyRelu {
                    alpha,
                    alpha_type,
                    alpha_raw,
                } => {
                    let named = alpha
                        .iter()
                        .enumerate()
                        .map(|(c, &a)| (format!("[{c}]"), a));
                    let (q, _) = quantize_all(named, alpha_type)
                        .map_err(|b| clipped_error(&name, "alpha", alpha_type, b))?;
                    *alpha_raw = Some(q);
                }
                Op::HardSigmoid {
                    slope,
                    slope_type,
                    slope_raw,
                    ..
                } => {
                    let one = std::iter::once((String::new(), *slope));
                    let (q, _) = quantize_all(one, slope_type)
                        .map_err(|b| clipped_error(&name, "slope", slope_type, b))?;
                    *slope_raw = Some(q[0]);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
