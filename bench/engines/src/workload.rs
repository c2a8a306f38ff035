//! One 2A-shaped run, written once for both engines: 3 peers, each with a
//! ticker thread (randomized election timeout of 150-300 ms that sleeps
//! in a loop) and a heartbeat thread (every 100 ms while leader), one
//! caller thread per RPC plus one network thread that delays it 0-26 ms
//! (as labrpc does) and a caller that checks every 100 ms for the reply,
//! votes gathered over a channel, and a test thread shaped like Go's
//! TestInitialElection2A then TestReElection2A (`checkOneLeader` rounds of
//! 450-550 ms, the leader disconnected once and reconnected) for 5 s of
//! virtual time.
//!
//! It is not a Raft (no log, no persistence): it only has to make the
//! same kind and number of scheduling points as one 2A test. Every
//! blocking call goes through [`Engine`] and is noted in the run's
//! [`Trace`]. This module must never block except through [`Engine`].

use crate::engine::Engine;
use crate::trace::{Op, Trace};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const PEERS: usize = 3;
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long the test thread runs, in virtual time.
const LENGTH: Duration = Duration::from_secs(5);
/// labrpc's caller checks that the server is still there this often.
const CALL_CHECK: Duration = Duration::from_millis(100);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// A peer's state (§5.1: currentTerm, votedFor, its role).
struct Peer {
    current_term: u64,
    voted_for: Option<usize>,
    role: Role,
    /// When it last heard from a leader or granted a vote.
    heard: Duration,
}

#[derive(Clone, Copy)]
enum Request {
    /// RequestVote (§5.2), no log.
    Vote { term: u64, candidate_id: usize },
    /// An empty AppendEntries: a heartbeat (§5.2).
    Append { term: u64 },
}

#[derive(Clone, Copy)]
struct Reply {
    term: u64,
    granted: bool,
}

/// What one run did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Scheduling points the workload went through (its [`Trace`]).
    pub points: u64,
    /// Hash of the order in which threads came back from them.
    pub schedule_hash: u64,
    /// Threads started.
    pub threads: u64,
    pub rpcs: u64,
    pub elections: u64,
    /// `checkOneLeader` rounds that found no leader in 10 tries, or two.
    pub failed_checks: u64,
    /// Virtual time at the end.
    pub end: Duration,
}

struct World<E: Engine> {
    trace: Trace,
    ids: AtomicU64,
    stopped: AtomicBool,
    peers: Vec<E::Mutex<Peer>>,
    connected: E::Mutex<[bool; PEERS]>,
    /// Threads started for RPCs and elections, joined at the end.
    spawned: E::Mutex<Vec<E::Handle<()>>>,
    rpcs: AtomicU64,
    elections: AtomicU64,
}

type W<E> = Arc<World<E>>;

