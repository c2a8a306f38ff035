//! One Raft peer's shared core: its state behind one lock, its ends to the
//! other peers, its persister and apply channel, and the ticker thread that
//! drives elections and heartbeats.
//!
//! The ticker sleeps in a loop and looks at the clock; there are no timer
//! objects. Nothing here may hold the lock while calling a peer, sending on
//! the apply channel or sleeping.

use crate::ApplyMsg;
use crate::persister::Persister;
use crate::replication::retry_due;
use crate::state::{Role, State};
use labrpc::ClientEnd;
use labrpc::chan::Sender;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Condvar, Mutex, MutexGuard};
use labrpc::time::{self, Duration, Instant, now};

/// The longest the ticker sleeps before looking at its deadlines again
/// (it sleeps until the next deadline when that comes sooner).
pub const MAX_TICK: Duration = Duration::from_millis(100);

/// The shortest the ticker sleeps, so that a deadline already past never
/// makes it spin.
const MIN_TICK: Duration = Duration::from_millis(1);

/// What the peer's threads share.
pub struct Core {
    /// This peer's index in `peers`.
    pub me: usize,
    /// Ends to every peer, this one included.
    pub peers: Vec<ClientEnd>,
    /// Where the persistent state goes.
    pub persister: Persister,
    /// Committed entries go to the service here.
    pub apply_ch: Sender<ApplyMsg>,
    /// Figure 2's state and the role, behind one lock.
    pub state: Mutex<State>,
    /// Wakes the applier when commit_index moves (or the peer dies).
    pub applier_wakeup: Condvar,
    /// Held by the applier while it hands a message to the service; `kill`
    /// takes it once, so that no send completes after `kill` returns.
    pub apply_gate: Mutex<()>,
    /// Set by `kill`.
    dead: AtomicBool,
}

impl Core {
    /// A core in the state `persister` saved (or fresh).
    pub fn new(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Core {
        let mut state = State::new(me, peers.len());
        state.restore(&persister.read_raft_state());
        Core {
            me,
            peers,
            persister,
            apply_ch,
            state: Mutex::new(state),
            applier_wakeup: Condvar::new(),
            apply_gate: Mutex::new(()),
            dead: AtomicBool::new(false),
        }
    }

    /// Takes the peer's lock.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Stops every thread of this peer soon. The flag is set under the
    /// lock so that the applier cannot miss the wake-up between looking
    /// at the flag and waiting. Then waits out a send on the apply channel
    /// already under way (at most `SEND_PATIENCE`): the applier looks at
    /// the flag, under the gate, before every send.
    pub fn kill(&self) {
        {
            let _state = self.lock();
            self.dead.store(true, Ordering::SeqCst);
            self.applier_wakeup.notify_all();
        }
        drop(self.apply_gate.lock());
    }

    /// True once killed.
    pub fn killed(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The ticker: until killed, a leader sends heartbeats every
    /// HEARTBEAT_INTERVAL and sends again to a follower that lacks entries
    /// once its call has been out for a whole patience (`replication`),
    /// and a follower or candidate that heard from no leader and granted
    /// no vote for an election timeout starts an election (§5.2).
    pub fn run_ticker(self: &Arc<Self>) {
        let mut nap = MAX_TICK;
        while !self.killed() {
            time::sleep(nap);
            let mut state = self.lock();
            let now = now();
            if now < next_deadline(&state) {
                // Not yet (the deadline may have moved while asleep).
                nap = nap_until(&state, now);
                continue;
            }
            if state.is_leader() && !state.has_quorum(now) {
                state.become_follower();
            } else if state.is_leader() && now >= state.heartbeat_due {
                self.send_heartbeats(&mut state);
            } else if state.is_leader() {
                self.retry_lagging(&mut state);
            } else {
                self.start_election(&mut state);
            }
            nap = nap_until(&state, now);
        }
    }
}

/// When the ticker has something to do: a leader's next heartbeat or
/// retry, or a follower's or candidate's election.
fn next_deadline(state: &State) -> Instant {
    match state.role {
        Role::Leader => {
            retry_due(state).map_or(state.heartbeat_due, |retry| retry.min(state.heartbeat_due))
        }
        _ => state.election_deadline,
    }
}

/// How long the ticker sleeps from `now`: until the next deadline, at
/// least a millisecond and at most [`MAX_TICK`].
fn nap_until(state: &State, now: Instant) -> Duration {
    let deadline = next_deadline(state);
    if deadline <= now {
        return MIN_TICK;
    }
    (deadline - now).clamp(MIN_TICK, MAX_TICK)
}
