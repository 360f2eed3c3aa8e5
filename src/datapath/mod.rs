//! The datapath IR: the whole design as a DAG of integer operations, below
//! the graph IR and above any printer.
//!
//! A [`Datapath`] holds [`Node`]s in an arena indexed by [`NodeId`]. Its
//! rules:
//! - an operand is created before every node that reads it, so the arena
//!   order is a topological order and every pass can walk it forwards
//!   (arrival times, known bits) or backwards (demanded bits, liveness);
//! - a node holds raw two's-complement integers, never Verilog text; its
//!   [`Format`] records width, signedness and the binary point, and the
//!   binary point is bookkeeping only: every [`Kind`] is defined on raw
//!   integers, with explicit shifts where grids differ;
//! - every node carries facts computed when it is made ([`Node::range`],
//!   [`Node::fmt`], [`Node::low`]), so no later stage re-derives them;
//! - a node is made once: [`Datapath::node`] returns the existing id for a
//!   kind it has seen (structural hashing), and commutative operands are
//!   put in a canonical order first, so neurons share partial sums without
//!   any pass asking for it;
//! - widths come from exact intervals: a node is as wide as the values it
//!   can hold, never as wide as a declared type that cannot be reached.
//!
//! What lives elsewhere: the lowering from the graph IR (`lower.rs`), the
//! reference interpreter (`interp.rs`). Schedules, timing and resource
//! counts are analyses over this IR, not fields of it.

pub mod area;
pub mod count;
mod csd;
pub mod cse;
pub mod demand;
mod flow;
pub mod fold;
pub mod fuse;
mod interp;
mod lower;
pub mod retime;
pub mod schedule;
pub mod timing;

pub use csd::csd_digits;
pub use interp::Interpreter;
pub use lower::{LowerError, lower};

/// The datapath of a lowered graph and its schedule, as the graph's
/// options ask: lowered, scheduled and, with `--adders fused|ternary`
/// under a clock, fused (`fuse.rs`) and scheduled again.
pub fn build(l: crate::ir::Lowered<'_>) -> Result<(Datapath, schedule::Schedule), LowerError> {
    let opts = l.graph().meta.pipeline.unwrap_or_default();
    let mut dp = lower(l)?;
    let s = schedule::for_options(&dp, &opts).map_err(LowerError::Schedule)?;
    if !fuses(&opts) || dp.fold.is_some() {
        return Ok((dp, s));
    }
    let period = opts.clock_period_ps as f64 / 1000.0;
    if fuse::ternary(&mut dp, &s, period, opts.delay_model) == 0 {
        return Ok((dp, s));
    }
    dp.remove_dead();
    let s = schedule::for_options(&dp, &opts).map_err(LowerError::Schedule)?;
    Ok((dp, s))
}

/// Whether [`build`] fuses adders: ternary ones are asked for and the
/// schedule is by the clock (only then is there a time budget to fit).
pub fn fuses(opts: &crate::ir::CompileOptions) -> bool {
    opts.adders.vendor_cells() && opts.mode == crate::ir::PipelineMode::Clock
}

use crate::fixed::{FixedType, Format, OverflowMode, QuantMode, cast_interval};
use crate::ir::Interval;

/// Index of a node in its [`Datapath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One operand of an adder: `±(node << shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Term {
    pub node: NodeId,
    pub shift: u32,
    pub neg: bool,
}

