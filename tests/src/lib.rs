//! The config harness and the Raft lab tests (being written).
