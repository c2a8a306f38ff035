//! `labtest grade-batch DIR`: every submission in DIR (a folder or archive
//! each) graded in turn, with progress, one results.json per submission, a
//! CSV of scores and a summary (mean, histogram). A submission that cannot
//! be unpacked or built scores zero; nothing stops the batch.
//!
//! Each submission draws its own master seed from the batch's (all of
//! them in the CSV), so a class never runs on one set of seeds, and
//! `labtest grade --seed` repeats any one of them. Each gets a report
//! folder of its own, even when two share a name (see `report_dir`).
//!
//! Submissions are graded one after another; each one's runs go P at a
//! time, which keeps a grade's runs on an unloaded machine (their
//! oversleep is what makes a verdict fair), and the shared build cache
//! makes the builds after the first fast.

use crate::grade::{self, Grade, Settings};
use crate::part;
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
        .filter(|p| p.is_dir() || is_archive(p))
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

/// A submission's name: its file name without the archive extension
/// (`submission` for a path without one, such as `/`).
pub fn name_of(path: &Path) -> String {
    let full = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "submission".to_string());
    for ext in [".tar.gz", ".tgz", ".zip"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    name
}

/// Grades one submission file or folder under `name`, never failing:
/// problems score 0. A folder that holds nothing but one archive (as some
/// course sites export them) is graded as that archive.
pub fn grade_path(path: &Path, name: &str, scratch: &Path, settings: &Settings) -> Grade {
    let path = lone_archive(path).unwrap_or_else(|| path.to_path_buf());
    match workspace::unpack_submission(&path, scratch) {
        Ok(krate) => grade::grade_sources(
            name,
            &krate.join("src"),
            workspace::ignored_parts(&krate),
            scratch,
            settings,
        ),
        Err(err) => Grade::zero(name, vec![err.clone()], err, settings),
    }
}

/// The archive inside `dir`, if `dir` holds exactly one file, an archive,
/// and no folder.
fn lone_archive(dir: &Path) -> Option<PathBuf> {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.is_file() && is_archive(only) => Some(only.clone()),
        _ => None,
    }
}

fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    [".tar.gz", ".tgz", ".zip"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// One graded submission of a batch: where it came from and its grade.
pub struct Graded {
    pub path: PathBuf,
    pub grade: Grade,
}

/// The CSV of a batch: a row per submission, with the path it came from,
/// its master seed, each graded part's subtotal, each test's score (under
/// Go's name), and its suspect runs re-run and scored at the cap.
pub fn csv(graded: &[Graded], settings: &Settings) -> String {
    let tests: Vec<&part::Graded> = part::tests_of(&settings.parts, settings.extra).collect();
    let mut columns: Vec<&str> = settings.parts.iter().map(|p| p.label()).collect();
    columns.extend(tests.iter().map(|t| t.go_name));
    let mut out = format!(
        "submission,path,seed,score,max_score,built,{},suspect_reruns,scored_at_cap,seconds\n",
        columns.join(",")
    );
    for Graded { path, grade: g } in graded {
        let mut scores: Vec<String> = g
            .subtotals()
            .iter()
            .map(|(_, score, _)| score.to_string())
            .collect();
        scores.extend(tests.iter().map(|t| {
            g.tests
                .iter()
                .find(|x| x.test == t.name)
                .map_or("0".into(), |x| x.score.to_string())
        }));
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{:.0}",
            csv_field(&g.submission),
            csv_field(&path.display().to_string()),
            g.master_seed,
            g.score,
            g.max_score,
            g.built,
            scores.join(","),
            g.tests.iter().map(|t| t.suspect_reruns).sum::<usize>(),
            g.tests.iter().map(|t| t.scored_at_cap).sum::<usize>(),
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
pub fn summary(graded: &[Graded]) -> String {
    let scores: Vec<(f64, f64)> = graded
        .iter()
        .map(|g| (g.grade.score, g.grade.max_score))
        .collect();
    summary_of(&scores)
}

/// Mean and a histogram of (score, max score) pairs.
pub fn summary_of(scores: &[(f64, f64)]) -> String {
    let Some(&(_, max)) = scores.first() else {
        return "no submission graded\n".to_string();
    };
    let mean = scores.iter().map(|(s, _)| s).sum::<f64>() / scores.len() as f64;
    let mut out = format!("{} submissions, mean score {mean:.1}/{max}\n", scores.len());
    let mut distinct: Vec<f64> = scores.iter().map(|(s, _)| *s).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    for s in distinct {
        let count = scores.iter().filter(|(x, _)| *x == s).count();
        let _ = writeln!(out, "{s:>5} | {} {count}", "#".repeat(count.min(60)));
    }
    out
}
