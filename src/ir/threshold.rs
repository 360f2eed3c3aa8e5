//! Exact thresholds: the smallest raw input at which a threshold step
//! counts. Given thresholds are real numbers (exact dyadics); batchnorm
//! thresholds involve √(σ²+ε), so they are decided by exact comparison,
//! never by rounding a float τ.

use super::{BnThreshold, Interval, Thresholds};
use crate::fixed::QuantMode;
use crate::fixed::dyadic::{Dyadic, plus_scaled_sqrt_nonneg};
use crate::fixed::requant::Requant;

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

/// A requantization as a product and a shift:
/// `clamp(⌊(r·m + b) / 2^k⌋, lo, max) − zero` on the raw input `r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MulShift {
    pub m: i128,
    pub b: i128,
    pub k: u32,
    /// The lowest code: `min`, or the zero point after a ReLU (whose
    /// flat part no line has).
    pub lo: i128,
}

impl Requant {
    /// The lowest code a `MulShift` of it clamps to.
    fn lowest_code(&self) -> i128 {
        (if self.relu {
            self.min.max(self.zero)
        } else {
            self.min
        }) as i128
    }
}

/// Widest multiplier `mul_shift` tries.
pub const MAX_MUL_BITS: u32 = 40;

/// The `MulShift` with the smallest shift that equals the exact
/// requantization `q` on every raw input in `range` at `frac`, given its
/// raw thresholds there (`Thresholds::raw`), if one with a multiplier
/// below 2^MAX_MUL_BITS exists.
///
/// Two non-decreasing step functions with the same levels are equal on
/// an interval exactly when each level is first reached at the same
/// input, so the check is per level, not per input: for multiplier `m`
/// each threshold bounds `b` from both sides, and any `b` in the
/// intersection of the bounds is exact. The multipliers tried at shift
/// `k` are the floor and ceiling of the real slope `mul·2^(k−frac)/scale`.
pub fn mul_shift(q: &Requant, frac: i32, range: Interval, ts: &[i128]) -> Option<MulShift> {
    let slope = Dyadic::from_f64(q.mul);
    let scale = Dyadic::from_f64(q.scale);
    for k in 0..=MAX_MUL_BITS + 24 {
        let a = slope.mul(&Dyadic::from_raw(1, frac - k as i32));
        let floor = i128::try_from(a.round_div(&scale, QuantMode::Trn)).ok()?;
        if floor >= 1 << MAX_MUL_BITS {
            return None;
        }
        for m in [floor, floor + 1].into_iter().filter(|&m| m >= 1) {
            if let Some(b) = offset_for(q, m, k, range, ts) {
                let lo = q.lowest_code();
                return Some(MulShift { m, b, k, lo });
            }
        }
    }
    None
}

/// An offset `b` that makes `⌊(r·m + b)/2^k⌋` reach each level at its
/// threshold, if one does (none on overflow).
fn offset_for(q: &Requant, m: i128, k: u32, (lo, hi): Interval, ts: &[i128]) -> Option<i128> {
    let (bottom, _) = q.range();
    let (mut b_lo, mut b_hi) = (i128::MIN, i128::MAX);
    for (i, &t) in ts.iter().enumerate() {
        // level bottom + 1 + i is the code bottom + 1 + i + zero
        let code = bottom + 1 + i as i128 + q.zero as i128;
        if code <= q.lowest_code() {
            // the clamp reaches it everywhere
            continue;
        }
        let target = code.checked_mul(1i128.checked_shl(k)?)?;
        // ⌊(r·m + b)/2^k⌋ ≥ code  ⇔  r·m + b ≥ target
        if t <= hi {
            // reached at t: b ≥ target − t·m
            b_lo = b_lo.max(target.checked_sub(t.max(lo).checked_mul(m)?)?);
        }
        if t > lo {
            // not reached at t − 1: b ≤ target − (t − 1)·m − 1
            let r = (t - 1).min(hi);
            b_hi = b_hi.min(target.checked_sub(r.checked_mul(m)?)?.checked_sub(1)?);
        }
    }
    (b_lo <= b_hi).then_some(if b_lo == i128::MIN { b_hi.min(0) } else { b_lo })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `⌊(r·m + b)/2^k⌋` clamped, against the exact requantization at
    /// every input of the interval: an independent enumeration, not the
    /// per-level argument `mul_shift` rests on.
    #[test]
    fn mul_shift_equals_the_exact_requantization_everywhere() {
        let mut rng = crate::vectors::Rng::new(7);
        let mut found = 0;
        for case in 0..400 {
            let bits = 2 + rng.below(7) as i64;
            let signed = rng.below(2) == 0;
            let (min, max) = if signed {
                (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
            } else {
                (0, (1 << bits) - 1)
            };
            let q = Requant {
                mul: (rng.range(1, 5000) as f64 * 1e-4) as f32 as f64,
                add: (rng.range(-300, 300) as f64 * 1e-3) as f32 as f64,
                relu: rng.below(3) == 0,
                scale: (rng.range(1, 1000) as f64 * 1e-3) as f32 as f64,
                zero: rng.range(min as i128, max as i128) as i64,
                min,
                max,
                mode: QuantMode::ALL[rng.below(7) as usize],
            };
            let frac = rng.range(-2, 6) as i32;
            let lo = rng.range(-3000, 0);
            let range = (lo, lo + rng.range(0, 3000));
            let ts = Thresholds::Requant(vec![q.clone()]).raw(0, frac, range);
            let Some(p) = mul_shift(&q, frac, range, &ts) else {
                // toward-zero truncation across zero (a double-width
                // step), or an exact tie a floor cannot split
                continue;
            };
            found += 1;
            for r in range.0..=range.1 {
                let floor = (r * p.m + p.b).div_euclid(1 << p.k);
                let got = floor.clamp(p.lo, max as i128) - q.zero as i128;
                assert_eq!(got, q.apply_raw(r, frac), "case {case} r {r}: {q:?} {p:?}");
            }
        }
        // a product and a shift almost always exist
        assert!(found > 360, "{found}");
    }

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
