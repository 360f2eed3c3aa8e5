//! Subcommands, one file each, plus the options and steps they share.

pub mod bench;
pub mod campaign;
pub mod compile;
pub mod estimate;
pub mod eval;
pub mod explore;
pub mod import;
pub mod inspect;
pub mod run;
pub mod simulate;
pub mod synth;
pub mod verify;

use anyhow::{Context, Result};
use neurtl::compile::{self as driver, Compiled};
use neurtl::ir::{Adders, CompileOptions, PipelineMode, Target};
use neurtl::vectors;
use std::path::{Path, PathBuf};

/// Compile options, shared by compile and run, and kept in the build
/// directory so `simulate` can recompile the same way.
#[derive(clap::Args, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PipeArgs {
    /// Register placement: `clock` (where the delay model says the clock
    /// period runs out), `layer` (a register after each layer) or `none`.
    #[arg(long, default_value = "clock", value_parser = ["clock", "layer", "none"])]
    pub pipeline: String,
    /// Register inside adder trees every N levels (0: never); with the
    /// default `--pipeline clock` this means `--pipeline layer` plus cuts.
    #[arg(long, default_value_t = 0)]
    pub max_adder_depth: u32,
    /// With `--pipeline clock`: the latency in cycles, input to output,
    /// with the fewest register bits at it (a system with a fixed latency
    /// budget, or one more cycle for fewer flip-flops). Default: the
    /// shortest the clock allows; fewer is an error.
    #[arg(long)]
    #[serde(default)]
    pub latency: Option<u32>,
    /// Clock frequency: `250MHz`, `250` (MHz) or `4ns`.
    #[arg(long, default_value = "200MHz")]
    #[serde(default = "default_clock")]
    pub clock: String,
    /// Device: a family (`xilinx`, `ice40`, `asic`), optionally with a
    /// part (`ice40:hx1k`, `xilinx:xc7a35t`). The family is the delay
    /// model the schedule and the estimate time with (asic schedules with
    /// the 7-series model), on xilinx the LUT and CARRY4 estimates, and
    /// `neurtl synth`'s flow; a part is what the design must fit. Default:
    /// xilinx's delay model, with portable RTL only (vendor cells need
    /// the device named).
    #[arg(long)]
    #[serde(default)]
    pub device: Option<neurtl::device::DeviceSpec>,
    /// Adder trees of `binary` adders (portable RTL); `fused`: binary
    /// trees, then pairs of adders fused into ternary adders of 7-series
    /// cells (LUT6_2 + CARRY4) wherever the schedule has the time (the
    /// same cycles, fewer LUTs); `ternary`: trees of ternary adders
    /// wherever one is no slower than two binary ones at the clock (the
    /// fewest LUTs, sometimes more cycles). The last two need `--device
    /// xilinx`.
    #[arg(long, default_value = "binary", value_parser = ["binary", "fused", "ternary"])]
    #[serde(default = "default_adders")]
    pub adders: String,
    /// How binary neurons become hardware: `fpga` (XNOR-popcount), `mac`
    /// (multiply-accumulate, the baseline), `tl-cells` (threshold-gate
    /// cells), `tl-pe` (a folded array of threshold-logic PEs).
    #[arg(long, default_value = "fpga", value_parser = ["fpga", "mac", "tl-cells", "tl-pe"])]
    pub target: String,
    /// Largest fan-in of one threshold cell; a full adder's sum cell needs 4,
    /// with 3 the compiler builds from half adders.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(3..=64))]
    pub tl_max_fanin: u32,
    /// Largest |weight| of one threshold cell (an adder's sum cell needs 2).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=1024))]
    pub tl_max_weight: u32,
    /// `tl-pe`: processing elements in the folded array.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub pes: u32,
    /// `tl-pe`: threshold cells per processing element; decides how many
    /// inputs a PE takes per cycle.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub cells_per_pe: u32,
    /// Share sums of weight digits across a dense layer's inputs (`off`
    /// shares only each input's odd multiples).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    #[serde(default = "default_share")]
    pub share: String,
    /// A weight, bias or slope outside its saturating type's range is an
    /// error. Without it such a value is cast by the type's overflow mode,
    /// as ap_fixed casts it, with a warning that lists it.
    #[arg(long)]
    #[serde(default)]
    pub strict: bool,
}

// Build directories written before `--clock` and `--device` were
// compile options still load, with the defaults they were built with.
fn default_clock() -> String {
    "200MHz".into()
}
fn default_share() -> String {
    "on".into()
}

fn default_adders() -> String {
    "binary".into()
}

impl PipeArgs {
    /// The clock in MHz.
    pub fn clock_mhz(&self) -> Result<f64> {
        estimate::parse_clock(&self.clock)
    }

