//! The timeline: ONE self-contained HTML file (inline CSS, JS and SVG, no
//! network access, no external fonts or scripts) with a lane per peer over
//! time: role bands (follower/candidate/leader) with their term, shaded
//! disconnected and crashed periods, RPC arrows between lanes from send to
//! reply/fail (failed ones red, dashed, with an x; unanswered ones dotted;
//! those cut short by the final cleanup faint, not as errors), the
//! harness's checks and steps on a top lane (step labels in full on three
//! rows, every one on hover), the failure point as a vertical line with
//! its message and the step the test was in at the top, tooltips with
//! every field, zoom and pan. A log of several tests gives one page with a
//! menu of them.
//!
//! For: turning one test's events into a compact model (bands, periods,
//! RPCs, marks; see [`Model`]) embedded as JSON, which `timeline.js`
//! renders into SVG for the visible window only (aggregating RPCs and
//! frequent marks into ticks when zoomed out), so 50,000-event runs stay
//! usable. DOM hooks the browser test relies on:
//! `#test-picker` (hidden behind `#picker-label` for one test), `#failure-step`,
//! `g.step[data-text]` (with a `<title>`), `g.rpc.cleanup`, `g.rpc.pending`,
//! `.key.rpc-pending`, `.key.rpc-cleanup`,
//! `svg#timeline`, `g.lane[data-peer=N]`, `rect.band.{follower,candidate,leader}[data-term]`,
//! `rect.period.{disconnected,crashed}`, `g.rpc` / `g.rpc.failed` (`.unreachable`, `.vote`; with `data-id`, `data-from`, `data-to`),
//! `path.rpc-ticks` (aggregated), `g.check` / `g.check.failed`, `g.step`,
//! `.marker[data-kind]`, `#failure`, `#failure-message`, `#tooltip`,
//! `#zoom-in`, `#zoom-out`, `#zoom-reset`, `#zoom-failure`, and
//! `#stats[data-lanes][data-bands][data-rpcs][data-failed-rpcs][data-cleanup-rpcs]`
//! `[data-pending-rpcs][data-checks][data-steps][data-step-labels][data-test][data-tests][data-mode]`
//! updated after each render. A URL hash `#t=FROM,TO` (ms) sets the view,
//! `#test=N` the test.
//!
//! Must never: load anything from the network, depend on the order of
//! JSON object keys, or put raw `<` from event text into the page (the
//! embedded JSON escapes it).

use crate::event::{Event, Warning, json_number, read_log};
use crate::rpc::{Rpc, RpcOutcome, Rpcs};
use crate::select::{TestRun, TestSelection, peer_count, select_index, select_test, split_tests};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::Path;

const CSS: &str = include_str!("timeline.css");
const JS: &str = include_str!("timeline.js");

/// What [`render_timeline`] shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelineOptions {
    /// Which test of the file.
    pub test: TestSelection,
    /// The page's title (default: the test's name and seed).
    pub title: Option<String>,
    /// Warnings to show at the top of the page (from parsing).
    pub warnings: Vec<Warning>,
    /// The initial view, in ms (default: the whole run).
    pub view_ms: Option<(f64, f64)>,
}

/// The role of a band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follower.
    Follower,
    /// Candidate.
    Candidate,
    /// Leader.
    Leader,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "follower" => Some(Role::Follower),
            "candidate" => Some(Role::Candidate),
            "leader" => Some(Role::Leader),
            _ => None,
        }
    }

    /// `follower`, `candidate` or `leader`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// A stretch of time a peer spent in one role and term.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The peer.
    pub peer: usize,
    /// From (ms).
    pub start: f64,
    /// To (ms).
    pub end: f64,
    /// Its role.
    pub role: Role,
    /// Its term.
    pub term: u64,
}

/// A stretch of time a peer was disconnected or crashed.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// The peer.
    pub peer: usize,
    /// From (ms).
    pub start: f64,
    /// To (ms; the end of the run when it never ended).
    pub end: f64,
    /// True for a crash, false for a disconnection.
    pub crashed: bool,
}

/// Where the test failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// When (ms): the last failed check before a failed verdict, else the
    /// verdict, else the last failed check.
    pub t: f64,
    /// The verdict's failure message, else the check's.
    pub message: String,
    /// The step the test was in: the verdict's `step` field, else the last
    /// `step` event at or before the failure point that is not part of
    /// the cleanup.
    pub step: Option<String>,
}

