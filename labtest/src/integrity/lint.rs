//! The course's ban, as clippy applies it to the student's `raft` crate.
//!
//! The course's `raft/Cargo.toml` forbids `unsafe_code` and clippy's
//! disallowed lists (so an `#[allow]` in the source is itself an error),
//! and `raft/clippy.toml` fills the lists. This module runs clippy once on
//! the crate and keeps only those lints: clippy's other lints, warnings or
//! errors, never count against a student. It must never lint the harness
//! crates as the student's.

use super::Violation;
use std::path::Path;
use std::process::Command;

/// The lints of the ban, as clippy's JSON messages name them; E0453 is an
/// `#[allow]` of a forbidden lint.
const BAN: [&str; 5] = [
    "unsafe_code",
    "clippy::disallowed_methods",
    "clippy::disallowed_types",
    "clippy::disallowed_macros",
    "E0453",
];

/// Runs clippy on `raft` in the workspace `ws`, in the release profile
/// the tests are built in (so `cfg(debug_assertions)` hides nothing).
pub fn run(ws: &Path, target_dir: &Path) -> Result<Vec<Violation>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Absolute: clippy runs in `ws`, where a relative path (from a relative
    // `--out`) would name nothing.
    let conf_dir = std::path::absolute(ws.join("raft"))
        .map_err(|e| format!("cannot run the integrity check (cargo clippy): {e}"))?;
    let out = Command::new(cargo)
        .args(["clippy", "--release", "--message-format=json", "-p", "raft"])
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CLIPPY_CONF_DIR", conf_dir)
        .output()
        .map_err(|e| format!("cannot run the integrity check (cargo clippy): {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|m: &serde_json::Value| {
            m["reason"] == "compiler-message" && m["target"]["name"] == "raft"
        })
        .collect();
    let raft_errors = messages.iter().any(|m| m["message"]["level"] == "error");
    if !out.status.success() && !raft_errors {
        return Err(format!(
            "cannot run the integrity check (cargo clippy -p raft failed before linting it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(messages.iter().filter_map(violation).collect())
}

/// The violation a compiler message reports, if it is one of the ban.
fn violation(message: &serde_json::Value) -> Option<Violation> {
    let m = &message["message"];
    let code = m["code"]["code"].as_str()?;
    if !BAN.contains(&code) {
        return None;
    }
    let span = m["spans"]
        .as_array()?
        .iter()
        .find(|s| s["is_primary"] == true)?;
    let file = span["file_name"].as_str()?;
    let mut what = m["message"].as_str()?.to_string();
    // Clippy gives the reason of a disallowed item as the first note.
    let reason = m["children"]
        .as_array()
        .and_then(|c| c.first())
        .and_then(|c| c["message"].as_str())
        .filter(|_| code.starts_with("clippy::disallowed_"));
    if let Some(reason) = reason {
        what += &format!(": {reason}");
    }
    Some(Violation {
        file: file.strip_prefix("raft/").unwrap_or(file).to_string(),
        line: span["line_start"].as_u64()? as usize,
        what,
        by: "clippy",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ban_counts() {
        let message = |code: &str| {
            serde_json::json!({"reason": "compiler-message", "target": {"name": "raft"},
                "message": {"code": {"code": code}, "level": "error",
                    "message": "use of a disallowed method `std::fs::write`",
                    "children": [{"message": "the file system is closed to the Raft"},
                                 {"message": "`#[forbid(clippy::disallowed_methods)]` on by default"}],
                    "spans": [{"is_primary": true, "file_name": "raft/src/attack.rs", "line_start": 7}]}})
        };
        assert_eq!(
            violation(&message("clippy::disallowed_methods")),
            Some(Violation {
                file: "src/attack.rs".into(),
                line: 7,
                what: "use of a disallowed method `std::fs::write`: the file system is closed to the Raft".into(),
                by: "clippy",
            })
        );
        assert_eq!(violation(&message("clippy::needless_return")), None);
        let unsafe_code = violation(&message("unsafe_code")).unwrap();
        assert!(!unsafe_code.what.contains("closed"), "{unsafe_code:?}");
        assert_eq!(violation(&message("E0308")), None);
    }
}
