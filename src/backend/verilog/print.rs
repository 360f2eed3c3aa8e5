//! The thin printer: a scheduled datapath → one flat Verilog module.
//!
//! Every decision is already made: the datapath fixes what each node
//! computes and how wide it is, the schedule its cycle, the demanded-bits
//! analysis which low bits registers may drop. This file only names wires
//! (`n<id>`, and `n<id>_d<k>` for the value `k` cycles late), instantiates
//! one `rtl/` primitive per arithmetic node, writes wiring (bit selects,
//! inversions, concatenations, literals) as assigns, builds each value's
//! register chain, and terminates bits nothing reads so lint stays clean.

mod fold;

use super::view::{b, lit, range_str};
use crate::datapath::schedule::{Schedule, is_const};
use crate::datapath::{Datapath, Kind, NodeId, Term};
use crate::fixed::Format;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The printed module and what it needs.
pub struct Printed {
    /// The module's Verilog text.
    pub text: String,
    /// Primitive modules instantiated, by name.
    pub primitives: BTreeSet<&'static str>,
    /// One line per threshold cell, for `tl_netlist.txt`.
    pub gates: Vec<String>,
}

/// Threshold cells with at most this many inputs are printed as truth
/// tables (64 entries).
const TABLE_INPUTS: usize = 6;

/// Bits of a wire that some reader takes.
#[derive(Default)]
enum Read {
    #[default]
    None,
    Bits(BTreeSet<u32>),
    All,
}

/// What is read of every wire: node `n`, `d` cycles late, at
/// `start[n] + d` of one flat table.
struct Reads {
    start: Vec<usize>,
    table: Vec<Read>,
}

impl Reads {
    fn new(delay: &[u32]) -> Reads {
        let mut start = Vec::with_capacity(delay.len());
        let mut n = 0;
        for &d in delay {
            start.push(n);
            n += d as usize + 1;
        }
        let mut table = Vec::with_capacity(n);
        table.resize_with(n, Read::default);
        Reads { start, table }
    }
    fn at(&mut self, id: NodeId, d: u32) -> &mut Read {
        &mut self.table[self.start[id.index()] + d as usize]
    }
}

/// What the printed module is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// A pipelined design's top: a valid chain beside the data.
    Pipelined,
    /// A folded design's top: a controller runs the PE array, and the
    /// sample is held in a register while it runs.
    Folded,
    /// Logic between `in_data` and `out_data`, no clock (one PE).
    Logic,
}

struct Printer<'a> {
    dp: &'a Datapath,
    s: &'a Schedule,
    frame: Frame,
    /// The module's name.
    top: &'a str,
    out: Printed,
    /// The module text, written as the nodes are walked: each wire is
    /// declared beside what drives it, and drivers come before readers.
    body: String,
    /// Per (node, delay), which of its bits are read.
    reads: Reads,
    /// Expressions (and their widths) nothing reads, for the sink.
    sunk: Vec<(String, u32)>,
    next: usize,
}

/// Print `dp` under schedule `s` as module `name`, with `unread` the
/// demanded-bits analysis and `header` its first comment line.
pub fn print(dp: &Datapath, s: &Schedule, unread: &[u32], name: &str, header: String) -> Printed {
    let frame = if dp.fold.is_some() {
        Frame::Folded
    } else {
        Frame::Pipelined
    };
    print_frame(dp, s, unread, (name, frame), header)
}

/// Print `dp` as a module of logic only: `in_data` to `out_data`.
pub fn print_logic(dp: &Datapath, s: &Schedule, unread: &[u32], name: &str, header: String) -> Printed {
    print_frame(dp, s, unread, (name, Frame::Logic), header)
}

/// The module a folded design `top` instantiates for each PE.
pub fn pe_module(top: &str) -> String {
    format!("{top}_pe")
}

