//! Verilog back end: lowered IR → fully parallel, pipelined Verilog-2005.
//!
//! Entry point [`generate`]: the lowered graph becomes the datapath IR
//! (`crate::datapath`), which is scheduled, analysed and printed as one
//! flat top module with the documented interface (see docs/interface.md);
//! a folded design adds the module of one PE. Generated modules only
//! instantiate and wire the hand-written primitives of `rtl/`, which are
//! copied next to them. Output is deterministic: same graph and options,
//! byte-identical files.

pub mod names;
mod print;
mod view;

pub use crate::datapath::count::Counts;
pub use crate::datapath::fold::FoldStats;

use crate::ir::{Graph, Lowered};
use serde::Serialize;

/// The hand-written primitives, embedded so the binary is self-contained.
pub const PRIMITIVES: &[(&str, &str)] = &[
    ("nt_resize.v", include_str!("../../../rtl/nt_resize.v")),
    ("nt_add.v", include_str!("../../../rtl/nt_add.v")),
    ("nt_const.v", include_str!("../../../rtl/nt_const.v")),
    ("nt_quant.v", include_str!("../../../rtl/nt_quant.v")),
    ("nt_clamp.v", include_str!("../../../rtl/nt_clamp.v")),
    ("nt_leaky.v", include_str!("../../../rtl/nt_leaky.v")),
    ("nt_max2.v", include_str!("../../../rtl/nt_max2.v")),
    ("nt_reg.v", include_str!("../../../rtl/nt_reg.v")),
    ("nt_valid.v", include_str!("../../../rtl/nt_valid.v")),
    ("nt_sink.v", include_str!("../../../rtl/nt_sink.v")),
    ("nt_sign.v", include_str!("../../../rtl/nt_sign.v")),
    ("nt_ge.v", include_str!("../../../rtl/nt_ge.v")),
    ("tl_cell.v", include_str!("../../../rtl/tl_cell.v")),
    ("tl_pe_ctrl.v", include_str!("../../../rtl/tl_pe_ctrl.v")),
    ("nt_rom.v", include_str!("../../../rtl/nt_rom.v")),
    ("nt_mux.v", include_str!("../../../rtl/nt_mux.v")),
    ("nt_bank.v", include_str!("../../../rtl/nt_bank.v")),
    ("nt_lt.v", include_str!("../../../rtl/nt_lt.v")),
    ("nt_sel.v", include_str!("../../../rtl/nt_sel.v")),
    ("nt_decode.v", include_str!("../../../rtl/nt_decode.v")),
    ("nt_add3.v", include_str!("../../../rtl/nt_add3.v")),
];

/// Simulation models of the vendor cells some primitives instantiate,
/// written to `rtl/sim/` for the simulators; synthesis tools read their
/// own cells instead.
pub const SIM_MODELS: &[(&str, &str)] = &[
    ("LUT6_2.v", include_str!("../../../rtl/sim/LUT6_2.v")),
    ("CARRY4.v", include_str!("../../../rtl/sim/CARRY4.v")),
];

#[derive(Debug, thiserror::Error)]
pub enum VerilogError {
    #[error("--target tl-pe: {0}")]
    Folding(String),
    /// No schedule meets the options.
    #[error("{0}")]
    Schedule(String),
}

/// One element group of the packed top-level bus.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BusField {
    /// The model's name for this input or output.
    pub name: String,
    pub elements: usize,
    pub width: u32,
    pub signed: bool,
    pub frac: i32,
    /// One bit per element, 1 = +1 and 0 = −1 (then width 1, unsigned).
    pub bipolar: bool,
    /// Bit offset of element 0 in the bus.
    pub offset: u64,
}

/// What the generated design is, for the report and the testbenches.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DesignInfo {
    pub top: String,
    pub latency: u32,
    /// Cycles between samples: 1, or the folded schedule's length + 1.
    pub ii: u32,
    /// The folded array (`tl-pe`).
    pub folded: Option<FoldStats>,
    pub in_bits: u64,
    pub out_bits: u64,
    pub inputs: Vec<BusField>,
    pub outputs: Vec<BusField>,
    pub modules: Vec<String>,
    pub counts: Counts,
    pub timing: Timing,
    /// Each graph-IR node's place in the schedule, by name, as the
    /// hardware has it (the report draws from this).
    pub stages: std::collections::BTreeMap<String, crate::ir::Stage>,
}

impl DesignInfo {
    /// The stage of the graph node `name` (default: cycle 0, no registers).
    pub fn stage(&self, name: &str) -> crate::ir::Stage {
        self.stages.get(name).copied().unwrap_or_default()
    }
}

/// The delay model's view of the design (`backend::timing`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Timing {
    /// Per generated layer module, in topological order.
    pub layers: Vec<LayerTiming>,
    /// The slowest path into any flip-flop (or out of the design), setup
    /// included.
    pub critical: crate::backend::timing::Arrival,
}

