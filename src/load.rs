//! The load: wires the stages together and owns the exactly-once bookkeeping.
//!
//! ```text
//! reader thread ──chunks──► rayon encoders ──encoded──► N writer connections
//!  (source+chunk)  bounded     (encode)        bounded     (commit: retry + ledger)
//! ```
//!
//! Memory is bounded by the two queues and the chunks in flight: about
//! `(3 × workers + encoder threads) × chunk size`, whatever the size of the input.
//! Chunks commit out of order; the ledger (see [`crate::ledger`]) makes each commit
//! exactly once, so a rerun after any interruption sends only what is missing.

use crate::chunk::{Chunk, ChunkLimits, ChunkStream};
use crate::encode::{self, Column, ColumnType, EncodedRows, Encoder, Format, QualifiedName};
use crate::flavour::Flavour;
use crate::ledger::{self, Piece, Progress};
use crate::report::{Counters, ProgressMode, RejectWriter, Reporter, Summary, REJECT_COLUMNS};
use crate::retry::{run_transaction, RetryPolicy};
use crate::source::{open_input, Compression, Dialect, RecordReader};
use crate::table::Table;
use crate::{Error, ErrorKind, Location, Result};
use postgres::{Client, Statement};
use rayon::iter::{ParallelBridge, ParallelIterator};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

/// Opens a writer connection; `attempt` lets a multi-host connector move round-robin.
pub type Connector = Arc<dyn Fn(usize, u32) -> Result<Client> + Send + Sync>;

/// Everything a load needs, validated.
#[derive(Clone)]
pub struct LoadConfig {
    /// Input files in order (`-` is stdin).
    pub files: Vec<String>,
    /// Target table, `table` or `schema.table`.
    pub table: String,
    /// Target columns of a headerless file, or the header columns to load, in order.
    pub columns: Option<Vec<String>>,
    /// CSV dialect.
    pub dialect: Dialect,
    /// Forced decompression (otherwise by extension).
    pub compression: Option<Compression>,
    /// Chunk bounds.
    pub limits: ChunkLimits,
    /// Transport.
    pub method: Method,
    /// Empty the table in the first chunk's transaction.
    pub truncate: bool,
    /// Writer connections.
    pub workers: usize,
    /// Retry policy of each chunk transaction.
    pub retry: RetryPolicy,
    /// Bad rows tolerated before the load stops (0: the first one fails it).
    pub max_errors: u64,
    /// Where bad rows go (default `<first input>.rejects.csv`).
    pub reject_file: Option<String>,
    /// Explicit load id (otherwise derived from the input and options).
    pub load_id: Option<String>,
    /// Start a new load instead of resuming.
    pub fresh: bool,
    /// Total time to keep reconnecting after a lost connection.
    pub reconnect_timeout: Duration,
    /// Progress display.
    pub progress: ProgressMode,
    /// Write a ledger row in each chunk's transaction (off only to measure its cost:
    /// without it a rerun or an ambiguous commit can duplicate rows).
    pub ledger: bool,
    /// For tables created from an inferred schema: advice appended to conversion errors,
    /// given the column's type (e.g. "inferred from the first 10000 rows; ...").
    pub type_hint: Option<TypeHint>,
}

