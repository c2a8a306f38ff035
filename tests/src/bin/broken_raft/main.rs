//! The 2A tests against a deliberately broken Raft, chosen by `LAB_BROKEN`,
//! to prove that the harness gives each kind of bug a clear verdict within
//! the time limit (see `tests/harness.rs`). `LAB_BROKEN=none` runs the
//! reference Raft.
//!
//! | `LAB_BROKEN` | the bug |
//! |---|---|
//! | `never-elects` | nobody ever becomes leader |
//! | `two-leaders` | every peer claims to lead term 1 |
//! | `deadlock` | `get_state` blocks forever on a lock a thread never releases (it holds it while sleeping in a loop) |
//! | `deadlock-wait` | the same, but the lock's holder waits forever on a channel nobody sends on: no thread can go on, so virtual time reports it at once |
//! | `panic` | a background thread panics a second after `make` |
//! | `thread-leak` | `kill` leaves a thread running |
//! | `spins` | a second after `make`, a thread spins forever without calling the layer (virtual time cannot schedule it: the wall-clock watchdog names it) |
//! | `yields-forever` | from a second after `make` until `kill`, a thread yields in a loop (`sleep(0)`) and never waits (virtual time's clock stands still: the wall-clock watchdog names it; real time passes) |
//! | `std-thread` | a thread started by `std::thread::spawn` sleeps through the layer until `kill` (virtual time cannot schedule it: the test fails naming it; real time passes) |
//! | `apply-conflict` | each peer applies its own number as the command at index 1 |
//! | `panic-while-stuck` | `get_state` blocks forever, and a second after `make` a thread panics |
//! | `brief-second-leader` | 1.5 s after `make`, every follower claims for 30 ms to lead its term |
//! | `steps-down` | a leader says it is a follower of its own term once it has led it for a second |
//! | `keeps-electing` | from 1.5 s after `make`, a follower's term runs one ahead more every second, as if it kept starting elections |
//! | `flash-second-leader` | 1.5 s after `make`, every follower claims for 50 µs to lead its term |
//!
//! | `no-majority` | commits every entry on every peer, connected or not |
//! | `never-commits` | accepts commands and never applies them |
//! | `skips-an-index` | applies the second entry as index 3 (out of order) |
//! | `rpc-flood` | five pings to every peer per `start` |
//! | `byte-flood` | every command sent three times to every peer |
//! | `applies-garbage` | applies bytes that are no command the tests submitted |
//! | `never-compacts` | ignores the service's snapshots: the log never shrinks |
//! | `snapshot-index-off-by-one` | hands the service each snapshot from the leader with its index one too high |
//! | `stale-command-after-snapshot` | after each snapshot from the leader, applies the command before it again |
//! | `forgets-vote` | the reference, restarted with its persisted vote erased: it can vote twice in one term |
//!
//! `brief-second-leader`, `steps-down`, `keeps-electing` and
//! `flash-second-leader` wrap the reference Raft and change only what
//! `get_state` says, at moments Go's checks do not sample: they prove the
//! monitors (`monitor.rs`) see what Go's 2A checks miss.
//! `flash-second-leader` lies for far less than the monitor's 5 ms
//! real-time period, but for some virtual time: it proves that sampling at
//! every clock advance sees what real-time sampling misses. `no-majority`
//! to `applies-garbage` are the fake of `shared_log.rs`, for the 2B/2C
//! checks; the last three wrap the reference Raft (`snapshots.rs`), for
//! the 2D checks; `forgets-vote` (`forgets_vote.rs`) proves the 2C extra
//! test. Each kind runs
//! every part's tests and our extra tests.

use labrpc::chan::Sender;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Mutex};
use labrpc::time::{self, Duration, Instant};
use labrpc::{ClientEnd, Service, thread};
use raft::{ApplyMsg, Persister};
use tests::Peer;

/// `Peer` methods a broken Raft passes straight to the Raft it wraps,
/// `self.$inner`: `pass_through!(raft; get_state, start, service);` inside
/// an `impl Peer`.
macro_rules! pass_through {
    ($inner:tt; $($method:ident),+) => { $(pass_through!(@ $inner $method);)+ };
    (@ $inner:tt get_state) => {
        fn get_state(&self) -> (u64, bool) {
            self.$inner.get_state()
        }
    };
    (@ $inner:tt start) => {
        fn start(&self, command: Vec<u8>) -> (u64, u64, bool) {
            self.$inner.start(command)
        }
    };
    (@ $inner:tt kill) => {
        fn kill(&self) {
            self.$inner.kill()
        }
    };
    (@ $inner:tt snapshot) => {
        fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
            self.$inner.snapshot(index, snapshot)
        }
    };
    (@ $inner:tt service) => {
        fn service(&self) -> Service {
            self.$inner.service()
        }
    };
}

