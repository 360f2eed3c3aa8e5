//! The graph IR every front end produces and every back end consumes.
//!
//! A model is a DAG (`petgraph::StableDiGraph`) of [`Node`]s, each holding
//! one [`Op`]. Edges point from producer to consumer and carry the operand
//! port plus the producer's shape and, once known, its fixed-point format.
//!
//! Invariants, checked by [`verify`] after every pass in debug and test
//! builds:
//! - the graph is acyclic, node names are unique, every node has exactly the
//!   number of operands its op takes, on ports `0..n` without gaps;
//! - after `infer_shapes`, every node has an output shape and every edge the
//!   shape of its producer;
//! - after `infer_precision`, every node has an output format and a per-element
//!   raw interval that contains every value the node can produce, and every
//!   edge carries its producer's format.
//!
//! "Lowered" means: no `BatchNorm` is left, every weight is an integer on its
//! type's grid, formats and intervals are known and a pipeline schedule
//! exists. Only [`verify::lower_check`] can produce the [`verify::Lowered`]
//! token the Verilog back end and the golden model require.
//!
//! Adding an op: add a variant to [`Op`], then follow the compiler errors
//! through every `match` (shape, precision, golden model, float reference,
//! back end, printer).

mod conv;
pub mod interval;
pub mod print;
mod rows;
pub mod table;
pub mod threshold;
pub mod tree;
pub mod verify;

use crate::fixed::{FixedType, Format};
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;

pub use conv::{Conv, ConvGeom, Padding, Pool, PoolKind};
pub use rows::{Row, Zero, rows_of};
pub use table::{Rom, Softmax, SoftmaxPlan, Table, TableFn};
pub use verify::{Lowered, VerifyError};

/// A raw-value interval `[lo, hi]` (inclusive), at the node's format.
pub type Interval = (i128, i128);

/// Accumulator choice for a dense layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Accum {
    /// Exactly as wide as the weights and input ranges need: never overflows.
    Auto,
    /// hls4ml semantics: bias and every product are cast to this type and
    /// summed with wrap-around in it.
    Explicit(FixedType),
}

/// A dense (fully connected) layer: `y = W·x + b`, `W` is `[units][inputs]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub units: usize,
    /// Real-valued weights as given (after batchnorm folding), one row
    /// per unit (a convolution: per filter, its kernel).
    pub weights: Vec<Row<f64>>,
    pub bias: Vec<f64>,
    pub weight_type: FixedType,
    pub bias_type: FixedType,
    pub accum: Accum,
    /// `weight_type` was `bipolar`: every weight is −1 or +1 (the numeric
    /// weight type is then [`BIPOLAR`]).
    pub bipolar_weights: bool,
    /// Filled by `infer_precision`: bipolar weights on a bipolar input with
    /// an auto accumulator, computed as XNOR + popcount:
    /// `dot = 2·popcount(xnor(x, w)) − K`.
    pub xnor: bool,
    /// Rows `streamline` negates after quantization (a batchnorm with
    /// γ < 0 before a sign), so every threshold compares with `≥`.
    /// Empty means none.
    pub flip: Vec<bool>,
    /// Filled by `quantize_weights`.
    pub quant: Option<DenseQuant>,
    /// Filled by `infer_precision`: the exact accumulator.
    pub acc: Option<AccInfo>,
    /// Filled by `prune_constants`: the non-zero terms of each row (each
    /// neuron of a plain dense layer; each filter of a convolution, with
    /// `Term::input` the tap; see [`Dense::neuron_terms`]).
    pub terms: Option<Vec<Vec<Term>>>,
    /// A convolution: the rows are filters slid over the input (see
    /// [`conv`]).
    pub conv: Option<Box<Conv>>,
}

/// The accumulator of a dense layer, as `infer_precision` sized it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccInfo {
    /// Fractional bits of the sum. Products and bias are shifted onto it.
    pub frac: i32,
    /// Left shift that puts a raw product `w·x` on the accumulator grid
    /// (auto accumulators only; explicit ones cast each product instead).
    pub product_shift: u32,
    /// Bias on the accumulator grid, per neuron.
    pub bias: Vec<i128>,
    /// The format holding every neuron's sum.
    pub format: Format,
    /// Exact per-neuron interval of the sum (raw at `frac`).
    pub ranges: Vec<Interval>,
}

