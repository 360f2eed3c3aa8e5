//! The cast is checked against a deliberately different reference: exact
//! rational arithmetic with Euclidean division and explicit tie comparison,
//! and modular reduction with `rem_euclid`, on small enough values that
//! nothing can overflow in the reference itself.

use super::*;
use proptest::prelude::*;

/// Reference quantization of raw/2^d (d > 0) by rational comparison.
fn ref_quantize(raw: i128, d: u32, mode: QuantMode) -> i128 {
    let den = 1i128 << d;
    let fl = raw.div_euclid(den);
    let rem = raw.rem_euclid(den); // value = fl + rem/den
    let twice = 2 * rem;
    let tie = twice == den;
    let above = twice > den;
    let exact = rem == 0;
    let neg = raw < 0;
    let nearest_tie = |tie_up: bool| if above || (tie && tie_up) { fl + 1 } else { fl };
    match mode {
        QuantMode::Trn => fl,
        QuantMode::TrnZero => {
            if neg && !exact {
                fl + 1
            } else {
                fl
            }
        }
        QuantMode::Rnd => nearest_tie(true),
        QuantMode::RndZero => nearest_tie(neg),
        QuantMode::RndInf => nearest_tie(!neg),
        QuantMode::RndMinInf => nearest_tie(false),
        QuantMode::RndConv => nearest_tie(fl.rem_euclid(2) == 1),
    }
}

fn ref_overflow(q: i128, ty: &FixedType) -> i128 {
    let f = ty.format;
    let m = 1i128 << f.width;
    let (lo, hi) = if f.signed {
        (-(m / 2), m / 2 - 1)
    } else {
        (0, m - 1)
    };
    let lo_sym = if f.signed && f.width > 1 && ty.overflow == OverflowMode::SatSym {
        lo + 1
    } else {
        lo
    };
    match ty.overflow {
        OverflowMode::Wrap => {
            let r = q.rem_euclid(m);
            if f.signed && r > hi { r - m } else { r }
        }
        OverflowMode::Sat => q.clamp(lo, hi),
        OverflowMode::SatSym => q.clamp(lo_sym, hi),
        OverflowMode::SatZero => {
            if q < lo || q > hi {
                0
            } else {
                q
            }
        }
    }
}

