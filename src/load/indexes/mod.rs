//! `--defer-indexes`: an initial load into an empty table without its indexes, rebuilt
//! at the end, because building an index once from sorted data is cheaper than updating
//! it row by row (about 3× for a uuid primary key).
//!
//! The definitions go into the ledger (table `chunkload_deferred`, keyed by the load id) in the
//! same transaction that drops them (PostgreSQL DDL is transactional), so any crash
//! leaves either the table as it was or the ledger able to rebuild: a rerun of the load
//! (with any options) sees the pending definitions, loads what is missing and rebuilds.
//! Each rebuilt item is marked in its own transaction with its `CREATE`/`ALTER`; one that
//! already exists (built by hand, or by a run that died before it could mark it) counts
//! as rebuilt.
//!
//! What is deferred, on PostgreSQL: the primary key, unique and exclusion constraints,
//! every other index, and the foreign keys of other tables (or of this one) that
//! reference the table, since the key they need cannot be dropped under them. Foreign
//! keys of this table to others, triggers, NOT NULL and CHECK stay. Rebuild order:
//! constraints (one at a time: each locks the table), indexes (in parallel, up to
//! `--workers` connections), then the foreign keys.
//!
//! On CockroachDB DDL is not transactional (from v25.1 a schema change inside a
//! transaction first commits what came before it), so the definitions are recorded first
//! and each `DROP INDEX` and `CREATE INDEX` runs on its own, outside any transaction; a
//! rerun's drops are no-ops (`IF EXISTS`). What is deferred there: the secondary indexes,
//! unique ones included, read from `SHOW CREATE TABLE` and rebuilt from its exact text
//! ([`crdb`]); the primary key (which cannot be dropped and added back like this), indexes
//! a foreign key needs and what the reader does not recognise stay, named in one line.
//!
//! A duplicate key at rebuild time leaves the table loaded without that constraint: the
//! error ([`crate::ErrorKind::Rebuild`], exit 4) names the duplicate keys (one `GROUP BY`
//! on the table) and their source lines (one more pass over the input, matching the key
//! fields' text), and says how to go on.

use super::config::LoadConfig;
use super::on_control;
use crate::commit::Method;
use crate::connect::{with_reconnect, Connector};
use crate::error::ErrorKind;
use crate::flavour::Flavour;
use crate::ledger::Committed;
use crate::report::Topic;
use crate::sql::quote_ident;
use crate::table::Table;
use crate::{Error, Result};
use postgres::{Client, GenericClient};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod crdb;
mod keys;

pub(crate) use keys::PlanView;

/// Whose deferred items: the load, and the ledger table (in `--ledger-schema`) that holds
/// them (its DDL is in [`crate::ledger::tables`]).
struct Owner<'a> {
    table: String,
    load_id: &'a str,
}

impl<'a> Owner<'a> {
    fn new(cfg: &LoadConfig, load_id: &'a str) -> Self {
        Owner {
            table: cfg.ledger_schema.table(crate::ledger::DEFERRED),
            load_id,
        }
    }
}

/// What kind of object a deferred item is; decides the rebuild order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Constraint,
    Index,
    ForeignKey,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Constraint => "constraint",
            Kind::Index => "index",
            Kind::ForeignKey => "foreign key",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "constraint" => Kind::Constraint,
            "foreign key" => Kind::ForeignKey,
            _ => Kind::Index,
        }
    }
}

/// One dropped index or constraint and the SQL that brings it back.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    ord: i32,
    kind: Kind,
    name: String,
    create_sql: String,
    drop_sql: String,
    /// The key columns of a unique item on plain columns: where to look for duplicates.
    key_columns: Vec<String>,
}

