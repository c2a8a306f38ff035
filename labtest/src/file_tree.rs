//! Walking and copying folder trees: the one walk behind the scratch
//! workspaces' copies, the content records of graded crates and the
//! integrity scanner's list of sources, so that all three see the same
//! files.
//!
//! It follows no symbolic links and leaves out every folder named
//! `target` (cargo's artifacts). It never writes outside the destination
//! it is given.

use std::fs;
use std::path::{Path, PathBuf};

/// The regular files under `root`, as paths relative to it, in sorted
/// order; `target` folders and symbolic links are left out.
pub fn files_under(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect(root, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let rel = rel.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != "target" {
                collect(root, &rel, out)?;
            }
        } else if kind.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// Copies the files under `from` (see `files_under`) to `to`, creating
/// it. Each file keeps its modification time: cargo shares a crate's
/// artifacts between workspaces (it names them by crate, not by path) and
/// rebuilds a crate only if a source file is newer than them, so the
/// pristine crates of a scratch workspace are built once for every grade,
/// not once per grade.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for rel in files_under(from)? {
        let (source, dest) = (from.join(&rel), to.join(&rel));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&source, &dest)?;
        let modified = fs::metadata(&source)?.modified()?;
        fs::File::options()
            .write(true)
            .open(&dest)?
            .set_modified(modified)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_nested_files_in_order_and_leaves_out_target_folders() {
        let dir = std::env::temp_dir().join(format!("file-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for file in ["b.rs", "a/z.rs", "a/target/x.rs", "target/y.rs"] {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, file).unwrap();
        }
        let files = files_under(&dir).unwrap();
        assert_eq!(files, [PathBuf::from("a/z.rs"), PathBuf::from("b.rs")]);
        copy_tree(&dir, &dir.join("copy")).unwrap();
        assert_eq!(fs::read(dir.join("copy/a/z.rs")).unwrap(), b"a/z.rs");
        assert!(!dir.join("copy/target").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
