//! The library's one entry point: a load built step by step, checked when built, then run.

use super::config::LoadConfig;
use crate::commit::Method;
use crate::connect::Connect;
use crate::interrupt::Interrupt;
use crate::ledger::LedgerSchema;
use crate::report::{Observer, Summary};
use crate::retry::RetryPolicy;
use crate::source::Dialect;
use crate::Result;
use std::sync::Arc;
use std::time::Duration;

/// A load of CSV files into one table, exactly once: built with [`Loader::builder`],
/// checked by [`LoaderBuilder::build`], run by [`Loader::run`] (again, after an
/// interruption, to resume it).
///
/// ```no_run
/// use chunkload::connect::ConnectOptions;
/// use chunkload::Loader;
///
/// let db = ConnectOptions::parse("postgres://app@localhost/shop")?;
/// let summary = Loader::builder(db, "orders")
///     .file("orders-2024.csv.gz")
///     .max_errors(100)
///     .build()?
///     .run()?;
/// println!("{} rows in {:.1} s", summary.rows, summary.elapsed_secs);
/// # Ok::<(), chunkload::Error>(())
/// ```
#[derive(Clone)]
pub struct Loader {
    cfg: LoadConfig,
    connect: Arc<dyn Connect>,
}

impl Loader {
    /// A load into `table` (`name` or `schema.name`, as SQL would read it unquoted)
    /// through connections from `connect`: a [`crate::connect::ConnectOptions`], or any
    /// `Fn(usize, u32) -> Result<postgres::Client>`.
    pub fn builder(connect: impl Connect + 'static, table: &str) -> LoaderBuilder {
        LoaderBuilder {
            cfg: LoadConfig::new(Vec::new(), table),
            connect: Arc::new(connect),
        }
    }

    /// Runs the load: every record of the files committed once (or rejected), whatever
    /// earlier runs of the same load committed. Returns what this run did.
    pub fn run(&self) -> Result<Summary> {
        super::run(&self.cfg, self.connect.clone())
    }

    /// The settings the load runs with.
    pub fn config(&self) -> &LoadConfig {
        &self.cfg
    }
}

/// The settings of a [`Loader`]. Each has a default that suits a first load: the
/// server's method (COPY on PostgreSQL, INSERT on CockroachDB), its chunk bounds, two
/// writer connections, the first bad row fatal, no observer.
///
/// Messages and events name a setting by its command-line flag (`--max-errors`), the
/// name `docs/guide.md` documents; each setter's doc ends with its flag.
#[must_use]
pub struct LoaderBuilder {
    cfg: LoadConfig,
    connect: Arc<dyn Connect>,
}

impl LoaderBuilder {
    /// Adds an input file, in load order: CSV, gzip or zstd (found from its first bytes);
    /// `-` is stdin.
    pub fn file(mut self, path: impl Into<String>) -> Self {
        self.cfg.files.push(path.into());
        self
    }

