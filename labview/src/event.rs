//! Parsing the event log: one JSON object per line,
//! `{"t":<ms>,"peer":<n|null>,"kind":"...", ...fields}`.
//!
//! For: turning a file's text into [`Event`]s in file order, keeping every
//! field (unknown kinds and fields included), and reporting each malformed
//! line by number as a [`Warning`].
//!
//! Must never: abort on a bad line, drop fields it does not know, reorder
//! events, or interpret what a kind means (that is the views' job).

use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;

/// One event of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The 1-based line of the file it came from (0 when built in memory).
    pub line: usize,
    /// Milliseconds since the start of its test.
    pub t: f64,
    /// The peer it concerns; `None` for the network and the harness.
    pub peer: Option<usize>,
    /// What happened: `role`, `rpc_send`, `check`, or any custom kind.
    pub kind: String,
    /// Every other field of the line (sorted by name).
    pub fields: Map<String, Value>,
}

impl Event {
    /// The field `name`, if present.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The field `name` as text (strings only).
    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// The field `name` as a non-negative whole number.
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.fields.get(name).and_then(Value::as_u64)
    }

    /// The field `name` as a number.
    pub fn f64(&self, name: &str) -> Option<f64> {
        self.fields.get(name).and_then(Value::as_f64)
    }

    /// The field `name` as a boolean.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.fields.get(name).and_then(Value::as_bool)
    }

    /// The whole event as one JSON object (`t`, `peer`, `kind`, fields).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("t".into(), json_number(self.t));
        map.insert("peer".into(), self.peer.map_or(Value::Null, Value::from));
        map.insert("kind".into(), Value::from(self.kind.as_str()));
        for (k, v) in &self.fields {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}

/// A number as JSON, rounded to microseconds; NaN and infinities as null.
pub(crate) fn json_number(x: f64) -> Value {
    let r = (x * 1000.0).round() / 1000.0;
    serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
}

/// A line that could not be read as an event, skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub message: String,
    /// True for a last line without its newline: the writer was killed
    /// mid-line (every complete line ends in one), so it is expected, not
    /// a sign of a damaged file.
    pub unfinished: bool,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)?;
        if self.unfinished {
            write!(
                f,
                " (an unfinished last line: the run was killed while writing it)"
            )?;
        }
        Ok(())
    }
}

/// The events of a log file and the lines that were skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedLog {
    /// The readable events, in file order.
    pub events: Vec<Event>,
    /// One per skipped line.
    pub warnings: Vec<Warning>,
}

impl ParsedLog {
    /// The first skipped line that is not an unfinished last line: a log
    /// that holds one is damaged (or not an event log at all).
    pub fn first_damaged_line(&self) -> Option<&Warning> {
        self.warnings.iter().find(|w| !w.unfinished)
    }
}

/// Parses a whole log. Blank lines are ignored; a line that is not a JSON
/// object with a numeric `t`, a `peer` that is null or a non-negative whole
/// number, and a string `kind` is skipped with a [`Warning`]. A truncated
/// last line (a process killed while writing) is just such a line.
pub fn parse_log(text: &str) -> ParsedLog {
    let mut out = ParsedLog::default();
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    let last = text.lines().count();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        match parse_line(trimmed) {
            Ok(mut event) => {
                event.line = line;
                out.events.push(event);
            }
            Err(message) => out.warnings.push(Warning {
                line,
                message,
                unfinished: unterminated && line == last,
            }),
        }
    }
    out
}

/// Reads and parses the log at `path`; invalid UTF-8 is replaced, not fatal.
pub fn read_log(path: &Path) -> std::io::Result<ParsedLog> {
    let bytes = std::fs::read(path)?;
    Ok(parse_log(&String::from_utf8_lossy(&bytes)))
}

/// Parses one line (without its number).
pub fn parse_line(line: &str) -> Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("not a JSON object".into());
    };
    let t = match map.remove("t") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(other) => return Err(format!("\"t\" is not a number: {other}")),
        None => return Err("no \"t\"".into()),
    };
    if !t.is_finite() {
        return Err("\"t\" is not a finite number".into());
    }
    let peer = match map.remove("peer") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(p) if p <= u32::MAX as u64 => Some(p as usize),
            _ => return Err(format!("\"peer\" is not a peer index: {n}")),
        },
        Some(other) => return Err(format!("\"peer\" is not a peer index: {other}")),
    };
    let kind = match map.remove("kind") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(other) => return Err(format!("\"kind\" is not a name: {other}")),
        None => return Err("no \"kind\"".into()),
    };
    Ok(Event {
        line: 0,
        t,
        peer,
        kind,
        fields: map,
    })
}

/// Shows a field value briefly: strings bare when they need no quotes,
/// everything else as compact JSON.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::String(s)
            if !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control()) =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

/// The fields as `k=v k=v`, skipping the names in `skip`.
pub fn show_fields(event: &Event, skip: &[&str]) -> String {
    let mut s = String::new();
    for (k, v) in &event.fields {
        if skip.contains(&k.as_str()) {
            continue;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&show_value(v));
    }
    s
}
