//! `neurtl explore`: the sweep syntax, the precision rewrite (checked in
//! the compiled IR), the Pareto front, the measured points against the
//! golden model run directly, and the command end to end (files,
//! determinism, failed points, bad input).

mod common;

use common::neurtl_ok as ok;
use neurtl::compile::{compile_file, compile_text};
use neurtl::explore::evaluate::{Dataset, Metric};
use neurtl::explore::pareto::{dominates, front};
use neurtl::explore::rewrite::{Facts, narrowest_weight_type};
use neurtl::explore::sweep::{PipelineModeKey, Settings, Value as SV, grid, parse_sweep};
use neurtl::explore::{ExploreError, Explorer};
use neurtl::fixed::{FixedType, Format, cast_f64};
use neurtl::ir::{CompileOptions, Op, PipelineMode};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ints(spec: &str) -> Vec<u32> {
    parse_sweep(spec)
        .unwrap()
        .values
        .iter()
        .map(|v| match v {
            SV::Int(i) => *i,
            SV::Pipeline(_) => panic!("not an integer sweep"),
        })
        .collect()
}

fn sweep_error(spec: &str) -> String {
    match parse_sweep(spec) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("`{spec}` was accepted as {s:?}"),
    }
}

#[test]
fn sweep_syntax() {
    assert_eq!(ints("weight_bits=4..8"), vec![4, 5, 6, 7, 8]);
    assert_eq!(ints("max_adder_depth=0,2,4"), vec![0, 2, 4]);
    assert_eq!(ints("act_bits=8,4..6"), vec![4, 5, 6, 8]);
    assert_eq!(ints(" weight_bits = 5 , 3..4 , 4 "), vec![3, 4, 5]);
    assert_eq!(ints("max_adder_depth=0..0"), vec![0]);
    let p = parse_sweep("pipeline=none,layer").unwrap();
    assert_eq!(
        p.values,
        vec![
            SV::Pipeline(PipelineModeKey::Layer),
            SV::Pipeline(PipelineModeKey::None)
        ]
    );
    assert_eq!(p.spec, "pipeline=none,layer");
}

#[test]
fn bad_sweeps_are_explained() {
    let cases = [
        ("weight_bit=4..8", "unknown parameter `weight_bit`"),
        (
            "weight_bit=4..8",
            "weight_bits, act_bits, max_adder_depth, pipeline",
        ),
        ("weight_bits", "expected NAME=VALUES"),
        ("weight_bits=8..4", "the range 8..4 is empty"),
        ("weight_bits=1..4", "weight_bits must be in 2..127, got 1"),
        ("act_bits=0", "act_bits must be in 1..127, got 0"),
        ("act_bits=4..200", "got 200"),
        ("weight_bits=four", "`four` is not a non-negative integer"),
        ("weight_bits=-3", "`-3` is not a non-negative integer"),
        ("weight_bits=4,,5", "empty value"),
        ("weight_bits=", "empty value"),
        ("pipeline=fast", "`fast` is not a pipeline mode"),
        ("pipeline=1..2", "`1..2` is not a pipeline mode"),
    ];
    for (spec, want) in cases {
        let e = sweep_error(spec);
        assert!(e.contains(want), "`{spec}`: {e}");
        assert!(e.starts_with(&format!("--sweep `{spec}`")), "`{spec}`: {e}");
    }
}

#[test]
fn grid_is_the_sorted_product() {
    let a = parse_sweep("weight_bits=6,4").unwrap();
    let b = parse_sweep("pipeline=layer,none").unwrap();
    let c = parse_sweep("max_adder_depth=0..2").unwrap();
    let g = grid(&[a.clone(), b.clone(), c.clone()]).unwrap();
    assert_eq!(g.len(), 2 * 2 * 3);
    // Every combination once, in an order that does not depend on the
    // order of the options.
    assert_eq!(g, grid(&[c.clone(), a.clone(), b.clone()]).unwrap());
    let mut seen = g.clone();
    seen.dedup();
    assert_eq!(seen.len(), g.len());
    assert!(g.windows(2).all(|w| w[0] < w[1]));
    for s in &g {
        assert!(matches!(s.weight_bits, Some(4 | 6)));
        assert!(matches!(s.max_adder_depth, Some(0..=2)));
        assert!(s.pipeline.is_some() && s.act_bits.is_none());
    }

    let e = grid(&[a.clone(), parse_sweep("weight_bits=3").unwrap()]).unwrap_err();
    assert!(
        e.to_string().contains("already swept by `weight_bits=6,4`"),
        "{e}"
    );
    let big = [
        parse_sweep("weight_bits=2..100").unwrap(),
        parse_sweep("act_bits=1..120").unwrap(),
    ];
    assert!(matches!(
        grid(&big),
        Err(ExploreError::TooManyPoints { points: 11880, .. })
    ));
}

