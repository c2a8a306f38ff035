//! Attack: start a thread under the process's root owner instead of the
//! test's, so that it may outlive `kill()` (or panic) unnoticed.

pub fn run(me: usize) {
    let _root = labrpc::thread::Owner::root().enter(); // FORBIDDEN
    labrpc::thread::spawn(format!("attack-{me}"), || {
        labrpc::time::sleep(labrpc::time::Duration::from_secs(3600));
    });
}
