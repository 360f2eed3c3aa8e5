//! Design-space exploration (`neurtl explore`): compile a model at every
//! point of a grid of precisions and pipeline settings, judge each point
//! with the golden model on a data set and with the estimator, and find
//! the Pareto front.
//!
//! `sweep` parses `--sweep` and spans the grid, `rewrite` applies a point's
//! precision to the model JSON, `evaluate` holds the data set and measures
//! a point, `pareto` finds the front, `output` writes the tables, the plot
//! and the HTML report. The points are independent and run in parallel on
//! rayon's pool: the caller picks the pool. A point that does not compile
//! is a result (its message recorded), not a failure of the exploration.
//! Everything written is ordered and formatted the same on every run.

pub mod evaluate;
pub mod output;
pub mod pareto;
mod plot;
pub mod rewrite;
pub mod sweep;

use crate::compile::{self, CompileError, Compiled};
use crate::estimate::Estimate;
use crate::ir::CompileOptions;
use crate::metrics::Accuracy;
use crate::vectors::VectorError;
use evaluate::{Dataset, Metric};
use rayon::prelude::*;
use sweep::{Param, PipelineModeKey, Settings, Sweep};

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("--sweep `{spec}`: {message}")]
    Sweep { spec: String, message: String },
    #[error(
        "the sweep has {points} points, more than {max}; sweep fewer values (each point is a full compile)"
    )]
    TooManyPoints { points: usize, max: usize },
    #[error("--sweep {param}: {message}")]
    NoEffect {
        param: &'static str,
        message: String,
    },
    #[error("layer `{layer}`: {message}")]
    Rewrite { layer: String, message: String },
    #[error("{0}")]
    Model(String),
    /// Boxed: a compile error is large and rare next to the results.
    #[error(transparent)]
    Compile(Box<CompileError>),
    #[error(transparent)]
    Vectors(#[from] VectorError),
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<CompileError> for ExploreError {
    fn from(e: CompileError) -> Self {
        ExploreError::Compile(Box::new(e))
    }
}

/// A model and the grid to explore it over, checked and ready to run.
pub struct Explorer {
    file: String,
    text: String,
    base: CompileOptions,
    clock_mhz: f64,
    sweeps: Vec<Sweep>,
    grid: Vec<Settings>,
    facts: rewrite::Facts,
    baseline: Compiled,
}

/// One point: its settings and what came of them.
#[derive(Debug, Clone)]
pub struct Point {
    /// 0 is the model as given; the grid follows in sorted order.
    pub id: usize,
    pub baseline: bool,
    pub settings: Settings,
    /// The effective options (the swept value, or the one given).
    pub max_adder_depth: u32,
    pub pipeline: PipelineModeKey,
    /// The model fields the point changed.
    pub changes: Vec<rewrite::Change>,
    pub result: Result<Measured, String>,
    pub pareto: bool,
}

/// A compiled point's quality and cost.
#[derive(Debug, Clone)]
pub struct Measured {
    pub accuracy: Option<Accuracy>,
    pub mean_abs_error: Option<f64>,
    pub estimate: Estimate,
}

impl Point {
    /// Objectives, all minimized: the metric, LUTs, latency in ns.
    /// `None` for a point that failed.
    pub fn objectives(&self, metric: Metric) -> Option<[f64; 3]> {
        let m = self.result.as_ref().ok()?;
        let quality = match metric {
            Metric::Accuracy => -m.accuracy?.percent(),
            Metric::MeanAbsError => m.mean_abs_error?,
        };
        Some([quality, m.estimate.luts as f64, m.estimate.latency_ns])
    }
}

/// The finished exploration.
pub struct Exploration {
    /// The model's name.
    pub model: String,
    /// The model file, as given.
    pub source: String,
    pub metric: Metric,
    pub clock_mhz: f64,
    pub samples: usize,
    pub float_accuracy: Option<Accuracy>,
    /// The `--sweep` options, as given.
    pub sweeps: Vec<String>,
    pub base: CompileOptions,
    pub points: Vec<Point>,
    /// Model JSON of each Pareto point, by id.
    pub pareto_models: Vec<(usize, String)>,
}

impl Explorer {
    /// Check the sweeps against the model and compile the model as given
    /// (its errors are the user's to fix, so they end the exploration).
    pub fn new(
        file: &str,
        text: String,
        base: CompileOptions,
        sweeps: Vec<Sweep>,
        clock_mhz: f64,
    ) -> Result<Explorer, ExploreError> {
        let grid = sweep::grid(&sweeps)?;
        let baseline = compile::compile_text(file, &text, base, None)?;
        let facts = rewrite::Facts::new(file, &text, base)?;
        for s in &sweeps {
            let missing = match s.param {
                Param::WeightBits if !facts.has_weights() => {
                    "dense layers with fixed-point weights"
                }
                Param::ActBits if !facts.has_activations() => {
                    "relu, leaky_relu, hard_tanh or quantize layers with an explicit output_type"
                }
                _ => continue,
            };
            return Err(ExploreError::NoEffect {
                param: s.param.name(),
                message: format!("{file} has no {missing}, so it would change nothing"),
            });
        }
        Ok(Explorer {
            file: file.to_string(),
            text,
            base,
            clock_mhz,
            sweeps,
            grid,
            facts,
            baseline,
        })
    }

    /// The model as given, compiled.
    pub fn baseline(&self) -> &Compiled {
        &self.baseline
    }

    /// Number of points, the model as given included.
    pub fn point_count(&self) -> usize {
        self.grid.len() + 1
    }

    fn options(&self, s: &Settings) -> CompileOptions {
        let mut o = self.base;
        if let Some(d) = s.max_adder_depth {
            o.max_adder_depth = d;
        }
        if let Some(p) = s.pipeline {
            o.mode = p.mode();
        }
        o
    }

    /// The model JSON text of a point.
    fn model_text(
        &self,
        s: &Settings,
        baseline: bool,
    ) -> Result<(String, Vec<rewrite::Change>), ExploreError> {
        if baseline {
            return Ok((self.text.clone(), vec![]));
        }
        let (v, changes) = self.facts.apply(s)?;
        Ok((
            serde_json::to_string_pretty(&v).expect("JSON values serialize") + "\n",
            changes,
        ))
    }

    fn evaluate(&self, id: usize, s: Settings, data: &Dataset) -> Point {
        let opts = self.options(&s);
        let mut changes = vec![];
        let result = (|| {
            let (text, ch) = self.model_text(&s, id == 0)?;
            changes = ch;
            let c = compile::compile_text(&self.file, &text, opts, None)?;
            let q = evaluate::measure(&c, data)?;
            let estimate = crate::estimate::estimate(&c, self.clock_mhz)?;
            Ok::<_, ExploreError>(Measured {
                accuracy: q.accuracy,
                mean_abs_error: q.mean_abs_error,
                estimate,
            })
        })();
        Point {
            id,
            baseline: id == 0,
            settings: s,
            max_adder_depth: opts.max_adder_depth,
            pipeline: PipelineModeKey::of(opts.mode),
            changes,
            // One line, so the message fits a table cell and a CSV row.
            result: result.map_err(|e| {
                e.to_string()
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            pareto: false,
        }
    }

    /// Evaluate every point on `data` in the current rayon pool, calling
    /// `progress` after each.
    pub fn run(&self, data: &Dataset, progress: &(dyn Fn() + Sync)) -> Exploration {
        let jobs: Vec<(usize, Settings)> = std::iter::once(Settings::default())
            .chain(self.grid.iter().copied())
            .enumerate()
            .collect();
        let mut points: Vec<Point> = jobs
            .into_par_iter()
            .map(|(id, s)| {
                let p = self.evaluate(id, s, data);
                progress();
                p
            })
            .collect();
        let ok: Vec<(usize, [f64; 3])> = points
            .iter()
            .enumerate()
            .filter_map(|(k, p)| Some((k, p.objectives(data.metric)?)))
            .collect();
        let objs: Vec<[f64; 3]> = ok.iter().map(|x| x.1).collect();
        for ((k, _), on) in ok.iter().zip(pareto::front(&objs)) {
            points[*k].pareto = on;
        }
        let pareto_models = points
            .iter()
            .filter(|p| p.pareto)
            .filter_map(|p| Some((p.id, self.model_text(&p.settings, p.baseline).ok()?.0)))
            .collect();
        Exploration {
            model: self.baseline.graph.name.clone(),
            source: self.file.clone(),
            metric: data.metric,
            clock_mhz: self.clock_mhz,
            samples: data.samples,
            float_accuracy: data.float_accuracy,
            sweeps: self.sweeps.iter().map(|s| s.spec.clone()).collect(),
            base: self.base,
            points,
            pareto_models,
        }
    }
}
