//! `neurtl estimate`: what a design costs before synthesis.
//!
//! The latency and the initiation interval are exact: they are the
//! compiler's own schedule, the same numbers the generated testbench
//! checks in simulation. The hardware counts are what the back end
//! instantiates (adders and their bits, constant multipliers, comparators,
//! threshold cells). The flip-flop count is the register bits it
//! instantiates, less those synthesis removes: sign copies and constants
//! (by the exact intervals), constant low bits, and low bits no consumer
//! reads (`backend::verilog::unread`). LUTs and
//! carry cells for Xilinx 7-series come from a linear model of the
//! instantiated logic, calibrated once against Yosys `synth_xilinx` (the
//! constants below; `docs/estimation.md` has the measurements and the
//! command that regenerates them).
//!
//! Timing comes from the back end's delay model (`backend::timing`): the
//! slowest register-to-register path of each layer on the chosen device,
//! and from the slowest of all the achievable clock.

use crate::backend::verilog::{self, DesignInfo};
use crate::compile::{CompileError, Compiled};
use crate::device::{Family, Part, Utilization};
use serde::Serialize;

/// LUTs per adder bit that needs logic (`Counts::adder_logic_bits`),
/// in adders with an operand wider than 4 bits.
pub const LUTS_PER_ADDER_BIT: f64 = 0.873;
/// LUTs per adder bit in adders of operands up to 4 bits
/// (`Counts::small_adder_logic_bits`).
pub const LUTS_PER_SMALL_ADDER_BIT: f64 = 0.84;
/// LUTs per bit of comparison or selection (`Counts::logic_bits`).
pub const LUTS_PER_LOGIC_BIT: f64 = 0.18;

/// The widest comparison with a constant, in variable bits, that Yosys
/// `synth_xilinx` builds from LUTs (`cmp2lcu`: two LUT6-sized chunks; a
/// wider one becomes a CARRY4 chain). LUT logic is simplified, so it reads
/// only the bits the comparison depends on; the flip-flop count follows
/// that (`datapath::count::unloaded_low`).
pub const CMP_LUT_BITS: u32 = 12;

/// The shortest register chain Yosys `synth_xilinx` packs into a
/// shift-register LUT (`xilinx_srl -fixed -minlen 3`): a run of stages
/// that nothing but the next stage reads, the last one excepted.
pub const SRL_MIN_STAGES: u32 = 3;
/// Stages of one SRLC32E.
pub const SRL_STAGES: u32 = 32;

/// The slowest path of one layer: 0 for a layer with no register of its
/// own, whose logic is counted in the path of the layer it feeds.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPath {
    pub layer: String,
    /// The cycles the layer occupies: it starts in `start` and its result
    /// is ready at `ready`.
    pub start: u32,
    pub ready: u32,
    pub path_ns: f64,
}

/// The estimated timing on a device.
#[derive(Debug, Clone, Serialize)]
pub struct TimingEstimate {
    /// The slowest register-to-register path, clock-to-out and setup
    /// included.
    pub critical_path_ns: f64,
    /// The clock that path allows.
    pub achievable_mhz: f64,
    /// Whether the requested clock is within it.
    pub meets_clock: bool,
    pub layers: Vec<LayerPath>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub top: String,
    pub device: Family,
    pub latency_cycles: u32,
    pub initiation_interval: u32,
    pub clock_mhz: f64,
    pub latency_ns: f64,
    /// Time between samples at the clock.
    pub interval_ns: f64,
    /// Flip-flops after synthesis: on `xilinx`, less the register bits
    /// packed into shift-register LUTs (`shift_registers`).
    pub flip_flops: u64,
    /// Xilinx SRL16E/SRLC32E cells holding register chains (0 on the
    /// other devices).
    pub shift_registers: u64,
    /// Xilinx 7-series LUTs (model, see the constants above), whatever
    /// the device; the table shows them for `xilinx` only.
    pub luts: u64,
    /// Xilinx CARRY4 cells.
    pub carry4: u64,
    /// `None` for a device without a delay model.
    pub timing: Option<TimingEstimate>,
    pub adders: u64,
    pub adder_bits: u64,
    pub const_multipliers: u64,
    pub comparators: u64,
    pub quantizers: u64,
    pub threshold_cells: u64,
    pub threshold_cell_depth: u64,
    pub folded: Option<verilog::FoldStats>,
    /// The part named with the device, and what of it the design takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub utilization: Vec<Utilization>,
}

/// Carry cells of device `d` the adders' chains take: each chain of `b`
/// bits needs `ceil(b / carry_bits)` (a chain of no bits is wiring).
pub fn carry_cells(k: &verilog::Counts, d: &crate::backend::timing::DelayModel) -> u64 {
    k.carry_chains
        .iter()
        .map(|(&bits, &n)| n * bits.div_ceil(d.carry_bits) as u64)
        .sum()
}

