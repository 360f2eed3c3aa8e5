//! The flat view of one Verilog module that `templates/module.v.tera`
//! prints: ports, wires, instances and assigns, every decision already
//! made in Rust.

use crate::fixed::Format;
use serde::Serialize;

#[derive(Serialize)]
pub struct PortView {
    pub dir: &'static str,
    pub range: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct WireView {
    pub range: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct InstView {
    pub module: String,
    pub name: String,
    /// `#(.P(v), ...) ` or empty: an empty `#()` is not Verilog-2005.
    pub params: String,
    /// `.port(expr), ...`
    pub conns: String,
}

impl InstView {
    pub fn new<P: AsRef<str>, C: AsRef<str>>(
        module: String,
        name: String,
        params: &[(P, String)],
        conns: &[(C, String)],
    ) -> Self {
        let join = |v: Vec<String>| v.join(", ");
        let params = if params.is_empty() {
            String::new()
        } else {
            let p = params.iter().map(|(k, v)| format!(".{}({v})", k.as_ref()));
            format!("#({}) ", join(p.collect()))
        };
        let c = conns.iter().map(|(k, v)| format!(".{}({v})", k.as_ref()));
        InstView {
            module,
            name,
            params,
            conns: join(c.collect()),
        }
    }
}

/// One generated module, flat and ready for the template.
#[derive(Serialize)]
pub struct ModuleView {
    pub header: String,
    pub version: &'static str,
    pub comments: Vec<String>,
    pub name: String,
    pub ports: Vec<PortView>,
    pub wires: Vec<WireView>,
    pub insts: Vec<InstView>,
    pub assigns: Vec<(String, String)>,
}

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