impl<E: Engine> World<E> {
    fn spawn<T: Send + 'static>(
        self: &Arc<Self>,
        me: u64,
        name: &str,
        f: impl FnOnce(u64) -> T + Send + 'static,
    ) -> E::Handle<T> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let w = self.clone();
        let handle = E::spawn(name, move || {
            w.trace.note(id, Op::Spawn, E::now());
            f(id)
        });
        self.trace.note(me, Op::Spawn, E::now());
        handle
    }

    /// Starts a thread joined only at the end of the run.
    fn spawn_detached(self: &Arc<Self>, me: u64, name: &str, f: impl FnOnce(u64) + Send + 'static) {
        let handle = self.spawn(me, name, f);
        self.lock(me, &self.spawned, |s| s.push(handle));
    }

    fn join<T: Send + 'static>(&self, me: u64, handle: E::Handle<T>) -> T {
        let result = E::join(handle);
        self.trace.note(me, Op::Join, E::now());
        result
    }

    fn sleep(&self, me: u64, d: Duration) {
        E::sleep(d);
        self.trace.note(me, Op::Sleep, E::now());
    }

    fn lock<T: Send + 'static, R>(
        &self,
        me: u64,
        m: &E::Mutex<T>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let result = E::with_lock(m, f);
        self.trace.note(me, Op::Lock, E::now());
        result
    }

    fn send<T: Send + 'static>(&self, me: u64, tx: &E::Sender<T>, value: T) {
        E::send(tx, value);
        self.trace.note(me, Op::Send, E::now());
    }

    fn recv<T: Send + 'static>(
        &self,
        me: u64,
        rx: &E::Receiver<T>,
        timeout: Duration,
    ) -> Option<T> {
        let got = E::recv_timeout(rx, Some(timeout));
        self.trace.note(me, Op::Recv, E::now());
        got
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn both_up(&self, me: u64, a: usize, b: usize) -> bool {
        self.lock(me, &self.connected, |c| c[a] && c[b])
    }

    /// One RPC as labrpc makes it: a network thread delays it, runs the
    /// handler and sends the reply back; the caller checks every 100 ms.
    fn call(self: &Arc<Self>, me: u64, from: usize, to: usize, request: Request) -> Option<Reply> {
        self.rpcs.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = E::channel::<Option<Reply>>();
        let w = self.clone();
        let net = self.spawn(me, "net", move |id| {
            if !w.both_up(id, from, to) {
                w.sleep(id, ms(E::below(100)));
                w.send(id, &tx, None);
                return;
            }
            w.sleep(id, ms(E::below(27)));
            let now = E::now();
            let reply = w.lock(id, &w.peers[to], |p| handle(p, request, now));
            let delivered = w.both_up(id, from, to).then_some(reply);
            w.send(id, &tx, delivered);
        });
        let reply = loop {
            if let Some(reply) = self.recv(me, &rx, CALL_CHECK) {
                break reply;
            }
        };
        self.join(me, net);
        reply
    }

    /// Steps down if `reply` carries a later term (§5.1).
    fn note_term(&self, me: u64, peer: usize, reply: Option<Reply>) {
        if let Some(r) = reply {
            self.lock(me, &self.peers[peer], |p| {
                if r.term > p.current_term {
                    p.current_term = r.term;
                    p.role = Role::Follower;
                    p.voted_for = None;
                }
            });
        }
    }
}

/// A peer's RPC handlers (§5.1, §5.2).
fn handle(p: &mut Peer, request: Request, now: Duration) -> Reply {
    let term = match request {
        Request::Vote { term, .. } | Request::Append { term } => term,
    };
    if term > p.current_term {
        p.current_term = term;
        p.role = Role::Follower;
        p.voted_for = None;
    }
    let current = term == p.current_term;
    let granted = match request {
        Request::Vote { candidate_id, .. } => {
            let free = p.voted_for.is_none_or(|v| v == candidate_id);
            if current && free {
                p.voted_for = Some(candidate_id);
            }
            current && free
        }
        Request::Append { .. } => {
            if current {
                p.role = Role::Follower;
            }
            current
        }
    };
    if granted {
        p.heard = now;
    }
    Reply {
        term: p.current_term,
        granted,
    }
}

fn ticker<E: Engine>(w: W<E>, peer: usize, me: u64) {
    loop {
        let timeout = ms(150 + E::below(150));
        w.sleep(me, timeout);
        if w.stopped() {
            return;
        }
        let now = E::now();
        let term = w.lock(me, &w.peers[peer], |p| {
            if p.role == Role::Leader || now.saturating_sub(p.heard) < timeout {
                return None;
            }
            p.current_term += 1;
            p.role = Role::Candidate;
            p.voted_for = Some(peer);
            p.heard = now;
            Some(p.current_term)
        });
        if let Some(term) = term {
            let w2 = w.clone();
            w.spawn_detached(me, "election", move |id| election(w2, peer, term, id));
        }
    }
}

fn election<E: Engine>(w: W<E>, peer: usize, term: u64, me: u64) {
    w.elections.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = E::channel::<Option<Reply>>();
    let callers: Vec<_> = (0..PEERS)
        .filter(|&q| q != peer)
        .map(|q| {
            let (w2, tx) = (w.clone(), tx.clone());
            w.spawn(me, "request-vote", move |id| {
                let request = Request::Vote {
                    term,
                    candidate_id: peer,
                };
                let reply = w2.call(id, peer, q, request);
                w2.send(id, &tx, reply);
            })
        })
        .collect();
    let mut votes = 1;
    for _ in 0..callers.len() {
        let Some(reply) = w.recv(me, &rx, ms(300)) else {
            break;
        };
        w.note_term(me, peer, reply);
        votes += usize::from(reply.is_some_and(|r| r.granted));
        if votes > PEERS / 2 {
            w.lock(me, &w.peers[peer], |p| {
                if p.current_term == term && p.role == Role::Candidate {
                    p.role = Role::Leader;
                }
            });
            break;
        }
    }
    for caller in callers {
        w.join(me, caller);
    }
}

