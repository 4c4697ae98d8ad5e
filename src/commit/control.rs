//! What the reader and the writers of one load share: the stop signal, the order of
//! chunk 0 under `--truncate`, and the reject budget.

use crate::connect::{with_reconnect, Connector};
use crate::interrupt::Interrupt;
use crate::ledger;
use crate::report::{Counters, RejectWriter, RejectedRow, Reporter};
use crate::{Error, ErrorKind, Result};
use postgres::Client;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Stop and ordering signals shared by the reader and every writer of one load.
pub struct PipelineControl {
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    /// When truncating: set once chunk 0 committed, so no other chunk commits before it.
    first_done: (Mutex<bool>, Condvar),
    /// A stop asked for from outside: stops the load like an error, without one.
    interrupt: Interrupt,
}

impl PipelineControl {
    /// `truncate`: later chunks wait for chunk 0 (see [`PipelineControl::wait_first`]).
    pub fn new(truncate: bool) -> PipelineControl {
        PipelineControl {
            abort: AtomicBool::new(false),
            error: Mutex::new(None),
            first_done: (Mutex::new(!truncate), Condvar::new()),
            interrupt: Interrupt::new(),
        }
    }

    /// Also stops when `interrupt` is raised.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> PipelineControl {
        self.interrupt = interrupt;
        self
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

    /// Blocks until chunk 0 is done or the load stops; returns at once without
    /// `--truncate`.
    pub fn wait_first(&self) {
        let (m, cv) = &self.first_done;
        let mut done = m.lock().expect("first_done");
        // An interrupt sets no flag here: look at it now and then.
        while !*done && !self.aborted() {
            done = cv
                .wait_timeout(done, std::time::Duration::from_millis(100))
                .expect("first_done")
                .0;
        }
    }

    /// Whether the load stopped (an error, or an interrupt).
    pub fn aborted(&self) -> bool {
        self.abort.load(Relaxed) || self.interrupt.is_raised()
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

/// Where a load with a ledger keeps its rejected records: the ledger's rejects table, on
/// a connection of its own. The reject file is (re)written from it at the end of each
/// run, so every bad row is in the file once however many runs it took.
pub struct RejectStore {
    /// Connections for the store.
    pub(crate) connector: Connector,
    /// The load.
    pub load_id: String,
    /// The ledger's schema.
    pub schema: ledger::LedgerSchema,
    /// Total time to keep reconnecting.
    pub reconnect_timeout: Duration,
    conn: Mutex<Option<Client>>,
}

impl RejectStore {
    /// A store for `load_id`; it connects on its first reject.
    pub(crate) fn new(
        connector: Connector,
        schema: ledger::LedgerSchema,
        load_id: String,
        reconnect_timeout: Duration,
    ) -> RejectStore {
        RejectStore {
            connector,
            load_id,
            schema,
            reconnect_timeout,
            conn: Mutex::new(None),
        }
    }

    fn store(&self, file: u32, byte: u64, raw: &[u8], line: u64, msg: &str) -> Result<()> {
        let mut guard = self.conn.lock().expect("reject store poisoned");
        let (s, id) = (&self.schema, &self.load_id);
        if let Some(c) = guard.as_mut() {
            if ledger::store_reject(c, s, id, (file, byte), line, raw, msg).is_ok() {
                return Ok(());
            }
        }
        // Idempotent (keyed by the record's place), so trying again on a new connection is
        // safe.
        let (c, ()) = with_reconnect(&self.connector, 0, self.reconnect_timeout, |c| {
            ledger::store_reject(c, s, id, (file, byte), line, raw, msg)
        })?;
        *guard = Some(c);
        Ok(())
    }
}

/// Bad rows: counted against the budget, kept in the ledger (or written to the reject
/// file directly without one).
pub struct Rejects {
    budget: RejectBudget,
    /// Told of each rejected record, as a typed event.
    reporter: Reporter,
    /// None in a dry run: nothing is written anywhere.
    file: Option<RejectWriter>,
    store: Option<RejectStore>,
}

impl Rejects {
    /// Rejects under `budget` into `file`.
    pub fn new(budget: RejectBudget, file: Option<RejectWriter>) -> Rejects {
        Rejects {
            budget,
            reporter: Reporter::default(),
            file,
            store: None,
        }
    }

    /// Tells `reporter` of each rejected record ([`crate::report::Event::Rejected`]).
    pub(crate) fn with_reporter(mut self, reporter: Reporter) -> Rejects {
        self.reporter = reporter;
        self
    }

    /// Keeps rejects in `store`; the file is written by [`Rejects::rewrite_file`].
    pub fn with_store(mut self, store: RejectStore) -> Rejects {
        self.store = Some(store);
        self
    }

    /// Rewrites the reject file from the ledger: every record any run of the load
    /// rejected, once. Returns the number of records in the file (None without a store).
    pub fn rewrite_file(&self) -> Result<Option<u64>> {
        let (Some(store), Some(file)) = (&self.store, &self.file) else {
            return Ok(None);
        };
        let records =
            crate::connect::with_reconnect(&store.connector, 0, store.reconnect_timeout, |c| {
                ledger::rejects(c, &store.schema, &store.load_id)
            })?
            .1;
        file.rewrite(&records).map(Some)
    }

    /// Whether bad rows may be rejected at all.
    pub fn tolerates_any(&self) -> bool {
        self.budget.tolerates_any()
    }

    /// Rejects the record `raw` of input `file` (starting at byte `byte`, on `line`) for
    /// `why`, unless the budget is spent; the observer hears of it as a typed event.
    pub fn reject(&self, file: u32, byte: u64, raw: &[u8], line: u64, why: &Error) -> Result<()> {
        self.budget.take()?;
        let msg = why.to_string();
        match (&self.store, &self.file) {
            (Some(s), _) => s.store(file, byte, raw, line, &msg)?,
            (None, Some(f)) => f.write(raw, line, &msg)?,
            (None, None) => {}
        }
        self.reporter.rejected(RejectedRow {
            file,
            line,
            byte,
            column: why.location().and_then(|l| l.column.clone()),
            sqlstate: why.sqlstate().map(str::to_string),
            message: msg,
        });
        Ok(())
    }

    /// Fails unless bad rows, should any come, can be written (see
    /// [`RejectWriter::check_writable`]); nothing to check when none are tolerated.
    pub fn check_writable(&self) -> Result<()> {
        match &self.file {
            Some(f) if self.tolerates_any() => f.check_writable(),
            _ => Ok(()),
        }
    }

    /// The reject file's path, unless nothing is written.
    pub fn path(&self) -> Option<&str> {
        self.file.as_ref().map(|f| f.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
