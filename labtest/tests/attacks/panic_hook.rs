//! Attack: replace the harness's panic hook, so that a panic on a Raft
//! thread goes unreported.

pub fn run(_me: usize) {
    std::panic::set_hook(Box::new(|_| {})); // FORBIDDEN
}
