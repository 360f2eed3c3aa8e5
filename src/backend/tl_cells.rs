//! Threshold-logic decomposition: a binary neuron `[Σ c·s ≥ T]` over bits
//! `s` becomes a netlist of cells, each `[Σ w·x ≥ t]` with at most
//! `max_fanin` inputs and `|w| ≤ max_weight`.
//!
//! A neuron that fits is one cell. One that does not is summed by a
//! column-compression tree of threshold-gate adders (full adder: carry =
//! [a+b+c ≥ 2], sum = [a+b+c−2·carry ≥ 1]; half adders when the fan-in
//! limit is 3), giving the sum as a binary number, which a chain of 2-input
//! cells compares with the threshold from the least significant bit up.
//! Negative coefficients use the complemented bit, and complements are
//! folded into the reading cell's weights and threshold, so no inverter
//! cells are spent.

use crate::ir::Neurons;
use std::collections::{BTreeMap, BTreeSet};

/// A signal in the cell netlist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sig {
    /// A bit of the layer's input, by its Verilog expression.
    Input(String),
    /// The output of cell `n`.
    Cell(usize),
    Const(bool),
}

/// One threshold gate: `y = [Σ weights·inputs ≥ threshold]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub inputs: Vec<Sig>,
    pub weights: Vec<i64>,
    pub threshold: i64,
    /// Cells between the layer input and this cell's output, this one
    /// included.
    pub depth: u32,
}

/// A signal or its complement.
#[derive(Debug, Clone)]
struct Lit {
    sig: Sig,
    neg: bool,
    depth: u32,
}

/// Limits of the cell library.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_fanin: u32,
    pub max_weight: u32,
}

/// How neurons were built, for the report.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct Stats {
    pub neurons: u64,
    /// Neurons that fit one cell.
    pub single_cell: u64,
    /// Neurons decomposed into adder trees and a comparator.
    pub decomposed: u64,
    /// Neurons that are constants (their threshold is out of reach).
    pub constant: u64,
    pub full_adders: u64,
    pub half_adders: u64,
    pub comparator_cells: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.neurons += o.neurons;
        self.single_cell += o.single_cell;
        self.decomposed += o.decomposed;
        self.constant += o.constant;
        self.full_adders += o.full_adders;
        self.half_adders += o.half_adders;
        self.comparator_cells += o.comparator_cells;
    }
}

/// The cells of one layer.
pub struct Netlist {
    pub limits: Limits,
    pub cells: Vec<Cell>,
    pub stats: Stats,
}

impl Netlist {
    pub fn new(limits: Limits) -> Self {
        Netlist {
            limits,
            cells: vec![],
            stats: Stats::default(),
        }
    }

