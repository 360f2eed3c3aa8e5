//! ONNX nodes to neurtl layers.
//!
//! Tensors are either constants (initializers, `Constant` nodes, and
//! quantizers applied to constants, which are folded here) or computed
//! values, each the output of one neurtl layer or input. The batch
//! dimension is dropped: neurtl describes one sample. Nodes are lowered in
//! file order, which ONNX requires to be topological.
//!
//! Weights are typed last, once every `Add` (bias) and `Mul` (scale) that
//! folds into them has been seen: each weight tensor gets the narrowest
//! fixed-point type that holds all its values exactly. Weights that came
//! through a quantizer always fit; float weights that need more than
//! `weight_bits` bits are rounded to that many, and the import says so.

use super::proto::{AttributeProto, GraphProto, NodeProto, ValueInfoProto};
use super::tensor::{self, Tensor};
use super::{ImportOptions, Imported};
use crate::fixed::{FixedType, Format, OverflowMode, QuantMode, f64_parts};
use crate::frontend::FrontendError;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

mod real;
mod spatial;

/// ONNX-domain ops the importer lowers.
const ONNX_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "Clip",
    "Sign",
    "Flatten",
    "Reshape",
    "Slice",
    "PRelu",
    "Concat",
    "Transpose",
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalMaxPool",
    "GlobalAveragePool",
    "Sigmoid",
    "Tanh",
    "Gelu",
    "Softplus",
    "Exp",
    "Log",
    "Reciprocal",
    "HardSigmoid",
    "Softmax",
    "ArgMax",
    "Identity",
    "Dropout",
    "Constant",
];
/// QONNX ops, in any of the domains QONNX and its predecessors used.
const QONNX_OPS: &[&str] = &["Quant", "BipolarQuant", "Trunc", "MultiThreshold"];
pub const QONNX_DOMAINS: &[&str] = &[
    "qonnx.custom_op.general",
    "finn.custom_op.general",
    "onnx.brevitas",
];

/// A computed tensor: the neurtl layer (or input) that makes it.
#[derive(Debug, Clone)]
struct Dyn {
    layer: String,
    /// Without the batch dimension, in ONNX's axis order.
    shape: Vec<usize>,
    /// The layer holds the tensor channels-last (ONNX axis 1, the first
    /// of `shape`, moved to the end), the order neurtl's convolutions and
    /// pools use. Elementwise ops keep it; the others get the ONNX order
    /// back through a transpose, which is wiring only.
    cl: bool,
    /// Not the value the layer holds but this real function of it (see
    /// `real.rs`); only the ops that carry real scales accept it.
    real: Option<Box<real::Real>>,
}

#[derive(Debug, Clone)]
enum Val {
    Const(Konst),
    Dyn(Dyn),
}

/// A constant and what the importer knows about its values.
#[derive(Debug, Clone)]
struct Konst {
    t: Tensor,
    /// Came out of a quantizer: its values are on a fixed-point grid and
    /// must stay exact.
    quantized: bool,
    /// Came out of `BipolarQuant` with scale 1: every value is ±1.
    bipolar: bool,
}

/// Weights whose type is decided at the end.
struct DenseLayer {
    /// One row per output (per filter of a convolution).
    weights: Vec<Vec<f64>>,
    /// A convolution's kernel extents and channels per group: each row
    /// is written nested to this shape.
    kernel: Option<Vec<usize>>,
    bias: Option<Vec<f64>>,
    quantized: bool,
    bipolar: bool,
    /// Exact at any width up to 62 bits, weights and bias (a real scale
    /// multiplied out); otherwise within 24 bits, or rounded.
    wide: bool,
}

enum Layer {
    Dense(Map<String, Value>, DenseLayer),
    Other(Map<String, Value>),
}

impl Layer {
    fn obj(&mut self) -> &mut Map<String, Value> {
        match self {
            Layer::Dense(m, _) | Layer::Other(m) => m,
        }
    }
}

struct Lowerer<'a> {
    opts: &'a ImportOptions,
    /// The QONNX domain's opset version: it selects `Trunc`'s semantics.
    qonnx_version: i64,
    /// The ONNX domain's: it selects `Softmax`'s.
    onnx_version: i64,
    vals: HashMap<String, Val>,
    /// How many nodes (and graph outputs) read each tensor.
    readers: HashMap<String, usize>,
    inputs: Vec<Value>,
    layers: Vec<Layer>,
    /// Layer index by layer name.
    by_name: HashMap<String, usize>,
    /// The transposes made so far, by (layer, wanted `cl`), so each layer
    /// is reordered at most once per direction.
    relaid: HashMap<(String, bool), Dyn>,
    names: HashSet<String>,
    notes: Vec<String>,
}

/// Error about node `n` (and one of its attributes or inputs).
fn node_err(n: &NodeProto, field: Option<&str>, msg: impl Into<String>) -> FrontendError {
    FrontendError {
        layer: Some(node_label(n)),
        field: field.map(String::from),
        message: msg.into(),
        help: None,
    }
}

fn node_label(n: &NodeProto) -> String {
    let op = n.op_type.as_deref().unwrap_or("?");
    let name = n
        .name
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(n.output.first().map(String::as_str))
        .unwrap_or("<unnamed>");
    format!("{name} ({op} node)")
}

fn graph_err(field: &str, msg: impl Into<String>) -> FrontendError {
    FrontendError {
        layer: None,
        field: Some(field.into()),
        message: msg.into(),
        help: None,
    }
}

pub fn lower(
    g: &GraphProto,
    opts: &ImportOptions,
    qonnx_version: i64,
    onnx_version: i64,
) -> Result<Imported, FrontendError> {
    check_supported(g)?;
    let mut l = Lowerer {
        opts,
        qonnx_version,
        onnx_version,
        vals: HashMap::new(),
        readers: HashMap::new(),
        inputs: vec![],
        layers: vec![],
        by_name: HashMap::new(),
        relaid: HashMap::new(),
        names: HashSet::new(),
        notes: vec![],
    };
    for n in &g.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *l.readers.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &g.output {
        *l.readers.entry(vname(o)).or_default() += 1;
    }
    for t in &g.initializer {
        let name = t.name.clone().unwrap_or_default();
        let v = tensor::decode(t)
            .map_err(|m| graph_err("initializer", format!("initializer `{name}` {m}")))?;
        l.vals.insert(name, Val::Const(konst(v)));
    }
    if let Some(s) = g.sparse_initializer.first() {
        let name = s
            .values
            .as_ref()
            .and_then(|v| v.name.clone())
            .unwrap_or_default();
        return Err(graph_err(
            "sparse_initializer",
            format!(
                "sparse initializer `{name}`: sparse tensors are not supported; store it dense"
            ),
        ));
    }
    // Graph inputs that are initializers too are constants (old exporters
    // list weights as inputs).
    let quant_of_input = quantizer_readers(g);
    for vi in &g.input {
        let name = vname(vi);
        if l.vals.contains_key(&name) {
            continue;
        }
        l.input(vi, quant_of_input.get(&name))?;
    }
    for n in &g.node {
        l.node(n)?;
    }
    let mut outputs = vec![];
    for o in &g.output {
        let name = vname(o);
        match l.vals.get(&name).cloned() {
            Some(Val::Dyn(d)) => {
                // outputs are read in ONNX's order
                let d = l.in_layout(&d, false);
                let d = match d.real {
                    Some(_) => l.materialize(&d)?,
                    None => d,
                };
                if outputs.contains(&Value::String(d.layer.clone())) {
                    return Err(graph_err(
                        "output",
                        format!("graph output `{name}` is the same value as another output"),
                    ));
                }
                outputs.push(Value::String(d.layer.clone()))
            }
            Some(Val::Const(_)) => {
                return Err(graph_err(
                    "output",
                    format!(
                        "graph output `{name}` is a constant; neurtl builds no hardware for it"
                    ),
                ));
            }
            None => {
                return Err(graph_err(
                    "output",
                    format!("graph output `{name}` is made by no node"),
                ));
            }
        }
    }
    if outputs.is_empty() {
        return Err(graph_err("output", "the graph has no outputs"));
    }
    let name = opts
        .name
        .clone()
        .or_else(|| g.name.clone().filter(|s| !s.is_empty()))
        .map(|s| sanitize(&s))
        .unwrap_or_else(|| "model".into());
    let mut layers = vec![];
    for layer in l.layers {
        layers.push(Value::Object(match layer {
            Layer::Other(mut m) => {
                default_table_type(&mut m, &mut l.notes);
                m
            }
            Layer::Dense(mut m, d) => {
                finish_dense(&mut m, d, opts, &mut l.notes)?;
                m
            }
        }));
    }
    let model = json!({
        "format": "neurtl-model",
        "version": 1,
        "name": name,
        "inputs": l.inputs,
        "layers": layers,
        "outputs": outputs,
    });
    Ok(Imported {
        model,
        notes: l.notes,
    })
}

