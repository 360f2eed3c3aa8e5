//! `neurtl simulate DIR`: run a build directory's testbench (with new
//! vectors when asked) and record the result in its `report.html`.

use super::{BuildInfo, VectorArgs, build_dir, measured, sim_ok, spinner};
use anyhow::{Context, Result};
use neurtl::report_html::{Page, Simulation};
use neurtl::sim::{Simulator, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A directory written by `neurtl compile`.
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "verilator")]
    pub simulator: Simulator,
    #[command(flatten)]
    pub vec: VectorArgs,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let mut info = BuildInfo::load(&a.dir)?;
    let model = a.dir.join("model.json");
    let built = if a.vec.vectors.is_some() || a.vec.inputs.is_some() {
        // New vectors: recompile from the model copy with the same options.
        let pipe = info.options.clone();
        let b = build_dir(&model, &a.dir, &pipe, &a.vec, 1000)?;
        info.vectors = b.n;
        info.latency = b.info.latency;
        info.ii = b.info.ii;
        Some(b)
    } else {
        None
    };
    let pb = spinner("simulating");
    let r = simulate(&a.dir, &info.top, a.simulator)?;
    pb.finish_and_clear();
    for d in &r.details {
        println!("{d}");
    }
    println!(
        "{} vectors, {} mismatches, measured latency {}, II {}",
        r.vectors,
        r.mismatches,
        measured(r.latency),
        measured(r.ii)
    );
    let ok = sim_ok(&r, info.vectors, info.latency, info.ii);
    let sim = Simulation {
        simulator: format!("{:?}", a.simulator),
        vectors_expected: info.vectors,
        vectors: r.vectors,
        mismatches: r.mismatches,
        measured_latency: r.latency,
        measured_ii: r.ii,
        passed: ok,
    };
    let (c, design) = match built {
        Some(b) => (b.c, b.info),
        None => {
            let c = neurtl::compile::compile_file(&model, info.options.options()?, None)?;
            let design = neurtl::compile::describe(&c)?;
            (c, design)
        }
    };
    let page = Page {
        graph: &c.graph,
        info: &design,
        model: model.display().to_string(),
        clock_mhz: info.options.clock_mhz()?,
        simulation: Some(sim),
        quality: None,
    };
    let html = a.dir.join("report.html");
    std::fs::write(&html, neurtl::report_html::render(&page)?)
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
