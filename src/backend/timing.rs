//! The delay model: how long the logic the back end builds takes, on each
//! device family neurtl estimates for. The netlist builder times every
//! wire as it creates it (`Arrival`, the time after the clock edge at which
//! the wire settles), registers end the paths, and the estimate turns the
//! slowest register-to-register path into an achievable clock.
//!
//! The model is structural: an adder or a comparison against a constant
//! is a carry chain (an entry delay, then a delay per carry cell), any
//! other logic a LUT level, and every connection between cells a routing
//! delay. The constants of each device are in `DEVICES`; `docs/estimation.md`
//! says where each comes from and how well they match a router.

use serde::Serialize;

/// One device family's delays, in ns.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DelayModel {
    pub name: &'static str,
    /// Clock to output of a flip-flop.
    pub clk_to_q: f64,
    /// Setup time of a flip-flop.
    pub setup: f64,
    /// Through one LUT.
    pub lut: f64,
    /// One routed connection between two cells (an average: placement
    /// decides the real one).
    pub net: f64,
    /// Into a carry chain and out of its first cell (the LUT that feeds
    /// it included).
    pub carry_entry: f64,
    /// Through each further carry cell.
    pub carry_cell: f64,
    /// Bits one carry cell handles.
    pub carry_bits: u32,
}

/// Xilinx 7-series: the cell delays are those of the specify blocks of
/// Yosys' `xilinx/cells_sim.v`, which `neurtl synth`'s `sta` times; the
/// net delay is a typical routed connection, which `sta` does not have.
/// Fitted so that the model is never below `sta` on the calibration set
/// of `docs/estimation.md` (`bench/sta_accuracy.sh`).
pub const XILINX7: DelayModel = DelayModel {
    name: "xilinx",
    // BUFG I->O 96 ps + FDRE C->Q 303 ps
    clk_to_q: 0.40,
    // the datasheet's; sta takes FDRE's D setup (-46 ps) as 0
    setup: 0.06,
    // LUT I5->O 127 ps, the fastest pin, which ABC gives the late
    // signal on the measured paths (slower pins are within the net delay)
    lut: 0.13,
    net: 0.45,
    // the LUT2 making the propagate bit (I0->O 238 ps) and CARRY4
    // S[1]->CO[3] (528 ps): Yosys' sum paths climb a cell per adder, in
    // at S, out at the next cell (CI->O[3] 313 ps, within the net delay).
    // Below 0.77 the model is under sta on a chain of four adders
    carry_entry: 0.83,
    // CARRY4 CI->CO[3] 114 ps
    carry_cell: 0.114,
    carry_bits: 4,
};

/// Lattice iCE40 HX: the cell delays of the open timing database that
/// nextpnr-ice40 uses; the net delay is fitted to nextpnr's routed Fmax
/// (`docs/estimation.md`).
pub const ICE40: DelayModel = DelayModel {
    name: "ice40",
    clk_to_q: 0.54,
    setup: 0.47,
    lut: 0.45,
    net: 1.59,
    carry_entry: 0.68,
    carry_cell: 0.13,
    carry_bits: 1,
};

/// Every device, in the order of `Arrival`'s entries.
pub const DEVICES: [DelayModel; 2] = [XILINX7, ICE40];

/// When a wire settles after the clock edge, on each device of `DEVICES`:
/// its lowest bit (`lsb`) and its highest (`msb`). Carry chains make the
/// bits of a sum settle from the bottom up, and the next adder of a tree
/// starts on the low bits before the high ones are done, so a tree of
/// ripple adders costs one chain entry per level plus one ripple over the
/// width, not a full ripple per level.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Arrival {
    pub lsb: [f64; DEVICES.len()],
    pub msb: [f64; DEVICES.len()],
}

impl Arrival {
    /// A wire that never changes (a constant).
    pub const ZERO: Arrival = Arrival {
        lsb: [0.0; DEVICES.len()],
        msb: [0.0; DEVICES.len()],
    };

    /// All bits at the same time, per device.
    fn each(f: impl Fn(&DelayModel) -> f64) -> Arrival {
        let mut a = [0.0; DEVICES.len()];
        for (x, d) in a.iter_mut().zip(&DEVICES) {
            *x = f(d);
        }
        Arrival { lsb: a, msb: a }
    }

    /// Per device, from the device and this arrival's (lsb, msb).
    fn map(self, f: impl Fn(&DelayModel, f64, f64) -> (f64, f64)) -> Arrival {
        let mut out = self;
        for (i, d) in DEVICES.iter().enumerate() {
            (out.lsb[i], out.msb[i]) = f(d, self.lsb[i], self.msb[i]);
        }
        out
    }

    /// A flip-flop's output.
    pub fn register() -> Arrival {
        Arrival::each(|d| d.clk_to_q)
    }

    pub fn max(self, o: Arrival) -> Arrival {
        let mut a = self;
        for i in 0..DEVICES.len() {
            a.lsb[i] = a.lsb[i].max(o.lsb[i]);
            a.msb[i] = a.msb[i].max(o.msb[i]);
        }
        a
    }

    /// The path into a flip-flop that captures this wire: its last bit
    /// plus the setup time.
    pub fn captured(self) -> Arrival {
        let mut a = self;
        for (i, d) in DEVICES.iter().enumerate() {
            a.msb[i] += d.setup;
            a.lsb[i] = a.msb[i];
        }
        a
    }

