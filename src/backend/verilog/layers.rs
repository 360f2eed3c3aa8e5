//! One generated module per IR node: the datapath of each op, built from
//! the primitives in `rtl/`. Ports: `clk` (only when registered), `in0`,
//! `in1`, … (packed operands) and `out` (packed result).

use super::netlist::{Builder, Val, slice};
use crate::fixed::Format;
use crate::ir::{Accum, Graph, Node, Op, interval, tree};
use petgraph::stable_graph::NodeIndex;

/// The elements of an operand bus as values.
fn elements(bus: &str, node: &Node) -> Vec<Val> {
    let fmt = node.format.unwrap();
    node.range
        .as_ref()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, &range)| Val {
            expr: slice(bus, i, fmt.width),
            fmt,
            range,
        })
        .collect()
}

/// Build the module body of node `n`. Returns false when the node needs
/// no module (inputs).
pub fn build(g: &Graph, n: NodeIndex, b: &mut Builder) -> bool {
    let node = g.node(n);
    let ops: Vec<&Node> = g.operands(n).iter().map(|&o| g.node(o)).collect();
    let stage = node.stage.unwrap();
    let out_fmt = node.format.unwrap();
    let registered = stage.out_reg || stage.inner_regs > 0;
    if registered {
        b.port("input", "clk", 1);
    }
    for (i, o) in ops.iter().enumerate() {
        b.port(
            "input",
            &format!("in{i}"),
            (o.size() as u32 * o.format.unwrap().width).max(1),
        );
    }
    b.port("output", "out", node.size() as u32 * out_fmt.width);
    let ins: Vec<Vec<Val>> = ops
        .iter()
        .enumerate()
        .map(|(i, o)| elements(&format!("in{i}"), o))
        .collect();

    // The exact result of the op per element, before the node's cast.
    let exact: Vec<Val> = match &node.op {
        Op::Input { .. } => return false,
        Op::BatchNorm(_) => unreachable!("lowered IR has no batchnorm"),
        Op::Dense(d) => {
            let acc = d.acc.as_ref().unwrap();
            let terms = d.terms.as_ref().unwrap();
            let total = tree::dense_levels(d);
            let per = stage.adder_levels_per_stage;
            b.view.comments.push(format!(
                "dense: {} neurons, {} non-zero terms, {} adder levels, accumulator {}",
                d.units,
                terms.iter().map(Vec::len).sum::<usize>(),
                total,
                acc.format
            ));
            // Inputs whose every weight is zero are not wired to anything.
            let mut used = vec![false; ins[0].len()];
            for t in terms.iter().flatten() {
                used[t.input] = true;
            }
            for (x, _) in ins[0].iter().zip(&used).filter(|(_, u)| !**u) {
                b.sink(x);
            }
            let wrap = match &d.accum {
                Accum::Explicit(a) => Some(*a),
                Accum::Auto => None,
            };
            (0..d.units)
                .map(|j| {
                    let mut level: Vec<Val> = terms[j]
                        .iter()
                        .map(|t| {
                            let x = &ins[0][t.input];
                            match wrap {
                                None => b.cmul(
                                    x,
                                    t.weight << acc.product_shift,
                                    d.weight_type.format.frac + acc.product_shift as i32,
                                ),
                                Some(a) => {
                                    let p = b.cmul(x, t.weight, d.weight_type.format.frac);
                                    b.cast(&p, &a)
                                }
                            }
                        })
                        .collect();
                    if acc.bias[j] != 0 {
                        let k = b.constant(acc.bias[j], acc.frac);
                        level.push(match wrap {
                            None => k,
                            Some(a) => b.convert(&k, a.format),
                        });
                    }
                    for l in 1..=total {
                        let mut next = vec![];
                        for pair in level.chunks(2) {
                            next.push(match (pair, wrap) {
                                ([x, y], None) => b.add(x, y),
                                ([x, y], Some(a)) => b.add_wrap(x, y, a.format),
                                _ => pair[0].clone(),
                            });
                        }
                        level = next;
                        if tree::cut_after(l, total, per) {
                            level = level.iter().map(|v| b.reg(v, 1)).collect();
                        }
                    }
                    match level.pop() {
                        Some(v) => v,
                        None => b.constant(0, acc.frac),
                    }
                })
                .collect()
        }
        Op::Relu => ins[0]
            .iter()
            .map(|x| {
                let c = interval::relu(x.range);
                clamp(b, x, c, x.fmt.frac)
            })
            .collect(),
        Op::LeakyRelu {
            alpha_type,
            alpha_raw,
            ..
        } => {
            let a = alpha_raw.unwrap();
            let fa = alpha_type.format.frac as u32;
            ins[0]
                .iter()
                .map(|x| {
                    let range =
                        interval::leaky_relu(x.range, a, fa).expect("sized by infer_precision");
                    let fmt =
                        Format::for_interval(range.0, range.1, x.fmt.frac + fa as i32).unwrap();
                    b.leaky(x, a, fa, fmt, range)
                })
                .collect()
        }
        Op::HardTanh => ins[0]
            .iter()
            .map(|x| {
                let c = interval::hard_tanh(x.range, x.fmt.frac).expect("sized by infer_precision");
                clamp(b, x, c, x.fmt.frac.max(0))
            })
            .collect(),
        Op::Quantize | Op::Flatten => ins[0].clone(),
        Op::Add => ins[0]
            .iter()
            .zip(&ins[1])
            .map(|(x, y)| b.add(x, y))
            .collect(),
        Op::Concat => ins.concat(),
        Op::Argmax => {
            let iw = out_fmt.width;
            let mut level: Vec<(Val, Val)> = ins[0]
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let k = b.constant(i as i128, 0);
                    (v.clone(), b.convert(&k, Format::new(false, iw, 0)))
                })
                .collect();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|p| {
                        if p.len() == 2 {
                            b.max2(&p[0], &p[1])
                        } else {
                            p[0].clone()
                        }
                    })
                    .collect();
            }
            let (v, i) = level.pop().unwrap();
            // The winning value is not an output, only its index is.
            b.sink(&v);
            vec![i]
        }
    };
    // Cast (or convert exactly) every element into the node's format.
    let out: Vec<Val> = exact
        .iter()
        .map(|v| match node.cast {
            Some(ty) if !matches!(node.op, Op::Argmax) => b.cast(v, &ty),
            _ => b.convert(v, out_fmt),
        })
        .collect();
    let width = out_fmt.width;
    let bus = b.wire("y", node.size() as u32 * width);
    for (i, v) in out.iter().enumerate() {
        b.assign(slice(&bus, i, width), v.expr.clone());
    }
    let q = b.reg_bus(bus, node.size() as u32 * width, stage.out_reg as u32);
    b.assign("out".into(), q);
    true
}

/// A clamp primitive for an interval-level [`interval::Clamp`].
fn clamp(b: &mut Builder, x: &Val, c: interval::Clamp, frac: i32) -> Val {
    let fmt = Format::for_interval(c.out.0, c.out.1, frac).unwrap();
    b.clamp(x, c.shift, c.lo, c.hi, fmt, c.out)
}
