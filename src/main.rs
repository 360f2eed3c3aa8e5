//! The `neurtl` command line. Each subcommand lives in `src/cmd/<name>.rs`.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "neurtl",
    version,
    about = "Trained neural networks to bit-exact, pipelined Verilog"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a model: RTL, testbenches, golden vectors and report.json.
    Compile(cmd::compile::Args),
    /// Build and run a compiled design's testbench; non-zero exit on mismatch.
    Simulate(cmd::simulate::Args),
    /// Compile, simulate and summarize in one step.
    Run(cmd::run::Args),
    /// Run the golden model (or the float reference) on given inputs.
    Eval(cmd::eval::Args),
    /// Latency, interval, timing and hardware counts, without synthesis.
    Estimate(cmd::estimate::Args),
    /// Sweep precisions and pipelining; accuracy, cost and the Pareto front.
    Explore(cmd::explore::Args),
    /// Convert an ONNX/QONNX model to neurtl model JSON.
    Import(cmd::import::Args),
    /// Print the IR, optionally after a given pass.
    Inspect(cmd::inspect::Args),
    /// Measure the golden model's throughput.
    Bench(cmd::bench::Args),
    /// Synthesize a build directory with Yosys (and nextpnr) beside the estimate.
    Synth(cmd::synth::Args),
    /// Prove a build directory's RTL equal to the model, for every input (`--formal`).
    Verify(cmd::verify::Args),
    /// Random networks through the whole flow as jobs (GNU parallel, Slurm, HTCondor).
    Campaign(cmd::campaign::Args),
}

/// `neurtl … | head` must end quietly when the reader goes away. Rust
/// ignores SIGPIPE, so every print after that would panic; with the
/// default action the process ends at its next write, as `cat` does.
#[cfg(unix)]
fn default_sigpipe() {
    unsafe extern "C" {
        fn signal(sig: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: called first in main, before any thread starts.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

fn main() -> ExitCode {
    default_sigpipe();
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Compile(a) => cmd::compile::main(a),
        Command::Simulate(a) => cmd::simulate::main(a),
        Command::Run(a) => cmd::run::main(a),
        Command::Eval(a) => cmd::eval::main(a),
        Command::Estimate(a) => cmd::estimate::main(a),
        Command::Explore(a) => cmd::explore::main(a),
        Command::Import(a) => cmd::import::main(a),
        Command::Inspect(a) => cmd::inspect::main(a),
        Command::Bench(a) => cmd::bench::main(a),
        Command::Synth(a) => cmd::synth::main(a),
        Command::Verify(a) => cmd::verify::main(a),
        Command::Campaign(a) => cmd::campaign::main(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            // Library errors already embed their cause in the message;
            // print each cause only once.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg = format!("{msg}: {c}");
                }
            }
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
