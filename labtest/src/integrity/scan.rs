//! The integrity scanner: what clippy cannot see in a student's sources.
//!
//! Clippy lints the code the compiler builds, so code behind
//! `#[cfg(not(clippy))]` escapes it, and it knows nothing of `#[path]`
//! modules or `extern crate`. This scanner reads every `.rs` file's tokens
//! (not its meaning): it flags the words and paths that open a door out of
//! the process wherever they stand, compiled or not, and any mention of
//! `clippy` outside a lint name. It must never be the only line of defence:
//! paths built inside macros (`std::$m`) or glob imports of a module that
//! was itself imported are beyond it; clippy, which resolves paths, sees
//! those in every build the scanner lets through.

use super::Violation;
use super::tokens::{Kind, Token, tokenize};

/// Modules of std that are doors out of the process.
const DOORS: [&str; 5] = ["fs", "process", "env", "os", "net"];

/// The crates whose paths lead to the doors.
const ROOTS: [&str; 3] = ["std", "core", "alloc"];

/// Macros that read files or the environment at build time, or run
/// assembly.
const MACROS: [&str; 7] = [
    "include",
    "include_str",
    "include_bytes",
    "option_env",
    "asm",
    "global_asm",
    "naked_asm",
];

/// The forbidden uses in one file's `source`; `file` names it in the
/// report.
pub fn scan(file: &str, source: &str) -> Vec<Violation> {
    let tokens = tokenize(source);
    let mut found = Vec::new();
    let mut attribute_depth: Option<usize> = None;
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match &token.kind {
            Kind::Punct('[') => {
                depth += 1;
                if attribute_depth.is_none() && opens_attribute(&tokens, i) {
                    attribute_depth = Some(depth);
                }
            }
            Kind::Punct(']') => {
                if attribute_depth == Some(depth) {
                    attribute_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Kind::Ident { name, raw } => {
                let what = word_rule(&tokens, i, name, *raw, attribute_depth.is_some());
                if let Some(what) = what {
                    found.push(Violation {
                        file: file.to_string(),
                        line: token.line,
                        what,
                        by: "scanner",
                    });
                }
            }
            _ => {}
        }
    }
    found
}

/// Whether the `[` at `i` opens an attribute (`#[` or `#![`).
fn opens_attribute(tokens: &[Token], i: usize) -> bool {
    let before = |back: usize| i.checked_sub(back).map(|j| &tokens[j].kind);
    matches!(before(1), Some(Kind::Punct('#')))
        || (matches!(before(1), Some(Kind::Punct('!')))
            && matches!(before(2), Some(Kind::Punct('#'))))
}

/// What is forbidden about the word `name` at `i`, if anything.
fn word_rule(
    tokens: &[Token],
    i: usize,
    name: &str,
    raw: bool,
    in_attribute: bool,
) -> Option<String> {
    let next = |ahead: usize| tokens.get(i + ahead).map(|t| &t.kind);
    let punct = |ahead: usize, c: char| next(ahead) == Some(&Kind::Punct(c));
    let path_sep = punct(1, ':') && punct(2, ':');
    match name {
        "unsafe" | "extern" if !raw => Some(format!(
            "`{name}`: unsafe code, foreign functions and extern crates are forbidden"
        )),
        "clippy" if !path_sep => Some(
            "`clippy` outside a lint name: code must not depend on whether clippy looks at it"
                .into(),
        ),
        "env" if punct(1, '!') => Some("`env!`: reading the environment is forbidden".into()),
        _ if MACROS.contains(&name) => Some(format!(
            "`{name}`: reading files or the environment at build time, and assembly, are forbidden"
        )),
        "path" if in_attribute && punct(1, '=') => {
            Some("`#[path]`: modules come from src/ only".into())
        }
        _ if ROOTS.contains(&name) => root_rule(tokens, i, name),
        _ => None,
    }
}

/// What is forbidden about a path from the crate root `root` at `i`: a
/// rename of the crate, a glob import of it, or a door module named after
/// it (directly or in a `{...}` group).
fn root_rule(tokens: &[Token], i: usize, root: &str) -> Option<String> {
    let kind = |at: usize| tokens.get(at).map(|t| &t.kind);
    let is_ident =
        |at: usize, word: &str| matches!(kind(at), Some(Kind::Ident { name, .. }) if name == word);
    if is_ident(i + 1, "as") {
        return Some(format!("`{root} as ...`: renaming `{root}` is forbidden"));
    }
    if kind(i + 1) != Some(&Kind::Punct(':')) || kind(i + 2) != Some(&Kind::Punct(':')) {
        return None;
    }
    match kind(i + 3) {
        Some(Kind::Ident { name, .. }) if DOORS.contains(&name.as_str()) => Some(format!(
            "`{root}::{name}`: the file system, processes, the environment, the network and OS handles are closed to the Raft"
        )),
        Some(Kind::Punct('*')) => Some(format!(
            "`{root}::*`: glob imports of `{root}` are forbidden"
        )),
        Some(Kind::Punct('{')) => group_rule(tokens, i + 3, root),
        _ => None,
    }
}

/// Doors, globs and renames among the first segments of the use group
/// `root::{...}` opening at `open`.
fn group_rule(tokens: &[Token], open: usize, root: &str) -> Option<String> {
    let mut depth = 0usize;
    for at in open..tokens.len() {
        match &tokens[at].kind {
            Kind::Punct('{') => depth += 1,
            Kind::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            kind if depth == 1 && first_segment(tokens, at) => {
                if let Some(what) = segment_rule(tokens, at, kind, root) {
                    return Some(what);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the token at `at` starts a tree of a use group.
fn first_segment(tokens: &[Token], at: usize) -> bool {
    matches!(tokens[at - 1].kind, Kind::Punct('{') | Kind::Punct(','))
}

fn segment_rule(tokens: &[Token], at: usize, kind: &Kind, root: &str) -> Option<String> {
    let renamed = matches!(tokens.get(at + 1).map(|t| &t.kind), Some(Kind::Ident { name, .. }) if name == "as");
    match kind {
        Kind::Ident { name, .. } if DOORS.contains(&name.as_str()) => Some(format!(
            "`{root}::{{{name}}}`: the file system, processes, the environment, the network and OS handles are closed to the Raft"
        )),
        Kind::Ident { name, .. } if name == "self" && renamed => Some(format!(
            "`{root}::{{self as ...}}`: renaming `{root}` is forbidden"
        )),
        Kind::Punct('*') => Some(format!(
            "`{root}::{{*}}`: glob imports of `{root}` are forbidden"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(source: &str) -> Vec<usize> {
        scan("lib.rs", source).iter().map(|v| v.line).collect()
    }

    #[test]
    fn each_door_is_flagged_on_its_line() {
        let cases = [
            "unsafe { f() }",
            "extern crate std as s;",
            "#[cfg(not(clippy))] fn f() {}",
            "let x = cfg!(clippy);",
            "const F: &str = include_str!(\"../../tests/src/report.rs\");",
            "use std::include_str as i;",
            "let v = env!(\"HOME\");",
            "let v = option_env!(\"HOME\");",
            "#[path = \"../../tests/src/report.rs\"] mod m;",
            "#[cfg_attr(all(), path = \"x.rs\")] mod m;",
            "use std as s;",
            "use ::core as c;",
            "let _ = std::fs::write(\"a\", \"b\");",
            "use std::process;",
            "use std::{io, env};",
            "use std::{self as s};",
            "use std::*;",
            "use std::{*};",
            "use r#std::net::TcpStream;",
            "core::arch::global_asm!(\"\");",
            "let x = std::os::unix::io::RawFd::default();",
        ];
        for case in cases {
            let found = lines(&format!("\n{case}"));
            assert!(
                !found.is_empty() && found.iter().all(|&l| l == 2),
                "{case}: {found:?}"
            );
        }
    }

    #[test]
    fn ordinary_code_passes() {
        let source = r#"
            //! Uses std::fs in a comment, and "std::fs" in a string.
            use std::collections::HashMap;
            use std::{io::Write, sync::Arc};
            #[allow(clippy::too_many_arguments)]
            fn f<'a>(env: &'a str, path: &str) -> &'a str {
                let path = path.len();
                let _ = path;
                let r#unsafe = 1;
                let _ = r#unsafe;
                println!("unsafe extern std::env");
                env
            }
        "#;
        assert_eq!(scan("lib.rs", source), []);
    }
}
