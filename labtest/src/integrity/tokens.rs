//! Rust source as a list of tokens with their lines, for the integrity
//! scanner: identifiers and punctuation are kept, comments are dropped, and
//! string, character and number literals become opaque literals.
//!
//! It is no parser: it must never be trusted to say what code means, only
//! which words and symbols stand where (and it never executes anything).

/// One token and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub line: usize,
    pub kind: Kind,
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// An identifier or keyword; `raw` for `r#name`.
    Ident { name: String, raw: bool },
    /// One punctuation character.
    Punct(char),
    /// A string, character or number literal.
    Literal,
    /// A lifetime or loop label (`'a`).
    Lifetime,
}

/// The tokens of `source`.
pub fn tokenize(source: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        at: 0,
        line: 1,
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: usize,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// Moves past one character, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == Some('\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    fn push(&mut self, line: usize, kind: Kind) {
        self.out.push(Token { line, kind });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            match c {
                _ if c.is_whitespace() => self.bump(),
                '/' if self.peek(1) == Some('/') => self.skip_line(),
                '/' if self.peek(1) == Some('*') => self.skip_block_comment(),
                '"' => {
                    self.skip_string(0);
                    self.push(line, Kind::Literal);
                }
                '\'' => self.quote(line),
                _ if c.is_alphanumeric() || c == '_' => self.word(line),
                _ => {
                    self.bump();
                    self.push(line, Kind::Punct(c));
                }
            }
        }
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// Block comments nest in Rust.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            if c == '/' && self.peek(1) == Some('*') {
                depth += 1;
                self.bump();
            } else if c == '*' && self.peek(1) == Some('/') {
                depth -= 1;
                self.bump();
                if depth == 0 {
                    self.bump();
                    return;
                }
            }
            self.bump();
        }
    }

    /// A string from its opening quote; `hashes` > 0 for a raw string
    /// (`r#"..."#`), where backslashes do not escape.
    fn skip_string(&mut self, hashes: usize) {
        self.bump();
        while let Some(c) = self.peek(0) {
            if c == '\\' && hashes == 0 {
                self.bump();
                self.bump();
                continue;
            }
            self.bump();
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                (0..hashes).for_each(|_| self.bump());
                return;
            }
        }
    }

    /// A character literal or a lifetime, from its quote.
    fn quote(&mut self, line: usize) {
        let is_char = matches!(
            (self.peek(1), self.peek(2)),
            (Some('\\'), _) | (Some(_), Some('\''))
        );
        self.bump();
        if !is_char {
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.bump();
            }
            self.push(line, Kind::Lifetime);
            return;
        }
        if self.peek(0) == Some('\\') {
            self.bump();
        }
        self.bump();
        while self.peek(0).is_some_and(|c| c != '\'') {
            self.bump();
        }
        self.bump();
        self.push(line, Kind::Literal);
    }

    /// An identifier, keyword, number, or a prefixed literal (`b"..."`,
    /// `r#"..."#`, `b'x'`, `c"..."`) or raw identifier (`r#name`).
    fn word(&mut self, line: usize) {
        let start = self.at;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let word: String = self.chars[start..self.at].iter().collect();
        let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
        match self.peek(0) {
            Some('"') if matches!(word.as_str(), "b" | "c") || raw_prefix => {
                self.skip_string(usize::from(raw_prefix));
                self.push(line, Kind::Literal);
            }
            Some('\'') if word == "b" => self.quote(line),
            Some('#') if raw_prefix => self.raw_string_or_ident(line, &word),
            _ if word.starts_with(|c: char| c.is_ascii_digit()) => self.push(line, Kind::Literal),
            _ => self.push(
                line,
                Kind::Ident {
                    name: word,
                    raw: false,
                },
            ),
        }
    }

    /// After `r#` (or `br#`, `cr#`): a raw string `r#"..."#` or a raw
    /// identifier `r#name`.
    fn raw_string_or_ident(&mut self, line: usize, prefix: &str) {
        let hashes = (0..).take_while(|&i| self.peek(i) == Some('#')).count();
        if self.peek(hashes) == Some('"') {
            (0..hashes - 1).for_each(|_| self.bump());
            self.bump();
            self.skip_string(hashes);
            self.push(line, Kind::Literal);
        } else if prefix == "r" && hashes == 1 {
            self.bump();
            let start = self.at;
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.bump();
            }
            let name = self.chars[start..self.at].iter().collect();
            self.push(line, Kind::Ident { name, raw: true });
        } else {
            self.push(
                line,
                Kind::Ident {
                    name: prefix.to_string(),
                    raw: false,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(source: &str) -> Vec<(usize, String)> {
        tokenize(source)
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Ident { name, .. } => Some((t.line, name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_strings_and_chars_hide_their_words() {
        let source = "// std::fs\n/* a /* nested std::fs */ still */ x\n\"std::fs \\\" fs\" \
                      r#\"fs \" fs\"# b\"fs\" 'f' '\\'' b'f' y";
        assert_eq!(idents(source), [(2, "x".into()), (3, "y".into())]);
    }

    #[test]
    fn lifetimes_raw_identifiers_and_lines() {
        let toks = tokenize("fn f<'a>(x: &'a str)\n{ r#std::fs }");
        assert!(toks.iter().any(|t| t.kind == Kind::Lifetime));
        assert!(toks.contains(&Token {
            line: 2,
            kind: Kind::Ident {
                name: "std".into(),
                raw: true
            }
        }));
        assert_eq!(idents("'static x").len(), 1, "'static is a lifetime");
    }
}
