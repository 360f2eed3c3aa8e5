//! Time of `neurtl estimate` on the jet tagger, without the process
//! start: compile the model, lower it to the datapath (subexpression
//! search included), schedule it by the clock and count it.
//!
//!   cargo bench --bench estimate
//!
//! Prints the best of several runs, with sharing on (the default) and off.

use neurtl::compile::compile_file;
use neurtl::estimate::estimate;
use neurtl::ir::CompileOptions;
use std::path::Path;
mod common;

use common::best;

fn main() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger/model.json");
    for share in [true, false] {
        let opts = CompileOptions {
            share,
            ..CompileOptions::default()
        };
        let t = best(10, || {
            let c = compile_file(&model, opts, None).unwrap();
            estimate(&c, 200.0).unwrap();
        });
        println!(
            "estimate of examples/jet_tagger/model.json at 200 MHz, sharing {}: {:.1} ms (best of 10)",
            if share { "on" } else { "off" },
            t.as_secs_f64() * 1e3
        );
    }
}
