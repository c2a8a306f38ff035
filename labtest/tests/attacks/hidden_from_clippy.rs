//! Attack: code that clippy never sees (clippy sets cfg(clippy)), but the
//! build compiles.

#[cfg(not(clippy))] // FORBIDDEN
pub fn run(_me: usize) {
    let _ = std::fs::write("/tmp/attack-hidden-from-clippy", "forged");
}

#[cfg(clippy)]
pub fn run(_me: usize) {}
