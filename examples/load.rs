//! A load from start to end: a throwaway PostgreSQL, a table, a CSV, one `Loader`.
//!
//! `cargo run --example load` (needs PostgreSQL's server binaries, as the tests do).

use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::Loader;

fn main() -> chunkload::Result<()> {
    let cluster = LocalCluster::start()?;
    let url = cluster.create_database("example_load")?;
    let mut client = chunkload::connect::connect(&ConnectOptions::parse(&url)?)?;
    client.batch_execute("CREATE TABLE accounts (id INT PRIMARY KEY, balance NUMERIC(12,2))")?;

    let dir = tempfile::tempdir().map_err(|e| chunkload::Error::io("tempdir", e))?;
    let csv = dir.path().join("accounts.csv");
    let rows: String = (1..=10_000)
        .map(|i| format!("{i},{}.50\n", i * 3))
        .collect();
    std::fs::write(&csv, format!("id,balance\n{rows}"))
        .map_err(|e| chunkload::Error::io(csv.display().to_string(), e))?;

    // Each chunk of at most 64 KiB commits in its own transaction, retried on 40001.
    let summary = Loader::builder(ConnectOptions::parse(&url)?, "accounts")
        .file(csv.display().to_string())
        .chunk_bytes(64 * 1024)
        .build()?
        .run()?;
    println!("{summary}");

    let n: i64 = client
        .query_one("SELECT count(*) FROM accounts", &[])?
        .get(0);
    assert_eq!(n, 10_000);
    cluster.stop()
}