/// Integer weights of a dense layer, on the weight and bias grids.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseQuant {
    pub weights: Vec<Row<i128>>,
    pub bias: Vec<i128>,
    /// Largest |quantized − float| over the weights and over the biases.
    pub max_weight_error: f64,
    pub max_bias_error: f64,
}

/// One non-zero product `weight · x[input]` of a neuron, weight raw on the
/// weight grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub input: usize,
    pub weight: i128,
}

/// Batch normalization, `y = γ·(x − μ)/√(σ² + ε) + β`, per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub gamma: Vec<f64>,
    pub beta: Vec<f64>,
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub epsilon: f64,
}

/// The numeric format of a bipolar value (−1 or +1). On wires and in
/// vectors a bipolar element is one bit, 1 for +1 and 0 for −1; see
/// [`Node::bipolar`].
pub const BIPOLAR: Format = Format {
    signed: true,
    width: 2,
    frac: 0,
};

/// Where a multi-threshold's thresholds come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Thresholds {
    /// Given in the model: `[channels or 1][steps]`, real values.
    Given(Vec<Vec<f64>>),
    /// Made by `streamline` from `dense → batchnorm → sign`: one exact
    /// threshold per channel, decided without rounding (see
    /// `passes/streamline.rs`).
    BatchNorm(Vec<BnThreshold>),
    /// A quantizer with a real scale (a `requant` layer): per channel, or
    /// one for all; step `k` counts where the result reaches
    /// `min − zero + k`.
    Requant(Vec<crate::fixed::requant::Requant>),
}

/// One channel of `sign(batchnorm(z))`: fires when
/// `γ·(z − μ)/√(σ²+ε) + β ≥ 0`. When γ < 0 `streamline` negates the dense
/// row that makes `z`, so the threshold op still compares with `≥`.
#[derive(Debug, Clone, PartialEq)]
pub struct BnThreshold {
    pub gamma: f64,
    pub beta: f64,
    pub mean: f64,
    pub var: f64,
    pub epsilon: f64,
    /// γ < 0 and the dense row was negated: `z` is the negated sum.
    pub flipped: bool,
}

/// QONNX-style multi-threshold: `y = out_scale · Σ_t [x ≥ T_c,t] + out_bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub thresholds: Thresholds,
    pub out_scale: f64,
    pub out_bias: f64,
    /// Filled by `infer_precision`: per channel, the smallest raw input
    /// (at the input's frac) counting for each step, sorted ascending and
    /// clamped to `[min, max + 1]` of the input's interval, so a step at
    /// the bottom always counts and one above the top never does.
    pub raw: Option<Vec<Vec<i128>>>,
    /// Filled by `infer_precision`: raw `out_scale` and `out_bias` at the
    /// node's exact frac.
    pub out_raw: Option<(i128, i128, i32)>,
}

/// Binary neurons, as threshold-logic targets see them:
/// `y_j = +1 if Σ_i w_ji·x_i ≥ t_j else −1`, with `x` the raw operand
/// (bipolar operands as −1/+1) and integer weights and thresholds. Made by
/// `fuse_neurons` from `dense → threshold` for the threshold-logic targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Neurons {
    /// Non-zero terms per neuron, weights on the operand's raw grid.
    pub rows: Vec<Vec<Term>>,
    /// Per neuron; at or below the smallest reachable sum means always +1,
    /// above the largest means always −1.
    pub thresholds: Vec<i128>,
}

