//! Tensors on a real scale: what Brevitas' float-scale quantizers export.
//!
//! A `Quant` with a scale that is not a power of two puts its result on
//! the grid `scale·ℤ`, which no fixed-point type is. The hardware keeps the
//! integers instead and the importer remembers the scale (`Real`): a
//! `Gemm`/`MatMul` multiplies the integers by integer weights (each row's
//! common odd factor taken out of the folded weights, so `s_w·k` becomes
//! `k` and `s_w` joins the scale), a bias that is not a whole number of
//! the new unit stays in real units (`shift`), a `Relu` waits for the next
//! quantizer when a shift is pending, and the next `Quant` becomes a
//! `requant` layer that decides `R((scale·x + shift)/s)` with exact
//! rationals. A graph output on a real scale is multiplied out exactly.
//! Every scale is a finite f64 and every product here is checked to be
//! exact, so the meaning is the QONNX graph's, computed without rounding.

use super::{
    DenseLayer, Dyn, FrontendError, Lowerer, Map, NodeProto, QuantMode, Value, attr_i, attr_s,
    diagonal_rows, json, log2_exact, node_err, rounding,
};
use crate::fixed::Format;
use crate::fixed::dyadic::Dyadic;
use crate::frontend::json::MAX_REQUANT_LEVELS;

/// The real value of a vector where it is not the value its layer holds:
/// `scale_c · held_c + shift_c`, then a ReLU when `relu`. One entry in
/// `scale` or `shift` stands for every element.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Real {
    pub scale: Vec<f64>,
    pub shift: Vec<f64>,
    pub relu: bool,
}

impl Real {
    fn uniform(scale: f64) -> Real {
        Real {
            scale: vec![scale],
            shift: vec![0.0],
            relu: false,
        }
    }
    fn plain_scale(&self) -> bool {
        !self.relu && self.shift.iter().all(|&s| s == 0.0)
    }
}

fn at(v: &[f64], c: usize) -> f64 {
    if v.len() == 1 { v[0] } else { v[c] }
}

/// `a·b`, when f64 holds it exactly.
fn exact_mul(a: f64, b: f64) -> Option<f64> {
    let p = a * b;
    let d = Dyadic::from_f64;
    (p.is_finite() && d(p) == d(a).mul(&d(b))).then_some(p)
}

/// `a + b`, when f64 holds it exactly.
fn exact_add(a: f64, b: f64) -> Option<f64> {
    let s = a + b;
    let d = Dyadic::from_f64;
    (s.is_finite() && d(s) == d(a).add(&d(b))).then_some(s)
}

