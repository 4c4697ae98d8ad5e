//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here.

use anyhow::Context;
use chunkload::bank::{self, DBINIT_SQL};
use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::infer::InferOptions;
use chunkload::load::LoadConfig;
use chunkload::report::ProgressMode;
use chunkload::retry::RetryPolicy;
use chunkload::source::Dialect;
use chunkload::table::Table;
use chunkload::Flavour;
use clap::Parser;
use std::process::ExitCode;

mod args;
mod import;

use args::{Cli, Command, LoadArgs};

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
    let opts = args.infer.options();
    let inferred = infer_schema(
        &cfg.files[0],
        &cfg.dialect,
        cfg.compression,
        cfg.columns.as_deref(),
        &opts,
    )?;
    Ok((inferred.to_table(&cfg.table, &opts), Flavour::Postgres))
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
    Ok(ConnectOptions::from_env(url)?)
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
        Command::Import(args) => return import::run(&args, cli.url.as_deref(), stop_rx),
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
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
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
}
