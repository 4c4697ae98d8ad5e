//! Exactly-once bookkeeping in the target database, keyed by the data.
//!
//! Every piece of a chunk that commits (or is rejected) writes one ledger row in the same
//! transaction, so the rows and their ledger entry commit together or not at all. A piece
//! is a run of consecutive records of one input, identified by its byte range
//! `[byte_start, byte_end)` in the (decompressed) input: a range always starts and ends on
//! a record boundary. Chunk boundaries therefore need not repeat from run to run: a rerun
//! with any chunk size, method or worker count skips the records whose bytes are covered
//! and sends the rest. The tables live in their own schema ([`LedgerSchema`], by default
//! [`SCHEMA`], else beside the loaded table: [`home`]), never in the user's `search_path`.

use crate::sql::quote_ident;
use crate::{Error, ErrorKind, Result};
use postgres::{GenericClient, ToStatement};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub mod home;
pub mod lease;
pub mod rerun;

pub use rerun::begin_load;

/// The default schema of the bookkeeping tables (`--ledger-schema` chooses another).
pub const SCHEMA: &str = "chunkload";

/// The loads table: one row per load (and its lease).
pub const LOADS: &str = "chunkload_loads";
/// The ledger proper: one row per committed or rejected piece.
pub const LEDGER: &str = "chunkload_ledger";
/// Rejected records, for the reject file.
pub const REJECTS: &str = "chunkload_rejects";
/// Indexes and keys `--defer-indexes` dropped, until they are rebuilt.
pub const DEFERRED: &str = "chunkload_deferred";

/// Where the bookkeeping tables live: a schema name, quoted (by [`crate::sql`]) into every
/// statement of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSchema {
    name: String,
    quoted: String,
    /// Named (`--ledger-schema`) or already located: the ledger is kept there and nowhere
    /// else. The default ([`SCHEMA`]) is not: [`home::locate`] may keep it beside the table.
    pinned: bool,
}

impl Default for LedgerSchema {
    fn default() -> Self {
        let mut s = LedgerSchema::new(SCHEMA).expect("the default schema name is valid");
        s.pinned = false;
        s
    }
}

impl LedgerSchema {
    /// The schema `name`, taken literally (no case folding: `--ledger-schema Ops` is the
    /// schema `"Ops"`).
    pub fn new(name: &str) -> Result<LedgerSchema> {
        if name.is_empty() || name.contains('\0') {
            return Err(Error::usage(format!(
                "--ledger-schema {name:?}: a schema name is not empty and has no NUL byte"
            )));
        }
        Ok(LedgerSchema {
            name: name.to_string(),
            quoted: quote_ident(name),
            pinned: true,
        })
    }

    /// Whether the ledger stays in this schema whatever the role may do: false only for the
    /// default, which may be kept beside the table instead ([`home::locate`]).
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// The schema's name, unquoted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema's name, quoted for SQL.
    pub fn quoted(&self) -> &str {
        &self.quoted
    }

    /// `table` of this schema, quoted for SQL.
    pub fn table(&self, table: &str) -> String {
        format!("{}.{}", self.quoted, quote_ident(table))
    }
}

/// The ledger's tables in creation order, each with its `CREATE TABLE IF NOT EXISTS`: the
/// one list of what the ledger schema holds. [`ensure`] creates the missing ones and the
/// DDL shown to an administrator is built from it, so a new table goes here only.
pub fn tables(s: &LedgerSchema) -> Vec<(&'static str, String)> {
    vec![
        (
            LOADS,
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
    load_id text PRIMARY KEY,
    table_name text NOT NULL,
    files text NOT NULL,
    fingerprint text NOT NULL,
    total_chunks int8,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    owner text,
    heartbeat timestamptz,
    truncate_state text,
    table_oid int8
)",
                s.table(LOADS)
            ),
        ),
        (
            LEDGER,
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
    load_id text NOT NULL,
    file int4 NOT NULL,
    byte_start int8 NOT NULL,
    byte_end int8 NOT NULL,
    first_line int8 NOT NULL,
    last_line int8 NOT NULL,
    end_line int8 NOT NULL,
    end_record int8 NOT NULL,
    nrows int4 NOT NULL,
    rows_loaded int8 NOT NULL,
    rejected bool NOT NULL DEFAULT false,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, file, byte_start)
)",
                s.table(LEDGER)
            ),
        ),
        (
            REJECTS,
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
    load_id text NOT NULL,
    file int4 NOT NULL,
    byte_start int8 NOT NULL,
    line int8 NOT NULL,
    raw bytea NOT NULL,
    error text NOT NULL,
    PRIMARY KEY (load_id, file, byte_start)
)",
                s.table(REJECTS)
            ),
        ),
        (
            DEFERRED,
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
    load_id text NOT NULL,
    ord int4 NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    create_sql text NOT NULL,
    drop_sql text NOT NULL,
    key_columns text[],
    rebuilt bool NOT NULL DEFAULT false,
    PRIMARY KEY (load_id, ord)
)",
                s.table(DEFERRED)
            ),
        ),
    ]
}

