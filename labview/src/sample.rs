//! Synthetic but realistic event logs, for tests and demos: a small
//! simulation of Raft elections and heartbeats over the lab's network,
//! driven by a harness script (disconnect the leader, check for one
//! leader, reconnect, crash and restart a follower) that writes the same
//! kinds of events, with the same fields, as `labrpc`, `raft` and `tests`.
//!
//! For: exercising the views without depending on the other crates, and
//! producing big logs (7 peers, 120 s, ~50,000 events) to measure them.
//!
//! Must never: be used as evidence about the real Raft: the simulation is
//! deterministic for a seed, but it is a sketch, not the reference.

use serde_json::Value;
use std::fmt::Write as _;

/// What run to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleConfig {
    /// The test's name in `test_begin` and `verdict`.
    pub test: String,
    /// Seeds every draw; the same seed gives the same log.
    pub seed: u64,
    /// How many Raft peers.
    pub peers: usize,
    /// How long the test runs (ms).
    pub duration_ms: u32,
    /// The leader's heartbeat interval (ms).
    pub heartbeat_ms: u32,
    /// The chance that a request (and half that for a reply) is lost.
    pub drop_rate: f64,
    /// Every this many ms the harness disconnects the leader, checks for a
    /// new one and reconnects the old one.
    pub churn_ms: u32,
    /// Also crash and restart a follower in each churn cycle.
    pub crash: bool,
    /// End by disconnecting a majority and expecting a leader: a failed
    /// check and a failed verdict.
    pub fail: bool,
}

impl SampleConfig {
    /// A failing 3-peer run of 6 s.
    pub fn three_peers() -> Self {
        SampleConfig {
            test: "TestReElection2A".into(),
            seed: 3,
            peers: 3,
            duration_ms: 6_000,
            heartbeat_ms: 100,
            drop_rate: 0.03,
            churn_ms: 2_400,
            crash: false,
            fail: true,
        }
    }

    /// A failing 7-peer run of 10 s with crashes.
    pub fn seven_peers() -> Self {
        SampleConfig {
            test: "TestManyElections2A".into(),
            seed: 7,
            peers: 7,
            duration_ms: 10_000,
            heartbeat_ms: 100,
            drop_rate: 0.03,
            churn_ms: 3_000,
            crash: true,
            fail: true,
        }
    }

    /// A failing 7-peer run of 120 s with heartbeats every 50 ms: about
    /// 50,000 events.
    pub fn seven_peers_big() -> Self {
        SampleConfig {
            test: "TestManyElectionsLong2A".into(),
            seed: 77,
            peers: 7,
            duration_ms: 120_000,
            heartbeat_ms: 50,
            drop_rate: 0.02,
            churn_ms: 10_000,
            crash: true,
            fail: true,
        }
    }

    /// A passing 3-peer run of 3 s.
    pub fn passing() -> Self {
        SampleConfig {
            test: "TestInitialElection2A".into(),
            seed: 1,
            peers: 3,
            duration_ms: 3_000,
            heartbeat_ms: 100,
            drop_rate: 0.0,
            churn_ms: 10_000,
            crash: false,
            fail: false,
        }
    }
}

/// The log of one simulated test, as JSON lines.
pub fn sample_log(cfg: &SampleConfig) -> String {
    let mut sim = Sim::new(cfg);
    sim.run();
    sim.finish()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

struct Peer {
    role: Role,
    term: u64,
    voted_for: Option<usize>,
    votes: usize,
    deadline: f64,
    next_heartbeat: f64,
    connected: bool,
    alive: bool,
}

struct Sim<'a> {
    cfg: &'a SampleConfig,
    rng: u64,
    peers: Vec<Peer>,
    ends: Vec<Vec<String>>,
    next_id: u64,
    lines: Vec<(f64, u64, String)>,
    seq: u64,
    failed_check: Option<String>,
    disconnected_leader: Option<usize>,
    crashed: Option<usize>,
}

