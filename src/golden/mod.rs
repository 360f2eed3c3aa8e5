//! The golden model: runs lowered IR on raw integers, bit-exact by
//! construction. Every rounding and overflow goes through `crate::fixed`,
//! the same code the compiler sizes and folds with; sums of an `auto`
//! accumulator are exact because `infer_precision` proved their range.
//!
//! Values are `i64` when every node and accumulator fits 63 bits (the
//! common, fast case) and `i128` otherwise; both paths run the same plan.

mod float_ref;

pub use float_ref::FloatModel;

use crate::fixed::{Caster, FixedType, Format, cast};
use crate::ir::{Accum, Graph, Lowered, Op, Row};

/// One node's computation, with everything precomputed.
#[derive(Debug, Clone)]
enum Kernel {
    Input {
        offset: usize,
        /// Wire bits 0/1 become −1/+1.
        bipolar: bool,
    },
    /// Auto accumulator: `acc = bias + Σ c·x` with `c = w << shift`.
    DenseExact {
        rows: Coeffs,
        bias: Vec<i128>,
    },
    /// Explicit accumulator: each product cast to `acc`, wrapping sum.
    DenseWrap {
        /// Per neuron, its non-zero weights by input.
        rows: Vec<Vec<(u32, i128)>>,
        bias: Vec<i128>,
        prod_frac: i32,
        acc: FixedType,
    },
    /// A convolution, neuron `p·units + f` for position `p` and filter `f`;
    /// exact when `wrap` is `None`, else hls4ml's wrapping accumulator as
    /// `DenseWrap`.
    Conv {
        /// Per output position, its taps: (tap, input element of group 0).
        windows: Vec<Vec<(u32, u32)>>,
        /// Per filter, its coefficients (exact: `w << product_shift`).
        rows: Vec<Vec<i128>>,
        /// Per neuron.
        bias: Vec<i128>,
        /// Input channels per group and filters per group.
        cpg: usize,
        per_group: usize,
        wrap: Option<(i32, FixedType)>,
    },
    /// Pooling, element `p·channels + c`: the largest of its window, or
    /// its window's sum times `recip[p·channels + c]`.
    Pool {
        /// Per output element, the input elements of its window.
        windows: Vec<Vec<u32>>,
        /// Empty for max pooling.
        recip: Vec<i128>,
    },
    /// `rom.lookup(x)`.
    Table {
        rom: crate::ir::Rom,
    },
    /// `SoftmaxPlan::row` on every row.
    Softmax {
        plan: crate::ir::SoftmaxPlan,
    },
    Relu,
    /// One α, or one per channel (the last axis).
    Leaky {
        alpha: Vec<i128>,
        shift: u32,
    },
    Clamp {
        shift: u32,
        one: i128,
    },
    /// `clamp(x · slope + offset, 0, one)`.
    HardSigmoid {
        slope: i128,
        offset: i128,
        one: i128,
    },
    Copy,
    /// `y_i = x[keep_i]`.
    Gather {
        keep: Vec<usize>,
    },
    Add {
        sa: u32,
        sb: u32,
    },
    Concat {
        shifts: Vec<u32>,
    },
    Argmax,
    Sign,
    /// `y_j = Σ w·x ≥ t_j ? 1 : −1`.
    Neurons {
        rows: Vec<Vec<(usize, i128)>>,
        thresholds: Vec<i128>,
    },
    /// Per channel, sorted raw thresholds; `y = scale·count + bias`.
    Threshold {
        thresholds: Vec<Vec<i128>>,
        scale: i128,
        bias: i128,
    },
}

/// The coefficients `c` of an exact dense layer.
#[derive(Debug, Clone)]
enum Coeffs {
    Wide(Vec<Vec<i128>>),
    /// Every dot product with the layer's inputs is exact in `i32`
    /// (`rows16`).
    Narrow(Vec<Vec<i16>>),
    /// Most weights are zero: per neuron, the others by input.
    Sparse(Vec<Vec<(u32, i128)>>),
}

