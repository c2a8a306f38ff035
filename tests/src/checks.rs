//! The checks the lab tests make (Go's `checkOneLeader`, `checkTerms`,
//! `checkNoLeader`, `nCommitted`, `one`, `wait`), with Go's loop counts,
//! sleeps and failure messages.
//!
//! Each check records what it is doing (see [`step`]) before every call
//! into a Raft, so that a Raft that blocks there is named when the test
//! times out. Checks never change the peers; they only look.

use crate::command::{Command, Value};
use crate::config::Peers;
use crate::failure::{check_background, fatal, step};
use crate::peer::Peer;
use labrpc::sync::Arc;
use labrpc::sync::atomic::Ordering;
use labrpc::time::{self, Duration};
use labrpc::{event, rand, thread};
use std::collections::BTreeMap;

impl<R: Peer> Peers<R> {
    /// Asks peer `i` for its state, recording the step first.
    fn state_of(&self, i: usize, context: &str) -> Option<(u64, bool)> {
        let rf = self.raft(i)?;
        step(format!("{context}: asking server {i} for get_state"));
        Some(rf.get_state())
    }

    /// Go's `checkOneLeader`: up to 10 rounds, each after a 450-549 ms
    /// sleep, looks for leaders among connected peers; fails if a term has
    /// two; returns the leader of the newest term that has one.
    pub fn check_one_leader(&self) -> usize {
        for round in 1..=10 {
            step(format!("check_one_leader: round {round} of 10, sleeping"));
            self.sleep(Duration::from_millis(
                450 + rand::below_in("check_one_leader", 0..100),
            ));
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for i in 0..self.n {
                if !self.is_connected(i) {
                    continue;
                }
                let context = format!("check_one_leader: round {round} of 10");
                if let Some((term, true)) = self.state_of(i, &context) {
                    leaders.entry(term).or_default().push(i);
                }
            }
            for (term, ids) in &leaders {
                if ids.len() > 1 {
                    event!(
                        None,
                        "check",
                        name = "check_one_leader",
                        ok = false,
                        term = *term
                    );
                    fatal(format!("term {term} has {} (>1) leaders", ids.len()));
                }
            }
            if let Some((term, ids)) = leaders.iter().next_back() {
                event!(
                    None,
                    "check",
                    name = "check_one_leader",
                    ok = true,
                    leader = ids[0],
                    term = *term
                );
                return ids[0];
            }
        }
        event!(None, "check", name = "check_one_leader", ok = false);
        fatal("expected one leader, got none")
    }

    /// Go's `checkTerms`: every connected peer must be in the same term;
    /// returns it (None if no peer is connected).
    pub fn check_terms(&self) -> Option<u64> {
        let mut term = None;
        for i in 0..self.n {
            if !self.is_connected(i) {
                continue;
            }
            let Some((t, _)) = self.state_of(i, "check_terms") else {
                continue;
            };
            match term {
                None => term = Some(t),
                Some(seen) if seen != t => {
                    event!(None, "check", name = "check_terms", ok = false);
                    fatal("servers disagree on term")
                }
                Some(_) => {}
            }
        }
        event!(None, "check", name = "check_terms", ok = true, term = term);
        term
    }

    /// Go's `checkNoLeader`: no connected peer may think it leads.
    pub fn check_no_leader(&self) {
        for i in 0..self.n {
            if !self.is_connected(i) {
                continue;
            }
            if let Some((_, true)) = self.state_of(i, "check_no_leader") {
                event!(
                    None,
                    "check",
                    name = "check_no_leader",
                    ok = false,
                    leader = i
                );
                fatal(format!(
                    "expected no leader among connected servers, but {i} claims to be leader"
                ));
            }
        }
        event!(None, "check", name = "check_no_leader", ok = true);
    }

