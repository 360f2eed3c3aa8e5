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
use std::fmt::{Display, Write};

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

/// Bits of a wire that some reader takes: a set of bit indices (a wire
/// is at most 128 bits wide). An empty set still differs from `None`: its
/// unread bits are sunk one by one.
enum Read {
    None,
    Bits(u128),
    All,
}

/// What is read of every wire: node `n`, `d` cycles late, at
/// `start[n] + d` of one flat table. One byte a wire, as a big design has
/// millions; the bits read of a partly read wire (few are) are on the side.
struct Reads {
    start: Vec<u32>,
    table: Vec<u8>,
    bits: rustc_hash::FxHashMap<usize, u128>,
}

/// The states of a wire in `Reads::table`.
const READ_NONE: u8 = 0;
const READ_BITS: u8 = 1;
const READ_ALL: u8 = 2;

impl Reads {
    fn new(delay: &[u32]) -> Reads {
        let mut start = Vec::with_capacity(delay.len());
        let mut n = 0u32;
        for &d in delay {
            start.push(n);
            n = n.checked_add(d + 1).expect("under 2^32 wires");
        }
        Reads {
            start,
            table: vec![READ_NONE; n as usize],
            bits: Default::default(),
        }
    }
    fn slot(&self, id: NodeId, d: u32) -> usize {
        (self.start[id.index()] + d) as usize
    }
    /// Every bit of the wire is read.
    fn all(&mut self, id: NodeId, d: u32) {
        let i = self.slot(id, d);
        if self.table[i] == READ_BITS {
            self.bits.remove(&i);
        }
        self.table[i] = READ_ALL;
    }
    /// The bits of `mask` are read (nothing changes if all are).
    fn add_bits(&mut self, id: NodeId, d: u32, mask: u128) {
        let i = self.slot(id, d);
        if self.table[i] != READ_ALL {
            self.table[i] = READ_BITS;
            *self.bits.entry(i).or_default() |= mask;
        }
    }
    /// What is read of the wire, leaving it unread.
    fn take(&mut self, id: NodeId, d: u32) -> Read {
        let i = self.slot(id, d);
        match std::mem::replace(&mut self.table[i], READ_NONE) {
            READ_ALL => Read::All,
            READ_BITS => Read::Bits(self.bits.remove(&i).unwrap_or_default()),
            _ => Read::None,
        }
    }
}

/// Bits `lo..hi` as a set.
fn bit_range(lo: u32, hi: u32) -> u128 {
    match hi.saturating_sub(lo) {
        0 => 0,
        n if n >= 128 => u128::MAX,
        n => ((1u128 << n) - 1) << lo,
    }
}

/// A wire's name, written straight into the text: the printer names
/// millions of wires, and allocating a `String` for each was a large
/// part of its time.
#[derive(Clone, Copy)]
enum Wire {
    /// `n<id>`, or `n<id>_d<k>` for the value `k` cycles late.
    Node(NodeId, u32),
    /// `n<id>_p<k>`: partial sum `k` of an adder of three terms.
    Partial(NodeId, usize),
    /// The constant `1'b0`.
    Zero,
}

/// A piece of module text that appends itself: numbers and wire names
/// without `core::fmt`, whose machinery was most of the printer's time
/// on a big design (millions of instances).
trait Emit {
    fn emit(&self, b: &mut String);
}

impl Emit for str {
    fn emit(&self, b: &mut String) {
        b.push_str(self)
    }
}

impl Emit for String {
    fn emit(&self, b: &mut String) {
        b.push_str(self)
    }
}

impl<T: Emit + ?Sized> Emit for &T {
    fn emit(&self, b: &mut String) {
        (**self).emit(b)
    }
}

impl Emit for i64 {
    fn emit(&self, b: &mut String) {
        push_num(b, *self)
    }
}

/// `n` in decimal, as `Display` writes it.
fn push_num(b: &mut String, n: i64) {
    if n < 0 {
        b.push('-');
    }
    push_digits(b, n.unsigned_abs(), digit_table());
}

/// `v`'s digits, four at a time from `table` (`digit_table`): neither
/// `core::fmt` nor a UTF-8 check of each number's digits.
fn push_digits(b: &mut String, v: u64, table: &str) {
    if v >= 10000 {
        push_digits(b, v / 10000, table);
        let low = (v % 10000) as usize;
        return b.push_str(&table[4 * low..4 * low + 4]);
    }
    let v = v as usize;
    let skip = match v {
        0..=9 => 3,
        10..=99 => 2,
        100..=999 => 1,
        _ => 0,
    };
    b.push_str(&table[4 * v + skip..4 * v + 4]);
}

