//! `neurtl synth`: real synthesis of a build directory's RTL with the open
//! tools on `PATH` (Yosys, and nextpnr-ice40 for a routed Fmax), and the
//! parsing of what they report into a [`Synthesis`], which [`compare`]
//! sets against the pre-synthesis [`Estimate`].
//!
//! Three flows ([`Flow`]): Yosys `synth_xilinx -flatten` for 7-series cell
//! counts (what the estimate models), `synth_ice40` followed by
//! nextpnr-ice40 placement and routing for a real Fmax, and the generic
//! `synth` + `abc -g` for ASIC-style gate counts. Cell counts come from
//! Yosys `stat -json`, logic depth from `ltp`, Fmax and utilization from
//! the nextpnr log. The tools' logs stay in the build directory.
//!
//! A design's buses are wider than any iCE40 package's pins, so the ice40
//! flow places the top inside a generated serial wrapper
//! (`templates/synth_wrapper.v.tera`); its flip-flops are subtracted from
//! the flip-flop count and stay in the logic-cell count. This module does
//! not compile models; the caller hands it the top and bus widths of the
//! RTL already written.

use crate::device::{DeviceSpec, Family, Part, Utilization};
use crate::estimate::Estimate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const WRAPPER_TEMPLATE: &str = include_str!("../templates/synth_wrapper.v.tera");
/// Timing arcs of LUT6_2, which Yosys' own library lacks.
const LUT6_2_TIMING: &str = include_str!("../rtl/sta/LUT6_2.v");

/// Where the ABC gate set of the generic flow comes from unless given:
/// two-input gates and a 2:1 multiplexer, each counted as one gate (ABC
/// always adds NOT).
pub const DEFAULT_GATES: &str = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Yosys `synth_xilinx -flatten` (7-series cells).
    YosysXilinx,
    /// Yosys `synth_ice40`, then nextpnr-ice40 for a routed Fmax.
    YosysIce40,
    /// Yosys `synth` + `abc -g GATES` (ASIC-style gate counts).
    YosysGeneric,
}

impl Flow {
    /// The flow that synthesizes for a device family.
    pub fn of(f: Family) -> Flow {
        match f {
            Family::Xilinx => Flow::YosysXilinx,
            Family::Ice40 => Flow::YosysIce40,
            Family::Asic => Flow::YosysGeneric,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flow::YosysXilinx => "yosys-xilinx",
            Flow::YosysIce40 => "yosys-ice40",
            Flow::YosysGeneric => "yosys-generic",
        }
    }
}

/// An external program and the Debian package that provides it.
struct Tool {
    name: &'static str,
    package: &'static str,
}

const YOSYS: Tool = Tool {
    name: "yosys",
    package: "yosys",
};
const NEXTPNR: Tool = Tool {
    name: "nextpnr-ice40",
    package: "nextpnr-ice40",
};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(
        "`{tool}` was not found on PATH; run `make setup`, or `sudo apt-get install {package}`"
    )]
    Missing {
        tool: &'static str,
        package: &'static str,
    },
    #[error("{dir}: no Verilog files in rtl/; run `neurtl compile MODEL -o {dir}` first")]
    NoRtl { dir: String },
    #[error(
        "ABC gate set `{0}`: expected gate names and aliases separated by commas, e.g. {DEFAULT_GATES}"
    )]
    BadGates(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}); the last lines of {log}:\n{tail}")]
    Failed {
        tool: &'static str,
        status: std::process::ExitStatus,
        log: String,
        tail: String,
    },
    #[error(
        "the design does not fit the iCE40 {device}: it needs {used} {resource} of {available} \
         (the largest part, hx8k, has 7680 logic cells; --device xilinx and --device asic \
         have no size limit); see {log}"
    )]
    DoesNotFit {
        device: String,
        resource: String,
        used: u64,
        available: u64,
        log: String,
    },
    #[error("{file}: {what}")]
    Parse { file: String, what: String },
}

