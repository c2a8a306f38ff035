//! The lab 2B tests (log agreement), step for step as in the Go lab's
//! `test_test.go`: the same sleeps, iteration counts, random choices,
//! limits and failure messages.
//!
//! Generic over [`Peer`] so that the harness's own tests can run them
//! against broken Rafts; the `raft_2b` binary runs them on `raft::Raft`.
//! Commands are Go ints ([`Int`]) except TestRPCBytes2B's strings.

use crate::command::Command::{self, Int, Str};
use crate::command::rand_int;
use crate::config::Config;
use crate::failure::{fatal, step};
use crate::lab2a::RAFT_ELECTION_TIMEOUT;
use crate::peer::Peer;
use labrpc::time::Duration;
use labrpc::{rand, thread};

/// Go's TestBasicAgree2B.
pub fn basic_agree<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): basic agreement");

    for index in 1..=3u64 {
        let (nd, _) = cfg.n_committed(index);
        if nd > 0 {
            fatal("some have committed before Start()");
        }
        let xindex = cfg.one(Int(index as i64 * 100), servers, false);
        if xindex != index {
            fatal(format!("got index {xindex} but expected {index}"));
        }
    }
    cfg.end();
}

/// Go's TestRPCBytes2B: each command should go to each peer once.
pub fn rpc_bytes<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): RPC byte count");

    cfg.one(Int(99), servers, false);
    let bytes0 = cfg.bytes_total();

    let iters = 10;
    let mut sent = 0u64;
    for index in 2..iters + 2 {
        let cmd = Str(rand::string(5000));
        let xindex = cfg.one(cmd, servers, false);
        if xindex != index {
            fatal(format!("got index {xindex} but expected {index}"));
        }
        sent += 5000;
    }

    let got = cfg.bytes_total() - bytes0;
    let expected = servers as u64 * sent;
    if got > expected + 50000 {
        fatal(format!(
            "too many RPC bytes; got {got}, expected {expected}"
        ));
    }
    cfg.end();
}

/// Go's TestFollowerFailure2B.
pub fn follower_failure<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): test progressive failure of followers");

    cfg.one(Int(101), servers, false);

    // Disconnect one follower from the network.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 1) % servers);

    // The leader and the remaining follower should be able to agree
    // despite the disconnected follower.
    cfg.one(Int(102), servers - 1, false);
    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(Int(103), servers - 1, false);

    // Disconnect the remaining follower.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let (index, _, ok) = start_on(&cfg, leader2, Int(104));
    if !ok {
        fatal("leader rejected Start()");
    }
    if index != 4 {
        fatal(format!("expected index 4, got {index}"));
    }

    // Check that the command did not commit.
    expect_no_commit(&cfg, index);
    cfg.end();
}

/// Go's TestLeaderFailure2B.
pub fn leader_failure<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): test failure of leaders");

    cfg.one(Int(101), servers, false);

    // Disconnect the first leader.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.one(Int(102), servers - 1, false);
    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(Int(103), servers - 1, false);

    // Disconnect the new leader.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        start_on(&cfg, i, Int(104));
    }

    // Check that the command did not commit.
    expect_no_commit(&cfg, 4);
    cfg.end();
}

/// Go's TestFailAgree2B: a follower that was disconnected catches up.
pub fn fail_agree<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): agreement after follower reconnects");

    cfg.one(Int(101), servers, false);

    // Disconnect one follower from the network.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);

    // The leader and the remaining follower should be able to agree
    // despite the disconnected follower.
    cfg.one(Int(102), servers - 1, false);
    cfg.one(Int(103), servers - 1, false);
    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(Int(104), servers - 1, false);
    cfg.one(Int(105), servers - 1, false);

    // Reconnect.
    cfg.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be
    // able to agree on new commands.
    cfg.one(Int(106), servers, true);
    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(Int(107), servers, true);
    cfg.end();
}