    /// Go's `nCommitted`: how many peers applied an entry at `index`
    /// (crashed and disconnected ones too: what they applied stays), and
    /// what; fails if two applied different things there.
    pub fn n_committed(&self, index: u64) -> (usize, Option<Value>) {
        check_background();
        let applied = self.applied.lock();
        let mut count = 0;
        let mut command: Option<Value> = None;
        for log in &applied.logs {
            if let Some(cmd) = log.get(&index) {
                if let Some(seen) = &command
                    && seen != cmd
                {
                    fatal(format!(
                        "committed values do not match: index {index}, {seen}, {cmd}"
                    ));
                }
                count += 1;
                command = Some(cmd.clone());
            }
        }
        (count, command)
    }

    /// Go's `wait`: waits for at least `n` peers to apply `index`, with
    /// growing sleeps, and returns what they applied. Gives up with None
    /// (Go's -1) if `start_term` is given and a peer moved past it.
    pub fn wait(&self, index: u64, n: usize, start_term: Option<u64>) -> Option<Value> {
        let mut pause = Duration::from_millis(10);
        for _ in 0..30 {
            let (count, _) = self.n_committed(index);
            if count >= n {
                break;
            }
            step(format!("wait: {count} of {n} applied index {index}"));
            self.sleep(pause);
            if pause < Duration::from_secs(1) {
                pause *= 2;
            }
            if let Some(start_term) = start_term {
                for i in 0..self.n {
                    if let Some((term, _)) = self.state_of(i, "wait")
                        && term > start_term
                    {
                        return None;
                    }
                }
            }
        }
        let (count, command) = self.n_committed(index);
        match command {
            Some(command) if count >= n => Some(command),
            _ => fatal(format!(
                "only {count} decided for index {index}; wanted {n}"
            )),
        }
    }

    /// Peer `i`'s Raft if it is running and connected (one lock, as Go's
    /// `one` reads both under `mu`).
    fn connected_raft(&self, i: usize) -> Option<Arc<R>> {
        let shared = self.shared.lock();
        if shared.connected[i] {
            shared.rafts[i].clone()
        } else {
            None
        }
    }

    /// Go's `one`: submits `command` to whichever connected peer takes it
    /// as leader (starting from server 1, rotating across retries) and
    /// waits up to 2 s for `expected_servers` peers to apply it; retries
    /// for 10 s if `retry`. Returns the index (0 if the test finished
    /// meanwhile, Go's -1).
    pub fn one(&self, command: Command, expected_servers: usize, retry: bool) -> u64 {
        let value = Value::of(&command);
        let t0 = time::now();
        let mut starts = 0;
        while t0.elapsed() < Duration::from_secs(10) && !self.finished.load(Ordering::SeqCst) {
            let mut index = None;
            for _ in 0..self.n {
                starts = (starts + 1) % self.n;
                if let Some(rf) = self.connected_raft(starts) {
                    step(format!(
                        "one({}): asking server {starts} to start",
                        short(&command)
                    ));
                    let (i, _, ok) = thread::as_student(|| rf.start(value.0.clone()));
                    if ok {
                        index = Some(i);
                        break;
                    }
                }
            }
            match index {
                Some(index) => {
                    let t1 = time::now();
                    while t1.elapsed() < Duration::from_secs(2) {
                        step(format!(
                            "one({}): waiting for agreement at index {index}",
                            short(&command)
                        ));
                        let (count, cmd) = self.n_committed(index);
                        if count > 0 && count >= expected_servers && cmd.as_ref() == Some(&value) {
                            return index;
                        }
                        self.sleep(Duration::from_millis(20));
                    }
                    if !retry {
                        fatal(format!("one({command}) failed to reach agreement"));
                    }
                }
                None => self.sleep(Duration::from_millis(50)),
            }
        }
        if !self.finished.load(Ordering::SeqCst) {
            fatal(format!("one({command}) failed to reach agreement"));
        }
        0
    }
}

/// A command for a step's text: TestRPCBytes2B's 5000-char strings cut
/// short.
fn short(command: &Command) -> String {
    let text = command.to_string();
    match text.char_indices().nth(20) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
