//! Malformed models must be rejected cleanly: `neurtl inspect` exits with
//! code 2 (never a panic), and the message names the file, the layer (when
//! there is one), the field, and says what is wrong.
//!
//! Each case builds a small model with `serde_json::json!`, writes it to a
//! temporary directory under a file name of its own, and runs the built
//! binary on it.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

/// A valid wrapper around `layers`: one input `x` of shape [4] and type
/// fixed<8,4>; the output is the last layer (or `x` when there is none).
fn model(layers: Value) -> Value {
    model_on(json!([4]), "fixed<8,4>", layers)
}

/// [`model`] with an input of another shape and type.
fn model_on(shape: Value, ty: &str, layers: Value) -> Value {
    let last = layers
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l["name"].as_str())
        .unwrap_or("x")
        .to_string();
    json!({
        "format": "neurtl-model",
        "version": 1,
        "name": "bad",
        "inputs": [{"name": "x", "shape": shape, "type": ty}],
        "layers": layers,
        "outputs": [last],
    })
}

/// A valid dense layer reading `input` (4 elements) with 2 units and a
/// bias; `extra` fields are merged over these defaults (a `null` removes
/// the field).
fn dense(name: &str, input: &str, extra: Value) -> Value {
    let mut l = json!({
        "name": name,
        "op": "dense",
        "input": input,
        "units": 2,
        "weights": [[0.5, -0.25, 0.125, 0.0], [0.0, 0.75, -0.5, 0.25]],
        "bias": [0.0, 0.5],
        "weight_type": "fixed<8,2>",
        "bias_type": "fixed<8,4>",
    });
    let obj = l.as_object_mut().unwrap();
    for (k, v) in extra.as_object().expect("extra fields are an object") {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    l
}

/// What one run of the binary did.
struct Outcome {
    /// The model path exactly as passed on the command line.
    file: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    // Keeps the directory (and the model file) alive while assertions run.
    _dir: tempfile::TempDir,
}

/// Write `text` to `<tmp>/<file_name>` and run `neurtl inspect` on it.
fn run_text(file_name: &str, text: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join(file_name);
    std::fs::write(&path, text).expect("write model");
    let out = Command::new(env!("CARGO_BIN_EXE_neurtl"))
        .arg("inspect")
        .arg(&path)
        .output()
        .expect("run neurtl");
    Outcome {
        file: path.display().to_string(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        _dir: dir,
    }
}

fn run(file_name: &str, m: &Value) -> Outcome {
    run_text(file_name, &serde_json::to_string_pretty(m).unwrap())
}

/// Exit code 2, no panic, and stderr naming the file plus every `needle`.
fn assert_rejected(o: &Outcome, needles: &[&str]) {
    let ctx = format!(
        "exit code {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
        o.code, o.stderr, o.stdout
    );
    assert!(!o.stderr.contains("panicked"), "neurtl panicked\n{ctx}");
    assert_eq!(o.code, Some(2), "expected exit code 2\n{ctx}");
    assert!(
        o.stderr.contains(&o.file),
        "stderr does not name the file `{}`\n{ctx}",
        o.file
    );
    for n in needles {
        assert!(o.stderr.contains(n), "stderr does not contain `{n}`\n{ctx}");
    }
}

/// Serialize `m`, then swap the string marker `"@name@"` for a bare token
/// (`NaN`, `Infinity`, `-Infinity`) as Python's `json.dump` writes them.
fn with_bare_tokens(m: &Value, subs: &[(&str, &str)]) -> String {
    let mut text = serde_json::to_string_pretty(m).unwrap();
    for (marker, token) in subs {
        let quoted = format!("\"{marker}\"");
        assert!(text.contains(&quoted), "marker {marker} not in model");
        text = text.replace(&quoted, token);
    }
    text
}

// ---------------------------------------------------------------- control

#[test]
fn valid_model_is_accepted() {
    let m = model(json!([
        dense("fc1", "x", json!({"output_type": "fixed<12,6,rnd,sat>"})),
        {"name": "r1", "op": "relu", "input": "fc1"},
        {"name": "class", "op": "argmax", "input": "r1"},
    ]));
    let o = run("good.json", &m);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert_eq!(o.code, Some(0), "valid model rejected:\n{}", o.stderr);
    assert!(
        o.stdout.contains("fc1"),
        "IR print lacks fc1:\n{}",
        o.stdout
    );
}

// --------------------------------------------------------- document level

#[test]
fn invalid_json_syntax() {
    let o = run_text(
        "syntax.json",
        "{\"format\": \"neurtl-model\", \"version\": 1,, \"name\": \"bad\"}",
    );
    assert_rejected(&o, &["invalid JSON", "line 1"]);
}

#[test]
fn truncated_json() {
    let text = serde_json::to_string_pretty(&model(json!([]))).unwrap();
    let o = run_text("truncated.json", &text[..text.len() / 2]);
    assert_rejected(&o, &["invalid JSON", "EOF"]);
}

#[test]
fn top_level_not_an_object() {
    let o = run_text("array.json", "[1, 2, 3]");
    assert_rejected(&o, &["JSON object"]);
}

#[test]
fn wrong_format() {
    let mut m = model(json!([]));
    m["format"] = json!("onnx");
    let o = run("format.json", &m);
    assert_rejected(&o, &["`format`", "neurtl-model"]);
}

#[test]
fn missing_format() {
    let mut m = model(json!([]));
    m.as_object_mut().unwrap().remove("format");
    let o = run("noformat.json", &m);
    assert_rejected(&o, &["`format`", "missing"]);
}

#[test]
fn wrong_version() {
    let mut m = model(json!([]));
    m["version"] = json!(2);
    let o = run("version.json", &m);
    assert_rejected(&o, &["`version`", "not supported", "2"]);
}

#[test]
fn version_as_string() {
    let mut m = model(json!([]));
    m["version"] = json!("1");
    let o = run("version_str.json", &m);
    assert_rejected(&o, &["`version`", "not supported"]);
}

#[test]
fn missing_outputs() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m.as_object_mut().unwrap().remove("outputs");
    let o = run("nooutputs.json", &m);
    assert_rejected(&o, &["`outputs`", "missing"]);
}

#[test]
fn empty_outputs() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["outputs"] = json!([]);
    let o = run("emptyoutputs.json", &m);
    assert_rejected(&o, &["`outputs`", "at least one output"]);
}

