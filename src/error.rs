//! Typed errors with the position of the offending input.
//!
//! Like the `csv` crate, the error is a boxed kind so `Result<T>` stays one word wide, and
//! every data error carries a [`Location`]: file, line, byte offset, record number and,
//! where known, the column. [`Error::outcome`] is the one place that classifies an error
//! by what it left behind ([`Outcome`]); the command line maps outcomes to exit codes.

use std::fmt;
use std::io;

/// Where a record starts in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// 1-based line on which the record starts (header included in the count).
    pub line: u64,
    /// 0-based byte offset of the record's first byte in the (decompressed) input.
    pub byte: u64,
    /// 1-based data record number (the header is record 0).
    pub record: u64,
}

/// A position in a named input, optionally narrowed to one column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The input's name as the user gave it (`-` for stdin).
    pub file: String,
    /// Where the record starts.
    pub pos: Position,
    /// The target column, when the error concerns one field.
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: line {}, byte {}, record {}",
            self.file, self.pos.line, self.pos.byte, self.pos.record
        )?;
        if let Some(c) = &self.column {
            write!(f, ", column \"{c}\"")?;
        }
        Ok(())
    }
}

/// The error type of every fallible function of the library.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    /// Rows that stay committed (or were rejected) when a load stopped on this error:
    /// the difference between a failed load and a partial one.
    committed: u64,
    /// Raised by `--check`, which writes nothing: the message says so.
    checked: bool,
}

/// How a failed run left things, for the caller to act on: the command line maps each
/// to its exit code, a program to its own retry or alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The load failed on its data (or the server refused it); nothing was committed.
    Data,
    /// A mistake in the request (options, paths, a changed input or table), a missing
    /// privilege, a read-only database or no connection; nothing was committed.
    Usage,
    /// The load stopped after committing or rejecting some rows; running it again
    /// resumes it.
    Partial,
    /// Every row is loaded, but a deferred index or constraint could not be rebuilt (a
    /// duplicate key); fixing the rows and running again rebuilds it.
    Rebuild,
    /// Stopped from outside, by this signal number (or an [`crate::interrupt::Interrupt`]
    /// raised with it); what was committed stays.
    Stopped {
        /// The signal: 1 hangup, 2 interrupt, 15 terminate.
        signal: i32,
    },
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named for what they hold
pub enum ErrorKind {
    /// Malformed CSV: unterminated quote, invalid UTF-8, wrong number of fields.
    Parse { loc: Location, msg: String },
    /// A field that does not convert to its column's type.
    Convert {
        loc: Location,
        ty: String,
        value: String,
        msg: String,
    },
    /// Reading or writing a local file failed.
    Io { path: String, source: io::Error },
    /// The reject file could not be written once rows were rejected (a full disk, a
    /// directory gone): the rejected records are kept in the ledger and a rerun writes
    /// the file; `rows` were rejected. Never reported as written.
    RejectFile {
        path: String,
        rows: u64,
        source: io::Error,
    },
    /// Bad options or arguments; `msg` says which and why.
    Usage(String),
    /// The table, its columns or the header do not fit together.
    Schema(String),
    /// The role may not set up what chunkload needs (the ledger schema): `msg` names the
    /// missing privilege, `ddl` is what an administrator can run instead.
    Privilege { msg: String, ddl: String },
    /// The database refuses writes (`transaction_read_only`: `default_transaction_read_only`
    /// set for it or the role, or a standby), and the ledger must be written to load.
    ReadOnly(String),
    /// Could not connect; `url` is already redacted. `permanent` when retrying cannot
    /// help (see [`crate::connect::is_permanent`]). `sqlstate` is the server's, when the
    /// server refused the connection (28P01 wrong password, 3D000 no such database).
    Connect {
        url: String,
        msg: String,
        permanent: bool,
        sqlstate: Option<String>,
    },
    /// The server refused a statement with a non-retryable error.
    Db(postgres::Error),
    /// 40001 kept coming back until the attempt cap.
    RetriesExhausted {
        attempts: u32,
        last: postgres::Error,
    },
    /// The commit may or may not have happened (40003, or the connection dropped during
    /// COMMIT). Only a ledger lookup can tell.
    CommitUnknown { source: postgres::Error },
    /// The local throwaway cluster could not be started or stopped.
    Cluster(String),
    /// More bad rows than `--max-errors` allows; good chunks stay committed.
    TooManyRejects { rejected: u64, limit: u64 },
    /// A signal stopped the load; what is committed stays, and a rerun resumes.
    /// `chunks_total` is known when the reader could count the rest of the input;
    /// `rerun` says how the command must change to resume (`--fresh` left out, ...).
    Interrupted {
        signal: i32,
        chunks_committed: u64,
        chunks_total: Option<u64>,
        rows: u64,
        rerun: Rerun,
    },
    /// The data is loaded but a deferred index or constraint refused to build; the
    /// message names the keys, their source lines and how to go on.
    Rebuild(String),
    /// The server refused the rows sent from `loc` on (one row when `last_line` is
    /// `None`, its column named when COPY said which): `source` is the server's error,
    /// its SQLSTATE reachable through [`Error::sqlstate`].
    Refused {
        loc: Location,
        /// The line of the last refused row, when several were sent together.
        last_line: Option<u64>,
        /// The chunk they were sent in.
        chunk: u64,
        source: Box<Error>,
    },
    /// Anything else, described.
    Other(String),
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Consumes the error and returns its kind.
    pub fn into_kind(self) -> ErrorKind {
        self.0.kind
    }

