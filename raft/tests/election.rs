//! Leader election and a first agreement on the reference Raft, on the
//! small cluster of `cluster` (three peers wired as config.go wires them),
//! independent of the `tests` harness.

// Harness code: see `cluster`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod cluster;

use cluster::{Cluster, applied_command, judged};
use labrpc::thread::Owner;
use labrpc::time::Duration;

const PEERS: usize = 3;

/// A stretch with no failures, during which the RPC rate is measured.
const QUIET_WINDOW: Duration = Duration::from_secs(2);

/// The lab's limit on heartbeats to each follower.
const MAX_HEARTBEATS_PER_SECOND: usize = 10;

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
    let mut cluster = Cluster::new(owner, PEERS);

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
    let leaders = states.iter().flatten().filter(|s| s.1).count();
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
    let mut cluster = Cluster::new(owner, PEERS);

    let (leader, term) = cluster.wait_for_one_leader(0);
    let follower = (leader + 1) % PEERS;
    let (_, follower_term, follower_leads) = cluster.raft(follower).start(b"not me".to_vec());
    assert!(!follower_leads, "follower {follower} accepted a command");
    assert!(follower_term >= term);

    let (index, start_term, is_leader) = cluster.raft(leader).start(b"hello".to_vec());
    assert!(is_leader, "leader {leader} refused start");
    assert_eq!(index, 1, "the first command's index");
    assert_eq!(start_term, term);
    cluster.wait_applied(&[applied_command(1, b"hello")]);

    // A second command, with one follower cut off: the other two still
    // agree, and nothing more is applied on the cut-off one.
    let (leader, _) = cluster.wait_for_one_leader(0);
    let cut = (leader + 1) % PEERS;
    cluster.disconnect(cut);
    let (index, _, is_leader) = cluster.raft(leader).start(b"world".to_vec());
    assert!(is_leader && index == 2, "second start: index {index}");
    cluster.wait_applied(&[applied_command(1, b"hello"), applied_command(2, b"world")]);
    assert_eq!(
        cluster.applied.lock().messages[cut],
        vec![applied_command(1, b"hello")],
        "the cut-off peer applied an entry it cannot know is committed"
    );

    // Reconnected, it catches up.
    cluster.connect(cut);
    cluster.wait_applied(&[applied_command(1, b"hello"), applied_command(2, b"world")]);

    cluster.shut_down();
}
