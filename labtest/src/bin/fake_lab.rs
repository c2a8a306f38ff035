//! A fake lab test binary for the stress runner's own tests. It speaks the
//! lab tests' contract (`--list`, `NAME --exact`, `LAB_SEED`, `LAB_TIME`,
//! `LAB_RESULT_FILE`, `LAB_LOG`, exit 0/101) with tests that pass, fail on
//! chosen seeds, hang, panic, end without a verdict, fail on an overloaded
//! machine, or write a result file that must not count (two records, or
//! another test's). Each run appends its test's name to `FAKE_STARTS`, and
//! `NAME LAB_TIME` to `FAKE_TIMES`, if set, so that tests can see what ran.
//!
//! `LAB_TIME` is `real` (the default) or `virtual`; anything else exits 2.
//! The event log is drawn from the seed: in virtual time its timestamps
//! are too, so the same seed writes the same log byte for byte; in real
//! time they are read from the clock. `FAKE_DIVERGE_AT=K` changes event K
//! (a run that does not replay); `FAKE_IGNORES_TIME` makes the binary one
//! that knows only real time (no `time` in its record);
//! `FAKE_REPLAY_DIFFERS` gives `late_fake` another failure at each start.
//!
//! `LAB_SEEDS=a,b,...` runs the test once per seed in this one process, as
//! the lab's runner does in virtual time; `FAKE_NO_SEEDS` makes the binary
//! one that predates it (it runs `LAB_SEED` once), and `FAKE_BATCH_LEAKS`
//! one whose `flaky_fake` fails differently in a batch than alone.

// A test fixture for process handling, outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::Write;
use std::time::Duration;

const TESTS: [&str; 8] = [
    "pass_fake",
    "flaky_fake",
    "hang_fake",
    "panic_fake",
    "silent_fake",
    "late_fake",
    "twice_fake",
    "other_fake",
];

/// Appends `line` to the file named by the environment variable `var`, if
/// set.
fn append_to(var: &str, line: &str) {
    let Ok(path) = std::env::var(var) else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    // One write call: parallel runs append to the same file, and
    // `writeln!` may split the line and its newline into two writes.
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

/// How many runs FAKE_STARTS has seen so far, this one included.
fn starts() -> usize {
    std::env::var("FAKE_STARTS")
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map_or(0, |text| text.lines().count())
}

fn record(test: &str, passed: bool, seed: u64, oversleep_ms: f64, failure: Option<String>) {
    let mut line = serde_json::json!({
        "test": test, "passed": passed, "seconds": 0.05, "peers": 3, "rpcs": 10, "bytes": 100,
        "commands": 0, "seed": seed, "worst_oversleep_ms": oversleep_ms, "failure": failure,
    });
    if let Some(time) = clock() {
        line["time"] = time.into();
    }
    append_to("LAB_RESULT_FILE", &line.to_string());
}

/// The clock this run is on (`real` or `virtual`), None for a binary that
/// knows only real time; exits 2 on a bad `LAB_TIME`.
fn clock() -> Option<&'static str> {
    if std::env::var_os("FAKE_IGNORES_TIME").is_some() {
        return None;
    }
    match std::env::var("LAB_TIME").as_deref() {
        Err(_) | Ok("" | "real") => Some("real"),
        Ok("virtual") => Some("virtual"),
        Ok(other) => {
            eprintln!("error: LAB_TIME={other}: must be real or virtual");
            std::process::exit(2);
        }
    }
}

