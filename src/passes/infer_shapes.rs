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
            let shape = match &node.op {
                Op::Input { .. } => node
                    .shape
                    .clone()
                    .expect("inputs are given a shape by the front end"),
                Op::Dense(d) => {
                    let n_in = one_d("input")?;
                    let rows = d.weights.len();
                    let cols = d.weights.first().map_or(0, Vec::len);
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
                    let c = one_d("input")?;
                    if b.gamma.len() != c {
                        return Err(PassError::model(
                            name,
                            "gamma",
                            format!("has {} channels, the input has {c}", b.gamma.len()),
                        ));
                    }
                    vec![c]
                }
                Op::Relu | Op::LeakyRelu { .. } | Op::HardTanh | Op::Quantize | Op::Sign => {
                    ins[0].clone()
                }
                Op::Neurons(_) => unreachable!("fuse_neurons runs after shape inference"),
                Op::Threshold(t) => {
                    if let Thresholds::Given(rows) = &t.thresholds {
                        let c = one_d("input")?;
                        if rows.len() != c && rows.len() != 1 {
                            return Err(PassError::model(
                                name,
                                "thresholds",
                                format!(
                                    "has {} rows; expected one per channel ({c}) or a single shared row",
                                    rows.len()
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
            g.node_mut(n).shape = Some(shape);
        }
        Ok(())
    }
}