    /// Drop cells no output reads (a comparator step that became constant
    /// leaves its adder bits unread); returns `outs` renumbered.
    pub fn prune(&mut self, outs: &[Sig]) -> Vec<Sig> {
        let mut live = vec![false; self.cells.len()];
        let mut stack: Vec<usize> = outs
            .iter()
            .filter_map(|s| if let Sig::Cell(i) = s { Some(*i) } else { None })
            .collect();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut live[i], true) {
                for s in &self.cells[i].inputs {
                    if let Sig::Cell(j) = s {
                        stack.push(*j);
                    }
                }
            }
        }
        let mut map = vec![usize::MAX; self.cells.len()];
        let mut kept = vec![];
        for (i, c) in std::mem::take(&mut self.cells).into_iter().enumerate() {
            if live[i] {
                map[i] = kept.len();
                kept.push(c);
            }
        }
        let remap = |s: &Sig| match s {
            Sig::Cell(i) => Sig::Cell(map[*i]),
            other => other.clone(),
        };
        for c in &mut kept {
            c.inputs = c.inputs.iter().map(remap).collect();
        }
        self.cells = kept;
        outs.iter().map(remap).collect()
    }

    /// Cell-level depth of the netlist.
    pub fn depth(&self) -> u32 {
        self.cells.iter().map(|c| c.depth).max().unwrap_or(0)
    }

    fn depth_of(&self, s: &Sig) -> u32 {
        match s {
            Sig::Cell(i) => self.cells[*i].depth,
            _ => 0,
        }
    }

    /// A cell over literals with positive weights `a`: complements are
    /// folded, `a·(1−s) = a − a·s`. Constant literals fold into `t`.
    fn cell(&mut self, lits: &[(Lit, i64)], mut t: i64) -> Lit {
        let mut inputs = vec![];
        let mut weights = vec![];
        let mut depth = 0;
        for (l, a) in lits {
            let w = if l.neg {
                t -= a;
                -a
            } else {
                *a
            };
            match l.sig {
                Sig::Const(v) => t -= if v { w } else { 0 },
                _ => {
                    depth = depth.max(l.depth);
                    inputs.push(l.sig.clone());
                    weights.push(w);
                }
            }
        }
        let lo: i64 = weights.iter().filter(|w| **w < 0).sum();
        let hi: i64 = weights.iter().filter(|w| **w > 0).sum();
        if t <= lo {
            return lit_const(true);
        }
        if t > hi {
            return lit_const(false);
        }
        debug_assert!(inputs.len() as u32 <= self.limits.max_fanin);
        debug_assert!(
            weights
                .iter()
                .all(|w| w.unsigned_abs() <= self.limits.max_weight as u64)
        );
        self.cells.push(Cell {
            inputs,
            weights,
            threshold: t,
            depth: depth + 1,
        });
        Lit {
            sig: Sig::Cell(self.cells.len() - 1),
            neg: false,
            depth: depth + 1,
        }
    }

    /// The low `width` bits of `Σ c·s` for positive coefficients, as
    /// signals (an adder built from cells).
    pub fn add_bits(&mut self, terms: &[(Sig, i128)], width: usize) -> Vec<Sig> {
        assert!(
            terms.iter().all(|t| t.1 > 0),
            "add_bits takes positive terms"
        );
        let (lits, _) = self.normalize(terms);
        let bits = self.compress(lits);
        (0..width)
            .map(|k| match bits.get(k).cloned().flatten() {
                Some(l) => {
                    debug_assert!(!l.neg, "positive terms give true-polarity bits");
                    l.sig
                }
                None => Sig::Const(false),
            })
            .collect()
    }

    /// The neuron `[Σ c·s ≥ t]`; returns its output signal.
    /// Merge repeated signals and make every weight positive:
    /// `Σ c·s = Σ a·ℓ + k` with literals `ℓ`, `a > 0`; returns the literals
    /// and the constant `k`.
    fn normalize(&self, terms: &[(Sig, i128)]) -> (Vec<(Lit, i128)>, i128) {
        let mut merged: BTreeMap<Sig, i128> = BTreeMap::new();
        for (s, c) in terms {
            *merged.entry(s.clone()).or_default() += c;
        }
        let mut k = 0;
        let mut lits = vec![];
        for (s, c) in merged {
            if c == 0 {
                continue;
            }
            if let Sig::Const(v) = s {
                k += if v { c } else { 0 };
                continue;
            }
            let depth = self.depth_of(&s);
            // c·s = |c|·(1 − s) − |c| for c < 0.
            if c < 0 {
                k += c;
            }
            lits.push((
                Lit {
                    sig: s,
                    neg: c < 0,
                    depth,
                },
                c.abs(),
            ));
        }
        (lits, k)
    }

    /// The value `Σ c·s` as the bits of a binary number, built once from
    /// cells so several neurons can read it; returned as terms again.
    pub fn shared_sum(&mut self, terms: &[(Sig, i128)]) -> Vec<(Sig, i128)> {
        let (lits, k) = self.normalize(terms);
        let bits = self.compress(lits);
        let mut out = vec![(Sig::Const(true), k)];
        for (i, b) in bits.into_iter().enumerate() {
            let Some(l) = b else { continue };
            let w = 1i128 << i;
            if l.neg {
                out.push((Sig::Const(true), w));
                out.push((l.sig, -w));
            } else {
                out.push((l.sig, w));
            }
        }
        out
    }

    /// The neuron `[Σ c·s ≥ t]`; returns its output signal.
    pub fn neuron(&mut self, terms: &[(Sig, i128)], t: i128) -> Sig {
        self.stats.neurons += 1;
        let (lits, k) = self.normalize(terms);
        let t = t - k;
        let total: i128 = lits.iter().map(|l| l.1).sum();
        if t <= 0 || t > total {
            self.stats.constant += 1;
            return Sig::Const(t <= 0);
        }
        let fits = lits.len() as u32 <= self.limits.max_fanin
            && lits.iter().all(|l| l.1 <= self.limits.max_weight as i128);
        if fits {
            self.stats.single_cell += 1;
            let l: Vec<(Lit, i64)> = lits.into_iter().map(|(l, a)| (l, a as i64)).collect();
            let out = self.cell(&l, t as i64);
            return out.sig;
        }
        self.stats.decomposed += 1;
        let sum = self.compress(lits);
        self.compare(&sum, t)
    }

    /// Sum literals with weights into bits of a binary number, LSB first.
    fn compress(&mut self, lits: Vec<(Lit, i128)>) -> Vec<Option<Lit>> {
        let mut cols: Vec<Vec<Lit>> = vec![];
        for (l, a) in lits {
            for k in 0..128 {
                if (a >> k) & 1 == 1 {
                    if cols.len() <= k {
                        cols.resize(k + 1, vec![]);
                    }
                    cols[k].push(l.clone());
                }
            }
        }
        let fa = self.limits.max_fanin >= 4;
        let mut out = vec![];
        let mut k = 0;
        while k < cols.len() {
            loop {
                let n = cols[k].len();
                if n <= 1 {
                    break;
                }
                // Earliest-arriving operands first keeps the tree shallow.
                cols[k].sort_by_key(|l| l.depth);
                let take = if n >= 3 { 3 } else { 2 };
                let ops: Vec<Lit> = cols[k].drain(..take).collect();
                let (sum, carry) = if take == 3 && fa {
                    self.stats.full_adders += 1;
                    self.adder(&ops)
                } else if take == 3 {
                    // Fan-in 3 has no room for a full adder's sum cell: two
                    // half adders and an OR of their carries (at most one
                    // is set), so each column still sends one carry on.
                    self.stats.full_adders += 1;
                    let (s1, c1) = self.adder(&ops[..2]);
                    let (s, c2) = self.adder(&[s1, ops[2].clone()]);
                    let c = self.cell(&[(c1, 1), (c2, 1)], 1);
                    (s, c)
                } else {
                    self.stats.half_adders += 1;
                    self.adder(&ops)
                };
                cols[k].push(sum);
                if cols.len() <= k + 1 {
                    cols.push(vec![]);
                }
                cols[k + 1].push(carry);
            }
            out.push(cols[k].pop());
            k += 1;
        }
        out
    }

    /// A half (2 operands) or full (3) adder: carry = [Σ ≥ 2] and
    /// sum = [Σ − 2·carry ≥ 1], written with ¬carry as `Σ + 2·¬carry ≥ 3`.
    fn adder(&mut self, ops: &[Lit]) -> (Lit, Lit) {
        let unit: Vec<(Lit, i64)> = ops.iter().map(|l| (l.clone(), 1)).collect();
        let carry = self.cell(&unit, 2);
        let mut s = unit;
        s.push((complement(&carry), 2));
        (self.cell(&s, 3), carry)
    }

    /// `[S ≥ t]` for the binary number `S` (absent bits are 0), `t > 0`.
    fn compare(&mut self, s: &[Option<Lit>], t: i128) -> Sig {
        // g = [S mod 2^(k+1) ≥ t mod 2^(k+1)], from the LSB up.
        let mut g = lit_const(true);
        let bits = (128 - t.leading_zeros() as usize).max(s.len());
        for k in 0..bits {
            let sk = s.get(k).cloned().flatten().unwrap_or(lit_const(false));
            let tk = (t >> k) & 1 == 1;
            // tk = 1: S_k ∧ g; tk = 0: S_k ∨ g.
            let before = self.cells.len();
            g = self.cell(&[(sk, 1), (g, 1)], if tk { 2 } else { 1 });
            self.stats.comparator_cells += (self.cells.len() - before) as u64;
        }
        match g.sig {
            Sig::Const(v) => Sig::Const(v != g.neg),
            _ if g.neg => unreachable!("cells output true polarity"),
            s => s,
        }
    }
}

