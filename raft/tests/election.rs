//! A small, self-contained check of the reference Raft, independent of the
//! `tests` harness: three peers on a labrpc network wired the way the Go
//! lab's config.go wires them (random end names, long delays on), an apply
//! channel per peer drained by a thread, and a thread owner that must see
//! every thread end after the peers are killed and the network cleaned up.
//!
//! It checks behaviour only through the public API (`make`, `get_state`,
//! `start`, `kill`, `service`). It must never sleep or spawn outside
//! `labrpc::{time, thread}`, and every check must be able to fail: each
//! waits a bounded time and panics with what it saw.
//!
//! The checks are real-time (an election within 5 s, a leader that keeps
//! its place for 2 s). A test whose check fails while the machine woke
//! threads more than [`SUSPECT_LATENESS`] late is reported as inconclusive
//! (a note on stderr) and passes: a follower woken that late misses a
//! heartbeat and starts an election, which is what a correct Raft does.

// Harness code, like the `tests` crate: it owns its test's threads
// (`Owner`) and its watchdog ends the process, which raft/clippy.toml bans
// for the Raft itself.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use labrpc::chan;
use labrpc::sync::{Arc, Mutex};
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration, Instant, OversleepWatch, now};
use labrpc::{Network, Server, rand};
use raft::{ApplyMsg, Persister, Raft};
use std::collections::BTreeMap;
use std::io::Write;

const PEERS: usize = 3;

/// How long an election may take (the lab's limit after a failure).
const ELECTION_LIMIT: Duration = Duration::from_secs(5);

/// How long a committed command may take to reach every connected peer.
const AGREEMENT_LIMIT: Duration = Duration::from_secs(5);

/// How often the checks sample the peers' states.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// `get_state` only takes the lock for a moment; slower than this means
/// the lock is held across something that waits (an RPC, a send).
const GET_STATE_LIMIT: Duration = Duration::from_millis(1500);

/// A stretch with no failures, during which the RPC rate is measured.
const QUIET_WINDOW: Duration = Duration::from_secs(2);

/// The lab's limit on heartbeats to each follower.
const MAX_HEARTBEATS_PER_SECOND: usize = 10;

/// A test still running after this has hung (a Raft call that blocks,
/// such as `get_state` behind a lock held across an RPC): the watchdog
/// ends the process with a message.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// How long the threads have to end after kill and cleanup.
const THREADS_END_LIMIT: Duration = Duration::from_secs(3);

/// A thread woken this late may cost a correct Raft its leader: the
/// heartbeat is 150 ms and election timeouts start at 300 ms (the stress
/// runner's `--suspect-oversleep` default).
const SUSPECT_LATENESS: Duration = Duration::from_millis(100);

