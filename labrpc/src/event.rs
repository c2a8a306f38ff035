//! The structured event log: one JSON object per line, written by the
//! network, the harness and the Raft when `LAB_LOG` asks for it.
//!
//! `LAB_LOG=PATH` writes events to PATH; `LAB_LOG=1` writes them to
//! `lab-events-<seed>.jsonl`. A relative path is taken from the directory
//! the user ran the command in: cargo runs a test binary inside its
//! package's folder (`tests/`) but leaves the shell's `PWD` alone, so when
//! the process sits in `CARGO_MANIFEST_DIR` and `PWD` names another
//! directory, the path is resolved against `PWD` (see [`resolve`]). A run
//! replaces its file: it is truncated when the process opens it. Unset (or
//! `0`), the log is off and an [`event!`](crate::event!) costs one atomic
//! load: its fields are not even evaluated.
//!
//! Each line is `{"t":<ms since test start>,"peer":<n or null>,"kind":"...",
//! ...fields}`. The harness marks each test with [`begin_test`] (kind
//! `test_begin`, which also resets `t`); a student's Raft logs its own
//! events with the same macro and they show in every view.
//!
//! Writing an event must never block for long, never panic the caller
//! (an unwritable log turns logging off with one message on stderr), and
//! never lose the lines before a crash. In real time each line is written
//! through at once, so a process that exits on a timeout keeps its log.
//! In virtual time, where a whole test takes milliseconds and one write
//! per line cost more than the test, lines gather in memory and are
//! written when [`BUFFER_LIMIT`] fills, at the end of each test
//! ([`flush`]), on a panic the runner sees, and when the process exits
//! (also through `std::process::exit`, as the wall-clock watchdog does).
//! Only a process killed outright (SIGKILL, or a crash such as a stack
//! overflow) loses the lines since the last write; the harness ends a
//! virtual-time run itself long before the stress runner would kill it,
//! and the runner makes a failed run's log by replaying its seed anyway.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

// A plain lock, not the layer's: nothing blocks while holding it, so it is
// never a scheduling point, and the flush at exit must not reach the
// layer's thread-locals, which are gone by then.
use parking_lot::Mutex;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of lines a virtual-time run gathers before it writes them.
pub const BUFFER_LIMIT: usize = 1 << 16;

struct Log {
    file: Option<File>,
    /// Lines not written yet (virtual time only).
    pending: String,
    epoch: crate::time::Instant,
    path: String,
}

static ENABLED: AtomicBool = AtomicBool::new(false);

static LOG: OnceLock<Mutex<Log>> = OnceLock::new();

fn log() -> &'static Mutex<Log> {
    LOG.get_or_init(|| {
        let (file, path) = open_from_env();
        ENABLED.store(file.is_some(), Ordering::Release);
        if file.is_some() {
            // SAFETY: registers a plain function with no arguments, run by
            // libc's exit after main returns or on std::process::exit.
            unsafe {
                libc::atexit(flush_at_exit);
            }
        }
        Mutex::new(Log {
            file,
            pending: String::new(),
            epoch: crate::time::now(),
            path,
        })
    })
}

fn open_from_env() -> (Option<File>, String) {
    let name = match std::env::var("LAB_LOG") {
        Ok(v) if v.is_empty() || v == "0" => return (None, String::new()),
        Ok(v) if v == "1" => format!("lab-events-{}.jsonl", crate::rand::seed()),
        Ok(v) => v,
        Err(_) => return (None, String::new()),
    };
    let path = resolve(Path::new(&name), &Invocation::from_env());
    let shown = path.display().to_string();
    match File::create(&path) {
        Ok(file) => (Some(file), shown),
        Err(err) => {
            eprintln!("LAB_LOG: cannot open {shown}: {err}; event log off");
            (None, String::new())
        }
    }
}

/// Where the process runs and where its user ran it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invocation {
    /// The process's working directory.
    pub cwd: Option<PathBuf>,
    /// `PWD`: the shell's directory when it started the command.
    pub pwd: Option<PathBuf>,
    /// `CARGO_MANIFEST_DIR`: set by `cargo test` / `cargo run`, which
    /// start the binary in that folder.
    pub manifest_dir: Option<PathBuf>,
}

impl Invocation {
    /// This process's.
    pub fn from_env() -> Invocation {
        Invocation {
            cwd: std::env::current_dir().ok(),
            pwd: std::env::var_os("PWD").map(PathBuf::from),
            manifest_dir: std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        }
    }

