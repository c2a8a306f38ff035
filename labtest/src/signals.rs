//! Which signal stopped a grade (SIGINT or SIGTERM), so that the grading
//! commands can exit 130 or 143 as a shell would.
//!
//! The stress schedule's own handler (`schedule::catch_ctrl_c`) stops the
//! runs and kills every child's process group; this module installs a
//! handler in front of it that only remembers the signal and then calls
//! the schedule's. It must never do anything in a handler but store to an
//! atomic and call the handler it displaced.

use crate::schedule;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// The last signal caught, 0 if none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The handlers this module displaced, for SIGINT and SIGTERM.
static DISPLACED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Whether each displaced handler takes three arguments (`SA_SIGINFO`).
static DISPLACED_SIGINFO: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

const CAUGHT: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
    let slot = usize::from(signal != libc::SIGINT);
    let displaced = DISPLACED[slot].load(Ordering::SeqCst);
    if displaced == libc::SIG_DFL || displaced == libc::SIG_IGN || displaced == libc::SIG_ERR {
        return;
    }
    if DISPLACED_SIGINFO[slot].load(Ordering::SeqCst) {
        type WithInfo = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
        // SAFETY: `displaced` was installed with SA_SIGINFO, so it takes
        // three arguments; it gets no siginfo (null), as from raise(3)
        // without one, and reads the signal from its first argument.
        let handler: WithInfo = unsafe { std::mem::transmute(displaced) };
        handler(signal, std::ptr::null_mut(), std::ptr::null_mut());
    } else {
        // SAFETY: `displaced` is the one-argument handler the schedule
        // installed; it only stores to an atomic, which is
        // async-signal-safe.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(displaced) };
        handler(signal);
    }
}

/// Makes Ctrl-C and SIGTERM stop the schedule cleanly (its runs are killed
/// with their process groups) and remembers which signal it was.
pub fn catch() {
    schedule::catch_ctrl_c();
    for (slot, &signal) in CAUGHT.iter().enumerate() {
        // SAFETY: sigaction(2) with a null new action only reads the
        // current one into `current`, which we own.
        let current = unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &mut current);
            current
        };
        let handler: extern "C" fn(libc::c_int) = on_signal;
        if current.sa_sigaction == handler as libc::sighandler_t {
            continue; // caught already: never displace ourselves
        }
        DISPLACED_SIGINFO[slot].store(current.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
        DISPLACED[slot].store(current.sa_sigaction, Ordering::SeqCst);
        // SAFETY: installs a handler that only stores to atomics and calls
        // the displaced one-argument handler.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

/// The signal that stopped the grade, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// A shell's exit status for a process stopped by `signal`: 130 for
/// SIGINT, 143 for SIGTERM.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}

/// The signal's name, for reports.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_shell() {
        assert_eq!(exit_status(libc::SIGINT), 130);
        assert_eq!(exit_status(libc::SIGTERM), 143);
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
    }
}
