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
    let pid = std::fs::read_to_string(dir.join("pid")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "the hung test's child survived: {status}"
    );
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
