//! Parsing of type strings: `fixed<W,I[,Q[,O]]>`, `ufixed<…>`, `int<W>`,
//! `uint<W>`. The `ap_` spellings and `AP_RND`-style mode names that HLS
//! users paste from their C++ are accepted too.

use super::{FixedType, Format, MAX_WIDTH, OverflowMode, QuantMode};

/// Why a type string was rejected; the message says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTypeError {
    #[error(
        "`{0}` is not a type; expected fixed<W,I>, ufixed<W,I>, int<W>, uint<W>, binary or bipolar, optionally with quantization and overflow modes, e.g. fixed<16,6,rnd,sat>"
    )]
    Syntax(String),
    #[error(
        "`{0}` is allowed only as an input's type or a dense layer's weight_type; a sign layer makes bipolar values"
    )]
    Bipolar(String),
    #[error("width {width} in `{text}` is outside 1..={MAX_WIDTH}")]
    Width { text: String, width: i64 },
    #[error(
        "`{mode}` in `{text}` is not a quantization mode; use one of trn, trn_zero, rnd, rnd_zero, rnd_inf, rnd_min_inf, rnd_conv"
    )]
    Quant { text: String, mode: String },
    #[error(
        "`{mode}` in `{text}` is not an overflow mode; use one of wrap, sat, sat_zero, sat_sym"
    )]
    Overflow { text: String, mode: String },
    #[error(
        "integer bits {int_bits} in `{text}` put the binary point more than {limit} bits away from the value"
    )]
    IntBits {
        text: String,
        int_bits: i64,
        limit: i64,
    },
}

fn quant_mode(s: &str) -> Option<QuantMode> {
    let s = s.to_ascii_lowercase();
    let s = s.strip_prefix("ap_").unwrap_or(&s);
    QuantMode::ALL.into_iter().find(|m| m.name() == s)
}

fn overflow_mode(s: &str) -> Option<OverflowMode> {
    let s = s.to_ascii_lowercase();
    let s = s.strip_prefix("ap_").unwrap_or(&s);
    OverflowMode::ALL.into_iter().find(|m| m.name() == s)
}

/// Parse a type string such as `fixed<16,6,rnd_conv,sat>`.
pub fn parse_type(text: &str) -> Result<FixedType, ParseTypeError> {
    let syntax = || ParseTypeError::Syntax(text.to_string());
    let t = text.trim();
    if t.eq_ignore_ascii_case("binary") {
        // 0 or 1: exactly uint<1>.
        return Ok(FixedType::plain(Format::new(false, 1, 0)));
    }
    if t.eq_ignore_ascii_case("bipolar") {
        return Err(ParseTypeError::Bipolar(t.to_string()));
    }
    let open = t.find('<').ok_or_else(syntax)?;
    if !t.ends_with('>') {
        return Err(syntax());
    }
    let kind = t[..open].trim().to_ascii_lowercase();
    let kind = kind.strip_prefix("ap_").unwrap_or(&kind).to_string();
    let args: Vec<&str> = t[open + 1..t.len() - 1].split(',').map(str::trim).collect();
    let num = |s: &str| s.parse::<i64>().map_err(|_| syntax());
    let (signed, is_int) = match kind.as_str() {
        "fixed" => (true, false),
        "ufixed" => (false, false),
        "int" => (true, true),
        "uint" => (false, true),
        _ => return Err(syntax()),
    };
    let n_num = if is_int { 1 } else { 2 };
    if args.len() < n_num || args.len() > n_num + 2 {
        return Err(syntax());
    }
    let width = num(args[0])?;
    if width < 1 || width > MAX_WIDTH as i64 {
        return Err(ParseTypeError::Width {
            text: text.to_string(),
            width,
        });
    }
    let int_bits = if is_int { width } else { num(args[1])? };
    // The binary point may sit outside the word, but not absurdly far: the
    // values must stay representable as raw · 2^-frac with raw in an i128.
    let limit = 4 * MAX_WIDTH as i64;
    if (width - int_bits).abs() > limit {
        return Err(ParseTypeError::IntBits {
            text: text.to_string(),
            int_bits,
            limit,
        });
    }
    let quant = match args.get(n_num) {
        None => QuantMode::Trn,
        Some(q) => quant_mode(q).ok_or_else(|| ParseTypeError::Quant {
            text: text.to_string(),
            mode: q.to_string(),
        })?,
    };
    let overflow = match args.get(n_num + 1) {
        None => OverflowMode::Wrap,
        Some(o) => overflow_mode(o).ok_or_else(|| ParseTypeError::Overflow {
            text: text.to_string(),
            mode: o.to_string(),
        })?,
    };
    Ok(FixedType::new(
        Format::new(signed, width as u32, (width - int_bits) as i32),
        quant,
        overflow,
    ))
}
