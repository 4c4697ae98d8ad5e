//! Events: how a running load tells its caller what it decided and what went wrong on
//! the way, without printing.

use super::Counters;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// What a load tells its caller while it runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The pipeline starts: `counters` show its progress until [`Event::Finished`].
    Started {
        /// Bumped by the pipeline as it reads and commits.
        counters: Arc<Counters>,
    },
    /// What the load decided or found: resuming, emptying the table, rebuilding indexes.
    Note(Notice),
    /// Something the caller should know or act on; the load goes on.
    Warning(Notice),
    /// A record the load set aside (within its bad-row budget), with where it was and why.
    Rejected(RejectedRow),
    /// The pipeline stopped (done, failed or interrupted): the counters are final.
    Finished,
    /// Schema inference reading the input before the load (a whole 1 GB file takes
    /// seconds): sent as it goes, then once with `done`.
    Inferring(InferProgress),
}

/// How far schema inference has read its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InferProgress {
    /// Bytes of the input read so far, counted as its size is (compressed on disk).
    pub read: u64,
    /// The input's size on disk, when known (not for stdin).
    pub total: Option<u64>,
    /// Inference is over: the last event of the input.
    pub done: bool,
}

/// A record a load rejected: where it was and why, as types (the reject file has the
/// same in text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The input, by index in the load's file list.
    pub file: u32,
    /// The line the record starts on (1-based) and its byte offset in the input.
    pub line: u64,
    /// Byte offset of the record's start (in the decompressed input).
    pub byte: u64,
    /// The column whose value was refused, when known.
    pub column: Option<String>,
    /// The server's SQLSTATE, when the server refused the row (none for a value the
    /// client could not convert, or malformed CSV).
    pub sqlstate: Option<String>,
    /// Why, in words (the reject file's `chunkload_error`).
    pub message: String,
}

/// One message of a load, with what it is about, so an observer can filter by topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What the message is about.
    pub topic: Topic,
    /// The message, one line, in words for a person.
    pub text: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a [`Notice`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Topic {
    /// A rerun: what earlier runs committed, what this one skips or loads again.
    Resume,
    /// A rerun of a load that had finished: nothing to do (or only a rebuild it owes).
    AlreadyLoaded,
    /// Emptying the table before the load.
    Truncate,
    /// Indexes and keys dropped for the load and rebuilt after it.
    Indexes,
    /// A connection lost or refused and being retried, or a connection setting ignored.
    Connection,
    /// A record larger than the chunk's byte bound, sent alone.
    OversizedRecord,
    /// The input: what a rerun of it can and cannot resume.
    Input,
    /// Chunk bounds chosen or lowered for the server (CockroachDB's intent budget).
    Bounds,
    /// The bookkeeping: where it lives, what was forgotten.
    Ledger,
    /// `--create-table`: the table this run created, dropped again when no row committed.
    CreatedTable,
    /// The CSV dialect found from the file (the parts not given by flags).
    Dialect,
    /// Header cells loaded into columns of other names (made valid: trimmed, numbered).
    Header,
}

/// Receives a load's [`Event`]s, from the load's threads (hence `Send + Sync`). Any
/// `Fn(&Event) + Send + Sync` closure is one.
///
/// ```
/// use chunkload::report::{Event, Observer};
/// use std::sync::Mutex;
///
/// let warnings = Mutex::new(Vec::new());
/// let observer = |e: &Event| {
///     if let Event::Warning(w) = e {
///         warnings.lock().unwrap().push(w.text.clone());
///     }
/// };
/// observer.event(&Event::Finished);
/// assert!(warnings.lock().unwrap().is_empty());
/// ```
pub trait Observer: Send + Sync {
    /// Called for each event, in the order the load sends them (a thread's events keep
    /// their order; events of writer threads interleave).
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Observer for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// Drops every event: the default of a load that was given no observer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: &Event) {}
}

/// The pipeline's handle on the caller's observer: builds the events, and says once
/// what would otherwise repeat for every record.
#[derive(Clone)]
pub(crate) struct Reporter {
    observer: Arc<dyn Observer>,
    /// Records larger than the chunk's byte bound: the first is named, the rest counted.
    oversized: Arc<AtomicU64>,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reporter")
    }
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter::new(Arc::new(Silent))
    }
}

impl Reporter {
    pub(crate) fn new(observer: Arc<dyn Observer>) -> Reporter {
        Reporter {
            observer,
            oversized: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(crate) fn note(&self, topic: Topic, text: impl Into<String>) {
        let text = text.into();
        self.observer.event(&Event::Note(Notice { topic, text }));
    }

    pub(crate) fn warn(&self, topic: Topic, text: impl Into<String>) {
        let text = text.into();
        self.observer.event(&Event::Warning(Notice { topic, text }));
    }

    pub(crate) fn rejected(&self, row: RejectedRow) {
        self.observer.event(&Event::Rejected(row));
    }

    pub(crate) fn started(&self, counters: Arc<Counters>) {
        self.observer.event(&Event::Started { counters });
    }

    /// The pipeline stopped; the count of oversized records beyond the first is said now.
    pub(crate) fn finished(&self) {
        self.observer.event(&Event::Finished);
        let n = self.oversized.swap(0, Relaxed);
        if n > 1 {
            self.warn(
                Topic::OversizedRecord,
                format!(
                    "{n} records were larger than --chunk-bytes; each went alone in its own transaction"
                ),
            );
        }
    }

    /// A record larger than the chunk's byte bound: the first is named, the others are
    /// counted and said once at the end, so a file of large records gives two lines.
    pub(crate) fn oversized(&self, file: &str, line: u64, bytes: usize) {
        if self.oversized.fetch_add(1, Relaxed) == 0 {
            self.warn(
                Topic::OversizedRecord,
                format!(
                    "{file}: line {line}: a single record of {bytes} bytes is larger than --chunk-bytes; \
                     it goes alone in its own transaction (as will any other such record)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collecting() -> (Reporter, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer = move |e: &Event| {
            let line = match e {
                Event::Note(n) => format!("note {:?}: {n}", n.topic),
                Event::Warning(n) => format!("warning {:?}: {n}", n.topic),
                Event::Started { .. } => "started".into(),
                Event::Rejected(r) => format!("rejected line {}", r.line),
                Event::Finished => "finished".into(),
                Event::Inferring(p) => format!("inferring {}", p.read),
            };
            sink.lock().unwrap().push(line);
        };
        (Reporter::new(Arc::new(observer)), seen)
    }

    #[test]
    fn oversized_records_give_two_warnings_however_many_there_are() {
        let (r, seen) = collecting();
        r.started(Arc::new(Counters::default()));
        for line in [3, 9, 12] {
            r.oversized("big.csv", line, 9000);
        }
        r.finished();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(seen[0], "started");
        assert!(
            seen[1].starts_with(
                "warning OversizedRecord: big.csv: line 3: a single record of 9000 bytes"
            ),
            "{seen:?}"
        );
        assert_eq!(seen[2], "finished");
        assert!(seen[3].starts_with("warning OversizedRecord: 3 records were larger"));
    }

    #[test]
    fn one_oversized_record_is_named_once_and_not_counted_again() {
        let (r, seen) = collecting();
        r.oversized("a.csv", 1, 10);
        r.finished();
        assert_eq!(seen.lock().unwrap().len(), 2);
    }
}
