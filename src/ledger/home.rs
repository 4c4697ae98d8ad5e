//! Where the bookkeeping lives. `--ledger-schema NAME` names a schema and the ledger stays
//! there. Without it the default schema ([`super::SCHEMA`]) is used when the role may use
//! or create it; else the loaded table's schema, when the role may create tables there (an
//! application role on PostgreSQL 15+ has no CREATE on the database but owns its schema):
//! the same `chunkload_` tables, beside the user's, said in one line ([`Home::note`]). A
//! load that began in one of the two places stays there. `status` and `forget` read every
//! schema that holds a ledger ([`found`]).

use super::{ensure, ensure_or, lacks_text, tables, LedgerSchema, Missing, SchemaState, LOADS};
use crate::sql::quote_ident;
use crate::{Error, ErrorKind, Result};
use postgres::GenericClient;

/// What the session may write: read once per decision. `current_setting` and
/// `has_database_privilege(name, 'CREATE')` exist on both servers (CockroachDB: its
/// `transaction_read_only` session variable, its `privilege_builtins` logic test).
pub(crate) const SESSION_SQL: &str = "SELECT current_setting('transaction_read_only'),
        has_database_privilege(current_database(), 'CREATE'),
        current_user::text, current_database()::text";

/// The role's session: whether it may write at all, and create schemas.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    read_only: bool,
    create_on_db: bool,
    pub(crate) role: String,
    pub(crate) db: String,
}

impl Session {
    pub(crate) fn read(client: &mut impl GenericClient) -> Result<Session> {
        let r = client.query_one(SESSION_SQL, &[])?;
        let read_only: String = r.get(0);
        Ok(Session {
            read_only: matches!(read_only.as_str(), "on" | "true"),
            create_on_db: r.get::<_, Option<bool>>(1) == Some(true),
            role: r.get(2),
            db: r.get(3),
        })
    }

    /// The read-only error before anything is tried, rather than the server's
    /// `cannot execute CREATE SCHEMA in a read-only transaction`.
    pub(crate) fn writable(&self, s: &LedgerSchema) -> Result<()> {
        match self.read_only {
            true => Err(read_only(&self.db, s)),
            false => Ok(()),
        }
    }
}

/// The error of a database that refuses writes (SQLSTATE 25006 on a write, or
/// `transaction_read_only` on).
pub(crate) fn read_only_error(client: &mut impl GenericClient, s: &LedgerSchema) -> Error {
    let db = Session::read(client).map_or_else(|_| "<database>".into(), |s| s.db);
    read_only(&db, s)
}

fn read_only(db: &str, s: &LedgerSchema) -> Error {
    ErrorKind::ReadOnly(format!(
        "database {} is read-only (transaction_read_only is on: default_transaction_read_only \
         is set for the database or the role, or the server is a standby), and chunkload needs \
         to write its bookkeeping (schema {}) to load exactly once; nothing was loaded. Load \
         through a writable server, as a role whose default_transaction_read_only is off",
        quote_ident(db),
        s.quoted()
    ))
    .into()
}

/// Where a load's bookkeeping is kept.
#[derive(Debug, Clone)]
pub struct Home {
    /// The schema, pinned: every statement of the load uses it.
    pub schema: LedgerSchema,
    /// When the ledger is kept beside the table instead of in the default schema: one line
    /// saying where and why, for the user (the library does not print it).
    pub note: Option<String>,
}

