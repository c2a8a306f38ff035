//! Scratch workspaces for grading and the student handout: a copy of the
//! pristine harness (labcodec, labrpc, tests and the workspace manifest
//! and lock) with a `raft` crate put in from elsewhere.
//!
//! Only a submission's `raft/src/**` is ever copied in: its manifest, build
//! script and anything else are left out (and reported), and the harness's
//! own `persister.rs` replaces the submission's; the course's manifest and
//! ban (`clippy.toml`) go beside it. This module must never
//! write inside the pristine repository.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::content_version;
use crate::file_tree::copy_tree;

/// The pristine crates a graded workspace is built from.
const HARNESS_CRATES: [&str; 3] = ["labcodec", "labrpc", "tests"];

/// The harness's self-tests, left out of every graded workspace and
/// handout: they prove the harness against the reference Raft and broken
/// variants of it, which a student's crate is not. cargo builds a
/// package's binaries for any of its integration tests, so keeping the
/// `broken_raft` binary would cost every grade a full optimised build of
/// code it never runs.
const HARNESS_SELF_TESTS: [&str; 4] = [
    "tests/src/bin",
    "tests/tests/harness.rs",
    "tests/tests/determinism.rs",
    "tests/tests/seed_replays.rs",
];

/// Removes the harness's self-tests (`HARNESS_SELF_TESTS`) from a copy of
/// the harness in `dest`.
pub fn remove_harness_self_tests(dest: &Path) -> Result<(), String> {
    for part in HARNESS_SELF_TESTS {
        let path = dest.join(part);
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else if path.is_file() {
            fs::remove_file(&path)
        } else {
            Ok(())
        };
        removed.map_err(|e| format!("cannot leave out the harness's {part}: {e}"))?;
    }
    Ok(())
}

/// The repository root (where the workspace Cargo.toml is), found from the
/// current directory upwards.
pub fn repo_root() -> Result<PathBuf, String> {
    find_upwards(
        |dir| {
            dir.join("Cargo.toml").is_file()
                && dir.join("labrpc").is_dir()
                && dir.join("grading").is_dir()
        },
        "run labtest inside the lab's repository (no Cargo.toml with labrpc/ and grading/ above here)",
    )
}

/// The lab workspace (a Cargo.toml beside a `raft` crate, in the
/// repository or a handout) around the current folder.
pub fn lab_workspace() -> Result<PathBuf, String> {
    find_upwards(
        |dir| dir.join("Cargo.toml").is_file() && dir.join("raft/src").is_dir(),
        "run labtest check inside the lab's workspace (no Cargo.toml beside raft/src above here)",
    )
}

/// The first of the current folder and its parents that `is_it` accepts;
/// Err `missing` if none does.
fn find_upwards(is_it: impl Fn(&Path) -> bool, missing: &str) -> Result<PathBuf, String> {
    let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
    loop {
        if is_it(&dir) {
            return Ok(dir);
        }
        if !dir.pop() {
            return Err(missing.into());
        }
    }
}

/// The workspace manifest for a scratch workspace: ours, with `members`
/// replaced.
fn manifest_with_members(root: &Path, members: &[&str]) -> Result<String, String> {
    let text = fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    let list = members
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::new();
    let mut replaced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("members") {
            out += &format!("members = [{list}]\n");
            replaced = true;
        } else {
            out += line;
            out.push('\n');
        }
    }
    if replaced {
        Ok(out)
    } else {
        Err("the workspace Cargo.toml has no members line".into())
    }
}

/// Builds a workspace in `dest` with the pristine harness and the raft
/// crate's sources from `raft_src` (a `src` folder), to be built in
/// `target_dir` (shared by every scratch workspace). Returns notes on what
/// was left out of the submission.
pub fn assemble(
    root: &Path,
    dest: &Path,
    raft_src: &Path,
    extra_members: &[&str],
    target_dir: &Path,
) -> Result<Vec<String>, String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(|e| io("cannot clear the scratch workspace", e))?;
    }
    fs::create_dir_all(dest).map_err(|e| io("cannot create the scratch workspace", e))?;
    let mut members: Vec<&str> = HARNESS_CRATES.to_vec();
    members.extend_from_slice(extra_members);
    for krate in &members {
        copy_tree(&root.join(krate), &dest.join(krate))
            .map_err(|e| io(&format!("cannot copy {krate}"), e))?;
    }
    remove_harness_self_tests(dest)?;
    members.push("raft");
    fs::write(
        dest.join("Cargo.toml"),
        manifest_with_members(root, &members)?,
    )
    .map_err(|e| io("cannot write Cargo.toml", e))?;
    for file in ["Cargo.lock", "clippy.toml"] {
        if root.join(file).is_file() {
            fs::copy(root.join(file), dest.join(file))
                .map_err(|e| io(&format!("cannot copy {file}"), e))?;
        }
    }
    let raft = dest.join("raft");
    copy_tree(raft_src, &raft.join("src")).map_err(|e| io("cannot copy the raft sources", e))?;
    install_course_files(root, &raft)?;
    let manifest = fs::read_to_string(root.join("grading/handout/raft/Cargo.toml"))
        .map_err(|e| io("cannot read the handout's raft/Cargo.toml", e))?;
    let tag = content_version::tag_for(&raft, target_dir)?;
    fs::write(raft.join("Cargo.toml"), with_version_tag(&manifest, &tag))
        .map_err(|e| io("cannot write raft/Cargo.toml", e))?;
    Ok(Vec::new())
}

