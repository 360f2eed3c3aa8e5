//! `neurtl explore MODEL --sweep NAME=VALUES … --inputs x.csv [--labels
//! y.csv]`: compile the model over a grid of precisions and pipeline
//! settings, judge every point, write the points, the Pareto front, a plot
//! and an HTML report.

use super::PipeArgs;
use anyhow::{Context, Result};
use neurtl::compile::read_model;
use neurtl::explore::evaluate::{Dataset, Metric};
use neurtl::explore::{Explorer, Point, output, sweep};
use neurtl::frontend::onnx::ImportOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model (neurtl JSON or .onnx).
    pub model: PathBuf,
    /// A parameter and its values, `NAME=A..B` (both included) or
    /// `NAME=A,B,C`; repeat for a grid. NAME: weight_bits, act_bits,
    /// max_adder_depth, pipeline (values layer, none).
    #[arg(long = "sweep", value_name = "NAME=VALUES", required = true)]
    pub sweeps: Vec<String>,
    /// Real-valued input samples (.npy or CSV, one sample per row).
    #[arg(long)]
    pub inputs: PathBuf,
    /// Class labels, one per sample (.npy or CSV): points are judged by
    /// accuracy. Without: by mean |golden − float| on the outputs.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Output directory (default: build/<model directory>-explore).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Also write a campaign that synthesizes every Pareto point with
    /// Yosys for `--device` (`OUT/synth`: one job per point for GNU parallel, Slurm or
    /// HTCondor, as `neurtl campaign` runs them; `neurtl campaign merge
    /// OUT/synth` sets the results beside the estimates).
    #[arg(long)]
    pub synth_jobs: bool,
    /// Options every point starts from; a sweep overrides its own.
    #[command(flatten)]
    pub pipe: PipeArgs,
}

/// A bar over the points on a terminal, nothing otherwise.
fn progress(n: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} points, {elapsed} ({eta} left)",
    ) {
        pb.set_style(style);
    }
    pb
}

fn default_out(model: &std::path::Path) -> PathBuf {
    let name = model
        .parent()
        .and_then(|p| p.file_name())
        .or_else(|| model.file_stem())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    PathBuf::from("build").join(format!("{name}-explore"))
}

/// One line of the front table.
fn row(p: &Point, metric: Metric) -> String {
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let m = p.result.as_ref().expect("front points compiled");
    let quality = match metric {
        Metric::Accuracy => m
            .accuracy
            .map_or(String::new(), |a| format!("{:.2}", a.percent())),
        Metric::MeanAbsError => m
            .mean_abs_error
            .map_or(String::new(), |e| format!("{e:.6}")),
    };
    format!(
        "{:>5} {:>7} {:>4} {:>6} {:>9} {:>11} {:>8} {:>7} {:>7} {:>8.1}{}",
        p.id,
        opt(p.settings.weight_bits),
        opt(p.settings.act_bits),
        p.max_adder_depth,
        p.pipeline.name(),
        quality,
        m.estimate.luts,
        m.estimate.flip_flops,
        m.estimate.latency_cycles,
        m.estimate.latency_ns,
        if p.baseline { "  (model as given)" } else { "" }
    )
}

pub fn main(a: Args) -> Result<ExitCode> {
    let mhz = a.pipe.clock_mhz()?;
    let sweeps = a
        .sweeps
        .iter()
        .map(|s| sweep::parse_sweep(s))
        .collect::<Result<Vec<_>, _>>()?;
    let file = a.model.display().to_string();
    let (text, _) = read_model(&a.model, &ImportOptions::default())?;
    let explorer = Explorer::new(&file, text, a.pipe.options()?, sweeps, mhz)?;
    let data = Dataset::load(explorer.baseline(), &a.inputs, a.labels.as_deref())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .context("starting the worker threads")?;
    let pb = progress(explorer.point_count());
    let start = std::time::Instant::now();
    let x = pool.install(|| explorer.run(&data, &|| pb.inc(1)));
    let seconds = start.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let out = a.out.clone().unwrap_or_else(|| default_out(&a.model));
    let written = output::write_all(&out, &x)?;

    let failed: Vec<&Point> = x.points.iter().filter(|p| p.result.is_err()).collect();
    println!(
        "{}: {} points on {} samples in {seconds:.1} s ({} threads); {} did not compile",
        x.model,
        x.points.len(),
        x.samples,
        pool.current_num_threads(),
        failed.len()
    );
    if let Some(f) = x.float_accuracy {
        println!(
            "float reference accuracy {:.2}% ({}/{})",
            f.percent(),
            f.correct,
            f.total
        );
    }
    if let Some(p) = failed.first() {
        println!(
            "first failure, point {}: {}",
            p.id,
            p.result.as_ref().err().map_or("", String::as_str)
        );
    }
    let mut front: Vec<&Point> = x.points.iter().filter(|p| p.pareto).collect();
    front.sort_by_key(|p| (p.result.as_ref().map_or(0, |m| m.estimate.luts), p.id));
    let quality = match x.metric {
        Metric::Accuracy => "accuracy %",
        Metric::MeanAbsError => "mean |err|",
    };
    println!("Pareto front, {} points, by LUTs:", front.len());
    println!(
        "{:>5} {:>7} {:>4} {:>6} {:>9} {:>11} {:>8} {:>7} {:>7} {:>8}",
        "id", "weight", "act", "depth", "pipeline", quality, "LUTs", "FFs", "cycles", "ns"
    );
    for p in front {
        println!("{}", row(p, x.metric));
    }
    println!("wrote {} files in {}", written.len(), out.display());
    if a.synth_jobs {
        synth_jobs(&a, &x, &out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A build directory per Pareto point in `out/synth/points`, each with
/// the point's own pipeline options, and the campaign that synthesizes
/// them.
fn synth_jobs(a: &Args, x: &neurtl::explore::Exploration, out: &std::path::Path) -> Result<()> {
    let dir = out.join("synth");
    // An earlier run's points, results and job log (which would make
    // the runner skip jobs) describe another front.
    if dir.join("campaign.json").is_file() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    // synthesis reads no vectors: a few keep each build simulable
    let vectors = super::VectorArgs {
        vectors: None,
        seed: 1,
        inputs: None,
        also: None,
    };
    let mut points = vec![];
    for p in x.points.iter().filter(|p| p.pareto) {
        let mut pipe = a.pipe.clone();
        pipe.pipeline = p.pipeline.name().to_string();
        pipe.max_adder_depth = p.max_adder_depth;
        let model = out.join(output::model_path(p.id));
        let build = super::campaign::point_dir(&dir, p.id);
        super::build_dir(&model, &build, &pipe, &vectors, 100)?;
        points.push(p.id);
    }
    let n = points.len();
    let spec = super::campaign::SynthSpec {
        device: a.pipe.device().to_string(),
        clock: a.pipe.clock.clone(),
        points,
    };
    let d = super::campaign::write_synth(&dir, spec)?;
    println!(
        "{n} synthesis jobs in {d}: run {d}/run-local.sh (GNU parallel), sbatch {d}/slurm.sh or condor_submit {d}/condor.sub, then neurtl campaign merge {d}"
    );
    Ok(())
}