/// Runs the test `body`; a failed check while the machine woke threads
/// later than [`SUSPECT_LATENESS`] is inconclusive: it prints a note and
/// passes. Any other failure fails the test.
fn judged(test: &str, body: impl FnOnce()) {
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

/// Three peers, their network, what each applied, and the leaders seen.
struct Cluster {
    owner: Owner,
    net: Network,
    rafts: Vec<Raft>,
    /// `end_names[i][j]`: the name of peer i's end to peer j.
    end_names: Vec<Vec<String>>,
    connected: Vec<bool>,
    /// Every message each peer sent on its apply channel, in order.
    applied: Arc<Mutex<Vec<Vec<ApplyMsg>>>>,
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
    /// Starts three connected peers under `owner`, which the calling test
    /// has entered.
    fn new(owner: Owner) -> Cluster {
        let watchdog = start_watchdog(owner.name());
        let net = Network::new();
        net.set_long_delays(true);
        let end_names: Vec<Vec<String>> = (0..PEERS)
            .map(|_| (0..PEERS).map(|_| rand::string(20)).collect())
            .collect();
        let applied = Arc::new(Mutex::new(vec![Vec::new(); PEERS]));
        let mut rafts = Vec::new();
        for (i, names) in end_names.iter().enumerate() {
            let ends = names
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    let end = net.make_end(name.clone());
                    net.connect(name, j);
                    net.enable(name, true);
                    end
                })
                .collect();
            let (apply_tx, apply_rx) = chan::bounded::<ApplyMsg>(0);
            let log = applied.clone();
            // Ends when every sender is gone, i.e. when the peer's state
            // is dropped: a leftover Raft thread keeps it alive and shows.
            thread::spawn(format!("test-applier-{i}"), move || {
                for msg in apply_rx.iter() {
                    log.lock()[i].push(msg);
                }
            });
            let rf = Raft::make(ends, i, Persister::new(), apply_tx);
            let server = Server::new();
            server.add_service(rf.service());
            net.add_server(i, server);
            rafts.push(rf);
        }
        Cluster {
            owner,
            net,
            rafts,
            end_names,
            connected: vec![true; PEERS],
            applied,
            leaders_by_term: BTreeMap::new(),
            watchdog,
        }
    }

    /// Cuts peer `i` off: every end to or from it is disabled.
    fn disconnect(&mut self, i: usize) {
        self.connected[i] = false;
        for j in 0..PEERS {
            self.net.enable(&self.end_names[i][j], false);
            self.net.enable(&self.end_names[j][i], false);
        }
    }

    /// Reconnects peer `i` to every connected peer (itself included).
    fn connect(&mut self, i: usize) {
        self.connected[i] = true;
        for j in (0..PEERS).filter(|&j| self.connected[j]) {
            self.net.enable(&self.end_names[i][j], true);
            self.net.enable(&self.end_names[j][i], true);
        }
    }

    /// Reads every peer's state once, and fails if a peer took too long to
    /// answer or any term has had two different leaders (now or at any
    /// earlier sample). Returns
    /// `(term, is_leader)` per peer.
    fn sample(&mut self) -> Vec<(u64, bool)> {
        let states: Vec<(u64, bool)> = self
            .rafts
            .iter()
            .enumerate()
            .map(|(peer, rf)| {
                let asked = now();
                let state = rf.get_state();
                let took = asked.elapsed();
                assert!(
                    took < GET_STATE_LIMIT,
                    "get_state on peer {peer} took {took:?}: is its lock held across an RPC?"
                );
                state
            })
            .collect();
        for (peer, &(term, is_leader)) in states.iter().enumerate() {
            if !is_leader {
                continue;
            }
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
    fn wait_for_one_leader(&mut self, above_term: u64) -> (usize, u64) {
        let deadline = now() + ELECTION_LIMIT;
        loop {
            let states = self.sample();
            let leaders: Vec<usize> = (0..PEERS)
                .filter(|&i| self.connected[i] && states[i].1)
                .collect();
            if let [leader] = leaders[..]
                && states[leader].0 > above_term
            {
                return (leader, states[leader].0);
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

    /// Keeps sampling (election safety) for `d`.
    fn watch(&mut self, d: Duration) {
        let until: Instant = now() + d;
        while now() < until {
            self.sample();
            time::sleep(SAMPLE_EVERY);
        }
    }

    /// Waits until every connected peer applied exactly `expected`, in
    /// order; fails after AGREEMENT_LIMIT with what each peer applied.
    fn wait_applied(&mut self, expected: &[ApplyMsg]) {
        let deadline = now() + AGREEMENT_LIMIT;
        loop {
            self.sample();
            let applied = self.applied.lock().clone();
            let done = (0..PEERS)
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
    fn shut_down(self) {
        for rf in &self.rafts {
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

/// A committed command as peer's applier must deliver it.
fn applied_command(index: u64, command: &[u8]) -> ApplyMsg {
    ApplyMsg {
        command_valid: true,
        command: command.to_vec(),
        command_index: index,
        ..ApplyMsg::default()
    }
}

#[test]
fn one_leader_then_a_new_one_after_the_leader_is_cut_off() {
    judged(
        "one_leader_then_a_new_one_after_the_leader_is_cut_off",
        leader_then_new_leader,
    );
}

fn leader_then_new_leader() {
    let owner = Owner::new("raft-election-test");
    let _entered = owner.enter();
    let mut cluster = Cluster::new(owner);

    let (leader1, term1) = cluster.wait_for_one_leader(0);
    assert!(term1 >= 1, "leader {leader1} in term {term1}");
    // With no failures the leader stays, nobody else leads, and the
    // leader sends at most ten heartbeats a second to each follower.
    let rpcs_before = cluster.net.total_count();
    cluster.watch(QUIET_WINDOW);
    let rpcs = cluster.net.total_count() - rpcs_before;
    let limit = MAX_HEARTBEATS_PER_SECOND * (PEERS - 1) * QUIET_WINDOW.as_secs() as usize;
    assert!(
        rpcs <= limit,
        "{rpcs} RPCs in {QUIET_WINDOW:?} with a stable leader; at most {limit} allowed"
    );
    let (again, term_again) = cluster.wait_for_one_leader(0);
    assert_eq!(
        (again, term_again),
        (leader1, term1),
        "leadership changed without a failure"
    );

    cluster.disconnect(leader1);
    let (leader2, term2) = cluster.wait_for_one_leader(term1);
    assert_ne!(leader2, leader1);
    assert!(term2 > term1);

    // The old leader comes back: it must not disturb the new one's term
    // (it steps down when it hears of it), and one leader remains.
    cluster.connect(leader1);
    let (_, term3) = cluster.wait_for_one_leader(term1);
    assert!(term3 >= term2);
    cluster.watch(Duration::from_secs(1));
    let states = cluster.sample();
    let leaders = states.iter().filter(|s| s.1).count();
    assert_eq!(
        leaders, 1,
        "states after the old leader rejoined: {states:?}"
    );

    cluster.shut_down();
}

#[test]
fn a_command_started_on_the_leader_is_applied_everywhere() {
    judged(
        "a_command_started_on_the_leader_is_applied_everywhere",
        command_applied_everywhere,
    );
}

fn command_applied_everywhere() {
    let owner = Owner::new("raft-agreement-test");
    let _entered = owner.enter();
    let mut cluster = Cluster::new(owner);

    let (leader, term) = cluster.wait_for_one_leader(0);
    let follower = (leader + 1) % PEERS;
    let (_, follower_term, follower_leads) = cluster.rafts[follower].start(b"not me".to_vec());
    assert!(!follower_leads, "follower {follower} accepted a command");
    assert!(follower_term >= term);

    let (index, start_term, is_leader) = cluster.rafts[leader].start(b"hello".to_vec());
    assert!(is_leader, "leader {leader} refused start");
    assert_eq!(index, 1, "the first command's index");
    assert_eq!(start_term, term);
    cluster.wait_applied(&[applied_command(1, b"hello")]);

    // A second command, with one follower cut off: the other two still
    // agree, and nothing more is applied on the cut-off one.
    let (leader, _) = cluster.wait_for_one_leader(0);
    let cut = (leader + 1) % PEERS;
    cluster.disconnect(cut);
    let (index, _, is_leader) = cluster.rafts[leader].start(b"world".to_vec());
    assert!(is_leader && index == 2, "second start: index {index}");
    cluster.wait_applied(&[applied_command(1, b"hello"), applied_command(2, b"world")]);
    assert_eq!(
        cluster.applied.lock()[cut],
        vec![applied_command(1, b"hello")],
        "the cut-off peer applied an entry it cannot know is committed"
    );

    // Reconnected, it catches up.
    cluster.connect(cut);
    cluster.wait_applied(&[applied_command(1, b"hello"), applied_command(2, b"world")]);

    cluster.shut_down();
}
