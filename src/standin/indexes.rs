//! CockroachDB's index statements, which PostgreSQL lacks or spells otherwise: the stand-in
//! answers `SHOW CREATE TABLE` from PostgreSQL's catalog in CockroachDB's format, and
//! translates `DROP INDEX table@index` and `CREATE INDEX … STORING (…)` for PostgreSQL, so
//! that `--defer-indexes` on CockroachDB runs end to end.
//!
//! The format is CockroachDB's `SHOW CREATE TABLE` (docs "SHOW CREATE", movr's tables;
//! `pkg/sql/show_create.go`, the index lines by `catformat.IndexForDisplay`): one element
//! a line, each indented by a tab (four spaces below), in the order columns, primary key,
//! foreign keys, secondary indexes, checks:
//!
//! ```text
//! CREATE TABLE public.t (
//!     id INT8 NOT NULL,
//!     v STRING NULL,
//!     CONSTRAINT t_pkey PRIMARY KEY (id ASC),
//!     INDEX t_v_idx (v ASC) STORING (w),
//!     UNIQUE INDEX t_u_key (u DESC) WHERE u > 0
//! )
//! ```
//!
//! Types take CockroachDB's names (`INT8`, `STRING`, `DECIMAL(10,2)`), nullable columns say
//! `NULL`, names are quoted only where CockroachDB quotes them. Expressions (defaults,
//! predicates, checks) are PostgreSQL's deparsed text, without CockroachDB's `:::TYPE`
//! annotations. What PostgreSQL cannot hold, the stand-in cannot show: hash-sharded,
//! invisible, vector and partitioned indexes are refused when created.

use super::lex;
use super::rules::Refusal;
use crate::sql::{quote_ident, quote_literal};
use postgres::Client;

fn refusal(code: &str, message: String, source: &'static str) -> Refusal {
    Refusal {
        code: code.to_string(),
        message,
        source,
    }
}

/// CockroachDB's reserved keywords (`sql.y`, `reserved_keyword`): a name that is one of
/// them is printed quoted.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "concurrently",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "nothing",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// A name as CockroachDB prints it (`lexbase.EncodeRestrictedSQLIdent`): bare when it is
/// a lower-case identifier and not reserved, else double-quoted.
pub(super) fn crdb_ident(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match bare && !RESERVED.contains(&name) {
        true => name.to_string(),
        false => quote_ident(name),
    }
}

/// PostgreSQL's `format_type` text as CockroachDB names the type (docs "Data types":
/// INT8/INT4/INT2, STRING, BOOL, DECIMAL, FLOAT8/FLOAT4, BYTES, TIMESTAMP(TZ), JSONB).
pub(super) fn crdb_type(pg: &str) -> String {
    if let Some(elem) = pg.strip_suffix("[]") {
        return format!("{}[]", crdb_type(elem));
    }
    let (base, modifier) = match pg.find('(') {
        Some(p) => {
            let close = pg[p..].find(')').map_or(pg.len(), |c| p + c + 1);
            (
                format!("{}{}", &pg[..p], &pg[close..]),
                pg[p..close].replace(' ', ""),
            )
        }
        None => (pg.to_string(), String::new()),
    };
    let name = match base.trim() {
        "bigint" => "INT8",
        "integer" => "INT4",
        "smallint" => "INT2",
        "text" => "STRING",
        "character varying" => "VARCHAR",
        "character" => "CHAR",
        "boolean" => "BOOL",
        "numeric" => "DECIMAL",
        "double precision" => "FLOAT8",
        "real" => "FLOAT4",
        "bytea" => "BYTES",
        "json" | "jsonb" => "JSONB",
        "timestamp without time zone" => "TIMESTAMP",
        "timestamp with time zone" => "TIMESTAMPTZ",
        "time without time zone" => "TIME",
        "time with time zone" => "TIMETZ",
        other => return format!("{}{modifier}", other.to_uppercase()),
    };
    format!("{name}{modifier}")
}

/// One column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    pub(super) name: String,
    /// `format_type`'s text.
    pub(super) pg_type: String,
    pub(super) not_null: bool,
    pub(super) default: Option<String>,
    /// A stored generated column's expression.
    pub(super) generated: Option<String>,
}

/// One index of the table (the primary key's included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Index {
    pub(super) name: String,
    pub(super) unique: bool,
    /// A GIN or GiST index: CockroachDB's INVERTED INDEX.
    pub(super) inverted: bool,
    /// Key elements: a plain column's name (`Ok`) or an expression's text (`Err`), and
    /// whether it sorts descending.
    pub(super) keys: Vec<(Result<String, String>, bool)>,
    pub(super) storing: Vec<String>,
    pub(super) predicate: Option<String>,
}

