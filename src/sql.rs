//! SQL identifiers and literals: the one place that quotes names and strings into SQL
//! text, and parses the table names users type.

use std::fmt;

use crate::{Error, Result};

/// Always double-quotes, doubling embedded quotes, so any name (reserved words, spaces,
/// capitals) is taken literally. NUL cannot occur in a SQL identifier and is dropped;
/// [`QualifiedName::parse`] rejects it up front.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\"\""),
            '\0' => {}
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Appends `names` quoted and comma-separated, as in a column list.
pub fn push_ident_list<'a>(s: &mut String, names: impl Iterator<Item = &'a str>) {
    for (i, n) in names.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&quote_ident(n));
    }
}

/// A table name with optional schema, as given by the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// The schema, unquoted; `None` uses the search path.
    pub schema: Option<String>,
    /// The table, unquoted.
    pub name: String,
}

impl QualifiedName {
    /// Parses `table`, `schema.table`, `"my.schema"."Tab"` like SQL does: unquoted parts
    /// are folded to lower case, quoted parts are taken literally (`""` is a quote).
    pub fn parse(s: &str) -> crate::Result<QualifiedName> {
        let bad = |why: &str| Error::usage(format!("invalid table name {s:?}: {why}"));
        if s.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let mut parts = Vec::new();
        let mut it = s.trim().chars().peekable();
        loop {
            let mut part = String::new();
            if it.peek() == Some(&'"') {
                it.next();
                loop {
                    match it.next() {
                        Some('"') if it.peek() == Some(&'"') => {
                            it.next();
                            part.push('"');
                        }
                        Some('"') => break,
                        Some(c) => part.push(c),
                        None => return Err(bad("unterminated quoted identifier")),
                    }
                }
            } else {
                while let Some(&c) = it.peek() {
                    if c == '.' || c == '"' {
                        break;
                    }
                    if c.is_whitespace() {
                        return Err(bad("unquoted names cannot contain spaces"));
                    }
                    part.push(c.to_ascii_lowercase());
                    it.next();
                }
            }
            if part.is_empty() {
                return Err(bad("empty name part"));
            }
            parts.push(part);
            match it.next() {
                None => break,
                Some('.') => continue,
                Some(_) => return Err(bad("expected '.' between name parts")),
            }
        }
        match parts.len() {
            1 => Ok(QualifiedName {
                schema: None,
                name: parts.pop().unwrap_or_default(),
            }),
            2 => {
                let name = parts.pop().unwrap_or_default();
                Ok(QualifiedName {
                    schema: parts.pop(),
                    name,
                })
            }
            _ => Err(bad("use table or schema.table")),
        }
    }

    /// Like [`parse`](Self::parse), but each dot-separated part is kept exactly as typed
    /// (no case folding), to find a table whose stored name has that spelling.
    pub fn parse_exact(s: &str) -> crate::Result<QualifiedName> {
        let quoted: Vec<String> = s.split('.').map(quote_ident).collect();
        QualifiedName::parse(&quoted.join("."))
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{}.", quote_ident(s))?;
        }
        f.write_str(&quote_ident(&self.name))
    }
}

/// Quotes a possibly schema-qualified table name (`schema.table`, `db.schema.table`): each
/// dot-separated part is quoted on its own. A name whose parts are already double-quoted
/// (`"my.schema"."t"`) is split at the dots outside the quotes. Unlike [`QualifiedName`]
/// it takes a database part too, as `IMPORT INTO` names tables.
pub fn quote_table(name: &str) -> Result<String> {
    let parts = split_qualified(name)?;
    Ok(parts
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join("."))
}

/// Splits `a.b."c.d"` into `["a", "b", "c.d"]`, undoubling `""` inside quoted parts.
/// Unquoted parts fold to lower case, as SQL (and `chunkload load --table`) reads them.
pub(crate) fn split_qualified(name: &str) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = name.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted_part => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cur.push('"');
                        }
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => {
                            return Err(Error::usage(format!(
                                "table name {name:?} has an unterminated quoted part"
                            )))
                        }
                    }
                }
            }
            '.' => {
                if cur.is_empty() && !quoted_part {
                    return Err(Error::usage(format!(
                        "table name {name:?} has an empty part"
                    )));
                }
                let part = std::mem::take(&mut cur);
                parts.push(if quoted_part {
                    part
                } else {
                    part.to_lowercase()
                });
                quoted_part = false;
            }
            c if quoted_part => {
                return Err(Error::usage(format!(
                    "table name {name:?}: unexpected {c:?} after a quoted part"
                )))
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() && !quoted_part {
        return Err(Error::usage(format!(
            "table name {name:?} is empty or ends with a dot"
        )));
    }
    parts.push(if quoted_part { cur } else { cur.to_lowercase() });
    Ok(parts)
}

/// Quotes a string literal for CockroachDB and PostgreSQL. Plain text uses standard
/// single quotes with `''` doubling (backslashes stay literal); text with control
/// characters (a tab delimiter) uses an escape string `e'\t'`, since a raw tab or newline
/// in SQL text is easy to mangle in a terminal or an editor.
pub fn quote_literal(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from("e'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn identifiers_are_quoted_and_parsed_like_sql() {
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("Cost Total $"), "\"Cost Total $\"");
        let q = |s: &str| QualifiedName::parse(s).unwrap();
        assert_eq!(
            q("Accounts"),
            QualifiedName {
                schema: None,
                name: "accounts".into()
            }
        );
        assert_eq!(
            q("\"my.schema\".\"Tab\""),
            QualifiedName {
                schema: Some("my.schema".into()),
                name: "Tab".into()
            }
        );
        assert_eq!(q("s.\"a\"\"b\"").name, "a\"b");
        assert_eq!(
            q("\"my.schema\".\"Tab\"").to_string(),
            "\"my.schema\".\"Tab\""
        );
        assert_eq!(q("t").to_string(), "\"t\"");
        assert_eq!(
            QualifiedName::parse_exact("Sales.Orders").unwrap(),
            QualifiedName {
                schema: Some("Sales".into()),
                name: "Orders".into()
            }
        );
        for bad in ["", "a.b.c", "\"open", "a..b", "a.", "\"a\"b", "a b", "a\0b"] {
            let e = QualifiedName::parse(bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_double_embedded_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("it's"), "\"it's\"");
        assert_eq!(quote_table("public.t").unwrap(), "\"public\".\"t\"");
        assert_eq!(
            quote_table("Sales.Orders").unwrap(),
            "\"sales\".\"orders\"",
            "unquoted parts fold"
        );
        assert_eq!(
            quote_table("\"Sales\".Orders").unwrap(),
            "\"Sales\".\"orders\""
        );
        assert_eq!(
            quote_table("\"my.schema\".\"a\"\"b\"").unwrap(),
            "\"my.schema\".\"a\"\"b\""
        );
        assert!(quote_table("a..b").is_err());
        assert!(quote_table("").is_err());
        assert!(quote_table("t.").is_err());
        assert!(quote_table("\"open").is_err());
    }

    #[test]
    fn literals_double_quotes_and_escape_control_chars() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "'a\\b'");
        assert_eq!(quote_literal("\t"), "e'\\t'");
        assert_eq!(quote_literal("\t'\\"), "e'\\t\\'\\\\'");
        assert_eq!(quote_literal("\u{1}"), "e'\\x01'");
        assert_eq!(quote_literal(""), "''");
    }
}
