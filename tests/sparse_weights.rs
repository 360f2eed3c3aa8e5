//! The model format's two weight forms, `[units][inputs]` and the sparse
//! `{"inputs", "rows"}`, mean the same matrix: a random network written
//! each way must compile to byte-identical Verilog and the same golden
//! outputs. (Whether a masked layer computes the right thing is the
//! datapath and RTL property tests' job, whose random networks have
//! layers 90 % zero in both forms.)

mod common;

use common::{env_u64, for_seeds, random_mlp, sparse_form};
use neurtl::compile::{compile_text, design};
use serde_json::Value;

/// `model` with every dense layer's weights in one form.
fn all_in_form(model: &Value, sparse: bool) -> Value {
    let mut m = model.clone();
    for layer in m["layers"].as_array_mut().unwrap() {
        if layer["op"] != "dense" {
            continue;
        }
        let rows = dense_rows(&layer["weights"]);
        layer["weights"] = if sparse {
            sparse_form(&rows)
        } else {
            serde_json::json!(rows)
        };
    }
    m
}

/// The `[units][inputs]` matrix of either form.
fn dense_rows(w: &Value) -> Vec<Vec<f64>> {
    let f = |v: &Value| v.as_f64().unwrap();
    match w.get("rows") {
        None => (w.as_array().unwrap().iter())
            .map(|r| r.as_array().unwrap().iter().map(f).collect())
            .collect(),
        Some(rows) => {
            let inputs = w["inputs"].as_u64().unwrap() as usize;
            let rows = rows.as_array().unwrap();
            rows.iter()
                .map(|r| {
                    let mut row = vec![0.0; inputs];
                    for e in r.as_array().unwrap() {
                        row[e[0].as_u64().unwrap() as usize] = f(&e[1]);
                    }
                    row
                })
                .collect()
        }
    }
}

/// Verilog files (name, text) and golden outputs.
type Built = (Vec<(String, String)>, Vec<i128>);

/// Verilog files and golden outputs on `n` pseudo-random raw inputs.
fn build(model: &Value, n: usize) -> Result<Built, String> {
    let text = serde_json::to_string(model).unwrap();
    let c = compile_text("m.json", &text, Default::default(), None).map_err(|e| e.to_string())?;
    let files = design(&c).map_err(|e| e.to_string())?.files;
    let g = c.golden().map_err(|e| e.to_string())?;
    let samples = neurtl::vectors::random(&g.input_formats, n, 5);
    Ok((files, g.run(&samples)))
}

#[test]
fn both_weight_forms_compile_to_the_same_design() {
    let nets = env_u64("NEURTL_SPARSE_NETS", 60);
    let built = std::sync::atomic::AtomicU64::new(0);
    for_seeds(
        nets,
        env_u64("NEURTL_FUZZ_SEED", 1),
        "NEURTL_SPARSE_NETS",
        |seed| {
            let model = random_mlp(seed);
            let dense = build(&all_in_form(&model, false), 50);
            let sparse = build(&all_in_form(&model, true), 50);
            match (dense, sparse) {
                (Ok(d), Ok(s)) if d == s => {
                    built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok(())
                }
                (Ok(_), Ok(_)) => Err("the two forms built different designs".into()),
                // a model both forms reject (weights that do not fit) must be
                // rejected with the same message
                (Err(d), Err(s)) if d == s => Ok(()),
                (d, s) => Err(format!(
                    "dense form: {:?}; sparse form: {:?}",
                    d.err(),
                    s.err()
                )),
            }
        },
    );
    // random networks that both forms reject prove nothing
    let built = built.into_inner();
    assert!(
        built * 4 >= nets * 3,
        "only {built} of {nets} networks compiled"
    );
}
