//! `--create-table`: creating the table is part of the load. A load that commits no row
//! leaves nothing behind: the table it created is dropped again (only while it is empty)
//! and its ledger entry forgotten, so `status` lists no empty load and the same command,
//! the input fixed, starts from scratch. A load that committed rows keeps both, and its
//! rerun (which finds the table there and creates nothing) resumes it.

use super::config::LoadConfig;
use super::on_control;
use crate::connect::Connector;
use crate::flavour::Flavour;
use crate::ledger;
use crate::report::Topic;
use crate::table::Table;
use crate::{Error, Result};
use postgres::Client;

/// After the load `begun` (its id and ledger schema, when it got that far) into the table
/// this run created failed with `e`: drops the table and forgets the load if no row is in
/// it, saying so in one line; returns `e`. What cannot be undone is said too, and `e` is
/// still the error.
pub(super) fn undo(
    cfg: &LoadConfig,
    connector: &Connector,
    begun: Option<&(String, ledger::LedgerSchema)>,
    e: Error,
) -> Error {
    let undone = on_control(connector, cfg.reconnect_timeout, |c| {
        let dropped = drop_if_empty(c, &cfg.table)?;
        if let (Some(_), Some((id, schema))) = (&dropped, begun) {
            ledger::forget(c, schema, id)?;
        }
        Ok(dropped)
    });
    let text = match undone {
        Ok(Some(name)) => {
            format!("dropped {name} again, which this run created: no row was committed into it")
        }
        Ok(None) => return e,
        Err(u) => format!(
            "could not drop {} again, which this run created: {u}",
            cfg.table
        ),
    };
    // Said even under --quiet: it goes with the error.
    connector.reporter().warn(Topic::CreatedTable, text);
    e
}

/// Drops `table` if it holds no row; its SQL name when it did. On PostgreSQL the check
/// and the drop are one transaction under the table's lock, so a row committed meanwhile
/// by anyone keeps the table; CockroachDB has no `LOCK TABLE` and runs schema changes
/// outside transactions, so there the drop follows the check.
fn drop_if_empty(c: &mut Client, table: &str) -> Result<Option<String>> {
    let flavour = Flavour::detect(c)?;
    let name = match Table::read_as(c, table, flavour) {
        Ok(t) => t.sql_name(),
        Err(e) if matches!(e.kind(), crate::ErrorKind::Schema(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let empty_sql = format!("SELECT EXISTS (SELECT 1 FROM {name})");
    let drop_sql = format!("DROP TABLE {name}");
    match flavour {
        Flavour::Postgres => {
            let mut tx = c.transaction()?;
            tx.batch_execute(&format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))?;
            if tx.query_one(&empty_sql, &[])?.get::<_, bool>(0) {
                return Ok(None);
            }
            tx.batch_execute(&drop_sql)?;
            tx.commit()?;
        }
        Flavour::Cockroach => {
            if c.query_one(&empty_sql, &[])?.get::<_, bool>(0) {
                return Ok(None);
            }
            c.batch_execute(&drop_sql)?;
        }
    }
    Ok(Some(name))
}