/// One committed (or rejected) piece: consecutive records of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Input file (index in the load's file list).
    pub file: u32,
    /// Offset of the piece's first byte in the (decompressed) input.
    pub byte_start: u64,
    /// Offset just past the piece's last byte (its line terminator included).
    pub byte_end: u64,
    /// Source line of the piece's first record.
    pub first_line: u64,
    /// Source line of the piece's last record.
    pub last_line: u64,
    /// Source line at `byte_end`, where the next record starts: a resumed read that
    /// seeks there numbers lines on from it.
    pub end_line: u64,
    /// Data records of the input up to and including the piece's last one (its record
    /// number): the record count a read resumed at `byte_end` starts from.
    pub end_record: u64,
    /// Records the piece covers (loaded or rejected).
    pub nrows: u32,
    /// Rows that reached the table (records covered minus rejected ones).
    pub rows_loaded: u64,
    /// The piece is a record the server rejected for a data error.
    pub rejected: bool,
}

/// Lines a record's raw bytes (terminator included) span, as the reader counts them: its
/// line ends, `\r` in a file whose records end in a lone CR, `\n` otherwise.
pub fn lines_in(raw: &[u8]) -> u64 {
    let eol = match raw {
        [.., b'\r'] => b'\r',
        _ => b'\n',
    };
    raw.iter().filter(|&&b| b == eol).count() as u64
}

/// What a role lacks to keep the ledger in its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// The schema does not exist: creating it takes CREATE on the database.
    CreateOnDatabase,
    /// Tables are missing: creating them takes CREATE on the schema.
    CreateOnSchema,
    /// The schema exists but may not be used.
    UsageOnSchema,
    /// The tables exist but may not be read or written.
    Tables,
}

/// What the role may do in the ledger's schema, as `has_schema_privilege` answers (NULL,
/// which a catalog may answer for an object it does not know, is "not known to be
/// allowed": the same as false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SchemaPrivileges {
    usage: bool,
    create: bool,
}

impl SchemaPrivileges {
    fn of(usage: Option<bool>, create: Option<bool>) -> SchemaPrivileges {
        SchemaPrivileges {
            usage: allowed(usage),
            create: allowed(create),
        }
    }
}

/// A privilege function's answer: NULL (CockroachDB's answer for an object it does not
/// treat as a table, such as an index) is not known to be allowed.
fn allowed(answer: Option<bool>) -> bool {
    answer == Some(true)
}

/// Each table of schema `$1` and whether the role may read and write it. Tables only
/// (`relkind` `r`, `p`): CockroachDB lists indexes in `pg_class` too, with OIDs for which
/// `has_table_privilege` answers NULL (its `pg_catalog` and `privilege_builtins` logic tests).
const TABLE_PRIVILEGES_SQL: &str = "SELECT c.relname::text,
        has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT')
        AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE')
   FROM pg_catalog.pg_class c
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')";

/// What a schema holds of the ledger and what the role may do there: read once, judged by
/// [`ensure`] and by [`home::locate`] alike.
#[derive(Debug, Clone)]
struct SchemaState {
    /// `None`: no such schema.
    privileges: Option<SchemaPrivileges>,
    /// The ledger's tables that exist, in [`tables`] order.
    present: Vec<&'static str>,
    /// The ledger's tables that do not exist, with their DDL.
    missing: Vec<String>,
    /// Every present table may be read and written.
    usable: bool,
}

impl SchemaState {
    fn read(client: &mut impl GenericClient, s: &LedgerSchema) -> Result<SchemaState> {
        // CockroachDB lists indexes in pg_class too, with OIDs for which
        // has_table_privilege answers NULL (its `privilege_builtins` logic tests): only
        // tables are asked about, and every answer is read as Option, NULL being "not
        // known usable" (the same as false: the error names the privileges to grant).
        let privileges = client
            .query_opt(
                "SELECT has_schema_privilege(oid, 'USAGE'), has_schema_privilege(oid, 'CREATE')
                   FROM pg_catalog.pg_namespace WHERE nspname = $1",
                &[&s.name()],
            )?
            .map(|row| SchemaPrivileges::of(row.get(0), row.get(1)));
        let found: HashMap<String, bool> = client
            .query(TABLE_PRIVILEGES_SQL, &[&s.name()])?
            .iter()
            .map(|r| (r.get(0), allowed(r.get(1))))
            .collect();
        let (mut present, mut missing, mut usable) = (Vec::new(), Vec::new(), true);
        for (name, ddl) in tables(s) {
            match found.get(name) {
                Some(ok) => {
                    present.push(name);
                    usable &= ok;
                }
                None => missing.push(ddl),
            }
        }
        Ok(SchemaState {
            privileges,
            present,
            missing,
            usable,
        })
    }

