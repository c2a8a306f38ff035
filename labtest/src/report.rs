//! The summary of a stress session: a table per test, the failed runs with
//! their logs and replay commands, and the JSON and JUnit files.
//!
//! Reports are built only from the runs' results; this module never runs
//! anything.

use crate::run::{RunResult, Verdict};
use crate::stats::{mean, percentile, wilson_95};
use crate::time_mode::TimeMode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Figures for one test.
#[derive(Debug, Serialize)]
pub struct TestSummary {
    pub test: String,
    pub runs: usize,
    pub passes: usize,
    pub failures: usize,
    /// Failures of runs whose worst oversleep passed the threshold: likely
    /// an overloaded machine rather than a Raft bug.
    pub suspect: usize,
    pub failure_rate: f64,
    pub rate_low_95: f64,
    pub rate_high_95: f64,
    pub mean_s: f64,
    pub median_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
}

/// True if a failed run happened while its process woke late enough to
/// lose an election on a correct Raft (only in real time: a virtual-time
/// run never wakes late). A run that could not start a thread (the machine
/// ran out of processes) is suspect too.
pub fn is_suspect(result: &RunResult, suspect_oversleep_ms: f64) -> bool {
    let late = result.time.load_can_fail_runs()
        && result
            .worst_oversleep_ms
            .is_some_and(|ms| ms > suspect_oversleep_ms);
    let starved = result
        .failure
        .as_deref()
        .is_some_and(|f| f.contains("cannot start a thread"));
    result.verdict.is_failure() && (late || starved)
}

/// Per-test figures, in the order tests first appear.
pub fn summarize(results: &[RunResult], suspect_oversleep_ms: f64) -> Vec<TestSummary> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_test: BTreeMap<&str, Vec<&RunResult>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.verdict != Verdict::Interrupted) {
        if !by_test.contains_key(r.test.as_str()) {
            order.push(&r.test);
        }
        by_test.entry(&r.test).or_default().push(r);
    }
    order
        .into_iter()
        .map(|test| {
            let runs = &by_test[test];
            let failures = runs.iter().filter(|r| r.verdict.is_failure()).count();
            let suspect = runs
                .iter()
                .filter(|r| is_suspect(r, suspect_oversleep_ms))
                .count();
            let mut secs: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
            secs.sort_by(f64::total_cmp);
            let (lo, hi) = wilson_95(failures, runs.len());
            TestSummary {
                test: test.to_string(),
                runs: runs.len(),
                passes: runs.len() - failures,
                failures,
                suspect,
                failure_rate: failures as f64 / runs.len() as f64,
                rate_low_95: lo,
                rate_high_95: hi,
                mean_s: mean(&secs),
                median_s: percentile(&secs, 50.0),
                p95_s: percentile(&secs, 95.0),
                max_s: percentile(&secs, 100.0),
            }
        })
        .collect()
}

/// The summary table.
pub fn table(summaries: &[TestSummary]) -> String {
    let width = summaries
        .iter()
        .map(|s| s.test.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:>5} {:>5} {:>5} {:>7}  {:>17}  {:>6} {:>6} {:>6} {:>6}\n",
        "test", "runs", "pass", "fail", "rate", "95% CI", "mean", "median", "p95", "max"
    );
    for s in summaries {
        out += &format!(
            "{:<width$}  {:>5} {:>5} {:>5} {:>6.2}%  [{:>6.2}%, {:>6.2}%]  {:>5.1}s {:>5.1}s {:>5.1}s {:>5.1}s\n",
            s.test,
            s.runs,
            s.passes,
            s.failures,
            100.0 * s.failure_rate,
            100.0 * s.rate_low_95,
            100.0 * s.rate_high_95,
            s.mean_s,
            s.median_s,
            s.p95_s,
            s.max_s
        );
    }
    out
}

/// How to replay one run: the given binary if the runner was given one,
/// else cargo with the lab tests' `package`; `LAB_TIME=virtual` (and its
/// `LAB_SCHED`) for a virtual-time run.
pub fn replay_command(result: &RunResult, exe: Option<&Path>, package: &str) -> String {
    let sched = match (&result.sched, result.time) {
        (Some(sched), TimeMode::Virtual) => format!("LAB_SCHED={sched} "),
        _ => String::new(),
    };
    let env = format!(
        "LAB_SEED={} {}{sched}",
        result.seed,
        result.time.replay_env()
    );
    match exe {
        Some(exe) => format!("{env}{} {} --exact", exe.display(), result.test),
        None => format!(
            "{env}cargo test --release -p {package} --test {} -- {} --exact",
            result.target, result.test
        ),
    }
}