#[test]
fn output_names_unknown_layer() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["outputs"] = json!(["ghost"]);
    let o = run("ghostout.json", &m);
    assert_rejected(&o, &["`outputs`", "`ghost`", "not a layer"]);
}

#[test]
fn output_listed_twice() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["outputs"] = json!(["r", "r"]);
    let o = run("twiceout.json", &m);
    assert_rejected(&o, &["`outputs`", "`r`", "twice"]);
}

// ------------------------------------------------------------ input shapes

#[test]
fn zero_shape_dim() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["shape"] = json!([4, 0]);
    let o = run("zerodim.json", &m);
    assert_rejected(&o, &["layer `x`", "`shape`", "positive"]);
}

#[test]
fn negative_shape_dim() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["shape"] = json!([-4]);
    let o = run("negdim.json", &m);
    assert_rejected(&o, &["layer `x`", "`shape`", "positive"]);
}

#[test]
fn empty_shape() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["shape"] = json!([]);
    let o = run("emptyshape.json", &m);
    assert_rejected(&o, &["layer `x`", "`shape`", "positive"]);
}

#[test]
fn fractional_shape_dim() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["shape"] = json!([2.5]);
    let o = run("fracdim.json", &m);
    assert_rejected(&o, &["layer `x`", "`shape`", "positive integers"]);
}

#[test]
fn huge_shape_is_rejected_not_overflowed() {
    // The product of these dims overflows u64/usize.
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["shape"] = json!([4294967296u64, 4294967296u64]);
    let o = run("hugeshape.json", &m);
    assert_rejected(&o, &["layer `x`", "`shape`", "too large"]);
}

#[test]
fn dense_zero_units() {
    let m = model(json!([dense("fc1", "x", json!({"units": 0}))]));
    let o = run("zerounits.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`units`", "positive"]);
}

#[test]
fn dense_negative_units() {
    let m = model(json!([dense("fc1", "x", json!({"units": -2}))]));
    let o = run("negunits.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`units`", "positive"]);
}

// -------------------------------------------------------------- op / types

#[test]
fn unknown_op() {
    let m = model(json!([{"name": "c1", "op": "conv3d", "input": "x"}]));
    let o = run("unknownop.json", &m);
    assert_rejected(&o, &["layer `c1`", "`op`", "unknown op", "conv3d"]);
}

#[test]
fn unknown_type_string() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weight_type": "fixd<8,2>"})
    )]));
    let o = run("badtype.json", &m);
    assert_rejected(
        &o,
        &["layer `fc1`", "`weight_type`", "fixd<8,2>", "not a type"],
    );
}

#[test]
fn unknown_input_type_string() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    m["inputs"][0]["type"] = json!("float32");
    let o = run("badintype.json", &m);
    assert_rejected(&o, &["layer `x`", "`type`", "float32", "not a type"]);
}

#[test]
fn bad_quantization_mode() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weight_type": "fixed<8,2,round>"})
    )]));
    let o = run("badquant.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `fc1`",
            "`weight_type`",
            "`round`",
            "quantization mode",
        ],
    );
}

#[test]
fn bad_overflow_mode() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"bias_type": "fixed<8,4,rnd,clip>"})
    )]));
    let o = run("badoverflow.json", &m);
    assert_rejected(
        &o,
        &["layer `fc1`", "`bias_type`", "`clip`", "overflow mode"],
    );
}

#[test]
fn width_zero() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weight_type": "fixed<0,0>"})
    )]));
    let o = run("width0.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`weight_type`", "width 0", "outside"]);
}

#[test]
fn width_200() {
    let m = model(
        json!([{"name": "q", "op": "quantize", "input": "x", "output_type": "fixed<200,8>"}]),
    );
    let o = run("width200.json", &m);
    assert_rejected(&o, &["layer `q`", "`output_type`", "width 200", "outside"]);
}

#[test]
fn quantize_without_output_type() {
    let m = model(json!([{"name": "q", "op": "quantize", "input": "x"}]));
    let o = run("quantnotype.json", &m);
    assert_rejected(&o, &["layer `q`", "`output_type`", "quantize"]);
}

#[test]
fn argmax_with_output_type() {
    let m = model(json!([{"name": "am", "op": "argmax", "input": "x", "output_type": "uint<4>"}]));
    let o = run("argmaxtype.json", &m);
    assert_rejected(&o, &["layer `am`", "`output_type`", "argmax", "index"]);
}

#[test]
fn accum_type_with_sat_overflow() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"accum_type": "fixed<20,8,trn,sat>"})
    )]));
    let o = run("accumsat.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`accum_type`", "sat", "wrap"]);
}

#[test]
fn bias_without_bias_type() {
    let m = model(json!([dense("fc1", "x", json!({"bias_type": null}))]));
    let o = run("nobiastype.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`bias_type`", "missing"]);
}

// ------------------------------------------------------------------ shapes

#[test]
fn dense_rows_differ_from_units() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"units": 3, "bias": [0.0, 0.0, 0.0]})
    )]));
    let o = run("rows.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`weights`", "2 rows", "units = 3"]);
}

#[test]
fn dense_row_of_wrong_length() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, -0.25, 0.125, 0.0], [0.0, 0.75, -0.5]]})
    )]));
    let o = run("rowlen.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `fc1`",
            "`weights`",
            "row 1",
            "3 entries",
            "4 elements",
        ],
    );
}

