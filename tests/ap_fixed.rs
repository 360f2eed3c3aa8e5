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

/// Every reference value as a weight of one dense neuron, in every mode
/// pair: a saturating type gives ap_fixed's codes and records the values
/// it changed; a wrapping one refuses exactly the values that overflow.
#[test]
fn weights_are_cast_as_ap_fixed_casts_them() {
    let r = reference();
    let f = &r["formats"][0];
    let format = f["format"].as_str().unwrap();
    let values: Vec<f64> = (f["values"].as_array().unwrap().iter())
        .map(|v| f64::from_bits(u64::from_str_radix(v.as_str().unwrap(), 16).unwrap()))
        .collect();
    let mut saturated_modes = 0;
    for (modes, raw) in f["raw"].as_object().unwrap() {
        let ty = with_modes(format, modes);
        let model = serde_json::json!({
            "format": "neurtl-model", "version": 1, "name": "consts",
            "inputs": [{"name": "x", "shape": [values.len()], "type": "fixed<8,4>"}],
            "layers": [{"name": "fc", "op": "dense", "input": "x", "units": 1,
                        "weights": [values], "weight_type": ty}],
            "outputs": ["fc"],
        });
        let text = model.to_string();
        let c = neurtl::compile::compile_text(
            "m.json",
            &text,
            Default::default(),
            Some("quantize_weights"),
        );
        let parsed = parse_type(&ty).unwrap();
        let overflowing: Vec<usize> = (0..values.len())
            .filter(|&k| cast_f64(values[k], &parsed).1.overflowed)
            .collect();
        assert!(
            !overflowing.is_empty(),
            "{ty}: the reference probes overflow"
        );
        if modes.ends_with(",wrap") {
            let e = c.err().map(|e| e.to_string()).unwrap_or_default();
            let n = format!("{} value(s) do not fit", overflowing.len());
            assert!(e.contains("layer `fc`") && e.contains(&n), "{ty}: {e}");
            continue;
        }
        let c = c.unwrap_or_else(|e| panic!("{ty}: {e}"));
        let fc = c
            .graph
            .topo()
            .into_iter()
            .find(|&n| c.graph.node(n).name == "fc")
            .unwrap();
        let neurtl::ir::Op::Dense(d) = &c.graph.node(fc).op else {
            panic!("a dense layer")
        };
        let row = &d.quant.as_ref().expect("quantized").weights[0];
        for (k, want) in raw.as_array().unwrap().iter().enumerate() {
            assert_eq!(
                row.get(k),
                want.as_i64().unwrap() as i128,
                "{ty} of {:e}",
                values[k]
            );
        }
        let s = &c.graph.meta.saturated;
        assert_eq!(s.len(), 1, "{ty}: one field saturated");
        let at: Vec<String> = overflowing.iter().map(|k| format!("[0][{k}]")).collect();
        let listed: Vec<String> = s[0].changed.iter().map(|c| c.0.clone()).collect();
        assert_eq!(listed, at, "{ty}: the changed values are listed");
        saturated_modes += 1;
    }
    assert_eq!(
        saturated_modes, 21,
        "7 quantization modes by 3 saturating overflow modes"
    );
}

/// The example through the command line: −4 in
/// `fixed<12,3,trn,sat_sym>` becomes −3.998046875 with a warning naming it,
/// `report.json` lists it, the RTL computes with the cast value (0
/// mismatches against the golden model, whose output shows the cast
/// weight), and `--strict` refuses the model by layer and field.
#[test]
fn saturated_constants_warn_build_and_are_refused_under_strict() {
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "sat",
        "inputs": [{"name": "x", "shape": [2], "type": "fixed<8,4>"}],
        "layers": [{"name": "fc", "op": "dense", "input": "x", "units": 2,
                    "weights": [[-4.0, 1.0], [0.5, 9.0]], "weight_type": "fixed<12,3,trn,sat_sym>",
                    "bias": [0.0, 200.0], "bias_type": "fixed<8,4,trn,sat_zero>",
                    "output_type": "fixed<24,12>"}],
        "outputs": ["fc"],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sat.json");
    std::fs::write(&path, model.to_string()).unwrap();
    let build = dir.path().join("b");
    let (p, b) = (path.to_str().unwrap(), build.to_str().unwrap());
    let o = common::neurtl_command(&["run", p, "-o", b, "--vectors", "200"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stderr}\n{stdout}");
    common::assert_no_mismatches(&stdout, "saturated constants");
    for needle in [
        "warning:",
        "layer `fc`, field `weights`: 2 value(s) outside fixed<12,3,trn,sat_sym>",
        "weights[0][0] = -4 → -3.998046875",
        "weights[1][1] = 9 → 3.998046875",
        "layer `fc`, field `bias`: 1 value(s) outside fixed<8,4,trn,sat_zero>",
        "bias[1] = 200 → 0",
    ] {
        assert!(
            stderr.contains(needle),
            "stderr lacks `{needle}`:\n{stderr}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(build.join("report.json")).unwrap()).unwrap();
    let s = &report["saturated_constants"];
    assert_eq!(s[0]["changed"][0]["cast"], -3.998046875, "{s}");
    assert_eq!(s[1]["changed"][0]["at"], "[1]", "{s}");
    // the golden model computes with the cast weights: x = (1, 0) gives
    // the first column, −3.998046875 and 0.5
    let c = neurtl::compile::compile_text("sat.json", &model.to_string(), Default::default(), None)
        .unwrap();
    let g = c.golden().unwrap();
    let mut out = vec![];
    g.run_batch(&[16, 0], &mut out);
    let frac = g.output_formats[0].0.frac;
    let real: Vec<f64> = out.iter().map(|&r| r as f64 / 2f64.powi(frac)).collect();
    assert_eq!(real, vec![-3.998046875, 0.5]);

    let o = common::neurtl_command(&["compile", p, "-o", b, "--strict"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for needle in [
        p,
        "layer `fc`",
        "field `weights`",
        "do not fit",
        "without --strict",
    ] {
        assert!(
            stderr.contains(needle),
            "stderr lacks `{needle}`:\n{stderr}"
        );
    }
}
