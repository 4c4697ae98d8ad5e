//! What CockroachDB does with a statement that PostgreSQL would simply run: the stand-in's
//! judgement, pure, by the version its `version()` claims. Every rule names its source in
//! CockroachDB's code, docs, logic tests or issues (shared facts: the project's guide to
//! CockroachDB, "What CockroachDB refuses that PostgreSQL accepts").

use super::lex::{self, Kind, Tok};

pub use crate::flavour::Version;
// The bugs' version table has one home, shared with the retry helper that avoids them.
use crate::flavour::{
    copy_after_savepoint_rollback_broken as copy_after_savepoint_rollback_fails,
    prepared_after_savepoint_rollback_broken as prepare_after_savepoint_rollback_fails,
    rollback_after_savepoint_rollback_broken as rollback_after_savepoint_rollback_fails,
};

/// How a statement reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A Query message (psql's `\copy`, `batch_execute`).
    Simple,
    /// A Parse message (prepared statements, `query`, `execute`, `copy_in`).
    Extended,
}

/// What the session looks like when a statement arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Session {
    /// Inside an explicit transaction.
    pub in_txn: bool,
    /// A `ROLLBACK TO SAVEPOINT` ran in this transaction.
    pub rolled_back_to_savepoint: bool,
}

/// CockroachDB's answer to a statement it refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// SQLSTATE.
    pub code: String,
    /// Message, as CockroachDB words it.
    pub message: String,
    /// Where the rule comes from.
    pub source: &'static str,
}

/// The stand-in's judgement of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// PostgreSQL runs it as CockroachDB would: forward (possibly rewritten, see
    /// [`rewrite`]).
    Run,
    /// CockroachDB refuses it.
    Refuse(Refusal),
    /// A schema change inside an explicit transaction on v25.1+: CockroachDB commits the
    /// transaction first and runs the change on its own (`autocommit_before_ddl`, on by
    /// default from v25.1: PR #118440, a backward-incompatible change in the v25.1 notes).
    CommitFirst,
    /// `SHOW CLUSTER SETTING name`: answered by the stand-in for a role that may read it.
    ShowClusterSetting(String),
    /// `UPSERT INTO table ...`: translated to `INSERT ... ON CONFLICT (pk) DO UPDATE`.
    Upsert,
    /// `IMPORT INTO ... CSV DATA (...)`: run by the stand-in (fetches the URLs).
    Import,
    /// `SHOW CREATE [TABLE] name`: answered by the stand-in from the catalog, in
    /// CockroachDB's format (docs "SHOW CREATE").
    ShowCreate(String),
}

/// `autocommit_before_ddl` is on by default from v25.1 (PR #118440).
pub fn autocommits_before_ddl(v: Version) -> bool {
    v >= (25, 1, 0)
}

/// Statements that are schema changes in CockroachDB (TRUNCATE included: it is a schema
/// change there, not a transactional delete; docs "TRUNCATE", "Online Schema Changes").
const DDL: &[&str] = &[
    "create", "alter", "drop", "truncate", "comment", "grant", "revoke",
];