/// Before the load: the items this load must rebuild at its end, dropped from the table
/// now if they are not yet (`None`: nothing deferred). Refuses `--defer-indexes` with
/// `upsert` and on a non-empty table.
pub(crate) fn prepare(
    cfg: &LoadConfig,
    connector: &Connector,
    budget: Duration,
    flavour: Flavour,
    table: &Table,
    load_id: &str,
    committed: &Committed,
) -> Result<Option<Vec<Deferred>>> {
    let name = table.sql_name();
    let owner = Owner::new(cfg, load_id);
    let deferred = &owner.table;
    let pending = on_control(connector, budget, |c| pending(c, &owner, &name))?;
    let reporter = connector.reporter();
    if !pending.is_empty() {
        if cfg.method() == Method::Upsert {
            return Err(Error::usage(format!(
                "load {load_id} deferred {} indexes and constraints of {name} that are not rebuilt yet, \
                 and --method upsert needs them; rerun with --method copy or insert to finish the load \
                 and the rebuild",
                pending.len()
            )));
        }
        let finished = committed.finished_at.is_some();
        if !finished {
            drop_all(connector, budget, flavour, &pending)?;
        }
        if !finished {
            reporter.note(
                Topic::Indexes,
                format!(
                    "load {load_id} has {} deferred indexes and constraints of {name} to rebuild; \
                     they are rebuilt once every row is in",
                    pending.len()
                ),
            );
        }
        return Ok(Some(pending));
    }
    if !cfg.defer_indexes || committed.finished_at.is_some() {
        return Ok(None);
    }
    let rows: bool = on_control(connector, budget, |c| {
        Ok(
            c.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {name})"), &[])?
                .get(0),
        )
    })?;
    if rows {
        return Err(Error::usage(format!(
            "--defer-indexes is for initial loads, and {name} is not empty: dropping its indexes \
             would make a rebuild fail on a duplicate with rows already there, and buys little. \
             Load without --defer-indexes, or empty the table first (TRUNCATE {name})"
        )));
    }
    let (items, left) = on_control(connector, budget, |c| definitions(c, flavour, table)).map_err(
        |e| match flavour {
            Flavour::Postgres => e,
            Flavour::Cockroach => Error::other(format!(
                "--defer-indexes could not read the indexes of {name} (SHOW CREATE TABLE \
                 {name}): {e}; nothing was dropped. Load without --defer-indexes"
            )),
        },
    )?;
    if let Some(line) = crdb::left_in_place_line(&name, &left) {
        reporter.note(Topic::Indexes, line);
    }
    if items.is_empty() {
        return Ok(None);
    }
    on_control(connector, budget, |c| {
        let mut tx = c.transaction()?;
        tx.execute(
            &format!("DELETE FROM {deferred} WHERE load_id = $1"),
            &[&load_id],
        )?;
        for d in &items {
            tx.execute(
                &format!(
                    "INSERT INTO {deferred} (load_id, ord, table_name, kind, name, create_sql, drop_sql, key_columns)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &load_id,
                    &d.ord,
                    &name,
                    &d.kind.name(),
                    &d.name,
                    &d.create_sql,
                    &d.drop_sql,
                    &d.key_columns,
                ],
            )?;
        }
        if flavour == Flavour::Postgres {
            // Recorded and dropped together, or neither.
            for d in items.iter().rev() {
                tx.batch_execute(&d.drop_sql)?;
            }
        }
        Ok(tx.commit()?)
    })?;
    if flavour == Flavour::Cockroach {
        // Schema changes after the recording transaction committed, each on its own.
        drop_all(connector, budget, flavour, &items)?;
    }
    reporter.note(
        Topic::Indexes,
        format!(
            "--defer-indexes: dropped {} from {name} (recorded in the ledger); rebuilt after the load",
            describe(&items)
        ),
    );
    Ok(Some(items))
}

/// Drops `items` (in reverse order: foreign keys before the keys they need): on
/// PostgreSQL in one transaction; on CockroachDB each `DROP` alone, outside any
/// transaction, as DDL must run there. `IF EXISTS` makes a drop that already happened a
/// no-op.
fn drop_all(
    connector: &Connector,
    budget: Duration,
    flavour: Flavour,
    items: &[Deferred],
) -> Result<()> {
    match flavour {
        Flavour::Postgres => on_control(connector, budget, |c| {
            let mut tx = c.transaction()?;
            for d in items.iter().rev() {
                tx.batch_execute(&d.drop_sql)?;
            }
            Ok(tx.commit()?)
        }),
        Flavour::Cockroach => items
            .iter()
            .rev()
            .try_for_each(|d| on_control(connector, budget, |c| Ok(c.batch_execute(&d.drop_sql)?))),
    }
}

