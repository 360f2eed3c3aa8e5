//! Fixed-point semantics: the single source of truth.
//!
//! Everything in neurtl that rounds, saturates or sizes a value goes through
//! this module: the model front end (quantizing float weights), the passes
//! (folding constants, interval analysis) and the golden model (run time).
//! The Verilog primitive `rtl/nt_quant.v` is its hardware mirror, and the
//! end-to-end tests prove the mirror against this code.
//!
//! A value is always an integer `raw` with an explicit number of fractional
//! bits `frac`: `value = raw · 2^(-frac)`. `frac` may be negative (the LSB
//! weighs more than one) or larger than the width, exactly as ap_fixed allows.
//!
//! A cast works on the exact value in two steps, as ap_fixed does: first the
//! quantization mode picks an integer on the target grid, then the overflow
//! mode brings that integer into the target range. Every mode is defined on
//! the real value, so the result never depends on how the source was stored.

pub mod dyadic;
mod parse;
pub mod requant;

pub use parse::{ParseTypeError, parse_type};

use std::fmt;

/// Widest value neurtl represents, declared or inferred. Signed values of
/// this width fit an `i128`, unsigned ones too (2^127 − 1 = i128::MAX).
pub const MAX_WIDTH: u32 = 127;

/// How excess fractional bits are removed (ap_fixed's `ap_q_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantMode {
    /// Toward −∞ (drop the bits).
    Trn,
    /// Toward zero.
    TrnZero,
    /// To nearest, ties toward +∞.
    Rnd,
    /// To nearest, ties toward zero.
    RndZero,
    /// To nearest, ties away from zero.
    RndInf,
    /// To nearest, ties toward −∞.
    RndMinInf,
    /// To nearest, ties to even.
    RndConv,
}

/// What happens to a value outside the target range (ap_fixed's `ap_o_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowMode {
    /// Keep the low `width` bits (two's complement wrap-around).
    Wrap,
    /// Clamp to the nearest representable value.
    Sat,
    /// Any out-of-range value becomes zero.
    SatZero,
    /// Clamp to a range symmetric around zero: signed types lose their most
    /// negative code, as ap_fixed's AP_SAT_SYM does; for unsigned types this
    /// is `Sat`.
    SatSym,
}

impl QuantMode {
    pub const ALL: [QuantMode; 7] = [
        QuantMode::Trn,
        QuantMode::TrnZero,
        QuantMode::Rnd,
        QuantMode::RndZero,
        QuantMode::RndInf,
        QuantMode::RndMinInf,
        QuantMode::RndConv,
    ];
    pub fn name(self) -> &'static str {
        match self {
            QuantMode::Trn => "trn",
            QuantMode::TrnZero => "trn_zero",
            QuantMode::Rnd => "rnd",
            QuantMode::RndZero => "rnd_zero",
            QuantMode::RndInf => "rnd_inf",
            QuantMode::RndMinInf => "rnd_min_inf",
            QuantMode::RndConv => "rnd_conv",
        }
    }
    /// The code the Verilog primitive `nt_quant` takes as its QMODE parameter.
    pub fn code(self) -> u32 {
        Self::ALL.iter().position(|m| *m == self).unwrap() as u32
    }
}

impl OverflowMode {
    pub const ALL: [OverflowMode; 4] = [
        OverflowMode::Wrap,
        OverflowMode::Sat,
        OverflowMode::SatZero,
        OverflowMode::SatSym,
    ];
    pub fn name(self) -> &'static str {
        match self {
            OverflowMode::Wrap => "wrap",
            OverflowMode::Sat => "sat",
            OverflowMode::SatZero => "sat_zero",
            OverflowMode::SatSym => "sat_sym",
        }
    }
    /// The code the Verilog primitive `nt_quant` takes as its OMODE parameter.
    pub fn code(self) -> u32 {
        Self::ALL.iter().position(|m| *m == self).unwrap() as u32
    }
}

/// The storage format of a value: signedness, width and binary point.
/// Carries no rounding or overflow behaviour: that belongs to a cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Format {
    pub signed: bool,
    pub width: u32,
    /// Number of fractional bits (W − I in ap_fixed terms); may be negative.
    pub frac: i32,
}

