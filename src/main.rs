//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here.

use anyhow::Context;
use chunkload::bank::{self, DBINIT_SQL};
use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::infer::InferOptions;
use chunkload::load::{LoadConfig, Method};
use chunkload::report::ProgressMode;
use chunkload::retry::RetryPolicy;
use chunkload::source::Dialect;
use chunkload::table::Table;
use chunkload::Flavour;
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

mod import_cmd;

#[derive(Parser)]
#[command(
    name = "chunkload",
    version,
    about = "Bulk-load CSV into CockroachDB and PostgreSQL in bounded, retried, exactly-once chunks"
)]
struct Cli {
    /// Connection URL: postgres://, postgresql:// or cockroachdb:// (also DATABASE_URL).
    /// Several hosts: postgres://u@h1:26257,h2:26257/db. TLS: ?sslmode=verify-full&sslrootcert=ca.crt
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RetryArgs {
    /// Attempts per transaction, the first included (retries only SQLSTATE 40001).
    #[arg(long, default_value_t = 10)]
    max_attempts: u32,
    /// Upper bound of the first retry's random delay, in milliseconds; doubles per retry.
    #[arg(long, default_value_t = 50)]
    retry_base_ms: u64,
    /// Cap of the retry delay bound, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    retry_max_ms: u64,
}

impl RetryArgs {
    fn policy(&self) -> anyhow::Result<RetryPolicy> {
        let p = RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: Duration::from_millis(self.retry_base_ms),
            max_delay: Duration::from_millis(self.retry_max_ms),
        };
        p.validate()?;
        Ok(p)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Apply a schema (the bundled dbinit.sql by default) to the database the URL names.
    #[command(
        after_help = "Example:\n  chunkload init --url postgres://root@localhost:26257/bank"
    )]
    Init {
        /// A SQL file to apply instead of the bundled dbinit.sql.
        #[arg(long)]
        schema: Option<std::path::PathBuf>,
    },
    /// Run the tutorial's bank app: create accounts, transfer, delete five.
    #[command(
        after_help = "Example:\n  chunkload bank --url postgres://root@localhost:26257/bank --accounts 100 --seed 7"
    )]
    Bank {
        /// Accounts to create.
        #[arg(long, default_value_t = 100)]
        accounts: usize,
        /// Seed for a reproducible run.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        retry: RetryArgs,
    },
    /// Load CSV files into a table in bounded chunks, each committed exactly once.
    #[command(
        after_help = "Examples:\n  chunkload load data/accounts.csv --table accounts --url postgres://root@localhost:26257/bank\n  chunkload load big.csv.zst --table t --method copy --workers 4 --max-errors 100\n  chunkload load - --table t --no-header --columns id,balance < rows.csv"
    )]
    Load(Box<LoadArgs>),
    /// Print the CREATE TABLE inferred from a CSV file, to edit and apply with `init --schema`.
    #[command(
        after_help = "Example:\n  chunkload schema trips.csv --table trips --primary-key id > trips.sql\n  chunkload init --schema trips.sql"
    )]
    Schema {
        /// The CSV file (`-` reads stdin).
        file: String,
        /// Name of the table in the statement (default: the file's name).
        #[arg(long)]
        table: Option<String>,
        /// Column names of a file without header.
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        #[command(flatten)]
        dialect: DialectArgs,
        #[command(flatten)]
        infer: InferArgs,
    },
    /// Split a CSV into shards for CockroachDB's IMPORT INTO (or server-side COPY), write
    /// the statement, and optionally serve the shards over HTTP or run it.
    #[command(after_help = import_cmd::AFTER_HELP)]
    Import(Box<import_cmd::ImportArgs>),
    /// List the loads recorded in the database: chunks and rows committed, finished or not.
    #[command(
        after_help = "Example:\n  chunkload status --url postgres://root@localhost:26257/bank"
    )]
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a deterministic dataset (CSV with a header) for tests and benchmarks.
    #[command(
        after_help = "Examples:\n  chunkload gen accounts --rows 1000000 --seed 1 -o accounts.csv\n  chunkload gen wide --rows 100000 --ddl"
    )]
    Gen {
        /// Dataset: accounts (id uuid, balance int8) or wide (10 mixed-type columns).
        dataset: chunkload::gen::Dataset,
        /// Rows to generate.
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// Seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (default stdout).
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// Print the dataset's CREATE TABLE instead of rows.
        #[arg(long)]
        ddl: bool,
        /// Table name used by --ddl.
        #[arg(long)]
        table: Option<String>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  chunkload completions bash > ~/.local/share/bash-completion/completions/chunkload"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Start a throwaway local PostgreSQL and keep it until Ctrl-C or stdin closes (for
    /// benchmarks and scripts); prints its URL on the first line of stdout.
    #[command(hide = true)]
    Server,
    /// Start a throwaway local PostgreSQL, run the bank app and a chunked load on it, stop it.
    #[command(after_help = "Example:\n  chunkload demo --keep")]
    Demo {
        /// Keep the server running until Ctrl-C, to look around with psql.
        #[arg(long)]
        keep: bool,
        /// Seed for a reproducible run.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// CSV files, loaded in order into one table; `-` reads stdin; .gz and .zst are decompressed.
    #[arg(required = true)]
    files: Vec<String>,
    /// Target table: `table` or `schema.table` (quote parts with "" to keep case).
    #[arg(long)]
    table: String,
    /// Target columns of a file without header, or the header columns to load, in order.
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// How rows travel: copy (COPY FROM STDIN), insert (multi-row INSERT) or upsert.
    #[arg(long, value_enum, default_value_t = MethodArg::Copy)]
    method: MethodArg,
    #[command(flatten)]
    dialect: DialectArgs,
    #[command(flatten)]
    infer: InferArgs,
    /// Source bytes per chunk (transaction); suffixes K, M allowed.
    #[arg(long, default_value = "256K", value_parser = parse_size)]
    chunk_bytes: usize,
    /// Rows per chunk.
    #[arg(long, default_value_t = 10_000)]
    chunk_rows: usize,
    /// Writer connections committing chunks concurrently.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Empty the table first, in the first chunk's transaction.
    #[arg(long)]
    truncate: bool,
    /// Bad rows tolerated (sent to the reject file) before the load stops.
    #[arg(long, default_value_t = 0)]
    max_errors: u64,
    /// Where bad rows go (default: <first file>.rejects.csv).
    #[arg(long)]
    reject_file: Option<String>,
    /// Name the load (for resume); default: derived from the files and options.
    #[arg(long)]
    load_id: Option<String>,
    /// Start a new load instead of resuming an interrupted one.
    #[arg(long)]
    fresh: bool,
    /// Seconds to keep reconnecting after a lost connection.
    #[arg(long, default_value_t = 120)]
    reconnect_timeout: u64,
    /// Read, convert, chunk and encode everything; print the first chunk's SQL; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Create the table when it does not exist, with types inferred from the file.
    #[arg(long)]
    create_table: bool,
    /// Skip the ledger row of each chunk: only to measure what exactly-once costs.
    /// Without it a rerun or an ambiguous commit can duplicate rows.
    #[arg(long, hide = true)]
    unsafe_no_ledger: bool,
    #[command(flatten)]
    retry: RetryArgs,
}

/// How the CSV is written; PostgreSQL's CSV COPY rules by default.
#[derive(Args)]
struct DialectArgs {
    /// Field delimiter (one byte; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Quote character.
    #[arg(long, default_value = "\"")]
    quote: String,
    /// Escape character inside quotes (default: the quote character).
    #[arg(long)]
    escape: Option<String>,
    /// The files have no header line.
    #[arg(long)]
    no_header: bool,
    /// Physical lines to skip at the start of each file, before the header.
    #[arg(long, default_value_t = 0)]
    skip_lines: u64,
    /// The string that means NULL when unquoted (default: the empty field).
    #[arg(long, default_value = "")]
    null: String,
    /// Decompression: none, gzip or zstd (default: by extension).
    #[arg(long)]
    compression: Option<chunkload::source::Compression>,
}

impl DialectArgs {
    fn dialect(&self) -> anyhow::Result<Dialect> {
        let d = Dialect {
            delimiter: one_byte("delimiter", &self.delimiter)?,
            quote: one_byte("quote", &self.quote)?,
            escape: match &self.escape {
                Some(e) => one_byte("escape", e)?,
                None => one_byte("quote", &self.quote)?,
            },
            has_header: !self.no_header,
            skip_lines: self.skip_lines,
            null: self.null.as_bytes().to_vec(),
        };
        d.validate()?;
        Ok(d)
    }
}

/// Schema inference, for `--create-table` and `chunkload schema`.
#[derive(Args)]
struct InferArgs {
    /// Rows sampled to infer column types: a number or `all`.
    #[arg(long, default_value = "10000", value_parser = parse_infer_rows)]
    infer_rows: InferRows,
    /// Primary key of a created table (default: none).
    #[arg(long, value_delimiter = ',')]
    primary_key: Vec<String>,
    /// Columns of a created table declared NOT NULL.
    #[arg(long, value_delimiter = ',')]
    not_null: Vec<String>,
}

/// `--infer-rows`: a count, or `None` for all.
#[derive(Clone, Copy)]
struct InferRows(Option<u64>);

fn parse_infer_rows(s: &str) -> Result<InferRows, String> {
    chunkload::infer::parse_infer_rows(s)
        .map(InferRows)
        .map_err(|e| e.to_string())
}

impl InferArgs {
    fn options(&self) -> InferOptions {
        InferOptions {
            sample_rows: self.infer_rows.0,
            primary_key: self.primary_key.clone(),
            not_null: self.not_null.clone(),
        }
    }
}

/// Infers the first file's schema; prints its warnings.
fn infer_schema(
    file: &str,
    dialect: &Dialect,
    compression: Option<chunkload::source::Compression>,
    columns: Option<&[String]>,
    opts: &InferOptions,
) -> anyhow::Result<chunkload::infer::Inferred> {
    let inferred = chunkload::infer::infer_file(file, dialect, compression, columns, opts)?;
    for w in chunkload::infer::warnings(&inferred, opts) {
        eprintln!("warning: {w}");
    }
    Ok(inferred)
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Copy,
    Insert,
    Upsert,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1024),
        Some('M') => (&t[..t.len() - 1], 1024 * 1024),
        Some('G') => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 256K, 4M)"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("bad size {s:?}"))
}

