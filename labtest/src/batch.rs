//! `labtest grade-batch DIR`: every submission in DIR (a folder or archive
//! each) graded in turn, with progress, one results.json per submission, a
//! CSV of scores and a summary (mean, histogram). A submission that cannot
//! be unpacked or built scores zero; nothing stops the batch.
//!
//! Submissions are graded one after another; each one's runs go P at a
//! time, which keeps a grade's runs on an unloaded machine (their
//! oversleep is what makes a verdict fair), and the shared build cache
//! makes the builds after the first fast.

use crate::grade::{self, Grade, POINTS, Settings};
use crate::workspace;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The submissions in `dir`: its subfolders and archives, sorted.
pub fn submissions(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.to_string_lossy();
            p.is_dir()
                || name.ends_with(".tar.gz")
                || name.ends_with(".tgz")
                || name.ends_with(".zip")
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!(
            "no submission (folder, .tar.gz or .zip) in {}",
            dir.display()
        ));
    }
    Ok(found)
}

/// A submission's name: its file name without the archive extension.
pub fn name_of(path: &Path) -> String {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    for ext in [".tar.gz", ".tgz", ".zip"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    name
}

/// Grades one submission file or folder, never failing: problems score 0.
pub fn grade_path(path: &Path, scratch: &Path, settings: &Settings) -> Grade {
    let name = name_of(path);
    match workspace::unpack_submission(path, scratch) {
        Ok(krate) => grade::grade_sources(
            &name,
            &krate.join("src"),
            workspace::ignored_parts(&krate),
            scratch,
            settings,
        ),
        Err(err) => Grade::zero(&name, vec![err.clone()], err, settings),
    }
}

/// The CSV of a batch: a row per submission.
pub fn csv(grades: &[Grade], settings: &Settings) -> String {
    let tests: Vec<&str> = POINTS
        .iter()
        .filter(|(_, _, extra)| settings.extra || !extra)
        .map(|(t, _, _)| *t)
        .collect();
    let mut out = format!(
        "submission,score,max_score,built,{},seconds\n",
        tests.join(",")
    );
    for g in grades {
        let scores: Vec<String> = tests
            .iter()
            .map(|t| {
                g.tests
                    .iter()
                    .find(|x| x.test == *t)
                    .map_or("0".into(), |x| x.score.to_string())
            })
            .collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{:.0}",
            csv_field(&g.submission),
            g.score,
            g.max_score,
            g.built,
            scores.join(","),
            g.seconds
        );
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Mean and a histogram of the scores.
pub fn summary(grades: &[Grade]) -> String {
    let n = grades.len().max(1) as f64;
    let mean = grades.iter().map(|g| g.score).sum::<f64>() / n;
    let max = grades.first().map_or(0.0, |g| g.max_score);
    let mut out = format!("{} submissions, mean score {mean:.1}/{max}\n", grades.len());
    let mut scores: Vec<f64> = grades.iter().map(|g| g.score).collect();
    scores.sort_by(f64::total_cmp);
    scores.dedup();
    for s in scores {
        let count = grades.iter().filter(|g| g.score == s).count();
        let _ = writeln!(out, "{s:>5} | {} {count}", "#".repeat(count.min(60)));
    }
    out
}
