//! Checks beyond the Go lab's own: isolation of slow handlers, threads
//! after cleanup, panics, loud dispatch errors, the counters' exact
//! placement, and the statistics of the unreliable network.
//!
//! A check with a real-time bound is judged with the machine's lateness
//! during it (`window/mod.rs`); the tests never sleep to let another thread
//! get going, they wait for the network's counters.

mod junk;
mod window;

use junk::{end_to, serve_junk};
use labrpc::chan;
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration};
use labrpc::{Network, Server, Service};
use window::{Verdict, Window, judge, judged, wait_until};

/// Adds a server called `name` whose `Sleepy.Sleep` handler sleeps for the
/// given milliseconds; returns it (its count shows a request dispatched).
fn sleepy_server(net: &Network, name: &str) -> Server {
    let mut svc = Service::new("Sleepy");
    svc.register("Sleep", |ms: u64| {
        time::sleep(Duration::from_millis(ms));
        ms
    });
    let srv = Server::new();
    srv.add_service(svc);
    net.add_server(name, srv.clone());
    srv
}

/// How long a test waits for a request its threads send to be counted.
const SEND_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn slow_handler_does_not_delay_another_server() {
    judged(
        "slow_handler_does_not_delay_another_server",
        slow_handler_beside_fast_calls,
    );
}

/// 50 calls to one server while a 5 s handler runs on another.
fn slow_handler_beside_fast_calls() -> Verdict {
    let net = Network::new();
    let slow_server = sleepy_server(&net, "slow");
    serve_junk(&net, "fast");
    let slow = end_to(&net, "to-slow", "slow");
    let fast = end_to(&net, "to-fast", "fast");
    let (tx, rx) = chan::unbounded();
    thread::spawn("slow-caller", move || {
        let r: Option<u64> = slow.call("Sleepy.Sleep", &5000u64);
        tx.send(r).unwrap();
    });
    wait_until("the 5 s handler dispatched", SEND_LIMIT, || {
        slow_server.count() == 1
    });
    let window = Window::open("50 fast calls beside a 5 s handler", Duration::from_secs(4));
    for i in 0..50i64 {
        let r: Option<String> = fast.call("JunkServer.Handler2", &i);
        assert_eq!(r, Some(format!("handler2-{i}")));
    }
    let verdict = window.close();
    if verdict == Verdict::Passed {
        assert!(rx.try_recv().is_err(), "the 5 s handler returned early");
    }
    assert_eq!(rx.recv().unwrap(), Some(5000));
    net.cleanup();
    verdict
}

#[test]
fn slow_handler_does_not_delay_its_own_server() {
    judged(
        "slow_handler_does_not_delay_its_own_server",
        quick_call_beside_slow_one,
    );
}

/// A 1 ms call to a server while a 3 s handler of the same server runs.
fn quick_call_beside_slow_one() -> Verdict {
    let net = Network::new();
    let server = sleepy_server(&net, "s");
    let e = end_to(&net, "e", "s");
    let e2 = e.clone();
    thread::spawn("slow-caller", move || {
        let _: Option<u64> = e2.call("Sleepy.Sleep", &3000u64);
    });
    wait_until("the 3 s handler dispatched", SEND_LIMIT, || {
        server.count() == 1
    });
    let window = Window::open("a 1 ms call beside a 3 s handler", Duration::from_secs(2));
    let r: Option<u64> = e.call("Sleepy.Sleep", &1u64);
    let verdict = window.close();
    assert_eq!(r, Some(1));
    net.cleanup();
    verdict
}

#[test]
fn no_thread_outlives_cleanup() {
    judged("no_thread_outlives_cleanup", cleanup_ends_every_thread);
}

