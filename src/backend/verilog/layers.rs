//! One generated module per IR node: the datapath of each op, built from
//! the primitives in `rtl/`. Ports: `clk` (only when registered), `in0`,
//! `in1`, … (packed operands) and `out` (packed result).

use super::netlist::{Builder, Val, slice};
use crate::fixed::Format;
use crate::ir::{Accum, Graph, Node, Op, interval, tree};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;

/// Per node, per output element: how many low bits are the same for
/// every sample (`Val::low`), as the producer's module found them.
pub type LowBits = HashMap<NodeIndex, Vec<u32>>;

/// The elements of an operand bus as values, with the constant low bits
/// the producer reported (`low`, empty when unknown). A bipolar bit `b`
/// becomes the two-bit signed value `{~b, 1}`: 01 = +1, 11 = −1.
fn elements(bus: &str, node: &Node, low: &[u32]) -> Vec<Val> {
    let fmt = node.format.unwrap();
    node.range
        .as_ref()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, &range)| {
            let known = low.get(i).copied().unwrap_or(0);
            if node.bipolar {
                // the constant 1 below the bit, and the bit if it is fixed
                Val::new(format!("{{~{}, 1'b1}}", slice(bus, i, 1)), fmt, range).with_low(1 + known)
            } else {
                Val::new(slice(bus, i, fmt.width), fmt, range).with_low(known)
            }
        })
        .collect()
}

/// `x ≥ t` for each raw threshold; an input no comparison reads (every
/// threshold outside its interval) goes to a sink, so lint stays clean.
fn compare_all(b: &mut Builder, x: &Val, ts: &[i128]) -> Vec<String> {
    let bits: Vec<String> = ts.iter().map(|&t| b.ge(x, t)).collect();
    if bits.iter().all(|e| e.starts_with("1'b")) {
        b.sink(x);
    }
    bits
}

/// The raw bits of a bipolar operand bus.
fn bits(bus: &str, node: &Node) -> Vec<String> {
    (0..node.size()).map(|i| slice(bus, i, 1)).collect()
}

/// Sum `leaves` in a balanced tree run for levels `1..=levels` (at least
/// the tree's own depth; singletons pass through), registering after a
/// level where the schedule of a `total`-level layer cuts, so every neuron
/// of a layer has the same latency.
fn reduce(b: &mut Builder, mut level: Vec<Val>, levels: u32, total: u32, per: u32) -> Option<Val> {
    debug_assert!(levels >= tree::levels(level.len()));
    for l in 1..=levels {
        let mut next = vec![];
        for pair in level.chunks(2) {
            next.push(match pair {
                [x, y] => b.add(x, y),
                _ => pair[0].clone(),
            });
        }
        level = next;
        if tree::cut_after(l, total, per) {
            level = level.iter().map(|v| b.reg(v, 1)).collect();
        }
    }
    level.pop()
}

