//! Reader for ONNX and QONNX models (`docs/onnx.md`).
//!
//! An ONNX file is decoded (`proto`), its constants are decoded
//! (`tensor`), and its nodes are lowered one by one (`lower`) into a
//! neurtl model JSON document, which then takes the same path as a model
//! written by hand: `neurtl import` writes that document, and every command
//! that takes a model reads `.onnx` files through it. Going through the
//! JSON keeps one reader of models, and a user can look at, diff and edit
//! what was imported.

mod lower;
pub mod proto;
mod tensor;

use super::FrontendError;
use crate::fixed::{FixedType, parse_type};
use prost::Message;
use serde_json::Value;

/// Choices an ONNX file does not make itself.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Type of a graph input that no `Quant`/`BipolarQuant` node types.
    pub input_type: FixedType,
    /// Float weights that need more bits than this to be exact are rounded
    /// to this many bits (`rnd_conv`, `sat`); biases get 8 bits more.
    pub weight_bits: u32,
    /// The model's name; the graph's name when absent.
    pub name: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            // hls4ml's default precision, so a float model means the same
            // thing in both tools unless the user says otherwise.
            input_type: parse_type("fixed<16,6>").expect("valid type"),
            weight_bits: 16,
            name: None,
        }
    }
}

/// What the import produced: the model document and notes for the user
/// (rounded weights, absorbed nodes).
pub struct Imported {
    pub model: Value,
    pub notes: Vec<String>,
}

/// Decode an ONNX file's bytes and lower its graph to neurtl model JSON.
pub fn import(bytes: &[u8], opts: &ImportOptions) -> Result<Imported, FrontendError> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| FrontendError {
        layer: None,
        field: None,
        message: format!("not a readable ONNX protobuf file ({e})"),
        help: Some("the file may be truncated or not an .onnx model".into()),
    })?;
    let graph = model.graph.ok_or_else(|| FrontendError {
        layer: None,
        field: Some("graph".into()),
        message: "the ONNX model has no graph".into(),
        help: Some("the file may be truncated or not an .onnx model".into()),
    })?;
    // Trunc changed meaning between versions of the QONNX domain; a model
    // that imports no version of it gets version 1, as QONNX assumes.
    let qonnx_version = model
        .opset_import
        .iter()
        .filter(|o| {
            o.domain
                .as_deref()
                .is_some_and(|d| lower::QONNX_DOMAINS.contains(&d))
        })
        .filter_map(|o| o.version)
        .max()
        .unwrap_or(1);
    // Softmax changed meaning at opset 13; no import means the newest.
    let onnx_version = model
        .opset_import
        .iter()
        .filter(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
        .filter_map(|o| o.version)
        .max()
        .unwrap_or(i64::MAX);
    lower::lower(&graph, opts, qonnx_version, onnx_version)
}
