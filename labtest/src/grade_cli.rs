//! The grading commands' command lines: `handout`, `grade`, `grade-batch`
//! and `grade-catalog`, and where their reports go.

use crate::grade::{self, Settings};
use crate::workspace::repo_root;
use crate::{batch, catalog, handout, report};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How runs are made, for every grading command.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Runs of each test; a test scores only if all pass.
    #[arg(short = 'k', long = "runs", default_value_t = 5)]
    runs: usize,
    /// Runs at once.
    #[arg(short = 'p', long = "parallel", default_value_t = 8)]
    parallel: usize,
    /// Seconds before a run is killed and fails as a timeout.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Also run the extra (non-Go) 2A tests, reported apart from the score.
    #[arg(long)]
    extra: bool,
    /// Count the extra tests in the score.
    #[arg(long)]
    extra_in_score: bool,
    /// Master seed of the runs' seeds.
    #[arg(long, default_value_t = 6_5840)]
    seed: u64,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

impl RunArgs {
    fn settings(&self, root: &Path, extra: bool) -> Settings {
        Settings {
            runs: self.runs.max(1),
            parallel: self.parallel.max(1),
            timeout: Duration::from_secs(self.timeout),
            extra: extra || self.extra || self.extra_in_score,
            extra_in_score: self.extra_in_score,
            seed: self.seed,
            target_dir: root.join("target/labtest/grade-target"),
            quiet: self.quiet,
        }
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
    /// Where the reports go (default target/labtest/grade/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Gradescope's results.json (default <out>/results.json).
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
    /// Where the reports go (default target/labtest/batch).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct CatalogArgs {
    /// Only these bugs (file names in grading/bugs without .patch).
    only: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

fn root_or_exit() -> Result<PathBuf, ExitCode> {
    repo_root().map_err(|err| {
        eprintln!("error: {err}");
        ExitCode::from(2)
    })
}

fn write_file(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Err(err) = std::fs::write(path, text) {
        eprintln!("error: cannot write {}: {err}", path.display());
    }
}

pub fn handout(args: HandoutArgs) -> ExitCode {
    match handout::write(&args.out) {
        Ok(()) => {
            println!("wrote the student handout to {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

pub fn grade(args: GradeArgs) -> ExitCode {
    let root = match root_or_exit() {
        Ok(root) => root,
        Err(code) => return code,
    };
    if !args.submission.exists() {
        eprintln!("error: {} does not exist", args.submission.display());
        return ExitCode::from(2);
    }
    let name = batch::name_of(&args.submission);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/labtest/grade").join(&name));
    let settings = args.run.settings(&root, false);
    let g = batch::grade_path(&args.submission, &out.join("scratch"), &settings);
    print!("{}", grade::table(&g));
    let failures = report::failures(&g.results, f64::INFINITY, None, "tests");
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    let results = args
        .results
        .clone()
        .unwrap_or_else(|| out.join("results.json"));
    write_file(
        &results,
        &serde_json::to_string_pretty(&grade::gradescope(&g)).unwrap_or_default(),
    );
    println!("results.json: {}", results.display());
    if let Some(path) = &args.json {
        write_file(
            path,
            &serde_json::to_string_pretty(&serde_json::json!({"grade": &g, "runs": &g.results}))
                .unwrap_or_default(),
        );
    }
    if let Some(path) = &args.junit {
        write_file(
            path,
            &report::junit(&g.results, Duration::from_secs_f64(g.seconds)),
        );
    }
    ExitCode::SUCCESS
}

pub fn grade_batch(args: BatchArgs) -> ExitCode {
    let root = match root_or_exit() {
        Ok(root) => root,
        Err(code) => return code,
    };
    let paths = match batch::submissions(&args.dir) {
        Ok(paths) => paths,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/labtest/batch"));
    let settings = args.run.settings(&root, false);
    let mut grades = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let name = batch::name_of(path);
        let dir = out.join(&name);
        let g = batch::grade_path(path, &dir.join("scratch"), &settings);
        println!(
            "[{}/{}] {name}: {}/{} ({:.0} s){}",
            i + 1,
            paths.len(),
            g.score,
            g.max_score,
            g.seconds,
            if g.built { "" } else { " (does not build)" }
        );
        write_file(
            &dir.join("results.json"),
            &serde_json::to_string_pretty(&grade::gradescope(&g)).unwrap_or_default(),
        );
        write_file(&dir.join("report.txt"), &grade::table(&g));
        grades.push(g);
    }
    let csv = out.join("scores.csv");
    write_file(&csv, &batch::csv(&grades, &settings));
    print!("\n{}", batch::summary(&grades));
    println!("scores: {}", csv.display());
    ExitCode::SUCCESS
}

pub fn grade_catalog(args: CatalogArgs) -> ExitCode {
    let root = match root_or_exit() {
        Ok(root) => root,
        Err(code) => return code,
    };
    let settings = args.run.settings(&root, true);
    match catalog::run(&args.only, &settings) {
        Ok(table) => {
            println!("{table}");
            println!("every catalog bug scores below full marks; the reference scores full marks");
            ExitCode::SUCCESS
        }
        Err(table) => {
            println!("{table}");
            ExitCode::from(1)
        }
    }
}
