//! `neurtl verify DIR --formal` proves the RTL equal to the naive
//! reference for every input stream. The proof must hold on random
//! networks of every op the reference covers, and it must fail when the
//! RTL is wrong: a flipped adder sign, or a register added on one path
//! (which mixes two samples of the stream).
//!
//! NEURTL_FORMAL_NETS (default 6) random networks per generator, of
//! which those with at most 32 weights are proved (bigger ones take the
//! solver minutes: docs/verification.md has the sizes), each within
//! NEURTL_FORMAL_TIMEOUT seconds (default 30). A network the solver does
//! not decide in time is counted, not failed; a counterexample or a
//! proof that cannot run fails.

mod common;

use common::{env_u64, for_seeds, neurtl_command};
use serde_json::Value;
use std::path::Path;

/// `neurtl verify dir --formal`: exit code and stdout.
fn verify(dir: &Path) -> (Option<i32>, String) {
    let limit = env_u64("NEURTL_FORMAL_TIMEOUT", 30).to_string();
    let out = neurtl_command(&[
        "verify",
        dir.to_str().unwrap(),
        "--formal",
        "--timeout",
        &limit,
    ])
    .output()
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// Compile `model` with `args` into a fresh directory.
fn compile(model: &Value, args: &[&str]) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    std::fs::write(&path, serde_json::to_string(model).unwrap()).unwrap();
    let out_dir = dir.path().join("build");
    let mut all = vec![
        "compile",
        path.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--vectors", "1"]);
    let out = neurtl_command(&all).output().unwrap();
    if out.status.success() {
        Ok(dir)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Small enough for a proof in seconds: few input bits and neurons.
fn small(model: &Value) -> bool {
    let layers = model["layers"].as_array().unwrap();
    let weights: usize = layers
        .iter()
        .map(|l| match &l["weights"] {
            Value::Array(rows) => rows.iter().map(|r| r.as_array().map_or(1, Vec::len)).sum(),
            Value::Object(s) => s["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().len())
                .sum(),
            _ => 0,
        })
        .sum();
    let softmax = layers.iter().any(|l| l["op"] == "softmax");
    weights <= 32 && !softmax
}

/// How a network's proof ended.
enum Outcome {
    Proved,
    Undecided,
    Skipped,
}

/// A random network from `make`, compiled with options drawn from
/// `seed`, proved; skipped when it is too big or does not compile.
fn proves(make: fn(u64) -> Value, seed: u64, targets: &[&str]) -> Result<Outcome, String> {
    let model = make(seed);
    if !small(&model) {
        return Ok(Outcome::Skipped);
    }
    let pipeline = ["clock", "none", "layer"][(seed % 3) as usize];
    let clock = ["100MHz", "400MHz", "800MHz"][(seed / 3 % 3) as usize];
    let target = targets[(seed / 9) as usize % targets.len()];
    let args = ["--pipeline", pipeline, "--clock", clock, "--target", target];
    let Ok(dir) = compile(&model, &args) else {
        return Ok(Outcome::Skipped);
    };
    match verify(&dir.path().join("build")) {
        (Some(0), out) if out.starts_with("proved") => Ok(Outcome::Proved),
        (Some(1), out) if out.starts_with("UNDECIDED") => Ok(Outcome::Undecided),
        (code, out) => {
            // kept for a look at the model, the miter and the logs
            let kept = dir.keep();
            Err(format!(
                "seed {seed} {args:?} (kept in {}): exit {code:?}: {out}",
                kept.display()
            ))
        }
    }
}

fn run(make: fn(u64) -> Value, what: &str, targets: &[&str]) {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let nets = env_u64("NEURTL_FORMAL_NETS", 6);
    // the first `nets` seeds whose networks are small enough
    let first = env_u64("NEURTL_FUZZ_SEED", 1);
    let seeds: Vec<u64> = (first..first + 200 * nets)
        .filter(|&s| small(&make(s)))
        .take(nets as usize)
        .collect();
    let (proved, undecided) = (AtomicU64::new(0), AtomicU64::new(0));
    for_seeds(seeds.len() as u64, 0, "NEURTL_FORMAL_NETS", |k| {
        match proves(make, seeds[k as usize], targets)? {
            Outcome::Proved => proved.fetch_add(1, Relaxed),
            Outcome::Undecided => undecided.fetch_add(1, Relaxed),
            Outcome::Skipped => 0,
        };
        Ok(())
    });
    let (proved, undecided) = (proved.into_inner(), undecided.into_inner());
    eprintln!(
        "{what}: of {} small random networks (seeds {seeds:?}), {proved} proved, {undecided} undecided in time",
        seeds.len()
    );
    // a run whose networks are all skipped would prove nothing
    assert!(
        proved * 3 >= nets,
        "{what}: only {proved} of {nets} were proved"
    );
}

#[test]
fn random_mlps_are_proved() {
    run(common::random_mlp, "mlps", &["fpga", "mac"]);
}

#[test]
fn random_bnns_are_proved() {
    run(common::random_bnn, "bnns", &["fpga", "mac", "tl-cells"]);
}

#[test]
fn random_convolutions_are_proved() {
    run(common::random_conv, "convolutions", &["fpga", "mac"]);
}

/// A small network with a cast of every kind on the way.
fn tiny() -> Value {
    serde_json::json!({"format": "neurtl-model", "version": 1, "name": "tiny",
        "inputs": [{"name": "x", "shape": [3], "type": "fixed<6,2>"}],
        "layers": [
            {"name": "fc1", "op": "dense", "input": "x", "units": 2,
             "weights": [[0.5, -0.75, 1.25], [0.25, 0.5, -1.0]], "bias": [0.125, -0.5],
             "weight_type": "fixed<6,2>", "bias_type": "fixed<6,2>",
             "output_type": "fixed<8,3,rnd,sat>"},
            {"name": "r", "op": "relu", "input": "fc1", "output_type": "ufixed<6,3,rnd_conv,sat>"},
            {"name": "fc2", "op": "dense", "input": "r", "units": 2,
             "weights": [[0.5, -0.25], [0.75, 0.875]], "weight_type": "fixed<4,1>"},
            {"name": "c", "op": "argmax", "input": "fc2"}],
        "outputs": ["fc2", "c"]})
}

/// Replace the first line of `file` containing `pat` by `f(line)`.
fn edit(file: &Path, pat: &str, f: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(file).unwrap();
    let at = text
        .lines()
        .position(|l| l.contains(pat))
        .expect("a line to change");
    let lines: Vec<String> = (text.lines().enumerate())
        .map(|(i, l)| if i == at { f(l) } else { l.to_string() })
        .collect();
    std::fs::write(file, lines.join("\n")).unwrap();
}

/// The check can fail: each broken copy of a proved design is refuted.
#[test]
fn wrong_rtl_is_refuted() {
    let dir = compile(&tiny(), &[]).unwrap();
    let build = dir.path().join("build");
    let (code, out) = verify(&build);
    assert_eq!(code, Some(0), "{out}");
    let top = build.join("rtl/tiny.v");
    let original = std::fs::read_to_string(&top).unwrap();
    type Break = (&'static str, fn(&str) -> String);
    let breaks: [Break; 3] = [
        // an adder's sign
        ("nt_add #(", |l| {
            if l.contains(".SUB(1)") {
                l.replace(".SUB(1)", ".SUB(0)")
            } else {
                l.replace(".OW(", ".SUB(1), .OW(")
            }
        }),
        // one register more on one path: two samples mix
        ("nt_reg #(.W(", |l| {
            l.replace("nt_reg #(.W(", "nt_reg #(.DEPTH(2), .W(")
        }),
        // an output bit
        ("assign out_data = {", |l| {
            l.replace("assign out_data = {", "assign out_data = ~{")
        }),
    ];
    for (pat, f) in breaks {
        std::fs::write(&top, &original).unwrap();
        edit(&top, pat, f);
        let (code, out) = verify(&build);
        assert_eq!(
            code,
            Some(1),
            "a broken `{pat}` line was not refuted: {out}"
        );
        assert!(out.contains("FAILED") && out.contains("differ"), "{out}");
    }
}

#[test]
fn what_the_reference_cannot_describe_is_named() {
    let m = serde_json::json!({"format": "neurtl-model", "version": 1, "name": "sm",
        "inputs": [{"name": "x", "shape": [3], "type": "fixed<6,2>"}],
        "layers": [{"name": "p", "op": "softmax", "input": "x", "output_type": "ufixed<8,0>"}],
        "outputs": ["p"]});
    let dir = compile(&m, &[]).unwrap();
    let (code, out) = verify(&dir.path().join("build"));
    assert_eq!(code, Some(2), "{out}");
    let bnn = serde_json::json!({"format": "neurtl-model", "version": 1, "name": "b",
        "inputs": [{"name": "x", "shape": [3], "type": "bipolar"}],
        "layers": [{"name": "fc", "op": "dense", "input": "x", "units": 2,
                    "weights": [[1, -1, 1], [-1, 1, 1]], "weight_type": "bipolar"},
                   {"name": "s", "op": "sign", "input": "fc"}],
        "outputs": ["s"]});
    let folded = compile(&bnn, &["--target", "tl-pe"]).unwrap();
    let (code, why) = verify(&folded.path().join("build"));
    assert_eq!(code, Some(2), "{why}");
    assert!(why.contains("tl-pe"), "{why}");
    assert!(
        out.contains("layer `p`") && out.contains("softmax"),
        "{out}"
    );
}