/// Calls in flight and idle handler threads, then cleanup: a later call
/// fails at once, and every thread the network started ends within 1 s.
fn cleanup_ends_every_thread() -> Verdict {
    let owner = Owner::new("no_thread_outlives_cleanup");
    let _in = owner.enter();
    let net = Network::new();
    net.set_long_delays(true);
    serve_junk(&net, "s");
    let live = end_to(&net, "live", "s");
    // Leave idle handler threads in the pool.
    for i in 0..20i64 {
        let _: Option<String> = live.call("JunkServer.Handler2", &i);
    }
    // Calls to a disabled end under long delays wait up to 7 s.
    let dead = end_to(&net, "dead", "s");
    net.enable("dead", false);
    for i in 0..20 {
        let dead = dead.clone();
        thread::spawn(format!("caller-{i}"), move || {
            let r: Option<String> = dead.call("JunkServer.Handler2", &0i64);
            assert_eq!(r, None);
        });
    }
    wait_until("the dead end's calls sent", SEND_LIMIT, || {
        net.total_count() == 40
    });
    net.cleanup();
    let window = Window::open("a call after cleanup", Duration::from_millis(50));
    let r: Option<String> = live.call("JunkServer.Handler2", &1i64);
    let call_verdict = window.close();
    assert_eq!(r, None, "a call after cleanup succeeded");
    let window = Window::open("every thread ended after cleanup", Duration::from_secs(1));
    let ended = owner.wait_threads_ended(Duration::from_secs(1) + window::GIVE_UP_AFTER);
    if let Err(left) = &ended {
        panic!("threads alive 6 s after cleanup: {left:?}");
    }
    let threads_verdict = window.close();
    assert_eq!(owner.failure(), None);
    worse(call_verdict, threads_verdict)
}

/// The worse of two verdicts of one run.
fn worse(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Failed(why), _) | (_, Verdict::Failed(why)) => Verdict::Failed(why),
        (Verdict::Inconclusive(why), _) | (_, Verdict::Inconclusive(why)) => {
            Verdict::Inconclusive(why)
        }
        _ => Verdict::Passed,
    }
}

#[test]
fn panicking_handler_fails_the_owner() {
    let owner = Owner::new("panicking_handler_fails_the_owner");
    let _in = owner.enter();
    let net = Network::new();
    let mut svc = Service::new("Bad");
    svc.register("Boom", |_: u64| -> u64 { panic!("handler exploded") });
    let srv = Server::new();
    srv.add_service(svc);
    net.add_server("s", srv);
    let e = end_to(&net, "e", "s");
    let r: Option<u64> = e.call("Bad.Boom", &1u64);
    assert_eq!(r, None);
    let failure = owner
        .wait_failure(Duration::from_secs(5))
        .expect("no failure recorded");
    assert!(failure.contains("handler exploded"), "{failure}");
    assert!(failure.contains("labrpc-handler"), "{failure}");
    net.cleanup();
}

#[test]
fn unknown_service_or_method_fails_loudly() {
    let owner = Owner::new("unknown_service_or_method_fails_loudly");
    let _in = owner.enter();
    let net = Network::new();
    serve_junk(&net, "s");
    let e = end_to(&net, "e", "s");
    let r: Option<u64> = e.call("Raft.RequestVote", &1u64);
    assert_eq!(r, None);
    let failure = owner.wait_failure(Duration::from_secs(5)).unwrap();
    assert!(
        failure.contains(
            "unknown service Raft in Raft.RequestVote; expecting one of [\"JunkServer\"]"
        ),
        "{failure}"
    );
    let r: Option<u64> = e.call("JunkServer.Nope", &1u64);
    assert_eq!(r, None);
    wait_until("the second failure recorded", SEND_LIMIT, || {
        owner.failures().len() >= 2
    });
    let failures = owner.failures().join("\n");
    assert!(
        failures.contains("unknown method Nope in JunkServer.Nope"),
        "{failures}"
    );
    assert!(failures.contains("Handler7"), "{failures}");
    net.cleanup();
}

