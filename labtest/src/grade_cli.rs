//! The grading commands' command lines: `handout`, `grade`, `grade-batch`
//! and `grade-catalog`, where their reports go, and their exit statuses.
//!
//! `--part` picks the parts graded (default all); a part that does not
//! exist is refused, listing the parts, before anything runs. Every grade
//! draws a fresh master seed (or takes `--seed`), prints it and
//! records it. A report file from an earlier grade never survives the
//! start of a new one: it is replaced by one marked incomplete until the
//! grade finishes. Exit status: 0 graded (whatever the score), 1 the
//! catalog's claims do not hold, 2 bad usage, 130/143 interrupted by
//! SIGINT/SIGTERM.

use crate::batch::{self, Graded};
use crate::grade::{self, Grade, Settings};
use crate::part::{self, Part};
use crate::partition::{self, Partition};
use crate::retry::Policy;
use crate::schedule::{self, run_seed};
use crate::time_mode::TimeMode;
use crate::workspace::{lab_workspace, repo_root};
use crate::{catalog, handout, merge, report, report_dir};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How runs are made, for every grading command.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Runs of each test; a test scores only if all pass.
    #[arg(short = 'k', long = "runs", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Runs at once.
    #[arg(short = 'p', long = "parallel", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..))]
    parallel: u64,
    /// Seconds before a run is killed and fails as a timeout (2C's Figure 8
    /// tests take 30-40 s of real time).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// The parts graded: 2a, 2b, 2c, 2d or all (repeat it, or give a comma
    /// list). Default: all.
    #[arg(long = "part", value_name = "PART", value_delimiter = ',', value_parser = parse_part)]
    parts: Vec<PartValue>,
    /// Also run the extra (non-Go) 2A tests, reported apart from the score.
    #[arg(long)]
    extra: bool,
    /// Count the extra tests in the score.
    #[arg(long)]
    extra_in_score: bool,
    /// Master seed (default: a fresh one, printed): the same seed repeats
    /// the same runs.
    #[arg(long)]
    seed: Option<u64>,
    /// A failed run whose worst oversleep passed this many milliseconds is
    /// suspect (an overloaded grader): it is run again, not scored.
    #[arg(long, default_value_t = 100.0)]
    suspect_oversleep: f64,
    /// Re-runs of suspect failures allowed per test; past them, a suspect
    /// failure is scored and the report says so. None in virtual time.
    #[arg(long, default_value_t = 3)]
    max_reruns: usize,
    /// The clock of every run (LAB_TIME). In virtual time a failure is
    /// never the machine's fault: nothing is re-run.
    #[arg(long, value_enum, default_value = "real")]
    time: TimeMode,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

/// One `--part` value: one part, or all of them.
#[derive(Clone)]
struct PartValue(Vec<Part>);

fn parse_part(value: &str) -> Result<PartValue, String> {
    part::parse(value).map(PartValue)
}

impl RunArgs {
    /// The parts to grade, in Go's order.
    fn parts(&self) -> Vec<Part> {
        let values: Vec<Vec<Part>> = self.parts.iter().map(|v| v.0.clone()).collect();
        part::selected(&values)
    }

    /// Err when the arguments ask for something that cannot be graded: the
    /// extra tests without a part that has some (2A, 2C).
    fn check(&self) -> Result<(), String> {
        if (self.extra || self.extra_in_score) && !part::has_extra(&self.parts()) {
            return Err(format!(
                "the extra tests belong to parts 2A and 2C, which --part {} leaves out: add 2a or 2c",
                part::joined(&self.parts())
                    .to_ascii_lowercase()
                    .replace('+', ",")
            ));
        }
        Ok(())
    }

    /// The settings of a grade; `extra` asks for the extra tests, which
    /// run only where a part that has some (2A, 2C) is graded.
    fn settings(&self, root: &Path, extra: bool, seed: u64) -> Settings {
        let parts = self.parts();
        Settings {
            runs: self.runs as usize,
            parallel: self.parallel as usize,
            timeout: Duration::from_secs(self.timeout),
            extra: (extra || self.extra || self.extra_in_score) && part::has_extra(&parts),
            parts,
            extra_in_score: self.extra_in_score,
            seed,
            reruns: Policy {
                suspect_oversleep_ms: self.suspect_oversleep,
                max_reruns: if self.time.load_can_fail_runs() {
                    self.max_reruns
                } else {
                    0
                },
            },
            time: self.time,
            target_dir: root.join("target/labtest/grade-target"),
            quiet: self.quiet,
        }
    }

