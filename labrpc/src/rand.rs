//! Random draws: the only door to randomness for the network, the harness
//! and the Raft.
//!
//! Every thread draws from its own stream, derived from the process's seed
//! (`LAB_SEED` when it is set, a decimal `u64`, else one drawn from the OS;
//! [`seed`] tells which, so that a failing run can print it). A runner that
//! runs tests with several seeds in one process sets each with
//! [`set_seed`] between tests. A draw takes no lock and no thread's draws
//! move another thread's stream:
//! - a thread started with [`crate::thread::spawn`] gets a stream derived
//!   from its parent's stream key, the number of threads the parent had
//!   started before it, and its name (the parent calls `child_stream` inside
//!   `spawn`, the child `adopt`s the result first thing);
//! - a thread not started through the layer (the process's main thread,
//!   cargo test's threads) starts with the root stream, derived from the
//!   seed and the label [`ROOT_LABEL`];
//! - [`restart_stream`] resets the calling thread's stream to one derived
//!   from the seed and a label, with no children yet. The test runner calls
//!   it with the test's name before it starts the test's thread, so a test
//!   draws the same numbers whether it runs alone (`-- name --exact`) or
//!   after others;
//! - [`below_in`] draws from a side stream of the calling thread, named by
//!   a label, so that draws whose number depends on timing (the sleep of
//!   each round of `check_one_leader`) do not shift the thread's later
//!   draws (the test's next choice of peers).
//!
//! Keys are mixed with fixed functions, never with std's `RandomState` or
//! `DefaultHasher`, whose keys change from process to process:
//! `combine(k, w) = splitmix64(k + splitmix64(w))` (SplitMix64's output
//! function, wrapping arithmetic) and FNV-1a 64 for names. A root stream's
//! key is `combine(seed, fnv1a(label))`; child number `i` (from 0) named
//! `name` gets `combine(combine(parent, i), fnv1a(name))`; a side stream is
//! the child number 2^64 - 1 named by its label. Each stream is a `StdRng`
//! seeded with its key (`seed_from_u64`), made at the thread's first draw.
//!
//! What a seed replays in real time: the draws of each thread, in that
//! thread's order. The test's own choices (the peers it disconnects, the
//! names of the ends), each peer's draws (its election timeouts) and the
//! network's (delays, losses, reordering, drawn on the thread that makes
//! the call) come out the same in every run with the seed, as long as the
//! thread made the same draws and started the same threads before them.
//! The OS's interleaving of threads is not replayed, so where a thread's
//! path depends on timing (how many times a peer resets its election timer
//! before it hears a leader, how many elections it starts, so how many RPC
//! threads), its later draws, and the streams of the threads it starts
//! later, diverge. The virtual-time mode (coming) also schedules every
//! thread from the seed, and so replays the whole run.
//!
//! Nothing outside this module may draw from `rand`'s thread RNG (clippy
//! enforces it), and this module must never share a generator between
//! threads.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::cell::RefCell;
use std::ops::Range;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

/// The label of the stream a thread starts with when the layer did not
/// start it (the main thread, cargo test's threads).
pub const ROOT_LABEL: &str = "root";

/// What a parent hands to a thread it starts: the key of the child's
/// stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamSeed(u64);

/// One thread's stream of draws.
pub(crate) struct Stream {
    key: u64,
    /// Made at the first draw: most threads (one per RPC) never draw.
    rng: Option<StdRng>,
    /// Threads this stream's thread has started since the stream began.
    children: u64,
    /// The side streams drawn from so far (see [`below_in`]), by label.
    sides: Vec<(&'static str, StdRng)>,
}

impl Stream {
    fn new(seed: StreamSeed) -> Stream {
        Stream {
            key: seed.0,
            rng: None,
            children: 0,
            sides: Vec::new(),
        }
    }

    fn rng(&mut self) -> &mut StdRng {
        let key = self.key;
        self.rng.get_or_insert_with(|| StdRng::seed_from_u64(key))
    }

    /// The side stream `label`: the stream of a child named `label` at
    /// place 2^64 - 1, which no real child reaches.
    fn side(&mut self, label: &'static str) -> &mut StdRng {
        let at = match self.sides.iter().position(|(l, _)| *l == label) {
            Some(at) => at,
            None => {
                let key = child_key(self.key, u64::MAX, label).0;
                self.sides.push((label, StdRng::seed_from_u64(key)));
                self.sides.len() - 1
            }
        };
        &mut self.sides[at].1
    }

