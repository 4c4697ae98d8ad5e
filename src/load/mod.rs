//! The load: plans it (headers → columns → alignment), wires the stages together and
//! resumes it; its bookkeeping SQL is in [`crate::ledger`].
//!
//! ```text
//! reader thread ──chunks──► rayon encoders ──encoded──► N writer connections
//!  (source+chunk)  bounded     (encode)        bounded     (commit: retry + ledger)
//! ```
//!
//! Memory is bounded by the chunks in flight, whatever the size of the input: the one the
//! reader fills, `workers` queued for encoding, one per encoder thread, one encoded and
//! waiting, and one per writer, i.e. about `(2 × workers + encoder threads + 2)` chunks.
//! An encoded chunk keeps only its raw bytes and positions besides the encoded rows; once
//! done with, its buffers go back to the reader and the encoders (pools of two each) to be
//! refilled instead of allocated again.
//! Chunks commit out of order; the ledger (see [`crate::ledger`]) makes each commit
//! exactly once, so a rerun after any interruption sends only what is missing.
//! `--defer-indexes` drops the empty table's indexes and keys before the pipeline and
//! rebuilds them after it (`indexes`).

mod check;
mod chunk_reader;
mod config;
mod created;
mod indexes;
mod loader;
mod plan;
mod truncate;

pub use config::LoadConfig;
pub use loader::{Loader, LoaderBuilder};

use crate::chunk::Chunk;
use crate::commit::{
    drain, durability, ChunkSink, CommitTarget, DatabaseSink, DryRunSink, DryRunStats, InOrder,
    PieceCap, PipelineControl, RejectBudget, RejectStore, Rejects,
};
use crate::connect::{Connect, Connector};
use crate::encode::{encode_chunk_into, ChunkShape, EncodedChunk, Recycler};
use crate::flavour::{Flavour, Server};
use crate::ledger::rerun::TableChange;
use crate::ledger::{self, Committed};
use crate::report::{Counters, RejectWriter, Reporter, Summary, Topic};
use crate::source::remote;
use crate::table::Table;
use crate::{Error, Result};
use chunk_reader::ChunkReader;
use plan::{LoadPlan, OpenReader};
use postgres::Client;
use rayon::iter::{ParallelBridge, ParallelIterator};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::commit::{Method, SyncCommit};
pub use crate::encode::TypeHint;
pub use crate::interrupt::Interrupt;
pub use crate::ledger::fingerprint;

/// The chunk byte bound under CockroachDB's intent budget: the keys a chunk writes (one
/// per row and index) are a fraction of its source bytes, so half the budget in source
/// bytes keeps a chunk well under it.
pub fn cap_for_intents(max_bytes: usize, max_intents_bytes: u64) -> usize {
    max_bytes.min((max_intents_bytes / 2).max(1024) as usize)
}

/// A byte-size cluster setting as `SHOW CLUSTER SETTING` shows it: humanized with binary
/// units (`4.0 MiB`, `512 KiB`, as CockroachDB's `humanizeutil.IBytes` writes), or a
/// plain number of bytes.
pub(crate) fn setting_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * scale as f64).round() as u64)
}

/// CockroachDB's documented default of `kv.transaction.max_intents_bytes` (since v21.2).
pub const DEFAULT_MAX_INTENTS_BYTES: u64 = 4 << 20;

/// Resolves the method and sets the chunk bounds left open to `flavour`'s defaults (a
/// usage error for COPY on CockroachDB, before anything is written); on CockroachDB, also
/// reads `kv.transaction.max_intents_bytes` and keeps chunks under it.
/// Reading it needs admin, `VIEWCLUSTERSETTING` or `MODIFYCLUSTERSETTING`, so for ordinary
/// users the probe fails: then the documented default stands, with one warning.
fn cockroach_limits(
    cfg: &LoadConfig,
    flavour: Flavour,
    client: &mut Client,
    reporter: &Reporter,
) -> Result<LoadConfig> {
    let mut cfg = cfg.with_chunk_defaults(flavour)?;
    if flavour != Flavour::Cockroach {
        return Ok(cfg);
    }
    let setting = client
        .simple_query("SHOW CLUSTER SETTING kv.transaction.max_intents_bytes")
        .map_err(Error::from)
        .and_then(|msgs| {
            msgs.iter()
                .find_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(setting_bytes),
                    _ => None,
                })
                .ok_or_else(|| Error::other("no number in the answer"))
        });
    let budget = setting.unwrap_or_else(|e| {
        reporter.warn(Topic::Bounds, intents_warning(&e));
        DEFAULT_MAX_INTENTS_BYTES
    });
    cfg.chunk_bytes = Some(cap_for_intents(cfg.effective_limits().max_bytes, budget));
    Ok(cfg)
}

