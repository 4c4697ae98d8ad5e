//! `--execute`: the plan's statements run on the target. CockroachDB runs `IMPORT INTO`;
//! PostgreSQL, which has none, runs the server-side `COPY` statements of `--emit copy`.

use super::ImportPlan;
use crate::{Error, Flavour, Result};

/// The message `--execute` gives on PostgreSQL, which has no `IMPORT INTO`.
pub const POSTGRES_REFUSAL: &str = "IMPORT INTO is a CockroachDB statement and the target is \
PostgreSQL: nothing was run. Use `chunkload load` to load the file in chunks, or \
`chunkload import --emit copy` to get server-side COPY statements for the shards.";

/// Runs the plan's `IMPORT INTO` on CockroachDB and returns the job's result row as
/// `name=value` pairs; refuses on PostgreSQL without touching the server.
pub fn execute(
    client: &mut postgres::Client,
    plan: &ImportPlan,
    flavour: Flavour,
) -> Result<String> {
    if flavour != Flavour::Cockroach {
        return Err(Error::usage(POSTGRES_REFUSAL));
    }
    let messages = client.simple_query(plan.statement())?;
    let mut out = Vec::new();
    for m in messages {
        if let postgres::SimpleQueryMessage::Row(row) = m {
            for (i, col) in row.columns().iter().enumerate() {
                out.push(format!("{}={}", col.name(), row.get(i).unwrap_or("NULL")));
            }
        }
    }
    Ok(out.join(", "))
}

/// Runs the plan's [`ImportPlan::copy_statements`] on PostgreSQL in one transaction, so
/// either every shard loads or none; returns the rows copied.
pub fn execute_copy(client: &mut postgres::Client, plan: &ImportPlan) -> Result<u64> {
    let mut tx = client.transaction()?;
    let mut rows = 0;
    for stmt in plan.copy_statements() {
        for m in tx.simple_query(stmt)? {
            if let postgres::SimpleQueryMessage::CommandComplete(n) = m {
                rows += n;
            }
        }
    }
    tx.commit()?;
    Ok(rows)
}
