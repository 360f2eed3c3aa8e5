//! Lowering: the lowered graph IR → one [`Datapath`] for the whole design.
//!
//! Each graph node becomes the integer operations that compute its
//! elements: constant products as shifts and adds of canonical signed
//! digits, balanced adder trees that carry signs to their root, XNOR
//! popcounts, comparisons, threshold-gate cells. Because the datapath
//! hashes nodes structurally, a product or partial sum that two neurons
//! (or two layers) share is built once without this file asking for it.
//!
//! This file decides *what* is computed; registers, timing and counting
//! are later stages over the datapath.

use super::cse::{self, Leaf};
use super::{Datapath, Kind, NodeId, Output, Term, Terms, csd_digits, fold};
use crate::backend::timing::Arrival;
use crate::backend::tl_cells;
use crate::fixed::{FixedType, OverflowMode, QuantMode, quantize};
use crate::golden::BIPOLAR_WIRE;
use crate::ir::threshold::mul_shift;
use crate::ir::{Accum, Graph, Lowered, Node, Op, Target, interval, tree};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    /// The folded array cannot be built within the options.
    #[error("{0}")]
    Fold(String),
    /// No schedule meets the options (a latency below what the clock
    /// allows).
    #[error("{0}")]
    Schedule(String),
}

/// A value during lowering: node `id`'s raw integer read at `frac`
/// fractional bits. Reading a node at a coarser `frac` than its own is
/// how a product by `2^k` costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct V {
    id: NodeId,
    frac: i32,
}

/// A value and whether it is to be subtracted: adder trees carry signs up
/// to their root instead of negating each leaf.
type Signed = (V, bool);

struct Lower<'g> {
    g: &'g Graph,
    dp: Datapath,
    /// Per graph node, its elements at the node's format: bipolar
    /// elements as their bit.
    vals: HashMap<NodeIndex, Vec<V>>,
    /// When each node made so far settles (`settles`): its cycle by the
    /// as-early placement and its arrival within that cycle.
    settle: Vec<(u32, Arrival)>,
    /// The clock period the trees are built for, in ns, and the delay
    /// model's device (no period: trees as if nothing were registered).
    clock: Option<(f64, usize)>,
    /// The folded array (`tl-pe`), whose layers become result banks.
    fold: Option<fold::Fold>,
    /// Every constant product made so far, `(v, c, frac_c)` → `cmul`'s
    /// result: a product is read by every neuron with that weight, and
    /// this small table answers in one probe where rebuilding it would
    /// walk its digits and the arena's big hash table.
    products: rustc_hash::FxHashMap<(V, i128, i32), V>,
}

/// Build the datapath of a lowered graph.
pub fn lower(l: Lowered<'_>) -> Result<Datapath, LowerError> {
    let g = l.graph();
    let opts = g.meta.pipeline.unwrap_or_default();
    let fold = if opts.target == Target::TlPe {
        let limits = cell_limits(g);
        let f = fold::plan(g, opts.pes as usize, opts.cells_per_pe as usize, limits);
        Some(f.map_err(LowerError::Fold)?)
    } else {
        None
    };
    let mut lw = Lower {
        g,
        dp: Datapath::default(),
        vals: HashMap::new(),
        settle: vec![],
        clock: (opts.mode == crate::ir::PipelineMode::Clock)
            .then(|| (opts.clock_period_ps as f64 / 1000.0, opts.delay_model)),
        fold,
        products: Default::default(),
    };
    lw.dp.reserve(size_hint(g));
    for n in g.topo() {
        let node = g.node(n);
        lw.dp
            .begin_layer(&node.name, node.stage.is_some_and(|s| s.out_reg));
        // products are mostly of the layer's own inputs: a table of one
        // layer's stays in cache (a product met again is only rebuilt)
        lw.products.clear();
        let elems = lw.node(n);
        lw.dp.layers.last_mut().unwrap().elements = elems.iter().map(|v| Some(v.id)).collect();
        lw.vals.insert(n, elems);
    }
    for &o in &g.outputs {
        let node = g.node(o);
        let port = if node.bipolar {
            BIPOLAR_WIRE
        } else {
            node.format.unwrap()
        };
        for v in &lw.vals[&o] {
            lw.dp.outputs.push(Output { node: v.id, port });
        }
    }
    lw.dp.fold = lw.fold.take().map(Box::new);
    lw.dp.remove_dead();
    Ok(lw.dp)
}

/// The cell library's limits, from the compile options.
fn cell_limits(g: &Graph) -> tl_cells::Limits {
    let opts = g.meta.pipeline.unwrap_or_default();
    tl_cells::Limits {
        max_fanin: opts.tl_max_fanin,
        max_weight: opts.tl_max_weight,
    }
}

/// About how many nodes the lowering makes: an adder per term of a dense
/// layer, a node per element of every layer (only a hint for `reserve`).
fn size_hint(g: &Graph) -> usize {
    g.topo()
        .into_iter()
        .map(|n| {
            let node = g.node(n);
            let terms = match &node.op {
                Op::Dense(d) => d.terms.as_ref().map_or(0, |t| {
                    t.iter().map(Vec::len).sum::<usize>() * node.size() / d.units.max(1)
                }),
                _ => 0,
            };
            terms + node.size()
        })
        .sum()
}

