//! Choosing what to show: one test of a multi-test file, then the events
//! that pass a [`Filter`] (peers, kinds, time range, term).
//!
//! For: [`split_tests`] on `test_begin`, [`select_test`] by name (default:
//! the last failed test, else the last one), and [`Filter::keep`].
//!
//! Must never: change or reorder events, or guess a test's outcome from
//! anything but its `verdict` event.

use crate::event::Event;
use crate::rpc::Rpcs;
use std::collections::HashMap;

/// The events of one test, from its `test_begin` to the next one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestRun {
    /// The test's name (`None` for events before any `test_begin`).
    pub name: Option<String>,
    /// The seed of its `test_begin`.
    pub seed: Option<u64>,
    /// `Some(passed)` from its `verdict` event, `None` without one.
    pub passed: Option<bool>,
    /// The verdict's failure message.
    pub failure: Option<String>,
    /// Its events, `test_begin` included, in file order.
    pub events: Vec<Event>,
}

impl TestRun {
    /// True when its verdict says it failed.
    pub fn failed(&self) -> bool {
        self.passed == Some(false)
    }

    /// A short label: `name (seed N)`.
    pub fn label(&self) -> String {
        let name = self.name.as_deref().unwrap_or("(no test_begin)");
        match self.seed {
            Some(seed) => format!("{name} (seed {seed})"),
            None => name.to_string(),
        }
    }
}

/// Splits a file's events into tests at each `test_begin`. Events before
/// the first `test_begin` form a nameless run (kept only if non-empty).
pub fn split_tests(events: &[Event]) -> Vec<TestRun> {
    let mut runs: Vec<TestRun> = Vec::new();
    let mut current = TestRun::default();
    for event in events {
        if event.kind == "test_begin" {
            if current.name.is_some() || !current.events.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
            current.name = Some(event.str("test").unwrap_or("?").to_string());
            current.seed = event.u64("seed");
        }
        if event.kind == "verdict" {
            current.passed = event.bool("passed");
            current.failure = event.str("failure").map(str::to_string);
        }
        current.events.push(event.clone());
    }
    if current.name.is_some() || !current.events.is_empty() {
        runs.push(current);
    }
    runs
}

/// Which test of a file to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TestSelection {
    /// The last failed test, else the last test.
    #[default]
    LastFailedOrLast,
    /// The last test whose name is this, or else the last whose name
    /// contains it.
    Named(String),
    /// The n-th test of the file (0-based).
    Index(usize),
}

/// Picks one test. Errors list the tests the file holds.
pub fn select_test(runs: &[TestRun], which: &TestSelection) -> Result<TestRun, String> {
    select_index(runs, which).map(|i| runs[i].clone())
}

/// Picks one test: its index in `runs`. Errors list the tests the file
/// holds.
pub fn select_index(runs: &[TestRun], which: &TestSelection) -> Result<usize, String> {
    let names = || {
        runs.iter()
            .map(TestRun::label)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if runs.is_empty() {
        return Err("the log holds no events".into());
    }
    let last = |pred: &dyn Fn(&TestRun) -> bool| runs.iter().rposition(pred);
    let found = match which {
        TestSelection::LastFailedOrLast => last(&TestRun::failed).or(Some(runs.len() - 1)),
        TestSelection::Named(name) => last(&|r| r.name.as_deref() == Some(name.as_str()))
            .or_else(|| last(&|r| r.name.as_deref().is_some_and(|n| n.contains(name.as_str())))),
        TestSelection::Index(i) => (*i < runs.len()).then_some(*i),
    };
    found.ok_or_else(|| {
        let asked = match which {
            TestSelection::Named(name) => format!("--test {name}"),
            TestSelection::Index(i) => format!("test number {}", i + 1),
            TestSelection::LastFailedOrLast => "the default".into(),
        };
        format!("no test matches {asked}; the log holds: {}", names())
    })
}

/// One line saying which test of a file a view shows and, when the file
/// holds others, their names and how to pick one.
pub fn drawn_note(runs: &[TestRun], shown: usize) -> String {
    let run = &runs[shown];
    let outcome = match run.passed {
        Some(true) => "passed",
        Some(false) => "FAILED",
        None => "no verdict",
    };
    let mut note = format!(
        "test {} of {}: {} ({outcome})",
        shown + 1,
        runs.len(),
        run.label()
    );
    if runs.len() > 1 {
        let others: Vec<&str> = runs
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != shown)
            .map(|(_, r)| r.name.as_deref().unwrap_or("(no test_begin)"))
            .collect();
        note.push_str(&format!(
            "; the log also holds {}: pick one with --test NAME",
            others.join(", ")
        ));
    }
    note
}

