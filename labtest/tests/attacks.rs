//! The attack suite: submissions written to forge their own verdict. Each
//! is the handout's skeleton (which never elects a leader) with one attack
//! run first in `Raft::make` (`tests/attacks/*.rs`). All are graded in one
//! grading session (`grade-batch`, one cargo target dir), and each must
//! score 0 with a report that says why: the forbidden use named with its
//! file and line, or the real failure of a run whose attack is allowed code.
//! Before the ban, `append_result_file` scored 15/15.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{grade_batch, initial_election_in, labtest, scratch, skeleton_with_attack, text};
use std::fs;
use std::path::Path;

/// Why an attack scores 0.
enum Why {
    /// The integrity check names the line marked `// FORBIDDEN`, with this
    /// text.
    Forbidden(&'static str),
    /// The attack is allowed code; its runs fail, and the report shows this
    /// failure.
    Fails(&'static str),
}

struct Attack {
    name: &'static str,
    source: &'static str,
    why: Why,
}

macro_rules! attack {
    ($name:literal, $why:expr) => {
        Attack {
            name: $name,
            source: include_str!(concat!("attacks/", $name, ".rs")),
            why: $why,
        }
    };
}

fn attacks() -> Vec<Attack> {
    use Why::{Fails, Forbidden};
    vec![
        attack!("append_result_file", Forbidden("`std::env::var`")),
        attack!("proc_self_fd", Forbidden("`std::fs::read_dir`")),
        attack!("exit_zero", Forbidden("`std::process::exit`")),
        attack!("fake_pass_lines", Fails("expected one leader, got none")),
        attack!("child_process", Forbidden("`std::process::Command`")),
        attack!("read_env", Forbidden("`std::env::vars`")),
        attack!("libc_write", Forbidden("allow(unsafe_code) incompatible")),
        attack!(
            "unsafe_attributes",
            Forbidden("usage of an `unsafe extern` block")
        ),
        attack!("include_harness", Forbidden("include_str`")),
        attack!("crafted_panic", Fails("panic: \n{\"test\"")),
        attack!("alias_std", Forbidden("renaming `std` is forbidden")),
        attack!(
            "hidden_from_clippy",
            Forbidden("`clippy` outside a lint name")
        ),
        attack!("panic_hook", Forbidden("`std::panic::set_hook`")),
        attack!("foreign_owner", Forbidden("`labrpc::thread::Owner`")),
        attack!(
            "allow_override",
            Forbidden("allow(clippy::disallowed_methods) incompatible")
        ),
    ]
}

/// The line of `source` marked `// FORBIDDEN` (1-based).
fn marked_line(source: &str) -> usize {
    source
        .lines()
        .position(|l| l.contains("// FORBIDDEN"))
        .expect("a forbidden attack marks its line")
        + 1
}

#[test]
fn every_attack_scores_zero_and_the_report_says_why() {
    let dir = scratch("attacks", "batch");
    let subs = dir.join("subs");
    let attacks = attacks();
    for a in &attacks {
        skeleton_with_attack(&subs.join(a.name), a.source);
    }
    let out_dir = dir.join("out");
    let out = grade_batch(&subs, &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for a in &attacks {
        let results = fs::read_to_string(out_dir.join(a.name).join("results.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&results).unwrap();
        assert_eq!(json["score"], 0.0, "{}: {json}", a.name);
        let tests = json["tests"].as_array().unwrap();
        let integrity = tests.iter().find(|t| t["name"] == "build integrity");
        match a.why {
            Why::Forbidden(what) => {
                let output = integrity.map_or("", |t| t["output"].as_str().unwrap());
                let line = format!("src/attack.rs:{}: ", marked_line(a.source));
                let named = output.lines().find(|l| l.contains(&line));
                assert!(
                    named.is_some_and(|l| l.contains(what)),
                    "{}: the report must name {line}{what}:\n{json}",
                    a.name
                );
            }
            Why::Fails(failure) => {
                assert!(integrity.is_none(), "{}: allowed code: {json}", a.name);
                assert!(
                    tests.iter().all(|t| t["output"]
                        .as_str()
                        .unwrap()
                        .starts_with("0 of 1 runs passed")),
                    "{}: {json}",
                    a.name
                );
                assert!(
                    tests
                        .iter()
                        .any(|t| t["output"].as_str().unwrap().contains(failure)),
                    "{}: the report must show {failure:?}:\n{json}",
                    a.name
                );
            }
        }
    }
}

/// The second line of defence, without the ban: a Raft that looks for
/// `LAB_RESULT_FILE` in the environment does not find it (the runner takes
/// it out before any Raft code runs), so its run fails as the skeleton
/// does and the result file holds only that failure.
#[test]
fn the_verdict_channel_is_not_in_the_environment() {
    let dir = scratch("attacks", "environment");
    let tree = dir.join("lab");
    let out = labtest(&["handout", "--out", tree.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let attack = attacks()
        .into_iter()
        .find(|a| a.name == "append_result_file")
        .unwrap();
    skeleton_with_attack(&tree.join("raft"), attack.source);
    // A version of its own, so that its artifacts in the shared target dir
    // are not any graded workspace's.
    let manifest = tree.join("raft/Cargo.toml");
    let text_of = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text_of.replace("version = \"0.1.0\"", "version = \"0.1.0-environment\""),
    )
    .unwrap();
    let record = dir.join("record.jsonl");
    let run = initial_election_in(
        &tree,
        &[
            ("LAB_RESULT_FILE", &record),
            ("LAB_TEST_LIMIT", Path::new("30")),
        ],
    );
    let all = text(&run);
    assert!(
        all.contains("attack: LAB_RESULT_FILE is not in the environment"),
        "{all}"
    );
    assert_eq!(run.status.code(), Some(101), "{all}");
    let records = fs::read_to_string(&record).unwrap();
    assert_eq!(records.lines().count(), 1, "{records}");
    assert!(records.contains("\"passed\":false"), "{records}");
}
