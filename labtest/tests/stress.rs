//! The stress runner against the fake lab binary: counts, timeouts and
//! process groups, exit codes, signals, bad input rejected up front,
//! result records, the kept folder, per-run event logs, reports, seeds.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_contains, scratch, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `labtest stress` on the fake lab, its failed runs kept in `dir/out`;
/// each test run is listed in `dir/starts`, each hang's child in `dir/pid`.
fn stress_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = quiet_stress();
    cmd.args(["--bin", env!("CARGO_BIN_EXE_fake_lab")])
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .env("FAKE_PID_FILE", dir.join("pid"))
        .env("FAKE_STARTS", dir.join("starts"));
    cmd
}

/// `labtest stress --quiet`, clear of the caller's `LAB_LOG`,
/// `LAB_TEST_LIMIT`, `LAB_TIME` and `LAB_SCHED`.
fn quiet_stress() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labtest"));
    cmd.args(["stress", "--quiet"])
        .env_remove("LAB_LOG")
        .env_remove("LAB_TEST_LIMIT")
        .env_remove("LAB_TIME")
        .env_remove("LAB_SCHED");
    cmd
}

fn stress(dir: &Path, args: &[&str]) -> Output {
    stress_command(dir, args).output().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// [`stress`] with `--json dir/<name>`: the output and the JSON report.
fn stress_report(dir: &Path, name: &str, args: &[&str]) -> (Output, serde_json::Value) {
    let path = dir.join(name);
    let out = stress_command(dir, args)
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert!(path.exists(), "no report: {}", text(&out));
    (out, json(&path))
}

/// The runs of a JSON report.
fn runs(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["runs"].as_array().unwrap()
}

#[test]
fn all_passing_exits_zero() {
    let dir = scratch("stress", "pass");
    let out = stress(&dir, &["pass", "-n", "5", "-p", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("5 passed, 0 failed"), "{}", text(&out));
    assert!(!dir.join("out").exists(), "an all-pass run made its folder");
}

#[test]
fn the_kept_folder_is_made_only_when_a_run_fails() {
    let dir = scratch("stress", "folder");
    // The default folder, target/labtest/<timestamp>, under the target dir.
    let run = |args: &[&str]| {
        quiet_stress()
            .args(["--bin", env!("CARGO_BIN_EXE_fake_lab")])
            .args(args)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .output()
            .unwrap()
    };
    let kept = dir.join("target/labtest");
    let out = run(&["pass", "-n", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!kept.exists(), "an all-pass run made {}", kept.display());
    let out = run(&["late", "-n", "1", "--seed", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let folders: Vec<PathBuf> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let names: Vec<String> = std::fs::read_dir(&folders[0])
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("late_fake-") && n.ends_with(".log")),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn failures_are_counted_per_seed_and_reported() {
    let dir = scratch("stress", "flaky");
    let (j, x) = (dir.join("r.json"), dir.join("r.xml"));
    let out = stress(
        &dir,
        &[
            "flaky",
            "-n",
            "30",
            "-p",
            "10",
            "--seed",
            "7",
            "--json",
            j.to_str().unwrap(),
            "--junit",
            x.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&j);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 30);
    let mut expected_failures = 0;
    for run in runs {
        let seed = run["seed"].as_u64().unwrap();
        let failed = seed % 3 == 0;
        expected_failures += usize::from(failed);
        assert_eq!(
            run["verdict"],
            if failed { "failed" } else { "passed" },
            "{run}"
        );
        if failed {
            let log = PathBuf::from(run["log"].as_str().unwrap());
            assert!(
                std::fs::read_to_string(&log)
                    .unwrap()
                    .contains(&format!("seed: {seed}"))
            );
            assert!(text(&out).contains(&format!(
                "replay: LAB_SEED={seed} {} flaky_fake --exact",
                env!("CARGO_BIN_EXE_fake_lab")
            )));
        }
    }
    assert!(
        expected_failures > 0,
        "no seed hit the failure; pick another master seed"
    );
    assert_eq!(report["tests"][0]["failures"], expected_failures);
    assert!(text(&out).contains(&format!(
        "{} passed, {expected_failures} failed",
        30 - expected_failures
    )));
    for run in runs {
        // A failed run keeps its event log and timeline; a pass keeps
        // nothing.
        let failed = run["verdict"] == "failed";
        for key in ["events", "timeline"] {
            match run[key].as_str() {
                Some(path) => assert!(failed && Path::new(path).exists(), "{run}"),
                None => assert!(!failed, "{run}"),
            }
        }
    }
    let xml = std::fs::read_to_string(&x).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<failure").count(), expected_failures, "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 30);
}

#[test]
fn a_hang_is_killed_with_its_process_group_at_the_timeout() {
    let dir = scratch("stress", "hang");
    let t0 = Instant::now();
    let (out, report) = stress_report(&dir, "r.json", &["hang", "-n", "1", "--timeout", "2"]);
    // A guard against a kill that never comes (the run loops forever), far
    // above what load makes of a 2 s timeout: no speed claim.
    assert!(
        t0.elapsed() < Duration::from_secs(300),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(report["runs"][0]["verdict"], "timeout");
    assert_no_hang_survives(&dir);
}

/// Fails if any grandchild a hanging fake test started is still alive.
fn assert_no_hang_survives(dir: &Path) {
    let pids = std::fs::read_to_string(dir.join("pid")).unwrap();
    assert!(!pids.trim().is_empty(), "no hang started");
    // A killed process may take a moment to be reaped: wait for it, with a
    // deadline, rather than sleeping a fixed time.
    let gone = |pid: &str| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.is_empty() || status.contains("State:\tZ")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    for pid in pids.lines() {
        while !gone(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(gone(pid), "the hung test's child {pid} survived: {status}");
    }
}

#[test]
fn crashes_and_missing_verdicts_fail() {
    let dir = scratch("stress", "crash");
    let (out, report) = stress_report(&dir, "r.json", &["panic", "silent", "-n", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let verdicts: Vec<String> = runs(&report)
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["test"].as_str().unwrap(),
                r["verdict"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| *v == "panic_fake crashed")
            .count(),
        2,
        "{verdicts:?}"
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| *v == "silent_fake no-verdict")
            .count(),
        2,
        "{verdicts:?}"
    );
}

#[test]
fn until_fail_stops_at_the_first_failure() {
    let dir = scratch("stress", "until");
    let (out, report) = stress_report(
        &dir,
        "r.json",
        &["flaky", "-n", "100", "-p", "1", "--until-fail"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let runs = runs(&report);
    assert!(runs.len() < 100, "ran {}", runs.len());
    assert_eq!(runs.iter().filter(|r| r["verdict"] == "failed").count(), 1);
}

#[test]
fn the_same_master_seed_gives_the_same_seeds() {
    let dir = scratch("stress", "seeds");
    let seeds = |name: &str| {
        let args = ["pass", "-n", "5", "-p", "2", "--seed", "99"];
        let (out, report) = stress_report(&dir, name, &args);
        assert_eq!(out.status.code(), Some(0));
        let mut s: Vec<u64> = runs(&report)
            .iter()
            .map(|r| r["seed"].as_u64().unwrap())
            .collect();
        s.sort();
        s
    };
    assert_eq!(seeds("a.json"), seeds("b.json"));
}

#[test]
fn overloaded_failures_are_flagged_suspect() {
    let dir = scratch("stress", "late");
    let out = stress(&dir, &["late", "-n", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&out, "suspect: woke 500 ms late");
    assert_contains(&out, "(2 suspect: overloaded machine)");
}

#[test]
fn bad_usage_exits_two() {
    let dir = scratch("stress", "usage");
    let out = stress(&dir, &["no_such_test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no test matches"), "{}", text(&out));
    assert!(text(&out).contains("flaky_fake"), "{}", text(&out));
    let out = stress(&dir, &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let out = stress(&dir, &["-p", "zero"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Starts a loop of passing and hanging runs, sends `signal` to the runner
/// once hangs are running, and returns its output and JSON report.
fn stop_a_loop_with(signal: libc::c_int, name: &str) -> (Output, serde_json::Value, PathBuf) {
    let dir = scratch("stress", name);
    let j = dir.join("r.json");
    let child = stress_command(
        &dir,
        &["pass", "hang", "--loop", "-p", "3", "--timeout", "100"],
    )
    .arg("--json")
    .arg(&j)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Let some passing runs finish and the hangs start.
    let t0 = Instant::now();
    while std::fs::read_to_string(dir.join("pid"))
        .unwrap_or_default()
        .lines()
        .count()
        < 2
    {
        assert!(t0.elapsed() < Duration::from_secs(120), "no hang started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signals the runner we started; no memory is involved.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let t1 = Instant::now();
    let out = child.wait_with_output().unwrap();
    // A guard against runs that outlive the signal; no speed claim.
    assert!(
        t1.elapsed() < Duration::from_secs(120),
        "{:?}",
        t1.elapsed()
    );
    assert_no_hang_survives(&dir);
    let report = json(&j);
    (out, report, dir)
}

/// What a stopped session must show: the runs that finished, the ones it
/// stopped, and no kept folder (interrupted runs are not failures).
fn assert_stopped(out: &Output, report: &serde_json::Value, dir: &Path, signal: &str) {
    assert_contains(out, &format!("; interrupted by {signal}"));
    assert_contains(
        out,
        &format!("interrupted by {signal}: the figures above cover"),
    );
    assert_contains(out, "pass_fake");
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["signal"], signal);
    let runs = report["runs"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["verdict"] == "passed"), "{report}");
    assert!(
        runs.iter().any(|r| r["verdict"] == "interrupted"),
        "{report}"
    );
    assert!(!dir.join("out").exists(), "interrupted runs kept files");
}

#[test]
fn ctrl_c_kills_every_run_prints_the_summary_and_exits_130() {
    let (out, report, dir) = stop_a_loop_with(libc::SIGINT, "sigint");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_stopped(&out, &report, &dir, "SIGINT");
}

#[test]
fn sigterm_kills_every_run_prints_the_summary_and_exits_143() {
    let (out, report, dir) = stop_a_loop_with(libc::SIGTERM, "sigterm");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    assert_stopped(&out, &report, &dir, "SIGTERM");
}

/// Fails unless `out` is a usage error saying `message` with nothing run,
/// no report and no folder made.
#[track_caller]
fn assert_rejected_up_front(out: &Output, dir: &Path, message: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    assert_contains(out, message);
    assert!(!text(out).contains("stress: "), "it started: {}", text(out));
    assert!(!dir.join("starts").exists(), "a test ran: {}", text(out));
    assert!(!dir.join("out").exists(), "made the folder: {}", text(out));
    assert!(!dir.join("r.json").exists(), "wrote a report");
}

#[test]
fn bad_input_is_rejected_before_anything_runs() {
    let dir = scratch("stress", "reject");
    let report = dir.join("r.json");
    let report = report.to_str().unwrap();
    let missing = dir.join("no/such/folder/r.xml");
    let missing = missing.to_str().unwrap();
    let folder = dir.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["pass", "-n", "0"], "must be at least 1"),
        (&["pass", "--timeout", "0"], "positive number of seconds"),
        (&["pass", "--timeout", "2s"], "positive number of seconds"),
        (
            &["pass", "--json", report, "--junit", missing],
            "cannot write",
        ),
        (&["pass", "--json", folder], "cannot write"),
        (
            &["pass", "--json", report, "--junit", folder],
            "cannot write",
        ),
    ];
    for (args, message) in cases {
        let out = stress(&dir, args);
        assert_rejected_up_front(&out, &dir, message);
    }
    for limit in ["abc", "0", "-1", "2s"] {
        let out = stress_command(&dir, &["pass", "--json", report])
            .env("LAB_TEST_LIMIT", limit)
            .output()
            .unwrap();
        assert_rejected_up_front(
            &out,
            &dir,
            &format!(
                "LAB_TEST_LIMIT must be a positive number of seconds (like 120 or 2.5), not \"{limit}\""
            ),
        );
    }
    let out = stress_command(&dir, &["pass", "--json", report])
        .env("LAB_LOG", dir.join("no/such/folder/ev.jsonl"))
        .output()
        .unwrap();
    assert_rejected_up_front(&out, &dir, "LAB_LOG: cannot write");
    let out = stress(&dir, &["no_such_test", "--json", report]);
    assert_rejected_up_front(&out, &dir, "no test matches");
    // A valid limit is taken, and the runs go ahead.
    let out = stress_command(&dir, &["pass", "-n", "1"])
        .env("LAB_TEST_LIMIT", "7.5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "each test fails by itself after 7.5 s");
}

#[test]
fn a_report_that_cannot_be_written_at_the_end_is_no_success() {
    let dir = scratch("stress", "lostreport");
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let child = stress_command(&dir, &["pass", "-n", "20", "-p", "1"])
        .arg("--json")
        .arg(sub.join("r.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The folder goes away once the runs have started.
    let t0 = Instant::now();
    while !dir.join("starts").exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no run started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_dir_all(&sub).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_contains(&out, "20 passed, 0 failed");
    assert_contains(&out, "error: cannot write");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_result_file_must_hold_one_record_of_the_test_that_ran() {
    let dir = scratch("stress", "records");
    let (out, report) = stress_report(&dir, "r.json", &["twice", "other", "-n", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "0 passed, 4 failed");
    assert_contains(
        &out,
        "the result file holds 2 records; a run of twice_fake writes exactly one",
    );
    assert_contains(
        &out,
        "the result record names pass_fake, not other_fake, the test that ran",
    );
    let runs = runs(&report);
    assert_eq!(runs.len(), 4);
    assert!(
        runs.iter().all(|r| r["verdict"] == "bad-record"),
        "{report}"
    );
}

#[test]
fn lab_log_gives_each_run_its_own_event_log() {
    let dir = scratch("stress", "lablog");
    let j = dir.join("r.json");
    // A relative LAB_LOG is taken from the user's folder.
    let out = stress_command(&dir, &["pass", "late", "-n", "3", "--seed", "11"])
        .arg("--json")
        .arg(&j)
        .env("LAB_LOG", "ev.jsonl")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "each run writes its own event log");
    assert!(!dir.join("ev.jsonl").exists(), "the runs shared one file");
    let report = json(&j);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    for run in runs {
        let (test, seed) = (run["test"].as_str().unwrap(), &run["seed"]);
        let events = dir.join(format!("ev-{test}-{seed}.jsonl"));
        assert_eq!(run["events"].as_str(), events.to_str(), "{run}");
        let lines = std::fs::read_to_string(&events).unwrap();
        // The fake's log: a begin naming the test, a step, four elections.
        assert_eq!(lines.lines().count(), 6, "{lines}");
        assert!(lines.lines().next().unwrap().contains(test), "{lines}");
        // A failed run's timeline is drawn from its own log.
        if run["verdict"] == "failed" {
            let html = std::fs::read_to_string(run["timeline"].as_str().unwrap()).unwrap();
            assert!(html.contains(test), "no {test} in the timeline");
        } else {
            assert!(run["timeline"].is_null(), "{run}");
        }
    }
}

/// A tiny cargo package `tests` with a lab test target `raft_9z` that
/// speaks the contract (`ok_9z` passes, `bad_9z` fails) and an extra
/// target `raft_9z_extra` (`steady_9z_extra` passes). With `broken`,
/// `raft_9z` does not compile.
fn lab_package(dir: &Path, broken: bool) {
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"tests\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [workspace]\n\n[[test]]\nname = \"raft_9z\"\npath = \"tests/raft_9z.rs\"\nharness = false\n\
         \n[[test]]\nname = \"raft_9z_extra\"\npath = \"tests/raft_9z_extra.rs\"\nharness = false\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let body = r#"
use std::io::Write;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for name in TESTS {
            println!("{name}: test");
        }
        return;
    }
    let seed = std::env::var("LAB_SEED").unwrap_or_default();
    let passed = !args[0].starts_with("bad");
    let path = std::env::var("LAB_RESULT_FILE").unwrap();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    let failure = if passed { "null".to_string() } else { "\"bad on purpose\"".to_string() };
    writeln!(f, "{{\"test\":\"{}\",\"passed\":{passed},\"seed\":{seed},\"worst_oversleep_ms\":1.0,\"failure\":{failure}}}", args[0]).unwrap();
    std::process::exit(if passed { 0 } else { 101 });
}
"#;
    let go = format!("const TESTS: [&str; 2] = [\"ok_9z\", \"bad_9z\"];\n{body}");
    let go = if broken {
        format!("{go}\nfn oops() -> u32 {{ \"not a number\" }}\n")
    } else {
        go
    };
    std::fs::write(dir.join("tests/raft_9z.rs"), go).unwrap();
    let extra = format!("const TESTS: [&str; 1] = [\"steady_9z_extra\"];\n{body}");
    std::fs::write(dir.join("tests/raft_9z_extra.rs"), extra).unwrap();
}

fn stress_in_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = quiet_stress();
    cmd.arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"));
    cmd
}

fn stress_in(dir: &Path, args: &[&str]) -> Output {
    stress_in_command(dir, args).output().unwrap()
}

#[test]
fn extra_tests_need_extra_and_bad_input_stops_the_build() {
    let dir = scratch("stress", "extra");
    lab_package(&dir, false);
    // Bad input is found before cargo builds anything.
    let out = stress_in_command(&dir, &["ok"])
        .env("LAB_TEST_LIMIT", "2s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!dir.join("target").exists(), "it built: {}", text(&out));
    // A filter that matches only extra tests.
    let out = stress_in(&dir, &["steady", "-n", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "these are extra tests: add --extra");
    assert_contains(&out, "steady_9z_extra (raft_9z_extra)");
    assert!(!text(&out).contains("passed"), "{}", text(&out));
    let out = stress_in(&dir, &["steady", "-n", "1", "--extra"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "1 passed, 0 failed");
    // Without a filter, the extra tests stay out.
    let out = stress_in(&dir, &["-n", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "1 passed, 1 failed");
}

#[test]
fn builds_the_lab_package_with_cargo_and_prints_cargo_replays() {
    let dir = scratch("stress", "cargo");
    lab_package(&dir, false);
    let out = stress_in(&dir, &["ok", "-n", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "2 passed, 0 failed");
    let out = stress_in(&dir, &["BAD", "-n", "1", "--seed", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "bad on purpose");
    let all = text(&out);
    let seed = all
        .split("(seed ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .expect("no seed in the failure list");
    assert_contains(
        &out,
        &format!(
            "replay: LAB_SEED={seed} cargo test --release -p tests --test raft_9z -- bad_9z --exact"
        ),
    );
    let out = stress_in(&dir, &["nothing_like_it"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "ok_9z (raft_9z)");
}

#[test]
fn a_build_failure_exits_two_with_the_compiler_errors() {
    let dir = scratch("stress", "broken");
    lab_package(&dir, true);
    let out = stress_in(&dir, &["-n", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "the build failed");
    assert_contains(&out, "mismatched types");
    assert!(!text(&out).contains("failed in"), "{}", text(&out));
}

/// The `NAME LAB_TIME` lines the fake runs wrote to `dir/times`.
fn times_seen(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("times"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn time_sets_lab_time_for_every_run_and_the_reports_name_it() {
    let dir = scratch("stress", "time");
    let xml = dir.join("r.xml");
    let (out, report) = stress_report_with(
        &dir,
        "r.json",
        &[
            "pass",
            "-n",
            "3",
            "--time",
            "virtual",
            "--junit",
            xml.to_str().unwrap(),
        ],
        &[("FAKE_TIMES", dir.join("times").as_os_str())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(times_seen(&dir), vec!["pass_fake virtual"; 3]);
    assert_contains(&out, "virtual time");
    assert_eq!(report["time"], "virtual");
    assert!(runs(&report).iter().all(|r| r["time"] == "virtual"));
    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(
        junit.contains(r#"<property name="time" value="virtual"/>"#),
        "{junit}"
    );
    // Without --time: LAB_TIME from the environment, else real.
    let _ = std::fs::remove_file(dir.join("times"));
    let (out, report) = stress_report_with(
        &dir,
        "real.json",
        &["pass", "-n", "2"],
        &[("FAKE_TIMES", dir.join("times").as_os_str())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(times_seen(&dir), vec!["pass_fake real"; 2]);
    assert_eq!(report["time"], "real");
    let _ = std::fs::remove_file(dir.join("times"));
    let (out, _) = stress_report_with(
        &dir,
        "env.json",
        &["pass", "-n", "1"],
        &[
            ("FAKE_TIMES", dir.join("times").as_os_str()),
            ("LAB_TIME", "virtual".as_ref()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(times_seen(&dir), vec!["pass_fake virtual"]);
}

/// [`stress_report`] with `envs` added to the runner's environment.
fn stress_report_with(
    dir: &Path,
    name: &str,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> (Output, serde_json::Value) {
    let path = dir.join(name);
    let mut cmd = stress_command(dir, args);
    cmd.arg("--json").arg(&path);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    assert!(path.exists(), "no report: {}", text(&out));
    (out, json(&path))
}

#[test]
fn a_bad_clock_is_refused_before_anything_runs() {
    let dir = scratch("stress", "badtime");
    let out = stress(&dir, &["pass", "--time", "fast"]);
    assert_rejected_up_front(&out, &dir, "invalid value 'fast' for '--time <TIME>'");
    assert_contains(&out, "[possible values: real, virtual]");
    let out = stress_command(&dir, &["pass"])
        .env("LAB_TIME", "fast")
        .output()
        .unwrap();
    assert_rejected_up_front(&out, &dir, "error: LAB_TIME=fast: must be real or virtual");
}

#[test]
fn a_binary_that_ignores_lab_time_cannot_pass_a_virtual_run() {
    let dir = scratch("stress", "ignores");
    let (out, report) = stress_report_with(
        &dir,
        "r.json",
        &["pass", "-n", "1", "--time", "virtual"],
        &[("FAKE_IGNORES_TIME", "1".as_ref())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(runs(&report)[0]["verdict"], "bad-record");
    assert_contains(
        &out,
        "LAB_TIME=virtual was asked for, but the result record says the test ran in real time",
    );
    // In real time the same binary passes: an absent `time` is real time.
    let (out, _) = stress_report_with(
        &dir,
        "real.json",
        &["pass", "-n", "1"],
        &[("FAKE_IGNORES_TIME", "1".as_ref())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn virtual_time_failures_are_never_suspect_and_replay_with_lab_time() {
    let dir = scratch("stress", "vlate");
    // late_fake records a 500 ms oversleep in either mode.
    let out = stress(&dir, &["late", "-n", "2", "--time", "virtual"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("suspect"), "{}", text(&out));
    assert_contains(&out, "2 failed (virtual time: not the machine's load)");
    assert_contains(&out, "[virtual time: not the machine's load]");
    assert_contains(&out, "no oversleep in virtual time");
    let replay = format!(
        " LAB_TIME=virtual {} late_fake --exact",
        env!("CARGO_BIN_EXE_fake_lab")
    );
    assert_contains(&out, &replay);
    // Real time keeps its replay line free of LAB_TIME.
    let out = stress(&dir, &["late", "-n", "1"]);
    assert!(!text(&out).contains("LAB_TIME"), "{}", text(&out));
}

#[test]
fn a_failed_run_keeps_what_replay_needs() {
    let dir = scratch("stress", "kept");
    let out = stress(
        &dir,
        &["late", "-n", "1", "--seed", "5", "--time", "virtual"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let kept: Vec<PathBuf> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".run.json"))
        .collect();
    assert_eq!(kept.len(), 1, "{}", text(&out));
    assert_contains(&out, &format!("labtest replay {}", kept[0].display()));
    let run = json(&kept[0]);
    assert_eq!(run["test"], "late_fake");
    assert_eq!(run["target"], "fake_lab");
    assert_eq!(run["time"], "virtual");
    assert_eq!(run["verdict"], "failed");
    let seed = run["seed"].as_u64().unwrap();
    assert!(kept[0].ends_with(format!("late_fake-{seed}.run.json")));
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_fake_lab")).unwrap();
    assert_eq!(run["exe"], exe.to_str().unwrap());
    assert_eq!(run["source"]["bin"], exe.to_str().unwrap());
    let record: serde_json::Value = serde_json::from_str(run["record"].as_str().unwrap()).unwrap();
    assert_eq!(record["seed"].as_u64(), Some(seed));
    let events = std::fs::read_to_string(run["events"].as_str().unwrap()).unwrap();
    assert!(events.starts_with(r#"{"kind":"test_begin""#), "{events}");
    assert!(Path::new(run["output"].as_str().unwrap()).is_file());
}

#[test]
fn a_virtual_time_failure_gets_its_event_log_from_a_replay() {
    // Passing virtual-time runs write no event log; a failed one is run
    // again with the same seed to write it.
    let dir = scratch("stress", "logreplay");
    let out = stress(
        &dir,
        &[
            "pass", "late", "-n", "1", "--seed", "5", "--time", "virtual",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let starts = std::fs::read_to_string(dir.join("starts")).unwrap();
    let mut starts: Vec<&str> = starts.lines().collect();
    starts.sort();
    assert_eq!(
        starts,
        ["late_fake", "late_fake", "pass_fake"],
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("did not fail the same way"),
        "{}",
        text(&out)
    );
    let kept = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().path());
    let events: Vec<PathBuf> = kept
        .filter(|p| p.to_string_lossy().ends_with(".events.jsonl"))
        .collect();
    assert_eq!(events.len(), 1, "{}", text(&out));
    let log = std::fs::read_to_string(&events[0]).unwrap();
    assert!(log.starts_with(r#"{"kind":"test_begin""#), "{log}");
    // A replay that fails another way is said, with the run's own failure.
    let dir = scratch("stress", "logreplay-differs");
    let out = stress_command(&dir, &["late", "-n", "1", "--time", "virtual"])
        .env("FAKE_REPLAY_DIFFERS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "got none (start 1)");
    assert_contains(
        &out,
        "which did not fail the same way: expected one leader, got none (start 2)",
    );
}

/// The (seed, verdict) of every run of a report, sorted by seed.
fn verdicts(report: &serde_json::Value) -> Vec<(u64, String)> {
    let mut list: Vec<(u64, String)> = runs(report)
        .iter()
        .map(|r| {
            let verdict = r["verdict"].as_str().unwrap().to_string();
            (r["seed"].as_u64().unwrap(), verdict)
        })
        .collect();
    list.sort();
    list
}

#[test]
fn a_batch_of_seeds_gives_every_seed_the_verdict_and_files_it_gets_alone() {
    let args = [
        "flaky", "-n", "30", "-p", "2", "--seed", "7", "--time", "virtual",
    ];
    let alone_dir = scratch("stress", "batch-alone");
    let (_, alone) = stress_report(
        &alone_dir,
        "r.json",
        &[&args[..], &["--batch", "1"]].concat(),
    );
    let dir = scratch("stress", "batch");
    let (out, batched) = stress_report(&dir, "r.json", &[&args[..], &["--batch", "10"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(verdicts(&batched), verdicts(&alone));
    let failed: Vec<u64> = verdicts(&batched)
        .into_iter()
        .filter(|(_, v)| v == "failed")
        .map(|(seed, _)| seed)
        .collect();
    assert!(
        !failed.is_empty(),
        "no seed failed; pick another master seed"
    );
    // Three processes of ten seeds, then each failed seed alone, then its
    // replay for the event log.
    let starts = std::fs::read_to_string(dir.join("starts")).unwrap();
    assert_eq!(
        starts.lines().count(),
        30 + 2 * failed.len(),
        "{}",
        text(&out)
    );
    for run in runs(&batched).iter().filter(|r| r["verdict"] == "failed") {
        let seed = run["seed"].as_u64().unwrap();
        let log = std::fs::read_to_string(run["log"].as_str().unwrap()).unwrap();
        assert_eq!(log, format!("seed: {seed}\nrunning flaky_fake\n"));
        assert!(Path::new(run["events"].as_str().unwrap()).exists(), "{run}");
        assert!(Path::new(run["kept"].as_str().unwrap()).exists(), "{run}");
        assert_contains(
            &out,
            &format!(
                "replay: LAB_SEED={seed} LAB_TIME=virtual {}",
                env!("CARGO_BIN_EXE_fake_lab")
            ),
        );
    }
}

#[test]
fn a_seed_that_fails_only_in_a_batch_is_still_a_failure() {
    // The batch fails the seeds that pass alone (state left by an earlier
    // seed): each is run alone, passes, and counts as a failure with the
    // batch's output kept. The seeds that fail alone pass in the batch,
    // which is a pass the batch did have.
    let dir = scratch("stress", "batch-leaks");
    let (out, report) = {
        let path = dir.join("r.json");
        let out = stress_command(
            &dir,
            &[
                "flaky", "-n", "12", "-p", "1", "--seed", "7", "--time", "virtual", "--batch", "12",
            ],
        )
        .env("FAKE_BATCH_LEAKS", "1")
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
        (out, json(&path))
    };
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for run in runs(&report) {
        let seed = run["seed"].as_u64().unwrap();
        if seed % 3 == 0 {
            assert_eq!(run["verdict"], "passed", "{run}");
            continue;
        }
        assert_eq!(run["verdict"], "failed", "{run}");
        let failure = run["failure"].as_str().unwrap();
        assert!(
            failure.starts_with(&format!("flaky failed on seed {seed}")),
            "{failure}"
        );
        assert!(failure.contains("but passed when run alone"), "{failure}");
        let log = std::fs::read_to_string(run["log"].as_str().unwrap()).unwrap();
        assert!(log.contains(&format!("seed: {seed}\n")), "{log}");
        assert!(
            log.lines().filter(|l| l.starts_with("seed: ")).count() == 12,
            "{log}"
        );
    }
}

#[test]
fn a_binary_that_ignores_lab_seeds_gets_one_process_per_run() {
    let dir = scratch("stress", "batch-ignored");
    let path = dir.join("r.json");
    let out = stress_command(
        &dir,
        &[
            "pass", "-n", "20", "-p", "1", "--time", "virtual", "--batch", "5",
        ],
    )
    .env("FAKE_NO_SEEDS", "1")
    .arg("--json")
    .arg(&path)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json(&path);
    assert_eq!(verdicts(&report).len(), 20);
    let mut seeds: Vec<u64> = verdicts(&report).into_iter().map(|(s, _)| s).collect();
    seeds.dedup();
    assert_eq!(seeds.len(), 20, "every run has its own seed");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "passed"));
    // The first batch's seeds run again alone, then one process a run.
    let starts = std::fs::read_to_string(dir.join("starts")).unwrap();
    assert_eq!(starts.lines().count(), 1 + 20, "{}", text(&out));
}

#[test]
fn batch_needs_virtual_time_and_no_per_run_event_logs() {
    let dir = scratch("stress", "batch-usage");
    let out = stress(&dir, &["pass", "--batch", "4"]);
    assert_rejected_up_front(&out, &dir, "add --time virtual");
    let out = stress(&dir, &["pass", "--batch", "0", "--time", "virtual"]);
    assert_rejected_up_front(&out, &dir, "must be at least 1");
    let out = stress_command(&dir, &["pass", "--batch", "4", "--time", "virtual"])
        .env("LAB_LOG", dir.join("events.jsonl"))
        .output()
        .unwrap();
    assert_rejected_up_front(&out, &dir, "cannot give every run its own event log");
}
