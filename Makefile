# The lab's commands. `make test-2a` is the main job; `make test` is what CI runs.
CARGO ?= cargo
LABTEST = $(CARGO) run --release -q -p labtest --
N ?= 20
P ?= 8
K ?= 5
OUT ?=
SEED ?=
EXTRA ?=
PART ?=
SUBMISSION ?=
SUBMISSIONS ?=
PARTITION ?=
SHARES ?=
LOG ?=
ARGS ?=
TIME ?=
RUN ?=
TEST ?=
# What `make grade`, `grade-all` and `grade-catalog` pass through, only when
# set: EXTRA=1 (--extra), SEED= (--seed, repeats a grade), OUT= (--out, the
# reports folder), TIME=virtual (--time: the clock of every run), PART=2b
# (--part: 2a, 2b, 2c, 2d, a comma list or all; default all).
TIME_FLAG = $(if $(TIME),--time $(TIME))
PART_FLAG = $(if $(PART),--part $(PART))
GRADE_FLAGS = $(if $(filter-out 0,$(EXTRA)),--extra) $(if $(SEED),--seed $(SEED)) $(TIME_FLAG) $(PART_FLAG)

.PHONY: test-2a test-2b test-2c test-2d test-2 test-2a-extra test-2c-extra test test-virtual fmt-check clippy doc-check test-all test-browser test-handout bench-labrpc bench-virtual \
	stress-2a handout grade grade-all grade-catalog merge log timeline replay

## The three 2A tests, release build, in Go's order, one at a time
## (TIME=virtual: in virtual time, a fraction of a second).
test-2a:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2a

## The ten 2B tests (log agreement), in Go's order (about 35 s).
test-2b:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2b

## The eight 2C tests (persistence, Figure 8, churn), in Go's order (about 2 min).
test-2c:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2c

## The seven 2D tests (snapshots, InstallSnapshot), in Go's order (about 2 min).
test-2d:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2d

## All 28 tests of lab 2 (2A, 2B, 2C, 2D) in one run, in Go's order, ending
## with Go's PASS/ok lines (about 5 min).
test-2:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test lab_2

## Our extra 2A tests (heartbeat rate, stable leader).
test-2a-extra:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2a_extra

## Extra 2C test (a vote survives a crash): not in the Go lab.
test-2c-extra:
	$(if $(TIME),LAB_TIME=$(TIME) )$(CARGO) test --release -p tests --test raft_2c_extra

## Every test of the workspace, plus the fmt, clippy and doc checks (CI runs this).
test: fmt-check clippy doc-check test-all test-virtual test-browser test-handout

## The lab tests, the extra set and the broken-Raft proofs again, in virtual time,
## then all 28 tests of lab 2 (2A-2D) on a fixed seed (the same run every time),
## then the 2A tests and the broken-Raft proofs on the other engine (LAB_ENGINE=threads).
test-virtual:
	LAB_TIME=virtual $(CARGO) test --release -p tests
	LAB_SEED=2026 LAB_TIME=virtual $(CARGO) test --release -p tests --test lab_2
	LAB_ENGINE=threads LAB_TIME=virtual $(CARGO) test --release -p tests --test raft_2a --test harness

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings

## The crates' API docs build without a warning (no broken links or stray HTML).
doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

test-all:
	$(CARGO) test --workspace --release

## The HTML timeline in headless Chromium (skipped, with a note, without chromium).
test-browser:
	@if command -v $${LAB_CHROMIUM:-chromium} >/dev/null 2>&1; then \
		LAB_BROWSER_TEST=1 $(CARGO) test --release -p labview --test browser -- --nocapture; \
	else \
		echo "test-browser skipped: no chromium (apt-get install chromium)"; \
	fi

## A fresh handout passes its own `make check` (fmt, clippy) with the untouched skeleton.
HANDOUT_CHECK = target/handout-check
test-handout:
	rm -rf $(HANDOUT_CHECK)
	$(LABTEST) handout --out $(HANDOUT_CHECK)
	$(MAKE) -C $(HANDOUT_CHECK) check