/// Advice for a conversion error, given the column's type name.
pub type TypeHint = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl LoadConfig {
    /// Defaults for `files` into `table`.
    pub fn new(files: Vec<String>, table: &str) -> LoadConfig {
        LoadConfig {
            files,
            table: table.to_string(),
            columns: None,
            dialect: Dialect::default(),
            compression: None,
            limits: ChunkLimits::default(),
            method: Method::Copy,
            truncate: false,
            workers: 2,
            retry: RetryPolicy::default(),
            max_errors: 0,
            reject_file: None,
            load_id: None,
            fresh: false,
            reconnect_timeout: Duration::from_secs(120),
            progress: ProgressMode::Quiet,
            ledger: true,
            type_hint: None,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.files.is_empty() {
            return Err(Error::usage("no input files"));
        }
        if self.workers == 0 {
            return Err(Error::usage("--workers must be at least 1"));
        }
        self.limits.validate()?;
        self.retry.validate()
    }

    /// The chunk limits in force: INSERT also bounds bind parameters per statement.
    fn effective_limits(&self) -> ChunkLimits {
        let mut l = self.limits;
        if self.method == Method::Copy {
            l.max_params = usize::MAX;
        }
        l
    }
}

/// The resolved shape of a load: which file field goes to which column, as what type.
struct Plan {
    table: Table,
    /// Target columns, in the order rows are encoded.
    columns: Vec<Column>,
    /// Per file: the file field index of each target column.
    projections: Vec<Vec<usize>>,
    /// Field count of each file.
    widths: Vec<usize>,
    /// Raw header for the reject file.
    reject_header: Vec<u8>,
    format: Format,
    flavour: Flavour,
    method: Method,
}

impl Plan {
    fn qualified(&self) -> QualifiedName {
        QualifiedName {
            schema: Some(self.table.schema.clone()),
            name: self.table.name.clone(),
        }
    }

    fn copy_sql(&self) -> String {
        encode::copy_sql(&self.qualified(), &self.columns, self.format)
    }

    fn insert_sql(&self, rows: usize) -> String {
        let conflict = match (self.method, self.flavour) {
            (Method::Upsert, Flavour::Cockroach) => encode::Conflict::UpsertCockroach,
            (Method::Upsert, Flavour::Postgres) => encode::Conflict::UpsertPg {
                pk: self.table.primary_key.clone(),
            },
            _ => encode::Conflict::None,
        };
        encode::insert_sql(&self.qualified(), &self.columns, rows, &conflict)
    }

    /// The SQL the first chunk sends (shown by `--dry-run`).
    fn first_sql(&self, rows: usize) -> String {
        match self.method {
            Method::Copy => self.copy_sql(),
            _ => self.insert_sql(rows),
        }
    }
}

/// Reads each file's header and maps fields to table columns.
fn plan(cfg: &LoadConfig, table: Table, flavour: Flavour) -> Result<Plan> {
    let mut projections = Vec::new();
    let mut widths = Vec::new();
    let mut target: Option<Vec<usize>> = None;
    let mut reject_header = Vec::new();
    for (i, file) in cfg.files.iter().enumerate() {
        let (names, width) = if cfg.dialect.has_header {
            let input = open_input(file, cfg.compression)?;
            let mut rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
            let mut header = rdr.read_header()?.ok_or_else(|| {
                Error::from(ErrorKind::Parse {
                    loc: Location {
                        file: file.clone(),
                        ..Location::default()
                    },
                    msg: "the file is empty: no header".into(),
                })
            })?;
            let width = header.len();
            // A fixed reject file loads again as it is: its two extra columns are ignored.
            if header.len() > 2 && header[header.len() - 2..] == REJECT_COLUMNS {
                header.truncate(header.len() - 2);
            }
            if i == 0 {
                reject_header = header
                    .join(&(cfg.dialect.delimiter as char).to_string())
                    .into_bytes();
            }
            (header, width)
        } else {
            let names = match &cfg.columns {
                Some(c) => c.clone(),
                None => table.columns.iter().map(|c| c.name.clone()).collect(),
            };
            let width = names.len();
            if i == 0 {
                reject_header = names
                    .join(&(cfg.dialect.delimiter as char).to_string())
                    .into_bytes();
            }
            (names, width)
        };
        // With a header, --columns picks and orders the header columns to load.
        let picked: Vec<usize> = match (&cfg.columns, cfg.dialect.has_header) {
            (Some(cols), true) => cols
                .iter()
                .map(|c| {
                    names.iter().position(|n| n == c).ok_or_else(|| {
                        Error::schema(format!(
                            "{file}: --columns names {c:?}, which is not in the header ({})",
                            names.join(", ")
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            _ => (0..names.len()).collect(),
        };
        let picked_names: Vec<String> = picked.iter().map(|&i| names[i].clone()).collect();
        let cols = table.map_columns(&picked_names, file)?;
        // Files after the first must fill the same columns; their field order may differ.
        let order = match &target {
            None => {
                target = Some(cols.clone());
                picked
            }
            Some(t) => {
                let mut order = Vec::with_capacity(t.len());
                for want in t {
                    let at = cols.iter().position(|c| c == want).ok_or_else(|| {
                        Error::schema(format!(
                            "{file}: has no column {:?}, which {} has; files loaded together must fill the same columns",
                            table.columns[*want].name, cfg.files[0]
                        ))
                    })?;
                    order.push(picked[at]);
                }
                if cols.len() != t.len() {
                    return Err(Error::schema(format!(
                        "{file}: fills {} columns, {} fills {}; files loaded together must fill the same columns",
                        cols.len(),
                        cfg.files[0],
                        t.len()
                    )));
                }
                order
            }
        };
        projections.push(order);
        widths.push(width);
    }
    let target = target.expect("at least one file");
    let columns: Vec<Column> = target
        .iter()
        .map(|&i| {
            let c = &table.columns[i];
            Column {
                name: c.name.clone(),
                ty: ColumnType::from_pg(&c.type_name),
                type_name: c.type_name.clone(),
                not_null: c.not_null,
                has_default: c.has_default,
            }
        })
        .collect();
    if cfg.method == Method::Upsert && table.primary_key.is_empty() {
        return Err(Error::schema(format!(
            "--method upsert needs a primary key, and {} has none",
            table.sql_name()
        )));
    }
    let format = match cfg.method {
        Method::Copy => Format::for_columns(&columns, flavour == Flavour::Postgres),
        _ => Format::for_columns(&columns, true),
    };
    Ok(Plan {
        table,
        columns,
        projections,
        widths,
        reject_header,
        format,
        flavour,
        method: cfg.method,
    })
}

/// Size, modification time and a hash of the first and last MiB: cheap, and it changes
/// when the file does.
pub fn fingerprint(path: &str) -> Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    if path == "-" {
        return Ok("stdin".into());
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

/// The load id: the table plus a hash of the inputs' paths and of every option that
/// decides chunk boundaries or contents, so the same command resumes the same load.
fn derive_load_id(cfg: &LoadConfig, plan: &Plan) -> String {
    let mut h = Sha256::new();
    for f in &cfg.files {
        let p = std::fs::canonicalize(f)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.clone());
        h.update(p.as_bytes());
        h.update([0]);
    }
    let l = cfg.effective_limits();
    h.update(
        format!(
            "{}|{:?}|{:?}|{}|{}|{}|{}|{:?}",
            plan.table.sql_name(),
            plan.columns.iter().map(|c| &c.name).collect::<Vec<_>>(),
            cfg.dialect,
            l.max_bytes,
            l.max_rows,
            l.max_params,
            l.max_message,
            cfg.method
        )
        .as_bytes(),
    );
    let name: String = plan
        .table
        .name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(24)
        .collect();
    format!("{}-{}", name, &hex::encode(h.finalize())[..16])
}

/// Shared state of one load's threads.
struct Shared {
    cfg: LoadConfig,
    plan: Plan,
    load_id: String,
    progress: Progress,
    counters: Arc<Counters>,
    rejects: RejectWriter,
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    /// Rows per transaction after the server refused one as too large (0: no cap).
    piece_cap: AtomicU64,
    too_large: AtomicU64,
    /// When truncating: set once chunk 0 committed, so no other chunk commits before it.
    first_done: (Mutex<bool>, Condvar),
    /// None in a dry run: nothing is sent anywhere.
    connector: Option<Connector>,
    dry_run: bool,
    first_chunk_rows: AtomicU64,
    max_chunk_rows: AtomicU64,
    max_chunk_bytes: AtomicU64,
}

impl Shared {
    fn fail(&self, e: Error) {
        let mut slot = self.error.lock().expect("error slot");
        if slot.is_none() {
            *slot = Some(e);
        }
        self.abort.store(true, Relaxed);
        self.signal_first();
    }

    fn signal_first(&self) {
        let (m, cv) = &self.first_done;
        *m.lock().expect("first_done") = true;
        cv.notify_all();
    }

    fn wait_first(&self) {
        let (m, cv) = &self.first_done;
        let mut done = m.lock().expect("first_done");
        while !*done {
            done = cv.wait(done).expect("first_done");
        }
    }

    fn aborted(&self) -> bool {
        self.abort.load(Relaxed)
    }
}

/// A chunk and its encoded rows; rows that failed conversion are listed apart.
struct Work {
    chunk: Chunk,
    rows: EncodedRows,
    bad: Vec<(u32, Error)>,
}

fn encode_chunk(plan: &Plan, files: &[String], hint: Option<&TypeHint>, chunk: Chunk) -> Work {
    let encoder = Encoder::new(plan.columns.clone(), plan.format);
    let mut rows = EncodedRows::new();
    let mut bad = Vec::new();
    let proj = &plan.projections[chunk.file_index];
    for i in 0..chunk.batch.len() {
        let rec = chunk.batch.record(i);
        if let Err(e) = encoder.encode_row(proj.iter().map(|&j| rec.field(j)), i as u32, &mut rows)
        {
            let value = proj.get(e.column).and_then(|&j| rec.field(j));
            let loc = Location {
                file: files[chunk.file_index].clone(),
                pos: rec.position(),
                column: None,
            };
            let err = e.into_error(loc, &plan.columns, value);
            let err = match (hint, err.into_kind()) {
                (
                    Some(h),
                    ErrorKind::Convert {
                        loc,
                        ty,
                        value,
                        msg,
                    },
                ) => {
                    let msg = format!("{msg}; {}", h(&ty));
                    ErrorKind::Convert {
                        loc,
                        ty,
                        value,
                        msg,
                    }
                    .into()
                }
                (_, kind) => kind.into(),
            };
            bad.push((i as u32, err));
        }
    }
    Work { chunk, rows, bad }
}

/// The chunk byte bound under CockroachDB's intent budget: the keys a chunk writes (one
/// per row and index) are a fraction of its source bytes, so half the budget in source
/// bytes keeps a chunk well under it.
pub fn cap_for_intents(max_bytes: usize, max_intents_bytes: u64) -> usize {
    max_bytes.min((max_intents_bytes / 2).max(1024) as usize)
}

/// On CockroachDB, reads `kv.transaction.max_intents_bytes` when permitted and keeps
/// chunks under it; elsewhere, or without the privilege, the configuration stands.
fn cockroach_limits(cfg: &LoadConfig, flavour: Flavour, client: &mut Client) -> LoadConfig {
    let mut cfg = cfg.clone();
    if flavour != Flavour::Cockroach {
        return cfg;
    }
    let setting = client
        .simple_query("SHOW CLUSTER SETTING kv.transaction.max_intents_bytes")
        .ok()
        .and_then(|msgs| {
            msgs.iter().find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    r.get(0).and_then(|v| v.trim().parse::<u64>().ok())
                }
                _ => None,
            })
        });
    if let Some(budget) = setting {
        cfg.limits.max_bytes = cap_for_intents(cfg.limits.max_bytes, budget);
    }
    cfg
}

/// What `--dry-run` found: the summary (nothing written) and the SQL a first chunk sends.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// Rows, chunks and bytes as a real load would send them.
    pub summary: Summary,
    /// The statement the first chunk would run.
    pub first_sql: String,
    /// Rows in the largest chunk.
    pub max_chunk_rows: u64,
    /// Source bytes of the largest chunk.
    pub max_chunk_bytes: u64,
}

/// Reads, converts, chunks and encodes everything as a load would, without a server:
/// `table` comes from the catalog (when a URL is given) or from inference.
pub fn dry_run(cfg: &LoadConfig, table: Table, flavour: Flavour) -> Result<DryRun> {
    cfg.validate()?;
    let started = Instant::now();
    let plan = plan(cfg, table, flavour)?;
    let (shared, reporter) = start(
        cfg,
        plan,
        String::from("dry-run"),
        Progress::default(),
        None,
        false,
    );
    let (chunks, bytes) = pipeline(&shared, false, &reporter)?;
    reporter.finish();
    if let Some(e) = shared.error.lock().expect("error slot").take() {
        return Err(e);
    }
    let mut summary = summarize(&shared, chunks, bytes, started);
    summary.dry_run = true;
    let first_rows = shared.first_chunk_rows.load(Relaxed).max(1) as usize;
    Ok(DryRun {
        summary,
        first_sql: shared.plan.first_sql(first_rows),
        max_chunk_rows: shared.max_chunk_rows.load(Relaxed),
        max_chunk_bytes: shared.max_chunk_bytes.load(Relaxed),
    })
}

/// Loads the files through connections from `connector`; returns the summary.
pub fn run(cfg: &LoadConfig, connector: Connector) -> Result<Summary> {
    cfg.validate()?;
    let connector = with_session_defaults(connector);
    let started = Instant::now();
    let mut control = connect_with_backoff(&connector, 0, cfg.reconnect_timeout)?;
    let flavour = Flavour::detect(&mut control)?;
    let cfg = &cockroach_limits(cfg, flavour, &mut control);
    let table = Table::read(&mut control, &cfg.table)?;
    let plan = plan(cfg, table, flavour)?;
    ledger::ensure(&mut control)?;
    let stdin = cfg.files.iter().any(|f| f == "-");
    let load_id = match (&cfg.load_id, cfg.fresh || (stdin && cfg.load_id.is_none())) {
        (Some(id), false) => id.clone(),
        (Some(id), true) => format!("{id}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        (None, false) => derive_load_id(cfg, &plan),
        (None, true) => format!(
            "{}-{}",
            derive_load_id(cfg, &plan),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ),
    };
    let prints: Vec<String> = cfg
        .files
        .iter()
        .map(|f| fingerprint(f))
        .collect::<Result<_>>()?;
    let fp = prints.join(";");
    let existing = control.query_opt(
        "SELECT fingerprint FROM chunkload_loads WHERE load_id = $1",
        &[&load_id],
    )?;
    match existing {
        Some(row) if row.get::<_, String>(0) != fp => {
            return Err(Error::usage(format!(
                "the input changed since load {load_id} started (size, time or content differ); \
                 loading it under the same load id could duplicate or lose rows. \
                 Use --fresh to start a new load (or --load-id NAME)"
            )))
        }
        Some(_) => {}
        None => {
            control.execute(
                "INSERT INTO chunkload_loads (load_id, table_name, files, fingerprint) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (load_id) DO NOTHING",
                &[&load_id, &plan.table.sql_name(), &cfg.files.join(", "), &fp],
            )?;
        }
    }
    let progress = Progress::read(&mut control, &load_id)?;
    drop(control);
    let truncate = cfg.truncate && progress.chunks_touched() == 0;
    let (shared, reporter) = start(
        cfg,
        plan,
        load_id.clone(),
        progress,
        Some(connector),
        truncate,
    );
    let (total_chunks, bytes) = pipeline(&shared, truncate, &reporter)?;
    reporter.finish();
    if let Some(e) = shared.error.lock().expect("error slot").take() {
        let committed = counters_rows(&shared) + shared.progress.rows_loaded;
        return Err(explain_partial(e, committed, &shared.load_id));
    }
    // Every chunk is covered: mark the load finished.
    let mut control = connect_with_backoff(
        shared.connector.as_ref().expect("real run"),
        0,
        cfg.reconnect_timeout,
    )?;
    control.execute(
        "UPDATE chunkload_loads SET total_chunks = $2, finished_at = now() WHERE load_id = $1",
        &[&load_id, &(total_chunks as i64)],
    )?;
    Ok(summarize(&shared, total_chunks, bytes, started))
}

/// The encoder reads zone-less `timestamptz` as UTC and `1/2/2024` as month/day; values
/// sent as text (COPY text format, `::text::type` casts) must read the same on the server,
/// whatever the database's own TimeZone and DateStyle.
fn with_session_defaults(inner: Connector) -> Connector {
    Arc::new(move |worker, attempt| {
        let mut c = inner(worker, attempt)?;
        c.batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'")?;
        Ok(c)
    })
}

fn start(
    cfg: &LoadConfig,
    plan: Plan,
    load_id: String,
    progress: Progress,
    connector: Option<Connector>,
    truncate: bool,
) -> (Arc<Shared>, Reporter) {
    let counters = Arc::new(Counters::default());
    let reject_path = cfg.reject_file.clone().unwrap_or_else(|| {
        let base = if cfg.files[0] == "-" {
            "stdin"
        } else {
            cfg.files[0].as_str()
        };
        format!("{base}.rejects.csv")
    });
    let rejects = RejectWriter::new(
        &reject_path,
        plan.reject_header.clone(),
        cfg.dialect.delimiter,
        cfg.dialect.quote,
    );
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        plan,
        load_id,
        progress,
        counters: counters.clone(),
        rejects,
        abort: AtomicBool::new(false),
        error: Mutex::new(None),
        piece_cap: AtomicU64::new(0),
        too_large: AtomicU64::new(0),
        first_done: (Mutex::new(!truncate), Condvar::new()),
        dry_run: connector.is_none(),
        connector,
        first_chunk_rows: AtomicU64::new(0),
        max_chunk_rows: AtomicU64::new(0),
        max_chunk_bytes: AtomicU64::new(0),
    });
    let reporter = Reporter::start(counters, cfg.progress);
    (shared, reporter)
}

fn summarize(shared: &Shared, chunks: u64, bytes: u64, started: Instant) -> Summary {
    let c = &shared.counters;
    let cfg = &shared.cfg;
    let elapsed = started.elapsed().as_secs_f64();
    let rows = c.rows.load(Relaxed);
    let rejected = c.rejected.load(Relaxed);
    let cap = shared.piece_cap.load(Relaxed);
    Summary {
        load_id: shared.load_id.clone(),
        table: shared.plan.table.sql_name(),
        files: cfg.files.len(),
        rows,
        chunks,
        chunks_resumed: c.chunks_skipped.load(Relaxed),
        bytes,
        retries: c.retries.load(Relaxed),
        reconnects: c.reconnects.load(Relaxed),
        commits_confirmed: c.commits_confirmed.load(Relaxed),
        rejected,
        reject_file: (rejected > 0 && !shared.dry_run).then(|| shared.rejects.path().to_string()),
        too_large_splits: shared.too_large.load(Relaxed),
        lowered_chunk_rows: (cap > 0).then_some(cap),
        elapsed_secs: elapsed,
        rows_per_sec: rows as f64 / elapsed.max(1e-9),
        method: cfg.method.name().into(),
        workers: cfg.workers,
        dry_run: shared.dry_run,
    }
}

/// Runs reader, encoders and writers until the input ends or the load aborts; returns
/// the number of chunks and the source bytes read.
fn pipeline(shared: &Arc<Shared>, truncate: bool, reporter: &Reporter) -> Result<(u64, u64)> {
    let workers = shared.cfg.workers;
    let (chunk_tx, chunk_rx) = crossbeam_channel::bounded::<Chunk>(workers * 2);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(workers);
    std::thread::scope(|s| {
        let reader = s.spawn(|| read_chunks(shared, chunk_tx, reporter));
        let encoder = s.spawn(|| {
            let files = shared.cfg.files.clone();
            chunk_rx.into_iter().par_bridge().for_each(|chunk| {
                if shared.aborted() {
                    return;
                }
                let _ = work_tx.send(encode_chunk(
                    &shared.plan,
                    &files,
                    shared.cfg.type_hint.as_ref(),
                    chunk,
                ));
            });
            drop(work_tx);
        });
        let writers: Vec<_> = (0..workers)
            .map(|w| {
                let rx = work_rx.clone();
                s.spawn(move || writer(shared, w, rx, truncate, reporter))
            })
            .collect();
        drop(work_rx);
        for h in writers {
            if let Err(e) = h.join().expect("writer thread") {
                shared.fail(e);
            }
        }
        encoder.join().expect("encoder thread");
        match reader.join().expect("reader thread") {
            Ok(v) => Ok(v),
            Err(e) => {
                shared.fail(e);
                Ok((0, 0))
            }
        }
    })
}

fn read_chunks(
    shared: &Shared,
    tx: crossbeam_channel::Sender<Chunk>,
    reporter: &Reporter,
) -> Result<(u64, u64)> {
    let cfg = &shared.cfg;
    let mut seq = 0u64;
    let mut bytes = 0u64;
    let c = &shared.counters;
    let total: u64 = cfg
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok().map(|m| m.len()))
        .sum();
    c.bytes_total.store(total, Relaxed);
    let mut done_before = 0u64;
    for (fi, file) in cfg.files.iter().enumerate() {
        let input = open_input(file, cfg.compression)?;
        let consumed = input.consumed.clone();
        let rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
        let mut stream = ChunkStream::new(rdr, cfg.effective_limits(), fi, seq)?;
        stream
            .reader_mut()
            .set_expected_fields(shared.plan.widths[fi]);
        loop {
            let chunk = match stream.next_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // A malformed record goes to the reject file like a bad value does; the
                // stream keeps its open chunk, so chunk boundaries do not move.
                Err(e) if matches!(e.kind(), ErrorKind::Parse { .. }) && cfg.max_errors > 0 => {
                    let rec = stream.last_record();
                    if shared.dry_run {
                        shared.counters.rejected.fetch_add(1, Relaxed);
                    } else {
                        shared
                            .rejects
                            .write(rec.raw(), rec.position().line, &e.to_string())?;
                        shared.counters.rejected.fetch_add(1, Relaxed);
                    }
                    if shared.counters.rejected.load(Relaxed) > cfg.max_errors {
                        return Err(ErrorKind::TooManyRejects {
                            rejected: shared.counters.rejected.load(Relaxed),
                            limit: cfg.max_errors,
                        }
                        .into());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            if shared.aborted() {
                return Ok((seq, bytes));
            }
            seq = chunk.seq + 1;
            bytes += chunk.bytes() as u64;
            c.bytes_read
                .store(done_before + consumed.load(Relaxed), Relaxed);
            if chunk.oversized {
                reporter.warn(&format!(
                    "{file}: line {}: a single record of {} bytes is larger than --chunk-bytes; it goes alone in its own transaction",
                    chunk.first_line(),
                    chunk.bytes()
                ));
            }
            if shared
                .progress
                .missing(chunk.seq, chunk.rows() as u32)
                .is_empty()
            {
                c.chunks_skipped.fetch_add(1, Relaxed);
                continue;
            }
            let first = chunk.seq == 0;
            if tx.send(chunk).is_err() {
                return Ok((seq, bytes));
            }
            // --truncate: chunks reach the writers out of order, and a writer holding a
            // later chunk waits for chunk 0; send nothing more until chunk 0 committed, or
            // every writer could be waiting (a no-op without --truncate).
            if first {
                shared.wait_first();
            }
        }
        seq = seq.max(stream.next_seq());
        done_before += consumed.load(Relaxed);
        c.bytes_read.store(done_before, Relaxed);
    }
    Ok((seq, bytes))
}

/// One writer connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<usize, Statement>,
}

/// What went wrong with one piece, as the writer must react to it.
enum PieceError {
    /// A data error (SQLSTATE classes 22 and 23): isolate the bad rows.
    Data(Error),
    /// The server refused the transaction as too large: split it.
    TooLarge(Error),
    /// The connection is gone, or the commit outcome is unknown: reconnect, ask the
    /// ledger, retry only if it did not commit.
    Lost(Error),
    /// Anything else ends the load.
    Fatal(Error),
}

fn is_too_large(e: &Error) -> bool {
    let msg = e.to_string();
    msg.contains("transaction is too large")
        || msg.contains("try splitting into pieces")
        || e.sqlstate() == Some("54000")
}

/// The connection is gone (or the server is going away), or a commit's outcome is
/// unknown: what a reconnect and a ledger lookup resolve.
fn is_lost(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::CommitUnknown { .. } | ErrorKind::Connect { .. } => true,
        ErrorKind::Db(pe) => {
            pe.is_closed()
                || pe.as_db_error().is_none()
                || pe.code().is_some_and(|c| {
                    let c = c.code();
                    c.starts_with("08") || c.starts_with("57P")
                })
        }
        _ => false,
    }
}

fn classify_piece_error(e: Error) -> PieceError {
    if is_too_large(&e) {
        return PieceError::TooLarge(e);
    }
    if is_lost(&e) {
        return PieceError::Lost(e);
    }
    match e.sqlstate() {
        Some(s) if s.starts_with("22") || s.starts_with("23") => PieceError::Data(e),
        _ => PieceError::Fatal(e),
    }
}

fn connect_with_backoff(connector: &Connector, worker: usize, budget: Duration) -> Result<Client> {
    let deadline = Instant::now() + budget;
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };
    let mut rng = rand::thread_rng();
    let mut attempt = 0u32;
    loop {
        match connector(worker, attempt) {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() >= deadline || matches!(e.kind(), ErrorKind::Usage(_)) => {
                return Err(e)
            }
            Err(_) => {
                let wait = policy
                    .backoff(attempt.min(10), &mut rng)
                    .max(Duration::from_millis(20));
                std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
                attempt += 1;
            }
        }
    }
}

