//! Integration tests: one binary, one throwaway PostgreSQL server for all of them
//! (started by the test harness itself), and a fresh database per test.
//!
//! - `support`: the shared server, fresh databases, helpers.
//! - `retry`: the retry helper against server-raised 40001 and real serialization conflicts.
//! - `cluster`: the throwaway server's own lifecycle.

mod bank;
mod cli;
mod cluster;
mod load;
mod oracle;
mod proxy;
mod retry;
mod support;
mod table;
mod tls;