/// What a node computes, on raw integers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Element `index` of model input `port`, as it arrives on the wire
    /// (a bipolar element is its bit: 1 = +1).
    Input {
        port: u32,
        index: u32,
    },
    /// Bit `index` of the result bank of folded layer `layer`
    /// ([`fold::Fold`]): a register the PE array writes.
    Bank {
        layer: u32,
        index: u32,
    },
    Const(i128),
    /// `Σ ±(x << s)` over two or three terms, exact unless `wrap` is set,
    /// in which case the sum is reduced modulo `2^wrap.width` into `wrap`
    /// (the hls4ml semantics of an explicit accumulator; reducing once at
    /// the end equals reducing after every addition).
    Add {
        terms: Terms,
        wrap: Option<Format>,
    },
    /// `cast(x · 2^-from_frac, ty)`: the one cast of `crate::fixed`, with
    /// modes that cannot trigger for `x`'s interval already replaced by
    /// `trn` and `wrap`.
    Cast {
        x: NodeId,
        from_frac: i32,
        ty: FixedType,
    },
    /// `clamp(x << shift, lo, hi)`, each bound optional (ReLU, hard tanh).
    Clamp {
        x: NodeId,
        shift: u32,
        lo: Option<i128>,
        hi: Option<i128>,
    },
    /// `x ≥ 0 ? x << shift : x · alpha` (leaky ReLU with a raw slope on
    /// `shift` fractional bits).
    Leaky {
        x: NodeId,
        alpha: i128,
        shift: u32,
    },
    /// One bit: `x ≥ t`.
    Ge {
        x: NodeId,
        t: i128,
    },
    /// One bit: `a < b`, both on the same grid.
    Less {
        a: NodeId,
        b: NodeId,
    },
    /// `sel ? b : a`.
    Mux {
        sel: NodeId,
        a: NodeId,
        b: NodeId,
    },
    /// Bit `index` of `x`'s two's-complement raw value.
    Bit {
        x: NodeId,
        index: u32,
    },
    /// `1 − b` of a bit.
    Not(NodeId),
    /// `2b − 1` of a bit: the −1/+1 value of a bipolar element, two
    /// signed bits `{~b, 1}`, wiring only.
    Bipolar(NodeId),
    /// A read-only memory: `roms[rom].lookup(x)` ([`crate::ir::Rom`]).
    Table {
        x: NodeId,
        rom: u32,
    },
    /// A threshold gate: `[Σ weights·inputs ≥ threshold]` over bits.
    TlCell {
        inputs: Vec<NodeId>,
        weights: Vec<i64>,
        threshold: i64,
    },
}

impl Kind {
    /// The nodes this one reads, in operand order. Inlined: every pass
    /// walks it in its innermost loop.
    #[inline]
    pub fn operands(&self) -> Operands<'_> {
        let fixed = |v: &[NodeId]| {
            let mut a = [NodeId(0); 3];
            a[..v.len()].copy_from_slice(v);
            Operands::Fixed(a, 0, v.len() as u8)
        };
        match self {
            Kind::Input { .. } | Kind::Bank { .. } | Kind::Const(_) => fixed(&[]),
            Kind::Add { terms, .. } => Operands::Terms(terms.iter()),
            Kind::Cast { x, .. }
            | Kind::Clamp { x, .. }
            | Kind::Leaky { x, .. }
            | Kind::Ge { x, .. }
            | Kind::Table { x, .. }
            | Kind::Bit { x, .. } => fixed(&[*x]),
            Kind::Not(x) | Kind::Bipolar(x) => fixed(&[*x]),
            Kind::Less { a, b } => fixed(&[*a, *b]),
            Kind::Mux { sel, a, b } => fixed(&[*sel, *a, *b]),
            Kind::TlCell { inputs, .. } => Operands::Cells(inputs.iter()),
        }
    }
}

/// The operands of a node, without allocating (they are walked millions
/// of times on a big design).
pub enum Operands<'a> {
    Fixed([NodeId; 3], u8, u8),
    Terms(std::slice::Iter<'a, Term>),
    Cells(std::slice::Iter<'a, NodeId>),
}

impl Iterator for Operands<'_> {
    type Item = NodeId;
    #[inline]
    fn next(&mut self) -> Option<NodeId> {
        match self {
            Operands::Fixed(a, i, n) => (*i < *n).then(|| {
                *i += 1;
                a[*i as usize - 1]
            }),
            Operands::Terms(t) => t.next().map(|t| t.node),
            Operands::Cells(c) => c.next().copied(),
        }
    }
}

/// The two or three operands of an adder, stored inline: a design has
/// millions of adders, and a heap block each would dominate its memory.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    items: [Term; 3],
    len: u8,
}

impl Terms {
    pub fn of(terms: &[Term]) -> Terms {
        assert!((1..=3).contains(&terms.len()), "an adder has 1 to 3 terms");
        let mut items = [terms[0]; 3];
        items[..terms.len()].copy_from_slice(terms);
        Terms {
            items,
            len: terms.len() as u8,
        }
    }
}

impl std::ops::Deref for Terms {
    type Target = [Term];
    fn deref(&self) -> &[Term] {
        &self.items[..self.len as usize]
    }
}

