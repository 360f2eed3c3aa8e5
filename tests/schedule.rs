//! The clock-driven schedule against the delay model, recomputed forwards
//! from the cycles alone (`Schedule::from_cycles`, which shares nothing
//! with the placements but the model's per-node delays):
//! - every node's latest cycle (`retime::latest`, a backward pass through
//!   the model) placed as it stands is a valid schedule: operands first,
//!   outputs by the latency, and no path longer than the clock;
//! - the minimum-cut placement is valid in the same way, never later than
//!   the as-early one and, when chosen, registers fewer bits;
//! - the exact placement (`area`) is valid, at a latency no longer than
//!   the as-early one, and at the same latency registers no more bits
//!   than either of the other two placements, which it knows nothing of.
//!
//! Verilator checks the registers themselves (`rtl_random.rs` runs some
//! networks at tight clocks, where the cuts move registers).

mod common;

use neurtl::compile::compile_text;
use neurtl::datapath::schedule::{Schedule, as_early, at_latency, by_clock};
use neurtl::datapath::{Datapath, Kind, NodeId, area, retime};

/// Clocks from loose to tight, in ns: at 1.5 ns the slowest single node
/// of a network may not fit, which the checks allow for.
const PERIODS: [f64; 4] = [5.0, 3.3, 2.5, 1.5];

/// The first rule `s` breaks as a schedule of `dp` at `period_ns`, when
/// the as-early placement `early` meets it.
fn invalid(dp: &Datapath, s: &Schedule, early: &Schedule, period_ns: f64) -> Option<String> {
    for (i, n) in dp.nodes.iter().enumerate() {
        for o in n.kind.operands() {
            if !dp.is_const(o) && s.cycle[o.index()] > s.cycle[i] {
                return Some(format!(
                    "node {i} in cycle {} before its operand {}",
                    s.cycle[i], o.0
                ));
            }
        }
    }
    if let Some(o) = dp
        .outputs
        .iter()
        .find(|o| s.cycle[o.node.index()] >= s.latency)
    {
        return Some(format!(
            "output node {} not ready by the latency {}",
            o.node.0, s.latency
        ));
    }
    let bound = period_ns.max(early.critical(0)) + 1e-9;
    let slow = (0..dp.nodes.len()).find(|&i| s.arrival[i].captured().path(0) > bound);
    slow.map(|i| {
        format!(
            "node {i} settles at {:.3} ns, past {bound:.3}",
            s.arrival[i].captured().path(0)
        )
    })
}

/// The bits the placements minimise: each value's non-constant bits
/// times its register chain, as the schedule's own chains count it.
fn cost(dp: &Datapath, s: &Schedule) -> u64 {
    (0..dp.nodes.len())
        .map(|i| {
            (dp.width(NodeId(i as u32)) - dp.nodes[i].low.min(dp.width(NodeId(i as u32)))) as u64
                * s.delay[i] as u64
        })
        .sum()
}

/// The exact placement against the as-early one and the cuts `cut`.
fn check_area(dp: &Datapath, early: &Schedule, cut: &Schedule, period: f64) -> Result<(), String> {
    let shortest = area::by_area(dp, period, 0, None).ok_or("no schedule")?;
    if shortest.latency > early.latency {
        return Err(format!("latency {} > {}", shortest.latency, early.latency));
    }
    let same = area::by_area(dp, period, 0, Some(early.latency)).ok_or("no schedule")?;
    for s in [&shortest, &same] {
        if let Some(e) = invalid(dp, s, early, period) {
            return Err(e);
        }
    }
    // a node too slow for the clock alone breaks any schedule, so the
    // others are only comparable when they meet the clock
    if early.critical(0) <= period {
        for (what, other) in [("as-early", early), ("cut", cut)] {
            if cost(dp, &same) > cost(dp, other) {
                return Err(format!(
                    "{} bits, more than the {what} placement's {}",
                    cost(dp, &same),
                    cost(dp, other)
                ));
            }
        }
    }
    Ok(())
}