/// Every node outside the supported set, all at once.
fn check_supported(g: &GraphProto) -> Result<(), FrontendError> {
    let mut bad = vec![];
    for n in &g.node {
        let op = n.op_type.as_deref().unwrap_or("");
        let dom = n.domain.as_deref().unwrap_or("");
        let ok = if dom.is_empty() || dom == "ai.onnx" {
            ONNX_OPS.contains(&op)
        } else {
            QONNX_DOMAINS.contains(&dom) && QONNX_OPS.contains(&op)
        };
        if !ok {
            let shown = if dom.is_empty() {
                op.to_string()
            } else {
                format!("{dom}.{op}")
            };
            let name = n
                .name
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(n.output.first().map(String::as_str).unwrap_or("<unnamed>"));
            bad.push(format!("{shown} `{name}`"));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(FrontendError {
        layer: None,
        field: None,
        message: format!(
            "{} unsupported node{}: {}",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            bad.join(", ")
        ),
        help: Some(format!(
            "neurtl imports {} and the QONNX ops {}",
            ONNX_OPS.join(", "),
            QONNX_OPS.join(", ")
        )),
    })
}

/// For each graph input read only by one `Quant`/`BipolarQuant`, that node:
/// the quantizer then becomes the input's type instead of a layer.
fn quantizer_readers(g: &GraphProto) -> HashMap<String, NodeProto> {
    let mut by_input: HashMap<String, Vec<&NodeProto>> = HashMap::new();
    for n in &g.node {
        for i in &n.input {
            by_input.entry(i.clone()).or_default().push(n);
        }
    }
    let outs: HashSet<String> = g.output.iter().map(vname).collect();
    let mut r = HashMap::new();
    for vi in &g.input {
        let name = vname(vi);
        if let Some([n]) = by_input.get(&name).map(Vec::as_slice) {
            let op = n.op_type.as_deref().unwrap_or("");
            if (op == "Quant" || op == "BipolarQuant")
                && n.input.first() == Some(&name)
                && !outs.contains(&name)
            {
                r.insert(name, (*n).clone());
            }
        }
    }
    r
}

fn vname(v: &ValueInfoProto) -> String {
    v.name.clone().unwrap_or_default()
}

fn konst(t: Tensor) -> Konst {
    Konst {
        t,
        quantized: false,
        bipolar: false,
    }
}

/// A name usable as a neurtl layer name (and, after the back end's own
/// escaping, in Verilog): exporters write names like `/fc1/Gemm`.
fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let t = t.trim_matches('_').to_string();
    if t.is_empty() { "v".into() } else { t }
}

fn attr<'n>(n: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    n.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> Result<i64, FrontendError> {
    match attr(n, name) {
        None => Ok(default),
        Some(a) => {
            a.i.ok_or_else(|| node_err(n, Some(name), "must be an integer attribute"))
        }
    }
}

fn attr_f(n: &NodeProto, name: &str, default: f64) -> Result<f64, FrontendError> {
    match attr(n, name) {
        None => Ok(default),
        Some(a) => match (a.f, a.i) {
            (Some(f), _) => Ok(f as f64),
            (None, Some(i)) => Ok(i as f64),
            _ => Err(node_err(n, Some(name), "must be a float attribute")),
        },
    }
}

fn attr_s(n: &NodeProto, name: &str, default: &str) -> Result<String, FrontendError> {
    match attr(n, name) {
        None => Ok(default.to_string()),
        Some(a) => {
            a.s.as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .ok_or_else(|| node_err(n, Some(name), "must be a string attribute"))
        }
    }
}

/// `v = 2^k` exactly: `Some(k)`.
fn log2_exact(v: f64) -> Option<i32> {
    if v <= 0.0 || !v.is_finite() {
        return None;
    }
    let (m, e) = f64_parts(v);
    (m.count_ones() == 1).then(|| e + m.trailing_zeros() as i32)
}

