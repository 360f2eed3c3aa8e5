//! `neurtl bench MODEL`: golden-model throughput, one thread, batched.

use anyhow::Result;
use neurtl::compile::compile_file;
use neurtl::ir::CompileOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    pub model: PathBuf,
    /// Samples per batch.
    #[arg(long, default_value_t = 100_000)]
    pub samples: usize,
    /// Timed repetitions (the best is reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let c = compile_file(&a.model, CompileOptions::default(), None)?;
    let golden = c.golden()?;
    let inputs = neurtl::vectors::random(&golden.input_formats, a.samples, 7);
    let mut out = Vec::with_capacity(a.samples * golden.output_len());
    let mut best = f64::INFINITY;
    let mut check = 0i128;
    for _ in 0..a.repeat.max(1) {
        out.clear();
        let t = Instant::now();
        golden.run_batch(&inputs, &mut out);
        best = best.min(t.elapsed().as_secs_f64());
        check = check.wrapping_add(out.iter().fold(0i128, |s, v| s.wrapping_add(*v)));
    }
    println!(
        "{}: {} samples in {:.3} s = {:.0} samples/s (golden model, 1 thread, best of {}; checksum {check})",
        c.graph.name,
        a.samples,
        best,
        a.samples as f64 / best,
        a.repeat
    );
    Ok(ExitCode::SUCCESS)
}
