//! `neurtl estimate`: what a design costs before synthesis.
//!
//! The latency and the initiation interval are exact: they are the
//! compiler's own schedule, the same numbers the generated testbench
//! checks in simulation. The hardware counts are what the back end
//! instantiates (adders and their bits, constant multipliers, comparators,
//! threshold cells). The flip-flop count is the register bits it
//! instantiates, less those that only repeat a sign bit or hold a
//! constant (by the exact intervals), which synthesis removes. LUTs and
//! carry cells for Xilinx 7-series come from a linear model of the
//! instantiated logic, calibrated once against Yosys `synth_xilinx` (the
//! constants below; `docs/estimation.md` has the measurements and the
//! command that regenerates them). No timing model yet.

use crate::backend::verilog::{self, DesignInfo};
use crate::compile::{CompileError, Compiled};
use serde::Serialize;

/// LUTs per adder bit that needs logic (`Counts::adder_logic_bits`),
/// in adders with an operand wider than 4 bits.
pub const LUTS_PER_ADDER_BIT: f64 = 0.916;
/// LUTs per adder bit in adders of operands up to 4 bits
/// (`Counts::small_adder_logic_bits`).
pub const LUTS_PER_SMALL_ADDER_BIT: f64 = 1.147;
/// LUTs per bit of comparison or selection (`Counts::logic_bits`).
pub const LUTS_PER_LOGIC_BIT: f64 = 0.122;

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub top: String,
    pub latency_cycles: u32,
    pub initiation_interval: u32,
    pub clock_mhz: f64,
    pub latency_ns: f64,
    /// Time between samples at the clock.
    pub interval_ns: f64,
    pub flip_flops: u64,
    /// Xilinx 7-series LUTs (model, see the constants above).
    pub luts: u64,
    /// Xilinx CARRY4 cells.
    pub carry4: u64,
    pub adders: u64,
    pub adder_bits: u64,
    pub const_multipliers: u64,
    pub comparators: u64,
    pub quantizers: u64,
    pub threshold_cells: u64,
    pub threshold_cell_depth: u64,
    pub folded: Option<verilog::FoldStats>,
}

/// Estimate a compiled model at `clock_mhz`.
pub fn estimate(c: &Compiled, clock_mhz: f64) -> Result<Estimate, CompileError> {
    Ok(Estimate::of_design(
        &crate::compile::design(c)?.info,
        clock_mhz,
    ))
}

impl Estimate {
    /// The estimate of a generated design at `clock_mhz`.
    pub fn of_design(i: &DesignInfo, clock_mhz: f64) -> Estimate {
        let period = 1e3 / clock_mhz;
        let k = &i.counts;
        Estimate {
            top: i.top.clone(),
            latency_cycles: i.latency,
            initiation_interval: i.ii,
            clock_mhz,
            latency_ns: i.latency as f64 * period,
            interval_ns: i.ii as f64 * period,
            flip_flops: k.register_bits - k.redundant_register_bits,
            luts: (LUTS_PER_ADDER_BIT * (k.adder_logic_bits - k.small_adder_logic_bits) as f64
                + LUTS_PER_SMALL_ADDER_BIT * k.small_adder_logic_bits as f64
                + LUTS_PER_LOGIC_BIT * k.logic_bits as f64)
                .round() as u64,
            carry4: k.carry4,
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
        }
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("top".into(), self.top.clone()),
            (
                "clock".into(),
                format!("{} MHz ({:.3} ns)", self.clock_mhz, 1e3 / self.clock_mhz),
            ),
            (
                "latency".into(),
                format!("{} cycles = {:.2} ns", self.latency_cycles, self.latency_ns),
            ),
            (
                "interval".into(),
                format!(
                    "{} cycle{} = {:.2} ns ({:.1} M samples/s)",
                    self.initiation_interval,
                    if self.initiation_interval == 1 {
                        ""
                    } else {
                        "s"
                    },
                    self.interval_ns,
                    1e3 / self.interval_ns
                ),
            ),
            ("flip-flops".into(), self.flip_flops.to_string()),
            ("LUTs (7-series)".into(), self.luts.to_string()),
            ("CARRY4".into(), self.carry4.to_string()),
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
        ];
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
