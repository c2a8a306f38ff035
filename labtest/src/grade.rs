//! Grading one submission: build it against the pristine harness, run each
//! test K times through the stress machinery, and score it.
//!
//! A test earns its points only if every one of its K runs passed. The
//! verdict of a run comes from the runner (exit status and the harness's
//! result record), never from what the submission printed. A submission
//! that does not build scores zero with the compiler's first errors.

use crate::discover::{self, Source, TestCase};
use crate::integrity;
use crate::progress::Progress;
use crate::run::RunResult;
use crate::schedule::{self, Parallel, Plan};
use crate::workspace;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Points per test. Go's 2A tests make the score; the extra tests (ours)
/// are reported apart unless asked for.
pub const POINTS: [(&str, f64, bool); 5] = [
    ("initial_election_2a", 5.0, false),
    ("re_election_2a", 5.0, false),
    ("many_elections_2a", 5.0, false),
    ("heartbeat_rate_2a_extra", 5.0, true),
    ("stable_leader_2a_extra", 5.0, true),
];

/// How to grade.
#[derive(Clone)]
pub struct Settings {
    /// Runs of each test.
    pub runs: usize,
    pub parallel: usize,
    pub timeout: Duration,
    /// Also run the extra tests (reported apart).
    pub extra: bool,
    /// Count the extra tests in the score.
    pub extra_in_score: bool,
    pub seed: u64,
    /// Shared cargo target dir for scratch builds (dependencies are built
    /// once).
    pub target_dir: PathBuf,
    pub quiet: bool,
}

/// The grade of one test.
#[derive(Serialize, Clone, Debug)]
pub struct TestGrade {
    pub test: String,
    pub extra: bool,
    pub score: f64,
    pub max_score: f64,
    pub runs: usize,
    pub passed: usize,
    /// The first failed run's number (1-based), if any.
    pub first_failure: Option<usize>,
    pub output: String,
}

/// The grade of a submission.
#[derive(Serialize, Clone, Debug)]
pub struct Grade {
    pub submission: String,
    pub built: bool,
    pub score: f64,
    pub max_score: f64,
    pub extra_score: f64,
    pub extra_max_score: f64,
    pub seconds: f64,
    pub notes: Vec<String>,
    pub build_errors: Option<String>,
    pub tests: Vec<TestGrade>,
    #[serde(skip)]
    pub results: Vec<RunResult>,
}

impl Grade {
    /// The grade of a submission that never got to run: score 0 on every
    /// test, with `errors` (the compiler's, or why it could not be read).
    pub fn zero(name: &str, notes: Vec<String>, errors: String, s: &Settings) -> Grade {
        Grade {
            submission: name.to_string(),
            built: false,
            score: 0.0,
            max_score: max_score(false, s),
            extra_score: 0.0,
            extra_max_score: if s.extra { max_score(true, s) } else { 0.0 },
            seconds: 0.0,
            notes,
            build_errors: Some(errors),
            tests: POINTS
                .iter()
                .filter(|(_, _, extra)| s.extra || !extra)
                .map(|&(test, points, extra)| TestGrade {
                    test: test.into(),
                    extra,
                    score: 0.0,
                    max_score: points,
                    runs: 0,
                    passed: 0,
                    first_failure: None,
                    output: "the submission did not build".into(),
                })
                .collect(),
            results: Vec::new(),
        }
    }
}

/// Grades the raft sources in `raft_src` (a `src` folder), working in
/// `scratch`.
pub fn grade_sources(
    name: &str,
    raft_src: &Path,
    notes: Vec<String>,
    scratch: &Path,
    s: &Settings,
) -> Grade {
    let t0 = Instant::now();
    let cases = match prepare(raft_src, scratch, s) {
        Ok(cases) => cases,
        Err(errors) => {
            let mut grade = Grade::zero(name, notes, errors, s);
            grade.seconds = t0.elapsed().as_secs_f64();
            return grade;
        }
    };
    let mut grade = Grade {
        built: true,
        build_errors: None,
        tests: Vec::new(),
        ..Grade::zero(name, notes, String::new(), s)
    };
    let plan = Plan {
        cases,
        runs_per_test: s.runs,
        looping: false,
        parallel: Parallel::Fixed(s.parallel),
        timeout: s.timeout,
        until_fail: false,
        master_seed: s.seed,
        out: scratch.join("failed-runs"),
    };
    let mut progress = Progress::new(Some(plan.runs_per_test * plan.cases.len()), s.quiet);
    let outcome = schedule::run(&plan, &mut progress);
    progress.done();
    let results = match outcome {
        Ok(o) => o.results,
        Err(err) => {
            grade.notes.push(format!("cannot run the tests: {err}"));
            Vec::new()
        }
    };
    grade.tests = score_tests(&results, s);
    grade.score = grade
        .tests
        .iter()
        .filter(|t| !t.extra || s.extra_in_score)
        .map(|t| t.score)
        .sum();
    grade.extra_score = grade
        .tests
        .iter()
        .filter(|t| t.extra)
        .map(|t| t.score)
        .sum();
    grade.results = results;
    grade.seconds = t0.elapsed().as_secs_f64();
    grade
}

