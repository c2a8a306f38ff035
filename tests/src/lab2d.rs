//! The lab 2D tests (snapshots, InstallSnapshot, restarts from a snapshot),
//! step for step as in the Go lab's `test_test.go`: the same rounds, random
//! choices, limits and failure messages.
//!
//! Every 2D config runs the snapshot applier (`applier::apply_with_snapshots`):
//! it asks each peer to snapshot every 10 applied entries and checks the
//! snapshots it gets back. "Restart i" is Go's `start1(i, cfg.applierSnap)`:
//! the harness reads the persisted snapshot itself, and expects the new
//! instance's next command just after it. Generic over [`Peer`]; the
//! `raft_2d` binary runs them on `raft::Raft`.

use crate::command::Command::Int;
use crate::command::rand_int;
use crate::config::Config;
use crate::failure::{fatal, step};
use crate::lab2b::start_on;
use crate::peer::Peer;

/// Go's `MAXLOGSIZE`: the most bytes of persisted Raft state (term, vote
/// and log) any peer may hold after a round of snapcommon. Go's limit for
/// gob encoding, kept as it is: our labcodec (postcard) encoding is
/// smaller than gob's, so the limit is looser here than in Go.
pub const MAX_LOG_SIZE: usize = 2000;

/// How a snapcommon test disturbs the peer it picks each round.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Disturb {
    /// Nothing: every round runs with all three peers.
    Nothing,
    /// Disconnect the victim, reconnect it at the end of the round.
    Disconnect,
    /// Crash the victim, restart and reconnect it at the end of the round.
    Crash,
}

/// Whether the network drops and delays messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Network {
    Reliable,
    Unreliable,
}

/// Go's `snapcommon`: 30 rounds; in each, a victim (the leader's
/// successor, or every third round the leader itself) is disconnected or
/// crashed, a burst of 5-14 commands goes to the sender without waiting,
/// one more command must commit, the persisted Raft state must stay under
/// [`MAX_LOG_SIZE`], and the victim comes back and must catch up, by
/// InstallSnapshot when its leader has trimmed what it lacks.
fn snapcommon<R: Peer>(name: &str, disturb: Disturb, network: Network) {
    let iters = 30;
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, network == Network::Unreliable, true);
    cfg.begin(name);

    cfg.one(Int(rand_int()), servers, true);
    let mut leader1 = cfg.check_one_leader();

    for i in 0..iters {
        step(format!("snapcommon: round {} of {iters}", i + 1));
        let (mut victim, mut sender) = ((leader1 + 1) % servers, leader1);
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disturb == Disturb::Disconnect {
            cfg.disconnect(victim);
            cfg.one(Int(rand_int()), servers - 1, true);
        }
        if disturb == Disturb::Crash {
            cfg.crash1(victim);
            cfg.one(Int(rand_int()), servers - 1, true);
        }

        // A burst of 5-14 commands, not waited for: often enough for the
        // appliers to snapshot.
        let nn = 5 + rand_int() % 10;
        for _ in 0..nn {
            start_on(&cfg, sender, Int(rand_int()));
        }

        // One command that must commit behind the burst.
        if disturb == Disturb::Nothing {
            cfg.one(Int(rand_int()), servers, true);
        } else {
            cfg.one(Int(rand_int()), servers - 1, true);
        }

        if cfg.log_size() >= MAX_LOG_SIZE {
            fatal("Log size too large");
        }
        if disturb == Disturb::Disconnect {
            // Back on the network, the victim may lack entries its leader
            // has already trimmed: only InstallSnapshot can bring it up.
            cfg.connect(victim);
            cfg.one(Int(rand_int()), servers, true);
            leader1 = cfg.check_one_leader();
        }
        if disturb == Disturb::Crash {
            // The restarted victim starts from its own snapshot and may
            // also need its leader's.
            cfg.start1(victim);
            cfg.connect(victim);
            cfg.one(Int(rand_int()), servers, true);
            leader1 = cfg.check_one_leader();
        }
    }
    cfg.end();
}

/// Go's TestSnapshotBasic2D.
pub fn snapshot_basic<R: Peer>() {
    snapcommon::<R>(
        "Test (2D): snapshots basic",
        Disturb::Nothing,
        Network::Reliable,
    );
}

/// Go's TestSnapshotInstall2D.
pub fn snapshot_install<R: Peer>() {
    snapcommon::<R>(
        "Test (2D): install snapshots (disconnect)",
        Disturb::Disconnect,
        Network::Reliable,
    );
}

/// Go's TestSnapshotInstallUnreliable2D.
pub fn snapshot_install_unreliable<R: Peer>() {
    snapcommon::<R>(
        "Test (2D): install snapshots (disconnect+unreliable)",
        Disturb::Disconnect,
        Network::Unreliable,
    );
}

/// Go's TestSnapshotInstallCrash2D.
pub fn snapshot_install_crash<R: Peer>() {
    snapcommon::<R>(
        "Test (2D): install snapshots (crash)",
        Disturb::Crash,
        Network::Reliable,
    );
}

/// Go's TestSnapshotInstallUnCrash2D.
pub fn snapshot_install_uncrash<R: Peer>() {
    snapcommon::<R>(
        "Test (2D): install snapshots (unreliable+crash)",
        Disturb::Crash,
        Network::Unreliable,
    );
}

/// Go's TestSnapshotAllCrash2D: whole-cluster crashes after enough
/// commands for snapshots; the log must pick up after the snapshot, so
/// the index never goes back.
pub fn snapshot_all_crash<R: Peer>() {
    let servers = 3;
    let iters = 5;
    let mut cfg = Config::<R>::new(servers, false, true);
    cfg.begin("Test (2D): crash and restart all servers");

    cfg.one(Int(rand_int()), servers, true);

    for i in 0..iters {
        step(format!("crash and restart all: round {} of {iters}", i + 1));
        // 5-14 committed commands: usually a snapshot on every peer.
        let nn = 5 + rand_int() % 10;
        for _ in 0..nn {
            cfg.one(Int(rand_int()), servers, true);
        }

        let index1 = cfg.one(Int(rand_int()), servers, true);

        crash_and_restart_all(&cfg);

        let index2 = cfg.one(Int(rand_int()), servers, true);
        if index2 < index1 + 1 {
            fatal(format!("index decreased from {index1} to {index2}"));
        }
    }
    cfg.end();
}

/// Go's TestSnapshotInit2D: a Raft restarted from a snapshot must keep it
/// through its next save (writing the state alone would drop it) and
/// restart from it again.
pub fn snapshot_init<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, true);
    cfg.begin("Test (2D): snapshot initialization after crash");
    cfg.one(Int(rand_int()), servers, true);

    // Twelve commands in all: each applier snapshots at index 9.
    let nn = crate::applier::SNAPSHOT_INTERVAL + 1;
    for _ in 0..nn {
        cfg.one(Int(rand_int()), servers, true);
    }

    for round in 1..=2 {
        step(format!(
            "snapshot initialization: crash and restart {round} of 2"
        ));
        crash_and_restart_all(&cfg);
        // One command, so that every peer saves its state again.
        cfg.one(Int(rand_int()), servers, true);
    }
    cfg.end();
}

/// Crashes every peer, then restarts and reconnects each in turn, as Go's
/// 2D tests do: every peer comes back from what it persisted alone.
fn crash_and_restart_all<R: Peer>(cfg: &Config<R>) {
    for i in 0..cfg.n() {
        cfg.crash1(i);
    }
    for i in 0..cfg.n() {
        cfg.start1(i);
        cfg.connect(i);
    }
}