#[test]
fn dense_weights_transposed() {
    // [inputs][units] = [4][2] instead of [units][inputs] = [2][4].
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, 0.0], [-0.25, 0.75], [0.125, -0.5], [0.0, 0.25]]})
    )]));
    let o = run("transposed.json", &m);
    assert_rejected(
        &o,
        &["layer `fc1`", "`weights`", "[4][2]", "[2][4]", "transposed"],
    );
}

#[test]
fn dense_row_not_a_list() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, -0.25, 0.125, 0.0], 1.0]})
    )]));
    let o = run("rownotlist.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`weights`", "row 1", "not a list"]);
}

#[test]
fn dense_weight_not_a_number() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, -0.25, 0.125, 0.0], [0.0, "0.75", -0.5, 0.25]]})
    )]));
    let o = run("weightstr.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`weights[1][1]`", "must be a number"]);
}

/// The sparse weight form: each malformed entry is named by its position.
#[test]
fn sparse_weights_that_cannot_be_read_say_where() {
    let sparse = |w: Value| model(json!([dense("fc1", "x", json!({ "weights": w }))]));
    let cases: [(Value, &[&str]); 8] = [
        (
            json!({"inputs": 4, "rows": [[[0, 0.5]], [[2, 0.5], [1, 0.25]]]}),
            &["`weights.rows[1][1]`", "column 1 does not ascend"],
        ),
        (
            json!({"inputs": 4, "rows": [[[0, 0.5]], [[1, 0.5], [1, 0.25]]]}),
            &["`weights.rows[1][1]`", "column 1 does not ascend"],
        ),
        (
            json!({"inputs": 4, "rows": [[[4, 0.5]], []]}),
            &["`weights.rows[0][0]`", "column 4", "below 4"],
        ),
        (
            json!({"inputs": 4, "rows": [[[0, 0.5, 1.0]], []]}),
            &["`weights.rows[0][0]`", "[column, weight] pair"],
        ),
        (
            json!({"inputs": 4, "rows": [[[0, "0.5"]], []]}),
            &["`weights.rows[0][0]`", "must be a number"],
        ),
        (
            json!({"inputs": 0, "rows": [[], []]}),
            &["`weights.inputs`", "positive integer"],
        ),
        (
            json!({"inputs": 4, "rows": [[], []], "cols": 4}),
            &["`weights.cols`", "not a field"],
        ),
        (
            json!({"inputs": 4, "rows": [[]]}),
            &["`weights`", "1 rows", "units = 2"],
        ),
    ];
    for (i, (w, needles)) in cases.into_iter().enumerate() {
        let o = run(&format!("sparse{i}.json"), &sparse(w));
        assert_rejected(&o, &[&["layer `fc1`"], needles].concat());
    }
    // the input count must be the operand's, like a row's length
    let o = run(
        "sparse_inputs.json",
        &sparse(json!({"inputs": 5, "rows": [[[0, 0.5]], []]})),
    );
    assert_rejected(&o, &["layer `fc1`", "row 0 has 5 entries", "4 elements"]);
}

#[test]
fn bias_length_mismatch() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"bias": [0.0, 0.5, 0.25]})
    )]));
    let o = run("biaslen.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`bias`", "3 entries", "units = 2"]);
}

#[test]
fn add_with_mismatched_shapes() {
    let m = model(json!([
        dense("fc1", "x", json!({})),
        {"name": "sum", "op": "add", "inputs": ["x", "fc1"]},
    ]));
    let o = run("addshape.json", &m);
    assert_rejected(&o, &["layer `sum`", "`inputs`", "[4]", "[2]", "differ"]);
}

#[test]
fn add_with_three_inputs() {
    let m = model(json!([{"name": "sum", "op": "add", "inputs": ["x", "x", "x"]}]));
    let o = run("add3.json", &m);
    assert_rejected(&o, &["layer `sum`", "`inputs`", "takes 2 inputs", "got 3"]);
}

#[test]
fn dense_on_two_dimensional_input() {
    let mut m = model(json!([dense("fc1", "x", json!({}))]));
    m["inputs"][0]["shape"] = json!([2, 2]);
    let o = run("dense2d.json", &m);
    assert_rejected(
        &o,
        &["layer `fc1`", "`input`", "one-dimensional", "flatten"],
    );
}

#[test]
fn batchnorm_not_after_dense() {
    let m = model(json!([
        {"name": "r", "op": "relu", "input": "x"},
        {"name": "bn", "op": "batchnorm", "input": "r",
         "gamma": [1.0, 1.0, 1.0, 1.0], "beta": [0.0, 0.0, 0.0, 0.0],
         "mean": [0.0, 0.0, 0.0, 0.0], "var": [1.0, 1.0, 1.0, 1.0]},
    ]));
    let o = run("bnrelu.json", &m);
    assert_rejected(&o, &["layer `bn`", "`input`", "`r`", "not a dense layer"]);
}

#[test]
fn batchnorm_channel_mismatch() {
    let m = model(json!([
        dense("fc1", "x", json!({})),
        {"name": "bn", "op": "batchnorm", "input": "fc1",
         "gamma": [1.0, 1.0, 1.0], "beta": [0.0, 0.0, 0.0],
         "mean": [0.0, 0.0, 0.0], "var": [1.0, 1.0, 1.0]},
    ]));
    let o = run("bnchan.json", &m);
    assert_rejected(&o, &["layer `bn`", "`gamma`", "3 channels", "2"]);
}

#[test]
fn batchnorm_negative_variance() {
    let m = model(json!([
        dense("fc1", "x", json!({})),
        {"name": "bn", "op": "batchnorm", "input": "fc1",
         "gamma": [1.0, 1.0], "beta": [0.0, 0.0],
         "mean": [0.0, 0.0], "var": [1.0, -1.0]},
    ]));
    let o = run("bnvar.json", &m);
    assert_rejected(&o, &["layer `bn`", "`var[1]`", "positive"]);
}

