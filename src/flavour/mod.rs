//! The one switch between PostgreSQL and CockroachDB. Every piece of SQL that only one of
//! the two understands is chosen through [`Flavour`].
//!
//! Facts of CockroachDB (v23.2–v26.x) the CockroachDB flavour is built on (sources:
//! `shared/guide/cockroachdb.md`, "What CockroachDB refuses that PostgreSQL accepts"):
//! - **No COPY.** CockroachDB refuses a `COPY ... FROM STDIN` sent over the extended
//!   protocol (`CopyFrom not supported in extended protocol mode`, SQLSTATE 08P01;
//!   cockroach#41120), and the Rust driver's `copy_in` always prepares it (Parse). COPY is
//!   also documented as needing `admin`. So on CockroachDB rows go as multi-row INSERTs
//!   with bind parameters (`--method insert`, the default there, or `upsert`), and an
//!   explicit `--method copy` is refused before anything is written
//!   ([`crate::load::LoadConfig::method_for`]).
//! - **Retries.** The client-side `SAVEPOINT cockroach_restart` protocol hits server bugs
//!   after `ROLLBACK TO SAVEPOINT` on every released version up to 26.2, so the retry path
//!   is chosen by the version ([`RetryPath::for_cockroach`]); older ones
//!   restart the whole transaction.
//! - SERIALIZABLE is the default isolation on every version; v24.1 only *allows* READ
//!   COMMITTED (`sql.txn.read_committed_isolation.enabled`). Under READ COMMITTED
//!   statements are retried internally but a transaction can still return 40001, so chunk
//!   transactions are the same under both levels.
//! - The catalog differs: `has_table_privilege` answers NULL for index OIDs, and
//!   `pg_attribute` lists hidden columns (`rowid`, hash-shard and region columns) that
//!   `information_schema.columns.is_hidden` names ([`crate::table::Table::read_as`]).
//! - `SHOW CLUSTER SETTING kv.transaction.max_intents_bytes` needs admin,
//!   `VIEWCLUSTERSETTING` or `MODIFYCLUSTERSETTING`; without it the 4 MiB default stands.
//! - The session variable `inject_retry_errors_enabled = true` makes a real cluster raise
//!   40001s on demand: the way to check chunkload's retries against one's own cluster.
//! - `version()` reads `CockroachDB CCL v23.1.2 (x86_64-apple-darwin19, built 2023/05/25
//!   16:10:39, go1.19.4)`; platform, build and Go version vary; `server_version` says
//!   `13.0.0`, so only `version()` tells the two apart.

mod retry_path;

use crate::chunk::ChunkLimits;
use crate::Result;
pub use retry_path::{
    copy_after_savepoint_rollback_broken, prepared_after_savepoint_rollback_broken,
    rollback_after_savepoint_rollback_broken, RetryPath, Version,
};

/// Default chunk bytes, on both flavours: the peak RSS of a 1 GB `wide` load at 2
/// workers was 64 MiB at 1 MiB chunks, 126 MiB at 2 MiB, 243 MiB at 4 MiB (BENCHMARKS.md).
const CHUNK_BYTES: usize = 1 << 20;

/// Which server we talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// PostgreSQL: retry a failed transaction from BEGIN; COPY BINARY by default; ON
    /// CONFLICT.
    Postgres,
    /// CockroachDB: retries by version ([`RetryPath`]); multi-row INSERT
    /// (never COPY); UPSERT.
    Cockroach,
}

impl Flavour {
    /// Reads the flavour from the text of `SELECT version()`, leniently: any text naming
    /// CockroachDB (CCL or OSS, whatever the platform or build) is CockroachDB.
    pub fn from_version(version: &str) -> Flavour {
        if version.to_ascii_lowercase().contains("cockroachdb") {
            Flavour::Cockroach
        } else {
            Flavour::Postgres
        }
    }

    /// The `vMAJOR.MINOR.PATCH` of a CockroachDB `version()` text, when it has one.
    pub fn cockroach_version(version: &str) -> Option<(u32, u32, u32)> {
        let rest = &version[version.to_ascii_lowercase().find("cockroachdb")?..];
        let word = rest.split_whitespace().find(|w| {
            w.strip_prefix('v')
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })?;
        let mut parts = word[1..].split(|c: char| !c.is_ascii_digit());
        let mut next = || parts.next().and_then(|p| p.parse().ok());
        Some((next()?, next()?, next().unwrap_or(0)))
    }

