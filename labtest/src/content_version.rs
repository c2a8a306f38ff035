//! The version a scratch workspace gives its `raft` crate: one per distinct
//! content of the crate, so that a submission graded twice (or the same
//! sources handed in twice) is built once.
//!
//! All scratch workspaces share one cargo target dir, and cargo names a
//! workspace crate's artifacts by name and version, not by path. Two
//! different submissions must never share a version: one would be graded
//! with the other's test binaries. Identical ones may, and should: the
//! `tests` crate is the slowest part of a grade to build.
//!
//! A hash alone would let a crafted submission collide with another's
//! version, so every version is backed by a record of the exact files it
//! stands for (`<target dir>/raft-versions/<tag>/`), compared byte for byte
//! before it is reused; a collision gets the next free tag. The crate's
//! files are also given one fixed modification time: cargo rebuilds a
//! crate when a source is newer than its artifacts, and with a version per
//! content, a matching record means the artifacts are of those very files.
//!
//! This module must never hand out a version whose record differs from the
//! crate it is asked about.

use crate::file_tree;
use std::collections::BTreeMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where the records live, inside the shared target dir.
const RECORDS: &str = "raft-versions";

/// The modification time every file of a graded `raft` crate gets.
const FIXED_MTIME: Duration = Duration::from_secs(946_684_800); // 2000-01-01

/// A crate's files: path relative to the crate folder, and bytes.
type Files = BTreeMap<PathBuf, Vec<u8>>;

/// The version tag (`g` and hex digits) for the crate files in `raft`
/// (its `src/` and the course's files beside it, not its manifest), backed
/// by a record in `target_dir`. Sets every file's modification time to
/// the fixed one.
pub fn tag_for(raft: &Path, target_dir: &Path) -> Result<String, String> {
    let files = read_crate(raft).map_err(|e| format!("cannot read the raft crate: {e}"))?;
    let records = target_dir.join(RECORDS);
    fs::create_dir_all(&records)
        .map_err(|e| format!("cannot create {}: {e}", records.display()))?;
    let base = content_hash(&files);
    for salt in 0u32.. {
        let tag = match salt {
            0 => format!("g{base:016x}"),
            n => format!("g{base:016x}s{n}"),
        };
        if claim(&records.join(&tag), &files)? {
            fix_mtimes(raft, &files).map_err(|e| format!("cannot set file times: {e}"))?;
            return Ok(tag);
        }
    }
    unreachable!("u32 salts run out")
}

/// Every file under `raft` except its manifest (which the grader writes
/// with the version in it).
fn read_crate(raft: &Path) -> std::io::Result<Files> {
    let mut files = read_tree_at(raft)?;
    files.remove(Path::new("Cargo.toml"));
    Ok(files)
}

/// A hash of the names and bytes of `files` (std's SipHash with fixed
/// keys: stable for one grader build, which is all a record needs).
fn content_hash(files: &Files) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut hasher);
    hasher.finish()
}

/// Whether the record at `record` stands for exactly `files`: true if it
/// does, or if there was none and this call wrote it; false if it holds
/// other files (a hash collision).
fn claim(record: &Path, files: &Files) -> Result<bool, String> {
    if !record.exists() {
        write_record(record, files)?;
    }
    let recorded =
        read_tree_at(record).map_err(|e| format!("cannot read {}: {e}", record.display()))?;
    Ok(&recorded == files)
}

/// The files under `dir` (see `file_tree::files_under`) and their bytes.
fn read_tree_at(dir: &Path) -> std::io::Result<Files> {
    let mut files = Files::new();
    for rel in file_tree::files_under(dir)? {
        let bytes = fs::read(dir.join(&rel))?;
        files.insert(rel, bytes);
    }
    Ok(files)
}

/// Writes `files` to a fresh folder beside `record` and renames it into
/// place; if another grader got there first, its record stays.
fn write_record(record: &Path, files: &Files) -> Result<(), String> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = record.with_extension(format!("tmp{}-{nanos}", std::process::id()));
    let io = |e: std::io::Error| format!("cannot write {}: {e}", tmp.display());
    for (rel, bytes) in files {
        let path = tmp.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::write(&path, bytes).map_err(io)?;
    }
    fs::create_dir_all(&tmp).map_err(io)?;
    if fs::rename(&tmp, record).is_err() {
        // Lost a race to another grader of the same crate: the caller
        // compares against the record that won.
        let _ = fs::remove_dir_all(&tmp);
        if !record.exists() {
            return Err(format!("cannot write the record {}", record.display()));
        }
    }
    Ok(())
}

fn fix_mtimes(raft: &Path, files: &Files) -> std::io::Result<()> {
    let when = SystemTime::UNIX_EPOCH + FIXED_MTIME;
    for rel in files.keys() {
        fs::File::options()
            .write(true)
            .open(raft.join(rel))?
            .set_modified(when)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(dir: &Path, lib: &str) -> PathBuf {
        let raft = dir.join("raft");
        fs::create_dir_all(raft.join("src")).unwrap();
        fs::write(raft.join("Cargo.toml"), "any").unwrap();
        fs::write(raft.join("src/lib.rs"), lib).unwrap();
        raft
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cv-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn same_files_share_a_tag_and_different_files_do_not() {
        let dir = temp("share");
        let target = dir.join("target");
        let a = tag_for(&crate_with(&dir.join("a"), "fn a() {}"), &target).unwrap();
        let b = tag_for(&crate_with(&dir.join("b"), "fn a() {}"), &target).unwrap();
        let c = tag_for(&crate_with(&dir.join("c"), "fn c() {}"), &target).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with('g') && a.len() == 17, "{a}");
        let mtime = fs::metadata(dir.join("b/raft/src/lib.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(mtime, SystemTime::UNIX_EPOCH + FIXED_MTIME);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_collision_with_another_crates_record_gets_the_next_tag() {
        let dir = temp("collide");
        let target = dir.join("target");
        let raft = crate_with(&dir.join("a"), "fn a() {}");
        let honest = tag_for(&raft, &target).unwrap();
        // Forge a collision: the record of this tag now holds other files.
        let record = target.join(RECORDS).join(&honest);
        fs::write(record.join("src/lib.rs"), "fn forged() {}").unwrap();
        let next = tag_for(&raft, &target).unwrap();
        assert_eq!(next, format!("{honest}s1"));
        assert_eq!(
            tag_for(&raft, &target).unwrap(),
            next,
            "the record of s1 now matches"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