    /// Records that `rows` stay committed (or rejected) although the load stopped here,
    /// which makes the failure a partial load.
    pub fn with_committed(mut self, rows: u64) -> Error {
        self.0.committed = rows;
        self
    }

    /// The error stopped a `--check`: its message adds that nothing was written (and
    /// too many rejects are those a real load would make).
    pub fn in_check(mut self) -> Error {
        self.0.checked = true;
        self.0.committed = 0;
        self
    }

    /// Rows that stay committed or rejected (see [`Error::with_committed`]).
    pub fn rows_committed(&self) -> u64 {
        self.0.committed
    }

    /// Shorthand for [`ErrorKind::Usage`].
    pub fn usage(msg: impl Into<String>) -> Error {
        ErrorKind::Usage(msg.into()).into()
    }

    /// Shorthand for [`ErrorKind::Schema`].
    pub fn schema(msg: impl Into<String>) -> Error {
        ErrorKind::Schema(msg.into()).into()
    }

    /// Shorthand for [`ErrorKind::Other`].
    pub fn other(msg: impl Into<String>) -> Error {
        ErrorKind::Other(msg.into()).into()
    }

    /// Shorthand for [`ErrorKind::Io`].
    pub fn io(path: impl Into<String>, source: io::Error) -> Error {
        ErrorKind::Io {
            path: path.into(),
            source,
        }
        .into()
    }

    /// Adds advice to a data error's message (what stays committed, how to go on); other
    /// errors come back unchanged.
    pub fn with_note(self, note: &str) -> Error {
        let committed = self.0.committed;
        let e: Error = match self.0.kind {
            ErrorKind::Parse { loc, msg } => ErrorKind::Parse {
                loc,
                msg: format!("{msg}{note}"),
            }
            .into(),
            ErrorKind::Convert {
                loc,
                ty,
                value,
                msg,
            } => ErrorKind::Convert {
                loc,
                ty,
                value,
                msg: format!("{msg}{note}"),
            }
            .into(),
            kind => kind.into(),
        };
        e.with_committed(committed)
    }