/// Puts the course's own files into the raft crate folder `raft`: the
/// persister (it belongs to the harness) and the course's ban
/// (`clippy.toml`, which clippy reads from the crate's folder).
pub fn install_course_files(root: &Path, raft: &Path) -> Result<(), String> {
    for (from, to) in [
        ("raft/src/persister.rs", "src/persister.rs"),
        ("raft/clippy.toml", "clippy.toml"),
    ] {
        fs::copy(root.join(from), raft.join(to))
            .map_err(|e| format!("cannot copy the course's {from}: {e}"))?;
    }
    Ok(())
}

/// The raft manifest with `tag` added to its version (see
/// `content_version`: one version per distinct content of the crate).
fn with_version_tag(manifest: &str, tag: &str) -> String {
    manifest
        .lines()
        .map(|line| match line.strip_prefix("version = \"") {
            Some(rest) if !rest.contains('-') => {
                format!("version = \"{}-{tag}\"", rest.trim_end_matches('"'))
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// What a submission holds besides `src/`, which grading ignores.
pub fn ignored_parts(submission: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    if submission.join("build.rs").exists() {
        notes.push(
            "build.rs was ignored: submissions are built with the course's raft/Cargo.toml"
                .to_string(),
        );
    }
    if submission.join("Cargo.toml").exists() {
        notes.push("the submission's Cargo.toml was replaced by the course's (extra dependencies are not available)".to_string());
    }
    if let Ok(entries) = fs::read_dir(submission) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !matches!(
                name.as_str(),
                "src" | "Cargo.toml" | "build.rs" | "target" | "Cargo.lock"
            ) {
                notes.push(format!("{name} was ignored (only src/ is graded)"));
            }
        }
    }
    if submission.join("src/persister.rs").exists() {
        notes.push("src/persister.rs was replaced by the course's copy".to_string());
    }
    notes
}

/// Turns PATH (a raft crate folder, or a .tar.gz/.tgz/.zip holding one)
/// into a folder with `src/lib.rs`, unpacking archives into `scratch`.
pub fn unpack_submission(path: &Path, scratch: &Path) -> Result<PathBuf, String> {
    if !path.exists() {
        return Err(format!("{} does not exist", path.display()));
    }
    let root = if path.is_dir() {
        path.to_path_buf()
    } else {
        let name = path.to_string_lossy();
        let dest = scratch.join("unpacked");
        let _ = fs::remove_dir_all(&dest);
        fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
        let status = if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Command::new("tar")
                .arg("-xzf")
                .arg(path)
                .arg("-C")
                .arg(&dest)
                .status()
        } else if name.ends_with(".zip") {
            Command::new("unzip")
                .arg("-q")
                .arg(path)
                .arg("-d")
                .arg(&dest)
                .status()
        } else {
            return Err(format!(
                "{} is neither a folder nor a .tar.gz/.zip",
                path.display()
            ));
        };
        match status {
            Ok(s) if s.success() => dest,
            Ok(s) => return Err(format!("cannot unpack {}: {s}", path.display())),
            Err(e) => return Err(format!("cannot unpack {}: {e}", path.display())),
        }
    };
    find_crate(&root, 3).ok_or_else(|| {
        format!(
            "no raft crate (a folder with src/lib.rs) in {}",
            path.display()
        )
    })
}

/// The shallowest folder under `dir` with `src/lib.rs`, preferring one
/// whose manifest names the `raft` package (an archive may also hold other
/// crates, such as an edited harness, which grading ignores).
fn find_crate(dir: &Path, depth: usize) -> Option<PathBuf> {
    find_raft_crate(dir, depth, true).or_else(|| find_raft_crate(dir, depth, false))
}

fn find_raft_crate(dir: &Path, depth: usize, named_raft: bool) -> Option<PathBuf> {
    let is_raft = || {
        fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|m| m.lines().any(|l| l.replace(' ', "") == "name=\"raft\""))
            || dir.file_name().is_some_and(|n| n == "raft")
    };
    if dir.join("src/lib.rs").is_file() && (!named_raft || is_raft()) {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let mut subdirs: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    subdirs
        .into_iter()
        .find_map(|d| find_raft_crate(&d, depth - 1, named_raft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_tag_goes_after_the_version() {
        let manifest =
            "[package]\nname = \"raft\"\nversion = \"0.1.0\"\nedition.workspace = true\n";
        let a = with_version_tag(manifest, "g00ff");
        assert!(a.contains("version = \"0.1.0-g00ff\""), "{a}");
        assert!(a.contains("name = \"raft\"") && a.contains("edition.workspace = true"));
    }

    #[test]
    fn finds_the_crate_inside_wrappers() {
        let dir = std::env::temp_dir().join(format!("ws-find-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub/raft/src")).unwrap();
        fs::write(dir.join("sub/raft/src/lib.rs"), "").unwrap();
        assert_eq!(find_crate(&dir, 3), Some(dir.join("sub/raft")));
        assert_eq!(find_crate(&dir, 1), None);
        fs::write(dir.join("sub/raft/build.rs"), "").unwrap();
        let notes = ignored_parts(&dir.join("sub/raft"));
        assert!(notes.iter().any(|n| n.contains("build.rs")), "{notes:?}");
        let _ = fs::remove_dir_all(&dir);
    }
}