/// What the page is drawn from (before it becomes JSON).
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The selected test's label.
    pub title: String,
    /// `Some(passed)` from the verdict.
    pub passed: Option<bool>,
    /// How many peer lanes.
    pub peers: usize,
    /// The end of the run (ms): its last event.
    pub end_ms: f64,
    /// Role bands, by peer then time.
    pub bands: Vec<Band>,
    /// Disconnected and crashed periods.
    pub periods: Vec<Period>,
    /// The joined RPCs with a known sender and receiver (the drawable ones).
    pub rpcs: Rpcs,
    /// RPCs without a known sender or receiver (not drawn as arrows).
    pub unplaced_rpcs: usize,
    /// How many checks, and how many of them failed.
    pub checks: (usize, usize),
    /// When the harness began its final cleanup (its `cleanup: ...` step):
    /// RPCs that fail from then on were cut short by it.
    pub cleanup_ms: Option<f64>,
    /// The failure point.
    pub failure: Option<Failure>,
    /// The selected test's events.
    pub events: Vec<Event>,
}

impl Model {
    /// Builds the model of the selected test of `events`.
    pub fn build(events: &[Event], which: &TestSelection) -> Result<Model, String> {
        let runs = split_tests(events);
        Ok(Model::of_run(select_test(&runs, which)?))
    }

    /// True when `rpc` failed because the harness's final cleanup cut it
    /// short (reason `cleanup`, or a failure once the cleanup began): no
    /// error of the Raft's or of the test's network.
    pub fn ended_by_cleanup(&self, rpc: &Rpc) -> bool {
        rpc.reason() == Some("cleanup")
            || (rpc.failed()
                && self
                    .cleanup_ms
                    .is_some_and(|c| rpc.t_end.is_some_and(|t| t >= c)))
    }

    /// How many RPCs the final cleanup cut short.
    pub fn cleanup_rpcs(&self) -> usize {
        self.rpcs
            .list
            .iter()
            .filter(|r| self.ended_by_cleanup(r))
            .count()
    }

    /// The RPCs drawn as failures: failed, and not by the cleanup.
    pub fn failed_rpcs(&self) -> usize {
        self.rpcs
            .list
            .iter()
            .filter(|r| r.failed() && !self.ended_by_cleanup(r))
            .count()
    }