fn heartbeats<E: Engine>(w: W<E>, peer: usize, me: u64) {
    loop {
        w.sleep(me, HEARTBEAT);
        if w.stopped() {
            return;
        }
        let term = w.lock(me, &w.peers[peer], |p| {
            (p.role == Role::Leader).then_some(p.current_term)
        });
        let Some(term) = term else { continue };
        for q in (0..PEERS).filter(|&q| q != peer) {
            let w2 = w.clone();
            w.spawn_detached(me, "append-entries", move |id| {
                let reply = w2.call(id, peer, q, Request::Append { term });
                w2.note_term(id, peer, reply);
            });
        }
    }
}

/// Go's `checkOneLeader`: up to 10 rounds of 450-550 ms; the leader of the
/// latest term among connected peers, if there is exactly one.
fn check_one_leader<E: Engine>(w: &W<E>, me: u64) -> Option<usize> {
    for _ in 0..10 {
        w.sleep(me, ms(450 + E::below(100)));
        let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for peer in 0..PEERS {
            if !w.lock(me, &w.connected, |c| c[peer]) {
                continue;
            }
            let (role, term) = w.lock(me, &w.peers[peer], |p| (p.role, p.current_term));
            if role == Role::Leader {
                leaders.entry(term).or_default().push(peer);
            }
        }
        if let Some((_, peers)) = leaders.into_iter().next_back() {
            return (peers.len() == 1).then_some(peers[0]);
        }
    }
    None
}

/// One run: the test thread is the calling thread.
pub fn run<E: Engine>() -> Outcome {
    let w: W<E> = Arc::new(World {
        trace: Trace::default(),
        ids: AtomicU64::new(1),
        stopped: AtomicBool::new(false),
        peers: (0..PEERS)
            .map(|_| {
                E::mutex(Peer {
                    current_term: 0,
                    voted_for: None,
                    role: Role::Follower,
                    heard: Duration::ZERO,
                })
            })
            .collect(),
        connected: E::mutex([true; PEERS]),
        spawned: E::mutex(Vec::new()),
        rpcs: AtomicU64::new(0),
        elections: AtomicU64::new(0),
    });
    let me = 0;
    let mut peer_threads = Vec::new();
    for peer in 0..PEERS {
        let w1 = w.clone();
        peer_threads.push(w.spawn(me, "ticker", move |id| ticker(w1, peer, id)));
        let w2 = w.clone();
        peer_threads.push(w.spawn(me, "heartbeats", move |id| heartbeats(w2, peer, id)));
    }
    let mut failed = 0;
    let mut check = |w: &W<E>| {
        let leader = check_one_leader(w, me);
        failed += u64::from(leader.is_none());
        leader
    };
    // TestInitialElection2A: a leader, and the term holds without failures.
    check(&w);
    w.sleep(me, ms(50));
    w.sleep(me, ms(600));
    let leader1 = check(&w).unwrap_or(0);
    // TestReElection2A: the leader leaves; a new one; it comes back.
    w.lock(me, &w.connected, |c| c[leader1] = false);
    check(&w);
    w.lock(me, &w.connected, |c| c[leader1] = true);
    check(&w);
    w.sleep(me, LENGTH.saturating_sub(E::now()));
    w.stopped.store(true, Ordering::Relaxed);
    for t in peer_threads {
        w.join(me, t);
    }
    loop {
        let batch = w.lock(me, &w.spawned, std::mem::take);
        if batch.is_empty() {
            break;
        }
        for t in batch {
            w.join(me, t);
        }
    }
    let (points, schedule_hash) = w.trace.summary();
    Outcome {
        points,
        schedule_hash,
        threads: w.ids.load(Ordering::Relaxed) - 1,
        rpcs: w.rpcs.load(Ordering::Relaxed),
        elections: w.elections.load(Ordering::Relaxed),
        failed_checks: failed,
        end: E::now(),
    }
}
