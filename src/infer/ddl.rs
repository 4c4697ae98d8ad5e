//! The `CREATE TABLE` of an inference, the warnings before a load, and the hint after a
//! conversion error.

use super::{InferOptions, Inferred, InferredColumn, MAX_IDENT_BYTES};
use crate::sql::{quote_ident, QualifiedName};
use crate::{Error, Result};

/// The column a user named: exact match first, else the one case-insensitive match (as
/// `Table::map_columns` maps headers).
fn resolve(name: &str, cols: &[InferredColumn]) -> Option<usize> {
    crate::table::resolve_name(name, cols.iter().map(|c| c.name.as_str()))
}

fn column_list(cols: &[InferredColumn]) -> String {
    cols.iter()
        .map(|c| format!("{:?}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves the names given to `flag`, each once.
fn resolve_all(flag: &str, names: &[String], cols: &[InferredColumn]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let i = resolve(n, cols).ok_or_else(|| {
            Error::usage(format!(
                "{flag}: {n:?} is not a column of the file (its columns: {})",
                column_list(cols)
            ))
        })?;
        if out.contains(&i) {
            return Err(Error::usage(format!(
                "{flag}: column {:?} is named twice",
                cols[i].name
            )));
        }
        out.push(i);
    }
    Ok(out)
}

/// Header names that would make a broken or different table are refused up front.
fn check_names(cols: &[InferredColumn]) -> Result<()> {
    if cols.is_empty() {
        return Err(Error::schema("no columns to create a table with"));
    }
    let fix = "rename it in the file's header or pass --columns";
    for (i, c) in cols.iter().enumerate() {
        let what = format!("column {} of the header", i + 1);
        if c.name.is_empty() {
            return Err(Error::schema(format!("{what} has no name; {fix}")));
        }
        if c.name.contains('\0') {
            return Err(Error::schema(format!("{what} contains a NUL byte; {fix}")));
        }
        if c.name.len() > MAX_IDENT_BYTES {
            return Err(Error::schema(format!(
                "{what} ({:?}) is longer than {MAX_IDENT_BYTES} bytes, which PostgreSQL would truncate; {fix}",
                c.name
            )));
        }
        if cols[..i].iter().any(|p| p.name == c.name) {
            return Err(Error::schema(format!(
                "{what} repeats the name {:?}; {fix}",
                c.name
            )));
        }
    }
    Ok(())
}

/// The `CREATE TABLE` statement (with a trailing `;`, ready for a file) for `table` as the
/// user wrote it (`t`, `s.t`, `"My T"`). Every identifier is quoted, so header names are
/// kept exactly as written; columns in `opts.not_null` get `NOT NULL`, and
/// `opts.primary_key` becomes the `PRIMARY KEY`. Unknown names in either are a usage
/// error that lists the file's columns.
pub fn create_table_sql(table: &str, inferred: &Inferred, opts: &InferOptions) -> Result<String> {
    let name = QualifiedName::parse(table)?;
    let cols = &inferred.columns;
    check_names(cols)?;
    let pk = resolve_all("--primary-key", &opts.primary_key, cols)?;
    let not_null = resolve_all("--not-null", &opts.not_null, cols)?;
    let mut lines: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let nn = if not_null.contains(&i) {
                " NOT NULL"
            } else {
                ""
            };
            format!("    {} {}{nn}", quote_ident(&c.name), c.type_name)
        })
        .collect();
    if !pk.is_empty() {
        let key: Vec<String> = pk.iter().map(|&i| quote_ident(&cols[i].name)).collect();
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE {name} (\n{}\n);\n",
        lines.join(",\n")
    ))
}

/// Notes worth printing before a load: columns declared `NOT NULL` or part of the key
/// whose sample already holds NULLs, so those rows will fail; columns whose dates were
/// left text ([`Inferred::notes`]). Names that do not resolve
/// are left to [`create_table_sql`] to report.
pub fn warnings(inferred: &Inferred, opts: &InferOptions) -> Vec<String> {
    let cols = &inferred.columns;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let named = opts
        .primary_key
        .iter()
        .map(|n| (n, "is in the primary key"))
        .chain(opts.not_null.iter().map(|n| (n, "is declared NOT NULL")));
    for (n, why) in named {
        let Some(i) = resolve(n, cols) else { continue };
        if seen.contains(&i) || cols[i].nulls == 0 {
            continue;
        }
        seen.push(i);
        out.push(format!(
            "column {:?} {why} but {} of the {} sampled rows have NULL there; those rows will fail",
            cols[i].name, cols[i].nulls, inferred.rows_sampled
        ));
    }
    out.extend(inferred.notes.iter().cloned());
    out
}