/// A model whose first dense layer is scaled by 8 by its batchnorm and has
/// no bias of its own (so the folded bias takes the weight type), feeding
/// a relu and a quantize with explicit types.
fn scaled_model() -> Value {
    json!({
        "format": "neurtl-model", "version": 1, "name": "scaled",
        "inputs": [{"name": "x", "shape": [3], "type": "fixed<8,3>"}],
        "layers": [
            {"name": "fc1", "op": "dense", "input": "x", "units": 2,
             "weights": [[0.5, -0.3, 0.02], [0.11, 0.24, -0.46]],
             "weight_type": "fixed<12,4,rnd,sat>"},
            {"name": "bn1", "op": "batchnorm", "input": "fc1",
             "gamma": [8.0, 8.0], "beta": [0.3, -0.7], "mean": [0.0, 0.0], "var": [1.0, 1.0],
             "epsilon": 0.0},
            {"name": "act1", "op": "relu", "input": "bn1", "output_type": "ufixed<8,4,rnd,sat>"},
            {"name": "q", "op": "quantize", "input": "act1", "output_type": "fixed<9,5>"},
            {"name": "out", "op": "dense", "input": "q", "units": 2,
             "weights": [[1.5, -0.75], [0.0, 0.3]],
             "bias": [0.0, 0.1], "weight_type": "fixed<6,2,rnd>", "bias_type": "fixed<6,2,rnd>"}
        ],
        "outputs": ["out"]
    })
}

fn compiled_with(model: &Value, s: &Settings) -> neurtl::compile::Compiled {
    let text = model.to_string();
    let facts = Facts::new("scaled.json", &text, CompileOptions::default()).unwrap();
    let (m, _) = facts.apply(s).unwrap();
    compile_text(
        "scaled.json",
        &m.to_string(),
        CompileOptions::default(),
        None,
    )
    .unwrap()
}