/// "0000", "0001", ... "9999" in one string.
fn digit_table() -> &'static str {
    static TABLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..10000).map(|i| format!("{i:04}")).collect())
}

impl Emit for Wire {
    fn emit(&self, b: &mut String) {
        let (id, suffix, k) = match *self {
            Wire::Zero => return b.push_str("1'b0"),
            Wire::Node(id, 0) => (id, "", 0),
            Wire::Node(id, d) => (id, "_d", d as i64),
            Wire::Partial(id, k) => (id, "_p", k as i64),
        };
        b.push('n');
        push_num(b, id.0 as i64);
        if !suffix.is_empty() {
            b.push_str(suffix);
            push_num(b, k);
        }
    }
}

impl Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.emit(&mut s);
        f.write_str(&s)
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
    /// The primitives printed by `inst_num`.
    nums: &'a NumInsts,
    /// The tables instantiated, printed as modules after the top.
    roms: BTreeSet<u32>,
}

/// A primitive whose parameters are all numbers, given in this order.
struct NumInst<const N: usize> {
    module: &'static str,
    params: [&'static str; N],
    /// Each parameter's default where it is a plain number (so a value
    /// equals the default exactly when it prints the same).
    defaults: [Option<i64>; N],
    /// Whether it was instantiated (noted once, not per instance).
    used: std::cell::Cell<bool>,
}

impl<const N: usize> NumInst<N> {
    fn new(module: &'static str, params: [&'static str; N]) -> Self {
        let all = super::primitive_defaults(module);
        let defaults = params.map(|p| {
            let (_, v) = all.iter().find(|(dp, _)| dp == p)?;
            let n: i64 = v.parse().ok()?;
            (n.to_string() == *v).then_some(n)
        });
        NumInst {
            module,
            params,
            defaults,
            used: Default::default(),
        }
    }
}

/// Adders and registers: nearly every line of a big design.
struct NumInsts {
    add: NumInst<8>,
    reg: NumInst<2>,
}