fn writer(
    shared: &Shared,
    worker: usize,
    rx: crossbeam_channel::Receiver<Work>,
    truncate: bool,
    reporter: &Reporter,
) -> Result<()> {
    let mut conn: Option<Conn> = None;
    for work in rx {
        if shared.aborted() {
            continue;
        }
        if shared.dry_run {
            dry_sink(shared, &work);
            continue;
        }
        let first = truncate && work.chunk.seq == 0;
        if truncate && !first {
            shared.wait_first();
            if shared.aborted() {
                continue;
            }
        }
        let r = write_chunk(shared, worker, &mut conn, &work, first, reporter);
        if first {
            shared.signal_first();
        }
        if let Err(e) = r {
            shared.fail(e);
        }
    }
    Ok(())
}

/// A dry run's writer: counts what would be sent; bad rows fail or are counted.
fn dry_sink(shared: &Shared, work: &Work) {
    let c = &shared.counters;
    for (_, err) in &work.bad {
        if shared.cfg.max_errors == 0 {
            shared.fail(clone_error(err));
            return;
        }
        let n = c.rejected.fetch_add(1, Relaxed) + 1;
        if n > shared.cfg.max_errors {
            shared.fail(
                ErrorKind::TooManyRejects {
                    rejected: n,
                    limit: shared.cfg.max_errors,
                }
                .into(),
            );
            return;
        }
    }
    if work.chunk.seq == 0 {
        shared
            .first_chunk_rows
            .store(work.rows.len() as u64, Relaxed);
    }
    shared
        .max_chunk_rows
        .fetch_max(work.chunk.rows() as u64, Relaxed);
    shared
        .max_chunk_bytes
        .fetch_max(work.chunk.bytes() as u64, Relaxed);
    c.rows.fetch_add(work.rows.len() as u64, Relaxed);
    c.chunks.fetch_add(1, Relaxed);
}