// ------------------------------------------------------------------ wiring

#[test]
fn dangling_input_reference() {
    let m = model(json!([{"name": "r", "op": "relu", "input": "nope"}]));
    let o = run("dangling.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `r`",
            "`input`",
            "`nope`",
            "neither an input nor a layer",
        ],
    );
}

#[test]
fn dangling_reference_in_inputs_list() {
    let m = model(json!([{"name": "cat", "op": "concat", "inputs": ["x", "nope"]}]));
    let o = run("dangling_list.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `cat`",
            "`inputs`",
            "`nope`",
            "neither an input nor a layer",
        ],
    );
}

#[test]
fn cycle_between_two_layers() {
    let m = model(json!([
        {"name": "a", "op": "relu", "input": "b"},
        {"name": "b", "op": "relu", "input": "a"},
    ]));
    let o = run("cycle.json", &m);
    assert_rejected(&o, &["layer `a`", "`input`", "a, b", "cycle"]);
}

#[test]
fn self_loop() {
    let m = model(json!([{"name": "a", "op": "relu", "input": "a"}]));
    let o = run("selfloop.json", &m);
    assert_rejected(&o, &["layer `a`", "`input`", "cycle"]);
}

#[test]
fn duplicate_layer_names() {
    let m = model(json!([
        {"name": "r", "op": "relu", "input": "x"},
        {"name": "r", "op": "hard_tanh", "input": "x"},
    ]));
    let o = run("duplicate.json", &m);
    assert_rejected(&o, &["layer `r`", "`name`", "duplicate"]);
}

#[test]
fn layer_named_like_an_input() {
    let m = model(json!([{"name": "x", "op": "relu", "input": "x"}]));
    let o = run("dupinput.json", &m);
    assert_rejected(&o, &["layer `x`", "`name`", "duplicate"]);
}

// ----------------------------------------------------------------- values

#[test]
fn nan_weight_bare_token() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, "@nan@", 0.125, 0.0], [0.0, 0.75, -0.5, 0.25]]})
    )]));
    let text = with_bare_tokens(&m, &[("@nan@", "NaN")]);
    assert!(text.contains("NaN") && serde_json::from_str::<Value>(&text).is_err());
    let o = run_text("nan.json", &text);
    assert_rejected(&o, &["layer `fc1`", "`weights[0][1]`", "NaN", "finite"]);
}

#[test]
fn infinity_weight_bare_token() {
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weights": [[0.5, -0.25, 0.125, 0.0], [0.0, 0.75, "@inf@", 0.25]]})
    )]));
    let text = with_bare_tokens(&m, &[("@inf@", "Infinity")]);
    let o = run_text("inf.json", &text);
    assert_rejected(
        &o,
        &["layer `fc1`", "`weights[1][2]`", "Infinity", "finite"],
    );
}

#[test]
fn negative_infinity_bias_bare_token() {
    let m = model(json!([dense("fc1", "x", json!({"bias": [0.0, "@ninf@"]}))]));
    let text = with_bare_tokens(&m, &[("@ninf@", "-Infinity")]);
    let o = run_text("ninf.json", &text);
    assert_rejected(&o, &["layer `fc1`", "`bias[1]`", "-Infinity", "finite"]);
}

#[test]
fn nan_in_a_name_string_is_not_a_weight() {
    // The NaN/Infinity rewriting must leave strings alone: a model whose
    // layer is called "NaN_Infinity" is valid.
    let m = model(json!([{"name": "NaN_Infinity", "op": "relu", "input": "x"}]));
    let o = run("nanname.json", &m);
    assert_eq!(o.code, Some(0), "valid model rejected:\n{}", o.stderr);
}

#[test]
fn overflowing_number_literal() {
    // 1e999 is not representable as f64.
    let m = model(json!([dense("fc1", "x", json!({}))]));
    let text = serde_json::to_string_pretty(&m)
        .unwrap()
        .replace("0.75", "1e999");
    let o = run_text("bignum.json", &text);
    // serde_json rejects it while parsing, so only the position is known.
    assert_rejected(&o, &["invalid JSON", "out of range", "line"]);
}

#[test]
fn weight_does_not_fit_its_type() {
    // fixed<4,2> holds -2 .. 1.75.
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"weight_type": "fixed<4,2>",
               "weights": [[0.5, 5.0, 0.25, 0.0], [0.0, 0.75, -0.5, 0.25]]})
    )]));
    let o = run("nofit.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `fc1`",
            "`weights`",
            "do not fit",
            "fixed<4,2>",
            "weights[0][1] = 5",
            // the way out, for a user who means ap_fixed's saturation
            "saturating overflow mode",
        ],
    );
}

#[test]
fn bias_does_not_fit_its_type() {
    let m = model(json!([dense("fc1", "x", json!({"bias": [0.0, -100.0]}))]));
    let o = run("biasnofit.json", &m);
    assert_rejected(
        &o,
        &["layer `fc1`", "`bias`", "do not fit", "bias[1] = -100"],
    );
}

#[test]
fn leaky_relu_missing_alpha() {
    let m = model(
        json!([{"name": "lr", "op": "leaky_relu", "input": "x", "alpha_type": "fixed<8,1>"}]),
    );
    let o = run("noalpha.json", &m);
    assert_rejected(&o, &["layer `lr`", "`alpha`", "missing"]);
}

#[test]
fn layer_missing_op() {
    let m = model(json!([{"name": "r", "input": "x"}]));
    let o = run("noop.json", &m);
    assert_rejected(&o, &["layer `r`", "`op`", "missing"]);
}

// ------------------------------------------------------- message quality

#[test]
fn message_is_printed_once() {
    let m = model(json!([{"name": "c1", "op": "conv3d", "input": "x"}]));
    let o = run("once.json", &m);
    assert_rejected(&o, &["unknown op"]);
    assert_eq!(
        o.stderr.matches("unknown op").count(),
        1,
        "message repeated:\n{}",
        o.stderr
    );
}

