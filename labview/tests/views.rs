//! The views against synthetic runs (see `labview::sample`).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use labview::event::parse_line;
use labview::sample::{SampleConfig, sample_log};
use labview::timeline::{Model, embedded_json, embedded_tests};
use labview::{
    Filter, LogOptions, TestSelection, TimelineOptions, check_peers, drawn_note, explain_no_match,
    parse_log, render_log, render_timeline, select_test, split_tests,
};
use serde_json::Value;

fn three() -> String {
    sample_log(&SampleConfig::three_peers())
}

fn count_kind(text: &str, kind: &str) -> usize {
    text.lines()
        .filter(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
        .count()
}

#[test]
fn parse_skips_malformed_lines_with_their_numbers() {
    let text = concat!(
        "{\"t\":0,\"peer\":null,\"kind\":\"test_begin\",\"test\":\"T\",\"seed\":1}\n",
        "not json\n",
        "\n",
        "{\"t\":1.5,\"peer\":2,\"kind\":\"my_custom_thing\",\"answer\":42,\"nested\":{\"a\":[1,2]}}\n",
        "{\"t\":2,\"peer\":-1,\"kind\":\"role\"}\n",
        "{\"peer\":1,\"kind\":\"role\"}\n",
        "[1,2,3]\n",
        "{\"t\":3,\"peer\":0,\"kind\":\"role\",\"role\":\"leader\",\"term\":1}\n",
        "{\"t\":4,\"peer\":0,\"kind\":\"ro",
    );
    let parsed = parse_log(text);
    let lines: Vec<usize> = parsed.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, vec![2, 5, 6, 7, 9], "{:?}", parsed.warnings);
    assert_eq!(parsed.events.len(), 3);
    let custom = &parsed.events[1];
    assert_eq!(custom.line, 4);
    assert_eq!(custom.kind, "my_custom_thing");
    assert_eq!(custom.peer, Some(2));
    assert_eq!(custom.u64("answer"), Some(42));
    assert!(custom.field("nested").is_some());
    assert_eq!(parsed.events[2].str("role"), Some("leader"));
    assert!(parse_line("{\"t\":1,\"peer\":null}").is_err());
    assert!(parse_line("{\"t\":\"1\",\"peer\":null,\"kind\":\"x\"}").is_err());
}

#[test]
fn selects_the_last_failed_test_by_default_else_the_last() {
    let pass = sample_log(&SampleConfig::passing());
    let fail = three();
    let file = format!("{pass}{fail}{pass}");
    let events = parse_log(&file).events;
    let runs = split_tests(&events);
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].passed, Some(true));
    assert_eq!(runs[1].passed, Some(false));
    let chosen = select_test(&runs, &TestSelection::default()).unwrap();
    assert_eq!(chosen.name.as_deref(), Some("TestReElection2A"));
    assert_eq!(
        chosen.failure.as_deref(),
        Some("expected one leader, got none")
    );
    // By exact name, then by part of a name.
    let named = select_test(&runs, &TestSelection::Named("TestInitialElection2A".into())).unwrap();
    assert_eq!(named.events.len(), runs[2].events.len());
    let part = select_test(&runs, &TestSelection::Named("ReElection".into())).unwrap();
    assert_eq!(part.name.as_deref(), Some("TestReElection2A"));
    assert!(select_test(&runs, &TestSelection::Named("Nope".into())).is_err());
    // Without a failure: the last.
    let two = parse_log(&format!("{pass}{pass}")).events;
    let runs = split_tests(&two);
    let last = select_test(&runs, &TestSelection::default()).unwrap();
    assert_eq!(last.events.len(), runs[1].events.len());
    assert_eq!(last.events[0].line, runs[1].events[0].line);
    // The views follow the selection.
    let log = render_log(
        &parse_log(&file).events,
        &LogOptions {
            no_color: true,
            ..LogOptions::default()
        },
    );
    assert!(
        log.starts_with("TestReElection2A (seed 3) — FAILED"),
        "{log}"
    );
}

/// The column (in characters) where `needle` starts on the first line
/// holding it.
fn column_of(text: &str, needle: &str) -> usize {
    let line = text.lines().find(|l| l.contains(needle)).unwrap();
    line[..line.find(needle).unwrap()].chars().count()
}