/// The largest `g · 2^e` (g an odd integer) that divides every weight of
/// a row, so that the row divided by it is integers with no common odd
/// factor: for weights `s_w · k` folded from a quantizer, `s_w` or a
/// multiple of it. 1 for a row of zeros.
fn row_factor(row: &[f64]) -> f64 {
    let (mut g, mut e) = (0u64, i32::MAX);
    for &w in row.iter().filter(|w| **w != 0.0) {
        let (m, x) = crate::fixed::f64_parts(w);
        let m = m.unsigned_abs() as u64;
        let tz = m.trailing_zeros();
        g = gcd(g, m >> tz);
        e = e.min(x + tz as i32);
    }
    let f = g as f64 * 2f64.powi(e);
    if g == 0 || !f.is_normal() { 1.0 } else { f }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The quantizer's integer range: QONNX's `min`, `max`.
fn int_range(
    n: &NodeProto,
    bits: f64,
    signed: bool,
    narrow: bool,
) -> Result<(i64, i64), FrontendError> {
    let max_bits = (MAX_REQUANT_LEVELS + 1).ilog2() as f64;
    if bits.fract() != 0.0 || !(1.0..=max_bits).contains(&bits) {
        return Err(node_err(
            n,
            Some("bitwidth"),
            format!(
                "bit width {bits} on a real scale: 1 to {max_bits} bits (one comparator per level)"
            ),
        ));
    }
    let b = bits as u32;
    Ok(match (signed, narrow) {
        (true, _) => (-(1i64 << (b - 1)) + narrow as i64, (1i64 << (b - 1)) - 1),
        (false, _) => (0, (1i64 << b) - 1 - narrow as i64),
    })
}

impl Lowerer<'_> {
    /// A computed input with its real scale, for the ops that carry one.
    pub(super) fn dyn_real(&self, n: &NodeProto, i: usize) -> Result<Dyn, FrontendError> {
        match self.get(n, i)? {
            super::Val::Dyn(d) => Ok(d.clone()),
            super::Val::Const(_) => Err(node_err(
                n,
                Some(&format!("input[{i}]")),
                "is a constant here; neurtl needs the data input to be computed from a graph input",
            )),
        }
    }

    /// The error for an op that cannot read a tensor on a real scale.
    pub(super) fn real_refused(n: &NodeProto, i: usize) -> FrontendError {
        node_err(
            n,
            Some(&format!("input[{i}]")),
            format!(
                "is on a real scale (it comes from a Quant whose scale is not a power of two); neurtl carries such scales through Gemm, MatMul, a bias Add, Relu and Quant, not through {}",
                n.op_type.as_deref().unwrap_or("this node")
            ),
        )
    }

    /// `Quant` with a real scale on a graph input: the port carries the
    /// integer `q − zero point`, and the host quantizes real samples with
    /// the same exact definition. Returns the port's type and `quant`.
    pub(super) fn input_on_real_scale(
        &self,
        q: &NodeProto,
    ) -> Result<(String, Value, Real), FrontendError> {
        let r = self.quantizer(q)?;
        let (lo, hi) = (r.min - r.zero, r.max - r.zero);
        let ty = Format::for_interval(lo as i128, hi as i128, 0).expect("a small range");
        let quant = json!({"scale": r.scale, "zero_point": r.zero, "min": r.min,
                           "max": r.max, "rounding": r.mode.name()});
        Ok((ty.to_string(), quant, Real::uniform(r.scale)))
    }

    /// A `Quant` node's scale, zero point, range and rounding, the identity
    /// before it.
    fn quantizer(&self, q: &NodeProto) -> Result<crate::fixed::requant::Requant, FrontendError> {
        let scale = self.scalar_input(q, 1, "scale")?;
        let zp = self.scalar_input(q, 2, "zeropt")?;
        let bits = self.scalar_input(q, 3, "bitwidth")?;
        let signed = attr_i(q, "signed", 1)? != 0;
        let narrow = attr_i(q, "narrow", 0)? != 0;
        let mode: QuantMode = rounding(q, &attr_s(q, "rounding_mode", "ROUND")?)?;
        let (min, max) = int_range(q, bits, signed, narrow)?;
        if zp.fract() != 0.0 || zp < min as f64 || zp > max as f64 {
            return Err(node_err(
                q,
                Some("zeropt"),
                format!("zero point {zp} must be an integer in the range [{min}, {max}]"),
            ));
        }
        let r = crate::fixed::requant::Requant {
            mul: 1.0,
            add: 0.0,
            relu: false,
            scale,
            zero: zp as i64,
            min,
            max,
            mode,
        };
        r.check().map_err(|m| node_err(q, Some("scale"), m))?;
        Ok(r)
    }

    /// Whether a `Quant` on `x` needs a `requant` layer: `x` is on a real
    /// scale, or the quantizer's own scale or zero point is not a type's.
    pub(super) fn needs_requant(&self, n: &NodeProto, x: &Dyn) -> Result<bool, FrontendError> {
        Ok(x.real.is_some() || self.quant_on_real_scale(n)?)
    }

    /// Whether a `Quant`'s result is off every fixed-point grid: a scale
    /// that is not a power of two, or a zero point.
    pub(super) fn quant_on_real_scale(&self, q: &NodeProto) -> Result<bool, FrontendError> {
        let scale = self.scalar_input(q, 1, "scale")?;
        let zp = self.scalar_input(q, 2, "zeropt")?;
        Ok(log2_exact(scale).is_none() || zp != 0.0)
    }

    /// `Quant` of `x` as a `requant` layer; its result is on the
    /// quantizer's scale.
    pub(super) fn requant(&mut self, n: &NodeProto, x: &Dyn) -> Result<(), FrontendError> {
        if x.shape.len() != 1 {
            return Err(node_err(
                n,
                Some("input[0]"),
                format!(
                    "a Quant with a real scale or a zero point reads shape {:?}; neurtl requantizes [batch, features] tensors only",
                    x.shape
                ),
            ));
        }
        let q = self.quantizer(n)?;
        let real = x.real.as_deref().cloned().unwrap_or(Real::uniform(1.0));
        let mut f = Map::new();
        f.insert("mul".into(), json!(real.scale));
        f.insert("add".into(), json!(real.shift));
        f.insert("relu".into(), json!(real.relu));
        f.insert("scale".into(), json!(q.scale));
        f.insert("zero_point".into(), json!(q.zero));
        f.insert("min".into(), json!(q.min));
        f.insert("max".into(), json!(q.max));
        f.insert("rounding".into(), json!(q.mode.name()));
        self.push(n, "requant", &[x], x.shape.clone(), false, f, None);
        self.set_real(n, Some(Real::uniform(q.scale)));
        Ok(())
    }

    /// Make the real scale of `n`'s output `r`.
    fn set_real(&mut self, n: &NodeProto, r: Option<Real>) {
        if let Some(super::Val::Dyn(d)) = n.output.first().and_then(|o| self.vals.get_mut(o)) {
            d.real = r.map(Box::new);
        }
    }

    /// A dense layer on a real-scaled input: integer weights (each row's
    /// odd common factor moved into the scale), the bias where it is a
    /// whole number of the row's unit, a real shift where it is not.
    pub(super) fn real_dense(
        &mut self,
        n: &NodeProto,
        x: &Dyn,
        mut rows: Vec<Vec<f64>>,
        bias: Option<Vec<f64>>,
    ) -> Result<(), FrontendError> {
        let real = x.real.as_deref().expect("a real-scaled input");
        let inexact = |what: &str| {
            node_err(
                n,
                Some("input[1]"),
                format!("{what} is not exact in f64; neurtl keeps real scales only where it is"),
            )
        };
        if !real.plain_scale() {
            return Err(node_err(
                n,
                Some("input[0]"),
                "reads a value with a bias or ReLU still in real units (no Quant since the last MatMul/Gemm); neurtl needs a Quant between two matrix products on real scales",
            ));
        }
        // A per-element input scale goes into the columns.
        let mut unit = real.scale[0];
        if real.scale.len() > 1 {
            for row in rows.iter_mut() {
                for (c, w) in row.iter_mut().enumerate() {
                    *w = exact_mul(*w, real.scale[c])
                        .ok_or_else(|| inexact("a weight times its input's scale"))?;
                }
            }
            unit = 1.0;
        }
        let units = rows.len();
        let (mut scale, mut held, mut shift) = (vec![], vec![0.0; units], vec![0.0; units]);
        for (c, row) in rows.iter_mut().enumerate() {
            let b = bias.as_ref().map_or(0.0, |b| b[c]);
            // The bias in units of the input's scale, when f64 holds it
            // (Brevitas' Int32Bias is s_w·s_x·k, so it does).
            let b_unit = Some(b / unit).filter(|&k| b != 0.0 && exact_mul(k, unit) == Some(b));
            let mut f = row_factor(row);
            match b_unit {
                // into the row's factor unless that costs more than four
                // bits of weight
                Some(k) if row_factor(&[row.as_slice(), &[k]].concat()) * 16.0 >= f => {
                    f = row_factor(&[row.as_slice(), &[k]].concat());
                    held[c] = k / f;
                }
                _ => shift[c] = b,
            }
            // dividing out a factor of every mantissa is exact
            row.iter_mut().for_each(|w| *w /= f);
            scale.push(exact_mul(unit, f).ok_or_else(|| inexact("a row's scale"))?);
        }
        let d = DenseLayer {
            weights: rows,
            kernel: None,
            bias: held.iter().any(|&b| b != 0.0).then_some(held),
            quantized: true,
            bipolar: false,
            wide: false,
        };
        self.push(n, "dense", &[x], vec![units], false, Map::new(), Some(d));
        self.set_real(
            n,
            Some(Real {
                scale,
                shift,
                relu: false,
            }),
        );
        Ok(())
    }

    /// A constant added to a real-scaled vector: it joins the shift.
    pub(super) fn real_add(
        &mut self,
        n: &NodeProto,
        x: &Dyn,
        v: &[f64],
    ) -> Result<(), FrontendError> {
        let mut r = x.real.as_deref().cloned().expect("a real-scaled input");
        if r.relu {
            return Err(Self::real_refused(n, 0));
        }
        let shift = (0..v.len())
            .map(|c| exact_add(at(&r.shift, c), v[c]))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| node_err(n, None, "the bias sum is not exact in f64"))?;
        r.shift = shift;
        self.set_out(n, super::Val::Dyn(x.clone()));
        self.set_real(n, Some(r));
        Ok(())
    }

    /// `Relu` of a real-scaled vector. The scales are positive, so without
    /// a shift it is a ReLU of the held integers; with one it waits for the
    /// next quantizer, which applies it exactly.
    pub(super) fn real_relu(&mut self, n: &NodeProto, x: &Dyn) {
        let mut r = x.real.as_deref().cloned().expect("a real-scaled input");
        if r.plain_scale() {
            self.push(n, "relu", &[x], x.shape.clone(), x.cl, Map::new(), None);
        } else {
            self.set_out(n, super::Val::Dyn(x.clone()));
            r.relu = true;
        }
        self.set_real(n, Some(r));
    }

    /// A graph output on a real scale, multiplied out exactly: one
    /// constant product per element and the shift as a bias, then the
    /// pending ReLU.
    pub(super) fn materialize(&mut self, x: &Dyn) -> Result<Dyn, FrontendError> {
        let real = x.real.as_deref().cloned().expect("a real-scaled output");
        let units: usize = x.shape.iter().product();
        let scale: Vec<f64> = (0..units).map(|c| at(&real.scale, c)).collect();
        let bias: Vec<f64> = (0..units).map(|c| at(&real.shift, c)).collect();
        let d = DenseLayer {
            weights: diagonal_rows(&scale),
            kernel: None,
            bias: bias.iter().any(|&b| b != 0.0).then_some(bias),
            quantized: true,
            bipolar: false,
            wide: true,
        };
        let name = self.unique(&format!("{}_real", x.layer));
        self.add_layer(&name, "dense", &[x], Map::new(), Some(d));
        let mut out = Dyn {
            layer: name,
            shape: vec![units],
            cl: false,
            real: None,
        };
        if real.relu {
            let name = self.unique(&format!("{}_relu", x.layer));
            self.add_layer(&name, "relu", &[&out], Map::new(), None);
            out.layer = name;
        }
        self.notes.push(format!(
            "output `{}`: on a real scale; multiplied out exactly by `{}`",
            x.layer, out.layer
        ));
        Ok(out)
    }
}
