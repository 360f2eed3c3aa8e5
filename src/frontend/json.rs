//! Reader for neurtl model JSON, version 1 (`docs/model-format.md`).
//!
//! The document is read into `serde_json::Value` and walked by hand rather
//! than deserialized into structs, so every complaint can name the layer
//! and the field it is about. Only structure and literal values are checked
//! here; shapes are checked by the `infer_shapes` pass.

use super::FrontendError;
use crate::fixed::requant::Requant;
use crate::fixed::{FixedType, QuantMode, parse_type};
use crate::ir::{Accum, BIPOLAR, BatchNorm, Dense, Graph, Node, Op, Row, Threshold, Thresholds};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Parse model JSON text into an IR graph.
pub fn parse_model(text: &str) -> Result<Graph, FrontendError> {
    let text = protect_non_finite(text);
    let doc: Value = serde_json::from_str(&text).map_err(|e| FrontendError {
        layer: None,
        field: None,
        message: format!("invalid JSON: {e}"),
        help: None,
    })?;
    let top = doc
        .as_object()
        .ok_or_else(|| err(None, None, "the model must be a JSON object"))?;
    let ctx = Ctx { layer: None };
    match top.get("format").and_then(Value::as_str) {
        Some("neurtl-model") => {}
        _ => {
            return Err(ctx.e(
                "format",
                "missing or wrong; a neurtl model starts with \"format\": \"neurtl-model\"",
            ));
        }
    }
    match top.get("version") {
        Some(v) if v.as_u64() == Some(1) => {}
        other => {
            let shown = other.map_or("missing".to_string(), |v| format!("{v} is not supported"));
            return Err(ctx.e("version", format!("{shown}; this neurtl reads version 1")));
        }
    }
    ctx.known_fields(
        top,
        &["format", "version", "name", "inputs", "layers", "outputs"],
    )?;
    let name = ctx.str(top, "name")?.to_string();
    if name.is_empty() {
        return Err(ctx.e("name", "must not be empty"));
    }
    let mut g = Graph::new(name);
    let mut by_name: HashMap<String, petgraph::stable_graph::NodeIndex> = HashMap::new();
    let mut wiring: Vec<(petgraph::stable_graph::NodeIndex, String, Vec<String>)> = vec![];

    let inputs = ctx.array(top, "inputs")?;
    if inputs.is_empty() {
        return Err(ctx.e("inputs", "a model needs at least one input"));
    }
    for (i, inp) in inputs.iter().enumerate() {
        let obj = inp
            .as_object()
            .ok_or_else(|| ctx.e(&format!("inputs[{i}]"), "must be an object"))?;
        let iname = ctx.str(obj, "name")?.to_string();
        let ictx = Ctx {
            layer: Some(iname.clone()),
        };
        ictx.known_fields(obj, &["name", "shape", "type", "quant"])?;
        let shape = ictx.shape(obj, "shape")?;
        let (ty, bipolar) = ictx.ty_or_bipolar(obj, "type")?;
        let quant = match obj.get("quant") {
            None => None,
            Some(q) => Some(ictx.input_quant(q, &ty, bipolar)?),
        };
        let mut node = Node::new(iname.clone(), Op::Input { ty, quant }, None);
        node.shape = Some(shape);
        node.bipolar = bipolar;
        let id = g.add_node(node);
        if by_name.insert(iname.clone(), id).is_some() {
            return Err(ictx.e("name", "duplicate name"));
        }
        g.inputs.push(id);
    }

    for (i, layer) in ctx.array(top, "layers")?.iter().enumerate() {
        let obj = layer
            .as_object()
            .ok_or_else(|| ctx.e(&format!("layers[{i}]"), "must be an object"))?;
        let lname = ctx.str(obj, "name")?.to_string();
        let l = Ctx {
            layer: Some(lname.clone()),
        };
        let opname = l.str(obj, "op")?;
        let mut fields = vec!["name", "op", "output_type"];
        fields.extend_from_slice(op_fields(opname));
        l.known_fields(obj, &fields)?;
        let cast = l.opt_cast(obj, "output_type")?;
        let op = match opname {
            "dense" => Op::Dense(l.dense(obj)?),
            "conv1d" => Op::Dense(l.conv(obj, 1)?),
            "conv2d" => Op::Dense(l.conv(obj, 2)?),
            "maxpool1d" | "maxpool2d" | "avgpool1d" | "avgpool2d" => l.pool(obj, opname)?,
            f if crate::ir::TableFn::from_name(f).is_some() => l.table(obj, f, cast.is_some())?,
            "softmax" => l.softmax(obj, cast.is_some())?,
            "batchnorm" => Op::BatchNorm(l.batchnorm(obj)?),
            "relu" => Op::Relu,
            "leaky_relu" => Op::LeakyRelu {
                alpha: vec![l.num(obj, "alpha")?],
                alpha_type: l.ty(obj, "alpha_type")?,
                alpha_raw: None,
            },
            "prelu" => {
                let alpha = l.vector(obj, "alpha")?;
                if alpha.is_empty() {
                    return Err(l.e("alpha", "needs one α per channel (or one for all)"));
                }
                Op::LeakyRelu {
                    alpha,
                    alpha_type: l.ty(obj, "alpha_type")?,
                    alpha_raw: None,
                }
            }
            "hard_tanh" => Op::HardTanh,
            "hard_sigmoid" => Op::HardSigmoid {
                slope: l.num(obj, "slope")?,
                offset: match obj.get("offset") {
                    None => 0.5,
                    Some(_) => l.num(obj, "offset")?,
                },
                slope_type: l.ty(obj, "slope_type")?,
                slope_raw: None,
            },
            "quantize" => {
                if cast.is_none() {
                    return Err(l.e("output_type", "quantize needs the type to cast to"));
                }
                Op::Quantize
            }
            "add" => Op::Add,
            "concat" => Op::Concat,
            "flatten" => Op::Flatten,
            "slice" => l.slice(obj)?,
            "reshape" => l.reshape(obj)?,
            "transpose" => l.transpose(obj)?,
            "argmax" => Op::Argmax,
            "sign" => Op::Sign,
            "threshold" => Op::Threshold(l.threshold(obj)?),
            "requant" => Op::Threshold(l.requant(obj)?),
            other => {
                return Err(l.e(
                    "op",
                    format!(
                        "unknown op `{other}`; known ops: dense, conv1d, conv2d, maxpool1d, maxpool2d, avgpool1d, avgpool2d, sigmoid, tanh, gelu, silu, softplus, exp, reciprocal, log, softmax, batchnorm, relu, leaky_relu, prelu, hard_tanh, hard_sigmoid, quantize, add, concat, flatten, slice, reshape, transpose, argmax, sign, threshold, requant"
                    ),
                ));
            }
        };
        if matches!(op, Op::Argmax | Op::Sign) && cast.is_some() {
            return Err(l.e(
                "output_type",
                format!("{opname} has a fixed output (argmax an index, sign ±1); it takes no output_type"),
            ));
        }
        let srcs = match op.arity() {
            Some(1) => vec![l.str(obj, "input")?.to_string()],
            _ => {
                let v = l.array(obj, "inputs")?;
                let names: Option<Vec<String>> =
                    v.iter().map(|x| x.as_str().map(String::from)).collect();
                let names = names.ok_or_else(|| l.e("inputs", "must be a list of layer names"))?;
                match op.arity() {
                    Some(n) if names.len() != n => {
                        return Err(l.e(
                            "inputs",
                            format!("{opname} takes {n} inputs, got {}", names.len()),
                        ));
                    }
                    None if names.is_empty() => {
                        return Err(l.e("inputs", "needs at least one input"));
                    }
                    _ => {}
                }
                names
            }
        };
        let id = g.add_node(Node::new(lname.clone(), op, cast));
        if by_name.insert(lname.clone(), id).is_some() {
            return Err(l.e(
                "name",
                "duplicate name: another input or layer already has it",
            ));
        }
        wiring.push((id, lname, srcs));
    }
    for (id, lname, srcs) in wiring {
        for (port, s) in srcs.iter().enumerate() {
            let field = if g.node(id).op.arity() == Some(1) {
                "input"
            } else {
                "inputs"
            };
            let src = *by_name.get(s).ok_or_else(|| {
                err(
                    Some(&lname),
                    Some(field),
                    format!("refers to `{s}`, which is neither an input nor a layer"),
                )
            })?;
            g.connect(src, id, port);
        }
    }
    let outs = ctx.array(top, "outputs")?;
    if outs.is_empty() {
        return Err(ctx.e("outputs", "a model needs at least one output"));
    }
    for o in outs {
        let s = o
            .as_str()
            .ok_or_else(|| ctx.e("outputs", "must be a list of layer names"))?;
        let id = *by_name
            .get(s)
            .ok_or_else(|| ctx.e("outputs", format!("`{s}` is not a layer or input")))?;
        if g.outputs.contains(&id) {
            return Err(ctx.e("outputs", format!("`{s}` is listed twice")));
        }
        g.outputs.push(id);
    }
    // A cycle: name the layers on it (a strongly connected component with
    // more than one node, or a layer feeding itself), not those downstream.
    for scc in petgraph::algo::tarjan_scc(&g.g) {
        let on_cycle = scc.len() > 1 || g.g.contains_edge(scc[0], scc[0]);
        if on_cycle {
            let mut names: Vec<(String, petgraph::stable_graph::NodeIndex)> =
                scc.iter().map(|&n| (g.node(n).name.clone(), n)).collect();
            names.sort();
            let first = names[0].1;
            let field = if g.node(first).op.arity() == Some(1) {
                "input"
            } else {
                "inputs"
            };
            let list: Vec<String> = names.into_iter().map(|(s, _)| s).collect();
            return Err(err(
                Some(&g.node(first).name),
                Some(field),
                format!("layers {} depend on each other in a cycle", list.join(", ")),
            ));
        }
    }
    Ok(g)
}