impl NumInsts {
    fn new() -> Self {
        NumInsts {
            add: NumInst::new(
                "nt_add",
                ["AW", "AS", "ASH", "BW", "BS", "BSH", "SUB", "OW"],
            ),
            reg: NumInst::new("nt_reg", ["W", "DEPTH"]),
        }
    }
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
pub fn print_logic(
    dp: &Datapath,
    s: &Schedule,
    unread: &[u32],
    name: &str,
    header: String,
) -> Printed {
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
        nums: &NumInsts::new(),
        roms: BTreeSet::new(),
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
    for &k in &p.roms {
        rom_module(&mut p.body, name, k, &dp.roms[k as usize]);
    }
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
    Wire::Node(id, delay).to_string()
}

/// `module #(params) u<n> (conns);`, the `#(...)` left out when no
/// parameter is given (an empty `#()` is not Verilog-2005).
fn write_inst<'p>(
    b: &mut String,
    module: &str,
    n: usize,
    params: impl Iterator<Item = (&'p str, &'p dyn Emit)>,
    conns: &[(&str, &dyn Emit)],
) {
    let port = |b: &mut String, sep: &str, p: &str, v: &dyn Emit| {
        b.push_str(sep);
        b.push('.');
        b.push_str(p);
        b.push('(');
        v.emit(b);
        b.push(')');
    };
    b.push_str("  ");
    b.push_str(module);
    b.push(' ');
    let mut any = false;
    for (p, v) in params {
        port(b, if any { ", " } else { "#(" }, p, v);
        any = true;
    }
    if any {
        b.push_str(") ");
    }
    b.push('u');
    push_num(b, n as i64);
    b.push_str(" (");
    for (k, (p, v)) in conns.iter().enumerate() {
        port(b, if k == 0 { "" } else { ", " }, p, *v);
    }
    b.push_str(");\n");
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

    fn wire(&mut self, name: impl Emit, width: u32) {
        // `range_str`, without its allocation
        let b = &mut self.body;
        b.push_str("  wire [");
        push_num(b, width as i64 - 1);
        b.push_str(":0] ");
        name.emit(b);
        b.push_str(";\n");
    }

    fn assign(&mut self, lhs: String, rhs: String) {
        let _ = writeln!(self.body, "  assign {lhs} = {rhs};");
    }

    /// An instance of `module`; parameters at the primitive's own default
    /// are left out, which keeps big designs' files a third smaller.
    fn inst(&mut self, module: &'static str, params: &[(&str, String)], conns: &[(&str, String)]) {
        self.out.primitives.insert(module);
        let defaults = super::primitive_defaults(module);
        let params = params
            .iter()
            .filter(|(p, v)| !defaults.iter().any(|(dp, dv)| dp == p && dv == v))
            .map(|(p, v)| (*p, v as &dyn Emit));
        let conns: Vec<(&str, &dyn Emit)> =
            conns.iter().map(|(p, v)| (*p, v as &dyn Emit)).collect();
        write_inst(&mut self.body, module, self.next, params, &conns);
        self.next += 1;
    }

    /// `inst` of a primitive whose parameters are all numbers: adders and
    /// registers, nearly every line of a big design, written without
    /// allocating.
    fn inst_num<const N: usize>(
        &mut self,
        spec: &NumInst<N>,
        values: [i64; N],
        conns: &[(&str, &dyn Emit)],
    ) {
        if !spec.used.replace(true) {
            self.out.primitives.insert(spec.module);
        }
        let params = (spec.params.iter().zip(&spec.defaults).zip(&values))
            .filter(|((_, d), v)| **d != Some(**v))
            .map(|((p, _), v)| (*p, v as &dyn Emit));
        write_inst(&mut self.body, spec.module, self.next, params, conns);
        self.next += 1;
    }

    /// The wire holding `x` when read by a node of cycle `at`, noting that
    /// `bit` (or all bits) of it are read. Constants are read directly.
    fn read(&mut self, x: NodeId, at: u32, bit: Option<u32>) -> String {
        self.read_wire(x, at, bit).to_string()
    }

    /// `read`, naming the wire without allocating.
    fn read_wire(&mut self, x: NodeId, at: u32, bit: Option<u32>) -> Wire {
        let d = self.delay_of(x, at);
        match bit {
            None => self.reads.all(x, d),
            Some(k) => {
                debug_assert!(k < 128, "a wire is at most 128 bits wide");
                self.reads.add_bits(x, d, 1 << k)
            }
        }
        Wire::Node(x, d)
    }

    fn node(&mut self, id: NodeId) {
        let node = self.dp.node_ref(id);
        let (w, at) = (node.fmt.width, self.s.of(id));
        self.wire(Wire::Node(id, 0), w);
        if let Kind::Add { terms, .. } = &node.kind {
            return self.add(id, terms);
        }
        let y = name(id, 0);
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
            Kind::Add { .. } => unreachable!("printed above"),
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
            Kind::Table { x, rom } => self.table(id, *x, *rom, at),
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
        // the terms, subtracted ones last, in a copy on the stack
        let mut buf = [terms[0]; 3];
        let ts = &mut buf[..terms.len()];
        ts.copy_from_slice(terms);
        ts.sort_by_key(|t| t.neg);
        let (mut acc, rest) = if ts[0].neg {
            ((Wire::Zero, Format::new(false, 1, 0), 0u32), &ts[..])
        } else {
            let t = ts[0];
            let a = self.read_wire(t.node, at, None);
            ((a, self.operand_fmt(t.node), t.shift), &ts[1..])
        };
        for (k, t) in rest.iter().enumerate() {
            let y = if k + 1 == rest.len() {
                Wire::Node(id, 0)
            } else {
                let y = Wire::Partial(id, k);
                self.wire(y, w);
                y
            };
            let fb = self.operand_fmt(t.node);
            let eb = self.read_wire(t.node, at, None);
            // AW, AS, ASH, BW, BS, BSH, SUB, OW
            let params = [
                acc.1.width as i64,
                acc.1.signed as i64,
                acc.2 as i64,
                fb.width as i64,
                fb.signed as i64,
                t.shift as i64,
                t.neg as i64,
                w as i64,
            ];
            let nums = self.nums;
            self.inst_num(&nums.add, params, &[("a", &acc.0), ("b", &eb), ("y", &y)]);
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
            format!(
                "{}[{}:0]",
                name(t.node, self.delay_of(t.node, at)),
                kept - 1
            )
        };
        let mut parts = vec![];
        let fill = w - t.shift - kept;
        if fill > 0 {
            let top = if f.signed {
                self.read(t.node, at, Some(f.width - 1));
                format!(
                    "{}[{}]",
                    name(t.node, self.delay_of(t.node, at)),
                    f.width - 1
                )
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
    /// A table read: the address is `x` without its dropped low bits,
    /// sign- or zero-extended (or cut) to the ROM's address width; the
    /// ROM's word is cut to this node's width, which holds its value.
    fn table(&mut self, id: NodeId, x: NodeId, k: u32, at: u32) {
        let rom = &self.dp.roms[k as usize];
        let (aw, ow) = rom_widths(rom);
        let fx = self.dp.fmt(x);
        let drop = rom.drop.min(fx.width - 1);
        let d = self.delay_of(x, at);
        let kept = fx.width - drop;
        // a cut address reads only its low `aw` bits: the rest are sunk
        self.reads
            .add_bits(x, d, bit_range(drop, drop + kept.min(aw)));
        let xw = Wire::Node(x, d);
        let addr = if kept >= aw {
            format!("{xw}[{}:{drop}]", drop + aw - 1)
        } else {
            let fill = if fx.signed {
                format!("{xw}[{}]", fx.width - 1)
            } else {
                "1'b0".into()
            };
            format!(
                "{{{{{}{{{fill}}}}}, {xw}[{}:{drop}]}}",
                aw - kept,
                fx.width - 1
            )
        };
        let (a, r) = (format!("{}_a", name(id, 0)), format!("{}_r", name(id, 0)));
        let _ = writeln!(self.body, "  wire [{}:0] {a} = {addr};", aw - 1);
        let _ = writeln!(self.body, "  wire [{}:0] {r};", ow - 1);
        let module = format!("{}_rom{k}", self.top);
        write_inst(
            &mut self.body,
            &module,
            self.next,
            std::iter::empty(),
            &[("a", &a as &dyn Emit), ("y", &r)],
        );
        self.next += 1;
        self.roms.insert(k);
        let w = self.dp.fmt(id).width;
        self.assign(name(id, 0), format!("{r}[{}:0]", w - 1));
        self.sink_bits(&r, w, ow);
    }

    fn delay_of(&self, x: NodeId, at: u32) -> u32 {
        if is_const(self.dp, x) {
            0
        } else {
            at - self.s.of(x)
        }
    }

    /// An operand's width and signedness (its binary point left at 0), from
    /// the datapath's packed table rather than the scattered node.
    fn operand_fmt(&self, x: NodeId) -> Format {
        Format::new(self.dp.is_signed(x), self.dp.width(x), 0)
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
        let src = Wire::Node(id, 0);
        for d in 1..=depth {
            let q = Wire::Node(id, d);
            self.wire(q, w);
            let prev = Wire::Node(id, d - 1);
            let filled: String;
            let input: &dyn Emit = if d > 1 || unread == 0 {
                self.reads.all(id, d - 1);
                &prev
            } else {
                self.reads.add_bits(id, 0, bit_range(unread.min(w), w));
                filled = if unread >= w {
                    format!("{w}'b0")
                } else {
                    format!("{{{src}[{}:{unread}], {unread}'b0}}", w - 1)
                };
                &filled
            };
            let nums = self.nums;
            // W, DEPTH
            self.inst_num(
                &nums.reg,
                [w as i64, 1],
                &[("clk", &"clk"), ("d", input), ("q", &q)],
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
    fn sink_bits(&mut self, name: &impl Display, lo: u32, hi: u32) {
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
                let wire = Wire::Node(id, d);
                match self.reads.take(id, d) {
                    Read::All => {}
                    Read::None => self.sink_bits(&wire, 0, w),
                    Read::Bits(set) => {
                        for k in (0..w).filter(|&k| set >> k & 1 == 0) {
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

/// The address and word widths of a ROM: its codes `lo..` and entries as
/// two's-complement words.
fn rom_widths(rom: &crate::ir::Rom) -> (u32, u32) {
    let hi = rom.lo + rom.entries.len() as i128 - 1;
    let aw = Format::for_interval(rom.lo, hi, 0)
        .expect("codes fit")
        .width;
    let lo = *rom.entries.iter().min().expect("entries");
    let top = *rom.entries.iter().max().expect("entries");
    (
        aw,
        Format::for_interval(lo, top, 0).expect("entries fit").width,
    )
}

/// Module `<top>_rom<k>`: table `k` as a `case` over its codes.
fn rom_module(b: &mut String, top: &str, k: u32, rom: &crate::ir::Rom) {
    let (aw, ow) = rom_widths(rom);
    let _ = writeln!(
        b,
        "\n// activation table {k}: {} entries, in the top's file\n/* verilator lint_off DECLFILENAME */\nmodule {top}_rom{k} (\n  input  wire [{}:0] a,\n  output reg  [{}:0] y\n);\n  always @* begin\n    case (a)",
        rom.entries.len(),
        aw - 1,
        ow - 1
    );
    for (i, &v) in rom.entries.iter().enumerate() {
        let _ = writeln!(
            b,
            "      {}: y = {};",
            lit(rom.lo + i as i128, aw),
            lit(v, ow)
        );
    }
    let _ = writeln!(
        b,
        "      default: y = {ow}'h0;\n    endcase\n  end\nendmodule"
    );
}