#[test]
fn cycle_names_only_its_members() {
    // `0down` reads the cycle a <-> b but is not on it; it sorts first.
    let mut m = model(json!([
        {"name": "a", "op": "relu", "input": "b"},
        {"name": "b", "op": "relu", "input": "a"},
        {"name": "0down", "op": "relu", "input": "a"},
    ]));
    m["outputs"] = json!(["b"]);
    let o = run("cycle_down.json", &m);
    assert_rejected(&o, &["cycle", "`input`"]);
    assert!(
        !o.stderr.contains("0down"),
        "a layer off the cycle is blamed:\n{}",
        o.stderr
    );
}

#[test]
fn cycle_through_add_names_inputs_field() {
    let m = model(json!([
        {"name": "a", "op": "add", "inputs": ["x", "b"]},
        {"name": "b", "op": "relu", "input": "a"},
    ]));
    let o = run("cycle_add.json", &m);
    assert_rejected(&o, &["layer `a`", "`inputs`", "cycle"]);
}

// ------------------------------------------------------------ unknown fields

#[test]
fn misspelled_layer_field_is_rejected_with_a_hint() {
    // Ignoring it would silently compile with the default (auto) accumulator.
    let m = model(json!([dense(
        "fc1",
        "x",
        json!({"acum_type": "fixed<12,4>"})
    )]));
    let o = run("acum.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `fc1`",
            "`acum_type`",
            "unknown field",
            "`accum_type`",
        ],
    );
}

#[test]
fn unknown_top_level_and_input_fields_are_rejected() {
    let mut m = model(json!([]));
    m["outptus"] = json!(["x"]);
    let o = run("top_field.json", &m);
    assert_rejected(&o, &["`outptus`", "unknown field", "`outputs`"]);

    let mut m = model(json!([]));
    m["inputs"][0]["dtype"] = json!("float32");
    let o = run("input_field.json", &m);
    assert_rejected(&o, &["`x`", "`dtype`", "unknown field"]);
}

#[test]
fn field_of_another_op_is_rejected() {
    let m = model(json!([{"name": "r", "op": "relu", "input": "x", "units": 4}]));
    let o = run("relu_units.json", &m);
    assert_rejected(&o, &["layer `r`", "`units`", "unknown field"]);
}

#[test]
fn underscore_fields_are_comments() {
    let mut m = model(json!([{"name": "r", "op": "relu", "input": "x", "_note": "ok"}]));
    m["_source"] = json!({"trained": "2026"});
    let o = run("comments.json", &m);
    assert_eq!(o.code, Some(0), "stderr: {}", o.stderr);
}

// ------------------------------------------------------------------ BNN ops

fn bipolar_dense(name: &str, input: &str, weights: Value) -> Value {
    json!({"name": name, "op": "dense", "input": input, "units": 2,
           "weights": weights, "weight_type": "bipolar"})
}

#[test]
fn bipolar_weight_that_is_not_plus_minus_one() {
    let m = model(json!([bipolar_dense(
        "fc1",
        "x",
        json!([[1, -1, 1, 0.5], [1, 1, -1, -1]])
    )]));
    let o = run("bip_w.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `fc1`",
            "`weights`",
            "not -1 or +1",
            "weights[0][3] = 0.5",
        ],
    );
}

#[test]
fn thresholds_of_the_wrong_shape() {
    let m = model(json!([{"name": "t", "op": "threshold", "input": "x",
                          "thresholds": [[0], [1], [2]]}]));
    let o = run("thr_rows.json", &m);
    assert_rejected(&o, &["layer `t`", "`thresholds`", "3 rows", "(4)"]);

    let m = model(json!([{"name": "t", "op": "threshold", "input": "x",
                          "thresholds": [[0, 1], [1]]}]));
    let o = run("thr_ragged.json", &m);
    assert_rejected(&o, &["layer `t`", "`thresholds`", "row 1 has 1"]);

    let m = model(json!([{"name": "t", "op": "threshold", "input": "x", "thresholds": []}]));
    let o = run("thr_empty.json", &m);
    assert_rejected(&o, &["layer `t`", "`thresholds`", "at least one"]);
}

#[test]
fn sign_of_an_unsigned_value() {
    let m = model(json!([
        {"name": "r", "op": "relu", "input": "x"},
        {"name": "s", "op": "sign", "input": "r"}
    ]));
    let o = run("sign_unsigned.json", &m);
    assert_rejected(&o, &["layer `s`", "`input`", "unsigned", "always +1"]);
}

#[test]
fn bipolar_is_not_an_output_type() {
    let m = model(json!([{"name": "q", "op": "quantize", "input": "x", "output_type": "bipolar"}]));
    let o = run("bip_out.json", &m);
    assert_rejected(&o, &["layer `q`", "`output_type`", "bipolar", "sign"]);
}

#[test]
fn sign_takes_no_output_type() {
    let m = model(json!([{"name": "s", "op": "sign", "input": "x", "output_type": "fixed<4,2>"}]));
    let o = run("sign_type.json", &m);
    assert_rejected(&o, &["layer `s`", "`output_type`"]);
}

#[test]
fn batchnorm_before_sign_with_a_rounding_output_type() {
    let m = model(json!([
        bipolar_dense("fc1", "x", json!([[1, -1, 1, 1], [1, 1, -1, -1]])),
        {"name": "bn", "op": "batchnorm", "input": "fc1", "gamma": [1, -1], "beta": [0, 0],
         "mean": [0, 0], "var": [1, 1], "output_type": "fixed<4,2,rnd>"},
        {"name": "s", "op": "sign", "input": "bn"}
    ]));
    let o = run("bn_sign_type.json", &m);
    assert_rejected(&o, &["layer `bn`", "`output_type`", "threshold"]);
}

