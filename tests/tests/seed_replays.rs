//! A seed replays the test's own choices in real time: two runs of
//! `many_elections_2a` with the same `LAB_SEED`, one of them after another
//! test, disconnect the same peers in every round, and a different seed
//! disconnects others.
//!
//! Each run is the `broken_raft` binary with `LAB_BROKEN=none` (the
//! reference Raft under the same runner and tests as `raft_2a`) in a child
//! process, with `LAB_LOG` set; the choices are read back from the event
//! log's `step` events ("round 3 of 9: disconnecting 4, 0, 6"). The three
//! runs go at once: real time, about 9 s.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The test whose choices are compared: nine rounds of three draws each.
const TEST: &str = "many_elections_2a";

/// A test that runs first in one of the runs, drawing and starting threads
/// of its own.
const BEFORE: &str = "initial_election_2a";

/// A run in progress: the child and the event log it writes.
struct Run {
    seed: u64,
    child: Child,
    log: PathBuf,
}

/// Starts `tests` (names, run in this order) with `seed`.
fn start(seed: u64, label: &str, tests: &[&str]) -> Run {
    let log =
        std::env::temp_dir().join(format!("seed-replays-{}-{label}.jsonl", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_broken_raft"))
        .args(tests)
        .arg("--exact")
        .env("LAB_BROKEN", "none")
        .env("LAB_SEED", seed.to_string())
        .env("LAB_LOG", &log)
        .env("LAB_TEST_LIMIT", "60")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start broken_raft");
    Run { seed, child, log }
}

/// Waits for the run; returns the disconnections it chose, one line per
/// round. A failed run fails the test with its output.
fn choices(run: Run) -> Vec<String> {
    let out = run.child.wait_with_output().expect("broken_raft vanished");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{TEST} with LAB_SEED={} failed (a loaded machine? see the oversleep):\n{output}",
        run.seed
    );
    let text = std::fs::read_to_string(&run.log).expect("no event log");
    let _ = std::fs::remove_file(&run.log);
    let rounds = disconnections(&text);
    assert_eq!(rounds.len(), 9, "expected 9 rounds in the log:\n{text}");
    rounds
}

/// The `step` events that name the peers a round disconnects.
fn disconnections(log: &str) -> Vec<String> {
    log.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a bad log line"))
        .filter(|event| event["kind"] == "step")
        .filter_map(|event| event["text"].as_str().map(str::to_string))
        .filter(|text| text.contains("disconnecting"))
        .collect()
}

#[test]
fn same_seed_same_choices_other_seed_other_choices() {
    let first = start(777, "first", &[TEST]);
    let again = start(777, "again", &[BEFORE, TEST]);
    let other = start(778, "other", &[TEST]);
    let (first, again, other) = (choices(first), choices(again), choices(other));
    assert_eq!(
        first, again,
        "LAB_SEED=777 chose differently alone and after {BEFORE}"
    );
    assert_ne!(first, other, "LAB_SEEDs 777 and 778 chose alike");
}

#[test]
fn the_extraction_sees_a_divergence() {
    let log = |peers: &str| {
        format!(
            "{{\"t\":0.0,\"peer\":null,\"kind\":\"step\",\"text\":\"round 1 of 9: disconnecting {peers}\"}}\n\
             {{\"t\":1.0,\"peer\":2,\"kind\":\"disconnect\"}}\n"
        )
    };
    assert_eq!(
        disconnections(&log("2, 4, 3")),
        vec!["round 1 of 9: disconnecting 2, 4, 3"]
    );
    assert_ne!(
        disconnections(&log("2, 4, 3")),
        disconnections(&log("4, 3, 6"))
    );
}
