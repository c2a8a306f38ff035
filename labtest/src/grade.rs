//! Grading one submission: build it against the pristine harness, run each
//! test K times through the stress machinery, and score it.
//!
//! A test earns its points only if every one of its K scored runs passed.
//! The verdict of a run comes from the runner (exit status and the
//! harness's result record), never from what the submission printed. A
//! failure on an overloaded grader is re-run, not scored (see `retry`). A
//! submission that does not build scores zero with the compiler's first
//! errors. An interrupted grade is marked incomplete and scores nothing:
//! it is not a grade. The parts graded (`part`) decide the tests, each
//! from its part's own binary; results.json names them as Go does and adds
//! up each part.

use crate::discover::{self, Source, TestCase};
use crate::integrity;
use crate::part::{self, Part};
use crate::progress::Progress;
use crate::report::{self, replay_command};
use crate::retry::{self, Policy, Runs};
use crate::run::{RunResult, UserEnv, Verdict};
use crate::schedule::{self, Parallel, Plan, Signal};
use crate::seed_batch::Batching;
use crate::time_mode::TimeMode;
use crate::{step, workspace};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to grade.
#[derive(Clone)]
pub struct Settings {
    /// Runs of each test.
    pub runs: usize,
    pub parallel: usize,
    pub timeout: Duration,
    /// The parts graded, sorted, none twice.
    pub parts: Vec<Part>,
    /// Also run the extra tests of the graded parts (reported apart).
    pub extra: bool,
    /// Count the extra tests in the score.
    pub extra_in_score: bool,
    /// The master seed of this submission's runs.
    pub seed: u64,
    /// Which failures are re-run instead of scored (none in virtual time).
    pub reruns: Policy,
    /// The clock of every run (`LAB_TIME`).
    pub time: TimeMode,
    /// Shared cargo target dir for scratch builds (dependencies are built
    /// once).
    pub target_dir: PathBuf,
    pub quiet: bool,
}

/// The grade of one test.
#[derive(Serialize, Clone, Debug)]
pub struct TestGrade {
    /// Its name in our binary.
    pub test: String,
    /// Go's name for it (ours for an extra test).
    pub go_name: String,
    pub part: Part,
    pub extra: bool,
    pub score: f64,
    pub max_score: f64,
    /// Scored runs.
    pub runs: usize,
    pub passed: usize,
    /// The first failed scored run's number (1-based), if any.
    pub first_failure: Option<usize>,
    /// Suspect failures (an overloaded grader) that were run again and not
    /// scored.
    pub suspect_reruns: usize,
    /// Suspect failures scored anyway because the re-run cap was reached.
    pub scored_at_cap: usize,
    pub output: String,
}

/// The grade of a submission.
#[derive(Serialize, Clone, Debug)]
pub struct Grade {
    pub submission: String,
    /// Repeats this grade's runs (`--seed`).
    pub master_seed: u64,
    /// The clock the runs ran on.
    pub time: TimeMode,
    /// The parts graded.
    pub parts: Vec<Part>,
    pub built: bool,
    /// The grade was interrupted: it is not a grade.
    pub incomplete: bool,
    pub score: f64,
    pub max_score: f64,
    pub extra_score: f64,
    pub extra_max_score: f64,
    pub seconds: f64,
    pub notes: Vec<String>,
    pub build_errors: Option<String>,
    pub tests: Vec<TestGrade>,
    /// The scratch workspace the submission was built in, kept so that a
    /// failed run can be replayed against the submission's own Raft.
    pub workspace: Option<PathBuf>,
    /// The signal that interrupted the grade.
    #[serde(skip)]
    pub interrupted_by: Option<Signal>,
    /// The scored runs.
    #[serde(skip)]
    pub results: Vec<RunResult>,
    /// Suspect failures re-run instead of scored.
    #[serde(skip)]
    pub set_aside: Vec<RunResult>,
}