/// Decides where load `load_id` into a table of schema `table_schema` keeps its ledger, and
/// sets it up there (see the module's doc): `asked` if pinned; else the default schema if
/// the role may use or create it, unless the load began beside the table; else beside the
/// table if the role may create tables there; else the privilege error with the DDL an
/// administrator runs for the default schema. A read-only database is
/// [`ErrorKind::ReadOnly`].
pub fn locate(
    client: &mut impl GenericClient,
    asked: &LedgerSchema,
    table_schema: &str,
    load_id: &str,
) -> Result<Home> {
    let session = Session::read(client)?;
    session.writable(asked)?;
    let default = LedgerSchema {
        pinned: true,
        ..asked.clone()
    };
    if asked.is_pinned() || table_schema == asked.name() {
        ensure(client, &default)?;
        return Ok(Home {
            schema: default,
            note: None,
        });
    }
    let beside = LedgerSchema::new(table_schema)?;
    let (here, there) = (
        SchemaState::read(client, &default)?,
        SchemaState::read(client, &beside)?,
    );
    let default_lacks = here.lacks(session.create_on_db);
    let beside_lacks = there.lacks(false);
    let began = |c: &mut _, state: &SchemaState, s: &LedgerSchema| -> Result<bool> {
        Ok(state.holds_ledger() && has_load(c, s, load_id)?)
    };
    let began_beside = beside_lacks.is_none()
        && began(client, &there, &beside)?
        && !(default_lacks.is_none() && began(client, &here, &default)?);
    if default_lacks.is_none() && !began_beside {
        ensure(client, &default)?;
        return Ok(Home {
            schema: default,
            note: None,
        });
    }
    if let Some(what) = beside_lacks {
        // Nowhere to keep it: the default schema's error, which prints the DDL.
        let lacks = match what {
            Missing::CreateOnDatabase | Missing::CreateOnSchema => "the CREATE privilege there",
            Missing::UsageOnSchema => "the USAGE privilege there",
            Missing::Tables => "SELECT, INSERT, UPDATE or DELETE on the chunkload_ tables there",
        };
        let also = format!(
            "and it may not keep it beside the table in schema {} either (it lacks {lacks})",
            beside.quoted()
        );
        ensure_or(client, &default, Some(&also))?;
        return Ok(Home {
            schema: default,
            note: None,
        });
    }
    ensure(client, &beside)?;
    let why = match default_lacks {
        Some(m) => format!(
            "not in schema {}{}",
            default.quoted(),
            lacks_text(m, &default, &session.role, &session.db)
        ),
        None => format!("load {load_id} began there"),
    };
    let names: Vec<&str> = tables(&beside).iter().map(|(n, _)| *n).collect();
    let note = format!(
        "{why}: keeping the bookkeeping in schema {} beside the table (tables {}); reruns, \
         status and forget find it there",
        beside.quoted(),
        names.join(", ")
    );
    Ok(Home {
        schema: beside,
        note: Some(note),
    })
}

/// Whether the loads table of `s` has a row for `load_id`.
fn has_load(client: &mut impl GenericClient, s: &LedgerSchema, load_id: &str) -> Result<bool> {
    let row = client.query_opt(
        &format!("SELECT 1 FROM {} WHERE load_id = $1", s.table(LOADS)),
        &[&load_id],
    )?;
    Ok(row.is_some())
}

/// Every schema holding a loads table the role may read (tables only: CockroachDB's
/// `has_table_privilege` answers NULL for an index's OID).
pub(crate) const LEDGERS_SQL: &str = "SELECT n.nspname::text
   FROM pg_catalog.pg_class c
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = $1 AND c.relkind IN ('r', 'p')
    AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')";

/// The ledgers `status` and `forget` read: `asked` if pinned; else every schema holding
/// one the role may read, the default schema first, then by name. Empty when none exists
/// (nothing is created).
pub fn found(client: &mut impl GenericClient, asked: &LedgerSchema) -> Result<Vec<LedgerSchema>> {
    if asked.is_pinned() {
        return Ok(vec![asked.clone()]);
    }
    let mut names: Vec<String> = client
        .query(LEDGERS_SQL, &[&LOADS])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    names.sort_by(|a, b| (a != asked.name(), a).cmp(&(b != asked.name(), b)));
    names.iter().map(|n| LedgerSchema::new(n)).collect()
}
