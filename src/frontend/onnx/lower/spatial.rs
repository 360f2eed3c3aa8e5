//! ONNX's convolutions, pools, table activations and softmax.
//!
//! ONNX tensors are channels-first (`[N, C, spatial...]`); neurtl's
//! convolutions and pools are channels-last. Their operand is reordered
//! by a transpose (wiring only, made once per layer) and their result is
//! kept channels-last, so a chain conv → relu → pool → conv needs no
//! reordering between its layers: only an op that indexes the tensor
//! (Flatten, Gemm, Slice, ...) gets the ONNX order back.

use super::{
    DenseLayer, Dyn, FrontendError, Lowerer, attr, attr_f, attr_i, attr_s, node_err, slope_fields,
};
use crate::frontend::onnx::proto::NodeProto;
use serde_json::{Map, Value, json};

/// ONNX ops that become neurtl table activations, and their neurtl op.
const TABLES: &[(&str, &str)] = &[
    ("Sigmoid", "sigmoid"),
    ("Tanh", "tanh"),
    ("Gelu", "gelu"),
    ("Softplus", "softplus"),
    ("Exp", "exp"),
    ("Log", "log"),
    ("Reciprocal", "reciprocal"),
];

/// The neurtl table op an ONNX op becomes, if it is one.
pub(super) fn table_op(onnx: &str) -> Option<&'static str> {
    TABLES.iter().find(|(o, _)| *o == onnx).map(|t| t.1)
}

/// A neurtl op whose entries need a type (the tables and softmax); without
/// a `Quant` after it, it gets a default (see `default_table_type`).
pub(super) fn is_table(op: &str) -> bool {
    op == "softmax" || TABLES.iter().any(|(_, t)| *t == op)
}

/// Largest kernel, stride, dilation or padding accepted: far beyond any
/// real network, and small enough that no shape arithmetic overflows.
const MAX_EXTENT: i64 = 1 << 16;

/// The window of a convolution or pool, per spatial axis.
struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<(usize, usize)>,
    /// Output extent per spatial axis.
    out: Vec<usize>,
}

impl Window {
    /// neurtl's `kernel_size`, `strides` (always written: neurtl's pools
    /// default to the kernel, ONNX's to 1) and `padding` (`"valid"` or
    /// explicit zeros per axis).
    fn fields(&self) -> Map<String, Value> {
        let padding = if self.pads.iter().all(|&(a, b)| a == 0 && b == 0) {
            json!("valid")
        } else {
            json!(self.pads.iter().map(|&(a, b)| [a, b]).collect::<Vec<_>>())
        };
        let mut f = Map::new();
        f.insert("kernel_size".into(), json!(self.kernel));
        f.insert("strides".into(), json!(self.strides));
        f.insert("padding".into(), padding);
        f
    }
}

/// An attribute of one positive integer per spatial axis.
fn per_axis(
    n: &NodeProto,
    name: &str,
    rank: usize,
    default: Option<usize>,
) -> Result<Vec<usize>, FrontendError> {
    let Some(a) = attr(n, name) else {
        return default
            .map(|d| vec![d; rank])
            .ok_or_else(|| node_err(n, Some(name), "is required"));
    };
    if a.ints.len() != rank || a.ints.iter().any(|&v| !(1..=MAX_EXTENT).contains(&v)) {
        return Err(node_err(
            n,
            Some(name),
            format!(
                "must be {rank} integers from 1 to {MAX_EXTENT}, one per spatial axis; got {:?}",
                a.ints
            ),
        ));
    }
    Ok(a.ints.iter().map(|&v| v as usize).collect())
}

/// The zeros before and after each spatial axis: `pads`, or what
/// `auto_pad` asks for (`SAME_UPPER` puts the odd zero after, as neurtl's
/// `same` does, `SAME_LOWER` before).
fn pads(
    n: &NodeProto,
    input: &[usize],
    span: &[usize],
    strides: &[usize],
) -> Result<Vec<(usize, usize)>, FrontendError> {
    let rank = input.len();
    let same = |upper: bool| -> Vec<(usize, usize)> {
        (0..rank)
            .map(|a| {
                let out = input[a].div_ceil(strides[a]);
                let total = ((out - 1) * strides[a] + span[a]).saturating_sub(input[a]);
                let (small, big) = (total / 2, total - total / 2);
                if upper { (small, big) } else { (big, small) }
            })
            .collect()
    };
    match attr_s(n, "auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => {
            let Some(a) = attr(n, "pads") else {
                return Ok(vec![(0, 0); rank]);
            };
            if a.ints.len() != 2 * rank || a.ints.iter().any(|&v| !(0..=MAX_EXTENT).contains(&v)) {
                return Err(node_err(
                    n,
                    Some("pads"),
                    format!(
                        "must be {} integers from 0 to {MAX_EXTENT} (all begins, then all ends); got {:?}",
                        2 * rank,
                        a.ints
                    ),
                ));
            }
            let p = |i: usize| a.ints[i] as usize;
            Ok((0..rank).map(|i| (p(i), p(i + rank))).collect())
        }
        "VALID" => Ok(vec![(0, 0); rank]),
        "SAME_UPPER" => Ok(same(true)),
        "SAME_LOWER" => Ok(same(false)),
        other => Err(node_err(
            n,
            Some("auto_pad"),
            format!("unknown auto_pad `{other}`"),
        )),
    }
}

