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

pub mod bank;
pub mod chunk;
pub mod cluster;
pub mod commit;
pub mod connect;
pub mod encode;
pub mod error;
pub mod flavour;
pub mod gen;
pub mod import;
pub mod infer;
pub mod ledger;
pub mod load;
pub mod report;
pub mod retry;
pub mod source;
pub mod table;

pub use error::{Error, ErrorKind, Location, Position, Result};
pub use flavour::Flavour;