/// Functions the stand-in knows CockroachDB has, each checked in CockroachDB's generated
/// builtin list (`docs/generated/sql/functions.md`, v23.2 to v26.1) or its aggregate and
/// operator docs. A function PostgreSQL has but this list lacks is refused as CockroachDB
/// refuses an unknown function; a name missing here that CockroachDB does have only makes
/// the stand-in stricter than the real thing, never kinder.
pub const KNOWN_FUNCTIONS: &[&str] = &[
    // Casts written as calls and type names with a modifier (`numeric(7,2)`).
    "numeric",
    "decimal",
    "varchar",
    "char",
    "character",
    "bpchar",
    "bit",
    "varbit",
    "timestamp",
    "timestamptz",
    "time",
    "timetz",
    "interval",
    "float4",
    "float8",
    "int2",
    "int4",
    "int8",
    "text",
    "bool",
    "date",
    "uuid",
    "bytea",
    "jsonb",
    "json",
    "inet",
    "oid",
    "regclass",
    "name",
    // Builtins (functions.md).
    "version",
    "now",
    "current_setting",
    "set_config",
    "format_type",
    "pg_get_indexdef",
    "unnest",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "extract",
    "current_user",
    "current_database",
    "current_schema",
    "gen_random_uuid",
    "to_regclass",
    "quote_ident",
    "pg_backend_pid",
    "pg_typeof",
    "length",
    "lower",
    "upper",
    "concat",
    "substring",
    "trim",
    "replace",
    "abs",
    "floor",
    "ceil",
    "round",
    "array_length",
    "array_to_string",
    "string_to_array",
    "generate_series",
    "row_number",
    "obj_description",
    "col_description",
    "pg_get_constraintdef",
    "pg_get_expr",
    "pg_table_is_visible",
    "pg_get_userbyid",
    "pg_has_role",
    "unique_rowid",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "date_trunc",
    "to_char",
    "to_timestamp",
    "md5",
    "sha256",
    "encode",
    "decode",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_agg",
    "json_agg",
    "row_to_json",
    "to_json",
    "to_jsonb",
    "current_schemas",
    "cardinality",
    "array_position",
    "array_remove",
    "array_append",
    "array_cat",
    "pg_sleep",
    "nextval",
    "currval",
    "setval",
    "pg_get_serial_sequence",
    "position",
    "split_part",
    "left",
    "right",
    "repeat",
    "regexp_replace",
    "btrim",
    "ltrim",
    "rtrim",
    "octet_length",
    "char_length",
    "age",
    "date_part",
    "make_date",
    // Aggregates (docs "Functions and Operators": aggregate functions).
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    // Special forms the grammar parses, not functions (COALESCE, NULLIF, GREATEST, LEAST,
    // ARRAY(subquery), EXISTS, ROW, CAST, IF).
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "array",
    "exists",
    "row",
    "cast",
    "if",
];

/// Words that precede `(` without being a function call.
const NOT_CALLS: &[&str] = &[
    "values",
    "in",
    "any",
    "all",
    "some",
    "as",
    "on",
    "using",
    "conflict",
    "key",
    "into",
    "table",
    "index",
    "exists",
    "references",
    "over",
    "filter",
    "within",
    "storing",
    "include",
    "covering",
    "with",
    "where",
    "and",
    "or",
    "not",
    "select",
    "from",
    "returning",
    "data",
    "check",
    "unique",
    "primary",
    "foreign",
    "default",
    "then",
    "else",
    "when",
    "by",
    "set",
    "distinct",
    "lateral",
    "join",
    "partition",
    "view",
    "like",
    "is",
    "case",
    "to",
    "copy",
    "interleave",
    "family",
    "constraint",
];

