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
//! outputs that contain the pair, found through a per-output index of
//! slots by node. Pairs of existing leaves only lose occurrences, so a
//! pair seen once is dropped for good and the counts stay small. The
//! cost is quadratic in the digits of one output, so a layer with more
//! than [`PAIR_BUDGET`] initial pairs is not searched: the lowering gives
//! it each input's odd multiples instead.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    a: NodeId,
    b: NodeId,
    shift: u32,
    sub: bool,
}

/// Hashed as one mixed word: extraction makes millions of lookups, and
/// a field-by-field hash costs a multiplication per field.
impl std::hash::Hash for Pair {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let mut x = (self.a.0 as u64) << 32 | self.b.0 as u64;
        x ^= ((self.shift as u64) << 1 | self.sub as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // the table indexes by the low bits: fold the high ones in
        x ^= x >> 29;
        h.write_u64(x);
    }
}

/// A pair's occurrences, and the adder bits each one beyond the first
/// saves (0 when the pair may not be shared). The bits never change, so
/// they are found once, and only for a pair that occurs twice: most
/// pairs of a layer occur once.
#[derive(Debug, Clone, Copy)]
struct Tally {
    n: u32,
    bits: u32,
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

/// A pair's place in the extraction order, packed in one integer so the
/// heap compares words: the larger saving first, then the shallower
/// pair, then the pair itself (by `a`, `b`, shift, sign), from the top
/// bits down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank(u128);

impl Rank {
    fn new(saving: u64, depth: u32, p: Pair) -> Rank {
        assert!(saving < 1 << 47 && depth < 256 && p.shift < 256);
        let depth = 255 - depth.min(255) as u128;
        Rank(
            (saving as u128) << 81
                | depth << 73
                | (p.a.0 as u128) << 41
                | (p.b.0 as u128) << 9
                | (p.shift as u128) << 1
                | p.sub as u128,
        )
    }

    fn saving(self) -> u64 {
        (self.0 >> 81) as u64
    }

    fn pair(self) -> Pair {
        Pair {
            a: NodeId((self.0 >> 41) as u32),
            b: NodeId((self.0 >> 9) as u32),
            shift: (self.0 >> 1) as u32 & 0xff,
            sub: self.0 & 1 == 1,
        }
    }
}

struct Share<'a> {
    dp: &'a mut Datapath,
    /// Per output, its leaves (`None` once merged into a shared sum).
    exprs: Vec<Vec<Option<Leaf>>>,
    /// Per output, the slots holding each node, in slot order: finding a
    /// pair's occurrences then costs lookups, not scans of long outputs.
    slots: Vec<FxHashMap<NodeId, Vec<u32>>>,
    count: FxHashMap<Pair, Tally>,
    /// Pairs by [`Rank`], best first; an entry is stale when its
    /// pair's count fell after it was pushed.
    heap: BinaryHeap<Rank>,
    /// Adders between the layer's inputs and each shared sum.
    depth: FxHashMap<NodeId, u32>,
}

/// Whether `exprs` are few enough pairs to search ([`PAIR_BUDGET`]).
pub fn fits(exprs: &[Vec<Leaf>]) -> bool {
    let pairs: u64 = exprs.iter().map(|e| (e.len() * e.len()) as u64 / 2).sum();
    pairs <= PAIR_BUDGET
}

/// Which pairs may occur more than once, found before any is counted.
/// Most pairs of a layer occur once, and counting them all in the map
/// would hold every one at the peak (tens of MB for a wide sparse layer)
/// only to drop them. Two bits per bucket of pair hashes count 0, 1 or
/// "2 or more"; a pair whose bucket saw one occurrence cannot occur
/// twice, so skipping it leaves exactly the counts kept after the drop.
/// Pairs sharing a bucket only make it keep more than it needs.
struct SeenTwice {
    bits: Vec<u64>,
    mask: u64,
}

impl SeenTwice {
    fn of(exprs: &[Vec<Option<Leaf>>]) -> SeenTwice {
        let pairs: u64 = exprs.iter().map(|e| (e.len() * e.len()) as u64 / 2).sum();
        let buckets = (4 * pairs).next_power_of_two().max(64);
        let mut s = SeenTwice {
            bits: vec![0; (buckets / 32) as usize],
            mask: buckets - 1,
        };
        for e in exprs {
            let e: Vec<Leaf> = e.iter().flatten().copied().collect();
            for (i, &x) in e.iter().enumerate() {
                for &y in &e[i + 1..] {
                    if let Some(b) = s.bucket(x, y) {
                        let (w, sh) = ((b / 32) as usize, b % 32 * 2);
                        let n = (s.bits[w] >> sh & 3).min(1) + 1;
                        s.bits[w] = s.bits[w] & !(3 << sh) | n << sh;
                    }
                }
            }
        }
        s
    }

