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
    #[error("the simulation's RESULT line has no number `{field}=`: {line}")]
    BadResult { field: &'static str, line: String },
}

/// What a simulation run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimResult {
    pub vectors: u64,
    pub mismatches: u64,
    /// Cycles from a sample being taken to its correct result at the
    /// output, the same for every sample; −1 if not measured or not one
    /// number (the details say which).
    pub latency: i64,
    /// Cycles between samples taken while the testbench offered one every
    /// cycle, the same for every pair; −1 as for `latency` (always with
    /// a single vector).
    pub ii: i64,
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
    // A missing or garbled field is an error, never a default: a run whose
    // mismatch count cannot be read has not shown that the design works.
    let field = |k: &'static str| -> Result<i64, SimError> {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SimError::BadResult {
                field: k,
                line: line.to_string(),
            })
    };
    let count = |k: &'static str| -> Result<u64, SimError> {
        u64::try_from(field(k)?).map_err(|_| SimError::BadResult {
            field: k,
            line: line.to_string(),
        })
    };
    Ok(SimResult {
        vectors: count("vectors")?,
        mismatches: count("mismatches")?,
        latency: field("latency")?,
        ii: field("ii")?,
        details: log
            .lines()
            .filter(|l| l.starts_with("MISMATCH") || l.starts_with("ERROR"))
            .map(String::from)
            .collect(),
    })
}

/// The design's Verilog, with the simulation models of any vendor cells
/// it instantiates (`rtl/sim/`, which synthesis does not read).
fn rtl_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = ["rtl", "rtl/sim"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).into_iter().flatten())
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// `OBJCACHE=ccache` when ccache is installed and NEURTL_CCACHE is not 0.
/// Every Verilator build compiles the same run-time library (about 6 s
/// of a core at `-Os`, more than a small network's own model), so a test
/// suite or a campaign of many small builds spends most of its time on
/// it without a cache.
fn object_cache() -> Option<&'static str> {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        std::env::var("NEURTL_CCACHE").map_or(true, |v| v != "0")
            && Command::new("ccache")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
    });
    found.then_some("OBJCACHE=ccache")
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
            let cache = object_cache();
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
                    .args(cache.iter().flat_map(|c| ["-MAKEFLAGS", c]))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_every_field() {
        let log = "MISMATCH sample 3 output y[0]: expected 1, got 2 (raw, frac 0)\n\
                   RESULT vectors=20 mismatches=1 latency=4 ii=1\n";
        let r = parse(log).unwrap();
        assert_eq!((r.vectors, r.mismatches, r.latency, r.ii), (20, 1, 4, 1));
        assert_eq!(r.details.len(), 1);
        // not measured
        let r = parse("RESULT vectors=1 mismatches=0 latency=0 ii=-1").unwrap();
        assert_eq!((r.latency, r.ii), (0, -1));
    }

    #[test]
    fn parse_rejects_missing_or_bad_fields() {
        for (line, field) in [
            ("RESULT vectors=20 latency=4 ii=1", "mismatches"),
            ("RESULT vectors=20 mismatches=0 ii=1", "latency"),
            ("RESULT vectors=20 mismatches=0 latency=4", "ii"),
            (
                "RESULT vectors=20 mismatches=x latency=4 ii=1",
                "mismatches",
            ),
            ("RESULT vectors=-1 mismatches=0 latency=4 ii=1", "vectors"),
            // a longer key is not the field
            (
                "RESULT vectors=20 mismatchesx=0 latency=4 ii=1",
                "mismatches",
            ),
        ] {
            match parse(line) {
                Err(SimError::BadResult { field: f, .. }) => assert_eq!(f, field, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        assert!(matches!(parse("no result"), Err(SimError::NoResult(_))));
    }
}