/// `1 constraint and 2 indexes`, for messages.
fn describe(items: &[Deferred]) -> String {
    let n = |k: Kind| items.iter().filter(|d| d.kind == k).count();
    let parts: Vec<String> = [
        (Kind::Constraint, "constraint", "constraints"),
        (Kind::Index, "index", "indexes"),
        (Kind::ForeignKey, "foreign key", "foreign keys"),
    ]
    .iter()
    .filter(|(k, ..)| n(*k) > 0)
    .map(|(k, one, many)| format!("{} {}", n(*k), if n(*k) == 1 { one } else { many }))
    .collect();
    parts.join(", ")
}

/// The table's recorded items that are not rebuilt yet, in order. Items an earlier load
/// of the table left (a `--fresh` rerun, a forgotten load) pass to this one, so no rerun
/// leaves the table without them.
fn pending(c: &mut Client, owner: &Owner<'_>, table: &str) -> Result<Vec<Deferred>> {
    let (deferred, load_id) = (&owner.table, owner.load_id);
    let mut tx = c.transaction()?;
    tx.execute(
        &format!(
            "UPDATE {deferred} SET load_id = $1
             WHERE NOT rebuilt AND load_id = (SELECT min(load_id) FROM {deferred}
                   WHERE table_name = $2 AND load_id <> $1 AND NOT rebuilt)
               AND NOT EXISTS (SELECT 1 FROM {deferred} o WHERE o.load_id = $1)"
        ),
        &[&load_id, &table],
    )?;
    let rows = tx.query(
        &format!(
            "SELECT ord, kind, name, create_sql, drop_sql, coalesce(key_columns, '{{}}')
             FROM {deferred} WHERE load_id = $1 AND NOT rebuilt ORDER BY ord"
        ),
        &[&load_id],
    )?;
    tx.commit()?;
    Ok(rows
        .iter()
        .map(|r| Deferred {
            ord: r.get(0),
            kind: Kind::parse(r.get(1)),
            name: r.get(2),
            create_sql: r.get(3),
            drop_sql: r.get(4),
            key_columns: r.get(5),
        })
        .collect())
}

/// The definitions of what to defer, in rebuild order, and what stays (CockroachDB).
fn definitions(
    c: &mut Client,
    flavour: Flavour,
    table: &Table,
) -> Result<(Vec<Deferred>, Vec<crdb::LeftInPlace>)> {
    match flavour {
        Flavour::Postgres => Ok((postgres_definitions(c, table)?, Vec::new())),
        Flavour::Cockroach => cockroach_definitions(c, table),
    }
}

/// The `SHOW CREATE TABLE` text of `table` (its SQL name): the one statement CockroachDB's
/// definitions come from, sent alone over the simple protocol and read by column name.
fn show_create_table(c: &mut Client, table: &str) -> Result<String> {
    let sql = format!("SHOW CREATE TABLE {table}");
    c.simple_query(&sql)?
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get("create_statement").map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| Error::other(format!("{sql} answered no create_statement")))
}

/// The foreign keys (of any table, this one included) that reference `table`: the indexes
/// they need stay in place.
fn inbound_foreign_keys(c: &mut Client, table: &str) -> Result<Vec<crdb::InboundFk>> {
    Ok(c.query(
        "SELECT c.conname::text, c.conrelid::regclass::text,
                    array(SELECT a.attname::text FROM unnest(c.confkey) AS k(n)
                          JOIN pg_catalog.pg_attribute a
                            ON a.attrelid = c.confrelid AND a.attnum = k.n)
             FROM pg_catalog.pg_constraint c
             WHERE c.contype = 'f' AND c.confrelid = $1::text::regclass
             ORDER BY 1",
        &[&table],
    )?
    .iter()
    .map(|r| crdb::InboundFk {
        name: r.get(0),
        table: r.get(1),
        columns: r.get(2),
    })
    .collect())
}

