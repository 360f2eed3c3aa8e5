//! Testbench back end: a Verilator C++ harness and a plain Verilog
//! testbench for Icarus, plus the vector files both read. The harness
//! source is hand-written (`testbenches/harness.cpp`); only its small
//! configuration header and the Icarus bench are rendered from templates.

use super::verilog::DesignInfo;
use serde::Serialize;

const HARNESS: &str = include_str!("../../testbenches/harness.cpp");
const CONFIG_TEMPLATE: &str = include_str!("../../testbenches/tb_config.h.tera");
const ICARUS_TEMPLATE: &str = include_str!("../../testbenches/icarus_tb.v.tera");

#[derive(Serialize)]
struct Element {
    name: String,
    index: usize,
    width: u32,
    signed: u8,
    frac: i32,
    offset: u64,
}

#[derive(Serialize)]
struct View<'a> {
    top: &'a str,
    in_bits: u64,
    out_bits: u64,
    latency: u32,
    ii: u32,
    n: usize,
    elements: Vec<Element>,
    in_file: &'a str,
    exp_file: &'a str,
}

/// Files of the testbench for `info`, checking `n` vectors.
pub fn generate(info: &DesignInfo, n: usize) -> Vec<(String, String)> {
    let mut elements = vec![];
    for f in &info.outputs {
        for i in 0..f.elements {
            elements.push(Element {
                name: c_string_body(&f.name),
                index: i,
                width: f.width,
                signed: f.signed as u8,
                frac: f.frac,
                offset: f.offset + i as u64 * f.width as u64,
            });
        }
    }
    let view = View {
        top: &info.top,
        in_bits: info.in_bits.max(1),
        out_bits: info.out_bits,
        latency: info.latency,
        ii: info.ii,
        n,
        elements,
        in_file: "vectors/in.hex",
        exp_file: "vectors/expected.hex",
    };
    let ctx = tera::Context::from_serialize(&view).expect("views serialize");
    let render = |t: &str| tera::Tera::one_off(t, &ctx, false).expect("testbench templates render");
    vec![
        ("tb/harness.cpp".to_string(), HARNESS.to_string()),
        ("tb/tb_config.h".to_string(), render(CONFIG_TEMPLATE)),
        (format!("tb/tb_{}.v", info.top), render(ICARUS_TEMPLATE)),
    ]
}

/// `s` as the inside of a C string literal: printable ASCII as it is
/// (`"`, `\\` and `?`, which could start a trigraph, escaped), every other
/// byte of its UTF-8 as a three-digit octal escape, which no following
/// character can extend. Rust's own escapes (`\u{fc}`) are not C.
fn c_string_body(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'"' | b'\\' | b'?' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// Pack samples (flat raw values, `fields` after each other) into hex
/// lines of the bus layout: element 0 of field 0 in the lowest bits.
pub fn hex_lines(values: &[i128], fields: &[(u32, usize)], total_bits: u64) -> String {
    let per_sample: usize = fields.iter().map(|f| f.1).sum();
    let digits = total_bits.div_ceil(4).max(1) as usize;
    let mut out = String::with_capacity(values.len() / per_sample.max(1) * (digits + 1));
    let mut line = Nibbles::default();
    for sample in values.chunks(per_sample.max(1)) {
        let mut k = 0;
        for &(width, count) in fields {
            for &v in &sample[k..k + count] {
                line.push_value(v as u128, width);
            }
            k += count;
        }
        line.finish(digits);
        out.extend(line.digits.iter().rev().map(|&n| HEX[n as usize] as char));
        out.push('\n');
        line.digits.clear();
    }
    out
}

/// Lower-case hex digits, as `char::from_digit` gives them.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// One line's hex digits, least significant first. Bits enter at the top
/// of a small accumulator, up to 32 at a time, and leave four at a time:
/// a big design's vectors have tens of millions of bits.
#[derive(Default)]
struct Nibbles {
    digits: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl Nibbles {
    /// The low `width` bits of `v` (past bit 127 its top bit repeats).
    fn push_value(&mut self, v: u128, width: u32) {
        let mut lo = 0;
        while lo < width {
            let n = (width - lo).min(32);
            let chunk = if lo + n <= 128 {
                (v >> lo) as u64 & ((1 << n) - 1)
            } else {
                (0..n).fold(0, |a, k| a | ((v >> (lo + k).min(127)) as u64 & 1) << k)
            };
            self.push(chunk, n);
            lo += n;
        }
    }

    /// `n ≤ 32` bits.
    fn push(&mut self, chunk: u64, n: u32) {
        self.acc |= chunk << self.bits;
        self.bits += n;
        while self.bits >= 4 {
            self.digits.push((self.acc & 15) as u8);
            self.acc >>= 4;
            self.bits -= 4;
        }
    }

    /// The last partial digit, then zeros up to `digits` digits.
    fn finish(&mut self, digits: usize) {
        if self.bits > 0 {
            self.digits.push(self.acc as u8);
            (self.acc, self.bits) = (0, 0);
        }
        assert!(self.digits.len() <= digits, "the fields fill the bus");
        self.digits.resize(digits, 0);
    }
}