    /// The device, xilinx unless named.
    pub fn device(&self) -> neurtl::device::DeviceSpec {
        self.device.unwrap_or(neurtl::device::DeviceSpec::family(
            neurtl::device::Family::Xilinx,
        ))
    }

    /// The device family, xilinx unless named.
    pub fn family(&self) -> neurtl::device::Family {
        self.device().family
    }

    /// Which adders sums are built from: ternary ones only on the
    /// 7-series cells, and only with the device named, so that no build
    /// holds vendor cells its user did not ask for.
    fn adders(&self) -> Result<Adders> {
        let adders = match self.adders.as_str() {
            "fused" => Adders::Fused,
            "ternary" => Adders::Ternary,
            _ => Adders::Binary,
        };
        match self.device.map(|d| d.family) {
            _ if !adders.vendor_cells() => {}
            Some(neurtl::device::Family::Xilinx) => {}
            None => anyhow::bail!(
                "--adders {} builds 7-series cells (LUT6_2 + CARRY4): name the device with --device xilinx",
                self.adders
            ),
            Some(d) => anyhow::bail!(
                "--adders {} builds 7-series cells (LUT6_2 + CARRY4): it needs --device xilinx, not {}",
                self.adders,
                d.name()
            ),
        }
        Ok(adders)
    }

    pub fn options(&self) -> Result<CompileOptions> {
        let mhz = self.clock_mhz()?;
        let mode = match self.pipeline.as_str() {
            "none" => PipelineMode::None,
            "clock" if self.max_adder_depth == 0 => PipelineMode::Clock,
            _ => PipelineMode::Layer,
        };
        if self.latency.is_some() && mode != PipelineMode::Clock {
            anyhow::bail!(
                "--latency needs --pipeline clock (and no --max-adder-depth): only the clock-driven schedule places registers for a latency"
            );
        }
        Ok(CompileOptions {
            latency: self.latency,
            mode,
            clock_period_ps: (1e6 / mhz).round().clamp(1.0, u32::MAX as f64) as u32,
            delay_model: self.family().delay_model().unwrap_or(0),
            adders: self.adders()?,
            max_adder_depth: self.max_adder_depth,
            target: match self.target.as_str() {
                "mac" => Target::Mac,
                "tl-cells" => Target::TlCells,
                "tl-pe" => Target::TlPe,
                _ => Target::Fpga,
            },
            tl_max_fanin: self.tl_max_fanin,
            tl_max_weight: self.tl_max_weight,
            pes: self.pes,
            cells_per_pe: self.cells_per_pe,
            share: self.share == "on",
            strict: self.strict,
        })
    }
}

/// Vector options, shared by compile, simulate and run.
#[derive(clap::Args, Clone, Debug)]
pub struct VectorArgs {
    /// Number of random test vectors (edge cases first).
    #[arg(long)]
    pub vectors: Option<usize>,
    /// Seed for the random vectors.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Use these inputs (.npy or CSV, real values) instead of random ones.
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// Samples (.npy or CSV) simulated after the random ones: `run` adds
    /// the test set it finds beside the model, so the RTL runs it too.
    #[arg(skip)]
    pub also: Option<PathBuf>,
}

/// The settings a build directory was made with, so `simulate` can
/// regenerate vectors without the user repeating them.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BuildInfo {
    pub top: String,
    pub options: PipeArgs,
    /// What the simulation must reproduce.
    pub latency: u32,
    pub ii: u32,
    pub vectors: usize,
}

impl BuildInfo {
    /// The settings of build directory `dir`, from its `neurtl.json`.
    pub fn load(dir: &Path) -> Result<BuildInfo> {
        let path = dir.join("neurtl.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: not a neurtl build directory (run `neurtl compile MODEL -o {0}` first)",
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: unreadable (written by another neurtl version? run `neurtl compile` again)",
                path.display()
            )
        })
    }
}

/// Whether a simulation proves the design: every vector came out, none
/// differed from the golden model, and the latency and II the testbench
/// measured are the scheduled ones. Prints why not, when not.
pub fn sim_ok(r: &neurtl::sim::SimResult, vectors: usize, latency: u32, ii: u32) -> bool {
    let mut ok = true;
    let mut fail = |why: String| {
        println!("FAILED: {why}");
        ok = false;
    };
    if r.mismatches != 0 {
        fail(format!(
            "{} outputs differ from the golden model",
            r.mismatches
        ));
    }
    if r.vectors as usize != vectors {
        fail(format!("{} of {vectors} vectors came out", r.vectors));
    }
    for (what, got, want) in [("latency", r.latency, latency), ("II", r.ii, ii)] {
        // One vector has no interval to measure.
        let unmeasurable = what == "II" && vectors < 2 && got == -1;
        if got != want as i64 && !unmeasurable {
            fail(format!(
                "measured {what} {}, the schedule says {want} cycles",
                measured(got)
            ));
        }
    }
    ok
}