fn print_frame(
    dp: &Datapath,
    s: &Schedule,
    unread: &[u32],
    (name, frame): (&str, Frame),
    header: String,
) -> Printed {
    let mut p = Printer {
        dp,
        s,
        frame,
        top: name,
        out: Printed {
            text: String::new(),
            primitives: BTreeSet::new(),
            gates: vec![],
        },
        body: String::new(),
        reads: Reads::new(&s.delay),
        sunk: vec![],
        next: 0,
    };
    p.ports(name, &header);
    for (i, &u) in unread.iter().enumerate() {
        let id = NodeId(i as u32);
        p.node(id);
        p.chain(id, s.delay[i], u);
    }
    if let Some(f) = &dp.fold {
        p.fold_engine(f);
    }
    p.outputs();
    p.sink();
    p.body.push_str("endmodule\n");
    let mut out = p.out;
    out.text = p.body;
    out
}

/// The width and signedness parameters of a primitive's two operands.
fn operand_params(x: Format, y: Format) -> [(&'static str, String); 4] {
    [
        ("AW", x.width.to_string()),
        ("AS", b(x.signed)),
        ("BW", y.width.to_string()),
        ("BS", b(y.signed)),
    ]
}

fn name(id: NodeId, delay: u32) -> String {
    match delay {
        0 => format!("n{}", id.0),
        d => format!("n{}_d{d}", id.0),
    }
}

impl Printer<'_> {
    fn ports(&mut self, name: &str, header: &str) {
        let in_bits: u64 = self
            .dp
            .inputs
            .iter()
            .map(|(f, n)| f.width as u64 * *n as u64)
            .sum();
        let out_bits: u64 = self.dp.outputs.iter().map(|o| o.port.width as u64).sum();
        let all = [
            ("input", "clk", 0),
            ("input", "rst", 0),
            ("input", "in_valid", 0),
            ("input", "in_data", in_bits.max(1)),
            ("output", "in_ready", 0),
            ("output", "out_valid", 0),
            ("output", "out_data", out_bits.max(1)),
        ];
        let logic = self.frame == Frame::Logic;
        let ports: Vec<_> = all
            .into_iter()
            .filter(|p| !logic || p.1.ends_with("_data"))
            .collect();
        let t = &mut self.body;
        let version = env!("CARGO_PKG_VERSION");
        let _ = write!(
            t,
            "// {header}\n// Generated by neurtl {version}. Do not edit: regenerate from the model.\nmodule {name} (\n"
        );
        for (k, (dir, port, w)) in ports.iter().enumerate() {
            let range = if *w == 0 {
                String::new()
            } else {
                range_str(*w as u32)
            };
            let sep = if k + 1 == ports.len() { "" } else { "," };
            let _ = writeln!(t, "    {dir} wire {range}{port}{sep}");
        }
        t.push_str(");\n");
        match (self.frame, &self.dp.fold) {
            (Frame::Folded, Some(f)) => self.fold_prelude(f, in_bits.max(1) as u32),
            (Frame::Pipelined, _) => self.valid_chain(),
            _ => {}
        }
        if in_bits == 0 {
            self.sink_expr("in_data".into(), 1);
        }
    }

    /// `out_valid` is `in_valid` `latency` cycles late; a sample is taken
    /// every cycle.
    fn valid_chain(&mut self) {
        self.assign("in_ready".into(), "1'b1".into());
        self.inst(
            "nt_valid",
            &[("DEPTH", self.s.latency.to_string())],
            &[
                ("clk", "clk".into()),
                ("rst", "rst".into()),
                ("d", "in_valid".into()),
                ("q", "out_valid".into()),
            ],
        );
    }

    fn wire(&mut self, name: String, width: u32) {
        let _ = writeln!(self.body, "  wire {}{name};", range_str(width));
    }

    fn assign(&mut self, lhs: String, rhs: String) {
        let _ = writeln!(self.body, "  assign {lhs} = {rhs};");
    }

    /// An instance of `module`; parameters at the primitive's own default
    /// are left out, which keeps big designs' files a third smaller.
    fn inst(&mut self, module: &'static str, params: &[(&str, String)], conns: &[(&str, String)]) {
        self.out.primitives.insert(module);
        let defaults = super::primitive_defaults(module);
        let b = &mut self.body;
        let _ = write!(b, "  {module} ");
        let mut any = false;
        for (p, v) in params {
            if defaults.iter().any(|(dp, dv)| dp == p && dv == v) {
                continue;
            }
            let _ = write!(b, "{}.{p}({v})", if any { ", " } else { "#(" });
            any = true;
        }
        let _ = write!(b, "{}u{} (", if any { ") " } else { "" }, self.next);
        for (k, (p, v)) in conns.iter().enumerate() {
            let _ = write!(b, "{}.{p}({v})", if k == 0 { "" } else { ", " });
        }
        b.push_str(");\n");
        self.next += 1;
    }

    /// The wire holding `x` when read by a node of cycle `at`, noting that
    /// `bit` (or all bits) of it are read. Constants are read directly.
    fn read(&mut self, x: NodeId, at: u32, bit: Option<u32>) -> String {
        let d = if is_const(self.dp, x) {
            0
        } else {
            at - self.s.of(x)
        };
        let r = self.reads.at(x, d);
        match (bit, &mut *r) {
            (None, _) => *r = Read::All,
            (Some(_), Read::All) => {}
            (Some(k), Read::Bits(set)) => {
                set.insert(k);
            }
            (Some(k), Read::None) => *r = Read::Bits(BTreeSet::from([k])),
        }
        name(x, d)
    }

    fn node(&mut self, id: NodeId) {
        let node = self.dp.node_ref(id);
        let (w, at) = (node.fmt.width, self.s.of(id));
        let y = name(id, 0);
        self.wire(y.clone(), w);
        let f = |p: &Self, x: NodeId| p.dp.fmt(x);
        match &node.kind {
            Kind::Input { port, index } => {
                let off: u64 = self.dp.inputs[..*port as usize]
                    .iter()
                    .map(|(f, n)| f.width as u64 * *n as u64)
                    .sum::<u64>()
                    + *index as u64 * w as u64;
                let src = if self.frame == Frame::Folded {
                    fold::SAMPLE
                } else {
                    "in_data"
                };
                self.assign(y, format!("{src}[{}:{off}]", off + w as u64 - 1));
            }
            Kind::Bank { layer, index } => {
                self.assign(y, format!("{}[{index}]", fold::bank(*layer as usize)));
            }
            Kind::Const(v) => self.assign(y, lit(*v, w)),
            Kind::Add { terms, .. } => self.add(id, terms),
            Kind::Cast { x, from_frac, ty } => {
                let a = self.read(*x, at, None);
                let tw = ty.format.width;
                let q = if tw == w { y.clone() } else { format!("{y}_q") };
                if tw != w {
                    self.wire(q.clone(), tw);
                    // the cast's value fits the node's narrower format
                    self.assign(y, format!("{q}[{}:0]", w - 1));
                    self.sink_bits(&q, w, tw);
                }
                let fx = f(self, *x);
                let params = [
                    ("IW", fx.width.to_string()),
                    ("IS", b(fx.signed)),
                    ("SHIFT", (from_frac - ty.format.frac).to_string()),
                    ("OW", tw.to_string()),
                    ("OS", b(ty.format.signed)),
                    ("QM", ty.quant.code().to_string()),
                    ("OM", ty.overflow.code().to_string()),
                ];
                self.inst("nt_quant", &params, &[("a", a), ("y", q)]);
            }
            Kind::Clamp { x, shift, lo, hi } => {
                let fx = f(self, *x);
                let a = self.read(*x, at, None);
                let bound = |v: &Option<i128>| v.unwrap_or(0);
                let cw =
                    Format::for_interval(bound(lo).min(bound(hi)), bound(lo).max(bound(hi)), 0)
                        .expect("bounds fit")
                        .width
                        + 1;
                let params = [
                    ("IW", fx.width.to_string()),
                    ("IS", b(fx.signed)),
                    ("SH", shift.to_string()),
                    ("CW", cw.to_string()),
                    ("LO", lit(bound(lo), cw)),
                    ("HI", lit(bound(hi), cw)),
                    ("ENLO", b(lo.is_some())),
                    ("ENHI", b(hi.is_some())),
                    ("OW", w.to_string()),
                ];
                self.inst("nt_clamp", &params, &[("a", a), ("y", y)]);
            }
            Kind::Leaky { x, alpha, shift } => {
                let fx = f(self, *x);
                let a = self.read(*x, at, None);
                let params = [
                    ("IW", fx.width.to_string()),
                    ("IS", b(fx.signed)),
                    ("SH", shift.to_string()),
                    ("OW", w.to_string()),
                    ("A", lit(*alpha, w)),
                ];
                self.inst("nt_leaky", &params, &[("a", a), ("y", y)]);
            }
            Kind::Ge { x, t } => {
                let fx = f(self, *x);
                let a = self.read(*x, at, None);
                let tw = Format::for_interval(*t, *t, 0)
                    .expect("thresholds fit")
                    .width
                    + 1;
                let params = [
                    ("W", fx.width.to_string()),
                    ("S", b(fx.signed)),
                    ("TW", tw.to_string()),
                    ("T", lit(*t, tw)),
                ];
                self.inst("nt_ge", &params, &[("a", a), ("y", y)]);
            }
            Kind::Less { a, b: bb } => {
                let params = operand_params(f(self, *a), f(self, *bb));
                let (ea, eb) = (self.read(*a, at, None), self.read(*bb, at, None));
                self.inst("nt_lt", &params, &[("a", ea), ("b", eb), ("y", y)]);
            }
            Kind::Mux { sel, a, b: bb } => {
                let mut params = operand_params(f(self, *a), f(self, *bb)).to_vec();
                params.push(("OW", w.to_string()));
                let s = self.read(*sel, at, None);
                let (ea, eb) = (self.read(*a, at, None), self.read(*bb, at, None));
                self.inst(
                    "nt_sel",
                    &params,
                    &[("s", s), ("a", ea), ("b", eb), ("y", y)],
                );
            }
            Kind::Bit { x, index } => {
                let e = self.read(*x, at, Some(*index));
                self.assign(y, format!("{e}[{index}]"));
            }
            Kind::Not(x) => {
                let e = self.read(*x, at, None);
                self.assign(y, format!("~{e}"));
            }
            Kind::Bipolar(x) => {
                let e = self.read(*x, at, None);
                self.assign(y, format!("{{~{e}, 1'b1}}"));
            }
            Kind::TlCell {
                inputs,
                weights,
                threshold,
            } => self.tl_cell(id, inputs, weights, *threshold),
        }
    }

    /// An adder: one `nt_add` per two terms, the subtracted term second;
    /// a lone subtracted term is `0 − x`; three terms are a 7-series
    /// ternary adder.
    fn add(&mut self, id: NodeId, terms: &[Term]) {
        if terms.len() == 3 {
            return self.add3(id, terms);
        }
        let (w, at) = (self.dp.fmt(id).width, self.s.of(id));
        let mut ts: Vec<Term> = terms.to_vec();
        ts.sort_by_key(|t| t.neg);
        let zero = (String::from("1'b0"), Format::new(false, 1, 0), 0u32);
        let mut acc = if ts[0].neg {
            zero
        } else {
            let t = ts.remove(0);
            (self.read(t.node, at, None), self.dp.fmt(t.node), t.shift)
        };
        for (k, t) in ts.iter().enumerate() {
            let y = if k + 1 == ts.len() {
                name(id, 0)
            } else {
                let y = format!("n{}_p{k}", id.0);
                self.wire(y.clone(), w);
                y
            };
            let fb = self.dp.fmt(t.node);
            let eb = self.read(t.node, at, None);
            let params = [
                ("AW", acc.1.width.to_string()),
                ("AS", b(acc.1.signed)),
                ("ASH", acc.2.to_string()),
                ("BW", fb.width.to_string()),
                ("BS", b(fb.signed)),
                ("BSH", t.shift.to_string()),
                ("SUB", b(t.neg)),
                ("OW", w.to_string()),
            ];
            self.inst(
                "nt_add",
                &params,
                &[("a", acc.0.clone()), ("b", eb), ("y", y.clone())],
            );
            // the partial sum is taken modulo 2^w like the whole
            acc = (y, Format::new(true, w, 0), 0);
        }
    }

    /// `nt_add3`, the subtracted term (at most one) as `c`, each operand
    /// extended and shifted to the result's width by wiring.
    fn add3(&mut self, id: NodeId, terms: &[Term]) {
        let w = self.dp.fmt(id).width;
        let mut ts = terms.to_vec();
        ts.sort_by_key(|t| t.neg);
        debug_assert!(!ts[1].neg, "a ternary adder subtracts at most one term");
        let mut conns: Vec<(&str, String)> = vec![];
        for (t, port) in ts.iter().zip(["a", "b", "c"]) {
            conns.push((port, self.aligned(id, *t, w)));
        }
        let lo = crate::datapath::timing::free_low_bits(&ts).min(w);
        conns.push(("y", name(id, 0)));
        let params = [
            ("W", w.to_string()),
            ("SUB", b(ts[2].neg)),
            ("LO", lo.to_string()),
        ];
        self.inst("nt_add3", &params, &conns);
    }

    /// Term `t` of adder `id` as `w` bits: `node << shift`, extended by
    /// the node's signedness, the bits above `w` left out (modulo 2^w).
    fn aligned(&mut self, id: NodeId, t: Term, w: u32) -> String {
        let at = self.s.of(id);
        let f = self.dp.fmt(t.node);
        if t.shift >= w {
            return format!("{w}'b0");
        }
        let kept = f.width.min(w - t.shift);
        let e = if kept == f.width {
            self.read(t.node, at, None)
        } else {
            for k in 0..kept {
                self.read(t.node, at, Some(k));
            }
            format!("{}[{}:0]", name(t.node, self.delay_of(t.node, at)), kept - 1)
        };
        let mut parts = vec![];
        let fill = w - t.shift - kept;
        if fill > 0 {
            let top = if f.signed {
                self.read(t.node, at, Some(f.width - 1));
                format!("{}[{}]", name(t.node, self.delay_of(t.node, at)), f.width - 1)
            } else {
                "1'b0".into()
            };
            parts.push(format!("{{{fill}{{{top}}}}}"));
        }
        parts.push(e);
        if t.shift > 0 {
            parts.push(format!("{}'b0", t.shift));
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// How late a node of cycle `at` reads `x` (constants: never).
    fn delay_of(&self, x: NodeId, at: u32) -> u32 {
        if is_const(self.dp, x) { 0 } else { at - self.s.of(x) }
    }

    /// A threshold cell. Up to `TABLE_INPUTS` inputs it is printed as its
    /// truth table, so a simulator compiles one lookup per cell instead of
    /// one module per distinct cell (the named-cell netlist for an ASIC
    /// flow is `tl_netlist.txt`); wider cells instantiate `tl_cell`.
    fn tl_cell(&mut self, id: NodeId, inputs: &[NodeId], weights: &[i64], threshold: i64) {
        let at = self.s.of(id);
        if inputs.len() <= TABLE_INPUTS {
            let ins: Vec<String> = inputs.iter().map(|&x| self.read(x, at, None)).collect();
            let y = name(id, 0);
            let bits: Vec<bool> = (0..1usize << inputs.len())
                .map(|k| {
                    let sum: i64 = (0..inputs.len())
                        .filter(|i| k >> i & 1 == 1)
                        .map(|i| weights[i])
                        .sum();
                    sum >= threshold
                })
                .collect();
            let table = format!("{y}_tt");
            let _ = writeln!(
                self.body,
                "  wire {}{table} = {};",
                range_str(bits.len() as u32),
                super::view::bits_lit(&bits)
            );
            let idx: Vec<&str> = ins.iter().rev().map(String::as_str).collect();
            self.assign(y.clone(), format!("{table}[{{{}}}]", idx.join(", ")));
            self.gate_line(&y, &ins, weights, threshold);
            return;
        }
        let ww = weights
            .iter()
            .map(|&w| Format::for_interval(w as i128, w as i128, 0).unwrap().width)
            .max()
            .unwrap_or(1)
            .max(2);
        // input 0 in the least significant bits, like every bus here
        let packed: Vec<String> = weights.iter().rev().map(|&w| lit(w as i128, ww)).collect();
        let ins: Vec<String> = inputs.iter().map(|&x| self.read(x, at, None)).collect();
        let rev: Vec<String> = ins.iter().rev().cloned().collect();
        let y = name(id, 0);
        let params = [
            ("N", inputs.len().to_string()),
            ("WW", ww.to_string()),
            ("WEIGHTS", format!("{{{}}}", packed.join(", "))),
            ("T", threshold.to_string()),
        ];
        let x = format!("{{{}}}", rev.join(", "));
        self.inst("tl_cell", &params, &[("x", x), ("y", y.clone())]);
        self.gate_line(&y, &ins, weights, threshold);
    }

    /// One line of `tl_netlist.txt`.
    fn gate_line(&mut self, y: &str, ins: &[String], weights: &[i64], threshold: i64) {
        let ws: Vec<String> = weights.iter().map(|w| w.to_string()).collect();
        self.out.gates.push(format!(
            "{y} inputs=[{}] weights=[{}] threshold={threshold}",
            ins.join(", "),
            ws.join(", ")
        ));
    }

    /// `depth` registers after node `id`, one per cycle so every delay has
    /// a tap; the `unread` low bits enter as zeros.
    fn chain(&mut self, id: NodeId, depth: u32, unread: u32) {
        let w = self.dp.fmt(id).width;
        let src = name(id, 0);
        for d in 1..=depth {
            let q = name(id, d);
            self.wire(q.clone(), w);
            let input = if d > 1 {
                *self.reads.at(id, d - 1) = Read::All;
                name(id, d - 1)
            } else if unread == 0 {
                *self.reads.at(id, 0) = Read::All;
                src.clone()
            } else {
                let r = self.reads.at(id, 0);
                let kept: BTreeSet<u32> = (unread.min(w)..w).collect();
                match r {
                    Read::All => {}
                    Read::Bits(s) => s.extend(kept),
                    Read::None => *r = Read::Bits(kept),
                }
                if unread >= w {
                    format!("{w}'b0")
                } else {
                    format!("{{{src}[{}:{unread}], {unread}'b0}}", w - 1)
                }
            };
            let params = [("W", w.to_string()), ("DEPTH", "1".to_string())];
            self.inst(
                "nt_reg",
                &params,
                &[("clk", "clk".into()), ("d", input), ("q", q)],
            );
        }
    }

    /// `out_data`: every output element at the latency, extended to its
    /// port field, element 0 in the least significant bits.
    fn outputs(&mut self) {
        let mut parts = vec![];
        for o in &self.dp.outputs {
            let f = self.dp.fmt(o.node);
            let e = self.read(o.node, self.s.latency, None);
            let pw = o.port.width;
            parts.push(if pw == f.width {
                e
            } else {
                let fill = if f.signed {
                    format!("{e}[{}]", f.width - 1)
                } else {
                    "1'b0".into()
                };
                format!("{{{{{}{{{fill}}}}}, {e}}}", pw - f.width)
            });
        }
        if parts.is_empty() {
            parts.push("1'b0".into());
        }
        parts.reverse();
        self.assign("out_data".into(), format!("{{{}}}", parts.join(", ")));
    }

    /// Terminate `e` (of `w` bits), which nothing reads.
    fn sink_expr(&mut self, e: String, w: u32) {
        self.sunk.push((e, w));
    }

    /// Terminate bits `lo..hi` of wire `name`.
    fn sink_bits(&mut self, name: &str, lo: u32, hi: u32) {
        if lo < hi {
            self.sink_expr(format!("{name}[{}:{lo}]", hi - 1), hi - lo);
        }
    }

    /// One `nt_sink` for every bit of every wire nothing reads.
    fn sink(&mut self) {
        let delays = &self.s.delay;
        for (i, &depth) in delays.iter().enumerate() {
            let id = NodeId(i as u32);
            let w = self.dp.fmt(id).width;
            for d in 0..=depth {
                let wire = name(id, d);
                match std::mem::take(self.reads.at(id, d)) {
                    Read::All => {}
                    Read::None => self.sink_bits(&wire, 0, w),
                    Read::Bits(set) => {
                        for k in (0..w).filter(|k| !set.contains(k)) {
                            self.sink_bits(&wire, k, k + 1);
                        }
                    }
                }
            }
        }
        if self.sunk.is_empty() {
            return;
        }
        let total: u32 = self.sunk.iter().map(|s| s.1).sum();
        let parts: Vec<String> = self.sunk.iter().rev().map(|s| s.0.clone()).collect();
        let a = format!("{{{}}}", parts.join(", "));
        self.inst("nt_sink", &[("W", total.to_string())], &[("a", a)]);
    }
}
