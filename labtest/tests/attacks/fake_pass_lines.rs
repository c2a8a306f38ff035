//! Attack: print what a passing run prints (and log a passing verdict
//! event). Allowed code: it scores 0 because verdicts never come from text.

pub fn run(me: usize) {
    println!("  ... Passed --   3.0  3   40     316    0");
    println!("PASS\nok  \traft\t3.0s");
    println!("test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    eprintln!("{{\"test\":\"initial_election_2a\",\"passed\":true}}");
    labrpc::event!(Some(me), "verdict", test = "initial_election_2a", passed = true);
}