/// On PostgreSQL, lowers `cfg.workers` to half the connections the server can take now
/// (`max_connections` less those in use and the reserved ones), at least one: the other
/// half stays for the applications sharing the server, and the control connection, in use
/// now and closed before the writers connect, is left for the bookkeeping at the end.
/// Returns the number asked for when it lowered it.
/// CockroachDB has no such limit; a server that does not tell leaves it as asked.
fn cap_workers(cfg: &mut LoadConfig, flavour: Flavour, client: &mut Client) -> Option<usize> {
    if flavour == Flavour::Cockroach {
        return None;
    }
    let free = client
        .simple_query(
            "SELECT current_setting('max_connections')::int \
             - current_setting('superuser_reserved_connections')::int \
             - coalesce(current_setting('reserved_connections', true)::int, 0) \
             - (SELECT count(*) FROM pg_stat_activity \
                WHERE backend_type = 'client backend')::int",
        )
        .ok()?
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse::<i64>().ok()),
            _ => None,
        })?;
    let room = workers_room(free);
    if cfg.workers <= room {
        return None;
    }
    let asked = cfg.workers;
    cfg.workers = room;
    Some(asked)
}

/// The writers a server with `free` connections free takes: half of them, at least one.
fn workers_room(free: i64) -> usize {
    (free / 2).max(1) as usize
}

/// The one line said when the intent budget cannot be read.
fn intents_warning(e: &Error) -> String {
    let first = e.to_string();
    let first = first.lines().next().unwrap_or_default();
    format!(
        "warning: cannot read kv.transaction.max_intents_bytes ({first}); \
         assuming CockroachDB's default of {} MiB per transaction",
        DEFAULT_MAX_INTENTS_BYTES >> 20
    )
}

/// What `--dry-run` found: the summary (nothing written) and the SQL a first chunk sends.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// Rows, chunks and bytes as a real load would send them.
    pub summary: Summary,
    /// The statement the first chunk would run.
    pub first_sql: String,
    /// Rows in the first chunk (those `first_sql` sends).
    pub first_chunk_rows: u64,
    /// Rows in the largest chunk.
    pub max_chunk_rows: u64,
    /// Source bytes of the largest chunk.
    pub max_chunk_bytes: u64,
}

/// Reads, converts, chunks and encodes everything as a load would, without a server:
/// `table` comes from the catalog (when a URL is given) or from inference.
pub fn dry_run(cfg: &LoadConfig, table: Table, flavour: Flavour) -> Result<DryRun> {
    cfg.validate()?;
    if cfg.check {
        return Err(Error::usage(CHECK_NOT_DRY));
    }
    let started = Instant::now();
    let reporter = Reporter::new(cfg.observer.clone());
    let cfg = &expanded(cfg, &reporter)?.with_chunk_defaults(flavour)?;
    let mut plan = plan::resolve(cfg, table, flavour)?;
    let counters = Arc::new(Counters::default());
    let rejects = Rejects::new(RejectBudget::new(counters.clone(), cfg.max_errors), None);
    let mut run = Run::start(cfg, started, counters, rejects, false, &reporter)?;
    let stats = DryRunStats::default();
    let input = Input::take(cfg, &mut plan);
    let (chunks, bytes) = pipeline(&run, input, &Committed::default(), false, |_| DryRunSink {
        counters: &run.counters,
        rejects: &run.rejects,
        stats: &stats,
    });
    run.end()?;
    let summary = run.summary(
        "dry-run",
        &plan.statements.table,
        &PieceCap::default(),
        (chunks, bytes),
        Mode::DryRun,
    );
    let first_rows = stats.first_chunk_rows.load(Relaxed).max(1) as usize;
    Ok(DryRun {
        summary,
        first_sql: plan.statements.first_sql(first_rows),
        first_chunk_rows: first_rows as u64,
        max_chunk_rows: stats.max_chunk_rows.load(Relaxed),
        max_chunk_bytes: stats.max_chunk_bytes.load(Relaxed),
    })
}

/// `cfg` with each zip archive among its files replaced by the archive's CSV members, in
/// name order (`a.zip!/b.csv`): the ledger keys each member as a file of the load.
fn expanded(cfg: &LoadConfig, reporter: &Reporter) -> Result<LoadConfig> {
    let expanded = crate::source::expand_archives(&cfg.files)?;
    for (archive, names) in expanded.left_out {
        reporter.note(
            Topic::Input,
            format!(
                "{archive}: loading its CSV members, not the {} other {} ({})",
                names.len(),
                crate::error::plural(names.len() as u64, "member", "members"),
                names.join(", ")
            ),
        );
    }
    let mut cfg = cfg.clone();
    cfg.files = expanded.files;
    Ok(cfg)
}

/// Why `--check` and `--dry-run` exclude each other.
pub const CHECK_NOT_DRY: &str = "--check and --dry-run exclude each other: --dry-run \
     converts the file without a server, --check runs the whole load against the server \
     and rolls it back; pick one";