fn one_byte(what: &str, s: &str) -> anyhow::Result<u8> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(chunkload::Error::usage(format!("--{what} must be one byte, got {s:?}")).into()),
    }
}

impl LoadArgs {
    fn config(&self) -> anyhow::Result<LoadConfig> {
        let mut cfg = LoadConfig::new(self.files.clone(), &self.table);
        cfg.columns = self.columns.clone();
        cfg.dialect = self.dialect.dialect()?;
        cfg.compression = self.dialect.compression;
        cfg.limits.max_bytes = self.chunk_bytes;
        cfg.limits.max_rows = self.chunk_rows;
        cfg.method = match self.method {
            MethodArg::Copy => Method::Copy,
            MethodArg::Insert => Method::Insert,
            MethodArg::Upsert => Method::Upsert,
        };
        cfg.truncate = self.truncate;
        cfg.workers = self.workers;
        cfg.retry = self.retry.policy()?;
        cfg.max_errors = self.max_errors;
        cfg.reject_file = self.reject_file.clone();
        cfg.load_id = self.load_id.clone();
        cfg.fresh = self.fresh;
        cfg.reconnect_timeout = Duration::from_secs(self.reconnect_timeout);
        cfg.ledger = !self.unsafe_no_ledger;
        cfg.progress = if self.quiet || self.json {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        };
        Ok(cfg)
    }
}