/// Resolve the window of a conv or pool over `input` (spatial extents).
fn window(
    n: &NodeProto,
    input: &[usize],
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
) -> Result<Window, FrontendError> {
    if attr_i(n, "ceil_mode", 0)? != 0 {
        return Err(node_err(
            n,
            Some("ceil_mode"),
            "only ceil_mode 0 (floor, ONNX's default) is supported",
        ));
    }
    let span: Vec<usize> = (0..input.len())
        .map(|a| (kernel[a] - 1) * dilations[a] + 1)
        .collect();
    let pads = pads(n, input, &span, &strides)?;
    let mut out = vec![];
    for a in 0..input.len() {
        let padded = input[a] + pads[a].0 + pads[a].1;
        if padded < span[a] {
            return Err(node_err(
                n,
                Some("kernel_shape"),
                format!(
                    "the window spans {} elements on spatial axis {a}, more than its {padded} with padding",
                    span[a]
                ),
            ));
        }
        out.push((padded - span[a]) / strides[a] + 1);
    }
    Ok(Window {
        kernel,
        strides,
        dilations,
        pads,
        out,
    })
}

/// The spatial rank of a `[C, spatial...]` operand: 1 or 2.
fn spatial_rank(n: &NodeProto, x: &Dyn) -> Result<usize, FrontendError> {
    match x.shape.len() {
        2 | 3 => Ok(x.shape.len() - 1),
        _ => Err(node_err(
            n,
            Some("input[0]"),
            format!(
                "neurtl convolves and pools [batch, channels, length] and [batch, channels, height, width] data; got a sample of shape {:?}",
                x.shape
            ),
        )),
    }
}

