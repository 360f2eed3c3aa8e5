//! `neurtl campaign`: thousands of random networks through the whole
//! flow, as independent jobs for GNU parallel, Slurm or HTCondor.
//!
//! - `write DIR --networks N --seed S` writes the campaign: its settings
//!   (`campaign.json`), one job command line per network (`jobs.txt`), a
//!   local runner (`run-local.sh`, GNU parallel, resumable through its
//!   job log), a Slurm job array (`slurm.sh`) and an HTCondor submit file
//!   (`condor.sub`).
//! - `job DIR K` runs network K: the property tests' generator for seed
//!   S + K (MLPs, exact MLPs, BNNs on every target, convolutional
//!   networks), compiled by this binary with options drawn from the seed,
//!   the datapath interpreter against the golden model, Verilator lint,
//!   and the Verilator testbench on the build's vectors. It writes
//!   `results/K.json`; a failing job keeps its model, build and logs in
//!   `work/K/`.
//! - `merge DIR` sums the results into `summary.json`; exit 1 if any job
//!   failed.

use super::BuildInfo;
use anyhow::{Context, Result, bail};
use neurtl::testgen;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub step: Step,
}

#[derive(clap::Subcommand)]
pub enum Step {
    /// Write a campaign's jobs and scheduler files into DIR.
    Write {
        dir: PathBuf,
        #[arg(long, default_value_t = 5000)]
        networks: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Test vectors per network in Verilator.
        #[arg(long, default_value_t = 1000)]
        vectors: usize,
    },
    /// Run job K of the campaign in DIR.
    Job { dir: PathBuf, k: u64 },
    /// Merge the results of DIR into summary.json.
    Merge { dir: PathBuf },
}

/// `campaign.json`.
#[derive(Serialize, Deserialize)]
struct Spec {
    networks: u64,
    seed: u64,
    vectors: usize,
    /// A campaign of synthesis runs instead of random networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synth: Option<SynthSpec>,
}

/// Synthesis of build directories `points/point-ID` (the Pareto points
/// of `neurtl explore --synth-jobs`), one job per point.
#[derive(Serialize, Deserialize)]
pub struct SynthSpec {
    /// `neurtl synth --device` and `--clock`.
    pub device: String,
    pub clock: String,
    /// Point ids, in job order.
    pub points: Vec<usize>,
}

/// `results/K.json`.
#[derive(Serialize, Deserialize)]
struct JobResult {
    job: u64,
    seed: u64,
    generator: String,
    args: Vec<String>,
    passed: bool,
    /// The step that failed, or "done".
    stage: String,
    vectors: usize,
    mismatches: usize,
    seconds: f64,
    /// The failure's first lines.
    detail: String,
}

pub fn main(a: Args) -> Result<ExitCode> {
    match a.step {
        Step::Write {
            dir,
            networks,
            seed,
            vectors,
        } => write(
            &dir,
            Spec {
                networks,
                seed,
                vectors,
                synth: None,
            },
        ),
        Step::Job { dir, k } => job(&dir, k),
        Step::Merge { dir } => merge(&dir),
    }
}

fn write(dir: &Path, spec: Spec) -> Result<ExitCode> {
    if spec.networks == 0 {
        bail!("--networks must be at least 1");
    }
    let n = spec.networks;
    let d = write_runners(dir, &spec)?;
    println!(
        "{n} jobs in {d}: run {d}/run-local.sh (GNU parallel), sbatch {d}/slurm.sh or condor_submit {d}/condor.sub"
    );
    Ok(ExitCode::SUCCESS)
}

/// A synthesis campaign over the build directories `dir/points/point-ID`
/// already written; returns the directory as the scripts name it.
pub fn write_synth(dir: &Path, synth: SynthSpec) -> Result<String> {
    let spec = Spec {
        networks: synth.points.len() as u64,
        seed: 0,
        vectors: 0,
        synth: Some(synth),
    };
    write_runners(dir, &spec)
}