    /// What the role lacks to keep the ledger here (`create_on_db`: whether it may create
    /// the schema when there is none); `None` when [`ensure`] would succeed.
    fn lacks(&self, create_on_db: bool) -> Option<Missing> {
        match self.privileges {
            None => (!create_on_db).then_some(Missing::CreateOnDatabase),
            Some(p) if !p.usage => Some(Missing::UsageOnSchema),
            Some(p) if !self.missing.is_empty() && !p.create => Some(Missing::CreateOnSchema),
            Some(_) if !self.usable => Some(Missing::Tables),
            Some(_) => None,
        }
    }

    /// The loads table exists and may be used: a ledger lives here.
    fn holds_ledger(&self) -> bool {
        self.privileges.is_some_and(|p| p.usage) && self.usable && self.present.contains(&LOADS)
    }
}

/// Creates the ledger schema and whichever of its [`tables`] are missing (nothing when all
/// exist, so a role with only USAGE and table privileges works). Without the privilege,
/// one error that names it and prints the DDL an administrator can run; in a read-only
/// database, [`ErrorKind::ReadOnly`].
pub fn ensure(client: &mut impl GenericClient, s: &LedgerSchema) -> Result<()> {
    ensure_or(client, s, None)
}

/// [`ensure`]; `also` is added to a privilege error (what else the role may not do).
fn ensure_or(client: &mut impl GenericClient, s: &LedgerSchema, also: Option<&str>) -> Result<()> {
    home::Session::read(client)?.writable(s)?;
    let mut raced = false;
    loop {
        let state = SchemaState::read(client, s)?;
        let mut ddl = String::new();
        match state.privileges {
            None => ddl.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {};\n", s.quoted())),
            Some(_) => match state.lacks(false) {
                Some(what) => return Err(privilege_error(client, s, what, None, also)),
                None if state.missing.is_empty() => return upgrade(client, s),
                None => {}
            },
        }
        for t in &state.missing {
            ddl.push_str(t);
            ddl.push_str(";\n");
        }
        let e = match client.batch_execute(&ddl) {
            Ok(()) => return upgrade(client, s),
            Err(e) => e,
        };
        use postgres::error::SqlState;
        match e.code() {
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
                let what = match ddl.starts_with("CREATE SCHEMA") {
                    true => Missing::CreateOnDatabase,
                    false => Missing::CreateOnSchema,
                };
                let server = e.as_db_error().map(|d| d.message().to_string());
                return Err(privilege_error(client, s, what, server, also));
            }
            // Made read-only since the check (or a standby): said as such.
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => {
                return Err(home::read_only_error(client, s))
            }
            // Another run created the same objects at the same moment: look again.
            Some(c)
                if !raced
                    && [
                        SqlState::UNIQUE_VIOLATION,
                        SqlState::DUPLICATE_SCHEMA,
                        SqlState::DUPLICATE_TABLE,
                        SqlState::DUPLICATE_OBJECT,
                    ]
                    .contains(c) =>
            {
                raced = true;
            }
            _ => return Err(e.into()),
        }
    }
}

/// Columns added to the ledger's tables since they were first released, with their types:
/// a ledger made by an earlier build gains them (NULL in its old rows, which then resume by
/// reading and skipping instead of seeking, and take the table they find: [`rerun`]).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    (LOADS, "owner", "text"),
    (LOADS, "heartbeat", "timestamptz"),
    (LOADS, "truncate_state", "text"),
    (LOADS, "table_oid", "int8"),
    (LEDGER, "end_line", "int8"),
    (LEDGER, "end_record", "int8"),
];

/// Adds the [`ADDED_COLUMNS`] an existing ledger lacks.
fn upgrade(client: &mut impl GenericClient, s: &LedgerSchema) -> Result<()> {
    let present: Vec<(String, String)> = client
        .query(
            "SELECT c.relname::text, a.attname::text
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped",
            &[&s.name()],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for &(table, column, ty) in ADDED_COLUMNS {
        if !present.iter().any(|(t, c)| t == table && c == column) {
            client.batch_execute(&format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {column} {ty}",
                s.table(table)
            ))?;
        }
    }
    Ok(())
}

