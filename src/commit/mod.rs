//! Commit: each chunk in its own retried transaction, with its ledger row, exactly once.
//!
//! A writer thread drains encoded chunks into a [`ChunkSink`]: the database sink
//! commits the records an earlier run has not (the reader skips what [`crate::ledger::Committed`] covers)
//! as one piece, or as several when it must:
//! - a data error (SQLSTATE classes 22 and 23) under `--max-errors`: the piece is halved until
//!   the bad rows stand alone, the good rows commit, the bad ones go to the reject file;
//! - "transaction is too large": the piece is halved, and later pieces are capped too;
//! - a lost connection or an unknown commit outcome: reconnect (bounded in time) and ask the
//!   ledger whether the piece committed; send it again only if it did not.
//!
//! On PostgreSQL chunk commits need not wait for the disk; the load's last commit does
//! (`durability`).
//!
//! The [`DryRunSink`] of `--dry-run` only counts what would be sent; the check sink of
//! `--check` sends everything and commits nothing.

mod check_sink;
mod control;
mod database;
pub(crate) mod durability;
mod load_sql;
mod pieces;
mod sink;

pub(crate) use check_sink::{CheckSink, CheckTarget, InOrder, CHECK_TRUNCATE_COCKROACH};
pub use control::{PipelineControl, RejectBudget, RejectStore, Rejects};
pub(crate) use database::{CommitTarget, DatabaseSink, PieceCap};
pub use durability::SyncCommit;
pub use load_sql::Method;
pub(crate) use load_sql::Statements;
pub use sink::{drain, ChunkSink, DryRunSink, DryRunStats};
