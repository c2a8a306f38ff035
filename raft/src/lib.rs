//! The student-facing Raft API, and the reference Raft.
//!
//! # The contract
//! The harness (`tests`) and the grader build a `raft` crate against this
//! API and nothing else; a student's crate must keep every signature.
//!
//! - [`Raft`] is a cheap handle (an `Arc` inside) and must be
//!   `Send + Sync + 'static`: the harness shares it between threads.
//! - [`Raft::make`]`(peers, me, persister, apply_ch)` creates peer `me` of
//!   `peers` (`peers[me]` is its own end), restores what `persister` saved
//!   with `read_raft_state()` (empty means a fresh start), starts its
//!   background threads and returns at once.
//! - [`Raft::get_state`] returns `(current_term, is_leader)`.
//! - [`Raft::start`]`(command)` asks the leader to agree on `command` (bytes
//!   the service encoded with labcodec) and returns at once, without waiting
//!   for agreement, with `(index, term, is_leader)`: the index the command
//!   will have if it is ever committed. A peer that is not the leader
//!   appends nothing and returns `is_leader` false (its index is
//!   meaningless).
//! - Each committed command is sent once, in index order with no gaps, on
//!   `apply_ch` as an [`ApplyMsg`] with `command_valid` set and
//!   `command_index` its log index (the first command has index 1).
//! - [`Raft::kill`] stops the peer: every thread it started ends soon
//!   (within about a second), and once `kill` has returned it sends nothing
//!   more on `apply_ch`. The harness fails a test that leaves threads
//!   running after it killed the peers and cleaned up the network.
//! - [`Raft::snapshot`]`(index, snapshot)` (lab 2D): the service has a
//!   snapshot of everything up to `index`, an index the Raft already sent
//!   it; the Raft may discard its log up to there and must save the
//!   snapshot with its state (`persister.save(state, snapshot)`, one call).
//!   The service calls it from the thread that receives on `apply_ch`, so
//!   the Raft must not hold its lock while sending there.
//! - A snapshot the Raft receives from a leader goes to the service on
//!   `apply_ch` as an [`ApplyMsg`] with `snapshot_valid` set, in order with
//!   the commands: after every command before its `snapshot_index`, before
//!   every command after it, and never one older than what the service has
//!   already applied. After a restart, [`Raft::make`] restores the state
//!   and continues from the saved snapshot (`read_snapshot()`), which the
//!   service reads itself: the next command it expects is the one just
//!   after the snapshot.
//! - [`Raft::service`] returns the labrpc service `"Raft"` whose handlers
//!   the other peers call as `"Raft.RequestVote"` and
//!   `"Raft.AppendEntries"`; each handler is a closure holding a clone of
//!   the peer's shared state.
//! - [`Persister`] keeps what must survive a crash; save with
//!   `persister.save(state, persister.read_snapshot())` whenever the
//!   persistent state changes, before answering an RPC or sending one. The
//!   harness owns its code.
//!
//! # What a crate may add
//! - Extra public items (types, functions, `pub use`) are allowed: the
//!   harness names only the items above, so anything else is the crate's
//!   own business. This crate exports its RPC messages and `LogEntry`.
//! - Extra methods on the `"Raft"` service are allowed: the harness
//!   registers whatever [`Raft::service`] returns on each peer's server
//!   and never calls a method itself, so a peer may call any method its
//!   own service registers (`"Raft.InstallSnapshot"`, `"Raft.Ping"`...).
//!   Every call counts in the RPC totals the tests bound, like
//!   RequestVote and AppendEntries. The service must be called `"Raft"`,
//!   and it is the only one a server holds: a second service cannot be
//!   added.
//! - Private modules are allowed, nested ones too: the grader copies the
//!   whole `src/` folder (and nothing else: not `Cargo.toml`, `build.rs`
//!   or other folders). `src/persister.rs` is the course's and is replaced
//!   by its copy; keep `mod persister; pub use persister::Persister;`.
//! - Dependencies are only those of the course's `raft/Cargo.toml`
//!   (`labrpc`, `labcodec`, `serde`); every blocking call goes through
//!   `labrpc`'s layer, whose `chan` has a `Select` with a deadline and
//!   whose `sync` has `Mutex`, `RwLock` and `Condvar`.
//!
//! # Rules a Raft must follow
//! - Every sleep, clock read, thread, lock, channel and random draw goes
//!   through `labrpc::{time, thread, sync, chan, rand}`: a run can then be
//!   replayed from its `LAB_SEED`, and a deterministic scheduler can later
//!   run it in virtual time. clippy rejects the std ones. Name every
//!   thread.
//! - Never hold the lock while calling a peer (a call to an unreachable
//!   peer takes up to 7 s to fail) or while sending on `apply_ch` (a
//!   rendezvous channel of capacity 0: the send waits for the receiver).
//! - At most ten heartbeats a second to each follower; a new leader within
//!   five seconds of a failure.
//!
//! # The reference Raft
//! Follows Figure 2 of the extended Raft paper field by field: `state`
//! holds the fields and role transitions (and persists them), `peer` the
//! shared core and the ticker, `election` the RequestVote side,
//! `replication` AppendEntries on both sides, `backup` the fast backup
//! over a follower's conflicting log, `commit` the leader's commit rule,
//! `apply` the applier, `log` the log with its sentinel (the last entry a
//! snapshot covers), `snapshot` the service's snapshots and
//! InstallSnapshot (§7, Figure 13), `rpc` the messages. Its events (role,
//! term, votes, timer resets) go to the `LAB_LOG` event log.
//!
//! Timing: election timeouts drawn from 300..600 ms, heartbeats every
//! 150 ms, the ticker sleeping until its next deadline (at most 100 ms at a
//! time), and at most one AppendEntries out per follower unless it has been
//! out 200 ms. A new command, a reply that leaves a follower short, and a
//! commit go out at once, without waiting for the next heartbeat. A leader
//! that has heard from no majority for 1.2 s steps down (check quorum).

