//! Register bits of the clock-driven schedule: the as-early placement
//! against the one `by_clock` keeps (the exact placement of
//! `datapath::area`, or on designs too large for it the minimum cuts of
//! `datapath::retime`), which may also be shorter.
//!
//!   cargo bench --bench registers [-- model.json ...]
//!
//! Without arguments: the jet tagger, and the shared benchmark models
//! when they are beside the project; at 200 and 250 MHz.

use neurtl::compile::compile_file;
use neurtl::datapath::schedule::{as_early, by_clock};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn models() -> Vec<PathBuf> {
    let args: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    if !args.is_empty() {
        return args;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut m = vec![root.join("examples/jet_tagger/model.json")];
    for b in ["jsc_rand4.json", "jsc_rand8.json"] {
        let p = root.join("../shared/bench").join(b);
        if p.exists() {
            m.push(p);
        }
    }
    m
}

fn main() {
    for model in models() {
        let c = compile_file(&model, Default::default(), None).unwrap();
        let dp = c.datapath().unwrap();
        for period in [5.0, 4.0] {
            let early = as_early(&dp, period, 0);
            let t = Instant::now();
            let chosen = by_clock(&dp, period, 0);
            let took = t.elapsed();
            println!(
                "{} at {period} ns ({} nodes): as early {} cycles {} bits; kept {} cycles {} bits ({:+.1} %), by_clock {:.1} ms",
                model.display(),
                dp.nodes.len(),
                early.latency,
                early.register_bits(&dp),
                chosen.latency,
                chosen.register_bits(&dp),
                100.0 * (chosen.register_bits(&dp) as f64 / early.register_bits(&dp) as f64 - 1.0),
                took.as_secs_f64() * 1e3
            );
        }
    }
}
