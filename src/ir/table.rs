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
}

impl TableFn {
    pub const ALL: [TableFn; 7] = [
        TableFn::Sigmoid,
        TableFn::Tanh,
        TableFn::Gelu,
        TableFn::Silu,
        TableFn::Softplus,
        TableFn::Exp,
        TableFn::Reciprocal,
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
