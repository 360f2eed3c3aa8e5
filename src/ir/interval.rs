//! Exact interval arithmetic on raw integers, shared by precision inference
//! (which sizes nodes) and the Verilog back end (which sizes the wires
//! inside a node). Both must agree bit for bit, so there is one copy.
//! Every function returns `None` when a bound leaves i128.

use super::Interval;

/// `[lo, hi] · c`.
pub fn scale(r: Interval, c: i128) -> Option<Interval> {
    let a = r.0.checked_mul(c)?;
    let b = r.1.checked_mul(c)?;
    Some((a.min(b), a.max(b)))
}

pub fn add(a: Interval, b: Interval) -> Option<Interval> {
    Some((a.0.checked_add(b.0)?, a.1.checked_add(b.1)?))
}

/// `[lo, hi] · 2^s`.
pub fn shl(r: Interval, s: u32) -> Option<Interval> {
    scale(r, 1i128.checked_shl(s).filter(|&m| m > 0)?)
}

/// The smallest interval holding both.
pub fn hull(a: Interval, b: Interval) -> Interval {
    (a.0.min(b.0), a.1.max(b.1))
}

/// A clamp of `x · 2^shift` to optional bounds, where a bound is present
/// only when the input can cross it (a bound that never bites costs no
/// comparator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamp {
    pub shift: u32,
    pub lo: Option<i128>,
    pub hi: Option<i128>,
    /// The result's interval, at the input's fraction plus `shift`.
    pub out: Interval,
}

fn clamp(r: Interval, shift: u32, lo: Option<i128>, hi: Option<i128>) -> Option<Clamp> {
    let (l, h) = shl(r, shift)?;
    let lo = lo.filter(|&b| l < b);
    let hi = hi.filter(|&b| h > b);
    let c = |v: i128| {
        let v = lo.map_or(v, |b| v.max(b));
        hi.map_or(v, |b| v.min(b))
    };
    Some(Clamp {
        shift,
        lo,
        hi,
        out: (c(l), c(h)),
    })
}

/// ReLU at the input's own fraction.
pub fn relu(r: Interval) -> Clamp {
    clamp(r, 0, Some(0), None).expect("no shift, no overflow")
}

/// Leaky ReLU with raw slope `a` at `fa` fractional bits: the result has
/// `frac + fa` fractional bits, the positive part shifted by `fa`, the
/// negative part multiplied by `a`.
pub fn leaky_relu(r: Interval, a: i128, fa: u32) -> Option<Interval> {
    let pos = if r.1 >= 0 {
        Some(shl((r.0.max(0), r.1), fa)?)
    } else {
        None
    };
    let neg = if r.0 < 0 {
        Some(scale((r.0, r.1.min(-1)), a)?)
    } else {
        None
    };
    match (pos, neg) {
        (Some(p), Some(q)) => Some(hull(p, q)),
        (p, q) => p.or(q),
    }
}

/// Hard tanh, clamp to [−1, 1]. One must be representable, so an input
/// with negative `frac` is first shifted to `frac` 0; the result is at
/// fraction `max(frac, 0)`.
pub fn hard_tanh(r: Interval, frac: i32) -> Option<Clamp> {
    let shift = (frac.max(0) - frac) as u32;
    // Beyond i128, ±1 lies outside every value of the format: no bounds.
    let one = 1i128.checked_shl(frac.max(0) as u32).filter(|&m| m > 0);
    clamp(r, shift, one.map(|o| -o), one)
}

/// Hard sigmoid on raw `x`: `clamp(x · slope + offset, 0, one)`, all on
/// the result's grid; `None` past i128.
pub fn hard_sigmoid(r: Interval, slope: i128, offset: i128, one: i128) -> Option<Clamp> {
    let affine = add(scale(r, slope)?, (offset, offset))?;
    clamp(affine, 0, Some(0), Some(one))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The exact image of `[lo, hi]` under `f`, by enumeration.
    fn image(r: Interval, f: impl Fn(i128) -> i128) -> Interval {
        let v: Vec<i128> = (r.0..=r.1).map(f).collect();
        (*v.iter().min().unwrap(), *v.iter().max().unwrap())
    }

    proptest! {
        #[test]
        fn activations_are_exact(lo in -300i128..300, len in 0i128..300,
                                 a in -40i128..40, fa in 0u32..5, frac in -3i32..6) {
            let r = (lo, lo + len);
            prop_assert_eq!(relu(r).out, image(r, |x| x.max(0)));
            prop_assert_eq!(leaky_relu(r, a, fa).unwrap(),
                image(r, |x| if x >= 0 { x << fa } else { x * a }));
            let c = hard_tanh(r, frac).unwrap();
            let one = 1i128 << frac.max(0);
            prop_assert_eq!(c.out, image(r, |x| (x << c.shift).clamp(-one, one)));
            // A bound is kept exactly when some input crosses it.
            let (l, h) = image(r, |x| x << c.shift);
            prop_assert_eq!(c.lo.is_some(), l < -one);
            prop_assert_eq!(c.hi.is_some(), h > one);
            // hard sigmoid: slope a, offset lo, one 2^fa
            let (off, one) = (lo, 1i128 << fa);
            let s = hard_sigmoid(r, a, off, one).unwrap();
            prop_assert_eq!(s.out, image(r, |x| (x * a + off).clamp(0, one)));
            let (l, h) = image(r, |x| x * a + off);
            prop_assert_eq!((s.lo.is_some(), s.hi.is_some()), (l < 0, h > one));
        }
    }
}
