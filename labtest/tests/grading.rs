//! The grading commands end to end: the handout builds and fails (not
//! hangs), the reference gets full marks with a valid results.json, a
//! submission that does not build scores zero with the compiler's errors,
//! a hanging one scores zero within the timeout, and one that ships an
//! edited harness or a build script gains nothing.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{
    ONE_RUN_EACH, assert_contains, grade_batch, initial_election_in, labtest, repo, scratch, text,
};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One grade at a time: a grade's builds would otherwise starve another
/// grade's runs of CPU on a 2-core machine, and a correct Raft could lose an
/// election to that.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A copy of the reference raft crate, changed by `edit` (on lib.rs).
fn submission(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let raft = dir.join("raft");
    fs::create_dir_all(raft.join("src")).unwrap();
    for entry in fs::read_dir(repo().join("raft/src")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), raft.join("src").join(entry.file_name())).unwrap();
    }
    fs::copy(repo().join("raft/Cargo.toml"), raft.join("Cargo.toml")).unwrap();
    let lib = raft.join("src/lib.rs");
    fs::write(&lib, edit(fs::read_to_string(&lib).unwrap())).unwrap();
    raft
}

fn grade(sub: &Path, out: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let results = out.join("results.json");
    let mut args = vec!["grade", sub.to_str().unwrap()];
    args.extend(ONE_RUN_EACH);
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    let output = labtest(&args);
    let json = serde_json::from_str(&fs::read_to_string(&results).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    (output, json)
}

#[test]
fn the_reference_gets_full_marks_and_a_valid_results_json() {
    let _serial = serial();
    let dir = scratch("grading", "reference");
    let sub = submission(&dir, |lib| lib);
    let (out, json) = grade(&sub, &dir.join("out"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json["score"], 15.0, "{}\n{json}", text(&out));
    let tests = json["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 3);
    for t in tests {
        assert_eq!(t["score"], t["max_score"], "{t}");
        assert_eq!(t["visibility"], "visible");
    }
    assert!(json["execution_time"].is_number());
}

#[test]
fn a_submission_that_does_not_build_scores_zero_with_errors() {
    let _serial = serial();
    let dir = scratch("grading", "broken-build");
    let sub = submission(&dir, |lib| {
        lib + "\nfn oops() -> u32 { \"not a number\" }\n"
    });
    let (out, json) = grade(&sub, &dir.join("out"), &[]);
    assert_eq!(json["score"], 0.0, "{}", text(&out));
    assert!(text(&out).contains("does not build"), "{}", text(&out));
    assert!(text(&out).contains("mismatched types"), "{}", text(&out));
    assert!(
        json["tests"][0]["output"]
            .as_str()
            .unwrap()
            .contains("mismatched types"),
        "{json}"
    );
}

#[test]
fn a_hanging_submission_scores_zero_within_the_timeout() {
    let _serial = serial();
    let dir = scratch("grading", "hang");
    let sub = submission(&dir, |lib| {
        lib.replace(
            "let state = self.core.lock();\n        (state.current_term, state.is_leader())",
            "loop {\n            labrpc::time::sleep(labrpc::time::Duration::from_secs(1));\n        }",
        )
    });
    assert!(
        fs::read_to_string(sub.join("src/lib.rs"))
            .unwrap()
            .contains("loop {"),
        "the edit did not apply"
    );
    let t0 = Instant::now();
    let (out, json) = grade(&sub, &dir.join("out"), &["--timeout", "15"]);
    assert_eq!(json["score"], 0.0, "{}", text(&out));
    assert_contains(&out, "test took longer than");
    // Build plus three 15 s runs at once, with room for a slow machine.
    assert!(
        t0.elapsed() < Duration::from_secs(240),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn an_edited_harness_or_build_script_gains_nothing() {
    let _serial = serial();
    let dir = scratch("grading", "cheat");
    // A submission that never elects, shipped with an edited copy of the
    // harness that would pass anything, a build script and a manifest with
    // an extra dependency, as a .tar.gz.
    let pack = dir.join("pack");
    let sub = submission(&pack, |lib| {
        lib.replace(
            "(state.current_term, state.is_leader())",
            "(state.current_term, false)",
        )
    });
    fs::write(
        sub.join("build.rs"),
        "fn main() { panic!(\"build scripts must not run\") }",
    )
    .unwrap();
    let manifest =
        fs::read_to_string(sub.join("Cargo.toml")).unwrap() + "not_a_crate_at_all = \"99\"\n";
    fs::write(sub.join("Cargo.toml"), manifest).unwrap();
    let harness = pack.join("tests/src");
    fs::create_dir_all(&harness).unwrap();
    fs::write(
        harness.join("lib.rs"),
        "pub fn check_one_leader() -> usize { 0 }",
    )
    .unwrap();
    let archive = dir.join("cheat.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&pack)
        .args(["raft", "tests"])
        .status()
        .unwrap();
    assert!(status.success());
    let (out, json) = grade(&archive, &dir.join("out"), &[]);
    assert_eq!(json["score"], 0.0, "{}", text(&out));
    assert_contains(&out, "expected one leader, got none");
    assert_contains(&out, "build.rs was ignored");
    assert_contains(&out, "Cargo.toml was replaced");
}

#[test]
fn the_handout_builds_and_its_tests_fail_without_hanging() {
    let _serial = serial();
    let dir = scratch("grading", "handout");
    let tree = dir.join("lab");
    let out = labtest(&["handout", "--out", tree.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(tree.join("raft/src/lib.rs").is_file() && tree.join("README.md").is_file());
    assert!(
        !tree.join("grading").exists(),
        "the handout holds the grading files"
    );
    assert!(
        !fs::read_to_string(tree.join("raft/src/lib.rs"))
            .unwrap()
            .contains("fn send_heartbeats")
    );
    // Writing over a non-empty folder is refused.
    let again = labtest(&["handout", "--out", tree.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    let t0 = Instant::now();
    let run = initial_election_in(&tree, &[]);
    assert_eq!(run.status.code(), Some(101), "{}", text(&run));
    assert_contains(&run, "expected one leader, got none");
    assert!(
        t0.elapsed() < Duration::from_secs(300),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn a_batch_grades_every_submission_and_survives_broken_ones() {
    let _serial = serial();
    let dir = scratch("grading", "batch");
    let subs = dir.join("subs");
    fs::create_dir_all(&subs).unwrap();
    let good = submission(&dir.join("a"), |lib| lib);
    fs::rename(&good, subs.join("alice")).unwrap();
    let bad = submission(&dir.join("b"), |lib| lib + "\nthis is not rust\n");
    fs::rename(&bad, subs.join("bob")).unwrap();
    fs::write(subs.join("carol.tar.gz"), "not an archive").unwrap();
    let out_dir = dir.join("out");
    let out = grade_batch(&subs, &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = fs::read_to_string(out_dir.join("scores.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[1].starts_with("alice,15,15,true,5,5,5,"), "{csv}");
    assert!(rows[2].starts_with("bob,0,15,false,"), "{csv}");
    assert!(rows[3].starts_with("carol,0,15,false,"), "{csv}");
    assert_contains(&out, "3 submissions, mean score 5.0/15");
    for name in ["alice", "bob", "carol"] {
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(out_dir.join(name).join("results.json")).unwrap(),
        )
        .unwrap();
        assert!(json["score"].is_number(), "{name}: {json}");
    }
}