/// The narrowest type holding every value exactly, if one of at most
/// `max_bits` bits does.
fn exact_type(values: &[f64], max_bits: u32) -> Option<FixedType> {
    let mut frac = i32::MIN;
    for &v in values.iter().filter(|v| **v != 0.0) {
        let (m, e) = f64_parts(v);
        frac = frac.max(-(e + m.trailing_zeros() as i32));
    }
    if frac == i32::MIN {
        // all zero
        return Some(FixedType::plain(Format::new(false, 1, 0)));
    }
    let mut lo = 0i128;
    let mut hi = 0i128;
    for &v in values {
        let (m, e) = f64_parts(v);
        let shift = e + frac;
        if shift > 126 - 53 {
            return None;
        }
        // shift ≥ −(trailing zeros of m), so both directions are exact
        let r = if shift >= 0 { m << shift } else { m >> -shift };
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let f = Format::for_interval(lo, hi, frac)?;
    (f.width <= max_bits).then(|| FixedType::plain(f))
}

/// A table op that no `Quant` gave a type gets 16 bits on the range its
/// function can reach (or a generous one), and a note saying so.
fn default_table_type(m: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let op = m["op"].as_str().unwrap_or("").to_string();
    if !spatial::is_table(&op) || m.contains_key("output_type") {
        return;
    }
    let ty = match op.as_str() {
        "sigmoid" | "softmax" => "ufixed<16,0,rnd,sat>",
        "tanh" => "fixed<16,1,rnd,sat>",
        _ => "fixed<16,8,rnd,sat>",
    };
    notes.push(format!(
        "layer `{}`: no Quant follows this {op}, so its table entries are typed {ty}; put a Quant after it to choose",
        m["name"].as_str().unwrap_or("")
    ));
    m.insert("output_type".into(), json!(ty));
}

/// `bits`-bit type for values that need rounding: nearest even, saturating.
fn rounded_type(values: &[f64], bits: u32) -> FixedType {
    let max = values.iter().fold(0f64, |m, v| m.max(v.abs()));
    let signed = values.iter().any(|v| *v < 0.0);
    // integer bits so the largest magnitude fits (sign included)
    // (bounded: callers pass finite values, and a finite f64 is below 2^1024)
    let mut int = if max == 0.0 {
        1
    } else {
        (max.log2().floor() as i32).clamp(-1100, 1100) + 1
    };
    if signed {
        int += 1;
    }
    FixedType::new(
        Format::new(signed, bits, bits as i32 - int),
        QuantMode::RndConv,
        OverflowMode::Sat,
    )
}

/// A weight matrix as model JSON: `[units][inputs]`, or the sparse
/// form when fewer than half the weights are non-zero (a masked layer),
/// so zeros cost nothing from the model file on.
fn matrix_json(rows: &[Vec<f64>]) -> Value {
    let inputs = rows.first().map_or(0, Vec::len);
    let nonzero = rows.iter().flatten().filter(|w| **w != 0.0).count();
    if inputs == 0 || 2 * nonzero >= rows.len() * inputs {
        return json!(rows);
    }
    crate::frontend::json::sparse_form(rows)
}

/// `row` (row-major) as nested lists of extents `dims`.
fn nest(row: &[f64], dims: &[usize]) -> Value {
    match dims {
        [] | [_] => json!(row),
        [_, rest @ ..] => {
            let inner: usize = rest.iter().product();
            Value::Array(row.chunks(inner).map(|c| nest(c, rest)).collect())
        }
    }
}

/// How wide the constants of a real scale multiplied out may be.
const WIDE_BITS: u32 = 62;

fn finish_dense(
    m: &mut Map<String, Value>,
    d: DenseLayer,
    opts: &ImportOptions,
    notes: &mut Vec<String>,
) -> Result<(), FrontendError> {
    let lname = m["name"].as_str().unwrap_or("").to_string();
    let flat: Vec<f64> = d.weights.iter().flatten().copied().collect();
    let bias = d.bias.iter().flatten();
    if let Some(v) = flat.iter().chain(bias).find(|v| !v.is_finite()) {
        return Err(FrontendError {
            layer: Some(lname),
            field: Some("weights".into()),
            message: format!("a weight or bias is {v}, after the scaling folded into it"),
            help: None,
        });
    }
    let too_wide = |what: &str| FrontendError {
        layer: Some(lname.clone()),
        field: Some(what.into()),
        message: format!(
            "a real scale multiplied out needs {what} of more than {WIDE_BITS} bits to be exact"
        ),
        help: None,
    };
    let wty = if d.bipolar {
        "bipolar".to_string()
    } else if d.wide {
        exact_type(&flat, WIDE_BITS)
            .ok_or_else(|| too_wide("weights"))?
            .to_string()
    } else {
        match exact_type(&flat, opts.weight_bits.max(24)) {
            Some(t) if d.quantized || t.format.width <= opts.weight_bits => t.to_string(),
            Some(_) | None if d.quantized => {
                return Err(FrontendError {
                    layer: Some(lname),
                    field: Some("weights".into()),
                    message: "the quantized weights, after the scaling folded into them, need more than 24 bits to be exact".into(),
                    help: None,
                });
            }
            _ => {
                let t = rounded_type(&flat, opts.weight_bits);
                notes.push(format!(
                    "layer `{lname}`: float weights rounded to {t} (more than {} bits to be exact)",
                    opts.weight_bits
                ));
                t.to_string()
            }
        }
    };
    match &d.kernel {
        None => {
            m.insert("units".into(), json!(d.weights.len()));
            m.insert("weights".into(), matrix_json(&d.weights));
        }
        Some(dims) => {
            let nested: Vec<Value> = d.weights.iter().map(|r| nest(r, dims)).collect();
            m.insert("filters".into(), json!(d.weights.len()));
            m.insert("weights".into(), Value::Array(nested));
        }
    }
    m.insert("weight_type".into(), json!(wty));
    if let Some(b) = d.bias.filter(|b| b.iter().any(|v| *v != 0.0)) {
        let bits = if d.wide {
            WIDE_BITS
        } else {
            opts.weight_bits + 8
        };
        let bty = match exact_type(&b, bits) {
            Some(t) => t,
            None if d.wide => return Err(too_wide("bias")),
            None => {
                let t = rounded_type(&b, opts.weight_bits + 8);
                notes.push(format!("layer `{lname}`: float bias rounded to {t}"));
                t
            }
        };
        m.insert("bias".into(), json!(b));
        m.insert("bias_type".into(), json!(bty.to_string()));
    }
    Ok(())
}

impl Lowerer<'_> {
    fn unique(&mut self, base: &str) -> String {
        let base = sanitize(base);
        let mut name = base.clone();
        let mut k = 1;
        while !self.names.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }

    fn input(
        &mut self,
        vi: &ValueInfoProto,
        quant: Option<&NodeProto>,
    ) -> Result<(), FrontendError> {
        let name = vname(vi);
        let field = "input";
        let tt = vi
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| graph_err(field, format!("graph input `{name}` is not a tensor")))?;
        let dims = tt
            .shape
            .as_ref()
            .ok_or_else(|| {
                graph_err(
                    field,
                    format!("graph input `{name}` has no shape; neurtl needs static shapes"),
                )
            })?
            .dim
            .iter()
            .map(|d| (d.dim_value, d.dim_param.clone()))
            .collect::<Vec<_>>();
        // The first dimension of a rank ≥ 2 input is the batch: symbolic
        // or 1. Every other dimension must be a number.
        let mut shape = vec![];
        for (i, (v, p)) in dims.iter().enumerate() {
            let batch = i == 0 && dims.len() >= 2;
            match (v, p) {
                (Some(v), _) if batch && *v == 1 => {}
                (Some(v), _) if batch => {
                    return Err(graph_err(
                        field,
                        format!(
                            "graph input `{name}` has batch dimension {v}; neurtl describes one sample, so the batch must be 1 or symbolic"
                        ),
                    ));
                }
                (None, _) if batch => {}
                (Some(v), _) if *v > 0 => shape.push(*v as usize),
                (_, p) => {
                    return Err(graph_err(
                        field,
                        format!(
                            "graph input `{name}` dimension {i} is {}; only the batch dimension may be dynamic",
                            match p {
                                Some(p) if !p.is_empty() => format!("the symbol `{p}`"),
                                _ => "unknown".to_string(),
                            }
                        ),
                    ));
                }
            }
        }
        if shape.is_empty() {
            shape.push(1);
        }
        let lname = self.unique(&name);
        let mut real = None;
        let mut port_quant = None;
        let ty = match quant {
            None => self.opts.input_type.to_string(),
            Some(q) if !self.is_sign_quant(q) && self.quant_on_real_scale(q)? => {
                let (t, pq, r) = self.input_on_real_scale(q)?;
                self.notes.push(format!(
                    "input `{name}`: Quant node `{}` has a real scale; the port carries its integer ({t}) and real samples are quantized exactly by the host",
                    q.name.as_deref().unwrap_or("")
                ));
                port_quant = Some(pq);
                real = Some(Box::new(r));
                t
            }
            Some(q) => {
                // The quantizer becomes the port's type; its output is the
                // input itself.
                let t = if self.is_sign_quant(q) {
                    let s = self.scalar_input(q, 1, "scale")?;
                    if s != 1.0 {
                        return Err(node_err(
                            q,
                            Some("scale"),
                            format!("BipolarQuant on a graph input needs scale 1, got {s}"),
                        ));
                    }
                    "bipolar".to_string()
                } else {
                    self.quant_type(q)?.to_string()
                };
                self.notes.push(format!(
                    "input `{name}`: {} node `{}` absorbed as the input type {t}",
                    q.op_type.as_deref().unwrap_or(""),
                    q.name.as_deref().unwrap_or("")
                ));
                t
            }
        };
        let mut port = json!({"name": lname, "shape": shape, "type": ty});
        if let Some(q) = port_quant {
            port["quant"] = q;
        }
        self.inputs.push(port);
        let d = Dyn {
            layer: lname,
            shape,
            cl: false,
            real,
        };
        // (a quantizer without an output is reported when its node is read)
        if let Some(o) = quant.and_then(|q| q.output.first()) {
            self.vals.insert(o.clone(), Val::Dyn(d.clone()));
        }
        self.vals.insert(name, Val::Dyn(d));
        Ok(())
    }

    fn get(&self, n: &NodeProto, i: usize) -> Result<&Val, FrontendError> {
        let name = n
            .input
            .get(i)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| node_err(n, Some(&format!("input[{i}]")), "missing input"))?;
        self.vals.get(name).ok_or_else(|| {
            node_err(
                n,
                Some(&format!("input[{i}]")),
                format!("reads `{name}`, which is not a graph input, an initializer or the output of an earlier node"),
            )
        })
    }

    fn konst(&self, n: &NodeProto, i: usize, what: &str) -> Result<Konst, FrontendError> {
        match self.get(n, i)? {
            Val::Const(k) => Ok(k.clone()),
            Val::Dyn(_) => Err(node_err(
                n,
                Some(&format!("input[{i}]")),
                format!("{what} must be a constant (an initializer), not a computed tensor"),
            )),
        }
    }

    /// A computed input in ONNX's axis order, for the ops that index it.
    fn dynamic(&mut self, n: &NodeProto, i: usize) -> Result<Dyn, FrontendError> {
        let x = self.dyn_any(n, i)?;
        Ok(self.in_layout(&x, false))
    }

    /// A computed input in whichever order its layer holds it, for the
    /// ops that work in either.
    fn dyn_any(&self, n: &NodeProto, i: usize) -> Result<Dyn, FrontendError> {
        let d = self.dyn_real(n, i)?;
        match d.real {
            Some(_) => Err(Self::real_refused(n, i)),
            None => Ok(d),
        }
    }

    fn scalar_input(&self, n: &NodeProto, i: usize, what: &str) -> Result<f64, FrontendError> {
        let k = self.konst(n, i, what)?;
        k.t.as_scalar().ok_or_else(|| {
            node_err(
                n,
                Some(what),
                format!("must be a single value, got shape {:?}", k.t.shape),
            )
        })
    }

    fn set_out(&mut self, n: &NodeProto, v: Val) {
        if let Some(o) = n.output.first() {
            self.vals.insert(o.clone(), v);
        }
    }

    /// `x` held channels-last (`cl`) or in ONNX order, through a transpose
    /// made at most once per layer and direction. A vector is the same in
    /// both.
    fn in_layout(&mut self, x: &Dyn, cl: bool) -> Dyn {
        let r = x.shape.len();
        if x.cl == cl || r < 2 {
            return Dyn { cl, ..x.clone() };
        }
        let key = (x.layer.clone(), cl);
        if let Some(d) = self.relaid.get(&key) {
            return d.clone();
        }
        // axis i of the result is axis perm[i] of the operand
        let perm: Vec<usize> = if cl {
            (1..r).chain([0]).collect()
        } else {
            [r - 1].into_iter().chain(0..r - 1).collect()
        };
        let name = self.unique(&format!("{}_{}", x.layer, if cl { "cl" } else { "cf" }));
        let mut f = Map::new();
        f.insert("perm".into(), json!(perm));
        self.add_layer(&name, "transpose", &[x], f, None);
        let d = Dyn {
            layer: name,
            shape: x.shape.clone(),
            cl,
            real: x.real.clone(),
        };
        self.relaid.insert(key, d.clone());
        d
    }

    /// Add a layer reading `inputs` and make it the node's output, of
    /// `shape` (ONNX order) and held channels-last when `cl`.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        n: &NodeProto,
        op: &str,
        inputs: &[&Dyn],
        shape: Vec<usize>,
        cl: bool,
        fields: Map<String, Value>,
        dense: Option<DenseLayer>,
    ) -> String {
        let base = n
            .name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| n.output.first().cloned())
            .unwrap_or_else(|| op.to_string());
        let name = self.unique(&base);
        self.add_layer(&name, op, inputs, fields, dense);
        self.set_out(
            n,
            Val::Dyn(Dyn {
                layer: name.clone(),
                shape,
                cl,
                real: None,
            }),
        );
        name
    }

    fn add_layer(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&Dyn],
        fields: Map<String, Value>,
        dense: Option<DenseLayer>,
    ) {
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("op".into(), json!(op));
        if inputs.len() == 1 && op != "add" && op != "concat" {
            m.insert("input".into(), json!(inputs[0].layer));
        } else {
            let v: Vec<&str> = inputs.iter().map(|d| d.layer.as_str()).collect();
            m.insert("inputs".into(), json!(v));
        }
        m.extend(fields);
        self.by_name.insert(name.to_string(), self.layers.len());
        self.layers.push(match dense {
            Some(d) => Layer::Dense(m, d),
            None => Layer::Other(m),
        });
    }

    /// The dense layer that makes `d`, if nothing else reads it, so a bias
    /// or scale can fold into it.
    fn sole_dense(&mut self, n: &NodeProto, i: usize, d: &Dyn) -> Option<&mut DenseLayer> {
        if self.readers.get(&n.input[i]).copied() != Some(1) {
            return None;
        }
        match self.by_name.get(&d.layer).map(|&k| &mut self.layers[k]) {
            Some(Layer::Dense(m, dl)) if !m.contains_key("output_type") => Some(dl),
            _ => None,
        }
    }

    fn node(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let op = n.op_type.clone().unwrap_or_default();
        if n.output.is_empty() {
            return Err(node_err(n, Some("output"), "the node has no output"));
        }
        // An input quantizer already became the input's type.
        if matches!(self.vals.get(&n.output[0]), Some(Val::Dyn(_)))
            && (op == "Quant" || op == "BipolarQuant")
        {
            return Ok(());
        }
        match op.as_str() {
            "Constant" => {
                let a = attr(n, "value").and_then(|a| a.t.as_ref()).ok_or_else(|| {
                    node_err(n, Some("value"), "a Constant needs a tensor `value`")
                })?;
                let t = tensor::decode(a).map_err(|m| node_err(n, Some("value"), m))?;
                self.set_out(n, Val::Const(konst(t)));
            }
            "Identity" | "Dropout" => {
                let v = self.get(n, 0)?.clone();
                self.set_out(n, v);
            }
            "Gemm" => self.gemm(n)?,
            "MatMul" => {
                let x = self.dyn_real(n, 0)?;
                let x = self.in_layout(&x, false);
                let w = self.konst(n, 1, "the weight matrix")?;
                if w.t.shape.len() != 2 {
                    return Err(node_err(
                        n,
                        Some("input[1]"),
                        format!(
                            "the weights must be a 2-D matrix, got shape {:?}",
                            w.t.shape
                        ),
                    ));
                }
                self.dense(n, &x, &w, &w.t.transposed(), None)?;
            }
            "Add" => self.add(n)?,
            "Mul" => self.mul(n)?,
            "BatchNormalization" => {
                // channels are ONNX axis 1, the first here
                let x = self.dyn_any(n, 0)?;
                let c = *x.shape.first().unwrap_or(&1);
                let mut f = Map::new();
                for (i, key) in [(1, "gamma"), (2, "beta"), (3, "mean"), (4, "var")] {
                    let k = self.konst(n, i, key)?;
                    if k.t.data.len() != c {
                        return Err(node_err(
                            n,
                            Some(&format!("input[{i}]")),
                            format!("{key} has {} values for {c} channels", k.t.data.len()),
                        ));
                    }
                    f.insert(key.into(), json!(k.t.data));
                }
                let eps = attr_f(n, "epsilon", 1e-5)?;
                f.insert("epsilon".into(), json!(eps));
                // A batchnorm after real-valued weights folds into them
                // here, so the weights are typed for what they finally
                // are. After bipolar weights it stays: the streamline pass
                // turns dense → batchnorm → sign into thresholds.
                if let Some(dl) = self.sole_dense(n, 0, &x).filter(|d| !d.bipolar) {
                    let col = |k: &str| -> Vec<f64> {
                        f[k].as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_f64().unwrap())
                            .collect()
                    };
                    let (g, b, m, v) = (col("gamma"), col("beta"), col("mean"), col("var"));
                    let bias = dl.bias.get_or_insert_with(|| vec![0.0; c]);
                    for j in 0..c {
                        let s = g[j] / (v[j] + eps).sqrt();
                        dl.weights[j].iter_mut().for_each(|w| *w *= s);
                        bias[j] = (bias[j] - m[j]) * s + b[j];
                    }
                    dl.quantized = false;
                    self.notes.push(format!(
                        "{}: folded into the weights before them",
                        node_label(n)
                    ));
                    self.set_out(n, Val::Dyn(x));
                } else {
                    // neurtl's batchnorm scales the last axis
                    let x = self.in_layout(&x, true);
                    self.push(n, "batchnorm", &[&x], x.shape.clone(), true, f, None);
                }
            }
            "Relu" => match self.dyn_real(n, 0)? {
                x if x.real.is_some() => self.real_relu(n, &x),
                _ => self.unary(n, "relu", Map::new())?,
            },
            "Sign" => self.unary(n, "sign", Map::new())?,
            "LeakyRelu" => {
                let f = slope_fields("alpha", json!(attr_f(n, "alpha", 0.01)?));
                self.unary(n, "leaky_relu", f)?;
            }
            "Clip" => self.clip(n)?,
            "Flatten" | "Reshape" => self.reshape(n)?,
            "Transpose" => self.transpose(n)?,
            "Conv" => self.conv(n)?,
            "MaxPool" | "GlobalMaxPool" => self.pool(n, true)?,
            "AveragePool" | "GlobalAveragePool" => self.pool(n, false)?,
            "HardSigmoid" => self.table(n, "hard_sigmoid")?,
            "Softmax" => self.softmax(n)?,
            "Slice" => self.slice(n)?,
            "PRelu" => self.prelu(n)?,
            "Concat" => {
                let mut ins = vec![];
                for i in 0..n.input.len() {
                    ins.push(self.dynamic(n, i)?);
                }
                let axis = attr_i(n, "axis", 1)?;
                if ins.iter().any(|d| d.shape.len() != 1) || !(axis == 1 || axis == -1) {
                    return Err(node_err(
                        n,
                        Some("axis"),
                        "neurtl concatenates vectors: the inputs must be [batch, features] and the axis 1",
                    ));
                }
                let total = ins.iter().map(|d| d.shape[0]).sum();
                let refs: Vec<&Dyn> = ins.iter().collect();
                self.push(n, "concat", &refs, vec![total], false, Map::new(), None);
            }
            "ArgMax" => {
                let x = self.dynamic(n, 0)?;
                let axis = attr_i(n, "axis", 0)?;
                if x.shape.len() != 1 || !(axis == 1 || axis == -1) {
                    return Err(node_err(
                        n,
                        Some("axis"),
                        format!(
                            "neurtl takes the argmax over the features (axis 1 of [batch, features]); got axis {axis}"
                        ),
                    ));
                }
                if attr_i(n, "select_last_index", 0)? != 0 {
                    return Err(node_err(
                        n,
                        Some("select_last_index"),
                        "neurtl's argmax returns the first of equal maxima; select_last_index must be 0",
                    ));
                }
                self.push(n, "argmax", &[&x], vec![1], false, Map::new(), None);
            }
            "Quant" => self.quant(n)?,
            "BipolarQuant" => self.bipolar_quant(n)?,
            "Trunc" => self.trunc(n)?,
            "MultiThreshold" => self.multithreshold(n)?,
            other => match spatial::table_op(other) {
                Some(t) => self.table(n, t)?,
                None => unreachable!("{other} passed check_supported"),
            },
        }
        Ok(())
    }

    fn unary(
        &mut self,
        n: &NodeProto,
        op: &str,
        f: Map<String, Value>,
    ) -> Result<(), FrontendError> {
        let x = self.dyn_any(n, 0)?;
        self.push(n, op, &[&x], x.shape.clone(), x.cl, f, None);
        Ok(())
    }

    /// A dense layer `y = W·x (+ b)` with `w_rows` as `[units][inputs]`.
    fn dense(
        &mut self,
        n: &NodeProto,
        x: &Dyn,
        w: &Konst,
        w_rows: &Tensor,
        bias: Option<Vec<f64>>,
    ) -> Result<(), FrontendError> {
        let k: usize = x.shape.iter().product();
        if x.shape.len() != 1 || w_rows.shape[1] != k {
            return Err(node_err(
                n,
                Some("input[1]"),
                format!(
                    "the weights take {} inputs per output but the data input has shape {:?}",
                    w_rows.shape[1], x.shape
                ),
            ));
        }
        if x.real.is_some() {
            return self.real_dense(n, x, w_rows.rows(), bias);
        }
        let units = w_rows.shape[0];
        let d = DenseLayer {
            weights: w_rows.rows(),
            kernel: None,
            bias,
            quantized: w.quantized,
            bipolar: w.bipolar,
            wide: false,
        };
        self.push(n, "dense", &[x], vec![units], false, Map::new(), Some(d));
        Ok(())
    }

    fn gemm(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dyn_real(n, 0)?;
        let x = self.in_layout(&x, false);
        if attr_i(n, "transA", 0)? != 0 {
            return Err(node_err(
                n,
                Some("transA"),
                "transA = 1 transposes the data, which neurtl does not do",
            ));
        }
        let b = self.konst(n, 1, "the weight matrix B")?;
        if b.t.shape.len() != 2 {
            return Err(node_err(
                n,
                Some("input[1]"),
                format!("B must be a 2-D matrix, got shape {:?}", b.t.shape),
            ));
        }
        let alpha = attr_f(n, "alpha", 1.0)?;
        let beta = attr_f(n, "beta", 1.0)?;
        // Y = alpha·A·B' + beta·C; rows of the weight matrix are the
        // columns of B' = B^T when transB.
        let mut w = if attr_i(n, "transB", 0)? != 0 {
            b.t.clone()
        } else {
            b.t.transposed()
        };
        let mut wk = b.clone();
        if alpha != 1.0 {
            w.data.iter_mut().for_each(|v| *v *= alpha);
            wk.bipolar = false;
        }
        let units = w.shape[0];
        let bias = match n.input.get(2).filter(|s| !s.is_empty()) {
            None => None,
            Some(_) => {
                let c = self.konst(n, 2, "the bias C")?;
                Some(
                    broadcast(n, &c.t, units, "input[2]")?
                        .iter()
                        .map(|v| v * beta)
                        .collect(),
                )
            }
        };
        self.dense(n, &x, &wk, &w, bias)
    }

    fn add(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let a = self.get(n, 0)?.clone();
        let b = self.get(n, 1)?.clone();
        match (a, b) {
            (Val::Dyn(x), Val::Dyn(y)) if x.real.is_some() || y.real.is_some() => {
                return Err(Self::real_refused(n, usize::from(x.real.is_none())));
            }
            (Val::Dyn(x), Val::Dyn(y)) => {
                // both in one order: channels-last if either is
                let cl = x.cl || y.cl;
                let (x, y) = (self.in_layout(&x, cl), self.in_layout(&y, cl));
                if x.shape != y.shape {
                    return Err(node_err(
                        n,
                        None,
                        format!(
                            "adds shapes {:?} and {:?}; neurtl adds equal shapes only",
                            x.shape, y.shape
                        ),
                    ));
                }
                self.push(n, "add", &[&x, &y], x.shape.clone(), cl, Map::new(), None);
            }
            (Val::Dyn(x), Val::Const(c)) | (Val::Const(c), Val::Dyn(x)) => {
                let i = usize::from(matches!(self.get(n, 0)?, Val::Const(_)));
                let v = per_row(n, &c.t, &x, "bias")?;
                if x.real.is_some() {
                    return self.real_add(n, &x, &v);
                }
                let units = v.len();
                let Some(dl) = self.sole_dense(n, i, &x) else {
                    return Err(node_err(
                        n,
                        None,
                        "adds a constant to a value that is not the output of a MatMul/Gemm read only here; neurtl folds a constant Add only as a dense layer's bias",
                    ));
                };
                let bias = dl.bias.get_or_insert_with(|| vec![0.0; units]);
                for (b, v) in bias.iter_mut().zip(v) {
                    *b += v;
                }
                self.set_out(n, Val::Dyn(x));
            }
            (Val::Const(p), Val::Const(q)) => {
                let t = elementwise(n, &p.t, &q.t, |a, b| a + b)?;
                self.set_out(n, Val::Const(konst(t)));
            }
        }
        Ok(())
    }

    fn mul(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let a = self.get(n, 0)?.clone();
        let b = self.get(n, 1)?.clone();
        match (a, b) {
            (Val::Dyn(_), Val::Dyn(_)) => Err(node_err(
                n,
                None,
                "multiplies two computed tensors; neurtl multiplies by constants only",
            )),
            (Val::Const(p), Val::Const(q)) => {
                let t = elementwise(n, &p.t, &q.t, |a, b| a * b)?;
                self.set_out(n, Val::Const(konst(t)));
                Ok(())
            }
            (Val::Dyn(x), Val::Const(_)) | (Val::Const(_), Val::Dyn(x)) if x.real.is_some() => Err(
                Self::real_refused(n, usize::from(matches!(self.get(n, 0)?, Val::Const(_)))),
            ),
            (Val::Dyn(x), Val::Const(c)) | (Val::Const(c), Val::Dyn(x)) => {
                let i = usize::from(matches!(self.get(n, 0)?, Val::Const(_)));
                if let Some(dl) = self.sole_dense(n, i, &x) {
                    let s = per_row(n, &c.t, &x, "scale")?;
                    // Scale the producing layer's rows and bias.
                    for (row, f) in dl.weights.iter_mut().zip(&s) {
                        row.iter_mut().for_each(|w| *w *= f);
                    }
                    if let Some(b) = dl.bias.as_mut() {
                        b.iter_mut().zip(&s).for_each(|(b, f)| *b *= f);
                    }
                    dl.bipolar = dl.bipolar && s.iter().all(|f| *f == 1.0);
                    self.set_out(n, Val::Dyn(x));
                    return Ok(());
                }
                if x.shape.len() != 1 {
                    return Err(node_err(
                        n,
                        None,
                        "Mul by a constant needs a [batch, features] input, or the output of a Conv read only here",
                    ));
                }
                let s = broadcast(n, &c.t, x.shape[0], "scale")?;
                self.diagonal(n, &x, &s, c.quantized);
                Ok(())
            }
        }
    }

    fn clip(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        // opset ≥ 11: min and max are optional inputs; before, attributes.
        let bound = |this: &Self, i: usize, name: &str| -> Result<Option<f64>, FrontendError> {
            if n.input.get(i).is_some_and(|s| !s.is_empty()) {
                return this.scalar_input(n, i, name).map(Some);
            }
            match attr(n, name) {
                Some(_) => attr_f(n, name, 0.0).map(Some),
                None => Ok(None),
            }
        };
        let lo = bound(self, 1, "min")?;
        let hi = bound(self, 2, "max")?;
        let op = match (lo, hi) {
            (Some(l), Some(h)) if l == -1.0 && h == 1.0 => "hard_tanh",
            (Some(0.0), None) => "relu",
            (Some(l), Some(h)) if l == 0.0 && h >= f32::MAX as f64 => "relu",
            _ => {
                return Err(node_err(
                    n,
                    Some("min"),
                    format!(
                        "Clip to [{}, {}]: neurtl lowers Clip to [-1, 1] (hard_tanh) and [0, +inf) (relu); other bounds can be expressed with a Quant node's saturation",
                        lo.map_or("-inf".into(), |v| v.to_string()),
                        hi.map_or("+inf".into(), |v| v.to_string())
                    ),
                ));
            }
        };
        self.unary(n, op, Map::new())
    }

    fn reshape(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dynamic(n, 0)?;
        let total: usize = x.shape.iter().product();
        if n.op_type.as_deref() == Some("Flatten") {
            let axis = attr_i(n, "axis", 1)?;
            if axis != 1 {
                return Err(node_err(
                    n,
                    Some("axis"),
                    format!(
                        "Flatten with axis {axis} would mix samples of the batch; axis must be 1"
                    ),
                ));
            }
        } else {
            let s = self.konst(n, 1, "the target shape")?;
            let dims: Vec<i64> = s.t.data.iter().map(|&v| v as i64).collect();
            if let Some(shape) = self.nd_shape(n, &x, &dims)? {
                self.push(
                    n,
                    "reshape",
                    &[&x],
                    shape.clone(),
                    false,
                    reshape_fields(&shape),
                    None,
                );
                return Ok(());
            }
        }
        if x.shape.len() == 1 {
            self.set_out(n, Val::Dyn(x));
        } else {
            self.push(n, "flatten", &[&x], vec![total], false, Map::new(), None);
        }
        Ok(())
    }

    /// The shape, without the batch, a Reshape to `dims` gives `x`: `None`
    /// for the flat forms `[-1]`, `[F]`, `[N, -1]`, `[N, F]` (a flatten);
    /// the first dimension is the batch (−1, 0 or 1), a 0 copies the
    /// input's dimension, one −1 takes what is left.
    fn nd_shape(
        &self,
        n: &NodeProto,
        x: &Dyn,
        dims: &[i64],
    ) -> Result<Option<Vec<usize>>, FrontendError> {
        let total: usize = x.shape.iter().product();
        let bad =
            |why: String| node_err(n, Some("input[1]"), format!("Reshape to {dims:?}: {why}"));
        if dims.iter().filter(|&&d| d == -1).count() > 1 || dims.iter().any(|&d| d < -1) {
            return Err(bad("at most one −1 and no other negative dimension".into()));
        }
        if dims.iter().any(|&d| d > 1 << 20) {
            return Err(bad("a dimension above 2^20".into()));
        }
        match dims {
            [d] if *d == -1 || *d as usize == total => return Ok(None),
            [_] => return Err(bad(format!("the input has {total} elements per sample"))),
            [] => return Err(bad("a shape needs the batch dimension".into())),
            _ => {}
        }
        if !matches!(dims[0], -1..=1) {
            return Err(bad(
                "the first dimension is the batch, which must stay 1 (or −1 or 0)".into(),
            ));
        }
        let rest: Vec<Option<usize>> = dims[1..]
            .iter()
            .enumerate()
            .map(|(i, &d)| match d {
                -1 => Ok(None),
                0 => x.shape.get(i).copied().map(Some).ok_or_else(|| {
                    bad(format!(
                        "0 copies input axis {}, which does not exist",
                        i + 1
                    ))
                }),
                d => Ok(Some(d as usize)),
            })
            .collect::<Result<_, _>>()?;
        let known = rest
            .iter()
            .flatten()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| bad("more elements than a sample can hold".into()))?;
        let fill = match rest.iter().filter(|d| d.is_none()).count() {
            0 if known == total => 0,
            1 if known > 0 && total.is_multiple_of(known) => total / known,
            _ => return Err(bad(format!("cannot hold the {total} elements of a sample"))),
        };
        let shape: Vec<usize> = rest.iter().map(|d| d.unwrap_or(fill)).collect();
        Ok((shape.len() > 1).then_some(shape))
    }

    /// `Slice` on one axis other than the batch, step 1, with ONNX's
    /// clamping of negative and out-of-range bounds.
    fn slice(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dynamic(n, 0)?;
        let ints = |me: &Self, i: usize, what: &str| -> Result<Vec<i64>, FrontendError> {
            Ok(me
                .konst(n, i, what)?
                .t
                .data
                .iter()
                .map(|&v| v as i64)
                .collect())
        };
        let present = |i: usize| n.input.get(i).is_some_and(|s| !s.is_empty());
        let (starts, ends) = (ints(self, 1, "starts")?, ints(self, 2, "ends")?);
        let axes = if present(3) {
            ints(self, 3, "axes")?
        } else {
            (0..starts.len() as i64).collect()
        };
        let steps = if present(4) {
            ints(self, 4, "steps")?
        } else {
            vec![1; starts.len()]
        };
        if starts.len() != 1 || ends.len() != 1 || axes.len() != 1 || steps.len() != 1 {
            return Err(node_err(
                n,
                Some("axes"),
                "neurtl imports a Slice of one axis; chain one Slice per axis",
            ));
        }
        if steps[0] != 1 {
            return Err(node_err(
                n,
                Some("steps"),
                format!("step {}: only step 1 is supported", steps[0]),
            ));
        }
        let rank = x.shape.len() as i64 + 1;
        let axis = if axes[0] < 0 { axes[0] + rank } else { axes[0] };
        if axis <= 0 || axis >= rank {
            return Err(node_err(
                n,
                Some("axes"),
                format!(
                    "axis {}: a Slice must keep the batch and name an axis of the {rank}-D input",
                    axes[0]
                ),
            ));
        }
        let dim = x.shape[axis as usize - 1] as i64;
        let clamp = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim) as usize;
        let (start, end) = (clamp(starts[0]), clamp(ends[0]));
        if start >= end {
            return Err(node_err(
                n,
                Some("starts"),
                format!(
                    "the range {}..{} of axis {axis} (length {dim}) is empty",
                    starts[0], ends[0]
                ),
            ));
        }
        let mut shape = x.shape.clone();
        shape[axis as usize - 1] = end - start;
        let mut f = Map::new();
        f.insert("axis".into(), json!(axis - 1));
        f.insert("start".into(), json!(start));
        f.insert("end".into(), json!(end));
        self.push(n, "slice", &[&x], shape, false, f, None);
        Ok(())
    }

    /// `PRelu`: one slope (a leaky ReLU) or one per channel of the last
    /// axis (broadcast over the others), the channels-last `prelu`.
    fn prelu(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dyn_any(n, 0)?;
        let slope = self.konst(n, 1, "the slope")?;
        // one slope per channel, [C, 1, ...]: channels-last, per last axis
        if x.shape.len() > 1
            && slope.t.data.len() > 1
            && let Ok(alpha) = per_row(n, &slope.t, &x, "slope")
        {
            let x = self.in_layout(&x, true);
            let f = slope_fields("alpha", json!(alpha));
            self.push(n, "prelu", &[&x], x.shape.clone(), true, f, None);
            return Ok(());
        }
        let x = self.in_layout(&x, false);
        let dims: Vec<usize> = slope.t.shape.clone();
        let last = *x.shape.last().expect("a shape");
        let size = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        let per_last = dims.last() == Some(&last) && size == last;
        if size != 1 && !per_last {
            return Err(node_err(
                n,
                Some("slope"),
                format!(
                    "slope of shape {dims:?}: neurtl takes one slope, or one per channel of the last axis ({last})"
                ),
            ));
        }
        let f = slope_fields("alpha", json!(slope.t.data));
        self.push(n, "prelu", &[&x], x.shape.clone(), false, f, None);
        Ok(())
    }

    /// A `Quant` node's neurtl type: `scale·(clamp(round(x/scale)))`
    /// with a power-of-two scale and zero point 0 is exactly a fixed-point
    /// cast.
    fn quant_type(&self, n: &NodeProto) -> Result<FixedType, FrontendError> {
        let scale = self.scalar_input(n, 1, "scale")?;
        let zp = self.scalar_input(n, 2, "zeropt")?;
        let bits = self.scalar_input(n, 3, "bitwidth")?;
        let signed = attr_i(n, "signed", 1)? != 0;
        let narrow = attr_i(n, "narrow", 0)? != 0;
        let mode = attr_s(n, "rounding_mode", "ROUND")?;
        let k = pow2_scale(n, "scale", scale)?;
        if zp != 0.0 {
            return Err(node_err(
                n,
                Some("zeropt"),
                format!(
                    "zero point {zp}: neurtl types have no offset, only 0 is supported on computed tensors"
                ),
            ));
        }
        if bits.fract() != 0.0 || !(1.0..=64.0).contains(&bits) || (bits < 2.0 && signed) {
            return Err(node_err(
                n,
                Some("bitwidth"),
                format!("bit width {bits} is not supported (1 to 64 bits, at least 2 when signed)"),
            ));
        }
        let w = bits as u32;
        let q = rounding(n, &mode)?;
        let o = saturation(n, signed, narrow)?;
        Ok(FixedType::new(Format::new(signed, w, -k), q, o))
    }

    /// `BipolarQuant`, or a 1-bit signed `Quant`, which QONNX defines as
    /// the same sign function.
    fn is_sign_quant(&self, n: &NodeProto) -> bool {
        match n.op_type.as_deref() {
            Some("BipolarQuant") => true,
            Some("Quant") => {
                attr_i(n, "signed", 1).is_ok_and(|s| s != 0)
                    && self.scalar_input(n, 3, "bitwidth").is_ok_and(|b| b == 1.0)
            }
            _ => false,
        }
    }

    fn quant(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        if self.is_sign_quant(n) {
            if self.scalar_input(n, 2, "zeropt")? != 0.0 {
                return Err(node_err(
                    n,
                    Some("zeropt"),
                    "a 1-bit Quant needs zero point 0",
                ));
            }
            return self.bipolar_quant(n);
        }
        match self.get(n, 0)?.clone() {
            Val::Const(c) => {
                let t = quantize_const(n, self, &c.t)?;
                self.set_out(
                    n,
                    Val::Const(Konst {
                        t,
                        quantized: true,
                        bipolar: false,
                    }),
                );
            }
            Val::Dyn(x) if self.needs_requant(n, &x)? => self.requant(n, &x)?,
            Val::Dyn(x) => {
                let ty = self.quant_type(n)?;
                self.cast_or_layer(n, &x, ty)?;
            }
        }
        Ok(())
    }

    /// Cast `x` to `ty`: as the producing layer's `output_type` when
    /// nothing else reads it, else as a `quantize` layer.
    fn cast_or_layer(
        &mut self,
        n: &NodeProto,
        x: &Dyn,
        ty: FixedType,
    ) -> Result<(), FrontendError> {
        const CASTABLE: &[&str] = &[
            "dense",
            "conv1d",
            "conv2d",
            "maxpool1d",
            "maxpool2d",
            "avgpool1d",
            "avgpool2d",
            "relu",
            "leaky_relu",
            "prelu",
            "hard_tanh",
            "hard_sigmoid",
            "add",
            "batchnorm",
            "softmax",
        ];
        if self.readers.get(&n.input[0]).copied() == Some(1)
            && let Some(&k) = self.by_name.get(&x.layer)
        {
            let m = self.layers[k].obj();
            let op = m["op"].as_str().unwrap_or("");
            if (CASTABLE.contains(&op) || spatial::is_table(op)) && !m.contains_key("output_type") {
                m.insert("output_type".into(), json!(ty.to_string()));
                self.set_out(n, Val::Dyn(x.clone()));
                return Ok(());
            }
        }
        let mut f = Map::new();
        f.insert("output_type".into(), json!(ty.to_string()));
        self.push(n, "quantize", &[x], x.shape.clone(), x.cl, f, None);
        Ok(())
    }

    fn bipolar_quant(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let scale = self.scalar_input(n, 1, "scale")?;
        match self.get(n, 0)?.clone() {
            Val::Const(c) => {
                // x ≥ 0 → +scale, else −scale (QONNX maps 0 to +1)
                let data =
                    c.t.data
                        .iter()
                        .map(|&v| if v >= 0.0 { scale } else { -scale })
                        .collect();
                self.set_out(
                    n,
                    Val::Const(Konst {
                        t: Tensor {
                            shape: c.t.shape.clone(),
                            data,
                        },
                        quantized: true,
                        bipolar: scale == 1.0,
                    }),
                );
            }
            Val::Dyn(x) if x.real.is_some() => return Err(Self::real_refused(n, 0)),
            Val::Dyn(x) => {
                if scale != 1.0 {
                    return Err(node_err(
                        n,
                        Some("scale"),
                        format!(
                            "BipolarQuant of a computed tensor needs scale 1, got {scale}; fold the scale into the next layer's weights"
                        ),
                    ));
                }
                self.push(n, "sign", &[&x], x.shape.clone(), x.cl, Map::new(), None);
            }
        }
        Ok(())
    }

    /// `Trunc` drops low bits of a value on the grid `scale`:
    /// version 1: `scale·R(round(x/scale) / 2^(in_bits − out_bits))`, no
    /// clamp; version 2: `out_scale·R(clamp(round(x/scale)·scale/out_scale))`
    /// clamped to the `out_bitwidth` range. Both are casts after the
    /// input's own rounding to its grid; the input is assumed to fit
    /// `in_bitwidth`, as the node declares (version 1 wraps otherwise).
    fn trunc(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dynamic(n, 0)?;
        let scale = self.scalar_input(n, 1, "scale")?;
        let zp = self.scalar_input(n, 2, "zeropt")?;
        let in_bits = self.scalar_input(n, 3, "in_bitwidth")?;
        let k = pow2_scale(n, "scale", scale)?;
        if zp != 0.0 {
            return Err(node_err(
                n,
                Some("zeropt"),
                format!("zero point {zp}: only 0 is supported"),
            ));
        }
        let Some(mode) = attr(n, "rounding_mode").map(|_| attr_s(n, "rounding_mode", "")) else {
            return Err(node_err(
                n,
                Some("rounding_mode"),
                "Trunc needs a rounding_mode attribute",
            ));
        };
        let q = rounding(n, &mode?)?;
        let bits = |v: f64, what: &str| -> Result<u32, FrontendError> {
            if v.fract() != 0.0 || !(1.0..=64.0).contains(&v) {
                return Err(node_err(
                    n,
                    Some(what),
                    format!("bit width {v} is not supported"),
                ));
            }
            Ok(v as u32)
        };
        let in_w = bits(in_bits, "in_bitwidth")?;
        // round(x/scale): the input onto its grid, half to even
        let grid = FixedType::new(
            Format::new(true, in_w + 1, -k),
            QuantMode::RndConv,
            OverflowMode::Wrap,
        );
        self.cast_or_layer(n, &x, grid)?;
        let Some(Val::Dyn(x)) = self.vals.get(&n.output[0]).cloned() else {
            unreachable!()
        };
        let ty = if self.qonnx_version <= 1 {
            let out_w = bits(self.scalar_input(n, 4, "out_bitwidth")?, "out_bitwidth")?;
            if out_w > in_w {
                return Err(node_err(
                    n,
                    Some("out_bitwidth"),
                    "is wider than in_bitwidth",
                ));
            }
            // x / 2^s rounded on the grid `scale`: the grid 2^s times as
            // coarse, and the value scaled back by the dense layer below.
            let s = (in_w - out_w) as i32;
            let units = x.shape.iter().product();
            self.diagonal(n, &x, &vec![2f64.powi(-s); units], true);
            FixedType::new(Format::new(true, out_w + 1, -k), q, OverflowMode::Wrap)
        } else {
            let out_scale = self.scalar_input(n, 4, "out_scale")?;
            let out_w = bits(self.scalar_input(n, 5, "out_bitwidth")?, "out_bitwidth")?;
            let ko = pow2_scale(n, "out_scale", out_scale)?;
            let signed = attr_i(n, "signed", 1)? != 0;
            let narrow = attr_i(n, "narrow", 0)? != 0;
            let o = saturation(n, signed, narrow)?;
            FixedType::new(Format::new(signed, out_w, -ko), q, o)
        };
        let Some(Val::Dyn(x)) = self.vals.get(&n.output[0]).cloned() else {
            unreachable!()
        };
        let mut f = Map::new();
        f.insert("output_type".into(), json!(ty.to_string()));
        self.push(n, "quantize", &[&x], x.shape.clone(), false, f, None);
        Ok(())
    }

    /// `x · s` elementwise as a diagonal dense layer (one constant
    /// product per element; shifts where `s` is a power of two), made
    /// `n`'s output.
    fn diagonal(&mut self, n: &NodeProto, x: &Dyn, s: &[f64], quantized: bool) {
        let units = s.len();
        let d = DenseLayer {
            weights: diagonal_rows(s),
            kernel: None,
            bias: None,
            quantized,
            bipolar: false,
            wide: false,
        };
        self.push(n, "dense", &[x], vec![units], false, Map::new(), Some(d));
    }

    fn multithreshold(&mut self, n: &NodeProto) -> Result<(), FrontendError> {
        let x = self.dynamic(n, 0)?;
        let t = self.konst(n, 1, "the thresholds")?;
        let c = *x.shape.first().unwrap_or(&1);
        if x.shape.len() != 1 {
            return Err(node_err(
                n,
                Some("input[0]"),
                format!(
                    "thresholds apply to [batch, channels] data here; got shape {:?}",
                    x.shape
                ),
            ));
        }
        let layout = attr_s(n, "data_layout", "NCHW")?;
        if !matches!(layout.as_str(), "NCHW" | "NHWC" | "NC") {
            return Err(node_err(
                n,
                Some("data_layout"),
                format!("unknown data layout `{layout}`"),
            ));
        }
        if t.t.shape.len() != 2 || !(t.t.shape[0] == c || t.t.shape[0] == 1) {
            return Err(node_err(
                n,
                Some("input[1]"),
                format!(
                    "thresholds must be [channels][steps] or [1][steps] with {c} channels; got shape {:?}",
                    t.t.shape
                ),
            ));
        }
        let mut f = Map::new();
        f.insert("thresholds".into(), json!(t.t.rows()));
        f.insert("out_scale".into(), json!(attr_f(n, "out_scale", 1.0)?));
        f.insert("out_bias".into(), json!(attr_f(n, "out_bias", 0.0)?));
        self.push(n, "threshold", &[&x], x.shape.clone(), false, f, None);
        Ok(())
    }
}