/// One draw of a splitmix64 stream.
fn draw(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Writes the run's event log (`LAB_LOG`): a begin, a step and a few
/// elections drawn from `seed`, timed by the virtual clock (drawn too) or
/// the real one.
fn write_events(name: &str, seed: u64, started: std::time::Instant) {
    if std::env::var("LAB_LOG").is_err() {
        return;
    }
    let diverge: Option<usize> = std::env::var("FAKE_DIVERGE_AT")
        .ok()
        .and_then(|k| k.parse().ok());
    let virtual_time = clock() == Some("virtual");
    let mut state = seed;
    let mut t_virtual = 0.0;
    let mut now = |state: &mut u64| {
        t_virtual += (draw(state) % 300) as f64 + 0.125;
        if virtual_time {
            t_virtual
        } else {
            (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0
        }
    };
    let mut events = vec![
        serde_json::json!({"t": 0.0, "peer": null, "kind": "test_begin", "test": name, "seed": seed}),
    ];
    let t = now(&mut state);
    events.push(serde_json::json!({"t": t, "peer": null, "kind": "step", "text": "starting"}));
    for term in 1..=4u64 {
        let peer = draw(&mut state) % 3;
        let t = now(&mut state);
        events.push(serde_json::json!({"t": t, "peer": peer, "kind": "role", "role": "leader", "term": term}));
    }
    for (i, event) in events.iter_mut().enumerate() {
        if diverge == Some(i + 1) {
            event["diverged"] = true.into();
        }
        append_to("LAB_LOG", &event.to_string());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for t in TESTS {
            println!("{t}: test");
        }
        println!("\n{} tests, 0 benchmarks", TESTS.len());
        return;
    }
    let name = args.first().map(String::as_str).unwrap_or("");
    let time = clock();
    let all_passed = seeds().into_iter().fold(true, |passed, (seed, in_batch)| {
        run_one(name, seed, in_batch, time) && passed
    });
    if !all_passed {
        std::process::exit(101);
    }
}

/// The seeds to run, each with whether it runs in a batch: `LAB_SEEDS`
/// (unless `FAKE_NO_SEEDS` makes this a binary that predates it), else
/// `LAB_SEED`, else 0.
fn seeds() -> Vec<(u64, bool)> {
    if std::env::var_os("FAKE_NO_SEEDS").is_none()
        && let Ok(list) = std::env::var("LAB_SEEDS")
    {
        return list
            .split(',')
            .map(|s| (s.parse().expect("LAB_SEEDS"), true))
            .collect();
    }
    let seed = std::env::var("LAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    vec![(seed, false)]
}

/// Runs test `name` once with `seed`; false if it failed. In a batch with
/// `FAKE_BATCH_LEAKS`, `flaky_fake` fails on the seeds it passes alone and
/// passes on the others, as if each seed met state an earlier one left.
fn run_one(name: &str, seed: u64, in_batch: bool, time: Option<&str>) -> bool {
    let started = std::time::Instant::now();
    println!("seed: {seed}\nrunning {name}");
    append_to("FAKE_STARTS", name);
    append_to(
        "FAKE_TIMES",
        &format!("{name} {}", std::env::var("LAB_TIME").unwrap_or_default()),
    );
    if time != Some("virtual") {
        std::thread::sleep(Duration::from_millis(50));
    }
    write_events(name, seed, started);
    let leaks = in_batch && std::env::var_os("FAKE_BATCH_LEAKS").is_some();
    let flaky_fails = seed.is_multiple_of(3) != leaks;
    match name {
        "pass_fake" => record(name, true, seed, 1.0, None),
        "flaky_fake" if flaky_fails => {
            record(
                name,
                false,
                seed,
                1.0,
                Some(format!("flaky failed on seed {seed}")),
            );
            return false;
        }
        "flaky_fake" => record(name, true, seed, 1.0, None),
        #[allow(clippy::zombie_processes)] // killed with the process group
        "hang_fake" => {
            let child = std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .unwrap();
            // Every hang's grandchild, one pid a line, for the tests to
            // check that none survives.
            append_to("FAKE_PID_FILE", &child.id().to_string());
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        "panic_fake" => panic!("the fake test panicked"),
        "silent_fake" => {}
        "twice_fake" => {
            record(name, true, seed, 1.0, None);
            record(name, true, seed, 1.0, None);
        }
        "other_fake" => record("pass_fake", true, seed, 1.0, None),
        "late_fake" => {
            // FAKE_REPLAY_DIFFERS: each start fails with another message
            // (its number in FAKE_STARTS), so a replay never matches.
            let failure = match std::env::var("FAKE_REPLAY_DIFFERS") {
                Ok(_) => format!("expected one leader, got none (start {})", starts()),
                Err(_) => "expected one leader, got none".to_string(),
            };
            record(name, false, seed, 500.0, Some(failure));
            return false;
        }
        other => {
            eprintln!("no such test {other}");
            std::process::exit(101);
        }
    }
    true
}