#[test]
fn counters_sit_where_go_puts_them() {
    let net = Network::new();
    serve_junk(&net, "s");
    let e = end_to(&net, "e", "s");
    let r: Option<String> = e.call("JunkServer.Handler2", &5i64);
    let (req, rep) = (
        labcodec::encode(&5i64).len(),
        labcodec::encode(&r.unwrap()).len(),
    );
    assert_eq!(net.total_bytes() as usize, req + rep);
    // A disabled end: counted in the total, never at the server, no reply bytes.
    net.enable("e", false);
    let r: Option<String> = e.call("JunkServer.Handler2", &5i64);
    assert_eq!(r, None);
    assert_eq!(net.total_count(), 2);
    assert_eq!(net.count("s"), 1);
    assert_eq!(net.total_bytes() as usize, 2 * req + rep);
    // A deleted server: the same.
    net.enable("e", true);
    net.delete_server("s");
    let r: Option<String> = e.call("JunkServer.Handler2", &5i64);
    assert_eq!(r, None);
    assert_eq!(net.total_count(), 3);
    net.cleanup();
}

#[test]
fn a_sent_call_is_counted_before_it_is_waited_on() {
    let net = Network::new();
    serve_junk(&net, "s");
    let e = end_to(&net, "e", "s");
    let sent = e.send("JunkServer.Handler2", &7i64);
    // Counted and routed on the sending thread: nothing has waited yet.
    assert_eq!(net.total_count(), 1);
    assert_eq!(net.total_bytes() as usize, labcodec::encode(&7i64).len());
    let r: Option<String> = sent.wait();
    assert_eq!(r.as_deref(), Some("handler2-7"));
    assert_eq!(net.count("s"), 1);
    net.cleanup();
    // After cleanup nothing is counted, and the wait fails at once.
    let r: Option<String> = e.send("JunkServer.Handler2", &8i64).wait();
    assert_eq!(r, None);
    assert_eq!(net.total_count(), 1);
}

#[test]
fn replaced_server_never_replies() {
    let net = Network::new();
    let first = sleepy_server(&net, "s");
    let e = end_to(&net, "e", "s");
    let (tx, rx) = chan::unbounded();
    thread::spawn("caller", move || {
        tx.send(e.call::<u64, u64>("Sleepy.Sleep", &300)).unwrap();
    });
    // The request must be running on the first server when it is replaced.
    wait_until("the call dispatched", SEND_LIMIT, || first.count() == 1);
    let second = sleepy_server(&net, "s"); // same name, another object
    assert_eq!(rx.recv().unwrap(), None);
    assert_eq!(second.count(), 0, "the call reached the new server");
    net.cleanup();
}

/// `n` successes in `trials` with probability `p`: within 4 standard
/// deviations of the mean.
fn within_four_sigma(n: usize, trials: usize, p: f64) -> bool {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    (n as f64 - mean).abs() <= 4.0 * sd
}

#[test]
fn unreliable_drop_rates_match_go() {
    let net = Network::new();
    net.set_reliable(false);
    serve_junk(&net, "s");
    let clients = 100;
    let per_client: i64 = 100;
    let (tx, rx) = chan::unbounded();
    for c in 0..clients {
        let e = end_to(&net, &format!("c{c}"), "s");
        let tx = tx.clone();
        thread::spawn(format!("client-{c}"), move || {
            let ok = (0..per_client)
                .filter(|i| e.call::<i64, String>("JunkServer.Handler2", i).is_some())
                .count();
            tx.send(ok).unwrap();
        });
    }
    let trials = clients * per_client as usize;
    let ok: usize = (0..clients).map(|_| rx.recv().unwrap()).sum();
    let reached = net.count("s");
    // Requests reach the handler with probability 0.9; replies then arrive
    // with probability 0.9: 0.81 end to end.
    assert!(
        within_four_sigma(reached, trials, 0.9),
        "{reached} of {trials} reached the server"
    );
    assert!(
        within_four_sigma(ok, trials, 0.81),
        "{ok} of {trials} succeeded"
    );
    assert!(
        within_four_sigma(ok, reached, 0.9),
        "{ok} of {reached} replies arrived"
    );
    net.cleanup();
}