/// Loads the files through connections from `connect`; returns the summary. With
/// `cfg.check`, runs the load without committing anything (see [`LoadConfig::check`]).
/// What it decides and what goes wrong on the way goes to `cfg.observer`.
pub fn run(cfg: &LoadConfig, connect: Arc<dyn Connect>) -> Result<Summary> {
    cfg.validate()?;
    // Each remote object's identity is read once, from its first GET, and held to.
    let _identities = remote::remember_identities();
    let connector = Connector::new(connect, Reporter::new(cfg.observer.clone()));
    let cfg = &expanded(cfg, connector.reporter())?;
    if cfg.check {
        return check::run(cfg, connector);
    }
    let mut begun = None;
    match load(cfg, connector.clone(), &mut begun) {
        Err(e) if cfg.created_table => Err(created::undo(cfg, &connector, begun.as_ref(), e)),
        done => done,
    }
}

/// [`run`]'s load, step by step; `begun` gets the load id and the ledger's schema once
/// they are known (for undoing a table the load created).
fn load(
    cfg: &LoadConfig,
    connector: Connector,
    begun: &mut Option<(String, ledger::LedgerSchema)>,
) -> Result<Summary> {
    let started = Instant::now();
    let budget = cfg.reconnect_timeout;
    remote::set_reconnect_timeout(budget);
    let Session {
        server,
        mut cfg,
        capped,
        async_commit,
    } = Session::open(cfg, &connector)?;
    let flavour = server.flavour;
    let mut plan = planned(&cfg, &connector, budget, flavour)?;
    let load_id = load_id(&cfg, &plan);
    cfg.interrupt.resume_as(rerun(&cfg, &load_id));
    let fingerprint = ledger::fingerprint_all(&cfg.files)?;
    locate_ledger(&mut cfg, &mut plan, &connector, &load_id)?;
    *begun = Some((load_id.clone(), cfg.ledger_schema.clone()));
    let cfg = &cfg;
    let table_name = plan.statements.table.sql_name();
    let target = ledger::rerun::Target {
        name: &table_name,
        oid: plan.statements.table.oid,
    };
    // The lease is held until the load returns: a second run of it refuses instead of
    // duplicating.
    let (found, _lease) = begin_in_ledger(cfg, &connector, &load_id, target, &fingerprint)?;
    let deferred = prepare_table(cfg, &connector, flavour, &plan, &load_id, &found)?;
    let committed = found.committed;
    let mut run = start_run(
        cfg, &connector, &plan, &load_id, &committed, flavour, started,
    )?;
    if let Some(asked) = capped {
        run.reporter().warn(
            Topic::Bounds,
            format!(
                "--workers {asked} is more than half the connections the server has free; using {}",
                cfg.workers
            ),
        );
    }
    let cap = PieceCap::default();
    let input = Input::take(cfg, &mut plan);
    let target = CommitTarget {
        statements: plan.statements,
        load_id,
        files: cfg.files.clone(),
        committed,
        retry: cfg.retry,
        retry_path: server.retry_path(),
        ledger: cfg.ledger,
        connector,
        reconnect_timeout: budget,
        async_commit,
    };
    let (chunks, bytes) = pipeline(&run, input, &target.committed, false, |w| {
        let r = &run;
        let (control, counters, rejects) = (&r.control, &r.counters, &r.rejects);
        DatabaseSink::new(&target, control, counters, rejects, &cap, r.reporter(), w)
    });
    let chunks = end_run(&mut run, &target, chunks, flavour)?;
    if let Some(items) = deferred {
        let view = indexes::PlanView::of(&target.statements, &plan.projections);
        let rows = run.counters.rows.load(Relaxed) + target.committed.rows_loaded;
        let (connector, id) = (&target.connector, &target.load_id);
        indexes::rebuild(cfg, &view, connector, budget, id, rows, items)
            .map_err(|e| e.with_committed(rows))?;
    }
    let table = &target.statements.table;
    Ok(run.summary(&target.load_id, table, &cap, (chunks, bytes), Mode::Load))
}

/// What the load's first connection learns of the server, and the config resolved for it.
struct Session {
    server: Server,
    cfg: LoadConfig,
    /// `--workers` asked for, when the server had fewer free connections.
    capped: Option<usize>,
    async_commit: bool,
}

impl Session {
    /// On the load's first connection (not retried): the server, the method and chunk
    /// bounds for it (COPY on CockroachDB refused here, before anything is written), the
    /// writer count it has room for, and whether chunk commits may skip the disk.
    fn open(cfg: &LoadConfig, connector: &Connector) -> Result<Session> {
        on_first_control(connector, cfg.reconnect_timeout, |c| {
            let server = Server::detect(c)?;
            let flavour = server.flavour;
            let mut cfg = cockroach_limits(cfg, flavour, c, connector.reporter())?;
            let capped = cap_workers(&mut cfg, flavour, c);
            let async_commit = cfg
                .synchronous_commit
                .chunks_async(flavour, cfg.ledger, c)?;
            Ok(Session {
                server,
                cfg,
                capped,
                async_commit,
            })
        })
    }
}

