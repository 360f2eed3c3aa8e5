//! `neurtl run MODEL`: compile, simulate in Verilator, summarize.

use super::{PipeArgs, VectorArgs, build_dir, spinner};
use anyhow::{Context, Result};
use neurtl::compile::Compiled;
use neurtl::metrics;
use neurtl::report_html::{Accuracy, OutputError, Page, Quality, Simulation};
use neurtl::sim::{Simulator, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model JSON file.
    pub model: PathBuf,
    /// Build directory (default: build/<name of the model file's directory>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "verilator")]
    pub simulator: Simulator,
    #[command(flatten)]
    pub pipe: PipeArgs,
    #[command(flatten)]
    pub vec: VectorArgs,
    /// Class labels for `--inputs` (.npy or CSV, one integer per sample):
    /// report the accuracy of the golden and float models.
    #[arg(long, requires = "inputs")]
    pub labels: Option<PathBuf>,
    /// Regression targets for `--inputs` (.npy or CSV, one real value per
    /// sample, for the first element of the first output): report the RMS
    /// of golden − target and float − target.
    #[arg(long, requires = "inputs")]
    pub targets: Option<PathBuf>,
    /// With `--targets`: the RMS only over samples whose |prediction −
    /// target| is below this (a resolution that leaves out the tails).
    #[arg(long, requires = "targets")]
    pub within: Option<f64>,
}

/// Largest and mean |golden − float| per output over the samples, in real
/// units.
fn float_error(c: &Compiled, raw_in: &[i128]) -> Result<Vec<OutputError>> {
    let golden = c.golden()?;
    let g_out = metrics::golden_outputs(&golden, raw_in);
    let f_out = metrics::float_outputs(&c.float, &golden, raw_in);
    Ok(metrics::output_errors(&c.graph, &g_out, &f_out)
        .into_iter()
        .map(|e| OutputError {
            output: e.name,
            max: e.max_abs,
            mean: e.sum_abs / e.count.max(1) as f64,
        })
        .collect())
}

