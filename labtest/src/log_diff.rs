//! Comparing a replay's event log with the recorded run's: the first event
//! where they part, or proof that they are the same.
//!
//! In virtual time a replay must give the same log byte for byte,
//! timestamps included. In real time the timestamps follow the OS clock,
//! so they are left out of the comparison (the order and content of the
//! events still count). This module only compares texts; it never reads
//! or writes a file.

/// What is compared of each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Every byte of every line.
    Exact,
    /// Every field but the timestamp `t`.
    IgnoringTime,
}

/// The outcome of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// The same events, this many of them.
    Identical { events: usize },
    /// The logs part at event `at` (from 1); a side that has ended there
    /// is None, and `lengths` gives (recorded, replay) events.
    Differs {
        at: usize,
        recorded: Option<String>,
        replay: Option<String>,
        lengths: (usize, usize),
    },
}

impl Comparison {
    /// The verdict in words, as `labtest replay` prints it.
    pub fn describe(&self) -> String {
        match self {
            Comparison::Identical { events } => {
                format!("replay matched the recorded run: {events} events, identical")
            }
            Comparison::Differs {
                at,
                recorded,
                replay,
                lengths,
            } => {
                let side = |line: &Option<String>, count: usize| match line {
                    Some(line) => line.clone(),
                    None => format!("(the log ends here, after {count} events)"),
                };
                format!(
                    "replay differs from the recorded run at event {at}:\n  recorded: {}\n  replay:   {}",
                    side(recorded, lengths.0),
                    side(replay, lengths.1)
                )
            }
        }
    }
}

/// The events of a log: its non-empty lines.
fn events(log: &str) -> Vec<&str> {
    log.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// Whether two events are the same under `strictness`.
fn same(a: &str, b: &str, strictness: Strictness) -> bool {
    match strictness {
        Strictness::Exact => a == b,
        Strictness::IgnoringTime => match (without_time(a), without_time(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
    }
}

/// An event without its timestamp; None if the line is not a JSON object.
fn without_time(line: &str) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.as_object_mut()?.remove("t");
    Some(value)
}

/// Compares the recorded log with the replay's.
pub fn compare(recorded: &str, replay: &str, strictness: Strictness) -> Comparison {
    let (a, b) = (events(recorded), events(replay));
    let parted = (0..a.len().max(b.len())).find(|&i| match (a.get(i), b.get(i)) {
        (Some(x), Some(y)) => !same(x, y, strictness),
        _ => true,
    });
    match parted {
        None => Comparison::Identical { events: a.len() },
        Some(i) => Comparison::Differs {
            at: i + 1,
            recorded: a.get(i).map(|s| s.to_string()),
            replay: b.get(i).map(|s| s.to_string()),
            lengths: (a.len(), b.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "{\"t\":0.000,\"peer\":null,\"kind\":\"test_begin\"}\n{\"t\":1.500,\"peer\":0,\"kind\":\"role\",\"term\":1}\n";

    #[test]
    fn the_same_log_matches_and_says_how_many_events() {
        let c = compare(A, A, Strictness::Exact);
        assert_eq!(c, Comparison::Identical { events: 2 });
        assert_eq!(
            c.describe(),
            "replay matched the recorded run: 2 events, identical"
        );
    }

    #[test]
    fn the_first_different_event_is_named_with_both_lines() {
        let b = A.replace("\"term\":1", "\"term\":2");
        let c = compare(A, &b, Strictness::Exact);
        assert!(matches!(c, Comparison::Differs { at: 2, .. }), "{c:?}");
        let text = c.describe();
        assert!(text.starts_with("replay differs from the recorded run at event 2:"));
        assert!(text.contains("recorded: {\"t\":1.500,\"peer\":0,\"kind\":\"role\",\"term\":1}"));
        assert!(text.contains("replay:   {\"t\":1.500,\"peer\":0,\"kind\":\"role\",\"term\":2}"));
    }

    #[test]
    fn a_log_that_stops_early_differs_where_it_stops() {
        let first = A.lines().next().unwrap();
        let c = compare(A, first, Strictness::Exact);
        assert!(matches!(
            c,
            Comparison::Differs {
                at: 2,
                replay: None,
                ..
            }
        ));
        assert!(c.describe().contains("(the log ends here, after 1 events)"));
        assert!(matches!(
            compare("", A, Strictness::Exact),
            Comparison::Differs {
                at: 1,
                recorded: None,
                ..
            }
        ));
    }

    #[test]
    fn real_time_leaves_out_only_the_timestamps() {
        let later = A.replace("1.500", "1.731");
        assert!(matches!(
            compare(A, &later, Strictness::Exact),
            Comparison::Differs { at: 2, .. }
        ));
        assert_eq!(
            compare(A, &later, Strictness::IgnoringTime),
            Comparison::Identical { events: 2 }
        );
        let other = later.replace("\"peer\":0", "\"peer\":1");
        assert!(matches!(
            compare(A, &other, Strictness::IgnoringTime),
            Comparison::Differs { at: 2, .. }
        ));
    }
}
