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

/// Softmax on random rows: every output in [0, 1], within the plan's
/// stated bound of the f64 softmax, and the float model's largest
/// element never gets a smaller output than another (the order is kept;
/// rounding may make two equal).
#[test]
fn softmax_stays_in_range_keeps_the_order_and_meets_its_bound() {
    println!("| row | input | output | samples | max error | bound |");
    println!("|---|---|---|---|---|---|");
    for (n, input, output) in [
        (2, "fixed<8,3>", "ufixed<10,0,rnd,sat>"),
        (5, "fixed<8,3>", "ufixed<10,0,rnd,sat>"),
        (10, "fixed<10,4>", "ufixed<8,0,rnd,sat>"),
        (32, "fixed<12,5>", "ufixed<12,0,rnd,sat>"),
    ] {
        let model = serde_json::json!({
            "format": "neurtl-model", "version": 1, "name": "softmax",
            "inputs": [{"name": "x", "shape": [n], "type": input}],
            "layers": [{"name": "y", "op": "softmax", "input": "x", "output_type": output}],
            "outputs": ["y"],
        });
        let c = compile_text(
            "softmax.json",
            &model.to_string(),
            CompileOptions::default(),
            None,
        )
        .unwrap();
        let g = c.golden().unwrap();
        let plan = match &c.graph.node(c.graph.find("y").unwrap()).op {
            neurtl::ir::Op::Softmax(s) => s.plan.clone().unwrap(),
            _ => unreachable!(),
        };
        let bound = plan.error_bound();
        let (fin, _) = g.input_formats[0];
        let (fout, _) = g.output_formats[0];
        let samples = 20_000;
        let raw = neurtl::vectors::random(&g.input_formats, samples, n as u64);
        let mut out = vec![];
        g.run_batch(&raw, &mut out);
        let mut worst = 0f64;
        for (x, y) in raw.chunks(n).zip(out.chunks(n)) {
            let xf: Vec<f64> = x.iter().map(|&r| fin.to_f64(r)).collect();
            let m = xf.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = xf.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let yf: Vec<f64> = y.iter().map(|&r| fout.to_f64(r)).collect();
            for (k, (&got, &ek)) in yf.iter().zip(&e).enumerate() {
                assert!(
                    (0.0..=1.0).contains(&got),
                    "softmax output {got} outside [0, 1]"
                );
                worst = worst.max((got - ek / s).abs());
                // a larger input never gets a strictly smaller output
                for (j, &other) in yf.iter().enumerate() {
                    assert!(
                        !(xf[k] > xf[j] && got < other),
                        "x[{k}] = {} > x[{j}] = {} but y {got} < {other}",
                        xf[k],
                        xf[j]
                    );
                }
            }
        }
        assert!(
            worst <= bound,
            "row {n}: error {worst} above the bound {bound}"
        );
        println!("| {n} | `{input}` | `{output}` | {samples} | {worst:.3e} | {bound:.3e} |");
    }
}
