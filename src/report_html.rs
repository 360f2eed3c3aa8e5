//! The human-readable report (`report.html`): one self-contained page with
//! the design's header figures, the network as an SVG diagram with its
//! pipeline stages, a per-layer table, the quantization error against the
//! float model and the simulation verdict.
//!
//! Everything the page shows is decided here, diagram coordinates included,
//! into a flat [`View`]; `templates/report.html.tera` only places it. The
//! template is rendered with autoescaping, so layer and model names (user
//! input) cannot inject markup. The page loads nothing: inline CSS, inline
//! SVG, no scripts or fonts, so it reads the same offline and printed.
//! It never invents figures: resource counts exist per design only (the
//! back end does not split them per layer), and error or simulation
//! figures are shown only when a run measured them.

use crate::backend::verilog::DesignInfo;
use crate::estimate::Estimate;
use crate::ir::{Accum, Graph, Op};
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;
use std::collections::HashMap;

const TEMPLATE: &str = include_str!("../templates/report.html.tera");
const TEMPLATE_NAME: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("rendering report.html failed: {0}")]
    Template(#[source] tera::Error),
}

/// What a simulation of the build directory found.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub simulator: String,
    /// Vectors the testbench was given and the ones that came out.
    pub vectors_expected: usize,
    pub vectors: u64,
    pub mismatches: u64,
    pub measured_latency: i64,
    pub measured_ii: i64,
    /// The caller's verdict (every vector out, none wrong, latency and II
    /// as scheduled), so the page and the exit code cannot disagree.
    pub passed: bool,
}

/// |golden − float| on one model output, in real units.
#[derive(Debug, Clone)]
pub struct OutputError {
    pub output: String,
    pub max: f64,
    pub mean: f64,
}

/// Class accuracy of the golden and float models on labelled inputs.
#[derive(Debug, Clone)]
pub struct Accuracy {
    pub samples: usize,
    pub golden_hits: usize,
    pub float_hits: usize,
    /// Samples on which the two models predict different classes.
    pub disagree: usize,
    /// Where the samples and labels came from.
    pub source: String,
}

/// The fixed-point design against the float model, as a run measured it.
#[derive(Debug, Clone)]
pub struct Quality {
    pub samples: usize,
    /// Where the samples came from (a file, or random codes).
    pub source: String,
    pub errors: Vec<OutputError>,
    pub accuracy: Option<Accuracy>,
}

/// Everything the page is made from.
pub struct Page<'a> {
    /// The lowered graph, scheduled.
    pub graph: &'a Graph,
    pub info: &'a DesignInfo,
    /// The model file as the user named it.
    pub model: String,
    pub clock_mhz: f64,
    pub simulation: Option<Simulation>,
    pub quality: Option<Quality>,
}

/// Render the page.
pub fn render(p: &Page<'_>) -> Result<String, HtmlError> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![TEMPLATE_NAME]);
    tera.add_raw_template(TEMPLATE_NAME, TEMPLATE)
        .expect("the report template parses");
    let ctx = tera::Context::from_serialize(view(p)).expect("views serialize");
    tera.render(TEMPLATE_NAME, &ctx)
        .map_err(HtmlError::Template)
}

/// A label and its value.
#[derive(Serialize)]
struct Fact {
    label: String,
    value: String,
}

fn fact(label: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: label.into(),
        value: value.into(),
    }
}

#[derive(Serialize)]
struct View {
    title: String,
    heading: String,
    version: &'static str,
    design: Vec<Fact>,
    /// The three totals shown large, then the rest.
    headline: Vec<Fact>,
    totals: Vec<Fact>,
    simulation: Option<SimView>,
    quality: Option<QualityView>,
    diagram: Diagram,
    layers: Vec<LayerRow>,
    removed: Vec<String>,
}

#[derive(Serialize)]
struct SimView {
    /// `pass` or `fail`, the verdict's CSS class.
    class: &'static str,
    verdict: String,
    facts: Vec<Fact>,
}

#[derive(Serialize)]
struct QualityView {
    source: String,
    errors: Vec<ErrorRow>,
    accuracy: Option<Vec<Fact>>,
}

#[derive(Serialize)]
struct ErrorRow {
    output: String,
    max: String,
    mean: String,
}

