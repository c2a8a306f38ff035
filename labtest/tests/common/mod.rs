//! Helpers shared by labtest's integration tests.

// Test helpers around OS processes, outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, dead_code)]

use std::path::PathBuf;
use std::process::Output;

/// A fresh, empty temporary folder for one test.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labtest-{group}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A command's stdout and stderr together.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails, showing all the output, unless it contains `needle`.
#[track_caller]
pub fn assert_contains(out: &Output, needle: &str) {
    let all = text(out);
    assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
}