    /// The path of a captured arrival, in ns, on device `i`.
    pub fn path(&self, i: usize) -> f64 {
        self.msb[i]
    }
}

/// The carry ripple over `bits` bits after the first cell.
fn ripple(d: &DelayModel, bits: u32) -> f64 {
    d.carry_cell * (bits.max(1).div_ceil(d.carry_bits) - 1) as f64
}

/// A sum of `bits` bits of inputs that settle at `t`: the low bits one
/// chain entry later, the top bit after the ripple or after the inputs'
/// top bits, whichever is later. No logic (`bits` 0) is a wire.
pub fn adder(t: Arrival, bits: u32) -> Arrival {
    if bits == 0 {
        return t;
    }
    t.map(|d, lsb, msb| {
        let lo = lsb + d.net + d.carry_entry;
        (lo, (lo + ripple(d, bits)).max(msb + d.net + d.carry_entry))
    })
}

/// A 7-series ternary adder (`rtl/nt_add3.v`) of `bits` bits: each bit's
/// LUT6_2 first forms the majority of the bit below (its O5 output, from
/// the slowest operand pin, I1 → O5 472 ps, and a routed connection),
/// then the chain adds as a binary adder does, the majority entering at
/// I4 as fast as a binary adder's propagate LUT. (An operand's direct
/// path, I1 → O6 631 ps into the chain, is shorter than this one.)
pub fn ternary(t: Arrival, bits: u32) -> Arrival {
    const MAJORITY: f64 = 0.472;
    adder(
        t.map(|d, lsb, msb| (lsb + d.net + MAJORITY, msb + d.net + MAJORITY)),
        bits,
    )
}

/// A comparison of `bits` bits settling at `t` against a constant, as a
/// carry chain: one result bit, when the chain's top is done.
pub fn compare(t: Arrival, bits: u32) -> Arrival {
    let a = adder(t, bits);
    a.map(|_, _, msb| (msb, msb))
}

/// One level of LUTs on inputs settling at `t` (a select, a threshold
/// cell): every output bit waits for the inputs' last bit.
pub fn lut(t: Arrival) -> Arrival {
    t.map(|d, _, msb| (msb + d.net + d.lut, msb + d.net + d.lut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_of_adders_ripples_once() {
        let x = &DEVICES[0];
        let r = Arrival::register();
        // one 32-bit adder: entry, then 7 more CARRY4s
        let one = adder(r, 32);
        let entry = x.net + x.carry_entry;
        assert!((one.msb[0] - (x.clk_to_q + entry + 7.0 * x.carry_cell)).abs() < 1e-12);
        // three levels: three entries, still one ripple
        let three = adder(adder(one, 32), 32);
        assert!((three.msb[0] - (x.clk_to_q + 3.0 * entry + 7.0 * x.carry_cell)).abs() < 1e-12);
        // narrow adders never finish before their inputs' top bits
        let narrow = adder(three, 1);
        assert!(narrow.msb[0] >= three.msb[0] + entry - 1e-12);
        // a wire costs nothing; a compare waits for the top
        assert_eq!(adder(three, 0), three);
        let c = compare(r, 32);
        assert_eq!(c.lsb, c.msb);
        assert!((lut(c).msb[0] - (c.msb[0] + x.net + x.lut)).abs() < 1e-12);
        assert!((c.captured().path(0) - (one.msb[0] + x.setup)).abs() < 1e-12);
    }

    /// A path of Yosys `sta` (cell delays of `xilinx/cells_sim.v`, in ps,
    /// no routing) against the model of the same logic.
    fn sta_ns(arcs: &[u32]) -> f64 {
        arcs.iter().sum::<u32>() as f64 / 1000.0
    }

    #[test]
    fn xilinx_is_never_below_sta_on_measured_paths() {
        let r = Arrival::register();
        // jsc_rand4 at 200 MHz, before this calibration: four chained
        // adders (11 to 14 bits) from a register into a register, 5.656 ns
        let clk = [96, 303]; // BUFG, FDRE C->Q
        let chain = [
            238, 127, 400, // LUT2, INV, CARRY4 S->O
            407, 127, 380, 334, // LUT3, LUT3 (full adder), S->CO, CI->O
            127, 127, 618, // LUT3, LUT4 (full adder), S->O
            631, 472, 407, 528, 334, // LUT6, LUT5, LUT6, S->CO, CI->O
        ];
        let sta = sta_ns(&clk) + sta_ns(&chain);
        assert!((sta - 5.656).abs() < 1e-9);
        let model = [11, 12, 13, 14].iter().fold(r, |t, &w| adder(t, w));
        let model = model.captured().path(0);
        assert!(model >= sta, "model {model} < sta {sta}");
        assert!(model < sta * 1.06, "model {model} is not tight");
        // tiny: a cast with rounding and saturation (an 8-bit rounding
        // adder, a compare, a select), 2.298 ns
        let sta = sta_ns(&clk) + sta_ns(&[238, 558, 472, 631]); // LUT2, S->O, LUT6, LUT5
        let model = lut(compare(adder(r, 8), 8)).captured().path(0);
        assert!(model >= sta, "model {model} < sta {sta}");
    }
}
