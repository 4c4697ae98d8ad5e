//! `--truncate` on CockroachDB: the table is emptied as a step of its own, before any
//! chunk, and the ledger makes that step happen once across crashes and reruns.
//!
//! On PostgreSQL chunk 0's transaction runs `TRUNCATE`, its ledger row and its rows,
//! atomically. CockroachDB cannot: TRUNCATE is not transactional there, and from v25.1
//! (`autocommit_before_ddl`, on by default, PR #118440) a schema change inside an explicit
//! transaction, TRUNCATE included, first commits what came before and runs on its own, so
//! the chunk's `RELEASE SAVEPOINT` fails afterwards. So on CockroachDB no chunk transaction
//! ever holds DDL; the load row carries a state ([`TruncateState`]) instead, and the step
//! is three statements, each sent on its own outside any explicit transaction:
//!
//! ```text
//! UPDATE <ledger>.chunkload_loads SET truncate_state = 'pending'   WHERE load_id = $1
//! TRUNCATE <table>
//! UPDATE <ledger>.chunkload_loads SET truncate_state = 'truncated' WHERE load_id = $1
//! ```
//!
//! and only then do chunks start. A rerun (with any options, `--truncate` or not, under
//! the load's lease) that finds `pending` sends the `TRUNCATE` again: that is safe, as no
//! chunk commits before `truncated` is recorded, and it leaves the table as the first run
//! meant it to be whether or not its `TRUNCATE` ran. One that finds `truncated` never
//! empties the table again. As on PostgreSQL, a load that has committed anything is never
//! truncated; `--fresh` starts a new load, and so a new truncate.

use super::on_control;
use crate::connect::Connector;
use crate::ledger::{self, Committed, LedgerSchema, TruncateState};
use crate::report::Topic;
use crate::Result;
use std::time::Duration;

/// What a run does about emptying the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Nothing to do: no `--truncate`, or the load committed pieces already.
    Nothing,
    /// An earlier run of the load emptied the table: not again.
    Done,
    /// Empty the table now; `again`: an earlier run recorded `pending` and stopped.
    Truncate { again: bool },
}

/// The decision for a run: `asked` is `--truncate`, `state` the load's recorded state,
/// `started` whether the load committed (or rejected) any piece.
pub(super) fn decide(asked: bool, state: TruncateState, started: bool) -> Decision {
    match state {
        TruncateState::Truncated => Decision::Done,
        // Recorded before any chunk could commit; the check is for a ledger edited by hand.
        _ if started => Decision::Nothing,
        TruncateState::Pending => Decision::Truncate { again: true },
        TruncateState::None if asked => Decision::Truncate { again: false },
        TruncateState::None => Decision::Nothing,
    }
}

/// One statement of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Record the state on the load's row.
    Mark(TruncateState),
    /// `TRUNCATE <table>`, alone.
    Truncate,
}

/// The step, in order: each is sent on its own and committed before the next.
pub(super) const STEPS: [Step; 3] = [
    Step::Mark(TruncateState::Pending),
    Step::Truncate,
    Step::Mark(TruncateState::Truncated),
];

/// The `TRUNCATE` of `table` (its SQL name), as sent.
pub(super) fn truncate_sql(table: &str) -> String {
    format!("TRUNCATE {table}")
}

/// Runs [`STEPS`] through `send`, in order, stopping at the first error.
fn run_steps(mut send: impl FnMut(Step) -> Result<()>) -> Result<()> {
    STEPS.iter().try_for_each(|&step| send(step))
}

/// Before any chunk of a CockroachDB load (under its lease): empties `table` once for the
/// load, as [`decide`] says. Each statement runs on the control connection outside any
/// transaction; a lost connection reconnects and sends that statement again (each is
/// idempotent while no chunk has committed).
pub(super) fn before_chunks(
    asked: bool,
    (connector, budget): (&Connector, Duration),
    schema: &LedgerSchema,
    (load_id, table): (&str, &str),
    committed: &Committed,
) -> Result<()> {
    let state = on_control(connector, budget, |c| {
        ledger::truncate_state(c, schema, load_id)
    })?;
    let reporter = connector.reporter();
    match decide(asked, state, !committed.is_empty()) {
        Decision::Nothing => return Ok(()),
        Decision::Done => {
            if asked {
                reporter.note(
                    Topic::Truncate,
                    format!("--truncate: load {load_id} already emptied {table}; it is not emptied again"),
                );
            }
            return Ok(());
        }
        Decision::Truncate { again: true } => reporter.note(
            Topic::Truncate,
            format!(
                "load {load_id} had begun emptying {table} (--truncate) when it stopped, before any \
                 chunk; emptying it again first"
            ),
        ),
        Decision::Truncate { .. } => {}
    }
    let sql = truncate_sql(table);
    run_steps(|step| {
        on_control(connector, budget, |c| match step {
            Step::Mark(state) => ledger::set_truncate_state(c, schema, load_id, state),
            Step::Truncate => Ok(c.batch_execute(&sql)?),
        })
    })?;
    reporter.note(
        Topic::Truncate,
        format!(
            "--truncate: emptied {table} before the first chunk (on CockroachDB TRUNCATE is \
             not transactional: a step of its own, recorded in the ledger)"
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_happens_once_per_load_and_never_after_a_commit() {
        use Decision::*;
        use TruncateState as S;
        // A new load with --truncate empties the table.
        assert_eq!(decide(true, S::None, false), Truncate { again: false });
        assert_eq!(decide(false, S::None, false), Nothing);
        // Killed between `pending` and `truncated`: any rerun finishes it, with or without
        // --truncate (the TRUNCATE may have run).
        assert_eq!(decide(true, S::Pending, false), Truncate { again: true });
        assert_eq!(decide(false, S::Pending, false), Truncate { again: true });
        // Once emptied, never again: whatever the options, chunks committed or not.
        for asked in [true, false] {
            for started in [true, false] {
                assert_eq!(decide(asked, S::Truncated, started), Done);
            }
        }
        // As on PostgreSQL, a load that committed anything is not truncated.
        assert_eq!(decide(true, S::None, true), Nothing);
        assert_eq!(decide(true, S::Pending, true), Nothing);
    }

    #[test]
    fn the_step_sends_truncate_alone_between_two_ledger_marks() {
        let mut sent = Vec::new();
        run_steps(|step| {
            sent.push(step);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            sent,
            [
                Step::Mark(TruncateState::Pending),
                Step::Truncate,
                Step::Mark(TruncateState::Truncated)
            ]
        );
        // The TRUNCATE is one statement: no BEGIN before it, nothing after it.
        let sql = truncate_sql("\"public\".\"t\"");
        assert_eq!(sql, "TRUNCATE \"public\".\"t\"");
        assert!(!sql.contains(';') && !sql.to_uppercase().contains("BEGIN"));
        // A failed step stops the sequence: `truncated` is never recorded without it.
        let mut sent = Vec::new();
        let r = run_steps(|step| {
            sent.push(step);
            match step {
                Step::Truncate => Err(crate::Error::other("refused")),
                _ => Ok(()),
            }
        });
        assert!(r.is_err());
        assert_eq!(sent, [Step::Mark(TruncateState::Pending), Step::Truncate]);
    }

    #[test]
    fn truncate_state_column_values_round_trip() {
        for s in [
            TruncateState::None,
            TruncateState::Pending,
            TruncateState::Truncated,
        ] {
            assert_eq!(TruncateState::from_sql(s.as_sql()), s);
        }
        assert_eq!(
            TruncateState::from_sql(Some("something newer")),
            TruncateState::Pending
        );
    }
}