/// Where the bookkeeping lives, decided once before anything is written; every statement
/// of the load then uses that schema.
fn locate_ledger(
    cfg: &mut LoadConfig,
    plan: &mut LoadPlan,
    connector: &Connector,
    load_id: &str,
) -> Result<()> {
    let home = on_control(connector, cfg.reconnect_timeout, |c| {
        let table_schema = &plan.statements.table.schema;
        ledger::home::locate(c, &cfg.ledger_schema, table_schema, load_id)
    })?;
    cfg.ledger_schema = home.schema.clone();
    plan.statements.ledger_schema = home.schema;
    if let Some(note) = home.note {
        connector.reporter().warn(Topic::Ledger, note);
    }
    Ok(())
}

/// Records the load in the ledger (a named `--fresh` load forgets its earlier runs
/// first), takes its lease, and reads what earlier runs committed, judged against the
/// input and the table as they are now: resumed, started again (said in one line before
/// anything commits), or refused with the ways on.
fn begin_in_ledger(
    cfg: &LoadConfig,
    connector: &Connector,
    load_id: &str,
    target: ledger::rerun::Target<'_>,
    fingerprint: &str,
) -> Result<(ledger::rerun::Found, ledger::lease::Lease)> {
    let (schema, budget) = (&cfg.ledger_schema, cfg.reconnect_timeout);
    if let (true, Some(name)) = (cfg.fresh, &cfg.load_id) {
        // A named load keeps its name: --fresh starts that name over.
        let n = on_control(connector, budget, |c| ledger::forget(c, schema, name))?;
        if n > 0 {
            connector.reporter().note(
                Topic::Ledger,
                format!("--fresh: forgot {n} ledger entries of the earlier load {name}; loading it again"),
            );
        }
    }
    on_control(connector, budget, |c| {
        ledger::begin_load(c, schema, load_id, target, &cfg.files, fingerprint)
    })?;
    let lease = ledger::lease::Lease::take(connector, schema, load_id, budget)?;
    let found = on_control(connector, budget, |c| {
        ledger::rerun::resolve(c, schema, load_id, target, &cfg.files, fingerprint)
    })?;
    if let Some(restart) = &found.restarted {
        // A warning: the rows are loaded again.
        let line = restart.line(load_id, target.name);
        connector.reporter().warn(Topic::Resume, line);
    }
    Ok((found, lease))
}

/// The table before the first chunk: indexes dropped for `--defer-indexes` (or the ones
/// an earlier run still owes), on CockroachDB emptied for `--truncate`; then what earlier
/// runs did is said. Returns the items to rebuild after the load.
fn prepare_table(
    cfg: &LoadConfig,
    connector: &Connector,
    flavour: Flavour,
    plan: &LoadPlan,
    load_id: &str,
    found: &ledger::rerun::Found,
) -> Result<Option<Vec<indexes::Deferred>>> {
    let (schema, budget) = (&cfg.ledger_schema, cfg.reconnect_timeout);
    let table = &plan.statements.table;
    let table_name = table.sql_name();
    let committed = &found.committed;
    let deferred = indexes::prepare(cfg, connector, budget, flavour, table, load_id, committed)?;
    // On CockroachDB no chunk transaction holds DDL: the table is emptied first, once
    // (after `--defer-indexes` had its say, which refuses a non-empty table as on
    // PostgreSQL, where chunk 0 truncates).
    if flavour == Flavour::Cockroach {
        truncate::before_chunks(
            cfg.truncate,
            (connector, budget),
            schema,
            (load_id, &table_name),
            committed,
        )?;
    }
    let resume = Resume {
        committed,
        load_id,
        table: &table_name,
        rebuild: deferred.as_ref().map_or(0, Vec::len),
        change: found.finished_change,
    };
    announce_resume(connector, &resume);
    Ok(deferred)
}

/// The run's counters (starting from what earlier runs committed), its reject file and
/// ledger store, and the observer told that the pipeline starts.
fn start_run<'a>(
    cfg: &'a LoadConfig,
    connector: &Connector,
    plan: &LoadPlan,
    load_id: &str,
    committed: &ledger::Committed,
    flavour: Flavour,
    started: Instant,
) -> Result<Run<'a>> {
    // PostgreSQL: the table is emptied in the transaction of the first piece that commits:
    // once an earlier run committed one, a rerun must not empty it again (rejected records
    // alone committed no truncation). CockroachDB: a step of its own (`truncate`).
    let truncate = flavour == Flavour::Postgres && cfg.truncate && committed.pieces == 0;
    let counters = Arc::new(Counters::default());
    counters.chunks_skipped.store(committed.pieces, Relaxed);
    cfg.interrupt
        .track(counters.clone(), committed.pieces, committed.rows_loaded);
    let mut rejects = Rejects::new(
        RejectBudget::new(counters.clone(), cfg.max_errors),
        Some(reject_writer(cfg, plan)),
    );
    if cfg.ledger {
        rejects = rejects.with_store(RejectStore::new(
            connector.clone(),
            cfg.ledger_schema.clone(),
            load_id.to_string(),
            cfg.reconnect_timeout,
        ));
    }
    let reporter = connector.reporter();
    let run = Run::start(cfg, started, counters, rejects, truncate, reporter)?;
    if let Some(warning) = stdin_rerun_warning(cfg) {
        run.reporter().warn(Topic::Input, warning);
    }
    Ok(run)
}