/// The DDL an administrator runs so that `role` can keep a ledger in `s` without any
/// CREATE privilege: the schema, its tables, and the grants.
pub fn admin_ddl(s: &LedgerSchema, role: &str) -> String {
    let role = quote_ident(role);
    let mut ddl = format!("CREATE SCHEMA IF NOT EXISTS {};\n", s.quoted());
    let all = tables(s);
    for (_, t) in &all {
        ddl.push_str(t);
        ddl.push_str(";\n");
    }
    ddl.push_str(&format!(
        "GRANT USAGE ON SCHEMA {} TO {role};\n",
        s.quoted()
    ));
    let names: Vec<String> = all.iter().map(|(n, _)| s.table(n)).collect();
    ddl.push_str(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {role};",
        names.join(", ")
    ));
    ddl
}

/// The error of a role that may not set up the ledger: which privilege it lacks (and
/// `also`, what else it may not do), and the DDL that sets it up for it.
fn privilege_error(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    what: Missing,
    server: Option<String>,
    also: Option<&str>,
) -> Error {
    let (role, db) = home::Session::read(client)
        .map(|s| (s.role, s.db))
        .unwrap_or_else(|_| ("<role>".into(), "<database>".into()));
    let schema = s.quoted();
    let lacks = lacks_text(what, s, &role, &db);
    let also = also.map_or(String::new(), |a| format!(", {a}"));
    let server = server.map_or(String::new(), |m| format!(" (server: {m})"));
    ErrorKind::Privilege {
        msg: format!(
            "chunkload keeps its bookkeeping in schema {schema} (--ledger-schema){lacks}{also}\
             {server}; nothing was loaded. An administrator can set it up for this role, which \
             then needs no CREATE privilege:"
        ),
        ddl: admin_ddl(s, &role),
    }
    .into()
}

/// Why `role` cannot keep the ledger in schema `s`, as a clause that follows the schema's
/// name (`, which does not exist, and role …`).
fn lacks_text(what: Missing, s: &LedgerSchema, role: &str, db: &str) -> String {
    let (schema, role) = (s.quoted(), quote_ident(role));
    match what {
        Missing::CreateOnDatabase => format!(
            ", which does not exist, and role {role} lacks the CREATE privilege on database {} \
             to create it",
            quote_ident(db)
        ),
        Missing::CreateOnSchema => format!(
            ", but its tables are missing, and role {role} lacks the CREATE privilege on schema \
             {schema} to create them"
        ),
        Missing::UsageOnSchema => {
            format!(", but role {role} lacks the USAGE privilege on schema {schema}")
        }
        Missing::Tables => {
            format!(", but role {role} lacks SELECT, INSERT, UPDATE or DELETE on its tables")
        }
    }
}

/// The ledger row of a piece; prepared once per connection by the writers.
pub fn record_sql(s: &LedgerSchema) -> String {
    format!(
        "INSERT INTO {}
   (load_id, file, byte_start, byte_end, first_line, last_line, end_line, end_record, nrows,
    rows_loaded, rejected)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        s.table(LEDGER)
    )
}

/// Writes a piece's ledger row; call inside the piece's own transaction. `stmt` is
/// [`record_sql`] or a statement prepared from it.
pub fn record<S: ?Sized + ToStatement>(
    tx: &mut impl GenericClient,
    stmt: &S,
    load_id: &str,
    p: &Piece,
) -> Result<()> {
    tx.execute(
        stmt,
        &[
            &load_id,
            &(p.file as i32),
            &(p.byte_start as i64),
            &(p.byte_end as i64),
            &(p.first_line as i64),
            &(p.last_line as i64),
            &(p.end_line as i64),
            &(p.end_record as i64),
            &(p.nrows as i32),
            &(p.rows_loaded as i64),
            &p.rejected,
        ],
    )?;
    Ok(())
}

/// Whether the piece of input `file` starting at `byte_start` committed: the answer to a
/// commit whose outcome was unknown.
pub fn committed(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    file: u32,
    byte_start: u64,
) -> Result<bool> {
    let row = client.query_opt(
        &format!(
            "SELECT 1 FROM {} WHERE load_id = $1 AND file = $2 AND byte_start = $3",
            s.table(LEDGER)
        ),
        &[&load_id, &(file as i32), &(byte_start as i64)],
    )?;
    Ok(row.is_some())
}

/// Keeps a rejected record (once, however often runs reject it): the reject file is
/// written from these rows. `(file, byte_start)` is where the record starts.
pub fn store_reject(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    (file, byte_start): (u32, u64),
    line: u64,
    raw: &[u8],
    error: &str,
) -> Result<()> {
    client.execute(
        &format!(
            "INSERT INTO {} (load_id, file, byte_start, line, raw, error)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (load_id, file, byte_start) DO NOTHING",
            s.table(REJECTS)
        ),
        &[
            &load_id,
            &(file as i32),
            &(byte_start as i64),
            &(line as i64),
            &raw,
            &error,
        ],
    )?;
    Ok(())
}

