//! QONNX's `Quant` with a real (not power-of-two) scale, applied to an
//! exact value: `clamp(R(f(mul·x + add)/scale + zero), min, max) − zero`.
//!
//! Brevitas' float-scale quantizers export as such nodes. The scale of the
//! tensor feeding the quantizer (a weight scale times an activation scale)
//! is `mul`, a bias still in real units is `add`, and `f` is an optional
//! ReLU met on the way. Every parameter is a finite f64, hence an exact
//! dyadic, so the result is decided with exact rationals: the same
//! definition serves the golden model, the host's quantization of real
//! input samples and the thresholds the hardware compares with.

use super::QuantMode;
use super::dyadic::Dyadic;
use num_bigint::BigInt;
use std::cmp::Ordering;

/// One channel of a requantization. The result is `q − zero`, an integer
/// in `[min − zero, max − zero]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Requant {
    /// The input's real value per unit; positive, so the result never
    /// falls as the input rises.
    pub mul: f64,
    /// Added in real units, after `mul`.
    pub add: f64,
    /// `max(·, 0)` before dividing by the scale.
    pub relu: bool,
    /// The quantizer's scale, positive.
    pub scale: f64,
    pub zero: i64,
    pub min: i64,
    pub max: i64,
    pub mode: QuantMode,
}

impl Requant {
    /// Why the parameters do not describe a requantization, if they do not.
    pub fn check(&self) -> Result<(), String> {
        let finite = [self.mul, self.add, self.scale]
            .iter()
            .all(|v| v.is_finite());
        if !finite {
            return Err("mul, add and scale must be finite".into());
        }
        if self.mul <= 0.0 || self.scale <= 0.0 {
            return Err(format!(
                "mul ({}) and scale ({}) must be positive",
                self.mul, self.scale
            ));
        }
        if self.min > self.max || !(self.min..=self.max).contains(&self.zero) {
            return Err(format!(
                "needs min ≤ zero point ≤ max, got {} ≤ {} ≤ {}",
                self.min, self.zero, self.max
            ));
        }
        Ok(())
    }

    /// The result for the exact input `x`.
    pub fn apply(&self, x: &Dyadic) -> i128 {
        let d = Dyadic::from_f64;
        let mut v = d(self.mul).mul(x).add(&d(self.add));
        if self.relu && v.signum() == Ordering::Less {
            v = Dyadic::zero();
        }
        // R(v/s + z) = R((v + z·s)/s): the zero point is added before
        // rounding, which matters for ties (R(0.5) + 1 ≠ R(1.5)).
        let s = d(self.scale);
        let u = v.add(&s.mul(&Dyadic::from_raw(self.zero as i128, 0)));
        let q = u.round_div(&s, self.mode);
        let q = q.clamp(BigInt::from(self.min), BigInt::from(self.max));
        i128::try_from(q).expect("clamped to i64") - self.zero as i128
    }

    /// The result for `raw · 2^-frac`.
    pub fn apply_raw(&self, raw: i128, frac: i32) -> i128 {
        self.apply(&Dyadic::from_raw(raw, frac))
    }

    /// The lowest and highest results.
    pub fn range(&self) -> (i128, i128) {
        let z = self.zero as i128;
        (self.min as i128 - z, self.max as i128 - z)
    }

    /// The same in f64, as a float executor computes it: used by the float
    /// reference only.
    pub fn apply_f64(&self, x: f64) -> f64 {
        let mut v = self.mul * x + self.add;
        if self.relu {
            v = v.max(0.0);
        }
        let u = v / self.scale + self.zero as f64;
        let q = round_f64(u, self.mode);
        q.clamp(self.min as f64, self.max as f64) - self.zero as f64
    }
}