impl Format {
    pub fn new(signed: bool, width: u32, frac: i32) -> Self {
        Format {
            signed,
            width,
            frac,
        }
    }
    /// Integer bits including the sign bit, ap_fixed's `I`.
    pub fn int_bits(&self) -> i32 {
        self.width as i32 - self.frac
    }
    /// Smallest raw value.
    pub fn min_raw(&self) -> i128 {
        if self.signed {
            -(1i128 << (self.width - 1))
        } else {
            0
        }
    }
    /// Largest raw value.
    pub fn max_raw(&self) -> i128 {
        if self.signed {
            (1i128 << (self.width - 1)) - 1
        } else if self.width >= 127 {
            i128::MAX
        } else {
            (1i128 << self.width) - 1
        }
    }
    pub fn contains(&self, raw: i128) -> bool {
        raw >= self.min_raw() && raw <= self.max_raw()
    }
    /// The narrowest format with this `frac` that holds every value of
    /// `[lo, hi]` (raw integers at this `frac`). Unsigned when `lo ≥ 0`.
    pub fn for_interval(lo: i128, hi: i128, frac: i32) -> Option<Format> {
        debug_assert!(lo <= hi);
        let signed = lo < 0;
        let need = |v: i128| -> u32 {
            if signed {
                // bits for v in two's complement
                if v >= 0 {
                    129 - v.leading_zeros()
                } else {
                    129 - (!v).leading_zeros()
                }
            } else {
                (128 - v.leading_zeros()).max(1)
            }
        };
        let width = need(lo).max(need(hi)).max(1);
        if width > MAX_WIDTH {
            return None;
        }
        Some(Format::new(signed, width, frac))
    }
    /// Real value of a raw integer in this format.
    pub fn to_f64(&self, raw: i128) -> f64 {
        raw as f64 * (2f64).powi(-self.frac)
    }
    /// Reinterpret the low `width` bits of `bits` as a raw value.
    pub fn from_bits(&self, bits: u128) -> i128 {
        let w = self.width;
        let masked = if w >= 128 {
            bits
        } else {
            bits & ((1u128 << w) - 1)
        };
        if self.signed && w < 128 && (masked >> (w - 1)) & 1 == 1 {
            (masked as i128) - (1i128 << (w - 1)) * 2
        } else {
            masked as i128
        }
    }
    /// The two's-complement bits of a raw value, `width` bits wide.
    pub fn to_bits(&self, raw: i128) -> u128 {
        let w = self.width;
        if w >= 128 {
            raw as u128
        } else {
            (raw as u128) & ((1u128 << w) - 1)
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = if self.signed { "" } else { "u" };
        write!(f, "{u}fixed<{},{}>", self.width, self.int_bits())
    }
}

/// A cast target: a format plus its quantization and overflow behaviour.
/// This is what the model's type strings (`fixed<16,6,rnd,sat>`) denote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FixedType {
    pub format: Format,
    pub quant: QuantMode,
    pub overflow: OverflowMode,
}

impl FixedType {
    pub fn new(format: Format, quant: QuantMode, overflow: OverflowMode) -> Self {
        FixedType {
            format,
            quant,
            overflow,
        }
    }
    /// A type with ap_fixed's defaults (`trn`, `wrap`).
    pub fn plain(format: Format) -> Self {
        FixedType::new(format, QuantMode::Trn, OverflowMode::Wrap)
    }
    /// The range a cast into this type can produce, in raw units.
    pub fn result_range(&self) -> (i128, i128) {
        let f = &self.format;
        match self.overflow {
            // One signed bit holds only -1 and 0: ap_fixed saturates to
            // -1 there, the one negative code there is.
            OverflowMode::SatSym if f.signed && f.width > 1 => (f.min_raw() + 1, f.max_raw()),
            _ => (f.min_raw(), f.max_raw()),
        }
    }
}

impl fmt::Display for FixedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fm = &self.format;
        let u = if fm.signed { "" } else { "u" };
        write!(f, "{u}fixed<{},{}", fm.width, fm.int_bits())?;
        if self.quant != QuantMode::Trn || self.overflow != OverflowMode::Wrap {
            write!(f, ",{}", self.quant.name())?;
        }
        if self.overflow != OverflowMode::Wrap {
            write!(f, ",{}", self.overflow.name())?;
        }
        write!(f, ">")
    }
}

