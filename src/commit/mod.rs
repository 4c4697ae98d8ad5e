//! Commit: each chunk in its own retried transaction, with its ledger row, exactly once.
//!
//! A writer thread drains encoded chunks into a [`ChunkSink`]: the [`DatabaseSink`]
//! commits the records an earlier run has not (see [`crate::ledger::Progress::missing`])
//! as one piece, or as several when it must:
//! - a data error (SQLSTATE classes 22 and 23) under `--max-errors`: the piece is halved until
//!   the bad rows stand alone, the good rows commit, the bad ones go to the reject file;
//! - "transaction is too large": the piece is halved, and later pieces are capped too;
//! - a lost connection or an unknown commit outcome: reconnect (bounded in time) and ask the
//!   ledger whether the piece committed; send it again only if it did not.
//!
//! The [`DryRunSink`] of `--dry-run` only counts what would be sent.

mod database;
mod statement;

pub(crate) use database::{CommitTarget, DatabaseSink, PieceCap};
pub use statement::Method;
pub(crate) use statement::{StatementKey, Statements};

use crate::encode::{EncodedChunk, EncodedRows};
use crate::report::{Counters, RejectWriter};
use crate::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};

/// Where a writer puts encoded chunks.
pub trait ChunkSink {
    /// Takes one chunk; `truncate`: empty the table in the same transaction (chunk 0 of a
    /// `--truncate` load).
    fn commit(&mut self, chunk: EncodedChunk, truncate: bool) -> Result<()>;
}

/// Stop and ordering signals shared by the reader and every writer of one load.
pub struct PipelineControl {
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    /// When truncating: set once chunk 0 committed, so no other chunk commits before it.
    first_done: (Mutex<bool>, Condvar),
}

impl PipelineControl {
    /// `truncate`: later chunks wait for chunk 0 (see [`PipelineControl::wait_first`]).
    pub fn new(truncate: bool) -> PipelineControl {
        PipelineControl {
            abort: AtomicBool::new(false),
            error: Mutex::new(None),
            first_done: (Mutex::new(!truncate), Condvar::new()),
        }
    }

    /// Stops the load; the first error is the one reported.
    pub fn fail(&self, e: Error) {
        let mut slot = self.error.lock().expect("error slot");
        if slot.is_none() {
            *slot = Some(e);
        }
        self.abort.store(true, Relaxed);
        self.signal_first();
    }

    /// The error that stopped the load, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.error.lock().expect("error slot").take()
    }

    /// Chunk 0 is done (or the load stopped): later chunks may commit.
    pub fn signal_first(&self) {
        let (m, cv) = &self.first_done;
        *m.lock().expect("first_done") = true;
        cv.notify_all();
    }

    /// Blocks until chunk 0 is done; returns at once without `--truncate`.
    pub fn wait_first(&self) {
        let (m, cv) = &self.first_done;
        let mut done = m.lock().expect("first_done");
        while !*done {
            done = cv.wait(done).expect("first_done");
        }
    }

    /// Whether the load stopped.
    pub fn aborted(&self) -> bool {
        self.abort.load(Relaxed)
    }
}

/// The one `--max-errors` rule: how many bad rows a load tolerates.
pub struct RejectBudget {
    counters: Arc<Counters>,
    limit: u64,
}

impl RejectBudget {
    /// Counts rejects in `counters.rejected`, at most `limit` of them.
    pub fn new(counters: Arc<Counters>, limit: u64) -> RejectBudget {
        RejectBudget { counters, limit }
    }

    /// Whether bad rows may be rejected at all (otherwise the first one fails the load).
    pub fn tolerates_any(&self) -> bool {
        self.limit > 0
    }

    /// Counts one more reject. The one past the limit stops the load and is not counted
    /// (nor written), so a rerun with a higher limit writes it once.
    pub fn take(&self) -> Result<()> {
        let n = self.counters.rejected.fetch_add(1, Relaxed) + 1;
        if n > self.limit {
            self.counters.rejected.fetch_sub(1, Relaxed);
            return Err(ErrorKind::TooManyRejects {
                rejected: n,
                limit: self.limit,
            }
            .into());
        }
        Ok(())
    }
}

/// Bad rows: counted against the budget, written to the reject file.
pub struct Rejects {
    budget: RejectBudget,
    /// None in a dry run: nothing is written anywhere.
    file: Option<RejectWriter>,
}

impl Rejects {
    /// Rejects under `budget` into `file`.
    pub fn new(budget: RejectBudget, file: Option<RejectWriter>) -> Rejects {
        Rejects { budget, file }
    }

    /// Whether bad rows may be rejected at all.
    pub fn tolerates_any(&self) -> bool {
        self.budget.tolerates_any()
    }

