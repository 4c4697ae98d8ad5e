//! Commits that do not wait for the disk, safely.
//!
//! On PostgreSQL each chunk transaction may commit under `SET LOCAL synchronous_commit =
//! off`: its COMMIT returns once the commit record is in the server's WAL buffers, without
//! waiting for the flush. A server crash can lose the last such commits, each together with
//! its ledger row, so they count as never loaded and a rerun sends them again: exactly once
//! holds. `SET LOCAL` lasts one transaction, so the session's own setting is untouched.
//!
//! On PostgreSQL the load then ends with one durable commit, the ledger's "load finished"
//! update, made with `synchronous_commit` at least `on` whatever the chunks did (so also
//! when the session's own setting is `off`). A synchronous commit waits until the WAL is
//! flushed up to its own commit record, and the WAL is one sequence for the whole server:
//! every chunk commit that returned before it has an earlier record, so once it returns
//! they are all on disk. A crash *during* the load that the writers reconnected through may
//! have lost commits already, so the same transaction first reads the ledger back and fails
//! the load (asking for a rerun, which sends what is missing) when rows are missing.

use crate::flavour::Flavour;
use crate::ledger::{self, Committed, LedgerSchema};
use crate::{Error, Result};
use postgres::Client;

/// `--synchronous-commit`: whether chunk commits wait for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncCommit {
    /// `off` per chunk on PostgreSQL, unless `synchronous_commit` was set for the session
    /// explicitly (connection `options`, `PGOPTIONS`, `ALTER ROLE`/`ALTER DATABASE ... SET`):
    /// then that setting stands. Nothing on CockroachDB. Not the default: on a quiet 2-core
    /// machine it gained 11 % on `wide` and nothing on `accounts` (BENCHMARKS.md).
    Auto,
    /// Chunk commits wait as the session's `synchronous_commit` says: chunkload sets nothing
    /// per chunk (the load's last commit still waits for the disk). The default.
    #[default]
    On,
    /// `off` per chunk on PostgreSQL whatever the session says; refused on CockroachDB.
    Off,
}

/// Sent first in every chunk transaction when chunk commits do not wait for the disk.
pub(crate) const ASYNC_CHUNK_SQL: &str = "SET LOCAL synchronous_commit = off";

/// Where `pg_settings` says a setting came from when someone chose it for this session
/// (not the server's default or its configuration file).
const EXPLICIT_SOURCES: [&str; 5] = ["client", "user", "database", "database user", "session"];

/// Makes the final transaction wait for the flush (keeping a stronger `remote_apply`), and
/// gives it a transaction id: a transaction without one writes no commit record and waits
/// for nothing.
const DURABLE_END_SQL: &str = "SELECT set_config('synchronous_commit', 'on', true) \
     WHERE current_setting('synchronous_commit') NOT IN ('on', 'remote_apply'); \
     SELECT txid_current();";

impl SyncCommit {
    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SyncCommit::Auto => "auto",
            SyncCommit::On => "on",
            SyncCommit::Off => "off",
        }
    }

    /// Whether chunk transactions commit with `synchronous_commit = off` on this server
    /// (asked once, on the control connection: writers connect alike).
    pub(crate) fn chunks_async(
        self,
        flavour: Flavour,
        ledger: bool,
        client: &mut Client,
    ) -> Result<bool> {
        let source = match (self, flavour.has_async_commit()) {
            (SyncCommit::Auto, true) => Some(
                client
                    .query_one(
                        "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'",
                        &[],
                    )?
                    .get::<_, String>(0),
            ),
            _ => None,
        };
        self.decide(flavour, ledger, source.as_deref())
    }

    /// The decision, given where the session's setting came from (`pg_settings.source`).
    /// `auto` needs the ledger: it is what makes a lost commit safe.
    fn decide(self, flavour: Flavour, ledger: bool, source: Option<&str>) -> Result<bool> {
        match self {
            SyncCommit::On => Ok(false),
            SyncCommit::Off if !flavour.has_async_commit() => Err(Error::usage(format!(
                "--synchronous-commit off: {flavour} has no such setting; leave it at on (the default)"
            ))),
            SyncCommit::Off => Ok(true),
            SyncCommit::Auto if !flavour.has_async_commit() || !ledger => Ok(false),
            SyncCommit::Auto => Ok(!source.is_some_and(|s| EXPLICIT_SOURCES.contains(&s))),
        }
    }
}

/// Marks the load finished in one durable commit, once the ledger holds `expected_rows`
/// loaded rows (`None`: no ledger to check).
pub(crate) fn finish_durably(
    client: &mut Client,
    schema: &LedgerSchema,
    load_id: &str,
    chunks: u64,
    expected_rows: Option<u64>,
) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(DURABLE_END_SQL)?;
    if let Some(expected) = expected_rows {
        let found = Committed::read(&mut tx, schema, load_id)?.rows_loaded;
        if found < expected {
            return Err(Error::other(format!(
                "load {load_id}: the ledger holds {found} of the {expected} rows committed; the \
                 server lost its last commits (it must have restarted after a crash during the \
                 load, and chunk commits do not wait for the disk). Run the same command again: \
                 it sends only what is missing"
            )));
        }
    }
    ledger::finish_load(&mut tx, schema, load_id, chunks)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_off_per_chunk_on_postgres_unless_the_session_chose() {
        let pg = Flavour::Postgres;
        for source in ["default", "configuration file", "command line"] {
            assert!(
                SyncCommit::Auto.decide(pg, true, Some(source)).unwrap(),
                "{source}"
            );
        }
        for source in EXPLICIT_SOURCES {
            assert!(
                !SyncCommit::Auto.decide(pg, true, Some(source)).unwrap(),
                "{source}"
            );
            assert!(
                SyncCommit::Off.decide(pg, true, Some(source)).unwrap(),
                "{source}"
            );
        }
        // Without the ledger a lost commit could not be found again.
        assert!(!SyncCommit::Auto.decide(pg, false, Some("default")).unwrap());
        assert!(!SyncCommit::On.decide(pg, true, Some("default")).unwrap());
    }

    #[test]
    fn cockroachdb_never_gets_the_setting() {
        let crdb = Flavour::Cockroach;
        assert!(!SyncCommit::Auto.decide(crdb, true, None).unwrap());
        assert!(!SyncCommit::On.decide(crdb, true, None).unwrap());
        let e = SyncCommit::Off.decide(crdb, true, None).unwrap_err();
        assert!(
            e.to_string().contains("CockroachDB has no such setting"),
            "{e}"
        );
    }
}
