//! The compiler driver: model file → lowered IR (plus the float reference),
//! and lowered IR → files in a build directory.

use crate::backend::{testbench, verilog};
use crate::frontend::{FrontendError, json, onnx};
use crate::golden::{FloatModel, Golden};
use crate::ir::{CompileOptions, Graph, verify};
use crate::passes::{self, PassError};
use std::path::{Path, PathBuf};

/// A compile failure, always naming the model file.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Frontend {
        file: String,
        #[source]
        source: FrontendError,
    },
    #[error("{file}: {source}")]
    Pass {
        file: String,
        #[source]
        source: PassError,
    },
    #[error("{file}: internal error: {source}")]
    Verify {
        file: String,
        #[source]
        source: verify::VerifyError,
    },
    #[error("{file}: {source}")]
    Verilog {
        file: String,
        #[source]
        source: verilog::VerilogError,
    },
    #[error("{file}: {source}")]
    Datapath {
        file: String,
        #[source]
        source: crate::datapath::LowerError,
    },
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A model through the passes.
pub struct Compiled {
    pub source: PathBuf,
    pub text: String,
    pub graph: Graph,
    pub float: FloatModel,
}

impl Compiled {
    /// Each model input: its type, element count, and whether it is bipolar.
    pub fn input_types(&self) -> Vec<crate::vectors::InputType> {
        self.graph
            .inputs
            .iter()
            .map(|&i| {
                let node = self.graph.node(i);
                match &node.op {
                    crate::ir::Op::Input { ty, quant } => crate::vectors::InputType {
                        ty: *ty,
                        quant: quant.clone(),
                        count: node.size(),
                        bipolar: node.bipolar,
                    },
                    _ => unreachable!("graph inputs are input nodes"),
                }
            })
            .collect()
    }
    pub fn file(&self) -> String {
        self.source.display().to_string()
    }
    /// The graph, checked to be fully lowered.
    pub fn lowered(&self) -> Result<verify::Lowered<'_>, CompileError> {
        verify::lower_check(&self.graph).map_err(|source| CompileError::Verify {
            file: self.file(),
            source,
        })
    }
    pub fn golden(&self) -> Result<Golden, CompileError> {
        Ok(Golden::new(self.lowered()?))
    }
    /// The whole design as a datapath IR, as the back end builds it (fused
    /// where the options ask for it).
    pub fn datapath(&self) -> Result<crate::datapath::Datapath, CompileError> {
        let l = self.lowered()?;
        let built = if crate::datapath::fuses(&l.graph().meta.pipeline.unwrap_or_default()) {
            crate::datapath::build(l).map(|(dp, _)| dp)
        } else {
            crate::datapath::lower(l)
        };
        built.map_err(|source| CompileError::Datapath {
            file: self.file(),
            source,
        })
    }
}

/// Whether a path names an ONNX file (read through the importer).
pub fn is_onnx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// A model file as neurtl model JSON text: `.onnx` files are imported
/// with `opts`, anything else is read as JSON. Returns the text and the
/// importer's notes.
pub fn read_model(
    path: &Path,
    opts: &onnx::ImportOptions,
) -> Result<(String, Vec<String>), CompileError> {
    let file = path.display().to_string();
    let rerr = |source| CompileError::Read {
        file: file.clone(),
        source,
    };
    if !is_onnx(path) {
        return Ok((std::fs::read_to_string(path).map_err(rerr)?, vec![]));
    }
    let bytes = std::fs::read(path).map_err(rerr)?;
    let imp = onnx::import(&bytes, opts).map_err(|source| CompileError::Frontend {
        file: file.clone(),
        source,
    })?;
    let text = serde_json::to_string_pretty(&imp.model).expect("JSON values serialize");
    Ok((text, imp.notes))
}

/// Read and parse a model file (no passes yet).
pub fn parse_file(path: &Path) -> Result<(String, Graph), CompileError> {
    let file = path.display().to_string();
    let (text, _) = read_model(path, &onnx::ImportOptions::default())?;
    let g = json::parse_model(&text).map_err(|source| CompileError::Frontend { file, source })?;
    Ok((text, g))
}