    /// The seed of the next child, named `name`; counts the child.
    fn child(&mut self, name: &str) -> StreamSeed {
        let seed = child_key(self.key, self.children, name);
        self.children += 1;
        seed
    }
}

thread_local! {
    /// Boxed: a fiber switch swaps it, and a pointer moves for less than a
    /// generator's few hundred bytes.
    static STREAM: RefCell<Option<Box<Stream>>> = const { RefCell::new(None) };
}

/// Exchanges `saved` with the calling OS thread's stream (for `fiber.rs`,
/// which swaps logical threads on one OS thread).
pub(crate) fn swap_stream(saved: &mut Option<Box<Stream>>) {
    STREAM.with(|cell| std::mem::swap(&mut *cell.borrow_mut(), saved));
}

/// Runs `f` on the calling thread's stream, starting it at the root stream
/// if the thread has none yet.
fn with_stream<T>(f: impl FnOnce(&mut Stream) -> T) -> T {
    STREAM.with(|cell| {
        let mut stream = cell.borrow_mut();
        f(stream.get_or_insert_with(|| Box::new(Stream::new(root_key(seed(), ROOT_LABEL)))))
    })
}

/// Resets the calling thread's stream to the one derived from the seed and
/// `label`, with no children yet: what follows draws the same numbers, and
/// starts threads with the same streams, in every process with this seed.
pub fn restart_stream(label: &str) {
    let stream = Stream::new(root_key(seed(), label));
    STREAM.with(|cell| *cell.borrow_mut() = Some(Box::new(stream)));
}

/// The stream of the next thread the calling thread starts, named `name`.
/// Called by the parent inside [`crate::thread::spawn`].
pub(crate) fn child_stream(name: &str) -> StreamSeed {
    with_stream(|stream| stream.child(name))
}

/// Makes `seed` the calling thread's stream. Called first thing on a thread
/// started by [`crate::thread::spawn`] (whose OS thread may have run other
/// threads before: their stream is dropped).
pub(crate) fn adopt(seed: StreamSeed) {
    STREAM.with(|cell| *cell.borrow_mut() = Some(Box::new(Stream::new(seed))));
}

/// The key of the stream labelled `label` under `seed`.
fn root_key(seed: u64, label: &str) -> StreamSeed {
    StreamSeed(combine(seed, fnv1a(label)))
}

/// The key of the child number `index` (from 0), named `name`, of the
/// stream `parent`.
fn child_key(parent: u64, index: u64, name: &str) -> StreamSeed {
    StreamSeed(combine(combine(parent, index), fnv1a(name)))
}

/// Mixes `word` into `key`: the SplitMix64 finalizer of their sum after
/// mixing `word` alone, so that the order of the words matters.
fn combine(key: u64, word: u64) -> u64 {
    splitmix64(key.wrapping_add(splitmix64(word)))
}

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): the output for state
/// `z` (add the golden-ratio gamma, then the finalizer).
fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits, of `text`'s bytes.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The process's seed: `LAB_SEED`, or one drawn from the OS at the first
/// use; [`set_seed`] replaces it.
static SEED: AtomicU64 = AtomicU64::new(0);

/// Reads `LAB_SEED` (or draws a seed) once, at the first use of the seed.
static SEED_READ: Once = Once::new();

fn source() -> u64 {
    SEED_READ.call_once(|| {
        let seed = match std::env::var("LAB_SEED") {
            Ok(text) => parse_seed(&text).unwrap_or_else(|| {
                panic!("LAB_SEED must be a decimal number below 2^64, got {text:?}")
            }),
            Err(_) => rand::random::<u64>() >> 2,
        };
        SEED.store(seed, Ordering::Relaxed);
    });
    SEED.load(Ordering::Relaxed)
}

