//! The event-log recipes of the READMEs, run verbatim: the first ```sh
//! block after the heading `## Event log and views` of `README.md` (from
//! the repository's root) and of the handout's README (from a fresh
//! `labtest handout` tree whose `raft/src` is the reference Raft, as a
//! student who finished the lab has it). Each command line runs through
//! `sh -c` and must exit 0; then every file the block names (`*.jsonl`,
//! `*.html`) must exist and be non-empty.
//!
//! Slow: it runs `make test-2a` twice, one after the other (about 15 s
//! each), and the handout builds in `target/labtest/grade-target` (shared
//! with the grader; 15 minutes the first time on a loaded 2-core machine).
//! Run it alone with
//! `cargo test --release -p labtest --test recipes`.
//! `LAB_RECIPE_README=PATH` reads another README instead of `README.md`
//! (to try a recipe before it goes into the README).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::scratch;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADING: &str = "## Event log and views";

/// One recipe at a time: each runs the real-time 2A tests, which two at
/// once on a small machine would slow into failures.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The command lines of the first ```sh block of the section `HEADING`
/// (blank and comment-only lines left out).
fn recipe(readme: &str) -> Result<Vec<String>, String> {
    let mut lines = readme.lines();
    lines
        .by_ref()
        .find(|l| l.trim_end() == HEADING)
        .ok_or_else(|| format!("no heading {HEADING:?}"))?;
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in lines {
        if !in_block && line.starts_with("## ") {
            return Err(format!("no ```sh block in the section {HEADING:?}"));
        }
        if !in_block {
            in_block = line.trim_end() == "```sh";
            continue;
        }
        if line.trim_end() == "```" {
            return if commands.is_empty() {
                Err("an empty ```sh block".into())
            } else {
                Ok(commands)
            };
        }
        let command = strip_comment(line).trim().to_string();
        if !command.is_empty() {
            commands.push(line.to_string());
        }
    }
    Err(format!("no ```sh block in the section {HEADING:?}"))
}

/// `line` without its shell comment: from an unquoted `#` that starts a
/// word.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The files the commands name: words (split at spaces, `=` and quotes)
/// ending in `.jsonl` or `.html`, placeholders like `<seed>` left out.
fn named_files(commands: &[String]) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for command in commands {
        let words = strip_comment(command)
            .split(|c: char| c.is_whitespace() || matches!(c, '=' | '\'' | '"'))
            .filter(|w| w.ends_with(".jsonl") || w.ends_with(".html"))
            .filter(|w| !w.contains(['<', '*', '$']));
        for word in words {
            if !files.iter().any(|f| f == word) {
                files.push(word.to_string());
            }
        }
    }
    files
}

/// Runs each command in `dir` as a user's shell would (its `PWD` is
/// `dir`), with none of the lab's variables set from outside.
fn run_in(dir: &Path, commands: &[String], target_dir: Option<&Path>) -> Vec<String> {
    let mut failures = Vec::new();
    for command in commands {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .current_dir(dir)
            .env("PWD", dir)
            .env_remove("LAB_LOG")
            .env_remove("LAB_SEED")
            .env_remove("LAB_RESULT_FILE")
            .env_remove("LAB_TEST_LIMIT");
        if let Some(target) = target_dir {
            sh.env("CARGO_TARGET_DIR", target);
        }
        let out = sh.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!(
            "$ {command}\n{stdout}{stderr}(exit {:?})",
            out.status.code()
        );
        if !out.status.success() {
            failures.push(format!("{command:?} exited {:?}", out.status.code()));
        }
    }
    failures
}

/// Fails unless each of `files` exists in `dir` and is non-empty.
fn check_files(dir: &Path, files: &[String]) {
    assert!(!files.is_empty(), "the recipe names no file to check");
    for file in files {
        let path = dir.join(file);
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} is missing or empty", path.display());
    }
}

/// Moves the files the recipe will write out of the way for the length of
/// a run in the repository, and puts them back afterwards.
struct Aside {
    moved: Vec<(PathBuf, PathBuf)>,
    written: Vec<PathBuf>,
}

impl Aside {
    fn new(dir: &Path, files: &[String]) -> Aside {
        let mut moved = Vec::new();
        let written: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        for path in &written {
            if path.exists() {
                let keep = path.with_extension("recipe-test-kept");
                fs::rename(path, &keep).unwrap();
                moved.push((keep, path.clone()));
            }
        }
        Aside { moved, written }
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        for path in &self.written {
            let _ = fs::remove_file(path);
        }
        for (keep, path) in &self.moved {
            let _ = fs::rename(keep, path);
        }
    }
}

