//! `labtest grade-catalog`: grading fidelity. Each patch in
//! `grading/bugs/` puts one real student bug into a copy of the reference
//! Raft; each variant is graded like a submission on the parts asked for
//! (all by default; our extra tests where 2A or 2C is graded), and the table
//! shows each part's score and which tests caught which bug, or "not
//! caught" for a bug that scored full marks. The reference itself is
//! graded first and must score full marks.
//!
//! Every claim the catalog prints ("every bug scores below full marks") is
//! computed from the grades of this session, and only the true ones are
//! printed. An unknown bug name is refused before anything runs.
//!
//! The pristine `raft/` is never modified: patches apply to copies.

use crate::file_tree::copy_tree;
use crate::grade::{self, Grade, Settings};
use crate::part::{self, Part};
use crate::schedule::{Signal, run_seed};
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

/// Err, listing the known bugs, unless every name in `only` is one.
pub fn check_names(root: &Path, only: &[String]) -> Result<(), String> {
    let known = entries(root, &[])?;
    let unknown: Vec<&String> = only
        .iter()
        .filter(|name| !known.iter().any(|b| &b.name == *name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = known.iter().map(|b| b.name.as_str()).collect();
    Err(format!(
        "no bug named {} in grading/bugs; the known bugs are:\n    {}",
        unknown
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        names.join("\n    ")
    ))
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

/// The catalog table's header: a score column per graded part, and the
/// extra set's where it is graded.
pub fn header(settings: &Settings) -> String {
    let mut columns = vec!["bug".to_string(), "what it does wrong".to_string()];
    columns.extend(settings.parts.iter().map(|p| format!("{p} score")));
    if settings.extra {
        columns.push("extra score".into());
    }
    columns.push("caught by".into());
    format!(
        "| {} |\n|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    )
}

/// The catalog table row of one graded entry: its scores, and the tests
/// that failed it (Go's names), with how many of their runs failed; a bug
/// at full marks is "not caught".
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
                t.go_name,
                t.runs - t.passed,
                t.runs
            )
        })
        .collect();
    let only_extra = g.built && g.score >= g.max_score && g.extra_score < g.extra_max_score;
    let mut cells = vec![bug.name.clone(), bug.description.clone()];
    cells.extend(
        g.subtotals()
            .iter()
            .map(|(_, score, max)| format!("{score}/{max}")),
    );
    if g.tests.iter().any(|t| t.extra) {
        cells.push(format!("{}/{}", g.extra_score, g.extra_max_score));
    }
    cells.push(if !g.built {
        "does not build".to_string()
    } else if caught.is_empty() && bug.patch.is_some() {
        "**not caught**".to_string()
    } else if caught.is_empty() {
        "nothing".to_string()
    } else if only_extra {
        format!("{} **(extra set only)**", caught.join("; "))
    } else {
        caught.join("; ")
    });
    format!("| {} |", cells.join(" | "))
}

/// What a catalog session found.
pub struct Session {
    /// The markdown table, a row per graded entry.
    pub table: String,
    /// The claims the grades support, computed.
    pub claims: String,
    /// What does not hold: the reference short of full marks, a bug at
    /// full marks, a patch that no longer applies.
    pub problems: Vec<String>,
    pub interrupted_by: Option<Signal>,
}

/// Grades the selected entries (each with its own seed drawn from the
/// settings' master seed) and builds the table and the claims.
pub fn run(root: &Path, only: &[String], settings: &Settings) -> Result<Session, String> {
    let bugs = entries(root, only)?;
    let in_catalog = entries(root, &[])?.len() - 1;
    let mut session = Session {
        table: header(settings),
        claims: String::new(),
        problems: Vec::new(),
        interrupted_by: None,
    };
    let mut graded: Vec<(&Bug, Grade)> = Vec::new();
    for (i, bug) in bugs.iter().enumerate() {
        let settings = Settings {
            seed: run_seed(settings.seed, i as u64),
            ..settings.clone()
        };
        eprintln!(
            "[{}/{}] grading {} (seed {})",
            i + 1,
            bugs.len(),
            bug.name,
            settings.seed
        );
        let scratch = root.join("target/labtest/catalog").join(&bug.name);
        let g = match grade_bug(root, bug, &scratch, &settings) {
            Ok(g) => g,
            Err(err) => {
                eprintln!("{err}");
                session.problems.push(err);
                continue;
            }
        };
        if g.incomplete {
            session.interrupted_by = g.interrupted_by;
            return Ok(session);
        }
        let row = row(bug, &g);
        eprintln!("{row}");
        session.table += &row;
        session.table.push('\n');
        let full = g.full_marks();
        match (bug.patch.is_none(), full) {
            (true, false) => session
                .problems
                .push("the reference Raft is not full marks".to_string()),
            (false, true) => session.problems.push(format!(
                "{} scored full marks on part {}: not caught",
                bug.name,
                part::joined(&settings.parts)
            )),
            _ => {}
        }
        graded.push((bug, g));
    }
    session.claims = claims(&graded, in_catalog, &settings.parts);
    Ok(session)
}

