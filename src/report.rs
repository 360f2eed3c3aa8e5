//! The machine-readable report (`report.json`): latency, formats, hardware
//! counts and quantization errors, for users and scripts.

use crate::backend::verilog::DesignInfo;
use crate::ir::{Accum, Graph, Op};
use serde_json::{Value, json};

pub fn build(g: &Graph, info: &DesignInfo) -> Value {
    let layers: Vec<Value> = g
        .topo()
        .into_iter()
        .map(|n| {
            let node = g.node(n);
            let st = info.stage(&node.name);
            let mut v = json!({
                "name": node.name,
                "op": node.op.name(),
                "shape": node.shape,
                "format": node.format.map(|f| f.to_string()),
                "start_cycle": st.start,
                "ready_cycle": st.ready(),
                "inner_registers": st.inner_regs,
                "output_register": st.out_reg,
            });
            if let Op::Dense(d) = &node.op {
                let q = d.quant.as_ref().unwrap();
                let terms: usize = d
                    .terms
                    .as_ref()
                    .map(|t| t.iter().map(Vec::len).sum())
                    .unwrap_or(0);
                v["accumulator"] = json!(d.acc.as_ref().map(|a| a.format.to_string()));
                v["accumulator_kind"] = json!(match d.accum {
                    Accum::Auto => "auto",
                    Accum::Explicit(_) => "explicit",
                });
                v["nonzero_weights"] = json!(terms);
                v["max_weight_quantization_error"] = json!(q.max_weight_error);
                v["max_bias_quantization_error"] = json!(q.max_bias_error);
            }
            v
        })
        .collect();
    let p = g.meta.pipeline.unwrap_or_default();
    json!({
        "neurtl_version": env!("CARGO_PKG_VERSION"),
        "top": info.top,
        "latency_cycles": info.latency,
        "initiation_interval": info.ii,
        "folded": info.folded,
        "pipeline": {"mode": format!("{:?}", p.mode).to_lowercase(), "max_adder_depth": p.max_adder_depth},
        "target": p.target.name(),
        "in_bits": info.in_bits,
        "out_bits": info.out_bits,
        "inputs": info.inputs,
        "outputs": info.outputs,
        "counts": info.counts,
        "layers": layers,
        "removed_layers": g.meta.removed,
        "saturated_constants": saturated(&g.meta.saturated),
        "modules": info.modules,
    })
}

/// The constants cast into a type that could not hold them, each with the
/// model's value and the one the design computes with.
fn saturated(s: &[crate::ir::Saturated]) -> Value {
    let field = |f: &crate::ir::Saturated| {
        let changed: Vec<Value> = (f.changed.iter())
            .map(|(at, from, to)| json!({"at": at, "value": from, "cast": to}))
            .collect();
        json!({"layer": f.layer, "field": f.field, "type": f.ty, "changed": changed})
    };
    Value::Array(s.iter().map(field).collect())
}
