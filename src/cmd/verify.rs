//! `neurtl verify DIR --formal`: proves the build directory's RTL equal,
//! for every input stream, to a naive description of the model printed
//! straight from the graph IR (`neurtl::formal`). Exit 0 when proved, 1
//! when a counterexample or the time limit ends it.

use super::BuildInfo;
use anyhow::{Result, bail};
use neurtl::formal::{self, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A build directory written by `neurtl compile` or `neurtl run`.
    pub dir: PathBuf,
    /// Prove with Yosys' SAT solver (the only check `verify` has; the
    /// simulation is `neurtl simulate`).
    #[arg(long)]
    pub formal: bool,
    /// Seconds the solver may take.
    #[arg(long, default_value_t = 600)]
    pub timeout: u32,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if !a.formal {
        bail!("nothing to verify: pass --formal (simulation is `neurtl simulate DIR`)");
    }
    let info = BuildInfo::load(&a.dir)?;
    let opts = info.options.options()?;
    let c = neurtl::compile::compile_file(&a.dir.join("model.json"), opts, None)?;
    let design = neurtl::compile::describe(&c)?;
    if design.top != info.top {
        bail!(
            "{}: the RTL's top is `{}` but the model now compiles to `{}`; run `neurtl compile` again",
            a.dir.display(),
            info.top,
            design.top
        );
    }
    let p = formal::prove(c.lowered()?, &design, &a.dir, a.timeout)?;
    let what = format!(
        "`{}` (latency {}, {} input bits) against the model's reference, over {} cycles of any input stream",
        design.top, design.latency, design.in_bits, p.steps
    );
    Ok(match p.verdict {
        Verdict::Proved => {
            println!("proved: {what}, in {:.2} s", p.seconds);
            ExitCode::SUCCESS
        }
        Verdict::Differs(cex) => {
            println!(
                "FAILED: {what}: the outputs differ; {cex} (log: {})",
                p.log.display()
            );
            ExitCode::from(1)
        }
        Verdict::Timeout => {
            println!(
                "UNDECIDED: {what}: no proof within {} s (log: {})",
                a.timeout,
                p.log.display()
            );
            ExitCode::from(1)
        }
    })
}
