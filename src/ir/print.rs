//! Stable, readable text form of the IR, used by `neurtl inspect` and by
//! snapshot tests. One line per node in topological order, then details.

use super::{Accum, Graph, Op, Thresholds};
use std::fmt::Write;

/// Render the graph. Weights are summarized, not listed.
pub fn print(g: &Graph) -> String {
    let mut s = String::new();
    let _ = write!(s, "graph {}", g.name);
    if let Some(l) = g.meta.latency {
        let _ = write!(s, "  latency={l}");
    }
    s.push('\n');
    for n in g.topo() {
        let node = g.node(n);
        let args: Vec<String> = g
            .operands(n)
            .iter()
            .map(|&o| format!("%{}", g.node(o).name))
            .collect();
        let _ = write!(
            s,
            "  %{} = {}({})",
            node.name,
            node.op.name(),
            args.join(", ")
        );
        match &node.op {
            Op::Input { ty, quant } => {
                if node.bipolar {
                    s.push_str(" type=bipolar");
                } else {
                    let _ = write!(s, " type={ty}");
                }
                if let Some(q) = quant {
                    let _ = write!(s, " quant_scale={} zero_point={}", q.scale, q.zero);
                }
            }
            Op::Softmax(sm) => {
                let _ = write!(
                    s,
                    " exp={} log={} table_bits={}",
                    sm.exp_type, sm.log_type, sm.bits
                );
            }
            Op::Table(t) => {
                let _ = write!(s, " table_bits={}", t.bits);
                if let Some(r) = &t.rom {
                    let _ = write!(s, " entries={} dropped_bits={}", r.entries.len(), r.drop);
                }
            }
            Op::Pool(p) => {
                let w = &p.window;
                let _ = write!(
                    s,
                    " kernel={:?} stride={:?} padding={:?}",
                    w.kernel, w.stride, w.padding
                );
                if let crate::ir::PoolKind::Avg {
                    divisor_type,
                    count_include_pad,
                } = &p.kind
                {
                    let _ = write!(
                        s,
                        " divisor={divisor_type} count_include_pad={count_include_pad}"
                    );
                }
            }
            Op::Neurons(nr) => {
                let terms: usize = nr.rows.iter().map(Vec::len).sum();
                let _ = write!(s, " neurons={} terms={terms}", nr.rows.len());
            }
            Op::Threshold(t) => {
                match &t.thresholds {
                    Thresholds::Given(r) => {
                        let _ = write!(s, " thresholds={}x{}", r.len(), r[0].len());
                    }
                    Thresholds::BatchNorm(b) => {
                        let _ = write!(s, " thresholds=batchnorm x{}", b.len());
                    }
                    Thresholds::Requant(q) => {
                        let (lo, hi) = q[0].range();
                        let _ = write!(s, " requant x{} levels={lo}..{hi}", q.len());
                    }
                }
                let _ = write!(s, " out_scale={} out_bias={}", t.out_scale, t.out_bias);
            }
            Op::Dense(d) => {
                let w = if d.bipolar_weights {
                    "bipolar".to_string()
                } else {
                    d.weight_type.to_string()
                };
                match &d.conv {
                    None => {
                        let _ = write!(s, " units={}", d.units);
                    }
                    Some(c) => {
                        let _ = write!(
                            s,
                            " filters={} kernel={:?} stride={:?} dilation={:?} padding={:?} groups={}",
                            d.units, c.kernel, c.stride, c.dilation, c.padding, c.groups
                        );
                    }
                }
                let _ = write!(s, " weight={w} bias={}", d.bias_type);
                if d.xnor {
                    s.push_str(" xnor");
                }
                match &d.accum {
                    Accum::Auto => s.push_str(" accum=auto"),
                    Accum::Explicit(a) => {
                        let _ = write!(s, " accum={a}");
                    }
                }
            }
            Op::BatchNorm(b) => {
                let _ = write!(s, " channels={} epsilon={}", b.gamma.len(), b.epsilon);
            }
            Op::LeakyRelu {
                alpha, alpha_type, ..
            } => match alpha.as_slice() {
                [a] => {
                    let _ = write!(s, " alpha={a} alpha_type={alpha_type}");
                }
                per => {
                    let _ = write!(
                        s,
                        " alpha=per-channel x{} alpha_type={alpha_type}",
                        per.len()
                    );
                }
            },
            Op::HardSigmoid {
                slope,
                offset,
                slope_type,
                ..
            } => {
                let _ = write!(s, " slope={slope} slope_type={slope_type} offset={offset}");
            }
            Op::Slice { axis, start, end } => {
                let _ = write!(s, " axis={axis} range={start}..{end}");
            }
            Op::Transpose { perm } => {
                let _ = write!(s, " perm={perm:?}");
            }
            Op::Reshape { shape } => {
                let dims: Vec<String> = shape
                    .iter()
                    .map(|d| d.map_or("?".into(), |d| d.to_string()))
                    .collect();
                let _ = write!(s, " shape=[{}]", dims.join(", "));
            }
            Op::Relu
            | Op::HardTanh
            | Op::Quantize
            | Op::Add
            | Op::Concat
            | Op::Flatten
            | Op::Argmax
            | Op::Sign => {}
        }
        if let Some(c) = node.cast {
            let _ = write!(s, " -> {c}");
        }
        s.push('\n');
        let mut facts = vec![];
        if let Some(sh) = &node.shape {
            facts.push(format!("shape={sh:?}"));
        }
        if node.bipolar && node.range.is_some() {
            facts.push("bipolar".to_string());
        } else if let (Some(f), Some(r)) = (&node.format, &node.range) {
            let lo = r.iter().map(|x| x.0).min().unwrap_or(0);
            let hi = r.iter().map(|x| x.1).max().unwrap_or(0);
            facts.push(format!(
                "format={f} range=[{}, {}]",
                f.to_f64(lo),
                f.to_f64(hi)
            ));
        }
        if let Some(st) = &node.stage {
            facts.push(format!(
                "stage: start={} inner_regs={} out_reg={}",
                st.start, st.inner_regs, st.out_reg
            ));
        }
        if !facts.is_empty() {
            let _ = writeln!(s, "      {}", facts.join("  "));
        }
        if let Op::Dense(d) = &node.op {
            if let Some(q) = &d.quant {
                let nz: usize = q.weights.iter().map(|r| r.nonzeros().count()).sum();
                let total = q.weights.iter().map(crate::ir::Row::len).sum::<usize>();
                let _ = writeln!(
                    s,
                    "      weights: {nz}/{total} non-zero  max quantization error: weight {:.3e} bias {:.3e}",
                    q.max_weight_error, q.max_bias_error
                );
            }
            if let Some(a) = &d.acc {
                let _ = writeln!(s, "      accumulator: {} (frac {})", a.format, a.frac);
            }
            if let Some(t) = &d.terms {
                let kept: usize = t.iter().map(Vec::len).sum();
                let _ = writeln!(s, "      terms after pruning: {kept}");
            }
        }
    }
    let outs: Vec<String> = g
        .outputs
        .iter()
        .map(|&o| format!("%{}", g.node(o).name))
        .collect();
    let _ = writeln!(s, "  outputs: {}", outs.join(", "));
    s
}
