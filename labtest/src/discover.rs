//! Finding the lab tests: build the test targets with cargo (release), and
//! ask each binary for its tests with `--list`.
//!
//! A build failure is reported as one (cargo's own error text), never as
//! failed runs. This module never runs a test.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One lab test: which binary runs it, and its name there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCase {
    /// The test target (e.g. `raft_2a`).
    pub target: String,
    /// The test binary.
    pub exe: PathBuf,
    /// The test's name (`--exact` takes it).
    pub name: String,
}

/// Where the tests come from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Source {
    /// The cargo package that holds the lab tests.
    pub package: String,
    /// Test targets to run; empty means every `raft_*` target (with
    /// `extra`, the `*_extra` ones too).
    pub targets: Vec<String>,
    pub extra: bool,
    /// A prebuilt binary to use instead of building.
    pub bin: Option<PathBuf>,
    /// The workspace to build in (the current directory if None).
    pub workspace: Option<PathBuf>,
    /// The cargo target dir for the build (cargo's default if None).
    pub target_dir: Option<PathBuf>,
}

impl Source {
    /// The same source with absolute paths (the current folder for the
    /// workspace if none was given), so that it finds the same binary from
    /// any folder.
    pub fn pinned(&self) -> Source {
        let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let cwd = std::env::current_dir().ok();
        Source {
            bin: self.bin.as_deref().map(absolute),
            workspace: self.workspace.clone().or(cwd).as_deref().map(absolute),
            target_dir: self.target_dir.as_deref().map(absolute),
            ..self.clone()
        }
    }
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    target: Option<CargoTarget>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
    kind: Vec<String>,
}

/// Builds (unless a binary was given) and lists every test.
pub fn discover(source: &Source) -> Result<Vec<TestCase>, String> {
    let binaries = match &source.bin {
        Some(bin) => vec![(target_name_of(bin), bin.clone())],
        None => build(source)?,
    };
    let mut cases = Vec::new();
    for (target, exe) in binaries {
        for name in list(&exe)? {
            cases.push(TestCase {
                target: target.clone(),
                exe: exe.clone(),
                name,
            });
        }
    }
    Ok(cases)
}

fn target_name_of(bin: &Path) -> String {
    let stem = bin.file_stem().and_then(|s| s.to_str()).unwrap_or("tests");
    // Cargo names test binaries `<target>-<hash>`.
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => stem.to_string(),
    }
}

/// How many times a build that failed from the machine is tried.
const BUILD_ATTEMPTS: usize = 3;

/// True when a failed build's output shows the machine failed, not the
/// code: rustc crashed, or the OS refused a thread, a process or memory.
fn machine_trouble(output: &str) -> bool {
    [
        "the compiler unexpectedly panicked",
        "Resource temporarily unavailable",
        "failed to spawn",
        "Cannot allocate memory",
        "signal: 9, SIGKILL",
        "could not create thread",
    ]
    .iter()
    .any(|sign| output.contains(sign))
}

/// `cargo test --release -p PACKAGE --no-run`, returning the test binaries
/// of the wanted targets; a build that failed from the machine is tried
/// again (see [`machine_trouble`]).
fn build(source: &Source) -> Result<Vec<(String, PathBuf)>, String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args([
        "test",
        "--release",
        "--no-run",
        "--message-format=json",
        "-p",
        &source.package,
    ]);
    for t in &source.targets {
        cmd.args(["--test", t]);
    }
    if let Some(dir) = &source.workspace {
        cmd.current_dir(dir);
    }
    if let Some(dir) = &source.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    eprintln!(
        "building the tests: cargo test --release --no-run -p {}",
        source.package
    );
    let mut out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    // A compiler that crashed, or could not start a thread or get memory,
    // says nothing about the code: build again before calling it broken.
    for attempt in 2..=BUILD_ATTEMPTS {
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() || !machine_trouble(&said) {
            break;
        }
        eprintln!(
            "the build failed from the machine, not the code (a compiler crash or no resources): building again ({attempt} of {BUILD_ATTEMPTS})"
        );
        std::thread::sleep(std::time::Duration::from_secs(5));
        out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    }
    if !out.status.success() {
        let rendered = compiler_errors(&String::from_utf8_lossy(&out.stdout));
        if !rendered.is_empty() {
            return Err(format!("the build failed:\n{rendered}"));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| {
                !l.trim_start().starts_with("Compiling")
                    && !l.trim_start().starts_with("Downloaded")
            })
            .collect();
        return Err(format!("the build failed:\n{}", errors.join("\n")));
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        let (Some(target), Some(exe)) = (msg.target, msg.executable) else {
            continue;
        };
        if msg.reason != "compiler-artifact" || !target.kind.iter().any(|k| k == "test") {
            continue;
        }
        if wanted(&target.name, source) {
            found.push((target.name, exe));
        }
    }
    if found.is_empty() {
        return Err(format!(
            "no lab test target found in package {}",
            source.package
        ));
    }
    found.sort();
    Ok(found)
}