#[test]
fn negative_gamma_with_an_explicit_accumulator() {
    let mut d = bipolar_dense("fc1", "x", json!([[1, -1, 1, 1], [1, 1, -1, -1]]));
    d["accum_type"] = json!("fixed<6,6>");
    let m = model(json!([
        d,
        {"name": "bn", "op": "batchnorm", "input": "fc1", "gamma": [1, -1], "beta": [0, 0],
         "mean": [0, 0], "var": [1, 1]},
        {"name": "s", "op": "sign", "input": "bn"}
    ]));
    let o = run("bn_neg_acc.json", &m);
    assert_rejected(&o, &["layer `fc1`", "`accum_type`", "negative gamma"]);
}

#[test]
fn bipolar_input_values_must_be_plus_minus_one() {
    // eval on a CSV with a 0 for a bipolar input
    let dir = tempfile::tempdir().unwrap();
    let m = json!({"format": "neurtl-model", "version": 1, "name": "b",
        "inputs": [{"name": "x", "shape": [2], "type": "bipolar"}],
        "layers": [{"name": "s", "op": "sign", "input": "x"}], "outputs": ["s"]});
    let mp = dir.path().join("b.json");
    std::fs::write(&mp, m.to_string()).unwrap();
    let xp = dir.path().join("x.csv");
    std::fs::write(&xp, "1,-1\n1,0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neurtl"))
        .args(["eval"])
        .arg(&mp)
        .arg("--inputs")
        .arg(&xp)
        .arg("-o")
        .arg(dir.path().join("y.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("x.csv") && err.contains("sample 1 value 1") && err.contains("bipolar"),
        "{err}"
    );
}

// ------------------------------------------------------- target options

/// Run `neurtl compile` on model `m` with extra arguments.
fn compile_with(file_name: &str, m: &Value, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join(file_name);
    std::fs::write(&path, serde_json::to_string(m).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neurtl"))
        .arg("compile")
        .arg(&path)
        .arg("-o")
        .arg(dir.path().join("build"))
        .args(args)
        .output()
        .expect("run neurtl");
    Outcome {
        file: path.display().to_string(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        _dir: dir,
    }
}

fn small_bnn() -> Value {
    json!({"format": "neurtl-model", "version": 1, "name": "b",
        "inputs": [{"name": "x", "shape": [4], "type": "bipolar"}],
        "layers": [
            bipolar_dense("fc1", "x", json!([[1, -1, 1, 1], [1, 1, -1, -1]])),
            {"name": "s", "op": "sign", "input": "fc1"}
        ],
        "outputs": ["s"]})
}

#[test]
fn cell_fan_in_below_three() {
    let o = compile_with(
        "fanin.json",
        &small_bnn(),
        &["--target", "tl-cells", "--tl-max-fanin", "2"],
    );
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("--tl-max-fanin") && o.stderr.contains("3.."),
        "{}",
        o.stderr
    );
    let o = compile_with(
        "weight.json",
        &small_bnn(),
        &["--target", "tl-cells", "--tl-max-weight", "1"],
    );
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("--tl-max-weight"), "{}", o.stderr);
}

#[test]
fn pe_too_small_for_the_network() {
    let o = compile_with(
        "pe.json",
        &small_bnn(),
        &["--target", "tl-pe", "--cells-per-pe", "3"],
    );
    assert_rejected(
        &o,
        &[
            "tl-pe",
            "at least",
            "threshold cells",
            "--cells-per-pe is 3",
        ],
    );
}

#[test]
fn nothing_to_fold_for_tl_pe() {
    let m = model(json!([{"name": "r", "op": "relu", "input": "x"}]));
    let o = compile_with("nofold.json", &m, &["--target", "tl-pe"]);
    assert_rejected(&o, &["tl-pe", "no binary-neuron layer"]);
}

#[test]
fn tl_pe_needs_one_weight_magnitude() {
    let m = json!({"format": "neurtl-model", "version": 1, "name": "b",
        "inputs": [{"name": "x", "shape": [2], "type": "bipolar"}],
        "layers": [
            {"name": "fc1", "op": "dense", "input": "x", "units": 2,
             "weights": [[1, 2], [1, -1]], "weight_type": "fixed<4,4>"},
            {"name": "s", "op": "sign", "input": "fc1"}
        ],
        "outputs": ["s"]});
    let o = compile_with("mag.json", &m, &["--target", "tl-pe"]);
    assert_rejected(&o, &["layer `s`", "one magnitude"]);
}

#[test]
fn latency_shorter_than_the_clock_allows() {
    let m = model(json!([
        dense("fc1", "x", json!({"output_type": "fixed<12,6,rnd,sat>"})),
        {"name": "r1", "op": "relu", "input": "fc1"},
    ]));
    // the inputs and outputs are registered, so no design takes 0 cycles
    let o = compile_with("lat.json", &m, &["--latency", "0"]);
    assert_rejected(&o, &["--latency 0", "needs at least"]);
    // a latency the clock allows is accepted, and is what the build has
    let ok = compile_with("lat.json", &m, &["--latency", "4"]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(ok.stdout.contains("latency 4 cycles"), "{}", ok.stdout);
    let layer = compile_with("lat.json", &m, &["--latency", "4", "--pipeline", "layer"]);
    assert_eq!(layer.code, Some(2), "{}", layer.stderr);
    assert!(
        layer.stderr.contains("--latency needs --pipeline clock"),
        "{}",
        layer.stderr
    );
}

#[test]
fn vendor_cells_need_the_device_named() {
    let m = model(json!([
        dense("fc1", "x", json!({"output_type": "fixed<12,6,rnd,sat>"})),
        {"name": "r1", "op": "relu", "input": "fc1"},
    ]));
    for adders in ["fused", "ternary"] {
        // leaving --device out times with the 7-series model, but builds
        // no vendor cell the user did not ask for
        for (device, needle) in [(None, "name the device"), (Some("asic"), "not asic")] {
            let mut args = vec!["--adders", adders];
            args.extend(device.map(|d| ["--device", d]).into_iter().flatten());
            let o = compile_with("cells.json", &m, &args);
            assert_eq!(o.code, Some(2), "{adders} {device:?}: {}", o.stderr);
            assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
            for n in ["--device xilinx", needle, adders] {
                assert!(
                    o.stderr.contains(n),
                    "{adders} {device:?}: no `{n}` in {}",
                    o.stderr
                );
            }
        }
        let ok = compile_with(
            "cells.json",
            &m,
            &["--adders", adders, "--device", "xilinx"],
        );
        assert_eq!(ok.code, Some(0), "{}", ok.stderr);
        let sim = ok._dir.path().join("build/rtl/sim");
        assert!(
            sim.join("LUT6_2.v").exists(),
            "{adders}: no cell models in rtl/sim"
        );
    }
    // the default build has no vendor cells and no simulation models of them
    let plain = compile_with("cells.json", &m, &[]);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let rtl = plain._dir.path().join("build/rtl");
    assert!(!rtl.join("sim").exists());
    for f in std::fs::read_dir(&rtl).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains("LUT6_2") && !text.contains("CARRY4"));
    }
}

