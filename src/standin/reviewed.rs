//! Every statement shape the CockroachDB flavour sends, each with the CockroachDB source
//! that says it works on v23.2 to v26.x. The stand-in refuses any other statement when
//! [`super::Options::reviewed_only`] is set (the tests' setting), so new SQL in the
//! CockroachDB flavour fails the suite until someone checks it and adds it here.
//!
//! Shapes are regular expressions over the statement with white space collapsed
//! ([`super::lex::normalise`]), matched whole and without regard to case. `ID` stands for
//! an identifier, quoted or not, optionally qualified; `LEDGER` for one of the ledger's
//! tables (`chunkload_loads`, …) in a quoted schema: `chunkload`, `--ledger-schema`'s, or
//! the loaded table's (`ledger::home`).

use super::lex;
use super::rules::Refusal;
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// `(shape, why CockroachDB runs it)`.
pub const SHAPES: &[(&str, &str)] = &[
    // Transactions and the retry protocol.
    (r"START TRANSACTION|BEGIN|COMMIT|ROLLBACK", "docs BEGIN, COMMIT, ROLLBACK (v23.2-v26.1)"),
    (
        r"(?:RELEASE |ROLLBACK TO )?SAVEPOINT ID",
        "docs SAVEPOINT: nested savepoints and the cockroach_restart retry protocol (Advanced client-side transaction retries)",
    ),
    // What server is this, and how big may a transaction be.
    (r"SELECT version\(\)", "functions.md: version()"),
    (r"SELECT to_regclass\(\$1\) IS NOT NULL", "functions.md: to_regclass"),
    (
        r"SHOW CLUSTER SETTING [a-z0-9_.]+",
        "docs SHOW CLUSTER SETTING (needs admin, VIEWCLUSTERSETTING or MODIFYCLUSTERSETTING)",
    ),
    // The catalog: pg_catalog tables CockroachDB implements (docs pg_catalog: pg_class,
    // pg_namespace, pg_attribute, pg_index are supported), information_schema.columns
    // with is_hidden (docs information_schema).
    (
        r"SELECT c\.oid::int8, n\.nspname::text, c\.relname::text FROM pg_class c JOIN pg_namespace n .*",
        "docs pg_catalog (pg_class, pg_namespace); functions.md: cardinality, current_schemas, array_position",
    ),
    (
        r"SELECT c\.relkind::text, n\.nspname::text, c\.relname::text FROM pg_class c JOIN pg_namespace n .*",
        "docs pg_catalog (pg_class.relkind); functions.md: cardinality, current_schemas, array_position",
    ),
    (
        r"SELECT c\.conname::text, c\.conrelid::regclass::text, array\(SELECT a\.attname::text FROM unnest\(c\.confkey\).* FROM pg_catalog\.pg_constraint c WHERE .*",
        "docs pg_catalog (pg_constraint: confkey, confrelid); functions.md: unnest; regclass casts",
    ),
    (
        r"SELECT a\.attname::text, format_type\(.*FROM pg_attribute a WHERE .*",
        "docs pg_catalog (pg_attribute: attgenerated, attidentity); functions.md: format_type",
    ),
    (
        r"SELECT a\.attname::text FROM pg_index i JOIN LATERAL unnest\(i\.indkey\) WITH ORDINALITY .*",
        "docs pg_catalog (pg_index); functions.md: unnest; WITH ORDINALITY (docs Table expressions)",
    ),
    (
        r"SELECT column_name::text FROM information_schema\.columns WHERE .* is_hidden = 'YES'",
        "docs information_schema: columns.is_hidden",
    ),
    (
        r"SELECT has_schema_privilege\(oid, '\w+'\), has_schema_privilege\(oid, '\w+'\) FROM pg_catalog\.pg_namespace WHERE nspname = \$1",
        "functions.md: has_schema_privilege",
    ),
    (
        r"SELECT c\.relname::text, has_table_privilege\(.*FROM pg_catalog\.pg_class c JOIN pg_catalog\.pg_namespace n .* c\.relkind IN\('r', 'p'\)",
        "functions.md: has_table_privilege (NULL for indexes: logic test privilege_builtins; asked of tables only)",
    ),
    (
        r"SELECT c\.relname::text, a\.attname::text FROM pg_catalog\.pg_attribute a JOIN pg_catalog\.pg_class c .*",
        "docs pg_catalog (pg_attribute, pg_class, pg_namespace)",
    ),
    // Where the ledger lives (ledger::home): may the session write, create a schema, and
    // which schemas hold a ledger already.
    (
        r"SELECT current_setting\('transaction_read_only'\), has_database_privilege\(current_database\(\), 'CREATE'\), current_user::text, current_database\(\)::text",
        "functions.md: current_setting, has_database_privilege, current_user, current_database; docs session variables: transaction_read_only; logic test privilege_builtins: has_database_privilege(name, 'CREATE')",
    ),
    (
        r"SELECT n\.nspname::text FROM pg_catalog\.pg_class c JOIN pg_catalog\.pg_namespace n ON n\.oid = c\.relnamespace WHERE c\.relname = \$1 AND c\.relkind IN\('r', 'p'\) AND has_schema_privilege\(n\.oid, 'USAGE'\) AND has_table_privilege\(c\.oid, 'SELECT'\)",
        "docs pg_catalog (pg_class, pg_namespace); functions.md: has_schema_privilege, has_table_privilege (NULL for indexes: logic test privilege_builtins; asked of tables only)",
    ),
    // The ledger: plain tables in a schema of its own, or beside the loaded table.
    (r#"CREATE SCHEMA IF NOT EXISTS ID"#, "docs CREATE SCHEMA (IF NOT EXISTS)"),
    (
        r#"CREATE TABLE IF NOT EXISTS ID\((?:[^;])*\)"#,
        "docs CREATE TABLE: int8, text, bool, bytea, timestamptz, text[], DEFAULT now(), composite PRIMARY KEY",
    ),
    (
        r#"INSERT INTO LEDGER\([^)]*\) VALUES\((?:\$\d+(?:, )?)+\)(?: ON CONFLICT\([^)]*\) DO NOTHING)?"#,
        "docs INSERT (ON CONFLICT ... DO NOTHING)",
    ),
    (
        r#"UPDATE LEDGER SET .* WHERE .*"#,
        "docs UPDATE; functions.md: now(); INTERVAL arithmetic (docs INTERVAL) instead of make_interval",
    ),
    (
        r#"SELECT .* FROM LEDGER.*"#,
        "docs SELECT (joins, GROUP BY, aggregate FILTER); functions.md: extract, coalesce, greatest",
    ),
    (r#"DELETE FROM LEDGER WHERE .*"#, "docs DELETE"),
    // --create-table: the inferred table (a keyless one gets the hidden rowid key).
    (r"CREATE TABLE ID ?\((?:[^;])*\)", "docs CREATE TABLE (the types infer.rs writes)"),
    // The rows: multi-row INSERT or UPSERT with bind parameters (COPY is refused over the
    // extended protocol, cockroach#41120, and needs admin).
    (
        r#"(?:INSERT|UPSERT) INTO ID\(ID(?:, ID)*\) VALUES(?:\((?:\$\d+(?:, )?)+\)(?:, )?)+"#,
        "docs INSERT (multi-row VALUES), docs UPSERT",
    ),
    (r"SELECT count\(\*\) FROM ID", "docs SELECT; count(*) aggregate"),
    // A rerun counts the table's rows up to what its load committed (ledger::rerun).
    (
        r"SELECT count\(\*\) FROM ?\(SELECT 1 FROM ID LIMIT \d+\) AS held",
        "docs SELECT (LIMIT); docs Subqueries (a subquery in FROM, with an alias); count(*) aggregate",
    ),
    // --truncate: its own statement, outside any transaction (TRUNCATE is a schema change
    // there: autocommit_before_ddl, PR #118440).
    (r"TRUNCATE ID", "docs TRUNCATE"),
    // --defer-indexes: definitions from SHOW CREATE TABLE (exact, unlike pg_get_indexdef:
    // #168908), each DROP and CREATE alone.
    (r"SELECT EXISTS\(SELECT 1 FROM ID\)", "docs SELECT; EXISTS subquery"),
    (r"SHOW CREATE TABLE ID", "docs SHOW CREATE"),
    // --create-table whose load committed no row: the table it created goes again.
    (r"DROP TABLE ID", "docs DROP TABLE"),
    // A ledger of an earlier build gains the columns added since (ledger::upgrade).
    (
        r#"ALTER TABLE "chunkload"\.ID ADD COLUMN IF NOT EXISTS [a-z_]+ (?:text|int8|timestamptz)"#,
        "docs ALTER TABLE ADD COLUMN (IF NOT EXISTS; a schema change, sent outside transactions)",
    ),
    (
        r"DROP INDEX IF EXISTS ID(?: ?@ ?ID)?(?: CASCADE)?",
        "docs DROP INDEX (table@index or a schema-qualified index name, CASCADE)",
    ),
    (
        r"CREATE (?:UNIQUE |INVERTED |VECTOR )?INDEX ID ON ID ?\(.*",
        "docs CREATE INDEX (STORING, WHERE, WITH, USING HASH, as SHOW CREATE prints them)",
    ),
    (
        r"SELECT ARRAY ?\[.*\], count\(\*\) FROM ID WHERE .* GROUP BY .* HAVING count\(\*\) > 1.*",
        "docs SELECT (GROUP BY, HAVING, ARRAY constructors)",
    ),
    // The tutorial's bank app (dbinit.sql and src/bank.rs), as in the seed tutorial.
    (r"DROP TABLE IF EXISTS accounts", "docs DROP TABLE; the tutorial's dbinit.sql"),
    (
        r"CREATE TABLE accounts\(id UUID PRIMARY KEY, balance INT8\)",
        "the tutorial's dbinit.sql",
    ),
    (
        r"UPDATE accounts SET balance = balance [-+] \$2 WHERE id = \$1",
        "the tutorial's transfer_funds",
    ),
    (r"DELETE FROM accounts WHERE id = \$1", "the tutorial's delete_accounts"),
    (
        r"SELECT balance FROM accounts WHERE id = \$1 FOR UPDATE",
        "docs SELECT FOR UPDATE",
    ),
    // import --execute.
    (
        r"IMPORT INTO ID(?: ?\([^)]*\))? CSV DATA\('[^']*'(?:, '[^']*')*\)(?: WITH .*)?",
        "docs IMPORT INTO (CSV DATA; delimiter, nullif, skip, decompress)",
    ),
];

fn compiled() -> &'static [Regex] {
    static R: OnceLock<Vec<Regex>> = OnceLock::new();
    R.get_or_init(|| {
        let id =
            r#"(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)(?:\.(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*))*"#;
        let ledger = r#""(?:[^"]|"")*"\."chunkload_(?:loads|ledger|rejects|deferred)""#;
        SHAPES
            .iter()
            .map(|(shape, _)| {
                let shape = shape.replace("LEDGER", ledger).replace("ID", id);
                RegexBuilder::new(&format!("^(?:{shape})$"))
                    .case_insensitive(true)
                    .dot_matches_new_line(true)
                    .build()
                    .expect("a valid shape")
            })
            .collect()
    })
}

/// The shape `stmt` matches, or the refusal that names it.
pub fn check(stmt: &str) -> Result<usize, Refusal> {
    let text = lex::normalise(stmt);
    compiled()
        .iter()
        .position(|r| r.is_match(&text))
        .ok_or_else(|| Refusal {
            code: "XX000".into(),
            message: format!(
                "stand-in: statement not on the reviewed list of the CockroachDB flavour: {text}"
            ),
            source: "src/standin/reviewed.rs",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_compiles_and_what_the_flavour_sends_matches() {
        assert_eq!(compiled().len(), SHAPES.len());
        for stmt in [
            "START TRANSACTION",
            "SAVEPOINT cockroach_restart",
            "ROLLBACK TO SAVEPOINT cockroach_restart",
            "SHOW CLUSTER SETTING kv.transaction.max_intents_bytes",
            "INSERT INTO \"public\".\"accounts\" (\"id\",\"balance\") VALUES ($1,$2),($3,$4)",
            "UPSERT INTO \"public\".\"Cost \"\"x\"\"\" (\"id\") VALUES ($1)",
            "UPDATE \"chunkload\".\"chunkload_loads\" SET owner = $2, heartbeat = now() WHERE load_id = $1",
            "SELECT count(*) FROM (SELECT 1 FROM \"public\".\"t\" LIMIT 140) AS held",
            "DROP TABLE \"public\".\"t\"",
            "ALTER TABLE \"chunkload\".\"chunkload_loads\" ADD COLUMN IF NOT EXISTS table_oid int8",
            "DELETE FROM \"app\".\"chunkload_ledger\" WHERE load_id = $1",
            "SELECT 1 FROM \"Ops \"\"x\"\"\".\"chunkload_loads\" WHERE load_id = $1",
            crate::ledger::home::SESSION_SQL,
            crate::ledger::home::LEDGERS_SQL,
            "SHOW CREATE TABLE \"public\".\"people\"",
            "DROP INDEX IF EXISTS \"public\".\"people\"@\"My Idx\" CASCADE",
            "CREATE INDEX t_v_idx ON \"public\".\"t\" (v ASC) STORING (w) WHERE v > 0",
            "IMPORT INTO \"t\" (\"a\", \"b\")\n    CSV DATA (\n        'http://127.0.0.1:9/t.1.csv'\n    )\n    WITH nullif = ''",
        ] {
            assert!(check(stmt).is_ok(), "{stmt}");
        }
        for stmt in [
            "SELECT now() - make_interval(secs => 5)",
            "COPY \"public\".\"accounts\" FROM STDIN",
            "SET LOCAL synchronous_commit = off",
            "INSERT INTO accounts SELECT * FROM other",
            "DELETE FROM \"app\".\"accounts\" WHERE load_id = $1",
            "SELECT 1 FROM \"app\".chunkload_loads WHERE load_id = $1",
        ] {
            assert!(check(stmt).is_err(), "{stmt}");
        }
    }
}
