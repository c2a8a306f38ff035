//! A fake lab test binary for the stress runner's own tests. It speaks the
//! lab tests' contract (`--list`, `NAME --exact`, `LAB_SEED`,
//! `LAB_RESULT_FILE`, `LAB_LOG`, exit 0/101) with tests that pass, fail on
//! chosen seeds, hang, panic, end without a verdict, fail on an overloaded
//! machine, or write a result file that must not count (two records, or
//! another test's). Each run appends its test's name to `FAKE_STARTS`, if
//! set, so that tests can see whether anything ran.

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
    writeln!(f, "{line}").unwrap();
}

fn record(test: &str, passed: bool, seed: u64, oversleep_ms: f64, failure: Option<String>) {
    let line = serde_json::json!({
        "test": test, "passed": passed, "seconds": 0.05, "peers": 3, "rpcs": 10, "bytes": 100,
        "commands": 0, "seed": seed, "worst_oversleep_ms": oversleep_ms, "failure": failure,
    });
    append_to("LAB_RESULT_FILE", &line.to_string());
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
    let seed: u64 = std::env::var("LAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let name = args.first().map(String::as_str).unwrap_or("");
    println!("seed: {seed}\nrunning {name}");
    append_to("FAKE_STARTS", name);
    if std::env::var("LAB_LOG").is_ok() {
        let begin = serde_json::json!({"t": 0.0, "peer": null, "kind": "test_begin", "test": name, "seed": seed});
        append_to("LAB_LOG", &begin.to_string());
    }
    std::thread::sleep(Duration::from_millis(50));
    match name {
        "pass_fake" => record(name, true, seed, 1.0, None),
        "flaky_fake" if seed.is_multiple_of(3) => {
            record(
                name,
                false,
                seed,
                1.0,
                Some(format!("flaky failed on seed {seed}")),
            );
            std::process::exit(101);
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
            if let Ok(path) = std::env::var("FAKE_PID_FILE") {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                writeln!(f, "{}", child.id()).unwrap();
            }
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
            record(
                name,
                false,
                seed,
                500.0,
                Some("expected one leader, got none".into()),
            );
            std::process::exit(101);
        }
        other => {
            eprintln!("no such test {other}");
            std::process::exit(101);
        }
    }
}