/// Writer connections spread over the URL's hosts round-robin; a reconnect moves on to
/// the next host, so a failed node's work goes to the others.
fn connector(opts: ConnectOptions) -> chunkload::load::Connector {
    std::sync::Arc::new(move |worker: usize, attempt: u32| {
        chunkload::connect::connect_host(&opts, worker + attempt as usize)
    })
}

/// The table a dry run converts for: from the catalog when a URL is given, else inferred
/// from the file (nothing needs a server).
fn dry_run_table(
    cfg: &LoadConfig,
    args: &LoadArgs,
    url: Option<&str>,
) -> anyhow::Result<(Table, Flavour)> {
    if let Some(u) = url {
        let (mut client, flavour) = connect(Some(u))?;
        match Table::read(&mut client, &cfg.table) {
            Ok(t) => return Ok((t, flavour)),
            Err(e)
                if !(args.create_table && matches!(e.kind(), chunkload::ErrorKind::Schema(_))) =>
            {
                return Err(e.into())
            }
            Err(_) => {}
        }
    }
    let inferred = infer_schema(
        &cfg.files[0],
        &cfg.dialect,
        cfg.compression,
        cfg.columns.as_deref(),
        &args.infer.options(),
    )?;
    let table = Table {
        schema: "public".into(),
        name: cfg.table.clone(),
        columns: inferred
            .columns
            .iter()
            .map(|c| chunkload::table::TableColumn {
                name: c.name.clone(),
                type_name: c.type_name.to_string(),
                not_null: args.infer.not_null.contains(&c.name),
                has_default: false,
            })
            .collect(),
        primary_key: args.infer.primary_key.clone(),
    };
    Ok((table, Flavour::Postgres))
}

