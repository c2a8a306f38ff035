//! The terminal view of one test: time in the first column, then one
//! column per peer, each event written in its peer's column; the harness's
//! events (checks, steps, connect/disconnect/crash/restart, the verdict)
//! span all columns. RPCs show in the sender's column as `→2 AppendEntries`
//! (failed ones marked `✗` with the reason where they fail). Replies are
//! hidden unless asked for (the send line already says how it ended).
//!
//! A plain mode for pipes writes one tab-separated line per event:
//! `t<TAB>peer<TAB>kind<TAB>k=v k=v` (peer `-` for none), with no ANSI.
//!
//! Must never: read the terminal or the environment itself (the caller
//! passes the width and whether to color), print ANSI codes when
//! `no_color` or `plain` is set, or hide an unknown kind.

use crate::event::{Event, show_fields, show_value};
use crate::rpc::{Rpc, RpcOutcome, Rpcs};
use crate::select::{Filter, TestRun, TestSelection, peer_count, select_test, split_tests};
use std::fmt::Write as _;

/// What [`render_log`] shows and how.
#[derive(Clone, Debug, PartialEq)]
pub struct LogOptions {
    /// Which test of the file.
    pub test: TestSelection,
    /// Which events.
    pub filter: Filter,
    /// The terminal's width in columns (default 120).
    pub width: usize,
    /// No ANSI colors.
    pub no_color: bool,
    /// Tab-separated lines for pipes (implies no colors, no header).
    pub plain: bool,
    /// Also show `rpc_reply` lines and `end_created` lines.
    pub verbose: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            test: TestSelection::default(),
            filter: Filter::default(),
            width: 120,
            no_color: false,
            plain: false,
            verbose: false,
        }
    }
}

const TIME_WIDTH: usize = 10;
const MIN_COLUMN: usize = 6;

/// Renders the selected test of `events` as text (see the module docs).
/// A selection that matches no test yields a one-line explanation.
pub fn render_log(events: &[Event], opts: &LogOptions) -> String {
    let runs = split_tests(events);
    match select_test(&runs, &opts.test) {
        Ok(run) => render_run(&run, opts),
        Err(message) => format!("{message}\n"),
    }
}

