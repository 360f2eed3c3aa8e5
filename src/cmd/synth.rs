//! `neurtl synth BUILD_DIR [--device xilinx|ice40[:PART]|asic]`:
//! synthesizes a build directory's RTL with Yosys (and nextpnr-ice40) for
//! the device it was built for, or the one named, and sets the result
//! beside the estimate of the same model and options. Writes
//! `synth-<flow>.json` and the tool logs into the build directory.

use super::BuildInfo;
use super::estimate::parse_clock;
use anyhow::{Context, Result, bail};
use neurtl::device::{DeviceSpec, Family};
use neurtl::synth::{self, Flow};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A build directory written by `neurtl compile` or `neurtl run`.
    pub dir: PathBuf,
    /// Clock target: `250MHz`, `250` (MHz) or `4ns`; nextpnr's target and
    /// the slack's reference (yosys-ice40) and the estimate's clock.
    #[arg(long, default_value = "200MHz")]
    pub clock: String,
    /// The device, as `neurtl compile --device` names it: `xilinx`
    /// (Yosys synth_xilinx), `ice40` (synth_ice40 and nextpnr-ice40, on
    /// hx8k unless a part is named, as in `ice40:hx1k`) or `asic` (Yosys
    /// synth and ABC gates), optionally with a part to fit. Default: the
    /// build's device, else xilinx.
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// ABC gate set for `--device asic` (Yosys `abc -g`).
    #[arg(long)]
    pub gates: Option<String>,
    /// Print JSON (what `synth-<flow>.json` holds) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Keep the Yosys script, statistics, netlist and wrapper, not only
    /// the logs.
    #[arg(long)]
    pub keep: bool,
    /// ice40: synthesize even when the estimate says the design cannot
    /// fit the part.
    #[arg(long)]
    pub force: bool,
}

/// A number from `report.json`.
fn report_u64(report: &serde_json::Value, file: &std::path::Path, key: &str) -> Result<u64> {
    report[key]
        .as_u64()
        .with_context(|| format!("{}: no integer `{key}`", file.display()))
}

pub fn main(a: Args) -> Result<ExitCode> {
    let mhz = parse_clock(&a.clock)?;
    let info = BuildInfo::load(&a.dir)?;
    let device = a.device.unwrap_or(info.options.device());
    let flow = Flow::of(device.family);
    if a.gates.is_some() && flow != Flow::YosysGeneric {
        bail!("--gates is the ABC gate set of --device asic, not {device}");
    }
    let report_path = a.dir.join("report.json");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&report_path)
            .with_context(|| format!("reading {}", report_path.display()))?,
    )
    .with_context(|| format!("{}: not JSON", report_path.display()))?;
    let design = synth::Design {
        dir: a.dir.clone(),
        top: info.top.clone(),
        in_bits: report_u64(&report, &report_path, "in_bits")?,
        out_bits: report_u64(&report, &report_path, "out_bits")?,
    };

    // The estimate of the same model with the options the RTL was built with.
    let c =
        neurtl::compile::compile_file(&a.dir.join("model.json"), info.options.options()?, None)?;
    let mut est = neurtl::estimate::estimate_on(&c, mhz, device.family)?;
    if let Some(p) = device.part_or_default() {
        est = est.on_part(p);
    }
    if est.top != info.top || est.latency_cycles != info.latency {
        eprintln!(
            "warning: {}: the RTL differs from what this neurtl builds from model.json \
             (another version?); the estimate may not describe it. Run `neurtl compile` again.",
            a.dir.display()
        );
    }

    let mut o = synth::Options::new(device, mhz);
    // Cells it cannot do without are more than the part has: synth_ice40
    // would take minutes to find that out.
    if device.family == Family::Ice40 && !a.force && !est.fits() {
        let over = est
            .utilization
            .iter()
            .find(|u| !u.fits())
            .expect("one does not fit");
        bail!(
            "{} will not fit the iCE40 {}: it needs {}. Use --device xilinx or asic, a larger \
             part, or --force to run it anyway",
            info.top,
            est.part.as_deref().unwrap_or_default(),
            over.text()
        );
    }
    if let Some(g) = a.gates {
        o.gates = g;
    }
    o.keep = a.keep;
    let pb = super::spinner(&format!("{} on {}", flow.name(), info.top));
    let s = synth::run(&design, &o);
    pb.finish_and_clear();
    let s = s?;
    let rows = synth::compare(&s, &est);

    let out = serde_json::json!({
        "synthesis": s,
        "estimate": est,
        "comparison": rows,
    });
    let text = serde_json::to_string_pretty(&out)? + "\n";
    let path = a.dir.join(format!("synth-{}.json", flow.name()));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    if a.json {
        print!("{text}");
    } else {
        print!("{}", s.table());
        println!();
        print!("{}", synth::comparison_table(&rows));
        println!("\nwritten: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