#[derive(Serialize)]
struct LayerRow {
    name: String,
    op: String,
    operands: String,
    shape: String,
    format: String,
    bits: String,
    accumulator: String,
    ready: String,
    registers: String,
    /// The slowest path into the layer's registers (7-series model).
    path: String,
    weights: String,
    weight_error: String,
    bias_error: String,
    output: bool,
}

#[derive(Serialize)]
struct Diagram {
    width: f64,
    height: f64,
    note: String,
    bands: Vec<Band>,
    bars: Vec<Bar>,
    edges: Vec<EdgeView>,
    nodes: Vec<BoxView>,
}

/// A pipeline stage's background, across the whole width.
#[derive(Serialize)]
struct Band {
    y: f64,
    width: f64,
    height: f64,
    /// `band` or `band shade`, alternating.
    class: &'static str,
    label: String,
    label_y: f64,
}

/// A register boundary between two stages.
#[derive(Serialize)]
struct Bar {
    y: f64,
    x1: f64,
    x2: f64,
    label: String,
    label_y: f64,
}

#[derive(Serialize)]
struct EdgeView {
    path: String,
    /// Balancing delay registers on the edge, if any.
    label: String,
    label_x: f64,
    label_y: f64,
}

#[derive(Serialize)]
struct BoxView {
    name: String,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    class: String,
    lines: Vec<TextLine>,
    /// The output register, drawn as a bar along the box's bottom edge.
    register: Option<Rect>,
}

#[derive(Serialize)]
struct TextLine {
    x: f64,
    y: f64,
    text: String,
    class: &'static str,
}

#[derive(Serialize)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