mod forgets_vote;
mod shared_log;
mod snapshots;
use forgets_vote::ForgetsVote;
use shared_log::SharedLog;
use snapshots::BrokenSnapshots;

/// Never elects: always a follower in term 0.
struct NeverElects;

impl Peer for NeverElects {
    fn make(_: Vec<ClientEnd>, _: usize, _: Persister, _: Sender<ApplyMsg>) -> Self {
        NeverElects
    }
    fn get_state(&self) -> (u64, bool) {
        (0, false)
    }
    fn start(&self, _: Vec<u8>) -> (u64, u64, bool) {
        (0, 0, false)
    }
    fn kill(&self) {}
    fn snapshot(&self, _: u64, _: Vec<u8>) {}
    fn service(&self) -> Service {
        Service::new("Raft")
    }
}

/// Every peer says it leads term 1.
struct TwoLeaders(NeverElects);

impl Peer for TwoLeaders {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, a: Sender<ApplyMsg>) -> Self {
        TwoLeaders(NeverElects::make(p, me, s, a))
    }
    fn get_state(&self) -> (u64, bool) {
        (1, true)
    }
    fn kill(&self) {}
    fn snapshot(&self, _: u64, _: Vec<u8>) {}
    pass_through!(0; start, service);
}

/// A thread takes the lock at start and never lets go; `get_state` waits
/// for it forever.
/// `get_state` waits for a lock its holder never releases: the holder
/// sleeps in a loop, or (`WAITS`) waits on a channel nobody sends on.
struct Deadlock<const WAITS: bool> {
    state: Arc<Mutex<u64>>,
    /// Kept so that the holder's channel never disconnects.
    _never: Sender<()>,
    /// Everything but `get_state` does nothing.
    inert: NeverElects,
}

impl<const WAITS: bool> Peer for Deadlock<WAITS> {
    fn make(_: Vec<ClientEnd>, me: usize, _: Persister, _: Sender<ApplyMsg>) -> Self {
        let state = Arc::new(Mutex::new(0));
        let (taken_tx, taken_rx) = labrpc::chan::bounded(0);
        let (never_tx, never) = labrpc::chan::bounded::<()>(0);
        let held = state.clone();
        thread::spawn(format!("broken-{me}-holder"), move || {
            let _guard = held.lock();
            let _ = taken_tx.send(());
            if WAITS {
                let _ = never.recv();
            }
            loop {
                time::sleep(Duration::from_secs(1));
            }
        });
        let _ = taken_rx.recv();
        Deadlock {
            state,
            _never: never_tx,
            inert: NeverElects,
        }
    }
    fn get_state(&self) -> (u64, bool) {
        (*self.state.lock(), false)
    }
    pass_through!(inert; start, kill, snapshot, service);
}

/// Each peer applies a command of its own at index 1, so peers disagree
/// about a committed entry: the applier must fail the test.
struct ApplyConflict(NeverElects);

impl Peer for ApplyConflict {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, apply_ch: Sender<ApplyMsg>) -> Self {
        thread::spawn(format!("broken-{me}-applier"), move || {
            time::sleep(Duration::from_millis(100 * (me as u64 + 1)));
            let _ = apply_ch.send(ApplyMsg {
                command_valid: true,
                command: tests::command::Command::Int(100 + me as i64).encode(),
                command_index: 1,
                ..ApplyMsg::default()
            });
        });
        ApplyConflict(NeverElects::make(p, me, s, dead_sender()))
    }
    fn kill(&self) {}
    fn snapshot(&self, _: u64, _: Vec<u8>) {}
    pass_through!(0; get_state, start, service);
}

/// A sender nobody listens to, for the parts that must not apply.
fn dead_sender() -> Sender<ApplyMsg> {
    labrpc::chan::bounded(0).0
}

/// A thread panics a second after `make` while `get_state` blocks forever:
/// the test's thread never sees the failure, so the runner must give up
/// on it soon after the panic rather than wait for the time limit.
struct PanicWhileStuck(Deadlock<false>);

impl Peer for PanicWhileStuck {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, a: Sender<ApplyMsg>) -> Self {
        thread::spawn(format!("broken-{me}-panicker"), move || {
            time::sleep(Duration::from_secs(1));
            panic!("peer {me} hit a bug on purpose");
        });
        PanicWhileStuck(Deadlock::make(p, me, s, a))
    }
    fn kill(&self) {}
    fn snapshot(&self, _: u64, _: Vec<u8>) {}
    pass_through!(0; get_state, start, service);
}

/// What the extra thread of [`WithExtraThread`] does.
const PANICS: u8 = 0;
const LEAKS: u8 = 1;
const SPINS: u8 = 2;
const STD_THREAD: u8 = 3;
const YIELDS: u8 = 4;

