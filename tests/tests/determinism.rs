//! The determinism proof of virtual time: for many seeds, Go's three 2A
//! tests run twice in fresh processes give byte-identical event logs
//! (virtual timestamps included) and identical Passed lines, and
//! different seeds give different runs. The two engines of virtual time
//! (`LAB_ENGINE`: fibers, threads) give the same run too.
//!
//! `LAB_DETERMINISM_SEEDS` sets how many seeds (200 by default).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use labrpc::sync::{Arc, Mutex};
use labrpc::thread;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const TESTS: [&str; 3] = ["initial_election_2a", "re_election_2a", "many_elections_2a"];

/// One run's event log and the lines Go prints for each test.
#[derive(PartialEq)]
struct Outcome {
    log: Vec<u8>,
    lines: Vec<String>,
}

fn run_once(seed: u64, log: &Path, broken: &str, sched: &str) -> Outcome {
    run_once_on(FIBERS, seed, log, broken, sched)
}

/// The default engine of virtual time, and the other one.
const FIBERS: &str = "fibers";
const THREADS: &str = "threads";

/// [`run_once`] on the engine `engine` (`LAB_ENGINE`).
fn run_once_on(engine: &str, seed: u64, log: &Path, broken: &str, sched: &str) -> Outcome {
    let mut args: Vec<&str> = TESTS.to_vec();
    args.push("--exact");
    run_tests_on(engine, seed, log, (broken, sched), &args, true)
}

/// Runs the tests `args` selects (filters and flags, as cargo takes them).
fn run_tests(
    seed: u64,
    log: &Path,
    broken: &str,
    sched: &str,
    args: &[&str],
    must_pass: bool,
) -> Outcome {
    run_tests_on(FIBERS, seed, log, (broken, sched), args, must_pass)
}

/// [`run_tests`] on the engine `engine`, with the broken Raft and the
/// scheduler `(broken, sched)`.
fn run_tests_on(
    engine: &str,
    seed: u64,
    log: &Path,
    (broken, sched): (&str, &str),
    args: &[&str],
    must_pass: bool,
) -> Outcome {
    let mut command = lab_command(engine, log, (broken, sched), args);
    command.env("LAB_SEED", seed.to_string());
    let what = format!("seed {seed}");
    outcome(&mut command, log, &what, must_pass && broken == "none")
}

/// The broken-Raft binary running `args` in virtual time on `engine`,
/// logging to `log`.
fn lab_command(engine: &str, log: &Path, (broken, sched): (&str, &str), args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_broken_raft"));
    command
        .args(args)
        .env("LAB_ENGINE", engine)
        .env("LAB_BROKEN", broken)
        .env("LAB_TIME", "virtual")
        .env("LAB_LOG", log)
        .env("LAB_SCHED", sched);
    command
}