/// The RTL to synthesize: a build directory, its top module and the widths
/// of its buses (`report.json`'s `in_bits`, `out_bits`).
#[derive(Debug, Clone)]
pub struct Design {
    pub dir: PathBuf,
    pub top: String,
    pub in_bits: u64,
    pub out_bits: u64,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The family decides the flow; a part is what the design must fit
    /// (the ice40 flow places on its default part when none is named).
    pub device: DeviceSpec,
    /// The clock target: nextpnr's `--freq`, and what the slack is against.
    pub clock_mhz: f64,
    /// ABC gate set of the generic flow.
    pub gates: String,
    /// Keep the scripts, statistics and netlists, not only the logs.
    pub keep: bool,
}

impl Options {
    pub fn new(device: DeviceSpec, clock_mhz: f64) -> Options {
        Options {
            device,
            clock_mhz,
            gates: DEFAULT_GATES.into(),
            keep: false,
        }
    }

    pub fn flow(&self) -> Flow {
        Flow::of(self.device.family)
    }
}

/// What a flow produced.
#[derive(Debug, Clone, Serialize)]
pub struct Synthesis {
    pub flow: Flow,
    pub top: String,
    /// Yosys's version line.
    pub yosys: String,
    /// Wall time of all tools, in seconds.
    pub seconds: f64,
    /// Every cell type of the synthesized, flattened netlist and its count
    /// (ice40: the wrapper's cells included).
    pub cells: BTreeMap<String, u64>,
    pub total_cells: u64,
    /// The design's flip-flops (ice40: the wrapper's subtracted).
    pub flip_flops: u64,
    pub figures: Figures,
    /// The tools' logs, relative to the build directory.
    pub logs: Vec<String>,
}

/// What each flow adds to the cell counts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figures {
    Xilinx(XilinxFigures),
    Ice40(Ice40Figures),
    Generic(GenericFigures),
}

/// 7-series cells, by kind.
#[derive(Debug, Clone, Serialize)]
pub struct XilinxFigures {
    /// LUT1 to LUT6.
    pub luts: u64,
    pub carry4: u64,
    pub dsp48e1: u64,
    /// SRL16E, SRLC32E: shift registers in LUTs.
    pub srl: u64,
    /// RAMB18E1, RAMB36E1.
    pub bram: u64,
    /// MUXF7, MUXF8.
    pub muxf: u64,
    /// Yosys `sta` over the cells' own specify delays (no routing): the
    /// slowest path into a flip-flop or an output, in ns.
    pub sta_path_ns: Option<f64>,
    /// The part named, if one was, and what the design takes of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub utilization: Vec<Utilization>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ice40Figures {
    pub device: String,
    pub package: String,
    /// SB_LUT4 cells after Yosys (wrapper included).
    pub lut4: u64,
    /// SB_CARRY cells after Yosys.
    pub carry: u64,
    /// SB_RAM40_4K and SB_MAC16.
    pub ram: u64,
    pub dsp: u64,
    /// The serial wrapper's flip-flops: in_bits + out_bits + 2.
    pub wrapper_flip_flops: u64,
    pub routed: Routed,
}