/// The failed runs, each with its verdict, message, log and replay command.
pub fn failures(
    results: &[RunResult],
    suspect_oversleep_ms: f64,
    exe: Option<&Path>,
    package: &str,
) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| r.verdict.is_failure()) {
        let suspect = if is_suspect(r, suspect_oversleep_ms) {
            format!(
                " [suspect: woke {:.0} ms late, the machine was overloaded]",
                r.worst_oversleep_ms.unwrap_or(0.0)
            )
        } else if !r.time.load_can_fail_runs() {
            format!(" [{}: not the machine's load]", r.time.label())
        } else {
            String::new()
        };
        out += &format!(
            "{} {} (seed {}, {:.1}s){suspect}\n",
            r.verdict.label().to_uppercase(),
            r.test,
            r.seed,
            r.seconds
        );
        if let Some(msg) = &r.failure {
            for line in msg.lines() {
                out += &format!("    {line}\n");
            }
        }
        if let Some(log) = &r.log {
            out += &format!("    log: {}\n", log.display());
        }
        if let Some(events) = &r.events {
            out += &format!("    events: {}\n", events.display());
        }
        if let Some(timeline) = &r.timeline {
            out += &format!("    timeline: {}\n", timeline.display());
        }
        out += &format!("    replay: {}\n", replay_command(r, exe, package));
        if let Some(kept) = &r.kept {
            out += &format!(
                "    replay and compare: labtest replay {}\n",
                kept.display()
            );
        }
    }
    out
}

/// The machine-readable summary.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub master_seed: u64,
    /// The clock of every run.
    pub time: TimeMode,
    pub wall_seconds: f64,
    pub interrupted: bool,
    /// The signal that stopped the session (`SIGINT`, `SIGTERM`), if any.
    pub signal: Option<&'static str>,
    pub tests: &'a [TestSummary],
    pub runs: &'a [RunResult],
}

/// JUnit XML: a suite per test, a case per run; each case's `time`
/// property names its clock.
pub fn junit(results: &[RunResult], wall: Duration) -> String {
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("labtest stress");
    report.set_time(wall);
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in results.iter().filter(|r| r.verdict != Verdict::Interrupted) {
        let status = if r.verdict.is_failure() {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(
                r.failure
                    .clone()
                    .unwrap_or_else(|| r.verdict.label().to_string()),
            );
            status.set_type(r.verdict.label());
            status
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(format!("{} seed={}", r.test, r.seed), status);
        case.set_time(Duration::from_secs_f64(r.seconds));
        case.add_property(Property::new("time", r.time.name()));
        suites
            .entry(&r.test)
            .or_insert_with(|| TestSuite::new(r.test.clone()))
            .add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(time: TimeMode, sched: Option<&str>) -> RunResult {
        let case = crate::discover::TestCase {
            target: "raft_2a".into(),
            exe: "x".into(),
            name: "initial_election_2a".into(),
        };
        RunResult {
            sched: sched.map(str::to_string),
            seconds: 1.0,
            worst_oversleep_ms: Some(400.0),
            exit_code: Some(101),
            ..RunResult::bare(&case, 9, time, Verdict::Failed)
        }
    }

    #[test]
    fn oversleep_makes_a_failure_suspect_only_in_real_time() {
        assert!(is_suspect(&failed(TimeMode::Real, None), 100.0));
        assert!(!is_suspect(&failed(TimeMode::Virtual, None), 100.0));
    }

    #[test]
    fn replay_lines_set_lab_time_and_lab_sched_only_in_virtual_time() {
        let line = |time, sched| replay_command(&failed(time, sched), None, "tests");
        let tail = "cargo test --release -p tests --test raft_2a -- initial_election_2a --exact";
        assert_eq!(line(TimeMode::Real, None), format!("LAB_SEED=9 {tail}"));
        assert_eq!(
            line(TimeMode::Real, Some("pct")),
            format!("LAB_SEED=9 {tail}")
        );
        assert_eq!(
            line(TimeMode::Virtual, None),
            format!("LAB_SEED=9 LAB_TIME=virtual {tail}")
        );
        assert_eq!(
            line(TimeMode::Virtual, Some("pct:2")),
            format!("LAB_SEED=9 LAB_TIME=virtual LAB_SCHED=pct:2 {tail}")
        );
    }
}
