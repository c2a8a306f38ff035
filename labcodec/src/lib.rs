//! Encoding of RPC arguments and replies.
//!
//! Every argument and reply that crosses the simulated network is encoded
//! with [`encode`] and decoded with [`decode`], as Go's lab encodes with
//! `labgob`: a Raft can never share memory through an RPC, and the byte
//! counts that the harness reports are the lengths of these encodings.
//!
//! The format is [postcard](https://docs.rs/postcard): compact (a varint
//! length before each string or vector, varint integers), so byte counts stay
//! within the bounds the Go lab's tests assume for gob.
//!
//! This crate must never panic on bad input: decoding garbage, truncated
//! bytes or bytes of another type returns a [`DecodeError`] that names the
//! type that was expected.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// Encodes `value` into a fresh byte vector.
///
/// # Panics
/// Only if `value`'s `Serialize` implementation itself fails (a custom
/// implementation that returns an error, or a sequence of unknown length):
/// the Go lab treats an encoding failure as a programming error too.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match postcard::to_allocvec(value) {
        Ok(bytes) => bytes,
        Err(err) => panic!("labcodec::encode::<{}>: {err}", std::any::type_name::<T>()),
    }
}

/// Decodes a value of type `T` from `bytes`, which must hold exactly one
/// encoded value (trailing bytes are an error).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let fail = |reason: String| DecodeError {
        expected: std::any::type_name::<T>(),
        len: bytes.len(),
        reason,
    };
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(fail(format!("{} trailing bytes", rest.len()))),
        Err(err) => Err(fail(err.to_string())),
    }
}

/// Why [`decode`] failed: the type it expected, the input's length and the
/// codec's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The Rust type name that was asked for.
    pub expected: &'static str,
    /// Length of the input in bytes.
    pub len: usize,
    /// The codec's own description of the problem.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode {} bytes as {}: {}",
            self.len, self.expected, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    enum Role {
        Follower,
        Candidate { votes: u32 },
        Leader(Vec<u64>),
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Entry {
        term: u64,
        command: Vec<u8>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Nested {
        name: String,
        big: u64,
        small: i32,
        maybe: Option<Box<Nested>>,
        roles: Vec<Role>,
        log: Vec<Entry>,
        empty: Vec<u8>,
        unit: (),
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: T) {
        let bytes = encode(&value);
        assert_eq!(decode::<T>(&bytes).unwrap(), value);
    }

    fn sample() -> Nested {
        Nested {
            name: "raft".into(),
            big: u64::MAX,
            small: i32::MIN,
            maybe: Some(Box::new(Nested {
                name: String::new(),
                big: 0,
                small: 0,
                maybe: None,
                roles: vec![],
                log: vec![],
                empty: vec![],
                unit: (),
            })),
            roles: vec![
                Role::Follower,
                Role::Candidate { votes: 3 },
                Role::Leader(vec![1, u64::MAX]),
            ],
            log: vec![
                Entry {
                    term: 0,
                    command: vec![],
                },
                Entry {
                    term: 7,
                    command: vec![1, 2, 3],
                },
            ],
            empty: vec![],
            unit: (),
        }
    }

    #[test]
    fn round_trips() {
        round_trip(sample());
        round_trip(u64::MAX);
        round_trip(i64::MIN);
        round_trip(String::new());
        round_trip(Vec::<u64>::new());
        round_trip(Option::<String>::None);
        round_trip(Some("x".repeat(1000)));
        round_trip(());
        round_trip((true, 'x', -1.5f64));
        round_trip(Role::Candidate { votes: u32::MAX });
    }

    #[test]
    fn small_encodings_like_gob() {
        // The Go lab's byte-count tests assume a small overhead: a 284-char
        // string encodes in well under 300 bytes.
        let s = "x".repeat(284);
        let n = encode(&s).len();
        assert!((284..300).contains(&n), "{n}");
        assert_eq!(encode(&()).len(), 0);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            let err = decode::<Nested>(&bytes[..cut]).unwrap_err();
            assert!(err.to_string().contains("Nested"), "{err}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = decode::<Nested>(&garbage);
            let _ = decode::<Vec<Role>>(&garbage);
            let _ = decode::<String>(&garbage);
        }
        assert!(decode::<String>(&[5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb]).is_err());
    }

    #[test]
    fn wrong_type_is_an_error() {
        let bytes = encode(&"hello".to_string());
        let err = decode::<Entry>(&bytes).unwrap_err();
        assert!(err.expected.ends_with("Entry"), "{err}");
        let err = decode::<u8>(&encode(&1000u32)).unwrap_err();
        assert!(err.to_string().contains("u8"), "{err}");
        assert!(decode::<u32>(&encode(&(1u32, 2u32))).is_err());
    }
}