fn arb_type(max_w: u32) -> impl Strategy<Value = FixedType> {
    (any::<bool>(), 1..=max_w, -8i32..=16, 0..7usize, 0..4usize).prop_map(|(s, w, f, q, o)| {
        FixedType::new(
            Format::new(s, w, f),
            QuantMode::ALL[q],
            OverflowMode::ALL[o],
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn cast_matches_rational_reference(raw in -(1i128 << 40)..(1i128 << 40), src_frac in -8i32..24, ty in arb_type(40)) {
        let d = src_frac - ty.format.frac;
        let q = if d > 0 { ref_quantize(raw, d as u32, ty.quant) } else { raw << (-d) };
        let expect = ref_overflow(q, &ty);
        let (got, ev) = cast(raw, src_frac, &ty);
        prop_assert_eq!(got, expect, "raw={} src_frac={} ty={}", raw, src_frac, ty);
        prop_assert!(ty.format.contains(got));
        prop_assert_eq!(ev.rounded, d > 0 && raw.rem_euclid(1i128 << d) != 0);
    }

    #[test]
    fn float_cast_matches_exact_cast(raw in -(1i64 << 40)..(1i64 << 40), src_frac in -4i32..30, ty in arb_type(48)) {
        // Every such raw/2^frac is an exact f64, so both paths see one value.
        let x = raw as f64 * 2f64.powi(-src_frac);
        prop_assert_eq!(cast_f64(x, &ty).0, cast(raw as i128, src_frac, &ty).0);
    }

    #[test]
    fn interval_image_is_sound(a in -(1i128 << 30)..(1i128 << 30), b in -(1i128 << 30)..(1i128 << 30), t in 0.0f64..1.0, src_frac in -4i32..12, ty in arb_type(24)) {
        let (lo, hi) = (a.min(b), a.max(b));
        let mid = lo + ((hi - lo) as f64 * t) as i128;
        let (ilo, ihi) = cast_interval(lo, hi, src_frac, &ty);
        let v = cast(mid, src_frac, &ty).0;
        prop_assert!(ilo <= v && v <= ihi, "{} not in [{}, {}]", v, ilo, ihi);
    }
}

#[test]
fn documented_examples() {
    let t = |s: &str| parse_type(s).unwrap();
    // 2.375 in fixed<8,4> is raw 38 at frac 4; to fixed<6,4> (frac 2): 9.5 quarter-steps
    let cases: [(&str, i128); 7] = [
        ("fixed<6,4,trn>", 9),
        ("fixed<6,4,trn_zero>", 9),
        ("fixed<6,4,rnd>", 10),
        ("fixed<6,4,rnd_zero>", 9),
        ("fixed<6,4,rnd_inf>", 10),
        ("fixed<6,4,rnd_min_inf>", 9),
        ("fixed<6,4,rnd_conv>", 10),
    ];
    for (ty, want) in cases {
        assert_eq!(cast(38, 4, &t(ty)).0, want, "{ty} of +2.375");
    }
    // -2.375: -9.5 quarter-steps
    let cases: [(&str, i128); 7] = [
        ("fixed<6,4,trn>", -10),
        ("fixed<6,4,trn_zero>", -9),
        ("fixed<6,4,rnd>", -9),
        ("fixed<6,4,rnd_zero>", -9),
        ("fixed<6,4,rnd_inf>", -10),
        ("fixed<6,4,rnd_min_inf>", -10),
        ("fixed<6,4,rnd_conv>", -10),
    ];
    for (ty, want) in cases {
        assert_eq!(cast(-38, 4, &t(ty)).0, want, "{ty} of -2.375");
    }
    // overflow of 9.0 into fixed<4,4> (range -8..7) and -9.0
    for (ty, pos, neg) in [
        ("fixed<4,4,trn,wrap>", -7, 7),
        ("fixed<4,4,trn,sat>", 7, -8),
        ("fixed<4,4,trn,sat_zero>", 0, 0),
        ("fixed<4,4,trn,sat_sym>", 7, -7),
    ] {
        assert_eq!(cast(9, 0, &t(ty)).0, pos, "{ty} of 9");
        assert_eq!(cast(-9, 0, &t(ty)).0, neg, "{ty} of -9");
    }
    // sat_sym never produces the most negative code, even without overflow
    assert_eq!(cast(-8, 0, &t("fixed<4,4,trn,sat_sym>")).0, -7);
    // rounding can carry into overflow: 7.75 rnd -> 8 -> saturates at 7
    assert_eq!(cast(31, 2, &t("fixed<4,4,rnd,sat>")).0, 7);
}

#[test]
fn parses_all_spellings() {
    let t = parse_type("fixed<16,6,rnd_conv,sat>").unwrap();
    assert_eq!(t.format, Format::new(true, 16, 10));
    assert_eq!(
        (t.quant, t.overflow),
        (QuantMode::RndConv, OverflowMode::Sat)
    );
    assert_eq!(
        parse_type("ap_ufixed<8, 4, AP_RND, AP_SAT>")
            .unwrap()
            .format,
        Format::new(false, 8, 4)
    );
    assert_eq!(
        parse_type("int<5>").unwrap().format,
        Format::new(true, 5, 0)
    );
    assert_eq!(
        parse_type("uint<3>").unwrap().format,
        Format::new(false, 3, 0)
    );
    // negative I and I > W are legal
    assert_eq!(parse_type("fixed<4,-2>").unwrap().format.frac, 6);
    assert_eq!(parse_type("fixed<4,9>").unwrap().format.frac, -5);
    for bad in [
        "fixed<0,1>",
        "fixed<200,1>",
        "fixed<8>",
        "float",
        "fixed<8,2,round>",
        "fixed<8,2,rnd,clip>",
        "fixed<8,2",
        "int<8,3,4,5>",
    ] {
        assert!(parse_type(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn interval_formats_are_minimal() {
    assert_eq!(
        Format::for_interval(0, 255, 0).unwrap(),
        Format::new(false, 8, 0)
    );
    assert_eq!(
        Format::for_interval(-128, 127, 3).unwrap(),
        Format::new(true, 8, 3)
    );
    assert_eq!(
        Format::for_interval(-129, 0, 0).unwrap(),
        Format::new(true, 9, 0)
    );
    assert_eq!(
        Format::for_interval(-1, 0, 0).unwrap(),
        Format::new(true, 1, 0)
    );
    assert_eq!(
        Format::for_interval(0, 0, 0).unwrap(),
        Format::new(false, 1, 0)
    );
}

/// 127 bits (MAX_WIDTH) is the widest format an interval gets, signed or
/// unsigned; one bit more is `None`, never a wider or a wrapped format.
#[test]
fn interval_formats_stop_at_the_widest() {
    let top = 1i128 << 126;
    assert_eq!(
        Format::for_interval(-top, top - 1, 0),
        Some(Format::new(true, MAX_WIDTH, 0))
    );
    assert_eq!(
        Format::for_interval(0, i128::MAX, 5),
        Some(Format::new(false, MAX_WIDTH, 5))
    );
    assert_eq!(Format::for_interval(-top - 1, 0, 0), None);
    assert_eq!(Format::for_interval(-1, i128::MAX, 0), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn caster_matches_cast(raw in -(1i128 << 63)..(1i128 << 63), src_frac in -8i32..70, ty in arb_type(60)) {
        prop_assert_eq!(Caster::new(src_frac, ty).apply(raw), cast(raw, src_frac, &ty).0);
    }
}

/// Quantization that drops 120 to 200 bits, down to and past every bit of
/// an i128 (|value| ≤ 1/2 from 128 on), in every mode, against the same
/// rational reference computed in big integers.
#[test]
fn quantize_dropping_every_bit_matches_big_integer_reference() {
    use num_bigint::BigInt;
    let half = 1i128 << 126;
    let raws = [
        i128::MIN,
        i128::MIN + 1,
        -half - 1,
        -half,
        -half + 1,
        -3,
        -1,
        0,
        1,
        half - 1,
        half,
        half + 1,
        i128::MAX,
    ];
    for d in [120u32, 126, 127, 128, 129, 130, 200] {
        for &raw in &raws {
            let r = BigInt::from(raw);
            // floor division by 2^d: BigInt's shift rounds toward −∞
            let fl = &r >> d as usize;
            let rem = &r - (&fl << d as usize);
            let twice: BigInt = rem.clone() * 2;
            let den = BigInt::from(1) << d as usize;
            let (tie, above) = (twice == den, twice > den);
            let fl = i128::try_from(fl).unwrap();
            let neg = raw < 0;
            let exact = rem == BigInt::from(0);
            let nearest = |tie_up: bool| fl + (above || (tie && tie_up)) as i128;
            for mode in QuantMode::ALL {
                let want = match mode {
                    QuantMode::Trn => fl,
                    QuantMode::TrnZero => fl + (neg && !exact) as i128,
                    QuantMode::Rnd => nearest(true),
                    QuantMode::RndZero => nearest(neg),
                    QuantMode::RndInf => nearest(!neg),
                    QuantMode::RndMinInf => nearest(false),
                    QuantMode::RndConv => nearest(fl.rem_euclid(2) == 1),
                };
                let got = quantize(raw, d as i32, 0, mode);
                assert_eq!(got, Some((want, !exact)), "{mode:?} of {raw} / 2^{d}");
            }
        }
    }
}

/// A left shift beyond every i128 (the source's LSB 2^200 above the
/// target's): saturating types take the bound of the value's sign, wrap
/// and sat_zero give 0 (every kept bit is a shifted-in zero).
#[test]
fn casts_shifted_past_every_bit_saturate_by_sign() {
    let ty = |o: OverflowMode| FixedType::new(Format::new(true, 8, 0), QuantMode::Trn, o);
    for (raw, sat) in [
        (-1i128, -128i128),
        (1, 127),
        (i128::MIN, -128),
        (i128::MAX, 127),
    ] {
        assert_eq!(
            cast(raw, -200, &ty(OverflowMode::Sat)).0,
            sat,
            "sat of {raw}"
        );
        assert_eq!(
            cast(raw, -200, &ty(OverflowMode::SatSym)).0,
            sat.max(-127),
            "sat_sym of {raw}"
        );
        assert_eq!(
            cast(raw, -200, &ty(OverflowMode::Wrap)).0,
            0,
            "wrap of {raw}"
        );
        assert_eq!(
            cast(raw, -200, &ty(OverflowMode::SatZero)).0,
            0,
            "sat_zero of {raw}"
        );
    }
}
