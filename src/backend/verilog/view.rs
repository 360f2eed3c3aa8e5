//! How the printer writes values: ranges, literals, flags.

use crate::fixed::Format;

pub fn range_str(width: u32) -> String {
    format!("[{}:0] ", width - 1)
}

/// A sized hex literal of a bit vector, bit 0 least significant.
pub fn bits_lit(bits: &[bool]) -> String {
    let w = bits.len().max(1);
    let digits: String = (0..w.div_ceil(4))
        .rev()
        .map(|d| {
            let v = (0..4).fold(0u32, |acc, b| {
                acc | (bits.get(d * 4 + b).copied().unwrap_or(false) as u32) << b
            });
            char::from_digit(v, 16).unwrap()
        })
        .collect();
    format!("{w}'h{digits}")
}

/// A sized hex literal of `v` in `width` bits, two's complement.
pub fn lit(v: i128, width: u32) -> String {
    let bits = Format::new(true, width, 0).to_bits(v);
    format!("{width}'h{bits:x}")
}

/// A Verilog parameter value of a flag.
pub fn b(x: bool) -> String {
    (x as u8).to_string()
}
