//! `labtest handout`: the tree students start from. The harness crates as
//! they are, the `raft` skeleton (compiles, hints, no panicking stubs), the
//! student README; not the reference Raft, the grading files or the
//! harness's self-tests (which need the reference Raft, see
//! `workspace::remove_harness_self_tests`).
//!
//! It writes only inside the output folder, and refuses a non-empty one.

use crate::file_tree::copy_tree;
use crate::workspace::{install_course_files, remove_harness_self_tests, repo_root};
use std::fs;
use std::path::Path;

/// The crates a student's workspace holds besides `raft`.
const CRATES: [&str; 5] = ["labcodec", "labrpc", "tests", "labtest", "labview"];

/// The student's READMEs: the lab's, and one per part.
const HANDOUT_READMES: [&str; 5] = [
    "README.md",
    "README-2A.md",
    "README-2B.md",
    "README-2C.md",
    "README-2D.md",
];

/// Writes the handout into `out`.
pub fn write(out: &Path) -> Result<(), String> {
    let root = repo_root()?;
    if out.exists()
        && fs::read_dir(out)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{} exists and is not empty", out.display()));
    }
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    fs::create_dir_all(out).map_err(|e| io("cannot create the handout folder", e))?;
    for krate in CRATES {
        copy_tree(&root.join(krate), &out.join(krate))
            .map_err(|e| io(&format!("cannot copy {krate}"), e))?;
    }
    remove_harness_self_tests(out)?;
    let skeleton = root.join("grading/handout/raft");
    copy_tree(&skeleton, &out.join("raft")).map_err(|e| io("cannot copy the skeleton", e))?;
    install_course_files(&root, &out.join("raft"))?;
    for file in ["Cargo.toml", "Cargo.lock", "clippy.toml", ".gitignore"] {
        fs::copy(root.join(file), out.join(file))
            .map_err(|e| io(&format!("cannot copy {file}"), e))?;
    }
    fs::copy(root.join("grading/handout/Makefile"), out.join("Makefile"))
        .map_err(|e| io("cannot copy the Makefile", e))?;
    for readme in HANDOUT_READMES {
        fs::copy(root.join("grading/handout").join(readme), out.join(readme))
            .map_err(|e| io(&format!("cannot copy {readme}"), e))?;
    }
    Ok(())
}
