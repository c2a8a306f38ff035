//! What a test's events hold (peers, kinds, terms, time range), and why a
//! [`Filter`] that keeps nothing keeps nothing.
//!
//! For: the message a view prints instead of an empty screen: which of the
//! filters matches nothing on its own (or that only their combination
//! does), and what the log holds to choose from.
//!
//! Must never: guess what the user meant or loosen a filter by itself.

use crate::event::Event;
use crate::rpc::Rpcs;
use crate::select::{Filter, current_terms, peer_count};
use std::collections::BTreeSet;
use std::fmt;

/// The peers, kinds, terms and time range of some events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contents {
    /// How many events.
    pub events: usize,
    /// How many peer lanes (0 to `peers - 1`).
    pub peers: usize,
    /// Every kind, sorted.
    pub kinds: BTreeSet<String>,
    /// Every term an event carries or happens in, sorted.
    pub terms: BTreeSet<u64>,
    /// The first and the last event's time (ms).
    pub time_ms: Option<(f64, f64)>,
}

impl Contents {
    /// What `events` hold.
    pub fn of(events: &[Event]) -> Contents {
        let rpcs = Rpcs::build(events);
        let terms = current_terms(events, &rpcs)
            .into_iter()
            .chain(events.iter().filter_map(|e| e.u64("term")))
            .collect();
        let time_ms = events.iter().map(|e| e.t).fold(None, |acc, t| match acc {
            None => Some((t, t)),
            Some((lo, hi)) => Some((f64::min(lo, t), f64::max(hi, t))),
        });
        Contents {
            events: events.len(),
            peers: peer_count(events, &rpcs),
            kinds: events.iter().map(|e| e.kind.clone()).collect(),
            terms,
            time_ms,
        }
    }
}

impl fmt::Display for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} events", self.events)?;
        match self.peers {
            0 => write!(f, "; no peers")?,
            n => write!(f, "; peers 0-{}", n - 1)?,
        }
        let kinds: Vec<&str> = self.kinds.iter().map(String::as_str).collect();
        write!(f, "; kinds {}", kinds.join(","))?;
        if let (Some(lo), Some(hi)) = (self.terms.first(), self.terms.last()) {
            write!(f, "; terms {lo}-{hi}")?;
        }
        if let Some((lo, hi)) = self.time_ms {
            write!(f, "; time {lo:.1}-{hi:.1} ms")?;
        }
        Ok(())
    }
}

/// The filters of `filter` that are set, each as a filter of its own with
/// its command-line spelling.
fn parts(filter: &Filter) -> Vec<(String, Filter)> {
    let mut out = Vec::new();
    let alone = Filter::default;
    if !filter.peers.is_empty() {
        let list: Vec<String> = filter.peers.iter().map(usize::to_string).collect();
        out.push((
            format!("--peer {}", list.join(",")),
            Filter {
                peers: filter.peers.clone(),
                ..alone()
            },
        ));
    }
    if !filter.kinds.is_empty() {
        out.push((
            format!("--kind {}", filter.kinds.join(",")),
            Filter {
                kinds: filter.kinds.clone(),
                ..alone()
            },
        ));
    }
    if filter.from_ms.is_some() || filter.to_ms.is_some() {
        let mut name = String::new();
        if let Some(from) = filter.from_ms {
            name.push_str(&format!("--from {from}"));
        }
        if let Some(to) = filter.to_ms {
            if !name.is_empty() {
                name.push(' ');
            }
            name.push_str(&format!("--to {to}"));
        }
        out.push((
            name,
            Filter {
                from_ms: filter.from_ms,
                to_ms: filter.to_ms,
                ..alone()
            },
        ));
    }
    if let Some(term) = filter.term {
        out.push((
            format!("--term {term}"),
            Filter {
                term: Some(term),
                ..alone()
            },
        ));
    }
    out
}

/// Why `filter` keeps none of `events` (call it when it keeps none): the
/// filters that match nothing on their own, else that only together they
/// match nothing; then what the events hold.
pub fn explain_no_match(filter: &Filter, events: &[Event]) -> String {
    let rpcs = Rpcs::build(events);
    let set = parts(filter);
    let empty: Vec<&str> = set
        .iter()
        .filter(|(_, f)| f.keep(events, &rpcs).is_empty())
        .map(|(name, _)| name.as_str())
        .collect();
    let which = match (empty.as_slice(), set.len()) {
        (_, 0) => "the test has no events".to_string(),
        ([one], _) => format!("no event matches {one}"),
        ([], _) => {
            let all: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "each filter matches some events, but none matches all of {}",
                all.join(" ")
            )
        }
        (many, _) => format!("no event matches {}", many.join(", nor ")),
    };
    format!("{which}; the test holds {}", Contents::of(events))
}

/// Fails, saying what the test holds, when `filter` names a peer the test
/// does not have (harness events would otherwise still show, hiding the
/// mistake).
pub fn check_peers(filter: &Filter, events: &[Event]) -> Result<(), String> {
    let contents = Contents::of(events);
    let unknown: Vec<String> = filter
        .peers
        .iter()
        .filter(|&&p| p >= contents.peers)
        .map(usize::to_string)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "no event matches --peer {}: the test has no peer {}; it holds {contents}",
        filter
            .peers
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
        unknown.join(" or ")
    ))
}
