//! Weight quantization: every real-valued weight, bias and leaky-relu slope
//! becomes an integer on its type's grid, rounded with the type's own
//! quantization mode. A value the type cannot hold means what it means in
//! ap_fixed when the type saturates: it is cast by the type's overflow
//! mode, and the change is recorded (`Meta::saturated`) for a warning. A
//! wrapping type cannot hold it: a wrapped weight is never what a user
//! means, so that is an error, as is any saturated value under `strict`.

use super::{Pass, PassError};
use crate::fixed::{FixedType, OverflowMode, cast_f64};
use crate::ir::{DenseQuant, Graph, Op, Row, Saturated};

/// `strict`: a constant its saturating type cannot hold is an error too.
pub struct QuantizeWeights(pub bool);

/// Values that do not fit a type, by position, with their value and what
/// the type's overflow mode makes of them.
type Misfits = Vec<(String, f64, f64)>;

/// The raw integers of a field, the largest error of any of them against
/// the model's value, and the values the type could not hold.
struct Cast {
    raw: Vec<i128>,
    max_err: f64,
    misfits: Misfits,
}

/// `[i]` or `[r][c]`: where a value sits, written out only for a value
/// that does not fit (a big model has millions of weights).
struct At<const N: usize>([usize; N]);

impl<const N: usize> std::fmt::Display for At<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|i| write!(f, "[{i}]"))
    }
}

/// Quantize `vals` into `ty`, each exactly as ap_fixed casts a double.
fn quantize_all<P: std::fmt::Display>(
    vals: impl Iterator<Item = (P, f64)>,
    ty: &FixedType,
) -> Cast {
    let mut c = Cast {
        raw: vec![],
        max_err: 0.0,
        misfits: vec![],
    };
    for (pos, v) in vals {
        let (q, ev) = cast_f64(v, ty);
        let got = ty.format.to_f64(q);
        if ev.overflowed {
            c.misfits.push((pos.to_string(), v, got));
        }
        c.max_err = c.max_err.max((got - v).abs());
        c.raw.push(q);
    }
    c
}

/// Where the values of one field go that its type cannot hold.
struct Field<'a> {
    layer: &'a str,
    name: &'a str,
    ty: &'a FixedType,
    strict: bool,
}

impl Field<'_> {
    /// The raw integers of `c`, recording the values that saturated, or an
    /// error for values a wrapping type (or `strict`) does not allow.
    fn accept(
        &self,
        c: Cast,
        saturated: &mut Vec<Saturated>,
    ) -> Result<(Vec<i128>, f64), PassError> {
        if c.misfits.is_empty() {
            return Ok((c.raw, c.max_err));
        }
        if self.ty.overflow == OverflowMode::Wrap || self.strict {
            return Err(self.error(&c.misfits));
        }
        saturated.push(Saturated {
            layer: self.layer.to_string(),
            field: self.name.to_string(),
            ty: self.ty.to_string(),
            changed: c.misfits,
        });
        Ok((c.raw, c.max_err))
    }

    fn error(&self, bad: &Misfits) -> PassError {
        let ty = self.ty;
        let (lo, hi) = ty.result_range();
        let shown: Vec<String> = bad
            .iter()
            .take(5)
            .map(|(p, v, _)| format!("{}{p} = {v}", self.name))
            .collect();
        let help = if ty.overflow == OverflowMode::Wrap {
            "widen the type's integer bits, rescale the weights (after batchnorm folding if the layer has one), \
             or give the type a saturating overflow mode (sat, sat_sym, sat_zero) to cast such values as ap_fixed does"
        } else {
            "without --strict such values are cast by the type's overflow mode, as ap_fixed casts them, with a warning"
        };
        PassError::model(
            self.layer,
            self.name,
            format!(
                "{} value(s) do not fit {ty} (range {} .. {}): {}{}",
                bad.len(),
                ty.format.to_f64(lo),
                ty.format.to_f64(hi),
                shown.join(", "),
                if bad.len() > 5 { ", …" } else { "" }
            ),
        )
        .with_help(help)
    }
}

impl Pass for QuantizeWeights {
    fn name(&self) -> &'static str {
        "quantize_weights"
    }
    fn description(&self) -> &'static str {
        "round weights, biases and slopes onto their types' grids"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        let mut saturated = vec![];
        for n in g.topo() {
            let name = g.node(n).name.clone();
            let field = |field, ty| Field {
                layer: &name,
                name: field,
                ty,
                strict: self.0,
            };
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
                    let w = quantize_all(flat, &d.weight_type);
                    let (w, max_weight_error) =
                        field("weights", &d.weight_type).accept(w, &mut saturated)?;
                    let bias = d.bias.iter().enumerate().map(|(i, &b)| (At([i]), b));
                    let bias = quantize_all(bias, &d.bias_type);
                    let (bias, max_bias_error) =
                        field("bias", &d.bias_type).accept(bias, &mut saturated)?;
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
                    let q = quantize_all(named, alpha_type);
                    let (q, _) = field("alpha", alpha_type).accept(q, &mut saturated)?;
                    *alpha_raw = Some(q);
                }
                Op::HardSigmoid {
                    slope,
                    slope_type,
                    slope_raw,
                    ..
                } => {
                    let one = std::iter::once((String::new(), *slope));
                    let q = quantize_all(one, slope_type);
                    let (q, _) = field("slope", slope_type).accept(q, &mut saturated)?;
                    *slope_raw = Some(q[0]);
                }
                _ => {}
            }
        }
        g.meta.saturated = saturated;
        Ok(())
    }
}