fn max_score(extra: bool, s: &Settings) -> f64 {
    POINTS
        .iter()
        .filter(|(_, _, e)| if extra { *e } else { !e || s.extra_in_score })
        .map(|(_, p, _)| p)
        .sum()
}

/// Builds the scratch workspace and finds its tests; Err with the
/// compiler's first errors if it does not build.
fn prepare(raft_src: &Path, scratch: &Path, s: &Settings) -> Result<Vec<TestCase>, String> {
    let root = workspace::repo_root()?;
    let ws = scratch.join("workspace");
    workspace::assemble(&root, &ws, raft_src, &[])?;
    integrity::check(&ws, &s.target_dir)?;
    // SAFETY of the environment: the builds and the runs below read
    // CARGO_TARGET_DIR; set once per grading process, before any thread.
    let source = Source {
        package: "tests".into(),
        targets: if s.extra {
            vec!["raft_2a".into(), "raft_2a_extra".into()]
        } else {
            vec!["raft_2a".into()]
        },
        extra: s.extra,
        bin: None,
        workspace: Some(ws),
        target_dir: Some(s.target_dir.clone()),
    };
    let cases = discover::discover(&source).map_err(|e| first_errors(&e))?;
    Ok(cases
        .into_iter()
        .filter(|c| POINTS.iter().any(|(t, _, _)| *t == c.name))
        .collect())
}

/// The compiler's first errors, without the noise.
fn first_errors(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("error"))
        .unwrap_or(0);
    lines[start..]
        .iter()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

fn score_tests(results: &[RunResult], s: &Settings) -> Vec<TestGrade> {
    POINTS
        .iter()
        .filter(|(_, _, extra)| s.extra || !extra)
        .map(|&(test, points, extra)| {
            let runs: Vec<&RunResult> = results.iter().filter(|r| r.test == test).collect();
            let passed = runs.iter().filter(|r| !r.verdict.is_failure()).count();
            let first_failure = runs
                .iter()
                .position(|r| r.verdict.is_failure())
                .map(|i| i + 1);
            let all = !runs.is_empty() && passed == runs.len();
            let mut output = format!("{passed} of {} runs passed", runs.len());
            if let Some(r) = runs.iter().find(|r| r.verdict.is_failure()) {
                output += &format!(
                    "\nfirst failure ({}, seed {}): {}",
                    r.verdict.label(),
                    r.seed,
                    r.failure.as_deref().unwrap_or("")
                );
            }
            TestGrade {
                test: test.into(),
                extra,
                score: if all { points } else { 0.0 },
                max_score: points,
                runs: runs.len(),
                passed,
                first_failure,
                output,
            }
        })
        .collect()
}

/// The human table of a grade.
pub fn table(grade: &Grade) -> String {
    let mut out = format!("grade of {}\n", grade.submission);
    for note in &grade.notes {
        out += &format!("note: {note}\n");
    }
    if let Some(errors) = &grade.build_errors {
        out += &format!("the submission does not build (score 0):\n{errors}\n");
    }
    out += &format!("{:<26} {:>7} {:>9}  {}\n", "test", "passed", "score", "");
    for t in &grade.tests {
        out += &format!(
            "{:<26} {:>3}/{:<3} {:>4}/{:<4} {}\n",
            t.test,
            t.passed,
            t.runs,
            t.score,
            t.max_score,
            if t.extra { "(extra)" } else { "" }
        );
    }
    out += &format!("score: {}/{}", grade.score, grade.max_score);
    if grade.extra_max_score > 0.0 {
        out += &format!("   extra: {}/{}", grade.extra_score, grade.extra_max_score);
    }
    out += &format!("   ({:.0} s)\n", grade.seconds);
    out
}

/// Gradescope's results.json.
pub fn gradescope(grade: &Grade) -> serde_json::Value {
    let mut tests: Vec<serde_json::Value> = Vec::new();
    if let Some(errors) = &grade.build_errors {
        tests.push(serde_json::json!({
            "name": integrity::entry_name(errors), "score": 0.0, "max_score": 0.0,
            "output": format!("The submission does not build:\n{errors}"), "visibility": "visible",
        }));
    }
    for t in &grade.tests {
        tests.push(serde_json::json!({
            "name": if t.extra { format!("{} (extra)", t.test) } else { t.test.clone() },
            "score": t.score, "max_score": t.max_score, "output": t.output, "visibility": "visible",
        }));
    }
    serde_json::json!({
        "score": grade.score,
        "execution_time": grade.seconds.round() as u64,
        "output": grade.notes.join("\n"),
        "tests": tests,
    })
}
