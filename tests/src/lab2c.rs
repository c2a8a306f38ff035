//! The lab 2C tests (persistence, unreliable networks, Figure 8), step for
//! step as in the Go lab's `test_test.go`: the same sleeps, iteration
//! counts, random choices, limits and failure messages.
//!
//! "Restart i" is Go's `start1(i, cfg.applier)`: a crash if it was
//! running, then a new instance on a copy of what it persisted, not yet
//! connected. Generic over [`Peer`]; the `raft_2c` binary runs them on
//! `raft::Raft`.

use crate::command::Command::Int;
use crate::command::{Value, rand_int};
use crate::config::{Config, Peers};
use crate::failure::{catch_failure, fatal, step};
use crate::lab2a::RAFT_ELECTION_TIMEOUT;
use crate::lab2b::start_on;
use crate::peer::Peer;
use labrpc::chan;
use labrpc::sync::Arc;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::time::Duration;
use labrpc::{rand, thread};

/// Go's TestPersist12C.
pub fn persist1<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2C): basic persistence");

    cfg.one(Int(11), servers, true);

    // Crash and re-start all.
    for i in 0..servers {
        cfg.start1(i);
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }

    cfg.one(Int(12), servers, true);

    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);
    cfg.start1(leader1);
    cfg.connect(leader1);

    cfg.one(Int(13), servers, true);

    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);
    cfg.one(Int(14), servers - 1, true);
    cfg.start1(leader2);
    cfg.connect(leader2);

    // Wait for leader2 to join before killing i3.
    cfg.wait(4, servers, None);

    let i3 = (cfg.check_one_leader() + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(Int(15), servers - 1, true);
    cfg.start1(i3);
    cfg.connect(i3);

    cfg.one(Int(16), servers, true);
    cfg.end();
}

/// Go's TestPersist22C.
pub fn persist2<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2C): more persistence");

    let mut index = 1;
    for iters in 0..5 {
        step(format!("more persistence: round {} of 5", iters + 1));
        cfg.one(Int(10 + index), servers, true);
        index += 1;

        let leader1 = cfg.check_one_leader();

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(Int(10 + index), servers - 2, true);
        index += 1;

        cfg.disconnect(leader1 % servers);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start1((leader1 + 1) % servers);
        cfg.start1((leader1 + 2) % servers);
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        cfg.sleep(RAFT_ELECTION_TIMEOUT);

        cfg.start1((leader1 + 3) % servers);
        cfg.connect((leader1 + 3) % servers);

        cfg.one(Int(10 + index), servers - 2, true);
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1 % servers);
    }

    cfg.one(Int(1000), servers, true);
    cfg.end();
}

/// Go's TestPersist32C.
pub fn persist3<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2C): partitioned leader and one follower crash, leader restarts");

    cfg.one(Int(101), 3, true);

    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 2) % servers);

    cfg.one(Int(102), 2, true);

    cfg.crash1(leader % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1(leader % servers);
    cfg.connect(leader % servers);

    cfg.one(Int(103), 2, true);

    cfg.start1((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);

    cfg.one(Int(104), servers, true);
    cfg.end();
}

/// The pause of one Figure 8 round: mostly 0..12 ms, one round in ten
/// up to half an election timeout.
fn figure8_pause() -> Duration {
    if rand::below(0..1000) < 100 {
        let half_ms = (RAFT_ELECTION_TIMEOUT / 2).as_millis() as u64;
        rand::millis(0..half_ms)
    } else {
        rand::millis(0..13)
    }
}

/// Go's TestFigure82C: leaders crash right after appending, so that a
/// later leader may find entries of an earlier term on a majority (§5.4.2).
pub fn figure8<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2C): Figure 8");

    cfg.one(Int(rand_int()), 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        step(format!("Figure 8: round {} of 1000", iters + 1));
        let mut leader = None;
        for i in 0..servers {
            if let Some(rf) = cfg.raft(i) {
                let command = Int(rand_int());
                let (_, _, ok) = thread::as_student(|| rf.start(command.encode()));
                if ok {
                    leader = Some(i);
                }
            }
        }

        cfg.sleep(figure8_pause());

        if let Some(leader) = leader {
            cfg.crash1(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = rand::below(0..servers as u64) as usize;
            if cfg.raft(s).is_none() {
                cfg.start1(s);
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
            cfg.connect(i);
        }
    }

    cfg.one(Int(rand_int()), servers, true);
    cfg.end();
}

/// Go's TestUnreliableAgree2C: four agreement tasks per round beside the
/// test's own, on an unreliable network. A task's failure is Go's
/// goroutine calling `t.Fatalf`: it ends that task and fails the test.
pub fn unreliable_agree<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, true, false);
    cfg.begin("Test (2C): unreliable agreement");

    let mut tasks = Vec::new();
    for iters in 1..50i64 {
        step(format!("unreliable agreement: round {iters} of 49"));
        for j in 0..4 {
            let peers = cfg.peers();
            tasks.push(thread::spawn(format!("agree-{iters}-{j}"), move || {
                catch_failure(|| {
                    peers.one(Int(100 * iters + j), 1, true);
                })
            }));
        }
        cfg.one(Int(iters), 1, true);
    }

    cfg.set_unreliable(false);

    step("waiting for the agreement tasks");
    for task in tasks {
        let _ = task.join();
    }

    cfg.one(Int(100), servers, true);
    cfg.end();
}