/// Which events to show. Empty lists and `None`s keep everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Keep events shown in these peers' columns (an RPC counts for its
    /// sender and its receiver), plus the harness's own events.
    pub peers: Vec<usize>,
    /// Keep these kinds; `rpc_*` (a trailing `*`) keeps every kind with
    /// that prefix, and `rpc` alone means every `rpc_*` kind.
    pub kinds: Vec<String>,
    /// Keep events at or after this time (ms).
    pub from_ms: Option<f64>,
    /// Keep events at or before this time (ms).
    pub to_ms: Option<f64>,
    /// Keep events of this term: those with a `term` field equal to it, and
    /// those without one that happen while their peer (for the network and
    /// the harness: the highest-term peer) is in it.
    pub term: Option<u64>,
}

impl Filter {
    /// True when nothing is filtered out.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
            && self.kinds.is_empty()
            && self.from_ms.is_none()
            && self.to_ms.is_none()
            && self.term.is_none()
    }

    /// True when `kind` passes the kind filter.
    pub fn keeps_kind(&self, kind: &str) -> bool {
        self.kinds.is_empty()
            || self.kinds.iter().any(|k| {
                if let Some(prefix) = k.strip_suffix('*') {
                    kind.starts_with(prefix)
                } else if k == "rpc" {
                    kind.starts_with("rpc_")
                } else {
                    k == kind
                }
            })
    }

    /// The indices of the events of `events` that pass, in order.
    /// `rpcs` must have been built from the same slice.
    pub fn keep(&self, events: &[Event], rpcs: &Rpcs) -> Vec<usize> {
        let terms = if self.term.is_some() {
            current_terms(events, rpcs)
        } else {
            Vec::new()
        };
        (0..events.len())
            .filter(|&i| {
                let e = &events[i];
                if !self.keeps_kind(&e.kind) {
                    return false;
                }
                if self.from_ms.is_some_and(|from| e.t < from)
                    || self.to_ms.is_some_and(|to| e.t > to)
                {
                    return false;
                }
                if !self.peers.is_empty() {
                    let (a, b) = rpcs.peers_of(i, e);
                    let shown = a.is_none() && b.is_none() && e.peer.is_none();
                    let ours = [a, b, e.peer]
                        .iter()
                        .flatten()
                        .any(|p| self.peers.contains(p));
                    if !shown && !ours {
                        return false;
                    }
                }
                if let Some(term) = self.term {
                    let t = e.u64("term").unwrap_or(terms[i]);
                    if t != term {
                        return false;
                    }
                }
                true
            })
            .collect()
    }
}

/// For each event, the term its peer is in when it happens: from `role`
/// and `term` events and any `term` field of the peer's own events; for
/// events of no peer, the RPC's sender, else the highest term so far.
pub fn current_terms(events: &[Event], rpcs: &Rpcs) -> Vec<u64> {
    let mut by_peer: HashMap<usize, u64> = HashMap::new();
    let mut highest = 0;
    let mut out = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if e.kind == "test_begin" {
            by_peer.clear();
            highest = 0;
        }
        if let (Some(p), Some(term), true) = (
            e.peer,
            e.u64("term"),
            matches!(e.kind.as_str(), "role" | "term"),
        ) {
            by_peer.insert(p, term);
            highest = highest.max(term);
        }
        let peer = e.peer.or_else(|| rpcs.peers_of(i, e).0);
        out.push(match peer {
            Some(p) => by_peer.get(&p).copied().unwrap_or(0),
            None => highest,
        });
    }
    out
}

/// How many peer lanes the events need: one more than the highest peer
/// index named by an event, an end or an RPC (0 when none is).
pub fn peer_count(events: &[Event], rpcs: &Rpcs) -> usize {
    let from_events = events.iter().flat_map(|e| {
        let ends = if e.kind == "end_created" {
            [e.u64("from"), e.u64("to")]
        } else {
            [None, None]
        };
        std::iter::once(e.peer).chain(ends.map(|p| p.map(|p| p as usize)))
    });
    let from_rpcs = rpcs.list.iter().flat_map(|r| [r.from, r.to]);
    from_events
        .chain(from_rpcs)
        .flatten()
        .max()
        .map_or(0, |p| p + 1)
}
