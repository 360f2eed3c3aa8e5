//! `neurtl inspect MODEL [--after PASS]`

use anyhow::Result;
use neurtl::compile::compile_file;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    pub model: PathBuf,
    /// Stop after this pass (see --list-passes).
    #[arg(long)]
    pub after: Option<String>,
    /// List the passes in order and exit.
    #[arg(long)]
    pub list_passes: bool,
    #[command(flatten)]
    pub pipe: super::PipeArgs,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if a.list_passes {
        for (name, desc) in neurtl::passes::describe() {
            println!("{name:20} {desc}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let c = compile_file(&a.model, a.pipe.options()?, a.after.as_deref())?;
    super::print_notes(&a.model, &c.graph.meta);
    print!("{}", neurtl::ir::print::print(&c.graph));
    Ok(ExitCode::SUCCESS)
}
