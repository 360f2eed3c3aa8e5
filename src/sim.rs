//! Running the generated testbenches: builds with Verilator or Icarus from
//! PATH and reads the harness's `RESULT` line.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Simulator {
    Verilator,
    Iverilog,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "`{tool}` was not found on PATH; run `make deps` (installs Verilator, Icarus and Yosys)"
    )]
    Missing { tool: &'static str },
    #[error("{what} failed (exit {code:?}):\n{log}")]
    Failed {
        what: String,
        code: Option<i32>,
        log: String,
    },
    #[error("the simulation printed no RESULT line:\n{0}")]
    NoResult(String),
}

/// What a simulation run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimResult {
    pub vectors: u64,
    pub mismatches: u64,
    pub latency: i64,
    /// The harness's mismatch lines, if any.
    pub details: Vec<String>,
}

fn run(cmd: &mut Command, what: &str) -> Result<String, SimError> {
    let out = cmd.output().map_err(|_| SimError::Missing {
        tool: if what.contains("verilator") {
            "verilator"
        } else {
            "iverilog"
        },
    })?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() && !log.contains("RESULT ") {
        return Err(SimError::Failed {
            what: what.to_string(),
            code: out.status.code(),
            log: log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    Ok(log)
}

fn parse(log: &str) -> Result<SimResult, SimError> {
    let line = log
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| SimError::NoResult(log.to_string()))?;
    let field = |k: &str| -> i64 {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    };
    Ok(SimResult {
        vectors: field("vectors").max(0) as u64,
        mismatches: field("mismatches").max(0) as u64,
        latency: field("latency"),
        details: log
            .lines()
            .filter(|l| l.starts_with("MISMATCH") || l.starts_with("ERROR"))
            .map(String::from)
            .collect(),
    })
}

fn rtl_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("rtl"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "v"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Build (if needed) and run the testbench in build directory `dir`.
pub fn simulate(dir: &Path, top: &str, sim: Simulator) -> Result<SimResult, SimError> {
    // Verilator and vvp run in other directories: use absolute paths.
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir = abs.as_path();
    let files = rtl_files(dir);
    match sim {
        Simulator::Verilator => {
            let mdir = dir.join("obj_verilator");
            // Compiling the generated C++ dominates: -O0 builds the jet
            // tagger in a quarter of the -O1 time, and its simulation is
            // still well under a second per 10,000 vectors. Long runs get
            // the optimized build.
            let n_vec = std::fs::read_to_string(dir.join("vectors/in.hex"))
                .map(|t| t.lines().count())
                .unwrap_or(0);
            let opt = if n_vec > 200_000 { "-O1" } else { "-O0" };
            let opt_fast = format!("OPT_FAST={opt}");
            let jobs = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .to_string();
            run(
                Command::new("verilator")
                    .args([
                        "--cc",
                        "--exe",
                        "--build",
                        "-j",
                        &jobs,
                        "--top-module",
                        top,
                        "-o",
                        "sim",
                    ])
                    .args([
                        "-Wno-DECLFILENAME",
                        "-Wno-UNUSEDPARAM",
                        "--x-assign",
                        "fast",
                        "--x-initial",
                        "fast",
                        // Verilator 5.006's DFG optimizer fails with an
                        // internal error ("Extend of wrong size") on some
                        // designs where one adder feeds many others; the
                        // other optimizations are unaffected.
                        "-fno-dfg",
                    ])
                    .arg("-Mdir")
                    .arg(&mdir)
                    .args([
                        "-CFLAGS",
                        opt,
                        "-CFLAGS",
                        "-std=c++17",
                        "-MAKEFLAGS",
                        &opt_fast,
                    ])
                    .args(&files)
                    .arg(dir.join("tb/harness.cpp")),
                "verilator build",
            )?;
            let log = run(
                Command::new(mdir.join("sim"))
                    .arg(dir.join("vectors/in.hex"))
                    .arg(dir.join("vectors/expected.hex")),
                "verilator simulation",
            )?;
            parse(&log)
        }
        Simulator::Iverilog => {
            let odir = dir.join("obj_icarus");
            std::fs::create_dir_all(&odir).ok();
            run(
                Command::new("iverilog")
                    .args(["-g2005", "-o"])
                    .arg(odir.join("sim.vvp"))
                    .args(["-s", &format!("tb_{top}")])
                    .args(&files)
                    .arg(dir.join(format!("tb/tb_{top}.v"))),
                "iverilog build",
            )?;
            let log = run(
                Command::new("vvp")
                    .arg("-n")
                    .arg(odir.join("sim.vvp"))
                    .current_dir(dir),
                "iverilog simulation",
            )?;
            parse(&log)
        }
    }
}

/// `verilator --lint-only -Wall` on the generated RTL; returns the log.
pub fn lint(dir: &Path, top: &str) -> Result<(), SimError> {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir = abs.as_path();
    run(
        Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", top])
            .args(rtl_files(dir)),
        "verilator lint",
    )
    .map(|_| ())
}
