//! A point's precision, applied to the model by rewriting the model JSON
//! before the front end reads it.
//!
//! The JSON is the place to change types: the rewritten model is an
//! ordinary model file (the explorer writes the Pareto points' models out,
//! so a chosen point compiles with `neurtl compile`), the float reference
//! stays the model as trained, and every check the front end and the passes
//! make applies to each point as to any model. Only one fact needs the IR:
//! the weights that get quantized are the ones after batchnorm folding, so
//! the range of each dense layer's weights is read from the graph after
//! `fold_batchnorm`, once per model.
//!
//! - `weight_bits = W`: every dense layer's `weight_type` becomes the
//!   narrowest `fixed<W,I>` (most fractional bits) into which every weight
//!   quantizes without leaving the range, with the same quantization and
//!   overflow modes (and the same signedness) as before. A layer whose
//!   `bias_type` was left to default to the weight type gets the old weight
//!   type written out, so only the weights change. Bipolar weights stay.
//! - `act_bits = W`: the explicit `output_type` of every `relu`,
//!   `leaky_relu`, `hard_tanh` and `quantize` layer becomes `W` bits wide
//!   with the same integer bits and modes: the fractional bits change.

use super::ExploreError;
use super::sweep::Settings;
use crate::compile::CompileError;
use crate::fixed::{FixedType, Format, cast_f64, parse_type};
use crate::frontend::json;
use crate::ir::{CompileOptions, Op};
use crate::passes;
use serde_json::Value;
use std::fmt;

/// What the rewrite needs to know about the model, gathered once.
#[derive(Debug, Clone)]
pub struct Facts {
    model: Value,
    dense: Vec<DenseFacts>,
    /// Layers whose explicit `output_type` is an activation's type.
    activations: Vec<String>,
}

#[derive(Debug, Clone)]
struct DenseFacts {
    name: String,
    /// Smallest and largest weight after batchnorm folding.
    lo: f64,
    hi: f64,
    weight_type: FixedType,
}

/// One field a point changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub layer: String,
    pub field: &'static str,
    pub from: String,
    pub to: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}: {} -> {}",
            self.layer, self.field, self.from, self.to
        )
    }
}

/// Ops whose `output_type` is an activation precision.
const ACTIVATION_OPS: [&str; 4] = ["relu", "leaky_relu", "hard_tanh", "quantize"];

impl Facts {
    /// Gather the facts of model `text` (which must compile), read from
    /// `file`.
    pub fn new(file: &str, text: &str, opts: CompileOptions) -> Result<Facts, ExploreError> {
        let ferr = |source| {
            ExploreError::from(CompileError::Frontend {
                file: file.to_string(),
                source,
            })
        };
        let mut g = json::parse_model(text).map_err(ferr)?;
        passes::run(&mut g, opts, Some("fold_batchnorm")).map_err(|source| {
            ExploreError::from(CompileError::Pass {
                file: file.to_string(),
                source,
            })
        })?;
        let mut dense = vec![];
        for n in g.topo() {
            if let Op::Dense(d) = &g.node(n).op {
                if d.bipolar_weights {
                    continue;
                }
                let all = d.weights.iter().flat_map(|r| r.nonzeros().map(|(_, w)| w));
                let (lo, hi) = all.fold((0f64, 0f64), |(lo, hi), w| (lo.min(w), hi.max(w)));
                dense.push(DenseFacts {
                    name: g.node(n).name.clone(),
                    lo,
                    hi,
                    weight_type: d.weight_type,
                });
            }
        }
        let model: Value = serde_json::from_str(text).map_err(|e| {
            ExploreError::Model(format!("{file}: the model is not plain JSON: {e}"))
        })?;
        let activations = layers(&model)
            .iter()
            .filter(|l| {
                l["op"]
                    .as_str()
                    .is_some_and(|op| ACTIVATION_OPS.contains(&op))
                    && l["output_type"].as_str().is_some_and(|t| t != "auto")
            })
            .filter_map(|l| l["name"].as_str().map(str::to_string))
            .collect();
        Ok(Facts {
            model,
            dense,
            activations,
        })
    }

