//! Cross-input subexpression sharing for a constant matrix × vector.
//!
//! Every output of a dense layer is a sum of signed, shifted copies of
//! its inputs: the canonical signed digits of each weight. Two digits
//! that occur together in several outputs, `±(a · 2^-fa) ± (b · 2^-fb)`
//! with the same relative shift and sign, can be added once and the sum
//! read by all of them. This pass repeatedly extracts the pair whose
//! sharing saves the most adder bits, `(occurrences − 1) × width` with
//! the width from the exact intervals of its operands, until no pair
//! occurs twice. Pairs may join two inputs, an input with itself (3x,
//! 5x, 7x, …) or earlier shared sums of the same adder depth: two terms
//! of depth d become one of depth d + 1, which leaves `Σ 2^depth` over an
//! output's terms unchanged, so its adder tree needs no more levels than
//! before (Kraft's inequality) and sharing does not lengthen the paths
//! the clock-driven schedule has to cut. Among pairs that save the same,
//! the shallower goes first.
//!
//! Pair counts are kept incrementally: an extraction only touches the
//! outputs that contain the pair. The cost is quadratic in the digits of
//! one output, so a layer with more than [`PAIR_BUDGET`] initial pairs is
//! not searched: the lowering gives it each input's odd multiples instead.

use super::{Datapath, Kind, NodeId, Term, Terms};
use crate::fixed::Format;
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;

/// A signed digit term: `±raw(id) · 2^-frac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leaf {
    pub id: NodeId,
    pub frac: i32,
    pub neg: bool,
}

/// Layers whose outputs have more digit pairs than this in all are not
/// searched: the extraction loop scans every output per extraction, so
/// its cost grows faster than the pairs (a 16-64-32-32 layer has about
/// 150,000 pairs and takes milliseconds; a 128-wide 8-bit layer, 9.4
/// million, took 13 s).
pub const PAIR_BUDGET: u64 = 2_000_000;

/// A pair of terms as a shape: `raw(a) ± raw(b) · 2^shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Pair {
    a: NodeId,
    b: NodeId,
    shift: u32,
    sub: bool,
}

/// The pair two leaves form, oriented so the shift is not negative and
/// `a` is the first by id among equal fracs; with the sign of the
/// occurrence (that of the leaf read as `a`) and its frac.
fn pair_of(x: Leaf, y: Leaf) -> Option<(Pair, bool, i32)> {
    let (x, y) = if (x.frac, std::cmp::Reverse(x.id)) >= (y.frac, std::cmp::Reverse(y.id)) {
        (x, y)
    } else {
        (y, x)
    };
    if x.id == y.id && x.frac == y.frac {
        return None;
    }
    let p = Pair {
        a: x.id,
        b: y.id,
        shift: (x.frac - y.frac) as u32,
        sub: x.neg != y.neg,
    };
    Some((p, x.neg, x.frac))
}

struct Share<'a> {
    dp: &'a mut Datapath,
    /// Per output, its leaves (`None` once merged into a shared sum).
    exprs: Vec<Vec<Option<Leaf>>>,
    count: FxHashMap<Pair, u32>,
    heap: BinaryHeap<(u64, std::cmp::Reverse<u32>, Pair)>,
    /// Adders between the layer's inputs and each shared sum.
    depth: FxHashMap<NodeId, u32>,
}

/// Whether `exprs` are few enough pairs to search ([`PAIR_BUDGET`]).
pub fn fits(exprs: &[Vec<Leaf>]) -> bool {
    let pairs: u64 = exprs.iter().map(|e| (e.len() * e.len()) as u64 / 2).sum();
    pairs <= PAIR_BUDGET
}

