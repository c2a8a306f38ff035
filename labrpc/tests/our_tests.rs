//! Checks beyond the Go lab's own: isolation of slow handlers, threads
//! after cleanup, panics, loud dispatch errors, the counters' exact
//! placement, and the statistics of the unreliable network.

mod junk;

use junk::{end_to, serve_junk};
use labrpc::chan;
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration};
use labrpc::{Network, Server, Service};

/// A service whose `Sleep` handler sleeps for the given milliseconds.
fn sleepy_server(net: &Network, name: &str) {
    let mut svc = Service::new("Sleepy");
    svc.register("Sleep", |ms: u64| {
        time::sleep(Duration::from_millis(ms));
        ms
    });
    let srv = Server::new();
    srv.add_service(svc);
    net.add_server(name, srv);
}

#[test]
fn slow_handler_does_not_delay_another_server() {
    let net = Network::new();
    sleepy_server(&net, "slow");
    serve_junk(&net, "fast");
    let slow = end_to(&net, "to-slow", "slow");
    let fast = end_to(&net, "to-fast", "fast");
    let (tx, rx) = chan::unbounded();
    thread::spawn("slow-caller", move || {
        let r: Option<u64> = slow.call("Sleepy.Sleep", &5000u64);
        tx.send(r).unwrap();
    });
    time::sleep(Duration::from_millis(50));
    let t0 = time::now();
    for i in 0..50i64 {
        let r: Option<String> = fast.call("JunkServer.Handler2", &i);
        assert_eq!(r, Some(format!("handler2-{i}")));
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "50 fast calls took {took:?} beside a 5 s handler"
    );
    assert!(rx.try_recv().is_err(), "the 5 s handler returned early");
    assert_eq!(rx.recv().unwrap(), Some(5000));
    net.cleanup();
}

#[test]
fn slow_handler_does_not_delay_its_own_server() {
    let net = Network::new();
    sleepy_server(&net, "s");
    let e = end_to(&net, "e", "s");
    let e2 = e.clone();
    thread::spawn("slow-caller", move || {
        let _: Option<u64> = e2.call("Sleepy.Sleep", &3000u64);
    });
    time::sleep(Duration::from_millis(50));
    let t0 = time::now();
    let r: Option<u64> = e.call("Sleepy.Sleep", &1u64);
    assert_eq!(r, Some(1));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    net.cleanup();
}

#[test]
fn no_thread_outlives_cleanup() {
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
    time::sleep(Duration::from_millis(100));
    net.cleanup();
    let t0 = time::now();
    let r: Option<String> = live.call("JunkServer.Handler2", &1i64);
    assert_eq!(r, None, "a call after cleanup succeeded");
    assert!(
        t0.elapsed() < Duration::from_millis(50),
        "a call after cleanup waited"
    );
    if let Err(left) = owner.wait_threads_ended(Duration::from_secs(1)) {
        panic!("threads alive 1 s after cleanup: {left:?}");
    }
    assert_eq!(owner.failure(), None);
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
    time::sleep(Duration::from_millis(200));
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
fn replaced_server_never_replies() {
    let net = Network::new();
    sleepy_server(&net, "s");
    let e = end_to(&net, "e", "s");
    let (tx, rx) = chan::unbounded();
    thread::spawn("caller", move || {
        tx.send(e.call::<u64, u64>("Sleepy.Sleep", &300)).unwrap();
    });
    time::sleep(Duration::from_millis(50));
    sleepy_server(&net, "s"); // same name, another object
    assert_eq!(rx.recv().unwrap(), None);
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

#[test]
fn disabled_end_fails_within_go_delays() {
    let net = Network::new();
    serve_junk(&net, "s");
    let e = end_to(&net, "e", "s");
    net.enable("e", false);
    let t0 = time::now();
    for _ in 0..10 {
        assert_eq!(e.call::<i64, String>("JunkServer.Handler2", &1), None);
    }
    // Each waits 0-99 ms without long delays.
    assert!(
        t0.elapsed() < Duration::from_millis(10 * 100 + 500),
        "{:?}",
        t0.elapsed()
    );
    net.cleanup();
}

#[test]
fn duplicate_end_name_panics() {
    let net = Network::new();
    net.make_end("x");
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| net.make_end("x")))
        .map(|_| ())
        .unwrap_err();
    assert!(thread::panic_message(err.as_ref()).contains("MakeEnd: x already exists"));
}
