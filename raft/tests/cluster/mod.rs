//! A small cluster of reference Raft peers for `raft/tests`, independent
//! of the `tests` harness: peers on a labrpc network wired the way the Go
//! lab's config.go wires them (random end names, long delays on), an apply
//! channel per peer drained by a thread that checks every message, crash
//! and restart from a copy of the peer's persister, and a thread owner that
//! must see every thread end after the peers are killed and the network
//! cleaned up.
//!
//! It reaches the Raft only through the public API (`make`, `get_state`,
//! `start`, `kill`, `service`). It must never sleep or spawn outside
//! `labrpc::{time, thread}`, and every check must be able to fail: each
//! waits a bounded time and panics with what it saw.
//!
//! The checks are real-time (an election within 5 s, agreement within
//! 10 s). A test whose check fails while the machine woke threads more
//! than [`SUSPECT_LATENESS`] late is reported as inconclusive (a note on
//! stderr) and passes: a follower woken that late misses a heartbeat and
//! starts an election, which is what a correct Raft does.

// Harness code, like the `tests` crate: it owns its test's threads
// (`Owner`) and its watchdog ends the process, which raft/clippy.toml bans
// for the Raft itself. Each test binary uses part of it.
#![allow(clippy::disallowed_types, clippy::disallowed_methods, dead_code)]

use labrpc::chan;
use labrpc::sync::{Arc, Mutex};
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration, Instant, OversleepWatch, now};
use labrpc::{Network, Server, rand};
use raft::{ApplyMsg, Persister, Raft};
use std::collections::BTreeMap;
use std::io::Write;

/// How long an election may take (the lab's limit after a failure).
pub const ELECTION_LIMIT: Duration = Duration::from_secs(5);

/// How long a command may take to be committed on enough peers (Go's
/// `one()` allows 10 s).
pub const AGREEMENT_LIMIT: Duration = Duration::from_secs(10);

/// How often the checks sample the peers' states.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// `get_state` only takes the lock for a moment; slower than this means
/// the lock is held across something that waits (an RPC, a send).
const GET_STATE_LIMIT: Duration = Duration::from_millis(1500);

/// A test still running after this has hung (a Raft call that blocks,
/// such as `get_state` behind a lock held across an RPC): the watchdog
/// ends the process with a message.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// How long the threads have to end after kill and cleanup.
const THREADS_END_LIMIT: Duration = Duration::from_secs(3);

/// A thread woken this late may cost a correct Raft its leader: the
/// heartbeat is 150 ms and election timeouts start at 300 ms (the stress
/// runner's `--suspect-oversleep` default).
const SUSPECT_LATENESS: Duration = Duration::from_millis(100);

/// Runs the test `body`; a failed check while the machine woke threads
/// later than [`SUSPECT_LATENESS`] is inconclusive: it prints a note and
/// passes. Any other failure fails the test.
pub fn judged(test: &str, body: impl FnOnce()) {
    let watch = OversleepWatch::start();
    let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) else {
        return;
    };
    let lateness = watch.worst();
    if lateness < SUSPECT_LATENESS {
        std::panic::resume_unwind(panic);
    }
    let _ = writeln!(
        std::io::stderr(),
        "note: {test}: inconclusive: a check failed ({}) while the machine woke threads up to \
         {lateness:?} late",
        thread::panic_message(panic.as_ref())
    );
}

/// What the peers' appliers saw, checked as it arrives.
#[derive(Default)]
pub struct Applied {
    /// Every message each peer sent on its apply channels, in order,
    /// across restarts.
    pub messages: Vec<Vec<ApplyMsg>>,
    /// The command each peer applied at each index (kept across restarts,
    /// like config.go's `logs`).
    pub commands: Vec<BTreeMap<u64, Vec<u8>>>,
    /// What went wrong: an index applied out of order, or two peers (or
    /// one peer twice) applying different commands at one index.
    pub errors: Vec<String>,
}