/// Share subexpressions among `exprs`, the leaves of each output; returns
/// each output's leaves afterwards (shared sums included).
pub fn share(dp: &mut Datapath, exprs: Vec<Vec<Leaf>>) -> Vec<Vec<Leaf>> {
    if !fits(&exprs) {
        return exprs;
    }
    let mut s = Share {
        dp,
        exprs: exprs
            .into_iter()
            .map(|e| e.into_iter().map(Some).collect())
            .collect(),
        count: FxHashMap::default(),
        heap: BinaryHeap::new(),
        depth: FxHashMap::default(),
    };
    for j in 0..s.exprs.len() {
        let e: Vec<Leaf> = s.exprs[j].iter().flatten().copied().collect();
        for (i, &x) in e.iter().enumerate() {
            for &y in &e[i + 1..] {
                s.bump(x, y, 1);
            }
        }
    }
    let keys: Vec<Pair> = s.count.keys().copied().collect();
    for p in keys {
        s.push(p);
    }
    while let Some((saving, _, p)) = s.heap.pop() {
        if saving != s.saving(p) {
            s.push(p); // stale: its count fell since
            continue;
        }
        s.extract(p);
    }
    s.exprs
        .into_iter()
        .map(|e| e.into_iter().flatten().collect())
        .collect()
}