/// A latency or II the testbench measured, for printing: −1 means it
/// measured none (one vector) or not one number (its ERROR lines say).
pub fn measured(cycles: i64) -> String {
    match cycles {
        -1 => "none".to_string(),
        c => format!("{c} cycles"),
    }
}

/// Raw input samples for a compiled model.
pub fn input_samples(
    c: &Compiled,
    golden: &neurtl::golden::Golden,
    v: &VectorArgs,
    default_n: usize,
) -> Result<Vec<i128>> {
    match &v.inputs {
        Some(p) => {
            let t = vectors::read_table(p)?;
            let mut raw = vectors::table_to_raw(p, &t, &c.input_types(), false)?;
            if let Some(n) = v.vectors {
                raw.truncate(n * golden.input_len());
            }
            Ok(raw)
        }
        None => {
            let mut raw = vectors::random(
                &golden.input_formats,
                v.vectors.unwrap_or(default_n),
                v.seed,
            );
            if let Some(p) = &v.also {
                let t = vectors::read_table(p)?;
                raw.extend(vectors::table_to_raw(p, &t, &c.input_types(), false)?);
            }
            Ok(raw)
        }
    }
}

/// What the compiler changed in the model, on standard error: layers left
/// out, and constants cast into a type that could not hold them.
pub fn print_notes(model: &Path, meta: &neurtl::ir::Meta) {
    let file = model.display();
    for name in &meta.removed {
        eprintln!("note: {file}: layer `{name}` feeds no output; it was left out of the design");
    }
    for s in &meta.saturated {
        let shown: Vec<String> = (s.changed.iter().take(10))
            .map(|(at, from, to)| format!("{}{at} = {from} → {to}", s.field))
            .collect();
        eprintln!(
            "warning: {file}: layer `{}`, field `{}`: {} value(s) outside {} were cast as ap_fixed casts them: {}{}",
            s.layer,
            s.field,
            s.changed.len(),
            s.ty,
            shown.join(", "),
            if s.changed.len() > 10 {
                ", … (all in report.json)"
            } else {
                ""
            }
        );
    }
}

/// A written build directory.
pub struct Built {
    pub c: Compiled,
    pub info: neurtl::backend::verilog::DesignInfo,
    /// Number of test vectors.
    pub n: usize,
}

/// Compile `model` into `out` with vectors.
pub fn build_dir(
    model: &Path,
    out: &Path,
    p: &PipeArgs,
    v: &VectorArgs,
    default_n: usize,
) -> Result<Built> {
    let c = driver::compile_file(model, p.options()?, None)?;
    print_notes(model, &c.graph.meta);
    let golden = c.golden()?;
    let inputs = input_samples(&c, &golden, v, default_n)?;
    let n = inputs.len() / golden.input_len().max(1);
    // The golden model's vectors need nothing of the design: they are
    // computed on a second core while the design is built.
    let (o, expected) = rayon::join(
        || driver::generate(&c, n).map_err(anyhow::Error::from),
        || {
            let mut out = vec![];
            golden.run_batch(&inputs, &mut out);
            out
        },
    );
    let mut o = o?;
    // Moved, not copied: the RTL of a big design is hundreds of MB.
    let mut files = std::mem::take(&mut o.design.files);
    files.extend(driver::hex_vectors(&o.design.info, &inputs, &expected));
    files.push((
        "report.json".into(),
        serde_json::to_string_pretty(&o.report)? + "\n",
    ));
    files.push(("model.json".into(), c.text.clone()));
    let page = neurtl::report_html::Page {
        graph: &c.graph,
        info: &o.design.info,
        model: model.display().to_string(),
        clock_mhz: p.clock_mhz()?,
        simulation: None,
        quality: None,
    };
    files.push(("report.html".into(), neurtl::report_html::render(&page)?));
    let info = BuildInfo {
        top: o.design.info.top.clone(),
        options: p.clone(),
        latency: o.design.info.latency,
        ii: o.design.info.ii,
        vectors: n,
    };
    files.push((
        "neurtl.json".into(),
        serde_json::to_string_pretty(&serde_json::to_value(&info)?)? + "\n",
    ));
    // Stale RTL from an earlier model would be picked up by the simulator.
    let rtl = out.join("rtl");
    if rtl.exists() {
        std::fs::remove_dir_all(&rtl).with_context(|| format!("removing {}", rtl.display()))?;
    }
    driver::write_files(out, &files)?;
    Ok(Built {
        c,
        info: o.design.info,
        n,
    })
}

/// A spinner on a terminal, nothing otherwise.
pub fn spinner(msg: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}