/// The reference Raft, plus a background thread that panics a second
/// after `make` (`PANICS`), ignores `kill` (`LEAKS`), from a second after
/// `make` spins without ever calling the layer (`SPINS`), or from a second
/// after `make` until `kill` yields in a loop without ever letting time
/// pass (`YIELDS`).
struct WithExtraThread<const KIND: u8> {
    raft: raft::Raft,
    dead: Arc<AtomicBool>,
}

impl<const KIND: u8> Peer for WithExtraThread<KIND> {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, a: Sender<ApplyMsg>) -> Self {
        let dead = Arc::new(AtomicBool::new(false));
        match KIND {
            PANICS => thread::spawn(format!("broken-{me}-panicker"), move || {
                time::sleep(Duration::from_secs(1));
                panic!("peer {me} hit a bug on purpose");
            }),
            LEAKS => thread::spawn(format!("broken-{me}-leaker"), move || {
                // Ignores `dead`: keeps running after kill.
                loop {
                    time::sleep(Duration::from_millis(100));
                }
            }),
            STD_THREAD => {
                // Started by std, not the layer: invisible to virtual time.
                let dead = dead.clone();
                #[allow(clippy::disallowed_methods)]
                std::thread::Builder::new()
                    .name(format!("broken-{me}-std"))
                    .spawn(move || {
                        while !dead.load(Ordering::SeqCst) {
                            time::sleep(Duration::from_millis(100));
                        }
                    })
                    .unwrap();
                thread::spawn(format!("broken-{me}-idle"), || {})
            }
            YIELDS => {
                let dead = dead.clone();
                thread::spawn(format!("broken-{me}-yielder"), move || {
                    time::sleep(Duration::from_secs(1));
                    // A scheduling point every turn, but never a wait.
                    while !dead.load(Ordering::SeqCst) {
                        time::sleep(Duration::ZERO);
                    }
                })
            }
            _ => thread::spawn(format!("broken-{me}-spinner"), move || {
                time::sleep(Duration::from_secs(1));
                // Never reaches the layer again, and ignores `dead`.
                loop {
                    std::hint::spin_loop();
                }
            }),
        };
        WithExtraThread {
            raft: raft::Raft::make(p, me, s, a),
            dead,
        }
    }
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.raft.kill();
    }
    pass_through!(raft; get_state, start, snapshot, service);
}

/// What the reference Raft says, and when this peer was made: the base of
/// the kinds that change only what `get_state` says.
struct Lying<const KIND: u8> {
    raft: raft::Raft,
    made: Instant,
    /// The term this peer has led since when, as last reported.
    led: Mutex<Option<(u64, Instant)>>,
    /// When the last flash of `FLASHES_SECOND_LEADER` began.
    flash_from: Arc<Mutex<Option<Instant>>>,
    /// Set by `kill`: the flashing thread ends.
    dead: Arc<AtomicBool>,
}

const BRIEF_SECOND_LEADER: u8 = 0;
const STEPS_DOWN: u8 = 1;
const KEEPS_ELECTING: u8 = 2;
const FLASHES_SECOND_LEADER: u8 = 3;

/// How long the flash of `FLASHES_SECOND_LEADER` lasts: far under the
/// monitor's real-time period of 5 ms.
const FLASH: Duration = Duration::from_micros(50);

/// 1.5 s after `make`, unless `dead`, starts a flash that lasts [`FLASH`]
/// on the clock (ends included), however late this thread wakes; its
/// sleep makes a virtual clock advance to the flash's last instant.
fn flash_leadership(flash_from: &Mutex<Option<Instant>>, dead: &AtomicBool) {
    time::sleep(Duration::from_millis(1500));
    if dead.load(Ordering::SeqCst) {
        return;
    }
    *flash_from.lock() = Some(time::now());
    time::sleep(FLASH);
}

impl<const KIND: u8> Lying<KIND> {
    /// What this kind says instead of the reference's `(term, leader)`.
    fn lie(&self, term: u64, leader: bool) -> (u64, bool) {
        let age = self.made.elapsed();
        match KIND {
            BRIEF_SECOND_LEADER => {
                let window = Duration::from_millis(1500)..Duration::from_millis(1530);
                (term, leader || window.contains(&age))
            }
            STEPS_DOWN => {
                let mut led = self.led.lock();
                if !leader {
                    *led = None;
                    return (term, false);
                }
                let since = match *led {
                    Some((t, since)) if t == term => since,
                    _ => led.insert((term, time::now())).1,
                };
                (term, since.elapsed() < Duration::from_secs(1))
            }
            FLASHES_SECOND_LEADER => {
                let from = *self.flash_from.lock();
                (term, leader || from.is_some_and(|f| f.elapsed() <= FLASH))
            }
            _ => {
                let ahead = age.saturating_sub(Duration::from_millis(500)).as_secs();
                if leader {
                    (term, true)
                } else {
                    (term + ahead, false)
                }
            }
        }
    }
}