type Fields<'f> = &'f [(&'f str, Value)];

impl<'a> Sim<'a> {
    fn new(cfg: &'a SampleConfig) -> Self {
        let mut sim = Sim {
            cfg,
            rng: cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            peers: Vec::new(),
            ends: Vec::new(),
            next_id: 1 + cfg.seed * 10_000,
            lines: Vec::new(),
            seq: 0,
            failed_check: None,
            disconnected_leader: None,
            crashed: None,
        };
        for _ in 0..cfg.peers {
            let deadline = sim.timeout(0.0);
            sim.peers.push(Peer {
                role: Role::Follower,
                term: 0,
                voted_for: None,
                votes: 0,
                deadline,
                next_heartbeat: 0.0,
                connected: true,
                alive: true,
            });
        }
        sim.emit(
            0.0,
            None,
            "test_begin",
            &[
                ("test", cfg.test.as_str().into()),
                ("seed", cfg.seed.into()),
            ],
        );
        for i in 0..cfg.peers {
            let mut row = Vec::new();
            for j in 0..cfg.peers {
                let name = sim.end_name();
                sim.emit(
                    0.01,
                    Some(i),
                    "end_created",
                    &[
                        ("end", name.as_str().into()),
                        ("from", i.into()),
                        ("to", j.into()),
                    ],
                );
                row.push(name);
            }
            sim.ends.push(row);
        }
        sim.emit(
            0.02,
            None,
            "step",
            &[("text", "waiting for the first leader".into())],
        );
        sim
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.uniform(0.0, 1.0) < p
    }

    fn timeout(&mut self, now: f64) -> f64 {
        now + self.uniform(300.0, 600.0).floor()
    }

    fn end_name(&mut self) -> String {
        const ABC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..20)
            .map(|_| ABC[(self.next() % ABC.len() as u64) as usize] as char)
            .collect()
    }

    fn emit(&mut self, t: f64, peer: Option<usize>, kind: &str, fields: Fields<'_>) {
        let mut s = format!("{{\"t\":{t:.3},\"peer\":");
        match peer {
            Some(p) => {
                let _ = write!(s, "{p}");
            }
            None => s.push_str("null"),
        }
        let _ = write!(s, ",\"kind\":{}", Value::from(kind));
        for (name, value) in fields {
            let _ = write!(s, ",{}:{value}", Value::from(*name));
        }
        s.push('}');
        self.seq += 1;
        self.lines.push((t, self.seq, s));
    }

    fn finish(mut self) -> String {
        self.lines
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = String::new();
        for (_, _, line) in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn run(&mut self) {
        let n = self.cfg.peers;
        let end = self.cfg.duration_ms;
        let fail_at = end.saturating_sub(1_500);
        for ms in 0..end {
            let now = f64::from(ms);
            self.script(ms, fail_at);
            for i in 0..n {
                if !self.peers[i].alive {
                    continue;
                }
                let t = now + self.uniform(0.0, 0.2);
                if self.peers[i].role == Role::Leader {
                    if t >= self.peers[i].next_heartbeat {
                        self.peers[i].next_heartbeat = t + f64::from(self.cfg.heartbeat_ms);
                        for j in (0..n).filter(|&j| j != i) {
                            let t = t + self.uniform(0.0, 0.1);
                            self.call(i, j, t, true);
                        }
                    }
                } else if t >= self.peers[i].deadline {
                    self.start_election(i, t);
                }
            }
        }
        let t = f64::from(end);
        let passed = self.failed_check.is_none();
        let failure = self.failed_check.clone();
        self.emit(
            t,
            None,
            "verdict",
            &[
                ("test", self.cfg.test.as_str().into()),
                ("passed", passed.into()),
                ("failure", failure.into()),
            ],
        );
    }

    /// The harness's script at millisecond `ms`.
    fn script(&mut self, ms: u32, fail_at: u32) {
        let n = self.cfg.peers;
        let t = f64::from(ms);
        if self.cfg.fail && ms == fail_at {
            // The leader and enough others to leave the rest without a
            // quorum: no new leader can be elected.
            let mut majority: Vec<usize> = (0..n).filter(|&p| self.leads(p)).collect();
            majority.extend((0..n).filter(|&p| !self.leads(p)));
            majority.truncate(n / 2 + 1);
            majority.sort_unstable();
            let text = format!("disconnecting a majority: peers {majority:?}");
            self.emit(t, None, "step", &[("text", text.into())]);
            for p in majority {
                if self.peers[p].connected {
                    self.peers[p].connected = false;
                    self.emit(t + 0.01, Some(p), "disconnect", &[]);
                }
            }
        }
        if self.cfg.fail && ms == fail_at + 1_200 {
            self.emit(
                t,
                None,
                "step",
                &[("text", "checking that a leader remains".into())],
            );
            self.check_one_leader(t + 0.05);
            return;
        }
        if self.cfg.fail && ms >= fail_at {
            return;
        }
        if ms < 1_000 {
            return;
        }
        let c = self.cfg.churn_ms;
        let phase = (ms - 1_000) % c;
        if phase == 0 {
            self.emit(
                t,
                None,
                "step",
                &[("text", "checking for one leader".into())],
            );
            self.check_one_leader(t + 0.05);
        } else if phase == 200 {
            if let Some(l) = (0..n).find(|&p| self.leads(p)) {
                let text = format!("disconnecting leader {l}");
                self.emit(t, None, "step", &[("text", text.into())]);
                self.peers[l].connected = false;
                self.disconnected_leader = Some(l);
                self.emit(t + 0.01, Some(l), "disconnect", &[]);
            }
        } else if phase == c / 2 {
            self.emit(
                t,
                None,
                "step",
                &[("text", "checking for a new leader".into())],
            );
            self.check_one_leader(t + 0.05);
        } else if phase == c * 6 / 10 {
            if let Some(l) = self.disconnected_leader.take() {
                let text = format!("reconnecting old leader {l}");
                self.emit(t, None, "step", &[("text", text.into())]);
                self.peers[l].connected = true;
                self.emit(t + 0.01, Some(l), "connect", &[]);
            }
        } else if self.cfg.crash && phase == c * 7 / 10 {
            if let Some(f) = (0..n).find(|&p| {
                self.peers[p].role == Role::Follower && self.peers[p].alive && p % 2 == 1
            }) {
                let text = format!("crashing follower {f}");
                self.emit(t, None, "step", &[("text", text.into())]);
                self.peers[f].alive = false;
                self.crashed = Some(f);
                self.emit(t + 0.01, Some(f), "crash", &[]);
            }
        } else if self.cfg.crash
            && phase == c * 9 / 10
            && let Some(f) = self.crashed.take()
        {
            let text = format!("restarting {f}");
            self.emit(t, None, "step", &[("text", text.into())]);
            let deadline = self.timeout(t);
            let p = &mut self.peers[f];
            p.alive = true;
            p.role = Role::Follower;
            p.deadline = deadline;
            self.emit(t + 0.01, Some(f), "restart", &[]);
        }
    }

    fn leads(&self, p: usize) -> bool {
        let peer = &self.peers[p];
        peer.alive && peer.connected && peer.role == Role::Leader
    }

    fn check_one_leader(&mut self, t: f64) {
        let n = self.cfg.peers;
        let leaders: Vec<usize> = (0..n).filter(|&p| self.leads(p)).collect();
        let top = leaders.iter().map(|&p| self.peers[p].term).max();
        let in_top: Vec<usize> = leaders
            .iter()
            .copied()
            .filter(|&p| Some(self.peers[p].term) == top)
            .collect();
        if in_top.len() == 1 {
            let l = in_top[0];
            let term = self.peers[l].term;
            self.emit(
                t,
                None,
                "check",
                &[
                    ("name", "check_one_leader".into()),
                    ("ok", true.into()),
                    ("leader", l.into()),
                    ("term", term.into()),
                ],
            );
        } else {
            let message = if in_top.is_empty() {
                "expected one leader, got none".to_string()
            } else {
                format!("term {} has {} leaders", top.unwrap_or(0), in_top.len())
            };
            self.emit(
                t,
                None,
                "check",
                &[
                    ("name", "check_one_leader".into()),
                    ("ok", false.into()),
                    ("message", message.as_str().into()),
                ],
            );
            self.failed_check.get_or_insert(message);
        }
    }

    fn set_role(&mut self, p: usize, role: Role, t: f64) {
        if self.peers[p].role != role {
            self.peers[p].role = role;
            let term = self.peers[p].term;
            self.emit(
                t,
                Some(p),
                "role",
                &[("role", role.name().into()), ("term", term.into())],
            );
        }
    }

    /// §5.1: a newer term makes `p` a follower of it.
    fn observe_term(&mut self, p: usize, term: u64, t: f64) {
        if term > self.peers[p].term {
            self.peers[p].term = term;
            self.peers[p].voted_for = None;
            self.emit(t, Some(p), "term", &[("term", term.into())]);
            self.set_role(p, Role::Follower, t);
        }
    }

    fn reset_timer(&mut self, p: usize, t: f64, reason: &str) {
        self.peers[p].deadline = self.timeout(t);
        self.emit(t, Some(p), "timer_reset", &[("reason", reason.into())]);
    }

    fn start_election(&mut self, i: usize, t: f64) {
        let term = self.peers[i].term + 1;
        self.peers[i].term = term;
        self.peers[i].voted_for = Some(i);
        self.peers[i].votes = 1;
        self.emit(t, Some(i), "term", &[("term", term.into())]);
        self.set_role(i, Role::Candidate, t);
        self.emit(t, Some(i), "vote_request", &[("term", term.into())]);
        self.reset_timer(i, t, "election timeout");
        for j in (0..self.cfg.peers).filter(|&j| j != i) {
            let t = t + self.uniform(0.0, 0.1);
            self.call(i, j, t, false);
        }
    }

    /// One RPC from `i` to `j`: AppendEntries (a heartbeat) or RequestVote.
    fn call(&mut self, i: usize, j: usize, t: f64, append: bool) {
        let id = self.next_id;
        self.next_id += 1;
        let method = if append {
            "Raft.AppendEntries"
        } else {
            "Raft.RequestVote"
        };
        let reachable = self.peers[i].connected && self.peers[j].connected && self.peers[j].alive;
        let server = if reachable {
            Value::from(j.to_string())
        } else {
            Value::Null
        };
        let end = self.ends[i][j].clone();
        let bytes: u64 = if append { 27 } else { 19 };
        self.emit(
            t,
            None,
            "rpc_send",
            &[
                ("id", id.into()),
                ("end", end.into()),
                ("server", server),
                ("method", method.into()),
                ("bytes", bytes.into()),
            ],
        );
        if !reachable {
            let at = t + self.uniform(0.0, 100.0);
            self.fail(id, at, "unreachable");
            return;
        }
        if self.chance(self.cfg.drop_rate) {
            let at = t + self.uniform(0.0, 27.0);
            self.fail(id, at, "request lost");
            return;
        }
        let td = t + self.uniform(0.05, 0.5);
        let term = self.peers[i].term;
        self.observe_term(j, term, td);
        let ok = if append {
            if term == self.peers[j].term {
                self.set_role(j, Role::Follower, td);
                self.reset_timer(j, td, "heartbeat");
                true
            } else {
                false
            }
        } else {
            let voted = self.peers[j].voted_for;
            if term == self.peers[j].term && voted.is_none_or(|v| v == i) {
                self.peers[j].voted_for = Some(i);
                self.emit(
                    td,
                    Some(j),
                    "vote_granted",
                    &[("candidate", i.into()), ("term", term.into())],
                );
                self.reset_timer(j, td, "granted vote");
                true
            } else {
                let reason = match voted {
                    Some(v) if term == self.peers[j].term => format!("already voted for {v}"),
                    _ => "stale term".to_string(),
                };
                self.emit(
                    td,
                    Some(j),
                    "vote_denied",
                    &[
                        ("candidate", i.into()),
                        ("term", term.into()),
                        ("reason", reason.into()),
                    ],
                );
                false
            }
        };
        let reply_term = self.peers[j].term;
        let tr = td + self.uniform(0.05, 0.4);
        if self.chance(self.cfg.drop_rate / 2.0) {
            self.fail(id, tr, "reply lost");
            return;
        }
        let reply_bytes: u64 = if append { 4 } else { 3 };
        self.emit(
            tr,
            None,
            "rpc_reply",
            &[("id", id.into()), ("bytes", reply_bytes.into())],
        );
        // The caller handles the reply.
        self.observe_term(i, reply_term, tr);
        if !append && ok && self.peers[i].role == Role::Candidate && self.peers[i].term == term {
            self.peers[i].votes += 1;
            if self.peers[i].votes > self.cfg.peers / 2 {
                self.set_role(i, Role::Leader, tr);
                self.peers[i].next_heartbeat = tr;
            }
        }
    }

    fn fail(&mut self, id: u64, t: f64, reason: &str) {
        self.emit(
            t,
            None,
            "rpc_fail",
            &[("id", id.into()), ("reason", reason.into())],
        );
    }
}