impl Index {
    fn keys_sql(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, desc)| {
                let k = match k {
                    Ok(name) => crdb_ident(name),
                    Err(expr) => expr.clone(),
                };
                match (self.inverted, desc) {
                    (true, _) => k,
                    (false, true) => format!("{k} DESC"),
                    (false, false) => format!("{k} ASC"),
                }
            })
            .collect();
        keys.join(", ")
    }

    /// The index's line of the table body (`catformat.IndexForDisplay`'s clause order:
    /// key list, STORING, WHERE).
    fn line(&self) -> String {
        let kind = match (self.unique, self.inverted) {
            (true, _) => "UNIQUE INDEX",
            (false, true) => "INVERTED INDEX",
            (false, false) => "INDEX",
        };
        let mut s = format!("{kind} {} ({})", crdb_ident(&self.name), self.keys_sql());
        if !self.storing.is_empty() {
            let names: Vec<String> = self.storing.iter().map(|n| crdb_ident(n)).collect();
            s.push_str(&format!(" STORING ({})", names.join(", ")));
        }
        if let Some(p) = &self.predicate {
            s.push_str(&format!(" WHERE {}", unwrap_parens(p)));
        }
        s
    }
}

/// The hidden `rowid` key CockroachDB gives a table without a primary key (the stand-in
/// adds it: [`super::rules::rewrite`]).
fn hidden(c: &Column) -> bool {
    c.name == "rowid"
        && c.default
            .as_deref()
            .is_some_and(|d| d.contains("unique_rowid()"))
}

/// The `create_statement` of a table.
pub(super) fn format(
    schema: &str,
    table: &str,
    columns: &[Column],
    primary: Option<&Index>,
    indexes: &[Index],
    constraints: &[(String, String)],
) -> String {
    let mut lines = Vec::new();
    for c in columns {
        let mut s = format!("{} {}", crdb_ident(&c.name), crdb_type(&c.pg_type));
        if hidden(c) {
            s.push_str(" NOT VISIBLE");
        }
        s.push_str(if c.not_null { " NOT NULL" } else { " NULL" });
        if let Some(d) = &c.default {
            s.push_str(&format!(" DEFAULT {}", d.replace("crdb_compat.", "")));
        }
        if let Some(g) = &c.generated {
            s.push_str(&format!(" AS ({}) STORED", unwrap_parens(g)));
        }
        lines.push(s);
    }
    if let Some(pk) = primary {
        lines.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            crdb_ident(&pk.name),
            pk.keys_sql()
        ));
    }
    let (fks, checks): (Vec<_>, Vec<_>) = constraints
        .iter()
        .partition(|(_, def)| def.starts_with("FOREIGN KEY"));
    for (name, def) in &fks {
        lines.push(format!("CONSTRAINT {} {def}", crdb_ident(name)));
    }
    lines.extend(indexes.iter().map(Index::line));
    for (name, def) in &checks {
        lines.push(format!("CONSTRAINT {} {def}", crdb_ident(name)));
    }
    format!(
        "CREATE TABLE {}.{} (\n\t{}\n)",
        crdb_ident(schema),
        crdb_ident(table),
        lines.join(",\n\t")
    )
}

/// `(a > 0)` → `a > 0`, when the outer parentheses enclose the whole text.
fn unwrap_parens(s: &str) -> &str {
    let t = s.trim();
    if !(t.starts_with('(') && t.ends_with(')')) {
        return t;
    }
    let toks = lex::tokens(t);
    let mut depth = 0;
    for (i, tok) in toks.iter().enumerate() {
        if tok.is_punct("(") {
            depth += 1;
        } else if tok.is_punct(")") {
            depth -= 1;
            if depth == 0 && i + 1 < toks.len() {
                return t; // `(a) AND (b)`
            }
        }
    }
    t[1..t.len() - 1].trim()
}