/// Ours: with duplicates on, about one request in four reaches its handler
/// a second time, within a second, and the caller sees one reply; a server
/// deleted meanwhile gets no copy.
#[test]
fn duplicates_deliver_a_late_copy_of_one_request_in_four() {
    use labrpc::{DUPLICATE_DELAY, DUPLICATE_ONE_IN};
    let net = Network::new();
    net.set_duplicates(true);
    let js = serve_junk(&net, "s");
    let e = end_to(&net, "c", "s");
    let trials = 400;
    let replies = (0..trials)
        .filter(|i| {
            e.call::<i64, String>("JunkServer.Handler2", &(*i as i64))
                .is_some()
        })
        .count();
    assert_eq!(
        replies, trials,
        "a duplicate must not cost its request the reply"
    );
    time::sleep(DUPLICATE_DELAY + Duration::from_millis(500));
    let copies = js.log2.lock().len() - trials;
    assert!(
        within_four_sigma(copies, trials, 1.0 / DUPLICATE_ONE_IN as f64),
        "{copies} copies of {trials} requests"
    );
    // Every copy repeats a request that was sent.
    let seen = js.log2.lock().clone();
    assert!(
        seen.iter().all(|&x| (0..trials as i64).contains(&x)),
        "{seen:?}"
    );

    // Copies still in the network when their server is deleted vanish
    // (about 100 are then; one whose check of its server the deletion
    // overtook may still land).
    for i in 0..trials as i64 {
        e.call::<i64, String>("JunkServer.Handler2", &i);
    }
    net.delete_server("s");
    let before = js.log2.lock().len();
    time::sleep(DUPLICATE_DELAY + Duration::from_millis(500));
    let late = js.log2.lock().len() - before;
    assert!(late <= 2, "a deleted server got {late} copies");
    net.cleanup();
}

#[test]
fn disabled_end_fails_within_go_delays() {
    judged("disabled_end_fails_within_go_delays", || {
        let net = Network::new();
        serve_junk(&net, "s");
        let e = end_to(&net, "e", "s");
        net.enable("e", false);
        // Each waits 0-99 ms without long delays.
        let window = Window::open("10 calls to a disabled end", Duration::from_millis(1500));
        for _ in 0..10 {
            assert_eq!(e.call::<i64, String>("JunkServer.Handler2", &1), None);
        }
        let verdict = window.close();
        net.cleanup();
        verdict
    });
}

#[test]
fn a_window_fails_a_miss_the_machine_does_not_explain() {
    let bound = Duration::from_millis(100);
    let ms = Duration::from_millis;
    assert_eq!(judge("x", bound, Some(ms(99)), ms(500)), Verdict::Passed);
    // Late, on a healthy machine: failed.
    assert!(matches!(
        judge("x", bound, Some(ms(110)), ms(1)),
        Verdict::Failed(_)
    ));
    // Late by microseconds, a hand-off no timed wait measures: inconclusive.
    assert!(matches!(
        judge(
            "x",
            bound,
            Some(ms(100) + Duration::from_micros(90)),
            Duration::ZERO
        ),
        Verdict::Inconclusive(_)
    ));
    // Late by less than three wake-ups of 20 ms: inconclusive.
    assert!(matches!(
        judge("x", bound, Some(ms(150)), ms(20)),
        Verdict::Inconclusive(_)
    ));
    // Late by far more: failed, however late the machine.
    assert!(matches!(
        judge("x", bound, Some(ms(1000)), ms(20)),
        Verdict::Failed(_)
    ));
    // Never: failed.
    assert!(matches!(
        judge("x", bound, None, ms(5000)),
        Verdict::Failed(_)
    ));
}