/// `u` rounded by `mode` in f64 (exact: rounding to an integer needs no
/// new bits).
fn round_f64(u: f64, mode: QuantMode) -> f64 {
    let fl = u.floor();
    let rest = u - fl;
    let neg = u < 0.0;
    let odd = fl.rem_euclid(2.0) == 1.0;
    let up = super::rounds_up(mode, neg, odd, rest >= 0.5, rest != 0.0 && rest != 0.5);
    fl + up as i32 as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::quantize;
    use proptest::prelude::*;

    const MODES: [QuantMode; 7] = QuantMode::ALL;

    proptest! {
        /// With a power-of-two divisor the rational rounding is the
        /// fixed-point cast, which shifts bits: two independent routes.
        #[test]
        fn power_of_two_division_is_the_cast(raw in -5000i128..5000, k in 0i32..12, m in 0usize..7) {
            let mode = MODES[m];
            let got = Dyadic::from_raw(raw, 0).round_div(&Dyadic::from_raw(1, -k), mode);
            let want = quantize(raw, k, 0, mode).unwrap().0;
            prop_assert_eq!(got, BigInt::from(want));
        }

        /// Against integer arithmetic written out: n/d for a positive
        /// integer d, by mode, from floor division and the remainder.
        #[test]
        fn division_by_any_integer(n in -3000i64..3000, d in 1i64..97, m in 0usize..7) {
            let mode = MODES[m];
            let fl = n.div_euclid(d);
            let r2 = 2 * n.rem_euclid(d);
            let up = match mode {
                QuantMode::Trn => false,
                QuantMode::TrnZero => n < 0 && r2 != 0,
                QuantMode::Rnd => r2 >= d,
                QuantMode::RndZero => r2 > d || (r2 == d && n < 0),
                QuantMode::RndInf => r2 > d || (r2 == d && n > 0),
                QuantMode::RndMinInf => r2 > d,
                QuantMode::RndConv => r2 > d || (r2 == d && fl % 2 != 0),
            };
            let got = Dyadic::from_raw(n as i128, 0).round_div(&Dyadic::from_raw(d as i128, 0), mode);
            prop_assert_eq!(got, BigInt::from(fl + up as i64));
        }
    }

    #[test]
    fn the_zero_point_is_added_before_rounding() {
        // 0.5/1 + 1 = 1.5 rounds to even 2, so the result is 2 − 1 = 1;
        // rounding first would give R(0.5) + 1 − 1 = 0.
        let r = Requant {
            mul: 1.0,
            add: 0.0,
            relu: false,
            scale: 1.0,
            zero: 1,
            min: 0,
            max: 255,
            mode: QuantMode::RndConv,
        };
        assert_eq!(r.apply_raw(1, 1), 1);
        assert_eq!(r.apply_raw(-1, 1), -1);
        // Below min − zero: clamped.
        assert_eq!(r.apply_raw(-100, 0), -1);
        assert_eq!(r.range(), (-1, 254));
        let relu = Requant {
            relu: true,
            ..r.clone()
        };
        assert_eq!(relu.apply_raw(-100, 0), 0);
    }

    #[test]
    fn a_float32_scale_is_decided_exactly() {
        // 0.1f32 is slightly above 0.1, so x = 0.25 is just below 2.5
        // scale units and rounds to 2 under every tie rule.
        let s = 0.1f32 as f64;
        let r = Requant {
            mul: 1.0,
            add: 0.0,
            relu: false,
            scale: s,
            zero: 0,
            min: -128,
            max: 127,
            mode: QuantMode::RndInf,
        };
        assert_eq!(r.apply_raw(1, 2), 2);
        // 2.5·s exactly is a tie: away from zero, 3; to even, 2.
        let tie = Dyadic::from_f64(s).mul(&Dyadic::from_raw(5, 1));
        assert_eq!(r.apply(&tie), 3);
        let even = Requant {
            mode: QuantMode::RndConv,
            ..r.clone()
        };
        assert_eq!(even.apply(&tie), 2);
        assert!(r.check().is_ok());
        assert!(
            Requant {
                scale: 0.0,
                ..r.clone()
            }
            .check()
            .is_err()
        );
        assert!(Requant { zero: 200, ..r }.check().is_err());
    }
}