    /// Builds the model of one test.
    pub fn of_run(run: TestRun) -> Model {
        let title = run.label();
        let events = run.events;
        let mut rpcs = Rpcs::build(&events);
        let peers = peer_count(&events, &rpcs);
        let end_ms = events
            .iter()
            .map(|e| e.t)
            .chain(rpcs.list.iter().filter_map(|r| r.t_end))
            .fold(0.0, f64::max);
        let before = rpcs.list.len();
        rpcs.list
            .retain(|r| r.from.is_some_and(|p| p < peers) && r.to.is_some_and(|p| p < peers));
        let unplaced_rpcs = before - rpcs.list.len();

        // Bands and periods, peer by peer.
        let mut bands = Vec::new();
        let mut periods = Vec::new();
        for p in 0..peers {
            let mut cur: Option<Band> = Some(Band {
                peer: p,
                start: 0.0,
                end: 0.0,
                role: Role::Follower,
                term: 0,
            });
            let mut last_term = 0;
            let mut open_disc: Option<f64> = None;
            let mut open_crash: Option<f64> = None;
            let mut switch = |cur: &mut Option<Band>, t: f64, next: Option<(Role, u64)>| {
                if let Some(mut b) = cur.take()
                    && t > b.start
                {
                    b.end = t;
                    bands.push(b);
                }
                *cur = next.map(|(role, term)| Band {
                    peer: p,
                    start: t,
                    end: t,
                    role,
                    term,
                });
            };
            for e in events.iter().filter(|e| e.peer == Some(p)) {
                match e.kind.as_str() {
                    "role" => {
                        let role = e.str("role").and_then(Role::parse);
                        let term = e.u64("term").unwrap_or(last_term);
                        last_term = term;
                        if let Some(role) = role
                            && cur
                                .as_ref()
                                .is_some_and(|b| b.role != role || b.term != term)
                        {
                            switch(&mut cur, e.t, Some((role, term)));
                        }
                    }
                    "term" => {
                        if let Some(term) = e.u64("term") {
                            last_term = term;
                            if let Some(b) = cur.as_ref().filter(|b| b.term != term) {
                                let role = b.role;
                                switch(&mut cur, e.t, Some((role, term)));
                            }
                        }
                    }
                    "crash" => {
                        switch(&mut cur, e.t, None);
                        open_crash.get_or_insert(e.t);
                    }
                    "restart" => {
                        if cur.is_none() {
                            switch(&mut cur, e.t, Some((Role::Follower, last_term)));
                        }
                        if let Some(start) = open_crash.take() {
                            periods.push(Period {
                                peer: p,
                                start,
                                end: e.t,
                                crashed: true,
                            });
                        }
                    }
                    "disconnect" => {
                        open_disc.get_or_insert(e.t);
                    }
                    "connect" => {
                        if let Some(start) = open_disc.take() {
                            periods.push(Period {
                                peer: p,
                                start,
                                end: e.t,
                                crashed: false,
                            });
                        }
                    }
                    _ => {}
                }
            }
            switch(&mut cur, end_ms, None);
            for (start, crashed) in [(open_disc, false), (open_crash, true)] {
                if let Some(start) = start {
                    periods.push(Period {
                        peer: p,
                        start,
                        end: end_ms,
                        crashed,
                    });
                }
            }
        }

        let checks: Vec<&Event> = events.iter().filter(|e| e.kind == "check").collect();
        let failed_checks: Vec<&&Event> = checks
            .iter()
            .filter(|e| e.bool("ok") == Some(false))
            .collect();
        let verdict = events
            .iter()
            .rev()
            .find(|e| e.kind == "verdict" && e.bool("passed") == Some(false));
        let check_message = |c: &Event| {
            let name = c.str("name").unwrap_or("check");
            match c.str("message") {
                Some(m) => format!("{name}: {m}"),
                None => format!("{name} failed"),
            }
        };
        let mut failure = match (verdict, failed_checks.last()) {
            (Some(v), check) => Some(Failure {
                t: check.filter(|c| c.t <= v.t).map_or(v.t, |c| c.t),
                message: v
                    .str("failure")
                    .map(str::to_string)
                    .or_else(|| check.map(|c| check_message(c)))
                    .unwrap_or_else(|| "failed".into()),
                step: v.str("step").map(str::to_string),
            }),
            (None, Some(c)) => Some(Failure {
                t: c.t,
                message: check_message(c),
                step: None,
            }),
            (None, None) => None,
        };
        if let Some(f) = failure.as_mut().filter(|f| f.step.is_none()) {
            f.step = events
                .iter()
                .filter(|e| e.kind == "step" && e.t <= f.t)
                .filter_map(|e| e.str("text"))
                .rfind(|text| !is_cleanup_step(text))
                .map(str::to_string);
        }
        let cleanup_ms = events
            .iter()
            .find(|e| e.kind == "step" && e.str("text").is_some_and(|t| t.starts_with("cleanup")))
            .map(|e| e.t);

        Model {
            title,
            passed: run.passed,
            peers,
            end_ms,
            bands,
            periods,
            rpcs,
            unplaced_rpcs,
            checks: (checks.len(), failed_checks.len()),
            cleanup_ms,
            failure,
            events,
        }
    }

