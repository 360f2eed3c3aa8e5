//! `neurtl estimate MODEL [--clock 250MHz] [--device D] [--json]`:
//! latency, interval, timing and hardware counts without synthesis or
//! simulation.

use super::PipeArgs;
use anyhow::{Result, bail};
use neurtl::compile::compile_file;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model (neurtl JSON or .onnx).
    pub model: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pipe: PipeArgs,
}

/// A clock given as a frequency or a period, in MHz.
pub(super) fn parse_clock(s: &str) -> Result<f64> {
    let t = s.trim().to_ascii_lowercase();
    // (number, MHz per unit, whether the unit is a period)
    let (num, scale, period) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1e3, true)
    } else if let Some(n) = t.strip_suffix("ghz") {
        (n, 1e3, false)
    } else {
        (t.strip_suffix("mhz").unwrap_or(&t), 1.0, false)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("--clock `{s}`: expected e.g. 250MHz, 250 or 4ns"))?;
    if !(v.is_finite() && v > 0.0) {
        bail!("--clock `{s}`: must be positive");
    }
    Ok(if period { scale / v } else { scale * v })
}

pub fn main(a: Args) -> Result<ExitCode> {
    let mhz = a.pipe.clock_mhz()?;
    let c = compile_file(&a.model, a.pipe.options()?, None)?;
    super::print_notes(&a.model, &c.graph.meta);
    let device = a.pipe.device();
    let mut e = neurtl::estimate::estimate_on(&c, mhz, device.family)?;
    if let Some(p) = device.part {
        e = e.on_part(p);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", e.table());
    }
    Ok(ExitCode::SUCCESS)
}
