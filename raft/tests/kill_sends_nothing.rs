//! The contract's promise about `kill` (raft/src/lib.rs): once `kill` has
//! returned, the reference Raft sends no RPC.
//!
//! Peer 0 is a real `raft::Raft`; the two other peers are stub servers
//! that answer for the Raft service, so that every RPC on the network is
//! one peer 0 sent (the network counts each request before anything else
//! happens to it). Each trial kills peer 0 at the moment it is most likely
//! to have calls about to leave: right after it starts an election, or
//! right after it becomes leader. It must fail if a single RPC is counted
//! after `kill` returned.

// A harness of its own: it owns the trial's threads (thread::Owner, which
// the course's ban keeps from student code).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use labrpc::chan;
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration};
use labrpc::{Network, Server, Service};
use raft::{
    AppendEntriesArgs, AppendEntriesReply, Persister, Raft, RequestVoteArgs, RequestVoteReply,
};

/// Trials per case: before the fix, one trial in twelve saw a RequestVote
/// leave after kill() returned.
const TRIALS: usize = 30;

/// Long enough for a call spawned before `kill` to reach the network.
const AFTER_KILL: Duration = Duration::from_millis(300);

/// An election comes within 600 ms; this is generous.
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// A stub peer: refuses or grants every vote, accepts every AppendEntries.
fn stub_service(grants_votes: bool) -> Service {
    let mut service = Service::new("Raft");
    service.register("RequestVote", move |args: RequestVoteArgs| {
        RequestVoteReply {
            term: args.term,
            vote_granted: grants_votes,
        }
    });
    service.register("AppendEntries", |args: AppendEntriesArgs| {
        AppendEntriesReply {
            term: args.term,
            success: true,
            conflict: None,
        }
    });
    service
}

/// Peer 0 with stub peers 1 and 2, wired as config.go wires peers.
fn cluster(grants_votes: bool) -> (Network, Raft) {
    let net = Network::new();
    let ends = (0..3)
        .map(|j| {
            let name = format!("end-0-{j}");
            let end = net.make_end(name.as_str());
            net.connect(&name, j);
            net.enable(&name, true);
            end
        })
        .collect();
    for j in 1..3 {
        let server = Server::new();
        server.add_service(stub_service(grants_votes));
        net.add_server(j, server);
    }
    let (tx, rx) = chan::bounded(0);
    thread::spawn("apply-drain", move || while rx.recv().is_ok() {});
    let raft = Raft::make(ends, 0, Persister::new(), tx);
    let server = Server::new();
    server.add_service(raft.service());
    net.add_server(0, server);
    (net, raft)
}

/// Waits until `ready` holds for peer 0's `(term, is_leader)`, asking
/// without pause, so that it sees the change the moment the peer lets go
/// of its lock (when the threads that will send are just started).
fn wait_for(raft: &Raft, what: &str, ready: impl Fn(u64, bool) -> bool) {
    let t0 = time::now();
    loop {
        let (term, leader) = raft.get_state();
        if ready(term, leader) {
            return;
        }
        assert!(t0.elapsed() < WAIT_LIMIT, "peer 0 never {what}");
        std::hint::spin_loop();
    }
}

/// One trial: RPCs peer 0 sent after its `kill` returned.
fn rpcs_after_kill(grants_votes: bool) -> usize {
    let owner = Owner::new("kill-trial");
    let _in = owner.enter();
    let (net, raft) = cluster(grants_votes);
    if grants_votes {
        wait_for(&raft, "became leader", |_, leader| leader);
    } else {
        let (first, _) = raft.get_state();
        wait_for(&raft, "started an election", |term, _| term > first);
    }
    raft.kill();
    let at_kill = net.total_count();
    time::sleep(AFTER_KILL);
    let late = net.total_count() - at_kill;
    net.cleanup();
    drop(raft);
    if let Err(left) = owner.wait_threads_ended(Duration::from_secs(10)) {
        panic!("threads left after kill and cleanup: {left:?}");
    }
    assert_eq!(owner.failure(), None);
    late
}

fn check(grants_votes: bool) {
    let late: Vec<usize> = (0..TRIALS).map(|_| rpcs_after_kill(grants_votes)).collect();
    assert!(
        late.iter().all(|&n| n == 0),
        "RPCs sent after kill() returned, per trial: {late:?}"
    );
}

#[test]
fn candidate_killed_as_its_election_starts_sends_nothing_more() {
    check(false);
}

#[test]
fn leader_killed_as_it_takes_office_sends_nothing_more() {
    check(true);
}