impl Share<'_> {
    /// Add `by` occurrences of the pair of `x` and `y`.
    fn bump(&mut self, x: Leaf, y: Leaf, by: i32) {
        let Some((p, _, _)) = pair_of(x, y) else {
            return;
        };
        let c = self.count.entry(p).or_default();
        *c = c.saturating_add_signed(by);
    }

    /// Adder bits saved by sharing `p`: one adder of its width per
    /// occurrence beyond the first.
    fn saving(&self, p: Pair) -> u64 {
        let n = self.count.get(&p).copied().unwrap_or(0) as u64;
        if n < 2 || self.depth_of(p.a) != self.depth_of(p.b) {
            return 0;
        }
        (n - 1) * self.width(p) as u64
    }

    fn width(&self, p: Pair) -> u32 {
        let (a, b) = (self.dp.range(p.a), self.dp.range(p.b));
        let (b0, b1) = (b.0 << p.shift, b.1 << p.shift);
        let (lo, hi) = if p.sub {
            (a.0 - b1, a.1 - b0)
        } else {
            (a.0 + b0, a.1 + b1)
        };
        Format::for_interval(lo, hi, 0).map_or(u32::MAX, |f| f.width)
    }

    fn depth_of(&self, id: NodeId) -> u32 {
        self.depth.get(&id).copied().unwrap_or(0)
    }

    fn push(&mut self, p: Pair) {
        let s = self.saving(p);
        if s > 0 {
            let (a, b) = (self.depth_of(p.a), self.depth_of(p.b));
            self.heap.push((s, std::cmp::Reverse(a.max(b)), p));
        }
    }

    /// Make `p`'s sum once and put it in place of each occurrence.
    fn extract(&mut self, p: Pair) {
        let terms = Terms::of(&[
            Term {
                node: p.a,
                shift: 0,
                neg: false,
            },
            Term {
                node: p.b,
                shift: p.shift,
                neg: p.sub,
            },
        ]);
        let sum = self.dp.node(Kind::Add { terms, wrap: None }, 0);
        let d = self.depth_of(p.a).max(self.depth_of(p.b)) + 1;
        self.depth.insert(sum, d);
        let mut touched = vec![];
        // a scan of every output is cheaper than indexing pairs by output
        for j in 0..self.exprs.len() {
            while let Some((x, y, neg, frac)) = self.find(j, p) {
                self.replace(j, (x, y), Leaf { id: sum, frac, neg }, &mut touched);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for q in touched {
            self.push(q);
        }
    }

    /// Slots of one occurrence of `p` in output `j`, with its sign and
    /// frac: a leaf of `p.a` and, `p.shift` coarser, its partner of `p.b`.
    fn find(&self, j: usize, p: Pair) -> Option<(usize, usize, bool, i32)> {
        let e = &self.exprs[j];
        for (i, x) in e.iter().enumerate() {
            let Some(x) = x.filter(|x| x.id == p.a) else {
                continue;
            };
            let want = Leaf {
                id: p.b,
                frac: x.frac - p.shift as i32,
                neg: x.neg != p.sub,
            };
            if let Some(k) = e
                .iter()
                .enumerate()
                .position(|(k, y)| k != i && *y == Some(want))
            {
                return Some((i.min(k), i.max(k), x.neg, x.frac));
            }
        }
        None
    }

    /// Replace slots `x`, `y` of output `j` by `new`, keeping the pair
    /// counts; the pairs whose count rose go to `touched`.
    fn replace(&mut self, j: usize, (x, y): (usize, usize), new: Leaf, touched: &mut Vec<Pair>) {
        let e = &mut self.exprs[j];
        let (lx, ly) = (e[x].take().unwrap(), e[y].take().unwrap());
        let rest: Vec<Leaf> = e.iter().flatten().copied().collect();
        e.push(Some(new));
        self.bump(lx, ly, -1);
        for &u in &rest {
            self.bump(lx, u, -1);
            self.bump(ly, u, -1);
            self.bump(new, u, 1);
            if let Some((q, _, _)) = pair_of(new, u) {
                touched.push(q);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Format;

    /// Value of a leaf set at given raw inputs, exactly, on 2^-16.
    fn value(dp: &Datapath, leaves: &[Leaf], x: &[i128]) -> i128 {
        let interp = super::super::Interpreter::new(dp);
        let mut vals = vec![0; dp.nodes.len()];
        interp.eval(x, &[], &mut vals);
        leaves
            .iter()
            .map(|l| {
                let v = vals[l.id.index()] << (16 - l.frac);
                if l.neg { -v } else { v }
            })
            .sum()
    }

    fn inputs(n: u32) -> (Datapath, Vec<NodeId>) {
        let mut dp = Datapath::default();
        let f = Format::new(true, 8, 0);
        dp.inputs.push((f, n as usize));
        let ids = (0..n).map(|i| dp.input(0, i, f, (-128, 127))).collect();
        (dp, ids)
    }

    #[test]
    fn a_pair_in_several_outputs_is_added_once() {
        let (mut dp, x) = inputs(3);
        let leaf = |id, frac, neg| Leaf { id, frac, neg };
        // y_j = x0 − 2·x1 (+ x2 in the first): x0 − (x1 << 1) is shared
        let exprs = vec![
            vec![
                leaf(x[0], 0, false),
                leaf(x[1], -1, true),
                leaf(x[2], 0, false),
            ],
            vec![leaf(x[0], 0, false), leaf(x[1], -1, true)],
            vec![leaf(x[0], 2, true), leaf(x[1], 1, false)],
        ];
        let before = dp.nodes.len();
        let out = share(&mut dp, exprs.clone());
        assert_eq!(dp.nodes.len(), before + 1, "one shared adder");
        assert_eq!(out[1].len(), 1);
        assert_eq!(out[2].len(), 1);
        assert_eq!(out[1][0].id, out[2][0].id);
        for xs in [[1, 2, 3], [-128, 127, -5], [77, -100, 0]] {
            for (e, o) in exprs.iter().zip(&out) {
                assert_eq!(value(&dp, e, &xs), value(&dp, o, &xs));
            }
        }
    }

    #[test]
    fn sharing_keeps_values_and_never_deepens_a_tree() {
        let (mut dp, x) = inputs(6);
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let exprs: Vec<Vec<Leaf>> = (0..12)
            .map(|_| {
                (0..10)
                    .map(|_| Leaf {
                        id: x[next() as usize % 6],
                        frac: (next() % 5) as i32,
                        neg: next() % 2 == 1,
                    })
                    .collect()
            })
            .collect();
        let out = share(&mut dp, exprs.clone());
        let adders = dp.nodes.len() - 6;
        let terms: usize = out.iter().map(Vec::len).sum();
        assert!(adders > 0 && terms < 120, "{adders} shared, {terms} terms");
        // Σ 2^depth per output is what bounds its tree's depth
        let depth = |id: NodeId| -> u32 {
            let mut d = 0;
            let mut stack = vec![(id, 0)];
            while let Some((n, k)) = stack.pop() {
                d = d.max(k);
                for o in dp.node_ref(n).kind.operands() {
                    stack.push((o, k + 1));
                }
            }
            d
        };
        for (e, o) in exprs.iter().zip(&out) {
            let kraft = |ls: &[Leaf]| ls.iter().map(|l| 1u64 << depth(l.id)).sum::<u64>();
            assert_eq!(kraft(e), kraft(o));
            for xs in [[1, 2, 3, 4, 5, 6], [-128, 127, -5, 9, 0, -1]] {
                assert_eq!(value(&dp, e, &xs), value(&dp, o, &xs));
            }
        }
    }
}
