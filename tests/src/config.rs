//! The config: a port of the Go lab's `config.go`. It builds a network of
//! `n` Rafts, crashes, restarts, connects and disconnects them, and keeps
//! what each one applied so that the checks (`checks.rs`) can compare.
//! Beyond Go's, for our extra tests only: `cut_link`/`heal_link` (a
//! partition that is not a clean split) and `set_duplicates` (late copies
//! of requests).
//!
//! It uses only the student API (through [`Peer`]) and the labrpc layer,
//! never the Raft's internals, and must never hold its lock while calling
//! into a Raft that could block (except `get_state`/`start`, as Go does).

use crate::applier::{self, Applied};
use crate::failure::{self, check_background, fatal, step};
use crate::monitor::Monitor;
use crate::peer::Peer;
use crate::report::{self, Stats};
use labrpc::chan;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Mutex};
use labrpc::time::{self, Duration, Instant};
use labrpc::{Network, Server, event, rand, thread};
use raft::Persister;
use std::collections::BTreeSet;

/// A running test's peers and network.
pub struct Config<R: Peer> {
    peers: Peers<R>,
    pub(crate) net: Network,
    snapshot_applier: bool,
    start: Instant,
    // Figures for end(): what begin() saw.
    t0: Instant,
    rpcs0: usize,
    bytes0: u64,
    max_index0: u64,
    description: String,
    monitor: Option<Monitor>,
}

/// What the checks (`checks.rs`) read: the peers and what they applied.
/// A clone shares them, so a test's other threads (agreement tasks, churn
/// clients) can run checks while the test's thread drives the config;
/// once the config is cleaned up, `one` in those threads gives up.
pub struct Peers<R: Peer> {
    pub(crate) n: usize,
    pub(crate) shared: Arc<Mutex<Shared<R>>>,
    pub(crate) applied: Arc<Mutex<Applied>>,
    pub(crate) finished: Arc<AtomicBool>,
}

impl<R: Peer> Clone for Peers<R> {
    fn clone(&self) -> Self {
        Peers {
            n: self.n,
            shared: self.shared.clone(),
            applied: self.applied.clone(),
            finished: self.finished.clone(),
        }
    }
}

impl<R: Peer> std::ops::Deref for Config<R> {
    type Target = Peers<R>;
    fn deref(&self) -> &Peers<R> {
        &self.peers
    }
}

impl<R: Peer> Peers<R> {
    /// Number of peers.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The Raft of peer `i`, unless it is crashed.
    pub fn raft(&self, i: usize) -> Option<Arc<R>> {
        self.shared.lock().rafts[i].clone()
    }

    /// True if peer `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.shared.lock().connected[i]
    }

    /// Sleeps `d`, failing at once if a thread of the test fails.
    pub fn sleep(&self, d: Duration) {
        failure::sleep(d);
    }

    /// True once the config is cleaned up (Go's `checkFinished`).
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

/// The peers as the harness sees them; behind the config's lock.
pub(crate) struct Shared<R> {
    pub rafts: Vec<Option<Arc<R>>>,
    pub connected: Vec<bool>,
    pub saved: Vec<Option<Persister>>,
    pub end_names: Vec<Vec<String>>,
    /// Links cut between two peers (`cut_link`), each pair
    /// `(low, high)`: neither end of it is enabled while it is cut.
    pub cut_links: BTreeSet<(usize, usize)>,
    /// How many times each peer was started (a restart is a new peer).
    pub instances: Vec<u64>,
    /// The last connect, disconnect, crash or restart since the config
    /// started its peers (None: none yet).
    pub last_change: Option<Instant>,
    /// Disconnects of connected peers and crashes of running ones.
    pub failures: usize,
    /// The network is reliable.
    pub reliable: bool,
    /// The network delivers late copies of requests (`set_duplicates`).
    pub duplicates: bool,
}

/// The key of the link between peers `i` and `j` in `Shared::cut_links`.
fn link(i: usize, j: usize) -> (usize, usize) {
    (i.min(j), i.max(j))
}

/// The time limit of one test, from make_config (Go: 120 s).
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

impl<R: Peer> Config<R> {
    /// Go's `make_config`: `n` peers, all started and connected, on a network
    /// with long delays (and unreliable if asked); `snapshot` picks the
    /// applier that snapshots every 10 entries (lab 2D).
    pub fn new(n: usize, unreliable: bool, snapshot: bool) -> Config<R> {
        warn_once_if_one_cpu();
        let net = Network::new();
        net.set_reliable(!unreliable);
        net.set_long_delays(true);
        let peers = Peers {
            n,
            shared: Arc::new(Mutex::new(Shared {
                rafts: (0..n).map(|_| None).collect(),
                connected: vec![false; n],
                saved: (0..n).map(|_| None).collect(),
                end_names: vec![Vec::new(); n],
                cut_links: BTreeSet::new(),
                instances: vec![0; n],
                last_change: None,
                failures: 0,
                reliable: !unreliable,
                duplicates: false,
            })),
            applied: Arc::new(Mutex::new(Applied::new(n))),
            finished: Arc::new(AtomicBool::new(false)),
        };
        let cfg = Config {
            peers,
            net,
            snapshot_applier: snapshot,
            start: time::now(),
            t0: time::now(),
            rpcs0: 0,
            bytes0: 0,
            max_index0: 0,
            description: String::new(),
            monitor: None,
        };
        for i in 0..n {
            cfg.start1(i);
        }
        for i in 0..n {
            cfg.connect(i);
        }
        // Starting the peers is no failure.
        cfg.shared.lock().last_change = None;
        cfg
    }

