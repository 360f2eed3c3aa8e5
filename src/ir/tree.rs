//! Shape of the balanced adder trees that sum a neuron's terms. Shared by
//! the pipeline scheduler (which counts levels to place registers) and the
//! Verilog back end (which builds the tree), so both agree on the latency.

/// Levels of a balanced binary adder tree over `n` operands.
pub fn levels(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// The constant of an XNOR-popcount neuron `j`, on the accumulator grid:
/// `dot = Σ w·x + bias = 2·P − K + bias`, so the sum is `P << (shift + 1)`
/// plus this.
pub fn xnor_offset(d: &super::Dense, j: usize) -> i128 {
    let acc = d.acc.as_ref().expect("infer_precision runs first");
    let k = d.neuron_len(j) as i128;
    acc.bias[j] - (k << acc.product_shift)
}

/// Adder levels of neuron `j`: a balanced tree over its terms plus a
/// non-zero bias; for XNOR-popcount, the popcount tree then one addition of
/// the offset when it is not zero.
pub fn neuron_levels(d: &super::Dense, j: usize) -> u32 {
    let acc = d.acc.as_ref().expect("infer_precision runs first");
    let n = d.neuron_len(j);
    if d.xnor {
        levels(n) + (xnor_offset(d, j) != 0) as u32
    } else {
        levels(n + (acc.bias[j] != 0) as usize)
    }
}

/// Levels of the deepest neuron tree of a pruned, sized dense layer.
pub fn dense_levels(d: &super::Dense) -> u32 {
    (0..d.neurons())
        .map(|j| neuron_levels(d, j))
        .max()
        .unwrap_or(0)
}

/// Whether a register follows adder level `level` (1-based) in a tree that
/// a layer runs for `total` levels, cutting every `per_stage` levels. The
/// last level is never cut here: the layer's output register follows it.
pub fn cut_after(level: u32, total: u32, per_stage: u32) -> bool {
    per_stage > 0 && level < total && level.is_multiple_of(per_stage)
}

/// Number of cuts inside a tree of `total` levels.
pub fn cuts(total: u32, per_stage: u32) -> u32 {
    (1..=total)
        .filter(|&l| cut_after(l, total, per_stage))
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn level_counts() {
        let got: Vec<u32> = (0..10).map(levels).collect();
        assert_eq!(got, vec![0, 0, 1, 2, 2, 3, 3, 3, 3, 4]);
        assert_eq!(cuts(4, 2), 1);
        assert_eq!(cuts(4, 1), 3);
        assert_eq!(cuts(5, 2), 2);
        assert_eq!(cuts(4, 0), 0);
    }
}