/// After the pipeline: the reject file written, the error that stopped it (if any)
/// explained, and the load marked finished, on PostgreSQL in a commit that waits for the
/// disk whatever the chunks' commits did (see `commit::durability`). Returns the chunks
/// of the load, earlier runs' included.
fn end_run(run: &mut Run<'_>, target: &CommitTarget, chunks: u64, flavour: Flavour) -> Result<u64> {
    let cfg = run.cfg;
    let earlier = &target.committed;
    // The reject file holds every record any run of this load rejected, once.
    // A file that cannot be written is an error (the rows stay committed, the rejects in
    // the ledger for a rerun to write), never reported as written.
    let rewritten = run
        .rejects
        .rewrite_file()
        .map_err(|e| e.with_committed(run.counters.rows.load(Relaxed) + earlier.rows_loaded));
    if let Err(e) = run.end() {
        // Stopped from outside: what is committed stays, the ledger lets a rerun resume.
        if cfg.interrupt.is_raised() {
            rewritten?;
            return Err(e);
        }
        let committed = run.counters.rows.load(Relaxed) + earlier.rows_loaded;
        return Err(explain_partial(e, committed, &target.load_id));
    }
    if let Some(n) = rewritten? {
        run.counters.rejected.store(n, Relaxed);
    }
    let chunks = chunks + earlier.pieces;
    let expected_rows = cfg
        .ledger
        .then(|| earlier.rows_loaded + run.counters.rows.load(Relaxed));
    let schema = &cfg.ledger_schema;
    on_control(
        &target.connector,
        cfg.reconnect_timeout,
        |c| match flavour.has_async_commit() {
            true => durability::finish_durably(c, schema, &target.load_id, chunks, expected_rows),
            false => ledger::finish_load(c, schema, &target.load_id, chunks),
        },
    )?;
    Ok(chunks)
}

/// What a load from stdin without `--load-id` says up front, once: its id is new every
/// run, so a rerun cannot know what this run committed and loads every row again.
pub const STDIN_RERUN_WARNING: &str = "reading stdin without --load-id: a rerun loads these \
     rows again (twice into a table without a key); pass --load-id NAME to make a rerun \
     resume instead, fed the same input";

fn stdin_rerun_warning(cfg: &LoadConfig) -> Option<&'static str> {
    let stdin = cfg.files.iter().any(|f| f == "-");
    (stdin && cfg.load_id.is_none()).then_some(STDIN_RERUN_WARNING)
}

/// How a rerun resumes this load (see [`crate::interrupt::Rerun`]): a random id (a
/// `--fresh` load, stdin without `--load-id`) must be named.
fn rerun(cfg: &LoadConfig, load_id: &str) -> crate::interrupt::Rerun {
    let stdin = cfg.files.iter().any(|f| f == "-");
    let random = cfg.load_id.is_none() && (cfg.fresh || stdin);
    crate::interrupt::Rerun {
        load_id: random.then(|| load_id.to_string()),
        fresh: cfg.fresh,
        truncate: cfg.truncate,
        stdin,
    }
}

/// The load id: explicit or derived from the inputs, the table, the column mapping and the
/// dialect (not the chunking, method or workers: the ledger is keyed by byte ranges); a
/// fresh load (or stdin without an id) gets a new one.
fn load_id(cfg: &LoadConfig, plan: &LoadPlan) -> String {
    let stdin = cfg.files.iter().any(|f| f == "-");
    let fresh = cfg.fresh || (stdin && cfg.load_id.is_none());
    let st = &plan.statements;
    // The dialect as ids were derived before it had an encoding: a UTF-8 load keeps its
    // id across the upgrade (an interrupted load resumes), another encoding is hashed in.
    let mut dialect = dialect_key(&cfg.dialect);
    if cfg.decimal_comma {
        dialect.push_str("|decimal comma");
    }
    if let Some(order) = cfg.date_order {
        dialect.push_str(&format!("|date order {order}"));
    }
    let options = format!(
        "{}|{:?}|{:?}|{dialect}",
        st.table.sql_name(),
        st.columns.iter().map(|c| &c.name).collect::<Vec<_>>(),
        plan.projections,
    );
    ledger::load_id(
        &cfg.files,
        &st.table.name,
        &options,
        cfg.load_id.as_deref(),
        fresh,
    )
}

