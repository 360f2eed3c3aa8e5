//! Shape inference: gives every node its output shape and rejects operands
//! that do not fit their op (including transposed weight matrices).

use super::{Pass, PassError};
use crate::ir::{Graph, Op, Thresholds};

pub struct InferShapes;

impl Pass for InferShapes {
    fn name(&self) -> &'static str {
        "infer_shapes"
    }
    fn description(&self) -> &'static str {
        "compute every node's output shape and check operand shapes"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        for n in g.topo() {
            let ins: Vec<Vec<usize>> = g
                .operands(n)
                .iter()
                .map(|&s| {
                    g.node(s)
                        .shape
                        .clone()
                        .expect("operands come first in topological order")
                })
                .collect();
            let node = g.node(n);
            let name = node.name.as_str();
            let size = |s: &Vec<usize>| s.iter().product::<usize>();
            let one_d = |field: &str| -> Result<usize, PassError> {
                if ins[0].len() != 1 {
                    return Err(PassError::model(
                        name,
                        field,
                        format!("needs a one-dimensional input, got shape {:?}", ins[0]),
                    )
                    .with_help("insert a flatten layer before it"));
                }
                Ok(ins[0][0])
            };
            // slice and reshape leave with their axis and dimensions resolved
            let mut resolved = None;
            let mut conv_geom = None;
            let shape = match &node.op {
                Op::Slice { axis, start, end } => {
                    let (shape, axis) = slice_shape(name, &ins[0], *axis, *start, *end)?;
                    resolved = Some(Op::Slice {
                        axis: axis as i64,
                        start: *start,
                        end: *end,
                    });
                    shape
                }
                Op::Transpose { perm } => {
                    if perm.len() != ins[0].len() {
                        return Err(PassError::model(
                            name,
                            "perm",
                            format!(
                                "orders {} axes, but the input {:?} has {}",
                                perm.len(),
                                ins[0],
                                ins[0].len()
                            ),
                        ));
                    }
                    perm.iter().map(|&a| ins[0][a]).collect()
                }
                Op::Reshape { shape } => {
                    let shape = reshape(name, &ins[0], shape)?;
                    resolved = Some(Op::Reshape {
                        shape: shape.iter().map(|&d| Some(d)).collect(),
                    });
                    shape
                }
                Op::Input { .. } => node
                    .shape
                    .clone()
                    .expect("inputs are given a shape by the front end"),
                Op::Pool(p) => {
                    let (shape, geom) = pool_shape(name, p, &ins[0])?;
                    conv_geom = Some(geom);
                    shape
                }
                Op::Dense(d) if d.conv.is_some() => {
                    let (shape, geom) = conv_shape(name, d, &ins[0])?;
                    conv_geom = Some(geom);
                    shape
                }
                Op::Dense(d) => {
                    let n_in = one_d("input")?;
                    let rows = d.weights.len();
                    let cols = d.weights.first().map_or(0, crate::ir::Row::len);
                    if rows == n_in && cols == d.units && rows != d.units {
                        return Err(PassError::model(
                            name,
                            "weights",
                            format!(
                                "shape is [{rows}][{cols}] but must be [units][inputs] = [{}][{n_in}]: the matrix is transposed",
                                d.units
                            ),
                        )
                        .with_help("write one row per output neuron (PyTorch/ONNX Gemm orientation); transpose Keras kernels"));
                    }
                    if rows != d.units {
                        return Err(PassError::model(
                            name,
                            "weights",
                            format!(
                                "has {rows} rows, expected units = {} rows of {n_in} inputs",
                                d.units
                            ),
                        ));
                    }
                    if let Some((r, row)) =
                        d.weights.iter().enumerate().find(|(_, r)| r.len() != n_in)
                    {
                        return Err(PassError::model(
                            name,
                            "weights",
                            format!(
                                "row {r} has {} entries, but the input has {n_in} elements",
                                row.len()
                            ),
                        ));
                    }
                    if d.bias.len() != d.units {
                        return Err(PassError::model(
                            name,
                            "bias",
                            format!("has {} entries, expected units = {}", d.bias.len(), d.units),
                        ));
                    }
                    vec![d.units]
                }
                Op::BatchNorm(b) => {
                    let c = *ins[0].last().expect("shapes have an axis");
                    if b.gamma.len() != c {
                        return Err(PassError::model(
                            name,
                            "gamma",
                            format!(
                                "has {} channels, the input has {c} (the last axis of {:?})",
                                b.gamma.len(),
                                ins[0]
                            ),
                        ));
                    }
                    ins[0].clone()
                }
                Op::LeakyRelu { alpha, .. } => {
                    let channels = *ins[0].last().expect("shapes have an axis");
                    if alpha.len() != 1 && alpha.len() != channels {
                        return Err(PassError::model(
                            name,
                            "alpha",
                            format!(
                                "has {} entries; expected one per channel (the last axis of {:?}: {channels}) or one for all",
                                alpha.len(),
                                ins[0]
                            ),
                        ));
                    }
                    ins[0].clone()
                }
                Op::Relu
                | Op::HardTanh
                | Op::HardSigmoid { .. }
                | Op::Table(_)
                | Op::Softmax(_)
                | Op::Quantize
                | Op::Sign => ins[0].clone(),
                Op::Neurons(_) => unreachable!("fuse_neurons runs after shape inference"),
                Op::Threshold(t) => {
                    let rows = match &t.thresholds {
                        Thresholds::Given(rows) => Some(("thresholds", rows.len(), "rows")),
                        Thresholds::Requant(q) => Some(("mul", q.len(), "entries")),
                        Thresholds::BatchNorm(_) => None,
                    };
                    if let Some((field, rows, what)) = rows {
                        let c = one_d("input")?;
                        if rows != c && rows != 1 {
                            return Err(PassError::model(
                                name,
                                field,
                                format!(
                                    "has {rows} {what}; expected one per channel ({c}) or a single shared one"
                                ),
                            ));
                        }
                    }
                    ins[0].clone()
                }
                Op::Add => {
                    if ins[0] != ins[1] {
                        return Err(PassError::model(
                            name,
                            "inputs",
                            format!("operand shapes {:?} and {:?} differ", ins[0], ins[1]),
                        ));
                    }
                    ins[0].clone()
                }
                Op::Concat => vec![ins.iter().map(size).sum()],
                Op::Flatten => vec![size(&ins[0])],
                Op::Argmax => {
                    one_d("input")?;
                    vec![1]
                }
            };
            let node = g.node_mut(n);
            node.shape = Some(shape);
            if let Some(op) = resolved {
                node.op = op;
            }
            match (&mut node.op, conv_geom) {
                (Op::Dense(d), Some(geom)) => {
                    d.conv.as_mut().expect("a convolution").geom = Some(geom);
                }
                (Op::Pool(p), Some(geom)) => {
                    p.window.groups = geom.in_channels;
                    p.window.geom = Some(geom);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A window op's operand must be `rank` spatial axes, then channels.
fn spatial_input(name: &str, rank: usize, ins: &[usize]) -> Result<(), PassError> {
    if ins.len() == rank + 1 {
        return Ok(());
    }
    Err(PassError::model(
        name,
        "input",
        format!(
            "needs a {}-dimensional input (spatial axes, then channels), got shape {ins:?}",
            rank + 1
        ),
    )
    .with_help("reshape the input to [length, channels] (1-D) or [height, width, channels] (2-D)"))
}

/// A pooling layer's output shape (positions, then the input's channels)
/// and window geometry.
fn pool_shape(
    name: &str,
    p: &crate::ir::Pool,
    ins: &[usize],
) -> Result<(Vec<usize>, crate::ir::ConvGeom), PassError> {
    let w = &p.window;
    let rank = w.kernel.len();
    spatial_input(name, rank, ins)?;
    let (output, pad_before) = w.resolve(&ins[..rank]).map_err(|a| {
        PassError::model(
            name,
            "kernel_size",
            format!(
                "the window ({} taps) is wider than axis {a} of the input {ins:?} with its padding",
                w.kernel[a]
            ),
        )
    })?;
    // a window wholly in the padding has nothing to pool
    if let Some(a) = (0..rank).find(|&a| {
        pad_before[a] >= w.kernel[a] || {
            let last = (output[a] - 1) * w.stride[a] + w.kernel[a];
            last - pad_before[a] > ins[a] + w.kernel[a] - 1
        }
    }) {
        return Err(PassError::model(
            name,
            "padding",
            format!("a window on axis {a} lies wholly in the padding: pad less than the kernel"),
        ));
    }
    let mut shape = output.clone();
    shape.push(ins[rank]);
    let geom = crate::ir::ConvGeom {
        input: ins[..rank].to_vec(),
        in_channels: ins[rank],
        output,
        pad_before,
    };
    Ok((shape, geom))
}

/// A convolution's output shape (positions, then filters) and geometry
/// on an input of shape `ins`: spatial axes, then channels.
fn conv_shape(
    name: &str,
    d: &crate::ir::Dense,
    ins: &[usize],
) -> Result<(Vec<usize>, crate::ir::ConvGeom), PassError> {
    let c = d.conv.as_ref().expect("a convolution");
    let rank = c.kernel.len();
    spatial_input(name, rank, ins)?;
    let channels = ins[rank];
    if !channels.is_multiple_of(c.groups) {
        return Err(PassError::model(
            name,
            "groups",
            format!(
                "{} groups do not divide the {channels} input channels",
                c.groups
            ),
        ));
    }
    let taps = c.taps(channels);
    if let Some((f, row)) = d.weights.iter().enumerate().find(|(_, r)| r.len() != taps) {
        return Err(PassError::model(
            name,
            "weights",
            format!(
                "filter {f} has {} weights per kernel position, but the input has {} channels per group ({channels} in {} groups)",
                row.len() / c.kernel.iter().product::<usize>(),
                channels / c.groups,
                c.groups
            ),
        ));
    }
    if d.bias.len() != d.units {
        return Err(PassError::model(
            name,
            "bias",
            format!(
                "has {} entries, expected filters = {}",
                d.bias.len(),
                d.units
            ),
        ));
    }
    let (output, pad_before) = c.resolve(&ins[..rank]).map_err(|a| {
        PassError::model(
            name,
            "kernel_size",
            format!(
                "the window ({} taps, dilation {}) is wider than axis {a} of the input {ins:?} with its padding",
                c.kernel[a], c.dilation[a]
            ),
        )
    })?;
    let mut shape = output.clone();
    shape.push(d.units);
    if shape.iter().product::<usize>() > 1 << 20 {
        return Err(PassError::model(
            name,
            "filters",
            format!(
                "the output {shape:?} has more than 2^20 elements: too large for a fully parallel design"
            ),
        ));
    }
    let geom = crate::ir::ConvGeom {
        input: ins[..rank].to_vec(),
        in_channels: channels,
        output,
        pad_before,
    };
    Ok((shape, geom))
}

/// The shape a slice leaves of operand shape `ins`, and its axis counted
/// from the front.
fn slice_shape(
    name: &str,
    ins: &[usize],
    axis: i64,
    start: usize,
    end: usize,
) -> Result<(Vec<usize>, usize), PassError> {
    let rank = ins.len() as i64;
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&a) {
        return Err(PassError::model(
            name,
            "axis",
            format!(
                "is {axis}, but the input {ins:?} has {rank} axes (0..{rank}, or −1 for the last)"
            ),
        ));
    }
    let a = a as usize;
    if start >= end || end > ins[a] {
        return Err(PassError::model(
            name,
            "end",
            format!(
                "the range {start}..{end} must be non-empty and within axis {a} of length {}",
                ins[a]
            ),
        ));
    }
    let mut shape = ins.to_vec();
    shape[a] = end - start;
    Ok((shape, a))
}

/// The shape a reshape of operand shape `ins` to `want` has, its one
/// open dimension (if any) filled in so the size stays.
fn reshape(name: &str, ins: &[usize], want: &[Option<usize>]) -> Result<Vec<usize>, PassError> {
    let size: usize = ins.iter().product();
    let known: usize = want.iter().flatten().product();
    let open = want.iter().filter(|d| d.is_none()).count();
    let fill = match open {
        0 if known == size => 0,
        1 if known > 0 && size.is_multiple_of(known) => size / known,
        _ => {
            return Err(PassError::model(
                name,
                "shape",
                format!(
                    "{:?} cannot hold the {size} elements of the input {ins:?}",
                    want.iter()
                        .map(|d| d.map_or(-1, |d| d as i64))
                        .collect::<Vec<_>>()
                ),
            ));
        }
    };
    Ok(want.iter().map(|d| d.unwrap_or(fill)).collect())
}
