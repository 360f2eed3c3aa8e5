//! Activations by table: `sigmoid`, `tanh`, `gelu`, `silu`, `softplus`,
//! `exp` and `reciprocal`, each a read-only memory over its input's own
//! fixed-point grid.
//!
//! The table covers the codes the input can take (its exact interval, not
//! its format). When more than `2^bits` codes are reachable, the lowest
//! `drop` bits are dropped first (an arithmetic shift right, so a bucket
//! of `2^drop` neighbouring codes shares one entry) with `drop` the
//! smallest that leaves at most `2^bits` buckets. Each entry is the f64
//! function at the bucket's midpoint (the code itself when nothing is
//! dropped), cast to the output type with its quantization and overflow
//! modes by `fixed::cast_f64`. The golden model, the datapath and the
//! printed ROM read this one `Rom`.

use crate::fixed::{FixedType, cast_f64};
use crate::ir::Interval;

/// The functions a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFn {
    Sigmoid,
    Tanh,
    /// `x · Φ(x)`, Φ the normal distribution function (the exact GELU,
    /// not its tanh approximation).
    Gelu,
    /// `x · sigmoid(x)`.
    Silu,
    /// `ln(1 + e^x)`.
    Softplus,
    Exp,
    /// `1/x`; `1/0` is `+∞`, which the output type's overflow mode
    /// turns into its largest value (or wraps: use a saturating type).
    Reciprocal,
    /// `ln x`; `ln 0` is `−∞` (the output type's smallest value when it
    /// saturates).
    Ln,
}

impl TableFn {
    pub const ALL: [TableFn; 8] = [
        TableFn::Sigmoid,
        TableFn::Tanh,
        TableFn::Gelu,
        TableFn::Silu,
        TableFn::Softplus,
        TableFn::Exp,
        TableFn::Reciprocal,
        TableFn::Ln,
    ];

    /// The op name in model JSON.
    pub fn name(self) -> &'static str {
        match self {
            TableFn::Sigmoid => "sigmoid",
            TableFn::Tanh => "tanh",
            TableFn::Gelu => "gelu",
            TableFn::Silu => "silu",
            TableFn::Softplus => "softplus",
            TableFn::Exp => "exp",
            TableFn::Reciprocal => "reciprocal",
            TableFn::Ln => "log",
        }
    }

    pub fn from_name(s: &str) -> Option<TableFn> {
        TableFn::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The function in f64.
    pub fn eval(self, x: f64) -> f64 {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        match self {
            TableFn::Sigmoid => sigmoid(x),
            TableFn::Tanh => x.tanh(),
            TableFn::Gelu => 0.5 * x * erfc(-x / std::f64::consts::SQRT_2),
            TableFn::Silu => x * sigmoid(x),
            // ln(1 + e^x) without overflow for large x
            TableFn::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            TableFn::Exp => x.exp(),
            TableFn::Reciprocal => 1.0 / x,
            TableFn::Ln => x.ln(),
        }
    }
}

/// The complementary error function, to about 1e-12 absolute: the Taylor series
/// of erf for |x| ≤ 3, the continued fraction
/// `erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …))))` above.
fn erfc(x: f64) -> f64 {
    if x < -3.0 {
        return 2.0 - erfc(-x);
    }
    if x <= 3.0 {
        let (mut term, mut sum, x2) = (x, x, x * x);
        for n in 1..120 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    let mut f = x;
    for k in (1..80).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

/// A table activation in the graph IR.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub func: TableFn,
    /// At most `2^bits` entries.
    pub bits: u32,
    /// Filled by `infer_precision`.
    pub rom: Option<Rom>,
}

/// The default address width of a table.
pub const TABLE_BITS: u32 = 12;

/// A table's contents: `entries[(x >> drop) − lo]`, raw on the output
/// type's grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rom {
    pub drop: u32,
    pub lo: i128,
    pub entries: Vec<i128>,
}

impl Rom {
    /// The table of `func` for inputs in `range` (raw at `frac`), at most
    /// `2^bits` entries, cast to `out`.
    pub fn build(func: TableFn, frac: i32, range: Interval, bits: u32, out: &FixedType) -> Rom {
        let (lo, hi) = range;
        let mut drop = 0;
        while (hi >> drop) - (lo >> drop) >= 1i128 << bits {
            drop += 1;
        }
        let scale = 2f64.powi(-frac);
        let half = if drop == 0 {
            0.0
        } else {
            ((1i128 << drop) - 1) as f64 / 2.0
        };
        let entries = ((lo >> drop)..=(hi >> drop))
            .map(|c| {
                let x = ((c << drop) as f64 + half) * scale;
                let y = func.eval(x);
                // ±∞ (1/0, exp overflow) as the largest finite magnitude:
                // the output type's overflow mode decides what it becomes
                let y = if y.is_nan() {
                    0.0
                } else {
                    y.clamp(-f64::MAX, f64::MAX)
                };
                cast_f64(y, out).0
            })
            .collect();
        Rom {
            drop,
            lo: lo >> drop,
            entries,
        }
    }