/// Judges one statement (already split from its Query). `is_pg_function` says whether
/// PostgreSQL has a function of that name (only those can be unknown to CockroachDB:
/// anything else before a `(` is a table or column name).
pub fn judge(
    sql: &str,
    protocol: Protocol,
    session: Session,
    version: Version,
    is_pg_function: &mut dyn FnMut(&str) -> bool,
) -> Verdict {
    let toks = lex::tokens(sql);
    let word = |i: usize| toks.get(i).filter(|t| t.kind == Kind::Word);
    let first = word(0)
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default();
    let second = word(1)
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default();

    if let Some(r) = named_argument(&toks) {
        return Verdict::Refuse(r);
    }
    if let Some(r) = unknown_function(&toks, is_pg_function) {
        return Verdict::Refuse(r);
    }
    let after_rollback = session.in_txn && session.rolled_back_to_savepoint;
    match (first.as_str(), second.as_str()) {
        ("copy", _) if protocol == Protocol::Extended => {
            return refuse(
                "08P01",
                "CopyFrom not supported in extended protocol mode".into(),
                "pkg/sql/pgwire/conn.go handleParse; cockroach#41120",
            )
        }
        ("copy", _) => {
            if let Some(r) = copy_options(&toks) {
                return Verdict::Refuse(r);
            }
            if after_rollback && copy_after_savepoint_rollback_fails(version) {
                return refuse(
                    "XX000",
                    "internal error: unexpected error from the vectorized engine: \
                     COPY FROM after ROLLBACK TO SAVEPOINT"
                        .into(),
                    "cockroach#144383 (fixed in 25.3.6, 25.4.1, 26.1 by PR #156959)",
                );
            }
        }
        ("rollback", s)
            if s != "to" && after_rollback && rollback_after_savepoint_rollback_fails(version) =>
        {
            return refuse(
                "XX000",
                "internal error: ROLLBACK after ROLLBACK TO SAVEPOINT: \
                 transaction left open with its locks held"
                    .into(),
                "cockroach#156507, #135118 (fixed in 25.4.4 and 26.1 by PR #160346)",
            );
        }
        ("show", "cluster") => {
            let name = toks
                .iter()
                .skip(3)
                .map(|t| t.text)
                .collect::<Vec<_>>()
                .join("");
            return Verdict::ShowClusterSetting(name);
        }
        ("show", "create") => {
            let at = if toks.get(2).is_some_and(|t| t.is("table")) {
                3
            } else {
                2
            };
            let name = toks.get(at).map_or("", |t| sql[t.start..].trim());
            return Verdict::ShowCreate(name.to_string());
        }
        ("upsert", _) => return Verdict::Upsert,
        ("import", "into") => {
            if session.in_txn {
                return refuse(
                    "25001",
                    "IMPORT cannot be used inside a multi-statement transaction".into(),
                    "docs IMPORT INTO: it runs as a job and cannot run inside an explicit transaction",
                );
            }
            return Verdict::Import;
        }
        (f, _) if DDL.contains(&f) && session.in_txn && autocommits_before_ddl(version) => {
            return Verdict::CommitFirst
        }
        _ => {}
    }
    if protocol == Protocol::Extended
        && after_rollback
        && prepare_after_savepoint_rollback_fails(version)
    {
        return refuse(
            "XX000",
            "internal error: assertion failure: statement prepared after ROLLBACK TO SAVEPOINT"
                .into(),
            "PRs #170708, #170709, #170710 (backported to 25.4, 26.1 and 26.2 in May 2026)",
        );
    }
    Verdict::Run
}

fn refuse(code: &str, message: String, source: &'static str) -> Verdict {
    Verdict::Refuse(Refusal {
        code: code.to_string(),
        message,
        source,
    })
}