    /// A short name for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Postgres => "PostgreSQL",
            Flavour::Cockroach => "CockroachDB",
        }
    }

    /// The chunk bounds of a load that names none (`--chunk-bytes`, `--chunk-rows`), from
    /// the sweep and the memory measurements in BENCHMARKS.md ("Chunk defaults").
    /// - PostgreSQL: nothing but the client's memory bounds a transaction, and each commit
    ///   waits for an fsync, so chunks are as large as the memory bound allows: 1 MiB of
    ///   source (4 × fewer commits than 256 KiB, 15–30 % faster), no row bound.
    /// - CockroachDB: the same 1 MiB, half of the 2 MiB that half the default 4 MiB intent
    ///   budget allows (a smaller probed budget lowers it, `load::cap_for_intents`), far
    ///   under the 64 MiB raft command and committed well inside the one-minute deadline;
    ///   10 000 rows, a tenth of the batch size its docs warn against, for tables of tiny
    ///   rows whose cost is per row (a KV write each).
    ///
    /// Loads by INSERT (the only way on CockroachDB) take half the bytes
    /// (`LoadConfig::with_chunk_defaults`: 512 KiB, each value is also a bind parameter),
    /// and every chunk keeps to the wire protocol's 65 535 bind parameters per statement
    /// ([`ChunkLimits::max_params`]): a table of 7 or more columns reaches that bound
    /// before 10 000 rows (9 362 rows of 7 columns).
    pub fn chunk_defaults(self) -> ChunkLimits {
        let (max_bytes, max_rows) = match self {
            Flavour::Postgres => (CHUNK_BYTES, usize::MAX),
            Flavour::Cockroach => (CHUNK_BYTES, 10_000),
        };
        ChunkLimits {
            max_bytes,
            max_rows,
            ..ChunkLimits::default()
        }
    }

    /// Whether a transaction can commit without waiting for its WAL to reach the disk
    /// (`SET LOCAL synchronous_commit = off`). PostgreSQL only: CockroachDB has no such
    /// setting (its commits are replicated by Raft before they are acknowledged).
    pub fn has_async_commit(self) -> bool {
        self == Flavour::Postgres
    }

    /// Asks the server once; callers keep the answer for the connection's lifetime.
    pub fn detect(client: &mut postgres::Client) -> Result<Flavour> {
        Ok(Server::detect(client)?.flavour)
    }
}

/// What chunkload needs to know of the server, read once from `SELECT version()`: its
/// flavour and, on CockroachDB, its `vMAJOR.MINOR.PATCH` (which decides the retry path,
/// [`RetryPath::for_cockroach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// PostgreSQL or CockroachDB.
    pub flavour: Flavour,
    /// CockroachDB's version; `None` on PostgreSQL or when `version()` has none.
    pub version: Option<(u32, u32, u32)>,
}

impl Server {
    /// Reads the text of `SELECT version()`.
    pub fn from_version(version: &str) -> Server {
        Server {
            flavour: Flavour::from_version(version),
            version: Flavour::cockroach_version(version),
        }
    }

    /// Asks the server once; callers keep the answer for the connection's lifetime.
    pub fn detect(client: &mut postgres::Client) -> Result<Server> {
        let row = client.query_one("SELECT version()", &[])?;
        Ok(Server::from_version(row.get::<_, &str>(0)))
    }

    /// How a transaction on this server is retried after a 40001.
    pub fn retry_path(self) -> RetryPath {
        RetryPath::of(self.flavour, self.version)
    }
}