impl std::ops::DerefMut for Terms {
    fn deref_mut(&mut self) -> &mut [Term] {
        &mut self.items[..self.len as usize]
    }
}

impl PartialEq for Terms {
    fn eq(&self, o: &Terms) -> bool {
        **self == **o
    }
}
impl Eq for Terms {}
impl std::hash::Hash for Terms {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self).hash(h)
    }
}

/// A node with the facts every later stage reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// The narrowest format holding `range`, at the node's binary point.
    pub fmt: Format,
    /// Exact raw interval of the value.
    pub range: Interval,
    /// How many of the lowest raw bits are the same for every sample (all
    /// of them for a constant): a register of them is removed by synthesis.
    pub low: u32,
}

/// An output element: the node and the format of its port field, which
/// holds the node's value on the same binary point (sign- or
/// zero-extended by the printer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub node: NodeId,
    pub port: Format,
}

/// The datapath of a whole design.
#[derive(Debug, Clone, Default)]
pub struct Datapath {
    pub nodes: Vec<Node>,
    /// Per model input, the wire format and element count.
    pub inputs: Vec<(Format, usize)>,
    /// Every output element, outputs concatenated in model order.
    pub outputs: Vec<Output>,
    /// The graph-IR nodes in topological order, with the nodes that hold
    /// their elements.
    pub layers: Vec<Layer>,
    /// Per node, the index in `layers` of the graph node whose lowering
    /// made it (the first one, when later layers share it).
    pub layer_of: Vec<u32>,
    /// How the threshold-logic lowering built its neurons, for the report.
    pub tl: crate::backend::tl_cells::Stats,
    /// The folded PE array (`--target tl-pe`), whose result banks the
    /// [`Kind::Bank`] nodes read.
    pub fold: Option<Box<fold::Fold>>,
    /// The contents of every [`Kind::Table`], each once.
    pub roms: Vec<crate::ir::Rom>,
    /// The layer new nodes are attributed to.
    current: u32,
    /// Every node by the hash of its kind, for structural hashing.
    seen: hashbrown::HashTable<NodeId>,
    /// Per node, what readers ask of it most ([`Datapath::width`],
    /// [`Datapath::is_signed`], [`Datapath::is_const`]), packed apart from the nodes: operands are
    /// scattered over the arena, and on a big design reading these from
    /// the nodes themselves was mostly cache misses.
    brief: Vec<Brief>,
}

/// A node's width, signedness and whether it is a constant (see
/// `Datapath::brief`).
#[derive(Debug, Clone, Copy)]
struct Brief {
    width: u8,
    signed: bool,
    konst: bool,
}

/// One graph-IR node as the datapath sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    /// The node holding each element, `None` where no output depends on it.
    pub elements: Vec<Option<NodeId>>,
    /// `--pipeline layer` registers this layer's result (the graph IR's
    /// `schedule_pipeline` decides which layers; fused activations don't).
    pub out_reg: bool,
}

/// The one-bit format.
pub const BIT: Format = Format {
    signed: false,
    width: 1,
    frac: 0,
};

/// Fewest bits for `[lo, hi]` at `frac`; every node's width comes from here.
fn fit(range: Interval, frac: i32) -> Format {
    Format::for_interval(range.0, range.1, frac).expect("datapath values fit 127 bits")
}

impl Datapath {
    #[inline]
    pub fn node_ref(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }
    #[inline]
    pub fn fmt(&self, id: NodeId) -> Format {
        self.nodes[id.index()].fmt
    }
    #[inline]
    pub fn range(&self, id: NodeId) -> Interval {
        self.nodes[id.index()].range
    }
    /// `fmt(id).width`, without reading the node.
    #[inline]
    pub fn width(&self, id: NodeId) -> u32 {
        self.brief[id.index()].width as u32
    }
    /// `fmt(id).signed`, without reading the node.
    #[inline]
    pub fn is_signed(&self, id: NodeId) -> bool {
        self.brief[id.index()].signed
    }
    /// Whether the node is a [`Kind::Const`], without reading it.
    #[inline]
    pub fn is_const(&self, id: NodeId) -> bool {
        self.brief[id.index()].konst
    }

