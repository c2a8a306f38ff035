//! The grading commands end to end: the handout builds and fails (not
//! hangs) and its `labtest check` finds what the grader would refuse, the reference gets full marks with a valid results.json, a
//! submission that does not build scores zero with the compiler's errors,
//! a hanging one scores zero within the timeout and names the step it hung
//! in, and one that ships an edited harness or a build script gains
//! nothing. A grade prints and records its master seed and `--seed`
//! repeats its runs; the replay line of a failed run replays the
//! submission's own Raft; failures on an overloaded grader are re-run (up
//! to the cap) instead of scored; two submissions of one name keep their
//! own reports; an interrupted grade exits 130/143, leaves no child behind
//! and no results.json that looks current; the catalog refuses an unknown
//! bug before anything runs. By part: the reference gets full marks on 2B
//! and 2C (in virtual time), a 2B catalog bug loses the test that catches
//! it, results.json names tests as Go does and adds up each part, and a
//! part that does not exist is refused before anything runs.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_contains, initial_election_in, labtest, repo, scratch, submission, text};

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

/// labtest with `args`, run from the repository.
fn labtest_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labtest"));
    cmd.args(args).current_dir(repo());
    cmd
}

/// The JSON file at `path`.
fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The path after `prefix` on the line of `out` that starts with it.
fn path_after(out: &Output, prefix: &str) -> PathBuf {
    let all = text(out);
    let line = all
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{all}"));
    PathBuf::from(line.trim())
}

/// A grading command's arguments: `command` on `what` (a submission or a
/// folder of them), one run of each test, reports in `out`, then `extra`;
/// one run at a time (a grading test must not crowd a 2-core machine that
/// runs other jobs) and part 2A only unless `extra` says otherwise.
fn grading_args<'a>(
    command: &'a str,
    what: &'a Path,
    out: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        command,
        what.to_str().unwrap(),
        "-k",
        "1",
        "-p",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--part") {
        args.extend_from_slice(&["--part", "2a"]);
    }
    args
}

/// Grades `sub` with its reports under `out`: the output and the
/// results.json the grade says it wrote.
fn grade(sub: &Path, out: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let args = grading_args("grade", sub, out, extra);
    let output = labtest(&args);
    let results = path_after(&output, "results.json: ");
    let json = serde_json::from_str(&fs::read_to_string(&results).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    (output, json)
}

/// The seeds of the first `n` runs of a grade with master seed 97
/// (`schedule::run_seed`), and of its first re-run round.
const SEED_97_RUNS: [u64; 3] = [
    1_429_728_359_173_760_876,
    3_743_317_065_089_133_460,
    2_450_101_443_684_513_136,
];

/// Every run seed in a grade's `--json` file, scored or re-run.
fn run_seeds(json: &Path) -> Vec<u64> {
    let report = read_json(json);
    ["runs", "suspect_runs_not_scored"]
        .iter()
        .flat_map(|key| report[key].as_array().cloned().unwrap_or_default())
        .map(|run| run["seed"].as_u64().unwrap())
        .collect()
}

/// The output of test `name` in a results.json.
fn test_output<'a>(json: &'a serde_json::Value, name: &str) -> &'a str {
    json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["output"].as_str())
        .unwrap_or_else(|| panic!("no test {name} in {json}"))
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
    // The grade printed its fresh master seed and recorded it.
    let seed = json["master_seed"].as_u64().expect("master_seed");
    assert_contains(
        &out,
        &format!("master seed {seed} (--seed {seed} repeats this grade)"),
    );
    assert_eq!(json["incomplete"], false, "{json}");
    assert_eq!(json["part"], serde_json::json!(["2A"]), "{json}");
    let names: Vec<&str> = tests.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "TestInitialElection2A",
            "TestReElection2A",
            "TestManyElections2A"
        ]
    );
}