fn dense_layers(c: &neurtl::compile::Compiled) -> Vec<(String, neurtl::ir::Dense)> {
    c.graph
        .topo()
        .into_iter()
        .filter_map(|n| match &c.graph.node(n).op {
            Op::Dense(d) => Some((c.graph.node(n).name.clone(), d.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn weight_bits_gives_the_narrowest_type_of_that_width() {
    let model = scaled_model();
    let base = compiled_with(&model, &Settings::default());
    let base_dense = dense_layers(&base);
    for w in 3..=12 {
        let s = Settings {
            weight_bits: Some(w),
            ..Settings::default()
        };
        let c = compiled_with(&model, &s);
        for ((name, d), (_, b)) in dense_layers(&c).iter().zip(&base_dense) {
            let t = d.weight_type;
            assert_eq!(t.format.width, w, "{name}");
            assert!(t.format.signed, "{name}");
            assert_eq!(
                (t.quant, t.overflow),
                (b.weight_type.quant, b.weight_type.overflow)
            );
            // The quantized weights are W-bit codes.
            let q = d.quant.as_ref().unwrap();
            assert!(
                q.weights
                    .iter()
                    .flat_map(|r| r.to_dense())
                    .all(|r| t.format.contains(r))
            );
            // One more fractional bit would not hold the (folded) weights:
            // d.weights are the weights after batchnorm folding.
            let finer =
                FixedType::new(Format::new(true, w, t.format.frac + 1), t.quant, t.overflow);
            assert!(
                d.weights
                    .iter()
                    .flat_map(|r| r.to_dense())
                    .any(|x| cast_f64(x, &finer).1.overflowed),
                "{name}: {t} is not the narrowest at {w} bits"
            );
            // The bias keeps its type, written out or defaulted.
            assert_eq!(d.bias_type, b.bias_type, "{name}");
            assert_eq!(q.bias, b.quant.as_ref().unwrap().bias, "{name}");
        }
    }
    // The folded weights reach 8 · 0.5 = 4: at least 4 integer bits.
    let c = compiled_with(
        &model,
        &Settings {
            weight_bits: Some(8),
            ..Settings::default()
        },
    );
    assert_eq!(dense_layers(&c)[0].1.weight_type.format.int_bits(), 4);
}

#[test]
fn narrowest_type_accounts_for_rounding() {
    let like = neurtl::fixed::parse_type("fixed<8,2,rnd,sat>").unwrap();
    // 1.99 rounds to 2.0 at 6 fractional bits, which fixed<8,2> cannot
    // hold: 3 integer bits are needed.
    let t = narrowest_weight_type(8, -0.5, 1.995, &like).unwrap();
    assert_eq!(t.format.int_bits(), 3);
    let t = narrowest_weight_type(8, -0.5, 1.9, &like).unwrap();
    assert_eq!(t.format.int_bits(), 2);
    // −2 fits exactly in fixed<W,2>; +2 does not.
    assert_eq!(
        narrowest_weight_type(5, -2.0, 0.0, &like)
            .unwrap()
            .format
            .int_bits(),
        2
    );
    assert_eq!(
        narrowest_weight_type(5, 0.0, 2.0, &like)
            .unwrap()
            .format
            .int_bits(),
        3
    );
}

#[test]
fn act_bits_keeps_integer_bits() {
    let model = scaled_model();
    for w in [3, 6, 10] {
        let c = compiled_with(
            &model,
            &Settings {
                act_bits: Some(w),
                ..Settings::default()
            },
        );
        for (name, int_bits, signed) in [("act1", 4, false), ("q", 5, true)] {
            let n = c.graph.find(name).unwrap();
            let t = c.graph.node(n).cast.unwrap();
            assert_eq!(t.format.width, w, "{name}");
            assert_eq!(t.format.int_bits(), int_bits, "{name}");
            assert_eq!(t.format.signed, signed, "{name}");
        }
        // Weights untouched.
        let d = dense_layers(&c);
        assert_eq!(d[0].1.weight_type.to_string(), "fixed<12,4,rnd,sat>");
    }
}

#[test]
fn a_sweep_that_changes_nothing_is_an_error() {
    let mut m = scaled_model();
    let layers = m["layers"].as_array_mut().unwrap();
    layers.retain(|l| l["op"] == "dense" || l["op"] == "batchnorm");
    layers[2]["input"] = json!("bn1");
    let text = m.to_string();
    let e = Explorer::new(
        "noact.json",
        text,
        CompileOptions::default(),
        vec![parse_sweep("act_bits=4..6").unwrap()],
        200.0,
    )
    .err()
    .expect("act_bits on a model without activation types");
    let msg = e.to_string();
    assert!(
        msg.contains("--sweep act_bits") && msg.contains("noact.json"),
        "{msg}"
    );
}

/// An independent accuracy of the jet tagger's golden model: its `class`
/// output against the labels.
fn jet_accuracy_directly(opts: CompileOptions) -> usize {
    let dir = root().join("examples/jet_tagger");
    let c = compile_file(&dir.join("model.json"), opts, None).unwrap();
    let golden = c.golden().unwrap();
    let x = neurtl::vectors::read_table(&dir.join("x_test.csv")).unwrap();
    let raw = neurtl::vectors::table_to_raw(&dir.join("x_test.csv"), &x, &c.input_types(), false)
        .unwrap();
    let y = neurtl::vectors::read_table(&dir.join("y_test.csv")).unwrap();
    let n_in = golden.input_len();
    raw.chunks(n_in)
        .zip(&y.values)
        .filter(|(s, label)| {
            let out = golden.run(s);
            // Outputs are fc4's five values, then the class index.
            *out.last().unwrap() as f64 == **label
        })
        .count()
}

#[test]
fn points_agree_with_the_golden_model_and_the_estimator() {
    let dir = root().join("examples/jet_tagger");
    let model = dir.join("model.json");
    let text = std::fs::read_to_string(&model).unwrap();
    let sweeps = vec![
        parse_sweep("max_adder_depth=0,3").unwrap(),
        parse_sweep("pipeline=layer,none").unwrap(),
    ];
    let x = Explorer::new("model.json", text, CompileOptions::default(), sweeps, 250.0).unwrap();
    let data = Dataset::load(
        x.baseline(),
        &dir.join("x_test.csv"),
        Some(&dir.join("y_test.csv")),
    )
    .unwrap();
    assert_eq!((data.samples, data.metric), (1000, Metric::Accuracy));
    let r = x.run(&data, &|| {});
    assert_eq!(r.points.len(), 5);
    let direct = jet_accuracy_directly(CompileOptions::default());
    for p in &r.points {
        let m = p.result.as_ref().unwrap();
        // Registers do not change what is computed.
        assert_eq!(m.accuracy.unwrap().correct, direct, "point {}", p.id);
        assert_eq!(m.accuracy.unwrap().total, 1000);
        let opts = CompileOptions {
            max_adder_depth: p.max_adder_depth,
            mode: p.pipeline.mode(),
            ..CompileOptions::default()
        };
        let e =
            neurtl::estimate::estimate(&compile_file(&model, opts, None).unwrap(), 250.0).unwrap();
        assert_eq!(
            m.estimate.latency_cycles, e.latency_cycles,
            "point {}",
            p.id
        );
        assert_eq!(
            (m.estimate.luts, m.estimate.flip_flops),
            (e.luts, e.flip_flops)
        );
        assert_eq!(m.estimate.latency_ns, e.latency_cycles as f64 * 4.0);
    }
    let p0 = &r.points[0];
    assert!(p0.baseline && p0.settings == Settings::default());
    assert_eq!(
        (p0.max_adder_depth, p0.pipeline.mode()),
        (0, PipelineMode::Clock)
    );
    // Equal accuracy and LUTs: the front is the lowest latency.
    let best = r
        .points
        .iter()
        .filter_map(|p| Some(p.result.as_ref().ok()?.estimate.latency_ns))
        .fold(f64::INFINITY, f64::min);
    for p in &r.points {
        let m = p.result.as_ref().unwrap();
        let same_luts = r
            .points
            .iter()
            .all(|q| q.result.as_ref().unwrap().estimate.luts == m.estimate.luts);
        if same_luts {
            assert_eq!(p.pareto, m.estimate.latency_ns == best, "point {}", p.id);
        }
    }
}

#[test]
fn pareto_front_of_a_hand_made_set() {
    // (error, LUTs, latency)
    let pts = [
        [0.10, 100.0, 5.0], // 0: front
        [0.10, 120.0, 5.0], // 1: dominated by 0
        [0.05, 300.0, 5.0], // 2: front (best error)
        [0.20, 50.0, 9.0],  // 3: front (fewest LUTs)
        [0.10, 100.0, 3.0], // 4: front, and dominates 0
        [0.10, 100.0, 3.0], // 5: equal to 4: both stay
        [0.30, 60.0, 9.0],  // 6: dominated by 3
    ];
    assert_eq!(
        front(&pts),
        vec![false, false, true, true, true, true, false]
    );
    assert!(dominates(&pts[4], &pts[0]));
    assert!(!dominates(&pts[4], &pts[5]) && !dominates(&pts[5], &pts[4]));
    assert!(front::<[f64; 3]>(&[]).is_empty());
}

proptest! {
    #[test]
    fn pareto_front_properties(pts in prop::collection::vec(
        prop::array::uniform3(0u8..6).prop_map(|a| a.map(f64::from)), 0..40)) {
        let on = front(&pts);
        for (i, p) in pts.iter().enumerate() {
            let dominated = pts.iter().any(|q| dominates(q, p));
            // No front point is dominated; every other point is dominated
            // by a point on the front.
            prop_assert_eq!(on[i], !dominated);
            if !on[i] {
                prop_assert!(pts.iter().zip(&on).any(|(q, &f)| f && dominates(q, p)));
            }
        }
        if !pts.is_empty() {
            prop_assert!(on.iter().any(|&f| f));
        }
    }
}

fn neurtl(args: &[&str]) -> std::process::Output {
    common::neurtl_command(args).output().unwrap()
}

/// Input samples for `tests/models/tiny.json` (three values each).
fn tiny_inputs(dir: &Path) -> PathBuf {
    let mut s = String::new();
    for k in 0..40 {
        let v = |i: i32| ((k * 7 + i * 13) % 29 - 14) as f64 / 4.0;
        s.push_str(&format!("{},{},{}\n", v(0), v(1), v(2)));
    }
    let p = dir.join("x.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// `neurtl explore` of `tests/models/tiny.json` on inputs `x` into
/// `out`, over `sweeps`, with `more` options.
fn explore_tiny(x: &Path, out: &Path, sweeps: &[&str], more: &[&str]) -> String {
    let mut args = vec!["explore", "tests/models/tiny.json", "--inputs"];
    args.extend([x.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    for s in sweeps {
        args.extend(["--sweep", s]);
    }
    args.extend(more);
    ok(&args)
}

const OUTPUTS: [&str; 5] = [
    "points.csv",
    "points.json",
    "pareto.json",
    "explore.svg",
    "explore.html",
];

#[test]
fn command_writes_every_file_the_same_way_each_time() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny_inputs(tmp.path());
    let run = |dir: &str, jobs: &str| {
        let out = tmp.path().join(dir);
        let sweeps = ["weight_bits=3..5", "act_bits=4,127", "pipeline=layer,none"];
        explore_tiny(&x, &out, &sweeps, &["-j", jobs]);
        out
    };
    let a = run("a", "1");
    let b = run("b", "2");
    for f in OUTPUTS {
        let (fa, fb) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(!fa.is_empty(), "{f}");
        assert!(fa == fb, "{f} differs between runs");
    }

    let points: Value =
        serde_json::from_slice(&std::fs::read(a.join("points.json")).unwrap()).unwrap();
    assert_eq!(points["metric"], "mean_abs_error");
    let recs = points["records"].as_array().unwrap();
    assert_eq!(recs.len(), 1 + 3 * 2 * 2);
    assert_eq!(recs[0]["baseline"], true);
    // 127-bit activations need a wider accumulator than neurtl allows:
    // those points fail and are recorded, the others compile.
    for r in recs {
        let wide = r["act_bits"] == 127;
        assert_eq!(r["ok"], !wide, "{r}");
        if wide {
            let e = r["error"].as_str().unwrap();
            assert!(e.contains("tiny.json") && e.contains("127 bits"), "{e}");
            assert_eq!(r["pareto"], false);
        } else {
            assert!(r["mean_abs_error"].as_f64().unwrap() >= 0.0);
        }
    }
    let csv = std::fs::read_to_string(a.join("points.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + recs.len());

    // pareto.json holds exactly the non-dominated compiled points.
    let pareto: Value =
        serde_json::from_slice(&std::fs::read(a.join("pareto.json")).unwrap()).unwrap();
    let obj = |r: &Value| {
        [
            r["mean_abs_error"].as_f64().unwrap(),
            r["luts"].as_f64().unwrap(),
            r["latency_ns"].as_f64().unwrap(),
        ]
    };
    let compiled: Vec<&Value> = recs.iter().filter(|r| r["ok"] == true).collect();
    let ids: Vec<u64> = pareto["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    for r in &compiled {
        let dominated = compiled.iter().any(|q| dominates(&obj(q), &obj(r)));
        assert_eq!(ids.contains(&r["id"].as_u64().unwrap()), !dominated, "{r}");
    }
    // Each Pareto point's model compiles to the point's figures.
    for r in pareto["records"].as_array().unwrap() {
        let m = a.join(r["model"].as_str().unwrap());
        let mut args = vec!["estimate", m.to_str().unwrap(), "--json"];
        args.extend(r["options"].as_str().unwrap().split(' '));
        let e: Value = serde_json::from_str(&ok(&args)).unwrap();
        assert_eq!(e["luts"], r["luts"], "{r}");
        assert_eq!(e["latency_cycles"], r["latency_cycles"], "{r}");
    }

    let html = std::fs::read_to_string(a.join("explore.html")).unwrap();
    let svg = std::fs::read_to_string(a.join("explore.svg")).unwrap();
    assert!(html.contains(svg.trim()), "the SVG is inlined");
    assert_eq!(html.matches("<tr class=").count(), recs.len());
    for external in ["<link", " src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "external resource: {external}");
    }
}

#[test]
fn command_on_the_jet_tagger_with_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("jet");
    let stdout = ok(&[
        "explore",
        "examples/jet_tagger/model.json",
        "--inputs",
        "examples/jet_tagger/x_test.csv",
        "--labels",
        "examples/jet_tagger/y_test.csv",
        "--sweep",
        "weight_bits=4,6",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("float reference accuracy"), "{stdout}");
    for f in OUTPUTS {
        assert!(out.join(f).exists(), "{f}");
    }
    let points: Value =
        serde_json::from_slice(&std::fs::read(out.join("points.json")).unwrap()).unwrap();
    assert_eq!(points["metric"], "accuracy");
    let direct = jet_accuracy_directly(CompileOptions::default());
    assert_eq!(points["records"][0]["correct"], direct);
    assert_eq!(points["records"][0]["baseline"], true);
    let svg = std::fs::read_to_string(out.join("explore.svg")).unwrap();
    assert!(svg.contains("accuracy vs LUTs") && svg.contains("float reference"));
}

#[test]
fn bad_input_exits_2_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny_inputs(tmp.path());
    let x = x.to_str().unwrap();
    let wide = tmp.path().join("wide.csv");
    std::fs::write(&wide, "1,2,3,4\n").unwrap();
    let labels = tmp.path().join("y.csv");
    std::fs::write(&labels, "0\n1\n").unwrap();
    let neg = tmp.path().join("neg.csv");
    std::fs::write(&neg, "0\n-1\n".repeat(20)).unwrap();
    let m = "tests/models/tiny.json";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--inputs", x, "--sweep", "wieght_bits=4"],
            "unknown parameter `wieght_bits`".into(),
        ),
        (
            vec![
                "--inputs",
                wide.to_str().unwrap(),
                "--sweep",
                "weight_bits=4",
            ],
            format!(
                "{}: samples have 4 values, the model takes 3",
                wide.display()
            ),
        ),
        (
            vec![
                "--inputs",
                x,
                "--labels",
                labels.to_str().unwrap(),
                "--sweep",
                "weight_bits=4",
            ],
            format!("{}: expected one label per sample (40)", labels.display()),
        ),
        (
            vec![
                "--inputs",
                x,
                "--labels",
                neg.to_str().unwrap(),
                "--sweep",
                "weight_bits=4",
            ],
            "label 1 is -1".into(),
        ),
        (
            vec!["--inputs", x, "--sweep", "weight_bits=4", "--clock", "fast"],
            "--clock `fast`".into(),
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["explore", m];
        args.extend(&extra);
        let out = neurtl(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `--synth-jobs`: one build per Pareto point, with the RTL that
/// compiling the point's model with the point's options gives, and a
/// campaign that synthesizes them; its jobs run as GNU parallel starts
/// them and the merge sets each point's synthesized figures beside its
/// estimate.
#[test]
fn synth_jobs_synthesize_every_pareto_point() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny_inputs(tmp.path());
    let out = tmp.path().join("e");
    let sweeps = ["weight_bits=3,6", "pipeline=layer,none"];
    explore_tiny(&x, &out, &sweeps, &["--synth-jobs"]);
    let pareto: Value =
        serde_json::from_slice(&std::fs::read(out.join("pareto.json")).unwrap()).unwrap();
    let front = pareto["records"].as_array().unwrap();
    let synth = out.join("synth");
    let jobs = std::fs::read_to_string(synth.join("jobs.txt")).unwrap();
    assert_eq!(jobs.lines().count(), front.len(), "{jobs}");
    let condor = std::fs::read_to_string(synth.join("condor.sub")).unwrap();
    assert!(
        condor.contains(&format!("queue {}", front.len())),
        "{condor}"
    );
    for r in front {
        let id = r["id"].as_u64().unwrap();
        let model = out.join(r["model"].as_str().unwrap());
        let again = tmp.path().join(format!("again-{id}"));
        let mut args = vec![
            "compile",
            model.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ];
        args.extend(r["options"].as_str().unwrap().split(' '));
        ok(&args);
        let job_rtl = synth.join(format!("points/point-{id}/rtl"));
        for f in std::fs::read_dir(again.join("rtl")).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap();
            assert!(
                std::fs::read(&f).unwrap() == std::fs::read(job_rtl.join(name)).unwrap(),
                "point {id}: {name:?} differs from the point's own compile"
            );
        }
    }
    let local = std::process::Command::new("sh")
        .arg(synth.join("run-local.sh"))
        .output();
    common::stdout_of(local.unwrap(), "run-local.sh");
    let merged = ok(&["campaign", "merge", synth.to_str().unwrap()]);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(synth.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["done"], front.len(), "{merged}");
    for r in summary["results"].as_array().unwrap() {
        assert_eq!(r["passed"], true, "{r}");
        let luts = r["comparison"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["quantity"] == "luts")
            .unwrap_or_else(|| panic!("no LUT row: {r}"));
        assert!(luts["synthesized"].as_f64().unwrap() > 0.0, "{r}");
    }
}
