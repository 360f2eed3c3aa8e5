//! Exact thresholds: the smallest raw input at which a threshold step
//! counts. Given thresholds are real numbers (exact dyadics); batchnorm
//! thresholds involve √(σ²+ε), so they are decided by exact comparison,
//! never by rounding a float τ.

use super::{BnThreshold, Interval, Thresholds};
use crate::fixed::dyadic::{Dyadic, plus_scaled_sqrt_nonneg};

impl BnThreshold {
    /// Whether the neuron fires (+1) at the raw input `z` (at `frac`):
    /// `|γ|·(z ∓ μ) + β·√(σ²+ε) ≥ 0`, with `+μ` for a flipped neuron.
    pub fn fires(&self, z: i128, frac: i32) -> bool {
        if self.gamma == 0.0 {
            return self.beta >= 0.0;
        }
        let d = |x: f64| Dyadic::from_f64(x);
        let mu = if self.flipped {
            d(self.mean)
        } else {
            d(self.mean).neg()
        };
        let l = d(self.gamma.abs()).mul(&Dyadic::from_raw(z, frac).add(&mu));
        let v = d(self.var).add(&d(self.epsilon));
        plus_scaled_sqrt_nonneg(&l, &d(self.beta), &v)
    }
}

/// Smallest `r` in `[lo, hi + 1]` with `pred(r)` true (`hi + 1` if none);
/// `pred` must be monotone (false, …, false, true, …).
fn first_true(lo: i128, hi: i128, pred: impl Fn(i128) -> bool) -> i128 {
    let (mut a, mut b) = (lo, hi.saturating_add(1));
    while a < b {
        let m = a + (b - a) / 2;
        if pred(m) { b = m } else { a = m + 1 }
    }
    a
}

impl Thresholds {
    /// Raw thresholds of `channel` for an input at `frac` with interval
    /// `range`, sorted, each clamped to `[lo, hi + 1]`: `x ≥ t` for every
    /// `x` in range exactly when the real comparison holds.
    pub fn raw(&self, channel: usize, frac: i32, range: Interval) -> Vec<i128> {
        let (lo, hi) = range;
        let mut v: Vec<i128> = match self {
            Thresholds::Given(rows) => {
                let row = if rows.len() == 1 {
                    &rows[0]
                } else {
                    &rows[channel]
                };
                row.iter()
                    .map(|&t| {
                        let t = Dyadic::from_f64(t);
                        first_true(lo, hi, |r| Dyadic::from_raw(r, frac) >= t)
                    })
                    .collect()
            }
            Thresholds::BatchNorm(b) => {
                vec![first_true(lo, hi, |r| b[channel].fires(r, frac))]
            }
            Thresholds::Requant(q) => {
                let q = if q.len() == 1 { &q[0] } else { &q[channel] };
                let (bottom, top) = q.range();
                // The result never falls as the input rises: each level's
                // first input is one binary search of the exact function.
                (bottom + 1..=top)
                    .map(|level| first_true(lo, hi, |r| q.apply_raw(r, frac) >= level))
                    .collect()
            }
        };
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_thresholds_count_ties_upward() {
        let t = Thresholds::Given(vec![vec![0.5, -0.25, 100.0, -100.0]]);
        // frac 2: raw r means r/4; range [-8, 8] is [-2, 2].
        assert_eq!(t.raw(0, 2, (-8, 8)), vec![-8, -1, 2, 9]);
        // 0.3 on a grid of 1/4 rounds up to 0.5 (raw 2).
        let t = Thresholds::Given(vec![vec![0.3]]);
        assert_eq!(t.raw(3, 2, (-8, 8)), vec![2]);
    }

    #[test]
    fn batchnorm_threshold_on_an_exact_tie() {
        // γ=2, β=−3, μ=1, σ²+ε=4: fires iff 2(z−1) − 3·2 ≥ 0 iff z ≥ 4.
        let b = BnThreshold {
            gamma: 2.0,
            beta: -3.0,
            mean: 1.0,
            var: 3.75,
            epsilon: 0.25,
            flipped: false,
        };
        let t = Thresholds::BatchNorm(vec![b.clone()]);
        assert_eq!(t.raw(0, 0, (-20, 20)), vec![4]);
        // frac 1: z = r/2 ≥ 4 iff r ≥ 8.
        assert_eq!(t.raw(0, 1, (-20, 20)), vec![8]);
        // Flipped (γ<0 in the model, row negated): |γ|(z+1) − 6 ≥ 0 iff z ≥ 2.
        let f = BnThreshold {
            flipped: true,
            ..b.clone()
        };
        assert_eq!(Thresholds::BatchNorm(vec![f]).raw(0, 0, (-20, 20)), vec![2]);
        // γ = 0: constant by the sign of β; clamps to the range ends.
        let z = BnThreshold {
            gamma: 0.0,
            beta: 0.0,
            ..b
        };
        assert_eq!(Thresholds::BatchNorm(vec![z]).raw(0, 0, (-5, 5)), vec![-5]);
    }
}
