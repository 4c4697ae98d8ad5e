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
//!
//! - [`source`] reads any CSV as PostgreSQL's CSV COPY would, streaming in bounded memory,
//!   and keeps each record's position and raw bytes (`load`, `infer` and `import` all read
//!   through it);
//! - [`chunk`] closes a chunk before the next record would pass a byte, row, parameter or
//!   message bound, never inside a record, at boundaries that are the same on every run;
//! - [`encode`] converts each field client-side for the target column's type, so a bad
//!   value is reported with its line and column before its chunk is sent;
//! - [`commit`] hands each encoded chunk to a sink: the database sink runs it through
//!   [`retry::run_transaction`] with its [`ledger`] row, isolates bad rows, splits
//!   transactions that are too large and reconnects (`connect::with_reconnect`); the
//!   dry-run sink only counts; the check sink (`--check`) sends everything in savepoints
//!   and commits nothing;
//! - [`load`] plans the load (header → columns → alignment), wires the stages into a
//!   pipeline (one reader thread, rayon encoders, `--workers` writer connections) and
//!   resumes interrupted loads; [`report`] shows progress and the summary.
//!
//! Types flow downward only: `load` → `commit` → `encode`, `ledger`, `retry`, `connect`.
//!
//! Around the pipeline: [`connect`] (URLs, TLS, redaction), [`flavour`] (the one switch for
//! CockroachDB-only SQL), [`sql`] (identifiers, literals and table names: the one place
//! that quotes into SQL text), [`table`] (the catalog), [`cluster`] (a throwaway
//! PostgreSQL for the demo and the tests), [`standin`] (the strict CockroachDB stand-in in
//! front of it), [`bank`] (the tutorial's app), [`import`]
//! (shards and `IMPORT INTO`), [`infer`] (schemas for CSVs nobody wrote one for), [`dataset`]
//! (generated datasets), [`output`] (writing a file through what its path names: `gen -o`
//! and the reject file), [`interrupt`] (a signal's stop request, which a load honours
//! between chunks).
//!
//! ```no_run
//! use chunkload::connect::ConnectOptions;
//! use chunkload::load::{run, LoadConfig, Method};
//! use chunkload::report::Event;
//! use std::sync::Arc;
//!
//! let opts = ConnectOptions::parse("postgres://root@localhost:26257/bank")?;
//! let mut cfg = LoadConfig::new(vec!["data/accounts.csv".into()], "accounts");
//! // CockroachDB's port: rows go as multi-row INSERTs (COPY is refused there).
//! cfg.method = Some(Method::Insert);
//! // The library never prints: what it decides and warns of comes as events.
//! cfg.observer = Arc::new(|e: &Event| match e {
//!     Event::Warning(w) => eprintln!("warning: {w}"),
//!     _ => {}
//! });
//! // ConnectOptions opens the connections: a first attempt tries every host, a
//! // reconnect moves on to the next one.
//! let summary = run(&cfg, Arc::new(opts))?;
//! println!("{summary}");
//! # Ok::<(), chunkload::Error>(())
//! ```
// The library reports through types and events (`report`); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "demo")]
pub mod bank;
pub mod chunk;
#[cfg(feature = "demo")]
pub mod cluster;
pub mod commit;
pub mod connect;
#[cfg(feature = "demo")]
pub mod dataset;
pub mod encode;
pub mod error;
pub mod flavour;
pub mod import;
pub mod infer;
pub mod interrupt;
pub mod ledger;
pub mod load;
pub mod output;
pub mod report;
pub mod retry;
pub mod source;
pub mod sql;
#[cfg(feature = "demo")]
pub mod standin;
pub mod table;
#[cfg(test)]
mod testing;

pub use error::{Error, ErrorKind, Location, Outcome, Position, Result};
pub use flavour::{Flavour, Server};
pub use load::{Loader, LoaderBuilder};