/// A load's rejected records in input order: raw bytes, line, error.
pub fn rejects(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
) -> Result<Vec<(Vec<u8>, u64, String)>> {
    Ok(client
        .query(
            &format!(
                "SELECT raw, line, error FROM {} WHERE load_id = $1 ORDER BY file, byte_start",
                s.table(REJECTS)
            ),
            &[&load_id],
        )?
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u64, r.get(2)))
        .collect())
}

/// Forgets load `load_id`: its ledger, its rejects and its row in the loads table (so a
/// `--fresh` run can start that name again). Returns the ledger rows removed.
pub fn forget(client: &mut impl GenericClient, s: &LedgerSchema, load_id: &str) -> Result<u64> {
    ensure(client, s)?;
    let delete = |t: &str| format!("DELETE FROM {} WHERE load_id = $1", s.table(t));
    let n = client.execute(&delete(LEDGER), &[&load_id])?;
    client.execute(&delete(REJECTS), &[&load_id])?;
    client.execute(&delete(LOADS), &[&load_id])?;
    Ok(n)
}

/// Which loads `chunkload forget` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetWhich {
    /// One load by id.
    Load(String),
    /// Every finished load.
    Finished,
    /// Loads with no activity for this many seconds.
    OlderThan(u64),
}

/// Removes the ledger entries of the loads `which` selects; returns their ids.
pub fn forget_loads(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    which: &ForgetWhich,
) -> Result<Vec<String>> {
    ensure(client, s)?;
    let (loads, ledger) = (s.table(LOADS), s.table(LEDGER));
    let ids: Vec<String> = match which {
        ForgetWhich::Load(id) => client.query(
            &format!("SELECT load_id FROM {loads} WHERE load_id = $1"),
            &[id],
        )?,
        ForgetWhich::Finished => client.query(
            &format!("SELECT load_id FROM {loads} WHERE finished_at IS NOT NULL"),
            &[],
        )?,
        ForgetWhich::OlderThan(secs) => client.query(
            &format!(
                "SELECT l.load_id FROM {loads} l
                 WHERE greatest(l.started_at, coalesce(l.finished_at, l.started_at),
                       coalesce((SELECT max(g.committed_at) FROM {ledger} g WHERE g.load_id = l.load_id),
                                l.started_at))
                       < now() - $1::INT8 * INTERVAL '1 second'"
            ),
            &[&(*secs as i64)],
        )?,
    }
    .iter()
    .map(|r| r.get(0))
    .collect();
    for id in &ids {
        forget(client, s, id)?;
    }
    Ok(ids)
}

/// Parses `--older-than`: a number with `s`, `m`, `h` or `d` (`30d`), in seconds.
pub fn parse_age(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| Error::usage(format!("--older-than {s:?}: expected e.g. 30d, 12h, 90m")))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        _ => {
            return Err(Error::usage(format!(
                "--older-than {s:?}: the unit is s, m, h or d"
            )))
        }
    };
    Ok(n * mult)
}

/// Marks a load finished once every one of its `total_chunks` chunks is covered.
pub fn finish_load(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    total_chunks: u64,
) -> Result<()> {
    client.execute(
        &format!(
            "UPDATE {} SET total_chunks = $2, finished_at = now() WHERE load_id = $1",
            s.table(LOADS)
        ),
        &[&load_id, &(total_chunks as i64)],
    )?;
    Ok(())
}

/// Where a load's `--truncate` stands when the table is emptied as a step of its own,
/// before any chunk (CockroachDB, where TRUNCATE is not transactional: see
/// `load::truncate`). Kept on the load's row, so the step is done once across crashes and
/// reruns; a `--fresh` load (a new row) starts from [`TruncateState::None`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncateState {
    /// No truncate begun (NULL: also every load of an earlier build, and every load on
    /// PostgreSQL, where chunk 0 truncates in its own transaction).
    None,
    /// Recorded (and committed) before the `TRUNCATE` was sent: it may or may not have run,
    /// and no chunk has committed.
    Pending,
    /// The table was emptied (recorded after the `TRUNCATE` committed): no run of this
    /// load empties it again.
    Truncated,
}

impl TruncateState {
    /// The column's value.
    pub fn as_sql(self) -> Option<&'static str> {
        match self {
            TruncateState::None => None,
            TruncateState::Pending => Some("pending"),
            TruncateState::Truncated => Some("truncated"),
        }
    }

    /// From the column's value; anything unknown (a later build's) counts as pending,
    /// which a rerun only ever completes.
    pub fn from_sql(v: Option<&str>) -> TruncateState {
        match v {
            None => TruncateState::None,
            Some("truncated") => TruncateState::Truncated,
            Some(_) => TruncateState::Pending,
        }
    }
}

