//! Constant tensors: initializers, `Constant` nodes and tensor attributes,
//! decoded to `f64` (exact for every ONNX numeric type up to 53-bit
//! integers, which is all a weight can be).

use super::proto::TensorProto;

/// A constant, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    /// The single value of a tensor with one element (any rank).
    pub fn as_scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }
    /// `[rows][cols]` of a 2-D tensor.
    pub fn rows(&self) -> Vec<Vec<f64>> {
        let c = self.shape.get(1).copied().unwrap_or(1).max(1);
        self.data.chunks(c).map(<[f64]>::to_vec).collect()
    }
    pub fn transposed(&self) -> Tensor {
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut data = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                data[j * r + i] = self.data[i * c + j];
            }
        }
        Tensor {
            shape: vec![c, r],
            data,
        }
    }
}

/// Decode a tensor; the error says what is wrong with it.
pub fn decode(t: &TensorProto) -> Result<Tensor, String> {
    if t.data_location == Some(1) || !t.external_data.is_empty() {
        return Err("its data is stored in an external file; save the model with the weights inside (onnx.save(model, path, save_as_external_data=False))".into());
    }
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut n: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| format!("has a negative dimension {d}"))?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= 1 << 32)
            .ok_or("has more than 2^32 elements")?;
        shape.push(d);
    }
    let ty = t.data_type.unwrap_or(0);
    let raw = t.raw_data.as_deref();
    let data: Vec<f64> = match ty {
        // float
        1 => match raw {
            Some(b) => fixed_width(b, 4, n)?
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            None => t.float_data.iter().map(|&v| v as f64).collect(),
        },
        // double
        11 => match raw {
            Some(b) => fixed_width(b, 8, n)?
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            None => t.double_data.clone(),
        },
        // float16: stored as its bits in int32_data
        10 => match raw {
            Some(b) => fixed_width(b, 2, n)?
                .map(|c| f16_to_f64(u16::from_le_bytes(c.try_into().unwrap())))
                .collect(),
            None => t.int32_data.iter().map(|&v| f16_to_f64(v as u16)).collect(),
        },
        // uint8, int8, uint16, int16, int32, bool
        2 | 3 | 4 | 5 | 6 | 9 => match raw {
            Some(b) => {
                let w = match ty {
                    2 | 3 | 9 => 1,
                    4 | 5 => 2,
                    _ => 4,
                };
                fixed_width(b, w, n)?
                    .map(|c| match ty {
                        2 | 9 => c[0] as f64,
                        3 => c[0] as i8 as f64,
                        4 => u16::from_le_bytes([c[0], c[1]]) as f64,
                        5 => i16::from_le_bytes([c[0], c[1]]) as f64,
                        _ => i32::from_le_bytes(c.try_into().unwrap()) as f64,
                    })
                    .collect()
            }
            None => t.int32_data.iter().map(|&v| v as f64).collect(),
        },
        // int64
        7 => match raw {
            Some(b) => fixed_width(b, 8, n)?
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            None => t.int64_data.iter().map(|&v| v as f64).collect(),
        },
        // uint32, uint64
        12 | 13 => match raw {
            Some(b) => {
                let w = if ty == 12 { 4 } else { 8 };
                fixed_width(b, w, n)?
                    .map(|c| {
                        let mut v = [0u8; 8];
                        v[..c.len()].copy_from_slice(c);
                        u64::from_le_bytes(v) as f64
                    })
                    .collect()
            }
            None => t.uint64_data.iter().map(|&v| v as f64).collect(),
        },
        0 => return Err("has no data type".into()),
        other => {
            return Err(format!(
                "has data type {other} ({}), which neurtl cannot use as a number",
                type_name(other)
            ));
        }
    };
    if data.len() != n {
        return Err(format!(
            "holds {} values but its shape {:?} needs {n}",
            data.len(),
            shape
        ));
    }
    if let Some(x) = data.iter().find(|x| !x.is_finite()) {
        return Err(format!("holds the non-finite value {x}"));
    }
    Ok(Tensor { shape, data })
}

fn fixed_width(b: &[u8], w: usize, n: usize) -> Result<std::slice::ChunksExact<'_, u8>, String> {
    if b.len() != w * n {
        return Err(format!(
            "has {} bytes of raw data but its shape needs {} ({n} values of {w} bytes)",
            b.len(),
            w * n
        ));
    }
    Ok(b.chunks_exact(w))
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let e = ((h >> 10) & 0x1f) as i32;
    let m = (h & 0x3ff) as f64;
    match e {
        0 => sign * m * 2f64.powi(-24),
        31 if m == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

/// ONNX element type names, for messages.
pub fn type_name(t: i32) -> &'static str {
    match t {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        _ => "unknown",
    }
}