fn wanted(target: &str, source: &Source) -> bool {
    if !source.targets.is_empty() {
        return source.targets.iter().any(|t| t == target);
    }
    target.starts_with("raft_") && (source.extra || !is_extra_target(target))
}

/// The compiler's own rendering of the errors in cargo's JSON messages
/// (the first five).
fn compiler_errors(stdout: &str) -> String {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-message" && m["message"]["level"] == "error")
        .filter_map(|m| m["message"]["rendered"].as_str().map(str::to_string))
        .take(5)
        .collect::<Vec<_>>()
        .join("")
}

/// The tests a binary lists with `--list` (lines `name: test`).
pub fn list(exe: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(exe)
        .arg("--list")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --list failed: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

/// True for a test of an extra (non-Go) target: `raft_2a_extra`.
pub fn is_extra(case: &TestCase) -> bool {
    is_extra_target(&case.target)
}

fn is_extra_target(target: &str) -> bool {
    target.ends_with("_extra")
}

/// Why no test was chosen.
#[derive(Debug, PartialEq)]
pub enum NoMatch {
    /// The filters match only extra tests (these), and extra tests were
    /// not asked for.
    OnlyExtra(Vec<TestCase>),
    /// The filters match no test at all.
    Nothing,
}

/// The tests to run: those `filters` match (see [`select`]), without the
/// extra ones unless `extra`.
pub fn choose(
    cases: &[TestCase],
    filters: &[String],
    extra: bool,
) -> Result<Vec<TestCase>, NoMatch> {
    let (extras, chosen): (Vec<TestCase>, Vec<TestCase>) = select(cases, filters)
        .into_iter()
        .partition(|c| is_extra(c) && !extra);
    match (chosen.is_empty(), extras.is_empty()) {
        (false, _) => Ok(chosen),
        (true, false) => Err(NoMatch::OnlyExtra(extras)),
        (true, true) => Err(NoMatch::Nothing),
    }
}

/// The tests whose names contain any of `filters` (case-insensitive); all
/// of them if there is no filter.
pub fn select(cases: &[TestCase], filters: &[String]) -> Vec<TestCase> {
    let filters: Vec<String> = filters.iter().map(|f| f.to_lowercase()).collect();
    cases
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.to_lowercase().contains(f)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_compiler_crash_is_the_machine_and_a_type_error_is_the_code() {
        assert!(machine_trouble(
            "error: the compiler unexpectedly panicked. This is a bug"
        ));
        assert!(machine_trouble(
            "thread 'rustc' failed to spawn: Resource temporarily unavailable"
        ));
        assert!(!machine_trouble(
            "error[E0308]: mismatched types\n --> src/lib.rs:3:5"
        ));
    }

    use super::*;

    #[test]
    fn target_names_drop_cargo_hashes() {
        assert_eq!(
            target_name_of(Path::new("/t/raft_2a-81755a5816f1f36d")),
            "raft_2a"
        );
        assert_eq!(target_name_of(Path::new("/t/fake_lab")), "fake_lab");
        assert_eq!(target_name_of(Path::new("/t/re-election")), "re-election");
    }

    #[test]
    fn default_targets_skip_extras() {
        let source = Source {
            package: "tests".into(),
            targets: vec![],
            extra: false,
            bin: None,
            workspace: None,
            target_dir: None,
        };
        assert!(wanted("raft_2a", &source));
        assert!(!wanted("raft_2a_extra", &source));
        assert!(!wanted("harness", &source));
        assert!(wanted(
            "raft_2a_extra",
            &Source {
                extra: true,
                ..source
            }
        ));
    }

    #[test]
    fn filters_are_case_insensitive_substrings() {
        let case = |n: &str| TestCase {
            target: "t".into(),
            exe: PathBuf::from("x"),
            name: n.into(),
        };
        let cases = vec![case("initial_election_2a"), case("basic_agree_2b")];
        assert_eq!(select(&cases, &["2A".into()]).len(), 1);
        assert_eq!(select(&cases, &[]).len(), 2);
        assert!(select(&cases, &["nope".into()]).is_empty());
    }

    #[test]
    fn extra_tests_run_only_when_asked_for() {
        let case = |target: &str, n: &str| TestCase {
            target: target.into(),
            exe: PathBuf::from("x"),
            name: n.into(),
        };
        let go = case("raft_2a", "initial_election_2a");
        let extra = case("raft_2a_extra", "heartbeat_rate_2a_extra");
        let cases = vec![go.clone(), extra.clone()];
        assert_eq!(choose(&cases, &[], false), Ok(vec![go.clone()]));
        assert_eq!(choose(&cases, &[], true), Ok(cases.clone()));
        assert_eq!(
            choose(&cases, &["rate".into()], false),
            Err(NoMatch::OnlyExtra(vec![extra.clone()]))
        );
        assert_eq!(choose(&cases, &["rate".into()], true), Ok(vec![extra]));
        assert_eq!(
            choose(&cases, &["nope".into()], true),
            Err(NoMatch::Nothing)
        );
    }
}