fn err(layer: Option<&str>, field: Option<&str>, message: impl Into<String>) -> FrontendError {
    FrontendError {
        layer: layer.map(String::from),
        field: field.map(String::from),
        message: message.into(),
        help: None,
    }
}

/// Python's json module writes `NaN`, `Infinity` and `-Infinity`, which are
/// not JSON. Turn them into marker strings so the number reader can say
/// which weight is not finite instead of failing on a bare parse error.
fn protect_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut esc = false;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        let rest = &text[i..];
        if c == '"' {
            in_str = true;
            out.push(c);
            i += 1;
        } else if rest.starts_with("NaN") {
            out.push_str("\"__nonfinite__NaN\"");
            i += 3;
        } else if rest.starts_with("-Infinity") {
            out.push_str("\"__nonfinite__-Infinity\"");
            i += 9;
        } else if rest.starts_with("Infinity") {
            out.push_str("\"__nonfinite__Infinity\"");
            i += 8;
        } else {
            let ch = rest.chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out.into()
}

/// Fields a layer of op `op` may carry besides name, op and output_type.
/// Unknown ops get an empty list; the op check reports them.
fn op_fields(op: &str) -> &'static [&'static str] {
    match op {
        "dense" => &[
            "input",
            "units",
            "weights",
            "bias",
            "weight_type",
            "bias_type",
            "accum_type",
        ],
        "conv1d" | "conv2d" => &[
            "input",
            "filters",
            "kernel_size",
            "strides",
            "dilation",
            "padding",
            "groups",
            "weights",
            "bias",
            "weight_type",
            "bias_type",
            "accum_type",
        ],
        "maxpool1d" | "maxpool2d" => &["input", "kernel_size", "strides", "padding"],
        "avgpool1d" | "avgpool2d" => &[
            "input",
            "kernel_size",
            "strides",
            "padding",
            "count_include_pad",
            "divisor_type",
        ],
        "sigmoid" | "tanh" | "gelu" | "silu" | "softplus" | "exp" | "reciprocal" | "log" => {
            &["input", "table_bits"]
        }
        "softmax" => &["input", "table_bits", "exp_type", "log_type"],
        "batchnorm" => &["input", "gamma", "beta", "mean", "var", "epsilon"],
        "leaky_relu" | "prelu" => &["input", "alpha", "alpha_type"],
        "hard_sigmoid" => &["input", "slope", "slope_type", "offset"],
        "threshold" => &["input", "thresholds", "out_scale", "out_bias"],
        "requant" => &[
            "input",
            "mul",
            "add",
            "relu",
            "scale",
            "zero_point",
            "min",
            "max",
            "rounding",
        ],
        "add" | "concat" => &["inputs"],
        "slice" => &["input", "axis", "start", "end"],
        "reshape" => &["input", "shape"],
        "transpose" => &["input", "perm"],
        _ => &["input"],
    }
}