    /// The entry input `x` (raw) reads. Precision inference proved `x`
    /// inside the table; a raw value from outside the input's format
    /// (given by a caller) reads the nearest end rather than panicking.
    pub fn lookup(&self, x: i128) -> i128 {
        let i = (x >> self.drop) - self.lo;
        debug_assert!(
            (0..self.entries.len() as i128).contains(&i),
            "{x} outside the table"
        );
        self.entries[i.clamp(0, self.entries.len() as i128 - 1) as usize]
    }

    /// The smallest and largest entry inputs in `range` read. The range
    /// may reach past the table (the datapath's intervals of a shared
    /// sum can be wider than the graph's exact one the table was built
    /// over); the input never does, so only the table's own codes count.
    pub fn range_over(&self, range: Interval) -> Interval {
        let last = self.entries.len() as i128 - 1;
        let a = ((range.0 >> self.drop) - self.lo).clamp(0, last) as usize;
        let b = ((range.1 >> self.drop) - self.lo).clamp(0, last) as usize;
        let s = &self.entries[a.min(b)..=b];
        (
            *s.iter().min().expect("non-empty"),
            *s.iter().max().expect("non-empty"),
        )
    }

    /// Address bits: enough for every bucket.
    pub fn address_bits(&self) -> u32 {
        usize::BITS - (self.entries.len().max(2) - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erfc against its tabulated values (Abramowitz and Stegun, table 7.1,
    /// and the asymptotic range).
    #[test]
    fn erfc_matches_tabulated_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_1),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (3.5, 7.430_983_723_414_128e-7),
            (4.0, 1.541_725_790_028_002e-8),
            (-1.0, 1.842_700_792_949_715),
        ] {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 1e-12,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }

    /// A table with every code covered reads f at the code; one with a
    /// dropped bit reads it at the middle of the two codes.
    #[test]
    fn a_table_reads_its_code_or_its_bucket_middle() {
        let out = crate::fixed::parse_type("fixed<16,2,rnd,sat>").unwrap();
        let rom = Rom::build(TableFn::Tanh, 4, (-64, 63), 7, &out);
        assert_eq!((rom.drop, rom.lo, rom.entries.len()), (0, -64, 128));
        let at = |x: f64| cast_f64(x.tanh(), &out).0;
        assert_eq!(rom.lookup(-64), at(-4.0));
        assert_eq!(rom.lookup(5), at(5.0 / 16.0));
        let rom = Rom::build(TableFn::Tanh, 4, (-64, 63), 6, &out);
        assert_eq!((rom.drop, rom.lo, rom.entries.len()), (1, -32, 64));
        assert_eq!(rom.lookup(5), at(4.5 / 16.0));
        assert_eq!(rom.lookup(4), at(4.5 / 16.0));
        assert_eq!(rom.range_over((4, 5)), (at(4.5 / 16.0), at(4.5 / 16.0)));
    }

    #[test]
    fn reciprocal_of_zero_saturates() {
        let out = crate::fixed::parse_type("ufixed<8,4,rnd,sat>").unwrap();
        let rom = Rom::build(TableFn::Reciprocal, 2, (0, 3), 12, &out);
        assert_eq!(rom.lookup(0), 255);
        assert_eq!(rom.lookup(2), 32); // 1/0.5 = 2 on 4 fractional bits
    }
}

/// Softmax over the last axis, by tables and additions only, in the log
/// domain: `y_j = exp(x_j − m − ln Σ_k exp(x_k − m))` with `m` the row's
/// largest element. Integer steps, on raw values (`x` at `f` bits):
///
/// 1. `d_j = max(x_j − m, d_min)`: at most 0; below `d_min` every
///    exponential rounds to 0 on `exp_type`, so nothing changes there.
/// 2. `e_j = exp_rom(d_j)` on `exp_type`; `s = Σ e_j`, exact.
/// 3. `L = log_rom(s)` on `log_type`.
/// 4. `t_j = clamp(d_j·2^sd − L·2^sl, t_min, 0)` on `g = max(f, frac(L))`
///    bits, and `y_j = out_rom(t_j)` on the output type.
///
/// Every output is `exp` of a value at most 0, so it lies in [0, 1], and
/// `out_rom` is non-decreasing with one `L` per row, so a larger input
/// never gets a smaller output: the order is kept (equal outputs can tie).
#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub exp_type: FixedType,
    pub log_type: FixedType,
    pub bits: u32,
    /// Filled by `infer_precision`.
    pub plan: Option<SoftmaxPlan>,
}

/// The default types of a softmax's exponentials and logarithm.
pub const SOFTMAX_EXP_TYPE: &str = "ufixed<12,1,rnd,sat>";
pub const SOFTMAX_LOG_TYPE: &str = "ufixed<12,4,rnd,sat>";

/// A softmax's constants and tables (see [`Softmax`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxPlan {
    /// Elements per row (the last axis).
    pub row: usize,
    pub d_min: i128,
    pub exp: Rom,
    pub log: Rom,
    /// `t = d << sd − L << sl`, on `t_frac` bits.
    pub sd: u32,
    pub sl: u32,
    pub t_frac: i32,
    pub t_min: i128,
    pub out: Rom,
    /// The binary points of `exp`'s, `log`'s and `out`'s entries.
    pub fracs: [i32; 3],
}

