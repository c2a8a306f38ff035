//! The stress runner against the fake lab binary: counts, timeouts and
//! process groups, exit codes, reports, seeds.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_contains, scratch, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn stress(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labtest"))
        .arg("stress")
        .args(["--bin", env!("CARGO_BIN_EXE_fake_lab"), "--quiet"])
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .env("FAKE_PID_FILE", dir.join("pid"))
        .output()
        .unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn all_passing_exits_zero() {
    let dir = scratch("stress", "pass");
    let out = stress(&dir, &["pass", "-n", "5", "-p", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("5 passed, 0 failed"), "{}", text(&out));
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
    let xml = std::fs::read_to_string(&x).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<failure").count(), expected_failures, "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 30);
}

#[test]
fn a_hang_is_killed_with_its_process_group_at_the_timeout() {
    let dir = scratch("stress", "hang");
    let j = dir.join("r.json");
    let t0 = Instant::now();
    let out = stress(
        &dir,
        &[
            "hang",
            "-n",
            "1",
            "--timeout",
            "2",
            "--json",
            j.to_str().unwrap(),
        ],
    );
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(json(&j)["runs"][0]["verdict"], "timeout");
    assert_no_hang_survives(&dir);
}

/// Fails if any grandchild a hanging fake test started is still alive.
fn assert_no_hang_survives(dir: &Path) {
    let pids = std::fs::read_to_string(dir.join("pid")).unwrap();
    assert!(!pids.trim().is_empty(), "no hang started");
    std::thread::sleep(Duration::from_millis(500));
    for pid in pids.lines() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(
            status.is_empty() || status.contains("State:\tZ"),
            "the hung test's child {pid} survived: {status}"
        );
    }
}

#[test]
fn crashes_and_missing_verdicts_fail() {
    let dir = scratch("stress", "crash");
    let j = dir.join("r.json");
    let out = stress(
        &dir,
        &["panic", "silent", "-n", "2", "--json", j.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let verdicts: Vec<String> = json(&j)["runs"]
        .as_array()
        .unwrap()
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
    let j = dir.join("r.json");
    let out = stress(
        &dir,
        &[
            "flaky",
            "-n",
            "100",
            "-p",
            "1",
            "--until-fail",
            "--json",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&j);
    let runs = report["runs"].as_array().unwrap();
    assert!(runs.len() < 100, "ran {}", runs.len());
    assert_eq!(runs.iter().filter(|r| r["verdict"] == "failed").count(), 1);
}

#[test]
fn the_same_master_seed_gives_the_same_seeds() {
    let dir = scratch("stress", "seeds");
    let seeds = |name: &str| {
        let j = dir.join(name);
        let out = stress(
            &dir,
            &[
                "pass",
                "-n",
                "5",
                "-p",
                "2",
                "--seed",
                "99",
                "--json",
                j.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        let mut s: Vec<u64> = json(&j)["runs"]
            .as_array()
            .unwrap()
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

#[test]
fn ctrl_c_ends_a_loop_cleanly_and_prints_the_summary() {
    let dir = scratch("stress", "ctrlc");
    let j = dir.join("r.json");
    let child = Command::new(env!("CARGO_BIN_EXE_labtest"))
        .arg("stress")
        .args(["--bin", env!("CARGO_BIN_EXE_fake_lab"), "--quiet"])
        .arg("--out")
        .arg(dir.join("out"))
        .args(["pass", "hang", "--loop", "-p", "3", "--timeout", "100"])
        .arg("--json")
        .arg(&j)
        .env("FAKE_PID_FILE", dir.join("pid"))
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
        assert!(t0.elapsed() < Duration::from_secs(20), "no hang started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signals the runner we started; no memory is involved.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let t1 = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t1.elapsed() < Duration::from_secs(10), "{:?}", t1.elapsed());
    // Interrupted runs are not failures; the passes finished before.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "; interrupted");
    assert_contains(&out, "pass_fake");
    let report = json(&j);
    assert_eq!(report["interrupted"], true);
    let runs = report["runs"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["verdict"] == "passed"), "{report}");
    assert!(
        runs.iter().any(|r| r["verdict"] == "interrupted"),
        "{report}"
    );
    assert_no_hang_survives(&dir);
}

/// A tiny cargo package `tests` with a lab test target `raft_9z` that
/// speaks the contract: `ok_9z` passes, `bad_9z` fails. With `broken`, the
/// target does not compile.
fn lab_package(dir: &Path, broken: bool) {
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"tests\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [workspace]\n\n[[test]]\nname = \"raft_9z\"\npath = \"tests/raft_9z.rs\"\nharness = false\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let body = r#"
use std::io::Write;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("ok_9z: test\nbad_9z: test\n\n2 tests, 0 benchmarks");
        return;
    }
    let seed = std::env::var("LAB_SEED").unwrap_or_default();
    let passed = args[0] == "ok_9z";
    let path = std::env::var("LAB_RESULT_FILE").unwrap();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    let failure = if passed { "null".to_string() } else { "\"bad on purpose\"".to_string() };
    writeln!(f, "{{\"test\":\"{}\",\"passed\":{passed},\"seed\":{seed},\"worst_oversleep_ms\":1.0,\"failure\":{failure}}}", args[0]).unwrap();
    std::process::exit(if passed { 0 } else { 101 });
}
"#;
    let body = if broken {
        format!("{body}\nfn oops() -> u32 {{ \"not a number\" }}\n")
    } else {
        body.to_string()
    };
    std::fs::write(dir.join("tests/raft_9z.rs"), body).unwrap();
}

fn stress_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labtest"))
        .arg("stress")
        .arg("--quiet")
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap()
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