impl Applied {
    /// Records a message from the instance of `peer` that has applied up to
    /// `last` so far, checking order and agreement.
    fn record(&mut self, peer: usize, last: &mut u64, msg: ApplyMsg) {
        self.messages[peer].push(msg.clone());
        if !msg.command_valid {
            return;
        }
        let index = msg.command_index;
        if index != *last + 1 {
            self.errors.push(format!(
                "peer {peer} applied index {index} after {last}: out of order"
            ));
        }
        *last = index;
        for (other, commands) in self.commands.iter().enumerate() {
            if let Some(seen) = commands.get(&index)
                && *seen != msg.command
            {
                self.errors.push(format!(
                    "index {index}: peer {peer} applied {:?}, peer {other} applied {seen:?}",
                    msg.command
                ));
            }
        }
        self.commands[peer].insert(index, msg.command);
    }
}

/// Peers, their network, what each applied, and the leaders seen.
pub struct Cluster {
    pub owner: Owner,
    pub net: Network,
    /// None while the peer is crashed.
    pub rafts: Vec<Option<Raft>>,
    /// `end_names[i][j]`: the name of peer i's end to peer j.
    end_names: Vec<Vec<String>>,
    pub connected: Vec<bool>,
    /// What each peer saved, handed (as a copy) to its next instance.
    persisters: Vec<Persister>,
    pub applied: Arc<Mutex<Applied>>,
    /// The leader seen in each term (election safety: at most one).
    leaders_by_term: BTreeMap<u64, usize>,
    /// Dropping it stops the watchdog.
    watchdog: chan::Sender<()>,
}

/// Starts a thread that ends the process if the test named `name` has not
/// dropped the returned sender within TEST_LIMIT.
fn start_watchdog(name: &str) -> chan::Sender<()> {
    let (alive, watched) = chan::bounded::<()>(0);
    let name = name.to_string();
    thread::spawn(format!("test-watchdog-{name}"), move || {
        if let Err(chan::RecvTimeoutError::Timeout) = watched.recv_timeout(TEST_LIMIT) {
            // Straight to stderr: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "test {name} still running after {TEST_LIMIT:?}: it hangs (a blocked lock?)"
            );
            std::process::exit(101);
        }
    });
    alive
}

impl Cluster {
    /// Starts `peers` connected peers under `owner`, which the calling
    /// test has entered.
    pub fn new(owner: Owner, peers: usize) -> Cluster {
        let watchdog = start_watchdog(owner.name());
        let net = Network::new();
        net.set_long_delays(true);
        let applied = Applied {
            messages: vec![Vec::new(); peers],
            commands: vec![BTreeMap::new(); peers],
            errors: Vec::new(),
        };
        let mut cluster = Cluster {
            owner,
            net,
            rafts: (0..peers).map(|_| None).collect(),
            end_names: vec![Vec::new(); peers],
            connected: vec![false; peers],
            persisters: (0..peers).map(|_| Persister::new()).collect(),
            applied: Arc::new(Mutex::new(applied)),
            leaders_by_term: BTreeMap::new(),
            watchdog,
        };
        for i in 0..peers {
            cluster.start_peer(i);
        }
        for i in 0..peers {
            cluster.connect(i);
        }
        cluster
    }

    /// The running instance of peer `i`.
    ///
    /// # Panics
    /// If peer `i` is crashed.
    pub fn raft(&self, i: usize) -> &Raft {
        self.rafts[i]
            .as_ref()
            .unwrap_or_else(|| panic!("peer {i} is crashed"))
    }

    /// Number of peers.
    pub fn peers(&self) -> usize {
        self.rafts.len()
    }