impl Lowerer<'_> {
    /// `Conv`: `W` is `[filters, C/group, kernel...]`, stored once as
    /// neurtl's `[filters][kernel...][C/group]`.
    pub(super) fn conv(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dyn_any(n, 0)?;
        let rank = spatial_rank(n, &x)?;
        let w = self.konst(n, 1, "the weights")?;
        let ws = w.t.shape.clone();
        let c = x.shape[0];
        let group = attr_i(n, "group", 1)?;
        if ws.len() != rank + 2 {
            return Err(node_err(
                n,
                Some("input[1]"),
                format!(
                    "weights of shape {ws:?}: a {rank}-D convolution takes [filters, channels/group{}]",
                    ", k".repeat(rank)
                ),
            ));
        }
        let filters = ws[0];
        let bad_group = group < 1
            || group as usize > c
            || !c.is_multiple_of(group as usize)
            || !filters.is_multiple_of(group as usize)
            || ws[1] * group as usize != c;
        if bad_group {
            return Err(node_err(
                n,
                Some("group"),
                format!(
                    "group {group} with {c} input channels and weights {ws:?}: the groups must divide the channels and the filters, and the weights hold channels/group = {} channels",
                    ws[1]
                ),
            ));
        }
        let kernel = ws[2..].to_vec();
        if attr(n, "kernel_shape").is_some() && per_axis(n, "kernel_shape", rank, None)? != kernel {
            return Err(node_err(
                n,
                Some("kernel_shape"),
                format!("disagrees with the weights' kernel {kernel:?}"),
            ));
        }
        let strides = per_axis(n, "strides", rank, Some(1))?;
        let dilations = per_axis(n, "dilations", rank, Some(1))?;
        let win = window(n, &x.shape[1..], kernel, strides, dilations)?;
        let bias = match n.input.get(2).filter(|s| !s.is_empty()) {
            None => None,
            Some(_) => {
                let b = self.konst(n, 2, "the bias")?;
                if b.t.data.len() != filters {
                    return Err(node_err(
                        n,
                        Some("input[2]"),
                        format!("{} bias values for {filters} filters", b.t.data.len()),
                    ));
                }
                Some(b.t.data)
            }
        };
        let cpg = ws[1];
        let positions: usize = win.kernel.iter().product();
        // ONNX W[f][ch][k] (k row-major over the kernel) to neurtl
        // row f: [k][ch]
        let weights = (0..filters)
            .map(|f| {
                (0..positions * cpg)
                    .map(|t| w.t.data[(f * cpg + t % cpg) * positions + t / cpg])
                    .collect()
            })
            .collect();
        let mut kdims = win.kernel.clone();
        kdims.push(cpg);
        let mut f = win.fields();
        f.insert("dilation".into(), json!(win.dilations));
        f.insert("groups".into(), json!(group));
        let d = DenseLayer {
            weights,
            kernel: Some(kdims),
            bias,
            quantized: w.quantized,
            bipolar: w.bipolar,
            wide: false,
        };
        let op = if rank == 1 { "conv1d" } else { "conv2d" };
        let mut shape = vec![filters];
        shape.extend(&win.out);
        let x = self.in_layout(&x, true);
        self.push(n, op, &[&x], shape, true, f, Some(d));
        Ok(())
    }

    /// `MaxPool`/`AveragePool`, and their global forms (one window over
    /// all of each channel).
    pub(super) fn pool(&mut self, n: &NodeProto, max: bool) -> Result<(), FrontendError> {
        let x = self.dyn_any(n, 0)?;
        let rank = spatial_rank(n, &x)?;
        let global = n
            .op_type
            .as_deref()
            .is_some_and(|o| o.starts_with("Global"));
        if n.output.get(1).is_some_and(|o| !o.is_empty()) {
            return Err(node_err(
                n,
                Some("output[1]"),
                "MaxPool's Indices output is not supported",
            ));
        }
        let (kernel, strides) = if global {
            (x.shape[1..].to_vec(), x.shape[1..].to_vec())
        } else {
            let k = per_axis(n, "kernel_shape", rank, None)?;
            (k, per_axis(n, "strides", rank, Some(1))?)
        };
        if per_axis(n, "dilations", rank, Some(1))?
            .iter()
            .any(|&d| d != 1)
        {
            return Err(node_err(
                n,
                Some("dilations"),
                "pooling windows with dilation are not supported",
            ));
        }
        let win = window(n, &x.shape[1..], kernel, strides, vec![1; rank])?;
        let mut f = win.fields();
        if !max && attr_i(n, "count_include_pad", 0)? != 0 {
            f.insert("count_include_pad".into(), json!(true));
        }
        let op = format!("{}pool{rank}d", if max { "max" } else { "avg" });
        let mut shape = vec![x.shape[0]];
        shape.extend(&win.out);
        let x = self.in_layout(&x, true);
        self.push(n, &op, &[&x], shape, true, f, None);
        Ok(())
    }

    /// An elementwise table activation, or `HardSigmoid`. Its entries'
    /// type comes from the `Quant` that follows (see `cast_or_layer`).
    pub(super) fn table(&mut self, n: &NodeProto, op: &str) -> Result<(), FrontendError> {
        let mut f = Map::new();
        match op {
            "gelu" => {
                let approx = attr_s(n, "approximate", "none")?;
                if approx != "none" {
                    return Err(node_err(
                        n,
                        Some("approximate"),
                        format!(
                            "approximate `{approx}`: neurtl's gelu table is the exact form (approximate = \"none\")"
                        ),
                    ));
                }
            }
            "hard_sigmoid" => {
                f = slope_fields("slope", json!(attr_f(n, "alpha", 0.2)?));
                f.insert("offset".into(), json!(attr_f(n, "beta", 0.5)?));
            }
            _ => {}
        }
        self.unary(n, op, f)
    }

    /// `Softmax` over one axis, which must be the one neurtl's softmax
    /// takes: the last of the layer's order.
    pub(super) fn softmax(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dyn_any(n, 0)?;
        let r = x.shape.len() as i64;
        // before opset 13: over everything from `axis` on, default 1
        let old = self.onnx_version < 13;
        let axis = attr_i(n, "axis", if old { 1 } else { -1 })?;
        // the axis's index in the sample's shape
        let i = if axis < 0 { axis + r } else { axis - 1 };
        let x = if i == r - 1 {
            self.in_layout(&x, false)
        } else if i == 0 && !old {
            self.in_layout(&x, true)
        } else {
            return Err(node_err(
                n,
                Some("axis"),
                format!(
                    "axis {axis} of a [batch{}] input: neurtl takes the softmax over one axis, the channels (axis 1, from opset 13) or the last",
                    x.shape.iter().map(|d| format!(", {d}")).collect::<String>()
                ),
            ));
        };
        self.push(n, "softmax", &[&x], x.shape.clone(), x.cl, Map::new(), None);
        Ok(())
    }

    /// `Transpose` that keeps the batch first.
    pub(super) fn transpose(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dynamic(n, 0)?;
        let r = x.shape.len() + 1;
        let perm: Vec<i64> = match attr(n, "perm") {
            Some(a) => a.ints.clone(),
            None => (0..r as i64).rev().collect(),
        };
        let mut seen = vec![false; r];
        let ok = perm.len() == r
            && perm.iter().all(|&p| {
                (0..r as i64).contains(&p) && !std::mem::replace(&mut seen[p as usize], true)
            });
        if !ok || perm[0] != 0 {
            return Err(node_err(
                n,
                Some("perm"),
                format!(
                    "{perm:?} must be a permutation of 0..{r} that keeps the batch (axis 0) first"
                ),
            ));
        }
        let p: Vec<usize> = perm[1..].iter().map(|&v| v as usize - 1).collect();
        let shape = p.iter().map(|&i| x.shape[i]).collect();
        let mut f = Map::new();
        f.insert("perm".into(), json!(p));
        self.push(n, "transpose", &[&x], shape, false, f, None);
        Ok(())
    }
}