    /// The kind's name for scripts (`--json` error objects): `parse`, `db`, ...
    pub fn kind_name(&self) -> &'static str {
        match &self.0.kind {
            ErrorKind::Parse { .. } => "parse",
            ErrorKind::Convert { .. } => "convert",
            ErrorKind::Io { .. } => "io",
            ErrorKind::RejectFile { .. } => "reject_file",
            ErrorKind::Usage(_) => "usage",
            ErrorKind::Schema(_) => "schema",
            ErrorKind::Privilege { .. } => "privilege",
            ErrorKind::ReadOnly(_) => "read_only",
            ErrorKind::Connect { .. } => "connect",
            ErrorKind::Db(_) => "db",
            ErrorKind::RetriesExhausted { .. } => "retries_exhausted",
            ErrorKind::CommitUnknown { .. } => "commit_unknown",
            ErrorKind::Cluster(_) => "cluster",
            ErrorKind::TooManyRejects { .. } => "too_many_rejects",
            ErrorKind::Interrupted { .. } => "interrupted",
            ErrorKind::Rebuild(_) => "rebuild",
            ErrorKind::Refused { .. } => "refused",
            ErrorKind::Other(_) => "other",
        }
    }

    /// The location in the input, for data errors.
    pub fn location(&self) -> Option<&Location> {
        match &self.0.kind {
            ErrorKind::Parse { loc, .. }
            | ErrorKind::Convert { loc, .. }
            | ErrorKind::Refused { loc, .. } => Some(loc),
            _ => None,
        }
    }

    /// The server's SQLSTATE, when the server raised this error.
    pub fn sqlstate(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::Db(e)
            | ErrorKind::RetriesExhausted { last: e, .. }
            | ErrorKind::CommitUnknown { source: e } => e.code().map(|c| c.code()),
            ErrorKind::Connect { sqlstate, .. } => sqlstate.as_deref(),
            ErrorKind::Refused { source, .. } => source.sqlstate(),
            _ => None,
        }
    }

    /// How this error left things: the one place that decides it.
    pub fn outcome(&self) -> Outcome {
        // A signal says why the process stopped, whatever was committed before it.
        if let ErrorKind::Interrupted { signal, .. } = &self.0.kind {
            return Outcome::Stopped { signal: *signal };
        }
        if let ErrorKind::Rebuild(_) = &self.0.kind {
            return Outcome::Rebuild;
        }
        if self.0.committed > 0 {
            return Outcome::Partial;
        }
        match &self.0.kind {
            // Rows were rejected (and may be committed): the load is partial whatever
            // else it did, and the ledger keeps what the file was to hold.
            ErrorKind::TooManyRejects { .. } | ErrorKind::RejectFile { .. } => Outcome::Partial,
            ErrorKind::Parse { .. } | ErrorKind::Convert { .. } | ErrorKind::Schema(_) => {
                Outcome::Data
            }
            ErrorKind::Usage(_)
            | ErrorKind::Privilege { .. }
            | ErrorKind::ReadOnly(_)
            | ErrorKind::Connect { .. }
            | ErrorKind::Cluster(_) => Outcome::Usage,
            // A missing, unreadable or non-file input is a mistake in the command, not in
            // the data.
            ErrorKind::Io { source, .. }
                if matches!(
                    source.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::PermissionDenied
                        | io::ErrorKind::IsADirectory
                        | io::ErrorKind::NotADirectory
                ) =>
            {
                Outcome::Usage
            }
            ErrorKind::Db(e) if e.is_closed() || e.code().is_none() => Outcome::Usage,
            _ => Outcome::Data,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(Inner {
            kind,
            committed: 0,
            checked: false,
        }))
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        ErrorKind::Db(e).into()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0.kind, f)
    }
}

/// The server's own message, once: without the `db error: ERROR:` rust-postgres adds, with
/// the SQLSTATE, and the server's detail (`Key (id)=(5) already exists`) and hint when it
/// gave them, inside the parentheses so that text can follow.
pub fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {}", db.message(), db.code().code());
            for (label, text) in [("detail", db.detail()), ("hint", db.hint())] {
                if let Some(t) = text {
                    s.push_str(&format!(
                        "; {label}: {}",
                        t.trim_end().trim_end_matches('.')
                    ));
                }
            }
            s.push(')');
            s
        }
        None => e.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.kind, self.0.checked) {
            (ErrorKind::TooManyRejects { rejected, limit }, true) => write!(
                f,
                "{rejected} {} would be rejected, more than --max-errors {limit}; a real load \
                 stops there (--check: nothing was written)",
                plural(*rejected, "row", "rows")
            ),
            (_, true) => {
                self.describe(f)?;
                f.write_str(" (--check: nothing was written)")
            }
            (_, false) => self.describe(f),
        }
    }
}