/// CockroachDB: the secondary indexes `SHOW CREATE TABLE` prints, each rebuilt from its
/// own text ([`crdb::plan`]), and what stays.
fn cockroach_definitions(
    c: &mut Client,
    table: &Table,
) -> Result<(Vec<Deferred>, Vec<crdb::LeftInPlace>)> {
    let name = table.sql_name();
    let text = show_create_table(c, &name)?;
    let inbound = inbound_foreign_keys(c, &name)?;
    let plan = crdb::plan(&name, &text, &inbound).map_err(Error::other)?;
    let items = plan
        .rebuild
        .into_iter()
        .enumerate()
        .map(|(ord, r)| Deferred {
            ord: ord as i32,
            kind: Kind::Index,
            name: r.name,
            create_sql: r.create_sql,
            drop_sql: r.drop_sql,
            key_columns: r.key_columns,
        })
        .collect();
    Ok((items, plan.left))
}

/// PostgreSQL: the catalog's definitions of what to defer, in rebuild order.
fn postgres_definitions(c: &mut Client, table: &Table) -> Result<Vec<Deferred>> {
    let name = table.sql_name();
    let mut out = Vec::new();
    let mut push = |kind, obj: String, create_sql: String, drop_sql: String, keys| {
        out.push(Deferred {
            ord: out.len() as i32,
            kind,
            name: obj,
            create_sql,
            drop_sql,
            key_columns: keys,
        })
    };
    let key_cols = "array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)";
    for r in c.query(
        &format!(
            "SELECT c.conname::text, pg_get_constraintdef(c.oid),
                    CASE WHEN c.contype IN ('p', 'u') AND i.indexprs IS NULL THEN {key_cols} END
             FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid
             WHERE c.conrelid = $1::text::regclass AND c.contype IN ('p', 'u', 'x')
             ORDER BY c.contype = 'p' DESC, c.conname"
        ),
        &[&name],
    )? {
        let (con, def): (String, String) = (r.get(0), r.get(1));
        let q = quote_ident(&con);
        push(
            Kind::Constraint,
            con,
            format!("ALTER TABLE {name} ADD CONSTRAINT {q} {def}"),
            format!("ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {q}"),
            r.get::<_, Option<Vec<String>>>(2).unwrap_or_default(),
        );
    }
    for r in c.query(
        &format!(
            "SELECT n.nspname::text, x.relname::text, pg_get_indexdef(i.indexrelid),
                    CASE WHEN i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL THEN {key_cols} END
             FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = x.relnamespace
             WHERE i.indrelid = $1::text::regclass
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                               WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
             ORDER BY x.relname"
        ),
        &[&name],
    )? {
        let (schema, idx): (String, String) = (r.get(0), r.get(1));
        // NULL when the server cannot print the definition: such an index stays.
        let Some(def) = r.get::<_, Option<String>>(2) else {
            continue;
        };
        let drop_sql = format!(
            "DROP INDEX IF EXISTS {}.{}",
            quote_ident(&schema),
            quote_ident(&idx)
        );
        push(
            Kind::Index,
            idx,
            def,
            drop_sql,
            r.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
        );
    }
    for r in c.query(
        "SELECT n.nspname::text, t.relname::text, c.conname::text, pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE c.contype = 'f' AND c.confrelid = $1::text::regclass AND c.conparentid = 0
         ORDER BY 1, 2, 3",
        &[&name],
    )? {
        let (schema, rel, con, def): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let other = format!("{}.{}", quote_ident(&schema), quote_ident(&rel));
        let q = quote_ident(&con);
        push(
            Kind::ForeignKey,
            format!("{con} on {other}"),
            format!("ALTER TABLE {other} ADD CONSTRAINT {q} {def}"),
            format!("ALTER TABLE {other} DROP CONSTRAINT IF EXISTS {q}"),
            Vec::new(),
        );
    }
    Ok(out)
}

/// An item whose rebuild the data refused (a duplicate key, a NULL in a key column).
struct Refused {
    item: Deferred,
    error: String,
}

