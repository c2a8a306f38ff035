//! The virtual-time scheduler behind the layer (`sched.rs`): the clock
//! jumps instead of sleeping, every blocking point of the layer waits in
//! the scheduler, a rendezvous keeps Go's hand-off, and a deadlock is
//! reported at once with what each thread waits for.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use labrpc::chan::{self, Select};
use labrpc::sched::{self, Engine, Policy};
use labrpc::sync::{Arc, Condvar, Mutex};
use labrpc::thread;
use labrpc::time::{self, Duration};

/// Runs `f` in a virtual-time run on each engine (fibers, then threads);
/// returns what it gave on fibers.
fn run<T>(seed: u64, f: impl Fn() -> T) -> T {
    let on = |engine| {
        let _run = sched::enter_on(engine, "virtual-time-test", seed, Policy::Random);
        f()
    };
    let fibers = on(Engine::Fibers);
    on(Engine::Threads);
    fibers
}

#[test]
fn a_long_sleep_costs_no_wall_time() {
    let wall = std::time::Instant::now();
    run(1, || {
        let t0 = time::now();
        time::sleep(Duration::from_secs(3600));
        assert_eq!(t0.elapsed(), Duration::from_secs(3600));
    });
    assert!(
        wall.elapsed() < Duration::from_secs(60),
        "{:?}",
        wall.elapsed()
    );
}

