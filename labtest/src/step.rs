//! Where a failed run was: the harness's step, for a grade's report.
//!
//! A run that failed with a verdict has the step in its result record (and
//! printed it as the runner's `while:` line, read only when the record has
//! none); a run killed at the
//! grader's timeout printed nothing, and its last step is the last `step`
//! event of its event log. This module only reads a failed run's kept
//! files; it never decides a verdict.

use crate::run::{RunResult, Verdict};
use std::fs;
use std::path::Path;

/// Where `result` was when it failed, in words: the step of a failed run,
/// or "timed out after N s" and the last step known for a killed one.
pub fn where_failed(result: &RunResult) -> Option<String> {
    match result.verdict {
        Verdict::Timeout => {
            let last = result.events.as_deref().and_then(last_step_event);
            Some(format!(
                "timed out after {:.0} s (killed by the grader); {}",
                result.seconds,
                match last {
                    Some(step) => format!("last step: {step}"),
                    None => "last step unknown".to_string(),
                }
            ))
        }
        _ if result.verdict.is_failure() => {
            if let Some(step) = &result.step {
                return Some(format!("while: {step}"));
            }
            let log = fs::read_to_string(result.log.as_deref()?).ok()?;
            step_in_log(&log).map(|step| format!("while: {step}"))
        }
        _ => None,
    }
}

/// The step the runner printed after a failure (`    while: STEP`, the
/// line after the failure message), in the runner's last failure block:
/// the runner prints it when the test ends, after anything the Raft
/// printed while the test ran.
fn step_in_log(log: &str) -> Option<String> {
    let after_fail = &log[log.rfind("--- FAIL: ")?..];
    after_fail
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("while: "))
        .map(str::to_string)
}

/// The text of the last `step` event the harness logged (peer null).
fn last_step_event(events: &Path) -> Option<String> {
    let text = fs::read_to_string(events).ok()?;
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["kind"] == "step" && e["peer"].is_null())
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(verdict: Verdict, dir: &Path, log: &str, events: &str) -> RunResult {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("run.log"), log).unwrap();
        fs::write(dir.join("run.events.jsonl"), events).unwrap();
        let case = crate::discover::TestCase {
            target: "raft_2a".into(),
            exe: "x".into(),
            name: "initial_election_2a".into(),
        };
        RunResult {
            seconds: 60.2,
            log: Some(dir.join("run.log")),
            events: Some(dir.join("run.events.jsonl")),
            ..RunResult::bare(&case, 1, crate::time_mode::TimeMode::Real, verdict)
        }
    }

    const EVENTS: &str = concat!(
        "{\"t\":0.1,\"peer\":null,\"kind\":\"step\",\"text\":\"starting\"}\n",
        "{\"t\":0.2,\"peer\":1,\"kind\":\"step\",\"text\":\"a student's event\"}\n",
        "{\"t\":3.0,\"peer\":null,\"kind\":\"step\",\"text\":\"check_one_leader: round 2 of 10\"}\n",
        "{\"t\":3.1,\"peer\":0,\"kind\":\"role\",\"role\":\"leader\"}\n",
    );

    #[test]
    fn a_failed_run_names_the_step_it_printed() {
        let dir = std::env::temp_dir().join(format!("step-failed-{}", std::process::id()));
        let log = "seed: 1\n--- FAIL: forged\n    while: a step the Raft printed\n--- FAIL: initial_election_2a (5.11s)\n    expected one leader, got none\n    while: check_one_leader: round 10 of 10\n";
        let r = failed(Verdict::Failed, &dir, log, EVENTS);
        assert_eq!(
            where_failed(&r).as_deref(),
            Some("while: check_one_leader: round 10 of 10")
        );
        // No failure block in the log: nothing is claimed.
        let r = failed(Verdict::Crashed, &dir, "while: fake\n", EVENTS);
        assert_eq!(where_failed(&r), None);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_killed_run_says_it_timed_out_and_its_last_harness_step() {
        let dir = std::env::temp_dir().join(format!("step-killed-{}", std::process::id()));
        let r = failed(Verdict::Timeout, &dir, "", EVENTS);
        assert_eq!(
            where_failed(&r).as_deref(),
            Some(
                "timed out after 60 s (killed by the grader); last step: check_one_leader: round 2 of 10"
            )
        );
        let r = failed(Verdict::Timeout, &dir, "", "");
        assert_eq!(
            where_failed(&r).as_deref(),
            Some("timed out after 60 s (killed by the grader); last step unknown")
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
