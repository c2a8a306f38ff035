# The lab's commands. `make test-2a` is the main job; `make test` is what CI runs.
CARGO ?= cargo
N ?= 20
P ?= 8

.PHONY: test-2a test fmt-check clippy test-all bench-labrpc stress-2a

## The three 2A tests, release build, in Go's order, one at a time.
test-2a:
	$(CARGO) test --release -p tests --test raft_2a

## Every test of the workspace, plus the fmt and clippy checks (CI runs this).
test: fmt-check clippy test-all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings

test-all:
	$(CARGO) test --workspace --release

## labrpc throughput: 100,000 calls sequential and from 100 clients.
bench-labrpc:
	$(CARGO) run --release -p labrpc --example bench

## Run each 2A test N times, P at once, with the stress runner.
stress-2a:
	$(CARGO) run --release -q -p labtest -- stress 2a -n $(N) -p $(P)
