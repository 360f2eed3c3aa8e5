//! Every input code of each table activation, through the golden model,
//! against the f64 function: the largest error, which the docs state
//! (docs/model-format.md, "Table activations"). Run with `--nocapture`
//! to print the table the docs quote.
//!
//! Without dropped bits an entry is the function at the code, rounded to
//! nearest: at most half an output LSB off wherever the output type holds
//! the value. With `d` dropped bits the entry is taken at the middle of
//! its bucket of `2^d` codes: the error grows by up to the function's
//! largest slope times half the bucket's width.

use neurtl::compile::compile_text;
use neurtl::ir::CompileOptions;

/// One sweep: op, input type, output type, table bits, the function's
/// largest |slope| on the input range (for the bound with dropped bits).
struct Sweep {
    op: &'static str,
    input: &'static str,
    output: &'static str,
    bits: u32,
    slope: f64,
}

const SWEEPS: [Sweep; 9] = [
    Sweep {
        op: "sigmoid",
        input: "fixed<10,4>",
        output: "ufixed<10,0,rnd,sat>",
        bits: 12,
        slope: 0.25,
    },
    Sweep {
        op: "tanh",
        input: "fixed<10,3>",
        output: "fixed<10,1,rnd,sat>",
        bits: 12,
        slope: 1.0,
    },
    Sweep {
        op: "gelu",
        input: "fixed<10,3>",
        output: "fixed<12,3,rnd,sat>",
        bits: 12,
        slope: 1.13,
    },
    Sweep {
        op: "silu",
        input: "fixed<10,3>",
        output: "fixed<12,3,rnd,sat>",
        bits: 12,
        slope: 1.1,
    },
    Sweep {
        op: "softplus",
        input: "fixed<10,3>",
        output: "ufixed<12,3,rnd,sat>",
        bits: 12,
        slope: 1.0,
    },
    Sweep {
        op: "exp",
        input: "fixed<10,3>",
        output: "ufixed<16,6,rnd,sat>",
        bits: 12,
        slope: 54.6,
    },
    Sweep {
        op: "reciprocal",
        input: "ufixed<10,4>",
        output: "ufixed<16,8,rnd,sat>",
        bits: 12,
        slope: 0.0,
    },
    // 16-bit inputs: four low bits dropped before a 12-bit table
    Sweep {
        op: "tanh",
        input: "fixed<16,3>",
        output: "fixed<12,1,rnd,sat>",
        bits: 12,
        slope: 1.0,
    },
    Sweep {
        op: "sigmoid",
        input: "fixed<16,5>",
        output: "ufixed<12,0,rnd,sat>",
        bits: 12,
        slope: 0.25,
    },
];

/// The golden model of `x → op(x)`, its input's raw codes, and their
/// real values.
fn sweep(s: &Sweep) -> (Vec<f64>, Vec<f64>, u32) {
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "sweep",
        "inputs": [{"name": "x", "shape": [1], "type": s.input}],
        "layers": [{"name": "y", "op": s.op, "input": "x", "output_type": s.output, "table_bits": s.bits}],
        "outputs": ["y"],
    });
    let c = compile_text(
        "sweep.json",
        &model.to_string(),
        CompileOptions::default(),
        None,
    )
    .unwrap();
    let g = c.golden().unwrap();
    let (fin, _) = g.input_formats[0];
    let (fout, _) = g.output_formats[0];
    let node = c.graph.node(c.graph.find("y").unwrap());
    let dropped = match &node.op {
        neurtl::ir::Op::Table(t) => t.rom.as_ref().unwrap().drop,
        _ => unreachable!(),
    };
    let codes: Vec<i128> = (fin.min_raw()..=fin.max_raw()).collect();
    let mut out = vec![];
    g.run_batch(&codes, &mut out);
    let xs = codes.iter().map(|&c| fin.to_f64(c)).collect();
    let ys = out.iter().map(|&r| fout.to_f64(r)).collect();
    (xs, ys, dropped)
}

#[test]
fn every_code_of_every_table_is_within_its_stated_error() {
    println!("| op | input | output | entries | dropped bits | max error | bound |");
    println!("|---|---|---|---|---|---|---|");
    for s in &SWEEPS {
        let (xs, ys, dropped) = sweep(s);
        let out = neurtl::fixed::parse_type(s.output).unwrap();
        let lsb = 2f64.powi(-out.format.frac);
        let (lo, hi) = (
            out.format.to_f64(out.format.min_raw()),
            out.format.to_f64(out.format.max_raw()),
        );
        let f = neurtl::ir::TableFn::from_name(s.op).unwrap();
        let fin = neurtl::fixed::parse_type(s.input).unwrap();
        let bucket = (2f64.powi(dropped as i32) - 1.0) * 2f64.powi(-fin.format.frac);
        let bound = lsb / 2.0 + s.slope * bucket / 2.0;
        let mut worst = 0f64;
        for (&x, &y) in xs.iter().zip(&ys) {
            // the exact value, saturated as the output type saturates
            let want = f.eval(x).clamp(lo, hi);
            let err = (y - want).abs();
            worst = worst.max(err);
            assert!(
                err <= bound * (1.0 + 1e-9),
                "{}({x}) = {y}, the function gives {want}: error {err} above {bound}",
                s.op
            );
        }
        println!(
            "| {} | `{}` | `{}` | {} | {dropped} | {worst:.3e} | {bound:.3e} |",
            s.op,
            s.input,
            s.output,
            xs.len() >> dropped
        );
    }
}
