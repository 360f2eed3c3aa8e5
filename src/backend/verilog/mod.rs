//! Verilog back end: lowered IR → fully parallel, pipelined Verilog-2005.
//!
//! Entry point [`generate`]. One module per IR node plus a top module with
//! the documented interface (see docs/interface.md); generated modules only
//! instantiate and wire the hand-written primitives of `rtl/`, which are
//! copied next to them. Output is deterministic: same graph and options,
//! byte-identical files.

pub mod folded;
mod layers;
pub mod names;
mod netlist;
mod print;
mod unread;
mod view;

pub use crate::datapath::count::Counts;
pub use folded::FoldStats;

use crate::ir::{Graph, Lowered, Op};
use netlist::Builder;
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;
use std::collections::HashMap;

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
];

const MODULE_TEMPLATE: &str = include_str!("../../../templates/module.v.tera");

#[derive(Debug, thiserror::Error)]
pub enum VerilogError {
    #[error("--target tl-pe: {0}")]
    Folding(String),
    #[error("template rendering failed for module `{module}`: {source}")]
    Template {
        module: String,
        #[source]
        source: tera::Error,
    },
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

/// The threshold-cell limits the user chose.
pub fn tl_cells_limits(g: &Graph) -> crate::backend::tl_cells::Limits {
    let o = g.meta.pipeline.unwrap_or_default();
    crate::backend::tl_cells::Limits {
        max_fanin: o.tl_max_fanin,
        max_weight: o.tl_max_weight,
    }
}

/// What the generated design is, for the report and the testbenches.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DesignInfo {
    pub top: String,
    pub latency: u32,
    /// Cycles between samples: 1, or the folded schedule's length + 1.
    pub ii: u32,
    /// The folded array (`tl-pe`).
    pub folded: Option<folded::FoldStats>,
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

fn render(tera: &tera::Tera, b: &Builder) -> Result<String, VerilogError> {
    let ctx = tera::Context::from_serialize(&b.view).expect("views serialize");
    tera.render("module", &ctx)
        .map_err(|source| VerilogError::Template {
            module: b.view.name.clone(),
            source,
        })
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

/// Generate the design for a lowered graph.
pub fn generate(l: Lowered<'_>) -> Result<Design, VerilogError> {
    if l.graph().meta.pipeline.unwrap_or_default().target != crate::ir::Target::TlPe {
        return generate_datapath(l);
    }
    let g = l.graph();
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_template("module", MODULE_TEMPLATE)
        .expect("template parses");

    let mut namer = names::Namer::default();
    let top = namer.unique(&g.name);
    // The Icarus testbench's module name.
    namer.reserve(&format!("tb_{top}"));
    let mut files = vec![];
    let mut counts = Counts::default();
    let mut modules = vec![];
    let inputs = fields(g, &g.inputs);
    let outputs = fields(g, &g.outputs);
    let in_bits: u64 = inputs
        .iter()
        .map(|f| f.elements as u64 * f.width as u64)
        .sum();
    let out_bits: u64 = outputs
        .iter()
        .map(|f| f.elements as u64 * f.width as u64)
        .sum();
    let fold = match g.meta.pipeline.unwrap_or_default().target {
        crate::ir::Target::TlPe => Some(folded::plan(g)?),
        _ => None,
    };
    let (latency, ii) = match &fold {
        Some(p) => (p.latency(), p.latency()),
        None => (g.meta.latency.unwrap(), 1),
    };

    let mut t = Builder::new(
        top.clone(),
        format!("{top}: top level, latency {latency} cycles, II = {ii}"),
    );
    t.port("input", "clk", 1);
    t.port("input", "rst", 1);
    t.port("input", "in_valid", 1);
    t.port("input", "in_data", in_bits.max(1) as u32);
    t.port("output", "in_ready", 1);
    t.port("output", "out_valid", 1);
    t.port("output", "out_data", out_bits as u32);
    // Where the sample is read from: the port, or (folded) the register
    // that holds it while the array runs.
    let mut source = "in_data".to_string();
    let mut ctl = None;
    match &fold {
        None => {
            t.valid(latency);
            t.assign("in_ready".into(), "1'b1".into());
        }
        Some(p) => {
            let (take, run, done) = (t.wire("take", 1), t.wire("run", 1), t.wire("done", 1));
            let step = t.wire("step", p.step_width());
            t.inst(
                "tl_pe_ctrl",
                vec![
                    ("STEPS", (p.latency() - 1).to_string()),
                    ("CW", p.step_width().to_string()),
                ],
                vec![
                    ("clk", "clk".into()),
                    ("rst", "rst".into()),
                    ("in_valid", "in_valid".into()),
                    ("in_ready", "in_ready".into()),
                    ("take", take.clone()),
                    ("run", run.clone()),
                    ("step", step.clone()),
                    ("done", done.clone()),
                ],
            );
            t.assign("out_valid".into(), done);
            let w = in_bits.max(1) as u32;
            let xin = t.wire("xin", w);
            t.inst(
                "nt_bank",
                vec![("W", w.to_string())],
                vec![
                    ("clk", "clk".into()),
                    ("we", format!("{{{w}{{{take}}}}}")),
                    ("d", "in_data".into()),
                    ("q", xin.clone()),
                ],
            );
            t.counts.register_bits += w as u64;
            source = xin;
            ctl = Some((step, run));
        }
    }
    // Bus of each node's output (as a wire name) in the top module.
    let mut bus: std::collections::HashMap<_, String> = Default::default();
    for (f, &n) in inputs.iter().zip(&g.inputs) {
        let w = (f.elements as u64 * f.width as u64) as u32;
        let name = t.wire("x", w);
        t.assign(
            name.clone(),
            format!("{source}[{}:{}]", f.offset + w as u64 - 1, f.offset),
        );
        // inputs are assumed to come straight from flip-flops
        t.settle(&name, crate::backend::timing::Arrival::register());
        bus.insert(n, name);
    }
    let banks = fold
        .as_ref()
        .map(|p| p.bank_wires(&mut t))
        .unwrap_or_default();
    for (n, w) in &banks {
        bus.insert(*n, w.clone());
    }
    let mut paths: Vec<LayerTiming> = vec![];
    let mut low = layers::LowBits::new();
    let unread_bits = unread::unread_low(g);
    let mut delays = Delays::new(g, &fold, latency);
    for n in g.topo() {
        let node = g.node(n);
        if !has_module(g, &fold, n) {
            continue;
        }
        let mname = namer.unique(&format!("{top}_{}", node.name));
        let mut b = Builder::new(
            mname.clone(),
            format!("{}: {} `{}`", mname, node.op.name(), node.name),
        );
        let stage = node.stage.unwrap();
        let mut conns = vec![];
        if stage.out_reg || stage.inner_regs > 0 {
            conns.push(("clk".to_string(), "clk".to_string()));
        }
        for (i, &o) in g.operands(n).iter().enumerate() {
            let delay = stage.start - g.node(o).stage.unwrap().ready();
            let src = delays.get(&mut t, g, &bus, (&low, &unread_bits), o, delay);
            // an operand straight from a combinational layer carries its
            // path on into this one
            b.settle(&format!("in{i}"), t.arrival(&src));
            conns.push((format!("in{i}"), src));
        }
        let node_low = layers::build(g, n, &mut b, &low, &unread_bits[&n]);
        low.insert(n, node_low);
        let w = node.size() as u32 * node.wire_width();
        let out = t.wire("y", w);
        let out_arrival = b.arrival("out");
        t.settle(&out, out_arrival);
        // A value leaving the design unregistered is assumed to be captured
        // by a flip-flop outside it; a delay register captures it inside.
        let captured = delays.read_late(n) || g.outputs.contains(&n);
        paths.push(LayerTiming {
            name: node.name.clone(),
            start: stage.start,
            ready: stage.ready(),
            path: if captured {
                b.slowest.max(out_arrival.captured())
            } else {
                b.slowest
            },
        });
        conns.push(("out".to_string(), out.clone()));
        t.layer(
            mname.clone(),
            format!("u_{}", mname.trim_start_matches(&format!("{top}_"))),
            conns,
        );
        bus.insert(n, out);
        counts.add(&b.counts);
        files.push((format!("rtl/{mname}.v"), render(&tera, &b)?));
        modules.push(mname);
    }
    if let (Some(p), Some((step, run))) = (&fold, &ctl) {
        let pe = namer.unique(&format!("{top}_pe"));
        let b = p.pe_module(pe.clone());
        counts.add(&b.counts);
        paths.push(LayerTiming {
            name: pe.clone(),
            start: 0,
            ready: latency,
            path: b.slowest,
        });
        files.push((format!("rtl/{pe}.v"), render(&tera, &b)?));
        modules.push(pe.clone());
        p.engine(&mut t, &bus, &banks, &pe, step, run);
    }
    let mut parts = vec![];
    for &o in &g.outputs {
        // Folded designs hold their result in registers until the next
        // sample; the pipelined ones delay each output to the latency.
        let delay = match fold {
            Some(_) => 0,
            None => latency - g.node(o).stage.unwrap().ready(),
        };
        parts.push(delays.get(&mut t, g, &bus, (&low, &unread_bits), o, delay));
    }
    let critical = paths.iter().fold(t.slowest, |c, l| c.max(l.path));
    parts.reverse(); // output 0 in the least significant bits
    t.assign("out_data".into(), format!("{{{}}}", parts.join(", ")));
    counts.add(&t.counts);
    files.push((format!("rtl/{top}.v"), render(&tera, &t)?));
    modules.push(top.clone());
    for (name, text) in PRIMITIVES {
        files.push((format!("rtl/{name}"), text.to_string()));
    }
    Ok(Design {
        files,
        info: DesignInfo {
            top,
            latency,
            ii,
            folded: fold.map(|p| p.stats),
            in_bits,
            out_bits,
            inputs,
            outputs,
            modules,
            counts,
            timing: Timing {
                layers: paths,
                critical,
            },
            stages: g
                .topo()
                .into_iter()
                .map(|n| (g.node(n).name.clone(), g.node(n).stage.unwrap_or_default()))
                .collect(),
        },
    })
}

/// A fully parallel design through the datapath IR: lower, schedule,
/// analyse, print one flat module.
fn generate_datapath(l: Lowered<'_>) -> Result<Design, VerilogError> {
    let g = l.graph();
    let opts = g.meta.pipeline.unwrap_or_default();
    let b = build_datapath(l)?;
    let header = format!("{}: latency {} cycles, II = 1", b.top, b.sched.latency);
    let printed = print::print(&b.dp, &b.sched, &b.unread, &b.top, header);
    let text = printed.text;
    let mut files = primitive_files(&printed.primitives);
    files.push((format!("rtl/{}.v", b.top), text));
    let list: String = files.iter().map(|f| format!("{}\n", f.0)).collect();
    files.push(("rtl/files.f".into(), list));
    // Every tl-cells design has a gate list, even an empty one (all
    // neurons constant), so a missing file means something went wrong.
    if opts.target == crate::ir::Target::TlCells {
        files.push((
            "tl_netlist.txt".into(),
            gate_list(&b.top, &printed.gates, &opts),
        ));
    }
    let info = datapath_info(g, &b);
    Ok(Design { files, info })
}

/// The scheduled, analysed datapath of a parallel design.
struct Built {
    top: String,
    dp: crate::datapath::Datapath,
    sched: crate::datapath::schedule::Schedule,
    unread: Vec<u32>,
}

fn build_datapath(l: Lowered<'_>) -> Result<Built, VerilogError> {
    use crate::datapath::{demand, schedule};
    let g = l.graph();
    let dp = crate::datapath::lower(l).map_err(|e| VerilogError::Folding(e.to_string()))?;
    let opts = g.meta.pipeline.unwrap_or_default();
    let sched = match opts.mode {
        crate::ir::PipelineMode::Clock => {
            schedule::by_clock(&dp, opts.clock_period_ps as f64 / 1000.0, opts.delay_model)
        }
        _ => schedule::by_levels(&dp, opts.max_adder_depth),
    };
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
    DesignInfo {
        top: b.top.clone(),
        latency: b.sched.latency,
        ii: 1,
        folded: None,
        in_bits: bits(&inputs),
        out_bits: bits(&outputs),
        inputs,
        outputs,
        modules: vec![b.top.clone()],
        counts: crate::datapath::count::count(&b.dp, &b.sched, &b.unread),
        timing: layer_timing(&b.dp, &b.sched),
        stages: layer_stages(g, &b.dp, &b.sched),
    }
}

/// What the design for a lowered graph is, without printing it: the
/// estimate and the explorer need only this.
pub fn describe(l: Lowered<'_>) -> Result<DesignInfo, VerilogError> {
    if l.graph().meta.pipeline.unwrap_or_default().target == crate::ir::Target::TlPe {
        return Ok(generate(l)?.info);
    }
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

/// The delay registers of the top module: each node's output delayed by
/// every number of cycles some consumer (or the output port) needs, built
/// as one chain per node, so a value read 1 and 2 cycles late costs two
/// register stages, not three.
struct Delays {
    /// Per node, the delays it is read at, ascending.
    wanted: HashMap<NodeIndex, Vec<u32>>,
    /// (node, delay) → the register wire holding it.
    built: HashMap<(NodeIndex, u32), String>,
}

impl Delays {
    fn new(g: &Graph, fold: &Option<folded::Plan>, latency: u32) -> Delays {
        let mut wanted: HashMap<NodeIndex, Vec<u32>> = HashMap::new();
        for n in g.topo().into_iter().filter(|&n| has_module(g, fold, n)) {
            let start = g.node(n).stage.unwrap().start;
            for &o in g.operands(n).iter() {
                let d = start - g.node(o).stage.unwrap().ready();
                wanted.entry(o).or_default().push(d);
            }
        }
        if fold.is_none() {
            for &o in &g.outputs {
                let d = latency - g.node(o).stage.unwrap().ready();
                wanted.entry(o).or_default().push(d);
            }
        }
        for v in wanted.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        Delays {
            wanted,
            built: HashMap::new(),
        }
    }

    /// Whether some consumer (or the output port) reads `n` cycles late.
    fn read_late(&self, n: NodeIndex) -> bool {
        self.wanted
            .get(&n)
            .is_some_and(|d| d.iter().any(|&d| d > 0))
    }

    /// Node `o`'s bus `delay` cycles late. The first call for a node builds
    /// its whole chain, each link from the one before.
    fn get(
        &mut self,
        t: &mut Builder,
        g: &Graph,
        bus: &HashMap<NodeIndex, String>,
        (low, unread): (&layers::LowBits, &layers::LowBits),
        o: NodeIndex,
        delay: u32,
    ) -> String {
        if delay == 0 {
            return bus[&o].clone();
        }
        if let Some(w) = self.built.get(&(o, delay)) {
            return w.clone();
        }
        let on = g.node(o);
        let width = on.size() as u32 * on.wire_width();
        let bits = |m: &layers::LowBits| m.get(&o).cloned().unwrap_or_default();
        let unkept = unkept_node_bits(on, &bits(low), &bits(unread));
        let (mut prev, mut src) = (0, bus[&o].clone());
        for &d in self.wanted.get(&o).map_or(&[][..], Vec::as_slice) {
            if d == 0 {
                continue;
            }
            t.counts.redundant_register_bits += unkept * (d - prev) as u64;
            src = t.reg_bus(src, width, d - prev);
            self.built.insert((o, d), src.clone());
            prev = d;
        }
        self.built[&(o, delay)].clone()
    }
}

/// Whether node `n` becomes a module of its own: inputs are wires, and a
/// folded design computes its folded layers on the PE array.
fn has_module(g: &Graph, fold: &Option<folded::Plan>, n: NodeIndex) -> bool {
    !matches!(g.node(n).op, Op::Input { .. }) && !fold.as_ref().is_some_and(|p| p.is_folded(n))
}

/// Bits of a node's whole bus that a register need not keep (see
/// `netlist::unkept_bits`), given the constant and the unread low bits of
/// each element.
fn unkept_node_bits(n: &crate::ir::Node, low: &[u32], unread: &[u32]) -> u64 {
    let at = |v: &[u32], i: usize| v.get(i).copied().unwrap_or(0);
    let known = |i: usize| at(low, i).max(at(unread, i));
    if n.bipolar {
        return (0..n.size()).map(|i| known(i).min(1) as u64).sum();
    }
    match (n.format, &n.range) {
        (Some(f), Some(r)) => r
            .iter()
            .enumerate()
            .map(|(i, &iv)| crate::datapath::count::unkept_bits(f, iv, known(i)) as u64)
            .sum(),
        _ => 0,
    }
}
