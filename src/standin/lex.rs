//! A SQL lexer just good enough to judge statements: PostgreSQL's lexical rules for
//! comments, strings (standard, `E''`, dollar-quoted), quoted identifiers, parameters
//! and operators, so that nothing inside a literal is ever mistaken for syntax.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A keyword or an unquoted identifier.
    Word,
    /// A `"quoted"` identifier.
    Quoted,
    /// A string literal of any form.
    Str,
    /// A number.
    Num,
    /// `$1`.
    Param,
    /// `(`, `)`, `,`, `;`, `.`, `[`, `]`.
    Punct,
    /// An operator (`=`, `::`, `=>`, ...).
    Op,
}

/// One token and where it sits in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok<'a> {
    /// What it is.
    pub kind: Kind,
    /// Its text, as written.
    pub text: &'a str,
    /// Byte offset of its start.
    pub start: usize,
}

impl Tok<'_> {
    /// Whether this is the keyword `kw` (any case).
    pub fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// Whether this is the punctuation or operator `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(self.kind, Kind::Punct | Kind::Op) && self.text == p
    }

    /// An identifier's name as the server folds it: unquoted lower-cased, quoted as is.
    pub fn ident(&self) -> String {
        match self.kind {
            Kind::Quoted => self.text[1..self.text.len() - 1].replace("\"\"", "\""),
            _ => self.text.to_ascii_lowercase(),
        }
    }
}

const OP_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?:";

/// The tokens of `sql`; comments and white space are dropped. Unterminated literals run to
/// the end (the server will refuse them itself).
pub fn tokens(sql: &str) -> Vec<Tok<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(b, i);
                continue;
            }
            b'\'' => {
                i = quoted_end(b, i + 1, b'\'', false);
                Kind::Str
            }
            b'e' | b'E' if b.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(b, i + 2, b'\'', true);
                Kind::Str
            }
            b'"' => {
                i = quoted_end(b, i + 1, b'"', false);
                Kind::Quoted
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                Kind::Param
            }
            b'$' => match dollar_tag(b, i) {
                Some(tag_end) => {
                    let tag = &sql[i..tag_end];
                    i = sql[tag_end..]
                        .find(tag)
                        .map_or(b.len(), |n| tag_end + n + tag.len());
                    Kind::Str
                }
                None => {
                    i += 1;
                    Kind::Op
                }
            },
            _ if c.is_ascii_digit() => {
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
                {
                    i += 1;
                }
                Kind::Num
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while b.get(i).is_some_and(|c| {
                    c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c >= 0x80
                }) {
                    i += 1;
                }
                Kind::Word
            }
            b'(' | b')' | b',' | b';' | b'.' | b'[' | b']' => {
                i += 1;
                Kind::Punct
            }
            _ if OP_CHARS.contains(&c) => {
                while b.get(i).is_some_and(|c| OP_CHARS.contains(c)) {
                    i += 1;
                }
                Kind::Op
            }
            _ => {
                i += 1;
                Kind::Op
            }
        };
        out.push(Tok {
            kind,
            text: &sql[start..i],
            start,
        });
    }
    out
}

fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// End (exclusive) of a literal quoted by `q` whose body starts at `i`; a doubled quote
/// is the quote itself; with `backslash`, `\x` escapes too.
fn quoted_end(b: &[u8], mut i: usize, q: u8, backslash: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// End of a `$tag$` opening at `i`, when it is one.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

/// The statements of a simple query, split at top-level semicolons, trimmed, empty ones
/// dropped.
pub fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    for t in tokens(sql) {
        if t.is_punct(";") {
            out.push(sql[from..t.start].trim());
            from = t.start + 1;
        }
    }
    out.push(sql[from..].trim());
    out.retain(|s| !tokens(s).is_empty());
    out
}

/// `sql` with runs of white space made one space and comments dropped: the shape the
/// reviewed list matches.
pub fn normalise(sql: &str) -> String {
    let toks = tokens(sql);
    let mut out = String::with_capacity(sql.len());
    for (n, t) in toks.iter().enumerate() {
        if n > 0 {
            let prev = &toks[n - 1];
            let glued = prev.is_punct(".")
                || t.is_punct(".")
                || t.is_punct(",")
                || t.is_punct(")")
                || prev.is_punct("(")
                || t.is_punct("::")
                || prev.is_punct("::")
                || (t.is_punct("(") && matches!(prev.kind, Kind::Word | Kind::Quoted));
            if !glued {
                out.push(' ');
            }
        }
        out.push_str(t.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokens(sql).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn literals_hide_what_looks_like_syntax() {
        let t = kinds("SELECT 'a => b; --', E'x\\'; y', $q$ ; => $q$, \"semi;colon\" -- c;\n/* ; /* => */ */ $1");
        assert_eq!(
            t,
            vec![
                (Kind::Word, "SELECT"),
                (Kind::Str, "'a => b; --'"),
                (Kind::Punct, ","),
                (Kind::Str, "E'x\\'; y'"),
                (Kind::Punct, ","),
                (Kind::Str, "$q$ ; => $q$"),
                (Kind::Punct, ","),
                (Kind::Quoted, "\"semi;colon\""),
                (Kind::Param, "$1"),
            ]
        );
    }

    #[test]
    fn operators_and_statements() {
        assert!(kinds("f(x => 1)").contains(&(Kind::Op, "=>")));
        assert!(kinds("a::int8").contains(&(Kind::Op, "::")));
        assert_eq!(
            statements("BEGIN; SAVEPOINT cockroach_restart;  ; SELECT ';'"),
            vec!["BEGIN", "SAVEPOINT cockroach_restart", "SELECT ';'"]
        );
        assert_eq!(
            normalise("SELECT  a.b ,\n f( x )::int8 -- c\n FROM t"),
            "SELECT a.b, f(x)::int8 FROM t"
        );
    }

    #[test]
    fn identifiers_fold_as_the_server_folds_them() {
        let t = tokens("Accounts \"Cost \"\"Total\"\"\"");
        assert_eq!(t[0].ident(), "accounts");
        assert_eq!(t[1].ident(), "Cost \"Total\"");
    }
}