    /// Starts peer `i` (config.go's `start1`): crashes the running instance
    /// if any, gives the new one fresh ends and a copy of what the old one
    /// saved. The peer stays disconnected until [`Cluster::connect`].
    pub fn start_peer(&mut self, i: usize) {
        self.crash(i);
        let peers = self.peers();
        self.end_names[i] = (0..peers).map(|_| rand::string(20)).collect();
        let ends = (0..peers)
            .map(|j| {
                let name = &self.end_names[i][j];
                let end = self.net.make_end(name.clone());
                self.net.connect(name, j);
                end
            })
            .collect();
        self.persisters[i] = self.persisters[i].copy();
        let (apply_tx, apply_rx) = chan::bounded::<ApplyMsg>(0);
        let applied = self.applied.clone();
        // Ends when every sender is gone, i.e. when the instance's state is
        // dropped: a leftover Raft thread keeps it alive and shows.
        thread::spawn(format!("test-applier-{i}"), move || {
            let mut last = 0;
            for msg in apply_rx.iter() {
                applied.lock().record(i, &mut last, msg);
            }
        });
        let rf = Raft::make(ends, i, self.persisters[i].clone(), apply_tx);
        let server = Server::new();
        server.add_service(rf.service());
        self.net.add_server(i, server);
        self.rafts[i] = Some(rf);
    }

    /// Crashes peer `i` (config.go's `crash1`): cut off, its server gone,
    /// killed; what it saved stays for the next instance, and anything the
    /// dying instance still writes goes to a persister nobody reads.
    pub fn crash(&mut self, i: usize) {
        self.disconnect(i);
        self.net.delete_server(i);
        self.persisters[i] = self.persisters[i].copy();
        if let Some(rf) = self.rafts[i].take() {
            rf.kill();
        }
    }

    /// Cuts peer `i` off: every end to or from it is disabled.
    pub fn disconnect(&mut self, i: usize) {
        self.connected[i] = false;
        for j in 0..self.peers() {
            for name in [self.end_names[i].get(j), self.end_names[j].get(i)]
                .into_iter()
                .flatten()
            {
                self.net.enable(name, false);
            }
        }
    }

    /// Reconnects peer `i` to every connected peer (itself included).
    pub fn connect(&mut self, i: usize) {
        self.connected[i] = true;
        for j in (0..self.peers()).filter(|&j| self.connected[j]) {
            self.net.enable(&self.end_names[i][j], true);
            self.net.enable(&self.end_names[j][i], true);
        }
    }

    /// Reads every live peer's state once (None for a crashed one), and
    /// fails if a peer took too long to answer, an applier saw something
    /// wrong, or any term has had two different leaders (now or at any
    /// earlier sample).
    pub fn sample(&mut self) -> Vec<Option<(u64, bool)>> {
        let errors = self.applied.lock().errors.clone();
        assert!(errors.is_empty(), "apply errors: {errors:?}");
        let states: Vec<Option<(u64, bool)>> = self
            .rafts
            .iter()
            .enumerate()
            .map(|(peer, rf)| {
                let rf = rf.as_ref()?;
                let asked = now();
                let state = rf.get_state();
                let took = asked.elapsed();
                assert!(
                    took < GET_STATE_LIMIT,
                    "get_state on peer {peer} took {took:?}: is its lock held across an RPC?"
                );
                Some(state)
            })
            .collect();
        for (peer, state) in states.iter().enumerate() {
            let Some((term, true)) = *state else {
                continue;
            };
            let first = *self.leaders_by_term.entry(term).or_insert(peer);
            assert_eq!(
                first, peer,
                "term {term} has two leaders: peers {first} and {peer} (states {states:?})"
            );
        }
        states
    }

    /// Waits until exactly one connected peer leads, in a term above
    /// `above_term`; returns `(leader, term)`. Fails after ELECTION_LIMIT.
    pub fn wait_for_one_leader(&mut self, above_term: u64) -> (usize, u64) {
        let deadline = now() + ELECTION_LIMIT;
        loop {
            let states = self.sample();
            let leaders: Vec<(usize, u64)> = (0..self.peers())
                .filter(|&i| self.connected[i])
                .filter_map(|i| match states[i] {
                    Some((term, true)) => Some((i, term)),
                    _ => None,
                })
                .collect();
            if let [(leader, term)] = leaders[..]
                && term > above_term
            {
                return (leader, term);
            }
            assert!(
                now() < deadline,
                "no single leader in a term above {above_term} within {ELECTION_LIMIT:?}: \
                 connected {:?}, states {states:?}",
                self.connected
            );
            time::sleep(SAMPLE_EVERY);
        }
    }