    /// The directory the user ran the command in: `PWD` when cargo moved
    /// the process into its package folder (the process sits in
    /// `CARGO_MANIFEST_DIR`) and `PWD` is another existing directory; else
    /// the working directory. A `PWD` left stale by any other program that
    /// changed directory is not trusted.
    pub fn user_dir(&self) -> Option<&Path> {
        let cwd = self.cwd.as_deref()?;
        let moved_by_cargo = self
            .manifest_dir
            .as_deref()
            .is_some_and(|m| same_dir(m, cwd));
        match self.pwd.as_deref() {
            Some(pwd) if moved_by_cargo && pwd.is_absolute() && pwd.is_dir() => Some(pwd),
            _ => Some(cwd),
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The absolute path of the log named `name` (see the module docs).
pub fn resolve(name: &Path, at: &Invocation) -> PathBuf {
    if name.is_absolute() {
        return name.to_path_buf();
    }
    match at.user_dir() {
        Some(dir) => dir.join(name),
        None => name.to_path_buf(),
    }
}

/// True when events are being written. Call sites check this first.
pub fn enabled() -> bool {
    if ENABLED.load(Ordering::Relaxed) {
        return true;
    }
    // The first call decides from the environment.
    log();
    ENABLED.load(Ordering::Relaxed)
}

/// Where events go (an absolute path), if anywhere.
pub fn path() -> Option<String> {
    enabled().then(|| log().lock().path.clone())
}

/// A field value of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A non-negative whole number.
    Uint(u64),
    /// A number with a fraction.
    Float(f64),
    /// True or false.
    Bool(bool),
    /// Text.
    Str(String),
    /// Nothing.
    Null,
}

macro_rules! value_from {
    ($($t:ty => $variant:ident as $as:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::$variant(v as $as) }
        })*
    };
}
value_from!(i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    u8 => Uint as u64, u16 => Uint as u64, u32 => Uint as u64, u64 => Uint as u64,
    usize => Uint as u64, f32 => Float as f64, f64 => Float as f64);

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Str(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Writes one event (use the [`event!`](crate::event!) macro instead: it
/// skips building the fields when the log is off).
pub fn emit(peer: Option<usize>, kind: &str, fields: &[(&str, Value)]) {
    if !enabled() {
        return;
    }
    let mut log = log().lock();
    let line = render(log.epoch.elapsed(), peer, kind, fields);
    write_line(&mut log, &line);
}

/// Writes the lines gathered so far (virtual time gathers them; see the
/// module doc). Waits at most a moment for the log: a flush from a panic
/// or at exit must not hang on a thread that stopped while writing.
/// It reaches no thread-local, so it also serves at exit.
pub fn flush() {
    let Some(log) = LOG.get() else { return };
    if let Some(mut log) = log.try_lock_for(std::time::Duration::from_millis(100)) {
        write_pending(&mut log);
    }
}

extern "C" fn flush_at_exit() {
    flush();
}

/// Marks the start of a test: resets the clock of `t` to zero and writes a
/// `test_begin` event with the test's name and the seed.
pub fn begin_test(name: &str) {
    if !enabled() {
        return;
    }
    let mut log = log().lock();
    log.epoch = crate::time::now();
    let line = render(
        std::time::Duration::ZERO,
        None,
        "test_begin",
        &[
            ("test", Value::from(name)),
            ("seed", Value::from(crate::rand::seed())),
        ],
    );
    write_line(&mut log, &line);
}

fn write_line(log: &mut Log, line: &str) {
    log.pending.push_str(line);
    if log.pending.len() >= BUFFER_LIMIT || !crate::sched::active() {
        write_pending(log);
    }
}

fn write_pending(log: &mut Log) {
    if log.pending.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut log.pending);
    let failed = match log.file.as_mut() {
        Some(file) => file.write_all(pending.as_bytes()).is_err(),
        None => false,
    };
    if failed {
        eprintln!("LAB_LOG: cannot write to {}; event log off", log.path);
        log.file = None;
        ENABLED.store(false, Ordering::Release);
    }
}

/// One event as a JSON line; `t` is written in milliseconds with three
/// decimals (whole microseconds, rounded: integer arithmetic, since
/// formatting a float to a fixed precision was a tenth of a virtual-time
/// run's CPU).
fn render(
    t: std::time::Duration,
    peer: Option<usize>,
    kind: &str,
    fields: &[(&str, Value)],
) -> String {
    let mut s = String::with_capacity(96);
    let micros = u64::try_from((t.as_nanos() + 500) / 1000).unwrap_or(u64::MAX);
    let _ = write!(
        s,
        "{{\"t\":{}.{:03},\"peer\":",
        micros / 1000,
        micros % 1000
    );
    match peer {
        Some(p) => {
            let _ = write!(s, "{p}");
        }
        None => s.push_str("null"),
    }
    s.push_str(",\"kind\":");
    push_json_str(&mut s, kind);
    for (name, value) in fields {
        s.push(',');
        push_json_str(&mut s, name);
        s.push(':');
        push_json_value(&mut s, value);
    }
    s.push_str("}\n");
    s
}

fn push_json_value(s: &mut String, value: &Value) {
    let _ = match value {
        Value::Int(v) => write!(s, "{v}"),
        Value::Uint(v) => write!(s, "{v}"),
        Value::Float(v) if v.is_finite() => write!(s, "{v}"),
        Value::Float(_) | Value::Null => write!(s, "null"),
        Value::Bool(v) => write!(s, "{v}"),
        Value::Str(v) => {
            push_json_str(s, v);
            Ok(())
        }
    };
}

fn push_json_str(s: &mut String, text: &str) {
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

/// Logs an event when the event log is on; otherwise costs one atomic load
/// and evaluates nothing.
///
/// ```
/// let (me, term) = (2usize, 7u64);
/// labrpc::event!(Some(me), "role", role = "leader", term = term);
/// labrpc::event!(None, "note", text = "harness events have no peer");
/// ```
#[macro_export]
macro_rules! event {
    ($peer:expr, $kind:expr $(, $name:ident = $value:expr)* $(,)?) => {
        if $crate::event::enabled() {
            $crate::event::emit(
                $peer,
                $kind,
                &[$((stringify!($name), $crate::event::Value::from($value))),*],
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_json_lines() {
        let line = render(
            std::time::Duration::from_micros(1_500),
            Some(3),
            "vote",
            &[
                ("term", Value::from(7u64)),
                ("why", Value::from("a \"quoted\"\nline\u{1}")),
                ("ok", Value::from(true)),
                ("none", Value::from(Option::<u64>::None)),
                ("x", Value::from(f64::NAN)),
                ("neg", Value::from(-4i32)),
            ],
        );
        assert_eq!(
            line,
            "{\"t\":1.500,\"peer\":3,\"kind\":\"vote\",\"term\":7,\"why\":\"a \\\"quoted\\\"\\nline\\u0001\",\"ok\":true,\"none\":null,\"x\":null,\"neg\":-4}\n"
        );
        let zero = std::time::Duration::ZERO;
        assert!(render(zero, None, "k", &[]).starts_with("{\"t\":0.000,\"peer\":null,"));
        // Whole microseconds, rounded; no float on the way.
        let t = std::time::Duration::from_nanos(12_345_678_501);
        assert!(render(t, None, "k", &[]).starts_with("{\"t\":12345.679,"));
        let t = std::time::Duration::from_nanos(7_000_499);
        assert!(render(t, None, "k", &[]).starts_with("{\"t\":7.000,"));
    }

    fn dirs() -> (PathBuf, PathBuf) {
        let user = std::env::temp_dir();
        let package = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        (user, package)
    }

    /// Where `e.jsonl` goes for a process in `cwd`, with `PWD` and
    /// `CARGO_MANIFEST_DIR` as given.
    fn log_at(cwd: &Path, pwd: Option<&Path>, manifest_dir: Option<&Path>) -> PathBuf {
        let at = Invocation {
            cwd: Some(cwd.to_path_buf()),
            pwd: pwd.map(Path::to_path_buf),
            manifest_dir: manifest_dir.map(Path::to_path_buf),
        };
        resolve(Path::new("e.jsonl"), &at)
    }

    #[test]
    fn under_cargo_a_relative_log_goes_where_the_user_ran_the_command() {
        let (user, package) = dirs();
        let here = log_at(&package, Some(&user), Some(&package));
        assert_eq!(here, user.join("e.jsonl"));
        let at = Invocation::default();
        assert_eq!(
            resolve(Path::new("/abs/e.jsonl"), &at),
            PathBuf::from("/abs/e.jsonl")
        );
    }

    #[test]
    fn a_stale_or_missing_pwd_falls_back_to_the_working_directory() {
        let (user, package) = dirs();
        let in_package = package.join("e.jsonl");
        // Not moved by cargo: a stale PWD (a program changed directory
        // without updating it) is not trusted.
        assert_eq!(log_at(&package, Some(&user), None), in_package);
        // Moved by cargo, but no PWD, or one that is not a directory.
        assert_eq!(log_at(&package, None, Some(&package)), in_package);
        let gone = Path::new("/no/such/dir");
        assert_eq!(log_at(&package, Some(gone), Some(&package)), in_package);
        let relative = Path::new("rel");
        assert_eq!(log_at(&package, Some(relative), Some(&package)), in_package);
        // In another folder than the manifest's: the working directory.
        let elsewhere = log_at(&user, Some(&package), Some(&package.join("src")));
        assert_eq!(elsewhere, user.join("e.jsonl"));
    }
}