    /// The node computing `kind`, made if it does not exist yet. `frac` is
    /// the binary point of the result where the kind does not fix it (it
    /// is fixed for casts and bits). The binary point is only a label: a
    /// kind seen before returns the first node whatever `frac` is asked
    /// for, because the raw value is the same. A node whose interval is
    /// one point is that constant.
    pub fn node(&mut self, kind: Kind, frac: i32) -> NodeId {
        let kind = canonical(kind);
        // hashed once for the look-up and the insertion: millions of
        // nodes go through here on a big design
        let h = hash(&kind);
        if let Some(id) = self.find(h, &kind) {
            return id;
        }
        let node = self.facts(kind, frac);
        if node.range.0 == node.range.1 && !matches!(node.kind, Kind::Const(_)) {
            return self.node(Kind::Const(node.range.0), node.fmt.frac);
        }
        self.push_hashed(node, h)
    }

    /// Make node `id` compute its value as `kind` instead: a rewrite by a
    /// pass after the lowering, of the same value (its facts stay). A
    /// later node of `kind` finds this one.
    pub fn set_kind(&mut self, id: NodeId, kind: Kind) {
        let kind = canonical(kind);
        let h = hash(&kind);
        self.nodes[id.index()].kind = kind;
        let nodes = &self.nodes;
        self.seen
            .insert_unique(h, id, |id| hash(&nodes[id.index()].kind));
    }

    /// The node of `kind`, whose hash is `h`, if there is one.
    fn find(&self, h: u64, kind: &Kind) -> Option<NodeId> {
        let nodes = &self.nodes;
        self.seen
            .find(h, |id| nodes[id.index()].kind == *kind)
            .copied()
    }

    /// Append `node`, attributed to the current layer, and remember it.
    fn push(&mut self, node: Node) -> NodeId {
        let h = hash(&node.kind);
        self.push_hashed(node, h)
    }