#[derive(Debug, Clone)]
struct Step {
    kernel: Kernel,
    args: Vec<usize>,
    /// The cast applied after the kernel (from the exact result's frac).
    cast: Option<Caster>,
    size: usize,
}

/// A compiled golden model.
#[derive(Debug, Clone)]
pub struct Golden {
    steps: Vec<Step>,
    outputs: Vec<usize>,
    /// All values fit in i64 (fast path).
    narrow: bool,
    /// All values, partial sums included, fit in i32 (fastest path).
    narrow32: bool,
    /// Formats of the raw values `run` takes and returns, as they travel on
    /// wires: a bipolar element is `uint<1>` there (1 = +1, 0 = −1).
    pub input_formats: Vec<(Format, usize)>,
    pub output_formats: Vec<(Format, usize)>,
    /// Which inputs and outputs are bipolar.
    pub input_bipolar: Vec<bool>,
    pub output_bipolar: Vec<bool>,
}

/// The one-bit wire format of a bipolar element.
pub const BIPOLAR_WIRE: Format = Format {
    signed: false,
    width: 1,
    frac: 0,
};

fn expand(f: &[(Format, usize)], b: &[bool]) -> Vec<(Format, bool)> {
    f.iter()
        .zip(b)
        .flat_map(|(&(f, k), &b)| std::iter::repeat_n((f, b), k))
        .collect()
}

/// The real value of a raw wire value.
pub fn wire_to_real(raw: i128, fmt: Format, bipolar: bool) -> f64 {
    if bipolar {
        (2 * raw - 1) as f64
    } else {
        fmt.to_f64(raw)
    }
}

trait Word: Copy + Default + Ord + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
    fn from(v: i128) -> Self;
    fn to(self) -> i128;
}
impl Word for i64 {
    #[inline(always)]
    fn from(v: i128) -> Self {
        v as i64
    }
    #[inline(always)]
    fn to(self) -> i128 {
        self as i128
    }
}
impl Word for i32 {
    #[inline(always)]
    fn from(v: i128) -> Self {
        v as i32
    }
    #[inline(always)]
    fn to(self) -> i128 {
        self as i128
    }
}
impl Word for i128 {
    #[inline(always)]
    fn from(v: i128) -> Self {
        v
    }
    #[inline(always)]
    fn to(self) -> i128 {
        self
    }
}