impl From<Flavour> for Server {
    /// A server known only by its flavour: on CockroachDB an unknown version, which takes
    /// the safe retry path.
    fn from(flavour: Flavour) -> Server {
        Server {
            flavour,
            version: None,
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_version_strings_are_parsed_leniently() {
        let cases = [
            ("CockroachDB CCL v23.1.2 (x86_64-apple-darwin19, built 2023/05/25 16:10:39, go1.19.4)", (23, 1, 2)),
            ("CockroachDB CCL v24.3.1 (aarch64-unknown-linux-gnu, built 2024/12/09 15:34:39, go1.22.8 X:nocoverageredesign)", (24, 3, 1)),
            ("CockroachDB OSS v22.1.0 (x86_64-pc-linux-gnu, built 2022/05/23 16:27:47, go1.17.6)", (22, 1, 0)),
            ("CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built 2024/04/05 17:36:42, go1.21.9 X:nocoverageredesign)", (23, 2, 4)),
            ("CockroachDB CCL v25.2.0-beta.1 (x86_64-pc-linux-gnu, built 2025/04/14, go1.23.7)", (25, 2, 0)),
        ];
        for (v, number) in cases {
            assert_eq!(Flavour::from_version(v), Flavour::Cockroach, "{v}");
            assert_eq!(Flavour::cockroach_version(v), Some(number), "{v}");
        }
        for v in [
            "PostgreSQL 16.4 (Ubuntu 16.4-1.pgdg22.04+1) on x86_64-pc-linux-gnu, compiled by gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, 64-bit",
            "PostgreSQL 13.0.0",
            "",
        ] {
            assert_eq!(Flavour::from_version(v), Flavour::Postgres, "{v}");
            assert_eq!(Flavour::cockroach_version(v), None, "{v}");
        }
    }

    #[test]
    fn chunk_defaults_follow_the_flavour() {
        let pg = Flavour::Postgres.chunk_defaults();
        assert_eq!((pg.max_bytes, pg.max_rows), (CHUNK_BYTES, usize::MAX));
        let crdb = Flavour::Cockroach.chunk_defaults();
        assert_eq!((crdb.max_bytes, crdb.max_rows), (1 << 20, 10_000));
        // Inside the intent budget as probed by default, far under the raft command limit.
        assert!(crdb.max_bytes as u64 <= crate::load::DEFAULT_MAX_INTENTS_BYTES / 2);
        for l in [pg, crdb] {
            assert!(l.validate().is_ok());
            assert!(l.max_bytes < 64 << 20 && l.max_bytes < l.max_message);
            assert_eq!(l.max_params, 65_535);
        }
    }

    #[test]
    fn version_strings_pick_the_flavour() {
        assert_eq!(
            Flavour::from_version("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)"),
            Flavour::Cockroach
        );
        assert_eq!(
            Flavour::from_version("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64"),
            Flavour::Postgres
        );
    }

    /// The functions the CockroachDB flavour calls, each with where CockroachDB documents
    /// it. Checked against `docs/generated/sql/functions.md` of cockroachdb/cockroach
    /// (the generated list of builtins, by section), except where said otherwise.
    const COCKROACH_FUNCTIONS: &[(&str, &str)] = &[
        ("array_position", "functions.md, Array functions"),
        ("cardinality", "functions.md, Array functions"),
        ("current_database", "functions.md, System info functions"),
        ("current_schemas", "functions.md, System info functions"),
        (
            "current_setting",
            "functions.md, Compatibility functions; ledger::home reads the session variable \
             transaction_read_only (docs session variables); load::cap_workers and \
             commit::durability call it on PostgreSQL only",
        ),
        (
            "extract",
            "functions.md, Date and time functions (timestamptz, interval; epoch)",
        ),
        ("format_type", "functions.md, Compatibility functions"),
        (
            "has_database_privilege",
            "functions.md, Compatibility functions (name overload, 'CREATE': logic test \
             privilege_builtins)",
        ),
        (
            "has_schema_privilege",
            "functions.md, Compatibility functions (oid overload)",
        ),
        (
            "has_table_privilege",
            "functions.md, Compatibility functions (oid overload; NULL for index OIDs)",
        ),
        ("now", "functions.md, Date and time functions"),
        ("to_regclass", "functions.md, System info functions"),
        (
            "unnest",
            "functions.md, Set-returning functions (WITH ORDINALITY: SQL syntax)",
        ),
        ("version", "functions.md, System info functions"),
        (
            "coalesce",
            "a conditional expression, not a builtin: functions-and-operators docs",
        ),
        (
            "greatest",
            "a conditional expression, not a builtin: functions-and-operators docs",
        ),
        ("count", "aggregates.md (not checked line by line)"),
        ("max", "aggregates.md (not checked line by line)"),
        ("min", "aggregates.md (not checked line by line)"),
        ("sum", "aggregates.md (not checked line by line)"),
        ("array", "ARRAY(subquery): SQL syntax"),
        // Not in functions.md, though CockroachDB implements it (the guide: "prints a
        // PostgreSQL-style definition without storage parameters"): --defer-indexes only.
        (
            "pg_get_indexdef",
            "NOT in functions.md: implemented, undocumented (--defer-indexes)",
        ),
    ];

    /// Functions in the SQL of PostgreSQL-only paths, never sent to CockroachDB.
    const POSTGRES_ONLY: &[(&str, &str)] = &[
        ("set_config", "commit::durability, PostgreSQL only"),
        ("txid_current", "commit::durability, PostgreSQL only"),
        ("pg_get_constraintdef", "load::indexes, PostgreSQL only"),
    ];

    /// Words followed by `(` in SQL text that are no function calls.
    const NOT_CALLS: &[&str] = &[
        "any", "exists", "filter", "in", "values", "using", "key", "k",
    ];

    /// The string literals of Rust source `src` (normal and raw), comments skipped.
    fn literals(src: &str) -> Vec<String> {
        let b = src.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < b.len() {
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'\'' => {
                    // A char literal ('"', '\\'') or a lifetime.
                    match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                        (Some(b'\\'), _, _) => {
                            i += 2;
                            while i < b.len() && b[i] != b'\'' {
                                i += 1;
                            }
                            i += 1;
                        }
                        (Some(_), Some(b'\''), _) => i += 3,
                        _ => i += 1,
                    }
                }
                b'r' if (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
                    && matches!(b.get(i + 1), Some(b'#') | Some(b'"')) =>
                {
                    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                    let start = i + 1 + hashes + 1;
                    let end: String = std::iter::once('"')
                        .chain("#".repeat(hashes).chars())
                        .collect();
                    let len = src[start..].find(&end).unwrap_or(src.len() - start);
                    out.push(src[start..start + len].to_string());
                    i = start + len + end.len();
                }
                b'"' => {
                    let start = i + 1;
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    out.push(src[start..i.min(b.len())].to_string());
                    i += 1;
                }
                _ => i += 1,
            }
        }
        out
    }

    /// The names called in SQL text `sql` (`name(`, no space), lower case.
    fn calls(sql: &str) -> Vec<String> {
        let b = sql.as_bytes();
        let mut out = Vec::new();
        for (at, _) in sql.match_indices('(') {
            let start = b[..at]
                .iter()
                .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map_or(0, |p| p + 1);
            let name = &sql[start..at];
            // `{placeholder}(` and `schema.f(` qualifiers are not names of their own.
            let qualified = start > 0 && matches!(b[start - 1], b'.' | b'}');
            if !name.is_empty() && !qualified && !name.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(name.to_ascii_lowercase());
            }
        }
        out
    }

