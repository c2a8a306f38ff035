//! Log agreement, persistence and backup on the reference Raft (labs 2B
//! and 2C in small), on the cluster of `cluster`, independent of the
//! `tests` harness: every peer must apply the same commands in the same
//! order (each applier checks every message as it arrives), through a
//! leader cut off, followers that missed entries or hold entries that never
//! committed, and crashes with restarts from a copy of the persister.

// Harness code: see `cluster`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod cluster;

use cluster::{Cluster, judged};
use labrpc::thread::Owner;
use labrpc::time::{self, Duration};

/// A command the tests can tell apart from every other.
fn command(tag: &str, n: usize) -> Vec<u8> {
    format!("{tag}-{n}").into_bytes()
}

/// Runs `body` on a fresh cluster of `peers` and shuts it down.
fn with_cluster(test: &str, peers: usize, body: impl FnOnce(&mut Cluster)) {
    judged(test, || {
        let owner = Owner::new(format!("raft-{test}"));
        let _entered = owner.enter();
        let mut cluster = Cluster::new(owner, peers);
        body(&mut cluster);
        cluster.shut_down();
    });
}

#[test]
fn five_peers_apply_the_same_commands_in_order() {
    with_cluster("five_peers_agree", 5, |cluster| {
        for n in 1..=5 {
            let index = cluster.one(&command("one", n), 5);
            assert_eq!(index, n as u64, "one() committed at the wrong index");
        }
        // Twenty commands started at once, without waiting: they get
        // consecutive indices and every peer applies all of them.
        let (leader, term) = cluster.wait_for_one_leader(0);
        let mut indices = Vec::new();
        for n in 1..=20 {
            let (index, started_term, is_leader) = cluster.raft(leader).start(command("burst", n));
            if !is_leader || started_term != term {
                return; // leadership moved under load: nothing more to check here
            }
            indices.push(index);
        }
        assert_eq!(indices, (6..=25).collect::<Vec<u64>>(), "start's indices");
        let last = cluster.one(&command("last", 0), 5);
        for index in 1..=last {
            assert_eq!(
                cluster.n_committed(index).0,
                5,
                "index {index} not on all peers"
            );
        }
    });
}

#[test]
fn a_cut_off_leaders_entries_are_replaced_when_it_rejoins() {
    with_cluster("cut_off_leader_rejoins", 3, |cluster| {
        cluster.one(&command("first", 1), 3);
        let (old, term) = cluster.wait_for_one_leader(0);
        cluster.disconnect(old);
        // Entries the cut-off leader accepts but can never commit.
        for n in 1..=3 {
            cluster.raft(old).start(command("lost", n));
        }
        cluster.wait_for_one_leader(term);
        for n in 2..=4 {
            cluster.one(&command("kept", n), 2);
        }
        // Back, it must drop its own entries 2..=4 for the new leader's.
        cluster.connect(old);
        let index = cluster.one(&command("after", 5), 3);
        for i in 1..=index {
            assert_eq!(cluster.n_committed(i).0, 3, "index {i} not on all peers");
        }
        let applied = cluster.applied.lock();
        let lost = applied.commands[old]
            .values()
            .any(|c| c.starts_with(b"lost"));
        assert!(!lost, "a command of the cut-off leader was applied");
    });
}

#[test]
fn a_leader_backs_up_over_a_followers_conflicting_entries() {
    // TestBackup2B's shape, with 30 entries a step: every new leader has
    // followers whose logs conflict below its own last entry.
    with_cluster("backup", 5, |cluster| {
        cluster.one(&command("first", 0), 5);
        let (leader1, _) = cluster.wait_for_one_leader(0);
        let peer = |k: usize| (leader1 + k) % 5;
        // leader1 and peer 1 take 30 entries that never commit.
        for k in 2..5 {
            cluster.disconnect(peer(k));
        }
        for n in 0..30 {
            cluster.raft(leader1).start(command("stale-a", n));
        }
        time::sleep(Duration::from_millis(500));
        // Peers 2, 3 and 4 commit 30 of their own.
        cluster.disconnect(peer(0));
        cluster.disconnect(peer(1));
        for k in 2..5 {
            cluster.connect(peer(k));
        }
        for n in 0..30 {
            cluster.one(&command("new-b", n), 3);
        }
        // Their leader takes 30 more that never commit.
        let (leader2, term2) = cluster.wait_for_one_leader(0);
        let other = if peer(2) == leader2 {
            (leader2 + 1) % 5
        } else {
            peer(2)
        };
        cluster.disconnect(other);
        for n in 0..30 {
            cluster.raft(leader2).start(command("stale-c", n));
        }
        time::sleep(Duration::from_millis(500));
        // `other` leads leader1 and peer 1, whose entries 2..=31
        // conflict with its own: it must back up over them.
        for i in 0..5 {
            cluster.disconnect(i);
        }
        for i in [peer(0), peer(1), other] {
            cluster.connect(i);
        }
        cluster.wait_for_one_leader(term2);
        for n in 0..30 {
            cluster.one(&command("new-d", n), 3);
        }
        // Everyone back: leader2 and its follower drop their stale tail.
        for i in 0..5 {
            cluster.connect(i);
        }
        let index = cluster.one(&command("all", 0), 5);
        assert_eq!(index, 62, "1 + 30 + 30 committed entries before it");
        for i in 1..=index {
            assert_eq!(cluster.n_committed(i).0, 5, "index {i} not on all peers");
        }
        let applied = cluster.applied.lock();
        let stale = applied
            .commands
            .iter()
            .flat_map(|c| c.values())
            .any(|c| c.starts_with(b"stale"));
        assert!(!stale, "an entry that never reached a majority was applied");
    });
}

#[test]
fn crashed_peers_restart_from_what_they_saved() {
    with_cluster("persistence", 3, |cluster| {
        for n in 1..=3 {
            cluster.one(&command("before", n), 3);
        }
        // A follower crashes and misses an entry; restarted from its
        // persister, it replays 1..=3 and catches up.
        let (leader, _) = cluster.wait_for_one_leader(0);
        let follower = (leader + 1) % 3;
        cluster.crash(follower);
        cluster.one(&command("missed", 4), 2);
        cluster.start_peer(follower);
        cluster.connect(follower);
        cluster.one(&command("caught-up", 5), 3);
        // All three crash: only what they saved (term, vote, log) lets
        // the next command go at index 6 without contradicting 1..=5.
        for i in 0..3 {
            cluster.crash(i);
        }
        for i in 0..3 {
            cluster.start_peer(i);
            cluster.connect(i);
        }
        let index = cluster.one(&command("after-restart", 6), 3);
        assert_eq!(index, 6, "the log was not restored");
        // The leader crashes: the two left elect a leader of a newer term,
        // and the old one rejoins as its follower.
        let (leader, _) = cluster.wait_for_one_leader(0);
        cluster.crash(leader);
        cluster.start_peer(leader);
        cluster.connect(leader);
        cluster.one(&command("end", 7), 3);
    });
}