/// Renders one test (already selected; `opts.test` is not used). Empty in
/// plain mode when the filter keeps nothing (see
/// [`explain_no_match`](crate::contents::explain_no_match)).
pub fn render_run(run: &TestRun, opts: &LogOptions) -> String {
    let events = &run.events;
    let rpcs = Rpcs::build(events);
    let keep = opts.filter.keep(events, &rpcs);
    let mut out = String::new();
    if opts.plain {
        for i in keep {
            plain_line(&mut out, i, &events[i], &rpcs);
        }
        return out;
    }
    let color = !opts.no_color;
    let peers = peer_count(events, &rpcs).max(1);
    let column = ((opts.width.saturating_sub(TIME_WIDTH)) / peers).max(MIN_COLUMN);
    let view = View {
        color,
        column,
        peers,
        width: opts.width.max(TIME_WIDTH + column),
    };

    // Header: the test, its outcome, the column names.
    let outcome = match (run.passed, &run.failure) {
        (Some(true), _) => "passed".to_string(),
        (Some(false), Some(f)) => format!("FAILED: {f}"),
        (Some(false), None) => "FAILED".to_string(),
        (None, _) => "no verdict".to_string(),
    };
    let title = format!("{} — {outcome}", run.label());
    let style = match run.passed {
        Some(false) => "1;31",
        Some(true) => "1;32",
        None => "1",
    };
    out.push_str(&view.paint(style, &fit(&title, view.width)));
    out.push('\n');
    let mut header = format!("{:>w$}", "t (ms)", w = TIME_WIDTH - 1);
    header.push(' ');
    for p in 0..peers {
        header.push('│');
        header.push_str(&pad(&fit(&format!("peer {p}"), column - 1), column - 1));
    }
    out.push_str(&view.paint("1", header.trim_end()));
    out.push('\n');

    for i in keep {
        let e = &events[i];
        if let Some(line) = view.event_line(i, e, &rpcs, opts.verbose) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

struct View {
    color: bool,
    column: usize,
    peers: usize,
    width: usize,
}

impl View {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color && !style.is_empty() {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn time(&self, t: f64) -> String {
        format!("{:>w$.1} ", t, w = TIME_WIDTH - 1)
    }

    /// A line with `text` in column `col` and empty columns elsewhere.
    fn in_column(&self, t: f64, col: usize, text: &str, style: &str) -> String {
        let mut s = self.time(t);
        let bar = self.paint("2", "│");
        for p in 0..self.peers {
            s.push_str(&bar);
            if p == col {
                let cell = fit(text, self.column - 1);
                let len = cell.chars().count();
                s.push_str(&self.paint(style, &cell));
                if p + 1 < self.peers {
                    s.push_str(&" ".repeat(self.column - 1 - len));
                }
            } else if p + 1 < self.peers {
                s.push_str(&" ".repeat(self.column - 1));
            }
        }
        s
    }

    /// A line across all columns.
    fn spanning(&self, t: f64, text: &str, style: &str) -> String {
        let mut s = self.time(t);
        s.push_str(&self.paint(style, &fit(text, self.width - TIME_WIDTH)));
        s
    }

    fn event_line(&self, i: usize, e: &Event, rpcs: &Rpcs, verbose: bool) -> Option<String> {
        if let Some(rpc) = rpcs.of_event(i) {
            return self.rpc_line(e, rpc, verbose);
        }
        let fields = show_fields(e, &[]);
        let term = e.u64("term").map(|t| format!(" t{t}")).unwrap_or_default();
        let peer_text = e.peer.map(|p| format!(" peer {p}")).unwrap_or_default();
        let (text, style, spans) = match e.kind.as_str() {
            "test_begin" => (
                format!(
                    "══ test {} (seed {}) ══",
                    e.str("test").unwrap_or("?"),
                    e.field("seed").map(show_value).unwrap_or_default()
                ),
                "1",
                true,
            ),
            "verdict" => match e.bool("passed") {
                Some(true) => ("══ PASSED ══".to_string(), "1;32", true),
                _ => (
                    format!("══ FAILED: {} ══", e.str("failure").unwrap_or("?")),
                    "1;97;41",
                    true,
                ),
            },
            "check" => {
                let ok = e.bool("ok") == Some(true);
                let name = e.str("name").unwrap_or("check");
                let rest = show_fields(e, &["name", "ok"]);
                if ok {
                    (format!("✔ {name} {rest}"), "32", true)
                } else {
                    (format!("✘ {name} FAILED {rest}"), "1;31", true)
                }
            }
            "step" => (format!("── {} ──", e.str("text").unwrap_or("")), "36", true),
            "connect" | "disconnect" | "crash" | "restart" | "cut_link" | "heal_link" => {
                let extra = show_fields(e, &[]);
                let sym = match e.kind.as_str() {
                    "connect" | "heal_link" => "⇄",
                    "disconnect" | "cut_link" => "✂",
                    "crash" => "☠",
                    _ => "↻",
                };
                let text = format!("{sym} {}{peer_text} {extra}", e.kind);
                (text.trim_end().to_string(), "33", true)
            }
            "end_created" if !verbose => return None,
            "role" => {
                let role = e.str("role").unwrap_or("?");
                let (name, style) = match role {
                    "leader" => ("LEADER".to_string(), "1;32"),
                    "candidate" => ("candidate".to_string(), "1;33"),
                    "follower" => ("follower".to_string(), "1;34"),
                    other => (other.to_string(), "1"),
                };
                (format!("{name}{term}"), style, false)
            }
            "term" => (format!("term{term}"), "1", false),
            "vote_request" => (format!("asks votes{term}"), "35", false),
            "vote_granted" => (format!("votes→{}{term}", cand(e)), "35", false),
            "vote_denied" => (
                format!("denies→{}{term} {}", cand(e), e.str("reason").unwrap_or("")),
                "2;35",
                false,
            ),
            "timer_reset" => (
                format!("timer {}", e.str("reason").unwrap_or("")),
                "2",
                false,
            ),
            _ => (format!("{} {fields}", e.kind), "", e.peer.is_none()),
        };
        let text = text.trim_end();
        Some(match (spans, e.peer) {
            (false, Some(p)) => self.in_column(e.t, p, text, style),
            (true, _) | (false, None) => self.spanning(e.t, text, style),
        })
    }

    fn rpc_line(&self, e: &Event, rpc: &Rpc, verbose: bool) -> Option<String> {
        let to = rpc.to.map_or("?".to_string(), |p| p.to_string());
        let m = rpc.short_method();
        let (text, style) = match e.kind.as_str() {
            "rpc_send" => match &rpc.outcome {
                RpcOutcome::Failed(_) => (format!("→{to} {m} ✗"), "31"),
                RpcOutcome::Pending => (format!("→{to} {m} …"), "2"),
                RpcOutcome::Replied => (format!("→{to} {m}"), "2"),
            },
            "rpc_fail" => (format!("✗→{to} {m} {}", rpc.reason().unwrap_or("")), "31"),
            "rpc_delay" => (
                format!("⏳→{to} {m} +{}ms", e.f64("ms").unwrap_or(0.0)),
                "2;33",
            ),
            "rpc_duplicate" => (
                format!("⧉→{to} {m} copy in {}ms", e.f64("ms").unwrap_or(0.0)),
                "2;33",
            ),
            "rpc_reply" if verbose => {
                let ms = rpc.t_end.unwrap_or(e.t) - rpc.t_send;
                (format!("←{to} {m} ok {ms:.1}ms"), "2")
            }
            _ => return None,
        };
        Some(match rpc.from {
            Some(from) => self.in_column(e.t, from, &text, style),
            None => self.spanning(e.t, &format!("rpc ?{text}"), style),
        })
    }
}

fn cand(e: &Event) -> String {
    e.u64("candidate")
        .map_or_else(|| "?".to_string(), |c| c.to_string())
}

fn plain_line(out: &mut String, i: usize, e: &Event, rpcs: &Rpcs) {
    let mut fields = String::new();
    let mut peer = e.peer;
    if let Some(rpc) = rpcs.of_event(i) {
        peer = peer.or(rpc.from);
        let show = |p: Option<usize>| p.map_or("?".to_string(), |p| p.to_string());
        let _ = write!(
            fields,
            "from={} to={} method={} ",
            show(rpc.from),
            show(rpc.to),
            rpc.method
        );
    }
    // An RPC's method is already in the joined fields.
    let skip: &[&str] = if rpcs.of_event(i).is_some() {
        &["method"]
    } else {
        &[]
    };
    fields.push_str(&show_fields(e, skip));
    let fields = fields.replace(['\t', '\n'], " ");
    let peer = peer.map_or("-".to_string(), |p| p.to_string());
    let _ = writeln!(out, "{:.3}\t{peer}\t{}\t{}", e.t, e.kind, fields.trim_end());
}

/// `text` cut to `width` characters, ending in `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}