/// `campaign.json`, one `neurtl campaign job` line per job (`jobs.txt`),
/// and the runners for GNU parallel, Slurm and HTCondor; returns the
/// campaign's absolute directory.
fn write_runners(dir: &Path, spec: &Spec) -> Result<String> {
    for sub in ["results", "work", "logs"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let dir = dir.canonicalize()?;
    let exe = std::env::current_exe()?.canonicalize()?;
    let (exe, d) = (exe.display(), dir.display());
    let put = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).with_context(|| format!("{d}/{name}"))
    };
    put("campaign.json", serde_json::to_string_pretty(spec)? + "\n")?;
    let jobs: String = (0..spec.networks)
        .map(|k| format!("{exe} campaign job {d} {k}\n"))
        .collect();
    put("jobs.txt", jobs)?;
    put(
        "run-local.sh",
        format!(
            "#!/bin/sh\n# Every job on all cores; run again to resume (the job log skips\n# what finished). Then: {exe} campaign merge {d}\nbar=; [ -t 2 ] && bar=--bar\nexec parallel --will-cite --joblog {d}/joblog --resume $bar -j \"${{JOBS:-$(nproc)}}\" < {d}/jobs.txt\n"
        ),
    )?;
    // Yosys on a large point takes many minutes; a random network, seconds.
    let time = if spec.synth.is_some() {
        "04:00:00"
    } else {
        "00:30:00"
    };
    put(
        "slurm.sh",
        format!(
            "#!/bin/sh\n#SBATCH --job-name=neurtl-campaign\n#SBATCH --array=0-{last}\n#SBATCH --cpus-per-task=1\n#SBATCH --time={time}\n#SBATCH --output={d}/logs/%a.out\n# sbatch slurm.sh; afterwards {exe} campaign merge {d}\nexec {exe} campaign job {d} \"$SLURM_ARRAY_TASK_ID\"\n",
            last = spec.networks - 1
        ),
    )?;
    put(
        "condor.sub",
        format!(
            "# condor_submit condor.sub; afterwards {exe} campaign merge {d}\nexecutable = {exe}\narguments = campaign job {d} $(Process)\noutput = {d}/logs/$(Process).out\nerror = {d}/logs/$(Process).err\nlog = {d}/condor.log\nrequest_cpus = 1\nqueue {}\n",
            spec.networks
        ),
    )?;
    #[cfg(unix)]
    for f in ["run-local.sh", "slurm.sh"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(d.to_string())
}

/// Job `k`'s network, its generator's name and its compile options.
fn network(seed: u64, k: u64) -> (serde_json::Value, &'static str, Vec<String>) {
    let (model, name, target) = match k % 5 {
        0 => (testgen::random_mlp(seed), "mlp", "fpga"),
        1 => (testgen::random_exact_mlp(seed), "exact_mlp", "mac"),
        2 => {
            let t = ["fpga", "mac", "tl-cells", "tl-pe"][(k / 5 % 4) as usize];
            (testgen::random_bnn(seed), "bnn", t)
        }
        3 => (testgen::random_conv(seed), "conv", "fpga"),
        _ => (testgen::random_conv_exact(seed), "conv_exact", "mac"),
    };
    let pipeline = ["clock", "layer", "none"][(seed % 3) as usize];
    let clock = ["100MHz", "200MHz", "400MHz", "800MHz"][(seed / 3 % 4) as usize];
    let args = ["--target", target, "--pipeline", pipeline, "--clock", clock];
    (model, name, args.iter().map(|s| s.to_string()).collect())
}