    /// Whether sweeping `weight_bits` changes anything.
    pub fn has_weights(&self) -> bool {
        !self.dense.is_empty()
    }
    /// Whether sweeping `act_bits` changes anything.
    pub fn has_activations(&self) -> bool {
        !self.activations.is_empty()
    }

    /// The model with a point's precision applied, and what changed.
    pub fn apply(&self, s: &Settings) -> Result<(Value, Vec<Change>), ExploreError> {
        let mut model = self.model.clone();
        let mut changes = vec![];
        if let Some(w) = s.weight_bits {
            for d in &self.dense {
                let ty = narrowest_weight_type(w, d.lo, d.hi, &d.weight_type).ok_or_else(|| {
                    ExploreError::Rewrite {
                        layer: d.name.clone(),
                        message: format!(
                            "no {w}-bit weight type holds the weights {} .. {}",
                            d.lo, d.hi
                        ),
                    }
                })?;
                let layer = layer_mut(&mut model, &d.name);
                if layer.get("bias_type").is_none() {
                    // Left out, the bias type follows the weight type; keep
                    // it where it was.
                    let old = layer["weight_type"].clone();
                    layer["bias_type"] = old;
                }
                changes.push(set_type(layer, &d.name, "weight_type", ty));
            }
        }
        if let Some(w) = s.act_bits {
            for name in &self.activations {
                let layer = layer_mut(&mut model, name);
                let text = layer["output_type"].as_str().unwrap_or_default();
                let old = parse_type(text).map_err(|e| ExploreError::Rewrite {
                    layer: name.clone(),
                    message: e.to_string(),
                })?;
                let f = old.format;
                let frac = w as i32 - f.int_bits();
                let ty = FixedType::new(Format::new(f.signed, w, frac), old.quant, old.overflow);
                changes.push(set_type(layer, name, "output_type", ty));
            }
        }
        for c in &changes {
            // The type printer and the parser must agree for the point to
            // mean what its report says; an out-of-range binary point is
            // caught here with the layer named.
            parse_type(&c.to).map_err(|e| ExploreError::Rewrite {
                layer: c.layer.clone(),
                message: e.to_string(),
            })?;
        }
        Ok((model, changes))
    }
}

fn layers(model: &Value) -> &[Value] {
    model["layers"].as_array().map_or(&[], Vec::as_slice)
}

/// The layer called `name`; the facts were read from this model, so it is
/// there.
fn layer_mut<'a>(model: &'a mut Value, name: &str) -> &'a mut Value {
    model["layers"]
        .as_array_mut()
        .and_then(|ls| ls.iter_mut().find(|l| l["name"] == name))
        .expect("facts name layers of their own model")
}

fn set_type(layer: &mut Value, name: &str, field: &'static str, ty: FixedType) -> Change {
    let from = layer[field].as_str().unwrap_or_default().to_string();
    let to = ty.to_string();
    layer[field] = Value::String(to.clone());
    Change {
        layer: name.to_string(),
        field,
        from,
        to,
    }
}

/// The `width`-bit type with the most fractional bits into which `lo` and
/// `hi` (and so every value between them: rounding is monotonic) quantize
/// without overflow, with `like`'s signedness and modes. The fit is
/// decided by the same cast `quantize_weights` uses, rounding included.
pub fn narrowest_weight_type(width: u32, lo: f64, hi: f64, like: &FixedType) -> Option<FixedType> {
    let make = |int_bits: i32| {
        FixedType::new(
            Format::new(like.format.signed, width, width as i32 - int_bits),
            like.quant,
            like.overflow,
        )
    };
    let m = lo.abs().max(hi.abs());
    if m == 0.0 {
        return Some(make(like.format.int_bits()));
    }
    // 2^e ≤ m < 2^(e+1): nothing below e − 1 integer bits can hold m, and
    // e + 3 holds it in any width ≥ 2 even after rounding up.
    let e = m.log2().floor() as i32;
    (e - 1..=e + 4)
        .map(make)
        .find(|t| !cast_f64(lo, t).1.overflowed && !cast_f64(hi, t).1.overflowed)
}
