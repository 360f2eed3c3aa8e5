//! `neurtl run MODEL`: compile, simulate in Verilator, summarize.

use super::{PipeArgs, VectorArgs, build_dir, spinner};
use anyhow::Result;
use neurtl::compile::Compiled;
use neurtl::golden::wire_to_real;
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
    /// Clock frequency in MHz, to express the latency in ns.
    #[arg(long, default_value_t = 200.0)]
    pub clock: f64,
    #[arg(long, value_enum, default_value = "verilator")]
    pub simulator: Simulator,
    #[command(flatten)]
    pub pipe: PipeArgs,
    #[command(flatten)]
    pub vec: VectorArgs,
}

/// Largest |golden − float| per output over the samples, in real units.
fn float_error(c: &Compiled, raw_in: &[i128]) -> Result<Vec<(String, f64)>> {
    let golden = c.golden()?;
    let n_in = golden.input_len();
    let in_el = golden.input_elements();
    let out_el = golden.output_elements();
    let names: Vec<String> = c
        .graph
        .outputs
        .iter()
        .flat_map(|&o| std::iter::repeat_n(c.graph.node(o).name.clone(), c.graph.node(o).size()))
        .collect();
    let mut worst: Vec<(String, f64)> = vec![];
    for sample in raw_in.chunks(n_in) {
        let real: Vec<f64> = sample
            .iter()
            .zip(&in_el)
            .map(|(&r, &(f, b))| wire_to_real(r, f, b))
            .collect();
        let fl = c.float.run(&real);
        let gd = golden.run(sample);
        for (k, (g, f)) in gd.iter().zip(&fl).enumerate() {
            let e = (wire_to_real(*g, out_el[k].0, out_el[k].1) - f).abs();
            match worst.iter_mut().find(|w| w.0 == names[k]) {
                Some(w) => w.1 = w.1.max(e),
                None => worst.push((names[k].clone(), e)),
            }
        }
    }
    Ok(worst)
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
    let (c, top, n) = build_dir(&a.model, &out, &a.pipe, &a.vec, 10_000)?;
    let latency = c.graph.meta.latency.unwrap_or(0);
    pb.set_message(format!("simulating {n} vectors ({:?})", a.simulator));
    let r = simulate(&out, &top, a.simulator)?;
    pb.finish_and_clear();
    for d in &r.details {
        println!("{d}");
    }
    let golden = c.golden()?;
    let inputs = super::input_samples(&c, &golden, &a.vec, 10_000)?;
    let err = float_error(&c, &inputs[..inputs.len().min(golden.input_len() * 2000)])?;
    println!("model        {} ({})", c.graph.name, a.model.display());
    println!("build        {} (top `{top}`)", out.display());
    println!(
        "latency      {latency} cycles = {:.1} ns at {} MHz (report); testbench measured {} cycles",
        latency as f64 * 1000.0 / a.clock,
        a.clock,
        r.latency
    );
    println!(
        "vectors      {} through {:?}, one per clock",
        r.vectors, a.simulator
    );
    println!("mismatches   {}", r.mismatches);
    for (name, e) in &err {
        println!(
            "golden vs float: max |error| on `{name}` = {e:.6} (over {} samples)",
            (inputs.len() / golden.input_len()).min(2000)
        );
    }
    let ok = super::sim_ok(&r, n, latency);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
