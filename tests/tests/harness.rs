//! Tests of the harness itself: each kind of broken Raft must fail the
//! lab tests with a clear message, the seed and the step, within the time
//! limit, and the process must exit; the reference Raft must pass with a
//! complete result record.
//!
//! Each case runs the `broken_raft` binary in a child process with a
//! lowered `LAB_TEST_LIMIT`, under an outer deadline after which the child
//! is killed and the case fails.

use labrpc::time::{self, Duration};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use tests::monitor;

/// The time limit the broken runs get.
const LIMIT_SECS: u64 = 15;
/// A child still running after this was not stopped by the harness.
const OUTER_DEADLINE: Duration = Duration::from_secs(60);

struct Run {
    status: Option<i32>,
    output: String,
    seconds: f64,
}

fn run_broken(which: &str, test: &str, extra_env: &[(&str, &str)]) -> Run {
    run_broken_args(which, &[test, "--exact"], extra_env)
}

/// Runs the tests `tests` (each name a filter) of the broken Raft `which`.
fn run_broken_tests(which: &str, tests: &[&str]) -> Run {
    run_broken_args(which, tests, &[])
}

fn run_broken_args(which: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::SeqCst);
    let out_path = std::env::temp_dir().join(format!(
        "broken-{which}-{}-{}-{run}.out",
        args[0],
        std::process::id()
    ));
    let out = std::fs::File::create(&out_path).unwrap();
    let t0 = time::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_broken_raft"))
        .args(args)
        .env("LAB_BROKEN", which)
        .env("LAB_TEST_LIMIT", LIMIT_SECS.to_string())
        .envs(extra_env.iter().copied())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("cannot start broken_raft");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if t0.elapsed() > OUTER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("broken_raft {which} still running after {OUTER_DEADLINE:?}: the harness hangs");
        }
        time::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    Run {
        status,
        output,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

fn assert_fails_with(run: &Run, expected: &[&str]) {
    assert_eq!(
        run.status,
        Some(101),
        "exit status; output:\n{}",
        run.output
    );
    for text in expected {
        assert!(
            run.output.contains(text),
            "missing {text:?} in output:\n{}",
            run.output
        );
    }
    assert!(run.output.contains("--- FAIL: "), "{}", run.output);
    assert!(run.output.contains("seed: "), "{}", run.output);
    assert!(run.output.contains("LAB_SEED="), "{}", run.output);
    assert!(run.output.contains("\nFAIL\n"), "{}", run.output);
    assert!(
        run.seconds < LIMIT_SECS as f64 + 10.0,
        "took {:.1}s, limit {LIMIT_SECS}s",
        run.seconds
    );
}

#[test]
fn never_elects_fails_with_go_message() {
    let run = run_broken("never-elects", "initial_election_2a", &[]);
    assert_fails_with(
        &run,
        &[
            "expected one leader, got none",
            "check_one_leader: round 10 of 10",
        ],
    );
}

#[test]
fn two_leaders_in_a_term_fail() {
    let run = run_broken("two-leaders", "initial_election_2a", &[]);
    assert_fails_with(&run, &["term 1 has 3 (>1) leaders"]);
}

/// True when this run of the proofs is in virtual time (`LAB_TIME`, which
/// the broken Rafts' processes inherit).
fn virtual_time() -> bool {
    std::env::var("LAB_TIME").is_ok_and(|t| t.trim() == "virtual")
}

#[test]
fn deadlock_in_get_state_times_out_and_exits() {
    let run = run_broken("deadlock", "initial_election_2a", &[]);
    assert_fails_with(
        &run,
        &[
            "--- FAIL: initial_election_2a",
            &format!("test took longer than {LIMIT_SECS} seconds"),
            "asking server 0 for get_state",
            "ending the process",
        ],
    );
    if virtual_time() {
        // The limit is on the virtual clock: reached without waiting it out.
        assert!(
            run.seconds < LIMIT_SECS as f64 / 2.0,
            "virtual time waited out a real limit: {:.1}s",
            run.seconds
        );
    } else {
        assert!(
            run.seconds >= LIMIT_SECS as f64,
            "failed before the limit: {:.1}s",
            run.seconds
        );
    }
}

#[test]
fn a_thread_that_never_calls_the_layer_is_named() {
    let run = run_broken("spins", "initial_election_2a", &[]);
    if virtual_time() {
        assert_fails_with(
            &run,
            &[
                "thread 'broken-",
                "-spinner' ran 10 s of wall-clock time without reaching a scheduling point",
                "ending the process",
            ],
        );
    } else {
        assert_fails_with(
            &run,
            &["threads still running after cleanup: the Raft's: [\"broken-"],
        );
    }
}

#[test]
fn threads_that_loop_without_letting_time_pass_are_named_in_virtual_time() {
    let run = run_broken("yields-forever", "initial_election_2a", &[]);
    if virtual_time() {
        assert_fails_with(
            &run,
            &[
                "the virtual clock stood still at 1.000 s for 10 s of wall-clock time",
                "Threads seen holding the baton meanwhile: 'broken-",
                "-yielder' (",
                "ending the process",
            ],
        );
    } else {
        // In real time the loop only burns a CPU: the Raft passes.
        assert_eq!(run.status, Some(0), "{}", run.output);
    }
}

#[test]
fn a_thread_std_started_fails_a_virtual_time_run_and_is_named() {
    let run = run_broken("std-thread", "initial_election_2a", &[]);
    if virtual_time() {
        // Seen when make starts it, or, if the OS runs it first, when it
        // uses the layer (then named).
        let by_use = "-std' used labrpc's layer during a virtual-time run, but labrpc::thread::spawn did not start it";
        let by_start = "Raft::make started 1 OS thread(s) that labrpc::thread::spawn did not start";
        let expected = if run.output.contains(by_use) {
            ["thread 'broken-", by_use]
        } else {
            ["(std::thread::spawn?)", by_start]
        };
        assert_fails_with(&run, &expected);
        assert!(
            run.output
                .contains("virtual time schedules only the layer's threads"),
            "{}",
            run.output
        );
    } else {
        // Real time has no scheduler to go around: the Raft passes.
        assert_eq!(run.status, Some(0), "{}", run.output);
    }
}

#[test]
fn a_true_deadlock_fails_at_once_in_virtual_time_naming_each_wait() {
    let run = run_broken("deadlock-wait", "initial_election_2a", &[]);
    if !virtual_time() {
        // Real time cannot tell a deadlock from a slow Raft: the limit ends it.
        assert_fails_with(
            &run,
            &[&format!("test took longer than {LIMIT_SECS} seconds")],
        );
        return;
    }
    assert_fails_with(
        &run,
        &[
            "--- FAIL: initial_election_2a",
            "deadlock: no thread of the test can go on",
            "'test-initial_election_2a': for a lock held by 'broken-0-holder'",
            "'broken-0-holder': to receive on a channel",
            "while: check_one_leader: round 1 of 10: asking server 0 for get_state",
            "LAB_TIME=virtual",
            "ending the process",
        ],
    );
    assert!(
        !run.output.contains("test took longer"),
        "the deadlock waited for the limit:\n{}",
        run.output
    );
}

#[test]
fn panic_on_a_raft_thread_fails_the_test() {
    let run = run_broken("panic", "initial_election_2a", &[]);
    assert_fails_with(&run, &["panic on thread 'broken-", "hit a bug on purpose"]);
}

#[test]
fn panic_while_the_test_is_stuck_ends_the_process_soon() {
    let run = run_broken("panic-while-stuck", "initial_election_2a", &[]);
    assert_fails_with(
        &run,
        &[
            "panic on thread 'broken-",
            "hit a bug on purpose",
            "and the test's thread did not stop",
            "asking server 0 for get_state",
            "ending the process",
        ],
    );
    // The panic comes after 1 s, the runner gives the test 5 s to stop:
    // well before the 15 s limit.
    assert!(
        run.seconds < 10.0,
        "took {:.1}s: waited for the limit instead of giving up after the panic",
        run.seconds
    );
}

#[test]
fn peers_applying_different_commands_fail_with_apply_error() {
    let run = run_broken("apply-conflict", "initial_election_2a", &[]);
    assert_fails_with(
        &run,
        &["apply error: commit index=1 server=1 101 != server=0 100"],
    );
    assert!(run.seconds < 5.0, "took {:.1}s", run.seconds);
}

#[test]
fn an_out_of_order_apply_fails_and_ends_the_process_as_log_fatalf() {
    // Two tests asked for: the apply error (Go's log.Fatalf) ends the
    // process after the first one's verdict, so the second never runs.
    let run = run_broken_tests("skips-an-index", &["basic_agree_2b", "rpc_bytes_2b"]);
    assert_fails_with(
        &run,
        &[
            "--- FAIL: basic_agree_2b",
            "apply error: server ",
            " apply out of order 3",
            "an apply error ends the process",
            "0 passed; 1 failed",
        ],
    );
    assert!(
        !run.output.contains("Test (2B): RPC byte count"),
        "{}",
        run.output
    );
}

#[test]
fn a_log_that_never_shrinks_trips_go_s_max_log_size() {
    let run = run_broken("never-compacts", "snapshot_basic_2d", &[]);
    assert_fails_with(&run, &["--- FAIL: snapshot_basic_2d", "Log size too large"]);
}

#[test]
fn a_snapshot_with_the_wrong_index_is_an_apply_error() {
    let run = run_broken("snapshot-index-off-by-one", "snapshot_install_2d", &[]);
    assert_fails_with(
        &run,
        &[
            "--- FAIL: snapshot_install_2d",
            "apply error: server ",
            " snapshot doesn't match m.SnapshotIndex",
            "an apply error ends the process",
        ],
    );
}

#[test]
fn a_stale_command_after_a_snapshot_is_an_out_of_order_apply() {
    let run = run_broken("stale-command-after-snapshot", "snapshot_install_2d", &[]);
    assert_fails_with(
        &run,
        &[
            "--- FAIL: snapshot_install_2d",
            "apply error: server ",
            " apply out of order, expected index ",
        ],
    );
}

#[test]
fn a_value_that_never_commits_fails_one_and_the_next_test_still_runs() {
    // A failed check (Go's t.Fatalf) fails its test only.
    let run = run_broken_tests("never-commits", &["basic_agree_2b", "rpc_bytes_2b"]);
    assert_fails_with(
        &run,
        &[
            "--- FAIL: basic_agree_2b",
            "one(100) failed to reach agreement",
            "--- FAIL: rpc_bytes_2b",
            "one(99) failed to reach agreement",
            "0 passed; 2 failed",
        ],
    );
}

#[test]
fn a_commit_without_a_majority_fails() {
    let run = run_broken("no-majority", "follower_failure_2b", &[]);
    assert_fails_with(&run, &["3 committed but no majority"]);
    let run = run_broken("no-majority", "fail_no_agree_2b", &[]);
    assert_fails_with(&run, &["5 committed but no majority"]);
}

#[test]
fn too_many_or_too_few_rpcs_fail_the_count_test() {
    let run = run_broken("rpc-flood", "count_2b", &[]);
    assert_fails_with(&run, &["too many RPCs (120) for 10 entries"]);
    // The fake sends nothing at all to elect its leader.
    let run = run_broken("no-majority", "count_2b", &[]);
    assert_fails_with(&run, &["too many or few RPCs (0) to elect initial leader"]);
}

#[test]
fn too_many_bytes_fail_the_byte_count_test() {
    let run = run_broken("byte-flood", "rpc_bytes_2b", &[]);
    assert_fails_with(&run, &["too many RPC bytes; got ", ", expected 150000"]);
}

#[test]
fn a_churn_clients_failure_fails_its_test_and_the_next_test_still_runs() {
    // The clients' `wrong command type` is a t.Fatalf on another thread.
    let run = run_broken_tests(
        "applies-garbage",
        &["reliable_churn_2c", "unreliable_churn_2c"],
    );
    assert_fails_with(
        &run,
        &[
            "--- FAIL: reliable_churn_2c",
            "--- FAIL: unreliable_churn_2c",
            "wrong command type",
            "0 passed; 2 failed",
        ],
    );
}

#[test]
fn reference_raft_passes_basic_agreement_with_its_commands_column() {
    let record = std::env::temp_dir().join(format!("record-2b-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let run = run_broken(
        "none",
        "basic_agree_2b",
        &[("LAB_RESULT_FILE", record.to_str().unwrap())],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.output
            .contains("Test (2B): basic agreement ...\n  ... Passed --"),
        "{}",
        run.output
    );
    let text = std::fs::read_to_string(&record).unwrap();
    let _ = std::fs::remove_file(&record);
    let r: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(r["passed"], true, "{text}");
    assert_eq!(r["commands"], 3, "{text}");
}

#[test]
fn thread_left_after_kill_fails_the_test_and_is_named_the_rafts() {
    let run = run_broken("thread-leak", "initial_election_2a", &[]);
    assert_fails_with(
        &run,
        &[
            "threads still running after cleanup: the Raft's: [\"broken-",
            "-leaker\"",
            "the harness's and network's: none",
        ],
    );
}

/// How many times a monitor proof runs its broken Raft while the machine's
/// stalls excuse what the monitors saw (real time only).
const MONITOR_ATTEMPTS: u32 = 3;

/// Runs `which` in the extra test `test` and expects a monitor's failure
/// with `expected` in it, well before the limit; returns the output.
///
/// In real time the monitors excuse a breach that a stall of the machine
/// explains, so that a correct Raft never fails for the machine's load. A
/// broken Raft whose breaches were all excused so proves nothing either
/// way, nor does one that a stalled process failed on another check (Go's
/// own checks are real-time ones too) before the monitors judged it: that
/// run is inconclusive and runs again, and after [`MONITOR_ATTEMPTS`] such
/// runs the proof passes as not judged (None), with a note. A broken Raft
/// that passes with nothing excused, or fails on another check without a
/// stall, fails the proof.
fn assert_monitor_catches(which: &str, test: &str, expected: &str) -> Option<String> {
    for attempt in 1..=MONITOR_ATTEMPTS {
        let record =
            std::env::temp_dir().join(format!("record-{which}-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&record);
        let run = run_broken(
            which,
            test,
            &[("LAB_RESULT_FILE", record.to_str().unwrap())],
        );
        let text = std::fs::read_to_string(&record).unwrap_or_default();
        let _ = std::fs::remove_file(&record);
        let r: serde_json::Value =
            serde_json::from_str(text.lines().next().unwrap_or("null")).unwrap();
        if let Some(excused) = excused_by_stall(&run) {
            eprintln!(
                "{which}: inconclusive (attempt {attempt} of {MONITOR_ATTEMPTS}): it passed, \
                 and the monitors excused {excused} breaches because the machine stalled"
            );
            continue;
        }
        if let Some(late_ms) = failed_elsewhere_in_a_stall(&run, &r) {
            eprintln!(
                "{which}: inconclusive (attempt {attempt} of {MONITOR_ATTEMPTS}): another check \
                 failed it ({}) in a process whose threads woke up to {late_ms:.0} ms late",
                r["failure"].as_str().unwrap_or("?")
            );
            continue;
        }
        assert_fails_with(&run, &[&format!("--- FAIL: {test}"), "monitor: ", expected]);
        assert_eq!(r["passed"], false, "{text}");
        assert!(
            r["failure"].as_str().unwrap_or("").contains(expected),
            "{text}"
        );
        assert!(r["step"].is_string(), "{text}");
        return Some(run.output);
    }
    eprintln!("{which}: not judged: the machine stalled in all {MONITOR_ATTEMPTS} attempts");
    None
}

/// How late the threads of `run` woke, if it failed on a check other than
/// the monitors' while the process stalled (a thread woke
/// [`monitor::STALL`] or more late, by its result record `r`): the stall,
/// not the broken Raft, may have failed it first.
fn failed_elsewhere_in_a_stall(run: &Run, r: &serde_json::Value) -> Option<f64> {
    let late_ms = r["worst_oversleep_ms"].as_f64()?;
    let stalled = late_ms >= monitor::STALL.as_secs_f64() * 1000.0;
    (run.status == Some(101) && !run.output.contains("monitor: ") && stalled).then_some(late_ms)
}

/// How many breaches the monitors excused for a stall, if `run` passed
/// and they excused any ("..., N excused by a stall; ..." in its output).
fn excused_by_stall(run: &Run) -> Option<u64> {
    if run.status != Some(0) {
        return None;
    }
    let (before, _) = run.output.split_once(" excused by a stall")?;
    let excused = before.rsplit(' ').next()?.parse().ok()?;
    (excused > 0).then_some(excused)
}

#[test]
fn a_passed_run_with_breaches_excused_by_a_stall_is_inconclusive() {
    let run = |status, monitors: &str| Run {
        status: Some(status),
        output: format!(
            "  ... Passed --   4.7  3   26     210    0\n  ... monitors: {monitors}\nPASS\n"
        ),
        seconds: 5.0,
    };
    let stalled = "4 elections won, highest term 4, 0 failures injected, 3 excused by a stall; 159 samples every 5 ms, 5 ms CPU";
    assert_eq!(excused_by_stall(&run(0, stalled)), Some(3));
    let clean = "1 elections won, highest term 1, 0 failures injected, 0 excused by a stall; 900 samples every 5 ms, 5 ms CPU";
    assert_eq!(
        excused_by_stall(&run(0, clean)),
        None,
        "nothing was excused"
    );
    assert_eq!(
        excused_by_stall(&run(101, stalled)),
        None,
        "a failed run is judged"
    );
}

#[test]
fn a_run_failed_elsewhere_while_the_process_stalled_is_inconclusive() {
    let run = |status, output: &str| Run {
        status: Some(status),
        output: output.to_string(),
        seconds: 5.0,
    };
    let record = |late_ms: f64| serde_json::json!({"passed": false, "worst_oversleep_ms": late_ms});
    let elsewhere =
        "--- FAIL: stable_leader_2a_extra (8.48s)\n    expected one leader, got none\nFAIL\n";
    assert_eq!(
        failed_elsewhere_in_a_stall(&run(101, elsewhere), &record(1200.0)),
        Some(1200.0)
    );
    assert_eq!(
        failed_elsewhere_in_a_stall(&run(101, elsewhere), &record(12.0)),
        None,
        "no stall: another check's failure is judged"
    );
    let by_monitor = "--- FAIL: stable_leader_2a_extra (3.1s)\n    monitor: leader 1 stopped leading within its own term 2\nFAIL\n";
    assert_eq!(
        failed_elsewhere_in_a_stall(&run(101, by_monitor), &record(1200.0)),
        None,
        "the monitors' own failure is judged"
    );
    assert_eq!(
        failed_elsewhere_in_a_stall(&run(0, "PASS\n"), &record(1200.0)),
        None,
        "a passed run is judged by what was excused"
    );
}

#[test]
fn monitor_catches_a_second_leader_in_a_term_for_30_ms() {
    if let Some(output) = assert_monitor_catches(
        "brief-second-leader",
        "stable_leader_2a_extra",
        "election safety (§5.2): servers ",
    ) {
        assert_names_two_leaders_and_their_term(&output);
    }
}

/// The election-safety failure names two different servers and the term
/// they both led: "servers A and B both led term T".
fn assert_names_two_leaders_and_their_term(output: &str) {
    let named = output
        .split("election safety (§5.2): servers ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_default();
    let words: Vec<&str> = named.split(' ').collect();
    let [a, "and", b, "both", "led", "term", term] = words[..] else {
        panic!("not 'servers A and B both led term T': {named:?}");
    };
    let number = |w: &str| {
        w.parse::<u64>()
            .unwrap_or_else(|_| panic!("{w:?} is not a number in {named:?}"))
    };
    assert_ne!(number(a), number(b), "one server named twice: {named:?}");
    number(term);
}

/// Followers that claim for 50 µs, once, to lead their term: far
/// under the monitor's real-time period of 5 ms, so real-time sampling
/// nearly always misses it; but the flash lasts virtual time and its
/// last instant is a clock advance, where the monitor samples. Virtual
/// time only.
#[test]
fn monitor_in_virtual_time_catches_a_second_leader_for_50_us() {
    if !virtual_time() {
        return;
    }
    let output = assert_monitor_catches(
        "flash-second-leader",
        "stable_leader_2a_extra",
        "election safety (§5.2): servers ",
    )
    .expect("virtual time has no stalls to excuse");
    assert_names_two_leaders_and_their_term(&output);
}

/// The reference restarted with its vote erased (the catalog's
/// forgets-to-persist-vote) grants two candidates of one term when the
/// 2C extra test crashes the voter between their requests.
#[test]
fn a_vote_forgotten_in_a_crash_gives_two_leaders_of_a_term() {
    if let Some(output) = assert_monitor_catches(
        "forgets-vote",
        "vote_survives_crash_2c_extra",
        "election safety (§5.2): servers ",
    ) {
        assert_names_two_leaders_and_their_term(&output);
    }
}

#[test]
fn monitor_catches_a_leader_stepping_down_within_its_term() {
    assert_monitor_catches(
        "steps-down",
        "stable_leader_2a_extra",
        "stopped leading within its own term",
    );
}

#[test]
fn monitor_catches_elections_while_a_leader_is_in_place() {
    assert_monitor_catches(
        "keeps-electing",
        "stable_leader_2a_extra",
        "n election for term",
    );
}

#[test]
fn reference_raft_passes_the_monitored_tests_with_their_figures() {
    let record =
        std::env::temp_dir().join(format!("record-monitored-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let run = run_broken(
        "none",
        "elections_per_failure_2a_extra",
        &[("LAB_RESULT_FILE", record.to_str().unwrap())],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.output.contains("  ... monitors: "), "{}", run.output);
    let (words, sampling) = if virtual_time() {
        ("samples at every clock advance", "every_clock_advance")
    } else {
        ("samples every 5 ms", "every_period")
    };
    assert!(run.output.contains(words), "{}", run.output);
    let text = std::fs::read_to_string(&record).unwrap();
    let _ = std::fs::remove_file(&record);
    let r: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(r["monitor"]["failures_injected"], 2, "{text}");
    assert!(
        r["monitor"]["leaders_elected"].as_u64().unwrap() >= 2,
        "{text}"
    );
    assert!(r["monitor"]["samples"].as_u64().unwrap() > 100, "{text}");
    assert_eq!(r["monitor"]["sampling"], sampling, "{text}");
    if virtual_time() {
        assert_eq!(r["monitor"]["excused_by_stall"], 0, "{text}");
    }
}

#[test]
fn a_stuck_tests_record_names_its_step() {
    let record = std::env::temp_dir().join(format!("record-stuck-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let run = run_broken(
        "deadlock",
        "initial_election_2a",
        &[
            ("LAB_RESULT_FILE", record.to_str().unwrap()),
            ("LAB_TEST_LIMIT", "3"),
        ],
    );
    assert_fails_with(
        &run,
        &["test took longer than 3 seconds", "ending the process"],
    );
    let text = std::fs::read_to_string(&record).unwrap();
    let _ = std::fs::remove_file(&record);
    let r: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(r["passed"], false, "{text}");
    assert!(
        r["step"]
            .as_str()
            .unwrap_or("")
            .contains("asking server 0 for get_state"),
        "{text}"
    );
}

#[test]
fn a_bad_test_limit_is_refused_before_any_test_runs() {
    for bad in ["abc", "0", "-1", "2s"] {
        let run = run_broken("none", "initial_election_2a", &[("LAB_TEST_LIMIT", bad)]);
        assert_eq!(run.status, Some(2), "{bad}: {}", run.output);
        assert!(
            run.output
                .contains("LAB_TEST_LIMIT must be a positive number of seconds")
                && run.output.contains(&format!("not {bad:?}")),
            "{bad}: {}",
            run.output
        );
        assert!(!run.output.contains("Test (2A)"), "{bad}: {}", run.output);
    }
}

#[test]
fn bad_lab_seeds_are_refused_before_any_test_runs() {
    for (time, seeds, message) in [
        (
            "real",
            "1,2",
            "LAB_SEEDS (several seeds in one process) needs LAB_TIME=virtual",
        ),
        ("virtual", "1,x", "\"x\" is not one"),
    ] {
        let env = [("LAB_TIME", time), ("LAB_SEEDS", seeds)];
        let run = run_broken("none", "initial_election_2a", &env);
        assert_eq!(run.status, Some(2), "{seeds}: {}", run.output);
        assert!(run.output.contains(message), "{seeds}: {}", run.output);
        assert!(!run.output.contains("Test (2A)"), "{seeds}: {}", run.output);
    }
}

#[test]
fn reference_raft_passes_with_a_result_record() {
    let record = std::env::temp_dir().join(format!("record-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let path = record.to_str().unwrap();
    let run = run_broken(
        "none",
        "initial_election_2a",
        &[("LAB_RESULT_FILE", path), ("LAB_SEED", "12345")],
    );
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(
        run.output
            .contains("Test (2A): initial election ...\n  ... Passed --"),
        "{}",
        run.output
    );
    assert!(
        run.output.contains("test result: ok. 1 passed; 0 failed"),
        "{}",
        run.output
    );
    let text = std::fs::read_to_string(&record).unwrap();
    let _ = std::fs::remove_file(&record);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let r = &lines[0];
    assert_eq!(r["test"], "initial_election_2a");
    assert_eq!(r["passed"], true);
    assert_eq!(r["seed"], 12345);
    assert_eq!(r["peers"], 3);
    assert!(r["rpcs"].as_u64().unwrap() > 0, "{r}");
    assert!(r["seconds"].as_f64().unwrap() > 2.0, "{r}");
    assert!(r["failure"].is_null());
    assert!(r["worst_oversleep_ms"].is_number());
}

#[test]
fn unknown_broken_kind_and_bad_flags_are_usage_errors() {
    let run = run_broken("nonsense", "initial_election_2a", &[]);
    assert_eq!(run.status, Some(2));
    assert!(run.output.contains("LAB_BROKEN must be one of"));
    let out = Command::new(env!("CARGO_BIN_EXE_broken_raft"))
        .arg("--bogus")
        .env("LAB_BROKEN", "none")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option --bogus"));
    let out = Command::new(env!("CARGO_BIN_EXE_broken_raft"))
        .arg("--list")
        .env("LAB_BROKEN", "none")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.starts_with(
            "initial_election_2a: test\nre_election_2a: test\nmany_elections_2a: test\n"
        ),
        "{listing}"
    );
}

/// The real initial election, in this process, through the runner's API:
/// the verdict and the result record carry Go's figures.
#[test]
fn reference_raft_initial_election_in_process() {
    let test = tests::LabTest {
        name: "initial_election_2a",
        body: tests::lab2a::initial_election::<raft::Raft>,
    };
    let verdict = tests::runner::run_test(&test, "harness");
    assert!(!verdict.stuck, "stuck: {:?}", verdict.failure);
    assert_eq!(verdict.failure, None, "while {}", verdict.step);
    let record = serde_json::to_value(verdict.record(42)).unwrap();
    assert_eq!(record["test"], "initial_election_2a");
    assert_eq!(record["passed"], true);
    assert_eq!(record["peers"], 3);
    assert_eq!(record["seed"], 42);
    assert_eq!(record["commands"], 0);
    assert!(record["failure"].is_null());
    let seconds = record["seconds"].as_f64().unwrap();
    assert!((2.5..10.0).contains(&seconds), "{record}");
    // Two check_one_leader rounds and 2 s of heartbeats: tens of RPCs.
    let rpcs = record["rpcs"].as_u64().unwrap();
    assert!((5..200).contains(&rpcs), "{record}");
    assert!(record["bytes"].as_u64().unwrap() > 0, "{record}");
    assert!(record["worst_oversleep_ms"].as_f64().unwrap() >= 0.0);
    let fields: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "test",
        "passed",
        "seconds",
        "peers",
        "rpcs",
        "bytes",
        "commands",
        "seed",
        "worst_oversleep_ms",
        "failure",
    ] {
        assert!(fields.contains(&key), "{key} missing from {record}");
    }
}