/// Go's TestFailNoAgree2B.
pub fn fail_no_agree<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): no agreement if too many followers disconnect");

    cfg.one(Int(10), servers, false);

    // Three of five followers disconnect.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);
    cfg.disconnect((leader + 2) % servers);
    cfg.disconnect((leader + 3) % servers);

    let (index, _, ok) = start_on(&cfg, leader, Int(20));
    if !ok {
        fatal("leader rejected Start()");
    }
    if index != 2 {
        fatal(format!("expected index 2, got {index}"));
    }

    expect_no_commit(&cfg, index);

    // Repair.
    cfg.connect((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their
    // own ranks, forgetting index 2.
    let leader2 = cfg.check_one_leader();
    let (index2, _, ok2) = start_on(&cfg, leader2, Int(30));
    if !ok2 {
        fatal("leader2 rejected Start()");
    }
    if !(2..=3).contains(&index2) {
        fatal(format!("unexpected index {index2}"));
    }

    cfg.one(Int(1000), servers, true);
    cfg.end();
}

/// Go's TestConcurrentStarts2B.
pub fn concurrent_starts<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): concurrent Start()s");

    let mut success = false;
    for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            cfg.sleep(Duration::from_secs(3));
        }
        step(format!("concurrent Start()s: try {} of 5", attempt + 1));
        if concurrent_starts_try(&cfg, servers) {
            success = true;
            break;
        }
    }
    if !success {
        fatal("term changed too often");
    }
    cfg.end();
}

/// One try of TestConcurrentStarts2B: false if the term moved on (try
/// again).
fn concurrent_starts_try<R: Peer>(cfg: &Config<R>, servers: usize) -> bool {
    let leader = cfg.check_one_leader();
    let (_, term, ok) = start_on(cfg, leader, Int(1));
    if !ok {
        // Leader moved on really quickly.
        return false;
    }

    let iters = 5;
    let Some(rf) = cfg.raft(leader) else {
        return false;
    };
    let (tx, rx) = labrpc::chan::unbounded();
    let starters: Vec<_> = (0..iters)
        .map(|i| {
            let rf = rf.clone();
            let tx = tx.clone();
            thread::spawn(format!("start-{i}"), move || {
                let command = Int(100 + i);
                let (index, term1, ok) = thread::as_student(|| rf.start(command.encode()));
                if term1 == term && ok {
                    let _ = tx.send(index);
                }
            })
        })
        .collect();
    drop(tx);
    for starter in starters {
        let _ = starter.join();
    }

    for j in 0..servers {
        if let Some(rf) = cfg.raft(j) {
            step(format!(
                "concurrent Start()s: asking server {j} for get_state"
            ));
            let (t, _) = rf.get_state();
            if t != term {
                // Term changed: can't expect low RPC counts.
                return false;
            }
        }
    }

    let mut cmds = Vec::new();
    for index in rx.iter() {
        let Some(cmd) = cfg.wait(index, servers, Some(term)) else {
            // Peers have moved on to later terms, so we can't expect all
            // Start()s to have succeeded.
            return false;
        };
        match cmd.as_int() {
            Some(x) => cmds.push(x),
            None => fatal(format!("value {cmd} is not an int")),
        }
    }

    for x in 100..100 + iters {
        if !cmds.contains(&x) {
            fatal(format!("cmd {x} missing in {}", go_list(&cmds)));
        }
    }
    true
}

/// Go's TestRejoin2B.
pub fn rejoin<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): rejoin of partitioned leader");

    cfg.one(Int(101), servers, true);

    // The leader is partitioned away.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    start_on(&cfg, leader1, Int(102));
    start_on(&cfg, leader1, Int(103));
    start_on(&cfg, leader1, Int(104));

    // The new leader commits, also for index 2.
    cfg.one(Int(103), 2, true);

    // The new leader is partitioned away.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // The old leader connects again.
    cfg.connect(leader1);

    cfg.one(Int(104), 2, true);

    // All together now.
    cfg.connect(leader2);

    cfg.one(Int(105), servers, true);
    cfg.end();
}

/// Go's TestBackup2B.
pub fn backup<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): leader backs up quickly over incorrect follower logs");

    cfg.one(Int(rand_int()), servers, true);

    // Put the leader and one follower in a partition.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 2) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    step("50 starts on the partitioned leader");
    for _ in 0..50 {
        start_on(&cfg, leader1, Int(rand_int()));
    }

    cfg.sleep(RAFT_ELECTION_TIMEOUT / 2);

    cfg.disconnect(leader1 % servers);
    cfg.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    cfg.connect((leader1 + 2) % servers);
    cfg.connect((leader1 + 3) % servers);
    cfg.connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(Int(rand_int()), 3, true);
    }

    // Now another partitioned leader and one follower.
    let leader2 = cfg.check_one_leader();
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    cfg.disconnect(other);

    // Lots more commands that won't commit.
    step("50 starts on the second partitioned leader");
    for _ in 0..50 {
        start_on(&cfg, leader2, Int(rand_int()));
    }

    cfg.sleep(RAFT_ELECTION_TIMEOUT / 2);

    // Bring the original leader back to life.
    for i in 0..servers {
        cfg.disconnect(i);
    }
    cfg.connect(leader1 % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(Int(rand_int()), 3, true);
    }

    // Now everyone.
    for i in 0..servers {
        cfg.connect(i);
    }
    cfg.one(Int(rand_int()), servers, true);
    cfg.end();
}

