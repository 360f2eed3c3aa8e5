//! Edges of the command line: output into a closed pipe, and builds that
//! must not depend on where or in which environment they run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `neurtl estimate … | head -0`: the reader is gone before the first
/// line; neurtl ends quietly (by SIGPIPE, as `cat` does), not with a
/// panic message.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        vec!["estimate", "examples/jet_tagger/model.json"],
        vec!["inspect", "examples/muon_tracker/model.json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_neurtl"))
            .args(&args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.is_empty(), "{args:?} wrote to stderr: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{args:?}: {:?}",
                out.status
            );
        }
    }
}

/// Every file of `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Each example compiled twice, from two working directories, into
/// differently named directories and under another environment: the
/// same bytes. (The report names the model file as it was given, so both
/// runs give the same absolute path.)
#[test]
fn builds_are_byte_identical_wherever_they_run() {
    let tmp = tempfile::tempdir().unwrap();
    for ex in ["jet_tagger", "bnn_digits", "muon_tracker", "conv_digits"] {
        let abs = root().join(format!("examples/{ex}/model.json"));
        let a = tmp.path().join(format!("{ex}_a"));
        let b = tmp.path().join("elsewhere").join(format!("{ex}_second"));
        let run = |model: &Path, out: &Path, cwd: &Path, env: &[(&str, &str)]| {
            let o = Command::new(env!("CARGO_BIN_EXE_neurtl"))
                .arg("compile")
                .arg(model)
                .arg("-o")
                .arg(out)
                .current_dir(cwd)
                .envs(env.iter().copied())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{ex}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        run(&abs, &a, &root(), &[]);
        std::fs::create_dir_all(b.parent().unwrap()).unwrap();
        let env = [
            ("TZ", "Asia/Tokyo"),
            ("LC_ALL", "C"),
            ("RAYON_NUM_THREADS", "1"),
        ];
        run(&abs, &b, tmp.path(), &env);
        let (ta, tb) = (tree(&a), tree(&b));
        let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ta), names(&tb), "{ex}: different files");
        for ((p, x), (_, y)) in ta.iter().zip(&tb) {
            assert!(x == y, "{ex}: {} differs between the builds", p.display());
        }
    }
}

/// Layer, input and model names that are Verilog keywords, comment ends,
/// backslashes, quotes, newlines, non-ASCII, 10,000 characters long, or
/// equal after legalization: the Verilog is lint-clean and carries none
/// of them (so none can inject code), the harness's C header spells each
/// output's name so that a C++ compiler reads back the original, and
/// report.json names every output by its original name.
#[test]
fn hostile_names_give_lint_clean_verilog() {
    let names = [
        "module".to_string(),
        "a */ b".into(),
        "back\\slash".into(),
        "quo\"te".into(),
        "new\nline // x".into(),
        "ünï".into(),
        "L".repeat(10_000),
        "fc 1".into(),
        "fc_1".into(),
        "FC_1".into(),
        "endmodule".into(),
        "$display(\"pwn\");".into(),
    ];
    let mut layers = vec![];
    let mut prev = "wire".to_string();
    for (i, n) in names.iter().enumerate() {
        let w = if i == 0 {
            serde_json::json!([[0.5, -0.25, 0.875], [0.25, 0.5, -1.0]])
        } else {
            serde_json::json!([[0.5, -0.25], [0.75, 0.875]])
        };
        layers.push(serde_json::json!({
            "name": n, "op": "dense", "input": prev, "units": 2, "weights": w,
            "weight_type": "fixed<4,1>", "output_type": "fixed<8,3,rnd,sat>"}));
        prev = n.clone();
    }
    let outputs = [
        prev.clone(),
        "fc 1".into(),
        "ünï".into(),
        "new\nline // x".into(),
        "quo\"te".into(),
        "back\\slash".into(),
    ];
    let model = serde_json::json!({
        "format": "neurtl-model", "version": 1, "name": "module\n*/ evil",
        "inputs": [{"name": "wire", "shape": [3], "type": "fixed<6,3>"}],
        "layers": layers, "outputs": outputs,
    });
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("names.json");
    std::fs::write(&path, model.to_string()).unwrap();
    let out = tmp.path().join("b");
    let o = Command::new(env!("CARGO_BIN_EXE_neurtl"))
        .arg("compile")
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let got: Vec<&str> = report["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, outputs.iter().map(String::as_str).collect::<Vec<_>>());
    let top = report["top"].as_str().unwrap();
    assert!(
        top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{top}"
    );
    let mut sources = vec![];
    let verilog = std::fs::read_dir(out.join("rtl"))
        .unwrap()
        .chain(std::fs::read_dir(out.join("tb")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "v"));
    for p in verilog {
        let text = std::fs::read_to_string(&p).unwrap();
        for bad in ["pwn", "*/ b", "slash", "quo", "ünï", "LLLLLLLL"] {
            assert!(!text.contains(bad), "{} holds `{bad}`", p.display());
        }
        if p.parent().unwrap().ends_with("rtl") {
            sources.push(p);
        }
    }
    assert_eq!(c_header_names(&out.join("tb/tb_config.h")), {
        // one entry per element of each (two-element) output
        outputs
            .iter()
            .flat_map(|o| [o.clone(), o.clone()])
            .collect::<Vec<_>>()
    });
    let lint = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", top])
        .args(&sources)
        .output()
        .expect("verilator (make setup installs it)");
    assert!(
        lint.status.success() && lint.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// The output names of a harness header, as a C++ compiler reads them.
fn c_header_names(header: &Path) -> Vec<String> {
    let dir = header.parent().unwrap();
    let main = dir.join("names.cpp");
    std::fs::write(
        &main,
        "#include <cstdio>\n#include \"tb_config.h\"\nint main() { for (int i = 0; i < TB_N_OUT_FIELDS; i++) { fputs(TB_OUT_FIELDS[i].name, stdout); fputc(0, stdout); } }\n",
    )
    .unwrap();
    let exe = dir.join("names");
    let cc = Command::new("g++")
        .arg("-o")
        .arg(&exe)
        .arg(&main)
        .output()
        .expect("g++");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(run.stdout).unwrap();
    text.split('\0')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
