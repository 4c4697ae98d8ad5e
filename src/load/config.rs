//! What a load is asked to do: inputs, target, dialect, bounds and fault tolerance.

use crate::chunk::ChunkLimits;
use crate::commit::{Method, SyncCommit};
use crate::encode::TypeHint;
use crate::interrupt::Interrupt;
use crate::report::ProgressMode;
use crate::retry::RetryPolicy;
use crate::source::{Compression, Dialect};
use crate::{Error, Result};
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
    /// Chunk bounds.
    pub limits: ChunkLimits,
    /// Transport.
    pub method: Method,
    /// Empty the table in the first chunk's transaction.
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
    /// Progress display.
    pub progress: ProgressMode,
    /// Write a ledger row in each chunk's transaction (off only to measure its cost:
    /// without it a rerun or an ambiguous commit can duplicate rows).
    pub ledger: bool,
    /// For tables created from an inferred schema: advice appended to conversion errors,
    /// given the column's type (e.g. "inferred from the first 10000 rows; ...").
    pub type_hint: Option<TypeHint>,
    /// Whether chunk commits wait for the disk (the load's last commit always does).
    pub synchronous_commit: SyncCommit,
    /// Raised from outside (a signal handler) to stop the load between chunks.
    pub interrupt: Interrupt,
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
            limits: ChunkLimits::default(),
            method: Method::Copy,
            truncate: false,
            workers: 2,
            retry: RetryPolicy::default(),
            max_errors: 0,
            reject_file: None,
            load_id: None,
            fresh: false,
            reconnect_timeout: Duration::from_secs(120),
            progress: ProgressMode::Quiet,
            ledger: true,
            type_hint: None,
            synchronous_commit: SyncCommit::On,
            interrupt: Interrupt::new(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.files.is_empty() {
            return Err(Error::usage("no input files"));
        }
        if self.workers == 0 {
            return Err(Error::usage("--workers must be at least 1"));
        }
        self.limits.validate()?;
        self.retry.validate()
    }

    /// The chunk limits in force: INSERT also bounds bind parameters per statement.
    pub(crate) fn effective_limits(&self) -> ChunkLimits {
        let mut l = self.limits;
        if self.method == Method::Copy {
            l.max_params = usize::MAX;
        }
        l
    }
}