/// The slowest path ending in a layer's flip-flops (or, for a layer read
/// later or by the outside, at its output), setup included.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerTiming {
    pub name: String,
    /// The cycle the layer starts in and the one its result is ready at.
    pub start: u32,
    pub ready: u32,
    pub path: crate::backend::timing::Arrival,
}

/// The generated files, by relative path, plus what they are.
pub struct Design {
    pub files: Vec<(String, String)>,
    pub info: DesignInfo,
}

fn fields(g: &Graph, nodes: &[petgraph::stable_graph::NodeIndex]) -> Vec<BusField> {
    let mut off = 0;
    nodes
        .iter()
        .map(|&n| {
            let node = g.node(n);
            let f = node.format.unwrap();
            let width = node.wire_width();
            let field = BusField {
                name: node.name.clone(),
                elements: node.size(),
                width,
                signed: f.signed && !node.bipolar,
                frac: f.frac,
                bipolar: node.bipolar,
                offset: off,
            };
            off += node.size() as u64 * width as u64;
            field
        })
        .collect()
}

/// Each primitive with the primitives it instantiates, in the order a tool
/// must read them.
const PRIMITIVE_DEPS: &[(&str, &[&str])] = &[
    ("nt_add", &["nt_resize"]),
    ("nt_quant", &["nt_resize"]),
    ("nt_clamp", &["nt_resize"]),
    ("nt_ge", &["nt_resize"]),
    ("nt_leaky", &["nt_resize"]),
    ("nt_lt", &["nt_resize"]),
    ("nt_sel", &["nt_resize"]),
    ("nt_add3", &["nt_resize"]),
];

/// The source of primitive `name`.
fn primitive(name: &str) -> &'static str {
    let file = format!("{name}.v");
    PRIMITIVES
        .iter()
        .find(|p| p.0 == file)
        .map(|p| p.1)
        .expect("every instantiated primitive is embedded")
}

/// The integer parameters of primitive `name` and their default values,
/// read from its source (`parameter integer AW = 1,`), once.
pub(crate) fn primitive_defaults(name: &str) -> &'static [(String, String)] {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static ALL: OnceLock<HashMap<String, Vec<(String, String)>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        PRIMITIVES
            .iter()
            .map(|(file, text)| {
                let params = text
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("parameter integer "))
                    .filter_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        let v = v.trim().trim_end_matches(',').trim();
                        Some((k.trim().to_string(), v.to_string()))
                    })
                    .collect();
                (file.trim_end_matches(".v").to_string(), params)
            })
            .collect()
    });
    all.get(name).map_or(&[], Vec::as_slice)
}

/// The primitives `used` needs, dependencies first, as (file, text).
fn primitive_files(used: &std::collections::BTreeSet<&'static str>) -> Vec<(String, String)> {
    let mut order: Vec<&str> = vec![];
    for &u in used {
        let deps = PRIMITIVE_DEPS
            .iter()
            .find(|d| d.0 == u)
            .map_or(&[][..], |d| d.1);
        for &d in deps.iter().chain([&u]) {
            if !order.contains(&d) {
                order.push(d);
            }
        }
    }
    order.sort_by_key(|p| !PRIMITIVE_DEPS.iter().any(|d| d.1.contains(p)));
    order
        .into_iter()
        .map(|p| (format!("rtl/{p}.v"), primitive(p).to_string()))
        .collect()
}

/// Generate the design for a lowered graph: lower to the datapath IR,
/// schedule, analyse, print one flat module (and, for a folded design,
/// the module of one PE).
pub fn generate(l: Lowered<'_>) -> Result<Design, VerilogError> {
    let g = l.graph();
    let opts = g.meta.pipeline.unwrap_or_default();
    let b = build_datapath(l)?;
    let info = datapath_info(g, &b);
    let header = format!(
        "{}: latency {} cycles, II = {}",
        b.top, info.latency, info.ii
    );
    let printed = print::print(&b.dp, &b.sched, &b.unread, &b.top, header);
    let mut primitives = printed.primitives;
    let mut modules = vec![(b.top.clone(), printed.text)];
    if let Some(f) = &b.dp.fold {
        let pe = print::pe_module(&b.top);
        let header = format!("{pe}: one threshold-logic processing element");
        let unread = crate::datapath::demand::unread_low(&f.pe);
        let p = print::print_logic(&f.pe, &pe_schedule(f), &unread, &pe, header);
        primitives.extend(p.primitives);
        modules.push((pe, p.text));
    }
    let mut files = primitive_files(&primitives);
    for (name, text) in modules {
        files.push((format!("rtl/{name}.v"), text));
    }
    let list: String = files.iter().map(|f| format!("{}\n", f.0)).collect();
    files.push(("rtl/files.f".into(), list));
    if primitives.contains("nt_add3") {
        for (name, text) in SIM_MODELS {
            files.push((format!("rtl/sim/{name}"), text.to_string()));
        }
    }
    // Every tl-cells design has a gate list, even an empty one (all
    // neurons constant), so a missing file means something went wrong.
    if opts.target == crate::ir::Target::TlCells {
        files.push((
            "tl_netlist.txt".into(),
            gate_list(&b.top, &printed.gates, &opts),
        ));
    }
    Ok(Design { files, info })
}

