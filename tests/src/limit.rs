//! `LAB_TEST_LIMIT`, the time a stuck test gets before it fails by itself:
//! the one parser of its value. The harness enforces the limit; labtest
//! checks the value before any run starts and passes it on. Both use this
//! file (labtest includes it by path), so they never disagree on what a
//! value means.
//!
//! Plain std only, and no reading of the environment: callers pass the
//! value in.

use std::time::Duration;

/// The largest number of seconds taken: about 31 years, far below what
/// the clocks can add to an instant.
const MAX_SECONDS: f64 = 1e9;

/// `text` as a positive number of seconds (`120`, `2.5`); None for
/// anything else (`0`, `-1`, `2s`, `inf`, `NaN`, more than 1e9).
pub fn positive_seconds(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0 && *secs <= MAX_SECONDS)
        .map(Duration::from_secs_f64)
}

/// `LAB_TEST_LIMIT`'s value: None when unset or blank (the default
/// applies), else a positive number of seconds; Err says what is wrong.
pub fn parse_test_limit(value: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(text) = value.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    positive_seconds(text).map(Some).ok_or_else(|| {
        format!(
            "LAB_TEST_LIMIT must be a positive number of seconds (like 120 or 2.5), not {text:?}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_limit_is_a_positive_number_of_seconds() {
        assert_eq!(parse_test_limit(None), Ok(None));
        assert_eq!(parse_test_limit(Some(" ")), Ok(None));
        assert_eq!(
            parse_test_limit(Some("15")),
            Ok(Some(Duration::from_secs(15)))
        );
        assert_eq!(
            parse_test_limit(Some(" 2.5 ")),
            Ok(Some(Duration::from_millis(2500)))
        );
        for bad in ["abc", "0", "-1", "2s", "inf", "NaN", "1e300"] {
            let err = parse_test_limit(Some(bad)).unwrap_err();
            assert!(
                err.contains("LAB_TEST_LIMIT") && err.contains("positive number of seconds"),
                "{bad}: {err}"
            );
        }
    }
}
