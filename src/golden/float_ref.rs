//! The float reference: the model as trained, in f64, before batchnorm
//! folding and quantization, ignoring every type. It answers "how far is
//! the fixed-point design from the network the user trained?".

use crate::ir::{Conv, Graph, Op, Pool, PoolKind, Threshold, Thresholds};

/// A float model, built from a graph after shape inference.
#[derive(Debug, Clone)]
pub struct FloatModel {
    graph: Graph,
}

impl FloatModel {
    /// `g` must have shapes and unfolded, unquantized weights.
    pub fn new(g: &Graph) -> FloatModel {
        FloatModel { graph: g.clone() }
    }

    /// A real sample as the ports take it: through each input's `quant`
    /// (in f64, as a float executor quantizes), else unchanged.
    pub fn port_values(&self, sample: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(sample.len());
        for &i in &self.graph.inputs {
            let node = self.graph.node(i);
            let x = &sample[out.len()..out.len() + node.size()];
            match &node.op {
                Op::Input { quant: Some(q), .. } => out.extend(x.iter().map(|&v| q.apply_f64(v))),
                _ => out.extend_from_slice(x),
            }
        }
        out
    }

    /// Run one sample (all inputs concatenated, the ports' real values;
    /// see [`FloatModel::port_values`]); returns all outputs concatenated.
    pub fn run(&self, input: &[f64]) -> Vec<f64> {
        let vals = self.values(input);
        self.graph
            .outputs
            .iter()
            .flat_map(|o| vals[o].iter().copied())
            .collect()
    }

    /// Every node's value for one sample, keyed by node (for tests and
    /// diagnostics that look inside the network).
    pub fn trace(&self, input: &[f64]) -> Vec<(&'static str, Vec<f64>)> {
        let vals = self.values(input);
        self.graph
            .topo()
            .into_iter()
            .map(|n| (self.graph.node(n).op.name(), vals[&n].clone()))
            .collect()
    }

    fn values(
        &self,
        input: &[f64],
    ) -> std::collections::HashMap<petgraph::stable_graph::NodeIndex, Vec<f64>> {
        let g = &self.graph;
        let order = g.topo();
        let mut vals: std::collections::HashMap<_, Vec<f64>> = Default::default();
        let mut off = 0;
        for &n in &order {
            let node = g.node(n);
            let args: Vec<&Vec<f64>> = g.operands(n).iter().map(|o| &vals[o]).collect();
            let v: Vec<f64> = match &node.op {
                Op::Input { .. } => {
                    off += node.size();
                    input[off - node.size()..off].to_vec()
                }
                Op::Dense(d) if d.conv.is_some() => conv(d, &node.shape, args[0]),
                Op::Pool(p) => pool(p, &node.shape, args[0]),
                Op::Table(t) => args[0].iter().map(|&x| t.func.eval(x)).collect(),
                Op::Softmax(_) => {
                    let row = *node
                        .shape
                        .as_ref()
                        .expect("shapes")
                        .last()
                        .expect("an axis");
                    args[0].chunks(row).flat_map(softmax).collect()
                }
                Op::Dense(d) => d
                    .weights
                    .iter()
                    .zip(&d.bias)
                    .map(|(row, b)| b + row.nonzeros().map(|(i, w)| w * args[0][i]).sum::<f64>())
                    .collect(),
                Op::BatchNorm(bn) => args[0]
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let j = crate::ir::channel_of(i, bn.gamma.len());
                        bn.gamma[j] * (x - bn.mean[j]) / (bn.var[j] + bn.epsilon).sqrt()
                            + bn.beta[j]
                    })
                    .collect(),
                Op::Relu => args[0].iter().map(|x| x.max(0.0)).collect(),
                Op::LeakyRelu { alpha, .. } => args[0]
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let a = alpha[crate::ir::channel_of(i, alpha.len())];
                        if x >= 0.0 { x } else { a * x }
                    })
                    .collect(),
                Op::HardTanh => args[0].iter().map(|x| x.clamp(-1.0, 1.0)).collect(),
                Op::HardSigmoid { slope, offset, .. } => args[0]
                    .iter()
                    .map(|x| (slope * x + offset).clamp(0.0, 1.0))
                    .collect(),
                Op::Quantize | Op::Flatten | Op::Reshape { .. } => args[0].clone(),
                Op::Slice { .. } | Op::Transpose { .. } => {
                    let keep = g.selection(n).expect("a slice or transpose");
                    keep.iter().map(|&i| args[0][i]).collect()
                }
                Op::Add => args[0].iter().zip(args[1]).map(|(a, b)| a + b).collect(),
                Op::Concat => args.iter().flat_map(|a| a.iter().copied()).collect(),
                Op::Argmax => {
                    let x = args[0];
                    let mut best = 0;
                    for i in 0..x.len() {
                        if x[i] > x[best] {
                            best = i;
                        }
                    }
                    vec![best as f64]
                }
                Op::Sign => args[0]
                    .iter()
                    .map(|&x| if x >= 0.0 { 1.0 } else { -1.0 })
                    .collect(),
                Op::Neurons(_) => unreachable!("fused after the float model is taken"),
                Op::Threshold(Threshold {
                    thresholds: Thresholds::Requant(q),
                    ..
                }) => args[0]
                    .iter()
                    .enumerate()
                    .map(|(c, &x)| {
                        let q = if q.len() == 1 { &q[0] } else { &q[c] };
                        q.apply_f64(x)
                    })
                    .collect(),
                Op::Threshold(t) => {
                    let Thresholds::Given(rows) = &t.thresholds else {
                        unreachable!("the float model runs before streamlining")
                    };
                    args[0]
                        .iter()
                        .enumerate()
                        .map(|(c, &x)| {
                            let row = if rows.len() == 1 { &rows[0] } else { &rows[c] };
                            let count = row.iter().filter(|&&t| x >= t).count() as f64;
                            t.out_scale * count + t.out_bias
                        })
                        .collect()
                }
            };
            vals.insert(n, v);
        }
        vals
    }
}