/// The `--truncate` state of load `load_id` ([`TruncateState::None`] without its row).
pub fn truncate_state(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
) -> Result<TruncateState> {
    let row = client.query_opt(
        &format!(
            "SELECT truncate_state FROM {} WHERE load_id = $1",
            s.table(LOADS)
        ),
        &[&load_id],
    )?;
    let v: Option<String> = row.and_then(|r| r.get(0));
    Ok(TruncateState::from_sql(v.as_deref()))
}

/// Records `state` on load `load_id`'s row, in a statement of its own (committed when it
/// returns, outside any transaction of the caller's).
pub fn set_truncate_state(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    state: TruncateState,
) -> Result<()> {
    client.execute(
        &format!(
            "UPDATE {} SET truncate_state = $2 WHERE load_id = $1",
            s.table(LOADS)
        ),
        &[&load_id, &state.as_sql()],
    )?;
    Ok(())
}

/// The fingerprint of a load's inputs: each file's, joined.
pub fn fingerprint_all(files: &[String]) -> Result<String> {
    let prints: Vec<String> = files
        .iter()
        .map(|f| fingerprint(f))
        .collect::<Result<_>>()?;
    Ok(prints.join(";"))
}

/// Size, modification time and a hash of the first and last MiB: cheap, and it changes
/// when the file does. A zip member's is its archive's and its name.
pub fn fingerprint(path: &str) -> Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    if path == "-" {
        return Ok("stdin".into());
    }
    if crate::source::remote::is_remote(path) {
        return crate::source::remote::fingerprint(path);
    }
    if let Some((archive, member)) = crate::source::split_member(path) {
        return Ok(format!("{}:{member}", fingerprint(archive)?));
    }
    let io = |e| Error::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let n = f.read(&mut buf).map_err(io)?;
    h.update(&buf[..n]);
    if meta.len() > (1 << 20) {
        f.seek(SeekFrom::End(-(1 << 20))).map_err(io)?;
        let n = f.read(&mut buf).map_err(io)?;
        h.update(&buf[..n]);
    }
    Ok(format!(
        "{}:{}:{}",
        meta.len(),
        mtime,
        hex::encode(&h.finalize()[..8])
    ))
}

/// The load id: the table's name plus a hash of the inputs' canonical paths and of
/// `identity` (the target table, the column mapping and the dialect: what decides which
/// rows the data becomes), so a rerun of the same data resumes the same load whatever its
/// chunking, method or workers. `explicit` is `--load-id`; `fresh` (or stdin without an
/// explicit id) adds a random suffix, starting a new load; `fresh` with an explicit id keeps
/// the name (the caller forgets that load's earlier entries).
pub fn load_id(
    files: &[String],
    table_name: &str,
    identity: &str,
    explicit: Option<&str>,
    fresh: bool,
) -> String {
    let base = match explicit {
        Some(id) => id.to_string(),
        None => derived_load_id(files, table_name, identity),
    };
    if fresh && explicit.is_none() {
        format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    } else {
        base
    }
}