impl Golden {
    pub fn new(l: Lowered<'_>) -> Golden {
        let g: &Graph = l.graph();
        let order = g.topo();
        let slot = |n| order.iter().position(|&x| x == n).unwrap();
        let mut steps = vec![];
        let mut narrow = true;
        // Largest magnitude (in bits) any intermediate value can reach.
        let mut bits_needed = 0u32;
        let mut in_off = 0;
        let mut input_formats = vec![];
        let mut input_bipolar = vec![];
        for &n in &order {
            let node = g.node(n);
            let args: Vec<usize> = g.operands(n).iter().map(|&o| slot(o)).collect();
            let in_fmt: Vec<Format> = g
                .operands(n)
                .iter()
                .map(|&o| g.node(o).format.unwrap())
                .collect();
            let fx = in_fmt.first().map(|f| f.frac).unwrap_or(0);
            // The op's exact result's binary point, as precision inference
            // found it: the cast below starts from it.
            let frac = node.exact_frac.expect("infer_precision runs first");
            let kernel = match &node.op {
                Op::Input { ty, .. } => {
                    let wire = if node.bipolar {
                        BIPOLAR_WIRE
                    } else {
                        ty.format
                    };
                    input_formats.push((wire, node.size()));
                    input_bipolar.push(node.bipolar);
                    in_off += node.size();
                    Kernel::Input {
                        offset: in_off - node.size(),
                        bipolar: node.bipolar,
                    }
                }
                Op::Dense(d) => {
                    let q = d.quant.as_ref().unwrap();
                    let acc = d.acc.as_ref().unwrap();
                    if acc.format.width > 62 {
                        narrow = false;
                    }
                    // Partial sums are bounded by |bias| + Σ |c|·max|x|, not by
                    // the final interval: check that bound for the i64 path.
                    let xmax = in_fmt[0]
                        .min_raw()
                        .unsigned_abs()
                        .max(in_fmt[0].max_raw().unsigned_abs());
                    for (row, b) in q.weights.iter().zip(&acc.bias) {
                        let bound = row.nonzeros().fold(b.unsigned_abs(), |s, (_, w)| {
                            s.saturating_add(
                                (w.unsigned_abs() << acc.product_shift).saturating_mul(xmax),
                            )
                        });
                        bits_needed = bits_needed.max(129 - bound.leading_zeros().min(128));
                        if bound >= 1 << 62 {
                            narrow = false;
                        }
                    }
                    match &d.accum {
                        _ if d.conv.is_some() => conv_kernel(d, fx),
                        Accum::Auto => Kernel::DenseExact {
                            rows: coeffs(&q.weights, acc.product_shift, xmax),
                            bias: acc.bias.clone(),
                        },
                        Accum::Explicit(a) => Kernel::DenseWrap {
                            rows: q.weights.iter().map(sparse_row).collect(),
                            bias: acc.bias.clone(),
                            prod_frac: fx + d.weight_type.format.frac,
                            acc: *a,
                        },
                    }
                }
                Op::BatchNorm(_) => unreachable!("lowered IR has no batchnorm"),
                Op::Pool(p) => pool_kernel(p),
                Op::Softmax(sm) => Kernel::Softmax {
                    plan: sm.plan.clone().expect("planned by infer_precision"),
                },
                Op::Table(t) => Kernel::Table {
                    rom: t.rom.clone().expect("built by infer_precision"),
                },
                Op::Relu => Kernel::Relu,
                Op::LeakyRelu {
                    alpha_type,
                    alpha_raw,
                    ..
                } => Kernel::Leaky {
                    alpha: alpha_raw.clone().unwrap(),
                    shift: alpha_type.format.frac as u32,
                },
                Op::HardSigmoid {
                    slope_raw, offset, ..
                } => {
                    let (offset, one) = crate::ir::hard_sigmoid_raw(frac, *offset)
                        .expect("checked by infer_precision");
                    Kernel::HardSigmoid {
                        slope: slope_raw.unwrap(),
                        offset,
                        one,
                    }
                }
                Op::HardTanh => Kernel::Clamp {
                    shift: (frac - fx) as u32,
                    one: 1 << frac,
                },
                Op::Quantize | Op::Flatten | Op::Reshape { .. } => Kernel::Copy,
                Op::Slice { .. } | Op::Transpose { .. } => Kernel::Gather {
                    keep: g.selection(n).expect("a slice or transpose"),
                },
                Op::Add => Kernel::Add {
                    sa: (frac - fx) as u32,
                    sb: (frac - in_fmt[1].frac) as u32,
                },
                Op::Concat => Kernel::Concat {
                    shifts: in_fmt.iter().map(|f| (frac - f.frac) as u32).collect(),
                },
                Op::Argmax => Kernel::Argmax,
                Op::Sign => Kernel::Sign,
                Op::Neurons(nr) => Kernel::Neurons {
                    rows: nr
                        .rows
                        .iter()
                        .map(|r| r.iter().map(|t| (t.input, t.weight)).collect())
                        .collect(),
                    thresholds: nr.thresholds.clone(),
                },
                Op::Threshold(t) => {
                    let (scale, bias, _) = t.out_raw.unwrap();
                    Kernel::Threshold {
                        thresholds: t.raw.clone().unwrap(),
                        scale,
                        bias,
                    }
                }
            };
            // Intermediate (pre-cast) values are bounded by the node's own
            // range unless a cast narrows them; be conservative about i64.
            if node.format.unwrap().width > 62 || in_fmt.iter().any(|f| f.width > 62) {
                narrow = false;
            }
            let max_shift = match &kernel {
                Kernel::Add { sa, sb } => *sa.max(sb),
                Kernel::Concat { shifts } => shifts.iter().copied().max().unwrap_or(0),
                Kernel::Clamp { shift, .. } => *shift,
                _ => 0,
            };
            if in_fmt.iter().any(|f| f.width + max_shift + 1 > 62) {
                narrow = false;
            }
            for f in in_fmt.iter().chain(std::iter::once(&node.format.unwrap())) {
                bits_needed = bits_needed.max(f.width + max_shift + 1);
            }
            if let Some(ty) = node.cast {
                bits_needed = bits_needed.max(ty.format.width + 1);
            }
            if matches!(
                kernel,
                Kernel::Leaky { .. }
                    | Kernel::DenseWrap { .. }
                    | Kernel::Conv { .. }
                    | Kernel::Pool { .. }
                    | Kernel::HardSigmoid { .. }
            ) {
                // products of two formats: check their combined width
                let w: u32 = in_fmt[0].width
                    + match &node.op {
                        Op::LeakyRelu { alpha_type, .. } => alpha_type.format.width,
                        Op::HardSigmoid { slope_type, .. } => slope_type.format.width + 1,
                        Op::Dense(d) => d.weight_type.format.width,
                        // an average's sum, before its 1/count
                        Op::Pool(p) => match &p.kind {
                            crate::ir::PoolKind::Avg { divisor_type, .. } => {
                                let taps: usize = p.window.kernel.iter().product();
                                divisor_type.format.width + usize::BITS - taps.leading_zeros()
                            }
                            crate::ir::PoolKind::Max => 0,
                        },
                        _ => 0,
                    };
                bits_needed = bits_needed.max(w + 1);
                if w > 62 {
                    narrow = false;
                }
            }
            steps.push(Step {
                kernel,
                args,
                cast: match node.op {
                    Op::Input { .. } => None,
                    _ => node.cast.map(|ty| Caster::new(frac, ty)),
                },
                size: node.size(),
            });
        }
        let outputs: Vec<usize> = g.outputs.iter().map(|&o| slot(o)).collect();
        let wire = |o| {
            let node = g.node(o);
            if node.bipolar {
                BIPOLAR_WIRE
            } else {
                node.format.unwrap()
            }
        };
        let output_formats = g
            .outputs
            .iter()
            .map(|&o| (wire(o), g.node(o).size()))
            .collect();
        let output_bipolar: Vec<bool> = g.outputs.iter().map(|&o| g.node(o).bipolar).collect();
        Golden {
            steps,
            outputs,
            narrow,
            narrow32: narrow && bits_needed <= 30,
            input_formats,
            output_formats,
            input_bipolar,
            output_bipolar,
        }
    }