/// Every operation neurtl knows. One exhaustive enum: a new variant makes
/// the compiler list every place that must learn about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A model input of the given shape and type.
    Input {
        ty: FixedType,
        /// Real samples reach the port through this quantizer (QONNX's
        /// `Quant` with a real scale, applied by the host): the port
        /// carries its integer result. Without it, through `ty`'s cast.
        quant: Option<crate::fixed::requant::Requant>,
    },
    Dense(Dense),
    BatchNorm(BatchNorm),
    Relu,
    /// `x ≥ 0 ? x : α·x`, with α quantized to `alpha_type`: one α for
    /// every element (`leaky_relu`), or one per channel, the last axis
    /// (`prelu`); see [`channel_of`].
    LeakyRelu {
        alpha: Vec<f64>,
        alpha_type: FixedType,
        alpha_raw: Option<Vec<i128>>,
    },
    /// Clamp to `[-1, 1]`.
    HardTanh,
    /// `min(max(slope_q · x + offset, 0), 1)`, with the slope quantized
    /// to `slope_type` and the offset exact on the result's grid
    /// (`frac(x) + frac(slope_type)`).
    HardSigmoid {
        slope: f64,
        offset: f64,
        slope_type: FixedType,
        slope_raw: Option<i128>,
    },
    /// An explicit cast to the node's `cast` type.
    Quantize,
    /// Elementwise sum of two operands of equal shape.
    Add,
    /// Concatenation of the flattened operands, in port order.
    Concat,
    /// Row-major flattening to one dimension.
    Flatten,
    /// Elements `start..end` of axis `axis`, every other axis whole; the
    /// rank stays (see [`slice_elements`]). `axis` may count from the end
    /// (−1 is the last) until `infer_shapes` resolves it.
    Slice {
        axis: i64,
        start: usize,
        end: usize,
    },
    /// The operand's axes reordered: axis `i` of the result is axis
    /// `perm[i]` of the operand, as numpy's `transpose` (see
    /// [`transpose_elements`]). Pure wiring; the ONNX importer uses it to
    /// move channels between ONNX's channels-first and neurtl's
    /// channels-last order.
    Transpose {
        perm: Vec<usize>,
    },
    /// The same elements in row-major order, in another shape of the same
    /// size. One dimension may be `None` (`-1` in model JSON) until
    /// `infer_shapes` fills it in.
    Reshape {
        shape: Vec<Option<usize>>,
    },
    /// An activation by table over the input's grid, onto the node's
    /// `output_type` (required); see [`table`].
    Table(Table),
    /// Softmax over the last axis by tables; see [`Softmax`].
    Softmax(Softmax),
    /// Max or average pooling over a channels-last operand; see [`Pool`].
    Pool(Pool),
    /// Index of the largest element; the lowest index wins ties.
    Argmax,
    /// `x ≥ 0 → +1, else −1`; the result is bipolar.
    Sign,
    /// Multi-threshold; see [`Threshold`].
    Threshold(Threshold),
    /// Fused binary neurons; see [`Neurons`].
    Neurons(Neurons),
}

impl Op {
    /// The name used in model JSON and in the IR printer.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Dense(d) => match &d.conv {
                None => "dense",
                Some(c) if c.kernel.len() == 1 => "conv1d",
                Some(_) => "conv2d",
            },
            Op::BatchNorm(_) => "batchnorm",
            Op::Relu => "relu",
            Op::LeakyRelu { .. } => "leaky_relu",
            Op::HardTanh => "hard_tanh",
            Op::HardSigmoid { .. } => "hard_sigmoid",
            Op::Quantize => "quantize",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Flatten => "flatten",
            Op::Slice { .. } => "slice",
            Op::Transpose { .. } => "transpose",
            Op::Reshape { .. } => "reshape",
            Op::Pool(p) => match (&p.kind, p.window.kernel.len()) {
                (PoolKind::Max, 1) => "maxpool1d",
                (PoolKind::Max, _) => "maxpool2d",
                (PoolKind::Avg { .. }, 1) => "avgpool1d",
                (PoolKind::Avg { .. }, _) => "avgpool2d",
            },
            Op::Table(t) => t.func.name(),
            Op::Softmax(_) => "softmax",
            Op::Argmax => "argmax",
            Op::Sign => "sign",
            Op::Threshold(_) => "threshold",
            Op::Neurons(_) => "neurons",
        }
    }
    /// Number of operands, `None` for variadic ops (at least one).
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::Input { .. } => Some(0),
            Op::Add => Some(2),
            Op::Concat => None,
            Op::Dense(_)
            | Op::BatchNorm(_)
            | Op::Relu
            | Op::LeakyRelu { .. }
            | Op::HardTanh
            | Op::HardSigmoid { .. }
            | Op::Quantize
            | Op::Flatten
            | Op::Slice { .. }
            | Op::Transpose { .. }
            | Op::Reshape { .. }
            | Op::Pool(_)
            | Op::Table(_)
            | Op::Softmax(_)
            | Op::Argmax
            | Op::Sign
            | Op::Threshold(_)
            | Op::Neurons(_) => Some(1),
        }
    }
}

