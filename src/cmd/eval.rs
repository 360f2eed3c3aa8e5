//! `neurtl eval MODEL --inputs X -o Y`: golden model (or float reference).

use anyhow::Result;
use neurtl::compile::compile_file;
use neurtl::golden::wire_to_real;
use neurtl::ir::CompileOptions;
use neurtl::vectors::{read_table, table_to_raw, write_table};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    pub model: PathBuf,
    /// Input samples, .npy or CSV, one sample per row.
    #[arg(long)]
    pub inputs: PathBuf,
    /// Output file, .npy or CSV.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Inputs and outputs as raw two's-complement integers.
    #[arg(long)]
    pub raw: bool,
    /// Run the float reference of the unquantized model instead.
    #[arg(long, conflicts_with = "raw")]
    pub float: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let c = compile_file(&a.model, CompileOptions::default(), None)?;
    let t = read_table(&a.inputs)?;
    let n_out = c.graph.output_elements();
    let mut out = vec![];
    if a.float {
        for row in t.values.chunks(t.cols) {
            out.extend(c.float.run(&c.float.port_values(row)));
        }
    } else {
        let golden = c.golden()?;
        let raw_in = table_to_raw(&a.inputs, &t, &c.input_types(), a.raw)?;
        let mut raw_out = vec![];
        golden.run_batch(&raw_in, &mut raw_out);
        let elems = golden.output_elements();
        let fmts: Vec<_> = elems.iter().map(|e| e.0).collect();
        if a.raw && fmts.iter().any(|f| f.width > 53) {
            anyhow::bail!(
                "--raw output wider than 53 bits cannot be written exactly; outputs here are up to {} bits",
                fmts.iter().map(|f| f.width).max().unwrap_or(0)
            );
        }
        for (k, v) in raw_out.iter().enumerate() {
            let f = fmts[k % n_out];
            out.push(if a.raw {
                *v as f64
            } else {
                wire_to_real(*v, f, elems[k % n_out].1)
            });
        }
    }
    write_table(&a.out, n_out, &out, a.raw)?;
    println!(
        "wrote {} samples to {}",
        out.len() / n_out.max(1),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
