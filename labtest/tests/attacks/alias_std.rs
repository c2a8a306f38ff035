//! Attack: reach the file system through a renamed `std`.
use std as s; // FORBIDDEN

pub fn run(_me: usize) {
    let _ = s::fs::write("/tmp/attack-alias-std", "forged");
}