fn check(model: &serde_json::Value, seed: u64) -> Result<(), String> {
    let text = serde_json::to_string(model).unwrap();
    let c =
        compile_text("model.json", &text, Default::default(), None).map_err(|e| e.to_string())?;
    let dp = c.datapath().map_err(|e| e.to_string())?;
    for period in PERIODS {
        let at = |what: &str, e: String| format!("seed {seed} at {period} ns, {what}: {e}");
        let early = as_early(&dp, period, 0);
        let last = retime::latest(&dp, early.latency, period, 0);
        for (i, &c) in last.iter().enumerate() {
            let unread_input = matches!(dp.nodes[i].kind, Kind::Input { .. });
            if c == u32::MAX && !dp.is_const(NodeId(i as u32)) && !unread_input {
                return Err(at("latest", format!("node {i} has no latest cycle")));
            }
        }
        let cycles = last
            .iter()
            .map(|&c| if c == u32::MAX { 0 } else { c })
            .collect();
        let alap = Schedule::from_cycles(&dp, cycles, early.latency);
        if let Some(e) = invalid(&dp, &alap, &early, period) {
            return Err(at("every node at its latest cycle", e));
        }
        let cut = retime::by_cuts(&dp, period, 0, early.latency);
        if let Some(e) = invalid(&dp, &cut, &early, period) {
            return Err(at("minimum cuts", e));
        }
        if cut.latency > early.latency {
            return Err(at(
                "minimum cuts",
                format!("latency {} > {}", cut.latency, early.latency),
            ));
        }
        check_area(&dp, &early, &cut, period).map_err(|e| at("exact placement", e))?;
        let chosen = by_clock(&dp, period, 0);
        // the shortest latency first, then the fewest bits
        let key = |s: &Schedule| (s.latency, s.register_bits(&dp));
        if key(&chosen) > key(&early) {
            return Err(at("by_clock", "worse than the as-early placement".into()));
        }
        // `--latency`: one cycle more than the shortest is a valid schedule
        // of exactly that latency, and one less is refused
        let later =
            at_latency(&dp, period, 0, chosen.latency + 1).map_err(|e| at("at_latency", e))?;
        if later.latency != chosen.latency + 1 {
            return Err(at("at_latency", format!("latency {}", later.latency)));
        }
        if let Some(e) = invalid(&dp, &later, &early, period) {
            return Err(at("at_latency", e));
        }
        if chosen.latency > 0 && at_latency(&dp, period, 0, chosen.latency - 1).is_ok() {
            return Err(at(
                "at_latency",
                "took a latency shorter than the shortest".into(),
            ));
        }
    }
    Ok(())
}

fn run(nets: u64, make: fn(u64) -> serde_json::Value) {
    let mut failures = vec![];
    for seed in 1..=nets {
        if let Err(e) = check(&make(seed), seed) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn schedules_of_random_mlps_meet_the_model() {
    run(300, common::random_mlp);
}

#[test]
fn schedules_of_random_bnns_meet_the_model() {
    run(300, common::random_bnn);
}

/// The placements must win somewhere, or they are dead code: on the jet
/// tagger at 200 MHz they register fewer bits at the same latency.
#[test]
fn placements_register_fewer_bits_on_the_jet_tagger() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger/model.json");
    let c = neurtl::compile::compile_file(&path, Default::default(), None).unwrap();
    let dp = c.datapath().unwrap();
    let early = as_early(&dp, 5.0, 0);
    let chosen = by_clock(&dp, 5.0, 0);
    assert_eq!(chosen.latency, early.latency);
    assert!(
        chosen.register_bits(&dp) < early.register_bits(&dp),
        "{} bits, as early {}",
        chosen.register_bits(&dp),
        early.register_bits(&dp)
    );
}

/// Which nodes an output depends on (dead ones are left by a rewrite).
fn live(dp: &Datapath) -> Vec<bool> {
    let mut live = vec![false; dp.nodes.len()];
    for o in &dp.outputs {
        live[o.node.index()] = true;
    }
    for i in (0..dp.nodes.len()).rev() {
        if live[i] {
            for o in dp.nodes[i].kind.operands() {
                live[o.index()] = true;
            }
        }
    }
    live
}

/// Ternary fusion (`datapath::fuse`) must keep the schedule it fused
/// under: the same cycles, timed again on the fused datapath, still meet
/// the clock, and the fused datapath computes what the binary one does.
/// Returns how many adders it fused.
fn check_fusion(model: &serde_json::Value, seed: u64) -> Result<usize, String> {
    let text = serde_json::to_string(model).unwrap();
    let c =
        compile_text("model.json", &text, Default::default(), None).map_err(|e| e.to_string())?;
    let dp = c.datapath().map_err(|e| e.to_string())?;
    let golden = c.golden().map_err(|e| e.to_string())?;
    let inputs = neurtl::vectors::random(&golden.input_formats, 100, seed);
    let mut want = vec![];
    neurtl::datapath::Interpreter::new(&dp).run_batch(&inputs, &mut want);
    let mut fused_total = 0;
    for period in PERIODS {
        let at = |e: String| format!("seed {seed} at {period} ns: {e}");
        let s = by_clock(&dp, period, 0);
        if s.critical(0) > period {
            continue;
        }
        let mut fused = dp.clone();
        fused_total += neurtl::datapath::fuse::ternary(&mut fused, &s, period, 0);
        let again = Schedule::from_cycles(&fused, s.cycle.clone(), s.latency);
        let alive = live(&fused);
        if let Some(i) = (0..fused.nodes.len())
            .find(|&i| alive[i] && again.arrival[i].captured().path(0) > period + 1e-9)
        {
            let t = again.arrival[i].captured().path(0);
            return Err(at(format!("node {i} now settles at {t:.3} ns")));
        }
        let mut got = vec![];
        neurtl::datapath::Interpreter::new(&fused).run_batch(&inputs, &mut got);
        if got != want {
            return Err(at("the fused datapath computes other values".into()));
        }
    }
    Ok(fused_total)
}

#[test]
fn fusion_keeps_the_schedule_and_the_values() {
    let mut failures = vec![];
    let mut fused = 0;
    for seed in 1..=150 {
        match check_fusion(&common::random_mlp(seed), seed) {
            Ok(k) => fused += k,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // a pass that never fuses would pass the checks above
    assert!(fused > 150, "only {fused} adders fused in 150 networks");
}