fn run_load(args: &LoadArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut cfg = args.config()?;
    if args.dry_run {
        let (table, flavour) = dry_run_table(&cfg, args, url)?;
        let d = chunkload::load::dry_run(&cfg, table, flavour)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&d.summary)?);
        } else {
            println!("-- the first chunk sends:\n{}", d.first_sql);
            println!("{}", d.summary);
            println!(
                "largest chunk: {} rows, {} bytes",
                d.max_chunk_rows, d.max_chunk_bytes
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let opts = connect_options(url)?;
    if args.create_table {
        let mut client = chunkload::connect::connect(&opts)?;
        if let Err(e) = Table::read(&mut client, &cfg.table) {
            if !matches!(e.kind(), chunkload::ErrorKind::Schema(_)) {
                return Err(e.into());
            }
            if cfg.files[0] == "-" {
                return Err(chunkload::Error::usage(
                    "--create-table cannot infer a schema from stdin and then load it: \
                     create the table first (chunkload schema FILE > t.sql; chunkload init --schema t.sql)",
                )
                .into());
            }
            let iopts = args.infer.options();
            let inferred = infer_schema(
                &cfg.files[0],
                &cfg.dialect,
                cfg.compression,
                cfg.columns.as_deref(),
                &iopts,
            )?;
            let sql = chunkload::infer::create_table_sql(&cfg.table, &inferred, &iopts)?;
            if chunkload::infer::create_if_missing(&mut client, &cfg.table, &sql)? {
                eprintln!(
                    "created table {} from the inferred schema:\n{sql}",
                    cfg.table
                );
                let file = cfg.files[0].clone();
                cfg.type_hint = Some(std::sync::Arc::new(move |ty: &str| {
                    chunkload::infer::hint(ty, &inferred, &file)
                }));
            }
        }
    }
    let summary = chunkload::load::run(&cfg, connector(opts))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        eprintln!("{summary}");
    }
    Ok(if summary.rejected > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The demo's dataset: data/accounts.csv from the checkout, else the same 10 000 rows
/// generated into a temp file (seed 42 is how data/accounts.csv was made).
fn demo_data() -> anyhow::Result<std::path::PathBuf> {
    for base in [
        std::path::PathBuf::from("."),
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    ] {
        let p = base.join("data/accounts.csv");
        if p.is_file() {
            return Ok(p);
        }
    }
    let path = std::env::temp_dir().join(format!("chunkload-demo-{}.csv", std::process::id()));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
    chunkload::gen::generate(chunkload::gen::Dataset::Accounts, 10_000, 42, &mut w)?;
    std::io::Write::flush(&mut w)?;
    Ok(path)
}

fn main() -> ExitCode {
    // `chunkload ... | head` should end quietly, as other Unix tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chunkload: error: {}", one_line(&e));
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<chunkload::Error>())
                .map_or(1, |e| e.exit_code());
            ExitCode::from(code)
        }
    }
}

