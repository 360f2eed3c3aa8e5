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
                name: f.name.escape_default().to_string(),
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

/// Pack samples (flat raw values, `fields` after each other) into hex
/// lines of the bus layout: element 0 of field 0 in the lowest bits.
pub fn hex_lines(values: &[i128], fields: &[(u32, usize)], total_bits: u64) -> String {
    let per_sample: usize = fields.iter().map(|f| f.1).sum();
    let digits = total_bits.div_ceil(4).max(1) as usize;
    let mut out = String::with_capacity(values.len() / per_sample.max(1) * (digits + 1));
    // the sample's hex digits, least significant first, filled bit by bit
    // (a big design's vectors have millions of bits; no bit vector)
    let mut nibbles = vec![0u8; digits];
    for sample in values.chunks(per_sample.max(1)) {
        nibbles.fill(0);
        let mut pos = 0usize;
        let mut k = 0;
        for &(width, count) in fields {
            for _ in 0..count {
                let v = sample[k] as u128;
                for b in 0..width as usize {
                    // past bit 127 the value's top bit repeats
                    let bit = ((v >> b.min(127)) & 1) as u8;
                    nibbles[(pos + b) / 4] |= bit << ((pos + b) % 4);
                }
                pos += width as usize;
                k += 1;
            }
        }
        out.extend(nibbles.iter().rev().map(|&n| HEX[n as usize] as char));
        out.push('\n');
    }
    out
}

/// Lower-case hex digits, as `char::from_digit` gives them.
const HEX: &[u8; 16] = b"0123456789abcdef";
