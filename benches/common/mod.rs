//! What the benchmarks share.

use std::time::{Duration, Instant};

/// The shortest of `runs` runs of `f`: the least disturbed by the rest
/// of the machine.
pub fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}
