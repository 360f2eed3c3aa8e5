//! Exact arithmetic on dyadic rationals `m · 2^e`. Every finite f64 is one,
//! and sums and products of dyadics stay dyadic, so decisions such as "is
//! this batchnorm output ≥ 0 at this input" can be made without rounding.

use super::{QuantMode, rounds_up};
use num_bigint::BigInt;
use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct Dyadic {
    m: BigInt,
    e: i64,
}

impl Dyadic {
    pub fn zero() -> Self {
        Dyadic {
            m: BigInt::from(0),
            e: 0,
        }
    }
    /// The exact value of a finite f64.
    pub fn from_f64(x: f64) -> Self {
        assert!(x.is_finite(), "dyadic from a non-finite value");
        if x == 0.0 {
            return Self::zero();
        }
        let bits = x.to_bits();
        let sign = if bits >> 63 == 1 { -1 } else { 1 };
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp - 1075)
        };
        Dyadic {
            m: BigInt::from(m) * sign,
            e,
        }
    }
    /// `raw · 2^-frac`.
    pub fn from_raw(raw: i128, frac: i32) -> Self {
        Dyadic {
            m: BigInt::from(raw),
            e: -(frac as i64),
        }
    }
    fn align(&self, o: &Dyadic) -> (BigInt, BigInt, i64) {
        let e = self.e.min(o.e);
        (
            self.m.clone() << (self.e - e) as usize,
            o.m.clone() << (o.e - e) as usize,
            e,
        )
    }
    pub fn add(&self, o: &Dyadic) -> Dyadic {
        let (a, b, e) = self.align(o);
        Dyadic { m: a + b, e }
    }
    pub fn neg(&self) -> Dyadic {
        Dyadic {
            m: -self.m.clone(),
            e: self.e,
        }
    }
    pub fn mul(&self, o: &Dyadic) -> Dyadic {
        Dyadic {
            m: &self.m * &o.m,
            e: self.e + o.e,
        }
    }
    /// `self / by` rounded to an integer by `mode`, for `by > 0`: the
    /// exact quotient of two dyadics is a rational, rounded here with
    /// integer division, never through a float.
    pub fn round_div(&self, by: &Dyadic, mode: QuantMode) -> BigInt {
        assert!(
            by.signum() == Ordering::Greater,
            "division by a non-positive dyadic"
        );
        let (n, d, _) = self.align(by);
        let (mut q, mut r) = (&n / &d, &n % &d);
        if r.sign() == num_bigint::Sign::Minus {
            q -= 1;
            r += &d;
        }
        // 0 <= r < d: the dropped part is r/d.
        let twice: BigInt = &r << 1usize;
        let qb = twice >= d;
        let below = if qb {
            twice != d
        } else {
            r.sign() != num_bigint::Sign::NoSign
        };
        let odd = q.bit(0);
        let neg = n.sign() == num_bigint::Sign::Minus;
        q + rounds_up(mode, neg, odd, qb, below) as i32
    }
    pub fn signum(&self) -> Ordering {
        self.m.sign().cmp(&num_bigint::Sign::NoSign)
    }
    pub fn abs(&self) -> Dyadic {
        if self.signum() == Ordering::Less {
            self.neg()
        } else {
            self.clone()
        }
    }
}

/// Equality of values, not of representations (3·2^-2 = 6·2^-3).
impl PartialEq for Dyadic {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Dyadic {}

impl PartialOrd for Dyadic {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Dyadic {
    fn cmp(&self, o: &Self) -> Ordering {
        let (a, b, _) = self.align(o);
        a.cmp(&b)
    }
}

/// Exactly whether `l + b·√v ≥ 0`, for `v ≥ 0`.
pub fn plus_scaled_sqrt_nonneg(l: &Dyadic, b: &Dyadic, v: &Dyadic) -> bool {
    let bb_v = b.mul(b).mul(v);
    match (l.signum(), b.signum()) {
        // Both terms ≥ 0.
        (Ordering::Greater | Ordering::Equal, Ordering::Greater | Ordering::Equal) => true,
        // l < 0 ≤ b√v: holds iff l² ≤ b²v.
        (Ordering::Less, Ordering::Greater | Ordering::Equal) => l.mul(l) <= bb_v,
        // b < 0 ≤ l: holds iff l² ≥ b²v.
        (Ordering::Greater | Ordering::Equal, Ordering::Less) => l.mul(l) >= bb_v,
        (Ordering::Less, Ordering::Less) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f64_round_trip_and_order() {
        for x in [0.0, 1.0, -1.5, 0.1, 1e-310, -3e300, 2.0f64.powi(-1074)] {
            let d = Dyadic::from_f64(x);
            assert_eq!(d.cmp(&Dyadic::zero()), x.partial_cmp(&0.0).unwrap(), "{x}");
        }
        assert!(Dyadic::from_f64(0.1).add(&Dyadic::from_f64(0.2)) != Dyadic::from_f64(0.3));
        assert_eq!(
            Dyadic::from_f64(0.5).add(&Dyadic::from_f64(0.25)),
            Dyadic::from_f64(0.75)
        );
        assert_eq!(Dyadic::from_raw(3, 2), Dyadic::from_f64(0.75));
    }

    proptest! {
        /// Against exact integer square roots: l + b·√v ≥ 0 on integers.
        #[test]
        fn sqrt_comparison_is_exact(l in -2000i64..2000, b in -50i64..50, r in 0i64..40, sq in any::<bool>()) {
            let v = if sq { r * r } else { r * r + 1 + r % 3 };
            let got = plus_scaled_sqrt_nonneg(
                &Dyadic::from_raw(l as i128, 0), &Dyadic::from_raw(b as i128, 0), &Dyadic::from_raw(v as i128, 0));
            if sq {
                // √v = r exactly, ties (l = −b·r) included.
                prop_assert_eq!(got, l + b * r >= 0);
            } else {
                // √v irrational: never a tie, and f64 is far more precise
                // than the smallest gap at these magnitudes.
                prop_assert_eq!(got, l as f64 + b as f64 * (v as f64).sqrt() >= 0.0);
            }
        }
    }
}
