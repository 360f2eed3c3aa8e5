//! What an exploration writes: `points.csv`, `points.json`, `pareto.json`,
//! `explore.svg`, the self-contained `explore.html`, and the model JSON of
//! each Pareto point under `pareto/`.
//!
//! Every file is a function of the points alone (no times, no machine
//! facts), with floats printed at fixed precision, so the same inputs give
//! byte-identical files. The HTML page is `templates/explore.html.tera`
//! filled from a flat view built here.

use super::evaluate::Metric;
use super::{Exploration, ExploreError, Point};
use crate::ir::Target;
use serde::Serialize;
use std::path::{Path, PathBuf};

const HTML_TEMPLATE: &str = include_str!("../../templates/explore.html.tera");

/// Where a Pareto point's model goes, relative to the output directory.
pub fn model_path(id: usize) -> String {
    format!("pareto/point-{id}.json")
}

/// Round to `d` decimals, so JSON prints the value as the CSV does.
fn round(v: f64, d: i32) -> f64 {
    let s = 10f64.powi(d);
    (v * s).round() / s
}

/// One point as the tables and JSON files show it.
#[derive(Debug, Clone, Serialize)]
struct Record {
    id: usize,
    baseline: bool,
    weight_bits: Option<u32>,
    act_bits: Option<u32>,
    max_adder_depth: u32,
    pipeline: &'static str,
    ok: bool,
    accuracy_pct: Option<f64>,
    correct: Option<usize>,
    mean_abs_error: Option<f64>,
    latency_cycles: Option<u32>,
    latency_ns: Option<f64>,
    luts: Option<u64>,
    flip_flops: Option<u64>,
    carry4: Option<u64>,
    /// The clock the estimate's 7-series delay model allows.
    fmax_mhz: Option<f64>,
    pareto: bool,
    /// The point's model file and the options to compile it with.
    model: Option<String>,
    options: String,
    changes: Vec<String>,
    error: Option<String>,
}

/// The compile options of a point, as command-line flags.
fn flags(p: &Point, x: &Exploration) -> String {
    let mut f = format!(
        "--pipeline {} --max-adder-depth {}",
        p.pipeline.name(),
        p.max_adder_depth
    );
    if x.base.target != Target::Fpga {
        f.push_str(&format!(" --target {}", x.base.target.name()));
    }
    f
}

fn record(p: &Point, x: &Exploration) -> Record {
    let m = p.result.as_ref().ok();
    let e = m.map(|m| &m.estimate);
    Record {
        id: p.id,
        baseline: p.baseline,
        weight_bits: p.settings.weight_bits,
        act_bits: p.settings.act_bits,
        max_adder_depth: p.max_adder_depth,
        pipeline: p.pipeline.name(),
        ok: m.is_some(),
        accuracy_pct: m.and_then(|m| m.accuracy).map(|a| round(a.percent(), 4)),
        correct: m.and_then(|m| m.accuracy).map(|a| a.correct),
        mean_abs_error: m.and_then(|m| m.mean_abs_error).map(|v| round(v, 9)),
        latency_cycles: e.map(|e| e.latency_cycles),
        latency_ns: e.map(|e| round(e.latency_ns, 3)),
        luts: e.map(|e| e.luts),
        flip_flops: e.map(|e| e.flip_flops),
        carry4: e.map(|e| e.carry4),
        fmax_mhz: e
            .and_then(|e| e.timing.as_ref())
            .map(|t| round(t.achievable_mhz, 1)),
        pareto: p.pareto,
        model: p.pareto.then(|| model_path(p.id)),
        options: flags(p, x),
        changes: p.changes.iter().map(ToString::to_string).collect(),
        error: p.result.as_ref().err().cloned(),
    }
}

/// What every JSON file starts with.
#[derive(Serialize)]
struct Summary<'a> {
    model: &'a str,
    source: &'a str,
    metric: Metric,
    clock_mhz: f64,
    samples: usize,
    float_accuracy_pct: Option<f64>,
    sweeps: &'a [String],
    points: usize,
    failed: usize,
    pareto_points: usize,
    /// What the front is taken over.
    objectives: [&'static str; 3],
}

#[derive(Serialize)]
struct JsonFile<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    records: Vec<Record>,
}