/// A hard sigmoid's offset and 1, raw on its result's grid of `frac`
/// fractional bits; `None` unless both are integers there (`frac ≥ 0`
/// and the offset a multiple of `2^-frac`) that i128 holds with room.
pub fn hard_sigmoid_raw(frac: i32, offset: f64) -> Option<(i128, i128)> {
    if !(0..100).contains(&frac) || !offset.is_finite() {
        return None;
    }
    let off = offset * 2f64.powi(frac);
    let exact = off.fract() == 0.0 && off.abs() < 2f64.powi(100);
    exact.then(|| (off as i128, 1i128 << frac))
}

/// The entry of a per-channel list (`channels` entries, or 1 shared by
/// all) that element `i` of a channels-last tensor uses.
pub fn channel_of(i: usize, channels: usize) -> usize {
    if channels == 1 { 0 } else { i % channels }
}

/// The row-major positions, in an operand of `shape`, of the elements of
/// its transpose by `perm` (a permutation of the axes), in the result's
/// row-major order.
pub fn transpose_elements(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let mut stride = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        stride[a] = stride[a + 1] * shape[a + 1];
    }
    let dims: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
    let steps: Vec<usize> = perm.iter().map(|&a| stride[a]).collect();
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0; dims.len()];
    for _ in 0..total {
        out.push(idx.iter().zip(&steps).map(|(i, s)| i * s).sum());
        // odometer over the result's multi-index, last axis fastest
        for a in (0..dims.len()).rev() {
            idx[a] += 1;
            if idx[a] < dims[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// The row-major positions, in an operand of `shape`, of the elements a
/// slice `start..end` of axis `axis` keeps, in the result's row-major
/// order. The golden model, the float reference, precision inference and
/// the datapath lowering all select through this one list.
pub fn slice_elements(shape: &[usize], axis: usize, start: usize, end: usize) -> Vec<usize> {
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let dim = shape[axis];
    (0..outer)
        .flat_map(|o| {
            (start..end).flat_map(move |k| (0..inner).map(move |i| (o * dim + k) * inner + i))
        })
        .collect()
}

/// Pipeline placement of one node, filled by `schedule_pipeline` (the
/// override modes; the back end reports what its schedule made of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Stage {
    /// Cycle (after the input sample) at which the node's operands are all
    /// available, after balancing delays.
    pub start: u32,
    /// Register levels inside the node (adder-tree cuts).
    pub inner_regs: u32,
    /// Adder-tree levels between inner registers (0: no inner registers).
    pub adder_levels_per_stage: u32,
    /// Whether the node's output is registered.
    pub out_reg: bool,
}

impl Stage {
    /// Cycle at which the node's output is available.
    pub fn ready(&self) -> u32 {
        self.start + self.inner_regs + self.out_reg as u32
    }
}

/// One IR node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The user's name, unique in the graph; legalized only by back ends.
    pub name: String,
    pub op: Op,
    /// The model's `output_type`: the node's result is cast to it.
    pub cast: Option<FixedType>,
    pub shape: Option<Vec<usize>>,
    pub format: Option<Format>,
    /// Per-element raw interval of the output.
    pub range: Option<Vec<Interval>>,
    /// Bipolar values: `format` is [`BIPOLAR`] and `range` numeric (−1 and
    /// +1), but each element travels as one bit (1 = +1, 0 = −1) on wires,
    /// at the top-level ports and in test vectors. Set by the front end for
    /// inputs and by `infer_precision` for everything else.
    pub bipolar: bool,
    /// Filled by `infer_precision`: the fractional bits of the op's exact
    /// result, before the node's cast (the cast starts from them).
    pub exact_frac: Option<i32>,
    pub stage: Option<Stage>,
}

impl Node {
    pub fn new(name: impl Into<String>, op: Op, cast: Option<FixedType>) -> Self {
        Node {
            name: name.into(),
            op,
            cast,
            shape: None,
            format: None,
            range: None,
            bipolar: false,
            exact_frac: None,
            stage: None,
        }
    }
    /// Number of output elements (shape product); 0 before shape inference.
    pub fn size(&self) -> usize {
        self.shape.as_ref().map(|s| s.iter().product()).unwrap_or(0)
    }
    /// Bits per element on a wire: one for bipolar values.
    pub fn wire_width(&self) -> u32 {
        if self.bipolar {
            1
        } else {
            self.format.expect("infer_precision runs first").width
        }
    }
}

/// An edge: operand `port` of the consumer, with a copy of the producer's
/// output shape and format.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub port: usize,
    pub shape: Option<Vec<usize>>,
    pub format: Option<Format>,
}