/// The rows of the square matrix with `s` on its diagonal.
fn diagonal_rows(s: &[f64]) -> Vec<Vec<f64>> {
    (0..s.len())
        .map(|r| {
            (0..s.len())
                .map(|c| if r == c { s[r] } else { 0.0 })
                .collect()
        })
        .collect()
}

/// ONNX broadcasting of a constant onto `[units]`: a scalar, `[units]`,
/// or `[1, units]`.
fn broadcast(
    n: &NodeProto,
    t: &Tensor,
    units: usize,
    what: &str,
) -> Result<Vec<f64>, FrontendError> {
    let lead_ones = t.shape.iter().rev().skip(1).all(|&d| d == 1);
    match t.data.len() {
        1 => Ok(vec![t.data[0]; units]),
        l if l == units && lead_ones => Ok(t.data.clone()),
        _ => Err(node_err(
            n,
            Some(what),
            format!(
                "shape {:?} does not broadcast onto {units} features",
                t.shape
            ),
        )),
    }
}

/// A constant that folds into the rows of the layer making `x`: for a
/// vector one value per feature (see [`broadcast`]); for a convolution's
/// `[C, spatial...]` output one per channel, a scalar or ONNX's
/// per-channel shape `[C, 1, ...]` (optionally with the batch's 1 first).
fn per_row(n: &NodeProto, t: &Tensor, x: &Dyn, what: &str) -> Result<Vec<f64>, FrontendError> {
    let r = x.shape.len();
    if r == 1 {
        return broadcast(n, t, x.shape[0], what);
    }
    let c = x.shape[0];
    if t.data.len() == 1 {
        return Ok(vec![t.data[0]; c]);
    }
    let l = t.shape.len();
    let channel_form = l >= r
        && l <= r + 1
        && t.shape[l - r] == c
        && t.shape
            .iter()
            .enumerate()
            .all(|(i, &d)| i == l - r || d == 1);
    if !channel_form {
        return Err(node_err(
            n,
            Some(what),
            format!(
                "shape {:?} on the [{c}, ...] output of a convolution: neurtl folds a scalar or one value per channel ([{c}{}])",
                t.shape,
                ", 1".repeat(r - 1)
            ),
        ));
    }
    Ok(t.data.clone())
}

