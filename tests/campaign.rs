//! `neurtl campaign`: the generated Slurm and HTCondor files' job command
//! lines, run here as a scheduler would run them, and the GNU parallel
//! runner for the rest; the merged summary must count every network and
//! every vector, with no mismatch.

mod common;

use common::neurtl_command;
use std::process::Command;

#[test]
fn scheduler_files_run_their_jobs_and_results_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    let ds = d.to_str().unwrap();
    let out = neurtl_command(&[
        "campaign",
        "write",
        ds,
        "--networks",
        "3",
        "--seed",
        "7",
        "--vectors",
        "40",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Slurm: the array script as the scheduler starts it, task 0
    let slurm = Command::new("sh")
        .arg(d.join("slurm.sh"))
        .env("SLURM_ARRAY_TASK_ID", "0")
        .output()
        .unwrap();
    assert!(
        slurm.status.success(),
        "{}",
        String::from_utf8_lossy(&slurm.stdout)
    );
    // HTCondor: executable and arguments of process 1, as condor expands them
    let sub = std::fs::read_to_string(d.join("condor.sub")).unwrap();
    let field = |k: &str| {
        let line = sub
            .lines()
            .find(|l| l.starts_with(&format!("{k} = ")))
            .unwrap();
        line[k.len() + 3..].replace("$(Process)", "1")
    };
    assert!(sub.contains("queue 3"), "{sub}");
    let condor = Command::new(field("executable"))
        .args(field("arguments").split_whitespace())
        .output()
        .unwrap();
    assert!(
        condor.status.success(),
        "{}",
        String::from_utf8_lossy(&condor.stdout)
    );
    // GNU parallel runs what is left (job 2) and skips nothing it logged
    common::stdout_of(
        Command::new("sh")
            .arg(d.join("run-local.sh"))
            .output()
            .unwrap(),
        "run-local.sh",
    );
    let merged = neurtl_command(&["campaign", "merge", ds]).output().unwrap();
    let text = String::from_utf8_lossy(&merged.stdout);
    assert!(merged.status.success(), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["done"], 3, "{summary}");
    assert_eq!(summary["passed"], 3, "{summary}");
    assert_eq!(summary["vectors"], 120, "{summary}");
    assert_eq!(summary["mismatches"], 0, "{summary}");
    // a passing job leaves no work behind; a job out of range is an error
    assert_eq!(std::fs::read_dir(d.join("work")).unwrap().count(), 0);
    let bad = neurtl_command(&["campaign", "job", ds, "3"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