    /// Keeps sampling (election safety, apply checks) for `d`.
    pub fn watch(&mut self, d: Duration) {
        let until: Instant = now() + d;
        while now() < until {
            self.sample();
            time::sleep(SAMPLE_EVERY);
        }
    }

    /// How many peers applied something at `index`, and what (the appliers
    /// already checked that they agree).
    pub fn n_committed(&self, index: u64) -> (usize, Option<Vec<u8>>) {
        let applied = self.applied.lock();
        let mut found = applied.commands.iter().filter_map(|c| c.get(&index));
        let first = found.next().cloned();
        (usize::from(first.is_some()) + found.count(), first)
    }

    /// Go's `one()`: starts `command` on whichever connected peer accepts
    /// it, and waits until at least `expected` peers applied it at the
    /// index that peer gave; tries again (the leader may change) until
    /// AGREEMENT_LIMIT, then fails. Returns the index.
    pub fn one(&mut self, command: &[u8], expected: usize) -> u64 {
        let deadline = now() + AGREEMENT_LIMIT;
        let mut next = 0;
        while now() < deadline {
            let mut index = None;
            for _ in 0..self.peers() {
                next = (next + 1) % self.peers();
                if let (true, Some(rf)) = (self.connected[next], &self.rafts[next]) {
                    let (i, _, is_leader) = rf.start(command.to_vec());
                    if is_leader {
                        index = Some(i);
                        break;
                    }
                }
            }
            let Some(index) = index else {
                self.sample();
                time::sleep(Duration::from_millis(50));
                continue;
            };
            let started = now();
            while now() - started < Duration::from_secs(2) {
                self.sample();
                let (count, applied) = self.n_committed(index);
                if count >= expected && applied.as_deref() == Some(command) {
                    return index;
                }
                time::sleep(SAMPLE_EVERY);
            }
        }
        panic!(
            "one({command:?}) failed to reach agreement on {expected} peers within \
             {AGREEMENT_LIMIT:?}; connected {:?}",
            self.connected
        );
    }

    /// Waits until every connected peer has applied exactly `expected`, in
    /// order, with nothing else; fails after AGREEMENT_LIMIT with what each
    /// peer applied.
    pub fn wait_applied(&mut self, expected: &[ApplyMsg]) {
        let deadline = now() + AGREEMENT_LIMIT;
        loop {
            self.sample();
            let applied = self.applied.lock().messages.clone();
            let done = (0..self.peers())
                .filter(|&i| self.connected[i])
                .all(|i| applied[i] == expected);
            if done {
                return;
            }
            for log in &applied {
                assert!(
                    expected.starts_with(log),
                    "a peer applied something else: wanted {expected:?}, applied {applied:?}"
                );
            }
            assert!(
                now() < deadline,
                "not applied on every connected peer within {AGREEMENT_LIMIT:?}: \
                 wanted {expected:?}, applied {applied:?}"
            );
            time::sleep(SAMPLE_EVERY);
        }
    }

    /// Kills every peer, cleans the network up, drops the peers, and checks
    /// that every thread of the test ended and none failed.
    pub fn shut_down(mut self) {
        self.sample();
        for rf in self.rafts.iter().flatten() {
            rf.kill();
        }
        self.net.cleanup();
        let Cluster {
            owner,
            rafts,
            watchdog,
            ..
        } = self;
        drop((rafts, watchdog));
        if let Err(left) = owner.wait_threads_ended(THREADS_END_LIMIT) {
            panic!("threads still running {THREADS_END_LIMIT:?} after kill and cleanup: {left:?}");
        }
        assert_eq!(owner.failure(), None, "a thread of the test failed");
    }
}

/// A committed command as a peer's applier must deliver it.
pub fn applied_command(index: u64, command: &[u8]) -> ApplyMsg {
    ApplyMsg {
        command_valid: true,
        command: command.to_vec(),
        command_index: index,
        ..ApplyMsg::default()
    }
}