fn derived_load_id(files: &[String], table_name: &str, identity: &str) -> String {
    let mut h = Sha256::new();
    for f in files {
        // A zip member by its archive's canonical path.
        let (path, member) = match crate::source::split_member(f) {
            Some((a, m)) => (a, format!("{}{m}", crate::source::MEMBER_SEP)),
            None => (f.as_str(), String::new()),
        };
        let p = std::fs::canonicalize(path)
            .map(|p| p.display().to_string() + &member)
            .unwrap_or_else(|_| f.clone());
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.update(identity.as_bytes());
    let name: String = table_name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(24)
        .collect();
    format!("{}-{}", name, &hex::encode(h.finalize())[..16])
}

/// What a load has committed (or rejected) so far: per input, the byte ranges covered.
#[derive(Debug, Default, Clone)]
pub struct Committed {
    covered: HashMap<u32, Vec<(u64, u64)>>,
    /// Line and record number at each piece's end, by file and `byte_end`.
    ends: HashMap<(u32, u64), (u64, u64)>,
    /// Pieces committed by earlier runs (rejected records not counted).
    pub pieces: u64,
    /// Rows already loaded by earlier runs.
    pub rows_loaded: u64,
    /// Rows already rejected by earlier runs.
    pub rows_rejected: u64,
    /// When an earlier run finished the load (RFC 3339, UTC), if one did.
    pub finished_at: Option<String>,
}

impl Committed {
    /// Reads a load's ledger rows.
    pub fn read(
        client: &mut impl GenericClient,
        s: &LedgerSchema,
        load_id: &str,
    ) -> Result<Committed> {
        let mut p = Committed::default();
        for row in client.query(
            &format!(
                "SELECT file, byte_start, byte_end, nrows, rows_loaded, rejected, end_line,
                        end_record
                 FROM {} WHERE load_id = $1",
                s.table(LEDGER)
            ),
            &[&load_id],
        )? {
            let (file, start, end): (i32, i64, i64) = (row.get(0), row.get(1), row.get(2));
            p.add(file as u32, start as u64, end as u64);
            // NULL in a row an earlier build wrote: no seeking past it.
            let (line, record): (Option<i64>, Option<i64>) = (row.get(6), row.get(7));
            if let (Some(line), Some(record)) = (line, record) {
                p.ends
                    .insert((file as u32, end as u64), (line as u64, record as u64));
            }
            if row.get::<_, bool>(5) {
                p.rows_rejected += row.get::<_, i32>(3) as u64;
            } else {
                p.pieces += 1;
                p.rows_loaded += row.get::<_, i64>(4) as u64;
            }
        }
        for ranges in p.covered.values_mut() {
            *ranges = merged(std::mem::take(ranges));
        }
        p.finished_at = client
            .query_opt(
                &format!(
                    "SELECT extract(epoch FROM finished_at)::float8
                     FROM {} WHERE load_id = $1 AND finished_at IS NOT NULL",
                    s.table(LOADS)
                ),
                &[&load_id],
            )?
            .and_then(|r| utc_text(r.get(0)));
        Ok(p)
    }

    /// Marks the bytes `start .. end` of input `file` as covered.
    pub fn add(&mut self, file: u32, start: u64, end: u64) {
        let ranges = self.covered.entry(file).or_default();
        ranges.push((start, end));
        *ranges = merged(std::mem::take(ranges));
    }

    /// Nothing committed or rejected yet.
    pub fn is_empty(&self) -> bool {
        self.covered.is_empty()
    }

    /// The covered byte ranges of input `file`: sorted, disjoint, adjacent ones joined.
    pub fn covered(&self, file: u32) -> Vec<(u64, u64)> {
        self.covered.get(&file).cloned().unwrap_or_default()
    }

    /// Where a read of input `file` whose data starts at byte `data_start` can resume
    /// without reading what is covered: the end of the covered run of bytes that starts
    /// there (a piece's end, so a record boundary), with the line and record number
    /// there. `None` when the first record is not covered.
    pub fn resume_point(&self, file: u32, data_start: u64) -> Option<ResumePoint> {
        let &(start, end) = self.covered.get(&file)?.first()?;
        if start > data_start || end <= data_start {
            return None;
        }
        let &(line, record) = self.ends.get(&(file, end))?;
        Some(ResumePoint {
            byte: end,
            line,
            record,
        })
    }
}

/// A place to resume reading an input at: a record boundary, the line on which the
/// record there starts, and the data records before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    /// Offset in the input.
    pub byte: u64,
    /// Line on which the record at `byte` starts.
    pub line: u64,
    /// Data records before `byte`.
    pub record: u64,
}

/// Sorted, overlapping or touching ranges joined.
fn merged(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// A timestamp given as seconds since the Unix epoch (`extract(epoch FROM t)`, which
/// PostgreSQL and CockroachDB both have, unlike a formatting `to_char`) as RFC 3339 UTC,
/// to the second: `2024-05-01T12:00:00Z`.
fn utc_text(epoch: Option<f64>) -> Option<String> {
    let secs = epoch?.floor();
    let t = chrono::DateTime::from_timestamp(secs as i64, 0)?;
    Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A load as `chunkload status` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadStatus {
    /// Load id.
    pub load_id: String,
    /// Target table.
    pub table: String,
    /// Input files, in load order, as the load's summary (`report::Summary::files`)
    /// lists them.
    pub files: Vec<String>,
    /// Pieces committed (a chunk is one piece unless it had to be split).
    pub chunks: i64,
    /// Chunks in the input, once known (the reader reached the end).
    pub total_chunks: Option<i64>,
    /// Rows loaded.
    pub rows: i64,
    /// Rows rejected.
    pub rejected: i64,
    /// Last commit (or the start), RFC 3339.
    pub last_activity: String,
    /// Every chunk committed.
    pub finished: bool,
}

/// The input files as the loads table keeps them: a JSON array of their names.
pub(crate) fn files_text(files: &[String]) -> String {
    serde_json::to_string(files).expect("strings serialize")
}

/// The files of [`files_text`]; a ledger written before it joined the names with `, `.
fn files_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| text.split(", ").map(str::to_string).collect())
}

