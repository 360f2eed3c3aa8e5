//! The `--sweep NAME=VALUES` syntax and the grid of settings it spans.
//!
//! VALUES is a comma-separated list of items, each a number or an
//! inclusive range `A..B` (`weight_bits=4..8`, `max_adder_depth=0,2,4`,
//! `act_bits=4..6,8`); `pipeline` takes `layer` and `none`. Repeated sweeps
//! multiply into a grid. This module knows only names and values: what a
//! value does to a model is `rewrite`'s business.

use super::ExploreError;
use crate::ir::PipelineMode;
use std::fmt;

/// A parameter the explorer can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    /// Total bits of every dense layer's weight type.
    WeightBits,
    /// Total bits of every activation's and quantizer's output type.
    ActBits,
    /// Adder-tree levels between registers (0: no cuts).
    MaxAdderDepth,
    /// Register placement.
    Pipeline,
}

impl Param {
    pub const ALL: [Param; 4] = [
        Param::WeightBits,
        Param::ActBits,
        Param::MaxAdderDepth,
        Param::Pipeline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Param::WeightBits => "weight_bits",
            Param::ActBits => "act_bits",
            Param::MaxAdderDepth => "max_adder_depth",
            Param::Pipeline => "pipeline",
        }
    }

    /// The accepted integer values, inclusive; `None` for `pipeline`.
    fn bounds(self) -> Option<(u32, u32)> {
        match self {
            // A signed weight needs a sign bit and one more.
            Param::WeightBits => Some((2, crate::fixed::MAX_WIDTH)),
            Param::ActBits => Some((1, crate::fixed::MAX_WIDTH)),
            Param::MaxAdderDepth => Some((0, 64)),
            Param::Pipeline => None,
        }
    }
}

/// One value of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Int(u32),
    Pipeline(PipelineModeKey),
}

/// [`PipelineMode`] with an order, so points sort the same every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PipelineModeKey {
    Clock,
    Layer,
    None,
}

impl PipelineModeKey {
    pub fn mode(self) -> PipelineMode {
        match self {
            PipelineModeKey::Clock => PipelineMode::Clock,
            PipelineModeKey::Layer => PipelineMode::Layer,
            PipelineModeKey::None => PipelineMode::None,
        }
    }
    pub fn of(m: PipelineMode) -> Self {
        match m {
            PipelineMode::Clock => PipelineModeKey::Clock,
            PipelineMode::Layer => PipelineModeKey::Layer,
            PipelineMode::None => PipelineModeKey::None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            PipelineModeKey::Clock => "clock",
            PipelineModeKey::Layer => "layer",
            PipelineModeKey::None => "none",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Pipeline(p) => f.write_str(p.name()),
        }
    }
}

/// One `--sweep`: a parameter and its values, ascending, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub param: Param,
    pub values: Vec<Value>,
    /// As the user wrote it, for reports.
    pub spec: String,
}

/// The largest grid the explorer accepts: each point is a full compile.
pub const MAX_POINTS: usize = 10_000;

fn sweep_err(spec: &str, message: impl Into<String>) -> ExploreError {
    ExploreError::Sweep {
        spec: spec.to_string(),
        message: message.into(),
    }
}

/// Parse one `NAME=VALUES`.
pub fn parse_sweep(spec: &str) -> Result<Sweep, ExploreError> {
    let names = || {
        Param::ALL
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, list) = spec.split_once('=').ok_or_else(|| {
        sweep_err(
            spec,
            format!(
                "expected NAME=VALUES, e.g. weight_bits=4..8; NAME is one of {}",
                names()
            ),
        )
    })?;
    let name = name.trim();
    let param = Param::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            sweep_err(
                spec,
                format!("unknown parameter `{name}`; parameters are {}", names()),
            )
        })?;
    let mut values = vec![];
    for item in list.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(sweep_err(spec, "empty value in the list"));
        }
        match param.bounds() {
            None => {
                let p = match item {
                    "clock" => PipelineModeKey::Clock,
                    "layer" => PipelineModeKey::Layer,
                    "none" => PipelineModeKey::None,
                    _ => {
                        return Err(sweep_err(
                            spec,
                            format!("`{item}` is not a pipeline mode; use clock, layer or none"),
                        ));
                    }
                };
                values.push(Value::Pipeline(p));
            }
            Some((lo, hi)) => {
                let int = |s: &str| -> Result<u32, ExploreError> {
                    let v: u32 = s.trim().parse().map_err(|_| {
                        sweep_err(spec, format!("`{s}` is not a non-negative integer"))
                    })?;
                    if v < lo || v > hi {
                        return Err(sweep_err(
                            spec,
                            format!("{} must be in {lo}..{hi}, got {v}", param.name()),
                        ));
                    }
                    Ok(v)
                };
                let (a, b) = match item.split_once("..") {
                    Some((a, b)) => (int(a)?, int(b)?),
                    None => {
                        let v = int(item)?;
                        (v, v)
                    }
                };
                if a > b {
                    return Err(sweep_err(
                        spec,
                        format!(
                            "the range {item} is empty; ranges are A..B with A ≤ B, both included"
                        ),
                    ));
                }
                values.extend((a..=b).map(Value::Int));
            }
        }
    }
    values.sort();
    values.dedup();
    Ok(Sweep {
        param,
        values,
        spec: spec.to_string(),
    })
}

/// The values of one point; `None` leaves the model or the command-line
/// option as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Settings {
    pub weight_bits: Option<u32>,
    pub act_bits: Option<u32>,
    pub max_adder_depth: Option<u32>,
    pub pipeline: Option<PipelineModeKey>,
}

impl Settings {
    fn set(&mut self, p: Param, v: Value) {
        match (p, v) {
            (Param::WeightBits, Value::Int(x)) => self.weight_bits = Some(x),
            (Param::ActBits, Value::Int(x)) => self.act_bits = Some(x),
            (Param::MaxAdderDepth, Value::Int(x)) => self.max_adder_depth = Some(x),
            (Param::Pipeline, Value::Pipeline(m)) => self.pipeline = Some(m),
            _ => unreachable!("parse_sweep pairs each parameter with its kind of value"),
        }
    }
}

/// Every combination of the sweeps' values, sorted (so the order of the
/// `--sweep` options does not change the output). A parameter swept twice
/// is an error.
pub fn grid(sweeps: &[Sweep]) -> Result<Vec<Settings>, ExploreError> {
    for (i, s) in sweeps.iter().enumerate() {
        if let Some(t) = sweeps[..i].iter().find(|t| t.param == s.param) {
            return Err(sweep_err(
                &s.spec,
                format!(
                    "{} is already swept by `{}`; give all its values in one --sweep",
                    s.param.name(),
                    t.spec
                ),
            ));
        }
    }
    let size = sweeps
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.values.len()))
        .unwrap_or(usize::MAX);
    if size > MAX_POINTS {
        return Err(ExploreError::TooManyPoints {
            points: size,
            max: MAX_POINTS,
        });
    }
    let mut points = vec![Settings::default()];
    for s in sweeps {
        points = points
            .iter()
            .flat_map(|p| {
                s.values.iter().map(move |&v| {
                    let mut q = *p;
                    q.set(s.param, v);
                    q
                })
            })
            .collect();
    }
    points.sort();
    Ok(points)
}
