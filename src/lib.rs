//! chunkload: bulk-load CSV into CockroachDB and PostgreSQL in bounded chunks, each
//! committed in its own retried transaction, exactly once.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//!  source ──► chunk ──► encode ──► commit (retry + ledger) ──► report
//!  read CSV    bound by   values →    one transaction per      progress, summary,
//!  (dialect,   bytes and  COPY bytes  chunk, 40001 retried,    reject file
//!  positions)  rows       or params   exactly once via ledger
//! ```
#![warn(missing_docs)]

pub mod error;

pub use error::{Error, ErrorKind, Location, Position, Result};
pub mod import;