#[test]
fn log_view_puts_each_event_in_its_peers_column() {
    let events = parse_log(&three()).events;
    let opts = LogOptions {
        no_color: true,
        width: 100,
        ..LogOptions::default()
    };
    let out = render_log(&events, &opts);
    assert!(!out.contains('\x1b'));
    let header = out.lines().nth(1).unwrap();
    assert!(header.contains("peer 0") && header.contains("peer 2"));
    assert!(!header.contains("peer 3"));
    // Time column of 10, then 3 columns of 30.
    assert_eq!(column_of(&out, "LEADER t1"), 11);
    assert_eq!(column_of(&out, "LEADER t2"), 10 + 2 * 30 + 1);
    assert_eq!(column_of(&out, "LEADER t3"), 10 + 30 + 1);
    // RPCs in the sender's column, failed ones marked.
    assert!(out.contains("→2 AppendEntries"));
    assert!(out.contains("→1 AppendEntries ✗"));
    assert!(out.contains("✗→1 AppendEntries unreachable"));
    // Harness events span the columns from the first.
    assert_eq!(column_of(&out, "✘ check_one_leader FAILED"), 10);
    assert!(out.contains("══ FAILED: expected one leader, got none ══"));
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
    // Colors by default.
    let colored = render_log(&events, &LogOptions::default());
    assert!(colored.contains("\x1b[1;32mLEADER t1"));
}

#[test]
fn log_view_fits_twelve_peers_and_shows_unknown_kinds() {
    let cfg = SampleConfig {
        peers: 12,
        duration_ms: 2_000,
        ..SampleConfig::three_peers()
    };
    let mut text = sample_log(&cfg);
    text.push_str("{\"t\":1999,\"peer\":11,\"kind\":\"snapshot_taken\",\"index\":7}\n");
    text.push_str("{\"t\":1999.5,\"peer\":null,\"kind\":\"custom_note\",\"why\":\"x\"}\n");
    let events = parse_log(&text).events;
    let out = render_log(
        &events,
        &LogOptions {
            no_color: true,
            ..LogOptions::default()
        },
    );
    let header = out.lines().nth(1).unwrap();
    assert!(header.contains("peer 11"), "{header}");
    for line in out.lines() {
        assert!(line.chars().count() <= 120, "too wide: {line}");
    }
    // 110 / 12 = 9 columns each: peer 11's column starts at 10 + 11 * 9.
    assert_eq!(column_of(&out, "snaps"), 10 + 11 * 9 + 1);
    assert!(out.contains("custom_note why=x"));
}

fn plain(events: &[labview::Event], filter: Filter) -> String {
    render_log(
        events,
        &LogOptions {
            plain: true,
            filter,
            ..LogOptions::default()
        },
    )
}

#[test]
fn plain_mode_is_tab_separated_without_ansi() {
    let events = parse_log(&three()).events;
    let out = plain(&events, Filter::default());
    assert!(!out.contains('\x1b'));
    // Every event of the selected test, including replies.
    assert_eq!(out.lines().count(), events.len());
    for line in out.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        cols[0].parse::<f64>().unwrap();
        assert!(cols[1] == "-" || cols[1].parse::<usize>().is_ok(), "{line}");
    }
    let send = out.lines().find(|l| l.contains("\trpc_send\t")).unwrap();
    assert!(
        send.contains("from=") && send.contains("method=Raft."),
        "{send}"
    );
}