    /// The peers, for checks on another thread of the test.
    pub fn peers(&self) -> Peers<R> {
        self.peers.clone()
    }

    /// Go's `crash1`: cuts peer `i` off, removes its server, kills it, and
    /// keeps a copy of what it had persisted, so that the killed instance
    /// can no longer change what a restart will read.
    pub fn crash1(&self, i: usize) {
        self.disconnect(i);
        self.net.delete_server(i);
        let mut shared = self.shared.lock();
        if let Some(p) = &shared.saved[i] {
            shared.saved[i] = Some(p.copy());
        }
        if let Some(rf) = shared.rafts[i].take() {
            shared.failures += 1;
            shared.last_change = Some(time::now());
            drop(shared);
            thread::as_student(|| rf.kill());
            event!(Some(i), "crash");
            shared = self.shared.lock();
        }
        if let Some(p) = &shared.saved[i] {
            let fresh = Persister::new();
            fresh.save(p.read_raft_state(), p.read_snapshot());
            shared.saved[i] = Some(fresh);
        }
    }

    /// Go's `start1`: (re)starts peer `i` with fresh ends (disabled until
    /// `connect`) and what it had persisted. Does not connect it.
    pub fn start1(&self, i: usize) {
        self.crash1(i);
        let names: Vec<String> = (0..self.n).map(|_| rand::string(20)).collect();
        let ends = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name.as_str());
                self.net.connect(name, j);
                event!(
                    Some(i),
                    "end_created",
                    end = name.as_str(),
                    from = i,
                    to = j
                );
                end
            })
            .collect();
        let persister = {
            let mut shared = self.shared.lock();
            shared.end_names[i] = names;
            let persister = match &shared.saved[i] {
                Some(p) => p.copy(),
                None => Persister::new(),
            };
            shared.saved[i] = Some(persister.clone());
            persister
        };
        {
            let mut applied = self.applied.lock();
            applied.last_applied[i] = 0;
            let snapshot = persister.read_snapshot();
            if !snapshot.is_empty()
                && let Err(err) = applied.ingest_snapshot(i, &snapshot, None)
            {
                fatal(err);
            }
        }
        let (tx, rx) = chan::bounded(0);
        let make = || thread::as_student(|| R::make(ends, i, persister, tx));
        let rf = Arc::new(labrpc::foreign::watch_thread_starts("Raft::make", make));
        {
            let mut shared = self.shared.lock();
            shared.rafts[i] = Some(rf.clone());
            shared.instances[i] += 1;
            shared.last_change = Some(time::now());
        }
        let applied = self.applied.clone();
        if self.snapshot_applier {
            // Weak: the applier ends when its Raft drops the apply channel,
            // so it must not keep that Raft alive itself.
            let rf = Arc::downgrade(&rf);
            thread::spawn(format!("applier-{i}"), move || {
                applier::apply_with_snapshots(i, rx, &applied, &rf)
            });
        } else {
            thread::spawn(format!("applier-{i}"), move || {
                applier::apply(i, rx, &applied)
            });
        }
        let server = Server::new();
        server.add_service(rf.service());
        self.net.add_server(i, server);
        event!(Some(i), "restart");
    }

    /// Go's `connect`: enables peer `i`'s ends to every connected peer and
    /// theirs to it (not over a link `cut_link` cut).
    pub fn connect(&self, i: usize) {
        let mut shared = self.shared.lock();
        shared.connected[i] = true;
        shared.last_change = Some(time::now());
        for j in 0..self.n {
            if shared.connected[j] && !shared.cut_links.contains(&link(i, j)) {
                self.net.enable(&shared.end_names[i][j], true);
                self.net.enable(&shared.end_names[j][i], true);
            }
        }
        event!(Some(i), "connect");
    }

    /// Ours, not Go's: cuts the link between peers `i` and `j` both ways,
    /// whether or not they are connected, until `heal_link`. Each stays
    /// connected to the others: a partition that is not a clean split (a
    /// peer can reach two peers that cannot reach each other).
    pub fn cut_link(&self, i: usize, j: usize) {
        let mut shared = self.shared.lock();
        if shared.cut_links.insert(link(i, j)) {
            shared.failures += 1;
        }
        shared.last_change = Some(time::now());
        self.net.enable(&shared.end_names[i][j], false);
        self.net.enable(&shared.end_names[j][i], false);
        event!(Some(i), "cut_link", to = j);
    }

    /// Ours, not Go's: undoes `cut_link(i, j)`; the link carries messages
    /// again if both peers are connected.
    pub fn heal_link(&self, i: usize, j: usize) {
        let mut shared = self.shared.lock();
        shared.cut_links.remove(&link(i, j));
        shared.last_change = Some(time::now());
        let enabled = shared.connected[i] && shared.connected[j];
        self.net.enable(&shared.end_names[i][j], enabled);
        self.net.enable(&shared.end_names[j][i], enabled);
        event!(Some(i), "heal_link", to = j);
    }

    /// Go's `disconnect`: disables every end from and to peer `i`.
    pub fn disconnect(&self, i: usize) {
        let mut shared = self.shared.lock();
        if shared.connected[i] {
            shared.failures += 1;
        }
        shared.connected[i] = false;
        shared.last_change = Some(time::now());
        for j in 0..self.n {
            if let Some(name) = shared.end_names[i].get(j) {
                self.net.enable(name, false);
            }
            if let Some(name) = shared.end_names[j].get(i) {
                self.net.enable(name, false);
            }
        }
        event!(Some(i), "disconnect");
    }

    /// RPCs that reached server `i`.
    pub fn rpc_count(&self, i: usize) -> usize {
        self.net.count(i)
    }

    /// RPCs sent on the network.
    pub fn rpc_total(&self) -> usize {
        self.net.total_count()
    }

    /// Bytes sent on the network.
    pub fn bytes_total(&self) -> u64 {
        self.net.total_bytes()
    }

    /// Unreliable network (or not).
    pub fn set_unreliable(&self, unreliable: bool) {
        self.shared.lock().reliable = !unreliable;
        self.net.set_reliable(!unreliable);
    }

    /// Ours, not Go's: the network delivers late copies of some requests
    /// (`Network::set_duplicates`). The monitors count it as unreliable.
    pub fn set_duplicates(&self, yes: bool) {
        self.shared.lock().duplicates = yes;
        self.net.set_duplicates(yes);
    }

    /// Long reordering of replies (or not).
    pub fn set_long_reordering(&self, yes: bool) {
        self.net.set_long_reordering(yes);
    }

    /// The largest persisted Raft state of any peer.
    pub fn log_size(&self) -> usize {
        let shared = self.shared.lock();
        shared
            .saved
            .iter()
            .flatten()
            .map(Persister::raft_state_size)
            .max()
            .unwrap_or(0)
    }

    /// Go's `begin`: prints the test's description and notes the figures
    /// that `end` reports.
    pub fn begin(&mut self, description: &str) {
        println!("{description} ...");
        self.description = description.to_string();
        self.t0 = time::now();
        self.rpcs0 = self.rpc_total();
        self.bytes0 = self.bytes_total();
        let max_index = self.applied.lock().max_index;
        self.max_index0 = max_index;
        step(format!("began {description}"));
    }

    /// Starts the monitors (`monitor.rs`) for the rest of the test: ours,
    /// not Go's, so only our extra tests call it.
    pub fn start_monitors(&mut self) {
        if self.monitor.is_none() {
            self.monitor = Some(Monitor::start(self.shared.clone()));
        }
    }

    /// Go's `end`: checks the time limit, then prints the Passed line with
    /// seconds, peers, RPCs, bytes and commands since `begin` (and, under
    /// it, what the monitors counted).
    pub fn end(&mut self) {
        let figures = self.monitor.take().and_then(Monitor::stop);
        check_background();
        self.check_timeout();
        let stats = Stats {
            seconds: self.t0.elapsed().as_secs_f64(),
            peers: self.n,
            rpcs: self.rpc_total() - self.rpcs0,
            bytes: self.bytes_total() - self.bytes0,
            commands: self.applied.lock().max_index - self.max_index0,
        };
        report::passed(&stats);
        if let Some(figures) = figures {
            println!("{}", figures.line());
        }
    }

    /// Go's `checkTimeout`: a test that ran past the limit fails.
    pub fn check_timeout(&self) {
        let limit = crate::runner::test_limit();
        if self.start.elapsed() > limit {
            fatal(crate::runner::timeout_message(limit));
        }
    }

    /// Go's `cleanup`: kills every Raft and shuts the network down.
    fn cleanup(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
        if let Some(monitor) = self.monitor.take() {
            monitor.stop();
        }
        let rafts: Vec<Arc<R>> = self
            .shared
            .lock()
            .rafts
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for rf in rafts {
            thread::as_student(|| rf.kill());
        }
        self.net.cleanup();
    }
}

/// Go's warning, printed once per process: with one CPU, threads rarely
/// interleave, which hides locking bugs. Not in virtual time: its
/// scheduler interleaves at every scheduling point on any number of CPUs
/// (and keeps a run on one CPU on purpose).
fn warn_once_if_one_cpu() {
    if labrpc::sched::active() {
        return;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            println!("warning: only one CPU, which may conceal locking bugs");
        }
    });
}

impl<R: Peer> Drop for Config<R> {
    fn drop(&mut self) {
        step("cleanup: killing the peers, shutting the network down");
        self.cleanup();
        if !std::thread::panicking() {
            self.check_timeout();
        }
    }
}