/// Quotes a path for the shell when it needs it, for a command the user can paste.
fn shell_word(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./+:@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What the loader appends to a conversion error in a table this run created by
/// inference: where the type came from and how to get a better one.
pub fn hint(type_name: &str, inferred: &Inferred, file: &str) -> String {
    let edit = format!(
        "edit the schema (chunkload schema {} > t.sql), create the table from it and load again",
        shell_word(file)
    );
    if inferred.whole_input {
        format!(
            "the type {type_name} was inferred from all {} rows of the file; {edit}",
            inferred.rows_sampled
        )
    } else {
        format!(
            "the type {type_name} was inferred from the first {} rows; pass --infer-rows all or {edit}",
            inferred.rows_sampled + inferred.rows_skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::strings;
    use super::*;
    use crate::ErrorKind;

    fn inferred(cols: &[(&str, &'static str, u64)]) -> Inferred {
        Inferred {
            columns: cols
                .iter()
                .map(|&(n, t, nulls)| InferredColumn {
                    name: n.to_string(),
                    type_name: t,
                    nulls,
                    non_null: 10 - nulls,
                })
                .collect(),
            rows_sampled: 10,
            rows_skipped: 0,
            whole_input: false,
            renamed: Vec::new(),
            date_order: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn create_table_quotes_odd_names_and_declares_keys() {
        let inf = inferred(&[
            ("id", "int8", 0),
            ("Cost Total $", "numeric", 0),
            ("select", "bool", 2),
            ("a\"b", "text", 0),
        ]);
        let o = InferOptions {
            primary_key: strings(&["ID"]),
            not_null: strings(&["cost total $", "a\"b"]),
            ..InferOptions::default()
        };
        let sql = create_table_sql("Sales.\"My T\"", &inf, &o).unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE \"sales\".\"My T\" (\n    \"id\" int8,\n    \"Cost Total $\" numeric NOT NULL,\n    \"select\" bool,\n    \"a\"\"b\" text NOT NULL,\n    PRIMARY KEY (\"id\")\n);\n"
        );
        let plain = create_table_sql("t", &inf, &InferOptions::default()).unwrap();
        assert!(!plain.contains("PRIMARY KEY"), "{plain}");
        assert!(!plain.contains("NOT NULL"), "{plain}");
        let o = InferOptions {
            primary_key: strings(&["a\"b", "id"]),
            ..InferOptions::default()
        };
        let sql = create_table_sql("t", &inf, &o).unwrap();
        assert!(sql.contains("PRIMARY KEY (\"a\"\"b\", \"id\")"), "{sql}");
    }

    #[test]
    fn unknown_key_or_not_null_columns_list_the_header() {
        let inf = inferred(&[("id", "int8", 0), ("name", "text", 0)]);
        let o = InferOptions {
            primary_key: strings(&["idx"]),
            ..InferOptions::default()
        };
        let e = create_table_sql("t", &inf, &o).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)));
        assert_eq!(
            e.to_string(),
            "--primary-key: \"idx\" is not a column of the file (its columns: \"id\", \"name\")"
        );
        let o = InferOptions {
            not_null: strings(&["name", "NAME"]),
            ..InferOptions::default()
        };
        let e = create_table_sql("t", &inf, &o).unwrap_err();
        assert!(e.to_string().contains("named twice"), "{e}");
        // Ambiguous case-insensitive names need the exact spelling.
        let inf = inferred(&[("Ab", "int8", 0), ("aB", "text", 0)]);
        let o = InferOptions {
            primary_key: strings(&["ab"]),
            ..InferOptions::default()
        };
        assert!(create_table_sql("t", &inf, &o).is_err());
        let o = InferOptions {
            primary_key: strings(&["aB"]),
            ..InferOptions::default()
        };
        assert!(create_table_sql("t", &inf, &o)
            .unwrap()
            .contains("PRIMARY KEY (\"aB\")"));
    }

    #[test]
    fn bad_header_names_and_table_names_are_refused() {
        let d = InferOptions::default();
        for (cols, want) in [
            (vec![("", "int8", 0)], "has no name"),
            (vec![("a", "int8", 0), ("a", "text", 0)], "repeats the name"),
            (vec![("x\0y", "int8", 0)], "NUL"),
        ] {
            let e = create_table_sql("t", &inferred(&cols), &d).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        }
        let long = "x".repeat(64);
        let e = create_table_sql("t", &inferred(&[(&long, "text", 0)]), &d).unwrap_err();
        assert!(e.to_string().contains("longer than 63 bytes"), "{e}");
        let ok = "x".repeat(63);
        assert!(create_table_sql("t", &inferred(&[(&ok, "text", 0)]), &d).is_ok());
        let e = create_table_sql("a.b.c", &inferred(&[("a", "text", 0)]), &d).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{e}");
    }

    #[test]
    fn warnings_name_constrained_columns_with_sampled_nulls() {
        let inf = inferred(&[("id", "int8", 0), ("x", "text", 3), ("y", "text", 1)]);
        let o = InferOptions {
            primary_key: strings(&["id", "x"]),
            not_null: strings(&["X", "y", "missing"]),
            ..InferOptions::default()
        };
        assert_eq!(
            warnings(&inf, &o),
            vec![
                "column \"x\" is in the primary key but 3 of the 10 sampled rows have NULL there; those rows will fail".to_string(),
                "column \"y\" is declared NOT NULL but 1 of the 10 sampled rows have NULL there; those rows will fail".to_string(),
            ]
        );
    }

    #[test]
    fn hint_says_where_the_type_came_from_and_what_to_do() {
        let mut inf = inferred(&[("id", "int8", 0)]);
        inf.rows_sampled = 10_000;
        assert_eq!(
            hint("int8", &inf, "data/in.csv"),
            "the type int8 was inferred from the first 10000 rows; pass --infer-rows all or edit the schema (chunkload schema data/in.csv > t.sql), create the table from it and load again"
        );
        inf.whole_input = true;
        let h = hint("date", &inf, "my file's.csv");
        assert!(
            h.starts_with("the type date was inferred from all 10000 rows"),
            "{h}"
        );
        assert!(
            h.contains("chunkload schema 'my file'\\''s.csv' > t.sql"),
            "{h}"
        );
        assert!(!h.contains("--infer-rows"), "{h}");
    }
}