/// nextpnr-ice40's result after routing.
#[derive(Debug, Clone, Serialize)]
pub struct Routed {
    /// The routed Fmax of the design's clock.
    pub fmax_mhz: f64,
    pub target_mhz: f64,
    /// Target period less the achieved one: negative when it fails.
    pub slack_ns: f64,
    /// The clock net nextpnr timed.
    pub clock: String,
    /// Used and available resources (ICESTORM_LC, SB_IO, …).
    pub utilization: Vec<Utilization>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenericFigures {
    /// The ABC gate set mapped to.
    pub gate_set: String,
    /// Cells that are not flip-flops (NOT included).
    pub gates: u64,
    /// Gates on the longest path between registers and ports (`ltp -noff`).
    pub logic_depth: Option<u64>,
}

/// Run `o`'s flow on `d`.
pub fn run(d: &Design, o: &Options) -> Result<Synthesis, SynthError> {
    let yosys = find(&YOSYS)?;
    let flow = o.flow();
    let part = o.device.part_or_default();
    // Before Yosys runs, so a missing nextpnr does not cost a synthesis.
    let nextpnr = (flow == Flow::YosysIce40)
        .then(|| find(&NEXTPNR))
        .transpose()?;
    if flow == Flow::YosysGeneric
        && (o.gates.is_empty()
            || !o
                .gates
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ',' || c == '-'))
    {
        return Err(SynthError::BadGates(o.gates.clone()));
    }
    let files = rtl_files(&d.dir)?;
    let name = flow.name();
    let f = |suffix: &str| format!("synth-{name}.{suffix}");
    let (script, stat, ltp, netlist, wrapper_file, ylog, plog) = (
        f("ys"),
        f("stat.json"),
        f("ltp.txt"),
        f("netlist.json"),
        f("wrapper.v"),
        f("yosys.log"),
        f("nextpnr.log"),
    );

    let mut read = format!("read_verilog {}", files.join(" "));
    let wrapper = match flow {
        Flow::YosysIce40 => {
            let w = wrapper(d, &files);
            write(&d.dir.join(&wrapper_file), &w.text)?;
            read += &format!(" {wrapper_file}");
            Some(w)
        }
        _ => None,
    };
    let body = match flow {
        Flow::YosysXilinx => format!("synth_xilinx -flatten -top {}\n", d.top),
        Flow::YosysIce40 => format!(
            "synth_ice40 -top {} -json {netlist}\n",
            wrapper.as_ref().map_or("", |w| &w.name)
        ),
        Flow::YosysGeneric => format!(
            "synth -flatten -top {}\nabc -g {}\nopt_clean\n",
            d.top, o.gates
        ),
    };
    let mut ys = format!("{read}\n{body}tee -q -o {stat} stat -json\nstat\n");
    let sta = f("sta.txt");
    let lut6_2 = f("sta_lut6_2.v");
    if flow == Flow::YosysXilinx {
        write(&d.dir.join(&lut6_2), LUT6_2_TIMING)?;
        ys += &format!(
            "read_verilog -lib -specify +/xilinx/cells_sim.v\n\
             read_verilog -lib -specify -overwrite {lut6_2}\ntee -q -o {sta} sta\n"
        );
    }
    if flow == Flow::YosysGeneric {
        ys += &format!("tee -q -o {ltp} ltp -noff\n");
    }
    write(&d.dir.join(&script), &ys)?;
    let yosys_seconds = run_tool(&YOSYS, &yosys, &["-q", "-l", &ylog, "-s", &script], d)?;