pub fn main(a: Args) -> Result<ExitCode> {
    let stem = a
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let parent = a
        .model
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().to_string());
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("build").join(parent.unwrap_or(stem)));
    let pb = spinner("compiling");
    let super::Built { c, info, n } = build_dir(&a.model, &out, &a.pipe, &a.vec, 10_000)?;
    let (top, latency) = (info.top.clone(), info.latency);
    pb.set_message(format!("simulating {n} vectors ({:?})", a.simulator));
    let r = simulate(&out, &top, a.simulator)?;
    pb.finish_and_clear();
    for d in &r.details {
        println!("{d}");
    }
    let golden = c.golden()?;
    let inputs = super::input_samples(&c, &golden, &a.vec, 10_000)?;
    let compared = (inputs.len() / golden.input_len().max(1)).min(2000);
    let err = float_error(&c, &inputs[..compared * golden.input_len()])?;
    println!("model        {} ({})", c.graph.name, a.model.display());
    println!("build        {} (top `{top}`)", out.display());
    let mhz = a.pipe.clock_mhz()?;
    let est = neurtl::estimate::Estimate::of_design_on(&info, mhz, a.pipe.device());
    let mhz_text = neurtl::estimate::mhz_text(mhz);
    // ns only at a clock the design meets by the delay model
    let (clock, at) = match &est.timing {
        Some(t) if t.meets_clock => (
            format!(
                "{mhz_text} MHz: met by the delay model ({:.2} ns critical path, {:.0} MHz achievable)",
                t.critical_path_ns, t.achievable_mhz
            ),
            mhz,
        ),
        Some(t) => (
            format!(
                "{mhz_text} MHz: NOT met by the delay model ({:.2} ns critical path); {:.0} MHz achievable",
                t.critical_path_ns, t.achievable_mhz
            ),
            t.achievable_mhz,
        ),
        None => (
            format!("{mhz_text} MHz (no delay model for {:?})", a.pipe.device()),
            mhz,
        ),
    };
    println!("clock        {clock}");
    println!(
        "latency      {latency} cycles = {:.1} ns at {at:.0} MHz (report); testbench measured {}",
        latency as f64 * 1000.0 / at,
        super::measured(r.latency)
    );
    println!(
        "II           {} cycles (report); testbench measured {}",
        info.ii,
        super::measured(r.ii)
    );
    println!("vectors      {} through {:?}", r.vectors, a.simulator);
    if let Some(f) = &info.folded {
        println!(
            "folded       {} PEs x {} inputs/cycle, {} cells per PE; schedule {} cycles, PE utilization {:.1}%, memory {} weight + {} start-value bits",
            f.pes,
            f.lanes,
            f.cells_per_pe,
            f.schedule_cycles,
            100.0 * f.utilization,
            f.weight_memory_bits,
            f.start_value_memory_bits
        );
    }
    println!("mismatches   {}", r.mismatches);
    let from = match &a.vec.inputs {
        Some(p) => format!("from {}", p.display()),
        // Random codes cover each input's whole range, where narrow layer
        // types saturate: the error is a worst case, not typical.
        None => "random over the full input range".to_string(),
    };
    for e in &err {
        println!(
            "golden vs float: max |error| on `{}` = {:.6} ({compared} samples, {from})",
            e.output, e.max
        );
    }
    let mut accuracy = None;
    if let Some(lp) = &a.labels {
        let n_samples = inputs.len() / golden.input_len().max(1);
        // `--vectors` keeps the first samples of `--inputs`; keep their labels.
        let labels = metrics::read_labels(lp, n_samples, a.vec.vectors.is_some())?;
        let g_out = metrics::golden_outputs(&golden, &inputs);
        let f_out = metrics::float_outputs(&c.float, &golden, &inputs);
        let ga = metrics::accuracy(&metrics::predictions(&c.graph, &g_out), &labels);
        let fa = metrics::accuracy(&metrics::predictions(&c.graph, &f_out), &labels);
        let (gh, gp, fp) = (ga.correct, ga.percent(), fa.percent());
        accuracy = Some(Accuracy {
            samples: labels.len(),
            golden_hits: ga.correct,
            float_hits: fa.correct,
        });
        println!(
            "accuracy     golden model {gp:.2}% ({gh}/{}), float reference {fp:.2}%",
            labels.len()
        );
        if r.mismatches == 0 && r.vectors as usize == n {
            println!(
                "             the RTL reproduced every golden output, so its accuracy is the same"
            );
        }
    }
    if let Some(tp) = &a.targets {
        let n_samples = inputs.len() / golden.input_len().max(1);
        let targets = metrics::read_targets(tp, n_samples, a.vec.vectors.is_some())?;
        let first = |out: Vec<f64>| metrics::first_output(&c.graph, &out);
        let g = first(metrics::golden_outputs(&golden, &inputs));
        let f = first(metrics::float_outputs(&c.float, &golden, &inputs));
        let show = |r: metrics::Resolution| match a.within {
            Some(w) => format!("{:.4} ({} of {} within {w})", r.rms, r.kept, r.total),
            None => format!("{:.4} ({} samples)", r.rms, r.total),
        };
        println!(
            "resolution   RMS of output − target: golden model {}, float reference {}",
            show(metrics::resolution(&g, &targets, a.within)),
            show(metrics::resolution(&f, &targets, a.within))
        );
    }
    let ok = super::sim_ok(&r, n, latency, info.ii);
    let page = Page {
        graph: &c.graph,
        info: &info,
        model: a.model.display().to_string(),
        clock_mhz: a.pipe.clock_mhz()?,
        simulation: Some(Simulation {
            simulator: format!("{:?}", a.simulator),
            vectors_expected: n,
            vectors: r.vectors,
            mismatches: r.mismatches,
            measured_latency: r.latency,
            measured_ii: r.ii,
            passed: ok,
        }),
        quality: Some(Quality {
            samples: compared,
            source: match &a.vec.inputs {
                Some(_) => from,
                None => {
                    format!("{from}, where narrow layer types saturate: a worst case, not typical")
                }
            },
            errors: err,
            accuracy,
        }),
    };
    let html = out.join("report.html");
    std::fs::write(&html, neurtl::report_html::render(&page)?)
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
