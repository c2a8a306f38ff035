//! Keeps every thread of a virtual-time run on one CPU.
//!
//! Only one thread of a run executes at a time (see [`crate::sched`]), so
//! a run never needs a second CPU. Left to the OS, each hand-off of the
//! baton wakes the next thread on whichever CPU is free: a cross-CPU
//! wake-up and a cold cache at every scheduling point. Pinned to the CPU
//! its first thread started on, a whole 2A run takes half the wall time
//! or less, and less CPU (`make bench-virtual` measures both ways:
//! `LAB_PIN=0` turns the pinning off). Runs of other processes, or
//! other tests of the same process, start on other CPUs and so still
//! spread over the machine.
//!
//! This module must never pin a thread that is not in a run: a real-time
//! thread that reuses a pinned worker gets the process's own CPU set back
//! ([`unpin_current`]). It changes only where threads run, never the order
//! in which they run, so it cannot change a run's events. On systems other
//! than Linux it does nothing.

#[cfg(target_os = "linux")]
mod imp {
    use std::cell::Cell;
    use std::sync::OnceLock;

    /// The CPU set the process started with, read before the first pin.
    static ORIGINAL: OnceLock<Option<libc::cpu_set_t>> = OnceLock::new();

    /// Where the calling thread may run, as far as this module knows.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Pin {
        /// Not set by this thread yet: a new thread inherits its
        /// creator's set, which may be a run's CPU.
        Inherited,
        /// The process's own CPU set.
        Free,
        /// One CPU, for a run.
        Cpu(usize),
    }

    thread_local! {
        static PINNED: Cell<Pin> = const { Cell::new(Pin::Inherited) };
    }

    fn original() -> Option<libc::cpu_set_t> {
        *ORIGINAL.get_or_init(|| {
            // SAFETY: cpu_set_t is plain data; all zeroes is an empty set.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: pid 0 is the calling thread; `set` is a valid
            // cpu_set_t of the size passed.
            let ok = unsafe {
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set)
            } == 0;
            ok.then_some(set)
        })
    }

    fn set_affinity(set: &libc::cpu_set_t) {
        // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t
        // of the size passed. A failure leaves the thread where it was,
        // which costs speed only.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    }

    /// The CPU the calling thread is on now, if the process may run there.
    pub fn current_cpu() -> Option<usize> {
        if std::env::var("LAB_PIN").as_deref() == Ok("0") {
            return None;
        }
        // SAFETY: sched_getcpu takes no arguments and only reads.
        let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
        let set = original()?;
        // SAFETY: `set` is a valid cpu_set_t and `cpu` is below
        // CPU_SETSIZE (the kernel gave it).
        (cpu < libc::CPU_SETSIZE as usize && unsafe { libc::CPU_ISSET(cpu, &set) }).then_some(cpu)
    }

    /// Pins the calling thread to `cpu`.
    pub fn pin_current(cpu: usize) {
        if PINNED.get() == Pin::Cpu(cpu) || original().is_none() {
            return;
        }
        // SAFETY: an all-zero cpu_set_t is an empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` came from `current_cpu`, so it is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
        set_affinity(&set);
        PINNED.set(Pin::Cpu(cpu));
    }

    /// Gives the calling thread the process's own CPU set back.
    pub fn unpin_current() {
        if PINNED.replace(Pin::Free) == Pin::Free {
            return;
        }
        if let Some(set) = original() {
            set_affinity(&set);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn current_cpu() -> Option<usize> {
        if std::env::var("LAB_PIN").as_deref() == Ok("0") {
            return None;
        }
        None
    }
    pub fn pin_current(_cpu: usize) {}
    pub fn unpin_current() {}
}

pub(crate) use imp::{current_cpu, pin_current, unpin_current};
