//! What a load is asked to do: inputs, target, dialect, bounds and fault tolerance.

use crate::chunk::ChunkLimits;
use crate::commit::{Method, SyncCommit};
use crate::encode::{DateOrder, TypeHint};
use crate::flavour::Flavour;
use crate::interrupt::Interrupt;
use crate::ledger::LedgerSchema;
use crate::report::{Event, Notice, Observer, Silent, Topic};
use crate::retry::RetryPolicy;
use crate::source::{Compression, Dialect, DialectSpec};
use crate::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// Everything a load needs, validated.
#[derive(Clone)]
pub struct LoadConfig {
    /// Input files in order (`-` is stdin).
    pub files: Vec<String>,
    /// Target table, `table` or `schema.table`.
    pub table: String,
    /// Target columns of a headerless file, or the header columns to load, in order.
    pub columns: Option<Vec<String>>,
    /// CSV dialect.
    pub dialect: Dialect,
    /// Forced decompression (otherwise detected from the first bytes).
    pub compression: Option<Compression>,
    /// Source bytes per chunk; `None`: the server flavour's default, resolved at connect
    /// time ([`Flavour::chunk_defaults`]).
    pub chunk_bytes: Option<usize>,
    /// Records per chunk; `None`: the server flavour's default.
    pub chunk_rows: Option<usize>,
    /// Transport; `None`: the server flavour's default, resolved at connect time
    /// ([`LoadConfig::method_for`]): COPY on PostgreSQL, INSERT on CockroachDB.
    pub method: Option<Method>,
    /// Empty the table first, once per load: on PostgreSQL in the first chunk's
    /// transaction, on CockroachDB as a step of its own before any chunk, recorded in the
    /// ledger (`load::truncate`).
    pub truncate: bool,
    /// Writer connections.
    pub workers: usize,
    /// Retry policy of each chunk transaction.
    pub retry: RetryPolicy,
    /// Bad rows tolerated before the load stops (0: the first one fails it).
    pub max_errors: u64,
    /// Where bad rows go (default `<first input>.rejects.csv`).
    pub reject_file: Option<String>,
    /// Explicit load id (otherwise derived from the input and options).
    pub load_id: Option<String>,
    /// Start a new load instead of resuming.
    pub fresh: bool,
    /// Total time to keep reconnecting after a lost connection.
    pub reconnect_timeout: Duration,
    /// Receives the load's events: what it decided, warnings, when the pipeline runs
    /// (with its counters, for progress). [`Silent`] by default.
    pub observer: Arc<dyn Observer>,
    /// Write a ledger row in each chunk's transaction (off only to measure its cost:
    /// without it a rerun or an ambiguous commit can duplicate rows).
    pub ledger: bool,
    /// Schema of the bookkeeping tables (`--ledger-schema`), created on first use.
    pub ledger_schema: LedgerSchema,
    /// For tables created from an inferred schema: advice appended to conversion errors,
    /// given the column's type (e.g. "inferred from the first 10000 rows; ...").
    pub type_hint: Option<TypeHint>,
    /// Drop the empty table's indexes (and on PostgreSQL its keys) for the load and
    /// rebuild them at its end (see `load::indexes`).
    pub defer_indexes: bool,
    /// Whether chunk commits wait for the disk (the load's last commit always does).
    pub synchronous_commit: SyncCommit,
    /// Raised from outside (a signal handler) to stop the load between chunks.
    pub interrupt: Interrupt,
    /// Numbers are written with a decimal comma (`1.234,5` is 1234.5): their commas
    /// become points and their dots go, for number columns only.
    pub decimal_comma: bool,
    /// Numeric dates are in this order (`--date-order`, or found by inference): such
    /// values are rewritten as `YYYY-MM-DD` in date and timestamp columns, so no session
    /// `DateStyle` reads them otherwise. `None` leaves them to the server's `DateStyle`.
    pub date_order: Option<DateOrder>,
    /// `--check`: run the whole load against the real table, bad rows isolated into the
    /// reject file, and commit nothing (no rows, no ledger). On PostgreSQL one
    /// transaction on one connection, each chunk in a savepoint released on success, so
    /// a key repeated anywhere in the file is found; on CockroachDB one rolled-back
    /// transaction per chunk, so a key repeated in two chunks is not.
    pub check: bool,
    /// This run created the table (`--create-table`): creating it is part of the load, so
    /// a load that commits no row drops it again and forgets its ledger entry.
    pub created_table: bool,
}

