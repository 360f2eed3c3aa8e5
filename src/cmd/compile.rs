//! `neurtl compile MODEL -o DIR`

use super::{PipeArgs, VectorArgs, build_dir};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model JSON file.
    pub model: PathBuf,
    /// Output directory.
    #[arg(short, long, default_value = "build")]
    pub out: PathBuf,
    #[command(flatten)]
    pub pipe: PipeArgs,
    #[command(flatten)]
    pub vec: VectorArgs,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let (c, top, n) = build_dir(&a.model, &a.out, &a.pipe, &a.vec, 1000)?;
    println!(
        "compiled {} -> {} (top `{top}`, latency {} cycles, {n} test vectors)",
        a.model.display(),
        a.out.display(),
        c.graph.meta.latency.unwrap_or(0)
    );
    Ok(ExitCode::SUCCESS)
}
