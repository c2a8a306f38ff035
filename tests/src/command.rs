//! The commands the tests submit, and the values peers apply: Go's
//! `interface{}` commands, which the tests fill with `int`s (and, in
//! TestRPCBytes2B, `string`s).
//!
//! The student API carries commands as bytes, so the harness encodes a
//! [`Command`] with labcodec and compares what peers apply as bytes
//! ([`Value`]). The encoding is canonical and tags the variant, so two
//! values are equal exactly when Go's interface comparison says so: the
//! int 100 never equals the string "100". This module never looks inside
//! a Raft; it only names and shows what the tests submit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A command as a test submits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Go's `int` (64-bit).
    Int(i64),
    /// Go's `string`.
    Str(String),
}

impl Command {
    /// The bytes handed to `start`.
    pub fn encode(&self) -> Vec<u8> {
        labcodec::encode(self)
    }
}

impl fmt::Display for Command {
    /// Go's `%v`: an int in decimal, a string as it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Int(v) => write!(f, "{v}"),
            Command::Str(s) => f.write_str(s),
        }
    }
}

/// What a peer applied at some index: the command's bytes as its Raft
/// delivered them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value(pub Vec<u8>);

impl Value {
    /// The value of `command`.
    pub fn of(command: &Command) -> Value {
        Value(command.encode())
    }

    /// The command, if the bytes are one the tests submitted.
    pub fn command(&self) -> Option<Command> {
        labcodec::decode(&self.0).ok()
    }

    /// The int, if the value is one (Go's `v.(int)`).
    pub fn as_int(&self) -> Option<i64> {
        match self.command() {
            Some(Command::Int(v)) => Some(v),
            _ => None,
        }
    }

    /// True if the value is the int `x` (Go's `v == x` with an int `x`).
    pub fn is_int(&self, x: i64) -> bool {
        self.as_int() == Some(x)
    }
}

impl fmt::Display for Value {
    /// Go's `%v` of the command; bytes no test submitted are shown as
    /// bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command() {
            Some(command) => command.fmt(f),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// Go's `rand.Int()`: a non-negative 63-bit draw.
pub fn rand_int() -> i64 {
    (labrpc::rand::next_u64() >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_int_never_equals_the_string_of_its_digits() {
        let int = Value::of(&Command::Int(100));
        let string = Value::of(&Command::Str("100".into()));
        assert_ne!(int, string);
        assert_eq!(int, Value::of(&Command::Int(100)));
        assert!(int.is_int(100) && !string.is_int(100));
        assert_eq!(string.as_int(), None);
        assert_eq!(
            (int.to_string(), string.to_string()),
            ("100".into(), "100".into())
        );
    }

    #[test]
    fn bytes_no_test_submitted_are_not_an_int_and_show_as_bytes() {
        let junk = Value(vec![9, 9, 9]);
        assert_eq!(junk.as_int(), None);
        assert_eq!(junk.to_string(), "[9, 9, 9]");
        assert_eq!(Value::of(&Command::Int(-1)).as_int(), Some(-1));
    }

    #[test]
    fn a_5000_char_string_costs_about_5000_bytes() {
        let len = Command::Str("x".repeat(5000)).encode().len();
        assert!((5000..5010).contains(&len), "{len}");
    }
}