/// The register bits synthesis packs into shift-register LUTs on Xilinx,
/// and the cells: every run of `SRL_MIN_STAGES` or more stages, one cell
/// per bit and `SRL_STAGES` stages.
pub fn shift_registers(k: &verilog::Counts) -> (u64, u64) {
    k.shift_runs
        .range(SRL_MIN_STAGES..)
        .fold((0, 0), |(bits, cells), (&len, &n)| {
            (
                bits + n * len as u64,
                cells + n * len.div_ceil(SRL_STAGES) as u64,
            )
        })
}

/// Estimate a compiled model at `clock_mhz` on a Xilinx 7-series device.
pub fn estimate(c: &Compiled, clock_mhz: f64) -> Result<Estimate, CompileError> {
    estimate_on(c, clock_mhz, Family::Xilinx)
}

/// Estimate a compiled model at `clock_mhz` on `device`.
pub fn estimate_on(c: &Compiled, clock_mhz: f64, device: Family) -> Result<Estimate, CompileError> {
    Ok(Estimate::of_design_on(
        &crate::compile::describe(c)?,
        clock_mhz,
        device,
    ))
}

/// The timing of a design on the device whose delay model is entry `at`
/// of the back end's arrivals.
fn timing(i: &DesignInfo, clock_mhz: f64, at: usize) -> TimingEstimate {
    let t = &i.timing;
    let critical = t.critical.path(at);
    let achievable = 1e3 / critical;
    TimingEstimate {
        critical_path_ns: critical,
        achievable_mhz: achievable,
        meets_clock: clock_mhz <= achievable,
        layers: t
            .layers
            .iter()
            .map(|l| LayerPath {
                layer: l.name.clone(),
                start: l.start,
                ready: l.ready,
                path_ns: l.path.path(at),
            })
            .collect(),
    }
}

impl Estimate {
    /// The estimate of a generated design at `clock_mhz` (Xilinx 7-series).
    pub fn of_design(i: &DesignInfo, clock_mhz: f64) -> Estimate {
        Estimate::of_design_on(i, clock_mhz, Family::Xilinx)
    }

    /// The estimate of a generated design at `clock_mhz` on `device`.
    pub fn of_design_on(i: &DesignInfo, clock_mhz: f64, device: Family) -> Estimate {
        let period = 1e3 / clock_mhz;
        let k = &i.counts;
        let (srl_bits, srl) = match device {
            Family::Xilinx => shift_registers(k),
            Family::Ice40 | Family::Asic => (0, 0),
        };
        Estimate {
            top: i.top.clone(),
            device,
            timing: device.delay_model().map(|at| timing(i, clock_mhz, at)),
            latency_cycles: i.latency,
            initiation_interval: i.ii,
            clock_mhz,
            latency_ns: i.latency as f64 * period,
            interval_ns: i.ii as f64 * period,
            flip_flops: k.register_bits - k.redundant_register_bits - srl_bits,
            shift_registers: srl,
            luts: (LUTS_PER_ADDER_BIT * (k.adder_logic_bits - k.small_adder_logic_bits) as f64
                + LUTS_PER_SMALL_ADDER_BIT * k.small_adder_logic_bits as f64
                + LUTS_PER_LOGIC_BIT * k.logic_bits as f64
                + k.rom_luts as f64
                + k.ternary_cells as f64)
                .round() as u64,
            carry4: carry_cells(k, &crate::backend::timing::XILINX7),
            adders: k.adders,
            adder_bits: k.adder_bits,
            const_multipliers: k.const_multipliers,
            comparators: k.comparators,
            quantizers: k.quantizers,
            // The PE module's cells are counted once in `counts`; the array
            // has `pes` of them.
            threshold_cells: k.tl_cells + i.folded.as_ref().map_or(0, |f| f.cells - f.cells_per_pe),
            threshold_cell_depth: k.tl_depth,
            folded: i.folded.clone(),
            part: None,
            utilization: Vec::new(),
        }
    }

    /// This estimate with what it takes of `part`. A shift register is a
    /// LUT too.
    pub fn on_part(mut self, part: &Part) -> Estimate {
        self.part = Some(part.name.into());
        let luts = self.luts + self.shift_registers;
        self.utilization = crate::device::utilization(part, luts, self.flip_flops);
        self
    }

    /// Whether the design fits the part named (it does when none is).
    pub fn fits(&self) -> bool {
        self.utilization.iter().all(Utilization::fits)
    }