/// Most levels minus one of a `requant` layer: each level is one
/// comparator per channel, so 12-bit results are the practical end.
pub const MAX_REQUANT_LEVELS: i64 = (1 << 12) - 1;

/// The default type of an average pool's `1/count`.
pub const DIVISOR_TYPE: &str = "ufixed<18,1,rnd>";

fn join_dims(d: &[usize]) -> String {
    d.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("][")
}

/// Edit distance, for "did you mean" hints on misspelled fields.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Where we are in the document, for error messages.
struct Ctx {
    layer: Option<String>,
}

impl Ctx {
    fn e(&self, field: &str, message: impl Into<String>) -> FrontendError {
        err(self.layer.as_deref(), Some(field), message)
    }
    /// A misspelled field would otherwise be silently ignored and its
    /// default used, so unknown fields are errors. Fields starting with
    /// `_` are free for comments and metadata.
    fn known_fields(&self, obj: &Map<String, Value>, known: &[&str]) -> Result<(), FrontendError> {
        for k in obj.keys() {
            if k.starts_with('_') || known.contains(&k.as_str()) {
                continue;
            }
            let close = known
                .iter()
                .map(|f| (distance(k, f), *f))
                .min()
                .filter(|(d, _)| *d <= 2);
            let hint = match close {
                Some((_, f)) => format!("; did you mean `{f}`?"),
                None => format!("; fields here are: {}", known.join(", ")),
            };
            return Err(self.e(
                k,
                format!("unknown field{hint} (prefix a field with `_` to keep it as a comment)"),
            ));
        }
        Ok(())
    }
    fn get<'a>(
        &self,
        obj: &'a Map<String, Value>,
        field: &str,
    ) -> Result<&'a Value, FrontendError> {
        obj.get(field).ok_or_else(|| self.e(field, "missing"))
    }
    fn str<'a>(&self, obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, FrontendError> {
        self.get(obj, field)?
            .as_str()
            .ok_or_else(|| self.e(field, "must be a string"))
    }
    fn array<'a>(
        &self,
        obj: &'a Map<String, Value>,
        field: &str,
    ) -> Result<&'a Vec<Value>, FrontendError> {
        self.get(obj, field)?
            .as_array()
            .ok_or_else(|| self.e(field, "must be a list"))
    }
    fn number(&self, v: &Value, field: &str) -> Result<f64, FrontendError> {
        self.number_at(v, || field.to_string())
    }
    /// `number`, naming the field only for an error: a big model has
    /// millions of weights, each of which would otherwise format its name.
    fn number_at(&self, v: &Value, field: impl Fn() -> String) -> Result<f64, FrontendError> {
        if let Some(x) = v.as_f64().filter(|x| x.is_finite()) {
            return Ok(x);
        }
        let field = &field();
        if let Some(s) = v.as_str().and_then(|s| s.strip_prefix("__nonfinite__")) {
            return Err(self.e(
                field,
                format!("is {s}; weights and parameters must be finite numbers"),
            ));
        }
        let x = v
            .as_f64()
            .ok_or_else(|| self.e(field, "must be a number"))?;
        if !x.is_finite() {
            return Err(self.e(field, "must be a finite number"));
        }
        Ok(x)
    }
    fn num(&self, obj: &Map<String, Value>, field: &str) -> Result<f64, FrontendError> {
        self.number(self.get(obj, field)?, field)
    }
    fn vector(&self, obj: &Map<String, Value>, field: &str) -> Result<Vec<f64>, FrontendError> {
        self.array(obj, field)?
            .iter()
            .enumerate()
            .map(|(i, v)| self.number_at(v, || format!("{field}[{i}]")))
            .collect()
    }
    /// A type that may also be `bipolar`; returns the numeric type and
    /// whether it was bipolar.
    fn ty_or_bipolar(
        &self,
        obj: &Map<String, Value>,
        field: &str,
    ) -> Result<(FixedType, bool), FrontendError> {
        if self.str(obj, field)?.trim().eq_ignore_ascii_case("bipolar") {
            Ok((FixedType::plain(BIPOLAR), true))
        } else {
            Ok((self.ty(obj, field)?, false))
        }
    }
    fn ty(&self, obj: &Map<String, Value>, field: &str) -> Result<FixedType, FrontendError> {
        parse_type(self.str(obj, field)?).map_err(|e| self.e(field, e.to_string()))
    }
    /// An optional type where `"auto"` or absence means "exact".
    fn opt_cast(
        &self,
        obj: &Map<String, Value>,
        field: &str,
    ) -> Result<Option<FixedType>, FrontendError> {
        match obj.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s == "auto" => Ok(None),
            Some(_) => self.ty(obj, field).map(Some),
        }
    }
    fn shape(&self, obj: &Map<String, Value>, field: &str) -> Result<Vec<usize>, FrontendError> {
        let v = self.array(obj, field)?;
        let dims: Option<Vec<usize>> = v.iter().map(|d| d.as_u64().map(|x| x as usize)).collect();
        let dims = dims.ok_or_else(|| self.e(field, "must be a list of positive integers"))?;
        if dims.is_empty() || dims.contains(&0) {
            return Err(self.e(
                field,
                format!("{dims:?} is not a valid shape: dimensions must be positive"),
            ));
        }
        if dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none_or(|n| n > 1 << 20)
        {
            return Err(self.e(
                field,
                "more than 2^20 elements: too large for a fully parallel design",
            ));
        }
        Ok(dims)
    }
    /// A non-negative integer field.
    fn index(&self, obj: &Map<String, Value>, field: &str) -> Result<usize, FrontendError> {
        let v = self.get(obj, field)?;
        v.as_u64()
            .filter(|&x| x <= 1 << 20)
            .map(|x| x as usize)
            .ok_or_else(|| self.e(field, format!("must be a non-negative integer, got {v}")))
    }
    fn slice(&self, obj: &Map<String, Value>) -> Result<Op, FrontendError> {
        let v = self.get(obj, "axis")?;
        let axis = v.as_i64().filter(|a| a.abs() <= 64).ok_or_else(|| {
            self.e(
                "axis",
                format!("must be an integer (−1 for the last axis), got {v}"),
            )
        })?;
        let (start, end) = (self.index(obj, "start")?, self.index(obj, "end")?);
        if start >= end {
            return Err(self.e(
                "end",
                format!("{end} must be above start ({start}): a slice keeps start..end"),
            ));
        }
        Ok(Op::Slice { axis, start, end })
    }
    fn transpose(&self, obj: &Map<String, Value>) -> Result<Op, FrontendError> {
        let v = self.array(obj, "perm")?;
        let perm: Option<Vec<usize>> = v
            .iter()
            .map(|d| d.as_u64().filter(|&a| a < 64).map(|a| a as usize))
            .collect();
        let perm = perm.ok_or_else(|| self.e("perm", "must be a list of axis numbers"))?;
        let mut seen = perm.clone();
        seen.sort_unstable();
        if !seen.iter().copied().eq(0..perm.len()) {
            return Err(self.e(
                "perm",
                format!("{perm:?} is not a permutation of 0..{}", perm.len()),
            ));
        }
        Ok(Op::Transpose { perm })
    }
    fn reshape(&self, obj: &Map<String, Value>) -> Result<Op, FrontendError> {
        let v = self.array(obj, "shape")?;
        let dims: Option<Vec<Option<usize>>> = v
            .iter()
            .map(|d| match d.as_i64() {
                Some(-1) => Some(None),
                Some(d) if d > 0 && d <= 1 << 20 => Some(Some(d as usize)),
                _ => None,
            })
            .collect();
        let dims = dims.ok_or_else(|| {
            self.e(
                "shape",
                "must be a list of positive integers, one of them may be -1",
            )
        })?;
        if dims.is_empty() || dims.iter().filter(|d| d.is_none()).count() > 1 {
            return Err(self.e("shape", "needs at least one dimension, and at most one -1"));
        }
        Ok(Op::Reshape { shape: dims })
    }
    fn dense(&self, obj: &Map<String, Value>) -> Result<Dense, FrontendError> {
        let units =
            self.get(obj, "units")?
                .as_u64()
                .filter(|&u| u > 0)
                .ok_or_else(|| self.e("units", "must be a positive integer"))? as usize;
        let weights = match self.get(obj, "weights")? {
            Value::Object(sparse) => self.sparse_weights(sparse)?,
            _ => self.dense_weights(obj)?,
        };
        self.dense_with(obj, units, weights, None)
    }
    /// `weights` as `[units][inputs]`.
    fn dense_weights(&self, obj: &Map<String, Value>) -> Result<Vec<Row<f64>>, FrontendError> {
        let rows = self.array(obj, "weights")?;
        let mut weights = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            let row = row.as_array().ok_or_else(|| {
                self.e(
                    "weights",
                    format!("row {r} is not a list; weights is [units][inputs]"),
                )
            })?;
            let vals: Result<Vec<f64>, _> = row
                .iter()
                .enumerate()
                .map(|(c, v)| self.number_at(v, || format!("weights[{r}][{c}]")))
                .collect();
            weights.push(Row::new(vals?));
        }
        Ok(weights)
    }
    /// `weights` as `{"inputs": n, "rows": [[[column, value], ...], ...]}`:
    /// per unit, its non-zero weights by ascending column.
    fn sparse_weights(&self, w: &Map<String, Value>) -> Result<Vec<Row<f64>>, FrontendError> {
        let field = |f: &str| format!("weights.{f}");
        if let Some(k) = w.keys().find(|k| !["inputs", "rows"].contains(&k.as_str())) {
            return Err(self.e(&field(k), "is not a field of sparse weights (inputs, rows)"));
        }
        let inputs = (w.get("inputs").and_then(Value::as_u64))
            .filter(|&n| n > 0 && n <= 1 << 31)
            .ok_or_else(|| self.e(&field("inputs"), "must be a positive integer"))?
            as usize;
        let rows = (w.get("rows").and_then(Value::as_array))
            .ok_or_else(|| self.e(&field("rows"), "must be a list, one per unit"))?;
        let mut weights = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            let at = |k: usize| format!("weights.rows[{r}][{k}]");
            let row = row.as_array().ok_or_else(|| {
                self.e(
                    &format!("weights.rows[{r}]"),
                    "must be a list of [column, weight] pairs",
                )
            })?;
            let mut entries: Vec<(u32, f64)> = Vec::with_capacity(row.len());
            for (k, e) in row.iter().enumerate() {
                let pair = e
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| self.e(&at(k), "must be a [column, weight] pair"))?;
                let col = (pair[0].as_u64())
                    .filter(|&c| (c as usize) < inputs)
                    .ok_or_else(|| {
                        self.e(
                            &at(k),
                            format!("column {} is not an input index below {inputs}", pair[0]),
                        )
                    })? as u32;
                if entries.last().is_some_and(|p| p.0 >= col) {
                    return Err(self.e(&at(k), format!("column {col} does not ascend")));
                }
                entries.push((col, self.number_at(&pair[1], || at(k))?));
            }
            weights.push(Row::from_entries(inputs, entries));
        }
        Ok(weights)
    }
    /// A `conv1d` (`rank` 1) or `conv2d` layer: a dense layer of `filters`
    /// rows, each one filter's kernel flattened (`ir::conv`).
    fn conv(&self, obj: &Map<String, Value>, rank: usize) -> Result<Dense, FrontendError> {
        let filters = self
            .get(obj, "filters")?
            .as_u64()
            .filter(|&u| u > 0 && u <= 1 << 20);
        let filters =
            filters.ok_or_else(|| self.e("filters", "must be a positive integer"))? as usize;
        let kernel = self.per_axis(obj, "kernel_size", rank, None)?;
        let stride = self.per_axis(obj, "strides", rank, Some(1))?;
        let dilation = self.per_axis(obj, "dilation", rank, Some(1))?;
        let groups = match obj.get("groups") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|&g| g > 0 && g <= 1 << 20)
                .ok_or_else(|| self.e("groups", format!("must be a positive integer, got {v}")))?
                as usize,
        };
        if !filters.is_multiple_of(groups) {
            return Err(self.e(
                "groups",
                format!("{groups} groups do not divide the {filters} filters"),
            ));
        }
        let padding = self.padding(obj, rank)?;
        let rows = self.array(obj, "weights")?;
        if rows.len() != filters {
            return Err(self.e(
                "weights",
                format!("has {} filters, expected filters = {filters}", rows.len()),
            ));
        }
        let mut weights = Vec::with_capacity(filters);
        let mut channels = None;
        for (f, row) in rows.iter().enumerate() {
            let mut flat = vec![];
            let mut dims = vec![];
            self.nested(
                row,
                rank + 1,
                &mut format!("weights[{f}]"),
                &mut dims,
                &mut flat,
            )?;
            if dims[..rank] != kernel[..] || channels.is_some_and(|c| c != dims[rank]) {
                let want = format!("[{}][channels per group]", join_dims(&kernel));
                return Err(self.e(
                    "weights",
                    format!(
                        "filter {f} is [{}]; each filter must be {want}, channels last",
                        join_dims(&dims)
                    ),
                ));
            }
            channels = Some(dims[rank]);
            weights.push(flat);
        }
        let conv = crate::ir::Conv {
            kernel,
            stride,
            dilation,
            padding,
            groups,
            geom: None,
        };
        let weights = crate::ir::rows_of(weights);
        self.dense_with(obj, filters, weights, Some(Box::new(conv)))
    }
    /// A table activation; its entries are on the output type's grid, so
    /// the type is required.
    fn table(&self, obj: &Map<String, Value>, op: &str, typed: bool) -> Result<Op, FrontendError> {
        Ok(Op::Table(crate::ir::Table {
            func: crate::ir::TableFn::from_name(op).expect("a table op"),
            bits: self.table_bits(obj, op, typed)?,
            rom: None,
        }))
    }
    /// A softmax: its tables' types, and the output type it ends on.
    fn softmax(&self, obj: &Map<String, Value>, typed: bool) -> Result<Op, FrontendError> {
        use crate::ir::table::{SOFTMAX_EXP_TYPE, SOFTMAX_LOG_TYPE};
        let bits = self.table_bits(obj, "softmax", typed)?;
        let ty = |field: &str, default: &str| match obj.get(field) {
            None => Ok(crate::fixed::parse_type(default).expect("a valid type")),
            Some(_) => self.ty(obj, field),
        };
        Ok(Op::Softmax(crate::ir::Softmax {
            exp_type: ty("exp_type", SOFTMAX_EXP_TYPE)?,
            log_type: ty("log_type", SOFTMAX_LOG_TYPE)?,
            bits,
            plan: None,
        }))
    }
    /// `table_bits` of a table op, which needs an output type.
    fn table_bits(
        &self,
        obj: &Map<String, Value>,
        op: &str,
        typed: bool,
    ) -> Result<u32, FrontendError> {
        if !typed {
            return Err(self.e(
                "output_type",
                format!("{op} is a table onto its output type's grid: give the output_type"),
            ));
        }
        Ok(match obj.get("table_bits") {
            None => crate::ir::table::TABLE_BITS,
            Some(v) => v.as_u64().filter(|b| (1..=20).contains(b)).ok_or_else(|| {
                self.e(
                    "table_bits",
                    format!("must be an integer from 1 to 20, got {v}"),
                )
            })? as u32,
        })
    }
    /// A pooling layer: windows as a convolution's, strides by default the
    /// kernel (Keras' and PyTorch's default).
    fn pool(&self, obj: &Map<String, Value>, op: &str) -> Result<Op, FrontendError> {
        use crate::ir::{Conv, Pool, PoolKind};
        let rank = if op.ends_with("1d") { 1 } else { 2 };
        let kernel = self.per_axis(obj, "kernel_size", rank, None)?;
        let stride = match obj.get("strides") {
            None => kernel.clone(),
            Some(_) => self.per_axis(obj, "strides", rank, None)?,
        };
        let kind = if op.starts_with("max") {
            PoolKind::Max
        } else {
            let count_include_pad = match obj.get("count_include_pad") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(self.e(
                        "count_include_pad",
                        format!("must be true or false, got {v}"),
                    ));
                }
            };
            let divisor_type = match obj.get("divisor_type") {
                None => crate::fixed::parse_type(DIVISOR_TYPE).expect("a valid type"),
                Some(_) => self.ty(obj, "divisor_type")?,
            };
            PoolKind::Avg {
                divisor_type,
                count_include_pad,
            }
        };
        let window = Conv {
            dilation: vec![1; rank],
            padding: self.padding(obj, rank)?,
            kernel,
            stride,
            groups: 1,
            geom: None,
        };
        Ok(Op::Pool(Pool { kind, window }))
    }
    /// A list of `rank` positive integers, or one for every axis; `default`
    /// when the field is absent (required when `None`).
    fn per_axis(
        &self,
        obj: &Map<String, Value>,
        field: &str,
        rank: usize,
        default: Option<usize>,
    ) -> Result<Vec<usize>, FrontendError> {
        let v = match (obj.get(field), default) {
            (None, Some(d)) => return Ok(vec![d; rank]),
            (None, None) => return Err(self.e(field, "missing")),
            (Some(v), _) => v,
        };
        let one = |v: &Value| {
            v.as_u64()
                .filter(|&x| x > 0 && x <= 1 << 16)
                .map(|x| x as usize)
        };
        let dims = match v {
            Value::Array(a) if a.len() == rank => a.iter().map(one).collect(),
            v => one(v).map(|x| vec![x; rank]),
        };
        dims.ok_or_else(|| {
            self.e(
                field,
                format!("must be a positive integer or a list of {rank}, got {v}"),
            )
        })
    }
    /// `valid` (the default), `same`, or zeros before and after per axis:
    /// `[[before, after], ...]`.
    fn padding(
        &self,
        obj: &Map<String, Value>,
        rank: usize,
    ) -> Result<crate::ir::Padding, FrontendError> {
        use crate::ir::Padding;
        let v = match obj.get("padding") {
            None => return Ok(Padding::Valid),
            Some(v) => v,
        };
        let pair = |p: &Value| match p.as_array().map(Vec::as_slice) {
            Some([a, b]) => Some((a.as_u64()? as usize, b.as_u64()? as usize))
                .filter(|&(a, b)| a <= 1 << 16 && b <= 1 << 16),
            _ => None,
        };
        match v {
            Value::String(s) if s == "valid" => Ok(Padding::Valid),
            Value::String(s) if s == "same" => Ok(Padding::Same),
            Value::Array(a) if a.len() == rank => a
                .iter()
                .map(pair)
                .collect::<Option<Vec<_>>>()
                .map(Padding::Explicit)
                .ok_or_else(|| self.e("padding", "each axis is [zeros before, zeros after]")),
            v => Err(self.e(
                "padding",
                format!("must be \"valid\", \"same\" or {rank} pairs [before, after], got {v}"),
            )),
        }
    }
    /// Flatten a nested list `depth` levels deep into `flat`, row-major,
    /// checking that it is rectangular; `dims` receives its extents.
    fn nested(
        &self,
        v: &Value,
        depth: usize,
        at: &mut String,
        dims: &mut Vec<usize>,
        flat: &mut Vec<f64>,
    ) -> Result<(), FrontendError> {
        if depth == 0 {
            flat.push(self.number_at(v, || at.clone())?);
            return Ok(());
        }
        let a = v
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| self.e("weights", format!("{at} must be a non-empty list")))?;
        let level = dims.len();
        let mut seen = false;
        for (i, x) in a.iter().enumerate() {
            let len = at.len();
            at.push_str(&format!("[{i}]"));
            let mut sub = vec![];
            self.nested(x, depth - 1, at, &mut sub, flat)?;
            at.truncate(len);
            if !seen {
                dims.push(a.len());
                dims.extend(&sub);
                seen = true;
            } else if dims[level + 1..] != sub[..] {
                return Err(self.e("weights", format!("{at} is not rectangular")));
            }
        }
        Ok(())
    }
    /// The parts of a dense layer or convolution besides its weights.
    fn dense_with(
        &self,
        obj: &Map<String, Value>,
        units: usize,
        weights: Vec<Row<f64>>,
        conv: Option<Box<crate::ir::Conv>>,
    ) -> Result<Dense, FrontendError> {
        let bias = match obj.get("bias") {
            None => vec![0.0; units],
            Some(_) => self.vector(obj, "bias")?,
        };
        let accum = match obj.get("accum_type") {
            None => Accum::Auto,
            Some(Value::String(s)) if s == "auto" => Accum::Auto,
            Some(_) => Accum::Explicit(self.ty(obj, "accum_type")?),
        };
        let (weight_type, bipolar_weights) = self.ty_or_bipolar(obj, "weight_type")?;
        let bias_type = if obj.contains_key("bias_type") {
            self.ty(obj, "bias_type")?
        } else if obj.contains_key("bias") {
            return Err(self.e("bias_type", "missing; a layer with a bias needs its type"));
        } else {
            weight_type
        };
        Ok(Dense {
            units,
            weights,
            bias,
            weight_type,
            bias_type,
            accum,
            bipolar_weights,
            xnor: false,
            flip: vec![],
            quant: None,
            acc: None,
            terms: None,
            conv,
        })
    }
    /// `requant`: QONNX's `Quant` with a real scale on a real-valued input
    /// (see `fixed::requant`), one `mul`/`add` per channel or one for
    /// all. It is a multi-threshold whose steps are the result's levels.
    fn requant(&self, obj: &Map<String, Value>) -> Result<Threshold, FrontendError> {
        let mul = self.vector(obj, "mul")?;
        let add = match obj.get("add") {
            None => vec![0.0],
            Some(_) => self.vector(obj, "add")?,
        };
        if mul.is_empty() || !(add.len() == 1 || mul.len() == 1 || add.len() == mul.len()) {
            return Err(self.e(
                "add",
                format!(
                    "has {} entries and mul {}: one per channel, or one for all",
                    add.len(),
                    mul.len()
                ),
            ));
        }
        let relu = match obj.get("relu") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.e("relu", "must be true or false"))?,
        };
        let common = self.quantizer(obj)?;
        let channels = mul.len().max(add.len());
        let pick = |v: &[f64], c: usize| if v.len() == 1 { v[0] } else { v[c] };
        let mut q = vec![];
        for c in 0..channels {
            let r = Requant {
                mul: pick(&mul, c),
                add: pick(&add, c),
                relu,
                ..common.clone()
            };
            r.check()
                .map_err(|m| self.e("mul", format!("channel {c}: {m}")))?;
            q.push(r);
        }
        if common.max - common.min > MAX_REQUANT_LEVELS {
            return Err(self.e(
                "max",
                format!(
                    "{} levels; a requant layer has at most {} (one comparison each)",
                    common.max - common.min + 1,
                    MAX_REQUANT_LEVELS + 1
                ),
            ));
        }
        Ok(Threshold {
            out_scale: 1.0,
            out_bias: (common.min - common.zero) as f64,
            thresholds: Thresholds::Requant(q),
            raw: None,
            out_raw: None,
        })
    }

    /// An input's `quant`: real samples reach the port through it, so
    /// `type` must hold every result.
    fn input_quant(
        &self,
        q: &Value,
        ty: &FixedType,
        bipolar: bool,
    ) -> Result<Requant, FrontendError> {
        let obj = q.as_object().ok_or_else(|| {
            self.e(
                "quant",
                "must be an object (scale, zero_point, min, max, rounding)",
            )
        })?;
        self.known_fields(obj, &["scale", "zero_point", "min", "max", "rounding"])?;
        let r = self.quantizer(obj)?;
        let (lo, hi) = r.range();
        let f = &ty.format;
        if bipolar || f.frac != 0 || !f.contains(lo) || !f.contains(hi) {
            return Err(self.e(
                "quant",
                format!("its results {lo}..{hi} are integers, which `type` {ty} does not hold; use an integer type such as fixed<W,W>"),
            ));
        }
        Ok(r)
    }

    /// The quantizer fields of `requant` and of an input's `quant`:
    /// `scale`, `zero_point` (default 0), `min`, `max` and `rounding`
    /// (default `rnd_conv`, QONNX's `ROUND`); the identity before it.
    fn quantizer(&self, obj: &Map<String, Value>) -> Result<Requant, FrontendError> {
        let int = |f: &str, default: Option<i64>| -> Result<i64, FrontendError> {
            match (obj.get(f), default) {
                (None, Some(d)) => Ok(d),
                (None, None) => Err(self.e(f, "missing")),
                (Some(v), _) => v
                    .as_i64()
                    .filter(|x| x.abs() <= 1 << 40)
                    .ok_or_else(|| self.e(f, "must be an integer of at most 40 bits")),
            }
        };
        let mode = match obj.get("rounding") {
            None => QuantMode::RndConv,
            Some(v) => {
                let s = v.as_str().unwrap_or("");
                *QuantMode::ALL.iter().find(|m| m.name() == s).ok_or_else(|| {
                    self.e(
                        "rounding",
                        format!("`{v}` is not a rounding mode (trn, trn_zero, rnd, rnd_zero, rnd_inf, rnd_min_inf, rnd_conv)"),
                    )
                })?
            }
        };
        let q = Requant {
            mul: 1.0,
            add: 0.0,
            relu: false,
            scale: self.num(obj, "scale")?,
            zero: int("zero_point", Some(0))?,
            min: int("min", None)?,
            max: int("max", None)?,
            mode,
        };
        q.check().map_err(|m| self.e("scale", m))?;
        Ok(q)
    }

    fn threshold(&self, obj: &Map<String, Value>) -> Result<Threshold, FrontendError> {
        let rows = self.array(obj, "thresholds")?;
        let mut t = vec![];
        for (c, row) in rows.iter().enumerate() {
            let row = row.as_array().ok_or_else(|| {
                self.e(
                    "thresholds",
                    format!("row {c} is not a list; thresholds is [channels or 1][steps]"),
                )
            })?;
            let vals: Result<Vec<f64>, _> = row
                .iter()
                .enumerate()
                .map(|(k, v)| self.number_at(v, || format!("thresholds[{c}][{k}]")))
                .collect();
            t.push(vals?);
        }
        if t.is_empty() || t[0].is_empty() {
            return Err(self.e(
                "thresholds",
                "needs at least one row with at least one threshold",
            ));
        }
        if let Some(c) = t.iter().position(|r| r.len() != t[0].len()) {
            return Err(self.e(
                "thresholds",
                format!(
                    "row {c} has {} thresholds, row 0 has {}; every channel needs the same number",
                    t[c].len(),
                    t[0].len()
                ),
            ));
        }
        let opt = |f: &str, d: f64| match obj.get(f) {
            None => Ok(d),
            Some(_) => self.num(obj, f),
        };
        Ok(Threshold {
            thresholds: Thresholds::Given(t),
            out_scale: opt("out_scale", 1.0)?,
            out_bias: opt("out_bias", 0.0)?,
            raw: None,
            out_raw: None,
        })
    }
    fn batchnorm(&self, obj: &Map<String, Value>) -> Result<BatchNorm, FrontendError> {
        let epsilon = match obj.get("epsilon") {
            None => 1e-5,
            Some(_) => self.num(obj, "epsilon")?,
        };
        if epsilon < 0.0 {
            return Err(self.e("epsilon", "must not be negative"));
        }
        let bn = BatchNorm {
            gamma: self.vector(obj, "gamma")?,
            beta: self.vector(obj, "beta")?,
            mean: self.vector(obj, "mean")?,
            var: self.vector(obj, "var")?,
            epsilon,
        };
        for (field, v) in [("beta", &bn.beta), ("mean", &bn.mean), ("var", &bn.var)] {
            if v.len() != bn.gamma.len() {
                return Err(self.e(
                    field,
                    format!("has {} entries, gamma has {}", v.len(), bn.gamma.len()),
                ));
            }
        }
        if let Some(i) = bn.var.iter().position(|&v| v + epsilon <= 0.0) {
            return Err(self.e(&format!("var[{i}]"), "var + epsilon must be positive"));
        }
        Ok(bn)
    }
}

/// `rows` (`[units][inputs]`) in the model format's sparse form: per row,
/// its non-zero entries as `[input, weight]`.
pub fn sparse_form(rows: &[Vec<f64>]) -> Value {
    let listed: Vec<Vec<(usize, f64)>> = rows
        .iter()
        .map(|r| {
            let nz = r.iter().enumerate().filter(|(_, w)| **w != 0.0);
            nz.map(|(c, &w)| (c, w)).collect()
        })
        .collect();
    json!({"inputs": rows.first().map_or(0, Vec::len), "rows": listed})
}