/// Rows of `rows` whose source index lies in `lo .. lo + n` (encoded rows keep source order).
fn select(rows: &EncodedRows, lo: u32, n: u32) -> std::ops::Range<usize> {
    let first_at_or_after = |bound: u32| {
        let (mut a, mut b) = (0, rows.len());
        while a < b {
            let m = (a + b) / 2;
            if rows.source_row(m) < bound {
                a = m + 1;
            } else {
                b = m;
            }
        }
        a
    };
    first_at_or_after(lo)..first_at_or_after(lo + n)
}

fn write_chunk(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    work: &Work,
    truncate: bool,
    reporter: &Reporter,
) -> Result<()> {
    let cfg = &shared.cfg;
    let chunk = &work.chunk;
    let missing = shared.progress.missing(chunk.seq, chunk.rows() as u32);
    // Client-side conversion errors: fatal at once, or to the reject file.
    for (row, err) in &work.bad {
        if !missing.iter().any(|&(lo, n)| *row >= lo && *row < lo + n) {
            continue;
        }
        if cfg.max_errors == 0 {
            return Err(clone_error(err));
        }
        reject(shared, chunk, *row, &err.to_string())?;
    }
    let mut queue: VecDeque<(u32, u32)> = missing.into();
    let mut truncate = truncate;
    while let Some((lo, n)) = queue.pop_front() {
        if shared.aborted() {
            return Ok(());
        }
        let cap = shared.piece_cap.load(Relaxed) as u32;
        if cap > 0 && n > cap {
            let mut at = lo;
            let mut parts = Vec::new();
            while at < lo + n {
                let m = cap.min(lo + n - at);
                parts.push((at, m));
                at += m;
            }
            for p in parts.into_iter().rev() {
                queue.push_front(p);
            }
            continue;
        }
        match commit_piece(shared, worker, conn, work, lo, n, truncate) {
            Ok(()) => truncate = false,
            Err(PieceError::Data(e)) if cfg.max_errors > 0 => {
                if n == 1 {
                    reject(shared, chunk, lo, &e.to_string())?;
                    record_reject(shared, worker, conn, chunk, lo)?;
                } else {
                    queue.push_front((lo + n / 2, n - n / 2));
                    queue.push_front((lo, n / 2));
                }
            }
            Err(PieceError::Data(e)) => return Err(describe_piece_error(shared, chunk, lo, n, e)),
            Err(PieceError::TooLarge(e)) => {
                if n == 1 {
                    return Err(e);
                }
                shared.too_large.fetch_add(1, Relaxed);
                let half = n / 2;
                let _ = shared.piece_cap.fetch_update(Relaxed, Relaxed, |c| {
                    (c == 0 || (half as u64) < c).then_some(half.max(1) as u64)
                });
                queue.push_front((lo + half, n - half));
                queue.push_front((lo, half));
            }
            Err(PieceError::Lost(e)) => {
                *conn = None;
                if shared.cfg.progress != ProgressMode::Quiet {
                    reporter.warn(&format!("chunk {}: {e}; reconnecting", chunk.seq));
                }
                shared.counters.reconnects.fetch_add(1, Relaxed);
                let (c, done) = reconnect_and_ask(shared, worker, chunk.seq, lo)?;
                if done {
                    // The commit whose answer was lost did happen.
                    shared.counters.commits_confirmed.fetch_add(1, Relaxed);
                    account(shared, &work.rows, lo, n);
                } else {
                    queue.push_front((lo, n));
                }
                *conn = Some(Conn {
                    client: c,
                    statements: HashMap::new(),
                });
            }
            Err(PieceError::Fatal(e)) => return Err(e),
        }
    }
    shared.counters.chunks.fetch_add(1, Relaxed);
    Ok(())
}

