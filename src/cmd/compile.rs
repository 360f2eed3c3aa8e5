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
    let b = build_dir(&a.model, &a.out, &a.pipe, &a.vec, 1000)?;
    println!(
        "compiled {} -> {} (top `{}`, latency {} cycles, II {}, {} test vectors)",
        a.model.display(),
        a.out.display(),
        b.info.top,
        b.info.latency,
        b.info.ii,
        b.n
    );
    Ok(ExitCode::SUCCESS)
}
