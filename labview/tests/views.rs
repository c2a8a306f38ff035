//! The views against synthetic runs (see `labview::sample`).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use labview::event::parse_line;
use labview::sample::{SampleConfig, sample_log};
use labview::timeline::{Model, embedded_json};
use labview::{
    Filter, LogOptions, TestSelection, TimelineOptions, parse_log, render_log, render_timeline,
    select_test, split_tests,
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
    assert_eq!(
        html.matches("</script>").count(),
        html.matches("<script").count(),
        "only the page's own"
    );
    assert_eq!(html.matches("<script").count(), 3, "tests, data-0, the script");
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