/// What a cast did to one value: used for reporting, never for the result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CastEvents {
    /// The value was not on the target grid.
    pub rounded: bool,
    /// The quantized value fell outside the target range.
    pub overflowed: bool,
}

/// Round `raw · 2^-src_frac` onto the grid `2^-dst_frac` with `mode`.
/// Returns an integer at `dst_frac`, without any range limit, or `None` if
/// it does not fit an i128 (only possible for absurd left shifts).
pub fn quantize(raw: i128, src_frac: i32, dst_frac: i32, mode: QuantMode) -> Option<(i128, bool)> {
    let d = src_frac as i64 - dst_frac as i64;
    if d <= 0 {
        let sh = (-d) as u32;
        if raw == 0 {
            return Some((0, false));
        }
        if sh >= 127 {
            return None;
        }
        let v = raw.checked_shl(sh)?;
        if v >> sh != raw {
            return None;
        }
        return Some((v, false));
    }
    let d = d as u32;
    let neg = raw < 0;
    // floor(raw / 2^d), and the dropped bits split into the half bit `qb`
    // and the rest `r`, exactly the pieces ap_fixed's quantization looks at.
    let (floor, qb, r) = if d >= 128 {
        // Every stored bit is dropped and |value| <= 1/2. A negative raw
        // leaves remainder 2^d - |raw|, which always has the half bit set and
        // has lower bits unless |raw| is exactly 2^(d-1).
        if neg {
            (-1, true, !(d == 128 && raw == i128::MIN))
        } else {
            (0, false, raw != 0)
        }
    } else {
        let floor = raw >> d;
        let rem = raw.wrapping_sub(floor.wrapping_shl(d)) as u128; // 0 <= rem < 2^d
        let half = 1u128 << (d - 1);
        (floor, rem & half != 0, rem & (half - 1) != 0)
    };
    let up = rounds_up(mode, neg, floor & 1 == 1, qb, r);
    Some((floor + up as i128, qb || r))
}

/// Whether `mode` takes a value above its floor: `neg` is the value's
/// sign, `odd` the floor's parity, `qb` whether the dropped part is at
/// least one half and `r` whether anything of it lies below the half.
/// Shared by every rounding in the crate, so all round alike.
pub fn rounds_up(mode: QuantMode, neg: bool, odd: bool, qb: bool, r: bool) -> bool {
    match mode {
        QuantMode::Trn => false,
        QuantMode::TrnZero => neg && (qb || r),
        QuantMode::Rnd => qb,
        QuantMode::RndZero => qb && (neg || r),
        QuantMode::RndInf => qb && (!neg || r),
        QuantMode::RndMinInf => qb && r,
        QuantMode::RndConv => qb && (odd || r),
    }
}

/// Bring an integer into `ty`'s range according to its overflow mode.
pub fn overflow(q: i128, ty: &FixedType) -> (i128, bool) {
    let f = &ty.format;
    let (lo, hi) = ty.result_range();
    if q >= lo && q <= hi {
        return (q, false);
    }
    let v = match ty.overflow {
        OverflowMode::Wrap => f.from_bits(q as u128),
        OverflowMode::Sat | OverflowMode::SatSym => {
            if q < lo {
                lo
            } else {
                hi
            }
        }
        OverflowMode::SatZero => 0,
    };
    (v, true)
}

/// Cast `raw · 2^-src_frac` into `ty`: quantize, then handle overflow.
/// The one cast used by the compiler, the golden model and the tests.
pub fn cast(raw: i128, src_frac: i32, ty: &FixedType) -> (i128, CastEvents) {
    match quantize(raw, src_frac, ty.format.frac, ty.quant) {
        Some((q, rounded)) => {
            let (v, overflowed) = overflow(q, ty);
            (
                v,
                CastEvents {
                    rounded,
                    overflowed,
                },
            )
        }
        None => {
            // The shifted value is beyond i128: far outside any format we
            // allow. Its low bits are all zero (it is a huge left shift), so
            // wrap gives 0; saturation follows the sign.
            let f = &ty.format;
            let (lo, hi) = ty.result_range();
            let v = match ty.overflow {
                OverflowMode::Wrap | OverflowMode::SatZero => 0,
                OverflowMode::Sat | OverflowMode::SatSym => {
                    if raw < 0 {
                        lo
                    } else {
                        hi
                    }
                }
            };
            let _ = f;
            (
                v,
                CastEvents {
                    rounded: false,
                    overflowed: true,
                },
            )
        }
    }
}

