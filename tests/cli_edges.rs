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