impl Error {
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            ErrorKind::Parse { loc, msg } => write!(f, "{loc}: {msg}"),
            ErrorKind::Convert {
                loc,
                ty,
                value,
                msg,
            } => {
                write!(f, "{loc}: cannot convert {value:?} to {ty}: {msg}")
            }
            ErrorKind::Io { path, source } if is_truncated_stream(path, source) => write!(
                f,
                "{path}: the compressed input ends early (a truncated or damaged file?): {source}"
            ),
            ErrorKind::Io { path, source } => write!(f, "{path}: {source}"),
            ErrorKind::RejectFile { path, rows, source } => write!(
                f,
                "the reject file {path} could not be written ({source}); the {rows} {} kept \
                 in the ledger: make the path writable and rerun the same command to write \
                 it (nothing is loaded twice)",
                plural(*rows, "rejected row is", "rejected rows are"),
            ),
            ErrorKind::Usage(m)
            | ErrorKind::Schema(m)
            | ErrorKind::Cluster(m)
            | ErrorKind::Rebuild(m)
            | ErrorKind::ReadOnly(m) => f.write_str(m),
            ErrorKind::Other(m) => f.write_str(m),
            ErrorKind::Refused {
                loc,
                last_line: None,
                source,
                ..
            } => write!(
                f,
                "{loc}: the server rejected the row: {source}; pass --max-errors N to send bad \
                 rows to a reject file instead"
            ),
            ErrorKind::Refused {
                loc,
                last_line: Some(last),
                chunk,
                source,
            } => write!(
                f,
                "{}: lines {}–{last} (chunk {chunk}): the server rejected the rows: {source}; \
                 pass --max-errors N to isolate bad rows into a reject file instead",
                loc.file, loc.pos.line
            ),
            ErrorKind::Privilege { msg, ddl } => write!(f, "{msg}\n{ddl}"),
            ErrorKind::Connect { url, msg, .. } => write!(f, "cannot connect to {url}: {msg}"),
            ErrorKind::Db(e) => f.write_str(&db_message(e)),
            ErrorKind::RetriesExhausted { attempts, last } => write!(
                f,
                "transaction still failing after {attempts} attempts; last server error: {}",
                db_message(last)
            ),
            ErrorKind::CommitUnknown { source } => write!(
                f,
                "commit outcome unknown (the transaction may or may not have committed): {}",
                db_message(source)
            ),
            ErrorKind::TooManyRejects { rejected, limit } => write!(
                f,
                "{rejected} {} rejected, more than --max-errors {limit}; committed chunks are kept",
                plural(*rejected, "row", "rows")
            ),
            ErrorKind::Interrupted {
                chunks_committed,
                chunks_total,
                rows,
                rerun,
                ..
            } => {
                let head = committed_text(*chunks_committed, *chunks_total, *rows);
                let changes = rerun.changes(*rows);
                let how = match changes.is_empty() {
                    true => "rerun the same command".to_string(),
                    false => format!("rerun the command {changes}"),
                };
                let input = match rerun.stdin {
                    true => ", fed the same input on stdin,",
                    false => "",
                };
                write!(f, "interrupted: {head}; {how}{input} to resume")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Io { source, .. } | ErrorKind::RejectFile { source, .. } => Some(source),
            ErrorKind::Db(e)
            | ErrorKind::RetriesExhausted { last: e, .. }
            | ErrorKind::CommitUnknown { source: e } => Some(e),
            ErrorKind::Refused { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// A decoder's complaint about a compressed input that stops mid-stream.
fn is_truncated_stream(path: &str, e: &io::Error) -> bool {
    let p = path.to_ascii_lowercase();
    let compressed = [".gz", ".gzip", ".zst", ".zstd"]
        .iter()
        .any(|x| p.ends_with(x))
        || e.to_string().contains("deflate");
    compressed
        && matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput
        )
}

/// `word` or `words` as `n` asks: `1 row`, `2 rows`.
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Truncates a value for an error message so one huge field cannot flood the terminal.
pub fn truncate_value(v: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(v);
    if s.chars().count() <= max {
        s.into_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// How the command that started an interrupted load must change so that a rerun resumes
/// that load, exactly once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rerun {
    /// The load's id, when a rerun must name it (`--load-id`): a `--fresh` load and a
    /// load from stdin without `--load-id` got a random id that no rerun derives again
    /// (the derived id may even be an earlier, finished load's).
    pub load_id: Option<String>,
    /// Started with `--fresh`: a rerun leaves it out, or it would start over.
    pub fresh: bool,
    /// Started with `--truncate`: see [`Rerun::keeps_truncate`].
    pub truncate: bool,
    /// Reads stdin: a rerun must be fed the same bytes.
    pub stdin: bool,
}

impl Rerun {
    /// Whether the rerun keeps `--truncate`, with `rows` committed: only while nothing
    /// is. The table is emptied in the transaction of the first piece that commits, so
    /// once a row is committed the table was emptied and holds this load's rows, which a
    /// rerun must not wipe (a resumed load skips the truncation anyway; leaving the flag
    /// out keeps the printed command safe whatever happens to the ledger). While nothing
    /// is committed the table was not emptied yet, and the rerun must do it.
    pub fn keeps_truncate(&self, rows: u64) -> bool {
        self.truncate && rows == 0
    }

    /// What the rerun changes, in words: `without --fresh and --truncate, with --load-id
    /// X`; empty when the same command resumes.
    pub fn changes(&self, rows: u64) -> String {
        let mut without = Vec::new();
        if self.fresh {
            without.push("--fresh");
        }
        if self.truncate && !self.keeps_truncate(rows) {
            without.push("--truncate");
        }
        let mut parts = Vec::new();
        if !without.is_empty() {
            parts.push(format!("without {}", without.join(" and ")));
        }
        if let Some(id) = &self.load_id {
            parts.push(format!("with --load-id {id}"));
        }
        parts.join(", ")
    }
}

/// `K of N chunks committed (R rows)`, the head of the interrupted line.
pub fn committed_text(chunks_committed: u64, chunks_total: Option<u64>, rows: u64) -> String {
    let count = |n: u64, one, many| format!("{n} {}", plural(n, one, many));
    let of = match chunks_total {
        Some(n) => format!("{chunks_committed} of {}", count(n, "chunk", "chunks")),
        None => count(chunks_committed, "chunk", "chunks"),
    };
    format!("{of} committed ({})", count(rows, "row", "rows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_of_a_check_says_nothing_was_written_and_keeps_its_outcome() {
        let e = Error::from(ErrorKind::TooManyRejects {
            rejected: 4,
            limit: 3,
        })
        .with_committed(10)
        .in_check();
        assert_eq!(
            e.to_string(),
            "4 rows would be rejected, more than --max-errors 3; a real load stops there \
             (--check: nothing was written)"
        );
        assert_eq!(e.outcome(), Outcome::Partial);
        assert_eq!(e.rows_committed(), 0);
        let e = Error::usage("bad flag").in_check();
        assert_eq!(e.to_string(), "bad flag (--check: nothing was written)");
        assert_eq!(e.outcome(), Outcome::Usage);
    }

    #[test]
    fn location_display_names_file_line_byte_record_column() {
        let loc = Location {
            file: "a.csv".into(),
            pos: Position {
                line: 7,
                byte: 120,
                record: 6,
            },
            column: Some("balance".into()),
        };
        assert_eq!(
            loc.to_string(),
            "a.csv: line 7, byte 120, record 6, column \"balance\""
        );
    }

    #[test]
    fn committed_rows_make_any_failure_partial() {
        let parse = || -> Error {
            ErrorKind::Parse {
                loc: Location::default(),
                msg: "bad".into(),
            }
            .into()
        };
        assert_eq!(parse().outcome(), Outcome::Data);
        let e = parse().with_committed(5).with_note(" (note)");
        assert_eq!((e.outcome(), e.rows_committed()), (Outcome::Partial, 5));
        assert!(e.to_string().ends_with("bad (note)"), "{e}");
        let dir = Error::io("d", io::Error::from(io::ErrorKind::IsADirectory));
        assert_eq!(dir.outcome(), Outcome::Usage);
        assert_eq!(
            Error::usage("x").with_committed(1).outcome(),
            Outcome::Partial
        );
        let rebuild: Error = ErrorKind::Rebuild("dup".into()).into();
        assert_eq!(rebuild.with_committed(9).outcome(), Outcome::Rebuild);
    }

    #[test]
    fn a_cut_compressed_stream_is_named() {
        let e = Error::io(
            "a.csv.gz",
            io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete deflate stream"),
        );
        assert_eq!(
            e.to_string(),
            "a.csv.gz: the compressed input ends early (a truncated or damaged file?): incomplete deflate stream"
        );
        assert_eq!(e.kind_name(), "io");
        assert_eq!(
            (plural(1, "row", "rows"), plural(0, "row", "rows")),
            ("row", "rows")
        );
    }

    #[test]
    fn truncate_value_keeps_short_and_cuts_long() {
        assert_eq!(truncate_value(b"abc", 5), "abc");
        assert_eq!(truncate_value(b"abcdefgh", 3), "abc…");
    }
}