#[test]
fn filters_by_peer_kind_time_and_term() {
    let events = parse_log(&three()).events;
    let by_peer = plain(
        &events,
        Filter {
            peers: vec![1],
            ..Filter::default()
        },
    );
    assert!(!by_peer.is_empty());
    for line in by_peer.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let ok = cols[1] == "1" || cols[1] == "-" || cols[3].contains("to=1 ");
        assert!(ok, "{line}");
    }
    assert!(by_peer.lines().any(|l| l.contains("\t1\trole\t")));
    assert!(
        !by_peer
            .lines()
            .any(|l| l.starts_with("0.") && l.contains("\t2\trole\t"))
    );

    let votes = plain(
        &events,
        Filter {
            kinds: vec!["vote*".into(), "role".into()],
            ..Filter::default()
        },
    );
    assert!(votes.lines().count() > 3);
    for line in votes.lines() {
        let kind = line.split('\t').nth(2).unwrap();
        assert!(kind.starts_with("vote") || kind == "role", "{line}");
    }
    let rpc = plain(
        &events,
        Filter {
            kinds: vec!["rpc".into()],
            ..Filter::default()
        },
    );
    assert!(
        rpc.lines()
            .all(|l| l.split('\t').nth(2).unwrap().starts_with("rpc_"))
    );

    let window = plain(
        &events,
        Filter {
            from_ms: Some(1000.0),
            to_ms: Some(1500.0),
            ..Filter::default()
        },
    );
    assert!(window.lines().count() > 5);
    for line in window.lines() {
        let t: f64 = line.split('\t').next().unwrap().parse().unwrap();
        assert!((1000.0..=1500.0).contains(&t), "{line}");
    }

    let term2 = plain(
        &events,
        Filter {
            term: Some(2),
            ..Filter::default()
        },
    );
    assert!(term2.contains("\trole\t") && term2.contains("term=2"));
    assert!(
        !term2.contains("term=1") && !term2.contains("term=3"),
        "{term2}"
    );
    let first: f64 = term2
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        first > 1000.0,
        "term 2 starts after the first disconnect: {first}"
    );
}

fn embedded(html: &str) -> Value {
    let json = embedded_json(html).expect("embedded JSON");
    assert!(!json.contains("</"), "the JSON must not close the script");
    serde_json::from_str(json).expect("valid JSON")
}