/// The raw value, at `frac` bits, below which `e^x` is under a quarter of
/// an LSB of `ty`: rounded or truncated, 0.
fn negligible_exp(frac: i32, ty: &FixedType) -> i128 {
    let ln = -((ty.format.frac + 2) as f64) * std::f64::consts::LN_2;
    (ln * 2f64.powi(frac)).floor() as i128
}

impl Softmax {
    /// The plan for rows of `row` elements with intervals `x` (raw at
    /// `frac`), onto `out`; `None` if a value would pass 100 bits.
    pub fn plan(
        &self,
        x: &[Interval],
        row: usize,
        frac: i32,
        out: &FixedType,
    ) -> Option<SoftmaxPlan> {
        let frac_ok = |f: i32| (-60..=60).contains(&f);
        if !frac_ok(frac)
            || !frac_ok(self.exp_type.format.frac)
            || !frac_ok(self.log_type.format.frac)
        {
            return None;
        }
        // d_j = x_j − m over every row: at most 0
        let mut d_lo = 0i128;
        for r in x.chunks(row) {
            let top = r.iter().map(|i| i.1).max()?;
            d_lo = d_lo.min(r.iter().map(|i| i.0 - top).min()?);
        }
        let d_min = d_lo.max(negligible_exp(frac, &self.exp_type));
        let exp = Rom::build(TableFn::Exp, frac, (d_min, 0), self.bits, &self.exp_type);
        // s = Σ e: the largest element contributes exp(0)
        let (e_lo, e_hi) = exp.range_over((d_min, 0));
        let e0 = exp.lookup(0);
        let n = row as i128;
        let s = (e0 + (n - 1) * e_lo, n * e_hi);
        let fe = self.exp_type.format.frac;
        let log = Rom::build(
            TableFn::Ln,
            fe,
            (s.0.max(1), s.1.max(1)),
            self.bits,
            &self.log_type,
        );
        let (l_lo, l_hi) = log.range_over((s.0.max(1), s.1.max(1)));
        let fl = self.log_type.format.frac;
        let t_frac = frac.max(fl);
        let (sd, sl) = ((t_frac - frac) as u32, (t_frac - fl) as u32);
        // every step below stays under 100 bits, so i128 never wraps
        let small = |v: i128| (v.unsigned_abs() < 1 << 100).then_some(v);
        let t_lo =
            small(d_min.checked_mul(1 << sd)?)?.checked_sub(small(l_hi.checked_mul(1 << sl)?)?)?;
        let t_hi = (-small(l_lo.checked_mul(1 << sl)?)?).min(0);
        small(t_lo)?;
        let t_min = t_lo.max(negligible_exp(t_frac, out));
        let out_rom = Rom::build(
            TableFn::Exp,
            t_frac,
            (t_min, t_hi.max(t_min)),
            self.bits,
            out,
        );
        Some(SoftmaxPlan {
            row,
            d_min,
            exp,
            log,
            sd,
            sl,
            t_frac,
            t_min,
            out: out_rom,
            fracs: [fe, fl, out.format.frac],
        })
    }
}

impl SoftmaxPlan {
    /// The largest `|y − softmax(x)|` the steps allow, for round-to-nearest
    /// types: each exponential is within half an `exp` LSB (a quarter
    /// below `d_min`), so the sum is within `n/2` LSBs of `S = Σ e^d ≥ 1`
    /// and `ln` of it within as many, relatively; the log table adds half
    /// its LSB and half a bucket (slope ≤ 1 for `s ≥ 1`); that error
    /// `ΔL` scales the output by at most `e^ΔL − 1`, and the last table
    /// adds half an output LSB and half its bucket (slope ≤ 1 for `t ≤ 0`).
    pub fn error_bound(&self) -> f64 {
        let lsb = |f: i32| 2f64.powi(-f);
        let [fe, fl, fo] = self.fracs;
        let bucket = |rom: &Rom, f: i32| ((1i128 << rom.drop) - 1) as f64 / 2.0 * lsb(f);
        let dl = self.row as f64 * lsb(fe) / 2.0 + lsb(fl) / 2.0 + bucket(&self.log, fe);
        dl.exp_m1() + lsb(fo) / 2.0 + bucket(&self.out, self.t_frac)
    }

    /// One row, raw in and raw out: the steps of [`Softmax`], the
    /// definition the golden model runs and the datapath is built from.
    pub fn row(&self, x: &[i128], y: &mut [i128]) {
        let m = *x.iter().max().expect("a row");
        let d = |v: i128| (v - m).max(self.d_min);
        let s: i128 = x.iter().map(|&v| self.exp.lookup(d(v))).sum();
        let l = self.log.lookup(s.max(1));
        for (o, &v) in y.iter_mut().zip(x) {
            let t = ((d(v) << self.sd) - (l << self.sl)).clamp(self.t_min, 0);
            *o = self.out.lookup(t);
        }
    }
}