mod apply;
mod backup;
mod calls_out;
mod commit;
mod election;
mod log;
mod peer;
mod persister;
mod replication;
mod rpc;
mod snapshot;
mod state;

pub use log::LogEntry;
pub use persister::Persister;
pub use rpc::{
    AppendEntriesArgs, AppendEntriesReply, Conflict, InstallSnapshotArgs, InstallSnapshotReply,
    RequestVoteArgs, RequestVoteReply,
};

use labrpc::chan::Sender;
use labrpc::sync::Arc;
use labrpc::time::now;
use labrpc::{ClientEnd, Service, thread};
use peer::Core;

/// What a Raft sends on its apply channel (Go's `ApplyMsg`): a committed
/// command, or (from lab 2D) a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyMsg {
    /// True when this message carries a committed command.
    pub command_valid: bool,
    /// The command, as the service encoded it.
    pub command: Vec<u8>,
    /// The command's log index.
    pub command_index: u64,
    /// True when this message carries a snapshot.
    pub snapshot_valid: bool,
    /// The snapshot's bytes.
    pub snapshot: Vec<u8>,
    /// Term of the last entry the snapshot covers.
    pub snapshot_term: u64,
    /// Index of the last entry the snapshot covers.
    pub snapshot_index: u64,
}

/// One Raft peer: a cheap handle to state shared with its threads.
pub struct Raft {
    core: Arc<Core>,
}

// The harness shares a Raft between threads: keep it Send + Sync + 'static.
const _: () = {
    const fn assert_shareable<T: Send + Sync + 'static>() {}
    assert_shareable::<Raft>();
};

impl Raft {
    /// Creates peer `me` of `peers`, restored from `persister`, and starts
    /// its ticker and applier threads. Returns at once.
    pub fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Raft {
        let core = Arc::new(Core::new(peers, me, persister, apply_ch));
        let ticker = core.clone();
        thread::spawn(format!("raft-{me}-ticker"), move || ticker.run_ticker());
        let applier = core.clone();
        thread::spawn(format!("raft-{me}-applier"), move || applier.run_applier());
        Raft { core }
    }

    /// The current term, and whether this peer believes it is the leader.
    pub fn get_state(&self) -> (u64, bool) {
        let state = self.core.lock();
        (state.current_term, state.is_leader())
    }

    /// Appends `command` to the leader's log (§5.3), saves it, and sends it
    /// at once to every follower with no call out. Returns `(index, term,
    /// is_leader)` without waiting for agreement.
    pub fn start(&self, command: Vec<u8>) -> (u64, u64, bool) {
        let mut state = self.core.lock();
        let term = state.current_term;
        // A leader that has heard from no majority lately is most likely
        // deposed: it turns the command away (`START_LEASE`).
        if !state.may_take_commands(now()) || self.core.killed() {
            return (0, term, false);
        }
        let index = state.log.push(LogEntry { term, command });
        let me = state.me;
        state.match_index[me] = index;
        // Saved before any follower can hear of it (Figure 2).
        state.persist(&self.core.persister);
        self.core.replicate_to_all(&mut state);
        (index, term, true)
    }

    /// Stops this peer; its threads end within a tick or a call.
    pub fn kill(&self) {
        self.core.kill();
    }

    /// Lab 2D: the service has a snapshot up to and including `index`; the
    /// log drops what it covers, and the snapshot is saved with the state
    /// (§7).
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.core.snapshot(index, snapshot);
    }

    /// The labrpc service `"Raft"`: `RequestVote`, `AppendEntries` and
    /// `InstallSnapshot`.
    pub fn service(&self) -> Service {
        let mut service = Service::new("Raft");
        let core = self.core.clone();
        service.register("RequestVote", move |args| core.request_vote(args));
        let core = self.core.clone();
        service.register("AppendEntries", move |args| core.append_entries(args));
        let core = self.core.clone();
        service.register("InstallSnapshot", move |args| core.install_snapshot(args));
        service
    }
}