impl LoadConfig {
    /// Defaults for `files` into `table`.
    pub fn new(files: Vec<String>, table: &str) -> LoadConfig {
        LoadConfig {
            files,
            table: table.to_string(),
            columns: None,
            dialect: Dialect::default(),
            compression: None,
            chunk_bytes: None,
            chunk_rows: None,
            method: None,
            truncate: false,
            workers: 2,
            retry: RetryPolicy::default(),
            max_errors: 0,
            reject_file: None,
            load_id: None,
            fresh: false,
            reconnect_timeout: Duration::from_secs(120),
            observer: Arc::new(Silent),
            ledger: true,
            ledger_schema: LedgerSchema::default(),
            type_hint: None,
            defer_indexes: false,
            synchronous_commit: SyncCommit::On,
            interrupt: Interrupt::new(),
            decimal_comma: false,
            date_order: None,
            check: false,
            created_table: false,
        }
    }

    /// Sets `dialect` to `spec`'s given parts and what the first file shows for the
    /// others (`source::detect_dialect`), `decimal_comma` to the spec's or, found in a
    /// `;`-separated file, on, and says what was found in a [`Topic::Dialect`] note. The same bytes give the same dialect, so a rerun derives the same load id.
    pub fn find_dialect(&mut self, spec: &DialectSpec) -> Result<()> {
        let first = self
            .files
            .first()
            .ok_or_else(|| Error::usage("no input files"))?;
        let found = crate::source::detect_dialect(first, self.compression, spec)?;
        if let Some(text) = found.describe(first) {
            let note = Notice {
                topic: Topic::Dialect,
                text,
            };
            self.observer.event(&Event::Note(note));
        }
        self.dialect = found.dialect;
        match spec.decimal_comma {
            Some(given) => self.decimal_comma = given,
            None => self.decimal_comma |= found.decimal_comma,
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.files.is_empty() {
            return Err(Error::usage("no input files"));
        }
        if self.workers == 0 {
            return Err(Error::usage("--workers must be at least 1"));
        }
        if self.defer_indexes && self.method == Some(Method::Upsert) {
            return Err(Error::usage(
                "--defer-indexes cannot go with --method upsert: an upsert finds its rows \
                 through the primary key, which --defer-indexes drops until the end",
            ));
        }
        if self.defer_indexes && self.check {
            return Err(Error::usage(
                "--defer-indexes cannot go with --check: a check changes nothing, and the \
                 unique keys it checks against are the ones --defer-indexes would drop",
            ));
        }
        if self.chunk_bytes == Some(0) || self.chunk_rows == Some(0) {
            return Err(Error::usage(
                "the chunk bytes and rows limits must be at least 1",
            ));
        }
        self.retry.validate()
    }

    /// The method a load of this config uses on `flavour`: the one asked for, else the
    /// flavour's default (COPY on PostgreSQL, INSERT on CockroachDB). COPY on CockroachDB is
    /// a usage error, said before anything is written: CockroachDB refuses `COPY FROM
    /// STDIN` over the extended protocol (cockroach#41120), which the Rust driver always
    /// uses for it.
    pub fn method_for(&self, flavour: Flavour) -> Result<Method> {
        match (self.method, flavour) {
            (Some(Method::Copy), Flavour::Cockroach) => Err(Error::usage(COPY_ON_COCKROACH)),
            (Some(m), _) => Ok(m),
            (None, Flavour::Postgres) => Ok(Method::Copy),
            (None, Flavour::Cockroach) => Ok(Method::Insert),
        }
    }

    /// The method in force: the one resolved by [`LoadConfig::with_chunk_defaults`] (COPY
    /// for a config not resolved yet, as on PostgreSQL).
    pub(crate) fn method(&self) -> Method {
        self.method.unwrap_or(Method::Copy)
    }

    /// This config with its method resolved ([`LoadConfig::method_for`]) and the chunk
    /// bounds it leaves open set to `flavour`'s defaults: a load resolves them once, when
    /// it knows the server.
    /// INSERT and upsert keep every value of a chunk as a bind parameter as well, about
    /// twice copy's memory per source byte, so their default is half the bytes: a 166 MB
    /// `wide` load peaked at 131 MiB at 1 MiB and 71 MiB at 512 KiB, no slower
    /// (BENCHMARKS.md, "The defaults, and why").
    pub(crate) fn with_chunk_defaults(&self, flavour: Flavour) -> Result<LoadConfig> {
        let defaults = flavour.chunk_defaults();
        let mut cfg = self.clone();
        let method = self.method_for(flavour)?;
        cfg.method = Some(method);
        let bytes = match method {
            Method::Copy => defaults.max_bytes,
            Method::Insert | Method::Upsert => defaults.max_bytes / 2,
        };
        cfg.chunk_bytes.get_or_insert(bytes);
        cfg.chunk_rows.get_or_insert(defaults.max_rows);
        Ok(cfg)
    }

    /// The chunk limits in force (PostgreSQL's defaults for bounds still open, which
    /// [`LoadConfig::with_chunk_defaults`] has closed before a load reads): INSERT also
    /// bounds bind parameters per statement.
    pub(crate) fn effective_limits(&self) -> ChunkLimits {
        let defaults = Flavour::Postgres.chunk_defaults();
        let mut l = ChunkLimits {
            max_bytes: self.chunk_bytes.unwrap_or(defaults.max_bytes),
            max_rows: self.chunk_rows.unwrap_or(defaults.max_rows),
            ..defaults
        };
        if self.method() == Method::Copy {
            l.max_params = usize::MAX;
        }
        l
    }
}

/// Why `--method copy` is refused on CockroachDB.
pub const COPY_ON_COCKROACH: &str = "--method copy cannot load into CockroachDB: it refuses \
     COPY FROM STDIN sent over the extended protocol (\"CopyFrom not supported in extended \
     protocol mode\", cockroach#41120), which the Rust driver always uses for COPY, and its \
     docs say COPY needs the admin role; nothing was written. Use --method insert (the \
     default on CockroachDB) or --method upsert";

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LoadConfig {
        LoadConfig::new(vec!["a.csv".into()], "t")
    }

