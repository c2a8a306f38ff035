//! Build integrity: a submission must not be able to change its own
//! verdict. Before a submission is built, its `raft` crate is linted with
//! the course's ban (`raft/clippy.toml` and the lints the course's
//! `raft/Cargo.toml` forbids: unsafe code, the layer's std threads, locks,
//! clocks and channels, and every door out of the process) and its
//! sources are scanned for what clippy cannot see. Any forbidden use scores
//! zero, named with its file and line.
//!
//! It judges only the student's crate, never the harness, and never lets an
//! ordinary clippy warning cost a point. If the check cannot run, the
//! submission is not graded (it never passes unchecked).

mod lint;
mod scan;
mod tokens;

use crate::file_tree;
use serde::Serialize;
use std::fs;
use std::path::Path;

/// One forbidden use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The file, relative to the raft crate (`src/lib.rs`).
    pub file: String,
    pub line: usize,
    pub what: String,
    /// Which check found it: `clippy` or `scanner`.
    pub by: &'static str,
}

/// The first line of a report of violations (the grade's build errors
/// start with it).
pub const HEADING: &str = "build integrity: the submission uses what the course forbids";

/// The name of the grade's entry for `errors`, the text that kept a
/// submission from running.
pub fn entry_name(errors: &str) -> &'static str {
    if errors.starts_with(HEADING) {
        "build integrity"
    } else {
        "build"
    }
}

/// Checks the `raft` crate of the scratch workspace `ws` (cargo's
/// artifacts go to `target_dir`). Err with the report if it uses anything
/// forbidden, or if the check could not run.
pub fn check(ws: &Path, target_dir: &Path) -> Result<(), String> {
    let raft = ws.join("raft");
    let mut found = scan_sources(&raft)?;
    found.extend(lint::run(ws, target_dir)?);
    if found.is_empty() {
        return Ok(());
    }
    Err(report(found))
}

/// The scanner's findings in every `.rs` file under `raft/src`.
fn scan_sources(raft: &Path) -> Result<Vec<Violation>, String> {
    let src = raft.join("src");
    let files = file_tree::files_under(&src)
        .map_err(|e| format!("cannot read the submission's sources: {e}"))?;
    let mut found = Vec::new();
    for rel in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let path = src.join(rel);
        let source = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path.strip_prefix(raft).unwrap_or(&path);
        found.extend(scan::scan(&name.to_string_lossy(), &source));
    }
    Ok(found)
}

/// The report of `found`: the heading, then one line per forbidden use
/// in file and line order (one per line of source, clippy's first).
fn report(mut found: Vec<Violation>) -> String {
    found.sort_by(|a, b| (&a.file, a.line, a.by).cmp(&(&b.file, b.line, b.by)));
    found.dedup_by(|later, first| later.file == first.file && later.line == first.line);
    let mut out = format!("{HEADING} (score 0):\n");
    for v in &found {
        out += &format!("  {}:{}: {} ({})\n", v.file, v.line, v.what, v.by);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_use_once_per_line_in_order() {
        let v = |file: &str, line, by| Violation {
            file: file.into(),
            line,
            what: format!("{by} at {line}"),
            by,
        };
        let text = report(vec![
            v("src/lib.rs", 9, "scanner"),
            v("src/a.rs", 3, "scanner"),
            v("src/lib.rs", 9, "clippy"),
        ]);
        assert_eq!(
            text,
            format!(
                "{HEADING} (score 0):\n  src/a.rs:3: scanner at 3 (scanner)\n  src/lib.rs:9: clippy at 9 (clippy)\n"
            )
        );
        assert_eq!(entry_name(&text), "build integrity");
        assert_eq!(entry_name("the build failed"), "build");
    }
}