fn summary(x: &Exploration) -> Summary<'_> {
    Summary {
        model: &x.model,
        source: &x.source,
        metric: x.metric,
        clock_mhz: x.clock_mhz,
        samples: x.samples,
        float_accuracy_pct: x.float_accuracy.map(|a| round(a.percent(), 4)),
        sweeps: &x.sweeps,
        points: x.points.len(),
        failed: x.points.iter().filter(|p| p.result.is_err()).count(),
        pareto_points: x.points.iter().filter(|p| p.pareto).count(),
        objectives: [
            match x.metric {
                Metric::Accuracy => "maximize accuracy_pct",
                Metric::MeanAbsError => "minimize mean_abs_error",
            },
            "minimize luts",
            "minimize latency_ns",
        ],
    }
}

/// `points.json` (`pareto_only` false) or `pareto.json`.
pub fn json(x: &Exploration, pareto_only: bool) -> String {
    let records = x
        .points
        .iter()
        .filter(|p| p.pareto || !pareto_only)
        .map(|p| record(p, x))
        .collect();
    let f = JsonFile {
        summary: summary(x),
        records,
    };
    serde_json::to_string_pretty(&f).expect("records serialize") + "\n"
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

const CSV_COLUMNS: [&str; 18] = [
    "id",
    "baseline",
    "weight_bits",
    "act_bits",
    "max_adder_depth",
    "pipeline",
    "ok",
    "accuracy_pct",
    "correct",
    "mean_abs_error",
    "latency_cycles",
    "latency_ns",
    "luts",
    "flip_flops",
    "carry4",
    "fmax_mhz",
    "pareto",
    "error",
];

/// `points.csv`: one row per point, unswept parameters left empty.
pub fn csv(x: &Exploration) -> String {
    let mut s = CSV_COLUMNS.join(",") + "\n";
    for p in &x.points {
        let r = record(p, x);
        let row = [
            r.id.to_string(),
            r.baseline.to_string(),
            opt(r.weight_bits),
            opt(r.act_bits),
            r.max_adder_depth.to_string(),
            r.pipeline.to_string(),
            r.ok.to_string(),
            opt(r.accuracy_pct.map(|v| format!("{v:.4}"))),
            opt(r.correct),
            opt(r.mean_abs_error.map(|v| format!("{v:.9}"))),
            opt(r.latency_cycles),
            opt(r.latency_ns.map(|v| format!("{v:.3}"))),
            opt(r.luts),
            opt(r.flip_flops),
            opt(r.carry4),
            opt(r.fmax_mhz.map(|v| format!("{v:.1}"))),
            r.pareto.to_string(),
            r.error.unwrap_or_default(),
        ];
        let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// The HTML page's view: every string is final, the template only places
/// them.
#[derive(Serialize)]
struct HtmlView {
    title: String,
    facts: Vec<(String, String)>,
    svg: String,
    columns: Vec<String>,
    rows: Vec<HtmlRow>,
}

#[derive(Serialize)]
struct HtmlRow {
    /// CSS classes: `pareto`, `baseline`, `failed`.
    class: String,
    cells: Vec<HtmlCell>,
}

#[derive(Serialize)]
struct HtmlCell {
    text: String,
    /// The value the table sorts by: a number, or text for text columns.
    key: String,
}

fn cell(text: String, key: impl ToString) -> HtmlCell {
    HtmlCell {
        text,
        key: key.to_string(),
    }
}

fn num<T: ToString + Copy>(v: Option<T>, shown: impl Fn(T) -> String) -> HtmlCell {
    match v {
        Some(v) => cell(shown(v), v),
        None => cell(String::new(), ""),
    }
}

/// Thousands separated by commas, as the rest of neurtl's reports write.
fn grouped(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `explore.html`, with `svg` inlined.
pub fn html(x: &Exploration, svg: &str) -> Result<String, ExploreError> {
    let s = summary(x);
    let reference = match (x.metric, x.float_accuracy) {
        (Metric::Accuracy, Some(a)) => format!(
            "float reference accuracy {:.2} % ({}/{})",
            a.percent(),
            a.correct,
            a.total
        ),
        _ => "mean |golden − float| over the outputs that are not argmax indices (the float reference is 0)".into(),
    };
    let facts = vec![
        ("model".into(), format!("{} ({})", x.model, x.source)),
        ("data".into(), format!("{} samples", x.samples)),
        ("metric".into(), reference),
        ("sweeps".into(), x.sweeps.join("  ")),
        (
            "points".into(),
            format!(
                "{} (the model as given and the grid), {} did not compile, {} on the Pareto front",
                s.points, s.failed, s.pareto_points
            ),
        ),
        (
            "front".into(),
            format!(
                "non-dominated on: {}",
                s.objectives.join(", ").replace('_', " ")
            ),
        ),
        (
            "estimates".into(),
            format!(
                "neurtl estimate at {} MHz: LUTs, FFs, CARRY4 and Fmax for Xilinx 7-series, before synthesis",
                x.clock_mhz
            ),
        ),
    ];
    let columns = [
        "id",
        "weight bits",
        "act bits",
        "adder depth",
        "pipeline",
        "accuracy %",
        "mean |error|",
        "latency (cycles)",
        "latency (ns)",
        "LUTs",
        "FFs",
        "CARRY4",
        "Fmax est. (MHz)",
        "Pareto",
        "types / error",
    ]
    .map(String::from)
    .to_vec();
    let rows = x
        .points
        .iter()
        .map(|p| {
            let r = record(p, x);
            let mut class = vec![];
            if r.pareto {
                class.push("pareto");
            }
            if r.baseline {
                class.push("baseline");
            }
            if !r.ok {
                class.push("failed");
            }
            let detail = match &r.error {
                Some(e) => e.clone(),
                None if r.baseline => "the model as given".into(),
                // The old types are the model's, the same on every row.
                None => p
                    .changes
                    .iter()
                    .map(|c| format!("{} {}", c.layer, c.to))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            HtmlRow {
                class: class.join(" "),
                cells: vec![
                    cell(r.id.to_string(), r.id),
                    num(r.weight_bits, |v| v.to_string()),
                    num(r.act_bits, |v| v.to_string()),
                    cell(r.max_adder_depth.to_string(), r.max_adder_depth),
                    cell(r.pipeline.to_string(), r.pipeline),
                    num(r.accuracy_pct, |v| format!("{v:.2}")),
                    num(r.mean_abs_error, |v| format!("{v:.6}")),
                    num(r.latency_cycles, |v| v.to_string()),
                    num(r.latency_ns, |v| format!("{v:.1}")),
                    num(r.luts, grouped),
                    num(r.flip_flops, grouped),
                    num(r.carry4, grouped),
                    num(r.fmax_mhz, |v| format!("{v:.0}")),
                    cell(if r.pareto { "yes" } else { "" }.into(), u8::from(r.pareto)),
                    cell(detail.clone(), detail),
                ],
            }
        })
        .collect();
    let view = HtmlView {
        title: format!("neurtl explore: {}", x.model),
        facts,
        svg: svg.to_string(),
        columns,
        rows,
    };
    let mut tera = tera::Tera::default();
    tera.add_raw_template("explore.html", HTML_TEMPLATE)
        .map_err(|e| ExploreError::Model(format!("HTML template: {e}")))?;
    let ctx = tera::Context::from_serialize(&view).expect("views serialize");
    tera.render("explore.html", &ctx)
        .map_err(|e| ExploreError::Model(format!("HTML template: {e}")))
}

/// Write every output file into `dir`; returns the paths written.
pub fn write_all(dir: &Path, x: &Exploration) -> Result<Vec<PathBuf>, ExploreError> {
    let svg = super::plot::svg(x).map_err(ExploreError::Model)?;
    let mut files: Vec<(String, String)> = vec![
        ("points.csv".into(), csv(x)),
        ("points.json".into(), json(x, false)),
        ("pareto.json".into(), json(x, true)),
        ("explore.html".into(), html(x, &svg)?),
        ("explore.svg".into(), svg),
    ];
    files.extend(
        x.pareto_models
            .iter()
            .map(|(id, text)| (model_path(*id), text.clone())),
    );
    // Models of an earlier run's front would pass for this run's.
    let old = dir.join("pareto");
    if let Ok(entries) = std::fs::read_dir(&old) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("point-") && name.ends_with(".json") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    crate::compile::write_files(dir, &files)?;
    Ok(files.iter().map(|(rel, _)| dir.join(rel)).collect())
}