    /// Per input element: wire format and whether it is bipolar.
    pub fn input_elements(&self) -> Vec<(Format, bool)> {
        expand(&self.input_formats, &self.input_bipolar)
    }
    /// Per output element: wire format and whether it is bipolar.
    pub fn output_elements(&self) -> Vec<(Format, bool)> {
        expand(&self.output_formats, &self.output_bipolar)
    }

    pub fn input_len(&self) -> usize {
        self.input_formats.iter().map(|f| f.1).sum()
    }
    pub fn output_len(&self) -> usize {
        self.output_formats.iter().map(|f| f.1).sum()
    }

    /// Run one sample: raw inputs (all model inputs concatenated) to raw
    /// outputs (all outputs concatenated).
    pub fn run(&self, input: &[i128]) -> Vec<i128> {
        let mut out = vec![];
        self.run_batch(input, &mut out);
        out
    }

    /// Run a batch: `inputs` holds samples back to back; outputs are
    /// appended to `out` the same way.
    pub fn run_batch(&self, inputs: &[i128], out: &mut Vec<i128>) {
        if self.narrow32 {
            self.run_typed::<i32>(inputs, out)
        } else if self.narrow {
            self.run_typed::<i64>(inputs, out)
        } else {
            self.run_typed::<i128>(inputs, out)
        }
    }