/// Build the module body of node `n`, given what its operands' modules
/// reported in `low` and the low bits of each output element no consumer
/// reads (`unread`, see `unread.rs`). Returns the constant low bits of
/// each output element (for a bipolar element, 1 when the bit is a
/// constant).
pub fn build(g: &Graph, n: NodeIndex, b: &mut Builder, low: &LowBits, unread: &[u32]) -> Vec<u32> {
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
            (o.size() as u32 * o.wire_width()).max(1),
        );
    }
    b.port("output", "out", node.size() as u32 * node.wire_width());
    let ins: Vec<Vec<Val>> = g
        .operands(n)
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let known = low.get(o).map_or(&[][..], Vec::as_slice);
            elements(&format!("in{i}"), g.node(*o), known)
        })
        .collect();

    if matches!(node.op, Op::Input { .. }) {
        return vec![];
    }
    if node.bipolar {
        let out: Vec<String> = match &node.op {
            Op::Flatten | Op::Concat => ops
                .iter()
                .enumerate()
                .flat_map(|(i, o)| bits(&format!("in{i}"), o))
                .collect(),
            Op::Sign if ops[0].bipolar => bits("in0", ops[0]),
            Op::Sign => ins[0].iter().map(|x| b.sign(x)).collect(),
            Op::Threshold(t) => {
                let raw = t.raw.as_ref().unwrap();
                ins[0]
                    .iter()
                    .zip(raw)
                    .map(|(x, ts)| compare_all(b, x, &ts[..1]).remove(0))
                    .collect()
            }
            other => unreachable!("{} does not make bipolar values", other.name()),
        };
        let bus = b.wire("y", node.size() as u32);
        let fixed: Vec<u32> = out.iter().map(|e| e.starts_with("1'b") as u32).collect();
        for (i, e) in out.into_iter().enumerate() {
            b.assign(slice(&bus, i, 1), e);
        }
        if stage.out_reg {
            b.counts.redundant_register_bits += fixed.iter().map(|&k| k as u64).sum::<u64>();
        }
        let q = b.reg_bus(bus, node.size() as u32, stage.out_reg as u32);
        b.assign("out".into(), q);
        return fixed;
    }
    // The exact result of the op per element, before the node's cast.
    let exact: Vec<Val> = match &node.op {
        Op::Input { .. } => unreachable!(),
        Op::Sign => unreachable!("always bipolar"),
        // this builder only serves tl-pe, whose every neuron layer is folded
        Op::Neurons(_) => unreachable!("folded onto the PE array"),
        Op::Threshold(t) => {
            let (scale, bias, frac) = t.out_raw.unwrap();
            let raw = t.raw.as_ref().unwrap();
            ins[0]
                .iter()
                .zip(raw)
                .map(|(x, ts)| {
                    let leaves: Vec<Val> =
                        compare_all(b, x, ts).into_iter().map(Val::bit).collect();
                    let n = tree::levels(leaves.len());
                    let count = reduce(b, leaves, n, 0, 0).expect("at least one step");
                    let y = b.cmul(&count, scale, frac);
                    if bias == 0 {
                        y
                    } else {
                        let k = b.constant(bias, frac);
                        b.add(&y, &k)
                    }
                })
                .collect()
        }
        Op::Dense(d) if d.xnor => {
            let acc = d.acc.as_ref().unwrap();
            let terms = d.terms.as_ref().unwrap();
            let per = stage.adder_levels_per_stage;
            let total = tree::dense_levels(d);
            b.view.comments.push(format!(
                "dense, XNOR-popcount: {} neurons of {} inputs, {} adder levels",
                d.units,
                ops[0].size(),
                total
            ));
            let x = bits("in0", ops[0]);
            (0..d.units)
                .map(|j| {
                    let leaves: Vec<Val> = terms[j]
                        .iter()
                        .map(|t| {
                            // xnor(x, w): x itself for w = +1, inverted for −1.
                            Val::bit(if t.weight > 0 {
                                x[t.input].clone()
                            } else {
                                format!("~{}", x[t.input])
                            })
                        })
                        .collect();
                    // Every neuron has all K inputs: equal trees, equal cuts.
                    let n = tree::levels(leaves.len());
                    let p = reduce(b, leaves, n, total, per).expect("a neuron has inputs");
                    let sum = b.cmul(&p, 1i128 << (acc.product_shift + 1), acc.frac);
                    let c = tree::xnor_offset(d, j);
                    if c == 0 {
                        sum
                    } else {
                        let k = b.constant(c, acc.frac);
                        b.add(&sum, &k)
                    }
                })
                .collect()
        }
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
            // x·m for each input and odd weight magnitude m (built once by
            // `cmul`, shared by every neuron of the layer): each product is
            // that value shifted, with its sign taken by the adder tree.
            let wfrac = d.weight_type.format.frac;
            (0..d.units)
                .map(|j| {
                    let mut level: Vec<(Val, bool)> = vec![];
                    for t in &terms[j] {
                        let x = &ins[0][t.input];
                        level.push(match wrap {
                            None => {
                                let w = t.weight << acc.product_shift;
                                let k = w.unsigned_abs().trailing_zeros();
                                let odd = w.abs() >> k;
                                let p = b.cmul(x, odd, wfrac + acc.product_shift as i32);
                                (p.shifted(k), w < 0)
                            }
                            Some(a) => {
                                let p = b.cmul(x, t.weight, wfrac);
                                (b.cast(&p, &a), false)
                            }
                        });
                    }
                    if acc.bias[j] != 0 {
                        let k = b.constant(acc.bias[j], acc.frac);
                        level.push(match wrap {
                            None => (k, false),
                            Some(a) => (b.convert(&k, a.format), false),
                        });
                    }
                    for l in 1..=total {
                        let mut next = vec![];
                        for pair in level.chunks(2) {
                            next.push(match (pair, wrap) {
                                ([x, y], None) => b.add_signed(x, y),
                                ([x, y], Some(a)) => (b.add_wrap(&x.0, &y.0, a.format), false),
                                _ => pair[0].clone(),
                            });
                        }
                        level = next;
                        if tree::cut_after(l, total, per) {
                            level = level.into_iter().map(|(v, n)| (b.reg(&v, 1), n)).collect();
                        }
                    }
                    match level.pop() {
                        Some((v, neg)) => b.resolve_sign(v, neg),
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
        // Bits no consumer reads leave as zeros: the register of them is
        // then visibly constant, and a wrong analysis would show up as a
        // mismatch in simulation rather than as a wrong estimate.
        let u = unread.get(i).copied().unwrap_or(0).min(width);
        // What is not passed on goes to a sink, so lint stays clean.
        let expr = if u == 0 {
            v.expr.clone()
        } else if u == width {
            b.sink(v);
            format!("{width}'b0")
        } else {
            let e = b.wire("e", width);
            b.assign(e.clone(), v.expr.clone());
            let dropped = Format::new(false, u, 0);
            b.sink(&Val::new(format!("{e}[{}:0]", u - 1), dropped, (0, 1)));
            format!("{{{e}[{}:{u}], {u}'b0}}", width - 1)
        };
        b.assign(slice(&bus, i, width), expr);
    }
    if stage.out_reg {
        b.counts.redundant_register_bits += out
            .iter()
            .zip(unread)
            .map(|(v, &u)| crate::datapath::count::unkept_bits(v.fmt, v.range, v.low.max(u)) as u64)
            .sum::<u64>();
    }
    let q = b.reg_bus(bus, node.size() as u32 * width, stage.out_reg as u32);
    b.assign("out".into(), q);
    out.iter().map(|v| v.low).collect()
}

/// A clamp primitive for an interval-level [`interval::Clamp`].
fn clamp(b: &mut Builder, x: &Val, c: interval::Clamp, frac: i32) -> Val {
    let fmt = Format::for_interval(c.out.0, c.out.1, frac).unwrap();
    b.clamp(x, c.shift, c.lo, c.hi, fmt, c.out)
}