    /// The model as the JSON the page's script reads.
    pub fn to_json(&self, opts: &TimelineOptions) -> Value {
        let mut interner = Interner::default();
        let bands: Vec<Value> = self
            .bands
            .iter()
            .map(|b| {
                json!([
                    b.peer,
                    json_number(b.start),
                    json_number(b.end),
                    b.role.name(),
                    b.term
                ])
            })
            .collect();
        let periods: Vec<Value> = self
            .periods
            .iter()
            .map(|p| {
                json!([
                    p.peer,
                    json_number(p.start),
                    json_number(p.end),
                    if p.crashed { "crashed" } else { "disconnected" }
                ])
            })
            .collect();
        // RPCs: [id, tSend, tEnd|null, from, to, method#, outcome, reason#|null,
        //        bytes|null, replyBytes|null, delayMs|null]; outcome 0 replied,
        //        1 failed, 2 no reply in the log, 3 failed by the cleanup.
        let mut rpcs: Vec<&crate::rpc::Rpc> = self.rpcs.list.iter().collect();
        rpcs.sort_by(|a, b| a.t_send.total_cmp(&b.t_send));
        let max_rpc_ms = rpcs
            .iter()
            .map(|r| r.t_end.unwrap_or(self.end_ms) - r.t_send)
            .fold(0.0, f64::max);
        let rpcs: Vec<Value> = rpcs
            .iter()
            .map(|r| {
                let (outcome, reason) = match &r.outcome {
                    RpcOutcome::Replied => (0, Value::Null),
                    RpcOutcome::Failed(why) => {
                        let code = if self.ended_by_cleanup(r) { 3 } else { 1 };
                        (code, Value::from(interner.id(why)))
                    }
                    RpcOutcome::Pending => (2, Value::Null),
                };
                json!([
                    r.id,
                    json_number(r.t_send),
                    r.t_end.map_or(Value::Null, json_number),
                    r.from,
                    r.to,
                    interner.id(&r.method),
                    outcome,
                    reason,
                    r.bytes,
                    r.reply_bytes,
                    r.delay_ms.map_or(Value::Null, json_number)
                ])
            })
            .collect();
        // Marks: every other event (roles are the bands): [t, peer|-1, kind#, {fields}|0].
        let mut marks = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            if self.rpcs.of_event(i).is_some()
                || e.kind.starts_with("rpc_")
                || matches!(e.kind.as_str(), "test_begin" | "end_created")
                || (e.kind == "role" && e.str("role").and_then(Role::parse).is_some())
            {
                continue;
            }
            let peer = match e.peer {
                Some(p) if p < self.peers => p as i64,
                _ => -1,
            };
            let fields = if e.fields.is_empty() {
                Value::from(0)
            } else {
                Value::Object(e.fields.clone())
            };
            marks.push(json!([
                json_number(e.t),
                peer,
                interner.id(&e.kind),
                fields
            ]));
        }
        let (from, to) = opts.view_ms.unwrap_or((0.0, self.end_ms.max(1.0)));
        let mut root = Map::new();
        root.insert(
            "title".into(),
            Value::from(opts.title.clone().unwrap_or_else(|| self.title.clone())),
        );
        root.insert(
            "passed".into(),
            self.passed.map_or(Value::Null, Value::from),
        );
        root.insert("peers".into(), Value::from(self.peers));
        root.insert(
            "cleanup".into(),
            self.cleanup_ms.map_or(Value::Null, json_number),
        );
        root.insert("end".into(), json_number(self.end_ms.max(1.0)));
        root.insert("view".into(), json!([json_number(from), json_number(to)]));
        root.insert(
            "failure".into(),
            self.failure.as_ref().map_or(
                Value::Null,
                |f| json!({"t": json_number(f.t), "message": f.message, "step": f.step}),
            ),
        );
        root.insert("strings".into(), Value::from(interner.strings));
        root.insert("bands".into(), Value::from(bands));
        root.insert("periods".into(), Value::from(periods));
        root.insert("maxRpcMs".into(), json_number(max_rpc_ms));
        root.insert("rpcs".into(), Value::from(rpcs));
        root.insert("unplacedRpcs".into(), Value::from(self.unplaced_rpcs));
        root.insert("marks".into(), Value::from(marks));
        root.insert(
            "warnings".into(),
            Value::from(
                opts.warnings
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>(),
            ),
        );
        Value::Object(root)
    }
}

/// True for the harness's steps after the test proper: its final cleanup.
fn is_cleanup_step(text: &str) -> bool {
    text.starts_with("cleanup") || text.starts_with("after cleanup")
}

#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    ids: HashMap<String, usize>,
}

impl Interner {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), self.strings.len() - 1);
        self.strings.len() - 1
    }
}

/// JSON made safe inside `<script>`: `<`, `>`, `&` and the two JS line
/// separators only occur inside strings, where `\uXXXX` means the same.
fn script_safe(json: &str) -> String {
    let mut s = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => s.push_str("\\u003c"),
            '>' => s.push_str("\\u003e"),
            '&' => s.push_str("\\u0026"),
            '\u{2028}' => s.push_str("\\u2028"),
            '\u{2029}' => s.push_str("\\u2029"),
            c => s.push(c),
        }
    }
    s
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The body of the `<script type="application/json" id="{id}">` of a page.
fn script_body<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start_tag = format!("<script type=\"application/json\" id=\"{id}\">");
    let start = html.find(&start_tag)? + start_tag.len();
    let len = html[start..].find("</script>")?;
    Some(&html[start..start + len])
}

/// The list of a page's tests: `{"selected": i, "tests": [{"label",
/// "passed"}, ...]}`, if the page has one.
pub fn embedded_tests(html: &str) -> Option<&str> {
    script_body(html, "tests")
}

/// The embedded JSON of the test a page made by [`render_timeline`] shows
/// first, if any.
pub fn embedded_json(html: &str) -> Option<&str> {
    let selected = embedded_tests(html)
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v["selected"].as_u64())
        .unwrap_or(0);
    script_body(html, &format!("data-{selected}"))
}