    let stat_path = d.dir.join(&stat);
    let stats = parse_stat_json(
        &read_text(&stat_path)?,
        wrapper.as_ref().map_or(&d.top, |w| &w.name),
    )
    .map_err(|what| SynthError::Parse {
        file: stat_path.display().to_string(),
        what,
    })?;
    let cells = stats.cells;
    let count = |p: &dyn Fn(&str) -> bool| -> u64 {
        cells
            .iter()
            .filter(|(k, _)| p(k))
            .map(|(_, v)| v)
            .sum::<u64>()
    };
    let mut logs = vec![ylog.clone()];
    let mut seconds = yosys_seconds;
    let (flip_flops, figures) = match flow {
        Flow::YosysXilinx => {
            let ffs = count(&|k| k.starts_with("FD"));
            // a LUT6_2 is one LUT with two outputs
            let luts = count(&|k| {
                k.starts_with("LUT") && matches!(&k[3..], "1" | "2" | "3" | "4" | "5" | "6" | "6_2")
            });
            let srl = count(&|k| k.starts_with("SRL"));
            let utilization = part.map_or(Vec::new(), |p| {
                crate::device::utilization(p, luts + srl, ffs)
            });
            let sta_text = std::fs::read_to_string(d.dir.join(&sta)).unwrap_or_default();
            (
                ffs,
                Figures::Xilinx(XilinxFigures {
                    luts,
                    carry4: count(&|k| k == "CARRY4"),
                    dsp48e1: count(&|k| k.starts_with("DSP48")),
                    srl,
                    bram: count(&|k| k.starts_with("RAMB")),
                    muxf: count(&|k| k.starts_with("MUXF")),
                    sta_path_ns: parse_sta(&sta_text),
                    part: part.map(|p| p.name.to_string()),
                    utilization,
                }),
            )
        }
        Flow::YosysIce40 => {
            let part = part.expect("ice40 has a default part");
            let routed = route_ice40(
                d,
                part,
                &nextpnr.expect("ice40 found nextpnr"),
                &netlist,
                &plog,
                o.clock_mhz,
            )?;
            logs.push(plog.clone());
            seconds += routed.seconds;
            let wrapper_flip_flops = wrapper.as_ref().expect("ice40 has a wrapper").flip_flops;
            (
                count(&|k| k.starts_with("SB_DFF")).saturating_sub(wrapper_flip_flops),
                Figures::Ice40(Ice40Figures {
                    device: part.name.into(),
                    package: part.package.into(),
                    lut4: count(&|k| k == "SB_LUT4"),
                    carry: count(&|k| k == "SB_CARRY"),
                    ram: count(&|k| k.starts_with("SB_RAM")),
                    dsp: count(&|k| k == "SB_MAC16"),
                    wrapper_flip_flops,
                    routed,
                }),
            )
        }
        Flow::YosysGeneric => {
            let ltp_text = std::fs::read_to_string(d.dir.join(&ltp)).unwrap_or_default();
            let ff = count(&is_generic_ff);
            (
                ff,
                Figures::Generic(GenericFigures {
                    gate_set: o.gates.clone(),
                    gates: stats.total - ff,
                    logic_depth: parse_ltp(&ltp_text),
                }),
            )
        }
    };
    if !o.keep {
        for name in [&script, &stat, &ltp, &netlist, &wrapper_file, &sta, &lut6_2] {
            // Not every flow writes every one.
            let _ = std::fs::remove_file(d.dir.join(name));
        }
    }
    Ok(Synthesis {
        flow,
        top: d.top.clone(),
        yosys: stats.creator,
        seconds,
        total_cells: stats.total,
        cells,
        flip_flops,
        figures,
        logs,
    })
}

/// Place and route the ice40 netlist with nextpnr-ice40 on `part`.
fn route_ice40(
    d: &Design,
    part: &Part,
    exe: &Path,
    netlist: &str,
    log: &str,
    clock_mhz: f64,
) -> Result<Routed, SynthError> {
    let freq = clock_mhz.to_string();
    let ran = run_tool(
        &NEXTPNR,
        exe,
        &[
            &format!("--{}", part.name),
            "--package",
            part.package,
            "--json",
            netlist,
            "--freq",
            &freq,
            // The Fmax is the result wanted, met or not.
            "--timing-allow-fail",
            "--seed",
            "1",
            "-q",
            "-l",
            log,
        ],
        d,
    );
    let log_path = d.dir.join(log);
    let parsed = parse_nextpnr(&std::fs::read_to_string(&log_path).unwrap_or_default());
    let seconds = ran.map_err(|e| match parsed.overfull() {
        Some(u) => SynthError::DoesNotFit {
            device: part.name.into(),
            resource: u.resource.clone(),
            used: u.used,
            available: u.available,
            log: log_path.display().to_string(),
        },
        None => e,
    })?;
    let fmax = parsed.fmax.ok_or_else(|| SynthError::Parse {
        file: log_path.display().to_string(),
        what: "no \"Max frequency for clock\" line: the design has no clocked path?".into(),
    })?;
    Ok(Routed {
        slack_ns: 1e3 / clock_mhz - 1e3 / fmax.mhz,
        fmax_mhz: fmax.mhz,
        target_mhz: clock_mhz,
        clock: fmax.clock,
        utilization: parsed.utilization,
        seconds,
    })
}