/// `SHOW CREATE TABLE name` (or `SHOW CREATE name`): the query that answers it, with
/// CockroachDB's columns `table_name` and `create_statement`.
pub(super) fn show_create_table(c: &mut Client, name: &str) -> Result<String, Refusal> {
    let missing = || {
        refusal(
            "42P01",
            format!("relation \"{name}\" does not exist"),
            "docs SHOW CREATE",
        )
    };
    let failed = |e: postgres::Error| {
        refusal(
            "XX000",
            format!("stand-in: SHOW CREATE TABLE {name}: {e}"),
            "the stand-in itself",
        )
    };
    let row = c
        .query_opt(
            "SELECT c.oid, n.nspname::text, c.relname::text
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind IN ('r', 'p')",
            &[&name],
        )
        .map_err(failed)?
        .ok_or_else(missing)?;
    let (oid, schema, table): (u32, String, String) = (row.get(0), row.get(1), row.get(2));
    let columns = c
        .query(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) END,
                    CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) END
               FROM pg_catalog.pg_attribute a
               LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(failed)?
        .iter()
        .map(|r| Column {
            name: r.get(0),
            pg_type: r.get(1),
            not_null: r.get(2),
            default: r.get(3),
            generated: r.get(4),
        })
        .collect::<Vec<_>>();
    let mut primary = None;
    let mut indexes = Vec::new();
    for r in c
        .query(
            "SELECT x.relname::text, i.indisprimary, i.indisunique, am.amname IN ('gin', 'gist'),
                    i.indnkeyatts::int4,
                    array(SELECT CASE WHEN i.indkey[k - 1] = 0 THEN NULL ELSE
                                 (SELECT a.attname::text FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]) END
                            FROM generate_series(1, i.indnatts) k ORDER BY k),
                    array(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
                            FROM generate_series(1, i.indnatts) k ORDER BY k),
                    array(SELECT (i.indoption[k - 1] & 1) = 1
                            FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
                    pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)
               FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid
               JOIN pg_catalog.pg_am am ON am.oid = x.relam
              WHERE i.indrelid = $1
              ORDER BY i.indexrelid",
            &[&oid],
        )
        .map_err(failed)?
    {
        let n_keys = r.get::<_, i32>(4) as usize;
        let names: Vec<Option<String>> = r.get(5);
        let texts: Vec<String> = r.get(6);
        let desc: Vec<bool> = r.get(7);
        let element = |k: usize| names[k].clone().ok_or_else(|| texts[k].clone());
        let ix = Index {
            name: r.get(0),
            unique: r.get(2),
            inverted: r.get(3),
            keys: (0..n_keys)
                .map(|k| (element(k), desc.get(k).copied().unwrap_or(false)))
                .collect(),
            storing: (n_keys..names.len())
                .map(|k| element(k).unwrap_or_else(|e| e))
                .collect(),
            predicate: r.get(8),
        };
        match r.get::<_, bool>(1) {
            true => primary = Some(ix),
            false => indexes.push(ix),
        }
    }
    let constraints: Vec<(String, String)> = c
        .query(
            "SELECT conname::text, pg_catalog.pg_get_constraintdef(oid, true)
               FROM pg_catalog.pg_constraint
              WHERE conrelid = $1 AND contype IN ('f', 'c')
              ORDER BY contype DESC, conname",
            &[&oid],
        )
        .map_err(failed)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let text = format(
        &schema,
        &table,
        &columns,
        primary.as_ref(),
        &indexes,
        &constraints,
    );
    Ok(format!(
        "SELECT {} AS table_name, {} AS create_statement",
        quote_literal(&table),
        quote_literal(&text)
    ))
}

/// `DROP INDEX [IF EXISTS] table@index [CASCADE]` (docs "DROP INDEX") as PostgreSQL runs
/// it: `DROP INDEX schema.index`, or, for the index of a UNIQUE constraint (which
/// CockroachDB drops with CASCADE), `ALTER TABLE … DROP CONSTRAINT`. `None` when the
/// statement names no `table@index`.
pub(super) fn drop_index(c: &mut Client, stmt: &str) -> Option<Result<String, Refusal>> {
    let toks = lex::tokens(stmt);
    let at = toks.iter().position(|t| t.is_punct("@"))?;
    let index_tok = *toks.get(at + 1)?;
    let if_exists = toks.iter().take(at).any(|t| t.is("exists"));
    let from = toks
        .iter()
        .take(at)
        .rposition(|t| t.is("exists") || t.is("index"))?
        + 1;
    let table = stmt[toks.get(from)?.start..toks[at].start].trim();
    let index = index_tok.ident();
    let tail = &stmt[index_tok.start + index_tok.text.len()..];
    let cascade = if lex::tokens(tail).iter().any(|t| t.is("cascade")) {
        " CASCADE"
    } else {
        ""
    };
    let found = c.query_opt(
        "SELECT n.nspname::text,
                EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                         WHERE k.conindid = x.oid AND k.conrelid = i.indrelid)
           FROM pg_catalog.pg_index i
           JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = x.relnamespace
          WHERE i.indrelid = pg_catalog.to_regclass($1) AND x.relname = $2",
        &[&table, &index],
    );
    Some(match found {
        Ok(Some(r)) => {
            let (schema, constraint): (String, bool) = (r.get(0), r.get(1));
            Ok(match constraint {
                true => format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {}{cascade}",
                    quote_ident(&index)
                ),
                false => format!(
                    "DROP INDEX {}.{}{cascade}",
                    quote_ident(&schema),
                    quote_ident(&index)
                ),
            })
        }
        Ok(None) if if_exists => Ok("SELECT 1 WHERE false".into()),
        Ok(None) => Err(refusal(
            "42704",
            format!("index \"{index}\" does not exist"),
            "docs DROP INDEX",
        )),
        Err(e) => Err(refusal(
            "XX000",
            format!("stand-in: {stmt}: {e}"),
            "the stand-in itself",
        )),
    })
}