/// Compile model text through every pass (or up to `stop_after`).
pub fn compile_text(
    file: &str,
    text: &str,
    opts: CompileOptions,
    stop_after: Option<&str>,
) -> Result<Compiled, CompileError> {
    let parsed = json::parse_model(text).map_err(|source| CompileError::Frontend {
        file: file.to_string(),
        source,
    })?;
    let pass_err = |source| CompileError::Pass {
        file: file.to_string(),
        source,
    };
    // The float reference is the model as written: shapes, nothing else.
    // It starts from a copy of the parsed graph, not a second parse: on a
    // big model the JSON costs more than the copy.
    let mut g = parsed.clone();
    passes::run(&mut g, opts, Some("infer_shapes")).map_err(pass_err)?;
    let float = FloatModel::new(&g);
    if stop_after != Some("infer_shapes") {
        let mut full = parsed;
        passes::run(&mut full, opts, stop_after).map_err(pass_err)?;
        g = full;
    }
    Ok(Compiled {
        source: PathBuf::from(file),
        text: text.to_string(),
        graph: g,
        float,
    })
}

pub fn compile_file(
    path: &Path,
    opts: CompileOptions,
    stop_after: Option<&str>,
) -> Result<Compiled, CompileError> {
    let file = path.display().to_string();
    let (text, _) = read_model(path, &onnx::ImportOptions::default())?;
    compile_text(&file, &text, opts, stop_after)
}

/// Everything `neurtl compile` writes.
pub struct Output {
    pub design: verilog::Design,
    pub report: serde_json::Value,
}

/// The Verilog design of a compiled model (no testbench or report).
pub fn design(c: &Compiled) -> Result<verilog::Design, CompileError> {
    verilog::generate(c.lowered()?).map_err(|source| CompileError::Verilog {
        file: c.file(),
        source,
    })
}

/// What the design of a compiled model is, without printing its Verilog.
pub fn describe(c: &Compiled) -> Result<verilog::DesignInfo, CompileError> {
    verilog::describe(c.lowered()?).map_err(|source| CompileError::Verilog {
        file: c.file(),
        source,
    })
}

/// Generate RTL, testbench and report for a compiled model.
pub fn generate(c: &Compiled, n_vectors: usize) -> Result<Output, CompileError> {
    let mut design = design(c)?;
    design
        .files
        .extend(testbench::generate(&design.info, n_vectors));
    let report = crate::report::build(&c.graph, &design.info);
    Ok(Output { design, report })
}

/// Write files under `dir`, creating directories.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> Result<(), CompileError> {
    for (rel, text) in files {
        let p = dir.join(rel);
        let werr = |source| CompileError::Write {
            path: p.display().to_string(),
            source,
        };
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(werr)?;
        }
        std::fs::write(&p, text).map_err(werr)?;
    }
    Ok(())
}

/// Golden-model vectors as the testbenches read them.
pub fn vector_files(
    golden: &Golden,
    info: &verilog::DesignInfo,
    inputs: &[i128],
) -> Vec<(String, String)> {
    let mut expected = vec![];
    golden.run_batch(inputs, &mut expected);
    hex_vectors(info, inputs, &expected)
}

/// [`vector_files`] with the golden model's outputs on `inputs` already
/// computed ([`Golden::run_batch`]), as `expected`.
pub fn hex_vectors(
    info: &verilog::DesignInfo,
    inputs: &[i128],
    expected: &[i128],
) -> Vec<(String, String)> {
    let in_fields: Vec<(u32, usize)> = info.inputs.iter().map(|f| (f.width, f.elements)).collect();
    let out_fields: Vec<(u32, usize)> =
        info.outputs.iter().map(|f| (f.width, f.elements)).collect();
    vec![
        (
            "vectors/in.hex".into(),
            testbench::hex_lines(inputs, &in_fields, info.in_bits),
        ),
        (
            "vectors/expected.hex".into(),
            testbench::hex_lines(expected, &out_fields, info.out_bits),
        ),
    ]
}
