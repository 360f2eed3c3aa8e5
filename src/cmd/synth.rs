//! `neurtl synth BUILD_DIR [--flow yosys-xilinx|yosys-ice40|yosys-generic]`:
//! synthesizes a build directory's RTL with Yosys (and nextpnr-ice40), and
//! sets the result beside the estimate of the same model and options.
//! Writes `synth-<flow>.json` and the tool logs into the build directory.

use super::BuildInfo;
use super::estimate::parse_clock;
use anyhow::{Context, Result, bail};
use neurtl::synth::{self, Flow};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A build directory written by `neurtl compile` or `neurtl run`.
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "yosys-xilinx")]
    pub flow: Flow,
    /// Clock target: `250MHz`, `250` (MHz) or `4ns`; nextpnr's target and
    /// the slack's reference (yosys-ice40) and the estimate's clock.
    #[arg(long, default_value = "200MHz")]
    pub clock: String,
    /// iCE40 part for yosys-ice40.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
        synth::ICE40_PARTS.iter().map(|p| p.name)))]
    pub device: Option<String>,
    /// ABC gate set for yosys-generic (Yosys `abc -g`).
    #[arg(long)]
    pub gates: Option<String>,
    /// Print JSON (what `synth-<flow>.json` holds) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Keep the Yosys script, statistics, netlist and wrapper, not only
    /// the logs.
    #[arg(long)]
    pub keep: bool,
    /// yosys-ice40: synthesize even when the estimate says the design
    /// cannot fit the part.
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
    if a.device.is_some() && a.flow != Flow::YosysIce40 {
        bail!(
            "--device is the iCE40 part of --flow yosys-ice40; {} has none to choose",
            a.flow.name()
        );
    }
    if a.gates.is_some() && a.flow != Flow::YosysGeneric {
        bail!("--gates is the ABC gate set of --flow yosys-generic");
    }
    let info = BuildInfo::load(&a.dir)?;
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
    let device = match a.flow {
        Flow::YosysIce40 => neurtl::estimate::Device::Ice40,
        Flow::YosysXilinx => neurtl::estimate::Device::Xilinx,
        Flow::YosysGeneric => neurtl::estimate::Device::Asic,
    };
    let est = neurtl::estimate::estimate_on(&c, mhz, device)?;
    if est.top != info.top || est.latency_cycles != info.latency {
        eprintln!(
            "warning: {}: the RTL differs from what this neurtl builds from model.json \
             (another version?); the estimate may not describe it. Run `neurtl compile` again.",
            a.dir.display()
        );
    }

    let mut o = synth::Options::new(a.flow, mhz);
    if let Some(d) = a.device {
        o.device = d;
    }
    if a.flow == Flow::YosysIce40 && !a.force {
        // An iCE40 logic cell holds one LUT4, never more logic than a
        // 7-series LUT6: more estimated LUTs than the part has cells cannot
        // fit, and synth_ice40 would take minutes to get there.
        let p = synth::ice40_part(&o.device)?;
        if est.luts > p.logic_cells {
            bail!(
                "{} will not fit the iCE40 {}: the estimate is {} 7-series LUTs, the part has {} \
                 logic cells of one LUT4 each. Use --flow yosys-xilinx or yosys-generic, or \
                 --force to run it anyway",
                info.top,
                p.name,
                est.luts,
                p.logic_cells
            );
        }
    }
    if let Some(g) = a.gates {
        o.gates = g;
    }
    o.keep = a.keep;
    let pb = super::spinner(&format!("{} on {}", a.flow.name(), info.top));
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
    let path = a.dir.join(format!("synth-{}.json", a.flow.name()));
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