/// `CREATE [UNIQUE | INVERTED] INDEX name ON table (keys) [STORING (cols)] [WHERE p]` as
/// PostgreSQL runs it: `STORING`/`COVERING` become `INCLUDE` (docs "CREATE INDEX": STORING,
/// its aliases COVERING and INCLUDE), `INVERTED` becomes `USING gin`, CockroachDB's type
/// annotations `x:::INT8` casts. Hash-sharded, invisible, vector and partitioned indexes
/// are refused (PostgreSQL has none). `None` when the statement is no `CREATE … INDEX`.
pub(super) fn create_index(stmt: &str) -> Option<Result<String, Refusal>> {
    let toks = lex::tokens(stmt);
    if !toks.first()?.is("create") {
        return None;
    }
    let index_at = toks.iter().take(4).position(|t| t.is("index"))?;
    let cannot = |what: &str| {
        Some(Err(refusal(
            "0A000",
            format!("stand-in: PostgreSQL cannot hold {what}, so the stand-in cannot create it"),
            "the stand-in itself (README: what the stand-in still cannot show)",
        )))
    };
    if toks[..index_at].iter().any(|t| t.is("vector")) {
        return cannot("a VECTOR index");
    }
    for w in toks.windows(2) {
        if w[0].is("using") && w[1].is("hash") {
            return cannot("a hash-sharded index");
        }
        if w[0].is("not") && w[1].is("visible") {
            return cannot("a NOT VISIBLE index");
        }
        if w[0].is("partition") && w[1].is("by") {
            return cannot("a partitioned index");
        }
    }
    if toks.iter().any(|t| t.is("visibility")) {
        return cannot("a partly visible index");
    }
    let inverted = toks[..index_at].iter().position(|t| t.is("inverted"));
    let key_list = toks
        .iter()
        .position(|t| t.is_punct("("))
        .map(|i| toks[i].start);
    let mut out = String::with_capacity(stmt.len() + 16);
    let mut from = 0;
    for (i, t) in toks.iter().enumerate() {
        let replace = if Some(i) == inverted {
            Some(String::new())
        } else if Some(t.start) == key_list && inverted.is_some() {
            Some("USING gin (".into())
        } else if t.is("storing") || t.is("covering") {
            Some("INCLUDE".into())
        } else if t.is_punct(":::") {
            Some("::".into())
        } else if t.is("string") && i > 0 && matches!(toks[i - 1].text, "::" | ":::") {
            Some("text".into())
        } else {
            None
        };
        if let Some(r) = replace {
            out.push_str(&stmt[from..t.start]);
            out.push_str(&r);
            from = t.start + t.text.len();
            if r.is_empty() {
                // Drop the space after a removed word.
                from += stmt[from..].len() - stmt[from..].trim_start().len();
            }
        }
    }
    out.push_str(&stmt[from..]);
    Some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, pg_type: &str, not_null: bool, default: Option<&str>) -> Column {
        Column {
            name: name.into(),
            pg_type: pg_type.into(),
            not_null,
            default: default.map(Into::into),
            generated: None,
        }
    }

    fn ix(name: &str, unique: bool, keys: &[(&str, bool)], storing: &[&str]) -> Index {
        Index {
            name: name.into(),
            unique,
            inverted: false,
            keys: keys.iter().map(|(k, d)| (Ok(k.to_string()), *d)).collect(),
            storing: storing.iter().map(|s| s.to_string()).collect(),
            predicate: None,
        }
    }

    #[test]
    fn names_and_types_read_as_cockroachdb_prints_them() {
        assert_eq!(crdb_ident("balance"), "balance");
        assert_eq!(crdb_ident("primary"), "\"primary\"");
        assert_eq!(crdb_ident("My Idx"), "\"My Idx\"");
        assert_eq!(crdb_ident("te\"st"), "\"te\"\"st\"");
        assert_eq!(crdb_ident("1a"), "\"1a\"");
        for (pg, crdb) in [
            ("bigint", "INT8"),
            ("text", "STRING"),
            ("text[]", "STRING[]"),
            ("numeric(10,2)", "DECIMAL(10,2)"),
            ("character varying(20)", "VARCHAR(20)"),
            ("timestamp(3) with time zone", "TIMESTAMPTZ(3)"),
            ("uuid", "UUID"),
            ("boolean", "BOOL"),
            ("bytea", "BYTES"),
        ] {
            assert_eq!(crdb_type(pg), crdb, "{pg}");
        }
        assert_eq!(unwrap_parens("(n > 0)"), "n > 0");
        assert_eq!(unwrap_parens("(a > 0) AND (b > 0)"), "(a > 0) AND (b > 0)");
        assert_eq!(unwrap_parens("lower(a)"), "lower(a)");
    }

    /// The shape of the docs' movr examples: tab-indented elements, the primary key as a
    /// named constraint with directions, STORING and WHERE after the key list.
    #[test]
    fn a_table_is_printed_in_cockroachdbs_format() {
        let mut partial = ix("people_n_idx", false, &[("n", true)], &[]);
        partial.predicate = Some("(n > 100)".into());
        let mut expr = ix("people_lower_idx", true, &[], &[]);
        expr.keys = vec![(Err("lower(email)".into()), false)];
        let text = format(
            "public",
            "people",
            &[
                col("id", "uuid", true, None),
                col("email", "text", false, None),
                col("n", "bigint", false, Some("0")),
            ],
            Some(&ix("people_pkey", true, &[("id", false)], &[])),
            &[
                ix("people_email_idx", false, &[("email", false)], &["n"]),
                partial,
                expr,
            ],
            &[
                ("people_n_check".into(), "CHECK (n >= 0)".into()),
                (
                    "people_team_fkey".into(),
                    "FOREIGN KEY (n) REFERENCES teams(id)".into(),
                ),
            ],
        );
        assert_eq!(
            text,
            "CREATE TABLE public.people (
\tid UUID NOT NULL,
\temail STRING NULL,
\tn INT8 NULL DEFAULT 0,
\tCONSTRAINT people_pkey PRIMARY KEY (id ASC),
\tCONSTRAINT people_team_fkey FOREIGN KEY (n) REFERENCES teams(id),
\tINDEX people_email_idx (email ASC) STORING (n),
\tINDEX people_n_idx (n DESC) WHERE n > 100,
\tUNIQUE INDEX people_lower_idx (lower(email) ASC),
\tCONSTRAINT people_n_check CHECK (n >= 0)
)"
        );
        let rowid = col("rowid", "bigint", true, Some("crdb_compat.unique_rowid()"));
        let text = format("public", "Plain", &[rowid], None, &[], &[]);
        assert_eq!(
            text,
            "CREATE TABLE public.\"Plain\" (\n\trowid INT8 NOT VISIBLE NOT NULL DEFAULT unique_rowid()\n)"
        );
    }

    #[test]
    fn create_index_is_translated_for_postgresql() {
        let t = |s: &str| create_index(s).unwrap().unwrap();
        assert_eq!(
            t("CREATE INDEX i ON \"public\".\"t\" (v ASC) STORING (w, x)"),
            "CREATE INDEX i ON \"public\".\"t\" (v ASC) INCLUDE (w, x)"
        );
        assert_eq!(
            t("CREATE UNIQUE INDEX i ON t (v DESC) COVERING (w) WHERE v > 0:::INT8 AND s != 'a':::STRING"),
            "CREATE UNIQUE INDEX i ON t (v DESC) INCLUDE (w) WHERE v > 0::INT8 AND s != 'a'::text"
        );
        assert_eq!(
            t("CREATE INVERTED INDEX j ON t (doc)"),
            "CREATE INDEX j ON t USING gin (doc)"
        );
        assert_eq!(
            t("CREATE INDEX i ON t (lower(s) ASC)"),
            "CREATE INDEX i ON t (lower(s) ASC)"
        );
        for refused in [
            "CREATE INDEX i ON t (v ASC) USING HASH WITH (bucket_count=8)",
            "CREATE INDEX i ON t (v ASC) NOT VISIBLE",
            "CREATE INDEX i ON t (v ASC) VISIBILITY 0.5",
            "CREATE VECTOR INDEX i ON t (v vector_l2_ops)",
        ] {
            assert_eq!(create_index(refused).unwrap().unwrap_err().code, "0A000");
        }
        assert!(create_index("CREATE TABLE t (a int8)").is_none());
        assert!(create_index("SELECT 1").is_none());
    }
}
