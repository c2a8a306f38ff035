//! A failed run's description, kept beside its output and event log as
//! `<test>-<seed>.run.json`: everything `labtest replay` needs to run it
//! again (test, seed, clock, how to find the binary) and to judge the
//! replay (the harness's record and the recorded event log).
//!
//! This module only writes and reads these files and picks one out of a
//! kept folder; it never runs anything.

use crate::discover::Source;
use crate::run::Verdict;
use crate::time_mode::TimeMode;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The end of a kept run file's name.
pub const SUFFIX: &str = ".run.json";

/// A failed run, as kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeptRun {
    pub test: String,
    /// The test target (`raft_2a`).
    pub target: String,
    pub seed: u64,
    /// The clock it ran on.
    pub time: TimeMode,
    /// The virtual-time scheduler (`LAB_SCHED`) it ran with, if set.
    #[serde(default)]
    pub sched: Option<String>,
    /// The harness's own limit it was given (`LAB_TEST_LIMIT`): in
    /// virtual time a replay needs the same one.
    pub test_limit_seconds: f64,
    pub verdict: Verdict,
    pub failure: Option<String>,
    /// How the session found the test binary (built with cargo, or given).
    pub source: Source,
    /// The binary that ran.
    pub exe: PathBuf,
    /// The result file as the harness wrote it, if it wrote one.
    pub record: Option<String>,
    /// The run's output.
    pub output: Option<PathBuf>,
    /// The run's event log.
    pub events: Option<PathBuf>,
}

impl KeptRun {
    /// Writes the description to `path`; None (said on stderr) if it
    /// cannot be written.
    pub fn write(&self, path: &Path) -> Option<PathBuf> {
        let text = serde_json::to_string_pretty(self).ok()?;
        match fs::write(path, text + "\n") {
            Ok(()) => Some(path.to_path_buf()),
            Err(err) => {
                eprintln!("cannot keep {}: {err}", path.display());
                None
            }
        }
    }

    /// The description in `path`; Err says why it cannot be read.
    pub fn read(path: &Path) -> Result<KeptRun, String> {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a kept run of labtest stress: {e}",
                path.display()
            )
        })
    }
}

/// The kept run `path` names: a `.run.json` file, or a kept folder that
/// holds exactly one run matching `test` (part of its name) and `seed`.
/// Err says what is missing, or lists the runs to choose from.
pub fn find(path: &Path, test: Option<&str>, seed: Option<u64>) -> Result<PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.is_dir() {
        return Err(format!("no such kept run or folder: {}", path.display()));
    }
    let mut runs: Vec<PathBuf> = fs::read_dir(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(SUFFIX))
        .collect();
    runs.sort();
    if runs.is_empty() {
        return Err(format!(
            "{} holds no kept run (labtest stress keeps a <test>-<seed>{SUFFIX} for each failed run)",
            path.display()
        ));
    }
    let matching: Vec<&PathBuf> = runs
        .iter()
        .filter(|p| name_matches(p, test, seed))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.to_path_buf()),
        [] => Err(format!(
            "no kept run in {} matches{}{}; it holds:\n{}",
            path.display(),
            test.map(|t| format!(" test {t:?}")).unwrap_or_default(),
            seed.map(|s| format!(" seed {s}")).unwrap_or_default(),
            list(&runs)
        )),
        several => Err(format!(
            "{} holds {} kept runs; name one (or narrow with --test/--seed):\n{}",
            path.display(),
            several.len(),
            list(&several.iter().map(|p| p.to_path_buf()).collect::<Vec<_>>())
        )),
    }
}

/// Whether a kept run file's name (`<test>-<seed>.run.json`) matches.
fn name_matches(path: &Path, test: Option<&str>, seed: Option<u64>) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let Some((name_test, name_seed)) = name
        .strip_suffix(SUFFIX)
        .and_then(|base| base.rsplit_once('-'))
    else {
        return false;
    };
    test.is_none_or(|t| name_test.contains(t)) && seed.is_none_or(|s| name_seed == s.to_string())
}

/// One path a line, indented.
fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("    {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_names_one_run_or_lists_them() {
        let dir = std::env::temp_dir().join(format!("kept-run-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let empty = find(&dir, None, None).unwrap_err();
        assert!(empty.contains("holds no kept run"), "{empty}");
        for name in [
            "a_fake-3.run.json",
            "a_fake-30.run.json",
            "b_fake-3.run.json",
        ] {
            fs::write(dir.join(name), "{}").unwrap();
        }
        fs::write(dir.join("a_fake-3.log"), "").unwrap();
        let several = find(&dir, None, None).unwrap_err();
        assert!(several.contains("holds 3 kept runs"), "{several}");
        assert_eq!(
            find(&dir, Some("a_"), Some(3)),
            Ok(dir.join("a_fake-3.run.json"))
        );
        assert_eq!(
            find(&dir, Some("b"), None),
            Ok(dir.join("b_fake-3.run.json"))
        );
        let none = find(&dir, Some("c"), None).unwrap_err();
        assert!(
            none.contains("no kept run") && none.contains("b_fake-3"),
            "{none}"
        );
        let missing = find(&dir.join("nope"), None, None).unwrap_err();
        assert!(missing.contains("no such kept run"), "{missing}");
        let _ = fs::remove_dir_all(&dir);
    }
}