    fn bucket(&self, x: Leaf, y: Leaf) -> Option<u64> {
        use std::hash::BuildHasher;
        let (p, _, _) = pair_of(x, y)?;
        Some(rustc_hash::FxBuildHasher.hash_one(p) & self.mask)
    }

    /// Whether the pair of `x` and `y` may occur twice.
    fn maybe(&self, x: Leaf, y: Leaf) -> bool {
        self.bucket(x, y)
            .is_some_and(|b| self.bits[(b / 32) as usize] >> (b % 32 * 2) & 3 >= 2)
    }
}

/// Per node, the positions of its leaves in `e`, in order.
fn index(e: &[Leaf]) -> FxHashMap<NodeId, Vec<u32>> {
    let mut m: FxHashMap<NodeId, Vec<u32>> = FxHashMap::default();
    for (i, l) in e.iter().enumerate() {
        m.entry(l.id).or_default().push(i as u32);
    }
    m
}

/// Share subexpressions among `exprs`, the leaves of each output; returns
/// each output's leaves afterwards (shared sums included).
pub fn share(dp: &mut Datapath, exprs: Vec<Vec<Leaf>>) -> Vec<Vec<Leaf>> {
    if !fits(&exprs) {
        return exprs;
    }
    let slots = exprs.iter().map(|e| index(e)).collect();
    let mut s = Share {
        dp,
        exprs: exprs
            .into_iter()
            .map(|e| e.into_iter().map(Some).collect())
            .collect(),
        slots,
        count: FxHashMap::default(),
        heap: BinaryHeap::new(),
        depth: FxHashMap::default(),
    };
    let seen = SeenTwice::of(&s.exprs);
    for j in 0..s.exprs.len() {
        let e: Vec<Leaf> = s.exprs[j].iter().flatten().copied().collect();
        for (i, &x) in e.iter().enumerate() {
            for &y in &e[i + 1..] {
                if seen.maybe(x, y) {
                    s.bump(x, y);
                }
            }
        }
    }
    // a pair of leaves that exist now only ever loses occurrences, so
    // one seen once can never be shared: dropping it keeps the map small
    s.count.retain(|_, c| c.n >= 2);
    // most pairs went: a table sized for them all would spread the
    // lookups to come over megabytes of empty slots
    s.count.shrink_to_fit();
    let keys: Vec<Pair> = s.count.keys().copied().collect();
    for p in keys {
        s.know(p);
        s.push(p);
    }
    while let Some(r) = s.heap.pop() {
        let p = r.pair();
        if r.saving() != s.saving(p) {
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
    /// Count one more occurrence of the pair of `x` and `y`; the pair
    /// when this is its first.
    fn bump(&mut self, x: Leaf, y: Leaf) -> Option<Pair> {
        let (p, _, _) = pair_of(x, y)?;
        let c = self.count.entry(p).or_insert(Tally {
            n: 0,
            bits: UNKNOWN,
        });
        c.n += 1;
        (c.n == 1).then_some(p)
    }

    /// Count one occurrence fewer of the pair of `x` and `y`, unless it
    /// was dropped as one that cannot be shared.
    fn drop_one(&mut self, x: Leaf, y: Leaf) {
        if let Some((p, _, _)) = pair_of(x, y)
            && let Some(c) = self.count.get_mut(&p)
        {
            // a pair dropped while it still occurred once (a reused sum's,
            // see `extract`) is counted again from zero: stay at zero
            c.n = c.n.saturating_sub(1);
        }
    }

    /// Find `p`'s bits if they are not known yet.
    fn know(&mut self, p: Pair) {
        let (dp, depth) = (&*self.dp, &self.depth);
        if let Some(c) = self.count.get_mut(&p)
            && c.bits == UNKNOWN
        {
            c.bits = unit_bits(dp, depth, p);
        }
    }

    /// Adder bits saved by sharing `p`: one adder of its width per
    /// occurrence beyond the first.
    fn saving(&self, p: Pair) -> u64 {
        match self.count.get(&p) {
            Some(c) if c.n >= 2 => {
                debug_assert!(c.bits != UNKNOWN, "bits found before a pair is ranked");
                (c.n - 1) as u64 * c.bits as u64
            }
            _ => 0,
        }
    }

    fn depth_of(&self, id: NodeId) -> u32 {
        depth_of(&self.depth, id)
    }

    fn push(&mut self, p: Pair) {
        let s = self.saving(p);
        if s > 0 {
            let (a, b) = (self.depth_of(p.a), self.depth_of(p.b));
            self.heap.push(Rank::new(s, a.max(b), p));
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
        let before = self.dp.nodes.len();
        let sum = self.dp.node(Kind::Add { terms, wrap: None }, 0);
        // structural hashing may return a node made before (the same sum
        // by another route), which may already be a leaf: then its pairs
        // can gain occurrences again, and none may be dropped
        let fresh = sum.index() >= before;
        let d = self.depth_of(p.a).max(self.depth_of(p.b)) + 1;
        self.depth.insert(sum, d);
        let mut touched = vec![];
        for j in 0..self.exprs.len() {
            while let Some((x, y, neg, frac)) = self.find(j, p) {
                self.replace(j, (x, y), Leaf { id: sum, frac, neg }, &mut touched);
            }
        }
        // The new sum's pairs gain no occurrence after this, so those
        // seen once go. (A pair whose count fell to 0 and rose again is
        // listed twice; a second heap entry of equal rank changes no
        // choice.)
        for q in touched {
            match self.count.get(&q) {
                Some(c) if c.n >= 2 => {
                    self.know(q);
                    self.push(q);
                }
                Some(_) if fresh => {
                    self.count.remove(&q);
                }
                _ => {}
            }
        }
    }

    /// Slots of one occurrence of `p` in output `j`, with its sign and
    /// frac: a leaf of `p.a` and, `p.shift` coarser, its partner of `p.b`.
    fn find(&self, j: usize, p: Pair) -> Option<(usize, usize, bool, i32)> {
        let (e, at) = (&self.exprs[j], &self.slots[j]);
        let (xs, ys) = (at.get(&p.a)?, at.get(&p.b)?);
        for &i in xs {
            let x = e[i as usize].expect("indexed slots are filled");
            let want = Leaf {
                id: p.b,
                frac: x.frac - p.shift as i32,
                neg: x.neg != p.sub,
            };
            if let Some(&k) = ys.iter().find(|&&k| k != i && e[k as usize] == Some(want)) {
                let (i, k) = (i as usize, k as usize);
                return Some((i.min(k), i.max(k), x.neg, x.frac));
            }
        }
        None
    }

    /// Replace slots `x`, `y` of output `j` by `new`, keeping the pair
    /// counts; the pairs this makes go to `touched`, once each.
    fn replace(&mut self, j: usize, (x, y): (usize, usize), new: Leaf, touched: &mut Vec<Pair>) {
        let mut e = std::mem::take(&mut self.exprs[j]);
        let (lx, ly) = (e[x].take().unwrap(), e[y].take().unwrap());
        let at = &mut self.slots[j];
        for (l, slot) in [(lx, x), (ly, y)] {
            let v = at.get_mut(&l.id).expect("a filled slot is indexed");
            v.retain(|&k| k as usize != slot);
        }
        at.entry(new.id).or_default().push(e.len() as u32);
        self.drop_one(lx, ly);
        for &u in e.iter().flatten() {
            self.drop_one(lx, u);
            self.drop_one(ly, u);
            touched.extend(self.bump(new, u));
        }
        e.push(Some(new));
        self.exprs[j] = e;
    }
}

/// [`Tally::bits`] not yet found.
const UNKNOWN: u32 = u32::MAX;

fn depth_of(depth: &FxHashMap<NodeId, u32>, id: NodeId) -> u32 {
    depth.get(&id).copied().unwrap_or(0)
}

/// The bits one occurrence of `p` beyond the first saves: its sum's
/// width, or 0 when it joins terms of different depths (the tree would
/// deepen) or is wider than any datapath value may be.
fn unit_bits(dp: &Datapath, depth: &FxHashMap<NodeId, u32>, p: Pair) -> u32 {
    if depth_of(depth, p.a) != depth_of(depth, p.b) {
        return 0;
    }
    let (a, b) = (dp.range(p.a), dp.range(p.b));
    let width = || {
        let k = 1i128.checked_shl(p.shift)?;
        let (b0, b1) = (b.0.checked_mul(k)?, b.1.checked_mul(k)?);
        let (lo, hi) = if p.sub {
            (a.0.checked_sub(b1)?, a.1.checked_sub(b0)?)
        } else {
            (a.0.checked_add(b0)?, a.1.checked_add(b1)?)
        };
        Format::for_interval(lo, hi, 0).map(|f| f.width)
    };
    width().unwrap_or(0)
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
