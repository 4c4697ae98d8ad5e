//! Reporting: what a load tells its caller while it runs, the summary it returns and the
//! reject file it writes.
//!
//! The library never prints. The pipeline bumps shared [`Counters`] and sends [`Event`]s
//! (notes and warnings, each with a [`Topic`]) to the [`Observer`] the caller gave; the
//! binary's observer draws a progress bar or plain lines from the counters and prints the
//! notes, a test's collects them, and [`Silent`] drops them.

mod event;
mod reject;
mod summary;

pub(crate) use event::Reporter;
pub use event::{Event, InferProgress, Notice, Observer, RejectedRow, Silent, Topic};
pub use reject::{RejectWriter, REJECT_COLUMNS};
pub use summary::Summary;

use std::sync::atomic::AtomicU64;

/// Counters bumped by the pipeline and read by reporters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Input bytes consumed (compressed bytes for compressed input).
    pub bytes_read: AtomicU64,
    /// Total input bytes, when known (0 = unknown).
    pub bytes_total: AtomicU64,
    /// Rows committed.
    pub rows: AtomicU64,
    /// Chunks fully committed (this run).
    pub chunks: AtomicU64,
    /// Chunks skipped because an earlier run committed them.
    pub chunks_skipped: AtomicU64,
    /// Input bytes an earlier run committed that this run skipped by seeking, unread.
    pub bytes_seeked: AtomicU64,
    /// Transaction retries after 40001.
    pub retries: AtomicU64,
    /// Rows sent to the reject file.
    pub rejected: AtomicU64,
    /// Reconnections after a lost connection.
    pub reconnects: AtomicU64,
    /// Commits whose answer was lost but which the ledger showed had happened.
    pub commits_confirmed: AtomicU64,
    /// Chunks sent as text for the server's parser: the fast path was not certain of a value.
    pub fallback_chunks: AtomicU64,
}