fn parse_seed(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The seed every stream of this process derives from (`LAB_SEED`, or the
/// one drawn, or the last [`set_seed`]).
pub fn seed() -> u64 {
    source()
}

/// Makes `seed` the process's seed from now on, in place of `LAB_SEED`:
/// for a runner that runs tests with several seeds in one process, one
/// after another (`LAB_SEEDS`). Call it only between tests, when no thread
/// of a test is left: a stream made before keeps its old key.
pub fn set_seed(seed: u64) {
    SEED_READ.call_once(|| {});
    SEED.store(seed, Ordering::Relaxed);
}

/// A uniform draw from `range` (`start..end`, `end` excluded).
///
/// # Panics
/// If the range is empty.
pub fn below(range: Range<u64>) -> u64 {
    with_stream(|stream| stream.rng().random_range(range))
}

/// A uniform draw from `range`, from the calling thread's side stream
/// `label` instead of its own: for draws whose number depends on timing
/// (a check that sleeps a random while in each of its rounds until a leader
/// shows), so that they do not shift the thread's later draws.
///
/// # Panics
/// If the range is empty.
pub fn below_in(label: &'static str, range: Range<u64>) -> u64 {
    with_stream(|stream| stream.side(label).random_range(range))
}

/// A uniform draw of a duration in milliseconds from `range`.
pub fn millis(range: Range<u64>) -> std::time::Duration {
    std::time::Duration::from_millis(below(range))
}

/// True with probability `numerator / denominator`.
pub fn chance(numerator: u64, denominator: u64) -> bool {
    below(0..denominator) < numerator
}

/// A uniform 64-bit draw.
pub fn next_u64() -> u64 {
    with_stream(|stream| stream.rng().random())
}

/// A random string of `n` characters from the URL-safe base64 alphabet.
pub fn string(n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    with_stream(|stream| {
        let rng = stream.rng();
        (0..n)
            .map(|_| ALPHABET[rng.random_range(0..64)] as char)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thread::spawn;

    /// Ten draws from the calling thread's stream.
    fn draws() -> Vec<u64> {
        (0..10).map(|_| next_u64()).collect()
    }

    /// Ten draws from a thread named `name` started from the calling one.
    fn child_draws(name: &str) -> Vec<u64> {
        spawn(name, draws).join().unwrap()
    }

    #[test]
    fn draws_stay_in_range() {
        for _ in 0..1000 {
            assert!(below(3..10) >= 3 && below(3..10) < 10);
        }
        assert_eq!(string(20).len(), 20);
        assert!(!chance(0, 10));
        assert!(chance(10, 10));
        assert_eq!(parse_seed(" 42 "), Some(42));
        assert_eq!(parse_seed("x"), None);
    }

    #[test]
    fn the_mixing_functions_are_the_published_ones() {
        // SplitMix64's first output from state 0, and FNV-1a's test vectors.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(fnv1a(""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a("a"), 0xAF63_DC4C_8601_EC8C);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_F739_67E8);
        // The keys of the module doc's formulas, computed apart (in Python):
        // the stream of the test many_elections_2a under LAB_SEED=777, and
        // of the first thread it starts, the test's own.
        let test = root_key(777, "many_elections_2a");
        assert_eq!(test, StreamSeed(0xA316_D81B_45DC_A782));
        let own = child_key(test.0, 0, "test-many_elections_2a");
        assert_eq!(own, StreamSeed(0x138F_E89C_78B4_DF53));
    }

    #[test]
    fn a_label_replays_its_draws_and_other_labels_differ() {
        restart_stream("test-a");
        let a = draws();
        restart_stream("test-b");
        let b = draws();
        restart_stream("test-a");
        assert_eq!(draws(), a);
        assert_ne!(a, b);
        assert_ne!(root_key(1, "x"), root_key(2, "x"), "seeds must differ");
        assert_ne!(root_key(1, "x"), root_key(1, "y"));
    }

    #[test]
    fn children_differ_by_place_and_name_and_replay() {
        restart_stream("children");
        let first = child_draws("worker");
        let second = child_draws("worker");
        let other_name = child_draws("helper");
        assert_ne!(first, second, "the second child must not repeat the first");
        restart_stream("children");
        assert_eq!(child_draws("worker"), first);
        assert_eq!(child_draws("helper"), child_draws_at(1, "helper"));
        assert_ne!(other_name, child_draws_at(2, "worker"));
        assert_ne!(first, draws_of(root_key(seed(), "children")));
    }

    /// The draws of the child number `index` named `name` of the stream
    /// labelled "children", computed without starting a thread.
    fn child_draws_at(index: u64, name: &str) -> Vec<u64> {
        let parent = root_key(seed(), "children").0;
        draws_of(child_key(parent, index, name))
    }

    fn draws_of(seed: StreamSeed) -> Vec<u64> {
        let mut stream = Stream::new(seed);
        (0..10).map(|_| stream.rng().random()).collect()
    }

    #[test]
    fn a_parent_draws_the_same_whether_or_not_it_starts_threads() {
        restart_stream("parent");
        let alone = draws();
        restart_stream("parent");
        let mut interleaved = Vec::new();
        for _ in 0..10 {
            interleaved.push(next_u64());
            child_draws("child");
        }
        assert_eq!(interleaved, alone);
    }

    #[test]
    fn a_child_does_not_depend_on_draws_other_threads_make_meanwhile() {
        restart_stream("quiet");
        let _sibling = child_draws("sibling");
        let quiet = child_draws("late");
        // Again, but the first child keeps drawing while the second starts
        // and draws, and the parent draws in between.
        restart_stream("quiet");
        let (started, go) = crate::chan::bounded::<()>(0);
        let (stop, stopped) = crate::chan::bounded::<()>(0);
        let busy = spawn("sibling", move || {
            let _ = started.send(());
            while stopped.try_recv().is_err() {
                next_u64();
            }
        });
        go.recv().unwrap();
        draws();
        let late = child_draws("late");
        stop.send(()).unwrap();
        busy.join().unwrap();
        assert_eq!(late, quiet);
    }

    #[test]
    fn side_draws_do_not_shift_the_thread_s_own() {
        restart_stream("sides");
        let alone = draws();
        let side: Vec<u64> = (0..10).map(|_| below_in("jitter", 0..1000)).collect();
        restart_stream("sides");
        let mut mixed = Vec::new();
        let mut side_again = Vec::new();
        for _ in 0..10 {
            side_again.push(below_in("jitter", 0..1000));
            mixed.push(next_u64());
        }
        assert_eq!(mixed, alone);
        assert_eq!(side_again, side, "a side stream replays too");
        assert_ne!(
            side,
            (0..10)
                .map(|_| below_in("other", 0..1000))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_thread_started_outside_the_layer_starts_at_the_root() {
        let root = draws_of(root_key(seed(), ROOT_LABEL));
        // cargo test runs this test on a fresh thread of its own.
        let fresh = std::thread::spawn(draws).join().unwrap();
        assert_eq!(fresh, root);
    }
}
