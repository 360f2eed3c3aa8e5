//! `neurtl verify DIR --formal`: a proof, for every input, that the
//! generated design computes what the lowered graph means.
//!
//! The reference is [`naive`]: a second Verilog description printed
//! straight from the graph IR, sharing nothing with the datapath IR. A
//! miter feeds the generated top a free input in every cycle and the
//! reference the same input delayed by the design's latency; from the
//! cycle the pipeline is full, `bad` is 1 when the outputs differ. Yosys
//! maps the miter to an and-inverter graph, and ABC (`yosys-abc`, part of
//! Debian's yosys package) unrolls it over `latency + 1` cycles
//! (`frames -i`) and proves `bad` never 1 (`iprove`: SAT sweeping that
//! merges equal internal points, far faster here than one SAT call over
//! the word-level miter, which took 25 s on a 2-layer toy).
//!
//! Why that covers every cycle: the data path is feed-forward (its
//! registers have no reset and no feedback), so after `latency` cycles its
//! state is a function of the last `latency` inputs alone, whatever it
//! started from. The proof covers the II = 1 stream too: a register too
//! few or too many on some path mixes two samples and fails it. The valid
//! chain is the testbench's business; `out_valid` is not compared.

pub mod naive;

use crate::backend::verilog::DesignInfo;
use crate::ir::verify::Lowered;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum FormalError {
    #[error(transparent)]
    Unsupported(#[from] naive::Unsupported),
    #[error("the folded `tl-pe` array runs a schedule; --formal covers the parallel targets")]
    Folded,
    #[error(transparent)]
    Missing(#[from] crate::synth::SynthError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the proof did not run (see {log}):\n{tail}")]
    Tool { log: String, tail: String },
}

/// What the solver said.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Equal for every input sequence.
    Proved,
    /// A counterexample: `in_data` of the sample whose result differs, as
    /// Yosys printed it.
    Differs(String),
    /// The solver ran out of the time it was given.
    Timeout,
}

#[derive(Debug, Clone)]
pub struct Proof {
    pub verdict: Verdict,
    pub seconds: f64,
    /// Cycles the miter was unrolled over.
    pub steps: u32,
    pub log: PathBuf,
}

/// Prove the design in `dir/rtl` (listed by `rtl/files.f`, top
/// `info.top`) equal to the reference of `l`, working in `dir/formal`.
pub fn prove(
    l: Lowered<'_>,
    info: &DesignInfo,
    dir: &Path,
    timeout_s: u32,
) -> Result<Proof, FormalError> {
    if info.folded.is_some() || info.ii != 1 {
        return Err(FormalError::Folded);
    }
    let work = write_miter(l, info, dir)?;
    let yosys = crate::synth::find_yosys()?;
    let start = Instant::now();
    let left = || {
        timeout_s
            .saturating_sub(start.elapsed().as_secs() as u32)
            .max(1)
    };
    let steps = info.latency + 1;
    let log = work.join("abc.log");
    let verdict = if to_aig(&yosys, dir, &work, left())? {
        solve(&yosys.with_file_name("yosys-abc"), dir, steps, &log, left)?
    } else {
        write(&log, "Yosys did not map the miter within the time given\n")?;
        Verdict::Timeout
    };
    Ok(Proof {
        verdict,
        seconds: start.elapsed().as_secs_f64(),
        steps,
        log,
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FormalError {
    let path = path.display().to_string();
    move |source| FormalError::Io { path, source }
}

/// The reference, the miter and the Yosys script in `dir/formal`, which
/// is returned.
fn write_miter(l: Lowered<'_>, info: &DesignInfo, dir: &Path) -> Result<PathBuf, FormalError> {
    let work = dir.join("formal");
    std::fs::create_dir_all(&work).map_err(io_error(&work))?;
    let reference = format!("{}_reference", info.top);
    let text = naive::reference(l, &reference)?;
    write(&work.join("reference.v"), &text)?;
    write(&work.join("miter.v"), &miter(info, &reference))?;
    let list = dir.join("rtl/files.f");
    let files = std::fs::read_to_string(&list).map_err(io_error(&list))?;
    write(&work.join("miter.ys"), &script(&files))?;
    Ok(work)
}

/// Yosys: the miter as an AIG, `formal/miter.aig`, within `limit_s`
/// seconds (a large design's mapping alone can take many minutes and
/// gigabytes): `false` when the time ran out.
fn to_aig(yosys: &Path, dir: &Path, work: &Path, limit_s: u32) -> Result<bool, FormalError> {
    let ylog = work.join("yosys.log");
    let args = ["-q", "-l", "formal/yosys.log", "-s", "formal/miter.ys"];
    let (out, status) = run_limited(yosys, &args, dir, limit_s)?;
    match status {
        Some(true) => Ok(true),
        None => Ok(false),
        Some(false) => {
            let text = std::fs::read_to_string(&ylog).unwrap_or_default();
            Err(FormalError::Tool {
                log: ylog.display().to_string(),
                tail: tail(&text, out.as_bytes()),
            })
        }
    }
}

/// ABC on the miter unrolled over `steps` cycles, each engine in the
/// seconds `left()` gives; the log of all of them goes to `log`.
fn solve(
    abc: &Path,
    dir: &Path,
    steps: u32,
    log: &Path,
    left: impl Fn() -> u32,
) -> Result<Verdict, FormalError> {
    let mut all = String::new();
    let mut verdict = None;
    // the frames ORed into one output, so every engine reads one miter;
    // `iprove` is the strong one, and the plain sweep and SAT call the
    // fallback where this ABC build trips an assertion in it
    for engine in ["dc2; iprove", "strash; fraig; sat"] {
        let cmd =
            format!("read formal/miter.aig; print_stats; frames -F {steps} -i; orpos; {engine}");
        let (text, status) = run_limited(abc, &["-c", &cmd], dir, left())?;
        all.push_str(&text);
        verdict = self::verdict(&text, status.is_some());
        if verdict.is_some() {
            break;
        }
    }
    write(log, &all)?;
    verdict.ok_or_else(|| FormalError::Tool {
        log: log.display().to_string(),
        tail: tail(&all, b""),
    })
}

/// `exe args` in `dir`, killed after `limit_s` seconds: its output and
/// whether it succeeded, `None` when it was killed.
fn run_limited(
    exe: &Path,
    args: &[&str],
    dir: &Path,
    limit_s: u32,
) -> Result<(String, Option<bool>), FormalError> {
    let io = |source| FormalError::Io {
        path: exe.display().to_string(),
        source,
    };
    let mut child = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(io)?;
    let deadline = Instant::now() + std::time::Duration::from_secs(limit_s as u64);
    let status = loop {
        if let Some(st) = child.try_wait().map_err(io)? {
            break Some(st.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().map_err(io)?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((text, status))
}

fn write(path: &Path, text: &str) -> Result<(), FormalError> {
    std::fs::write(path, text).map_err(|source| FormalError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The generated top on a free input stream, the reference on the same
/// stream delayed by the latency; `bad` when their outputs differ once
/// the pipeline is full (`age`, from 0 at start, has counted to the
/// latency).
fn miter(info: &DesignInfo, reference: &str) -> String {
    let (ib, ob, lat) = (info.in_bits.max(1), info.out_bits.max(1), info.latency);
    let aw = 32 - lat.leading_zeros().min(31);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "module neurtl_miter (\n  input wire clk,\n  input wire [{}:0] in_data,\n  output wire bad\n);",
        ib - 1
    );
    let _ = writeln!(
        s,
        "  reg [{a}:0] age = 0;\n  always @(posedge clk) if (age != {aw}'d{lat}) age <= age + {aw}'d1;",
        a = aw - 1
    );
    let _ = writeln!(s, "  wire [{}:0] d0 = in_data;", ib - 1);
    for k in 1..=lat {
        let _ = writeln!(
            s,
            "  reg [{}:0] d{k};\n  always @(posedge clk) d{k} <= d{};",
            ib - 1,
            k - 1
        );
    }
    let _ = writeln!(
        s,
        "  wire [{o}:0] got, want;\n  wire in_ready, out_valid;\n  {top} dut (.clk(clk), .rst(1'b0), .in_valid(1'b1), .in_data(in_data),\n    .in_ready(in_ready), .out_valid(out_valid), .out_data(got));\n  {reference} reference (.in_data(d{lat}), .out_data(want));\n  assign bad = age == {aw}'d{lat} && got != want;\nendmodule",
        o = ob - 1,
        top = info.top
    );
    s
}

/// Read every file, flatten, and write the miter as an AIG whose
/// registers start at their initial values (`age` at 0, the rest at 0,
/// which the pipeline forgets after `latency` cycles). An undefined bit
/// (`x`, an undriven wire) becomes a free input in every cycle, so the
/// proof holds for whatever value the hardware gives it.
fn script(files: &str) -> String {
    let mut s = String::new();
    for f in files.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(s, "read_verilog {}", f.trim());
    }
    s.push_str(
        "read_verilog formal/reference.v formal/miter.v\n\
         hierarchy -check -top neurtl_miter\n\
         proc; flatten; memory; opt_clean\n\
         techmap; opt -fast; dffunmap; aigmap; opt_clean\n\
         setundef -undriven -anyseq\n\
         write_aiger -zinit formal/miter.aig\n",
    );
    s
}

/// ABC's verdict, if it gave one: `iprove` says UNSATISFIABLE when `bad`
/// can never be 1.
fn verdict(log: &str, finished: bool) -> Option<Verdict> {
    if !finished {
        return Some(Verdict::Timeout);
    }
    if log.contains("UNSATISFIABLE") {
        return Some(Verdict::Proved);
    }
    if log.contains("SATISFIABLE") {
        return Some(Verdict::Differs(
            "some input stream makes them differ (`neurtl simulate` shows which samples)".into(),
        ));
    }
    if log.contains("UNDECIDED") {
        return Some(Verdict::Timeout);
    }
    None
}

fn tail(log: &str, stderr: &[u8]) -> String {
    let err = String::from_utf8_lossy(stderr);
    let text = if err.trim().is_empty() { log } else { &err };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