#[test]
fn sleepers_wake_in_deadline_order_on_the_virtual_clock() {
    let order = run(2, || {
        let woke = Arc::new(Mutex::new(Vec::new()));
        let t0 = time::now();
        let handles: Vec<_> = [300u64, 100, 200]
            .into_iter()
            .map(|ms| {
                let woke = woke.clone();
                thread::spawn(format!("sleeper-{ms}"), move || {
                    time::sleep(Duration::from_millis(ms));
                    woke.lock().push((ms, t0.elapsed()));
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        Arc::try_unwrap(woke).unwrap().into_inner()
    });
    let expected: Vec<_> = [100u64, 200, 300]
        .into_iter()
        .map(|ms| (ms, Duration::from_millis(ms)))
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn a_rendezvous_send_returns_only_once_the_message_is_taken() {
    run(3, || {
        let (tx, rx) = chan::bounded::<u32>(0);
        let t0 = time::now();
        let sender = thread::spawn("sender", move || {
            tx.send(7).unwrap();
            t0.elapsed()
        });
        time::sleep(Duration::from_millis(500));
        assert_eq!(rx.recv(), Ok(7));
        let sent_after = sender.join().unwrap();
        assert_eq!(
            sent_after,
            Duration::from_millis(500),
            "the send did not wait"
        );
    });
}

#[test]
fn a_lock_waits_for_its_holder_and_a_condvar_for_its_notify() {
    run(4, || {
        let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
        let other = shared.clone();
        let t0 = time::now();
        let waiter = thread::spawn("waiter", move || {
            let (lock, cv) = &*other;
            let mut n = lock.lock();
            while *n == 0 {
                cv.wait(&mut n);
            }
            (*n, t0.elapsed())
        });
        {
            let (lock, cv) = &*shared;
            let mut n = lock.lock();
            time::sleep(Duration::from_millis(50)); // holds the lock meanwhile
            *n = 9;
            cv.notify_one();
        }
        assert_eq!(waiter.join().unwrap(), (9, Duration::from_millis(50)));
        let (lock, cv) = &*shared;
        let mut n = lock.lock();
        assert!(
            cv.wait_for(&mut n, Duration::from_millis(70)),
            "no notify: a timeout"
        );
        assert_eq!(t0.elapsed(), Duration::from_millis(120));
    });
}

#[test]
fn a_select_takes_what_comes_first_or_times_out_on_the_virtual_clock() {
    run(5, || {
        let (slow_tx, slow) = chan::unbounded::<&str>();
        let (fast_tx, fast) = chan::unbounded::<&str>();
        let t0 = time::now();
        thread::spawn("slow", move || {
            time::sleep(Duration::from_millis(300));
            let _ = slow_tx.send("slow");
        });
        thread::spawn("fast", move || {
            time::sleep(Duration::from_millis(100));
            let _ = fast_tx.send("fast");
        });
        let mut sel = Select::new();
        let i_slow = sel.recv(&slow);
        let i_fast = sel.recv(&fast);
        let op = sel.select_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(op.index(), i_fast);
        assert_eq!(op.recv(&fast), Ok("fast"));
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
        let (_idle_tx, idle) = chan::unbounded::<&str>();
        let mut sel = Select::new();
        sel.recv(&idle);
        assert!(sel.select_timeout(Duration::from_millis(50)).is_err());
        assert_eq!(t0.elapsed(), Duration::from_millis(150));
        let mut sel = Select::new();
        assert_eq!(sel.recv(&slow), i_slow);
        let op = sel.select();
        assert_eq!(op.recv(&slow), Ok("slow"));
        assert_eq!(t0.elapsed(), Duration::from_millis(300));
    });
}

#[test]
fn a_deadlock_is_reported_at_once_with_each_wait() {
    let report = run(6, || {
        let lock = Arc::new(Mutex::new(()));
        let (tx, never) = chan::bounded::<()>(0);
        let held = lock.clone();
        let (ready_tx, ready) = chan::bounded::<()>(1);
        thread::spawn("holder", move || {
            let _g = held.lock();
            ready_tx.send(()).unwrap();
            let _ = never.recv();
        });
        ready.recv().unwrap();
        let blocked = thread::spawn("blocked", move || {
            let _g = lock.lock();
        });
        // The run's first thread only polls: it is a watcher.
        for _ in 0..10 {
            if let Some(report) = sched::deadlock() {
                drop(tx);
                return report;
            }
            time::sleep(Duration::from_millis(10));
        }
        drop((tx, blocked));
        String::new()
    });
    assert!(
        report.starts_with("deadlock: no thread of the test can go on"),
        "{report}"
    );
    assert!(
        report.contains("'holder': to receive on a channel"),
        "{report}"
    );
    assert!(
        report.contains("'blocked': for a lock held by 'holder'"),
        "{report}"
    );
}

#[test]
fn the_same_seed_interleaves_the_same_way_and_another_seed_differently() {
    let trace = |seed: u64| {
        run(seed, || {
            let log = Arc::new(Mutex::new(Vec::new()));
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let log = log.clone();
                    thread::spawn(format!("worker-{i}"), move || {
                        for step in 0..5 {
                            log.lock().push((i, step));
                            time::sleep(Duration::ZERO); // a scheduling point
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            Arc::try_unwrap(log).unwrap().into_inner()
        })
    };
    assert_eq!(trace(11), trace(11));
    assert!(
        (12..20).any(|s| trace(s) != trace(11)),
        "every seed interleaved alike"
    );
}

#[test]
fn modes_and_policies_parse_or_say_what_is_allowed() {
    assert_eq!(sched::parse_mode(None), Ok(false));
    assert_eq!(sched::parse_mode(Some("real")), Ok(false));
    assert_eq!(sched::parse_mode(Some(" virtual ")), Ok(true));
    assert!(
        sched::parse_mode(Some("fast"))
            .unwrap_err()
            .contains("real or virtual")
    );
    assert_eq!(Policy::parse(None), Ok(Policy::Random));
    assert_eq!(Policy::parse(Some("pct")), Ok(Policy::Pct { depth: 3 }));
    assert_eq!(Policy::parse(Some("pct:5")), Ok(Policy::Pct { depth: 5 }));
    for bad in ["pct:0", "pct:x", "fifo"] {
        assert!(Policy::parse(Some(bad)).is_err(), "{bad}");
    }
}

/// The calling thread's allowed CPUs, as the kernel lists them.
#[cfg(target_os = "linux")]
fn cpus_allowed() -> String {
    std::fs::read_to_string("/proc/thread-self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_keeps_its_threads_on_one_cpu_and_gives_the_rest_back() {
    let before = cpus_allowed();
    let (main, child) = {
        let _run = sched::enter_on(Engine::Threads, "pinned", 9, Policy::Random);
        let child = thread::spawn("pinned-child", cpus_allowed);
        (cpus_allowed(), child.join().unwrap())
    };
    assert!(
        main.parse::<usize>().is_ok(),
        "a run's thread on one CPU: {main}"
    );
    assert_eq!(child, main, "every thread of the run on the run's CPU");
    assert_eq!(
        cpus_allowed(),
        before,
        "the run's first thread gets its CPUs back"
    );
    // A real-time thread, perhaps on a worker the run used: not pinned.
    let later = thread::spawn("real-time", cpus_allowed).join().unwrap();
    assert_eq!(later, before);
}

#[test]
fn a_run_on_fibers_executes_on_its_first_thread_alone() {
    let (first, others) = {
        let _run = sched::enter_on(Engine::Fibers, "fibers", 10, Policy::Random);
        let children: Vec<_> = (0..3)
            .map(|i| thread::spawn(format!("fiber-{i}"), || std::thread::current().id()))
            .collect();
        let ids: Vec<_> = children.into_iter().map(|c| c.join().unwrap()).collect();
        (std::thread::current().id(), ids)
    };
    assert!(
        others.iter().all(|id| *id == first),
        "every thread of the run on one OS thread"
    );
    // On the baton, each logical thread is an OS thread of its own.
    let _run = sched::enter_on(Engine::Threads, "threads", 10, Policy::Random);
    let child = thread::spawn("os-thread", || std::thread::current().id());
    assert_ne!(child.join().unwrap(), std::thread::current().id());
}

#[test]
fn engines_are_named_by_lab_engine() {
    assert_eq!(Engine::parse(None), Ok(Engine::Fibers));
    assert_eq!(Engine::parse(Some("threads")), Ok(Engine::Threads));
    assert!(
        Engine::parse(Some("coroutines"))
            .unwrap_err()
            .contains("fibers or threads")
    );
}
