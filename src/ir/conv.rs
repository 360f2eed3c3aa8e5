//! Convolutions as dense layers whose rows are shared across positions.
//!
//! A `conv1d`/`conv2d` is a [`Dense`] with a [`Conv`]: `units` is the
//! number of filters, each weight row is one filter's kernel, stored once
//! (taps in row-major order: kernel positions, then the group's input
//! channels), and the layer's neurons are output positions × filters,
//! channels last. Everything that walks a dense layer neuron by neuron
//! (precision inference, adder-tree depth, the datapath lowering) asks
//! [`Dense::neurons`], [`Dense::row_of`] and [`Dense::input_of`], so a
//! plain dense layer is the conv with one position whose tap `t` reads
//! input `t`. Taps that fall into the zero padding read nothing.

use super::{Dense, Term};
use crate::fixed::FixedType;
use std::borrow::Cow;

/// How a convolution pads its input with zeros, per spatial axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// No padding: windows lie wholly inside the input.
    Valid,
    /// `ceil(in / stride)` outputs per axis; the padding that takes splits
    /// evenly, the odd one at the end (Keras' and ONNX's `SAME_UPPER`).
    Same,
    /// Zeros before and after, per spatial axis.
    Explicit(Vec<(usize, usize)>),
}

/// The window of a convolution. `kernel`, `stride` and `dilation` have one
/// entry per spatial axis (1 for `conv1d`, 2 for `conv2d`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub dilation: Vec<usize>,
    pub padding: Padding,
    /// Input and output channels split into this many independent groups
    /// (equal to the input channels: depthwise).
    pub groups: usize,
    /// Filled by `infer_shapes`.
    pub geom: Option<ConvGeom>,
}

/// A convolution's shapes, resolved against its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input spatial extent per axis.
    pub input: Vec<usize>,
    pub in_channels: usize,
    /// Output spatial extent per axis.
    pub output: Vec<usize>,
    /// Zeros before the first element, per axis.
    pub pad_before: Vec<usize>,
}

impl Conv {
    /// Taps per filter: kernel positions × the input channels of a group.
    pub fn taps(&self, in_channels: usize) -> usize {
        self.kernel.iter().product::<usize>() * (in_channels / self.groups)
    }

    /// The output extent and the zeros before, per axis, for input extents
    /// `input`; `None` when a window does not fit (the axis that fails).
    pub fn resolve(&self, input: &[usize]) -> Result<(Vec<usize>, Vec<usize>), usize> {
        let mut out = vec![];
        let mut before = vec![];
        for (a, &n) in input.iter().enumerate() {
            let span = (self.kernel[a] - 1) * self.dilation[a] + 1;
            let s = self.stride[a];
            let (lo, hi) = match &self.padding {
                Padding::Valid => (0, 0),
                Padding::Same => {
                    let o = n.div_ceil(s);
                    let total = ((o.max(1) - 1) * s + span).saturating_sub(n);
                    (total / 2, total - total / 2)
                }
                Padding::Explicit(p) => p[a],
            };
            if n + lo + hi < span {
                return Err(a);
            }
            out.push((n + lo + hi - span) / s + 1);
            before.push(lo);
        }
        Ok((out, before))
    }
}

impl ConvGeom {
    /// Output positions.
    pub fn positions(&self) -> usize {
        self.output.iter().product()
    }

    /// The input element tap `tap` of filter `filter` reads at output
    /// position `pos`, or `None` in the padding.
    pub fn input(
        &self,
        conv: &Conv,
        filters: usize,
        pos: usize,
        filter: usize,
        tap: usize,
    ) -> Option<usize> {
        let cpg = self.in_channels / conv.groups;
        let group = filter / (filters / conv.groups);
        let (mut tap_k, ic) = (tap / cpg, tap % cpg);
        let mut rest = pos;
        let mut at = 0;
        let mut stride_in = 1;
        // innermost axis last: peel the axes from the back
        for a in (0..self.output.len()).rev() {
            let o = rest % self.output[a];
            rest /= self.output[a];
            let k = tap_k % conv.kernel[a];
            tap_k /= conv.kernel[a];
            let i = (o * conv.stride[a] + k * conv.dilation[a]).checked_sub(self.pad_before[a])?;
            if i >= self.input[a] {
                return None;
            }
            at += i * stride_in;
            stride_in *= self.input[a];
        }
        Some(at * self.in_channels + group * cpg + ic)
    }
}