/// The dialect's part of a derived load id, written field by field so that a field added
/// later (as `encoding` was) changes no existing id while it keeps its default.
fn dialect_key(d: &crate::source::Dialect) -> String {
    let mut key = format!(
        "Dialect {{ delimiter: {}, quote: {}, escape: {}, has_header: {}, skip_lines: {}, null: {:?} }}",
        d.delimiter, d.quote, d.escape, d.has_header, d.skip_lines, d.null
    );
    if let Some(e) = d.encoding {
        key.push_str(&format!("|encoding {e:?}"));
    }
    key
}

/// A rerun says up front what earlier runs did: a finished load in one line (a warning
/// when its table changed since), an unfinished one how much is committed.
fn announce_resume(connector: &Connector, resume: &Resume<'_>) {
    let Resume {
        committed,
        load_id,
        table,
        rebuild,
        change,
    } = *resume;
    let n = committed.rows_loaded;
    if let Some(at) = &committed.finished_at {
        let changed = match change {
            Some(TableChange::Replaced) => format!(
                "; {table} is not the table they were loaded into (it was dropped and created \
                 again, or renamed, since)"
            ),
            Some(TableChange::Fewer { held }) => format!(
                "; {table} now holds {held} rows, fewer than were loaded: rows were deleted, \
                 or it was emptied or truncated, since"
            ),
            None => String::new(),
        };
        let reporter = connector.reporter();
        // Nothing to do is a note; a table that changed since is a warning.
        let say = |text: String| match change {
            Some(_) => reporter.warn(Topic::AlreadyLoaded, text),
            None => reporter.note(Topic::AlreadyLoaded, text),
        };
        if rebuild > 0 {
            reporter.note(
                Topic::AlreadyLoaded,
                format!(
                    "already loaded completely at {at}: {n} rows into {table} (load id {load_id}); \
                     rebuilding the {rebuild} deferred indexes and constraints it still owes"
                ),
            );
            return;
        }
        say(format!(
            "already loaded completely at {at}: {n} rows into {table} (load id {load_id}); \
             nothing to do{changed}; --fresh loads it again"
        ));
    } else if !committed.is_empty() {
        connector.reporter().note(
            Topic::Resume,
            format!(
                "resuming load {load_id}: {n} rows in {} pieces already committed ({} rows rejected); \
                 sending the rest",
                committed.pieces, committed.rows_rejected
            ),
        );
    }
}

/// What a rerun announces: the load, what it committed, the deferred items it owes and,
/// for a finished load, what became of its table since.
#[derive(Clone, Copy)]
struct Resume<'a> {
    committed: &'a Committed,
    load_id: &'a str,
    table: &'a str,
    rebuild: usize,
    change: Option<TableChange>,
}

/// Runs idempotent bookkeeping on a control connection, reconnecting when it is lost.
fn on_control<T>(
    connector: &Connector,
    budget: Duration,
    work: impl FnMut(&mut Client) -> Result<T>,
) -> Result<T> {
    crate::connect::with_reconnect(connector, 0, budget, work).map(|(_, v)| v)
}

/// Runs `work` on the run's first connection, which is tried once (every host of the URL,
/// as libpq tries them) and never retried: a server that is down when the load starts is
/// an error at once (exit 2), as in psql and `chunkload status`, not a wait of
/// `--reconnect-timeout`. Only a server that was reached is waited for: a connection lost
/// during `work` (the server restarting just then) is reopened within `budget`, as every
/// later one is.
fn on_first_control<T>(
    connector: &Connector,
    budget: Duration,
    mut work: impl FnMut(&mut Client) -> Result<T>,
) -> Result<T> {
    let mut client = connector.open(0, 0)?;
    match work(&mut client) {
        Err(e) if crate::retry::is_lost(&e) => on_control(connector, budget, work),
        done => done,
    }
}

/// The reject file: `--reject-file`, or `<first input>.rejects.csv` (a remote object's
/// name, in the current directory).
fn reject_writer(cfg: &LoadConfig, plan: &LoadPlan) -> RejectWriter {
    let path = cfg.reject_file.clone().unwrap_or_else(|| {
        let first = cfg.files[0].as_str();
        let base = match first {
            "-" => "stdin",
            _ if remote::is_remote(first) => remote::file_name(first),
            _ => crate::source::outer_path(first),
        };
        format!("{base}.rejects.csv")
    });
    RejectWriter::new(
        &path,
        plan.reject_header.clone(),
        cfg.dialect.delimiter,
        cfg.dialect.quote,
    )
}

fn chunk_shape(cfg: &LoadConfig, plan: &LoadPlan) -> ChunkShape {
    ChunkShape {
        columns: plan.statements.columns.clone(),
        format: plan.statements.format,
        projections: plan.projections.clone(),
        files: cfg.files.clone(),
        hint: cfg.type_hint.clone(),
        decimal_comma: cfg.decimal_comma,
        date_order: cfg.date_order,
    }
}

