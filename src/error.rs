//! Typed errors with the position of the offending input.
//!
//! Like the `csv` crate, the error is a boxed kind so `Result<T>` stays one word wide, and
//! every data error carries a [`Location`]: file, line, byte offset, record number and,
//! where known, the column. The binary maps kinds to exit codes with [`Error::exit_code`].

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
pub struct Error(Box<ErrorKind>);

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
    /// Bad options or arguments; `msg` says which and why.
    Usage(String),
    /// The table, its columns or the header do not fit together.
    Schema(String),
    /// Could not connect; `url` is already redacted. `permanent` when retrying cannot
    /// help (see [`crate::connect::is_permanent`]).
    Connect {
        url: String,
        msg: String,
        permanent: bool,
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
    /// `chunks_total` is known when the reader could count the rest of the input.
    Interrupted {
        signal: i32,
        chunks_committed: u64,
        chunks_total: Option<u64>,
        rows: u64,
    },
    /// Anything else, described.
    Other(String),
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error and returns its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
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
        match *self.0 {
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
        }
    }

    /// The location in the input, for data errors.
    pub fn location(&self) -> Option<&Location> {
        match &*self.0 {
            ErrorKind::Parse { loc, .. } | ErrorKind::Convert { loc, .. } => Some(loc),
            _ => None,
        }
    }

    /// The server's SQLSTATE, when the server raised this error.
    pub fn sqlstate(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Db(e)
            | ErrorKind::RetriesExhausted { last: e, .. }
            | ErrorKind::CommitUnknown { source: e } => e.code().map(|c| c.code()),
            _ => None,
        }
    }

    /// Exit code of the command line: 1 data error, 2 usage or connection error,
    /// 3 partial load (rows rejected past the limit).
    pub fn exit_code(&self) -> u8 {
        match &*self.0 {
            ErrorKind::Parse { .. } | ErrorKind::Convert { .. } | ErrorKind::Schema(_) => 1,
            ErrorKind::Usage(_) | ErrorKind::Connect { .. } | ErrorKind::Cluster(_) => 2,
            ErrorKind::TooManyRejects { .. } => 3,
            // As shells report a process a signal ended: 130 SIGINT, 143 SIGTERM, 129 SIGHUP.
            ErrorKind::Interrupted { signal, .. } => (128 + (*signal).clamp(1, 127)) as u8,
            // A missing or unreadable input is a mistake in the command, not in the data.
            ErrorKind::Io { source, .. }
                if matches!(
                    source.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                2
            }
            ErrorKind::Db(e) if e.is_closed() || e.code().is_none() => 2,
            _ => 1,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        ErrorKind::Db(e).into()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The server's own message, without the `db error:` prefix rust-postgres adds.
/// The server's detail (`Key (id)=(5) already exists.`) follows when it gave one.
pub fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} (SQLSTATE {}): {d}", db.message(), db.code().code()),
            None => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        },
        None => e.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Parse { loc, msg } => write!(f, "{loc}: {msg}"),
            ErrorKind::Convert { loc, ty, value, msg } => {
                write!(f, "{loc}: cannot convert {value:?} to {ty}: {msg}")
            }
            ErrorKind::Io { path, source } => write!(f, "{path}: {source}"),
            ErrorKind::Usage(m) | ErrorKind::Schema(m) | ErrorKind::Cluster(m) => f.write_str(m),
            ErrorKind::Other(m) => f.write_str(m),
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
                "{rejected} rows rejected, more than --max-errors {limit}; committed chunks are kept"
            ),
            ErrorKind::Interrupted {
                chunks_committed,
                chunks_total,
                rows,
                ..
            } => {
                let plural = |n: u64, one: &str, many: &str| {
                    format!("{n} {}", if n == 1 { one } else { many })
                };
                let of = match chunks_total {
                    Some(n) => format!("{chunks_committed} of {}", plural(*n, "chunk", "chunks")),
                    None => plural(*chunks_committed, "chunk", "chunks"),
                };
                write!(
                    f,
                    "interrupted: {of} committed ({}); rerun the same command to resume",
                    plural(*rows, "row", "rows")
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Db(e)
            | ErrorKind::RetriesExhausted { last: e, .. }
            | ErrorKind::CommitUnknown { source: e } => Some(e),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn truncate_value_keeps_short_and_cuts_long() {
        assert_eq!(truncate_value(b"abc", 5), "abc");
        assert_eq!(truncate_value(b"abcdefgh", 3), "abc…");
    }
}