/// The page's header: title, test menu, zoom controls, failure banner,
/// warnings, legend.
const HEADER: &str = r#"<header id="top">
<div class="title-row"><h1 id="title"></h1><span id="outcome"></span><label id="picker-label" hidden>test <select id="test-picker" title="the log holds several tests: pick one"></select></label>
<div id="controls"><button id="zoom-in" title="zoom in (wheel up)">+</button><button id="zoom-out" title="zoom out (wheel down)">−</button><button id="zoom-reset" title="whole run">all</button><button id="zoom-failure" title="zoom to the failure">failure</button><span id="range"></span></div></div>
<div id="failure-message" hidden><div id="failure-text"></div><div id="failure-step"></div></div>
<div id="warnings" hidden></div>
<div id="legend"><span class="key follower">follower</span><span class="key candidate">candidate</span><span class="key leader">leader</span><span class="key disconnected">disconnected</span><span class="key crashed">crashed</span><span class="key rpc-ok">RPC</span><span class="key rpc-vote">RequestVote</span><span class="key rpc-failed">failed RPC</span><span class="key rpc-pending" title="no reply or failure in the log: the run ended (or was killed) first">unanswered RPC</span><span class="key rpc-cleanup" title="failed because the harness's final cleanup shut the network down: not an error">ended by cleanup</span><span class="key check-ok">check</span><span class="key check-failed">failed check</span><span class="sym">┊ harness step (hover: full text)</span><span class="sym">▲ asks votes</span><span class="sym"><b class="vote">●</b> vote granted</span><span class="sym"><b class="vote">○</b> vote denied</span><span class="sym">◆ new term</span><span class="sym">┆ timer reset</span><span class="hint">wheel: zoom · drag: pan · hover: details</span></div>
</header>
<div id="chart"><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="tooltip" hidden></div>
<div id="stats" hidden></div>
"#;

/// Renders a log as one self-contained HTML page: every test of it (a menu
/// picks one when there are several), the selected test shown first. A
/// selection that matches no test gives a page saying so.
pub fn render_timeline(events: &[Event], opts: &TimelineOptions) -> String {
    let runs = split_tests(events);
    let selected = match select_index(&runs, &opts.test) {
        Ok(i) => i,
        Err(message) => {
            return format!(
                "<!doctype html><meta charset=\"utf-8\"><title>timeline</title><p>{}</p>\n",
                html_escape(&message)
            );
        }
    };
    let tests: Vec<Value> = runs
        .iter()
        .map(|r| json!({"label": r.label(), "passed": r.passed}))
        .collect();
    let title = opts.title.clone().unwrap_or_else(|| runs[selected].label());
    let mut html = String::with_capacity(64 * 1024);
    html.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str(&format!(
        "<title>{} — timeline</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        html_escape(&title)
    ));
    html.push_str(HEADER);
    let list = json!({"selected": selected, "tests": tests});
    push_json_script(&mut html, "tests", &list);
    for (i, run) in runs.into_iter().enumerate() {
        let model = Model::of_run(run);
        let data = if i == selected {
            model.to_json(opts)
        } else {
            model.to_json(&TimelineOptions {
                warnings: opts.warnings.clone(),
                ..TimelineOptions::default()
            })
        };
        push_json_script(&mut html, &format!("data-{i}"), &data);
    }
    html.push_str("<script>\n");
    html.push_str(JS);
    html.push_str("</script>\n</body>\n</html>\n");
    html
}

fn push_json_script(html: &mut String, id: &str, data: &Value) {
    html.push_str(&format!("<script type=\"application/json\" id=\"{id}\">"));
    html.push_str(&script_safe(&data.to_string()));
    html.push_str("</script>\n");
}

/// Reads the log at `input`, renders the selected test's timeline and
/// writes it to `output`. Returns the parse warnings (also shown on the
/// page). Errors: the file cannot be read or written, or no test matches.
pub fn write_timeline(
    input: &Path,
    output: &Path,
    opts: &TimelineOptions,
) -> std::io::Result<Vec<Warning>> {
    let parsed = read_log(input)?;
    let mut opts = opts.clone();
    opts.warnings.extend(parsed.warnings.iter().cloned());
    if let Err(message) = select_test(&split_tests(&parsed.events), &opts.test) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            message,
        ));
    }
    std::fs::write(output, render_timeline(&parsed.events, &opts))?;
    Ok(parsed.warnings)
}
