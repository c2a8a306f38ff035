//! Attack: read the environment, looking for the verdict's channel.

pub fn run(_me: usize) {
    for (key, value) in std::env::vars() { // FORBIDDEN
        println!("attack: {key}={value}");
    }
}
