//! Low bits of a node's output that no consumer reads. The back end drives
//! them as zeros (the register of them is then visibly constant, and
//! synthesis removes it), and the flip-flop estimate does not count them;
//! a wrong rule would show up as a mismatch in simulation. The rules are
//! deliberately few and exact: a bit is unread only when every consumer
//! provably ignores it.

use crate::fixed::{Format, QuantMode};
use crate::ir::{Graph, Node, Op};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;

/// Per node, per output element: how many of its lowest raw bits no
/// consumer reads.
pub type Unread = HashMap<NodeIndex, Vec<u32>>;

/// The unread low bits of every node, consumers first, since a consumer
/// that drops low bits of its own result drops them of its operand too.
pub fn unread_low(g: &Graph) -> Unread {
    let mut m = Unread::new();
    for n in g.topo().into_iter().rev() {
        let v = of_node(g, n, &m);
        m.insert(n, v);
    }
    m
}

/// Outputs of the design and bipolar values are read whole.
fn of_node(g: &Graph, n: NodeIndex, m: &Unread) -> Vec<u32> {
    let node = g.node(n);
    let size = node.size();
    let users = g.users(n);
    if node.bipolar || g.outputs.contains(&n) || users.is_empty() {
        return vec![0; size];
    }
    let f = node.format.unwrap();
    let mut unread = vec![f.width; size];
    for u in users {
        let un = g.node(u);
        let seen = match &un.op {
            Op::Quantize if g.operands(u).len() == 1 => quantize_ignores(un, f, &m[&u]),
            Op::Dense(_) => dense_ignores(un, f, &m[&u]),
            _ => vec![0; size],
        };
        for (x, s) in unread.iter_mut().zip(seen) {
            *x = (*x).min(s);
        }
    }
    unread
}

/// Raw bits of a value of format `f` below `drop` (on its grid) that a
/// cast of rounding mode `q` never looks at: truncation ignores all of
/// them, rounding half up looks at the highest one only, the other modes
/// look at all (ties). A signed value's top bit is always looked at: when
/// every bit is dropped, the result is its sign extension.
fn ignored_by_cast(drop: i32, q: QuantMode, f: Format) -> u32 {
    let n = match q {
        QuantMode::Trn => drop,
        QuantMode::Rnd => drop - 1,
        _ => 0,
    };
    n.clamp(0, (f.width - f.signed as u32) as i32) as u32
}

/// The grid (fractional bits) and rounding below which node `u`'s result
/// of element `i` is not looked at: its cast, made coarser by the low bits
/// of its result that nobody reads (`unread`) when the cast truncates. A
/// node without a cast is exact: it is as if it truncated to the grid of
/// its lowest read bit.
fn cut(u: &Node, unread: &[u32], i: usize) -> (i32, QuantMode) {
    let r = unread.get(i).copied().unwrap_or(0) as i32;
    match u.cast {
        Some(ty) if ty.quant == QuantMode::Trn => (ty.format.frac - r, QuantMode::Trn),
        Some(ty) => (ty.format.frac, ty.quant),
        None => (u.format.unwrap().frac - r, QuantMode::Trn),
    }
}

/// An element-wise cast reads every bit down to its own grid.
fn quantize_ignores(u: &Node, f: Format, unread: &[u32]) -> Vec<u32> {
    (0..u.size())
        .map(|i| {
            let (frac, q) = cut(u, unread, i);
            ignored_by_cast(f.frac - frac, q, f)
        })
        .collect()
}

/// A dense layer ignores an input no neuron uses, and the low bits of an
/// input that a neuron only scales by a positive power of two, with no
/// other term or bias beside it, when the layer's cast drops them anyway.
/// Anything else (two terms can carry into each other) reads every bit.
fn dense_ignores(u: &Node, f: Format, unread: &[u32]) -> Vec<u32> {
    let Op::Dense(d) = &u.op else {
        unreachable!("dense_ignores of a dense layer")
    };
    let inputs = d.weights.first().map_or(0, Vec::len);
    let (Some(terms), Some(acc)) = (&d.terms, &d.acc) else {
        return vec![0; inputs];
    };
    if d.xnor || !matches!(d.accum, crate::ir::Accum::Auto) {
        return vec![0; inputs];
    }
    let mut ignored = vec![f.width; inputs];
    for (i, row) in terms.iter().enumerate() {
        let lone = row.len() == 1 && acc.bias[i] == 0;
        for t in row {
            let bits = if lone && t.weight > 0 && t.weight.count_ones() == 1 {
                // x's raw bit b weighs 2^(b − x.frac + k − w.frac) for a
                // weight 2^k on its grid; what is kept weighs 2^(−frac)
                // and up.
                let (frac, q) = cut(u, unread, i);
                let k = t.weight.trailing_zeros() as i32;
                ignored_by_cast(f.frac + d.weight_type.format.frac - k - frac, q, f)
            } else {
                0
            };
            ignored[t.input] = ignored[t.input].min(bits);
        }
    }
    ignored
}
