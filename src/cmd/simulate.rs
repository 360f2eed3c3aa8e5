//! `neurtl simulate DIR`

use super::{BuildInfo, VectorArgs, build_dir, measured, sim_ok, spinner};
use anyhow::Result;
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
    if a.vec.vectors.is_some() || a.vec.inputs.is_some() {
        // New vectors: recompile from the model copy with the same options.
        let pipe = info.options.clone();
        let b = build_dir(&a.dir.join("model.json"), &a.dir, &pipe, &a.vec, 1000)?;
        info.vectors = b.n;
        info.latency = b.info.latency;
        info.ii = b.info.ii;
    }
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
    Ok(if sim_ok(&r, info.vectors, info.latency, info.ii) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
