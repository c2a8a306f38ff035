//! `labtest merge`: joins the shares of a class graded with
//! `grade-batch --partition I/N` (on one machine or many) into what one
//! machine grading the whole class would have written: one `scores.csv`
//! with the rows in the class's order, every submission's report folder
//! (`results.json`, `report.txt`) side by side, and the summary.
//!
//! Each finished share leaves a `share.json` beside its `scores.csv`
//! (see [`Share`]); an interrupted share leaves none, so it cannot be
//! merged as if it were complete. Merge refuses (exit 2) shares that do
//! not belong together: different master seeds, class sizes, part counts
//! or tests, a share given twice, or a share missing. It never writes
//! inside a share's folder unless that folder is also the output.

use crate::file_tree::copy_tree;
use crate::partition::Partition;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The file a finished share writes.
pub const SHARE_FILE: &str = "share.json";

/// What one finished share graded.
#[derive(Debug, Serialize, Deserialize)]
pub struct Share {
    pub partition: Partition,
    pub master_seed: u64,
    /// Submissions in the whole class.
    pub class_size: usize,
    /// The CSV's header line.
    pub header: String,
    pub rows: Vec<ShareRow>,
}

/// One submission a share graded.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShareRow {
    /// Its place in the sorted class (from 0).
    pub position: usize,
    /// Its report folder's name.
    pub folder: String,
    /// Its line of `scores.csv`.
    pub csv: String,
    pub score: f64,
    pub max_score: f64,
}

/// The class put back together.
#[derive(Debug)]
pub struct Merged {
    pub csv: String,
    /// (score, max score) per submission, in the class's order.
    pub scores: Vec<(f64, f64)>,
    pub shares: usize,
}

/// Reads the `share.json` of each folder in `shares`.
pub fn read_shares(shares: &[PathBuf]) -> Result<Vec<(PathBuf, Share)>, String> {
    shares
        .iter()
        .map(|dir| {
            let path = dir.join(SHARE_FILE);
            let text = fs::read_to_string(&path).map_err(|err| {
                format!(
                    "{}: not a finished share ({err}); was its grade-batch --partition interrupted?",
                    path.display()
                )
            })?;
            let share = serde_json::from_str(&text)
                .map_err(|err| format!("{}: not a share file: {err}", path.display()))?;
            Ok((dir.clone(), share))
        })
        .collect()
}

/// Checks that `shares` are the N shares of one class, each once, and
/// joins their rows in the class's order.
pub fn join(shares: &[(PathBuf, Share)]) -> Result<Merged, String> {
    let Some((first_dir, first)) = shares.first() else {
        return Err(
            "merge needs the folders of the shares (grade-batch --partition --out DIR)".into(),
        );
    };
    let count = first.partition.count;
    let mut seen = vec![None::<&Path>; count];
    for (dir, share) in shares {
        let differs = |what: &str| {
            format!(
                "{} and {} are not shares of one grade: their {what} differ",
                first_dir.display(),
                dir.display()
            )
        };
        if share.master_seed != first.master_seed {
            return Err(differs("master seeds"));
        }
        if share.class_size != first.class_size {
            return Err(differs("class sizes"));
        }
        if share.partition.count != count {
            return Err(differs("numbers of shares"));
        }
        if share.header != first.header {
            return Err(differs("tests (CSV headers)"));
        }
        let slot = &mut seen[share.partition.index - 1];
        if let Some(other) = slot {
            return Err(format!(
                "share {} is given twice: {} and {}",
                share.partition,
                other.display(),
                dir.display()
            ));
        }
        *slot = Some(dir);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| seen[i - 1].is_none())
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shares: {}", missing.join(", ")));
    }
    let mut rows: Vec<&ShareRow> = shares.iter().flat_map(|(_, s)| &s.rows).collect();
    rows.sort_by_key(|r| r.position);
    let positions: Vec<usize> = rows.iter().map(|r| r.position).collect();
    if positions != (0..first.class_size).collect::<Vec<_>>() {
        return Err(format!(
            "the shares do not cover the class of {} submissions exactly once (positions {positions:?})",
            first.class_size
        ));
    }
    let mut csv = first.header.clone();
    csv.push('\n');
    for row in &rows {
        csv.push_str(&row.csv);
        csv.push('\n');
    }
    Ok(Merged {
        csv,
        scores: rows.iter().map(|r| (r.score, r.max_score)).collect(),
        shares: count,
    })
}

/// Copies every share's report folders into `out` (a share whose folder
/// is `out` stays where it is).
pub fn gather_reports(shares: &[(PathBuf, Share)], out: &Path) -> Result<(), String> {
    let out_real = fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    for (dir, share) in shares {
        if fs::canonicalize(dir).is_ok_and(|d| d == out_real) {
            continue;
        }
        for row in &share.rows {
            let (from, to) = (dir.join(&row.folder), out.join(&row.folder));
            if to.exists() {
                fs::remove_dir_all(&to)
                    .map_err(|err| format!("cannot replace {}: {err}", to.display()))?;
            }
            copy_reports(&from, &to).map_err(|err| {
                format!("cannot copy {} to {}: {err}", from.display(), to.display())
            })?;
        }
    }
    Ok(())
}

/// A report folder without its scratch build.
fn copy_reports(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() == "scratch" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(index: usize, count: usize, seed: u64, positions: &[usize]) -> (PathBuf, Share) {
        (
            PathBuf::from(format!("share-{index}")),
            Share {
                partition: Partition { index, count },
                master_seed: seed,
                class_size: 4,
                header: "submission,score".into(),
                rows: positions
                    .iter()
                    .map(|&p| ShareRow {
                        position: p,
                        folder: format!("s{p}"),
                        csv: format!("s{p},{p}"),
                        score: p as f64,
                        max_score: 15.0,
                    })
                    .collect(),
            },
        )
    }

    #[test]
    fn shares_join_in_the_class_order() {
        let merged = join(&[share(2, 2, 7, &[1, 3]), share(1, 2, 7, &[0, 2])]).unwrap();
        assert_eq!(merged.csv, "submission,score\ns0,0\ns1,1\ns2,2\ns3,3\n");
        assert_eq!(merged.scores.len(), 4);
    }

    #[test]
    fn shares_that_do_not_belong_together_are_refused() {
        let seeds = join(&[share(1, 2, 7, &[0, 2]), share(2, 2, 8, &[1, 3])]).unwrap_err();
        assert!(seeds.contains("master seeds"), "{seeds}");
        let twice = join(&[share(1, 2, 7, &[0, 2]), share(1, 2, 7, &[0, 2])]).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
        let missing = join(&[share(1, 2, 7, &[0, 2])]).unwrap_err();
        assert!(missing.contains("missing shares: 2/2"), "{missing}");
        let gap = join(&[share(1, 2, 7, &[0]), share(2, 2, 7, &[1, 3])]).unwrap_err();
        assert!(gap.contains("exactly once"), "{gap}");
    }
}