    /// `push` of a node whose kind hashes to `h`.
    fn push_hashed(&mut self, node: Node, h: u64) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.brief.push(Brief {
            width: u8::try_from(node.fmt.width).expect("datapath values fit 128 bits"),
            signed: node.fmt.signed,
            konst: matches!(node.kind, Kind::Const(_)),
        });
        self.nodes.push(node);
        self.layer_of.push(self.current);
        let nodes = &self.nodes;
        self.seen
            .insert_unique(h, id, |id| hash(&nodes[id.index()].kind));
        id
    }

    /// Room for `additional` more nodes, so a big design's arena and hash
    /// table do not grow (and rehash every node) step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.nodes.reserve(additional);
        self.layer_of.reserve(additional);
        self.brief.reserve(additional);
        let nodes = &self.nodes;
        self.seen
            .reserve(additional, |id| hash(&nodes[id.index()].kind));
    }

    /// Attribute the nodes made from now on to a new layer.
    pub fn begin_layer(&mut self, name: &str, out_reg: bool) {
        self.current = self.layers.len() as u32;
        self.layers.push(Layer {
            name: name.to_string(),
            elements: vec![],
            out_reg,
        });
    }

    /// Interval, format and constant low bits of a new node.
    fn facts(&self, kind: Kind, frac: i32) -> Node {
        let n = |id: NodeId| &self.nodes[id.index()];
        let bit = |range| (BIT, range, 0);
        let (fmt, range, low) = match &kind {
            Kind::Input { .. } | Kind::Bank { .. } => {
                unreachable!("inputs and banks are made by `source`")
            }
            Kind::Const(v) => (fit((*v, *v), frac), (*v, *v), 0),
            Kind::Add { terms, wrap } => {
                let (lo, hi, low) = terms.iter().fold((0i128, 0i128, u32::MAX), |acc, t| {
                    let x = n(t.node);
                    let (a, b) = (x.range.0 << t.shift, x.range.1 << t.shift);
                    let (a, b) = if t.neg { (-b, -a) } else { (a, b) };
                    let l = if x.low >= x.fmt.width {
                        u32::MAX
                    } else {
                        x.low + t.shift
                    };
                    (acc.0 + a, acc.1 + b, acc.2.min(l))
                });
                match wrap {
                    // a constant sum wraps to one constant
                    Some(f) if lo == hi && !f.contains(lo) => {
                        let ty = FixedType::new(*f, QuantMode::Trn, OverflowMode::Wrap);
                        let v = crate::fixed::cast(lo, f.frac, &ty).0;
                        (*f, (v, v), 0)
                    }
                    Some(f) if !f.contains(lo) || !f.contains(hi) => {
                        (*f, (f.min_raw(), f.max_raw()), low.min(f.width))
                    }
                    _ => (fit((lo, hi), frac), (lo, hi), low),
                }
            }
            Kind::Cast { x, from_frac, ty } => {
                let x = n(*x);
                let range = cast_interval(x.range.0, x.range.1, *from_frac, ty);
                let shift = from_frac - ty.format.frac;
                let low = match (ty.overflow, ty.quant) {
                    (OverflowMode::Wrap, _) if shift <= 0 => x.low + (-shift) as u32,
                    (OverflowMode::Wrap, QuantMode::Trn) => x.low.saturating_sub(shift as u32),
                    (OverflowMode::Wrap, _) if x.low >= shift as u32 => x.low - shift as u32,
                    _ => 0,
                };
                (fit(range, ty.format.frac), range, low)
            }
            Kind::Clamp { x, shift, lo, hi } => {
                let x = n(*x);
                let c = |v: i128| {
                    let v = lo.map_or(v, |b| v.max(b));
                    hi.map_or(v, |b| v.min(b))
                };
                let range = (c(x.range.0 << shift), c(x.range.1 << shift));
                (fit(range, frac), range, 0)
            }
            Kind::Leaky { x, alpha, shift } => {
                let range = crate::ir::interval::leaky_relu(n(*x).range, *alpha, *shift)
                    .expect("sized by infer_precision");
                (fit(range, frac), range, 0)
            }
            Kind::Ge { x, t } => {
                let r = n(*x).range;
                bit(((r.0 >= *t) as i128, (r.1 >= *t) as i128))
            }
            Kind::Less { a, b } => {
                let (a, b) = (n(*a).range, n(*b).range);
                bit(((a.1 < b.0) as i128, (a.0 < b.1) as i128))
            }
            Kind::Mux { a, b, .. } => {
                let range = crate::ir::interval::hull(n(*a).range, n(*b).range);
                (fit(range, frac), range, 0)
            }
            Kind::Bit { x, index } => match n(*x).range {
                (lo, hi) if lo == hi => bit((lo >> index & 1, lo >> index & 1)),
                _ => bit((0, 1)),
            },
            Kind::TlCell {
                inputs,
                weights,
                threshold,
            } => {
                let (lo, hi) = inputs
                    .iter()
                    .zip(weights)
                    .fold((0, 0), |(lo, hi), (&x, &w)| {
                        let (a, b) = (n(x).range.0 * w as i128, n(x).range.1 * w as i128);
                        (lo + a.min(b), hi + a.max(b))
                    });
                let t = *threshold as i128;
                bit(((lo >= t) as i128, (hi >= t) as i128))
            }
            Kind::Not(x) => {
                let r = n(*x).range;
                bit((1 - r.1, 1 - r.0))
            }
            Kind::Bipolar(x) => {
                let r = n(*x).range;
                (Format::new(true, 2, 0), (2 * r.0 - 1, 2 * r.1 - 1), 1)
            }
            Kind::Table { x, rom } => {
                let range = self.roms[*rom as usize].range_over(n(*x).range);
                (fit(range, frac), range, 0)
            }
        };
        let low = if range.0 == range.1 {
            fmt.width
        } else {
            low.min(fmt.width)
        };
        Node {
            kind,
            fmt,
            range,
            low,
        }
    }

    /// The index of table `rom` in [`Datapath::roms`], added if new.
    pub fn rom(&mut self, rom: &crate::ir::Rom) -> u32 {
        let at = self.roms.iter().position(|r| r == rom).unwrap_or_else(|| {
            self.roms.push(rom.clone());
            self.roms.len() - 1
        });
        at as u32
    }

    /// Element `index` of model input `port`, in wire format `fmt` with
    /// the exact interval `range`.
    pub fn input(&mut self, port: u32, index: u32, fmt: Format, range: Interval) -> NodeId {
        self.source(Kind::Input { port, index }, fmt, range)
    }

    /// Bit `index` of folded layer `layer`'s result bank.
    pub fn bank(&mut self, layer: u32, index: u32) -> NodeId {
        self.source(Kind::Bank { layer, index }, BIT, (0, 1))
    }

    /// A node whose value comes from outside the datapath's logic.
    fn source(&mut self, kind: Kind, fmt: Format, range: Interval) -> NodeId {
        if let Some(id) = self.find(hash(&kind), &kind) {
            return id;
        }
        let low = if range.0 == range.1 { fmt.width } else { 0 };
        self.push(Node {
            kind,
            fmt,
            range,
            low,
        })
    }

    /// Drop every node no output depends on (inputs stay: they are ports),
    /// renumbering the rest in the same order.
    pub fn remove_dead(&mut self) {
        let mut live = vec![false; self.nodes.len()];
        for o in &self.outputs {
            live[o.node.index()] = true;
        }
        for l in self.fold.iter().flat_map(|f| &f.layers) {
            for b in l.code.iter().flatten() {
                live[b.index()] = true;
            }
        }
        for i in (0..self.nodes.len()).rev() {
            if live[i] || matches!(self.nodes[i].kind, Kind::Input { .. }) {
                live[i] = true;
                for o in self.nodes[i].kind.operands() {
                    live[o.index()] = true;
                }
            }
        }
        // Nothing dead (the usual case): the arena, its numbering and the
        // hash table stay as they are, instead of rehashing every node.
        if live.iter().all(|&l| l) {
            return;
        }
        let mut map = vec![NodeId(u32::MAX); self.nodes.len()];
        let old = std::mem::take(&mut self.nodes);
        let old_layer = std::mem::take(&mut self.layer_of);
        let n_live = live.iter().filter(|&&l| l).count();
        self.seen.clear();
        self.brief.clear();
        self.nodes.reserve_exact(n_live);
        self.layer_of.reserve_exact(n_live);
        for (i, mut node) in old.into_iter().enumerate().filter(|(i, _)| live[*i]) {
            node.kind = remap(node.kind, &map);
            self.current = old_layer[i];
            map[i] = self.push(node);
        }
        for o in &mut self.outputs {
            o.node = map[o.node.index()];
        }
        for e in self.layers.iter_mut().flat_map(|l| l.elements.iter_mut()) {
            *e = e.map(|id| map[id.index()]).filter(|id| id.0 != u32::MAX);
        }
        for l in self.fold.iter_mut().flat_map(|f| f.layers.iter_mut()) {
            for b in l.code.iter_mut().flatten() {
                *b = map[b.index()];
            }
        }
    }
}