/// Runs `command` (see [`lab_command`]): its event log and Go's lines.
fn outcome(command: &mut Command, log: &Path, what: &str, must_pass: bool) -> Outcome {
    let out = command.output().expect("cannot start broken_raft");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() || !must_pass,
        "{what}: the reference failed in virtual time:\n{stdout}"
    );
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with("Test (") || l.contains("Passed --") || l.starts_with("---"))
        .map(str::to_string)
        .collect();
    let log_bytes = std::fs::read(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    Outcome {
        log: log_bytes,
        lines,
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn seeds() -> u64 {
    std::env::var("LAB_DETERMINISM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Runs `f(seed)` for seeds 1..=n on two threads; returns the failures.
fn for_each_seed(n: u64, f: impl Fn(u64) -> Option<String> + Send + Sync + 'static) -> Vec<String> {
    let f = Arc::new(f);
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (f, failures) = (f.clone(), failures.clone());
            thread::spawn(format!("determinism-{w}"), move || {
                for seed in (1..=n).filter(|s| s % 2 == w) {
                    if let Some(failure) = f(seed) {
                        failures.lock().push(failure);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // Every worker has ended, and with it every other handle.
    Arc::try_unwrap(failures).map_or_else(|f| f.lock().clone(), Mutex::into_inner)
}

#[test]
fn the_same_seed_gives_the_same_run_event_for_event() {
    let dir = scratch();
    let n = seeds();
    let logs = Arc::new(Mutex::new(HashMap::new()));
    let kept = logs.clone();
    let failures = for_each_seed(n, move |seed| {
        let first = run_once(seed, &dir.join(format!("{seed}-a.jsonl")), "none", "random");
        let second = run_once(seed, &dir.join(format!("{seed}-b.jsonl")), "none", "random");
        if first.log.is_empty() || first.lines.len() < 2 * TESTS.len() {
            return Some(format!("seed {seed}: no event log or no Passed lines"));
        }
        if first.lines != second.lines {
            return Some(format!(
                "seed {seed}: Passed lines differ:\n{:?}\n{:?}",
                first.lines, second.lines
            ));
        }
        if first.log != second.log {
            let a = String::from_utf8_lossy(&first.log).into_owned();
            let b = String::from_utf8_lossy(&second.log).into_owned();
            let at = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            return Some(format!(
                "seed {seed}: event logs differ at line {at:?}: {:?} vs {:?}",
                at.and_then(|i| a.lines().nth(i)),
                at.and_then(|i| b.lines().nth(i))
            ));
        }
        kept.lock().insert(seed, first.log);
        None
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let logs = logs.lock();
    let mut distinct: Vec<&Vec<u8>> = logs.values().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        logs.len(),
        "two different seeds gave the same run"
    );
}

#[test]
fn a_broken_raft_replays_its_failure_exactly() {
    // The replay a student needs: the same failure, at the same moment.
    let dir = scratch().join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    let failures = for_each_seed(6, move |seed| {
        let a = run_once(
            seed,
            &dir.join(format!("{seed}-a.jsonl")),
            "two-leaders",
            "random",
        );
        let b = run_once(
            seed,
            &dir.join(format!("{seed}-b.jsonl")),
            "two-leaders",
            "random",
        );
        let failed = a.lines.iter().any(|l| l.starts_with("--- FAIL"));
        if !failed {
            return Some(format!(
                "seed {seed}: the broken Raft passed: {:?}",
                a.lines
            ));
        }
        (a != b).then(|| format!("seed {seed}: the failure did not replay"))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pct_schedules_replay_too() {
    let dir = scratch().join("pct");
    std::fs::create_dir_all(&dir).unwrap();
    let failures = for_each_seed(20, move |seed| {
        let a = run_once(seed, &dir.join(format!("{seed}-a.jsonl")), "none", "pct:3");
        let b = run_once(seed, &dir.join(format!("{seed}-b.jsonl")), "none", "pct:3");
        if a.log.is_empty() {
            return Some(format!("seed {seed}: no event log"));
        }
        (a != b).then(|| format!("seed {seed}: a PCT run did not replay"))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_test_run_alone_replays_as_it_ran_after_the_others() {
    // The replay line names one test (`-- many_elections_2a --exact`).
    let dir = scratch().join("alone");
    std::fs::create_dir_all(&dir).unwrap();
    let failures = for_each_seed(10, move |seed| {
        let suite = run_once(
            seed,
            &dir.join(format!("{seed}-suite.jsonl")),
            "none",
            "random",
        );
        // run_tests asserts that the reference passed alone.
        let alone = run_tests(
            seed,
            &dir.join(format!("{seed}-alone.jsonl")),
            "none",
            "random",
            &["many_elections_2a", "--exact"],
            true,
        );
        let alone = String::from_utf8_lossy(&alone.log).into_owned();
        let suite = String::from_utf8_lossy(&suite.log).into_owned();
        let from = suite
            .find(r#""test":"many_elections_2a""#)
            .map(|at| suite[..at].rfind('\n').map_or(0, |nl| nl + 1));
        match from {
            Some(from) if suite[from..] == alone => None,
            _ => Some(format!(
                "seed {seed}: many_elections_2a alone did not replay its run in the suite"
            )),
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the tests `filters` select twice on each of 2 seeds: every one of
/// the `count` tests must run, and the two runs must be the same.
fn assert_part_replays(part: &str, filters: &[&str], count: usize) {
    let dir = scratch().join(part.replace('/', ""));
    std::fs::create_dir_all(&dir).unwrap();
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    let part = part.to_string();
    let failures = for_each_seed(2, move |seed| {
        let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
        let run = |name: &str| {
            run_tests(
                seed,
                &dir.join(format!("{seed}-{name}.jsonl")),
                "none",
                "random",
                &filters,
                false,
            )
        };
        let (a, b) = (run("a"), run("b"));
        // Whether each test passed is part of what must replay (the
        // reference's open 2C failure replays too).
        if a.lines.iter().filter(|l| l.starts_with("Test (")).count() < count {
            return Some(format!(
                "seed {seed}: not every {part} test ran: {:?}",
                a.lines
            ));
        }
        (a != b).then(|| format!("seed {seed}: a {part} run did not replay"))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_2b_and_2c_tests_replay_too() {
    assert_part_replays("2B/2C", &["_2b", "_2c"], 18);
}

#[test]
fn the_2d_tests_replay_too() {
    assert_part_replays("2D", &["_2d"], 7);
}

#[test]
fn both_engines_give_the_same_run() {
    // Go's 2A on 20 seeds (PCT on half of them), and every 2B, 2C and 2D
    // test on 2: a run on fibers is the baton's run, event for event.
    let dir = scratch().join("engines");
    std::fs::create_dir_all(&dir).unwrap();
    let failures = for_each_seed(20, move |seed| {
        let sched = if seed % 2 == 0 { "pct:3" } else { "random" };
        let log = |engine: &str| dir.join(format!("{seed}-{engine}.jsonl"));
        let fibers = run_once_on(FIBERS, seed, &log(FIBERS), "none", sched);
        let threads = run_once_on(THREADS, seed, &log(THREADS), "none", sched);
        if fibers.log.is_empty() {
            return Some(format!("seed {seed}: no event log"));
        }
        if fibers != threads {
            return Some(format!(
                "seed {seed} ({sched}): the engines' 2A runs differ"
            ));
        }
        if seed > 2 {
            return None;
        }
        let later = ["_2b", "_2c", "_2d"];
        let part =
            |engine: &str| run_tests_on(engine, seed, &log(engine), ("none", sched), &later, false);
        let (fibers, threads) = (part(FIBERS), part(THREADS));
        if fibers
            .lines
            .iter()
            .filter(|l| l.starts_with("Test ("))
            .count()
            < 25
        {
            return Some(format!("seed {seed}: not every 2B-2D test ran"));
        }
        (fibers != threads).then(|| format!("seed {seed}: the engines' 2B-2D runs differ"))
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_batch_of_seeds_runs_each_seed_as_it_runs_alone() {
    // The stress runner hands a test process several seeds (LAB_SEEDS):
    // its event log and lines must be those of the seeds run one process
    // each, in order, byte for byte: for Go's 2A with the reference and
    // with a Raft that fails, and for a 2B, a 2C and a 2D test.
    let dir = scratch().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[&str], u64); 3] = [
        ("none", &TESTS, 8),
        ("two-leaders", &TESTS, 4),
        (
            "none",
            &["fail_agree_2b", "figure8_2c", "snapshot_basic_2d"],
            2,
        ),
    ];
    let mut failures = Vec::new();
    for (broken, tests, count) in cases {
        let mut args = tests.to_vec();
        args.push("--exact");
        let seeds: Vec<u64> = (1..=count).map(|s| s * 7919).collect();
        let log = dir.join("batch.jsonl");
        let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
        let mut command = lab_command(FIBERS, &log, (broken, "random"), &args);
        command.env("LAB_SEEDS", list.join(","));
        let batch = outcome(&mut command, &log, "the batch", false);
        let mut alone = Outcome {
            log: Vec::new(),
            lines: Vec::new(),
        };
        for &seed in &seeds {
            let log = dir.join(format!("{seed}.jsonl"));
            let one = run_tests(seed, &log, broken, "random", &args, false);
            alone.log.extend(one.log);
            alone.lines.extend(one.lines);
        }
        let ran = batch
            .lines
            .iter()
            .filter(|l| l.starts_with("Test ("))
            .count();
        if ran != tests.len() * seeds.len() {
            failures.push(format!(
                "{broken} {tests:?}: {ran} tests ran: {:?}",
                batch.lines
            ));
        } else if batch != alone {
            failures.push(format!(
                "{broken} {tests:?}: the batch's runs differ from the seeds alone"
            ));
        }
        if broken != "none" && !batch.lines.iter().any(|l| l.starts_with("--- FAIL")) {
            failures.push(format!("{broken}: the broken Raft passed every seed"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