/// After the load: rebuilds `items` (constraints, then indexes in parallel on up to
/// `workers` connections, then foreign keys), marking each in the ledger. Data errors do
/// not stop the others; they come back as one [`ErrorKind::Rebuild`] naming the
/// duplicate keys and their source lines.
pub(crate) fn rebuild(
    cfg: &LoadConfig,
    view: &PlanView<'_>,
    connector: &Connector,
    budget: Duration,
    load_id: &str,
    rows: u64,
    items: Vec<Deferred>,
) -> Result<()> {
    let started = Instant::now();
    let flavour = view.flavour;
    let refused = Mutex::new(Vec::new());
    let owner = Owner::new(cfg, load_id);
    let build = |worker: usize, d: &Deferred| -> Result<()> {
        let (_, outcome) = with_reconnect(connector, worker, budget, |c| {
            build_one(c, flavour, &owner, d)
        })?;
        if let Err(error) = outcome {
            refused.lock().unwrap().push(Refused {
                item: d.clone(),
                error,
            });
        }
        Ok(())
    };
    for kind in [Kind::Constraint, Kind::Index, Kind::ForeignKey] {
        let group: Vec<&Deferred> = items.iter().filter(|d| d.kind == kind).collect();
        let threads = match kind {
            Kind::Index => cfg.workers.clamp(1, group.len().max(1)),
            _ => 1,
        };
        let queue = Mutex::new(group.into_iter());
        let failed = Mutex::new(None);
        std::thread::scope(|s| {
            for w in 0..threads {
                let (queue, failed, build) = (&queue, &failed, &build);
                s.spawn(move || loop {
                    let next = queue.lock().unwrap().next();
                    let Some(d) = next else { break };
                    if let Err(e) = build(w, d) {
                        failed.lock().unwrap().get_or_insert(e);
                        break;
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().unwrap() {
            return Err(e);
        }
    }
    let refused = refused.into_inner().unwrap();
    if refused.is_empty() {
        connector.reporter().note(
            Topic::Indexes,
            format!(
                "rebuilt {} of {} in {:.1} s",
                describe(&items),
                view.table.sql_name(),
                started.elapsed().as_secs_f64()
            ),
        );
        return Ok(());
    }
    let msg = keys::explain(
        cfg,
        view,
        connector,
        budget,
        (load_id, rows),
        &items,
        &refused,
    )?;
    Err(ErrorKind::Rebuild(msg).into())
}

/// Builds one item and marks it rebuilt; `Ok(Err(message))` when the data refuses it.
fn build_one(
    c: &mut Client,
    flavour: Flavour,
    owner: &Owner<'_>,
    d: &Deferred,
) -> Result<std::result::Result<(), String>> {
    let outcome = if flavour == Flavour::Postgres {
        // The object and its mark commit together.
        let mut tx = c.transaction()?;
        let built = tx.batch_execute(&d.create_sql);
        match built {
            Ok(()) => {
                mark_rebuilt(&mut tx, owner, d.ord)?;
                tx.commit()?;
                Ok(())
            }
            Err(e) => {
                drop(tx);
                settle(c, owner, d, e)?
            }
        }
    } else {
        match c.batch_execute(&d.create_sql) {
            Ok(()) => {
                mark_rebuilt(c, owner, d.ord)?;
                Ok(())
            }
            Err(e) => settle(c, owner, d, e)?,
        }
    };
    Ok(outcome)
}

/// A failed build: already there counts as rebuilt; a data error is the item's refusal;
/// anything else fails the rebuild.
fn settle(
    c: &mut Client,
    owner: &Owner<'_>,
    d: &Deferred,
    e: postgres::Error,
) -> Result<std::result::Result<(), String>> {
    match e.code().map(|s| s.code()) {
        Some("42P07") | Some("42710") => {
            mark_rebuilt(c, owner, d.ord)?;
            Ok(Ok(()))
        }
        // 42830: a foreign key whose key could not be rebuilt.
        Some(s) if s.starts_with("23") || s == "42830" => Ok(Err(crate::error::db_message(&e))),
        _ => Err(e.into()),
    }
}

fn mark_rebuilt(c: &mut impl GenericClient, owner: &Owner<'_>, ord: i32) -> Result<()> {
    let (deferred, load_id) = (&owner.table, owner.load_id);
    c.execute(
        &format!("UPDATE {deferred} SET rebuilt = true WHERE load_id = $1 AND ord = $2"),
        &[&load_id, &ord],
    )?;
    Ok(())
}