/// Lists the loads recorded in this database, newest first; empty if none ever ran.
pub fn status(client: &mut impl GenericClient, s: &LedgerSchema) -> Result<Vec<LoadStatus>> {
    let (loads, ledger) = (s.table(LOADS), s.table(LEDGER));
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&loads])?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client.query(
        &format!("SELECT l.load_id, l.table_name, l.files, l.total_chunks, l.finished_at IS NOT NULL,
                count(g.load_id) FILTER (WHERE NOT g.rejected), coalesce(sum(g.rows_loaded) FILTER (WHERE NOT g.rejected), 0)::int8,
                coalesce(sum(g.nrows) FILTER (WHERE g.rejected), 0)::int8,
                extract(epoch FROM greatest(coalesce(max(g.committed_at), l.started_at), l.started_at))::float8
         FROM {loads} l LEFT JOIN {ledger} g USING (load_id)
         GROUP BY l.load_id, l.table_name, l.files, l.total_chunks, l.finished_at, l.started_at
         ORDER BY greatest(coalesce(max(g.committed_at), l.started_at), l.started_at) DESC"),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| LoadStatus {
            load_id: r.get(0),
            table: r.get(1),
            files: files_of(r.get(2)),
            total_chunks: r.get(3),
            finished: r.get(4),
            chunks: r.get(5),
            rows: r.get(6),
            rejected: r.get(7),
            last_activity: utc_text(r.get(8)).unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lists_round_trip_and_old_ledgers_still_read() {
        let files = vec!["a, b.csv".to_string(), "c.csv".to_string()];
        assert_eq!(files_of(&files_text(&files)), files);
        assert_eq!(files_of("a.csv, b.csv"), ["a.csv", "b.csv"]);
    }

    #[test]
    fn covered_ranges_join_and_records_inside_them_are_covered() {
        let mut p = Committed::default();
        assert!(p.is_empty());
        p.add(0, 100, 200);
        p.add(0, 0, 50);
        p.add(0, 50, 80);
        p.add(1, 10, 20);
        assert_eq!(parse_age("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_age("2h").unwrap(), 7_200);
        assert!(parse_age("3w").is_err() && parse_age("x").is_err());
        assert_eq!(p.covered(0), vec![(0, 80), (100, 200)]);
        assert_eq!(p.covered(2), vec![]);
        // The end of the first covered run is where a read resumes, with its line.
        p.ends.insert((0, 80), (9, 7));
        let at = ResumePoint {
            byte: 80,
            line: 9,
            record: 7,
        };
        assert_eq!(p.resume_point(0, 0), Some(at));
        assert_eq!(
            p.resume_point(0, 120),
            None,
            "the data starts after the run"
        );
        assert_eq!(
            p.resume_point(1, 0),
            None,
            "the first record is not covered"
        );
        assert_eq!(lines_in(b"a,b\n"), 1);
        assert_eq!(lines_in(b"a,\"x\r\ny\"\r\n"), 2);
        assert_eq!(lines_in(b"a,\"x\ny\"\r"), 1);
        assert_eq!(lines_in(b"a"), 0);
    }

    #[test]
    fn epoch_seconds_read_as_rfc3339_utc() {
        assert_eq!(utc_text(Some(0.0)).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_text(Some(1_714_564_800.999_9)).unwrap(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(utc_text(None), None);
    }

    #[test]
    fn privileges_are_asked_of_tables_only_and_null_is_not_allowed() {
        // Before: every pg_class row (indexes too) and `get::<bool>`, which panics on the
        // NULL CockroachDB answers for an index's OID.
        assert!(TABLE_PRIVILEGES_SQL.contains("c.relkind IN ('r', 'p')"));
        assert!(!allowed(None) && !allowed(Some(false)) && allowed(Some(true)));
        let p = SchemaPrivileges::of(Some(true), None);
        assert_eq!((p.usage, p.create), (true, false));
    }

    #[test]
    fn what_a_role_lacks_decides_where_the_ledger_can_live() {
        let state = |privileges: Option<(bool, bool)>, missing: usize, usable: bool| SchemaState {
            privileges: privileges.map(|(usage, create)| SchemaPrivileges { usage, create }),
            present: vec![LOADS],
            missing: vec![String::new(); missing],
            usable,
        };
        let none = state(None, 4, true);
        assert_eq!(none.lacks(false), Some(Missing::CreateOnDatabase));
        assert_eq!(none.lacks(true), None, "the schema can be created");
        assert!(!none.holds_ledger());
        // An app role's own schema: USAGE and CREATE, no ledger yet.
        assert_eq!(state(Some((true, true)), 4, true).lacks(false), None);
        // An administrator's set-up: all tables, no CREATE needed.
        let set_up = state(Some((true, false)), 0, true);
        assert_eq!(set_up.lacks(false), None);
        assert!(set_up.holds_ledger());
        assert_eq!(
            state(Some((true, false)), 1, true).lacks(true),
            Some(Missing::CreateOnSchema)
        );
        assert_eq!(
            state(Some((false, true)), 0, true).lacks(true),
            Some(Missing::UsageOnSchema)
        );
        let theirs = state(Some((true, true)), 0, false);
        assert_eq!(theirs.lacks(true), Some(Missing::Tables));
        assert!(!theirs.holds_ledger());
    }
}