/// The structural-hashing key of a kind.
fn hash(kind: &Kind) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(kind)
}

/// Commutative operands in one order, so equal computations hash equal.
fn canonical(kind: Kind) -> Kind {
    match kind {
        Kind::Add { mut terms, wrap } => {
            terms.sort();
            Kind::Add { terms, wrap }
        }
        other => other,
    }
}

/// `kind` with its operands renamed by `map`.
fn remap(kind: Kind, map: &[NodeId]) -> Kind {
    let m = |id: NodeId| map[id.index()];
    match kind {
        Kind::Input { .. } | Kind::Bank { .. } | Kind::Const(_) => kind,
        Kind::Add { mut terms, wrap } => {
            for t in terms.iter_mut() {
                t.node = m(t.node);
            }
            Kind::Add { terms, wrap }
        }
        Kind::Cast { x, from_frac, ty } => Kind::Cast {
            x: m(x),
            from_frac,
            ty,
        },
        Kind::Clamp { x, shift, lo, hi } => Kind::Clamp {
            x: m(x),
            shift,
            lo,
            hi,
        },
        Kind::Leaky { x, alpha, shift } => Kind::Leaky {
            x: m(x),
            alpha,
            shift,
        },
        Kind::Ge { x, t } => Kind::Ge { x: m(x), t },
        Kind::Less { a, b } => Kind::Less { a: m(a), b: m(b) },
        Kind::Mux { sel, a, b } => Kind::Mux {
            sel: m(sel),
            a: m(a),
            b: m(b),
        },
        Kind::Bit { x, index } => Kind::Bit { x: m(x), index },
        Kind::Not(x) => Kind::Not(m(x)),
        Kind::Bipolar(x) => Kind::Bipolar(m(x)),
        Kind::Table { x, rom } => Kind::Table { x: m(x), rom },
        Kind::TlCell {
            inputs,
            weights,
            threshold,
        } => Kind::TlCell {
            inputs: inputs.into_iter().map(m).collect(),
            weights,
            threshold,
        },
    }
}