    /// Whether a literal is SQL: it has an upper-case statement or clause keyword.
    fn is_sql(lit: &str) -> bool {
        const WORDS: [&str; 9] = [
            "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "WHERE", "FROM", "SET",
        ];
        lit.split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| WORDS.contains(&w))
    }

    #[test]
    fn sql_calls_only_functions_cockroachdb_has_and_no_named_arguments() {
        // The SQL of the crate (fails on make_interval(secs => ...) and to_char(ts, fmt),
        // which chunkload sent before), less the test harness's stand-in (PostgreSQL-only
        // DDL) and the DDL chunkload prints or writes for users (types and keys, no calls).
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root.clone()];
        let mut sources = Vec::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(&root).unwrap().display().to_string();
                // The strict stand-in's own SQL runs on PostgreSQL, and its sources name
                // what CockroachDB refuses.
                let standin = rel.starts_with("standin/");
                if !standin && !["cluster.rs", "dataset/mod.rs", "infer.rs"].contains(&rel.as_str())
                {
                    sources.push((rel, std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        assert!(
            sources.len() > 30,
            "read the crate's sources: {}",
            sources.len()
        );
        let known = |f: &str| {
            COCKROACH_FUNCTIONS
                .iter()
                .chain(POSTGRES_ONLY)
                .any(|(n, _)| *n == f)
                || NOT_CALLS.contains(&f)
        };
        let mut unknown = Vec::new();
        for (file, src) in &sources {
            // Unit tests' SQL is not sent by the flavour.
            let code = src.split("#[cfg(test)]").next().unwrap_or_default();
            for sql in literals(code).into_iter().filter(|l| is_sql(l)) {
                // CockroachDB does not parse named arguments (cockroach#122264).
                assert!(!sql.contains("=>"), "{file}: named argument in {sql:?}");
                for f in calls(&sql) {
                    if !known(&f) {
                        unknown.push(format!("{file}: {f}( in {sql:?}"));
                    }
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "functions not checked against CockroachDB:\n{}",
            unknown.join("\n")
        );
        // make_interval is no CockroachDB builtin; to_char(timestamp, format) is not
        // documented there either: both are gone.
        assert!(!known("make_interval") && !known("to_char"));
        // The scanner itself.
        assert_eq!(
            calls("SELECT now() - x, {t}(a), s.f(b), coalesce(y, 0)"),
            ["now", "coalesce"]
        );
        let src = "let a = '\"'; f(\"SELECT now()\"); // \"no\"\nr#\"x \"q\" y\"#";
        assert_eq!(literals(src), ["SELECT now()", "x \"q\" y"]);
    }
}