fn view(p: &Page<'_>) -> View {
    let g = p.graph;
    let info = p.info;
    let e = Estimate::of_design(info, p.clock_mhz);
    let opts = g.meta.pipeline.unwrap_or_default();
    let pipeline = match (opts.mode, opts.max_adder_depth) {
        (crate::ir::PipelineMode::Clock, _) => format!(
            "registers where the delay model says the {:.0} MHz clock runs out",
            1e6 / opts.clock_period_ps as f64
        ),
        (crate::ir::PipelineMode::Layer, 0) => "a register after every layer".to_string(),
        (crate::ir::PipelineMode::None, 0) => "none (combinational)".to_string(),
        (crate::ir::PipelineMode::Layer, d) => {
            format!("a register after every layer, adder trees cut every {d} levels")
        }
        (crate::ir::PipelineMode::None, d) => {
            format!("no layer registers, adder trees cut every {d} levels")
        }
    };
    let mut design = vec![
        fact("model", format!("{} ({})", g.name, p.model)),
        fact("top module", info.top.clone()),
        fact("target", opts.target.name()),
        fact("pipelining", pipeline),
        fact(
            "latency",
            format!(
                "{} cycle{} = {}",
                info.latency,
                plural(info.latency as u64),
                e.cycles_text(info.latency)
            ),
        ),
        fact(
            "initiation interval",
            format!(
                "{} cycle{} = {} ({} M samples/s)",
                info.ii,
                plural(info.ii as u64),
                e.cycles_text(info.ii),
                fmt_num(e.quoted_clock_mhz() / info.ii as f64)
            ),
        ),
        fact(
            "timing",
            match &e.timing {
                Some(t) => format!(
                    "critical path {} ns: up to {} MHz on 7-series ({}; delay model, not calibrated)",
                    fmt_num(t.critical_path_ns),
                    fmt_num(t.achievable_mhz.floor()),
                    if t.meets_clock {
                        "meets the clock"
                    } else {
                        "misses the clock"
                    }
                ),
                None => "no delay model".into(),
            },
        ),
        fact(
            "ports",
            format!(
                "in_data {} bits, out_data {} bits",
                info.in_bits, info.out_bits
            ),
        ),
    ];
    if let Some(f) = &info.folded {
        design.push(fact(
            "folded array",
            format!(
                "{} PEs × {} inputs/cycle, {} cells per PE; schedule {} cycles, PE utilization {:.1} %",
                f.pes,
                f.lanes,
                f.cells_per_pe,
                f.schedule_cycles,
                100.0 * f.utilization
            ),
        ));
    }
    let headline = vec![
        fact("flip-flops", e.flip_flops.to_string()),
        fact("LUTs (7-series)", e.luts.to_string()),
        fact("CARRY4", e.carry4.to_string()),
    ];
    let mut totals = vec![
        fact("adders", format!("{} ({} bits)", e.adders, e.adder_bits)),
        fact("constant multipliers", e.const_multipliers.to_string()),
        fact("comparators", e.comparators.to_string()),
    ];
    if e.threshold_cells > 0 {
        totals.push(fact(
            "threshold cells",
            format!("{} (depth {})", e.threshold_cells, e.threshold_cell_depth),
        ));
    }
    View {
        title: format!("{} — neurtl report", g.name),
        heading: g.name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        design,
        headline,
        totals,
        simulation: p
            .simulation
            .as_ref()
            .map(|s| sim_view(s, info.latency, info.ii)),
        quality: p.quality.as_ref().map(quality_view),
        diagram: diagram(g, info),
        layers: g
            .topo()
            .into_iter()
            .map(|n| {
                let mut row = layer_row(g, info, n, info.folded.is_some());
                let path = e.timing.as_ref().and_then(|t| {
                    t.layers
                        .iter()
                        .find(|l| l.layer == row.name && l.path_ns > 0.0)
                });
                if let Some(l) = path {
                    row.path = format!("{:.2}", l.path_ns);
                }
                row
            })
            .collect(),
        removed: g.meta.removed.clone(),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A number with at most three decimals and no trailing zeros.
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// An error magnitude: exact zero stays `0`, moderate values get four
/// significant digits, tiny or huge ones scientific notation.
fn fmt_err(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&v) {
        let decimals = (3 - v.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

fn sim_view(s: &Simulation, latency: u32, ii: u32) -> SimView {
    SimView {
        class: if s.passed { "pass" } else { "fail" },
        verdict: if s.passed {
            format!(
                "PASS: the RTL reproduced all {} golden-model vectors bit for bit",
                s.vectors
            )
        } else {
            "FAIL: the RTL does not match the golden model or the schedule".into()
        },
        facts: vec![
            fact("simulator", s.simulator.clone()),
            fact(
                "vectors",
                format!("{} of {} came out", s.vectors, s.vectors_expected),
            ),
            fact("mismatches", s.mismatches.to_string()),
            fact(
                "measured latency",
                format!("{} cycles (scheduled: {latency})", s.measured_latency),
            ),
            fact(
                "measured II",
                format!("{} cycles (scheduled: {ii})", s.measured_ii),
            ),
        ],
    }
}

fn quality_view(q: &Quality) -> QualityView {
    let pct = |h: usize, n: usize| format!("{:.2} % ({h}/{n})", 100.0 * h as f64 / n.max(1) as f64);
    let accuracy = q.accuracy.as_ref().map(|a| {
        vec![
            fact("samples", a.source.clone()),
            fact("golden model (= RTL)", pct(a.golden_hits, a.samples)),
            fact("float model", pct(a.float_hits, a.samples)),
            fact(
                "predictions that differ",
                format!("{} of {}", a.disagree, a.samples),
            ),
        ]
    });
    QualityView {
        source: format!("{} samples, {}", q.samples, q.source),
        errors: q
            .errors
            .iter()
            .map(|e| ErrorRow {
                output: e.output.clone(),
                max: fmt_err(e.max),
                mean: fmt_err(e.mean),
            })
            .collect(),
        accuracy,
    }
}

/// `folded`: the design runs on a folded schedule, so the pipeline
/// columns do not apply.
fn layer_row(g: &Graph, info: &DesignInfo, n: NodeIndex, folded: bool) -> LayerRow {
    let node = g.node(n);
    let st = info.stage(&node.name);
    let dash = || "–".to_string();
    let mut row = LayerRow {
        name: node.name.clone(),
        op: node.op.name().into(),
        operands: g
            .operands(n)
            .iter()
            .map(|&o| g.node(o).name.clone())
            .collect::<Vec<_>>()
            .join(", "),
        shape: shape_text(node.shape.as_deref()),
        format: format_text(node),
        bits: node
            .format
            .map(|_| (node.size() as u64 * node.wire_width() as u64).to_string())
            .unwrap_or_else(dash),
        accumulator: dash(),
        ready: st.ready().to_string(),
        registers: match (st.inner_regs, st.out_reg) {
            (0, false) => "none".into(),
            (0, true) => "output".into(),
            (r, false) => format!("{r} inner"),
            (r, true) => format!("{r} inner + output"),
        },
        path: dash(),
        weights: dash(),
        weight_error: dash(),
        bias_error: dash(),
        output: g.outputs.contains(&n),
    };
    if folded {
        row.ready = dash();
        row.registers = dash();
    }
    match &node.op {
        Op::Dense(d) => {
            if let Some(a) = &d.acc {
                row.accumulator = format!(
                    "{} ({})",
                    a.format,
                    match d.accum {
                        Accum::Auto => "auto",
                        Accum::Explicit(_) => "explicit",
                    }
                );
            }
            let total: usize = d.weights.iter().map(crate::ir::Row::len).sum();
            if let Some(t) = &d.terms {
                let nz: usize = t.iter().map(Vec::len).sum();
                row.weights = format!("{nz} / {total}");
            }
            if let Some(q) = &d.quant {
                row.weight_error = fmt_err(q.max_weight_error);
                row.bias_error = fmt_err(q.max_bias_error);
            }
        }
        Op::Neurons(nr) => {
            let nz: usize = nr.rows.iter().map(Vec::len).sum();
            row.weights = nz.to_string();
        }
        _ => {}
    }
    row
}

fn shape_text(s: Option<&[usize]>) -> String {
    match s {
        Some(s) => format!(
            "[{}]",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("×")
        ),
        None => "?".into(),
    }
}

fn format_text(node: &crate::ir::Node) -> String {
    match node.format {
        _ if node.bipolar => "bipolar".into(),
        Some(f) => f.to_string(),
        None => "?".into(),
    }
}

// Diagram geometry, in SVG user units (px at 100 %).
const BOX_W: f64 = 200.0;
const BOX_H: f64 = 78.0;
/// Horizontal space between neighbours in a row.
const GAP: f64 = 36.0;
/// Width a long edge takes where it passes a row.
const LANE_W: f64 = 14.0;
const ROW_GAP: f64 = 34.0;
const BAND_PAD: f64 = 20.0;
/// Height of a stage that holds no box (a layer's inner stages).
const EMPTY_BAND: f64 = 46.0;
/// Left margin that holds the stage and cycle labels.
const GUTTER: f64 = 92.0;
const RIGHT: f64 = 24.0;
const MIN_WIDTH: f64 = 760.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 8.0;
const LINE_H: f64 = 16.0;
/// Characters of the box font that fit in a box line.
const BOX_CHARS: usize = 27;

/// The stage a node computes in: the one its output (register) closes.
fn stage_of(g: &Graph, info: &DesignInfo, n: NodeIndex, folded: bool) -> usize {
    if folded {
        return 0;
    }
    let st = info.stage(&g.node(n).name);
    (st.start + st.inner_regs) as usize
}

/// A box, or a point where a long edge crosses a row, in the layout.
struct Item {
    row: usize,
    width: f64,
    /// The items one row up that feed this one.
    preds: Vec<usize>,
    /// Centre.
    x: f64,
    real: bool,
}

/// Lays the graph out top to bottom: one band per pipeline stage; inside a
/// band one row per step of the longest chain of in-band operands, so every
/// edge points down. An edge that skips rows gets a point in each row it
/// crosses (as in Sugiyama layouts), which keeps it clear of the boxes;
/// items go where their inputs are (barycentre), which keeps chains
/// straight and puts branches side by side.
fn diagram(g: &Graph, info: &DesignInfo) -> Diagram {
    let folded = info.folded.is_some();
    let order = g.topo();
    let stage: HashMap<NodeIndex, usize> = order
        .iter()
        .map(|&n| (n, stage_of(g, info, n, folded)))
        .collect();
    let n_bands = order.iter().map(|n| stage[n] + 1).max().unwrap_or(1);
    let mut rank: HashMap<NodeIndex, usize> = HashMap::new();
    for &n in &order {
        let r = g
            .operands(n)
            .iter()
            .filter(|o| stage[*o] == stage[&n])
            .map(|o| rank[o] + 1)
            .max()
            .unwrap_or(0);
        rank.insert(n, r);
    }
    let mut rows_in_band = vec![0usize; n_bands];
    for &n in &order {
        rows_in_band[stage[&n]] = rows_in_band[stage[&n]].max(rank[&n] + 1);
    }
    let first_row: Vec<usize> = rows_in_band
        .iter()
        .scan(0, |acc, &r| {
            let f = *acc;
            *acc += r;
            Some(f)
        })
        .collect();
    let row_of = |n: NodeIndex| first_row[stage[&n]] + rank[&n];

    // Items: every node, plus one point per row a long edge crosses.
    let mut items: Vec<Item> = vec![];
    let mut item_of: HashMap<NodeIndex, usize> = HashMap::new();
    // Per edge: producer, consumer, port, operand count, crossing points.
    let mut edge_items: Vec<(NodeIndex, NodeIndex, usize, usize, Vec<usize>)> = vec![];
    for &n in &order {
        let id = items.len();
        items.push(Item {
            row: row_of(n),
            width: BOX_W,
            preds: vec![],
            x: 0.0,
            real: true,
        });
        item_of.insert(n, id);
        let ops = g.operands(n);
        for (port, &o) in ops.iter().enumerate() {
            let mut prev = item_of[&o];
            let mut chain = vec![];
            for row in row_of(o) + 1..row_of(n) {
                items.push(Item {
                    row,
                    width: LANE_W,
                    preds: vec![prev],
                    x: 0.0,
                    real: false,
                });
                prev = items.len() - 1;
                chain.push(prev);
            }
            items[id].preds.push(prev);
            edge_items.push((o, n, port, ops.len(), chain));
        }
    }
    let n_rows = items.iter().map(|i| i.row + 1).max().unwrap_or(0);
    for row in 0..n_rows {
        let ids: Vec<usize> = (0..items.len()).filter(|&i| items[i].row == row).collect();
        let mut want: Vec<(f64, usize)> = ids
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let p = &items[i].preds;
                let w = if p.is_empty() {
                    k as f64 * (BOX_W + GAP)
                } else {
                    p.iter().map(|&q| items[q].x).sum::<f64>() / p.len() as f64
                };
                (w, i)
            })
            .collect();
        // Boxes before crossing edges at a tie: chains stay straight and
        // long edges step aside.
        want.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(items[b.1].real.cmp(&items[a.1].real))
                .then(a.1.cmp(&b.1))
        });
        let mut placed: Vec<f64> = vec![];
        for (k, &(w, i)) in want.iter().enumerate() {
            let x = match k {
                0 => w,
                _ => {
                    let prev = want[k - 1].1;
                    w.max(placed[k - 1] + (items[prev].width + items[i].width) / 2.0 + GAP)
                }
            };
            placed.push(x);
        }
        // Placing left to right only pushes right; recentre the boxes on
        // where they wanted to be, so a fork spreads both ways.
        let real: Vec<usize> = (0..want.len()).filter(|&k| items[want[k].1].real).collect();
        let shift = if real.is_empty() {
            0.0
        } else {
            real.iter().map(|&k| want[k].0 - placed[k]).sum::<f64>() / real.len() as f64
        };
        for (k, &(_, i)) in want.iter().enumerate() {
            items[i].x = placed[k] + shift;
        }
    }
    let left = items
        .iter()
        .map(|i| i.x - i.width / 2.0)
        .fold(f64::INFINITY, f64::min);
    let right = items
        .iter()
        .map(|i| i.x + i.width / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let (left, right) = if left.is_finite() {
        (left, right)
    } else {
        (0.0, BOX_W)
    };
    // Narrow graphs are centred in a minimum width, so the stage bands
    // stay wide enough to read.
    let width = (GUTTER + 2.0 * BAND_PAD + (right - left) + RIGHT).max(MIN_WIDTH);
    let dx = GUTTER + (width - GUTTER - (right - left)) / 2.0 - left;
    for i in &mut items {
        i.x += dx;
    }

    // Rows and bands top to bottom.
    let mut row_y = vec![0.0; n_rows];
    let mut band_y = Vec::with_capacity(n_bands + 1);
    let mut y = TOP;
    for k in 0..n_bands {
        band_y.push(y);
        if rows_in_band[k] == 0 {
            y += EMPTY_BAND;
            continue;
        }
        y += BAND_PAD;
        for r in 0..rows_in_band[k] {
            row_y[first_row[k] + r] = y;
            y += BOX_H
                + if r + 1 < rows_in_band[k] {
                    ROW_GAP
                } else {
                    0.0
                };
        }
        y += BAND_PAD;
    }
    band_y.push(y);
    let height = y + BOTTOM;

    let folded_layers = info.folded.as_ref().map(|f| f.folded_layers.as_slice());
    let nodes: Vec<BoxView> = order
        .iter()
        .map(|&n| {
            let it = &items[item_of[&n]];
            node_box(
                g,
                info,
                n,
                (it.x - BOX_W / 2.0, row_y[it.row]),
                folded_layers,
            )
        })
        .collect();

    let edges = edge_items
        .iter()
        .map(|(o, n, port, n_ops, chain)| {
            let src = &items[item_of[o]];
            let dst = &items[item_of[n]];
            let mut path = format!("M{:.1},{:.1}", src.x, row_y[src.row] + BOX_H);
            let mut from = (src.x, row_y[src.row] + BOX_H);
            let curve = |path: &mut String, from: &mut (f64, f64), to: (f64, f64)| {
                let dy = (to.1 - from.1) / 2.0;
                path.push_str(&format!(
                    " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    from.0,
                    from.1 + dy,
                    to.0,
                    to.1 - dy,
                    to.0,
                    to.1
                ));
                *from = to;
            };
            for &d in chain {
                let (x, top) = (items[d].x, row_y[items[d].row]);
                curve(&mut path, &mut from, (x, top));
                path.push_str(&format!(" L{x:.1},{:.1}", top + BOX_H));
                from = (x, top + BOX_H);
            }
            let end_x = dst.x - BOX_W / 2.0 + BOX_W * (*port + 1) as f64 / (*n_ops + 1) as f64;
            let end = (end_x, row_y[dst.row]);
            curve(&mut path, &mut from, end);
            let delay = if folded {
                0
            } else {
                let start = info.stage(&g.node(*n).name).start;
                start.saturating_sub(info.stage(&g.node(*o).name).ready())
            };
            EdgeView {
                path,
                label: if delay > 0 {
                    format!("+{delay} reg")
                } else {
                    String::new()
                },
                label_x: end.0 + 6.0,
                label_y: end.1 - 9.0,
            }
        })
        .collect();

    let (bands, bars, note) = if folded {
        (
            vec![Band {
                y: band_y[0],
                width,
                height: band_y[n_bands] - band_y[0],
                class: "band",
                label: "folded".into(),
                label_y: band_y[0] + 18.0,
            }],
            vec![],
            format!(
                "Folded design: the PE array runs the layers marked \"on PE array\" one after \
                 another, so there are no pipeline stages; a sample takes {} cycles.",
                info.latency
            ),
        )
    } else {
        let bands = (0..n_bands)
            .map(|k| {
                // A stage with no box of its own lies inside layers whose
                // adder trees are cut by inner registers.
                let inside: Vec<&str> = order
                    .iter()
                    .filter(|&&n| {
                        let st = info.stage(&g.node(n).name);
                        rows_in_band[k] == 0
                            && (st.start as usize) <= k
                            && k < (st.start + st.inner_regs) as usize
                    })
                    .map(|&n| g.node(n).name.as_str())
                    .collect();
                Band {
                    y: band_y[k],
                    width,
                    height: band_y[k + 1] - band_y[k],
                    class: if k % 2 == 1 { "band shade" } else { "band" },
                    label: if inside.is_empty() {
                        format!("stage {k}")
                    } else {
                        truncate(&format!("stage {k}: inside {}", inside.join(", ")), 60)
                    },
                    label_y: band_y[k] + 18.0,
                }
            })
            .collect();
        // A register boundary closes every stage before the last cycle.
        let bars = (0..n_bands)
            .filter(|&k| (k as u32) < info.latency)
            .map(|k| Bar {
                y: band_y[k + 1],
                x1: 4.0,
                x2: width - 4.0,
                label: format!("cycle {}", k + 1),
                label_y: band_y[k + 1] - 5.0,
            })
            .collect();
        let mut note = if info.latency == 0 {
            "Combinational design: the outputs follow the inputs in the same cycle.".to_string()
        } else {
            format!(
                "Bands are pipeline stages; each dashed line is a register boundary, labelled \
                 with the cycle at which the values crossing it are ready (latency {} cycles). \
                 \"+N reg\" on an edge is a delay that balances a path skipping stages.",
                info.latency
            )
        };
        if order
            .iter()
            .any(|&n| info.stage(&g.node(n).name).inner_regs > 0)
        {
            note.push_str(
                " A layer with inner registers (its adder tree cut into stages) is drawn in \
                 the stage where its output is ready; it starts in the stage of its operands.",
            );
        }
        (bands, bars, note)
    };
    Diagram {
        width,
        height,
        note,
        bands,
        bars,
        edges,
        nodes,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// `folded`: the folded array's layers, when the design has one.
fn node_box(
    g: &Graph,
    info: &DesignInfo,
    n: NodeIndex,
    (x, y): (f64, f64),
    folded: Option<&[String]>,
) -> BoxView {
    let node = g.node(n);
    let st = info.stage(&node.name);
    let ops = g.operands(n);
    let op = match &node.op {
        Op::Dense(d) => match &d.conv {
            None => {
                let inputs = d.weights.first().map_or(0, crate::ir::Row::len);
                format!("dense {inputs}→{}", d.units)
            }
            Some(c) => {
                let k: Vec<String> = c.kernel.iter().map(usize::to_string).collect();
                format!("{} {}, {} filters", node.op.name(), k.join("×"), d.units)
            }
        },
        Op::Concat => format!("concat of {}", ops.len()),
        other => other.name().to_string(),
    };
    // A folded design runs on its own schedule, not the pipeline one.
    let timing = match folded {
        Some(f) if f.contains(&node.name) => "runs on the PE array".into(),
        Some(_) if matches!(node.op, Op::Input { .. }) => "held in a register".into(),
        Some(_) => "combinational, around the array".into(),
        None => match (st.inner_regs, st.out_reg) {
            (0, false) => format!("ready in cycle {}", st.ready()),
            (0, true) => format!("registered → cycle {}", st.ready()),
            (r, _) => format!("{r} inner reg{} → cycle {}", plural(r as u64), st.ready()),
        },
    };
    let is_output = g.outputs.contains(&n);
    // The output badge takes the end of the name line.
    let name_chars = if is_output {
        BOX_CHARS - 9
    } else {
        BOX_CHARS - 2
    };
    let texts = [
        (truncate(&node.name, name_chars), "name"),
        (truncate(&op, BOX_CHARS), "op"),
        (
            truncate(
                &format!(
                    "{} {}",
                    shape_text(node.shape.as_deref()),
                    format_text(node)
                ),
                BOX_CHARS + 2,
            ),
            "fmt",
        ),
        (truncate(&timing, BOX_CHARS + 2), "time"),
    ];
    let mut lines: Vec<TextLine> = texts
        .into_iter()
        .enumerate()
        .map(|(i, (text, class))| TextLine {
            x: x + 10.0,
            y: y + 19.0 + i as f64 * LINE_H,
            text,
            class,
        })
        .collect();
    if is_output {
        lines.push(TextLine {
            x: x + BOX_W - 10.0,
            y: y + 19.0,
            text: "OUTPUT".into(),
            class: "badge",
        });
    }
    let class = match &node.op {
        Op::Input { .. } => "input",
        Op::Dense(_) | Op::Neurons(_) | Op::Pool(_) => "dense",
        Op::Relu
        | Op::LeakyRelu { .. }
        | Op::HardTanh
        | Op::HardSigmoid { .. }
        | Op::Table(_)
        | Op::Softmax(_)
        | Op::Quantize => "act",
        Op::Add
        | Op::Concat
        | Op::Flatten
        | Op::Slice { .. }
        | Op::Transpose { .. }
        | Op::Reshape { .. } => "wire",
        Op::Argmax | Op::Sign | Op::Threshold(_) | Op::BatchNorm(_) => "decide",
    };
    BoxView {
        name: node.name.clone(),
        x,
        y,
        width: BOX_W,
        height: BOX_H,
        class: if is_output {
            format!("{class} output")
        } else {
            class.to_string()
        },
        lines,
        register: st.out_reg.then_some(Rect {
            x,
            y: y + BOX_H - 6.0,
            width: BOX_W,
            height: 6.0,
        }),
    }
}
