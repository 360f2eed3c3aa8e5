//! Constants mean what they mean in ap_fixed. `fixtures/ap_fixed/casts.json`
//! holds what the ap_fixed headers (compiled by its generator script) make
//! of doubles in every quantization and overflow mode; neurtl's cast of the
//! same double into the same type must give the same raw code.

mod common;

use neurtl::fixed::{cast_f64, parse_type};
use serde_json::Value;

fn reference() -> Value {
    let text = include_str!("fixtures/ap_fixed/casts.json");
    serde_json::from_str(text).expect("casts.json is JSON")
}

/// `fixed<W,I>` with the modes added: `fixed<W,I,q,o>`.
fn with_modes(format: &str, modes: &str) -> String {
    format!("{},{modes}>", format.trim_end_matches('>'))
}

#[test]
fn every_cast_matches_ap_fixed() {
    let r = reference();
    let mut checked = 0;
    let mut wrong = vec![];
    for f in r["formats"].as_array().expect("formats") {
        let format = f["format"].as_str().expect("format");
        let values: Vec<f64> = (f["values"].as_array().expect("values").iter())
            .map(|v| f64::from_bits(u64::from_str_radix(v.as_str().unwrap(), 16).unwrap()))
            .collect();
        for (modes, raw) in f["raw"].as_object().expect("raw") {
            let text = with_modes(format, modes);
            let ty = parse_type(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            for (v, want) in values.iter().zip(raw.as_array().expect("codes")) {
                let want = want.as_i64().expect("a raw code") as i128;
                let got = cast_f64(*v, &ty).0;
                if got != want {
                    wrong.push(format!("{text} of {v:e}: neurtl {got}, ap_fixed {want}"));
                }
                checked += 1;
            }
        }
    }
    // 10 formats, 28 mode pairs, ~85 values each
    assert!(checked > 20_000, "only {checked} cases read");
    assert!(
        wrong.is_empty(),
        "{} of {checked} casts differ from ap_fixed:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(400)].join("\n")
    );
}

/// The formats cast from every code of an input type (`from_every_code_of`)
/// run through the compiler too: one `quantize` layer per format and mode
/// pair on every input code, the golden model against ap_fixed, the RTL
/// (in Verilator) against the golden model.
#[test]
fn quantize_layers_match_ap_fixed_in_rtl() {
    let r = reference();
    let mut layers = vec![];
    let mut want: Vec<Vec<i128>> = vec![];
    let mut input = None;
    for f in r["formats"].as_array().expect("formats") {
        let Some(from) = f["from_every_code_of"].as_str() else {
            continue;
        };
        input = Some(from.to_string());
        for (modes, raw) in f["raw"].as_object().expect("raw") {
            let ty = with_modes(f["format"].as_str().unwrap(), modes);
            layers.push(serde_json::json!({"name": format!("q{}", layers.len()),
                "op": "quantize", "input": "x", "output_type": ty}));
            want.push(
                raw.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap() as i128)
                    .collect(),
            );
        }
    }
    let input = input.expect("casts.json has formats cast from every input code");
    let outputs: Vec<String> = (0..layers.len()).map(|k| format!("q{k}")).collect();
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "ap_casts",
        "inputs": [{"name": "x", "shape": [1], "type": input}],
        "layers": layers, "outputs": outputs,
    });
    let ty = parse_type(&input).unwrap();
    let inputs: Vec<i128> = (ty.format.min_raw()..=ty.format.max_raw()).collect();
    let dir = tempfile::tempdir().unwrap();
    let got = common::rtl_on_inputs(&model, &inputs, dir.path());
    assert!(want.len() >= 4 * 28, "{} casts", want.len());
    for (k, w) in want.iter().enumerate() {
        assert_eq!(w.len(), inputs.len(), "one code per input code");
        for (s, &x) in inputs.iter().enumerate() {
            let t = layers[k]["output_type"].as_str().unwrap();
            assert_eq!(got[s * want.len() + k], w[s], "{t} of raw {x} in {input}");
        }
    }
}
