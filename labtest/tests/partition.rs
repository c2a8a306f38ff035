//! A class graded in shares (`grade-batch --partition I/N`) and joined
//! (`labtest merge`) gives what one machine grading it whole gives: the
//! same scores.csv (but for the seconds each grade took), the same report
//! folders with the same results. Shares that do not make one class are
//! refused before anything is written.

// Drives OS processes; outside the lab's time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_class_graded_alike, assert_contains, batch, class, labtest, scratch, text};
use std::fs;
use std::path::PathBuf;

#[test]
fn three_shares_merged_grade_the_class_as_one_machine_does() {
    let dir = scratch("partition", "class");
    let subs = class(&dir);
    let whole = dir.join("whole");
    let out = batch(&subs, &whole, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let shares: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("share-{i}"))).collect();
    for (i, share) in shares.iter().enumerate() {
        let part = format!("{}/3", i + 1);
        let out = batch(&subs, share, &["--partition", &part]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_contains(&out, &format!("share {part} of a class of 4"));
    }
    // Round-robin: share 1 holds alice and carol, 2 bob, 3 bob.zip, whose
    // folder is bob-2 as on one machine.
    assert!(shares[0].join("alice/results.json").is_file());
    assert!(shares[0].join("carol/results.json").is_file());
    assert!(shares[1].join("bob/results.json").is_file());
    assert!(shares[2].join("bob-2/results.json").is_file());
    assert!(!shares[2].join("bob").exists());

    let merged = dir.join("merged");
    let share_args: Vec<&str> = shares.iter().map(|s| s.to_str().unwrap()).collect();
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(&share_args);
    let out = labtest(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_contains(&out, "merged 3 shares");
    assert_contains(&out, "4 submissions, mean score 3.8/15");

    assert_class_graded_alike(&merged, &whole);
}

#[test]
fn shares_that_do_not_make_one_class_are_refused() {
    let dir = scratch("partition", "refused");
    let subs = class(&dir);
    // Without --seed the shares would draw different master seeds.
    let out = labtest(&[
        "grade-batch",
        subs.to_str().unwrap(),
        "--partition",
        "1/2",
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "--partition needs --seed");
    let out = labtest(&["grade-batch", subs.to_str().unwrap(), "--partition", "3/2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "1 <= I <= N");
    // A folder with no share.json (an unfinished or unpartitioned grade).
    fs::create_dir_all(dir.join("empty")).unwrap();
    let out = labtest(&[
        "merge",
        "--out",
        dir.join("m").to_str().unwrap(),
        dir.join("empty").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "not a finished share");
    // One share of two: the other is missing.
    let share = dir.join("share-1");
    let out = batch(&subs, &share, &["--partition", "2/2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = labtest(&[
        "merge",
        "--out",
        dir.join("m").to_str().unwrap(),
        share.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_contains(&out, "missing shares: 1/2");
    assert!(!dir.join("m/scores.csv").exists());
}
