//! The folded array's part of a folded design's top module: everything
//! in it was decided by `datapath::fold` (the schedule, every ROM word,
//! one PE's logic); this file only instantiates the primitives and wires
//! them to the main datapath's nodes.

use super::Printer;
use crate::datapath::NodeId;
use crate::datapath::fold::{Fold, Rom, bits_for};
use std::fmt::Write;

/// The register holding the sample while the array runs.
pub const SAMPLE: &str = "f_xin";

/// The wire of folded layer `l`'s result bank.
pub fn bank(l: usize) -> String {
    format!("f_bank{l}")
}

/// A field `(lowest bit, width)` of wire `w`.
fn field(w: &str, (at, width): (u32, u32)) -> String {
    if width == 1 {
        format!("{w}[{at}]")
    } else {
        format!("{w}[{}:{at}]", at + width - 1)
    }
}

impl Printer<'_> {
    /// Before the nodes: the controller, the sample register and the
    /// result bank wires the nodes read.
    pub(super) fn fold_prelude(&mut self, f: &Fold, in_bits: u32) {
        let cw = bits_for(f.steps.len());
        for (w, width) in [("f_take", 1), ("f_run", 1), ("f_done", 1), ("f_step", cw)] {
            self.wire(String::from(w), width);
        }
        self.inst(
            "tl_pe_ctrl",
            &[("STEPS", f.steps.len().to_string()), ("CW", cw.to_string())],
            &[
                ("clk", "clk".into()),
                ("rst", "rst".into()),
                ("in_valid", "in_valid".into()),
                ("in_ready", "in_ready".into()),
                ("take", "f_take".into()),
                ("run", "f_run".into()),
                ("step", "f_step".into()),
                ("done", "f_done".into()),
            ],
        );
        self.assign("out_valid".into(), "f_done".into());
        self.wire(String::from(SAMPLE), in_bits);
        self.inst(
            "nt_bank",
            &[("W", in_bits.to_string())],
            &[
                ("clk", "clk".into()),
                ("we", format!("{{{in_bits}{{f_take}}}}")),
                ("d", "in_data".into()),
                ("q", SAMPLE.into()),
            ],
        );
        for (l, layer) in f.layers.iter().enumerate() {
            self.wire(bank(l), layer.u as u32);
        }
    }

    /// After the nodes: the schedule ROM, the lanes, the PEs and their
    /// accumulators, and the bank writes.
    pub(super) fn fold_engine(&mut self, f: &Fold) {
        self.rom(&f.control_rom, "f_step", "f_ctl");
        let c = f.control;
        for (w, at) in [
            ("f_grp", c.group()),
            ("f_first", c.first()),
            ("f_last", c.last()),
            ("f_mask", c.mask()),
        ] {
            self.wire(String::from(w), at.1);
            self.assign(w.into(), field("f_ctl", at));
        }
        self.lanes(f);
        let groups = f.groups();
        self.wire(String::from("f_wr"), groups as u32);
        self.inst(
            "nt_decode",
            &[
                ("N", groups.to_string()),
                ("SW", c.group_bits.to_string()),
                ("EW", "2".into()),
            ],
            &[
                ("en", "{f_run, f_last}".into()),
                ("sel", "f_grp".into()),
                ("y", "f_wr".into()),
            ],
        );
        for p in 0..f.pes {
            self.pe(f, p);
        }
        for l in 0..f.layers.len() {
            self.bank_write(f, l);
        }
    }

    /// `f_lanes`: the step's chunk of some folded layer's input codes.
    fn lanes(&mut self, f: &Fold) {
        let lw = f.lanes * f.wmax as usize;
        let mut bits = vec![];
        for ly in &f.layers {
            for c in 0..ly.chunks {
                for k in 0..f.lanes {
                    let code = ly.code.get(c * f.lanes + k).map_or(&[][..], Vec::as_slice);
                    for b in 0..f.wmax as usize {
                        bits.push(code.get(b).copied());
                    }
                }
            }
        }
        let parts: Vec<String> = bits
            .iter()
            .rev()
            .map(|b| b.map_or("1'b0".into(), |x: NodeId| self.read(x, 0, None)))
            .collect();
        self.wire(String::from("f_chunks"), parts.len() as u32);
        self.assign("f_chunks".into(), format!("{{{}}}", parts.join(", ")));
        self.wire(String::from("f_lanes"), lw as u32);
        self.inst(
            "nt_mux",
            &[
                ("N", f.chunks().to_string()),
                ("W", lw.to_string()),
                ("SW", f.control.chunk_bits.to_string()),
            ],
            &[
                ("bus", "f_chunks".into()),
                ("sel", field("f_ctl", f.control.chunk())),
                ("y", "f_lanes".into()),
            ],
        );
    }

    /// PE `p`: its ROMs, its logic and its accumulator.
    fn pe(&mut self, f: &Fold, p: usize) {
        let acc_w = f.n + 1;
        let (w, start, acc, sum) = (
            format!("f_w{p}"),
            format!("f_start{p}"),
            format!("f_acc{p}"),
            format!("f_sum{p}"),
        );
        self.rom(&f.weight_roms[p], "f_step", &w);
        self.rom(&f.start_roms[p], "f_grp", &start);
        self.wire(acc.clone(), acc_w);
        self.wire(sum.clone(), acc_w);
        // the PE's inputs in the order of `PE_PORTS`, the first lowest
        let ins = format!("{{{acc}, {start}, f_first, f_mask, {w}, f_lanes}}");
        let module = super::pe_module(self.top);
        let _ = writeln!(
            self.body,
            "  {module} u_pe{p} (.in_data({ins}), .out_data({sum}));"
        );
        self.inst(
            "nt_reg",
            &[("W", acc_w.to_string()), ("DEPTH", "1".into())],
            &[("clk", "clk".into()), ("d", sum), ("q", acc)],
        );
    }

    /// Layer `l`'s bank: neuron j takes bit n of its PE's sum when its
    /// group's last step runs.
    fn bank_write(&mut self, f: &Fold, l: usize) {
        let u = f.layers[l].u;
        let (we, d): (Vec<String>, Vec<String>) = (0..u)
            .rev()
            .map(|j| {
                let (pe, g) = f.writer(l, j);
                (format!("f_wr[{g}]"), format!("f_sum{pe}[{}]", f.n))
            })
            .unzip();
        self.inst(
            "nt_bank",
            &[("W", u.to_string())],
            &[
                ("clk", "clk".into()),
                ("we", format!("{{{}}}", we.join(", "))),
                ("d", format!("{{{}}}", d.join(", "))),
                ("q", bank(l)),
            ],
        );
    }

    /// ROM `r` read at `addr` into a new wire `q`. A big ROM is split into
    /// segments of at most 2^15 bits, because simulators limit the width
    /// of one literal (Verilator: 2^16 bits), and the high address bits
    /// pick the segment.
    fn rom(&mut self, r: &Rom, addr: &str, q: &str) {
        let (depth, w) = (r.depth(), r.width);
        let aw = bits_for(depth);
        self.wire(String::from(q), w);
        let seg_bits = (1usize << 15) / w.max(1) as usize;
        let lo_bits = (usize::BITS - 1 - seg_bits.max(1).leading_zeros()).min(aw);
        let seg = 1usize << lo_bits;
        if depth <= seg {
            return self.rom_segment(&r.bits, w, (addr.into(), aw), q.into());
        }
        let n = depth.div_ceil(seg);
        let (outs, low) = (format!("{q}_seg"), format!("{q}_lo"));
        self.wire(outs.clone(), n as u32 * w);
        self.wire(low.clone(), lo_bits.max(1));
        self.assign(low.clone(), format!("{addr}[{}:0]", lo_bits.max(1) - 1));
        let word = w as usize;
        for k in 0..n {
            let words = seg.min(depth - k * seg);
            let bits = &r.bits[k * seg * word..(k * seg + words) * word];
            let part = format!("{outs}[{}:{}]", (k + 1) * word - 1, k * word);
            self.rom_segment(bits, w, (low.clone(), lo_bits.max(1)), part);
        }
        self.inst(
            "nt_mux",
            &[
                ("N", n.to_string()),
                ("W", w.to_string()),
                ("SW", (aw - lo_bits).to_string()),
            ],
            &[
                ("bus", outs),
                ("sel", format!("{addr}[{}:{lo_bits}]", aw - 1)),
                ("y", q.into()),
            ],
        );
    }

    fn rom_segment(&mut self, bits: &[bool], w: u32, (addr, aw): (String, u32), q: String) {
        let depth = bits.len() / w.max(1) as usize;
        self.inst(
            "nt_rom",
            &[
                ("DEPTH", depth.to_string()),
                ("W", w.to_string()),
                ("AW", aw.to_string()),
                ("DATA", super::super::view::bits_lit(bits)),
            ],
            &[("addr", addr), ("q", q)],
        );
    }
}