    #[test]
    fn insert_and_upsert_default_to_half_the_chunk_bytes_of_copy() {
        let mut cfg = config();
        let copy = cfg
            .with_chunk_defaults(Flavour::Postgres)
            .unwrap()
            .chunk_bytes
            .unwrap();
        for method in [Method::Insert, Method::Upsert] {
            cfg.method = Some(method);
            let b = cfg
                .with_chunk_defaults(Flavour::Postgres)
                .unwrap()
                .chunk_bytes;
            assert_eq!(b, Some(copy / 2));
        }
        cfg.chunk_bytes = Some(4096);
        assert_eq!(
            cfg.with_chunk_defaults(Flavour::Postgres)
                .unwrap()
                .chunk_bytes,
            Some(4096)
        );
    }

    #[test]
    fn defer_indexes_refuses_upsert_and_check() {
        let mut cfg = config();
        cfg.defer_indexes = true;
        assert!(cfg.validate().is_ok());
        cfg.method = Some(Method::Upsert);
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("--method upsert"), "{e}");
        cfg.method = Some(Method::Copy);
        cfg.check = true;
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("--check"), "{e}");
    }

    #[test]
    fn cockroachdb_loads_by_insert_and_refuses_copy() {
        let mut cfg = config();
        // The default follows the server.
        assert_eq!(cfg.method_for(Flavour::Postgres).unwrap(), Method::Copy);
        assert_eq!(cfg.method_for(Flavour::Cockroach).unwrap(), Method::Insert);
        let crdb = cfg.with_chunk_defaults(Flavour::Cockroach).unwrap();
        assert_eq!(crdb.method, Some(Method::Insert));
        // INSERT's bounds: half the bytes, 10 000 rows, the 65 535 bind parameters.
        assert_eq!(crdb.chunk_bytes, Some(512 << 10));
        assert_eq!(crdb.chunk_rows, Some(10_000));
        assert_eq!(crdb.effective_limits().max_params, 65_535);
        // Asked for, COPY is a usage error (exit 2) that says why and what to use.
        cfg.method = Some(Method::Copy);
        assert_eq!(cfg.method_for(Flavour::Postgres).unwrap(), Method::Copy);
        for e in [
            cfg.method_for(Flavour::Cockroach).unwrap_err(),
            cfg.with_chunk_defaults(Flavour::Cockroach).err().unwrap(),
        ] {
            assert_eq!(e.outcome(), crate::error::Outcome::Usage);
            let msg = e.to_string();
            for part in [
                "extended protocol",
                "cockroach#41120",
                "--method insert",
                "--method upsert",
            ] {
                assert!(msg.contains(part), "{part}: {msg}");
            }
        }
        for m in [Method::Insert, Method::Upsert] {
            cfg.method = Some(m);
            assert_eq!(cfg.method_for(Flavour::Cockroach).unwrap(), m);
        }
    }
}