#[test]
fn parses_the_recipe_block_and_the_files_it_names() {
    let readme = "# x\n## Event log and views\n\ntext\n\n```sh\n\
        LAB_LOG=events.jsonl make test-2a   # or LAB_LOG=1: lab-events-<seed>.jsonl\n\
        # a comment line\n\
        make log LOG=events.jsonl ARGS=\"--kind 'role,vote*'\" | head\n\
        make timeline LOG=events.jsonl OUT=run.html\n```\n\n```sh\nnot this\n```\n";
    let commands = recipe(readme).unwrap();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert_eq!(named_files(&commands), vec!["events.jsonl", "run.html"]);
    // The checks can fail: no heading, no block in the section.
    assert!(recipe("## Other\n```sh\nls\n```\n").is_err());
    assert!(recipe("## Event log and views\ntext\n## Next\n```sh\nls\n```\n").is_err());
    assert_eq!(strip_comment("echo '#not' # yes"), "echo '#not' ");
}

#[test]
fn the_readme_recipe_runs_verbatim() {
    let _turn = one_at_a_time();
    let root = repo().canonicalize().unwrap();
    let readme =
        std::env::var_os("LAB_RECIPE_README").map_or_else(|| root.join("README.md"), PathBuf::from);
    let commands = recipe(&fs::read_to_string(&readme).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
    let files = named_files(&commands);
    let _aside = Aside::new(&root, &files);
    let failures = run_in(&root, &commands, None);
    assert!(failures.is_empty(), "{}: {failures:?}", readme.display());
    check_files(&root, &files);
    // The log went where the command ran, not into the tests' package.
    for file in files.iter().filter(|f| f.ends_with(".jsonl")) {
        assert!(!root.join("tests").join(file).exists(), "tests/{file}");
    }
}

/// A fresh `labtest handout` tree in a scratch folder named `name`.
fn fresh_handout(name: &str) -> PathBuf {
    let tree = scratch("recipes", name).join("lab");
    let out = Command::new(env!("CARGO_BIN_EXE_labtest"))
        .args(["handout", "--out"])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    tree
}

#[test]
fn the_handout_readme_recipe_runs_verbatim() {
    let _turn = one_at_a_time();
    let root = repo().canonicalize().unwrap();
    let tree = fresh_handout("handout");
    // A student who finished the lab: the reference Raft in raft/src.
    for entry in fs::read_dir(root.join("raft/src")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, tree.join("raft/src").join(path.file_name().unwrap())).unwrap();
    }
    let commands = recipe(&fs::read_to_string(tree.join("README.md")).unwrap())
        .unwrap_or_else(|e| panic!("the handout's README.md: {e}"));
    let files = named_files(&commands);
    let target = root.join("target/labtest/grade-target");
    let failures = run_in(&tree, &commands, Some(&target));
    assert!(failures.is_empty(), "the handout's README.md: {failures:?}");
    check_files(&tree, &files);
    let _ = fs::remove_dir_all(tree.parent().unwrap());
}

/// Every `make` line of the ```sh blocks of `readme`.
fn make_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        match line.trim_end() {
            "```sh" => in_block = true,
            "```" => in_block = false,
            l if in_block && strip_comment(l).trim().starts_with("make ") => {
                lines.push(strip_comment(l).trim().to_string());
            }
            _ => {}
        }
    }
    lines
}

#[test]
fn every_part_readme_of_the_handout_names_make_targets_that_exist() {
    let tree = fresh_handout("parts");
    for part in ["2A", "2B", "2C", "2D"] {
        let readme = fs::read_to_string(tree.join(format!("README-{part}.md")))
            .unwrap_or_else(|e| panic!("the handout has no README-{part}.md: {e}"));
        assert!(
            fs::read_to_string(tree.join("README.md"))
                .unwrap()
                .contains(&format!("(README-{part}.md)")),
            "the handout's README links README-{part}.md"
        );
        let lines = make_lines(&readme);
        assert!(!lines.is_empty(), "README-{part}.md names no make command");
        for line in lines {
            // `make -n` prints what would run: a target that does not
            // exist fails it, and nothing runs.
            let dry = line.replacen("make ", "make -n ", 1);
            let out = Command::new("sh")
                .args(["-c", &dry])
                .current_dir(&tree)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "README-{part}.md: `{line}`: {}",
                common::text(&out)
            );
        }
    }
    let _ = fs::remove_dir_all(tree.parent().unwrap());
}