impl Grade {
    /// The grade of a submission that never got to run: score 0 on every
    /// test, with `errors` (the compiler's, or why it could not be read).
    pub fn zero(name: &str, notes: Vec<String>, errors: String, s: &Settings) -> Grade {
        Grade {
            submission: name.to_string(),
            master_seed: s.seed,
            time: s.time,
            parts: s.parts.clone(),
            built: false,
            incomplete: false,
            score: 0.0,
            max_score: max_score(false, s),
            extra_score: 0.0,
            extra_max_score: if s.extra { max_score(true, s) } else { 0.0 },
            seconds: 0.0,
            notes,
            build_errors: Some(errors),
            tests: part::tests_of(&s.parts, s.extra)
                .map(|t| TestGrade {
                    test: t.name.into(),
                    go_name: t.go_name.into(),
                    part: t.part,
                    extra: t.extra,
                    score: 0.0,
                    max_score: t.points,
                    runs: 0,
                    passed: 0,
                    first_failure: None,
                    suspect_reruns: 0,
                    scored_at_cap: 0,
                    output: "the submission did not build".into(),
                })
                .collect(),
            workspace: None,
            interrupted_by: None,
            results: Vec::new(),
            set_aside: Vec::new(),
        }
    }

    /// Marks the grade interrupted by `signal`: nothing scores, and every
    /// test says how far it got.
    fn interrupt(&mut self, signal: Signal) {
        self.incomplete = true;
        self.interrupted_by = Some(signal);
        self.score = 0.0;
        self.extra_score = 0.0;
        self.build_errors = None;
        for t in &mut self.tests {
            t.score = 0.0;
            t.output = format!(
                "interrupted ({}): {} of its runs finished, {} passed; not scored",
                signal.name(),
                t.runs,
                t.passed
            );
        }
    }

    /// Adds up the tests' scores.
    fn total(&mut self, s: &Settings) {
        self.score = self
            .tests
            .iter()
            .filter(|t| !t.extra || s.extra_in_score)
            .map(|t| t.score)
            .sum();
        self.extra_score = self.tests.iter().filter(|t| t.extra).map(|t| t.score).sum();
    }

    /// Each graded part's score and maximum, from its Go tests (the extra
    /// tests are added up apart).
    pub fn subtotals(&self) -> Vec<(Part, f64, f64)> {
        self.parts
            .iter()
            .map(|&p| {
                let go = || self.tests.iter().filter(|t| t.part == p && !t.extra);
                (
                    p,
                    go().map(|t| t.score).sum(),
                    go().map(|t| t.max_score).sum(),
                )
            })
            .collect()
    }

