//! Micro-benchmarks of the two costs a run is made of: one switch (two
//! threads pass a number back and forth over two channels, so that every
//! message is a hand-off from one thread to the other) and one short
//! thread (started, run, joined). This module must never block except
//! through [`Engine`].

use crate::engine::Engine;

/// `rounds` round trips (2 × `rounds` hand-offs); returns the last value,
/// which must be `rounds`.
pub fn ping_pong<E: Engine>(rounds: u64) -> u64 {
    let (ping_tx, ping_rx) = E::channel::<u64>();
    let (pong_tx, pong_rx) = E::channel::<u64>();
    let pong = E::spawn("pong", move || {
        for _ in 0..rounds {
            let n = E::recv_timeout(&ping_rx, None).expect("ping hung up");
            E::send(&pong_tx, n + 1);
        }
    });
    let mut n = 0;
    for _ in 0..rounds {
        E::send(&ping_tx, n);
        n = E::recv_timeout(&pong_rx, None).expect("pong hung up");
    }
    E::join(pong);
    n
}

/// `threads` threads started and joined one at a time, each of which
/// returns its number; returns the sum, which must be `threads * (threads
/// - 1) / 2`. The cost of the thread per RPC that the network starts.
pub fn spawn_join<E: Engine>(threads: u64) -> u64 {
    (0..threads)
        .map(|i| E::join(E::spawn("short", move || i)))
        .sum()
}