/// Constant-folding of elementwise ops, equal shapes or a scalar.
fn elementwise(
    n: &NodeProto,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(f64, f64) -> f64,
) -> Result<Tensor, FrontendError> {
    let (shape, data) = if a.data.len() == 1 {
        (
            b.shape.clone(),
            b.data.iter().map(|&v| f(a.data[0], v)).collect(),
        )
    } else if b.data.len() == 1 {
        (
            a.shape.clone(),
            a.data.iter().map(|&v| f(v, b.data[0])).collect(),
        )
    } else if a.shape == b.shape {
        (
            a.shape.clone(),
            a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect(),
        )
    } else {
        return Err(node_err(
            n,
            None,
            format!(
                "constant shapes {:?} and {:?} do not broadcast",
                a.shape, b.shape
            ),
        ));
    };
    Ok(Tensor { shape, data })
}

/// The neurtl overflow mode of a QONNX clamp to the `signed`/`narrow`
/// integer range.
fn saturation(n: &NodeProto, signed: bool, narrow: bool) -> Result<OverflowMode, FrontendError> {
    match (signed, narrow) {
        (_, false) => Ok(OverflowMode::Sat),
        (true, true) => Ok(OverflowMode::SatSym),
        (false, true) => Err(node_err(
            n,
            Some("narrow"),
            "narrow unsigned range [0, 2^b − 2] has no neurtl type",
        )),
    }
}

