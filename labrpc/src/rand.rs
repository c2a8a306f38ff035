//! Random draws: the only door to randomness for the network, the harness
//! and the Raft.
//!
//! One generator per process, seeded from `LAB_SEED` when it is set (a
//! decimal `u64`), else from the OS. [`seed`] tells which seed is in use so
//! that a failing run can print it and be replayed. Nothing outside this
//! module may draw from `rand`'s thread RNG (clippy enforces it).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::ops::Range;
use std::sync::OnceLock;

struct Source {
    seed: u64,
    rng: Mutex<StdRng>,
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let seed = match std::env::var("LAB_SEED") {
            Ok(text) => parse_seed(&text).unwrap_or_else(|| {
                panic!("LAB_SEED must be a decimal number below 2^64, got {text:?}")
            }),
            Err(_) => rand::random::<u64>() >> 2,
        };
        Source {
            seed,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    })
}

fn parse_seed(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The seed of this process's generator (`LAB_SEED`, or the one drawn).
pub fn seed() -> u64 {
    source().seed
}

/// A uniform draw from `range` (`start..end`, `end` excluded).
///
/// # Panics
/// If the range is empty.
pub fn below(range: Range<u64>) -> u64 {
    source().rng.lock().random_range(range)
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
    source().rng.lock().random()
}

/// A random string of `n` characters from the URL-safe base64 alphabet.
pub fn string(n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = source().rng.lock();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..64)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