    /// The master seed: `--seed`, else a fresh one.
    fn master_seed(&self) -> u64 {
        self.seed.unwrap_or_else(crate::random_seed)
    }
}

#[derive(Args)]
pub struct HandoutArgs {
    /// Where to write the student tree (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct GradeArgs {
    /// A raft crate folder, or a .tar.gz/.zip holding one.
    submission: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// The reports folder (default target/labtest/grade): each submission
    /// gets its own folder in it, named after it (NAME-2, ... when another
    /// submission of that name has one).
    #[arg(long, value_parser = absolute_path)]
    out: Option<PathBuf>,
    /// Gradescope's results.json (default: in the submission's folder).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Every run as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Every run as JUnit XML.
    #[arg(long)]
    junit: Option<PathBuf>,
}

#[derive(Args)]
pub struct BatchArgs {
    /// A folder of submissions (folders or archives).
    dir: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// The reports folder (default target/labtest/batch).
    #[arg(long, value_parser = absolute_path)]
    out: Option<PathBuf>,
    /// Grade only share I of N of the class (round-robin over the sorted
    /// submissions, as cargo-nextest's --partition count:I/N); needs
    /// --seed. `labtest merge` joins the shares.
    #[arg(long, value_parser = Partition::parse)]
    partition: Option<Partition>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The shares' reports folders (each `grade-batch --partition I/N --out DIR`).
    #[arg(required = true)]
    shares: Vec<PathBuf>,
    /// Where the merged scores.csv and report folders go.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct CatalogArgs {
    /// Only these bugs (file names in grading/bugs without .patch).
    only: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// A reports folder as an absolute path (from the current folder). The
/// scratch workspaces inside it are built and replayed from other folders
/// (cargo and clippy run in them; a replay line is pasted anywhere), where
/// a relative path would name nothing.
fn absolute_path(arg: &str) -> Result<PathBuf, String> {
    std::path::absolute(arg).map_err(|e| format!("{arg}: {e}"))
}

/// Bad usage: the message, exit 2.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    write_file(
        path,
        &serde_json::to_string_pretty(value).unwrap_or_default(),
    )
}

/// Reports a file that could not be written, without stopping.
fn warn(result: Result<(), String>) {
    if let Err(err) = result {
        eprintln!("error: {err}");
    }
}

