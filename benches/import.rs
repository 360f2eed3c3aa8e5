//! Import speed of a 1,000,000-parameter MLP (784-1024-192-10, float32
//! weights as raw data, the way PyTorch exports them).
//!
//!   cargo bench --bench import
//!
//! Prints the time to decode and lower the ONNX file, and to go on to the
//! parsed IR graph (what every command does with an .onnx model), as the
//! best of several runs.

use neurtl::frontend::json::parse_model;
use neurtl::frontend::onnx::proto::*;
use neurtl::frontend::onnx::{ImportOptions, import};
use neurtl::vectors::Rng;
use prost::Message;
mod common;

use common::best;

fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(2),
        i: Some(v),
        ..Default::default()
    }
}

fn value(name: &str, n: i64) -> ValueInfoProto {
    let dims = [("N", 0), ("", n)].map(|(p, v)| Dimension {
        dim_value: (v > 0).then_some(v),
        dim_param: (v == 0).then(|| p.to_string()),
    });
    ValueInfoProto::float(name, &dims)
}

fn raw(name: &str, dims: &[i64], rng: &mut Rng) -> TensorProto {
    let n: i64 = dims.iter().product();
    let mut b = Vec::with_capacity(4 * n as usize);
    for _ in 0..n {
        let v = (rng.below(1 << 24) as f32 / (1 << 24) as f32 - 0.5) * 0.2;
        b.extend_from_slice(&v.to_le_bytes());
    }
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(1),
        name: Some(name.into()),
        raw_data: Some(b),
        ..Default::default()
    }
}

fn big_model() -> (Vec<u8>, usize) {
    let sizes = [784i64, 1024, 192, 10];
    let mut rng = Rng::new(1);
    let mut g = GraphProto {
        name: Some("big".into()),
        input: vec![value("x", sizes[0])],
        output: vec![value("y", sizes[3])],
        ..Default::default()
    };
    let mut params = 0;
    let mut prev = "x".to_string();
    for i in 0..3 {
        let (k, m) = (sizes[i], sizes[i + 1]);
        params += (k * m + m) as usize;
        let (w, b) = (format!("W{i}"), format!("b{i}"));
        g.initializer.push(raw(&w, &[m, k], &mut rng));
        g.initializer.push(raw(&b, &[m], &mut rng));
        let out = if i == 2 {
            "y".to_string()
        } else {
            format!("h{i}")
        };
        g.node.push(NodeProto {
            input: vec![prev.clone(), w, b],
            output: vec![out.clone()],
            name: Some(format!("fc{i}")),
            op_type: Some("Gemm".into()),
            attribute: vec![attr_i("transB", 1)],
            ..Default::default()
        });
        prev = out;
        if i < 2 {
            let r = format!("r{i}");
            g.node.push(NodeProto {
                input: vec![prev.clone()],
                output: vec![r.clone()],
                name: Some(format!("relu{i}")),
                op_type: Some("Relu".into()),
                ..Default::default()
            });
            prev = r;
        }
    }
    (ModelProto::with_graph(g, 13).encode_to_vec(), params)
}

fn main() {
    let (bytes, params) = big_model();
    // Kept for timing the command line: `neurtl import <file> -o out.json`.
    let file = std::env::temp_dir().join("neurtl-import-bench.onnx");
    std::fs::write(&file, &bytes).unwrap();
    println!("model written to {}", file.display());
    let opts = ImportOptions::default();
    let lower = best(5, || {
        import(&bytes, &opts).unwrap();
    });
    let to_graph = best(5, || {
        let m = import(&bytes, &opts).unwrap();
        let text = serde_json::to_string(&m.model).unwrap();
        parse_model(&text).unwrap();
    });
    println!(
        "import of a {params}-parameter MLP ({:.1} MB): decode + lower {:.3} s, through to the IR graph {:.3} s (best of 5)",
        bytes.len() as f64 / 1e6,
        lower.as_secs_f64(),
        to_graph.as_secs_f64()
    );
}
