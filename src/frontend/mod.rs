//! Front ends: model files in, IR graphs out. Each reader checks what it
//! can see in its own format and names the layer and field it complains
//! about; nothing downstream of a front end sees raw user text.

pub mod json;
pub mod onnx;

use std::fmt;

/// A problem with the model file, located by layer and field.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontendError {
    pub layer: Option<String>,
    pub field: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for FrontendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.layer, &self.field) {
            (Some(l), Some(fl)) => write!(f, "layer `{l}`, field `{fl}`: ")?,
            (Some(l), None) => write!(f, "layer `{l}`: ")?,
            (None, Some(fl)) => write!(f, "field `{fl}`: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FrontendError {}