/// The table and plan of a load of `cfg` (as the catalog says now).
fn planned(
    cfg: &LoadConfig,
    connector: &Connector,
    budget: Duration,
    flavour: Flavour,
) -> Result<LoadPlan> {
    let table = on_control(connector, budget, |c| {
        Table::read_as(c, &cfg.table, flavour)
    })?;
    plan::resolve(cfg, table, flavour)
}

/// What the reader and the encoders take of a plan.
struct Input {
    /// Stdin's reader, its header already read by the plan.
    stdin: Option<OpenReader>,
    /// Field count of each file.
    widths: Vec<usize>,
    shape: ChunkShape,
}

impl Input {
    fn take(cfg: &LoadConfig, plan: &mut LoadPlan) -> Input {
        Input {
            stdin: plan.stdin.take(),
            widths: plan.widths.clone(),
            shape: chunk_shape(cfg, plan),
        }
    }
}

/// Which run a summary is of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Load,
    Check,
    DryRun,
}

/// One run of the pipeline, whatever its sink (a load's writers, a check's, a dry run's
/// counters): what the stages share while it runs and what its summary reads after.
struct Run<'a> {
    cfg: &'a LoadConfig,
    started: Instant,
    counters: Arc<Counters>,
    rejects: Rejects,
    control: PipelineControl,
    /// Chunk 0 empties the table, before any other chunk.
    truncate: bool,
    /// Where the run's events go; told when the pipeline starts and ends.
    reporter: Reporter,
    ended: bool,
}

impl<'a> Run<'a> {
    /// Starts the progress display (the clock started at `started`), unless a signal came first or the
    /// reject file cannot be written.
    fn start(
        cfg: &'a LoadConfig,
        started: Instant,
        counters: Arc<Counters>,
        rejects: Rejects,
        truncate: bool,
        reporter: &Reporter,
    ) -> Result<Run<'a>> {
        if cfg.interrupt.is_raised() {
            return Err(cfg.interrupt.error());
        }
        rejects.check_writable()?;
        reporter.started(counters.clone());
        Ok(Run {
            cfg,
            started,
            reporter: reporter.clone(),
            ended: false,
            counters,
            rejects: rejects.with_reporter(reporter.clone()),
            control: PipelineControl::new(truncate).with_interrupt(cfg.interrupt.clone()),
            truncate,
        })
    }

    fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// Ends the progress display; the error that stopped the pipeline, a signal's first.
    fn end(&mut self) -> Result<()> {
        if !std::mem::replace(&mut self.ended, true) {
            self.reporter.finished();
        }
        if self.cfg.interrupt.is_raised() {
            return Err(self.cfg.interrupt.error());
        }
        self.control.take_error().map_or(Ok(()), Err)
    }

    fn summary(
        &self,
        load_id: &str,
        table: &Table,
        cap: &PieceCap,
        (chunks, bytes): (u64, u64),
        mode: Mode,
    ) -> Summary {
        let (cfg, c) = (self.cfg, &self.counters);
        let elapsed = self.started.elapsed().as_secs_f64();
        let rows = c.rows.load(Relaxed);
        let rejected = c.rejected.load(Relaxed);
        let lowered = cap.rows.load(Relaxed);
        Summary {
            load_id: load_id.to_string(),
            table: table.sql_name(),
            files: cfg.files.clone(),
            rows,
            chunks,
            chunks_resumed: c.chunks_skipped.load(Relaxed),
            bytes_seeked: c.bytes_seeked.load(Relaxed),
            bytes,
            retries: c.retries.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            commits_confirmed: c.commits_confirmed.load(Relaxed),
            rejected,
            reject_file: self
                .rejects
                .path()
                .filter(|_| rejected > 0)
                .map(str::to_string),
            too_large_splits: cap.splits.load(Relaxed),
            lowered_chunk_rows: (lowered > 0).then_some(lowered),
            elapsed_secs: elapsed,
            rows_per_sec: rows as f64 / elapsed.max(1e-9),
            method: cfg.method().name().into(),
            workers: cfg.workers,
            dry_run: mode == Mode::DryRun,
            check: mode == Mode::Check,
            fallback_chunks: c.fallback_chunks.load(Relaxed),
        }
    }
}

/// A run that ends by an error on the way still tells the observer the pipeline stopped.
impl Drop for Run<'_> {
    fn drop(&mut self) {
        if !std::mem::replace(&mut self.ended, true) {
            self.reporter.finished();
        }
    }
}