/// Yosys's internal flip-flop and latch cells (`$_DFF_P_`, `$_SDFFE_PP0P_`,
/// `$_DLATCH_P_`, …).
fn is_generic_ff(cell: &str) -> bool {
    cell.contains("DFF") || cell.contains("DLATCH")
}

/// The `yosys` on PATH.
pub fn find_yosys() -> Result<PathBuf, SynthError> {
    find(&YOSYS)
}

fn find(tool: &Tool) -> Result<PathBuf, SynthError> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(tool.name))
        .find(|p| p.is_file())
        .ok_or(SynthError::Missing {
            tool: tool.name,
            package: tool.package,
        })
}

/// Run a tool in the build directory; its seconds of wall time.
fn run_tool(tool: &Tool, exe: &Path, args: &[&str], d: &Design) -> Result<f64, SynthError> {
    let start = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .current_dir(&d.dir)
        .output()
        .map_err(|source| SynthError::Io {
            path: exe.display().to_string(),
            source,
        })?;
    if out.status.success() {
        return Ok(start.elapsed().as_secs_f64());
    }
    // Every tool here is given `-l LOG`; the log holds what -q silenced.
    let log = args
        .windows(2)
        .find(|w| w[0] == "-l")
        .map(|w| d.dir.join(w[1]))
        .unwrap_or_default();
    let text = std::fs::read_to_string(&log).unwrap_or_else(|_| {
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    });
    let lines: Vec<&str> = text.lines().collect();
    Err(SynthError::Failed {
        tool: tool.name,
        status: out.status,
        log: log.display().to_string(),
        tail: lines[lines.len().saturating_sub(20)..].join("\n"),
    })
}

/// The build directory's `rtl/*.v`, relative to it, sorted.
fn rtl_files(dir: &Path) -> Result<Vec<String>, SynthError> {
    let rtl = dir.join("rtl");
    let no_rtl = || SynthError::NoRtl {
        dir: dir.display().to_string(),
    };
    let mut v: Vec<String> = std::fs::read_dir(&rtl)
        .map_err(|_| no_rtl())?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".v"))
        .map(|n| format!("rtl/{n}"))
        .collect();
    if v.is_empty() {
        return Err(no_rtl());
    }
    v.sort();
    Ok(v)
}

