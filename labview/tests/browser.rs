//! Opens rendered timelines in headless Chromium and checks the DOM its
//! script built, then saves the screenshot `docs/timeline.png`.
//!
//! Off unless `LAB_BROWSER_TEST=1` (it needs a `chromium`, e.g. Debian's:
//! `apt-get install -y chromium`; `LAB_CHROMIUM` names another binary):
//!
//! ```sh
//! LAB_BROWSER_TEST=1 cargo test -p labview --test browser -- --nocapture
//! ```

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use labview::sample::{SampleConfig, sample_log};
use labview::timeline::Model;
use labview::{TestSelection, TimelineOptions, parse_log, render_timeline};
use std::path::{Path, PathBuf};
use std::process::Command;

fn enabled() -> bool {
    let on = std::env::var("LAB_BROWSER_TEST").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("browser test skipped: set LAB_BROWSER_TEST=1 (needs chromium)");
    }
    on
}

fn chromium(args: &[&str], url: &str) -> String {
    let bin = std::env::var("LAB_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = scratch("profile");
    let out = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "{bin} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labview-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_page(name: &str, cfg: &SampleConfig) -> (PathBuf, Model) {
    let events = parse_log(&sample_log(cfg)).events;
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    let path = scratch(name);
    std::fs::write(&path, render_timeline(&events, &TimelineOptions::default())).unwrap();
    (path, model)
}

/// The elements whose class list starts with `first` and has all of `rest`.
fn count_class(dom: &str, first: &str, rest: &[&str]) -> usize {
    dom.match_indices("class=\"")
        .filter(|(i, m)| {
            let value = &dom[i + m.len()..];
            let value = &value[..value.find('"').unwrap_or(0)];
            let classes: Vec<&str> = value.split_whitespace().collect();
            classes.first() == Some(&first) && rest.iter().all(|c| classes.contains(c))
        })
        .count()
}

fn stat(dom: &str, name: &str) -> String {
    let key = format!("data-{name}=\"");
    let at = dom.find("id=\"stats\"").expect("#stats");
    let from = at + dom[at..].find(&key).expect(name) + key.len();
    dom[from..from + dom[from..].find('"').unwrap()].to_string()
}

/// The text of the element with `id` (its first child text).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).expect(id);
    let from = at + dom[at..].find('>').unwrap() + 1;
    &dom[from..from + dom[from..].find('<').unwrap()]
}

/// A real `LAB_LOG=... make test-2a` of the reference Raft: three tests in
/// one file, all passed.
fn check_several_tests_and_cleanup() {
    let real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference.raft_2a.events.jsonl");
    let events = labview::read_log(&real).unwrap().events;
    let runs = labview::split_tests(&events);
    let page = scratch("reference.html");
    std::fs::write(&page, render_timeline(&events, &TimelineOptions::default())).unwrap();
    let dom = chromium(&["--dump-dom"], &format!("file://{}", page.display()));
    // The menu: shown, one entry per test, the last (all passed) drawn.
    assert!(
        dom.contains("<label id=\"picker-label\">"),
        "the test menu is hidden"
    );
    assert_eq!(dom.matches("<option ").count(), 3);
    assert!(dom.contains("3. many_elections_2a"));
    assert_eq!(stat(&dom, "tests"), "3");
    assert_eq!(stat(&dom, "test"), "2");
    // Cut short by the cleanup: drawn as such, not as failures.
    let model = Model::of_run(runs[2].clone());
    let cut = model.cleanup_rpcs();
    assert!(cut > 0);
    assert_eq!(stat(&dom, "cleanup-rpcs"), cut.to_string());
    assert_eq!(count_class(&dom, "rpc", &["cleanup"]), cut);
    assert_eq!(count_class(&dom, "rpc", &["failed"]), model.failed_rpcs());
    assert_eq!(stat(&dom, "failed-rpcs"), model.failed_rpcs().to_string());
    assert!(dom.contains("class=\"key rpc-pending\""));
    assert!(dom.contains("class=\"key rpc-cleanup\""));
    // Every step carries its full text for hover; labels are not cut.
    let steps = stat(&dom, "steps").parse::<usize>().unwrap();
    assert!(steps > 10);
    assert_eq!(count_class(&dom, "step", &[]), steps);
    let long = "check_one_leader: round 1 of 10: asking server 0 for get_state";
    assert!(long.len() > 60, "longer than the old cut");
    assert!(dom.contains(&format!("<title>{long}</title>")));
    assert!(
        dom.contains(&format!("\">{long}</text>")),
        "a long step label was cut"
    );
    assert!(stat(&dom, "step-labels").parse::<usize>().unwrap() > 0);
    // #test=0 opens the first test.
    let dom = chromium(
        &["--dump-dom"],
        &format!("file://{}#test=0", page.display()),
    );
    assert_eq!(stat(&dom, "test"), "0");
    assert!(text_of(&dom, "title").starts_with("initial_election_2a"));
    println!(
        "reference 2A log: 3 tests in one page; many_elections_2a: {cut} RPCs ended by cleanup, {} failed, {steps} steps",
        model.failed_rpcs()
    );
}

