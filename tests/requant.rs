//! `requant` layers, QONNX's `Quant` with a real scale, compile to
//! multi-thresholds found by binary search; the golden model then counts
//! thresholds. Here every element is checked against the exact rational
//! definition (`fixed::requant`, itself checked against integer division
//! in its unit tests), over random inputs, scales, zero points, tie rules
//! and ReLUs. The RTL is checked by `rtl_random`, whose MLPs draw these
//! layers too, and on the Brevitas fixtures by `onnx_import`.

use neurtl::compile::compile_text;
use neurtl::fixed::QuantMode;
use neurtl::fixed::requant::Requant;
use neurtl::ir::CompileOptions;
use neurtl::vectors::Rng;
use serde_json::{Value, json};

const INPUT_TYPES: [&str; 5] = [
    "fixed<10,4>",
    "ufixed<8,8>",
    "fixed<16,16>",
    "fixed<20,2>",
    "fixed<6,6>",
];

/// The layer's channels as the test reads its JSON (not through the
/// model parser).
fn channels(layer: &Value, width: usize) -> Vec<Requant> {
    let num = |k: &str| layer[k].as_f64().unwrap();
    let int = |k: &str| layer[k].as_i64().unwrap();
    let list = |k: &str| -> Vec<f64> {
        let v: Vec<f64> = layer[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        if v.len() == 1 { vec![v[0]; width] } else { v }
    };
    let name = layer["rounding"].as_str().unwrap();
    let mode = *QuantMode::ALL.iter().find(|m| m.name() == name).unwrap();
    let (mul, add) = (list("mul"), list("add"));
    (0..width)
        .map(|c| Requant {
            mul: mul[c],
            add: add[c],
            relu: layer["relu"].as_bool().unwrap(),
            scale: num("scale"),
            zero: int("zero_point"),
            min: int("min"),
            max: int("max"),
            mode,
        })
        .collect()
}

#[test]
fn golden_equals_the_exact_requantization() {
    let mut levels_hit = 0usize;
    for seed in 0..300u64 {
        let mut r = Rng::new(seed);
        let width = 1 + r.below(6) as usize;
        let ty = INPUT_TYPES[(seed % 5) as usize];
        let layer = neurtl::testgen::random_requant(&mut r, "q", "x", width);
        let model = json!({
            "format": "neurtl-model", "version": 1, "name": "rq",
            "inputs": [{"name": "x", "shape": [width], "type": ty}],
            "layers": [layer], "outputs": ["q"],
        });
        let c = compile_text(
            "rq.json",
            &model.to_string(),
            CompileOptions::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{model}"));
        let golden = c.golden().unwrap();
        let frac = golden.input_formats[0].0.frac;
        let inputs = neurtl::vectors::random(&golden.input_formats, 300, seed);
        let mut out = vec![];
        golden.run_batch(&inputs, &mut out);
        let q = channels(&layer, width);
        let mut seen = std::collections::HashSet::new();
        for (k, (&x, &y)) in inputs.iter().zip(&out).enumerate() {
            let want = q[k % width].apply_raw(x, frac);
            assert_eq!(
                y, want,
                "seed {seed}, element {k}, input raw {x} of {ty}: {layer}"
            );
            seen.insert(y);
        }
        levels_hit += seen.len();
    }
    // The draws reach many levels, not only the clamped ends.
    assert!(levels_hit > 300 * 4, "{levels_hit}");
}

#[test]
fn bad_requant_fields_are_named() {
    let base = json!({"name": "q", "op": "requant", "input": "x", "mul": [0.5],
                      "scale": 0.1, "min": 0, "max": 15});
    let cases = [
        (json!({"mul": [-0.5]}), "must be positive"),
        (json!({"zero_point": 20}), "zero point"),
        (json!({"rounding": "round"}), "not a rounding mode"),
        (json!({"max": 1 << 20}), "levels"),
        (
            json!({"add": [0.0, 1.0, 2.0], "mul": [1.0, 2.0]}),
            "one per channel",
        ),
    ];
    for (patch, needle) in cases {
        let mut layer = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            layer[k] = v.clone();
        }
        let model = json!({
            "format": "neurtl-model", "version": 1, "name": "rq",
            "inputs": [{"name": "x", "shape": [2], "type": "fixed<8,8>"}],
            "layers": [layer], "outputs": ["q"],
        });
        let e = compile_text(
            "rq.json",
            &model.to_string(),
            CompileOptions::default(),
            None,
        )
        .err()
        .unwrap_or_else(|| panic!("{patch} was accepted"))
        .to_string();
        assert!(e.contains(needle) && e.contains("`q`"), "{patch}: {e}");
    }
}

/// An input's `quant` converts real samples exactly: at the float32 scale
/// ties and near-ties, the port gets the exact rational rounding.
#[test]
fn input_quant_converts_real_samples_exactly() {
    let s = 0.026_689_87_f32 as f64;
    let q = Requant {
        mul: 1.0,
        add: 0.0,
        relu: false,
        scale: s,
        zero: 3,
        min: -128,
        max: 127,
        mode: QuantMode::RndConv,
    };
    let inputs = [neurtl::vectors::InputType {
        ty: neurtl::fixed::parse_type("fixed<9,9>").unwrap(),
        count: 2,
        bipolar: false,
        quant: Some(q.clone()),
    }];
    // Exact ties (k + 1/2)·s (the product is exact in f64) and their
    // float neighbours, which a float division cannot tell from the tie.
    // With zero point 3 the tie is at q = k + 3.5.
    let mut values = vec![];
    let mut want = vec![];
    for k in [-7i64, 0, 1, 2, 40, 124] {
        let tie = (k as f64 + 0.5) * s;
        let even = if (k + 3) % 2 == 0 { k + 3 } else { k + 4 };
        let (larger, smaller) = if k >= 0 {
            (k + 4, k + 3)
        } else {
            (k + 3, k + 4)
        };
        values.extend([
            tie,
            f64::from_bits(tie.to_bits() + 1),
            f64::from_bits(tie.to_bits() - 1),
        ]);
        want.extend([even, larger, smaller]);
    }
    values.extend([-1e6, 1e6, 0.0, -0.0]);
    want.extend([-128, 127, 3, 3]);
    let t = neurtl::vectors::Table {
        cols: 2,
        values: values.clone(),
    };
    let raw =
        neurtl::vectors::table_to_raw(std::path::Path::new("x.csv"), &t, &inputs, false).unwrap();
    for ((x, r), w) in values.iter().zip(&raw).zip(&want) {
        let w = (*w).clamp(-128, 127) as i128 - 3;
        assert_eq!(*r, w, "{x}");
    }
}
