//! Fibers: the threads of a virtual-time run as user-space continuations
//! on the run's one OS thread (`LAB_ENGINE=fibers`, the default engine of
//! virtual time; see [`crate::sched::Engine`]).
//!
//! Only one thread of a run ever executes at a time, so a run needs one OS
//! thread, not one per logical thread. A fiber is a logical thread started
//! by [`crate::thread::spawn`] in a run: a closure on a stack of its own
//! ([`STACK_SIZE`], as an OS thread's), switched to and from by
//! `corosensei` in user space. The run's first thread (the test's thread,
//! on its own OS stack) drives them: whenever it blocks, it resumes the
//! fiber the scheduler picked, until the scheduler picks it again
//! ([`crate::sched`]'s `Run::switch`). A fiber that blocks suspends back to
//! it. A switch costs a few dozen nanoseconds, where the baton's futex
//! hand-off between OS threads costs microseconds in the kernel.
//!
//! The layer's own thread-locals (the run membership, the random stream,
//! the owner and origin of the thread) are per logical thread: they are
//! swapped in before a fiber resumes and out when it suspends ([`Locals`]).
//! What fibers change for the code that runs on them, and what
//! `LAB_ENGINE=threads` (the baton among OS threads) keeps as in real time:
//! - a `thread_local!` of the student's own is shared by every fiber of
//!   the run;
//! - a stack overflow on a fiber hits its guard page and kills the process
//!   with SIGSEGV, where an OS thread prints Rust's "has overflowed its
//!   stack" (both end the process without a verdict);
//! - a fiber that blocks while a panic unwinds it (a `Drop` that waits)
//!   lets the others run mid-unwind on an OS thread that counts as
//!   panicking, and a second panic there aborts the process. Neither the
//!   harness nor the reference Raft blocks in a `Drop`.
//!
//! This module must never resume a fiber from anywhere but the run's first
//! thread, never resume one fiber from inside another, and never drop a
//! fiber that has not finished (dropping one would unwind its stack outside
//! the run): the fibers a run leaves behind are leaked with it.

use crate::thread::Origin;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A fiber's stack: the size of an OS thread's (Rust's default), mapped
/// lazily, so that only the pages a fiber touches cost memory.
pub const STACK_SIZE: usize = 2 << 20;

/// Finished fibers' stacks kept for new fibers, at most.
const STACKS_KEPT: usize = 256;

/// A logical thread's number in its run (`sched`'s `Tid`).
type Tid = u64;

type Job = Box<dyn FnOnce()>;

/// One logical thread of a run, not finished.
struct Fiber {
    co: Coroutine<(), (), (), DefaultStack>,
    locals: Locals,
}

/// The layer's thread-locals of one logical thread, while it is not the
/// one executing.
struct Locals {
    current: Option<crate::sched::Current>,
    stream: Option<Box<crate::rand::Stream>>,
    owner: Option<crate::thread::Owner>,
    origin: Origin,
    yielder: *const Yielder<(), ()>,
}

impl Locals {
    /// Exchanges these values with the OS thread's thread-locals.
    fn swap(&mut self) {
        crate::sched::swap_current(&mut self.current);
        crate::rand::swap_stream(&mut self.stream);
        crate::thread::swap_locals(&mut self.owner, &mut self.origin);
        self.yielder = YIELDER.replace(self.yielder);
    }
}

thread_local! {
    /// The fibers of the run this OS thread drives, by thread number.
    static FIBERS: RefCell<HashMap<Tid, Fiber>> = RefCell::new(HashMap::new());
    /// Stacks of finished fibers, for the next ones.
    static STACKS: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
    /// The executing fiber's way back to its driver; null on the driver.
    static YIELDER: Cell<*const Yielder<(), ()>> = const { Cell::new(std::ptr::null()) };
}

/// Creates thread `tid` of the calling thread's run as a fiber that will
/// run `job` with `current` as its run membership; it starts when the run
/// first resumes it.
///
/// # Panics
/// If the OS refuses the memory for its stack.
pub(crate) fn create(tid: Tid, current: crate::sched::Current, job: Job) {
    let stack = STACKS.with(|s| s.borrow_mut().pop()).unwrap_or_else(|| {
        DefaultStack::new(STACK_SIZE)
            .unwrap_or_else(|err| panic!("cannot map a fiber's stack: {err}"))
    });
    let co = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
        YIELDER.set(yielder);
        job();
    });
    let locals = Locals {
        current: Some(current),
        stream: None,
        owner: None,
        origin: Origin::Harness,
        yielder: std::ptr::null(),
    };
    FIBERS.with(|f| f.borrow_mut().insert(tid, Fiber { co, locals }));
}

/// On the run's first thread: runs fiber `tid` until it suspends or ends.
/// False if there is no such fiber.
pub(crate) fn resume(tid: Tid) -> bool {
    let Some(mut fiber) = FIBERS.with(|f| f.borrow_mut().remove(&tid)) else {
        return false;
    };
    fiber.locals.swap();
    let result = fiber.co.resume(());
    fiber.locals.swap();
    match result {
        CoroutineResult::Yield(()) => {
            FIBERS.with(|f| f.borrow_mut().insert(tid, fiber));
        }
        CoroutineResult::Return(()) => STACKS.with(|s| {
            let mut stacks = s.borrow_mut();
            if stacks.len() < STACKS_KEPT {
                stacks.push(fiber.co.into_stack());
            }
        }),
    }
    true
}

/// True when the calling code runs on a fiber.
pub(crate) fn on_fiber() -> bool {
    !YIELDER.get().is_null()
}

/// On a fiber: gives the OS thread back to the run's first thread until
/// the fiber is resumed.
pub(crate) fn suspend() {
    let yielder = YIELDER.get();
    assert!(!yielder.is_null(), "suspend called outside a fiber");
    // SAFETY: YIELDER is set only while its fiber executes (it is swapped
    // out with the fiber's other locals), and the yielder lives on that
    // fiber's stack for as long as the fiber has not returned.
    unsafe { (*yielder).suspend(()) }
}

/// The run on this OS thread ended: its unfinished fibers are leaked, with
/// their stacks and whatever they hold, never resumed nor unwound.
pub(crate) fn abandon_all() {
    let left: Vec<Fiber> = FIBERS.with(|f| f.borrow_mut().drain().map(|(_, v)| v).collect());
    for fiber in left {
        std::mem::forget(fiber);
    }
}