    /// The clock to state times at: the one asked for when the delay model
    /// says it is met (or there is no delay model), else the achievable
    /// one, so no figure is quoted at a clock the design does not meet.
    pub fn quoted_clock_mhz(&self) -> f64 {
        match &self.timing {
            Some(t) if !t.meets_clock => t.achievable_mhz,
            _ => self.clock_mhz,
        }
    }

    /// `n` cycles in ns at the quoted clock, with that clock named.
    pub fn cycles_text(&self, n: u32) -> String {
        let mhz = self.quoted_clock_mhz();
        let note = if mhz == self.clock_mhz {
            ""
        } else {
            ", the achievable clock"
        };
        format!("{:.2} ns at {mhz:.0} MHz{note}", n as f64 * 1e3 / mhz)
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("top".into(), self.top.clone()),
            (
                "clock".into(),
                format!(
                    "{} MHz ({:.3} ns)",
                    mhz_text(self.clock_mhz),
                    1e3 / self.clock_mhz
                ),
            ),
            (
                "latency".into(),
                format!(
                    "{} cycles = {}",
                    self.latency_cycles,
                    self.cycles_text(self.latency_cycles)
                ),
            ),
            (
                "interval".into(),
                format!(
                    "{} cycle{} = {} ({:.1} M samples/s)",
                    self.initiation_interval,
                    if self.initiation_interval == 1 {
                        ""
                    } else {
                        "s"
                    },
                    self.cycles_text(self.initiation_interval),
                    self.quoted_clock_mhz() / self.initiation_interval as f64
                ),
            ),
        ];
        match &self.timing {
            Some(t) => {
                rows.push((
                    "critical path".into(),
                    format!(
                        "{:.2} ns on {} (achievable {:.0} MHz: {})",
                        t.critical_path_ns,
                        self.device.title(),
                        t.achievable_mhz,
                        if t.meets_clock {
                            "meets the clock"
                        } else {
                            "MISSES the clock"
                        }
                    ),
                ));
                for l in &t.layers {
                    if l.path_ns == 0.0 {
                        rows.push((
                            format!("  {}", l.layer),
                            "no register: its logic is in the next layer's path".into(),
                        ));
                        continue;
                    }
                    let mark = if l.path_ns == t.critical_path_ns {
                        "  <- critical"
                    } else {
                        ""
                    };
                    rows.push((
                        format!("  {}", l.layer),
                        format!(
                            "{:.2} ns (cycles {}..{}){mark}",
                            l.path_ns, l.start, l.ready
                        ),
                    ));
                }
            }
            None => rows.push((
                "critical path".into(),
                "no delay model for this device".into(),
            )),
        }
        rows.push(("flip-flops".into(), self.flip_flops.to_string()));
        if self.device == Family::Xilinx {
            rows.push(("LUTs (7-series)".into(), self.luts.to_string()));
            rows.push(("CARRY4".into(), self.carry4.to_string()));
            if self.shift_registers > 0 {
                rows.push((
                    "shift registers".into(),
                    format!("{} SRL16E/SRLC32E", self.shift_registers),
                ));
            }
        }
        for u in &self.utilization {
            let part = self.part.as_deref().unwrap_or_default();
            rows.push((format!("on the {part}"), u.text()));
        }
        rows.extend([
            (
                "adders".into(),
                format!("{} ({} bits)", self.adders, self.adder_bits),
            ),
            (
                "constant multipliers".into(),
                self.const_multipliers.to_string(),
            ),
            ("comparators".into(), self.comparators.to_string()),
            ("quantizers".into(), self.quantizers.to_string()),
        ]);
        if self.threshold_cells > 0 {
            rows.push((
                "threshold cells".into(),
                format!(
                    "{} (depth {})",
                    self.threshold_cells, self.threshold_cell_depth
                ),
            ));
        }
        if let Some(f) = &self.folded {
            rows.push((
                "folded array".into(),
                format!(
                    "{} PEs x {} lanes, {} schedule cycles, utilization {:.0} %",
                    f.pes,
                    f.lanes,
                    f.schedule_cycles,
                    100.0 * f.utilization
                ),
            ));
        }
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<w$}  {v}\n"))
            .collect()
    }
}

/// A clock in MHz as people write it: at most two decimals, no trailing
/// zeros (`--clock 7.53ns` is 132.8 MHz, not 132.80212483399734).
pub fn mhz_text(mhz: f64) -> String {
    let t = format!("{mhz:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of 3 stages and more are packed, one cell per bit and 32
    /// stages; shorter ones stay flip-flops.
    #[test]
    fn long_register_runs_become_shift_registers() {
        let mut k = verilog::Counts::default();
        k.shift_runs.extend([(2, 8), (3, 5), (4, 9), (40, 1)]);
        assert_eq!(shift_registers(&k), (3 * 5 + 4 * 9 + 40, 5 + 9 + 2));
    }
}