/// A broken pipe (`chunkload ... | head`) is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(
                c.downcast_ref::<chunkload::Error>().map(|e| e.kind()),
                Some(chunkload::ErrorKind::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe
            )
    })
}

/// The error chain on one line, leaving out causes whose text the message already holds.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg.replace('\n', " ")
}

fn connect_options(url: Option<&str>) -> anyhow::Result<ConnectOptions> {
    let url = url.ok_or_else(|| {
        chunkload::Error::usage(
            "no database: pass --url or set DATABASE_URL (or run `chunkload demo`)",
        )
    })?;
    Ok(ConnectOptions::parse(url)?)
}

fn connect(url: Option<&str>) -> anyhow::Result<(postgres::Client, Flavour)> {
    let opts = connect_options(url)?;
    let mut client = chunkload::connect::connect(&opts)?;
    let flavour = Flavour::detect(&mut client)?;
    Ok((client, flavour))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Ctrl-C ends the process; a throwaway cluster's watchdog then stops and removes it.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        if stop_tx.send(()).is_err() {
            std::process::exit(130);
        }
    })
    .context("installing the Ctrl-C handler")?;
    match cli.command {
        Command::Init { schema } => {
            let sql = match &schema {
                Some(p) => std::fs::read_to_string(p)
                    .with_context(|| format!("reading schema {}", p.display()))?,
                None => DBINIT_SQL.to_string(),
            };
            let (mut client, _) = connect(cli.url.as_deref())?;
            client.batch_execute(&sql).map_err(chunkload::Error::from)?;
            eprintln!("schema applied");
        }
        Command::Bank {
            accounts,
            seed,
            retry,
        } => {
            let (mut client, flavour) = connect(cli.url.as_deref())?;
            bank::run_app(
                &mut client,
                flavour,
                retry.policy()?,
                accounts,
                seed,
                &mut std::io::stdout().lock(),
            )?;
        }
        Command::Gen {
            dataset,
            rows,
            seed,
            output,
            ddl,
            table,
        } => {
            if ddl {
                let t = table.unwrap_or_else(|| dataset.name().to_string());
                println!("{}", chunkload::gen::ddl(dataset, &t));
                return Ok(ExitCode::SUCCESS);
            }
            match output {
                Some(path) => {
                    // Written to a temp file and renamed: no half-written dataset.
                    let dir = path
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(std::path::Path::new("."));
                    let tmp = tempfile::NamedTempFile::new_in(dir)?;
                    // A dataset is an ordinary file, readable like any other (temp files are 0600).
                    tmp.as_file()
                        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
                    let mut w = std::io::BufWriter::new(tmp.as_file());
                    chunkload::gen::generate(dataset, rows, seed, &mut w)?;
                    std::io::Write::flush(&mut w)?;
                    drop(w);
                    tmp.persist(&path)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                None => chunkload::gen::generate(dataset, rows, seed, std::io::stdout().lock())?,
            }
        }
        Command::Schema {
            file,
            table,
            columns,
            dialect,
            infer,
        } => {
            let d = dialect.dialect()?;
            let opts = infer.options();
            let inferred = infer_schema(&file, &d, dialect.compression, columns.as_deref(), &opts)?;
            let table = table.unwrap_or_else(|| {
                let stem = std::path::Path::new(&file)
                    .file_name()
                    .and_then(|s| s.to_str())
                    .unwrap_or("data");
                stem.split('.').next().unwrap_or("data").to_string()
            });
            print!(
                "{}",
                chunkload::infer::create_table_sql(&table, &inferred, &opts)?
            );
        }
        Command::Load(args) => return run_load(&args, cli.url.as_deref()),
        Command::Import(args) => return import_cmd::run(&args, cli.url.as_deref(), stop_rx),
        Command::Status { json } => {
            let (mut client, _) = connect(cli.url.as_deref())?;
            let loads = chunkload::ledger::status(&mut client)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&loads)?);
            } else if loads.is_empty() {
                println!("no loads recorded in this database");
            } else {
                println!(
                    "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} file",
                    "load id", "table", "chunks", "rows", "rejected", "last activity", "finished"
                );
                for l in loads {
                    let chunks = match l.total_chunks {
                        Some(t) => format!("{}/{t}", l.chunks),
                        None => l.chunks.to_string(),
                    };
                    println!(
                        "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} {}",
                        l.load_id,
                        l.table,
                        chunks,
                        l.rows,
                        l.rejected,
                        l.last_activity,
                        if l.finished { "yes" } else { "no" },
                        l.files
                    );
                }
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "chunkload",
                &mut std::io::stdout(),
            );
        }
        Command::Server => {
            let cluster = LocalCluster::start()?;
            println!("{}", cluster.url());
            std::io::Write::flush(&mut std::io::stdout())?;
            // Ends on Ctrl-C, or when whoever started us closes our stdin.
            std::thread::spawn(move || {
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
                std::process::exit(0);
            });
            let _ = stop_rx.recv();
            cluster.stop()?;
        }
        Command::Demo { keep, seed } => {
            eprintln!("starting a throwaway PostgreSQL server...");
            let cluster = LocalCluster::start()?;
            let url = cluster.url();
            println!("# Connection string (sql/tcp): {url}");
            let mut client =
                postgres::Client::connect(&url, postgres::NoTls).map_err(chunkload::Error::from)?;
            let flavour = Flavour::detect(&mut client)?;
            println!("Initializing the bank database...");
            client
                .batch_execute(DBINIT_SQL)
                .map_err(chunkload::Error::from)?;
            println!("Database initialized.");
            let left = bank::run_app(
                &mut client,
                flavour,
                RetryPolicy::default(),
                100,
                seed,
                &mut std::io::stdout().lock(),
            )?;
            println!("bank app: {left} accounts remain");
            // Then the main job: data/accounts.csv in chunks, each its own transaction.
            let data = demo_data()?;
            println!("Loading {} in 32 KiB chunks...", data.display());
            let mut cfg = LoadConfig::new(vec![data.display().to_string()], "accounts");
            cfg.limits.max_bytes = 32 * 1024;
            cfg.progress = ProgressMode::Auto;
            let summary = chunkload::load::run(&cfg, connector(ConnectOptions::parse(&url)?))?;
            println!("{summary}");
            let total: i64 = client
                .query_one("SELECT count(*) FROM accounts", &[])
                .map_err(chunkload::Error::from)?
                .get(0);
            println!("demo summary: {left} accounts from the bank app + {} loaded rows = {total} rows in accounts", summary.rows);
            if keep {
                println!("server kept running at {url}; press Ctrl-C to stop it");
                let _ = stop_rx.recv();
            }
            drop(client);
            cluster.stop()?;
            eprintln!("throwaway server stopped and removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("4m"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }
}