/// Whole-graph facts filled by passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    /// Pipeline options the schedule was built with.
    pub pipeline: Option<CompileOptions>,
    /// Total latency in cycles, input sample to output.
    pub latency: Option<u32>,
    /// Layers dropped because no output depends on them, in model order.
    pub removed: Vec<String>,
    /// Constants outside their saturating type's range, cast as ap_fixed
    /// casts them (`quantize_weights`), in model order.
    pub saturated: Vec<Saturated>,
}

/// The constants of one field of one layer that its saturating type could
/// not hold: each was cast into the type as ap_fixed would, so the design
/// computes with a different value than the model file states.
#[derive(Debug, Clone, PartialEq)]
pub struct Saturated {
    pub layer: String,
    pub field: String,
    /// The field's type, as the model wrote it.
    pub ty: String,
    /// `(position, value in the model, value after the cast)`, the position
    /// written `[r][c]` or `[i]` (empty for a single value).
    pub changed: Vec<(String, f64, f64)>,
}

/// What the user asked the compiler for: register placement, the hardware
/// target, and the target's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    pub mode: PipelineMode,
    /// `PipelineMode::Clock`: the clock period the schedule must meet, in
    /// picoseconds.
    pub clock_period_ps: u32,
    /// `PipelineMode::Clock`: the delay model the schedule times with (an
    /// index into `backend::timing::DEVICES`).
    pub delay_model: usize,
    /// Register inside adder trees every N levels; 0 = never.
    pub max_adder_depth: u32,
    pub target: Target,
    /// Largest fan-in of one threshold cell (`tl-cells`, `tl-pe`).
    pub tl_max_fanin: u32,
    /// Largest |weight| of one threshold cell.
    pub tl_max_weight: u32,
    /// Processing elements of the folded array (`tl-pe`).
    pub pes: u32,
    /// Threshold cells one processing element may use (`tl-pe`).
    pub cells_per_pe: u32,
    /// Share subexpressions across a dense layer's inputs
    /// (`datapath::cse`); off leaves each input's odd multiples shared.
    pub share: bool,
    /// Which adders the sums are built from (`--adders`).
    pub adders: Adders,
    /// `PipelineMode::Clock`: the latency the schedule must have, in
    /// cycles, with the fewest register bits at it (`--latency`); `None`
    /// is the shortest the clock allows.
    pub latency: Option<u32>,
    /// A constant its saturating type cannot hold is an error
    /// (`--strict`), not a warning and the value ap_fixed would cast it to.
    pub strict: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            mode: PipelineMode::Clock,
            clock_period_ps: 5000,
            delay_model: 0,
            max_adder_depth: 0,
            target: Target::Fpga,
            tl_max_fanin: 5,
            tl_max_weight: 3,
            pes: 8,
            cells_per_pe: 64,
            share: true,
            adders: Adders::Binary,
            latency: None,
            strict: false,
        }
    }
}