/// One PE is logic only: every node in cycle 0.
fn pe_schedule(f: &crate::datapath::fold::Fold) -> crate::datapath::schedule::Schedule {
    crate::datapath::schedule::by_levels(&f.pe, 0)
}

/// The scheduled, analysed datapath of a parallel design.
struct Built {
    top: String,
    dp: crate::datapath::Datapath,
    sched: crate::datapath::schedule::Schedule,
    unread: Vec<u32>,
}

fn build_datapath(l: Lowered<'_>) -> Result<Built, VerilogError> {
    use crate::datapath::demand;
    let g = l.graph();
    let (dp, sched) = crate::datapath::build(l).map_err(|e| match e {
        crate::datapath::LowerError::Fold(e) => VerilogError::Folding(e),
        crate::datapath::LowerError::Schedule(e) => VerilogError::Schedule(e),
    })?;
    let unread = demand::unread_low(&dp);
    let top = names::Namer::default().unique(&g.name);
    Ok(Built {
        top,
        dp,
        sched,
        unread,
    })
}

/// What a parallel design is, from its datapath alone.
fn datapath_info(g: &Graph, b: &Built) -> DesignInfo {
    let (inputs, outputs) = (fields(g, &g.inputs), fields(g, &g.outputs));
    let bits = |f: &[BusField]| f.iter().map(|f| f.elements as u64 * f.width as u64).sum();
    let in_bits = bits(&inputs);
    let mut info = DesignInfo {
        top: b.top.clone(),
        latency: b.sched.latency,
        ii: 1,
        folded: None,
        in_bits,
        out_bits: bits(&outputs),
        inputs,
        outputs,
        modules: vec![b.top.clone()],
        counts: crate::datapath::count::count(&b.dp, &b.sched, &b.unread),
        timing: layer_timing(&b.dp, &b.sched),
        stages: layer_stages(g, &b.dp, &b.sched),
    };
    if let Some(f) = &b.dp.fold {
        info.latency = f.latency();
        info.ii = f.latency();
        info.folded = Some(f.stats.clone());
        info.modules.push(print::pe_module(&b.top));
        info.counts.add(&fold_counts(f, in_bits));
        let pe = pe_timing(b, f);
        info.timing.critical = info.timing.critical.max(pe.path);
        info.timing.layers.push(pe);
    }
    info
}

/// What the array adds to the logic around it: one PE's logic (the
/// estimate scales its cells by the number of PEs) and the registers of
/// the sample, the controller, the accumulators and the result banks.
fn fold_counts(f: &crate::datapath::fold::Fold, in_bits: u64) -> Counts {
    use crate::datapath::{count, demand, fold::bits_for};
    let mut c = count::count(&f.pe, &pe_schedule(f), &demand::unread_low(&f.pe));
    let banks: usize = f.layers.iter().map(|l| l.u).sum();
    let ctrl = bits_for(f.steps.len()) as u64 + 2;
    c.register_bits = in_bits.max(1) + ctrl + (f.pes as u64 * (f.n as u64 + 1)) + banks as u64;
    c
}

/// The slowest path into a PE's accumulator: its lanes come through the
/// chunk select from the main datapath's code bits, its weights, mask and
/// start value through ROM reads (the start ROM addressed by another).
fn pe_timing(b: &Built, f: &crate::datapath::fold::Fold) -> LayerTiming {
    use crate::backend::timing::{Arrival, lut};
    use crate::datapath::{Kind, NodeId, timing};
    let codes = f
        .layers
        .iter()
        .flat_map(|l| l.code.iter().flatten())
        .map(|c| b.sched.arrival[c.index()])
        .fold(Arrival::register(), Arrival::max);
    let inputs = lut(codes).max(lut(lut(Arrival::register())));
    let mut at = vec![Arrival::ZERO; f.pe.nodes.len()];
    for (i, node) in f.pe.nodes.iter().enumerate() {
        let ops = node.kind.operands().map(|o| at[o.index()]);
        at[i] = match node.kind {
            Kind::Input { .. } => inputs,
            _ => timing::settle(
                &f.pe,
                NodeId(i as u32),
                ops.fold(Arrival::ZERO, Arrival::max),
            ),
        };
    }
    let path =
        f.pe.outputs
            .iter()
            .map(|o| at[o.node.index()].captured())
            .fold(Arrival::ZERO, Arrival::max);
    LayerTiming {
        name: print::pe_module(&b.top),
        start: 0,
        ready: f.latency(),
        path,
    }
}