    /// Adds input files, in order.
    pub fn files<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.cfg.files.extend(paths.into_iter().map(Into::into));
        self
    }

    /// The target columns: of a headerless file, in field order; of a file with a header,
    /// the header's columns to load. Default: the header's names (or every column of the
    /// table, in order, for a headerless file).
    pub fn columns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.cfg.columns = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The CSV dialect (delimiter, quote, escape, header, NULL text). Default: PostgreSQL's
    /// CSV COPY with a header. Flags: `--delimiter`, `--quote`, `--escape`, `--header`,
    /// `--null`.
    ///
    /// ```
    /// use chunkload::source::Dialect;
    /// # let db = chunkload::connect::ConnectOptions::parse("postgres://localhost/db")?;
    /// let tsv = Dialect { delimiter: b'\t', ..Dialect::default() };
    /// let load = chunkload::Loader::builder(db, "t").file("t.tsv").dialect(tsv).build()?;
    /// # Ok::<(), chunkload::Error>(())
    /// ```
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.cfg.dialect = dialect;
        self
    }

    /// The files' encoding, converted to UTF-8 as they are read (the dialect's
    /// [`Dialect::encoding`]; set it after [`LoaderBuilder::dialect`]). Default: UTF-8, or
    /// UTF-16 when a byte order mark says so. Flag: `--encoding`.
    ///
    /// ```
    /// # let db = chunkload::connect::ConnectOptions::parse("postgres://localhost/db")?;
    /// let latin1 = "LATIN1".parse()?;
    /// let load = chunkload::Loader::builder(db,
    /// "t").file("t.csv").encoding(latin1).build()?;
    /// # Ok::<(), chunkload::Error>(())
    /// ```
    pub fn encoding(mut self, encoding: crate::source::Encoding) -> Self {
        self.cfg.dialect.encoding = Some(encoding);
        self
    }

    /// Numbers are written with a decimal comma (`1.234,5` is 1234.5, `12,5` is 12.5), as
    /// in a `;`-separated file from a European Excel. Default: off. Flag:
    /// `--decimal-comma`.
    pub fn decimal_comma(mut self, on: bool) -> Self {
        self.cfg.decimal_comma = on;
        self
    }

    /// Numeric dates are in `order` (`13/01/2024` under [`DateOrder::Dmy`]): they are
    /// rewritten as `2024-01-13` before they are sent, whatever the session's
    /// `DateStyle`. Default: none (the server's `DateStyle` reads them). Flag:
    /// `--date-order`.
    ///
    /// [`DateOrder::Dmy`]: crate::encode::DateOrder::Dmy
    pub fn date_order(mut self, order: crate::encode::DateOrder) -> Self {
        self.cfg.date_order = Some(order);
        self
    }

    /// How rows travel: [`Method::Copy`], [`Method::Insert`] or [`Method::Upsert`].
    /// Default: COPY on PostgreSQL, INSERT on CockroachDB (which refuses the driver's
    /// COPY). Flag: `--method`.
    pub fn method(mut self, method: Method) -> Self {
        self.cfg.method = Some(method);
        self
    }

    /// Source bytes per chunk transaction (each chunk closes before a record would pass
    /// it). Default: the server's (1 MiB for COPY; on CockroachDB under half its
    /// transaction intent budget). Flag: `--chunk-bytes`.
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.cfg.chunk_bytes = Some(bytes);
        self
    }

    /// Records per chunk transaction. Default: the server's (10 000 on CockroachDB). Flag:
    /// `--chunk-rows`.
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.cfg.chunk_rows = Some(rows);
        self
    }

    /// Writer connections, each committing its own chunks. Default: 2. Flag: `--workers`.
    pub fn workers(mut self, workers: usize) -> Self {
        self.cfg.workers = workers;
        self
    }

    /// Empties the table once, before the load's first rows (not again on a rerun that
    /// resumes it). Default: off. Flag: `--truncate`.
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.cfg.truncate = truncate;
        self
    }

    /// Bad rows tolerated, each written to the reject file with its line and error,
    /// before the load stops. Default: 0 (the first bad row stops the load; the chunks
    /// before it stay committed, and a rerun resumes). Flag: `--max-errors`.
    pub fn max_errors(mut self, rows: u64) -> Self {
        self.cfg.max_errors = rows;
        self
    }

    /// Where rejected rows go. Default: `<first input>.rejects.csv`. Flag: `--reject-file`.
    pub fn reject_file(mut self, path: impl Into<String>) -> Self {
        self.cfg.reject_file = Some(path.into());
        self
    }

    /// Names the load, so a rerun fed the same input (stdin too) resumes it. Default: an
    /// id derived from the files, the table, the columns and the dialect. Flag:
    /// `--load-id`.
    pub fn load_id(mut self, id: impl Into<String>) -> Self {
        self.cfg.load_id = Some(id.into());
        self
    }

    /// Starts a new load instead of resuming an earlier run's. Default: off. Flag:
    /// `--fresh`.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.cfg.fresh = fresh;
        self
    }

    /// Retries of each chunk's transaction after a serialization failure (40001).
    /// Default: [`RetryPolicy::default`]. Flags: `--max-attempts` and the backoff flags.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.cfg.retry = policy;
        self
    }

    /// How long to keep reconnecting after a connection is lost mid-load. Default: 120 s.
    /// The load's first connection is never retried. Flag: `--reconnect-timeout`.
    pub fn reconnect_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.reconnect_timeout = timeout;
        self
    }

    /// The schema of the bookkeeping tables. Default: `chunkload`. Flag: `--ledger-schema`.
    pub fn ledger_schema(mut self, schema: LedgerSchema) -> Self {
        self.cfg.ledger_schema = schema;
        self
    }

    /// Drops the empty table's indexes (and on PostgreSQL its keys) for the load and
    /// rebuilds them at its end. Default: off. Flag: `--defer-indexes`.
    pub fn defer_indexes(mut self, defer: bool) -> Self {
        self.cfg.defer_indexes = defer;
        self
    }

    /// Runs the whole load against the table and commits nothing: the summary says what
    /// a load would load and reject. Default: off. Flag: `--check`.
    pub fn check(mut self, check: bool) -> Self {
        self.cfg.check = check;
        self
    }

    /// Receives the load's [`crate::report::Event`]s: notes, warnings, and the counters
    /// to draw progress from. Default: [`crate::report::Silent`].
    ///
    /// ```
    /// use chunkload::report::Event;
    /// # let db = chunkload::connect::ConnectOptions::parse("postgres://localhost/db")?;
    /// let load = chunkload::Loader::builder(db, "t")
    ///     .file("t.csv")
    ///     .observer(|e: &Event| {
    ///         if let Event::Warning(w) = e {
    ///             eprintln!("warning: {w}");
    ///         }
    ///     })
    ///     .build()?;
    /// # Ok::<(), chunkload::Error>(())
    /// ```
    pub fn observer(mut self, observer: impl Observer + 'static) -> Self {
        self.cfg.observer = Arc::new(observer);
        self
    }

    /// Stops the load between chunks when raised (from a signal handler, another
    /// thread): what is committed stays, and a rerun resumes. Default: never raised.
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.cfg.interrupt = interrupt;
        self
    }

    /// Checks the settings (an input, at least one worker, non-zero bounds, options that
    /// go together) without reaching the server.
    pub fn build(self) -> Result<Loader> {
        self.cfg.validate()?;
        Ok(Loader {
            cfg: self.cfg,
            connect: self.connect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn never(_: usize, _: u32) -> Result<postgres::Client> {
        unreachable!("building a load does not connect")
    }

    #[test]
    fn build_checks_settings_without_connecting() {
        let e = Loader::builder(never, "t").build().err().unwrap();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{e}");
        assert!(e.to_string().contains("no input files"), "{e}");
        let e = Loader::builder(never, "t")
            .file("a.csv")
            .workers(0)
            .build()
            .err()
            .unwrap();
        assert!(e.to_string().contains("at least 1"), "{e}");
        let e = Loader::builder(never, "t")
            .file("a.csv")
            .defer_indexes(true)
            .method(Method::Upsert)
            .build()
            .err()
            .unwrap();
        assert!(e.to_string().contains("upsert"), "{e}");
    }

    #[test]
    fn setters_land_in_the_config() {
        let load = Loader::builder(never, "s.t")
            .files(["a.csv", "b.csv.gz"])
            .file("-")
            .columns(["id", "name"])
            .method(Method::Insert)
            .chunk_bytes(4096)
            .chunk_rows(10)
            .workers(3)
            .max_errors(7)
            .load_id("nightly")
            .truncate(true)
            .build()
            .unwrap();
        let c = load.config();
        assert_eq!(c.files, ["a.csv", "b.csv.gz", "-"]);
        assert_eq!(c.table, "s.t");
        assert_eq!(
            c.columns.as_deref(),
            Some(&["id".into(), "name".into()][..])
        );
        assert_eq!(c.method, Some(Method::Insert));
        assert_eq!((c.chunk_bytes, c.chunk_rows), (Some(4096), Some(10)));
        assert_eq!((c.workers, c.max_errors), (3, 7));
        assert_eq!(c.load_id.as_deref(), Some("nightly"));
        assert!(c.truncate && !c.fresh && !c.check);
    }
}