/// Every output position's window, written out axis by axis from the
/// definition: per position, the taps `(kernel position, input position)`
/// with input position `o·stride + k·dilation − pad` inside the input.
/// It shares no index arithmetic with `ir::conv`, so it checks the
/// geometry the golden model and the hardware use.
fn windows(c: &Conv, out_shape: &[usize]) -> Vec<Vec<(usize, usize)>> {
    let geom = c.geom.as_ref().expect("shapes are known");
    let rank = c.kernel.len();
    // spatial sizes padded to two axes, so one loop nest serves both ranks
    let two = |v: &[usize], fill: usize| -> [usize; 2] {
        if rank == 1 {
            [fill, v[0]]
        } else {
            [v[0], v[1]]
        }
    };
    let [ih, iw] = two(&geom.input, 1);
    let [oh, ow] = two(&out_shape[..rank], 1);
    let [kh, kw] = two(&c.kernel, 1);
    let [sh, sw] = two(&c.stride, 1);
    let [dh, dw] = two(&c.dilation, 1);
    let [ph, pw] = two(&geom.pad_before, 0);
    let mut all = Vec::with_capacity(oh * ow);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut taps = vec![];
            for ky in 0..kh {
                for kx in 0..kw {
                    let iy = (oy * sh + ky * dh) as i64 - ph as i64;
                    let ix = (ox * sw + kx * dw) as i64 - pw as i64;
                    if iy >= 0 && ix >= 0 && iy < ih as i64 && ix < iw as i64 {
                        taps.push((ky * kw + kx, iy as usize * iw + ix as usize));
                    }
                }
            }
            all.push(taps);
        }
    }
    all
}

/// A convolution in f64: output `(o, f) = b_f + Σ_k Σ_c w_f[k][c] ·
/// x[o·s + k·d − pad][g·cpg + c]`.
fn conv(d: &crate::ir::Dense, shape: &Option<Vec<usize>>, x: &[f64]) -> Vec<f64> {
    let c = d.conv.as_ref().expect("a convolution");
    let channels = c.geom.as_ref().expect("shapes are known").in_channels;
    let cpg = channels / c.groups;
    let per_group = d.units / c.groups;
    let mut y = vec![];
    for taps in windows(c, shape.as_ref().expect("shapes are known")) {
        for f in 0..d.units {
            let g = f / per_group;
            let mut s = d.bias[f];
            for &(k, at) in &taps {
                for ch in 0..cpg {
                    s += d.weights[f].get(k * cpg + ch) * x[at * channels + g * cpg + ch];
                }
            }
            y.push(s);
        }
    }
    y
}

/// Pooling in f64: the largest element of each channel's window, or its
/// mean (over the elements inside the input, or every tap with
/// `count_include_pad`), divided exactly.
fn pool(p: &Pool, shape: &Option<Vec<usize>>, x: &[f64]) -> Vec<f64> {
    let channels = p
        .window
        .geom
        .as_ref()
        .expect("shapes are known")
        .in_channels;
    let taps: usize = p.window.kernel.iter().product();
    let mut y = vec![];
    for win in windows(&p.window, shape.as_ref().expect("shapes are known")) {
        for ch in 0..channels {
            let v = win.iter().map(|&(_, at)| x[at * channels + ch]);
            y.push(match &p.kind {
                PoolKind::Max => v.fold(f64::NEG_INFINITY, f64::max),
                PoolKind::Avg {
                    count_include_pad, ..
                } => {
                    let n = if *count_include_pad { taps } else { win.len() };
                    v.sum::<f64>() / n as f64
                }
            });
        }
    }
    y
}

/// Softmax of one row in f64, shifted by its largest element first.
fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}
