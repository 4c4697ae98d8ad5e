//! `chunkload demo`: a throwaway PostgreSQL, the bank app and a chunked load on it.

use crate::args::DemoArgs;
use crate::progress::{Progress, ProgressMode};
use chunkload::bank::{self, DBINIT_SQL};
use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::load::LoadConfig;
use chunkload::retry::RetryPolicy;
use std::process::ExitCode;
use std::sync::mpsc::Receiver;

/// `stop` (Ctrl-C) ends `--keep`.
pub(crate) fn run(
    args: &DemoArgs,
    url_on_command_line: bool,
    stop: Receiver<()>,
) -> anyhow::Result<ExitCode> {
    // The demo creates and drops tables: it never runs in a database the user named.
    if url_on_command_line {
        return Err(chunkload::Error::usage(
            "demo runs on its own throwaway server and never touches another database; \
             drop --url (to load into your database use `chunkload load --url ...`)",
        )
        .into());
    }
    eprintln!("starting a throwaway PostgreSQL server...");
    let cluster = LocalCluster::start()?;
    let url = cluster.url();
    println!("# Connection string (sql/tcp): {url}");
    let mut client =
        postgres::Client::connect(&url, postgres::NoTls).map_err(chunkload::Error::from)?;
    let server = chunkload::Server::detect(&mut client)?;
    println!("Initializing the bank database...");
    client
        .batch_execute(DBINIT_SQL)
        .map_err(chunkload::Error::from)?;
    println!("Database initialized.");
    let left = bank::run_app(
        &mut client,
        server,
        RetryPolicy::default(),
        100,
        args.seed,
        &mut std::io::stdout().lock(),
    )?;
    println!("bank app: {left} accounts remain");
    // Then the main job: data/accounts.csv in chunks, each its own transaction.
    let data = demo_data()?;
    println!("Loading {} in 32 KiB chunks...", data.display());
    let mut cfg = LoadConfig::new(vec![data.display().to_string()], "accounts");
    cfg.chunk_bytes = Some(32 * 1024);
    cfg.observer = std::sync::Arc::new(Progress::new(ProgressMode::Auto));
    let opts = ConnectOptions::parse(&url)?;
    let summary = chunkload::load::run(&cfg, std::sync::Arc::new(opts))?;
    println!("{summary}");
    let total: i64 = client
        .query_one("SELECT count(*) FROM accounts", &[])
        .map_err(chunkload::Error::from)?
        .get(0);
    println!("demo summary: {left} accounts from the bank app + {} loaded rows = {total} rows in accounts", summary.rows);
    if args.keep {
        println!("server kept running at {url}; press Ctrl-C to stop it");
        let _ = stop.recv();
    }
    drop(client);
    cluster.stop()?;
    eprintln!("throwaway server stopped and removed");
    Ok(ExitCode::SUCCESS)
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
    chunkload::dataset::generate(chunkload::dataset::Dataset::Accounts, 10_000, 42, &mut w)?;
    std::io::Write::flush(&mut w)?;
    Ok(path)
}