#[test]
fn timeline_renders_in_chromium() {
    if !enabled() {
        return;
    }
    // A failing 3-peer run: everything fits, so every RPC is an arrow.
    let (page, model) = write_page("three.html", &SampleConfig::three_peers());
    let dom = chromium(&["--dump-dom"], &format!("file://{}", page.display()));
    assert!(
        dom.contains("data-rendered=\"1\""),
        "the script did not run"
    );
    assert_eq!(count_class(&dom, "lane", &[]), model.peers);
    for p in 0..model.peers {
        assert!(dom.contains(&format!("class=\"lane\" data-peer=\"{p}\"")));
    }
    assert_eq!(count_class(&dom, "band", &[]), model.bands.len());
    for role in ["follower", "candidate", "leader"] {
        let want = model.bands.iter().filter(|b| b.role.name() == role).count();
        assert_eq!(count_class(&dom, "band", &[role]), want, "{role} bands");
    }
    assert!(dom.contains("class=\"band leader\" data-term=\"1\""));
    let failed = model.rpcs.list.iter().filter(|r| r.failed()).count();
    assert_eq!(count_class(&dom, "rpc", &[]), model.rpcs.list.len());
    assert_eq!(count_class(&dom, "rpc", &["failed"]), failed);
    assert_eq!(count_class(&dom, "check", &[]), model.checks.0);
    assert_eq!(count_class(&dom, "check", &["failed"]), model.checks.1);
    assert_eq!(
        count_class(&dom, "period", &["disconnected"]),
        model.periods.len()
    );
    assert!(dom.contains("id=\"failure\""));
    assert!(dom.contains("expected one leader, got none"));
    assert_eq!(stat(&dom, "mode"), "arrows");
    assert_eq!(stat(&dom, "rpcs"), model.rpcs.list.len().to_string());
    println!(
        "3 peers: {} lanes, {} bands, {} RPC arrows ({} failed), {} checks",
        model.peers,
        model.bands.len(),
        model.rpcs.list.len(),
        failed,
        model.checks.0
    );

    // The big 7-peer run: zoomed out, RPCs become ticks; zoomed in, arrows.
    let (big, model) = write_page("big.html", &SampleConfig::seven_peers_big());
    let started = std::time::Instant::now();
    let dom = chromium(&["--dump-dom"], &format!("file://{}", big.display()));
    println!(
        "7 peers, 120 s ({} RPCs): loaded and rendered in {:?}",
        model.rpcs.list.len(),
        started.elapsed()
    );
    assert_eq!(count_class(&dom, "lane", &[]), 7);
    assert_eq!(stat(&dom, "mode"), "ticks");
    assert_eq!(count_class(&dom, "band", &[]), model.bands.len());
    assert!(count_class(&dom, "rpc-ticks", &[]) >= 7);
    let dom = chromium(
        &["--dump-dom"],
        &format!("file://{}#t=60000,60400", big.display()),
    );
    assert_eq!(stat(&dom, "mode"), "arrows");
    let shown = model
        .rpcs
        .list
        .iter()
        .filter(|r| r.t_send <= 60400.0 && r.t_end.unwrap_or(f64::MAX) >= 60000.0)
        .count();
    assert!(shown > 0);
    assert_eq!(count_class(&dom, "rpc", &[]), shown);

    // A real failing run: the reference Raft with the catalog bug
    // `forgets-to-clear-vote` (grading/bugs), many_elections_2a, as the
    // stress runner kept it. Every RPC's sender is known (end_created).
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/forgets-to-clear-vote.many_elections_2a.events.jsonl");
    let events = labview::read_log(&real).unwrap().events;
    let model = Model::build(&events, &TestSelection::default()).unwrap();
    let real_page = scratch("real.html");
    std::fs::write(
        &real_page,
        render_timeline(&events, &TimelineOptions::default()),
    )
    .unwrap();
    let dom = chromium(&["--dump-dom"], &format!("file://{}", real_page.display()));
    assert!(
        dom.contains("data-rendered=\"1\""),
        "the script did not run"
    );
    assert_eq!(count_class(&dom, "lane", &[]), 7);
    assert_eq!(count_class(&dom, "band", &[]), model.bands.len());
    assert!(
        count_class(&dom, "band", &["leader"]) > 0,
        "no leader band in a real run"
    );
    assert!(
        model.rpcs.list.iter().all(|r| r.from.is_some()),
        "an RPC without a sender"
    );
    assert_eq!(stat(&dom, "rpcs"), model.rpcs.list.len().to_string());
    assert!(count_class(&dom, "period", &["disconnected"]) > 0);
    assert!(count_class(&dom, "check", &["failed"]) >= 1);
    assert!(dom.contains("id=\"failure\""));
    assert!(dom.contains("expected one leader, got none"));
    println!(
        "real run: {} bands, {} RPCs, {} disconnected periods",
        model.bands.len(),
        model.rpcs.list.len(),
        model.periods.len()
    );
    // The failure banner names the step the test was in.
    let step = model.failure.as_ref().and_then(|f| f.step.clone()).unwrap();
    assert!(
        dom.contains(&format!("<div id=\"failure-step\">while: {step}</div>")),
        "no failure step {step:?} in the banner"
    );
    println!("real failure: while: {step}");

    check_several_tests_and_cleanup();

    // The screenshot for the docs: that real failing run.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    std::fs::create_dir_all(&docs).unwrap();
    let png = docs.join("timeline.png");
    chromium(
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1600,900",
        ],
        &format!("file://{}", real_page.display()),
    );
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    println!("screenshot: {}", png.display());
    let _ = std::fs::remove_dir_all(page.parent().unwrap());
}
