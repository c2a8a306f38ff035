//! Helpers shared by labtest's integration tests.

// Test helpers around OS processes, outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, dead_code)]

use std::path::PathBuf;
use std::process::Output;

/// A fresh, empty temporary folder for one test.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labtest-{group}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A command's stdout and stderr together.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails, showing all the output, unless it contains `needle`.
#[track_caller]
pub fn assert_contains(out: &Output, needle: &str) {
    let all = text(out);
    assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
}

/// The repository's root.
pub fn repo() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs labtest with `args` from the repository's root.
pub fn labtest(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_labtest"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// Grading options for tests: one run of each 2A test, three at once,
/// quiet (2B and 2C would add minutes of real time and prove nothing more
/// about what these tests check).
pub const ONE_RUN_EACH: [&str; 7] = ["-k", "1", "-p", "3", "--quiet", "--part", "2a"];

/// Grades every submission in `subs` in one session (`grade-batch`, one
/// run of each test), with the reports in `out`.
pub fn grade_batch(subs: &std::path::Path, out: &std::path::Path) -> Output {
    let mut args = vec!["grade-batch", subs.to_str().unwrap()];
    args.extend(ONE_RUN_EACH);
    args.extend(["--out", out.to_str().unwrap()]);
    labtest(&args)
}

/// Runs `initial_election_2a` in the lab tree `tree` (a handout) the way a
/// student does, with `envs` added to its environment; the build shares
/// the grader's target dir.
pub fn initial_election_in(tree: &std::path::Path, envs: &[(&str, &std::path::Path)]) -> Output {
    let mut cmd = std::process::Command::new("cargo");
    cmd.args([
        "test",
        "--release",
        "-q",
        "-p",
        "tests",
        "--test",
        "raft_2a",
    ])
    .args(["--", "initial_election_2a", "--exact"])
    .current_dir(tree)
    .env(
        "CARGO_TARGET_DIR",
        repo().join("target/labtest/grade-target"),
    );
    for (key, value) in envs {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// Where `Raft::make` starts an attack in `lib.rs`: the start of its body.
fn make_body(lib: &str) -> usize {
    let make = lib.find("pub fn make(").expect("lib.rs has no Raft::make");
    let open = lib[make..]
        .find(") -> Raft {")
        .expect("Raft::make returns Raft");
    make + open + ") -> Raft {".len()
}

/// A copy of the handout's raft skeleton (which never elects a leader) in
/// `dest`, with `attack` as `src/attack.rs` and `attack::run(me)` first in
/// `Raft::make`.
pub fn skeleton_with_attack(dest: &std::path::Path, attack: &str) -> PathBuf {
    let skeleton = repo().join("grading/handout/raft");
    std::fs::create_dir_all(dest.join("src")).unwrap();
    std::fs::copy(skeleton.join("Cargo.toml"), dest.join("Cargo.toml")).unwrap();
    let mut lib = std::fs::read_to_string(skeleton.join("src/lib.rs")).unwrap();
    lib.insert_str(make_body(&lib), "\n        attack::run(me);");
    lib += "\nmod attack;\n";
    std::fs::write(dest.join("src/lib.rs"), lib).unwrap();
    std::fs::write(dest.join("src/attack.rs"), attack).unwrap();
    dest.to_path_buf()
}

/// A copy of the reference raft crate, changed by `edit` (on lib.rs).
pub fn submission(dir: &std::path::Path, edit: impl Fn(String) -> String) -> PathBuf {
    let raft = dir.join("raft");
    std::fs::create_dir_all(raft.join("src")).unwrap();
    for entry in std::fs::read_dir(repo().join("raft/src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), raft.join("src").join(entry.file_name())).unwrap();
    }
    std::fs::copy(repo().join("raft/Cargo.toml"), raft.join("Cargo.toml")).unwrap();
    let lib = raft.join("src/lib.rs");
    std::fs::write(&lib, edit(std::fs::read_to_string(&lib).unwrap())).unwrap();
    raft
}

/// A class of four (partition.rs, slurm.rs): the reference (`alice`), two submissions named `bob`
/// (a folder that does not compile and an archive that is not one), and
/// `carol.tar.gz`, not an archive either. Only alice builds, so the test
/// pays for two builds of the Raft in all.
pub fn class(dir: &std::path::Path) -> PathBuf {
    let subs = dir.join("subs");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::rename(submission(&dir.join("a"), |lib| lib), subs.join("alice")).unwrap();
    let bob = subs.join("bob");
    std::fs::create_dir_all(bob.join("src")).unwrap();
    std::fs::write(bob.join("src/lib.rs"), "this is not rust\n").unwrap();
    std::fs::write(subs.join("bob.zip"), "not an archive").unwrap();
    std::fs::write(subs.join("carol.tar.gz"), "not an archive").unwrap();
    subs
}

/// `grade-batch` of part 2A of `subs` into `out` with master seed 5, in
/// virtual time (the same seed gives the same runs), one run of each test,
/// then `extra`.
pub fn batch(
    subs: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "grade-batch",
        subs.to_str().unwrap(),
        "-k",
        "1",
        "-p",
        "2",
        "--quiet",
        "--part",
        "2a",
        "--time",
        "virtual",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    labtest(&args)
}

/// scores.csv without its last column (the seconds each grade took).
pub fn scores_without_seconds(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out.join("scores.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

/// A results.json's score and master seed.
pub fn score_and_seed(
    out: &std::path::Path,
    folder: &str,
) -> (serde_json::Value, serde_json::Value) {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(folder).join("results.json")).unwrap(),
    )
    .unwrap();
    (json["score"].clone(), json["master_seed"].clone())
}

/// Fails unless the class of four graded into `merged` (in shares, then
/// merged) has the scores.csv (but for the seconds) and results.json files
/// of the class graded whole into `whole`, and the reference scored 15/15.
#[track_caller]
pub fn assert_class_graded_alike(merged: &std::path::Path, whole: &std::path::Path) {
    let whole_rows = scores_without_seconds(whole);
    assert_eq!(scores_without_seconds(merged), whole_rows);
    assert_eq!(whole_rows.len(), 5, "{whole_rows:?}");
    assert!(whole_rows[1].starts_with("alice,"), "{whole_rows:?}");
    assert!(
        whole_rows[1].contains(",15,15,true,15,5,5,5"),
        "{whole_rows:?}"
    );
    for folder in ["alice", "bob", "bob-2", "carol"] {
        assert_eq!(
            score_and_seed(merged, folder),
            score_and_seed(whole, folder),
            "{folder}"
        );
    }
    assert_eq!(score_and_seed(merged, "alice").0, 15.0);
}
