//! `labtest grade-catalog`: grading fidelity. Each patch in
//! `grading/bugs/` puts one real student bug into a copy of the reference
//! Raft; each variant is graded like a submission (Go's 2A tests and our
//! extra tests), and the table shows which tests caught which bug. The
//! reference itself is graded first and must score full marks.
//!
//! The pristine `raft/` is never modified: patches apply to copies.

use crate::grade::{self, Grade, Settings};
use crate::workspace::{copy_tree, repo_root};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One catalog entry.
pub struct Bug {
    pub name: String,
    /// The patch's first line, after `Bug: `.
    pub description: String,
    pub patch: Option<PathBuf>,
}

/// The reference, then every bug in `grading/bugs/` (sorted by name).
pub fn entries(root: &Path, only: &[String]) -> Result<Vec<Bug>, String> {
    let mut bugs = vec![Bug {
        name: "reference".into(),
        description: "the reference Raft, unchanged".into(),
        patch: None,
    }];
    let dir = root.join("grading/bugs");
    let mut patches: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    patches.sort();
    for patch in patches {
        let name = patch
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = fs::read_to_string(&patch).map_err(|e| e.to_string())?;
        let description = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("Bug: ")
            .to_string();
        bugs.push(Bug {
            name,
            description,
            patch: Some(patch),
        });
    }
    if !only.is_empty() {
        bugs.retain(|b| b.name == "reference" || only.contains(&b.name));
    }
    Ok(bugs)
}

/// Grades one entry: the reference sources with its patch applied. Err if
/// the patch no longer applies (the catalog needs mending, which is not a
/// bug caught).
pub fn grade_bug(
    root: &Path,
    bug: &Bug,
    scratch: &Path,
    settings: &Settings,
) -> Result<Grade, String> {
    let src = scratch.join("crate");
    let _ = fs::remove_dir_all(&src);
    copy_tree(&root.join("raft/src"), &src.join("src"))
        .map_err(|e| format!("cannot copy raft/src: {e}"))?;
    if let Some(patch) = &bug.patch {
        apply(patch, &src)?;
    }
    Ok(grade::grade_sources(
        &bug.name,
        &src.join("src"),
        Vec::new(),
        scratch,
        settings,
    ))
}

fn apply(patch: &Path, dir: &Path) -> Result<(), String> {
    let out = Command::new("patch")
        .args(["-p1", "-s", "-N", "-i"])
        .arg(patch)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run patch: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} no longer applies to raft/src: {}",
            patch.display(),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// The catalog table row of one graded entry.
pub fn row(bug: &Bug, g: &Grade) -> String {
    let caught: Vec<String> = g
        .tests
        .iter()
        .filter(|t| t.score < t.max_score)
        .map(|t| {
            let first = t
                .first_failure
                .map(|n| format!(", first at run {n}"))
                .unwrap_or_default();
            format!(
                "{} ({}/{} failed{first})",
                t.test,
                t.runs - t.passed,
                t.runs
            )
        })
        .collect();
    let only_extra = g.built && g.score >= g.max_score && g.extra_score < g.extra_max_score;
    format!(
        "| {} | {} | {}/{} | {}/{} | {}{} |",
        bug.name,
        bug.description,
        g.score,
        g.max_score,
        g.extra_score,
        g.extra_max_score,
        if !g.built {
            "does not build".to_string()
        } else if caught.is_empty() {
            "nothing".to_string()
        } else {
            caught.join("; ")
        },
        if only_extra {
            " **(extra set only)**"
        } else {
            ""
        }
    )
}

/// Grades the whole catalog and prints the table; Err if the reference is
/// not full marks or a bug is.
pub fn run(only: &[String], settings: &Settings) -> Result<String, String> {
    let root = repo_root()?;
    let bugs = entries(&root, only)?;
    let mut table = String::from(
        "| bug | what it does wrong | Go 2A score | extra score | caught by |\n|---|---|---|---|---|\n",
    );
    let mut problems = Vec::new();
    for (i, bug) in bugs.iter().enumerate() {
        eprintln!("[{}/{}] grading {}", i + 1, bugs.len(), bug.name);
        let scratch = root.join("target/labtest/catalog").join(&bug.name);
        let g = match grade_bug(&root, bug, &scratch, settings) {
            Ok(g) => g,
            Err(err) => {
                eprintln!("{err}");
                problems.push(err);
                continue;
            }
        };
        let row = row(bug, &g);
        eprintln!("{row}");
        table += &row;
        table.push('\n');
        let full = g.built && g.score >= g.max_score && g.extra_score >= g.extra_max_score;
        match (bug.patch.is_none(), full) {
            (true, false) => problems.push("the reference Raft is not full marks".to_string()),
            (false, true) => problems.push(format!(
                "{} scored full marks: the suite misses it",
                bug.name
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(table)
    } else {
        Err(format!("{table}\n{}", problems.join("\n")))
    }
}