## labrpc throughput: 100,000 calls sequential and from 100 clients.
bench-labrpc:
	$(CARGO) run --release -p labrpc --example bench

## Virtual time's cost: the 2A tests in virtual time one at a time and two at a time on
## fibers (the default engine, seeds batched per process), one process per run
## (--batch 1), then on OS threads pinned (LAB_ENGINE=threads) and not (LAB_PIN=0):
## runs an hour, CPU per run.
bench-virtual:
	$(LABTEST) stress 2a --time virtual -n 1000 -p 1
	$(LABTEST) stress 2a --time virtual -n 1000 -p 2
	$(LABTEST) stress 2a --time virtual -n 200 -p 1 --batch 1
	LAB_ENGINE=threads $(LABTEST) stress 2a --time virtual -n 200 -p 1
	LAB_ENGINE=threads LAB_PIN=0 $(LABTEST) stress 2a --time virtual -n 200 -p 1

## An event log (LAB_LOG) with one column per peer: make log LOG=events.jsonl [ARGS="--peer 0,2"].
log:
	@test -n "$(LOG)" || { echo "usage: make log LOG=events.jsonl [ARGS=...]"; exit 2; }
	@$(LABTEST) log $(LOG) $(ARGS)

## An event log as an HTML timeline: make timeline LOG=events.jsonl [OUT=run.html] [ARGS=...].
timeline:
	@test -n "$(LOG)" || { echo "usage: make timeline LOG=events.jsonl [OUT=run.html]"; exit 2; }
	@$(LABTEST) timeline $(LOG) -o $(if $(filter file,$(origin OUT)),run.html,$(OUT)) $(ARGS)

## Run each 2A test N times, P at once (P=auto follows the machine's load); TIME=virtual for virtual time.
stress-2a:
	$(LABTEST) stress 2a -n $(N) -p $(P) $(TIME_FLAG)

## Replay one failed run and compare its event log: make replay RUN=target/labtest/<timestamp>
## (or RUN=<its .run.json>), or make replay TEST=name SEED=N [TIME=virtual].
replay:
	@test -n "$(RUN)$(TEST)" || { echo "usage: make replay RUN=target/labtest/<timestamp> | TEST=name SEED=N [TIME=virtual]"; exit 2; }
	$(LABTEST) replay $(RUN) $(if $(TEST),--test $(TEST)) $(if $(SEED),--seed $(SEED)) $(TIME_FLAG) $(ARGS)

## The student tree: harness, raft skeleton, student README.
handout:
	$(LABTEST) handout --out $(or $(OUT),handout)

## Grade one submission (a raft crate folder, .tar.gz or .zip), K runs per test.
grade:
	@test -n "$(SUBMISSION)" || { echo "usage: make grade SUBMISSION=path/to/raft"; exit 2; }
	$(LABTEST) grade $(SUBMISSION) -k $(K) -p $(P) $(GRADE_FLAGS) $(if $(OUT),--out $(OUT))

## Grade every submission in a folder: results.json each, scores.csv, summary
## (PARTITION=I/N with SEED=S: only share I of N; `make merge` joins the shares).
grade-all:
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-all SUBMISSIONS=dir [PARTITION=I/N SEED=S]"; exit 2; }
	$(LABTEST) grade-batch $(SUBMISSIONS) -k $(K) -p $(P) $(GRADE_FLAGS) $(if $(PARTITION),--partition $(PARTITION)) $(if $(OUT),--out $(OUT))

## Join the shares of a partitioned class: make merge SHARES="share-1 share-2 share-3" OUT=class.
merge:
	@test -n "$(SHARES)" -a -n "$(OUT)" || { echo "usage: make merge SHARES=\"dir1 dir2 ...\" OUT=dir"; exit 2; }
	$(LABTEST) merge --out $(OUT) $(SHARES)

## Grade the reference and every bug in grading/bugs: which tests catch which bug.
grade-catalog:
	$(LABTEST) grade-catalog -k 3 -p 12 $(if $(SEED),--seed $(SEED)) $(TIME_FLAG) $(PART_FLAG)
