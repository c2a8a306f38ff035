//! Your Raft (lab 2A: leader election and heartbeats).
//!
//! The harness builds this crate and talks to it only through the API
//! below: keep every signature as it is. Read Figure 2 of the extended Raft
//! paper before you start; name your fields after it.
//!
//! Rules the harness relies on:
//! - `Raft::make` returns at once; long-running work goes on threads you
//!   start with `labrpc::thread::spawn`.
//! - Every sleep, clock read, lock, channel and random draw goes through
//!   `labrpc::{time, sync, chan, rand}` (clippy rejects the std ones).
//! - Never hold your lock while you call a peer (`ClientEnd::call` may take
//!   seconds to fail) or while you send on `apply_ch` (nobody may be
//!   receiving yet).
//! - After `kill()`, every thread you started must end soon: the harness
//!   fails a test that leaves threads behind.
//!
//! What you may add:
//! - Public items of your own (types, functions): allowed; the harness uses
//!   only `Raft`, `ApplyMsg` and `Persister`.
//! - More methods on the `"Raft"` service (say `"Raft.InstallSnapshot"`):
//!   allowed; the harness registers what `service()` returns and never
//!   calls a method itself. They count in the RPC totals the tests bound.
//!   Keep the name `"Raft"`: it is the only service a peer's server holds.
//! - Private modules (`mod election;` with `src/election.rs`, nested
//!   folders too): allowed; the grader copies all of `src/`. Keep
//!   `persister.rs` as it is: the grader puts the course's copy there.
//! - Event loops can wait on several channels at once with
//!   `labrpc::chan::Select` (with a deadline), and share state with
//!   `labrpc::sync::{Mutex, RwLock, Condvar}`.

mod persister;

pub use persister::Persister;

use labrpc::chan::Sender;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Mutex};
use labrpc::time::{self, Duration};
use labrpc::{ClientEnd, Service, thread};
use serde::{Deserialize, Serialize};

/// What a Raft sends on its apply channel for each committed entry (and,
/// from lab 2D, for each snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyMsg {
    pub command_valid: bool,
    pub command: Vec<u8>,
    pub command_index: u64,
    pub snapshot_valid: bool,
    pub snapshot: Vec<u8>,
    pub snapshot_term: u64,
    pub snapshot_index: u64,
}

/// One Raft peer: a cheap handle to state shared with its threads.
pub struct Raft {
    shared: Arc<Shared>,
}

struct Shared {
    /// The state of Figure 2, behind one lock. Add the fields you need.
    state: Mutex<State>,
    /// Set by `kill()`; every thread checks it.
    dead: AtomicBool,
    peers: Vec<ClientEnd>,
    me: usize,
    persister: Persister,
    apply_ch: Sender<ApplyMsg>,
}

#[derive(Default)]
struct State {
    current_term: u64,
    // Hint: voted_for, log, commit_index, last_applied, the role, the time
    // of the last heartbeat...
}

/// RequestVote arguments (Figure 2). Add the fields the paper lists.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RequestVoteArgs {
    pub term: u64,
}

/// RequestVote reply (Figure 2). Add the fields the paper lists.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RequestVoteReply {
    pub term: u64,
}

impl Raft {
    /// Creates peer `me` of `peers` (`peers[me]` is this peer's own end).
    /// Restore what `persister` saved, start your background threads, and
    /// return at once.
    pub fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Raft {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            dead: AtomicBool::new(false),
            peers,
            me,
            persister,
            apply_ch,
        });
        let ticker = shared.clone();
        thread::spawn(format!("raft-{me}-ticker"), move || {
            ticker.tick_until_killed()
        });
        Raft { shared }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        let state = self.shared.state.lock();
        // Hint: report whether this peer is the leader.
        (state.current_term, false)
    }

    /// Asks the leader to agree on `command` (lab 2B). Returns the index the
    /// command will have if it is ever committed, the current term, and
    /// whether this peer is the leader. Must return at once.
    pub fn start(&self, command: Vec<u8>) -> (u64, u64, bool) {
        let _ = command;
        let term = self.shared.state.lock().current_term;
        (0, term, false)
    }

    /// Stops this peer: its threads end soon and it sends nothing more.
    pub fn kill(&self) {
        self.shared.dead.store(true, Ordering::SeqCst);
    }

    /// The service has saved a snapshot of everything up to and including
    /// `index` (lab 2D). Nothing to do before then.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        let _ = (index, snapshot);
    }

    /// The RPC handlers other peers call, as the labrpc service "Raft".
    pub fn service(&self) -> Service {
        let mut service = Service::new("Raft");
        let shared = self.shared.clone();
        service.register("RequestVote", move |args: RequestVoteArgs| {
            shared.request_vote(args)
        });
        // Hint: register "AppendEntries" the same way.
        service
    }
}

impl Shared {
    fn killed(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The RequestVote handler (Figure 2, "Receiver implementation").
    fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let state = self.state.lock();
        let _ = args;
        RequestVoteReply {
            term: state.current_term,
        }
    }

    /// Sends a RequestVote to `server` and waits for the reply. `None`
    /// means no reply came (lost, or the peer is unreachable): call it from
    /// a thread of its own, never while holding the lock.
    #[allow(dead_code)]
    fn send_request_vote(&self, server: usize, args: &RequestVoteArgs) -> Option<RequestVoteReply> {
        self.peers[server].call("Raft.RequestVote", args)
    }

    /// Wakes up now and then until killed. Hint: start an election when no
    /// heartbeat came for a randomized timeout (`labrpc::rand::millis`),
    /// well above the paper's 150-300 ms, since the tester allows at most
    /// ten heartbeats a second.
    fn tick_until_killed(&self) {
        while !self.killed() {
            time::sleep(Duration::from_millis(50) + labrpc::rand::millis(0..300));
            let _ = (self.me, &self.persister, &self.apply_ch);
        }
    }
}
