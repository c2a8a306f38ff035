//! `labtest log` and `labtest timeline` as a user meets them: exit
//! statuses, messages, pipes.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_contains, scratch, text};
use labview::sample::{SampleConfig, sample_log};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn labtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labtest"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// A synthetic run's log (see `labview::sample`) written to `dir/name`.
fn sample_file(dir: &Path, name: &str, cfg: &SampleConfig) -> PathBuf {
    write(dir, name, &sample_log(cfg))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_reader_that_stops_early_ends_the_log_quietly() {
    let dir = scratch("views", "pipe");
    // Far more than a pipe holds, so the writer meets the closed pipe.
    let log = sample_file(&dir, "big.jsonl", &SampleConfig::seven_peers_big());
    let mut child = Command::new(env!("CARGO_BIN_EXE_labtest"))
        .args(["log", s(&log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (`| head -1`).
    let out = child.wait_with_output().unwrap();
    assert!(!first.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn an_empty_log_is_nothing_to_show_for_both_views() {
    let dir = scratch("views", "empty");
    let log = write(&dir, "events.jsonl", "");
    let html = dir.join("run.html");
    let shown = labtest(&["log", s(&log)]);
    let drawn = labtest(&["timeline", s(&log), "-o", s(&html)]);
    for out in [&shown, &drawn] {
        assert_eq!(out.status.code(), Some(1), "{}", text(out));
        assert_contains(out, "holds no events");
        assert_contains(out, "LAB_LOG");
    }
    assert!(!html.exists(), "a page of nothing");
}

#[test]
fn a_missing_file_or_a_damaged_line_is_bad_input() {
    let dir = scratch("views", "bad");
    let missing = dir.join("nope.jsonl");
    for view in ["log", "timeline"] {
        let mut args = vec![view, s(&missing)];
        if view == "timeline" {
            args.extend(["-o", "/dev/null"]);
        }
        let out = labtest(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert_contains(&out, "cannot read");
        assert_contains(&out, "nope.jsonl");
    }
    let good = sample_log(&SampleConfig::passing());
    let first = good.lines().next().unwrap();
    let damaged = write(&dir, "damaged.jsonl", &format!("{first}\nnot json\n{good}"));
    let out = labtest(&["log", s(&damaged)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "damaged.jsonl:2: not JSON");
    // An unfinished last line (a killed run) is only a warning.
    let cut = write(&dir, "cut.jsonl", &format!("{good}{{\"t\":1,\"pe"));
    let out = labtest(&["log", s(&cut)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "warning:");
    assert_contains(&out, "unfinished last line");
}

#[test]
fn filters_that_match_nothing_say_which_and_what_the_log_holds() {
    let dir = scratch("views", "filters");
    let log = sample_file(&dir, "events.jsonl", &SampleConfig::three_peers());
    let out = labtest(&["log", s(&log), "--kind", "role", "--term", "99"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "no event matches --term 99");
    assert_contains(&out, "peers 0-2");
    assert_contains(&out, "terms 0-");
    let out = labtest(&["log", s(&log), "--peer", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_contains(&out, "no peer 5");
    // A test the log does not hold: bad input, with the list.
    let out = labtest(&["log", s(&log), "--test", "Nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(
        &out,
        "no test matches --test Nope; the log holds: TestReElection2A",
    );
}

#[test]
fn off_a_terminal_the_log_is_plain_unless_asked_for_columns() {
    let dir = scratch("views", "plain");
    let log = sample_file(&dir, "events.jsonl", &SampleConfig::three_peers());
    let out = labtest(&["log", s(&log), "--kind", "role"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\x1b'));
    for line in stdout.lines() {
        assert_eq!(line.split('\t').count(), 4, "not plain: {line}");
    }
    let out = labtest(&["log", s(&log), "--kind", "role", "--columns"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().nth(1).unwrap().contains("│peer 0"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn the_timeline_says_which_test_it_drew_and_how_to_pick_another() {
    let dir = scratch("views", "timeline");
    let pass = sample_log(&SampleConfig::passing());
    let fail = sample_log(&SampleConfig::three_peers());
    let log = write(&dir, "events.jsonl", &format!("{pass}{fail}{pass}"));
    let html = dir.join("run.html");
    let out = labtest(&["timeline", s(&log), "-o", s(&html)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "test 2 of 3: TestReElection2A (seed 3) (FAILED)");
    assert_contains(&out, "pick one with --test NAME");
    assert_contains(&out, &format!("wrote {}", html.display()));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"data-2\""), "every test is in the page");
    let out = labtest(&["timeline", s(&log), "-o", s(&html), "--test", "Initial"]);
    assert_contains(&out, "test 3 of 3: TestInitialElection2A");
}