fn counters_rows(shared: &Shared) -> u64 {
    shared.counters.rows.load(Relaxed)
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
    match e.into_kind() {
        ErrorKind::Parse { loc, msg } => ErrorKind::Parse {
            loc,
            msg: msg + &note,
        }
        .into(),
        ErrorKind::Convert {
            loc,
            ty,
            value,
            msg,
        } => ErrorKind::Convert {
            loc,
            ty,
            value,
            msg: msg + &note,
        }
        .into(),
        other => other.into(),
    }
}

/// Reconnects (with backoff, within the reconnect budget) and asks the ledger whether a
/// piece committed; a connection lost again while asking starts over.
fn reconnect_and_ask(
    shared: &Shared,
    worker: usize,
    chunk: u64,
    lo: u32,
) -> Result<(Client, bool)> {
    let connector = shared.connector.as_ref().expect("only real runs connect");
    let deadline = Instant::now() + shared.cfg.reconnect_timeout;
    loop {
        let budget = deadline.saturating_duration_since(Instant::now());
        let mut c = connect_with_backoff(connector, worker, budget)?;
        match ledger::committed(&mut c, &shared.load_id, chunk, lo) {
            Ok(done) => return Ok((c, done)),
            Err(e) if Instant::now() < deadline && is_lost(&e) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Errors are not `Clone`; a conversion error is rebuilt from its parts.
fn clone_error(e: &Error) -> Error {
    match e.kind() {
        ErrorKind::Convert {
            loc,
            ty,
            value,
            msg,
        } => ErrorKind::Convert {
            loc: loc.clone(),
            ty: ty.clone(),
            value: value.clone(),
            msg: msg.clone(),
        }
        .into(),
        _ => Error::other(e.to_string()),
    }
}

/// A data error the server raised for a piece, with the piece's place in the input.
fn describe_piece_error(shared: &Shared, chunk: &Chunk, lo: u32, n: u32, e: Error) -> Error {
    let file = &shared.cfg.files[chunk.file_index];
    let first = chunk.batch.record(lo as usize).position().line;
    let last = chunk.batch.record((lo + n - 1) as usize).position().line;
    Error::other(format!(
        "{file}: lines {first}..={last} (chunk {}): the server rejected the rows: {e}; \
         pass --max-errors N to isolate bad rows into a reject file instead",
        chunk.seq
    ))
}

fn reject(shared: &Shared, chunk: &Chunk, row: u32, msg: &str) -> Result<()> {
    let rec = chunk.batch.record(row as usize);
    shared.rejects.write(rec.raw(), rec.position().line, msg)?;
    let n = shared.counters.rejected.fetch_add(1, Relaxed) + 1;
    if n > shared.cfg.max_errors {
        return Err(ErrorKind::TooManyRejects {
            rejected: n,
            limit: shared.cfg.max_errors,
        }
        .into());
    }
    Ok(())
}

fn piece_of(chunk: &Chunk, rows: &EncodedRows, lo: u32, n: u32, rejected: bool) -> Piece {
    let bytes: usize = (lo..lo + n)
        .map(|i| chunk.batch.record(i as usize).raw().len())
        .sum();
    Piece {
        chunk: chunk.seq,
        first_row: lo,
        nrows: n,
        first_line: chunk.batch.record(lo as usize).position().line,
        last_line: chunk.batch.record((lo + n - 1) as usize).position().line,
        rows_loaded: if rejected {
            0
        } else {
            select(rows, lo, n).len() as u64
        },
        bytes: bytes as u64,
        rejected,
    }
}

fn account(shared: &Shared, rows: &EncodedRows, lo: u32, n: u32) {
    shared
        .counters
        .rows
        .fetch_add(select(rows, lo, n).len() as u64, Relaxed);
}

/// Records a server-rejected row in the ledger so a rerun does not send it again.
fn record_reject(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    chunk: &Chunk,
    row: u32,
) -> Result<()> {
    let piece = piece_of(chunk, &EncodedRows::new(), row, 1, true);
    let c = ensure_conn(shared, worker, conn)?;
    ledger::record(&mut c.client, &shared.load_id, &piece)
}

fn ensure_conn<'a>(
    shared: &Shared,
    worker: usize,
    conn: &'a mut Option<Conn>,
) -> Result<&'a mut Conn> {
    if conn.is_none() {
        let connector = shared.connector.as_ref().expect("only real runs connect");
        let client = connect_with_backoff(connector, worker, shared.cfg.reconnect_timeout)?;
        *conn = Some(Conn {
            client,
            statements: HashMap::new(),
        });
    }
    Ok(conn.as_mut().expect("connected above"))
}

/// Commits rows `lo .. lo + n` of a chunk and their ledger row in one retried transaction.
fn commit_piece(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    work: &Work,
    lo: u32,
    n: u32,
    truncate: bool,
) -> std::result::Result<(), PieceError> {
    let plan = &shared.plan;
    let piece = piece_of(&work.chunk, &work.rows, lo, n, false);
    let range = select(&work.rows, lo, n);
    let c = ensure_conn(shared, worker, conn).map_err(PieceError::Lost)?;
    // Statements are prepared once per shape (row count) and connection.
    let stmt = if plan.method != Method::Copy && !range.is_empty() {
        let k = range.len();
        match c.statements.get(&k) {
            Some(s) => Some(s.clone()),
            None => {
                let s = c
                    .client
                    .prepare(&plan.insert_sql(k))
                    .map_err(|e| classify_piece_error(e.into()))?;
                c.statements.insert(k, s.clone());
                Some(s)
            }
        }
    } else {
        None
    };
    let copy_sql = plan.copy_sql();
    let table = plan.table.sql_name();
    let done = run_transaction(&mut c.client, plan.flavour, &shared.cfg.retry, |tx| {
        if truncate {
            tx.batch_execute(&format!("TRUNCATE {table}"))?;
        }
        if shared.cfg.ledger {
            ledger::record(tx, &shared.load_id, &piece)?;
        }
        if range.is_empty() {
            return Ok(());
        }
        match &stmt {
            Some(stmt) => {
                let select: Vec<usize> = range.clone().collect();
                let params = encode::params(&work.rows, &select);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(stmt, &refs)?;
            }
            None => {
                let mut w = tx.copy_in(&copy_sql)?;
                encode::write_copy(&work.rows, range.clone(), plan.format, &mut w)
                    .map_err(|e| Error::other(format!("COPY: {e}")))?;
                w.finish()?;
            }
        }
        Ok(())
    })
    .map_err(classify_piece_error)?;
    if done.attempts > 1 {
        shared
            .counters
            .retries
            .fetch_add((done.attempts - 1) as u64, Relaxed);
    }
    account(shared, &work.rows, lo, n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_finds_the_encoded_rows_of_a_source_range_around_rejected_rows() {
        let enc = Encoder::new(vec![Column::new("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        // Source rows 0..10, with 3 and 7 rejected by conversion.
        for i in 0..10u32 {
            let v = if i == 3 || i == 7 {
                "x".to_string()
            } else {
                i.to_string()
            };
            let _ = enc.encode_row([Some(v.as_bytes())], i, &mut rows);
        }
        assert_eq!(rows.len(), 8);
        assert_eq!(select(&rows, 0, 10), 0..8);
        assert_eq!(select(&rows, 0, 3), 0..3);
        assert_eq!(
            select(&rows, 3, 1),
            3..3,
            "a rejected row encodes to nothing"
        );
        assert_eq!(select(&rows, 3, 5), 3..6);
        assert_eq!(select(&rows, 8, 2), 6..8);
    }

    #[test]
    fn too_large_is_recognised_by_message() {
        assert!(is_too_large(&Error::other(
            "transaction is too large to complete; try splitting into pieces"
        )));
        assert!(!is_too_large(&Error::other("duplicate key value")));
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