impl Dense {
    /// Output positions: 1 for a plain dense layer.
    pub fn positions(&self) -> usize {
        self.conv.as_ref().map_or(1, |c| {
            c.geom
                .as_ref()
                .expect("infer_shapes runs first")
                .positions()
        })
    }

    /// Neurons: output elements, positions × units.
    pub fn neurons(&self) -> usize {
        self.positions() * self.units
    }

    /// The weight row neuron `j` uses.
    pub fn row_of(&self, j: usize) -> usize {
        j % self.units
    }

    /// The input element neuron `j` multiplies by tap `tap` of its row, or
    /// `None` where a convolution's window lies in the padding.
    pub fn input_of(&self, j: usize, tap: usize) -> Option<usize> {
        match &self.conv {
            None => Some(tap),
            Some(c) => c.geom.as_ref().expect("infer_shapes runs first").input(
                c,
                self.units,
                j / self.units,
                j % self.units,
                tap,
            ),
        }
    }

    /// Neuron `j`'s non-zero terms, on the input's elements.
    pub fn neuron_terms(&self, j: usize) -> Vec<Term> {
        let terms = self.terms.as_ref().expect("prune_constants runs first");
        terms[self.row_of(j)]
            .iter()
            .filter_map(|t| {
                self.input_of(j, t.input).map(|input| Term {
                    input,
                    weight: t.weight,
                })
            })
            .collect()
    }

    /// How many non-zero terms neuron `j` has.
    pub fn neuron_len(&self, j: usize) -> usize {
        let terms = self.terms.as_ref().expect("prune_constants runs first");
        match &self.conv {
            None => terms[j].len(),
            Some(_) => terms[self.row_of(j)]
                .iter()
                .filter(|t| self.input_of(j, t.input).is_some())
                .count(),
        }
    }

    /// Every neuron's terms: the pruned rows of a plain dense layer as
    /// they are, a convolution's expanded position by position.
    pub fn neuron_rows(&self) -> Cow<'_, [Vec<Term>]> {
        match &self.conv {
            None => Cow::Borrowed(self.terms.as_ref().expect("prune_constants runs first")),
            Some(_) => Cow::Owned((0..self.neurons()).map(|j| self.neuron_terms(j)).collect()),
        }
    }
}

/// Max or average pooling: each channel on its own, over windows laid out
/// as a convolution's (`window.groups` is the channel count once
/// `infer_shapes` has resolved it).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kind: PoolKind,
    pub window: Conv,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PoolKind {
    /// The largest element of the window; padding is never chosen.
    Max,
    /// `Σ x · q(1/count)`: the window's sum times the reciprocal of its
    /// element count quantized to `divisor_type` (exact for a count that
    /// is a power of two the type's fraction holds). `count` is the
    /// window's elements inside the input, or every tap with
    /// `count_include_pad`.
    Avg {
        divisor_type: FixedType,
        count_include_pad: bool,
    },
}

impl Pool {
    /// The input elements of the window of channel `ch` at output position
    /// `pos`.
    pub fn window_of(&self, pos: usize, ch: usize) -> Vec<usize> {
        let w = &self.window;
        let geom = w.geom.as_ref().expect("infer_shapes runs first");
        let taps: usize = w.kernel.iter().product();
        (0..taps)
            .filter_map(|t| geom.input(w, geom.in_channels, pos, ch, t))
            .collect()
    }

    /// The divisor of an average over `inside` elements of the input.
    pub fn count(&self, inside: usize) -> usize {
        match &self.kind {
            PoolKind::Avg {
                count_include_pad: true,
                ..
            } => self.window.kernel.iter().product(),
            _ => inside,
        }
    }

    /// `1/count` raw on the divisor type's grid, cast by its modes (an
    /// average pool only). `2^f / count` is never halfway between two
    /// codes unless it is exact (its fraction has an odd denominator), so
    /// eight more bits and a sticky bit for the rest round it exactly in
    /// every mode.
    pub fn reciprocal(&self, count: usize) -> i128 {
        let PoolKind::Avg { divisor_type, .. } = &self.kind else {
            unreachable!("max pooling divides by nothing")
        };
        let f = divisor_type.format.frac.clamp(0, 100) + 8;
        let scaled = (1i128 << f) / count as i128;
        let sticky = ((1i128 << f) % count as i128 != 0) as i128;
        crate::fixed::cast(scaled * 2 + sticky, f + 1, divisor_type).0
    }
}
