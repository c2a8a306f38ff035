//! Views of the lab's structured event log (`LAB_LOG`, one JSON object per
//! line, see `labrpc::event`).
//!
//! - [`event`]: parse a log file into [`Event`]s, tolerating unknown kinds
//!   and fields, skipping malformed lines with a [`Warning`].
//! - [`select`]: split a multi-test file into [`TestRun`]s, pick one, and
//!   [`Filter`] events by peer, kind, time and term.
//! - [`rpc`]: join the network's `rpc_*` events into [`Rpc`]s with a sender
//!   and a receiver peer (through `end_created`).
//! - [`contents`]: what a test holds, and why a filter keeps nothing.
//! - [`log_view`]: the terminal view, one column per peer ([`render_log`]).
//! - [`timeline`]: the self-contained HTML timeline ([`render_timeline`]).
//! - [`sample`]: synthetic but realistic runs, for tests and demos.
//!
//! A typical caller (the `labtest log` / `labtest timeline` commands):
//!
//! ```
//! let text = labview::sample::sample_log(&labview::sample::SampleConfig::three_peers());
//! let parsed = labview::parse_log(&text);
//! let html = labview::render_timeline(&parsed.events, &labview::TimelineOptions::default());
//! assert!(html.contains("<svg"));
//! let log = labview::render_log(&parsed.events, &labview::LogOptions::default());
//! assert!(!log.is_empty());
//! ```

// This crate is a developer tool that reads finished logs: the lab's
// time/thread/sync layer (clippy.toml) governs the network, the harness and
// the Raft, whose runs must replay deterministically, not these views.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod contents;
pub mod event;
pub mod log_view;
pub mod rpc;
pub mod sample;
pub mod select;
pub mod timeline;

pub use contents::{Contents, check_peers, explain_no_match};
pub use event::{Event, ParsedLog, Warning, parse_log, read_log};
pub use log_view::{LogOptions, render_log, render_run};
pub use rpc::{Rpc, RpcOutcome, Rpcs};
pub use select::{
    Filter, TestRun, TestSelection, drawn_note, select_index, select_test, split_tests,
};
pub use timeline::{TimelineOptions, render_timeline, write_timeline};