fn write(path: &Path, text: &str) -> Result<(), SynthError> {
    std::fs::write(path, text).map_err(|source| SynthError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn read_text(path: &Path) -> Result<String, SynthError> {
    std::fs::read_to_string(path).map_err(|source| SynthError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[derive(Serialize)]
struct WrapperView<'a> {
    version: &'a str,
    name: &'a str,
    top: &'a str,
    in_msb: u64,
    out_msb: u64,
    cap_msb: u64,
    in_next: String,
    out_next: String,
    wrapper_flip_flops: u64,
}

/// The serial wrapper of the ice40 flow.
struct Wrapper {
    /// A module name no RTL file uses.
    name: String,
    text: String,
    flip_flops: u64,
}

fn wrapper(d: &Design, files: &[String]) -> Wrapper {
    let taken = |n: &str| n == d.top || files.iter().any(|f| *f == format!("rtl/{n}.v"));
    let mut name = "neurtl_synth_wrapper".to_string();
    while taken(&name) {
        name += "_";
    }
    let (i, o) = (d.in_bits.max(1), d.out_bits.max(1));
    // The captured word: in_ready, out_valid, out_data.
    let cap = o + 2;
    let view = WrapperView {
        version: env!("CARGO_PKG_VERSION"),
        name: &name,
        top: &d.top,
        in_msb: i - 1,
        out_msb: o - 1,
        cap_msb: cap - 1,
        in_next: if i == 1 {
            "sin".into()
        } else {
            format!("{{in_shift[{}:0], sin}}", i - 2)
        },
        out_next: format!("{{in_shift[{}], out_shift[{}:1]}}", i - 1, cap - 1),
        wrapper_flip_flops: i + cap,
    };
    let ctx = tera::Context::from_serialize(&view).expect("views serialize");
    let text = tera::Tera::one_off(WRAPPER_TEMPLATE, &ctx, false).expect("the wrapper renders");
    Wrapper {
        flip_flops: view.wrapper_flip_flops,
        name,
        text,
    }
}

/// Cell counts of one module from Yosys `stat -json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellStats {
    /// The Yosys version that wrote it.
    pub creator: String,
    pub cells: BTreeMap<String, u64>,
    pub total: u64,
}

/// Read `stat -json` output for module `top` (the only module, after
/// flattening).
pub fn parse_stat_json(text: &str, top: &str) -> Result<CellStats, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not Yosys `stat -json` output: {e}"))?;
    let modules = v["modules"]
        .as_object()
        .ok_or("no \"modules\" object in the statistics")?;
    let m = modules
        .get(&format!("\\{top}"))
        .or_else(|| modules.get(top))
        .ok_or_else(|| {
            format!(
                "no statistics for module `{top}` (found: {})",
                modules.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
    let total = m["num_cells"]
        .as_u64()
        .ok_or_else(|| format!("module `{top}`: no \"num_cells\""))?;
    let by_type = m["num_cells_by_type"]
        .as_object()
        .ok_or_else(|| format!("module `{top}`: no \"num_cells_by_type\""))?;
    let mut cells = BTreeMap::new();
    for (k, n) in by_type {
        let n = n
            .as_u64()
            .ok_or_else(|| format!("module `{top}`: cell count of `{k}` is not a count"))?;
        cells.insert(k.clone(), n);
    }
    Ok(CellStats {
        creator: v["creator"].as_str().unwrap_or("Yosys").to_string(),
        cells,
        total,
    })
}

/// The length of the longest topological path, from Yosys `ltp` output
/// ("Longest topological path in top (length=11):").
pub fn parse_ltp(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .rfind(|l| l.contains("Longest topological path"))?;
    let rest = &line[line.find("(length=")? + "(length=".len()..];
    rest[..rest.find(')')?].trim().parse().ok()
}

/// What a nextpnr-ice40 log says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NextpnrLog {
    /// The "Device utilisation" table.
    pub utilization: Vec<Utilization>,
    /// The last Fmax reported: after routing, when it got there.
    pub fmax: Option<Fmax>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fmax {
    pub clock: String,
    pub mhz: f64,
    pub target_mhz: f64,
}

impl NextpnrLog {
    /// The first resource used beyond what the device has.
    pub fn overfull(&self) -> Option<&Utilization> {
        self.utilization.iter().find(|u| u.used > u.available)
    }
}

/// Parse a nextpnr-ice40 log (its `-l` file).
pub fn parse_nextpnr(log: &str) -> NextpnrLog {
    let mut r = NextpnrLog::default();
    let mut in_table = false;
    for line in log.lines() {
        // "Info: \t  ICESTORM_LC:   219/ 7680     2%"
        let body = line.split_once(':').map_or("", |(_, b)| b).trim();
        if line.contains("Device utilisation:") {
            r.utilization.clear();
            in_table = true;
            continue;
        }
        if in_table {
            match parse_utilization(body) {
                Some(u) => {
                    r.utilization.push(u);
                    continue;
                }
                None => in_table = false,
            }
        }
        // "Info: Max frequency for clock 'clk$glb_clk': 63.54 MHz (FAIL at 200.00 MHz)"
        if let Some(f) = parse_fmax(line) {
            r.fmax = Some(f);
        }
    }
    r
}

fn parse_utilization(body: &str) -> Option<Utilization> {
    let (name, rest) = body.split_once(':')?;
    let (used, rest) = rest.split_once('/')?;
    let available = rest.split_whitespace().next()?;
    Some(Utilization {
        resource: name.trim().to_string(),
        used: used.trim().parse().ok()?,
        available: available.parse().ok()?,
    })
}

fn parse_fmax(line: &str) -> Option<Fmax> {
    let rest = &line[line.find("Max frequency for clock '")? + "Max frequency for clock '".len()..];
    let (clock, rest) = rest.split_once("': ")?;
    let (mhz, rest) = rest.split_once(" MHz")?;
    let target = &rest[rest.find(" at ")? + 4..];
    let (target, _) = target.split_once(" MHz")?;
    Some(Fmax {
        clock: clock.to_string(),
        mhz: mhz.trim().parse().ok()?,
        target_mhz: target.trim().parse().ok()?,
    })
}

/// One quantity both the estimate and the synthesis report.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The `Estimate` field it compares.
    pub quantity: &'static str,
    #[serde(skip)]
    pub label: &'static str,
    pub estimate: f64,
    pub synthesized: f64,
    /// (estimate − synthesized) / synthesized; none when only the
    /// synthesized value is 0.
    pub relative_error: Option<f64>,
}

impl Comparison {
    fn new(quantity: &'static str, label: &'static str, estimate: f64, synthesized: f64) -> Self {
        let relative_error = if synthesized != 0.0 {
            Some((estimate - synthesized) / synthesized)
        } else if estimate == 0.0 {
            Some(0.0)
        } else {
            None
        };
        Comparison {
            quantity,
            label,
            estimate,
            synthesized,
            relative_error,
        }
    }
}

/// The slowest arrival Yosys `sta` reports (`Latest arrival time in 'top'
/// is 5656:`, in ps), in ns.
fn parse_sta(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.starts_with("Latest arrival time in"))?;
    let ps: f64 = line
        .rsplit(" is ")
        .next()?
        .trim_end_matches(':')
        .trim()
        .parse()
        .ok()?;
    Some(ps / 1000.0)
}

/// The estimate against the synthesis, for every quantity both have:
/// flip-flops on every flow, the 7-series cells the estimate models on
/// the Xilinx flow, and the achievable clock against nextpnr's routed Fmax
/// on the iCE40 flow.
pub fn compare(s: &Synthesis, e: &Estimate) -> Vec<Comparison> {
    let mut rows = vec![Comparison::new(
        "flip_flops",
        "flip-flops",
        e.flip_flops as f64,
        s.flip_flops as f64,
    )];
    if let Figures::Xilinx(x) = &s.figures {
        rows.push(Comparison::new(
            "luts",
            "LUTs (7-series)",
            e.luts as f64,
            x.luts as f64,
        ));
        rows.push(Comparison::new(
            "carry4",
            "CARRY4",
            e.carry4 as f64,
            x.carry4 as f64,
        ));
        if let (Some(sta), Some(t)) = (x.sta_path_ns, &e.timing) {
            rows.push(Comparison::new(
                "critical_path_ns",
                "critical path (ns, Yosys sta)",
                (t.critical_path_ns * 1000.0).round() / 1000.0,
                sta,
            ));
        }
    }
    if let (Figures::Ice40(i), Some(t)) = (&s.figures, &e.timing) {
        rows.push(Comparison::new(
            "fmax_mhz",
            "Fmax (MHz)",
            (t.achievable_mhz * 10.0).round() / 10.0,
            i.routed.fmax_mhz,
        ));
    }
    rows
}

/// The comparison as a terminal table.
pub fn comparison_table(rows: &[Comparison]) -> String {
    let mut t = vec![[
        "".to_string(),
        "estimate".into(),
        "synthesized".into(),
        "error".into(),
    ]];
    for r in rows {
        t.push([
            r.label.into(),
            r.estimate.to_string(),
            r.synthesized.to_string(),
            r.relative_error
                .map_or("n/a".into(), |e| format!("{:+.1} %", 100.0 * e)),
        ]);
    }
    let w: Vec<usize> = (0..4)
        .map(|i| t.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    t.iter()
        .map(|r| {
            format!(
                "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            )
        })
        .collect()
}

impl Synthesis {
    /// The terminal table of what the flow found.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            (
                "flow".into(),
                format!("{} ({})", self.flow.name(), self.yosys),
            ),
            ("top".into(), self.top.clone()),
            ("time".into(), format!("{:.1} s", self.seconds)),
        ];
        let by_kind = |p: &dyn Fn(&str) -> bool| -> String {
            self.cells
                .iter()
                .filter(|(k, _)| p(k))
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.figures {
            Figures::Xilinx(x) => {
                rows.push((
                    "LUTs".into(),
                    format!("{} ({})", x.luts, by_kind(&|k| k.starts_with("LUT"))),
                ));
                rows.push(("flip-flops".into(), self.flip_flops.to_string()));
                rows.push(("CARRY4".into(), x.carry4.to_string()));
                rows.push(("DSP48E1".into(), x.dsp48e1.to_string()));
                rows.push(("SRL".into(), x.srl.to_string()));
                rows.push(("block RAM".into(), x.bram.to_string()));
                rows.push(("MUXF7/8".into(), x.muxf.to_string()));
                if let Some(p) = x.sta_path_ns {
                    rows.push((
                        "slowest path (sta)".into(),
                        format!("{p:.3} ns, cells only"),
                    ));
                }
                for u in &x.utilization {
                    let part = x.part.as_deref().unwrap_or_default();
                    rows.push((format!("on the {part}"), u.text()));
                }
            }
            Figures::Ice40(c) => {
                let r = &c.routed;
                rows.push((
                    "device".into(),
                    format!("iCE40 {} ({})", c.device, c.package),
                ));
                rows.push((
                    "Fmax (routed)".into(),
                    format!(
                        "{:.2} MHz, target {} MHz: {} (slack {:+.2} ns)",
                        r.fmax_mhz,
                        r.target_mhz,
                        if r.slack_ns >= 0.0 { "met" } else { "missed" },
                        r.slack_ns
                    ),
                ));
                for u in &r.utilization {
                    if u.used > 0 {
                        rows.push((u.resource.clone(), format!("{} of {}", u.used, u.available)));
                    }
                }
                rows.push(("SB_LUT4".into(), c.lut4.to_string()));
                rows.push(("SB_CARRY".into(), c.carry.to_string()));
                rows.push((
                    "flip-flops".into(),
                    format!(
                        "{} (+{} in the serial wrapper)",
                        self.flip_flops, c.wrapper_flip_flops
                    ),
                ));
                if c.ram + c.dsp > 0 {
                    rows.push(("RAM, DSP".into(), format!("{}, {}", c.ram, c.dsp)));
                }
            }
            Figures::Generic(g) => {
                rows.push((
                    "gates".into(),
                    format!("{} ({})", g.gates, by_kind(&|k| !is_generic_ff(k))),
                ));
                rows.push((
                    "flip-flops".into(),
                    format!("{} ({})", self.flip_flops, by_kind(&is_generic_ff)),
                ));
                if let Some(depth) = g.logic_depth {
                    rows.push(("logic depth".into(), format!("{depth} gates")));
                }
                rows.push(("gate set".into(), g.gate_set.clone()));
            }
        }
        rows.push(("cells".into(), self.total_cells.to_string()));
        rows.push(("logs".into(), self.logs.join(", ")));
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<w$}  {v}\n"))
            .collect()
    }
}
