//! `neurtl import MODEL.onnx -o MODEL.json`: ONNX/QONNX to neurtl model
//! JSON, with the choices the ONNX file leaves open made explicit.

use anyhow::{Context, Result};
use neurtl::compile::read_model;
use neurtl::fixed::parse_type;
use neurtl::frontend::onnx::ImportOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// An .onnx file (plain ONNX or QONNX).
    pub model: PathBuf,
    /// Where to write the neurtl model JSON.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Type of graph inputs that no Quant/BipolarQuant node types.
    #[arg(long, default_value = "fixed<16,6>")]
    pub input_type: String,
    /// Float weights needing more bits than this to be exact are rounded
    /// to this many bits.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub weight_bits: u32,
    /// Model name (default: the ONNX graph's name).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let opts = ImportOptions {
        input_type: parse_type(&a.input_type)
            .map_err(|e| anyhow::anyhow!("--input-type `{}`: {e}", a.input_type))?,
        weight_bits: a.weight_bits,
        name: a.name.clone(),
    };
    if !neurtl::compile::is_onnx(&a.model) {
        anyhow::bail!("{}: not an .onnx file", a.model.display());
    }
    let (text, notes) = read_model(&a.model, &opts)?;
    for n in &notes {
        println!("note: {n}");
    }
    // The result must be a model neurtl reads; check before writing.
    neurtl::frontend::json::parse_model(&text).map_err(|e| {
        anyhow::anyhow!("{}: the imported model is invalid: {e}", a.model.display())
    })?;
    std::fs::write(&a.out, text + "\n").with_context(|| format!("writing {}", a.out.display()))?;
    println!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}