    /// Rejects the record `raw` at `line` for `msg`, unless the budget is spent.
    pub fn reject(&self, raw: &[u8], line: u64, msg: &str) -> Result<()> {
        self.budget.take()?;
        match &self.file {
            Some(f) => f.write(raw, line, msg),
            None => Ok(()),
        }
    }

    /// The reject file's path, unless nothing is written.
    pub fn path(&self) -> Option<&str> {
        self.file.as_ref().map(|f| f.path())
    }
}

/// Hands every chunk from `chunks` to `sink` until the channel closes; with `truncate`,
/// chunk 0 commits before any other.
pub fn drain(
    control: &PipelineControl,
    chunks: crossbeam_channel::Receiver<EncodedChunk>,
    truncate: bool,
    sink: &mut dyn ChunkSink,
) {
    for chunk in chunks {
        if control.aborted() {
            continue;
        }
        let first = truncate && chunk.chunk.seq == 0;
        if truncate && !first {
            control.wait_first();
            if control.aborted() {
                continue;
            }
        }
        let r = sink.commit(chunk, first);
        if first {
            control.signal_first();
        }
        if let Err(e) = r {
            control.fail(e);
        }
    }
}

/// What a dry run measured of the chunks it would send.
#[derive(Debug, Default)]
pub struct DryRunStats {
    /// Rows of chunk 0 (for the INSERT shown).
    pub first_chunk_rows: AtomicU64,
    /// Records of the largest chunk.
    pub max_chunk_rows: AtomicU64,
    /// Source bytes of the largest chunk.
    pub max_chunk_bytes: AtomicU64,
}

/// A dry run's sink: counts what would be sent; bad rows fail or are counted.
pub struct DryRunSink<'a> {
    /// Rows and chunks.
    pub counters: &'a Counters,
    /// Bad rows, counted and written nowhere.
    pub rejects: &'a Rejects,
    /// Chunk sizes.
    pub stats: &'a DryRunStats,
}

impl ChunkSink for DryRunSink<'_> {
    fn commit(&mut self, mut work: EncodedChunk, _truncate: bool) -> Result<()> {
        for (row, err) in std::mem::take(&mut work.bad) {
            if !self.rejects.tolerates_any() {
                return Err(err);
            }
            let rec = work.chunk.batch.record(row as usize);
            self.rejects
                .reject(rec.raw(), rec.position().line, &err.to_string())?;
        }
        let s = self.stats;
        if work.chunk.seq == 0 {
            s.first_chunk_rows.store(work.rows.len() as u64, Relaxed);
        }
        s.max_chunk_rows
            .fetch_max(work.chunk.rows() as u64, Relaxed);
        s.max_chunk_bytes
            .fetch_max(work.chunk.bytes() as u64, Relaxed);
        self.counters
            .rows
            .fetch_add(work.rows.len() as u64, Relaxed);
        self.counters.chunks.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// Rows of `rows` whose source index lies in `lo .. lo + n` (encoded rows keep source order).
pub(crate) fn encoded_range(rows: &EncodedRows, lo: u32, n: u32) -> std::ops::Range<usize> {
    let sources = rows.sources();
    sources.partition_point(|&s| s < lo)..sources.partition_point(|&s| s < lo + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Column, Encoder, Format};

    #[test]
    fn encoded_range_finds_the_encoded_rows_of_a_source_range_around_rejected_rows() {
        let enc = Encoder::new(vec![Column::new("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        // Source rows 0..10, with 3 and 7 rejected by conversion.
        for i in 0..10u32 {
            let v = if i == 3 || i == 7 {
                "x".to_string()
            } else {
                i.to_string()
            };
            let _ = enc.encode_row([Some(v.as_bytes())], i, &mut rows);
        }
        assert_eq!(rows.len(), 8);
        assert_eq!(encoded_range(&rows, 0, 10), 0..8);
        assert_eq!(encoded_range(&rows, 0, 3), 0..3);
        assert_eq!(
            encoded_range(&rows, 3, 1),
            3..3,
            "a rejected row encodes to nothing"
        );
        assert_eq!(encoded_range(&rows, 3, 5), 3..6);
        assert_eq!(encoded_range(&rows, 8, 2), 6..8);
    }

    #[test]
    fn the_reject_budget_refuses_the_one_past_the_limit_without_counting_it() {
        let counters = Arc::new(Counters::default());
        let budget = RejectBudget::new(counters.clone(), 2);
        assert!(budget.tolerates_any());
        budget.take().unwrap();
        budget.take().unwrap();
        let e = budget.take().unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::TooManyRejects {
                rejected: 3,
                limit: 2
            }
        ));
        assert_eq!(counters.rejected.load(Relaxed), 2);
        assert!(!RejectBudget::new(counters, 0).tolerates_any());
    }
}