/// `k` with `scale = 2^k`, or an error naming the input: only
/// power-of-two scales are fixed-point grids.
fn pow2_scale(n: &NodeProto, what: &str, scale: f64) -> Result<i32, FrontendError> {
    log2_exact(scale).ok_or_else(|| {
        node_err(
            n,
            Some(what),
            format!(
                "{what} {scale} is not a power of two, so the values are not on a fixed-point grid; neurtl folds such scales into constant weights only"
            ),
        )
    })
}

/// QONNX rounding modes as neurtl quantization modes.
fn rounding(n: &NodeProto, mode: &str) -> Result<QuantMode, FrontendError> {
    Ok(match mode.to_ascii_uppercase().as_str() {
        "ROUND" | "HALF_EVEN" => QuantMode::RndConv,
        "HALF_UP" => QuantMode::RndInf,
        "HALF_DOWN" => QuantMode::RndZero,
        "FLOOR" => QuantMode::Trn,
        "DOWN" => QuantMode::TrnZero,
        "CEIL" | "UP" => {
            return Err(node_err(
                n,
                Some("rounding_mode"),
                format!(
                    "{mode} (rounding away from the floor/zero) has no fixed-point mode in neurtl or ap_fixed; it is supported only on constant weights"
                ),
            ));
        }
        _ => {
            return Err(node_err(
                n,
                Some("rounding_mode"),
                format!("unknown rounding mode `{mode}`"),
            ));
        }
    })
}

