//! `neurtl run MODEL`: compile, simulate in Verilator, summarize.

use super::{PipeArgs, VectorArgs, build_dir, spinner};
use anyhow::{Context, Result};
use neurtl::compile::Compiled;
use neurtl::golden::Golden;
use neurtl::metrics;
use neurtl::report_html::{Accuracy, OutputError, Page, Quality, Simulation};
use neurtl::sim::{Simulator, simulate};
use std::path::{Path, PathBuf};
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
    /// Print the largest |golden − float| per output over the random
    /// vectors too: they cover each input's whole range, where narrow
    /// layer types saturate, so it is a worst case, not typical. (With
    /// `--inputs` it is always printed, over those samples.)
    #[arg(long)]
    pub worst_case: bool,
}

/// The labelled samples a run reports class accuracy on.
struct Labelled {
    /// Where the samples and labels came from, for the summary.
    source: String,
    /// Index of the first labelled sample among the simulated ones.
    first: usize,
    labels: Vec<usize>,
}

/// `x_test` and `y_test` (.csv or .npy) in the model's directory: the
/// test set a newcomer's `neurtl run` reports accuracy on unasked.
fn test_set_beside(model: &Path) -> Option<(PathBuf, PathBuf)> {
    let dir = model.parent()?;
    let find = |stem: &str| {
        ["csv", "npy"]
            .iter()
            .map(|e| dir.join(format!("{stem}.{e}")))
            .find(|p| p.is_file())
    };
    Some((find("x_test")?, find("y_test")?))
}

/// Class accuracy of the golden and float models on the labelled samples
/// among `inputs`, and on how many samples their predictions differ.
fn class_accuracy(c: &Compiled, golden: &Golden, inputs: &[i128], l: &Labelled) -> Accuracy {
    let per = golden.input_len().max(1);
    let samples = &inputs[l.first * per..(l.first + l.labels.len()) * per];
    let g = metrics::predictions(&c.graph, &metrics::golden_outputs(golden, samples));
    let f = metrics::predictions(&c.graph, &metrics::float_outputs(&c.float, golden, samples));
    Accuracy {
        samples: l.labels.len(),
        golden_hits: metrics::accuracy(&g, &l.labels).correct,
        float_hits: metrics::accuracy(&f, &l.labels).correct,
        disagree: g.iter().zip(&f).filter(|(a, b)| a != b).count(),
        source: l.source.clone(),
    }
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
    let asked = a.vec.inputs.is_some() || a.labels.is_some() || a.targets.is_some();
    let beside = if asked {
        None
    } else {
        test_set_beside(&a.model)
    };
    let mut vec = a.vec.clone();
    vec.also = beside.as_ref().map(|(x, _)| x.clone());
    let pb = spinner("compiling");
    let super::Built { c, info, n } = build_dir(&a.model, &out, &a.pipe, &vec, 10_000)?;
    let (top, latency) = (info.top.clone(), info.latency);
    pb.set_message(format!("simulating {n} vectors ({:?})", a.simulator));
    let r = simulate(&out, &top, a.simulator)?;
    pb.finish_and_clear();
    for d in &r.details {
        println!("{d}");
    }
    let golden = c.golden()?;
    let inputs = super::input_samples(&c, &golden, &vec, 10_000)?;
    let compared = (inputs.len() / golden.input_len().max(1)).min(2000);
    let err = float_error(&c, &inputs[..compared * golden.input_len()])?;
    println!("model        {} ({})", c.graph.name, a.model.display());
    println!("build        {} (top `{top}`)", out.display());
    let mhz = a.pipe.clock_mhz()?;
    let est = neurtl::estimate::Estimate::of_design_on(&info, mhz, a.pipe.family());
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
            format!(
                "{mhz_text} MHz (no delay model for {})",
                a.pipe.family().name()
            ),
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
        None => "random over the full input range: a worst case, not typical".to_string(),
    };
    if a.vec.inputs.is_some() || a.worst_case {
        for e in &err {
            println!(
                "golden vs float: max |error| on `{}` = {:.6} ({compared} samples, {from})",
                e.output, e.max
            );
        }
    }
    let labelled = match (&a.labels, &beside) {
        (Some(lp), _) => {
            let n_samples = inputs.len() / golden.input_len().max(1);
            // `--vectors` keeps the first samples of `--inputs`; keep their labels.
            let labels = metrics::read_labels(lp, n_samples, a.vec.vectors.is_some())?;
            let source = format!("labels {}", lp.display());
            Some(Labelled {
                source,
                first: 0,
                labels,
            })
        }
        (None, Some((x, y))) => {
            let t = neurtl::vectors::read_table(x)?;
            let rows = t.values.len() / t.cols.max(1);
            let labels = metrics::read_labels(y, rows, false)?;
            let source = format!("test set {}, labels {}", x.display(), y.display());
            Some(Labelled {
                source,
                first: n - rows,
                labels,
            })
        }
        _ => None,
    };
    let accuracy = labelled.map(|l| class_accuracy(&c, &golden, &inputs, &l));
    if let Some(acc) = &accuracy {
        let pct = |h: usize| 100.0 * h as f64 / acc.samples.max(1) as f64;
        println!("labelled     {} ({} samples)", acc.source, acc.samples);
        println!(
            "accuracy     golden model {:.2}% ({}/{}), float reference {:.2}% ({}/{}); predictions differ on {} samples",
            pct(acc.golden_hits),
            acc.golden_hits,
            acc.samples,
            pct(acc.float_hits),
            acc.float_hits,
            acc.samples,
            acc.disagree,
        );
        if r.mismatches == 0 && r.vectors as usize == n {
            println!(
                "             the RTL ran these samples and reproduced every golden output: its accuracy is the golden model's"
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
    if ok {
        println!(
            "result       PASSED: the RTL computed what the golden model computes on all {n} vectors, at the scheduled latency and II"
        );
    }
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
                None => format!("{from} (narrow layer types saturate there)"),
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