impl<const KIND: u8> Peer for Lying<KIND> {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, a: Sender<ApplyMsg>) -> Self {
        let flash_from = Arc::new(Mutex::new(None));
        let dead = Arc::new(AtomicBool::new(false));
        if KIND == FLASHES_SECOND_LEADER {
            let (flash_from, dead) = (flash_from.clone(), dead.clone());
            thread::spawn(format!("broken-{me}-flasher"), move || {
                flash_leadership(&flash_from, &dead)
            });
        }
        Lying {
            raft: raft::Raft::make(p, me, s, a),
            made: time::now(),
            led: Mutex::new(None),
            flash_from,
            dead,
        }
    }
    fn get_state(&self) -> (u64, bool) {
        let (term, leader) = self.raft.get_state();
        self.lie(term, leader)
    }
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.raft.kill();
    }
    pass_through!(raft; start, snapshot, service);
}

/// Go's tests of every part, then our extra tests, for `R`.
fn all_tests<R: Peer>() -> Vec<tests::LabTest> {
    let mut all = tests::lab2_tests::<R>();
    all.extend(tests::lab2a_extra::tests::<R>());
    all.extend(tests::lab2c_extra::tests::<R>());
    all
}

fn main() {
    let which = std::env::var("LAB_BROKEN").unwrap_or_default();
    let tests = match which.as_str() {
        "none" => all_tests::<raft::Raft>(),
        "never-elects" => all_tests::<NeverElects>(),
        "two-leaders" => all_tests::<TwoLeaders>(),
        "deadlock" => all_tests::<Deadlock<false>>(),
        "deadlock-wait" => all_tests::<Deadlock<true>>(),
        "panic" => all_tests::<WithExtraThread<PANICS>>(),
        "thread-leak" => all_tests::<WithExtraThread<LEAKS>>(),
        "spins" => all_tests::<WithExtraThread<SPINS>>(),
        "std-thread" => all_tests::<WithExtraThread<STD_THREAD>>(),
        "yields-forever" => all_tests::<WithExtraThread<YIELDS>>(),
        "panic-while-stuck" => all_tests::<PanicWhileStuck>(),
        "apply-conflict" => all_tests::<ApplyConflict>(),
        "brief-second-leader" => all_tests::<Lying<BRIEF_SECOND_LEADER>>(),
        "steps-down" => all_tests::<Lying<STEPS_DOWN>>(),
        "keeps-electing" => all_tests::<Lying<KEEPS_ELECTING>>(),
        "flash-second-leader" => all_tests::<Lying<FLASHES_SECOND_LEADER>>(),
        "no-majority" => all_tests::<SharedLog<{ shared_log::NO_MAJORITY }>>(),
        "never-commits" => all_tests::<SharedLog<{ shared_log::NEVER_COMMITS }>>(),
        "skips-an-index" => all_tests::<SharedLog<{ shared_log::SKIPS_AN_INDEX }>>(),
        "rpc-flood" => all_tests::<SharedLog<{ shared_log::RPC_FLOOD }>>(),
        "byte-flood" => all_tests::<SharedLog<{ shared_log::BYTE_FLOOD }>>(),
        "applies-garbage" => all_tests::<SharedLog<{ shared_log::APPLIES_GARBAGE }>>(),
        "never-compacts" => all_tests::<BrokenSnapshots<{ snapshots::NEVER_COMPACTS }>>(),
        "snapshot-index-off-by-one" => {
            all_tests::<BrokenSnapshots<{ snapshots::SNAPSHOT_INDEX_OFF_BY_ONE }>>()
        }
        "stale-command-after-snapshot" => {
            all_tests::<BrokenSnapshots<{ snapshots::STALE_COMMAND_AFTER_SNAPSHOT }>>()
        }
        "forgets-vote" => all_tests::<ForgetsVote>(),
        other => {
            eprintln!(
                "LAB_BROKEN must be one of none, never-elects, two-leaders, deadlock, deadlock-wait, panic, thread-leak, spins, std-thread, yields-forever, panic-while-stuck, apply-conflict, brief-second-leader, steps-down, keeps-electing, flash-second-leader, no-majority, never-commits, skips-an-index, rpc-flood, byte-flood, applies-garbage, never-compacts, snapshot-index-off-by-one, stale-command-after-snapshot, forgets-vote; got {other:?}"
            );
            std::process::exit(2);
        }
    };
    tests::runner::main("broken_raft", &tests);
}