    fn run_typed<T: Word>(&self, inputs: &[i128], out: &mut Vec<i128>) {
        let n_in = self.input_len();
        // Weights converted once per batch into the working word.
        let rows: Vec<Option<Vec<Vec<T>>>> = self
            .steps
            .iter()
            .map(|s| match &s.kernel {
                Kernel::DenseExact {
                    rows: Coeffs::Wide(rows),
                    ..
                } => Some(
                    rows.iter()
                        .map(|r| r.iter().map(|&w| T::from(w)).collect())
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        // Per lane (a sample of the block), every step's values.
        let n_lanes = LANES.min(inputs.len().div_ceil(n_in.max(1)));
        let mut lanes: Vec<Vec<Vec<T>>> = (0..n_lanes)
            .map(|_| {
                self.steps
                    .iter()
                    .map(|s| vec![T::default(); s.size])
                    .collect()
            })
            .collect();
        for block in inputs.chunks(n_in.max(1) * LANES) {
            let samples: Vec<&[i128]> = block.chunks(n_in.max(1)).collect();
            let lanes = &mut lanes[..samples.len()];
            for (k, step) in self.steps.iter().enumerate() {
                match (&step.kernel, &rows[k]) {
                    (
                        Kernel::DenseExact {
                            bias,
                            rows: Coeffs::Narrow(w),
                        },
                        _,
                    ) => dense16_lanes(lanes, k, step.args[0], w, bias),
                    (
                        Kernel::DenseExact {
                            bias,
                            rows: Coeffs::Sparse(w),
                        },
                        _,
                    ) => sparse_lanes(lanes, k, step.args[0], w, bias),
                    (Kernel::DenseExact { bias, .. }, Some(w)) => {
                        dense_lanes(lanes, k, step.args[0], w, bias)
                    }
                    _ => {
                        for (bufs, sample) in lanes.iter_mut().zip(&samples) {
                            Self::kernel(step, k, bufs, sample);
                        }
                    }
                }
                if let Some(c) = &step.cast {
                    for d in lanes.iter_mut().flat_map(|bufs| bufs[k].iter_mut()) {
                        *d = T::from(c.apply(d.to()));
                    }
                }
            }
            for bufs in lanes.iter() {
                for (&o, &enc) in self.outputs.iter().zip(&self.output_bipolar) {
                    if enc {
                        out.extend(bufs[o].iter().map(|v| (v.to() + 1) / 2));
                    } else {
                        out.extend(bufs[o].iter().map(|v| v.to()));
                    }
                }
            }
        }
    }

    /// Step `k` of one sample, from the values of the steps before it.
    fn kernel<T: Word>(step: &Step, k: usize, bufs: &mut [Vec<T>], sample: &[i128]) {
        let (done, rest) = bufs.split_at_mut(k);
        let dst = &mut rest[0];
        let arg = |i: usize| &done[step.args[i]];
        match &step.kernel {
            Kernel::Input { offset, bipolar } => {
                for (d, &v) in dst.iter_mut().zip(&sample[*offset..*offset + step.size]) {
                    *d = T::from(if *bipolar { 2 * v - 1 } else { v });
                }
            }
            Kernel::DenseExact { .. } => unreachable!("run on every lane by `dense_lanes`"),
            Kernel::DenseWrap {
                rows,
                bias,
                prod_frac,
                acc,
            } => {
                let x = arg(0);
                for ((d, row), &b) in dst.iter_mut().zip(rows).zip(bias) {
                    let mut s = b;
                    for &(i, w) in row {
                        let p = cast(w * x[i as usize].to(), *prod_frac, acc).0;
                        s = acc.format.from_bits(s.wrapping_add(p) as u128);
                    }
                    *d = T::from(s);
                }
            }
            Kernel::Conv {
                windows,
                rows,
                bias,
                cpg,
                per_group,
                wrap,
            } => {
                let x = arg(0);
                let units = rows.len();
                for (p, win) in windows.iter().enumerate() {
                    for (f, row) in rows.iter().enumerate() {
                        let off = f / per_group * cpg;
                        let j = p * units + f;
                        let mut s = bias[j];
                        for &(t, i) in win {
                            let w = row[t as usize];
                            if w == 0 {
                                continue;
                            }
                            let p = w * x[i as usize + off].to();
                            s = match wrap {
                                None => s + p,
                                Some((frac, acc)) => {
                                    let p = cast(p, *frac, acc).0;
                                    acc.format.from_bits(s.wrapping_add(p) as u128)
                                }
                            };
                        }
                        dst[j] = T::from(s);
                    }
                }
            }
            Kernel::Softmax { plan } => {
                let x: Vec<i128> = arg(0).iter().map(|v| v.to()).collect();
                let mut y = vec![0; x.len()];
                for (xr, yr) in x.chunks(plan.row).zip(y.chunks_mut(plan.row)) {
                    plan.row(xr, yr);
                }
                for (d, v) in dst.iter_mut().zip(y) {
                    *d = T::from(v);
                }
            }
            Kernel::Table { rom } => {
                for (d, &x) in dst.iter_mut().zip(arg(0)) {
                    *d = T::from(rom.lookup(x.to()));
                }
            }
            Kernel::Pool { windows, recip } => {
                let x = arg(0);
                for (j, (d, win)) in dst.iter_mut().zip(windows).enumerate() {
                    let v = win.iter().map(|&i| x[i as usize].to());
                    *d = T::from(match recip.get(j) {
                        None => v.max().expect("checked non-empty by infer_shapes"),
                        Some(r) => v.sum::<i128>() * r,
                    });
                }
            }
            Kernel::Relu => {
                for (d, &x) in dst.iter_mut().zip(arg(0)) {
                    *d = x.max(T::default());
                }
            }
            Kernel::Leaky { alpha, shift } => {
                for (i, (d, &x)) in dst.iter_mut().zip(arg(0)).enumerate() {
                    let (x, a) = (x.to(), alpha[crate::ir::channel_of(i, alpha.len())]);
                    *d = T::from(if x >= 0 { x << shift } else { x * a });
                }
            }
            Kernel::Clamp { shift, one } => {
                for (d, &x) in dst.iter_mut().zip(arg(0)) {
                    *d = T::from((x.to() << shift).clamp(-one, *one));
                }
            }
            Kernel::HardSigmoid { slope, offset, one } => {
                for (d, &x) in dst.iter_mut().zip(arg(0)) {
                    *d = T::from((x.to() * slope + offset).clamp(0, *one));
                }
            }
            Kernel::Copy => dst.copy_from_slice(arg(0)),
            Kernel::Gather { keep } => {
                let x = arg(0);
                for (d, &i) in dst.iter_mut().zip(keep) {
                    *d = x[i];
                }
            }
            Kernel::Add { sa, sb } => {
                for ((d, &a), &b) in dst.iter_mut().zip(arg(0)).zip(arg(1)) {
                    *d = T::from((a.to() << sa) + (b.to() << sb));
                }
            }
            Kernel::Concat { shifts } => {
                let mut i = 0;
                for (p, &sh) in shifts.iter().enumerate() {
                    for &x in arg(p) {
                        dst[i] = T::from(x.to() << sh);
                        i += 1;
                    }
                }
            }
            Kernel::Argmax => {
                let x = arg(0);
                let mut best = 0;
                for (i, v) in x.iter().enumerate() {
                    if *v > x[best] {
                        best = i;
                    }
                }
                dst[0] = T::from(best as i128);
            }
            Kernel::Sign => {
                for (d, &x) in dst.iter_mut().zip(arg(0)) {
                    *d = T::from(if x >= T::default() { 1 } else { -1 });
                }
            }
            Kernel::Neurons { rows, thresholds } => {
                let x = arg(0);
                for ((d, row), &t) in dst.iter_mut().zip(rows).zip(thresholds) {
                    let s: i128 = row.iter().map(|&(i, w)| w * x[i].to()).sum();
                    *d = T::from(if s >= t { 1 } else { -1 });
                }
            }
            Kernel::Threshold {
                thresholds,
                scale,
                bias,
            } => {
                for (c, (d, &x)) in dst.iter_mut().zip(arg(0)).enumerate() {
                    let ts = &thresholds[c];
                    let count = ts.partition_point(|&t| t <= x.to()) as i128;
                    *d = T::from(scale * count + bias);
                }
            }
        }
    }
}

/// The golden step of a convolution: its windows, and its rows as the
/// exact or the wrapping dense kernel would hold them.
fn conv_kernel(d: &crate::ir::Dense, fx: i32) -> Kernel {
    let c = d.conv.as_ref().expect("a convolution");
    let geom = c.geom.as_ref().expect("shapes are known");
    let q = d.quant.as_ref().expect("quantized");
    let acc = d.acc.as_ref().expect("sized");
    let taps = c.taps(geom.in_channels);
    let windows = (0..geom.positions())
        .map(|p| {
            (0..taps)
                .filter_map(|t| {
                    geom.input(c, d.units, p, 0, t)
                        .map(|i| (t as u32, i as u32))
                })
                .collect()
        })
        .collect();
    // a kernel is small: its rows are held whole whatever their zeros
    let (rows, wrap) = match &d.accum {
        Accum::Auto => (
            q.weights
                .iter()
                .map(|r| r.map(|w| w << acc.product_shift).to_dense())
                .collect(),
            None,
        ),
        Accum::Explicit(a) => (
            q.weights.iter().map(Row::to_dense).collect(),
            Some((fx + d.weight_type.format.frac, *a)),
        ),
    };
    Kernel::Conv {
        windows,
        rows,
        bias: acc.bias.clone(),
        cpg: geom.in_channels / c.groups,
        per_group: d.units / c.groups,
        wrap,
    }
}

/// The golden step of a pooling layer: every output element's window and,
/// for an average, its quantized `1/count`.
fn pool_kernel(p: &crate::ir::Pool) -> Kernel {
    let geom = p.window.geom.as_ref().expect("shapes are known");
    let elements = geom.positions() * geom.in_channels;
    let windows: Vec<Vec<u32>> = (0..elements)
        .map(|j| {
            let (pos, ch) = (j / geom.in_channels, j % geom.in_channels);
            p.window_of(pos, ch).into_iter().map(|i| i as u32).collect()
        })
        .collect();
    let recip = match p.kind {
        crate::ir::PoolKind::Max => vec![],
        crate::ir::PoolKind::Avg { .. } => windows
            .iter()
            .map(|w| p.reciprocal(p.count(w.len())))
            .collect(),
    };
    Kernel::Pool { windows, recip }
}

/// Samples run side by side, so that a dense layer reads each weight once
/// for all of them: on a big layer the weights, not the arithmetic, bound
/// the golden model's time.
const LANES: usize = 8;

/// An exact dense step `k` on every lane at once. The lanes' inputs are
/// interleaved, element by element, so the innermost loop runs over the
/// lanes with one weight.
fn dense_lanes<T: Word>(
    lanes: &mut [Vec<Vec<T>>],
    k: usize,
    arg: usize,
    rows: &[Vec<T>],
    bias: &[i128],
) {
    let x = interleave(lanes, arg);
    let units = lanes[0][k].len();
    for (j, (row, &b)) in rows.iter().zip(bias).take(units).enumerate() {
        let mut acc = [T::from(b); LANES];
        for (&w, xi) in row.iter().zip(x.chunks_exact(LANES)) {
            for (a, &v) in acc.iter_mut().zip(xi) {
                *a = *a + w * v;
            }
        }
        for (bufs, &a) in lanes.iter_mut().zip(&acc) {
            bufs[k][j] = a;
        }
    }
}

/// An exact layer's coefficients `w << shift`: by input where most are
/// zero (a masked layer), else whole rows, narrow when `rows16` allows.
fn coeffs(weights: &[Row<i128>], shift: u32, xmax: u128) -> Coeffs {
    let shifted: Vec<Row<i128>> = weights.iter().map(|r| r.map(|w| w << shift)).collect();
    let nonzero: usize = shifted.iter().map(|r| r.nonzeros().count()).sum();
    let len: usize = shifted.iter().map(Row::len).sum();
    if 2 * nonzero < len {
        return Coeffs::Sparse(shifted.iter().map(sparse_row).collect());
    }
    let rows: Vec<Vec<i128>> = shifted.iter().map(Row::to_dense).collect();
    match rows16(&rows, xmax) {
        Some(narrow) => Coeffs::Narrow(narrow),
        None => Coeffs::Wide(rows),
    }
}

/// A row's non-zero entries by input.
fn sparse_row(r: &Row<i128>) -> Vec<(u32, i128)> {
    r.nonzeros().map(|(i, w)| (i as u32, w)).collect()
}

/// `dense_lanes` on rows that list their non-zero coefficients.
fn sparse_lanes<T: Word>(
    lanes: &mut [Vec<Vec<T>>],
    k: usize,
    arg: usize,
    rows: &[Vec<(u32, i128)>],
    bias: &[i128],
) {
    let x = interleave(lanes, arg);
    let units = lanes[0][k].len();
    for (j, (row, &b)) in rows.iter().zip(bias).take(units).enumerate() {
        let mut acc = [T::from(b); LANES];
        for &(i, w) in row {
            let (w, i) = (T::from(w), i as usize * LANES);
            for (a, &v) in acc.iter_mut().zip(&x[i..i + LANES]) {
                *a = *a + w * v;
            }
        }
        for (bufs, &a) in lanes.iter_mut().zip(&acc) {
            bufs[k][j] = a;
        }
    }
}

/// Step `arg`'s values of every lane, element by element: element `i` of
/// lane `l` at `i · LANES + l` (lanes past the block's are zero).
fn interleave<T: Word>(lanes: &[Vec<Vec<T>>], arg: usize) -> Vec<T> {
    let width = lanes[0][arg].len();
    let mut x = vec![T::default(); width * LANES];
    for (l, bufs) in lanes.iter().enumerate() {
        for (i, &v) in bufs[arg].iter().enumerate() {
            x[i * LANES + l] = v;
        }
    }
    x
}

/// Coefficients as `i16` when each row's dot product with inputs of
/// magnitude at most `xmax` is exact in `i32`: true of 8-bit weights and
/// activations, whose products SIMD multiply-adds take several at a time.
fn rows16(rows: &[Vec<i128>], xmax: u128) -> Option<Vec<Vec<i16>>> {
    let exact = |r: &Vec<i128>| {
        let bound = r.iter().fold(0u128, |s, &c| {
            s.saturating_add(c.unsigned_abs().saturating_mul(xmax))
        });
        bound <= i32::MAX as u128 && r.iter().all(|&c| i16::try_from(c).is_ok())
    };
    if xmax > i16::MAX as u128 || !rows.iter().all(exact) {
        return None;
    }
    Some(
        rows.iter()
            .map(|r| r.iter().map(|&c| c as i16).collect())
            .collect(),
    )
}

/// `dense_lanes` on `i16` coefficients and inputs (see `rows16`). A lane
/// whose inputs are outside their format (raw values given by a caller)
/// is summed in `i128` instead.
fn dense16_lanes<T: Word>(
    lanes: &mut [Vec<Vec<T>>],
    k: usize,
    arg: usize,
    rows: &[Vec<i16>],
    bias: &[i128],
) {
    let xs: Vec<Option<Vec<i16>>> = lanes
        .iter()
        .map(|bufs| {
            bufs[arg]
                .iter()
                .map(|v| i16::try_from(v.to()).ok())
                .collect()
        })
        .collect();
    let units = lanes[0][k].len();
    for (j, (row, &b)) in rows.iter().zip(bias).take(units).enumerate() {
        for (bufs, x) in lanes.iter_mut().zip(&xs) {
            let dot = match x {
                Some(x) => row
                    .iter()
                    .zip(x)
                    .map(|(&w, &x)| w as i32 * x as i32)
                    .sum::<i32>() as i128,
                None => (row.iter().zip(&bufs[arg]))
                    .map(|(&w, x)| w as i128 * x.to())
                    .sum(),
            };
            bufs[k][j] = T::from(b + dot);
        }
    }
}
