//! The load: wires the stages together and owns the exactly-once bookkeeping.
//!
//! ```text
//! reader thread ──chunks──► rayon encoders ──encoded──► N writer connections
//!  (source+chunk)  bounded     (encode)        bounded     (commit: retry + ledger)
//! ```
//!
//! Memory is bounded by the chunks in flight, whatever the size of the input: the one the
//! reader fills, `workers` queued for encoding, one per encoder thread, one encoded and
//! waiting, and one per writer, i.e. about `(2 × workers + encoder threads + 2)` chunks.
//! An encoded chunk keeps only its raw bytes and positions besides the encoded rows.
//! Chunks commit out of order; the ledger (see [`crate::ledger`]) makes each commit
//! exactly once, so a rerun after any interruption sends only what is missing.

use crate::chunk::{Chunk, ChunkLimits, ChunkStream};
use crate::commit::{with_reconnect, writer};
use crate::encode::{self, Column, ColumnType, EncodedRows, Encoder, Format};
use crate::flavour::Flavour;
use crate::ledger::{self, Progress};
use crate::report::{Counters, ProgressMode, RejectWriter, Reporter, Summary, REJECT_COLUMNS};
use crate::retry::RetryPolicy;
use crate::source::{open_input, Compression, Dialect, RecordReader};
use crate::table::Table;
use crate::{Error, ErrorKind, Location, Result};
use postgres::Client;
use rayon::iter::{ParallelBridge, ParallelIterator};
use sha2::{Digest, Sha256};
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
    /// Forced decompression (otherwise detected from the first bytes).
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
pub(crate) struct Plan {
    /// Stdin's reader, its header already read: stdin cannot be opened a second time.
    pub(crate) stdin: Mutex<Option<OpenReader>>,
    pub(crate) table: Table,
    /// Target columns, in the order rows are encoded.
    pub(crate) columns: Vec<Column>,
    /// Per file: the file field index of each target column.
    pub(crate) projections: Vec<Vec<usize>>,
    /// Field count of each file.
    pub(crate) widths: Vec<usize>,
    /// Raw header for the reject file.
    pub(crate) reject_header: Vec<u8>,
    pub(crate) format: Format,
    pub(crate) flavour: Flavour,
    pub(crate) method: Method,
}

impl Plan {
    pub(crate) fn copy_sql(&self) -> String {
        encode::copy_sql(&self.table.qualified(), &self.columns, self.format)
    }

    pub(crate) fn insert_sql(&self, rows: usize) -> String {
        let conflict = match (self.method, self.flavour) {
            (Method::Upsert, Flavour::Cockroach) => encode::Conflict::UpsertCockroach,
            (Method::Upsert, Flavour::Postgres) => encode::Conflict::UpsertPg {
                pk: self.table.primary_key.clone(),
            },
            _ => encode::Conflict::None,
        };
        encode::insert_sql(&self.table.qualified(), &self.columns, rows, &conflict)
    }

    /// The SQL the first chunk sends (shown by `--dry-run`).
    pub(crate) fn first_sql(&self, rows: usize) -> String {
        match self.method {
            Method::Copy => self.copy_sql(),
            _ => self.insert_sql(rows),
        }
    }
}

/// A reader and the counter of the (compressed) bytes it consumed, for progress.
pub(crate) type OpenReader = (RecordReader<Box<dyn std::io::Read + Send>>, Arc<AtomicU64>);