#[test]
fn slices_and_reshapes_that_do_not_fit() {
    let with = |layer: Value| model_on(json!([4, 6]), "fixed<8,3>", json!([layer]));
    let cases = [
        (
            json!({"name": "s", "op": "slice", "input": "x", "axis": 2, "start": 0, "end": 1}),
            vec!["`s`", "axis", "has 2 axes"],
        ),
        (
            json!({"name": "s", "op": "slice", "input": "x", "axis": -3, "start": 0, "end": 1}),
            vec!["`s`", "axis"],
        ),
        (
            json!({"name": "s", "op": "slice", "input": "x", "axis": 0, "start": 2, "end": 5}),
            vec!["`s`", "end", "length 4"],
        ),
        (
            json!({"name": "s", "op": "slice", "input": "x", "axis": 0, "start": 2, "end": 2}),
            vec!["`s`", "end", "above start"],
        ),
        (
            json!({"name": "s", "op": "slice", "input": "x", "axis": 0, "start": -1, "end": 2}),
            vec!["`s`", "start", "non-negative"],
        ),
        (
            json!({"name": "s", "op": "slice", "input": "x", "start": 0, "end": 2}),
            vec!["`s`", "axis", "missing"],
        ),
        (
            json!({"name": "s", "op": "reshape", "input": "x", "shape": [5, 5]}),
            vec!["`s`", "shape", "24 elements"],
        ),
        (
            json!({"name": "s", "op": "reshape", "input": "x", "shape": [-1, 5]}),
            vec!["`s`", "shape", "24 elements"],
        ),
        (
            json!({"name": "s", "op": "reshape", "input": "x", "shape": [-1, -1]}),
            vec!["`s`", "shape", "at most one -1"],
        ),
        (
            json!({"name": "s", "op": "reshape", "input": "x", "shape": [0, 24]}),
            vec!["`s`", "shape", "positive"],
        ),
        (
            json!({"name": "s", "op": "transpose", "input": "x", "perm": [1, 1]}),
            vec!["`s`", "perm", "not a permutation"],
        ),
        (
            json!({"name": "s", "op": "transpose", "input": "x", "perm": [2, 0, 1]}),
            vec!["`s`", "perm", "orders 3 axes", "has 2"],
        ),
        (
            json!({"name": "s", "op": "transpose", "input": "x", "perm": [0, -1]}),
            vec!["`s`", "perm", "axis numbers"],
        ),
    ];
    for (layer, needles) in cases {
        let o = run("shapes.json", &with(layer.clone()));
        assert_rejected(&o, &needles);
    }
    // and the ones that fit are accepted
    for layer in [
        json!({"name": "s", "op": "slice", "input": "x", "axis": -1, "start": 1, "end": 6}),
        json!({"name": "s", "op": "reshape", "input": "x", "shape": [2, -1, 3]}),
        json!({"name": "s", "op": "transpose", "input": "x", "perm": [1, 0]}),
    ] {
        let o = run("shapes.json", &with(layer));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
}

#[test]
fn prelu_alpha_per_channel_or_one() {
    let with = |alpha: Value| {
        let p = json!({"name": "p", "op": "prelu", "input": "x", "alpha": alpha, "alpha_type": "fixed<6,2>"});
        model_on(json!([4, 3]), "fixed<8,3>", json!([p]))
    };
    assert_rejected(
        &run("p.json", &with(json!([0.5, 0.25]))),
        &["`p`", "alpha", "one per channel", "3"],
    );
    assert_rejected(&run("p.json", &with(json!([]))), &["`p`", "alpha"]);
    assert_rejected(
        &run("p.json", &with(json!([0.5, 9.0, 0.1]))),
        &["`p`", "alpha"],
    );
    for ok in [json!([0.5]), json!([0.5, -0.25, 1.5])] {
        let o = run("p.json", &with(ok));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
}

#[test]
fn hard_sigmoid_constants_off_the_grid() {
    let with = |extra: Value| {
        let mut l = json!({"name": "h", "op": "hard_sigmoid", "input": "x", "slope": 0.25, "slope_type": "ufixed<4,0>"});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        model_on(json!([5]), "fixed<8,8>", json!([l]))
    };
    // the result has 0 + 4 fractional bits: 1/32 is not on it
    assert_rejected(
        &run("h.json", &with(json!({"offset": 0.03125}))),
        &["`h`", "offset", "4 fractional bits"],
    );
    assert_rejected(
        &run("h.json", &with(json!({"slope": 1.5}))),
        &["`h`", "slope"],
    );
    assert_rejected(
        &run("h.json", &with(json!({"slope": "steep"}))),
        &["`h`", "slope"],
    );
    for ok in [
        json!({}),
        json!({"offset": 0.0625}),
        json!({"slope": 0.1875, "offset": -0.25}),
    ] {
        let o = run("h.json", &with(ok));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
}

// ------------------------------------------------------- convolutions

/// A conv1d on a [6, 2] input, with `edit` applied to its layer.
fn conv_model(edit: impl Fn(&mut Value)) -> Value {
    let mut c = json!({"name": "c", "op": "conv1d", "input": "x", "filters": 2, "kernel_size": 3,
        "weights": [[[1, 0], [0, 1], [1, 1]], [[0.5, 0], [0, 0], [1, -1]]],
        "weight_type": "fixed<4,2>"});
    edit(&mut c);
    model_on(json!([6, 2]), "fixed<6,3>", json!([c]))
}

#[test]
fn conv_filter_of_the_wrong_shape() {
    let m = conv_model(|c| c["weights"][1] = json!([[1, 0], [0, 1]]));
    let o = run("convshape.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `c`",
            "`weights`",
            "filter 1 is [2][2]",
            "[3][channels per group]",
        ],
    );
}

#[test]
fn conv_ragged_kernel() {
    let m = conv_model(|c| c["weights"][0] = json!([[1, 0], [0], [1, 1]]));
    let o = run("convragged.json", &m);
    assert_rejected(
        &o,
        &["layer `c`", "`weights`", "weights[0]", "not rectangular"],
    );
}

#[test]
fn conv_channels_do_not_match_the_input() {
    let m = conv_model(|c| c["weights"] = json!([[[1], [0], [1]], [[0.5], [0], [1]]]));
    let o = run("convch.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `c`",
            "`weights`",
            "1 weights per kernel position",
            "2 channels per group",
        ],
    );
}

#[test]
fn conv_window_wider_than_the_input() {
    let m = conv_model(|c| c["dilation"] = json!(3));
    let o = run("convwide.json", &m);
    assert_rejected(&o, &["layer `c`", "`kernel_size`", "wider than axis 0"]);
}

#[test]
fn conv_groups_must_divide_the_channels() {
    let m = conv_model(|c| {
        c["groups"] = json!(2);
        c["filters"] = json!(2);
    });
    // 2 groups of the 2 input channels take one channel per filter
    let o = run("convgroups.json", &m);
    assert_rejected(&o, &["layer `c`", "`weights`", "1 channels per group"]);
    let m = conv_model(|c| c["groups"] = json!(3));
    let o = run("convgroups3.json", &m);
    assert_rejected(
        &o,
        &[
            "layer `c`",
            "`groups`",
            "3 groups do not divide the 2 filters",
        ],
    );
}

#[test]
fn conv_needs_spatial_axes_and_channels() {
    let mut m = conv_model(|_| {});
    m["inputs"][0]["shape"] = json!([12]);
    let o = run("convrank.json", &m);
    assert_rejected(&o, &["layer `c`", "`input`", "2-dimensional input", "[12]"]);
}

#[test]
fn conv_padding_must_be_known() {
    let m = conv_model(|c| c["padding"] = json!("full"));
    let o = run("convpad.json", &m);
    assert_rejected(&o, &["layer `c`", "`padding`", "\"valid\", \"same\""]);
    let m = conv_model(|c| c["padding"] = json!([[1]]));
    let o = run("convpad2.json", &m);
    assert_rejected(
        &o,
        &["layer `c`", "`padding`", "[zeros before, zeros after]"],
    );
}

#[test]
fn pool_window_wholly_in_the_padding() {
    let pool = json!({"name": "p", "op": "maxpool1d", "input": "x", "kernel_size": 2, "strides": 1,
                      "padding": [[2, 0]]});
    let o = run(
        "poolpad.json",
        &model_on(json!([6, 2]), "fixed<6,3>", json!([pool])),
    );
    assert_rejected(&o, &["layer `p`", "`padding`", "wholly in the padding"]);
}

#[test]
fn pool_count_include_pad_is_a_boolean() {
    let pool = json!({"name": "p", "op": "avgpool1d", "input": "x", "kernel_size": 2,
                      "count_include_pad": 1});
    let o = run(
        "poolcount.json",
        &model_on(json!([6, 2]), "fixed<6,3>", json!([pool])),
    );
    assert_rejected(&o, &["layer `p`", "`count_include_pad`", "true or false"]);
}

#[test]
fn a_table_needs_its_output_type() {
    let m = model(json!([{"name": "t", "op": "tanh", "input": "x"}]));
    let o = run("tanh.json", &m);
    assert_rejected(&o, &["layer `t`", "`output_type`", "tanh is a table"]);
    let m = model(
        json!([{"name": "t", "op": "sigmoid", "input": "x", "output_type": "ufixed<8,0>", "table_bits": 40}]),
    );
    let o = run("sigbits.json", &m);
    assert_rejected(&o, &["layer `t`", "`table_bits`", "from 1 to 20"]);
}

/// A neuron whose exact result fits 127 bits but whose partial sums (or a
/// product's shift-add steps) may not: refused by precision inference,
/// not left to overflow while the datapath is built. Found by fuzzing an
/// imported ONNX model.
#[test]
fn partial_sums_beyond_the_widest_value_are_refused() {
    let m = model_on(
        json!([2]),
        "fixed<8,4>",
        json!([{
            "name": "huge", "op": "dense", "input": "x", "units": 1,
            "weights": [[7.999755859375, 7.999755859375]],
            "weight_type": "fixed<16,4>",
            // a fine bias grid puts the products 2^102 up
            "bias": [3.009265538105056e-36], "bias_type": "fixed<8,-110>",
        }]),
    );
    let o = run("huge.json", &m);
    assert_rejected(
        &o,
        &["layer `huge`", "partial sums of neuron 0", "127 bits"],
    );
}