/// Runs the reader of `input` (skipping what `committed` covers), the encoders and
/// `run`'s `cfg.workers` writers (each with the sink `sink` gives it) until the input
/// ends or the load stops; returns the number of chunks and the source bytes read.
/// Errors stop the load through `run`'s control. `ordered`: each writer takes its chunks
/// in file order (for `--check`'s one writer).
fn pipeline<S: ChunkSink>(
    run: &Run<'_>,
    input: Input,
    committed: &Committed,
    ordered: bool,
    sink: impl Fn(usize) -> S + Sync,
) -> (u64, u64) {
    let (workers, control, truncate) = (run.cfg.workers, &run.control, run.truncate);
    let shape = &input.shape;
    let (chunk_tx, chunk_rx) = crossbeam_channel::bounded::<Chunk>(workers);
    let (encoded_tx, encoded_rx) = crossbeam_channel::bounded::<EncodedChunk>(1);
    // A chunk done with gives its buffers back: batches to the reader, encoded rows to the
    // encoders. The pools are small, so memory stays bounded by the chunks in flight.
    let (batch_tx, batch_rx) = crossbeam_channel::bounded(2);
    let (rows_tx, rows_rx) = crossbeam_channel::bounded(2);
    let recycler = Recycler {
        batches: batch_tx,
        rows: rows_tx,
    };
    let reader = ChunkReader {
        cfg: run.cfg,
        stdin: input.stdin,
        widths: &input.widths,
        committed,
        counters: &run.counters,
        rejects: &run.rejects,
        control,
        reporter: run.reporter(),
        pool: batch_rx,
    };
    std::thread::scope(|s| {
        let reading = s.spawn(move || reader.read_all(chunk_tx));
        let encoding = s.spawn(move || {
            chunk_rx.into_iter().par_bridge().for_each(|chunk| {
                if control.aborted() {
                    return;
                }
                let rows = rows_rx.try_recv().unwrap_or_default();
                let recycle = Some(recycler.clone());
                let _ = encoded_tx.send(encode_chunk_into(shape, chunk, rows, recycle));
            });
            drop(encoded_tx);
        });
        let sink = &sink;
        let writers: Vec<_> = (0..workers)
            .map(|w| {
                let rx = encoded_rx.clone();
                s.spawn(move || match ordered {
                    // A few times the chunks in flight: memory stays bounded.
                    true => {
                        let window = 4 * (workers + rayon::current_num_threads()) + 8;
                        let rx = InOrder::new(rx.into_iter(), |c| c.chunk.seq, window);
                        drain(control, rx, truncate, &mut sink(w))
                    }
                    false => drain(control, rx, truncate, &mut sink(w)),
                })
            })
            .collect();
        drop(encoded_rx);
        for h in writers {
            h.join().expect("writer thread");
        }
        encoding.join().expect("encoder thread");
        match reading.join().expect("reader thread") {
            Ok(v) => v,
            Err(e) => {
                control.fail(e);
                (0, 0)
            }
        }
    })
}

/// A load that stops on bad input keeps the chunks it committed before: say so, and how
/// to go on, in the error itself.
fn explain_partial(e: Error, committed: u64, load_id: &str) -> Error {
    if committed == 0 {
        return e;
    }
    let note = format!(
        " ({committed} rows of earlier chunks are committed under load id {load_id}; \
         rerun with --max-errors N to send bad rows to a reject file and load the rest, \
         or fix the input and rerun with --fresh after removing those rows)"
    );
    e.with_note(&note).with_committed(committed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_dialect_keys_load_ids_as_before_it_had_an_encoding() {
        assert_eq!(
            dialect_key(&crate::source::Dialect::default()),
            "Dialect { delimiter: 44, quote: 34, escape: 34, has_header: true, skip_lines: 0, null: [] }"
        );
    }

    #[test]
    fn byte_size_settings_read_as_cockroachdb_shows_them() {
        assert_eq!(setting_bytes("4.0 MiB"), Some(4 << 20));
        assert_eq!(setting_bytes("512 KiB"), Some(512 << 10));
        assert_eq!(setting_bytes("1.5 GiB"), Some(3 << 29));
        assert_eq!(setting_bytes("4194304"), Some(4 << 20));
        assert_eq!(setting_bytes(" 64 MiB "), Some(64 << 20));
        assert_eq!(setting_bytes("4 MB"), None);
        assert_eq!(setting_bytes("lots"), None);
    }

    #[test]
    fn writers_take_at_most_half_the_free_connections() {
        assert_eq!(workers_room(100), 50);
        assert_eq!(workers_room(5), 2);
        assert_eq!(workers_room(1), 1);
        assert_eq!(workers_room(0), 1);
        assert_eq!(workers_room(-3), 1);
    }

    #[test]
    fn chunks_stay_under_half_the_intent_budget() {
        assert_eq!(cap_for_intents(256 * 1024, 4 << 20), 256 * 1024);
        assert_eq!(cap_for_intents(16 << 20, 4 << 20), 2 << 20);
        assert_eq!(cap_for_intents(1 << 20, 256_000), 128_000);
        assert_eq!(
            cap_for_intents(1 << 20, 10),
            1024,
            "a floor keeps chunks useful"
        );
    }
}
