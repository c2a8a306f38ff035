//! Where a submission's reports go: a folder of its own under a reports
//! folder, named after the submission and never shared with another
//! submission of the same name (`a/raft` and `b/raft`, `x/sub.tar.gz` and
//! `y/sub.tar.gz`).
//!
//! Each report folder holds `submission.txt`, the full path of the
//! submission it belongs to; a second submission of the same name gets
//! `NAME-2`, `NAME-3`, ..., and grading the same submission again reuses
//! its folder. This module must never write outside the folder it returns.

use std::fs;
use std::path::{Path, PathBuf};

/// The file naming the submission a report folder belongs to.
const OWNER: &str = "submission.txt";

/// The report folder of `submission` (named `name`) under `parent`,
/// created and claimed if it is new.
pub fn for_submission(parent: &Path, name: &str, submission: &Path) -> Result<PathBuf, String> {
    for_nth_of_name(parent, name, 0, submission)
}

/// As [`for_submission`], for a submission with `earlier` submissions of
/// the same name before it in its class: its folder is looked for from
/// `NAME-(earlier+1)` on, so that every share of a partitioned class
/// names it as one machine would.
pub fn for_nth_of_name(
    parent: &Path,
    name: &str,
    earlier: usize,
    submission: &Path,
) -> Result<PathBuf, String> {
    let owner = fs::canonicalize(submission)
        .unwrap_or_else(|_| submission.to_path_buf())
        .display()
        .to_string();
    for n in earlier + 1.. {
        let dir = if n == 1 {
            parent.join(name)
        } else {
            parent.join(format!("{name}-{n}"))
        };
        if dir.exists() {
            if fs::read_to_string(dir.join(OWNER)).is_ok_and(|text| text.trim_end() == owner) {
                return Ok(dir);
            }
            continue;
        }
        let claim =
            fs::create_dir_all(&dir).and_then(|()| fs::write(dir.join(OWNER), owner + "\n"));
        return match claim {
            Ok(()) => Ok(dir),
            Err(err) => Err(format!("cannot create {}: {err}", dir.display())),
        };
    }
    unreachable!("the folder numbers never run out")
}

/// The name a report folder gives its submission in reports (`raft`,
/// `raft-2`).
pub fn label(dir: &Path) -> String {
    dir.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_submissions_of_one_name_get_two_folders() {
        let root = std::env::temp_dir().join(format!("report-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for sub in ["a/raft", "b/raft"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        let out = root.join("out");
        let a = for_submission(&out, "raft", &root.join("a/raft")).unwrap();
        let b = for_submission(&out, "raft", &root.join("b/raft")).unwrap();
        assert_eq!(a, out.join("raft"));
        assert_eq!(b, out.join("raft-2"));
        // The same submission graded again keeps its folder.
        assert_eq!(
            for_submission(&out, "raft", &root.join("b/raft")).unwrap(),
            b
        );
        // A folder nobody claimed is not taken over.
        fs::create_dir_all(out.join("other")).unwrap();
        assert_eq!(
            for_submission(&out, "other", &root.join("a/raft")).unwrap(),
            out.join("other-2")
        );
        let _ = fs::remove_dir_all(&root);
    }
}
