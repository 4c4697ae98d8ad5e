//! chunkload: bulk-load CSV into CockroachDB and PostgreSQL in bounded chunks, each
//! committed in its own retried transaction, exactly once.
//!
//! # Using it
//!
//! [`Loader`] is the entry point: connection options (anything that implements
//! [`connect::Connect`]), a table, files, and settings whose defaults suit a first load;
//! [`LoaderBuilder::build`] checks them, [`Loader::run`] loads (or resumes an interrupted
//! run of the same load) and returns a [`report::Summary`]. The library never prints:
//! what it decides and warns of reaches a [`report::Observer`] as [`report::Event`]s, and
//! a failure is an [`Error`] whose [`Error::outcome`] says what it left behind and whose
//! [`Error::location`] names file, line and column.
//!
//! Beside loads: [`retry::run_transaction`] (the retry helper of CockroachDB's
//! tutorial, done properly), [`ledger`] (what earlier loads committed: `status`,
//! `forget`), [`import`] (shards and CockroachDB's `IMPORT INTO`), [`infer`] (a schema
//! for a CSV nobody wrote one for), [`connect`] (libpq's URLs, environment and TLS).
//!
//! The repository's documents say more: `README.md` (what and how, in a screen),
//! `docs/guide.md` (every flag, connections, reruns, the bookkeeping tables),
//! `docs/cockroachdb.md` (versions, retries, the strict stand-in) and
//! `docs/architecture.md` (the pipeline's invariants and the module map).
//!
//! # Features
//!
//! - `cli` (default): the `chunkload` command (clap, indicatif, signal-hook, anyhow).
//!   `cargo add chunkload --no-default-features` builds the library without them.
//! - `demo` (with `cli`): [`bank`] (the tutorial's app), [`cluster`] (a throwaway
//!   PostgreSQL), [`standin`] (the strict CockroachDB stand-in in front of it) and
//!   [`dataset`] (generated datasets), for `chunkload demo`, examples and tests.
//!
//! # The pipeline
//!
//! ```text
//!  source ──► chunk ──► encode ──► commit (retry + ledger) ──► report
//!  read CSV    bound by   values →    one transaction per      events, summary,
//!  (dialect,   bytes and  COPY bytes  chunk, 40001 retried,    reject file
//!  positions)  rows       or params   exactly once via ledger
//! ```
//!
//! - `source` reads any CSV as PostgreSQL's CSV COPY would, streaming in bounded memory,
//!   and keeps each record's position and raw bytes (`load`, `infer` and `import` all
//!   read through it);
//! - `chunk` closes a chunk before the next record would pass a byte, row, parameter or
//!   message bound, never inside a record, at boundaries that are the same on every run;
//! - `encode` converts each field client-side for the target column's type, so a bad
//!   value is reported with its line and column before its chunk is sent;
//! - `commit` hands each encoded chunk to a sink: the database sink runs it through
//!   [`retry::run_transaction`] with its ledger row, isolates bad rows, splits
//!   transactions that are too large and reconnects; the dry-run sink only counts; the
//!   check sink sends everything in savepoints and commits nothing;
//! - `load` plans the load (header → columns → alignment), wires the stages into a
//!   pipeline (one reader thread, rayon encoders, writer connections) and resumes
//!   interrupted loads; `report` carries events and the summary to the caller.
//!
//! Types flow downward only: `load` → `commit` → `encode`, `ledger`, `retry`, `connect`.
//! Around the pipeline: `flavour` (the one switch for CockroachDB-only SQL), `sql` (the
//! one place that quotes into SQL text), `table` (the catalog), `output` (writing a file
//! through what its path names), `interrupt` (a stop request honoured between chunks).
//! `chunk`, `encode`, `sql` and `table` are public only for the crate's own benches and
//! differential tests: hidden from these docs and outside semver.
//!
//! ```no_run
//! use chunkload::connect::ConnectOptions;
//! use chunkload::load::Method;
//! use chunkload::report::Event;
//! use chunkload::Loader;
//!
//! let db = ConnectOptions::parse("postgres://root@localhost:26257/bank")?;
//! let summary = Loader::builder(db, "accounts")
//!     .file("data/accounts.csv")
//!     // CockroachDB's default: rows go as multi-row INSERTs (COPY is refused there).
//!     .method(Method::Insert)
//!     // The library never prints: what it decides and warns of comes as events.
//!     .observer(|e: &Event| {
//!         if let Event::Warning(w) = e {
//!             eprintln!("warning: {w}");
//!         }
//!     })
//!     .build()?
//!     .run()?;
//! println!("{summary}");
//! # Ok::<(), chunkload::Error>(())
//! ```
// The library reports through types and events (`report`); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod backoff;
#[cfg(feature = "demo")]
pub mod bank;
#[doc(hidden)]
pub mod chunk;
#[cfg(feature = "demo")]
pub mod cluster;
mod commit;
pub mod connect;
#[cfg(feature = "demo")]
pub mod dataset;
#[doc(hidden)]
pub mod encode;
pub mod error;
pub mod flavour;
pub mod import;
pub mod infer;
pub mod interrupt;
pub mod ledger;
pub mod load;
mod output;
pub mod report;
pub mod retry;
pub mod source;
#[doc(hidden)]
pub mod sql;
#[cfg(feature = "demo")]
pub mod standin;
#[doc(hidden)]
pub mod table;
#[cfg(test)]
mod testing;

pub use error::{Error, ErrorKind, Location, Outcome, Position, Result};
pub use flavour::{Flavour, Server};
pub use load::{Loader, LoaderBuilder};