/// Removes a report left by an earlier grade, so that it can never pass
/// for this one's.
fn remove_stale(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot replace {}: {err}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Puts an "incomplete" results.json where the grade's will go: an older
/// one is gone, and a grade that never finishes leaves one that says so.
fn claim_results(path: &Path, master_seed: u64, time: TimeMode) -> Result<(), String> {
    remove_stale(path)?;
    write_json(path, &grade::in_progress(master_seed, time))
}

/// The exit status of a finished or interrupted grade.
fn exit_status(grade: &Grade) -> ExitCode {
    match grade.interrupted_by {
        Some(signal) => ExitCode::from(signal.exit_status()),
        None => ExitCode::SUCCESS,
    }
}

pub fn handout(args: HandoutArgs) -> ExitCode {
    match handout::write(&args.out) {
        Ok(()) => {
            println!("wrote the student handout to {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(err) => usage_error(err),
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// The lab workspace whose raft crate to check (default: the one
    /// around the current folder).
    #[arg(long)]
    workspace: Option<PathBuf>,
}

/// `labtest check`: the grader's build-integrity check of the student's
/// own `raft` crate, in place, so that a student meets the ban before the
/// grader does.
pub fn check(args: CheckArgs) -> ExitCode {
    let ws = match args.workspace.map_or_else(lab_workspace, Ok) {
        Ok(ws) => ws,
        Err(err) => return usage_error(err),
    };
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.join("target"), PathBuf::from);
    match crate::integrity::check(&ws, &target_dir) {
        Ok(()) => {
            println!(
                "build integrity: ok ({} uses nothing the course forbids)",
                ws.join("raft").display()
            );
            ExitCode::SUCCESS
        }
        Err(report) if crate::integrity::entry_name(&report) == "build integrity" => {
            eprint!("{report}");
            ExitCode::FAILURE
        }
        Err(err) => usage_error(err),
    }
}

pub fn grade(args: GradeArgs) -> ExitCode {
    let root = match args.run.check().and_then(|()| repo_root()) {
        Ok(root) => root,
        Err(err) => return usage_error(err),
    };
    if !args.submission.exists() {
        return usage_error(format!("{} does not exist", args.submission.display()));
    }
    let name = batch::name_of(&args.submission);
    let seed = args.run.master_seed();
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/labtest/grade"));
    let dir = match report_dir::for_submission(&parent, &name, &args.submission) {
        Ok(dir) => dir,
        Err(err) => return usage_error(err),
    };
    let results = args
        .results
        .clone()
        .unwrap_or_else(|| dir.join("results.json"));
    let stale = [args.json.as_deref(), args.junit.as_deref()];
    if let Err(err) = claim_results(&results, seed, args.run.time)
        .and_then(|()| stale.iter().flatten().try_for_each(|p| remove_stale(p)))
    {
        return usage_error(err);
    }
    println!(
        "grade: {}, part {}, master seed {seed} (--seed {seed} repeats this grade), {}; reports in {}",
        args.submission.display(),
        part::joined(&args.run.parts()),
        args.run.time.label(),
        dir.display()
    );
    schedule::catch_ctrl_c();
    let settings = args.run.settings(&root, false, seed);
    let label = report_dir::label(&dir);
    let g = batch::grade_path(&args.submission, &label, &dir.join("scratch"), &settings);
    print!("{}", grade::table(&g));
    let failures = grade::failures(&g, &settings);
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    warn(write_json(&results, &grade::gradescope(&g)));
    println!("results.json: {}", results.display());
    if let Some(path) = &args.json {
        warn(write_json(
            path,
            &serde_json::json!({
                "grade": &g, "runs": &g.results, "suspect_runs_not_scored": &g.set_aside,
            }),
        ));
    }
    if let Some(path) = &args.junit
        && !g.incomplete
    {
        warn(write_file(
            path,
            &report::junit(&g.results, Duration::from_secs_f64(g.seconds)),
        ));
    }
    exit_status(&g)
}

pub fn grade_batch(args: BatchArgs) -> ExitCode {
    let root = match args.run.check().and_then(|()| repo_root()) {
        Ok(root) => root,
        Err(err) => return usage_error(err),
    };
    let paths = match batch::submissions(&args.dir) {
        Ok(paths) => paths,
        Err(err) => return usage_error(err),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/labtest/batch"));
    let csv = out.join("scores.csv");
    if let Err(err) = remove_stale(&csv) {
        return usage_error(err);
    }
    if args.partition.is_some() && args.run.seed.is_none() {
        return usage_error(
            "--partition needs --seed S: every share must draw its submissions' seeds from one master seed, as one machine would",
        );
    }
    if let Err(err) = remove_stale(&out.join(merge::SHARE_FILE)) {
        return usage_error(err);
    }
    let seed = args.run.master_seed();
    let class_size = paths.len();
    let names: Vec<String> = paths.iter().map(|p| batch::name_of(p)).collect();
    let earlier = partition::folder_ordinals(&names);
    let share: Vec<usize> = (0..class_size)
        .filter(|&i| args.partition.is_none_or(|p| p.holds(i)))
        .collect();
    match args.partition {
        None => println!(
            "grade-batch: {class_size} submissions, master seed {seed} (--seed {seed} repeats this batch; each submission's own seed is in scores.csv)"
        ),
        Some(p) => println!(
            "grade-batch: share {p} of a class of {class_size}: {} submissions, master seed {seed}; `labtest merge` joins the shares",
            share.len()
        ),
    }
    // Every submission's report folder is claimed, and its old results.json
    // replaced, before the first grade: an interrupted batch leaves none
    // that looks current.
    let mut dirs = Vec::new();
    for &i in &share {
        let path = &paths[i];
        let claimed =
            report_dir::for_nth_of_name(&out, &names[i], earlier[i], path).and_then(|dir| {
                remove_stale(&dir.join("report.txt"))
                    .and_then(|()| {
                        claim_results(
                            &dir.join("results.json"),
                            run_seed(seed, i as u64),
                            args.run.time,
                        )
                    })
                    .map(|()| dir)
            });
        match claimed {
            Ok(dir) => dirs.push(dir),
            Err(err) => return usage_error(err),
        }
    }
    schedule::catch_ctrl_c();
    let mut graded: Vec<Graded> = Vec::new();
    for (k, (&i, dir)) in share.iter().zip(&dirs).enumerate() {
        let path = &paths[i];
        let label = report_dir::label(dir);
        let settings = args.run.settings(&root, false, run_seed(seed, i as u64));
        let g = batch::grade_path(path, &label, &dir.join("scratch"), &settings);
        println!(
            "[{}/{}] {label}: {}/{} ({:.0} s, seed {}){}",
            k + 1,
            share.len(),
            g.score,
            g.max_score,
            g.seconds,
            g.master_seed,
            if g.incomplete {
                " INTERRUPTED"
            } else if !g.built {
                " (does not build)"
            } else {
                ""
            }
        );
        warn(write_json(
            &dir.join("results.json"),
            &grade::gradescope(&g),
        ));
        warn(write_file(
            &dir.join("report.txt"),
            &format!("{}\n{}", grade::table(&g), grade::failures(&g, &settings)),
        ));
        graded.push(Graded {
            path: path.clone(),
            grade: g,
        });
        if schedule::caught().is_some() {
            break;
        }
    }
    graded.retain(|g| !g.grade.incomplete);
    if let Some(signal) = schedule::caught() {
        print!("\n{}", batch::summary(&graded));
        println!(
            "INTERRUPTED by {}: {} of {} submissions graded (their results.json are final); scores.csv not written",
            signal.name(),
            graded.len(),
            paths.len()
        );
        return ExitCode::from(signal.exit_status());
    }
    let settings = args.run.settings(&root, false, seed);
    let table = batch::csv(&graded, &settings);
    warn(write_file(&csv, &table));
    if let Some(partition) = args.partition {
        let share = share_record(partition, seed, class_size, &table, &share, &dirs, &graded);
        let share = serde_json::to_value(&share).unwrap_or_default();
        warn(write_json(&out.join(merge::SHARE_FILE), &share));
    }
    print!("\n{}", batch::summary(&graded));
    println!("scores: {}", csv.display());
    ExitCode::SUCCESS
}

/// What a finished share of a partitioned class hands to `labtest merge`.
fn share_record(
    partition: Partition,
    master_seed: u64,
    class_size: usize,
    table: &str,
    positions: &[usize],
    dirs: &[PathBuf],
    graded: &[Graded],
) -> merge::Share {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let rows = positions
        .iter()
        .zip(dirs)
        .zip(lines.zip(graded))
        .map(|((&position, dir), (line, g))| merge::ShareRow {
            position,
            folder: report_dir::label(dir),
            csv: line.to_string(),
            score: g.grade.score,
            max_score: g.grade.max_score,
        })
        .collect();
    merge::Share {
        partition,
        master_seed,
        class_size,
        header,
        rows,
    }
}

pub fn merge(args: MergeArgs) -> ExitCode {
    let shares = match merge::read_shares(&args.shares) {
        Ok(shares) => shares,
        Err(err) => return usage_error(err),
    };
    let merged = match merge::join(&shares) {
        Ok(merged) => merged,
        Err(err) => return usage_error(err),
    };
    if let Err(err) = merge::gather_reports(&shares, &args.out) {
        return usage_error(err);
    }
    let csv = args.out.join("scores.csv");
    if let Err(err) = write_file(&csv, &merged.csv) {
        return usage_error(err);
    }
    println!(
        "merged {} shares into {}",
        merged.shares,
        args.out.display()
    );
    print!("{}", batch::summary_of(&merged.scores));
    println!("scores: {}", csv.display());
    ExitCode::SUCCESS
}

pub fn grade_catalog(args: CatalogArgs) -> ExitCode {
    let root = match args.run.check().and_then(|()| repo_root()) {
        Ok(root) => root,
        Err(err) => return usage_error(err),
    };
    if let Err(err) = catalog::check_names(&root, &args.only) {
        return usage_error(err);
    }
    let seed = args.run.master_seed();
    println!(
        "grade-catalog: part {}, master seed {seed} (--seed {seed} repeats it)",
        part::joined(&args.run.parts())
    );
    schedule::catch_ctrl_c();
    let settings = args.run.settings(&root, true, seed);
    let result = match catalog::run(&root, &args.only, &settings) {
        Ok(result) => result,
        Err(err) => return usage_error(err),
    };
    println!("{}", result.table);
    if let Some(signal) = result.interrupted_by {
        println!(
            "INTERRUPTED by {}: the rows above finished; nothing is claimed",
            signal.name()
        );
        return ExitCode::from(signal.exit_status());
    }
    println!("{}", result.claims);
    if result.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("{}", result.problems.join("\n"));
        ExitCode::from(1)
    }
}
