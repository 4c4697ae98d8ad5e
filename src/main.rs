//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here.

use anyhow::Context;
use chunkload::bank::{self, DBINIT_SQL};
use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::retry::RetryPolicy;
use chunkload::Flavour;
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

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
            println!("demo summary: bank app left {left} accounts");
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
