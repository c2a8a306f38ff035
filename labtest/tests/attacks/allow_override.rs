//! Attack: lift the ban for this module with an `#[allow]`.
#![allow(clippy::disallowed_methods)] // FORBIDDEN

pub fn run(_me: usize) {
    let _ = std::fs::write("/tmp/attack-allow-override", "forged");
}