/// What the design for a lowered graph is, without printing it: the
/// estimate and the explorer need only this.
pub fn describe(l: Lowered<'_>) -> Result<DesignInfo, VerilogError> {
    let g = l.graph();
    Ok(datapath_info(g, &build_datapath(l)?))
}

/// The slowest path into each layer's registers (a value read in a later
/// cycle, or an output, which a flip-flop captures inside or outside).
fn layer_timing(dp: &crate::datapath::Datapath, s: &crate::datapath::schedule::Schedule) -> Timing {
    use crate::backend::timing::Arrival;
    let delays = &s.delay;
    let mut out = vec![false; dp.nodes.len()];
    for o in &dp.outputs {
        out[o.node.index()] = true;
    }
    let mut layers: Vec<LayerTiming> = dp
        .layers
        .iter()
        .zip(first_logic_cycle(dp, s))
        .map(|(l, start)| LayerTiming {
            name: l.name.clone(),
            start,
            ready: 0,
            path: Arrival::ZERO,
        })
        .collect();
    for i in 0..dp.nodes.len() {
        let l = &mut layers[dp.layer_of[i] as usize];
        l.ready = l.ready.max(s.cycle[i] + (delays[i] > 0) as u32);
        if delays[i] > 0 || out[i] {
            l.path = l.path.max(s.arrival[i].captured());
        }
    }
    // inputs are ports, and wiring layers have no logic of their own
    let layers: Vec<LayerTiming> = layers.into_iter().filter(|t| t.start != u32::MAX).collect();
    let critical = layers.iter().fold(Arrival::ZERO, |c, l| c.max(l.path));
    Timing { layers, critical }
}

/// Per layer, the cycle of its first computed node (`u32::MAX` for a
/// layer of inputs or wiring only).
fn first_logic_cycle(
    dp: &crate::datapath::Datapath,
    s: &crate::datapath::schedule::Schedule,
) -> Vec<u32> {
    use crate::datapath::Kind;
    let mut first = vec![u32::MAX; dp.layers.len()];
    for (i, node) in dp.nodes.iter().enumerate() {
        if !matches!(node.kind, Kind::Input { .. } | Kind::Const(_)) {
            let l = &mut first[dp.layer_of[i] as usize];
            *l = (*l).min(s.cycle[i]);
        }
    }
    first
}

/// Each layer as a pipeline stage: it starts with its first node of logic
/// (a layer of wiring only, when its last operand is ready), its result
/// is complete in its last element's cycle, and it is registered when a
/// later cycle reads it.
fn layer_stages(
    g: &Graph,
    dp: &crate::datapath::Datapath,
    s: &crate::datapath::schedule::Schedule,
) -> std::collections::BTreeMap<String, crate::ir::Stage> {
    let delays = &s.delay;
    let first = first_logic_cycle(dp, s);
    let mut stages = std::collections::BTreeMap::new();
    // the datapath's layers are the graph's nodes in topological order
    for ((l, first), n) in dp.layers.iter().zip(first).zip(g.topo()) {
        let els: Vec<usize> = l.elements.iter().flatten().map(|e| e.index()).collect();
        let last = els.iter().map(|&e| s.cycle[e]).max().unwrap_or(0);
        let start = if first == u32::MAX {
            let ready = |o| {
                stages
                    .get(&g.node(o).name)
                    .map_or(0, crate::ir::Stage::ready)
            };
            g.operands(n).into_iter().map(ready).max().unwrap_or(0)
        } else {
            first
        };
        let out_reg = els.iter().any(|&e| delays[e] > 0);
        let stage = crate::ir::Stage {
            start,
            inner_regs: last.saturating_sub(start),
            adder_levels_per_stage: 0,
            out_reg: out_reg && last >= start,
        };
        stages.insert(l.name.clone(), stage);
    }
    stages
}

/// `tl_netlist.txt`: the threshold gates, one per line.
fn gate_list(top: &str, gates: &[String], opts: &crate::ir::CompileOptions) -> String {
    let mut text = format!(
        "# neurtl {} threshold-gate netlist of `{top}`: {} cells, fan-in <= {}, |weight| <= {}\n\
         # Each line: <output wire> inputs=[...] weights=[...] threshold=T,\n\
         # meaning output = [sum(weights[i] * inputs[i]) >= T]. Inputs are wires of\n\
         # rtl/{top}.v: bits of layer values or other cells' outputs.\n",
        env!("CARGO_PKG_VERSION"),
        gates.len(),
        opts.tl_max_fanin,
        opts.tl_max_weight
    );
    for l in gates {
        text.push_str(l);
        text.push('\n');
    }
    text
}
