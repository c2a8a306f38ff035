//! What a test run prints and records: the Go tester's lines, and one JSON
//! line per test for tools (`LAB_RESULT_FILE`).
//!
//! Printing must never fail a test; a result file that cannot be written is
//! reported on stderr. The result file is the verdict's channel: it is
//! opened before any thread exists and its name leaves the environment, so
//! the code under test can never learn where it is.

use labrpc::sync::Mutex;
use serde::Serialize;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;

/// The figures of one test, as Go's `end()` reports them.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Stats {
    pub seconds: f64,
    pub peers: usize,
    pub rpcs: usize,
    pub bytes: u64,
    pub commands: u64,
}

static LAST_STATS: Mutex<Option<Stats>> = Mutex::new(None);

/// Go's Passed line: `  ... Passed --   3.0  3   40   12386    0`.
pub fn passed_line(stats: &Stats) -> String {
    format!(
        "  ... Passed --  {:4.1}  {} {:4} {:7} {:4}",
        stats.seconds, stats.peers, stats.rpcs, stats.bytes, stats.commands
    )
}

/// Prints the Passed line and keeps the figures for the result record.
pub fn passed(stats: &Stats) {
    println!("{}", passed_line(stats));
    *LAST_STATS.lock() = Some(stats.clone());
}

/// Takes the figures the last passing test recorded.
pub(crate) fn take_stats() -> Option<Stats> {
    LAST_STATS.lock().take()
}

/// One line of `LAB_RESULT_FILE`.
#[derive(Serialize, Debug)]
pub struct ResultRecord<'a> {
    pub test: &'a str,
    pub passed: bool,
    pub seconds: f64,
    pub peers: usize,
    pub rpcs: usize,
    pub bytes: u64,
    pub commands: u64,
    pub seed: u64,
    /// `real` or `virtual`: the clock the test ran on (`LAB_TIME`).
    pub time: &'static str,
    pub worst_oversleep_ms: f64,
    pub failure: Option<&'a str>,
    /// Where the test was when it failed.
    pub step: Option<String>,
    /// What the monitors counted (tests that run them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::monitor::Figures>,
}

/// The variable naming the result file.
const RESULT_FILE_VAR: &str = "LAB_RESULT_FILE";

/// Where the records go, once claimed.
struct ResultFile {
    path: OsString,
    /// None if it could not be opened (reported at each record).
    file: Option<File>,
}

static RESULT_FILE: Mutex<Option<ResultFile>> = Mutex::new(None);

/// Opens `LAB_RESULT_FILE` (if set) for appending, keeps it for
/// [`write_record`], and removes the variable from the environment.
///
/// # Safety
///
/// Call it before any other thread exists (first thing in `main`): it
/// changes the process's environment, which another thread may be reading.
pub unsafe fn claim_result_file() {
    let Some(path) = std::env::var_os(RESULT_FILE_VAR) else {
        return;
    };
    // SAFETY: the caller guarantees no other thread exists yet.
    unsafe { std::env::remove_var(RESULT_FILE_VAR) };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path);
    if let Err(err) = &file {
        eprintln!("{RESULT_FILE_VAR}: cannot open {}: {err}", path.display());
    }
    *RESULT_FILE.lock() = Some(ResultFile {
        path,
        file: file.ok(),
    });
}

/// Appends `record` to the result file claimed by [`claim_result_file`],
/// if any.
pub fn write_record(record: &ResultRecord<'_>) {
    let mut claimed = RESULT_FILE.lock();
    let Some(result_file) = claimed.as_mut() else {
        return;
    };
    let path = result_file.path.display().to_string();
    let line = match serde_json::to_string(record) {
        Ok(line) => line,
        Err(err) => {
            eprintln!("{RESULT_FILE_VAR}: cannot encode the record: {err}");
            return;
        }
    };
    let written = match result_file.file.as_mut() {
        // One write call, so that appends of parallel runs never interleave.
        Some(file) => file.write_all(format!("{line}\n").as_bytes()),
        None => Err(std::io::Error::other("it could not be opened")),
    };
    if let Err(err) = written {
        eprintln!("{RESULT_FILE_VAR}: cannot write {path}: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_line_has_go_widths() {
        let stats = Stats {
            seconds: 3.04,
            peers: 3,
            rpcs: 40,
            bytes: 12386,
            commands: 0,
        };
        assert_eq!(
            passed_line(&stats),
            "  ... Passed --   3.0  3   40   12386    0"
        );
        let stats = Stats {
            seconds: 12.56,
            peers: 7,
            rpcs: 1408,
            bytes: 80217,
            commands: 12,
        };
        assert_eq!(
            passed_line(&stats),
            "  ... Passed --  12.6  7 1408   80217   12"
        );
    }
}