fn check_timeline(cfg: &SampleConfig) {
    let text = sample_log(cfg);
    let events = parse_log(&text).events;
    let html = render_timeline(&events, &TimelineOptions::default());
    assert!(html.starts_with("<!doctype html>"));
    // The SVG namespace is a name, not a place to load from.
    let page = html.replace("http://www.w3.org/2000/svg", "");
    for external in [
        "http://", "https://", "<link", "src=", "@import", "url(http",
    ] {
        assert!(!page.contains(external), "external reference {external}");
    }
    let data = embedded(&html);
    assert_eq!(data["peers"], cfg.peers);
    // Every RPC has both ends (the sample logs end_created).
    assert_eq!(
        data["rpcs"].as_array().unwrap().len(),
        count_kind(&text, "rpc_send")
    );
    let failed_rpcs = data["rpcs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[6] == 1)
        .count();
    assert_eq!(failed_rpcs, count_kind(&text, "rpc_fail"));
    // Bands: per peer, back to back from 0 (crashes excepted), as many
    // leader bands as elections won.
    let bands = data["bands"].as_array().unwrap();
    let leader_bands = bands.iter().filter(|b| b[3] == "leader").count();
    let won = text
        .lines()
        .filter(|l| l.contains("\"kind\":\"role\",\"role\":\"leader\""))
        .count();
    assert_eq!(leader_bands, won);
    for p in 0..cfg.peers {
        let mine: Vec<&Value> = bands.iter().filter(|b| b[0] == p).collect();
        assert_eq!(mine[0][1].as_f64(), Some(0.0));
        for w in mine.windows(2) {
            let (end, start) = (w[0][2].as_f64().unwrap(), w[1][1].as_f64().unwrap());
            assert!(start >= end, "peer {p}: overlapping bands {w:?}");
            if !cfg.crash {
                assert_eq!(start, end, "peer {p}: a gap between bands");
            }
        }
    }
    let periods = data["periods"].as_array().unwrap();
    assert_eq!(
        periods.iter().filter(|p| p[3] == "disconnected").count(),
        count_kind(&text, "disconnect")
    );
    assert_eq!(
        periods.iter().filter(|p| p[3] == "crashed").count(),
        count_kind(&text, "crash")
    );
    let failure = &data["failure"];
    assert_eq!(failure["message"], "expected one leader, got none");
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    assert_eq!(model.checks.1, 1);
    assert_eq!(bands.len(), model.bands.len());
    assert!(html.contains("id=\"failure-message\""));
}

#[test]
fn timeline_of_three_peers() {
    check_timeline(&SampleConfig::three_peers());
}

#[test]
fn timeline_of_seven_peers() {
    check_timeline(&SampleConfig::seven_peers());
}

#[test]
fn timeline_escapes_event_text() {
    let text = concat!(
        "{\"t\":0,\"peer\":null,\"kind\":\"test_begin\",\"test\":\"T<b>\",\"seed\":1}\n",
        "{\"t\":1,\"peer\":0,\"kind\":\"note\",\"text\":\"</script><script>alert(1)</script>\"}\n",
    );
    let html = render_timeline(&parse_log(text).events, &TimelineOptions::default());
    // Only the page's own: the test list, test 0's model, the script.
    assert_eq!(html.matches("</script>").count(), 3);
    assert!(html.contains("<title>T&lt;b&gt; (seed 1) — timeline</title>"));
    let data = embedded(&html);
    assert_eq!(
        data["marks"][0][3]["text"],
        "</script><script>alert(1)</script>"
    );
}

#[test]
fn big_seven_peer_run_renders() {
    let cfg = SampleConfig::seven_peers_big();
    let started = std::time::Instant::now();
    let text = sample_log(&cfg);
    let generated = started.elapsed();
    let parsed = parse_log(&text);
    let parsed_at = started.elapsed();
    let n = parsed.events.len();
    assert!(parsed.warnings.is_empty());
    assert!((40_000..=70_000).contains(&n), "{n} events");
    let html = render_timeline(&parsed.events, &TimelineOptions::default());
    let rendered_at = started.elapsed();
    let log = render_log(&parsed.events, &LogOptions::default());
    let logged_at = started.elapsed();
    println!(
        "7 peers, 120 s: {n} events, {} bytes of log; generated in {generated:?}, parsed in {:?}, \
         timeline ({} bytes) in {:?}, log view ({} bytes) in {:?}",
        text.len(),
        parsed_at - generated,
        html.len(),
        rendered_at - parsed_at,
        log.len(),
        logged_at - rendered_at
    );
    assert!(html.len() < 6_000_000, "timeline of {} bytes", html.len());
    let data = embedded(&html);
    assert_eq!(data["peers"], 7);
    assert!(data["end"].as_f64().unwrap() >= 119_000.0);
}

/// A small run: two RPCs from peer 0 to 1, one failing before the cleanup
/// step and one after it; then a verdict.
fn cleanup_log(with_cleanup_step: bool, passed: bool) -> String {
    let mut s = String::from(concat!(
        "{\"t\":0,\"peer\":null,\"kind\":\"test_begin\",\"test\":\"T\",\"seed\":1}\n",
        "{\"t\":0.1,\"peer\":0,\"kind\":\"end_created\",\"end\":\"a\",\"from\":0,\"to\":1}\n",
        "{\"t\":1,\"peer\":null,\"kind\":\"rpc_send\",\"id\":1,\"end\":\"a\",\"method\":\"Raft.AppendEntries\"}\n",
        "{\"t\":2,\"peer\":null,\"kind\":\"rpc_send\",\"id\":2,\"end\":\"a\",\"method\":\"Raft.AppendEntries\"}\n",
        "{\"t\":3,\"peer\":null,\"kind\":\"rpc_send\",\"id\":3,\"end\":\"a\",\"method\":\"Raft.RequestVote\"}\n",
        "{\"t\":5,\"peer\":null,\"kind\":\"rpc_fail\",\"id\":1,\"reason\":\"request lost\"}\n",
        "{\"t\":6,\"peer\":null,\"kind\":\"step\",\"text\":\"check_one_leader: round 10 of 10: asking server 1 for get_state\"}\n",
    ));
    if !passed {
        s.push_str("{\"t\":7,\"peer\":null,\"kind\":\"check\",\"name\":\"check_one_leader\",\"ok\":false}\n");
    }
    if with_cleanup_step {
        s.push_str("{\"t\":8,\"peer\":null,\"kind\":\"step\",\"text\":\"cleanup: killing the peers, shutting the network down\"}\n");
    }
    s.push_str(
        "{\"t\":9,\"peer\":null,\"kind\":\"rpc_fail\",\"id\":2,\"reason\":\"unreachable\"}\n",
    );
    s.push_str("{\"t\":10,\"peer\":null,\"kind\":\"step\",\"text\":\"after cleanup: waiting for the test's threads to end\"}\n");
    let failure = if passed {
        "null"
    } else {
        "\"expected one leader, got none\""
    };
    s.push_str(&format!(
        "{{\"t\":11,\"peer\":null,\"kind\":\"verdict\",\"test\":\"T\",\"passed\":{passed},\"failure\":{failure}}}\n"
    ));
    s
}

fn outcomes(data: &Value) -> Vec<u64> {
    data["rpcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[6].as_u64().unwrap())
        .collect()
}

#[test]
fn rpcs_cut_short_by_the_final_cleanup_are_not_failures() {
    let events = parse_log(&cleanup_log(true, true)).events;
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    assert_eq!(model.cleanup_ms, Some(8.0));
    assert_eq!(model.failed_rpcs(), 1, "only the RPC lost before cleanup");
    let html = render_timeline(&events, &TimelineOptions::default());
    // Failed, ended by cleanup, and unanswered (no outcome in the log).
    assert_eq!(outcomes(&embedded(&html)), vec![1, 3, 2]);
    // The check can fail: without the cleanup step, both are failures.
    let events = parse_log(&cleanup_log(false, true)).events;
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    assert_eq!(model.failed_rpcs(), 2);
    let html = render_timeline(&events, &TimelineOptions::default());
    assert_eq!(outcomes(&embedded(&html)), vec![1, 1, 2]);
}

#[test]
fn the_legend_names_unanswered_and_cleanup_rpcs() {
    let html = render_timeline(
        &parse_log(&cleanup_log(true, true)).events,
        &TimelineOptions::default(),
    );
    assert!(
        html.contains("class=\"key rpc-pending\""),
        "no unanswered key"
    );
    assert!(html.contains(">unanswered RPC<"));
    assert!(html.contains("class=\"key rpc-cleanup\""));
}

#[test]
fn the_failure_names_the_step_the_test_was_in() {
    // No step in the verdict: the last step before the failed check, not
    // the cleanup steps after it.
    let events = parse_log(&cleanup_log(true, false)).events;
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    let failure = model.failure.clone().unwrap();
    assert_eq!(failure.t, 7.0);
    assert_eq!(
        failure.step.as_deref(),
        Some("check_one_leader: round 10 of 10: asking server 1 for get_state")
    );
    let html = render_timeline(&events, &TimelineOptions::default());
    assert_eq!(
        embedded(&html)["failure"]["step"],
        "check_one_leader: round 10 of 10: asking server 1 for get_state"
    );
    assert!(html.contains("id=\"failure-step\""));
    // The verdict's own step (the runner's) wins: a test stuck in a step.
    let stuck = cleanup_log(true, false).replace(
        "\"failure\":\"expected one leader, got none\"}",
        "\"failure\":\"stuck for 120 s\",\"step\":\"check_one_leader: round 3 of 10: asking server 2 for get_state\"}",
    );
    let model = Model::build(&parse_log(&stuck).events, &TestSelection::default()).unwrap();
    assert_eq!(
        model.failure.unwrap().step.as_deref(),
        Some("check_one_leader: round 3 of 10: asking server 2 for get_state")
    );
    // A passed run has no failure banner at all.
    let passed = Model::build(
        &parse_log(&cleanup_log(true, true)).events,
        &TestSelection::default(),
    )
    .unwrap();
    assert!(passed.failure.is_none());
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_log_of_several_tests_gives_one_page_with_a_menu() {
    // A real `LAB_LOG=... make test-2a` of the reference Raft: three tests.
    let text = fixture("reference.raft_2a.events.jsonl");
    let events = parse_log(&text).events;
    let html = render_timeline(&events, &TimelineOptions::default());
    let tests: Value = serde_json::from_str(embedded_tests(&html).unwrap()).unwrap();
    let labels: Vec<&str> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 3);
    assert!(labels[0].starts_with("initial_election_2a"), "{labels:?}");
    assert!(labels[2].starts_with("many_elections_2a"), "{labels:?}");
    assert_eq!(tests["selected"], 2, "all passed: the last");
    for i in 0..3 {
        let id = format!("<script type=\"application/json\" id=\"data-{i}\">");
        assert!(html.contains(&id), "no model of test {i}");
    }
    assert!(html.contains("id=\"test-picker\""));
    // --test picks the first shown; the others stay in the menu.
    let first = render_timeline(
        &events,
        &TimelineOptions {
            test: TestSelection::Named("initial".into()),
            ..TimelineOptions::default()
        },
    );
    let tests: Value = serde_json::from_str(embedded_tests(&first).unwrap()).unwrap();
    assert_eq!(tests["selected"], 0);
    assert_eq!(tests["tests"].as_array().unwrap().len(), 3);
    // The CLI's note names the test drawn and the others.
    let runs = split_tests(&events);
    let note = drawn_note(&runs, 2);
    assert!(note.starts_with("test 3 of 3: many_elections_2a"), "{note}");
    assert!(
        note.contains("initial_election_2a, re_election_2a: pick one with --test NAME"),
        "{note}"
    );
    assert!(!drawn_note(&runs[..1], 0).contains("--test"));
    // The real run's cleanup: RPCs it cut short are not failures.
    let model = Model::of_run(runs[2].clone());
    let cut = model.cleanup_rpcs();
    assert!(cut > 0, "the reference run has RPCs cut by cleanup");
    let failed = model.rpcs.list.iter().filter(|r| r.failed()).count();
    assert_eq!(model.failed_rpcs(), failed - cut);
}

#[test]
fn an_unfinished_last_line_is_expected_but_a_bad_line_is_damage() {
    let good = "{\"t\":0,\"peer\":null,\"kind\":\"test_begin\",\"test\":\"T\",\"seed\":1}\n";
    let cut = parse_log(&format!("{good}{{\"t\":1,\"pe"));
    assert_eq!(cut.warnings.len(), 1);
    assert!(cut.warnings[0].unfinished);
    assert!(cut.first_damaged_line().is_none());
    let bad = parse_log(&format!("{good}not json\n{good}"));
    let damage = bad.first_damaged_line().expect("a damaged line");
    assert_eq!(damage.line, 2);
    assert!(!damage.unfinished);
    // A complete last line that is not JSON is damage too.
    let last = parse_log(&format!("{good}{{\"t\":1,\"pe\n"));
    assert_eq!(last.first_damaged_line().map(|w| w.line), Some(2));
}

#[test]
fn filters_that_match_nothing_say_which_and_what_the_test_holds() {
    let events = parse_log(&three()).events;
    let run = select_test(&split_tests(&events), &TestSelection::default()).unwrap();
    let term = explain_no_match(
        &Filter {
            term: Some(99),
            kinds: vec!["role".into()],
            ..Filter::default()
        },
        &run.events,
    );
    assert!(term.starts_with("no event matches --term 99;"), "{term}");
    assert!(term.contains("peers 0-2"), "{term}");
    assert!(term.contains("kinds ") && term.contains("role"), "{term}");
    assert!(term.contains("terms 0-"), "{term}");
    assert!(term.contains("time 0.0-"), "{term}");
    let both = explain_no_match(
        &Filter {
            kinds: vec!["vote_granted".into()],
            from_ms: Some(0.0),
            to_ms: Some(0.001),
            ..Filter::default()
        },
        &run.events,
    );
    assert!(
        both.starts_with("no event matches --from 0 --to 0.001") || both.starts_with("each filter"),
        "{both}"
    );
    let combined = explain_no_match(
        &Filter {
            kinds: vec!["test_begin".into()],
            from_ms: Some(1.0),
            ..Filter::default()
        },
        &run.events,
    );
    assert!(
        combined.starts_with(
            "each filter matches some events, but none matches all of --kind test_begin --from 1"
        ),
        "{combined}"
    );
    // A peer the test does not have is named (harness events would
    // otherwise still match).
    let peers = check_peers(
        &Filter {
            peers: vec![1, 7],
            ..Filter::default()
        },
        &run.events,
    )
    .unwrap_err();
    assert!(peers.contains("no peer 7"), "{peers}");
    assert!(
        check_peers(
            &Filter {
                peers: vec![2],
                ..Filter::default()
            },
            &run.events
        )
        .is_ok()
    );
}
