//! A fake Raft for proving the 2B/2C checks: peer 0 always leads term 1,
//! `start` on it appends to one log that every peer of the process shares
//! (no RPC carries it), and each peer applies that log in order from a
//! thread of its own. It agrees on everything, network or not, so each
//! [`Kind`] breaks it in one way a 2B/2C check must catch.
//!
//! Test-only: sharing memory between peers is exactly what a real Raft
//! must never do. Its threads end within 10 ms of `kill`.

use labrpc::chan::Sender;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Mutex};
use labrpc::time::{self, Duration};
use labrpc::{ClientEnd, Service, thread};
use raft::{ApplyMsg, Persister};
use tests::Peer;

/// How the fake is broken.
pub type Kind = u8;
/// Applies every entry on every peer, connected or not: commits without
/// a majority.
pub const NO_MAJORITY: Kind = 0;
/// Accepts commands and never applies them.
pub const NEVER_COMMITS: Kind = 1;
/// Counts its last applied index twice after the first entry, so the
/// second entry is applied as index 3: an out-of-order apply.
pub const SKIPS_AN_INDEX: Kind = 2;
/// Pings every other peer once after it is made, then five times per
/// `start`: far too many RPCs per agreement.
pub const RPC_FLOOD: Kind = 3;
/// Sends every command three times to every other peer: far too many
/// bytes per agreement.
pub const BYTE_FLOOD: Kind = 4;
/// Applies bytes that are no command the tests submitted.
pub const APPLIES_GARBAGE: Kind = 5;

/// The log all peers share; peer 0's first instance starts it afresh.
static LOG: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

pub struct SharedLog<const KIND: Kind> {
    me: usize,
    peers: Vec<ClientEnd>,
    dead: Arc<AtomicBool>,
}

impl<const KIND: Kind> SharedLog<KIND> {
    /// Calls `Raft.Ping` with `payload` on every other peer, `times` each.
    fn ping_others(&self, payload: &[u8], times: usize) {
        ping(&self.peers, self.me, payload, times);
    }
}

fn ping(peers: &[ClientEnd], me: usize, payload: &[u8], times: usize) {
    for (j, end) in peers.iter().enumerate() {
        if j != me {
            for _ in 0..times {
                let _: Option<u8> = end.call("Raft.Ping", &payload.to_vec());
            }
        }
    }
}

/// Applies the shared log in order on `apply_ch` until `dead`.
fn apply_loop<const KIND: Kind>(apply_ch: Sender<ApplyMsg>, dead: Arc<AtomicBool>) {
    let mut applied = 0usize;
    let mut last_index = 0u64;
    while !dead.load(Ordering::SeqCst) {
        let next = LOG.lock().get(applied).cloned();
        let Some(command) = next else {
            time::sleep(Duration::from_millis(10));
            continue;
        };
        applied += 1;
        last_index += if KIND == SKIPS_AN_INDEX && applied > 1 {
            2
        } else {
            1
        };
        let command = if KIND == APPLIES_GARBAGE {
            vec![0xff]
        } else {
            command
        };
        let msg = ApplyMsg {
            command_valid: true,
            command,
            command_index: last_index,
            ..ApplyMsg::default()
        };
        if apply_ch.send(msg).is_err() {
            return;
        }
    }
}

impl<const KIND: Kind> Peer for SharedLog<KIND> {
    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Self {
        if persister.raft_state_size() == 0 {
            // A first start (a restart reads the mark below).
            if me == 0 {
                LOG.lock().clear();
            }
            persister.save(vec![1], Vec::new());
        }
        let dead = Arc::new(AtomicBool::new(false));
        if KIND != NEVER_COMMITS {
            let dead = dead.clone();
            thread::spawn(format!("broken-{me}-applier"), move || {
                apply_loop::<KIND>(apply_ch, dead)
            });
        }
        if KIND == RPC_FLOOD && me == 0 {
            // Once the test has connected the peers: one "election" round.
            let peers = peers.clone();
            thread::spawn(format!("broken-{me}-elects"), move || {
                time::sleep(Duration::from_millis(200));
                ping(&peers, me, &[], 1);
            });
        }
        SharedLog { me, peers, dead }
    }
    fn get_state(&self) -> (u64, bool) {
        (1, self.me == 0)
    }
    fn start(&self, command: Vec<u8>) -> (u64, u64, bool) {
        if self.me != 0 {
            return (0, 1, false);
        }
        match KIND {
            RPC_FLOOD => self.ping_others(&[], 5),
            BYTE_FLOOD => self.ping_others(&command, 3),
            _ => {}
        }
        let mut log = LOG.lock();
        log.push(command);
        (log.len() as u64, 1, true)
    }
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }
    fn snapshot(&self, _: u64, _: Vec<u8>) {}
    fn service(&self) -> Service {
        let mut service = Service::new("Raft");
        service.register("Ping", |_: Vec<u8>| 0u8);
        service
    }
}
