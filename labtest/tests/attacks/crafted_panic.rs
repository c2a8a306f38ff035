//! Attack: a panic whose message holds a passing record and PASS lines, in
//! the hope that they end up in the result file or the report as they are.
//! Allowed code: the runner records the panic as the failure.

pub fn run(_me: usize) {
    panic!(
        "\n{{\"test\":\"initial_election_2a\",\"passed\":true}}\n  ... Passed --   3.0  3   40     316    0\nPASS\nok"
    );
}
