//! The statements a chunk commit sends, and the key each is prepared under.

use crate::encode::{self, Column, Format};
use crate::flavour::Flavour;
use crate::ledger;
use crate::table::Table;

/// How rows travel to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Multi-row `INSERT ... VALUES` with bind parameters.
    Insert,
    /// `INSERT ... ON CONFLICT (pk) DO UPDATE` (PostgreSQL) or `UPSERT` (CockroachDB).
    Upsert,
    /// `COPY ... FROM STDIN` inside the chunk's transaction.
    Copy,
}

impl Method {
    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Insert => "insert",
            Method::Upsert => "upsert",
            Method::Copy => "copy",
        }
    }
}

/// Which statement a connection has prepared: INSERTs differ by their row count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StatementKey {
    /// The `COPY ... FROM STDIN` of the target, for rows in this format (a chunk the
    /// fast path was not certain of goes as text).
    Copy { format: Format },
    /// A multi-row INSERT (or upsert) of this many rows, bound in this format (a
    /// `numeric(p,s)` bound as text is read with its typmod, see
    /// [`encode::insert::insert_sql`]).
    Insert { rows: usize, format: Format },
    /// The ledger row of a piece.
    Ledger,
}

/// The target as the statements see it: table, columns in encoding order, wire format,
/// server flavour and transport.
pub(crate) struct Statements {
    pub(crate) table: Table,
    pub(crate) columns: Vec<Column>,
    pub(crate) format: Format,
    pub(crate) flavour: Flavour,
    pub(crate) method: Method,
    /// Where the ledger row goes.
    pub(crate) ledger_schema: ledger::LedgerSchema,
}

impl Statements {
    /// The statement that sends `rows` rows by the load's method.
    pub(crate) fn data_key(&self, rows: usize, format: Format) -> StatementKey {
        match self.method {
            Method::Copy => StatementKey::Copy { format },
            Method::Insert | Method::Upsert => StatementKey::Insert { rows, format },
        }
    }

    /// The SQL text of a statement.
    pub(crate) fn sql(&self, key: StatementKey) -> String {
        match key {
            StatementKey::Copy { format } => {
                encode::copy::copy_sql(&self.table.qualified(), &self.columns, format)
            }
            StatementKey::Insert { rows, format } => self.insert_sql(rows, format),
            StatementKey::Ledger => ledger::record_sql(&self.ledger_schema),
        }
    }

    fn insert_sql(&self, rows: usize, format: Format) -> String {
        let conflict = match (self.method, self.flavour) {
            (Method::Upsert, Flavour::Cockroach) => encode::insert::Conflict::UpsertCockroach,
            (Method::Upsert, Flavour::Postgres) => encode::insert::Conflict::UpsertPg {
                pk: self.table.primary_key.clone(),
            },
            _ => encode::insert::Conflict::None,
        };
        let postgres = self.flavour == Flavour::Postgres;
        encode::insert::insert_sql(
            &self.table.qualified(),
            &self.columns,
            rows,
            &conflict,
            postgres,
            format,
        )
    }

    /// The SQL the first chunk sends (shown by `--dry-run`).
    pub(crate) fn first_sql(&self, rows: usize) -> String {
        self.sql(self.data_key(rows, self.format))
    }
}
