//! Streamlining must be exact: on random binarized networks, many with
//! batchnorm parameters that put a sign's threshold exactly on a reachable
//! sum, the golden model (folded integer thresholds, negated rows for
//! γ < 0, constants for γ = 0) must equal the float reference of the
//! unfolded network (dense → batchnorm → sign in f64) on every output.
//! The chosen parameters keep every float step exact at ties, so any
//! difference is a folding error, not float noise.

mod common;

use neurtl::compile::compile_text;
use neurtl::golden::wire_to_real;
use neurtl::ir::CompileOptions;

#[test]
fn streamlined_bnns_equal_the_unfolded_float_model() {
    let mut ties = 0usize;
    for seed in 1..=300u64 {
        let model = common::random_bnn(seed);
        let text = serde_json::to_string(&model).unwrap();
        let c = compile_text("bnn.json", &text, CompileOptions::default(), None)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let golden = c.golden().unwrap();
        let ins = golden.input_elements();
        let outs = golden.output_elements();
        let raw = neurtl::vectors::random(&golden.input_formats, 300, seed);
        for sample in raw.chunks(golden.input_len()) {
            let real: Vec<f64> = sample
                .iter()
                .zip(&ins)
                .map(|(&v, &(f, b))| wire_to_real(v, f, b))
                .collect();
            let want = c.float.run(&real);
            let got: Vec<f64> = golden
                .run(sample)
                .iter()
                .zip(&outs)
                .map(|(&v, &(f, b))| wire_to_real(v, f, b))
                .collect();
            assert_eq!(got, want, "seed {seed}, input {real:?}");
            ties += c
                .float
                .trace(&real)
                .iter()
                .filter(|(op, _)| *op == "batchnorm")
                .flat_map(|(_, v)| v.iter())
                .filter(|&&x| x == 0.0)
                .count();
        }
    }
    // The generator must actually produce exact ties, or this test proves
    // nothing about them.
    assert!(
        ties > 1000,
        "only {ties} batchnorm outputs landed exactly on 0"
    );
}
