//! How a test fails: [`fatal`] is Go's `t.Fatalf`, [`fatal_to_process`] Go's
//! `log.Fatalf`, and [`step`] records what the test is doing, so that a
//! failure or a timeout can say where it was.
//!
//! A failure unwinds the test's thread with a [`Failure`] payload that the
//! runner catches; the Config's cleanup still runs on the way out. On
//! another thread of the test (an agreement task, a churn client),
//! [`catch_failure`] is Go's goroutine calling `t.Fatalf`: that thread
//! alone stops, the test is marked failed, and the test's own thread stops
//! at its next check. This module must never exit the process (only the
//! runner decides that).

use labrpc::sync::Mutex;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::thread::Owner;
use labrpc::time::{self, Duration};

/// The payload of a failed check.
#[derive(Debug, Clone)]
pub struct Failure(pub String);

static STEP: Mutex<String> = Mutex::new(String::new());

/// The step during which the running test first failed a check (cleanup
/// steps come after it and must not hide it).
static FAILED_STEP: Mutex<Option<String>> = Mutex::new(None);

/// Fails the running test with `message` (Go's `t.Fatalf`).
pub fn fatal(message: impl Into<String>) -> ! {
    FAILED_STEP.lock().get_or_insert_with(current_step);
    std::panic::panic_any(Failure(message.into()))
}

/// Set by [`fatal_to_process`]: the process ends after this test's verdict.
static PROCESS_MUST_END: AtomicBool = AtomicBool::new(false);

/// Go's `log.Fatalf` (the appliers' `apply error`): fails the running test
/// and asks the runner to end the process once its verdict is out, so no
/// later test runs. Returns, so that the calling thread can stop itself.
pub fn fatal_to_process(message: impl Into<String>) {
    PROCESS_MUST_END.store(true, Ordering::SeqCst);
    Owner::current().fail(message);
}

/// True once a [`fatal_to_process`] failure happened: the runner must end
/// the process after reporting the test.
pub fn process_must_end() -> bool {
    PROCESS_MUST_END.load(Ordering::SeqCst)
}

/// Runs `body` on a thread other than the test's, as a Go goroutine that
/// may call `t.Fatalf`: a failed check ends `body` only (None), marks the
/// test failed with its message, and lets the caller run its deferred
/// steps (send its result, release a wait group). Other panics go on
/// unwinding, for the thread layer to report.
pub fn catch_failure<T>(body: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(value) => Some(value),
        Err(payload) => match payload.downcast::<Failure>() {
            Ok(failure) => {
                Owner::current().fail(failure.0);
                None
            }
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Where the running test was when it failed: the step of its first failed
/// check, else the current step. Forgets the failed check's step.
pub fn failure_step() -> String {
    FAILED_STEP.lock().take().unwrap_or_else(current_step)
}

/// Records what the running test is doing now.
pub fn step(text: impl Into<String>) {
    let text = text.into();
    labrpc::event!(None, "step", text = text.as_str());
    *STEP.lock() = text;
}

/// What the running test was last doing.
pub fn current_step() -> String {
    STEP.lock().clone()
}

/// Fails the running test if one of its threads failed (a panic on a Raft
/// or network thread, an apply error).
pub fn check_background() {
    if let Some(failure) = Owner::current().failure() {
        fatal(failure);
    }
}

/// Sleeps `d`, in short steps, failing at once if a background thread of
/// the test fails meanwhile.
pub fn sleep(d: Duration) {
    const STEP: Duration = Duration::from_millis(50);
    let deadline = time::now() + d;
    loop {
        check_background();
        let left = deadline.saturating_duration_since(time::now());
        if left.is_zero() {
            return;
        }
        time::sleep(left.min(STEP));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_on_another_thread_ends_that_thread_and_fails_the_test() {
        let owner = Owner::new("catch-failure");
        let _in = owner.enter();
        let task = labrpc::thread::spawn("task", || {
            let value = catch_failure(|| -> u32 { fatal("wrong command type") });
            // Go's deferred steps still run: the task goes on to here.
            (value, "after")
        });
        assert_eq!(task.join(), Ok((None, "after")));
        assert_eq!(owner.failure().as_deref(), Some("wrong command type"));
        assert!(!process_must_end(), "a t.Fatalf must not end the process");
    }

    #[test]
    fn a_passing_body_gives_its_value_and_no_failure() {
        let owner = Owner::new("catch-nothing");
        let _in = owner.enter();
        assert_eq!(catch_failure(|| 7), Some(7));
        assert_eq!(owner.failure(), None);
    }
}