/// Which adders sums are built from. Three-operand adders are 7-series
/// cells (`rtl/nt_add3.v`: LUT6_2 + CARRY4); binary adders are portable
/// RTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adders {
    /// Two operands each.
    #[default]
    Binary,
    /// Binary trees, then two adders fused into one ternary adder wherever
    /// the clock-driven schedule has the time (`datapath::fuse`): the same
    /// cycles, fewer LUTs.
    Fused,
    /// Trees of ternary adders wherever one settles no later than two
    /// binary ones would at the clock, then fused as `Fused`: the fewest
    /// LUTs, sometimes more cycles.
    Ternary,
}

impl Adders {
    /// Whether the design instantiates 7-series cells.
    pub fn vendor_cells(self) -> bool {
        self != Adders::Binary
    }
}

/// How binary neurons become hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// Fully parallel: XNOR + popcount + compare, pipelined, II = 1.
    #[default]
    Fpga,
    /// Like `Fpga` but every dense layer is a multiply-accumulate tree, as
    /// for a fixed-point MLP (the baseline threshold logic is compared to).
    Mac,
    /// Every binary neuron is a netlist of threshold-gate cells.
    TlCells,
    /// Binary neurons run on a folded array of threshold-logic processing
    /// elements under a compile-time schedule (II > 1, ready/valid).
    TlPe,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Fpga => "fpga",
            Target::Mac => "mac",
            Target::TlCells => "tl-cells",
            Target::TlPe => "tl-pe",
        }
    }
}

/// Where registers go between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineMode {
    /// Fully combinational: latency 0 unless adder-tree cuts are requested.
    None,
    /// A register after every layer (an elementwise activation shares its
    /// producer's stage).
    Layer,
    /// Registers where the delay model says the clock period runs out
    /// (the datapath scheduler decides; the graph IR places none).
    Clock,
}

/// The model graph.
#[derive(Debug, Clone)]
pub struct Graph {
    pub name: String,
    pub g: StableDiGraph<Node, Edge>,
    pub inputs: Vec<NodeIndex>,
    pub outputs: Vec<NodeIndex>,
    pub meta: Meta,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Self {
        Graph {
            name: name.into(),
            g: StableDiGraph::new(),
            inputs: vec![],
            outputs: vec![],
            meta: Meta::default(),
        }
    }
    pub fn add_node(&mut self, node: Node) -> NodeIndex {
        self.g.add_node(node)
    }
    pub fn connect(&mut self, from: NodeIndex, to: NodeIndex, port: usize) {
        self.g.add_edge(
            from,
            to,
            Edge {
                port,
                shape: None,
                format: None,
            },
        );
    }
    pub fn node(&self, n: NodeIndex) -> &Node {
        &self.g[n]
    }
    pub fn node_mut(&mut self, n: NodeIndex) -> &mut Node {
        &mut self.g[n]
    }
    pub fn find(&self, name: &str) -> Option<NodeIndex> {
        self.g.node_indices().find(|&n| self.g[n].name == name)
    }
    /// For a slice or transpose node (after `infer_shapes`), the
    /// positions in its operand of its elements, in its row-major order
    /// ([`slice_elements`], [`transpose_elements`]); `None` for every
    /// other node.
    pub fn selection(&self, n: NodeIndex) -> Option<Vec<usize>> {
        let shape = || {
            let x = self.node(self.operands(n)[0]);
            x.shape.as_ref().expect("infer_shapes runs first")
        };
        match &self.node(n).op {
            Op::Slice { axis, start, end } => {
                Some(slice_elements(shape(), *axis as usize, *start, *end))
            }
            Op::Transpose { perm } => Some(transpose_elements(shape(), perm)),
            _ => None,
        }
    }