/// Fold a `Quant` of a constant with QONNX's exact semantics:
/// `(clamp(round(x/scale + zp), min, max) − zp)·scale`, per element with
/// broadcast scale and zero point.
fn quantize_const(n: &NodeProto, l: &Lowerer, x: &Tensor) -> Result<Tensor, FrontendError> {
    let scale = l.konst(n, 1, "scale")?.t;
    let zp = l.konst(n, 2, "zeropt")?.t;
    let bits = l.scalar_input(n, 3, "bitwidth")?;
    let signed = attr_i(n, "signed", 1)? != 0;
    let narrow = attr_i(n, "narrow", 0)? != 0;
    let mode = attr_s(n, "rounding_mode", "ROUND")?;
    if bits.fract() != 0.0 || !(1.0..=53.0).contains(&bits) {
        return Err(node_err(
            n,
            Some("bitwidth"),
            format!("bit width {bits} is not supported (1 to 53)"),
        ));
    }
    let b = bits as i32;
    let (min, max) = if signed {
        let m = 2f64.powi(b - 1);
        (if narrow { -m + 1.0 } else { -m }, m - 1.0)
    } else {
        (0.0, 2f64.powi(b) - 1.0 - if narrow { 1.0 } else { 0.0 })
    };
    let round: fn(f64) -> f64 = match mode.to_ascii_uppercase().as_str() {
        "ROUND" | "HALF_EVEN" => f64::round_ties_even,
        "HALF_UP" => f64::round,
        "HALF_DOWN" => |v: f64| {
            let r = v.round();
            if (v - v.trunc()).abs() == 0.5 {
                v.trunc()
            } else {
                r
            }
        },
        "FLOOR" => f64::floor,
        "CEIL" => f64::ceil,
        "DOWN" => f64::trunc,
        "UP" => |v: f64| if v < 0.0 { v.floor() } else { v.ceil() },
        _ => {
            return Err(node_err(
                n,
                Some("rounding_mode"),
                format!("unknown rounding mode `{mode}`"),
            ));
        }
    };
    let pick = |t: &Tensor, i: usize, what: &str| -> Result<f64, FrontendError> {
        match t.data.len() {
            1 => Ok(t.data[0]),
            _ => per_element(n, t, &x.shape, i, what),
        }
    };
    let mut data = Vec::with_capacity(x.data.len());
    for (i, &v) in x.data.iter().enumerate() {
        let s = pick(&scale, i, "scale")?;
        let z = pick(&zp, i, "zeropt")?;
        if s <= 0.0 {
            return Err(node_err(
                n,
                Some("scale"),
                format!("scale {s} must be positive"),
            ));
        }
        // x/s is exact for power-of-two s; otherwise rounded once, as the
        // float32 executor also rounds it.
        let q = round((v / s + z).clamp(min, max)).clamp(min, max);
        data.push((q - z) * s);
    }
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

/// A per-channel parameter of `x`: broadcast along trailing dimensions.
fn per_element(
    n: &NodeProto,
    t: &Tensor,
    shape: &[usize],
    i: usize,
    what: &str,
) -> Result<f64, FrontendError> {
    // Align t's shape to the right of x's shape (numpy broadcasting).
    if t.shape.len() > shape.len() {
        return Err(node_err(
            n,
            Some(what),
            format!("shape {:?} does not broadcast onto {:?}", t.shape, shape),
        ));
    }
    let off = shape.len() - t.shape.len();
    let mut rem = i;
    let mut idx = 0;
    let mut stride_t = 1;
    for d in (0..shape.len()).rev() {
        let c = rem % shape[d];
        rem /= shape[d];
        if d >= off {
            let td = t.shape[d - off];
            if td != 1 && td != shape[d] {
                return Err(node_err(
                    n,
                    Some(what),
                    format!("shape {:?} does not broadcast onto {:?}", t.shape, shape),
                ));
            }
            if td != 1 {
                idx += c * stride_t;
            }
            stride_t *= td;
        }
    }
    Ok(t.data[idx])
}

/// A slope `key` (a number, or a list of them) and its type `key_type`:
/// exact when 18 bits hold every value, else rounded to 18 bits.
fn slope_fields(key: &str, value: Value) -> Map<String, Value> {
    let v: Vec<f64> = match &value {
        Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
        one => one.as_f64().into_iter().collect(),
    };
    let ty = exact_type(&v, 18).unwrap_or_else(|| rounded_type(&v, 18));
    let mut f = Map::new();
    f.insert(key.into(), value);
    f.insert(format!("{key}_type"), json!(ty.to_string()));
    f
}

/// The fields of a neurtl `reshape` to `shape`.
fn reshape_fields(shape: &[usize]) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("shape".into(), json!(shape));
    f
}