#[test]
fn a_submission_that_does_not_build_scores_zero_with_errors() {
    let _serial = serial();
    let dir = scratch("grading", "broken-build");
    let sub = submission(&dir.join("a"), |lib| {
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
    // Another submission also called `raft`, graded into the same reports
    // folder, keeps its own report, and draws its own seed.
    let other = submission(&dir.join("b"), |lib| {
        lib + "\nfn oops() { let x: u32 = 1u64; }\n"
    });
    let (out2, json2) = grade(&other, &dir.join("out"), &[]);
    assert_eq!(
        path_after(&out2, "results.json: "),
        dir.join("out/raft-2/results.json"),
        "{}",
        text(&out2)
    );
    assert!(
        json2["tests"][0]["output"]
            .as_str()
            .unwrap()
            .contains("1u64"),
        "{json2}"
    );
    let first = read_json(&dir.join("out/raft/results.json"));
    assert_eq!(first, json, "the first submission's report was overwritten");
    assert_ne!(
        json["master_seed"], json2["master_seed"],
        "two grades drew one seed"
    );
}

/// A submission whose `get_state` never returns.
fn hanging(dir: &Path) -> PathBuf {
    let sub = submission(dir, |lib| {
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
    sub
}

#[test]
fn a_hanging_submission_scores_zero_within_the_timeout() {
    let _serial = serial();
    let dir = scratch("grading", "hang");
    let sub = hanging(&dir);
    let (out, json) = grade(&sub, &dir.join("out"), &["--timeout", "15"]);
    assert_eq!(json["score"], 0.0, "{}", text(&out));
    assert_contains(&out, "test took longer than");
    // results.json says where the test was stuck.
    let output = test_output(&json, "TestInitialElection2A");
    assert!(output.contains("while: check_one_leader"), "{output}");
    // The runs ended by the limit ("test took longer than", above). The
    // grade's wall time is no measure of that on a loaded machine (a build
    // under load took 393 s once), so nothing here times it.
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
    let runs = dir.join("runs.json");
    let (out, json) = grade(
        &archive,
        &dir.join("out"),
        &["--seed", "97", "--json", runs.to_str().unwrap()],
    );
    assert_eq!(json["score"], 0.0, "{}", text(&out));
    assert_contains(&out, "expected one leader, got none");
    assert_contains(&out, "build.rs was ignored");
    assert_contains(&out, "Cargo.toml was replaced");
    // --seed is recorded, and it decides the runs' seeds.
    assert_eq!(json["master_seed"], 97, "{json}");
    assert_contains(&out, "master seed 97");
    let seeds = run_seeds(&runs);
    assert!(SEED_97_RUNS.iter().all(|s| seeds.contains(s)), "{seeds:?}");
    // results.json names the step of the failure and how to replay it.
    let output = test_output(&json, "TestInitialElection2A");
    assert!(output.contains("while: check_one_leader"), "{output}");
    assert!(
        output.contains("replay in your lab tree: LAB_SEED="),
        "{output}"
    );
    // The replay line replays the submission's Raft, wherever it is run:
    // it fails the same way (the reference would pass).
    let all = text(&out);
    let replay = all
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line in:\n{all}"));
    assert!(replay.starts_with("cd "), "{replay}");
    assert!(
        replay.contains("replay-target") && !replay.contains("grade-target"),
        "a replay must never build in the grader's target dir: {replay}"
    );
    let seed = replay
        .split("LAB_SEED=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    let again = Command::new("sh")
        .args(["-c", replay])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(101), "{replay}\n{}", text(&again));
    assert_contains(&again, "expected one leader, got none");
    assert_contains(&again, &format!("seed: {seed}"));
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
    // The skeleton's run ends with the harness's own verdict (exit 101,
    // Go's message), not a hang or a kill; no wall-clock bound here: the
    // build alone took 417 s beside a load of 15-29.
    let run = initial_election_in(&tree, &[]);
    assert_eq!(run.status.code(), Some(101), "{}", text(&run));
    assert_contains(&run, "expected one leader, got none");

    // `labtest check` (the last step of the handout's `make check`) passes
    // the skeleton, and names a forbidden use by file and line, as the
    // grader's build-integrity check does.
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_labtest"))
            .args(["check", "--workspace", tree.to_str().unwrap()])
            .env(
                "CARGO_TARGET_DIR",
                repo().join("target/labtest/grade-target"),
            )
            .output()
            .unwrap()
    };
    let clean = check();
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert_contains(&clean, "build integrity: ok");
    let lib = tree.join("raft/src/lib.rs");
    let mut source = fs::read_to_string(&lib).unwrap();
    source += "\npub fn peek() -> usize {\n    std::fs::read(\"/etc/hostname\").map_or(0, |b| b.len())\n}\n";
    let line = 1 + source
        .lines()
        .position(|l| l.contains("std::fs::read("))
        .unwrap();
    fs::write(&lib, source).unwrap();
    let caught = check();
    assert_eq!(caught.status.code(), Some(1), "{}", text(&caught));
    assert_contains(
        &caught,
        "build integrity: the submission uses what the course forbids",
    );
    assert_contains(&caught, &format!("src/lib.rs:{line}:"));
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
    // Same name as the folder `bob`: it must get a report of its own.
    fs::write(subs.join("bob.zip"), "not an archive").unwrap();
    fs::write(subs.join("carol.tar.gz"), "not an archive").unwrap();
    // Folders holding one archive each, both named sub.tar.gz.
    let dave = submission(&dir.join("d"), |lib| {
        lib + "\nfn dave() -> u32 { \"dave\" }\n"
    });
    fs::create_dir_all(subs.join("dave")).unwrap();
    let status = Command::new("tar")
        .arg("-czf")
        .arg(subs.join("dave/sub.tar.gz"))
        .arg("-C")
        .arg(dave.parent().unwrap())
        .arg("raft")
        .status()
        .unwrap();
    assert!(status.success());
    fs::create_dir_all(subs.join("erin")).unwrap();
    fs::write(subs.join("erin/sub.tar.gz"), "not an archive").unwrap();
    let out_dir = dir.join("out");
    let out = labtest(&grading_args("grade-batch", &subs, &out_dir, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = fs::read_to_string(out_dir.join("scores.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "submission",
            "path",
            "seed",
            "score",
            "max_score",
            "built",
            "2A",
            "TestInitialElection2A",
            "TestReElection2A",
            "TestManyElections2A",
            "suspect_reruns",
            "scored_at_cap",
            "seconds"
        ]
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    assert_eq!(
        names,
        ["alice", "bob", "bob-2", "carol", "dave", "erin"],
        "{csv}"
    );
    assert_eq!(
        rows[1][3..10],
        ["15", "15", "true", "15", "5", "5", "5"],
        "{csv}"
    );
    for row in &rows[2..] {
        assert_eq!(row[3..6], ["0", "15", "false"], "{csv}");
    }
    assert!(rows[3][1].ends_with("bob.zip"), "{csv}");
    assert_contains(&out, "6 submissions, mean score 2.5/15");
    // Each submission drew its own seed, recorded in the CSV and its report.
    let mut seeds: Vec<&str> = rows[1..].iter().map(|r| r[2]).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 6, "{csv}");
    for row in &rows[1..] {
        let json = read_json(&out_dir.join(row[0]).join("results.json"));
        assert_eq!(
            json["master_seed"].to_string(),
            row[2],
            "{}: {json}",
            row[0]
        );
    }
    // The lone archive was graded, and its report is its folder's.
    let dave_report = fs::read_to_string(out_dir.join("dave/results.json")).unwrap();
    assert!(dave_report.contains("mismatched types"), "{dave_report}");
    let erin_report = fs::read_to_string(out_dir.join("erin/results.json")).unwrap();
    assert!(erin_report.contains("cannot unpack"), "{erin_report}");
}

#[test]
fn make_passes_extra_seed_out_time_and_part_only_when_set() {
    let make = |args: &[&str]| {
        let out = Command::new("make")
            .arg("-n")
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    for (target, what) in [
        ("grade", "SUBMISSION=sub"),
        ("grade-all", "SUBMISSIONS=subs"),
    ] {
        let plain = make(&[target, what]);
        for flag in ["--extra", "--seed", "--out", "--time", "--part"] {
            assert!(!plain.contains(flag), "{target}: {plain}");
        }
        let set = make(&[
            target,
            what,
            "EXTRA=1",
            "SEED=42",
            "OUT=reports",
            "TIME=virtual",
            "PART=2b,2c",
        ]);
        assert!(
            set.contains("--extra")
                && set.contains("--seed 42")
                && set.contains("--out reports")
                && set.contains("--time virtual")
                && set.contains("--part 2b,2c"),
            "{target}: {set}"
        );
    }
    assert!(make(&["grade-catalog", "SEED=7"]).contains("--seed 7"));
    assert!(make(&["grade-catalog", "TIME=virtual"]).contains("--time virtual"));
    assert!(make(&["grade-catalog", "PART=2c"]).contains("--part 2c"));
    assert!(!make(&["grade-catalog"]).contains("--part"));
}

#[test]
fn an_unknown_catalog_bug_is_refused_before_anything_runs() {
    let out = labtest(&["grade-catalog", "no-heartbeats", "no-such-bug"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "no bug named \"no-such-bug\"");
    // It lists the known bugs, and graded nothing.
    assert_contains(&out, "    no-heartbeats");
    assert_contains(&out, "    strict-up-to-date");
    assert!(!text(&out).contains("grading reference"), "{}", text(&out));
    assert!(!text(&out).contains("full marks"), "{}", text(&out));
}

/// The reference, made to play an overloaded grader: in every 7-peer test,
/// and in the 3-peer tests whose seed is a multiple of 4, no peer ever
/// leads, and a thread's timed wait ends while another holds its lock for
/// 300 ms, so the layer measures it waking about 300 ms late.
fn overloaded(dir: &Path) -> PathBuf {
    submission(dir, |lib| {
        let lib = lib
            .replace(
                "(state.current_term, state.is_leader())",
                "(state.current_term, state.is_leader() && !overloaded::playing())",
            )
            .replace(
                "let core = Arc::new(Core::new(peers, me, persister, apply_ch));",
                "overloaded::set_peers(peers.len());\n        if me == 0 && overloaded::playing() {\n            overloaded::wake_late();\n        }\n        let core = Arc::new(Core::new(peers, me, persister, apply_ch));",
            );
        assert!(lib.contains("overloaded::wake_late()") && lib.contains("!overloaded::playing()"));
        lib + r#"
mod overloaded {
    use labrpc::sync::{Condvar, Mutex};
    use labrpc::time::{self, Duration};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static PEERS: AtomicUsize = AtomicUsize::new(0);
    static LOCK: Mutex<()> = Mutex::new(());
    static WAKE: Condvar = Condvar::new();

    pub fn set_peers(n: usize) {
        PEERS.store(n, Ordering::SeqCst);
    }

    pub fn playing() -> bool {
        PEERS.load(Ordering::SeqCst) == 7 || labrpc::rand::seed() % 4 == 0
    }

    pub fn wake_late() {
        labrpc::thread::spawn("late-waiter", || {
            for _ in 0..5 {
                let mut guard = LOCK.lock();
                WAKE.wait_for(&mut guard, Duration::from_millis(20));
            }
        });
        labrpc::thread::spawn("late-holder", || {
            for _ in 0..5 {
                time::sleep(Duration::from_millis(5));
                let _guard = LOCK.lock();
                time::sleep(Duration::from_millis(300));
            }
        });
    }
}
"#
    })
}

#[test]
fn failures_on_an_overloaded_grader_are_run_again_up_to_the_cap() {
    let _serial = serial();
    let dir = scratch("grading", "overloaded");
    let sub = overloaded(&dir);
    let runs = dir.join("runs.json");
    // Master seed 97: all three first runs have seeds that are multiples of
    // 4 (every test fails, woken late), and none of the first re-runs has.
    let (out, json) = grade(
        &sub,
        &dir.join("out"),
        &["--seed", "97", "--json", runs.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seeds = run_seeds(&runs);
    assert!(SEED_97_RUNS.iter().all(|s| seeds.contains(s)), "{seeds:?}");
    // The 3-peer tests passed on their re-runs: full marks, and the report
    // says their suspect runs were re-run and not scored.
    for test in ["TestInitialElection2A", "TestReElection2A"] {
        let output = test_output(&json, test);
        assert!(output.starts_with("1 of 1 runs passed"), "{test}: {output}");
        assert!(
            output.contains("suspect run re-run (not scored)")
                || output.contains("suspect runs re-run (not scored)"),
            "{test}: {output}"
        );
    }
    // The 7-peer test fails every time: three re-runs, then the cap, and
    // the last failure is scored, saying so.
    let output = test_output(&json, "TestManyElections2A");
    assert!(
        output.contains("3 suspect runs re-run (not scored)"),
        "{output}"
    );
    assert!(
        output.contains(
            "re-run cap reached (3 per test): 1 failure on an overloaded grader scored as failed"
        ),
        "{output}"
    );
    assert_eq!(json["score"], 10.0, "{}\n{json}", text(&out));
    assert_contains(&out, "3 (cap)");
    assert_contains(&out, "suspect runs re-run instead of scored:");
}

/// Processes whose environment mentions `needle` (a grade's scratch
/// folder): the runs a grade started.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(env) = fs::read(entry.path().join("environ"))
            && String::from_utf8_lossy(&env).contains(needle)
        {
            let cmd = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

/// Starts `cmd`, waits until a run has started in `runs` (a schedule's
/// scratch folder), checks that `results` already says the grade is
/// incomplete, sends `signal`, and returns the output.
fn interrupt_once_running(mut cmd: Command, results: &Path, signal: &str) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    // The runner keeps its runs' files in `$TMPDIR/labtest-runs-<pid>-<n>/`
    // while they run: a `.out` file there means a run has started.
    let prefix = format!("labtest-runs-{}-", child.id());
    let has_output = |dir: &Path| {
        fs::read_dir(dir).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "out"))
        })
    };
    let started = || {
        fs::read_dir(std::env::temp_dir()).is_ok_and(|d| {
            d.flatten().any(|e| {
                e.file_name().to_string_lossy().starts_with(&prefix) && has_output(&e.path())
            })
        })
    };
    while !started() && t0.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let during: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(results).unwrap_or_default()).unwrap_or_default();
    let was_running = started();
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(was_running, "no run started:\n{}", text(&out));
    assert!(killed.success());
    assert_eq!(during["incomplete"], true, "while grading: {during}");
    out
}

/// No process of the grade in `dir` is left, within a few seconds.
fn assert_no_survivors(dir: &Path) {
    let needle = dir.to_str().unwrap();
    let t0 = Instant::now();
    let mut left = processes_mentioning(needle);
    while !left.is_empty() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        left = processes_mentioning(needle);
    }
    assert!(left.is_empty(), "runs left after the interrupt: {left:?}");
}

#[test]
fn ctrl_c_during_a_grade_kills_the_runs_and_leaves_no_current_results() {
    let _serial = serial();
    let dir = scratch("grading", "sigint");
    let sub = hanging(&dir.join("sub"));
    let results = dir.join("results.json");
    fs::write(&results, r#"{"score": 15.0, "tests": []}"#).unwrap();
    let out_dir = dir.join("out");
    let cmd = labtest_command(&grading_args(
        "grade",
        &sub,
        &out_dir,
        &["--results", results.to_str().unwrap()],
    ));
    let out = interrupt_once_running(cmd, &results, "-INT");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_contains(&out, "INTERRUPTED by SIGINT");
    let json = read_json(&results);
    assert_eq!(json["incomplete"], true, "{json}");
    assert_eq!(json["score"], 0.0, "{json}");
    assert!(
        json["output"]
            .as_str()
            .unwrap()
            .contains("interrupted by SIGINT"),
        "{json}"
    );
    assert_no_survivors(&dir);
}

#[test]
fn sigterm_during_a_batch_kills_the_runs_and_writes_no_scores() {
    let _serial = serial();
    let dir = scratch("grading", "sigterm");
    let subs = dir.join("subs");
    let sub = hanging(&dir.join("sub"));
    fs::create_dir_all(&subs).unwrap();
    fs::rename(&sub, subs.join("hang")).unwrap();
    let out_dir = dir.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    fs::write(out_dir.join("scores.csv"), "submission,score\nold,15\n").unwrap();
    let cmd = labtest_command(&grading_args("grade-batch", &subs, &out_dir, &[]));
    let results = out_dir.join("hang/results.json");
    let out = interrupt_once_running(cmd, &results, "-TERM");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    assert_contains(&out, "INTERRUPTED by SIGTERM");
    assert_contains(&out, "scores.csv not written");
    assert!(
        !out_dir.join("scores.csv").exists(),
        "an old scores.csv survived"
    );
    let json = read_json(&results);
    assert_eq!(json["incomplete"], true, "{json}");
    assert_no_survivors(&dir);
}

/// The tests of a results.json as (name, score, max_score).
fn scores(json: &serde_json::Value) -> Vec<(String, f64, f64)> {
    json["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("no tests in {json}"))
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["score"].as_f64().unwrap(),
                t["max_score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Grades `sub` on `parts` in virtual time, seed 2026, checking that the
/// grade finished.
fn grade_parts_in_virtual_time(sub: &Path, out: &Path, parts: &str) -> (Output, serde_json::Value) {
    grade_in_virtual_time(sub, out, &["--part", parts])
}

/// Grades `sub` in virtual time on seed 2026 with `args`; the grade must
/// finish.
fn grade_in_virtual_time(sub: &Path, out: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let mut args = args.to_vec();
    args.extend_from_slice(&["--time", "virtual", "--seed", "2026"]);
    let (output, json) = grade(sub, out, &args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(json["incomplete"], false, "{json}");
    (output, json)
}

#[test]
fn the_reference_gets_full_marks_on_2b_and_2c_in_virtual_time() {
    let _serial = serial();
    let dir = scratch("grading", "parts-reference");
    let sub = submission(&dir, |lib| lib);
    let (out, json) =
        grade_in_virtual_time(&sub, &dir.join("out"), &["--part", "2b,2c", "--extra"]);
    // Each of Go's 18 tests of 2B and 2C, under Go's name, worth 5 points,
    // then the 2C extra set, reported apart.
    let tests = scores(&json);
    let names: Vec<&str> = tests.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names.len(), 20, "{json}");
    assert_eq!(
        names[18..],
        [
            "vote_survives_crash_2c_extra (extra)",
            "late_copies_lose_nothing_2c_extra (extra)"
        ]
    );
    assert_eq!(names[0], "TestBasicAgree2B");
    assert_eq!(names[9], "TestCount2B");
    assert_eq!(names[10], "TestPersist12C");
    assert_eq!(names[17], "TestUnreliableChurn2C");
    for (name, score, max) in &tests {
        assert_eq!((*score, *max), (5.0, 5.0), "{name}: {}\n{json}", text(&out));
    }
    assert_eq!(json["score"], 90.0, "{}\n{json}", text(&out));
    assert_eq!(json["part"], serde_json::json!(["2B", "2C"]), "{json}");
    assert_eq!(
        json["parts"],
        serde_json::json!({"2B": {"score": 50.0, "max_score": 50.0},
                           "2C": {"score": 40.0, "max_score": 40.0}}),
        "{json}"
    );
    assert_contains(&out, "score: 90/90 (2B 50/50, 2C 40/40)");
}

/// A peer that forgets its vote in a crash passes all of Go's 2C tests
/// (0 of 1,400 runs caught it); the 2C extra set's crash between two
/// candidates of one term catches it, and the grade says so apart from
/// the score.
#[test]
fn a_bug_go_misses_loses_only_the_2c_extra_test_that_catches_it() {
    let _serial = serial();
    let dir = scratch("grading", "extra-2c-bug");
    let sub = catalog_bug(&dir, "forgets-to-persist-vote");
    let (out, json) = grade_in_virtual_time(&sub, &dir.join("out"), &["--part", "2c", "--extra"]);
    assert_eq!(scores(&json).len(), 10, "{json}");
    let lost = lost_tests(&json);
    assert_eq!(
        lost,
        ["vote_survives_crash_2c_extra (extra)"],
        "{}\n{json}",
        text(&out)
    );
    let output = test_output(&json, "vote_survives_crash_2c_extra (extra)");
    assert!(output.contains("election safety"), "{output}");
    // The extra set is reported apart: Go's 2C score stays full.
    assert_eq!(json["score"], 40.0, "{json}");
    assert_contains(&out, "extra: 5/10");
}

/// The tests of a grade that scored nothing.
fn lost_tests(json: &serde_json::Value) -> Vec<String> {
    scores(json)
        .into_iter()
        .filter(|(_, score, _)| *score == 0.0)
        .map(|(name, _, _)| name)
        .collect()
}

/// The reference with the catalog bug `name` applied.
fn catalog_bug(dir: &Path, name: &str) -> PathBuf {
    let sub = submission(dir, |lib| lib);
    let patch = repo().join(format!("grading/bugs/{name}.patch"));
    let status = Command::new("patch")
        .args(["-p1", "-s", "-N", "-i"])
        .arg(&patch)
        .current_dir(&sub)
        .status()
        .unwrap();
    assert!(status.success(), "{} does not apply", patch.display());
    sub
}

#[test]
fn a_2b_catalog_bug_loses_the_points_of_the_tests_that_catch_it() {
    let _serial = serial();
    let dir = scratch("grading", "parts-bug");
    // Applies only the newest committed entry: Go's TestFailAgree2B and
    // TestConcurrentStarts2B caught it in every run of the catalog (virtual
    // time, seed 2026), TestBasicAgree2B in none.
    let sub = catalog_bug(&dir, "applies-only-latest");
    let (out, json) = grade_parts_in_virtual_time(&sub, &dir.join("out"), "2b");
    assert_eq!(scores(&json).len(), 10, "{json}");
    let lost = lost_tests(&json);
    for caught in ["TestFailAgree2B", "TestConcurrentStarts2B"] {
        assert!(
            lost.iter().any(|t| t == caught),
            "{caught} missed it: {}\n{json}",
            text(&out)
        );
        let output = test_output(&json, caught);
        assert!(output.starts_with("0 of 1 runs passed"), "{output}");
        assert!(output.contains("first failure (failed, seed "), "{output}");
        assert!(output.contains("apply error"), "{output}");
        assert!(output.contains("replay in your lab tree: "), "{output}");
    }
    assert!(!lost.iter().any(|t| t == "TestBasicAgree2B"), "{json}");
    // Each lost test costs its 5 points, and only those.
    let score = 50.0 - 5.0 * lost.len() as f64;
    assert_eq!(json["score"], score, "{json}");
    assert_eq!(
        json["parts"],
        serde_json::json!({"2B": {"score": score, "max_score": 50.0}}),
        "{json}"
    );
}

#[test]
fn a_part_that_does_not_exist_is_refused_before_anything_runs() {
    let dir = scratch("grading", "bad-part");
    let sub = submission(&dir, |lib| lib);
    for command in ["grade", "grade-batch"] {
        let out = labtest(&grading_args(
            command,
            &sub,
            &dir.join("out"),
            &["--part", "2b,2e"],
        ));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert_contains(&out, "no part \"2e\"; the parts are 2a, 2b, 2c, 2d, or all");
        assert!(!text(&out).contains("master seed"), "{}", text(&out));
    }
    let out = labtest(&["grade-catalog", "--part", "2e"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "the parts are 2a, 2b, 2c, 2d, or all");
    assert!(!text(&out).contains("grading reference"), "{}", text(&out));
    // The extra tests are 2A's and 2C's: asking for them without either is
    // refused too.
    let out = labtest(&grading_args(
        "grade",
        &sub,
        &dir.join("out"),
        &["--part", "2b,2d", "--extra"],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(
        &out,
        "the extra tests belong to parts 2A and 2C, which --part 2b,2d leaves out: add 2a or 2c",
    );
    assert!(!dir.join("out").exists(), "a refused grade wrote reports");
}