    /// Operands of `n` in port order.
    pub fn operands(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut v: Vec<(usize, NodeIndex)> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .map(|e| (e.weight().port, e.source()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, s)| s).collect()
    }
    /// Consumers of `n`, in a deterministic order.
    pub fn users(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut v: Vec<NodeIndex> = self.g.neighbors_directed(n, Direction::Outgoing).collect();
        v.sort();
        v.dedup();
        v
    }
    /// Nodes in a deterministic topological order (ties by insertion order).
    pub fn topo(&self) -> Vec<NodeIndex> {
        let mut indeg: std::collections::BTreeMap<NodeIndex, usize> = self
            .g
            .node_indices()
            .map(|n| (n, self.g.edges_directed(n, Direction::Incoming).count()))
            .collect();
        let mut ready: std::collections::BTreeSet<NodeIndex> = indeg
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        let mut out = Vec::with_capacity(indeg.len());
        while let Some(n) = ready.pop_first() {
            out.push(n);
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                let d = indeg.get_mut(&e.target()).unwrap();
                *d -= 1;
                if *d == 0 {
                    ready.insert(e.target());
                }
            }
        }
        out
    }
    /// Copy each producer's shape and format onto its outgoing edges.
    pub fn refresh_edges(&mut self) {
        let ids: Vec<_> = self.g.edge_indices().collect();
        for e in ids {
            let (s, _) = self.g.edge_endpoints(e).unwrap();
            let shape = self.g[s].shape.clone();
            let format = self.g[s].format;
            let w = &mut self.g[e];
            w.shape = shape;
            w.format = format;
        }
    }
    /// Total number of output elements, over all outputs in order.
    pub fn output_elements(&self) -> usize {
        self.outputs.iter().map(|&o| self.g[o].size()).sum()
    }
    pub fn input_elements(&self) -> usize {
        self.inputs.iter().map(|&o| self.g[o].size()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{slice_elements, transpose_elements};

    /// Row-major position of a multi-index, from the strides.
    fn flat(shape: &[usize], idx: &[usize]) -> usize {
        idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
    }

    /// Every multi-index of `shape`, in row-major order.
    fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
        let mut all = vec![vec![]];
        for &d in shape {
            all = all
                .into_iter()
                .flat_map(|p| {
                    (0..d).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect();
        }
        all
    }

    /// Channels-last: an element's channel is its last coordinate.
    #[test]
    fn channel_of_is_the_last_coordinate() {
        for shape in [&[6][..], &[2, 3], &[3, 1, 4], &[2, 2, 5]] {
            let channels = *shape.last().unwrap();
            for (i, idx) in indices(shape).iter().enumerate() {
                assert_eq!(super::channel_of(i, channels), *idx.last().unwrap());
                assert_eq!(super::channel_of(i, 1), 0);
            }
        }
    }

    /// The slice's positions against the definition: the output's
    /// multi-indices in order, the sliced axis offset by `start`.
    #[test]
    fn slice_elements_follow_the_multi_index() {
        let shapes: [&[usize]; 5] = [&[7], &[3, 4], &[2, 3, 4], &[5, 1, 2], &[2, 2, 2, 3]];
        for shape in shapes {
            for axis in 0..shape.len() {
                for start in 0..shape[axis] {
                    for end in start + 1..=shape[axis] {
                        let mut out = shape.to_vec();
                        out[axis] = end - start;
                        let want: Vec<usize> = indices(&out)
                            .into_iter()
                            .map(|mut i| {
                                i[axis] += start;
                                flat(shape, &i)
                            })
                            .collect();
                        assert_eq!(
                            slice_elements(shape, axis, start, end),
                            want,
                            "{shape:?} axis {axis} {start}..{end}"
                        );
                    }
                }
            }
        }
    }

    /// The transpose's positions against the definition: result element
    /// at multi-index `j` is operand element `i` with `i[perm[a]] = j[a]`.
    #[test]
    fn transpose_elements_follow_the_multi_index() {
        let cases: [(&[usize], &[usize]); 6] = [
            (&[5], &[0]),
            (&[3, 4], &[1, 0]),
            (&[2, 3, 4], &[2, 0, 1]),
            (&[2, 3, 4], &[1, 2, 0]),
            (&[4, 1, 3], &[0, 2, 1]),
            (&[2, 3, 1, 2], &[3, 1, 0, 2]),
        ];
        for (shape, perm) in cases {
            let out: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
            let want: Vec<usize> = indices(&out)
                .into_iter()
                .map(|j| {
                    let mut i = vec![0; shape.len()];
                    for (a, &p) in perm.iter().enumerate() {
                        i[p] = j[a];
                    }
                    flat(shape, &i)
                })
                .collect();
            assert_eq!(transpose_elements(shape, perm), want, "{shape:?} {perm:?}");
        }
    }
}