/// An f64 split exactly into `mantissa · 2^exp`.
pub fn f64_parts(x: f64) -> (i128, i32) {
    if x == 0.0 {
        return (0, 0);
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { -1 } else { 1 };
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac_bits = (bits & ((1u64 << 52) - 1)) as i128;
    let (m, e) = if exp_bits == 0 {
        (frac_bits, -1074)
    } else {
        (frac_bits | (1i128 << 52), exp_bits - 1075)
    };
    (sign * m, e)
}

/// Quantize a finite float into `ty` exactly (no float rounding on the way).
pub fn cast_f64(x: f64, ty: &FixedType) -> (i128, CastEvents) {
    debug_assert!(x.is_finite());
    let (m, e) = f64_parts(x);
    // value = m · 2^e = m · 2^-(-e)
    cast(m, -e, ty)
}

/// `[lo, hi]` image of an interval under a cast into `ty`. Casts are
/// monotone except where wrap or sat_zero actually trigger; then the whole
/// result range is the only sound answer.
pub fn cast_interval(lo: i128, hi: i128, src_frac: i32, ty: &FixedType) -> (i128, i128) {
    // one value casts to one value, even where it wraps: a constant stays
    // a constant (and is folded), never the type's whole range
    if lo == hi {
        let v = cast(lo, src_frac, ty).0;
        return (v, v);
    }
    let q = |v| quantize(v, src_frac, ty.format.frac, ty.quant);
    let (rlo, rhi) = ty.result_range();
    match (q(lo), q(hi)) {
        (Some((a, _)), Some((b, _))) if a >= rlo && b <= rhi => (a, b),
        (Some((a, _)), Some((b, _)))
            if ty.overflow == OverflowMode::Sat || ty.overflow == OverflowMode::SatSym =>
        {
            (a.clamp(rlo, rhi), b.clamp(rlo, rhi))
        }
        _ => (rlo, rhi),
    }
}

#[cfg(test)]
mod tests;

/// A cast with its constants worked out once, for the golden model's inner
/// loops. Same results as [`cast`] (a property test checks every mode);
/// values that fit an i64 take a short path.
#[derive(Debug, Clone, Copy)]
pub struct Caster {
    src_frac: i32,
    ty: FixedType,
    /// Dropped bits (> 0) when the fast path applies.
    d: u32,
    lo: i64,
    hi: i64,
    fast: bool,
}

impl Caster {
    pub fn new(src_frac: i32, ty: FixedType) -> Self {
        let d = src_frac as i64 - ty.format.frac as i64;
        let (lo, hi) = ty.result_range();
        let fast = (1..=60).contains(&d) && ty.format.width <= 62;
        Caster {
            src_frac,
            ty,
            d: d.max(0) as u32,
            lo: lo as i64,
            hi: hi as i64,
            fast,
        }
    }

    #[inline]
    pub fn apply(&self, raw: i128) -> i128 {
        if !self.fast || raw.unsigned_abs() >= 1 << 62 {
            return cast(raw, self.src_frac, &self.ty).0;
        }
        let raw = raw as i64;
        let d = self.d;
        let floor = raw >> d;
        let rem = (raw - (floor << d)) as u64;
        let half = 1u64 << (d - 1);
        let qb = rem & half != 0;
        let r = rem & (half - 1) != 0;
        let neg = raw < 0;
        let up = match self.ty.quant {
            QuantMode::Trn => false,
            QuantMode::TrnZero => neg && (qb || r),
            QuantMode::Rnd => qb,
            QuantMode::RndZero => qb && (neg || r),
            QuantMode::RndInf => qb && (!neg || r),
            QuantMode::RndMinInf => qb && r,
            QuantMode::RndConv => qb && (floor & 1 == 1 || r),
        };
        let q = floor + up as i64;
        if q >= self.lo && q <= self.hi {
            return q as i128;
        }
        overflow(q as i128, &self.ty).0
    }
}
