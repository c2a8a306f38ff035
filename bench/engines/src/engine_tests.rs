//! The two back ends keep the same virtual-time contract: sleepers wake
//! at their deadlines in order, a timed receive times out at its deadline
//! or returns what was sent with the sender's time, and the shuttle clock
//! reports a deadlock instead of hanging. The determinism check of the
//! report is proved to trip on a changed schedule.

use crate::baton::{self, Baton};
use crate::coroutines::{self, Coroutines};
use crate::engine::Engine;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Three sleepers started in the order 300, 100, 200 ms: the order and
/// the virtual times at which they woke.
fn sleepers<E: Engine>() -> Vec<(u64, Duration)> {
    let woke = std::sync::Arc::new(E::mutex(Vec::new()));
    let handles: Vec<_> = [300, 100, 200]
        .into_iter()
        .map(|n| {
            let woke = woke.clone();
            E::spawn("sleeper", move || {
                E::sleep(ms(n));
                E::with_lock(&woke, |w| w.push((n, E::now())));
            })
        })
        .collect();
    for h in handles {
        E::join(h);
    }
    E::with_lock(&woke, std::mem::take)
}

/// A receive that times out at 50 ms, then one that gets a message sent
/// at 70 ms: what each returned and when.
fn timed_receives<E: Engine>() -> Vec<(Option<u32>, Duration)> {
    let (tx, rx) = E::channel::<u32>();
    let sender = E::spawn("sender", move || {
        E::sleep(ms(70));
        E::send(&tx, 7);
    });
    let first = E::recv_timeout(&rx, Some(ms(50)));
    let t1 = E::now();
    let second = E::recv_timeout(&rx, Some(ms(1000)));
    let t2 = E::now();
    E::join(sender);
    vec![(first, t1), (second, t2)]
}

fn expected_sleepers() -> Vec<(u64, Duration)> {
    vec![(100, ms(100)), (200, ms(200)), (300, ms(300))]
}

fn expected_receives() -> Vec<(Option<u32>, Duration)> {
    vec![(None, ms(50)), (Some(7), ms(70))]
}

/// Runs `work` on the baton (one seed) and on shuttle (20 seeds) and
/// checks every result against `expected`.
fn on_both_engines<R>(work_baton: fn() -> R, work_shuttle: fn() -> R, expected: R)
where
    R: PartialEq + std::fmt::Debug + Send + 'static,
{
    let (got, _) = baton::in_run(1, work_baton);
    assert_eq!(got, expected, "baton");
    for seed in 1..=20 {
        let (got, _) = coroutines::run_seeds(&[seed], work_shuttle);
        assert_eq!(got.len(), 1, "shuttle, seed {seed}");
        assert_eq!(got[0], expected, "shuttle, seed {seed}");
    }
}

#[test]
fn sleepers_wake_in_deadline_order_at_their_deadlines() {
    on_both_engines(
        sleepers::<Baton>,
        sleepers::<Coroutines>,
        expected_sleepers(),
    );
}

#[test]
fn a_timed_receive_times_out_then_gets_the_message_when_sent() {
    on_both_engines(
        timed_receives::<Baton>,
        timed_receives::<Coroutines>,
        expected_receives(),
    );
}

#[test]
#[should_panic(expected = "deadlock")]
fn shuttle_clock_reports_a_deadlock_instead_of_hanging() {
    coroutines::run_seeds(&[3], || {
        let (_tx, rx) = Coroutines::channel::<u32>();
        Coroutines::recv_timeout(&rx, None)
    });
}
