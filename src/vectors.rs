//! Test vectors: random samples over each input's full range with the edge
//! cases first, and readers/writers for `.npy` and CSV sample files.

use crate::fixed::{FixedType, Format, cast_f64};
use std::path::Path;

/// SplitMix64: tiny, seedable and reproducible on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: i128, hi: i128) -> i128 {
        let span = (hi - lo) as u128 + 1;
        let r = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        if span == 0 {
            lo + r as i128
        } else {
            lo + (r % span) as i128
        }
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `n` samples of raw inputs: first whole-vector edge cases (all minimum,
/// all maximum, all zero, ±1 LSB, alternating extremes), then random
/// samples mixing uniform values with extremes and small values.
pub fn random(formats: &[(Format, usize)], n: usize, seed: u64) -> Vec<i128> {
    let mut rng = Rng::new(seed);
    let per: usize = formats.iter().map(|f| f.1).sum();
    let mut out = Vec::with_capacity(n * per);
    let elems: Vec<Format> = formats
        .iter()
        .flat_map(|(f, c)| std::iter::repeat_n(*f, *c))
        .collect();
    let clamp = |f: &Format, v: i128| v.clamp(f.min_raw(), f.max_raw());
    for s in 0..n {
        for (i, f) in elems.iter().enumerate() {
            let v = match s {
                0 => f.min_raw(),
                1 => f.max_raw(),
                2 => 0,
                3 => clamp(f, 1),
                4 => clamp(f, -1),
                5 => {
                    if i % 2 == 0 {
                        f.min_raw()
                    } else {
                        f.max_raw()
                    }
                }
                6 => {
                    if i % 2 == 0 {
                        f.max_raw()
                    } else {
                        f.min_raw()
                    }
                }
                _ => match rng.below(10) {
                    0 => f.min_raw(),
                    1 => f.max_raw(),
                    2 => clamp(f, rng.range(-4, 4)),
                    _ => rng.range(f.min_raw(), f.max_raw()),
                },
            };
            out.push(v);
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("{path}: {message}")]
    Bad { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn bad(path: &Path, message: impl Into<String>) -> VectorError {
    VectorError::Bad {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// A matrix of samples read from a file: rows × cols values.
pub struct Table {
    pub cols: usize,
    pub values: Vec<f64>,
}

/// Read a `.npy` (float or integer, C order, 1-D or 2-D) or CSV file.
pub fn read_table(path: &Path) -> Result<Table, VectorError> {
    let bytes = std::fs::read(path).map_err(|source| VectorError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if bytes.starts_with(b"\x93NUMPY") {
        return read_npy(path, &bytes);
    }
    let text = String::from_utf8(bytes).map_err(|_| bad(path, "neither .npy nor UTF-8 CSV"))?;
    let mut cols = 0;
    let mut values = vec![];
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let row: Result<Vec<f64>, _> = line
            .split([',', ';', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::parse::<f64>)
            .collect();
        let row = row.map_err(|_| bad(path, format!("line {}: not a list of numbers", ln + 1)))?;
        if cols == 0 {
            cols = row.len();
        } else if row.len() != cols {
            return Err(bad(
                path,
                format!(
                    "line {} has {} values, earlier lines {cols}",
                    ln + 1,
                    row.len()
                ),
            ));
        }
        if let Some(x) = row.iter().find(|x| !x.is_finite()) {
            return Err(bad(path, format!("line {}: {x} is not finite", ln + 1)));
        }
        values.extend(row);
    }
    if values.is_empty() {
        return Err(bad(path, "no samples"));
    }
    Ok(Table { cols, values })
}

fn read_npy(path: &Path, b: &[u8]) -> Result<Table, VectorError> {
    let major = b.get(6).copied().unwrap_or(0);
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        _ => return Err(bad(path, "unsupported .npy version")),
    };
    let header = std::str::from_utf8(
        b.get(start..start + hlen)
            .ok_or_else(|| bad(path, "truncated header"))?,
    )
    .map_err(|_| bad(path, "bad header"))?;
    let field = |k: &str| -> Option<&str> {
        let i = header.find(&format!("'{k}'"))?;
        Some(
            header[i + k.len() + 2..]
                .trim_start()
                .trim_start_matches(':')
                .trim_start(),
        )
    };
    let descr = field("descr")
        .and_then(|s| s.split('\'').nth(1))
        .ok_or_else(|| bad(path, "no dtype"))?;
    if field("fortran_order").is_some_and(|s| s.starts_with("True")) {
        return Err(bad(
            path,
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape_s = field("shape").ok_or_else(|| bad(path, "no shape"))?;
    let shape: Vec<usize> = shape_s[1..shape_s.find(')').unwrap_or(1)]
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data = &b[start + hlen..];
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" => (8, |c| f64::from_le_bytes(c.try_into().unwrap())),
        "<f4" => (4, |c| f32::from_le_bytes(c.try_into().unwrap()) as f64),
        "<i8" => (8, |c| i64::from_le_bytes(c.try_into().unwrap()) as f64),
        "<i4" => (4, |c| i32::from_le_bytes(c.try_into().unwrap()) as f64),
        "<i2" => (2, |c| i16::from_le_bytes(c.try_into().unwrap()) as f64),
        "|i1" => (1, |c| c[0] as i8 as f64),
        "|u1" => (1, |c| c[0] as f64),
        "<u2" => (2, |c| u16::from_le_bytes(c.try_into().unwrap()) as f64),
        "<u4" => (4, |c| u32::from_le_bytes(c.try_into().unwrap()) as f64),
        other => {
            return Err(bad(
                path,
                format!("dtype {other} is not supported; use float64, float32 or integers"),
            ));
        }
    };
    let count: usize = shape.iter().product();
    if data.len() < count * size {
        return Err(bad(path, "data shorter than the shape says"));
    }
    let values: Vec<f64> = data.chunks(size).take(count).map(conv).collect();
    if let Some(x) = values.iter().find(|x| !x.is_finite()) {
        return Err(bad(path, format!("{x} is not finite")));
    }
    let cols = match shape.len() {
        1 => 1,
        2 => shape[1],
        _ => {
            return Err(bad(
                path,
                format!("shape {shape:?}: expected [samples, features]"),
            ));
        }
    };
    Ok(Table { cols, values })
}

/// Convert a table of samples to raw inputs. Real values are quantized with
/// each input's own type; with `raw`, values must be integers in range.
/// One model input, as table conversion needs it.
#[derive(Debug, Clone)]
pub struct InputType {
    pub ty: FixedType,
    pub count: usize,
    /// Real values −1/+1, raw (wire) values 0/1.
    pub bipolar: bool,
    /// How a real sample becomes the port's integer, when not by `ty`.
    pub quant: Option<crate::fixed::requant::Requant>,
}

pub fn table_to_raw(
    path: &Path,
    t: &Table,
    inputs: &[InputType],
    raw: bool,
) -> Result<Vec<i128>, VectorError> {
    let per: usize = inputs.iter().map(|i| i.count).sum();
    if t.cols != per {
        return Err(bad(
            path,
            format!("samples have {} values, the model takes {per}", t.cols),
        ));
    }
    let types: Vec<&InputType> = inputs
        .iter()
        .flat_map(|i| std::iter::repeat_n(i, i.count))
        .collect();
    let mut out = Vec::with_capacity(t.values.len());
    for (k, &x) in t.values.iter().enumerate() {
        let it = types[k % per];
        let ty = &it.ty;
        let v = if it.bipolar {
            let (one, zero) = if raw { (1.0, 0.0) } else { (1.0, -1.0) };
            if x == one {
                1
            } else if x == zero {
                0
            } else {
                return Err(bad(
                    path,
                    format!(
                        "sample {} value {}: {x} is not a bipolar value ({zero} or {one})",
                        k / per,
                        k % per
                    ),
                ));
            }
        } else if raw {
            if x.fract() != 0.0 || !ty.format.contains(x as i128) {
                return Err(bad(
                    path,
                    format!(
                        "sample {} value {}: {x} is not a raw {} value",
                        k / per,
                        k % per,
                        ty.format
                    ),
                ));
            }
            x as i128
        } else if let Some(q) = &it.quant {
            q.apply(&crate::fixed::dyadic::Dyadic::from_f64(x))
        } else {
            cast_f64(x, ty).0
        };
        out.push(v);
    }
    Ok(out)
}

/// Write samples (rows of `cols`) as `.npy` float64 or int64, or CSV.
pub fn write_table(path: &Path, cols: usize, values: &[f64], as_int: bool) -> std::io::Result<()> {
    let is_npy = path.extension().is_some_and(|e| e == "npy");
    if !is_npy {
        let mut s = String::new();
        for row in values.chunks(cols.max(1)) {
            let r: Vec<String> = row
                .iter()
                .map(|v| {
                    if as_int {
                        format!("{}", *v as i128)
                    } else {
                        format!("{v}")
                    }
                })
                .collect();
            s.push_str(&r.join(","));
            s.push('\n');
        }
        return std::fs::write(path, s);
    }
    let rows = values.len() / cols.max(1);
    let descr = if as_int { "<i8" } else { "<f8" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    for &v in values {
        if as_int {
            b.extend((v as i64).to_le_bytes());
        } else {
            b.extend(v.to_le_bytes());
        }
    }
    std::fs::write(path, b)
}