/// Reads each file's header and maps fields to table columns.
fn plan(cfg: &LoadConfig, table: Table, flavour: Flavour) -> Result<Plan> {
    let mut projections = Vec::new();
    let mut widths = Vec::new();
    let mut target: Option<Vec<usize>> = None;
    let mut reject_header = Vec::new();
    let mut stdin = None;
    for (i, file) in cfg.files.iter().enumerate() {
        let (names, width) = if cfg.dialect.has_header {
            let input = open_input(file, cfg.compression)?;
            let mut rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
            let header = rdr.read_header()?;
            if file == "-" {
                stdin = Some((rdr, input.consumed));
            }
            let mut header = header.ok_or_else(|| {
                Error::from(ErrorKind::Parse {
                    loc: Location {
                        file: file.clone(),
                        pos: crate::Position {
                            line: 1,
                            byte: 0,
                            record: 0,
                        },
                        column: None,
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
                    crate::table::resolve_name(c, names.iter().map(String::as_str)).ok_or_else(
                        || {
                            Error::schema(format!(
                                "{file}: --columns names {c:?}, which is not in the header ({})",
                                names.join(", ")
                            ))
                        },
                    )
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
        stdin: Mutex::new(stdin),
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
pub(crate) struct Shared {
    pub(crate) cfg: LoadConfig,
    pub(crate) plan: Plan,
    pub(crate) load_id: String,
    pub(crate) progress: Progress,
    pub(crate) counters: Arc<Counters>,
    pub(crate) rejects: RejectWriter,
    pub(crate) abort: AtomicBool,
    pub(crate) error: Mutex<Option<Error>>,
    /// Rows per transaction after the server refused one as too large (0: no cap).
    pub(crate) piece_cap: AtomicU64,
    pub(crate) too_large: AtomicU64,
    /// When truncating: set once chunk 0 committed, so no other chunk commits before it.
    pub(crate) first_done: (Mutex<bool>, Condvar),
    /// None in a dry run: nothing is sent anywhere.
    pub(crate) connector: Option<Connector>,
    pub(crate) dry_run: bool,
    pub(crate) first_chunk_rows: AtomicU64,
    pub(crate) max_chunk_rows: AtomicU64,
    pub(crate) max_chunk_bytes: AtomicU64,
}

impl Shared {
    pub(crate) fn fail(&self, e: Error) {
        let mut slot = self.error.lock().expect("error slot");
        if slot.is_none() {
            *slot = Some(e);
        }
        self.abort.store(true, Relaxed);
        self.signal_first();
    }

    pub(crate) fn signal_first(&self) {
        let (m, cv) = &self.first_done;
        *m.lock().expect("first_done") = true;
        cv.notify_all();
    }

    pub(crate) fn wait_first(&self) {
        let (m, cv) = &self.first_done;
        let mut done = m.lock().expect("first_done");
        while !*done {
            done = cv.wait(done).expect("first_done");
        }
    }

    pub(crate) fn aborted(&self) -> bool {
        self.abort.load(Relaxed)
    }
}

/// A chunk and its encoded rows; rows that failed conversion are listed apart.
pub(crate) struct Work {
    pub(crate) chunk: Chunk,
    pub(crate) rows: EncodedRows,
    pub(crate) bad: Vec<(u32, Error)>,
}

fn encode_chunk(plan: &Plan, files: &[String], hint: Option<&TypeHint>, mut chunk: Chunk) -> Work {
    let encoder = Encoder::new(plan.columns.clone(), plan.format);
    let mut rows = EncodedRows::with_capacity(chunk.bytes(), chunk.rows(), plan.columns.len());
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
            let column = plan.columns.get(e.column).map(|c| c.type_name.clone());
            let err = e.into_error(loc, &plan.columns, value);
            let err = match (hint, column) {
                (Some(h), Some(ty)) => err.with_note(&format!("; {}", h(&ty))),
                _ => err,
            };
            bad.push((i as u32, err));
        }
    }
    chunk.batch.drop_fields();
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
    let budget = cfg.reconnect_timeout;
    let (flavour, cfg) = on_control(&connector, budget, |c| {
        let flavour = Flavour::detect(c)?;
        Ok((flavour, cockroach_limits(cfg, flavour, c)))
    })?;
    let cfg = &cfg;
    let table = on_control(&connector, budget, |c| Table::read(c, &cfg.table))?;
    let plan = plan(cfg, table, flavour)?;
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
    // Idempotent, so it simply runs again after a lost connection.
    let progress = on_control(&connector, budget, |c| {
        ledger::ensure(c)?;
        let existing = c.query_opt(
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
                c.execute(
                    "INSERT INTO chunkload_loads (load_id, table_name, files, fingerprint) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (load_id) DO NOTHING",
                    &[&load_id, &plan.table.sql_name(), &cfg.files.join(", "), &fp],
                )?;
            }
        }
        Progress::read(c, &load_id)
    })?;
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
        let committed = shared.counters.rows.load(Relaxed) + shared.progress.rows_loaded;
        return Err(explain_partial(e, committed, &shared.load_id));
    }
    // Every chunk is covered: mark the load finished.
    let connector = shared.connector.as_ref().expect("real run");
    on_control(connector, budget, |c| {
        c.execute(
            "UPDATE chunkload_loads SET total_chunks = $2, finished_at = now() WHERE load_id = $1",
            &[&load_id, &(total_chunks as i64)],
        )?;
        Ok(())
    })?;
    Ok(summarize(&shared, total_chunks, bytes, started))
}

/// Runs idempotent bookkeeping on a control connection, reconnecting when it is lost.
fn on_control<T>(
    connector: &Connector,
    budget: Duration,
    work: impl FnMut(&mut Client) -> Result<T>,
) -> Result<T> {
    with_reconnect(connector, 0, budget, work).map(|(_, v)| v)
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
    let (chunk_tx, chunk_rx) = crossbeam_channel::bounded::<Chunk>(workers);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(1);
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
        let kept = match file.as_str() {
            "-" => shared.plan.stdin.lock().expect("stdin slot").take(),
            _ => None,
        };
        let (rdr, consumed) = match kept {
            Some(open) => open,
            None => {
                let input = open_input(file, cfg.compression)?;
                let rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
                (rdr, input.consumed)
            }
        };
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
                    // The record lies inside the chunk being filled; if an earlier run
                    // committed any of that chunk, it got past this record and already
                    // wrote it to the reject file.
                    if shared.progress.touched(stream.next_seq()) {
                        continue;
                    }
                    let n = shared.counters.rejected.fetch_add(1, Relaxed) + 1;
                    if n > cfg.max_errors {
                        shared.counters.rejected.fetch_sub(1, Relaxed);
                        return Err(ErrorKind::TooManyRejects {
                            rejected: n,
                            limit: cfg.max_errors,
                        }
                        .into());
                    }
                    if !shared.dry_run {
                        let rec = stream.last_record();
                        shared
                            .rejects
                            .write(rec.raw(), rec.position().line, &e.to_string())?;
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
    e.with_note(&note)
}

#[cfg(test)]
mod tests {
    use super::*;

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