/// The sentences the grades support: the reference's marks, and how many
/// of the bugs graded (of `in_catalog`) on `parts` scored below full
/// marks, how many only through the extra set.
fn claims(graded: &[(&Bug, Grade)], in_catalog: usize, parts: &[Part]) -> String {
    let mut out = Vec::new();
    if let Some((_, g)) = graded.iter().find(|(b, _)| b.patch.is_none()) {
        out.push(if g.full_marks() {
            "the reference scores full marks".to_string()
        } else {
            format!(
                "the reference does NOT score full marks ({}/{}, extra {}/{})",
                g.score, g.max_score, g.extra_score, g.extra_max_score
            )
        });
    }
    let bugs: Vec<&Grade> = graded
        .iter()
        .filter(|(b, _)| b.patch.is_some())
        .map(|(_, g)| g)
        .collect();
    let below: Vec<&&Grade> = bugs.iter().filter(|g| !g.full_marks()).collect();
    let extra_only = below
        .iter()
        .filter(|g| g.built && g.score >= g.max_score)
        .count();
    // Said only when the extra set was graded: otherwise no bug can be
    // caught "only through" it, and the count means nothing.
    let extra_graded = graded.iter().any(|(_, g)| g.extra_max_score > 0.0);
    let (extra_every, extra_some) = if extra_graded {
        (
            format!(", {extra_only} of them only through the extra set"),
            format!(" ({extra_only} only through the extra set)"),
        )
    } else {
        (String::new(), String::new())
    };
    let on = format!("on part {}", part::joined(parts));
    let graded_of = if bugs.len() == in_catalog {
        format!("all {in_catalog} catalog bugs graded {on}")
    } else {
        format!(
            "{} of the {in_catalog} catalog bugs graded {on}",
            bugs.len()
        )
    };
    out.push(if bugs.is_empty() {
        "no catalog bug graded".to_string()
    } else if below.len() == bugs.len() {
        format!("{graded_of}: every one scores below full marks{extra_every}")
    } else {
        format!(
            "{graded_of}: {} score below full marks{extra_some}, {} score full marks",
            below.len(),
            bugs.len() - below.len()
        )
    });
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Policy;
    use std::time::Duration;

    fn settings() -> Settings {
        Settings {
            runs: 1,
            parallel: 1,
            timeout: Duration::from_secs(1),
            parts: vec![Part::A],
            extra: true,
            extra_in_score: false,
            seed: 1,
            reruns: Policy {
                suspect_oversleep_ms: 100.0,
                max_reruns: 3,
            },
            time: crate::time_mode::TimeMode::Real,
            target_dir: PathBuf::from("t"),
            quiet: true,
        }
    }

    /// Every patch of the catalog applies to today's reference: a change
    /// to the reference that breaks one fails here, not in the middle of
    /// a class's `grade-catalog`.
    #[test]
    fn every_catalog_patch_applies_to_the_reference() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let bugs = entries(root, &[]).unwrap();
        assert!(
            bugs.len() > 20,
            "the catalog lost its patches: {}",
            bugs.len()
        );
        let scratch = std::env::temp_dir().join(format!("catalog-apply-{}", std::process::id()));
        let mut broken = Vec::new();
        for bug in &bugs[1..] {
            let _ = fs::remove_dir_all(&scratch);
            copy_tree(&root.join("raft/src"), &scratch.join("src")).unwrap();
            if let Err(err) = apply(bug.patch.as_ref().unwrap(), &scratch) {
                broken.push(err);
            }
        }
        let _ = fs::remove_dir_all(&scratch);
        assert!(broken.is_empty(), "{}", broken.join("\n"));
    }

    fn bug(name: &str, patch: bool) -> Bug {
        Bug {
            name: name.into(),
            description: String::new(),
            patch: patch.then(|| PathBuf::from(format!("{name}.patch"))),
        }
    }

    /// A built grade scoring `go` of Go's 15 points and `extra` below the
    /// extra set's full marks (`None`: full marks, whatever the set's
    /// size).
    fn grade(go: f64, extra: Option<f64>) -> Grade {
        let zero = Grade::zero("x", Vec::new(), String::new(), &settings());
        Grade {
            built: true,
            score: go,
            extra_score: extra.unwrap_or(zero.extra_max_score),
            ..zero
        }
    }

    #[test]
    fn claims_are_computed_from_the_grades() {
        let (reference, a, b) = (bug("reference", false), bug("a", true), bug("b", true));
        let all_caught = [
            (&reference, grade(15.0, None)),
            (&a, grade(10.0, None)),
            (&b, grade(15.0, Some(10.0))),
        ];
        assert_eq!(
            claims(&all_caught, 2, &[Part::A]),
            "the reference scores full marks\nall 2 catalog bugs graded on part 2A: every one scores below full marks, 1 of them only through the extra set"
        );
        // A bug at full marks and a short reference: no false claim.
        let missed = [(&reference, grade(10.0, None)), (&a, grade(15.0, None))];
        let text = claims(&missed, 2, &[Part::A]);
        assert!(
            text.contains("the reference does NOT score full marks"),
            "{text}"
        );
        assert!(
            text.contains("1 of the 2 catalog bugs graded on part 2A: 0 score below full marks"),
            "{text}"
        );
        assert!(!text.contains("every"), "{text}");
        // Without the extra set graded, the claims do not mention it.
        let no_extra = |go| Grade {
            extra_max_score: 0.0,
            extra_score: 0.0,
            ..grade(go, None)
        };
        let two_d = [
            (&reference, no_extra(15.0)),
            (&a, no_extra(10.0)),
            (&b, no_extra(15.0)),
        ];
        let text = claims(&two_d, 2, &[Part::A]);
        assert!(
            text.ends_with(
                "all 2 catalog bugs graded on part 2A: 1 score below full marks, 1 score full marks"
            ),
            "{text}"
        );
    }

    #[test]
    fn rows_name_the_go_tests_that_caught_a_bug_and_a_missed_bug_is_not_caught() {
        let mut g = grade(15.0, None);
        for t in &mut g.tests {
            (t.score, t.runs, t.passed) = (t.max_score, 3, 3);
        }
        let full = row(&bug("a", true), &g);
        assert!(
            full.ends_with("| 15/15 | 20/20 | **not caught** |"),
            "{full}"
        );
        let reference = row(&bug("reference", false), &g);
        assert!(reference.ends_with("| nothing |"), "{reference}");
        let t = &mut g.tests[1];
        (t.score, t.passed, t.first_failure) = (0.0, 1, Some(2));
        g.score = 10.0;
        let caught = row(&bug("a", true), &g);
        assert!(
            caught.ends_with("| 10/15 | 20/20 | TestReElection2A (2/3 failed, first at run 2) |"),
            "{caught}"
        );
        assert_eq!(
            header(&settings()),
            "| bug | what it does wrong | 2A score | extra score | caught by |\n|---|---|---|---|---|\n"
        );
    }

    #[test]
    fn unknown_bug_names_are_refused_with_the_known_ones() {
        let root = std::env::temp_dir().join(format!("catalog-names-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("grading/bugs")).unwrap();
        fs::write(root.join("grading/bugs/no-heartbeats.patch"), "Bug: none\n").unwrap();
        assert!(check_names(&root, &["no-heartbeats".into(), "reference".into()]).is_ok());
        let err = check_names(&root, &["no-such-bug".into()]).unwrap_err();
        assert!(
            err.contains("\"no-such-bug\"") && err.contains("    no-heartbeats"),
            "{err}"
        );
        let _ = fs::remove_dir_all(&root);
    }
}