fn lit_const(v: bool) -> Lit {
    Lit {
        sig: Sig::Const(v),
        neg: false,
        depth: 0,
    }
}

fn complement(l: &Lit) -> Lit {
    Lit {
        neg: !l.neg,
        ..l.clone()
    }
}

/// A layer of binary neurons as cells.
pub struct Layer {
    pub net: Netlist,
    /// One signal per neuron.
    pub outs: Vec<Sig>,
    /// Input bits no cell reads (neurons that became constants); the
    /// back end must still consume them so no port dangles.
    pub unread: Vec<String>,
}

/// Lower `nr` over the input elements `x`, each given as weighted bits
/// (`x[i] = Σ c·bit`, see the Verilog back end's `input_bits`).
pub fn layer(nr: &Neurons, x: &[Vec<(Sig, i128)>], limits: Limits) -> Layer {
    let mut net = Netlist::new(limits);
    let scaled = |row: &mut dyn Iterator<Item = &crate::ir::Term>, f: i128| -> Vec<(Sig, i128)> {
        row.flat_map(|t| {
            x[t.input]
                .iter()
                .map(move |(s, c)| (s.clone(), c * t.weight * f))
        })
        .collect()
    };
    // When every neuron reads every input with weights ±m,
    // Σ w·x = m·(2·Σ₊x − S) = m·(S − 2·Σ₋x) with S = Σ x shared by the
    // layer: each neuron then sums only the smaller half.
    let m = nr
        .rows
        .first()
        .and_then(|r| r.first())
        .map_or(0, |t| t.weight.abs());
    let uniform = nr.rows.len() >= 2
        && nr
            .rows
            .iter()
            .all(|r| r.len() == x.len() && r.iter().all(|t| t.weight.abs() == m));
    let shared = uniform.then(|| net.shared_sum(&x.concat()));
    let outs: Vec<Sig> = nr
        .rows
        .iter()
        .zip(&nr.thresholds)
        .map(|(row, &t)| {
            let terms = match &shared {
                None => scaled(&mut row.iter(), 1),
                Some(s) => {
                    let pos = row.iter().filter(|t| t.weight > 0).count();
                    let (half, sign) = if 2 * pos <= row.len() {
                        (1, -1)
                    } else {
                        (-1, 1)
                    };
                    // weights of one sign, doubled, plus ∓m·S
                    let mut v = scaled(&mut row.iter().filter(|t| t.weight.signum() == half), 2);
                    v.extend(s.iter().map(|(sg, c)| (sg.clone(), sign * m * c)));
                    v
                }
            };
            net.neuron(&terms, t)
        })
        .collect();
    let outs = net.prune(&outs);
    let used: BTreeSet<&Sig> = net
        .cells
        .iter()
        .flat_map(|c| c.inputs.iter())
        .chain(outs.iter())
        .collect();
    let unread = x
        .iter()
        .flatten()
        .filter_map(|(s, _)| match s {
            Sig::Input(e) if !used.contains(s) => Some(e.clone()),
            _ => None,
        })
        .collect();
    Layer { net, outs, unread }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::Rng;

    /// Evaluate a signal for input bits `x`.
    fn eval(
        n: &Netlist,
        s: &Sig,
        x: &BTreeMap<String, bool>,
        memo: &mut Vec<Option<bool>>,
    ) -> bool {
        match s {
            Sig::Const(v) => *v,
            Sig::Input(e) => x[e],
            Sig::Cell(i) => {
                if let Some(v) = memo[*i] {
                    return v;
                }
                let c = &n.cells[*i];
                let sum: i64 = c
                    .inputs
                    .iter()
                    .zip(&c.weights)
                    .map(|(s, w)| if eval(n, s, x, memo) { *w } else { 0 })
                    .sum();
                let v = sum >= c.threshold;
                memo[*i] = Some(v);
                v
            }
        }
    }

    #[test]
    fn decomposed_neurons_equal_the_threshold_function() {
        let mut r = Rng::new(11);
        for case in 0..400 {
            let fanin = 3 + r.below(4) as u32;
            let max_weight = 2 + r.below(3) as u32;
            let n_in = 1 + r.below(14) as usize;
            let big = r.below(3) == 0;
            let terms: Vec<(Sig, i128)> = (0..n_in)
                .map(|i| {
                    let c = if big {
                        r.range(-20, 20)
                    } else {
                        r.range(-1, 1) * 2 - 1
                    };
                    (Sig::Input(format!("x{}", i % 11)), c)
                })
                .collect();
            let lo: i128 = terms.iter().map(|t| t.1.min(0)).sum();
            let hi: i128 = terms.iter().map(|t| t.1.max(0)).sum();
            let t = r.range(lo - 2, hi + 2);
            let mut n = Netlist::new(Limits {
                max_fanin: fanin,
                max_weight,
            });
            let y = n.neuron(&terms, t);
            // The same neuron read through a shared binary sum.
            let shared = n.shared_sum(&terms);
            let y2 = n.neuron(&shared, t);
            let ys = n.prune(&[y, y2]);
            let (y, y2) = (ys[0].clone(), ys[1].clone());
            for c in &n.cells {
                assert!(c.inputs.len() as u32 <= fanin, "case {case}: fan-in");
                assert!(
                    c.weights
                        .iter()
                        .all(|w| w.unsigned_abs() <= max_weight as u64)
                );
            }
            for bits in 0u32..(1 << 11) {
                let x: BTreeMap<String, bool> = (0..11)
                    .map(|i| (format!("x{i}"), bits >> i & 1 == 1))
                    .collect();
                let want = terms
                    .iter()
                    .map(|(s, c)| {
                        if let Sig::Input(e) = s {
                            if x[e] { *c } else { 0 }
                        } else {
                            0
                        }
                    })
                    .sum::<i128>()
                    >= t;
                let got2 = eval(&n, &y2, &x, &mut vec![None; n.cells.len()]);
                assert_eq!(got2, want, "case {case} (shared sum)");
                let got = eval(&n, &y, &x, &mut vec![None; n.cells.len()]);
                assert_eq!(
                    got, want,
                    "case {case}: terms {terms:?} t {t} bits {bits:b}"
                );
            }
        }
    }
}
