//! `labtest replay` against the fake lab binary: a kept failed run of
//! `stress` replayed from its folder or file (matched, differs), real time's
//! warning, `--test` and `--seed`, and bad input (exit 2).

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_contains, scratch, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FAKE: &str = env!("CARGO_BIN_EXE_fake_lab");

/// `labtest` with `args`, clear of the caller's lab variables.
fn labtest(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labtest"));
    cmd.args(args);
    for var in [
        "LAB_LOG",
        "LAB_TEST_LIMIT",
        "LAB_TIME",
        "LAB_SCHED",
        "FAKE_DIVERGE_AT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// One failed run of `late_fake` on `time`, kept by `stress` in
/// `dir/out`: the folder.
fn kept_failure(dir: &Path, time: &str) -> PathBuf {
    let out = dir.join("out");
    let run = labtest(&["stress", "--quiet", "--bin", FAKE, "late", "-n", "1"])
        .args(["--seed", "11", "--time", time, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    out
}

fn replay(args: &[&str]) -> Output {
    labtest(&["replay"]).args(args).output().unwrap()
}

/// The one file in `dir` whose name ends with `suffix` (a replay's own
/// files only if `suffix` names them).
fn file_ending(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .filter(|p| suffix.contains("replay") || !p.to_string_lossy().contains(".replay."))
        .collect();
    assert_eq!(found.len(), 1, "{suffix} in {found:?}");
    found[0].clone()
}

#[test]
fn a_virtual_time_failure_replays_event_for_event() {
    let dir = scratch("replay", "matched");
    let folder = kept_failure(&dir, "virtual");
    let out = replay(&[folder.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "replaying late_fake with seed");
    // The test's own output is shown.
    assert_contains(&out, "running late_fake");
    assert_contains(&out, "replay: failed: expected one leader, got none");
    assert_contains(&out, "recorded: failed: expected one leader, got none");
    assert_contains(&out, "replay matched the recorded run: 6 events, identical");
    assert!(!text(&out).contains("real time does not replay"));
    // The new log and its timeline sit beside the kept run; the recorded
    // log is untouched.
    let recorded = file_ending(&folder, ".events.jsonl");
    let replayed = file_ending(&folder, ".replay.events.jsonl");
    assert_eq!(
        std::fs::read(&recorded).unwrap(),
        std::fs::read(&replayed).unwrap()
    );
    let html = file_ending(&folder, ".replay.html");
    assert!(std::fs::read_to_string(html).unwrap().contains("late_fake"));
    // The run's file names the same run.
    let file = file_ending(&folder, ".run.json");
    let out = replay(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_replay_that_parts_from_the_record_says_where() {
    let dir = scratch("replay", "differs");
    let folder = kept_failure(&dir, "virtual");
    let out = labtest(&["replay", folder.to_str().unwrap()])
        .env("FAKE_DIVERGE_AT", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "replay differs from the recorded run at event 3:");
    let all = text(&out);
    let recorded = all.lines().find(|l| l.starts_with("  recorded: ")).unwrap();
    let replayed = all.lines().find(|l| l.starts_with("  replay:   ")).unwrap();
    assert!(!recorded.contains("diverged"), "{all}");
    assert!(replayed.contains("\"diverged\":true"), "{all}");
}

#[test]
fn real_time_warns_that_it_replays_only_the_draws_and_compares_anyway() {
    let dir = scratch("replay", "real");
    let folder = kept_failure(&dir, "real");
    let out = replay(&[folder.to_str().unwrap()]);
    assert_contains(&out, "real time does not replay a run event for event");
    // The fake's real-time events differ only in their timestamps.
    assert_contains(&out, "replay matched the recorded run: 6 events, identical");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = labtest(&["replay", folder.to_str().unwrap()])
        .env("FAKE_DIVERGE_AT", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "real time does not replay a run event for event");
    assert_contains(&out, "replay differs from the recorded run at event 5:");
}

#[test]
fn a_test_and_seed_replay_without_a_kept_run() {
    let dir = scratch("replay", "named");
    let out_dir = dir.join("replays");
    let base = [
        "--bin",
        FAKE,
        "--test",
        "flaky_fake",
        "--seed",
        "3",
        "--time",
        "virtual",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    // Nothing recorded: the exit status is the test's (seed 3 fails).
    let out = replay(&base);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "no recorded event log to compare with");
    let events = out_dir.join("flaky_fake-3.events.jsonl");
    assert!(events.is_file(), "{}", text(&out));
    assert!(out_dir.join("flaky_fake-3.html").is_file());
    let recorded = dir.join("recorded.jsonl");
    std::fs::copy(&events, &recorded).unwrap();
    let mut args = base.to_vec();
    args.extend(["--events", recorded.to_str().unwrap()]);
    let out = replay(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "replay matched the recorded run: 6 events, identical");
    // Another seed is another run.
    let mut args = base.to_vec();
    args[5] = "4";
    args.extend(["--events", recorded.to_str().unwrap()]);
    let out = replay(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "replay differs from the recorded run at event 1:");
}

#[test]
fn bad_input_exits_two_with_a_clear_message() {
    let dir = scratch("replay", "bad");
    let missing = dir.join("no-such-folder");
    let out = replay(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "no such kept run or folder");
    let out = replay(&[dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "holds no kept run");
    let out = replay(&["--bin", FAKE, "--test", "nope_fake", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "no test named \"nope_fake\"");
    assert_contains(&out, "flaky_fake");
    let out = replay(&["--bin", FAKE, "--test", "flaky_fake", "--seed", "abc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "invalid value 'abc' for '--seed <SEED>'");
    let out = replay(&["--bin", FAKE, "--test", "flaky_fake"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "--test NAME --seed N");
    let out = replay(&["--test", "flaky_fake", "--seed", "1", "--time", "slow"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let folder = kept_failure(&dir, "virtual");
    let out = replay(&[folder.to_str().unwrap(), "--time", "real"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "the kept run ran in virtual time");
    // Nothing ran for bad input: no replay files.
    assert!(
        std::fs::read_dir(&folder).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("replay")),
    );
}

/// `make -n` with `args` in the repository: the commands it would run.
fn make_dry(args: &[&str]) -> String {
    let out = Command::new("make")
        .arg("-n")
        .args(args)
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn make_replay_and_stress_pass_the_run_the_test_and_the_clock() {
    let kept = make_dry(&["replay", "RUN=target/labtest/20261125-220000"]);
    assert!(
        kept.contains("replay target/labtest/20261125-220000") && !kept.contains("--time"),
        "{kept}"
    );
    let named = make_dry(&[
        "replay",
        "TEST=initial_election_2a",
        "SEED=7",
        "TIME=virtual",
    ]);
    assert!(
        named.contains("replay  --test initial_election_2a --seed 7 --time virtual"),
        "{named}"
    );
    let stress = make_dry(&["stress-2a", "TIME=virtual"]);
    assert!(
        stress.contains("stress 2a -n 20 -p 8 --time virtual"),
        "{stress}"
    );
    assert!(!make_dry(&["stress-2a"]).contains("--time"));
    // Neither a run nor a test: the usage, exit 2.
    let out = Command::new("make")
        .arg("replay")
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "usage: make replay RUN=");
}