/// Go's TestCount2B: RPC counts must not be too high.
pub fn count<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2B): RPC counts aren't too high");

    let rpcs = |cfg: &Config<R>| (0..servers).map(|j| cfg.rpc_count(j)).sum::<usize>();

    cfg.check_one_leader();
    let total1 = rpcs(&cfg);
    if !(1..=30).contains(&total1) {
        fatal(format!(
            "too many or few RPCs ({total1}) to elect initial leader\n"
        ));
    }

    let mut total2 = 0;
    let mut success = false;
    for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            cfg.sleep(Duration::from_secs(3));
        }
        step(format!("RPC counts: try {} of 5", attempt + 1));
        if let Some(total) = count_try(&cfg, servers, &rpcs) {
            total2 = total;
            success = true;
            break;
        }
    }
    if !success {
        fatal("term changed too often");
    }

    step("one second of idleness");
    cfg.sleep(RAFT_ELECTION_TIMEOUT);

    let total3 = rpcs(&cfg);
    if total3 - total2 > 3 * 20 {
        fatal(format!(
            "too many RPCs ({}) for 1 second of idleness\n",
            total3 - total2
        ));
    }
    cfg.end();
}

/// One try of TestCount2B: the RPC total after ten agreements, or None if
/// the term moved on (try again).
fn count_try<R: Peer>(
    cfg: &Config<R>,
    servers: usize,
    rpcs: &dyn Fn(&Config<R>) -> usize,
) -> Option<usize> {
    let leader = cfg.check_one_leader();
    let total1 = rpcs(cfg);

    let iters = 10;
    let (starti, term, ok) = start_on(cfg, leader, Int(1));
    if !ok {
        // Leader moved on really quickly.
        return None;
    }
    let mut cmds = Vec::new();
    for i in 1..iters + 2 {
        let x = rand::below(0..1 << 31) as i64;
        cmds.push(x);
        let (index1, term1, ok) = start_on(cfg, leader, Int(x));
        if term1 != term || !ok {
            // Term changed while starting, or no longer leader.
            return None;
        }
        if starti + i != index1 {
            fatal("Start() failed");
        }
    }

    for i in 1..iters + 1 {
        let Some(cmd) = cfg.wait(starti + i, servers, Some(term)) else {
            // Term changed: try again.
            return None;
        };
        if !cmd.is_int(cmds[i as usize - 1]) {
            fatal(format!(
                "wrong value {cmd} committed for index {}; expected {}\n",
                starti + i,
                go_list(&cmds)
            ));
        }
    }

    let mut failed = false;
    let mut total2 = 0;
    for j in 0..servers {
        if let Some(rf) = cfg.raft(j) {
            step(format!("RPC counts: asking server {j} for get_state"));
            let (t, _) = rf.get_state();
            if t != term {
                // Term changed: can't expect low RPC counts.
                failed = true;
            }
        }
        total2 += cfg.rpc_count(j);
    }
    if failed {
        return None;
    }

    if total2 - total1 > (iters as usize + 1 + 3) * 3 {
        fatal(format!(
            "too many RPCs ({}) for {iters} entries\n",
            total2 - total1
        ));
    }
    Some(total2)
}

/// Waits two election timeouts, then fails if any peer applied `index`:
/// without a majority nothing may commit (§5.3).
fn expect_no_commit<R: Peer>(cfg: &Config<R>, index: u64) {
    step("sleeping 2 election timeouts: nothing may commit");
    cfg.sleep(2 * RAFT_ELECTION_TIMEOUT);
    let (n, _) = cfg.n_committed(index);
    if n > 0 {
        fatal(format!("{n} committed but no majority"));
    }
}

/// Calls `start` on peer `i` (if it is running), as the tests call
/// `cfg.rafts[i].Start(cmd)` directly.
pub(crate) fn start_on<R: Peer>(cfg: &Config<R>, i: usize, command: Command) -> (u64, u64, bool) {
    match cfg.raft(i) {
        Some(rf) => {
            step(format!("asking server {i} to start {command}"));
            thread::as_student(|| rf.start(command.encode()))
        }
        None => (0, 0, false),
    }
}

/// A list as Go's `%v` prints a slice: `[1 2 3]`.
pub(crate) fn go_list(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(" "))
}