    /// Whether every test of every graded part (and the extra set, if
    /// graded) scored its points.
    pub fn full_marks(&self) -> bool {
        self.built
            && !self.incomplete
            && self.score >= self.max_score
            && self.extra_score >= self.extra_max_score
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
    let prepared = prepare(raft_src, scratch, s);
    // Ctrl-C reaches the build too: a build it stopped is not a build
    // error.
    if let Some(signal) = schedule::caught() {
        let mut grade = Grade::zero(name, notes, String::new(), s);
        grade.interrupt(signal);
        grade.seconds = t0.elapsed().as_secs_f64();
        return grade;
    }
    let (cases, source) = match prepared {
        Ok(found) => found,
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
        workspace: Some(workspace_of(scratch)),
        ..Grade::zero(name, notes, String::new(), s)
    };
    let mut run = |cases: &[TestCase], runs: usize, seed: u64| {
        let plan = Plan {
            cases: cases.to_vec(),
            source: source.clone(),
            runs_per_test: runs,
            looping: false,
            parallel: Parallel::Fixed(s.parallel),
            timeout: s.timeout,
            until_fail: false,
            master_seed: seed,
            out: scratch.join("failed-runs"),
            // Every graded run has a process of its own: a submission's
            // code never carries anything from one seed to the next.
            batching: Batching::Off,
        };
        run_plan(&plan, s)
    };
    let runs = retry::run_scored(&cases, s.runs, s.seed, s.reruns, &mut run);
    if let Some(err) = &runs.error {
        grade.notes.push(format!("cannot run the tests: {err}"));
    }
    grade.tests = score_tests(&runs, s);
    grade.total(s);
    if runs.interrupted {
        grade.interrupt(schedule::caught().unwrap_or(Signal::Interrupt));
    }
    grade.results = runs.scored;
    grade.set_aside = runs.set_aside;
    grade.seconds = t0.elapsed().as_secs_f64();
    grade
}

/// Runs `plan` on the grade's clock: the finished runs and whether the
/// grade was interrupted.
fn run_plan(plan: &Plan, s: &Settings) -> retry::Round {
    let env = UserEnv {
        time: s.time,
        ..UserEnv::default()
    };
    let mut progress = Progress::new(Some(plan.runs_per_test * plan.cases.len()), s.quiet);
    let outcome = schedule::run_in(plan, &env, &mut progress);
    progress.done();
    outcome
        .map(|o| (o.results, o.interrupted))
        .map_err(|e| e.to_string())
}

/// The scratch workspace `prepare` builds in.
fn workspace_of(scratch: &Path) -> PathBuf {
    scratch.join("workspace")
}

fn max_score(extra: bool, s: &Settings) -> f64 {
    part::tests_of(&s.parts, true)
        .filter(|t| {
            if extra {
                t.extra
            } else {
                !t.extra || s.extra_in_score
            }
        })
        .map(|t| t.points)
        .sum()
}

/// Builds the scratch workspace and finds its tests (and where they came
/// from); Err with the compiler's first errors if it does not build.
fn prepare(
    raft_src: &Path,
    scratch: &Path,
    s: &Settings,
) -> Result<(Vec<TestCase>, Source), String> {
    let root = workspace::repo_root()?;
    let ws = scratch.join("workspace");
    workspace::assemble(&root, &ws, raft_src, &[], &s.target_dir)?;
    integrity::check(&ws, &s.target_dir)?;
    // SAFETY of the environment: the builds and the runs below read
    // CARGO_TARGET_DIR; set once per grading process, before any thread.
    let mut targets: Vec<String> = s.parts.iter().map(|p| p.target().to_string()).collect();
    if s.extra {
        targets.extend(
            s.parts
                .iter()
                .filter_map(|p| p.extra_target())
                .map(String::from),
        );
    }
    let source = Source {
        package: "tests".into(),
        targets,
        extra: s.extra,
        bin: None,
        workspace: Some(ws),
        target_dir: Some(s.target_dir.clone()),
    };
    let cases = discover::discover(&source).map_err(|e| first_errors(&e))?;
    let cases = cases
        .into_iter()
        .filter(|c| part::tests_of(&s.parts, s.extra).any(|t| t.name == c.name))
        .collect();
    Ok((cases, source))
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

fn score_tests(runs: &Runs, s: &Settings) -> Vec<TestGrade> {
    part::tests_of(&s.parts, s.extra)
        .map(|t| {
            let test = t.name;
            let scored: Vec<&RunResult> = runs
                .scored
                .iter()
                .filter(|r| r.test == test && r.verdict != Verdict::Interrupted)
                .collect();
            let passed = scored.iter().filter(|r| !r.verdict.is_failure()).count();
            let first_failure = scored.iter().position(|r| r.verdict.is_failure());
            let all = !scored.is_empty() && passed == scored.len();
            let grade = TestGrade {
                test: test.into(),
                go_name: t.go_name.into(),
                part: t.part,
                extra: t.extra,
                score: if all { t.points } else { 0.0 },
                max_score: t.points,
                runs: scored.len(),
                passed,
                first_failure: first_failure.map(|i| i + 1),
                suspect_reruns: runs.reruns(test),
                scored_at_cap: runs.capped(test),
                output: String::new(),
            };
            TestGrade {
                output: test_output(&grade, first_failure.map(|i| scored[i]), s),
                ..grade
            }
        })
        .collect()
}

/// What a test's entry in results.json says: runs passed, suspect runs
/// re-run, the cap, and the first failure with its step and the command
/// that replays it in the student's own lab tree.
fn test_output(t: &TestGrade, first_failure: Option<&RunResult>, s: &Settings) -> String {
    let mut out = format!("{} of {} runs passed", t.passed, t.runs);
    if t.suspect_reruns > 0 {
        out += &format!(
            "\n{} suspect run{} re-run (not scored): failed while the grader woke threads more than {:.0} ms late",
            t.suspect_reruns,
            if t.suspect_reruns == 1 { "" } else { "s" },
            s.reruns.suspect_oversleep_ms
        );
    }
    if t.scored_at_cap > 0 {
        out += &format!(
            "\nre-run cap reached ({} per test): {} failure{} on an overloaded grader scored as failed; grade again on a quieter machine",
            s.reruns.max_reruns,
            t.scored_at_cap,
            if t.scored_at_cap == 1 { "" } else { "s" }
        );
    }
    if let Some(r) = first_failure {
        out += &format!(
            "\nfirst failure ({}, seed {}): {}",
            r.verdict.label(),
            r.seed,
            r.failure.as_deref().unwrap_or("")
        );
        if let Some(place) = step::where_failed(r) {
            out += &format!("\n{place}");
        }
        out += &format!(
            "\nreplay in your lab tree: {}",
            replay_command(r, None, "tests")
        );
    }
    out
}

/// The human table of a grade.
pub fn table(grade: &Grade) -> String {
    let mut out = format!("grade of {}\n", grade.submission);
    if let Some(signal) = grade.interrupted_by {
        out += &format!(
            "INTERRUPTED by {}: this grade is incomplete and scores nothing; the runs that finished are below\n",
            signal.name()
        );
    }
    out += &format!(
        "master seed {0} (--seed {0} repeats this grade), {1}, part {2}\n",
        grade.master_seed,
        grade.time.label(),
        part::joined(&grade.parts)
    );
    if let Some(note) = no_reruns_note(grade.time) {
        out += &format!("note: {note}\n");
    }
    for note in &grade.notes {
        out += &format!("note: {note}\n");
    }
    if let Some(errors) = &grade.build_errors {
        out += &format!("the submission does not build (score 0):\n{errors}\n");
    }
    out += &format!(
        "{:<4} {:<32} {:>7} {:>9}  {:<8} {}\n",
        "part", "test", "passed", "score", "re-runs", ""
    );
    for t in &grade.tests {
        let reruns = match (t.suspect_reruns, t.scored_at_cap) {
            (0, _) => String::new(),
            (n, 0) => n.to_string(),
            (n, _) => format!("{n} (cap)"),
        };
        out += &format!(
            "{:<4} {:<32} {:>3}/{:<3} {:>4}/{:<4} {:<8} {}\n",
            t.part.label(),
            t.go_name,
            t.passed,
            t.runs,
            t.score,
            t.max_score,
            reruns,
            if t.extra { "(extra)" } else { "" }
        );
    }
    for t in grade.tests.iter().filter(|t| t.suspect_reruns > 0) {
        let note = t
            .output
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("first failure"));
        for line in note {
            out += &format!("{}: {line}\n", t.go_name);
        }
    }
    out += &format!("score: {}/{}", grade.score, grade.max_score);
    if grade.parts.len() > 1 {
        let parts: Vec<String> = grade
            .subtotals()
            .iter()
            .map(|(p, score, max)| format!("{p} {score}/{max}"))
            .collect();
        out += &format!(" ({})", parts.join(", "));
    }
    if grade.extra_max_score > 0.0 {
        out += &format!("   extra: {}/{}", grade.extra_score, grade.extra_max_score);
    }
    out += &format!(
        "   ({:.0} s){}\n",
        grade.seconds,
        if grade.incomplete {
            "   INCOMPLETE"
        } else {
            ""
        }
    );
    out
}

/// The failed runs for course staff, each with where it failed and a
/// replay line that rebuilds and runs the submission's own Raft in its
/// kept scratch workspace (never the reference in the repository), then
/// the suspect runs that were re-run instead of scored.
pub fn failures(grade: &Grade, s: &Settings) -> String {
    let Some(ws) = &grade.workspace else {
        return String::new();
    };
    let in_workspace = format!(
        "    replay: cd {} && CARGO_TARGET_DIR={} ",
        shell_quote(&ws.display().to_string()),
        shell_quote(&replay_target_dir(s).display().to_string())
    );
    let listing = |runs: &[RunResult]| {
        let text = report::failures(runs, s.reruns.suspect_oversleep_ms, None, "tests");
        let mut out = String::new();
        let mut places = runs
            .iter()
            .filter(|r| r.verdict.is_failure())
            .map(step::where_failed);
        for line in text.lines() {
            if let Some(command) = line.strip_prefix("    replay: ") {
                if let Some(Some(place)) = places.next() {
                    out += &format!("    {place}\n");
                }
                out += &format!("{in_workspace}{command}\n");
            } else {
                out += line;
                out.push('\n');
            }
        }
        out
    };
    let mut out = listing(&grade.results);
    if !grade.set_aside.is_empty() {
        out += &format!(
            "\nsuspect runs re-run instead of scored:\n{}",
            listing(&grade.set_aside)
        );
    }
    out
}

/// The cargo target dir of the replay lines: beside the grader's, never
/// it. cargo trusts a crate's artifacts while no source is newer, and the
/// grader reuses a submission's build (`content_version`), so staff who
/// edit a kept scratch workspace to debug it and rebuild in the grader's
/// target dir would have later grades of the same sources run the edited
/// code.
fn replay_target_dir(s: &Settings) -> PathBuf {
    s.target_dir.with_file_name("replay-target")
}

/// `text` quoted for a POSIX shell.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Gradescope's results.json. An incomplete grade says so at the top
/// (`"incomplete": true`, score 0, and why): it must never pass for a
/// grade.
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
            "name": if t.extra { format!("{} (extra)", t.go_name) } else { t.go_name.clone() },
            "score": t.score, "max_score": t.max_score, "output": t.output, "visibility": "visible",
            "tags": [t.part], "extra_data": { "part": t.part, "test": t.test },
        }));
    }
    let parts: serde_json::Map<String, serde_json::Value> = grade
        .subtotals()
        .into_iter()
        .map(|(p, score, max)| {
            let subtotal = serde_json::json!({ "score": score, "max_score": max });
            (p.label().to_string(), subtotal)
        })
        .collect();
    let mut output = Vec::new();
    if let Some(signal) = grade.interrupted_by {
        output.push(format!(
            "INCOMPLETE: the grade was interrupted by {}; this is not a grade.",
            signal.name()
        ));
    }
    output.push(format!(
        "master seed {0} (labtest grade --seed {0} repeats this grade), {1}, part {2}",
        grade.master_seed,
        grade.time.label(),
        part::joined(&grade.parts)
    ));
    for (p, score, max) in grade.subtotals() {
        output.push(format!("{p}: {score}/{max}"));
    }
    output.extend(no_reruns_note(grade.time).map(str::to_string));
    output.extend(grade.notes.iter().cloned());
    serde_json::json!({
        "score": grade.score,
        "execution_time": grade.seconds.round() as u64,
        "output": output.join("\n"),
        "tests": tests,
        "master_seed": grade.master_seed,
        "time": grade.time,
        "part": grade.parts,
        "parts": parts,
        "incomplete": grade.incomplete,
    })
}