/// `f(x => 1)`: named arguments are a documented limitation (cockroach#122264).
fn named_argument(toks: &[Tok<'_>]) -> Option<Refusal> {
    toks.iter().any(|t| t.is_punct("=>")).then(|| Refusal {
        code: "42601".into(),
        message: "at or near \">\": syntax error".into(),
        source: "cockroach#122264 (named arguments in function calls are not supported)",
    })
}

/// The first call of a PostgreSQL function that is not in [`KNOWN_FUNCTIONS`].
fn unknown_function(
    toks: &[Tok<'_>],
    is_pg_function: &mut dyn FnMut(&str) -> bool,
) -> Option<Refusal> {
    for (i, t) in toks.iter().enumerate() {
        let is_name = matches!(t.kind, Kind::Word | Kind::Quoted);
        if !is_name || !toks.get(i + 1).is_some_and(|n| n.is_punct("(")) {
            continue;
        }
        // The word before a qualified name (`pg_catalog.f(`) is the schema.
        let prev = if i >= 2 && toks[i - 1].is_punct(".") {
            i.checked_sub(3).map(|j| &toks[j])
        } else {
            i.checked_sub(1).map(|j| &toks[j])
        };
        if t.kind == Kind::Word && NOT_CALLS.contains(&t.text.to_ascii_lowercase().as_str()) {
            continue;
        }
        if prev.is_some_and(|p| {
            p.kind == Kind::Word && NOT_CALLS.contains(&p.text.to_ascii_lowercase().as_str())
        }) {
            continue; // INSERT INTO t (, CREATE TABLE t (, REFERENCES t (...
        }
        let name = t.ident();
        if KNOWN_FUNCTIONS.contains(&name.as_str()) || !is_pg_function(&name) {
            continue;
        }
        return Some(Refusal {
            code: "42883".into(),
            message: format!("unknown function: {name}()"),
            source: "docs/generated/sql/functions.md (CockroachDB's builtins) does not list it",
        });
    }
    None
}

/// COPY options CockroachDB does not take: QUOTE, FREEZE, FORCE_*, and a WHERE clause
/// (docs "COPY": options; the project's guide, "COPY").
fn copy_options(toks: &[Tok<'_>]) -> Option<Refusal> {
    const UNSUPPORTED: &[&str] = &[
        "quote",
        "freeze",
        "force_quote",
        "force_not_null",
        "force_null",
        "where",
    ];
    let bad = toks.iter().find(|t| {
        t.kind == Kind::Word && UNSUPPORTED.contains(&t.text.to_ascii_lowercase().as_str())
    })?;
    Some(Refusal {
        code: "0A000".into(),
        message: format!(
            "unimplemented: COPY option {} is not supported",
            bad.text.to_uppercase()
        ),
        source: "docs COPY FROM: QUOTE, FREEZE and WHERE are not supported",
    })
}

/// How a statement changes the session once sent: `(in_txn, rolled_back_to_savepoint)`.
pub fn after(sql: &str, s: Session) -> Session {
    let toks = lex::tokens(sql);
    let w = |i: usize| {
        toks.get(i)
            .map(|t| t.text.to_ascii_lowercase())
            .unwrap_or_default()
    };
    match (w(0).as_str(), w(1).as_str()) {
        ("begin", _) | ("start", "transaction") => Session {
            in_txn: true,
            rolled_back_to_savepoint: false,
        },
        ("rollback", "to") => Session {
            rolled_back_to_savepoint: s.in_txn,
            ..s
        },
        ("commit" | "end" | "abort", _) | ("rollback", _) => Session::default(),
        _ => s,
    }
}

/// The catalog as CockroachDB shows it, through the stand-in database's `crdb_compat`
/// schema: `has_table_privilege` answers NULL for an index OID (logic tests
/// `privilege_builtins`, `pg_catalog`), and `information_schema.columns` has
/// CockroachDB's `is_hidden` column (docs "information_schema": columns). Returns the
/// statement with those references replaced, or `None` when nothing changes.
pub fn rewrite(sql: &str) -> Option<String> {
    let toks = lex::tokens(sql);
    let mut out = String::with_capacity(sql.len() + 32);
    let mut from = 0;
    let mut changed = false;
    for (i, t) in toks.iter().enumerate() {
        let next = |k: usize| toks.get(i + k);
        if t.is("information_schema")
            && next(1).is_some_and(|d| d.is_punct("."))
            && next(2).is_some_and(|c| c.is("columns"))
        {
            out.push_str(&sql[from..t.start]);
            out.push_str("crdb_compat.columns");
            from = next(2).map(|c| c.start + c.text.len()).unwrap_or(sql.len());
            changed = true;
        } else if t.is("has_table_privilege") && next(1).is_some_and(|p| p.is_punct("(")) {
            let qualified = i >= 2 && toks[i - 1].is_punct(".");
            let start = if qualified {
                toks[i - 2].start
            } else {
                t.start
            };
            if start >= from {
                out.push_str(&sql[from..start]);
                out.push_str("crdb_compat.has_table_privilege");
                from = t.start + t.text.len();
                changed = true;
            }
        }
    }
    if let Some(s) = hidden_rowid(sql, &toks) {
        return Some(rewrite(&s).unwrap_or(s));
    }
    out.push_str(&sql[from..]);
    changed.then_some(out)
}

/// `CREATE TABLE t (...)` without a primary key gets CockroachDB's hidden `rowid`
/// primary key (docs "Primary key constraint": "if a table is created without a primary
/// key, CockroachDB adds a hidden rowid column ... as the primary key"; from v24.2
/// `pg_index.indkey` lists it, cockroach#126397).
fn hidden_rowid(sql: &str, toks: &[Tok<'_>]) -> Option<String> {
    if !(toks.first()?.is("create") && toks.iter().take(6).any(|t| t.is("table"))) {
        return None;
    }
    let open = toks.iter().position(|t| t.is_punct("("))?;
    if toks[..open].iter().any(|t| t.is("as") || t.is("of")) {
        return None;
    }
    let mut depth = 0;
    let mut close = None;
    for t in &toks[open..] {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                close = Some(t.start);
                break;
            }
        }
    }
    let close = close?;
    let has_key = toks
        .windows(2)
        .any(|w| w[0].is("primary") && w[1].is("key"));
    if has_key || toks.iter().any(|t| t.is("rowid")) {
        return None;
    }
    Some(format!(
        "{}, rowid INT8 NOT NULL DEFAULT crdb_compat.unique_rowid() PRIMARY KEY{}",
        &sql[..close],
        &sql[close..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V23: Version = (23, 2, 4);
    const V26_3: Version = (26, 3, 0);
    fn pg_has(name: &str) -> bool {
        matches!(
            name,
            "make_interval" | "now" | "version" | "pg_advisory_lock" | "numeric"
        )
    }
    fn j(sql: &str, p: Protocol, s: Session, v: Version) -> Verdict {
        judge(sql, p, s, v, &mut pg_has)
    }
    fn code(v: Verdict) -> String {
        match v {
            Verdict::Refuse(r) => r.code,
            other => panic!("not refused: {other:?}"),
        }
    }
    const IDLE: Session = Session {
        in_txn: false,
        rolled_back_to_savepoint: false,
    };
    const TXN: Session = Session {
        in_txn: true,
        rolled_back_to_savepoint: false,
    };
    const ROLLED: Session = Session {
        in_txn: true,
        rolled_back_to_savepoint: true,
    };

    #[test]
    fn copy_is_refused_over_the_extended_protocol_only() {
        let copy = "COPY t (a) FROM STDIN WITH CSV";
        assert_eq!(code(j(copy, Protocol::Extended, IDLE, V26_3)), "08P01");
        assert_eq!(j(copy, Protocol::Simple, IDLE, V26_3), Verdict::Run);
        assert_eq!(
            code(j(
                "COPY t FROM STDIN WITH (FORMAT csv, QUOTE '\"')",
                Protocol::Simple,
                IDLE,
                V26_3
            )),
            "0A000"
        );
    }

    #[test]
    fn named_arguments_and_unknown_functions_are_refused() {
        let lease = "UPDATE l SET x = 1 WHERE h < now() - make_interval(secs => $3::int8::float8)";
        assert_eq!(code(j(lease, Protocol::Extended, IDLE, V26_3)), "42601");
        let plain = "SELECT now() - make_interval(0, 0, 0, 0, 0, 0, 5)";
        assert_eq!(code(j(plain, Protocol::Simple, IDLE, V26_3)), "42883");
        for ok in [
            "SELECT now() - $1::INT8 * INTERVAL '1 second'",
            "INSERT INTO make_interval (a) VALUES (1)",
            "CREATE TABLE t (a numeric(7,2), b text)",
            "SELECT 'make_interval(secs => 1)'",
        ] {
            assert_eq!(j(ok, Protocol::Simple, IDLE, V26_3), Verdict::Run, "{ok}");
        }
    }

    #[test]
    fn savepoint_bugs_follow_the_version() {
        let copy = "COPY t FROM STDIN";
        assert_eq!(code(j(copy, Protocol::Simple, ROLLED, V23)), "XX000");
        assert_eq!(j(copy, Protocol::Simple, TXN, V23), Verdict::Run);
        assert_eq!(j(copy, Protocol::Simple, ROLLED, (25, 4, 1)), Verdict::Run);
        assert_eq!(code(j(copy, Protocol::Simple, ROLLED, (25, 3, 5))), "XX000");
        assert_eq!(
            code(j("SELECT 1", Protocol::Extended, ROLLED, (26, 2, 9))),
            "XX000"
        );
        assert_eq!(
            j("SELECT 1", Protocol::Simple, ROLLED, (26, 2, 9)),
            Verdict::Run
        );
        assert_eq!(
            j("SELECT 1", Protocol::Extended, ROLLED, V26_3),
            Verdict::Run
        );
        assert_eq!(
            code(j("ROLLBACK", Protocol::Simple, ROLLED, (25, 4, 3))),
            "XX000"
        );
        assert_eq!(
            j("ROLLBACK", Protocol::Simple, ROLLED, (25, 4, 4)),
            Verdict::Run
        );
        assert_eq!(
            j(
                "ROLLBACK TO SAVEPOINT cockroach_restart",
                Protocol::Simple,
                ROLLED,
                V23
            ),
            Verdict::Run
        );
        assert_eq!(j("ROLLBACK", Protocol::Simple, TXN, V23), Verdict::Run);
    }

    #[test]
    fn ddl_in_a_transaction_commits_first_from_25_1() {
        let t = "TRUNCATE \"public\".\"accounts\"";
        assert_eq!(
            j(t, Protocol::Simple, TXN, (25, 1, 0)),
            Verdict::CommitFirst
        );
        assert_eq!(j(t, Protocol::Simple, TXN, (24, 3, 9)), Verdict::Run);
        assert_eq!(j(t, Protocol::Simple, IDLE, (26, 1, 0)), Verdict::Run);
    }

    #[test]
    fn translated_statements_are_recognised() {
        assert_eq!(
            j(
                "SHOW CLUSTER SETTING kv.transaction.max_intents_bytes",
                Protocol::Simple,
                IDLE,
                V23
            ),
            Verdict::ShowClusterSetting("kv.transaction.max_intents_bytes".into())
        );
        assert_eq!(
            j(
                "UPSERT INTO t (a) VALUES ($1)",
                Protocol::Extended,
                TXN,
                V23
            ),
            Verdict::Upsert
        );
        assert_eq!(
            j("IMPORT INTO t CSV DATA ('x')", Protocol::Simple, IDLE, V23),
            Verdict::Import
        );
        for show in [
            "SHOW CREATE TABLE \"public\".\"t\"",
            "SHOW CREATE \"public\".\"t\"",
        ] {
            assert_eq!(
                j(show, Protocol::Simple, TXN, V23),
                Verdict::ShowCreate("\"public\".\"t\"".into())
            );
        }
        assert_eq!(
            code(j(
                "IMPORT INTO t CSV DATA ('x')",
                Protocol::Simple,
                TXN,
                V23
            )),
            "25001"
        );
    }

    #[test]
    fn the_session_follows_transaction_statements() {
        let s = after("BEGIN", IDLE);
        assert_eq!(s, TXN);
        let s = after("ROLLBACK TO SAVEPOINT cockroach_restart", s);
        assert_eq!(s, ROLLED);
        assert_eq!(after("SELECT 1", s), ROLLED);
        assert_eq!(after("ROLLBACK", s), IDLE);
        assert_eq!(after("COMMIT", TXN), IDLE);
        assert_eq!(after("ROLLBACK TO SAVEPOINT x", IDLE), IDLE);
    }

    #[test]
    fn catalog_references_are_rewritten() {
        assert_eq!(
            rewrite("SELECT has_table_privilege(c.oid, 'SELECT') AND pg_catalog.has_table_privilege(c.oid, 'INSERT')").unwrap(),
            "SELECT crdb_compat.has_table_privilege(c.oid, 'SELECT') AND crdb_compat.has_table_privilege(c.oid, 'INSERT')"
        );
        assert_eq!(
            rewrite("SELECT is_hidden FROM information_schema.columns WHERE x = 'information_schema.columns'").unwrap(),
            "SELECT is_hidden FROM crdb_compat.columns WHERE x = 'information_schema.columns'"
        );
        assert_eq!(rewrite("SELECT 1"), None);
    }

    #[test]
    fn a_table_without_a_key_gets_the_hidden_rowid() {
        assert_eq!(
            rewrite("CREATE TABLE t (a int8, b text)").unwrap(),
            "CREATE TABLE t (a int8, b text, rowid INT8 NOT NULL DEFAULT crdb_compat.unique_rowid() PRIMARY KEY)"
        );
        for keyed in [
            "CREATE TABLE t (a int8 PRIMARY KEY, b text)",
            "CREATE TABLE IF NOT EXISTS t (a int8, b text, PRIMARY KEY (a))",
            "CREATE TABLE t AS SELECT 1",
        ] {
            assert_eq!(rewrite(keyed), None, "{keyed}");
        }
    }
}