fn job(dir: &Path, k: u64) -> Result<ExitCode> {
    let spec: Spec = serde_json::from_str(
        &std::fs::read_to_string(dir.join("campaign.json")).with_context(|| {
            format!(
                "{}: not a campaign (run `neurtl campaign write`)",
                dir.display()
            )
        })?,
    )?;
    if k >= spec.networks {
        bail!("job {k}: the campaign has {} jobs", spec.networks);
    }
    if let Some(synth) = &spec.synth {
        return synth_job(dir, k, synth);
    }
    let start = Instant::now();
    let seed = spec.seed + k;
    let (model, generator, args) = network(seed, k);
    let work = dir.join("work").join(k.to_string());
    std::fs::create_dir_all(&work)?;
    std::fs::write(
        work.join("model.json"),
        serde_json::to_string_pretty(&model)?,
    )?;
    let mut r = JobResult {
        job: k,
        seed,
        generator: generator.into(),
        args,
        passed: false,
        stage: String::new(),
        vectors: 0,
        mismatches: 0,
        seconds: 0.0,
        detail: String::new(),
    };
    match steps(&work, &spec, &mut r) {
        Ok(()) => {
            r.passed = true;
            r.stage = "done".into();
            std::fs::remove_dir_all(&work)?;
        }
        Err((stage, detail)) => {
            r.stage = stage.into();
            r.detail = detail.lines().take(20).collect::<Vec<_>>().join("\n");
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    let path = dir.join("results").join(format!("{k}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&r)? + "\n")?;
    println!(
        "job {k} ({generator}, seed {seed}): {} at {}, {} vectors, {} mismatches, {:.1} s",
        if r.passed { "passed" } else { "FAILED" },
        r.stage,
        r.vectors,
        r.mismatches,
        r.seconds
    );
    Ok(if r.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

type StepError = (&'static str, String);

/// Compile, interpret, lint and simulate job `r` in `work`.
fn steps(work: &Path, spec: &Spec, r: &mut JobResult) -> Result<(), StepError> {
    let exe = std::env::current_exe().map_err(|e| ("compile", e.to_string()))?;
    let build = work.join("build");
    let vectors = spec.vectors.to_string();
    let model = work.join("model.json");
    let mut compile: Vec<&str> = vec!["compile", model.to_str().unwrap(), "-o"];
    compile.extend([build.to_str().unwrap(), "--vectors", &vectors]);
    compile.extend(r.args.iter().map(String::as_str));
    run(&exe, &compile, work, "compile.log").map_err(|e| ("compile", e))?;
    let info = BuildInfo::load(&build).map_err(|e| ("compile", e.to_string()))?;
    interpret(&build, &info, spec.vectors, r.seed).map_err(|e| ("datapath", e))?;
    neurtl::sim::lint(&build, &info.top).map_err(|e| ("lint", e.to_string()))?;
    let out = run(
        &exe,
        &["simulate", build.to_str().unwrap()],
        work,
        "simulate.log",
    );
    let text = match &out {
        Ok(t) | Err(t) => t.clone(),
    };
    if let Some((v, m)) = counts(&text) {
        (r.vectors, r.mismatches) = (v, m);
    }
    out.map(|_| ()).map_err(|e| ("simulate", e))
}

/// `exe args` in `dir`, its output kept in `dir/log`; the output, or
/// the error with it.
fn run(exe: &Path, args: &[&str], dir: &Path, log: &str) -> Result<String, String> {
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::write(dir.join(log), &text);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// The datapath interpreter against the golden model on the build's
/// options, `n` random vectors.
fn interpret(build: &Path, info: &BuildInfo, n: usize, seed: u64) -> Result<(), String> {
    let opts = info.options.options().map_err(|e| e.to_string())?;
    let c = neurtl::compile::compile_file(&build.join("model.json"), opts, None)
        .map_err(|e| e.to_string())?;
    let golden = c.golden().map_err(|e| e.to_string())?;
    let dp = c.datapath().map_err(|e| e.to_string())?;
    neurtl::fuzzing::datapath_matches_golden(&golden, &dp, n, seed)
}

/// `N vectors, M mismatches` from `neurtl simulate`'s summary line.
fn counts(text: &str) -> Option<(usize, usize)> {
    let line = text
        .lines()
        .find(|l| l.contains(" vectors, ") && l.contains(" mismatches"))?;
    let mut words = line.split_whitespace();
    let v = words.next()?.parse().ok()?;
    let m = words.nth(1)?.parse().ok()?;
    Some((v, m))
}

/// `results/K.json` of a synthesis campaign; the figures are in the
/// point's `synth-<flow>.json`.
#[derive(Serialize, Deserialize)]
struct SynthResult {
    job: u64,
    point: usize,
    passed: bool,
    seconds: f64,
    /// The failure's last lines.
    detail: String,
}

/// Point `point`'s build directory in synthesis campaign `dir`.
pub fn point_dir(dir: &Path, point: usize) -> PathBuf {
    dir.join("points").join(format!("point-{point}"))
}

/// `neurtl synth` on point `k`'s build directory.
fn synth_job(dir: &Path, k: u64, synth: &SynthSpec) -> Result<ExitCode> {
    let start = Instant::now();
    let point = synth.points[k as usize];
    let build = point_dir(dir, point);
    let exe = std::env::current_exe()?;
    let args = [
        "synth",
        build.to_str().context("a non-UTF-8 campaign path")?,
        "--device",
        &synth.device,
        "--clock",
        &synth.clock,
    ];
    let out = run(&exe, &args, &dir.join("logs"), &format!("synth-{k}.log"));
    let r = SynthResult {
        job: k,
        point,
        passed: out.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
        detail: out.err().map_or(String::new(), |e| last_lines(&e, 20)),
    };
    let path = dir.join("results").join(format!("{k}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&r)? + "\n")?;
    println!(
        "job {k} (point {point}): synthesis {} in {:.1} s",
        if r.passed { "done" } else { "FAILED" },
        r.seconds
    );
    Ok(if r.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One point of a merged synthesis campaign.
#[derive(Serialize)]
struct SynthRow {
    point: usize,
    passed: bool,
    /// `neurtl synth`'s estimate-against-synthesis rows.
    comparison: serde_json::Value,
}

fn merge_synth(dir: &Path, synth: &SynthSpec) -> Result<ExitCode> {
    let device: neurtl::device::DeviceSpec = synth.device.parse()?;
    let flow = neurtl::synth::Flow::of(device.family).name();
    let mut rows = vec![];
    for (k, &point) in synth.points.iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(dir.join("results").join(format!("{k}.json")))
        else {
            continue;
        };
        let r: SynthResult = serde_json::from_str(&text)?;
        let figures = point_dir(dir, point).join(format!("synth-{flow}.json"));
        let comparison = if r.passed {
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&figures)
                    .with_context(|| format!("{}", figures.display()))?,
            )?;
            v["comparison"].clone()
        } else {
            serde_json::Value::Null
        };
        rows.push(SynthRow {
            point,
            passed: r.passed,
            comparison,
        });
    }
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "device": synth.device, "flow": flow, "clock": synth.clock,
            "points": synth.points.len(), "done": rows.len(), "results": rows,
        }))? + "\n",
    )?;
    print!("{}", synth_table(&rows));
    let failed = rows.iter().filter(|r| !r.passed).count();
    println!(
        "{} of {} points synthesized ({}), {failed} failed; written: {}",
        rows.len() - failed,
        synth.points.len(),
        synth.device,
        dir.join("summary.json").display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Estimate and synthesized figure of each point, one column pair per
/// quantity.
fn synth_table(rows: &[SynthRow]) -> String {
    let quantities = ["luts", "flip_flops", "critical_path_ns"];
    let mut t = format!("{:>6}", "point");
    for q in quantities {
        t += &format!(" {:>18}", format!("{q} est/synth"));
    }
    t += "\n";
    for r in rows {
        t += &format!("{:>6}", r.point);
        for q in quantities {
            let cell = r
                .comparison
                .as_array()
                .and_then(|a| a.iter().find(|c| c["quantity"] == q))
                .map_or("-".to_string(), |c| {
                    format!("{}/{}", c["estimate"], c["synthesized"])
                });
            t += &format!(" {cell:>18}");
        }
        t += if r.passed { "\n" } else { "  FAILED\n" };
    }
    t
}

/// `summary.json`.
#[derive(Serialize)]
struct Summary {
    networks: u64,
    done: u64,
    passed: u64,
    failed: Vec<u64>,
    vectors: u64,
    mismatches: u64,
    by_generator: std::collections::BTreeMap<String, u64>,
    seconds: f64,
}

fn merge(dir: &Path) -> Result<ExitCode> {
    let spec: Spec = serde_json::from_str(&std::fs::read_to_string(dir.join("campaign.json"))?)?;
    if let Some(synth) = &spec.synth {
        return merge_synth(dir, synth);
    }
    let mut s = Summary {
        networks: spec.networks,
        done: 0,
        passed: 0,
        failed: vec![],
        vectors: 0,
        mismatches: 0,
        by_generator: Default::default(),
        seconds: 0.0,
    };
    for k in 0..spec.networks {
        let path = dir.join("results").join(format!("{k}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let r: JobResult =
            serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
        s.done += 1;
        s.vectors += r.vectors as u64;
        s.mismatches += r.mismatches as u64;
        s.seconds += r.seconds;
        *s.by_generator.entry(r.generator.clone()).or_default() += 1;
        if r.passed {
            s.passed += 1;
        } else {
            s.failed.push(k);
        }
    }
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&s)? + "\n",
    )?;
    println!(
        "{} of {} networks done: {} passed, {} failed; {} vectors, {} mismatches; {:.0} s of jobs",
        s.done,
        s.networks,
        s.passed,
        s.failed.len(),
        s.vectors,
        s.mismatches,
        s.seconds
    );
    for k in s.failed.iter().take(20) {
        println!(
            "  failed: job {k}, kept in {}",
            dir.join("work").join(k.to_string()).display()
        );
    }
    Ok(if s.failed.is_empty() && s.mismatches == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