/// Why a grade on `time` re-runs no failure, if it re-runs none.
fn no_reruns_note(time: TimeMode) -> Option<&'static str> {
    (!time.load_can_fail_runs()).then_some(
        "virtual time: a failure is never the machine's fault, so no failed run is re-run; every run is scored",
    )
}

/// The file a grade writes while it runs, in place of any older
/// results.json: if the grade never finishes, what is left says so.
pub fn in_progress(master_seed: u64, time: TimeMode) -> serde_json::Value {
    serde_json::json!({
        "score": 0.0,
        "output": format!("INCOMPLETE: grading (master seed {master_seed}) did not finish; this is not a grade."),
        "tests": [],
        "master_seed": master_seed,
        "time": time,
        "incomplete": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(time: TimeMode) -> Settings {
        Settings {
            runs: 1,
            parallel: 1,
            timeout: Duration::from_secs(1),
            parts: part::ALL.to_vec(),
            extra: false,
            extra_in_score: false,
            seed: 1,
            reruns: Policy {
                suspect_oversleep_ms: 100.0,
                max_reruns: 3,
            },
            time,
            target_dir: PathBuf::from("t"),
            quiet: true,
        }
    }

    #[test]
    fn results_json_names_the_clock_and_why_virtual_time_re_runs_nothing() {
        let virtual_grade =
            Grade::zero("x", Vec::new(), String::new(), &settings(TimeMode::Virtual));
        let json = gradescope(&virtual_grade);
        assert_eq!(json["time"], "virtual");
        let output = json["output"].as_str().unwrap();
        assert!(
            output.contains("virtual time: a failure is never the machine's fault"),
            "{output}"
        );
        assert!(table(&virtual_grade).contains("no failed run is re-run"));
        let real = Grade::zero("x", Vec::new(), String::new(), &settings(TimeMode::Real));
        let json = gradescope(&real);
        assert_eq!(json["time"], "real");
        assert!(!json["output"].as_str().unwrap().contains("re-run"));
        assert_eq!(in_progress(3, TimeMode::Virtual)["time"], "virtual");
    }

    #[test]
    fn results_json_names_tests_as_go_does_and_adds_up_each_part() {
        let s = Settings {
            parts: vec![Part::B, Part::C],
            ..settings(TimeMode::Virtual)
        };
        let mut g = Grade::zero("x", Vec::new(), String::new(), &s);
        g.build_errors = None;
        for t in g.tests.iter_mut().filter(|t| t.part == Part::B) {
            t.score = t.max_score;
        }
        g.tests[8].score = 0.0;
        g.total(&s);
        let json = gradescope(&g);
        let tests = json["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 18, "{json}");
        assert_eq!(tests[0]["name"], "TestBasicAgree2B");
        assert_eq!(tests[8]["name"], "TestBackup2B");
        assert_eq!(tests[8]["score"], 0.0);
        assert_eq!(tests[17]["name"], "TestUnreliableChurn2C");
        assert_eq!(tests[17]["tags"][0], "2C");
        assert_eq!(tests[17]["extra_data"]["test"], "unreliable_churn_2c");
        assert_eq!(json["score"], 45.0);
        assert_eq!(json["part"], serde_json::json!(["2B", "2C"]));
        assert_eq!(
            json["parts"],
            serde_json::json!({"2B": {"score": 45.0, "max_score": 50.0},
                               "2C": {"score": 0.0, "max_score": 40.0}})
        );
        assert!(json["output"].as_str().unwrap().contains("2B: 45/50"));
        assert!(table(&g).contains("score: 45/90 (2B 45/50, 2C 0/40)"));
        assert!(!table(&g).contains("2A"), "{}", table(&g));
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("/tmp/a-b/ws"), "/tmp/a-b/ws");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