impl Lower<'_> {
    fn node(&mut self, n: NodeIndex) -> Vec<V> {
        let node = self.g.node(n);
        if let Op::Input { ty, .. } = &node.op {
            return self.input(node, ty);
        }
        if node.bipolar {
            return self.bits_out(n);
        }
        let out_fmt = node.format.unwrap();
        let exact = self.exact(n);
        exact
            .into_iter()
            .map(|v| match node.cast {
                Some(ty) if !matches!(node.op, Op::Argmax) => self.cast(v, &ty),
                _ => self.cast(v, &FixedType::plain(out_fmt)),
            })
            .collect()
    }

    fn input(&mut self, node: &Node, ty: &FixedType) -> Vec<V> {
        let port = self.dp.inputs.len() as u32;
        let fmt = if node.bipolar {
            BIPOLAR_WIRE
        } else {
            ty.format
        };
        self.dp.inputs.push((fmt, node.size()));
        let ranges = node.range.as_ref().unwrap();
        ranges
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                // a bipolar element's wire bit is (value + 1) / 2
                let r = if node.bipolar {
                    ((r.0 + 1) / 2, (r.1 + 1) / 2)
                } else {
                    r
                };
                let id = self.dp.input(port, i as u32, fmt, r);
                V { id, frac: fmt.frac }
            })
            .collect()
    }

    /// Operand `i`'s elements as numbers: a bipolar bit becomes −1/+1.
    fn numeric(&mut self, n: NodeIndex, i: usize) -> Vec<V> {
        let o = self.g.operands(n)[i];
        let vals = self.vals[&o].clone();
        if !self.g.node(o).bipolar {
            return vals;
        }
        vals.into_iter()
            .map(|v| V {
                id: self.dp.node(Kind::Bipolar(v.id), 0),
                frac: 0,
            })
            .collect()
    }

    /// The elements of `x`, slice or transpose `n`'s operand, in `n`'s
    /// order.
    fn select(&self, n: NodeIndex, x: Vec<V>) -> Vec<V> {
        let keep = self.g.selection(n).expect("a slice or transpose");
        keep.into_iter().map(|i| x[i]).collect()
    }

    /// Operand `i`'s elements as they travel: bits for a bipolar operand.
    fn wires(&self, n: NodeIndex, i: usize) -> &[V] {
        &self.vals[&self.g.operands(n)[i]]
    }

    /// Elements of a node whose values are bipolar: one bit each.
    fn bits_out(&mut self, n: NodeIndex) -> Vec<V> {
        let node = self.g.node(n);
        let bit = |id| V { id, frac: 0 };
        match &node.op {
            Op::Flatten | Op::Concat | Op::Reshape { .. } => (0..self.g.operands(n).len())
                .flat_map(|i| self.wires(n, i).to_vec())
                .collect(),
            Op::Slice { .. } | Op::Transpose { .. } => self.select(n, self.wires(n, 0).to_vec()),
            Op::Sign if self.g.node(self.g.operands(n)[0]).bipolar => self.wires(n, 0).to_vec(),
            Op::Sign => {
                let x = self.numeric(n, 0);
                x.iter().map(|v| bit(self.ge(*v, 0))).collect()
            }
            Op::Threshold(t) => {
                let raw = t.raw.as_ref().unwrap();
                let x = self.numeric(n, 0);
                x.iter()
                    .zip(raw)
                    .map(|(v, ts)| bit(self.ge(*v, ts[0])))
                    .collect()
            }
            Op::Neurons(_) if self.fold.as_ref().is_some_and(|f| f.layer_of(n).is_some()) => {
                self.folded(n)
            }
            Op::Neurons(nr) => self.neurons(n, nr),
            other => unreachable!("{} does not make bipolar values", other.name()),
        }
    }

    /// The exact result of a numeric op per element, before the node's cast.
    fn exact(&mut self, n: NodeIndex) -> Vec<V> {
        let node = self.g.node(n);
        match &node.op {
            Op::Input { .. } | Op::Sign | Op::Neurons(_) => unreachable!("handled by the caller"),
            Op::BatchNorm(_) => unreachable!("lowered IR has no batchnorm"),
            Op::Threshold(t) => self.threshold_counts(n, t),
            Op::Dense(d) if d.xnor => self.xnor_dense(n, d),
            Op::Dense(d) => self.dense(n, d),
            Op::Relu => {
                let x = self.numeric(n, 0);
                x.into_iter()
                    .map(|v| {
                        let c = interval::relu(self.dp.range(v.id));
                        self.clamp(v, c)
                    })
                    .collect()
            }
            Op::HardSigmoid {
                slope_type,
                slope_raw,
                offset,
                ..
            } => {
                let (a, fs) = (slope_raw.unwrap(), slope_type.format.frac);
                let x = self.numeric(n, 0);
                x.into_iter()
                    .map(|v| self.hard_sigmoid(v, a, fs, *offset))
                    .collect()
            }
            Op::HardTanh => {
                let x = self.numeric(n, 0);
                x.into_iter()
                    .map(|v| {
                        let c = interval::hard_tanh(self.dp.range(v.id), v.frac)
                            .expect("sized by infer_precision");
                        self.clamp(v, c)
                    })
                    .collect()
            }
            Op::LeakyRelu {
                alpha_type,
                alpha_raw,
                ..
            } => {
                let (alphas, shift) = (alpha_raw.as_ref().unwrap(), alpha_type.format.frac as u32);
                let x = self.numeric(n, 0);
                x.into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let alpha = alphas[crate::ir::channel_of(i, alphas.len())];
                        let frac = v.frac + shift as i32;
                        let id = self.dp.node(
                            Kind::Leaky {
                                x: v.id,
                                alpha,
                                shift,
                            },
                            frac,
                        );
                        V { id, frac }
                    })
                    .collect()
            }
            Op::Quantize | Op::Flatten | Op::Reshape { .. } => self.numeric(n, 0),
            Op::Slice { .. } | Op::Transpose { .. } => {
                let x = self.numeric(n, 0);
                self.select(n, x)
            }
            Op::Add => {
                let (a, b) = (self.numeric(n, 0), self.numeric(n, 1));
                a.into_iter()
                    .zip(b)
                    .map(|(x, y)| self.add(x, y, false))
                    .collect()
            }
            Op::Concat => (0..self.g.operands(n).len())
                .flat_map(|i| self.numeric(n, i))
                .collect(),
            Op::Argmax => {
                let x = self.numeric(n, 0);
                vec![self.argmax(&x)]
            }
            Op::Pool(p) => self.pool(n, p),
            Op::Softmax(sm) => {
                let plan = sm.plan.as_ref().expect("planned by infer_precision");
                let x = self.numeric(n, 0);
                x.chunks(plan.row)
                    .flat_map(|r| self.softmax_row(r, plan))
                    .collect()
            }
            Op::Table(t) => {
                let rom = self
                    .dp
                    .rom(t.rom.as_ref().expect("built by infer_precision"));
                let frac = node.cast.expect("a table has an output type").format.frac;
                let x = self.numeric(n, 0);
                x.into_iter()
                    .map(|v| V {
                        id: self.dp.node(Kind::Table { x: v.id, rom }, frac),
                        frac,
                    })
                    .collect()
            }
        }
    }

    /// `clamp(v · a + offset, 0, 1)`, `a` raw on `fs` fractional bits,
    /// clamped where the interval analysis says a bound can bite.
    fn hard_sigmoid(&mut self, v: V, a: i128, fs: i32, offset: f64) -> V {
        let t = self.cmul(v, a, fs);
        let (off, one) =
            crate::ir::hard_sigmoid_raw(t.frac, offset).expect("checked by infer_precision");
        let c = interval::hard_sigmoid(self.dp.range(v.id), a, off, one)
            .expect("sized by infer_precision");
        let t = match off {
            0 => t,
            _ => {
                let k = self.constant(off, t.frac);
                self.add(t, k, false)
            }
        };
        self.clamp(t, c)
    }

    /// `clamp(v << shift)` as the interval analysis found it; with no
    /// bound left it is `v` itself (the node's cast puts it on its grid).
    fn clamp(&mut self, v: V, c: interval::Clamp) -> V {
        if c.lo.is_none() && c.hi.is_none() {
            return v;
        }
        let frac = v.frac + c.shift as i32;
        let kind = Kind::Clamp {
            x: v.id,
            shift: c.shift,
            lo: c.lo,
            hi: c.hi,
        };
        V {
            id: self.dp.node(kind, frac),
            frac,
        }
    }

    /// Pooling: per output element a balanced tree of compare-and-select
    /// over its window (max), or its window's adder tree times the
    /// quantized `1/count` (average).
    fn pool(&mut self, n: NodeIndex, p: &crate::ir::Pool) -> Vec<V> {
        let x = self.numeric(n, 0);
        let geom = p.window.geom.as_ref().expect("infer_shapes runs first");
        let channels = geom.in_channels;
        (0..geom.positions() * channels)
            .map(|j| {
                let win: Vec<V> = p
                    .window_of(j / channels, j % channels)
                    .into_iter()
                    .map(|i| x[i])
                    .collect();
                match &p.kind {
                    crate::ir::PoolKind::Max => self.max_tree(win),
                    crate::ir::PoolKind::Avg { divisor_type, .. } => {
                        let r = p.reciprocal(p.count(win.len()));
                        let sum = self
                            .sum_tree(win)
                            .expect("checked non-empty by infer_shapes");
                        self.cmul(sum, r, divisor_type.format.frac)
                    }
                }
            })
            .collect()
    }

    /// One softmax row, the steps of `ir::Softmax` as datapath nodes: the
    /// row's max, each difference clamped from below, its exponential,
    /// their exact sum, its logarithm, each difference less the logarithm
    /// clamped to `[t_min, 0]`, and its exponential on the output grid.
    fn softmax_row(&mut self, x: &[V], plan: &crate::ir::SoftmaxPlan) -> Vec<V> {
        let roms = [&plan.exp, &plan.log, &plan.out].map(|r| self.dp.rom(r));
        let fracs = plan.fracs;
        let m = self.max_tree(x.to_vec());
        let d: Vec<V> = x
            .iter()
            .map(|&v| {
                let diff = self.add(v, m, true);
                self.bound(diff, Some(plan.d_min), None)
            })
            .collect();
        let e: Vec<V> = d
            .iter()
            .map(|&v| self.table(v, roms[0], fracs[0]))
            .collect();
        let sum = self.sum_tree(e).expect("a row");
        let sum = self.bound(sum, Some(1), None);
        let l = self.table(sum, roms[1], fracs[1]);
        d.into_iter()
            .map(|v| {
                let t = self.add(v, l, true);
                let t = self.bound(t, Some(plan.t_min), Some(0));
                self.table(t, roms[2], fracs[2])
            })
            .collect()
    }

    /// `clamp(v, lo, hi)` on `v`'s grid, the bounds its interval can pass
    /// only.
    fn bound(&mut self, v: V, lo: Option<i128>, hi: Option<i128>) -> V {
        let (a, b) = self.dp.range(v.id);
        let lo = lo.filter(|&l| a < l);
        let hi = hi.filter(|&h| b > h);
        self.clamp(
            v,
            interval::Clamp {
                shift: 0,
                lo,
                hi,
                out: (0, 0),
            },
        )
    }

    /// `rom[v]`, raw on `frac` bits.
    fn table(&mut self, v: V, rom: u32, frac: i32) -> V {
        V {
            id: self.dp.node(Kind::Table { x: v.id, rom }, frac),
            frac,
        }
    }

    /// The largest of `x` (all on one grid): a balanced tree of `a < b ?
    /// b : a`.
    fn max_tree(&mut self, mut level: Vec<V>) -> V {
        while level.len() > 1 {
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => {
                        let sel = self.dp.node(Kind::Less { a: a.id, b: b.id }, 0);
                        let id = self.dp.node(
                            Kind::Mux {
                                sel,
                                a: a.id,
                                b: b.id,
                            },
                            a.frac,
                        );
                        V { id, frac: a.frac }
                    }
                    _ => pair[0],
                })
                .collect();
            level = next;
        }
        level[0]
    }

    /// Index of the largest element, the lowest index winning ties: a
    /// balanced tree of compare-and-select.
    fn argmax(&mut self, x: &[V]) -> V {
        let mut level: Vec<(V, V)> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, self.constant(i as i128, 0)))
            .collect();
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            for pair in level.chunks(2) {
                next.push(match pair {
                    [a, b] => {
                        let sel = self.dp.node(
                            Kind::Less {
                                a: a.0.id,
                                b: b.0.id,
                            },
                            0,
                        );
                        let mux = |dp: &mut Datapath, p: V, q: V| V {
                            id: dp.node(
                                Kind::Mux {
                                    sel,
                                    a: p.id,
                                    b: q.id,
                                },
                                p.frac,
                            ),
                            frac: p.frac,
                        };
                        (mux(&mut self.dp, a.0, b.0), mux(&mut self.dp, a.1, b.1))
                    }
                    _ => pair[0],
                });
            }
            level = next;
        }
        level[0].1
    }

    /// Fully parallel dense layer with a multiply-accumulate tree.
    fn dense(&mut self, n: NodeIndex, d: &crate::ir::Dense) -> Vec<V> {
        let acc = d.acc.as_ref().unwrap();
        let terms = d.neuron_rows();
        let terms = &terms[..];
        let x = self.numeric(n, 0);
        let wfrac = d.weight_type.format.frac;
        if let Accum::Explicit(a) = &d.accum {
            return (0..d.neurons())
                .map(|j| self.wrapping_neuron(&x, &terms[j], acc.bias[j], wfrac, a))
                .collect();
        }
        let ps = acc.product_shift;
        let digits: Option<Vec<Vec<Leaf>>> =
            self.g.meta.pipeline.unwrap_or_default().share.then(|| {
                terms
                    .iter()
                    .map(|row| self.digits(&x, row, wfrac, ps))
                    .collect()
            });
        let leaves = match digits {
            Some(d) if cse::fits(&d) => cse::share(&mut self.dp, d),
            // too many pairs to search: each input's odd multiples
            _ => self.odd_multiples(&x, terms, wfrac, ps),
        };
        leaves
            .into_iter()
            .zip(&acc.bias)
            .map(|(leaves, &bias)| {
                let mut leaves: Vec<Signed> = leaves
                    .into_iter()
                    .map(|l| {
                        (
                            V {
                                id: l.id,
                                frac: l.frac,
                            },
                            l.neg,
                        )
                    })
                    .collect();
                if bias != 0 {
                    leaves.push((self.constant(bias, acc.frac), false));
                }
                match self.signed_tree(leaves) {
                    Some(v) => v,
                    None => self.constant(0, acc.frac),
                }
            })
            .collect()
    }

    /// A neuron's products as the signed digits of its weights:
    /// `x·w = Σ ±x·2^k`.
    fn digits(&self, x: &[V], row: &[crate::ir::Term], wfrac: i32, ps: u32) -> Vec<Leaf> {
        row.iter()
            .flat_map(|t| {
                let v = x[t.input];
                let f = v.frac + wfrac + ps as i32;
                csd_digits(t.weight << ps)
                    .into_iter()
                    .map(move |(k, neg)| Leaf {
                        id: v.id,
                        frac: f - k as i32,
                        neg,
                    })
            })
            .collect()
    }

    /// Every neuron's products as shifted odd multiples of its inputs,
    /// `x·w = (x·odd) << k`: the odd multiple is shared by every neuron
    /// reading x, the shift is free.
    fn odd_multiples(
        &mut self,
        x: &[V],
        terms: &[Vec<crate::ir::Term>],
        wfrac: i32,
        ps: u32,
    ) -> Vec<Vec<Leaf>> {
        let odd_shift = |t: &crate::ir::Term| {
            let w = t.weight << ps;
            let k = w.unsigned_abs().trailing_zeros();
            (w.abs() >> k, k, w < 0)
        };
        let max_odd = terms.iter().flatten().map(|t| odd_shift(t).0).max();
        let mut table = Products::new(x.len(), max_odd.unwrap_or(0));
        let frac_c = wfrac + ps as i32;
        terms
            .iter()
            .map(|row| {
                row.iter()
                    .map(|t| {
                        let (odd, k, neg) = odd_shift(t);
                        let p = match &mut table {
                            Some(table) => self.product(table, x, t.input, odd, frac_c),
                            None => self.cmul(x[t.input], odd, frac_c),
                        };
                        Leaf {
                            id: p.id,
                            frac: p.frac - k as i32,
                            neg,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `cmul(x[input], odd, frac_c)`, looked up in `table` first.
    fn product(
        &mut self,
        table: &mut Products,
        x: &[V],
        input: usize,
        odd: i128,
        frac_c: i32,
    ) -> V {
        let slot = table.slot(input, odd);
        if let Some(p) = *slot {
            return p;
        }
        let p = self.cmul(x[input], odd, frac_c);
        *slot = Some(p);
        p
    }

    /// hls4ml's explicit accumulator: every product cast to `a`, then a
    /// sum modulo `2^width`.
    fn wrapping_neuron(
        &mut self,
        x: &[V],
        row: &[crate::ir::Term],
        bias: i128,
        wfrac: i32,
        a: &FixedType,
    ) -> V {
        let mut leaves: Vec<V> = row
            .iter()
            .map(|t| {
                let p = self.cmul(x[t.input], t.weight, wfrac);
                self.cast(p, a)
            })
            .collect();
        if bias != 0 {
            let k = self.constant(bias, a.format.frac);
            leaves.push(k);
        }
        let mut level = leaves;
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            for pair in level.chunks(2) {
                next.push(match pair {
                    [p, q] => {
                        let terms = Terms::of(&[term(*p, 0, false), term(*q, 0, false)]);
                        let kind = Kind::Add {
                            terms,
                            wrap: Some(a.format),
                        };
                        V {
                            id: self.dp.node(kind, a.format.frac),
                            frac: a.format.frac,
                        }
                    }
                    _ => pair[0],
                });
            }
            level = next;
        }
        level
            .pop()
            .unwrap_or_else(|| self.constant(0, a.format.frac))
    }

    /// XNOR-popcount: `Σ w·x + bias = 2·popcount(xnor(x, w)) − K + bias`.
    fn xnor_dense(&mut self, n: NodeIndex, d: &crate::ir::Dense) -> Vec<V> {
        let acc = d.acc.as_ref().unwrap();
        let terms = d.neuron_rows();
        let x = self.wires(n, 0).to_vec();
        (0..d.neurons())
            .map(|j| {
                let leaves: Vec<V> = terms[j]
                    .iter()
                    .map(|t| {
                        let b = x[t.input];
                        if t.weight > 0 {
                            b
                        } else {
                            V {
                                id: self.dp.node(Kind::Not(b.id), 0),
                                frac: 0,
                            }
                        }
                    })
                    .collect();
                let c = tree::xnor_offset(d, j);
                // a window wholly in a convolution's padding sums nothing
                let Some(p) = self.sum_tree(leaves) else {
                    return self.constant(c, acc.frac);
                };
                // P · 2^(shift + 1) on the accumulator grid: a coarser reading.
                let sum = V {
                    id: p.id,
                    frac: acc.frac - (acc.product_shift as i32 + 1),
                };
                if c == 0 {
                    sum
                } else {
                    let k = self.constant(c, acc.frac);
                    self.add(sum, k, false)
                }
            })
            .collect()
    }

    /// A multi-threshold with a numeric result: per channel the count of
    /// thresholds reached, times the output scale, plus its bias.
    fn threshold_counts(&mut self, n: NodeIndex, t: &crate::ir::Threshold) -> Vec<V> {
        let (scale, bias, frac) = t.out_raw.unwrap();
        let raw = t.raw.as_ref().unwrap();
        let x = self.numeric(n, 0);
        x.iter()
            .zip(raw)
            .enumerate()
            .map(|(c, (&v, ts))| {
                if let Some(p) = self.cheaper_mul_shift(t, c, v, ts) {
                    return p;
                }
                let leaves: Vec<V> = ts
                    .iter()
                    .map(|&t| V {
                        id: self.ge(v, t),
                        frac: 0,
                    })
                    .collect();
                let count = self.sum_tree(leaves).expect("at least one step");
                let y = self.cmul(count, scale, frac);
                if bias == 0 {
                    y
                } else {
                    let k = self.constant(bias, frac);
                    self.add(y, k, false)
                }
            })
            .collect()
    }

    /// A requantization's channel as a product and a shift, when one is
    /// exact over `v`'s interval and costs less than a comparator per
    /// level (low-bit results keep the comparators).
    fn cheaper_mul_shift(
        &mut self,
        t: &crate::ir::Threshold,
        c: usize,
        v: V,
        ts: &[i128],
    ) -> Option<V> {
        let crate::ir::Thresholds::Requant(q) = &t.thresholds else {
            return None;
        };
        let q = if q.len() == 1 { &q[0] } else { &q[c] };
        let range = self.dp.range(v.id);
        let p = mul_shift(q, v.frac, range, ts)?;
        let width = (128 - range.0.abs().max(range.1.abs()).leading_zeros()) as u64 + 1;
        let m_bits = (128 - p.m.leading_zeros()) as u64;
        let product = (csd_digits(p.m).len() as u64 + 2) * (width + m_bits);
        let comparators = ts.len() as u64 * (width / 2 + 1);
        if product >= comparators {
            return None;
        }
        let y = self.cmul(v, p.m, p.k as i32 - v.frac);
        let y = match p.b {
            0 => y,
            b => {
                let b = self.constant(b, p.k as i32);
                self.add(y, b, false)
            }
        };
        // ⌊y⌋: a cast to integers toward −∞, into a type that holds them
        // (y's binary point is where its product left it, not always k)
        let (lo, hi) = self.dp.range(y.id);
        let floor = |r: i128| quantize(r, y.frac, 0, QuantMode::Trn).map(|q| q.0);
        let fmt = crate::fixed::Format::for_interval(floor(lo)?, floor(hi)?, 0)?;
        let y = self.cast(y, &FixedType::new(fmt, QuantMode::Trn, OverflowMode::Wrap));
        let y = self.bound(y, Some(p.lo), Some(q.max as i128));
        Some(match q.zero {
            0 => y,
            z => {
                let z = self.constant(-(z as i128), 0);
                self.add(y, z, false)
            }
        })
    }

    /// Binary neurons as threshold-gate cells within the target's limits.
    fn neurons(&mut self, n: NodeIndex, nr: &crate::ir::Neurons) -> Vec<V> {
        let limits = cell_limits(self.g);
        let x = self.weighted_bits(n);
        let l = tl_cells::layer(nr, &x, limits);
        self.dp.tl.add(&l.net.stats);
        let cells = add_cells(&mut self.dp, &l.net);
        l.outs
            .iter()
            .map(|s| V {
                id: cell_signal(&mut self.dp, s, &cells),
                frac: 0,
            })
            .collect()
    }

    /// A folded layer: its operand's codes go to the PE array, and its
    /// elements are the bits of its result bank.
    fn folded(&mut self, n: NodeIndex) -> Vec<V> {
        let fold = self.fold.as_ref().expect("a folded layer has a fold");
        let li = fold.layer_of(n).expect("checked by the caller");
        let u = fold.layers[li].u;
        let x = self.g.node(self.g.operands(n)[0]);
        let (bipolar, f) = (x.bipolar, x.format.expect("infer_precision runs first"));
        let code: Vec<Vec<NodeId>> = self
            .wires(n, 0)
            .to_vec()
            .into_iter()
            .map(|v| {
                if bipolar {
                    vec![v.id]
                } else {
                    self.offset_code(v, f)
                }
            })
            .collect();
        self.fold.as_mut().unwrap().layers[li].code = code;
        (0..u as u32)
            .map(|j| V {
                id: self.dp.bank(li as u32, j),
                frac: 0,
            })
            .collect()
    }

    /// The bits of `v`'s raw value in format `f`, the sign bit flipped
    /// for a signed format: the unsigned offset code the PEs add.
    fn offset_code(&mut self, v: V, f: crate::fixed::Format) -> Vec<NodeId> {
        let own = self.dp.fmt(v.id);
        (0..f.width)
            .map(|b| {
                // bit b of the raw value at f's binary point
                let k = b as i64 - (f.frac - v.frac) as i64;
                let bit = if k < 0 || (k >= own.width as i64 && !own.signed) {
                    self.dp.node(Kind::Const(0), 0)
                } else {
                    let index = (k as u32).min(own.width - 1);
                    self.dp.node(Kind::Bit { x: v.id, index }, 0)
                };
                if f.signed && b == f.width - 1 {
                    self.dp.node(Kind::Not(bit), 0)
                } else {
                    bit
                }
            })
            .collect()
    }

    /// Operand 0's elements as weighted bits, `x = Σ c·bit`: a bipolar
    /// bit is `2b − 1`, a number its two's-complement bits. The cell
    /// builder names a bit by its node id.
    fn weighted_bits(&mut self, n: NodeIndex) -> Vec<Vec<(tl_cells::Sig, i128)>> {
        let bipolar = self.g.node(self.g.operands(n)[0]).bipolar;
        let x = self.wires(n, 0).to_vec();
        let name = |id: NodeId| tl_cells::Sig::Input(id.0.to_string());
        x.iter()
            .map(|v| {
                if bipolar {
                    return vec![(name(v.id), 2), (tl_cells::Sig::Const(true), -1)];
                }
                let f = self.dp.fmt(v.id);
                (0..f.width)
                    .map(|k| {
                        let c = if f.signed && k == f.width - 1 {
                            -(1i128 << k)
                        } else {
                            1i128 << k
                        };
                        (name(self.dp.node(Kind::Bit { x: v.id, index: k }, 0)), c)
                    })
                    .collect()
            })
            .collect()
    }

    fn constant(&mut self, v: i128, frac: i32) -> V {
        V {
            id: self.dp.node(Kind::Const(v), frac),
            frac,
        }
    }

    /// One bit, `v ≥ t` (raw `t` at `v`'s grid).
    fn ge(&mut self, v: V, t: i128) -> NodeId {
        self.dp.node(Kind::Ge { x: v.id, t }, 0)
    }

    /// `v · c` for a constant `c` on `frac_c` fractional bits, as shifts
    /// and adds of `c`'s canonical signed digits: `d` digits cost `d − 1`
    /// adders and a power of two costs none.
    fn cmul(&mut self, v: V, c: i128, frac_c: i32) -> V {
        // Made once: the same call again would find every adder it makes.
        if let Some(&p) = self.products.get(&(v, c, frac_c)) {
            return p;
        }
        let p = self.new_cmul(v, c, frac_c);
        self.products.insert((v, c, frac_c), p);
        p
    }

    /// `cmul` of a product not made yet.
    fn new_cmul(&mut self, v: V, c: i128, frac_c: i32) -> V {
        let f = v.frac + frac_c;
        if c == 0 {
            return self.constant(0, f);
        }
        let leaves = csd_digits(c)
            .into_iter()
            .map(|(k, neg)| {
                (
                    V {
                        id: v.id,
                        frac: f - k as i32,
                    },
                    neg,
                )
            })
            .collect();
        self.signed_tree(leaves).expect("c ≠ 0 has a digit")
    }

    /// A tree over signed leaves that always adds the two that settle
    /// first (by the delay model and the as-early placement at the clock
    /// the design is built for, [`Lower::settles`]): leaves ready early
    /// are summed while later ones are still being made, so the tree settles sooner and, where the clock
    /// cuts it, fewer partial sums are live. Leaves ready together pair up
    /// in order, as a balanced tree. The root's sign is resolved last.
    fn signed_tree(&mut self, leaves: Vec<Signed>) -> Option<V> {
        let entry = |lw: &mut Self, seq: u64, v: Signed| TreeEntry::new(lw.settles(v.0.id), seq, v);
        // Built in one go, not leaf by leaf: every entry differs in `seq`,
        // so the order of the pops is the same either way.
        let entries: Vec<_> = (0u64..)
            .zip(leaves)
            .map(|(seq, leaf)| entry(self, seq, leaf))
            .collect();
        let mut seq = entries.len() as u64;
        let mut heap = std::collections::BinaryHeap::from(entries);
        let arity = if self.g.meta.pipeline.unwrap_or_default().adders == crate::ir::Adders::Ternary
        {
            3
        } else {
            2
        };
        while heap.len() > 1 {
            let a = heap.pop().expect("two left").v;
            // the last operand leaves and the sum enters in one sift
            // (`PeekMut` puts the sum in its place), the same heap as a pop
            // and a push
            if arity == 3 && heap.len() >= 2 {
                let b = heap.pop().expect("two left").v;
                let third = heap.peek().expect("one left").v.0.id;
                if self.ternary_pays([a.0.id, b.0.id, third]) {
                    let mut top = heap.peek_mut().expect("one left");
                    let sum = self.signed_sum(&[a, b, top.v]);
                    *top = entry(self, seq, sum);
                } else {
                    let sum = self.signed_sum(&[a, b]);
                    heap.push(entry(self, seq, sum));
                }
            } else {
                let mut top = heap.peek_mut().expect("one left");
                let sum = self.signed_sum(&[a, top.v]);
                *top = entry(self, seq, sum);
            }
            seq += 1;
        }
        let (v, neg) = heap.pop()?.v;
        Some(if neg { self.negate(v) } else { v })
    }

    /// Whether one ternary adder over the tree's next three operands
    /// settles no later, at the clock the trees are built for, than a
    /// binary adder of the first two followed by one with the third (a
    /// ternary level costs a LUT and a connection more than a binary one,
    /// so it pays when the third operand is not much later than the
    /// second, or when the two binary adders would not fit in the cycle).
    fn ternary_pays(&mut self, ops: [NodeId; 3]) -> bool {
        use crate::backend::timing::{adder, ternary};
        let bits = ops.iter().map(|&x| self.dp.width(x)).max().expect("three") + 1;
        let [a, b, c] = ops.map(|x| self.timed(&[x]));
        let two = self.clocked(&[&a[..], &b].concat(), |t| adder(t, bits));
        let two = self.clocked(&[&[two][..], &c].concat(), |t| adder(t, bits + 1));
        let three = self.clocked(&[a, b, c].concat(), |t| ternary(t, bits + 1));
        self.key(three) <= self.key(two)
    }

    /// The cycles and arrivals of the non-constant nodes of `ops` (a
    /// constant is a wire of every cycle).
    fn timed(&mut self, ops: &[NodeId]) -> Vec<(u32, Arrival)> {
        let mut out = Vec::with_capacity(ops.len());
        for &o in ops {
            if !self.dp.is_const(o) {
                self.settles(o);
                out.push(self.settle[o.index()]);
            }
        }
        out
    }

    /// The cycle and arrival, by the as-early placement, of a node whose
    /// operands settle at `ops` and which `f` times: in its last operand's
    /// cycle if it settles within the clock period there, else in the next
    /// one from registered operands.
    fn clocked(&self, ops: &[(u32, Arrival)], f: impl Fn(Arrival) -> Arrival) -> (u32, Arrival) {
        let c = ops.iter().map(|o| o.0).max().unwrap_or(0);
        let at = |c: u32| {
            ops.iter().fold(Arrival::ZERO, |a, &(oc, t)| {
                a.max(if oc < c { Arrival::register() } else { t })
            })
        };
        let t = f(at(c));
        match self.clock {
            Some((p, dev)) if t.captured().path(dev) > p => (c + 1, f(at(c + 1))),
            _ => (c, t),
        }
    }

    /// The order of a cycle and arrival on one time line: cycles of the
    /// clock period, then the arrival within the cycle.
    fn key(&self, (c, t): (u32, Arrival)) -> f64 {
        let (period, dev) = self.clock.unwrap_or((0.0, 0));
        c as f64 * period + t.path(dev)
    }

    /// The sum of two or three signed operands as one adder with at most
    /// one subtracted term (a ternary adder's carry-in adds one, not two):
    /// when most operands are negative the sum is negated instead.
    fn signed_sum(&mut self, ops: &[Signed]) -> Signed {
        let negs = ops.iter().filter(|o| o.1).count();
        let flip = 2 * negs > ops.len();
        let frac = ops.iter().map(|o| o.0.frac).max().expect("an operand");
        let mut terms: Vec<Term> = ops
            .iter()
            .map(|&(v, neg)| term(v, (frac - v.frac) as u32, neg != flip))
            .collect();
        // a lone subtracted operand of two comes second, as `x − y`
        terms.sort_by_key(|t| t.neg);
        let kind = Kind::Add {
            terms: Terms::of(&terms),
            wrap: None,
        };
        let v = V {
            id: self.dp.node(kind, frac),
            frac,
        };
        (v, flip)
    }

    /// When node `id` settles ([`Lower::key`]) by the as-early placement
    /// at the clock the trees are built for (on the 7-series model with no
    /// registers when no clock is set; only the order of these times
    /// matters).
    fn settles(&mut self, id: NodeId) -> f64 {
        while self.settle.len() <= id.index() {
            let n = NodeId(self.settle.len() as u32);
            let ops: Vec<(u32, Arrival)> = self
                .dp
                .node_ref(n)
                .kind
                .operands()
                .filter(|&o| !self.dp.is_const(o))
                .map(|o| self.settle[o.index()])
                .collect();
            let e = self.clocked(&ops, |t| crate::datapath::timing::settle(&self.dp, n, t));
            self.settle.push(e);
        }
        self.key(self.settle[id.index()])
    }

    /// A balanced tree of plain sums.
    fn sum_tree(&mut self, leaves: Vec<V>) -> Option<V> {
        self.signed_tree(leaves.into_iter().map(|v| (v, false)).collect())
    }

    /// `x ± y`, exact, on the finer of the two grids.
    fn add(&mut self, x: V, y: V, sub: bool) -> V {
        let frac = x.frac.max(y.frac);
        let terms = Terms::of(&[
            term(x, (frac - x.frac) as u32, false),
            term(y, (frac - y.frac) as u32, sub),
        ]);
        V {
            id: self.dp.node(Kind::Add { terms, wrap: None }, frac),
            frac,
        }
    }

    fn negate(&mut self, v: V) -> V {
        let terms = Terms::of(&[term(v, 0, true)]);
        V {
            id: self.dp.node(Kind::Add { terms, wrap: None }, v.frac),
            frac: v.frac,
        }
    }

    /// `v` cast to `ty`, with the modes that cannot change any value in
    /// `v`'s interval dropped (so no logic is spent on them). A cast that
    /// changes nothing is the value itself; the result is always on
    /// `ty`'s grid, which is what consumers' raw constants assume.
    fn cast(&mut self, v: V, ty: &FixedType) -> V {
        let shift = v.frac - ty.format.frac;
        let quant = if shift > 0 { ty.quant } else { QuantMode::Trn };
        let (lo, hi) = self.dp.range(v.id);
        let q = |x| quantize(x, v.frac, ty.format.frac, quant).map(|r| r.0);
        let (rlo, rhi) = ty.result_range();
        let fits = matches!((q(lo), q(hi)), (Some(a), Some(b)) if a >= rlo && b <= rhi);
        let overflow = if fits {
            OverflowMode::Wrap
        } else {
            ty.overflow
        };
        if shift == 0 && fits {
            return v;
        }
        let ty = FixedType::new(ty.format, quant, overflow);
        let kind = Kind::Cast {
            x: v.id,
            from_frac: v.frac,
            ty,
        };
        V {
            id: self.dp.node(kind, ty.format.frac),
            frac: ty.format.frac,
        }
    }
}

/// A value in `signed_tree`'s heap, first out when it settles first, then
/// when it entered first.
struct TreeEntry {
    /// The settle time (in fs, an integer so ties are exact) above the
    /// entry's sequence number: one integer comparison orders two
    /// entries, and no two are equal.
    order: u128,
    v: Signed,
}

impl TreeEntry {
    fn new(settle_ns: f64, seq: u64, v: Signed) -> Self {
        // i64 order as u64 order: flip the sign bit
        let key = ((settle_ns * 1e6) as i64 as u64) ^ (1 << 63);
        TreeEntry {
            order: (key as u128) << 64 | seq as u128,
            v,
        }
    }
}

impl Ord for TreeEntry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.order.cmp(&self.order)
    }
}
impl PartialOrd for TreeEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for TreeEntry {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}
impl Eq for TreeEntry {}

/// One dense layer's products by input and odd weight magnitude, where
/// the magnitudes are small (8-bit weights: 64 per input). The layer looks
/// up a product for every weight; this table stays in cache, the hash map
/// of `Lower::products` does not.
struct Products {
    per_input: usize,
    slots: Vec<Option<V>>,
}

impl Products {
    /// A table for odd magnitudes up to `max_odd`, if they are small.
    fn new(inputs: usize, max_odd: i128) -> Option<Products> {
        let per_input = usize::try_from(max_odd / 2 + 1)
            .ok()
            .filter(|&n| n <= 512)?;
        Some(Products {
            per_input,
            slots: vec![None; inputs * per_input],
        })
    }
    fn slot(&mut self, input: usize, odd: i128) -> &mut Option<V> {
        &mut self.slots[input * self.per_input + (odd / 2) as usize]
    }
}

fn term(v: V, shift: u32, neg: bool) -> Term {
    Term {
        node: v.id,
        shift,
        neg,
    }
}

/// The cells of `net` as threshold-cell nodes, in order; the netlist names
/// an input bit by its node id.
pub(super) fn add_cells(dp: &mut Datapath, net: &tl_cells::Netlist) -> Vec<NodeId> {
    let mut cells: Vec<NodeId> = Vec::with_capacity(net.cells.len());
    for c in &net.cells {
        let inputs = c
            .inputs
            .iter()
            .map(|s| cell_signal(dp, s, &cells))
            .collect();
        let kind = Kind::TlCell {
            inputs,
            weights: c.weights.clone(),
            threshold: c.threshold,
        };
        cells.push(dp.node(kind, 0));
    }
    cells
}

/// The node of a netlist signal, `cells` the nodes of its cells.
pub(super) fn cell_signal(dp: &mut Datapath, s: &tl_cells::Sig, cells: &[NodeId]) -> NodeId {
    match s {
        tl_cells::Sig::Input(name) => NodeId(name.parse().expect("named by node id")),
        tl_cells::Sig::Cell(i) => cells[*i],
        tl_cells::Sig::Const(b) => dp.node(Kind::Const(*b as i128), 0),
    }
}