/// Go's TestFigure8Unreliable2C: Figure 8 by disconnection on an
/// unreliable network, with long reordering from round 200 on.
pub fn figure8_unreliable<R: Peer>() {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, true, false);
    cfg.begin("Test (2C): Figure 8 (unreliable)");

    cfg.one(Int(rand_int() % 10000), 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        step(format!(
            "Figure 8 (unreliable): round {} of 1000",
            iters + 1
        ));
        if iters == 200 {
            cfg.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let (_, _, ok) = start_on(&cfg, i, Int(rand_int() % 10000));
            if ok && cfg.is_connected(i) {
                leader = Some(i);
            }
        }

        cfg.sleep(figure8_pause());

        if let Some(leader) = leader
            && rand::below(0..1000) < 500
        {
            cfg.disconnect(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = rand::below(0..servers as u64) as usize;
            if !cfg.is_connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_connected(i) {
            cfg.connect(i);
        }
    }

    cfg.one(Int(rand_int() % 10000), servers, true);
    cfg.end();
}

/// Go's TestReliableChurn2C.
pub fn reliable_churn<R: Peer>() {
    churn::<R>(false);
}

/// Go's TestUnreliableChurn2C.
pub fn unreliable_churn<R: Peer>() {
    churn::<R>(true);
}

/// Go's internalChurn: three clients start commands on every running peer
/// while the test disconnects, crashes and restarts peers at random; in
/// the end every value a client saw committed must be in the log.
fn churn<R: Peer>(unreliable: bool) {
    let servers = 5;
    let mut cfg = Config::<R>::new(servers, unreliable, false);
    if unreliable {
        cfg.begin("Test (2C): unreliable churn");
    } else {
        cfg.begin("Test (2C): churn");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let ncli = 3;
    let mut results = Vec::new();
    for me in 0..ncli {
        // Unbuffered, as Go's: a client waits until the test takes its
        // result.
        let (tx, rx) = chan::bounded::<Option<Vec<i64>>>(0);
        let peers = cfg.peers();
        let stop = stop.clone();
        thread::spawn(format!("churn-client-{me}"), move || {
            let values = catch_failure(|| churn_client(&peers, me, &stop));
            let _ = tx.send(values);
        });
        results.push(rx);
    }

    for iters in 0..20 {
        step(format!("churn: round {} of 20", iters + 1));
        if rand::below(0..1000) < 200 {
            let i = rand::below(0..servers as u64) as usize;
            cfg.disconnect(i);
        }

        if rand::below(0..1000) < 500 {
            let i = rand::below(0..servers as u64) as usize;
            if cfg.raft(i).is_none() {
                cfg.start1(i);
            }
            cfg.connect(i);
        }

        if rand::below(0..1000) < 200 {
            let i = rand::below(0..servers as u64) as usize;
            if cfg.raft(i).is_some() {
                cfg.crash1(i);
            }
        }

        // Make crash/restart infrequent enough that the peers can often
        // keep up, but not so infrequent that everything has settled down
        // from one change to the next. Pick a value smaller than the
        // election timeout, but not hugely smaller.
        cfg.sleep(RAFT_ELECTION_TIMEOUT * 7 / 10);
    }

    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.set_unreliable(false);
    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
        }
        cfg.connect(i);
    }

    stop.store(true, Ordering::SeqCst);

    let mut values = Vec::new();
    for (me, rx) in results.iter().enumerate() {
        step(format!("churn: waiting for client {me}"));
        match rx.recv() {
            Ok(Some(vv)) => values.extend(vv),
            _ => fatal("client failed"),
        }
    }

    cfg.sleep(RAFT_ELECTION_TIMEOUT);

    let last_index = cfg.one(Int(rand_int()), servers, true);

    let mut really = vec![0; last_index as usize + 1];
    for index in 1..=last_index {
        match cfg.wait(index, servers, None).and_then(|v| v.as_int()) {
            Some(v) => really.push(v),
            None => fatal("not an int"),
        }
    }

    for v1 in &values {
        if !really.contains(v1) {
            fatal("didn't find a value");
        }
    }
    cfg.end();
}

/// One churn client: starts a random command on every running peer
/// (disconnected ones too) and records it if the index the last accepting
/// peer gave commits with it within 380 ms.
fn churn_client<R: Peer>(peers: &Peers<R>, me: u64, stop: &AtomicBool) -> Vec<i64> {
    let mut values = Vec::new();
    // Go's clients stop only when told; ours also stop once the config is
    // cleaned up, so a test that failed leaves no client running.
    while !stop.load(Ordering::SeqCst) && !peers.is_finished() {
        let x = rand_int();
        let command = Int(x);
        let mut index = None;
        for i in 0..peers.n() {
            // Try them all, maybe one of them is a leader.
            if let Some(rf) = peers.raft(i) {
                let (index1, _, ok1) = thread::as_student(|| rf.start(command.encode()));
                if ok1 {
                    index = Some(index1);
                }
            }
        }
        match index {
            Some(index) => {
                // Maybe leader will commit our value, maybe not, but don't
                // wait forever.
                for to in [10, 20, 50, 100, 200] {
                    let (nd, cmd) = peers.n_committed(index);
                    if nd > 0 {
                        match cmd.as_ref().and_then(Value::as_int) {
                            Some(xx) if xx == x => values.push(xx),
                            Some(_) => {}
                            None => fatal("wrong command type"),
                        }
                        break;
                    }
                    labrpc::time::sleep(Duration::from_millis(to));
                }
            }
            None => labrpc::time::sleep(Duration::from_millis(79 + me * 17)),
        }
    }
    values
}
