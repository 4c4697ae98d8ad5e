//! Shared test harness: one throwaway server per test binary, one database per test.

use chunkload::cluster::{ClusterOptions, LocalCluster};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The server all tests of this binary share; stopped by its watchdog when the binary exits.
pub fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(own_cluster)
}

/// A server of the test's own, for tests that restart or stop it (fsync off: it is
/// thrown away, and the OS does not crash under it).
pub fn own_cluster() -> LocalCluster {
    LocalCluster::start_with(&ClusterOptions {
        durable: false,
        ..ClusterOptions::default()
    })
    .expect("start a throwaway PostgreSQL server")
}

/// `url` with its port replaced, to go through a proxy.
pub fn via_port(url: &str, port: u16) -> String {
    let own: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a URL with a port");
    url.replace(&format!(":{own}/"), &format!(":{port}/"))
}

/// A fresh, empty database named after the test; returns its URL.
pub fn fresh_db(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}_{}", N.fetch_add(1, Ordering::SeqCst), test);
    cluster()
        .create_database(&name)
        .expect("create test database")
}

/// A plain client on `url`.
pub fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to test database")
}

/// `SELECT count(*)` of a table.
pub fn count(url: &str, table: &str) -> i64 {
    client(url)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

/// A generated accounts file in a temp dir.
pub fn accounts_file(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("accounts-{rows}-{seed}.csv"));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    chunkload::dataset::generate(chunkload::dataset::Dataset::Accounts, rows, seed, &mut w)
        .unwrap();
    std::io::Write::flush(&mut w).unwrap();
    path
}

/// A table without a primary key, so a duplicated row would show instead of failing, and
/// the source loaded by PostgreSQL's own COPY as the reference.
pub fn target_and_reference(url: &str, file: &Path) {
    let mut c = client(url);
    c.batch_execute(
        "CREATE TABLE accounts (id uuid, balance int8);
         CREATE TABLE reference (id uuid, balance int8);",
    )
    .unwrap();
    let mut w = c
        .copy_in("COPY reference FROM STDIN (FORMAT csv, HEADER)")
        .unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(file).unwrap()).unwrap();
    w.finish().unwrap();
}

/// The table equals the reference: same rows, same multiplicities, no duplicate key.
pub fn assert_exact(url: &str, rows: i64) {
    let mut c = client(url);
    let q = |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(
        q(&mut c, "SELECT count(*) FROM accounts"),
        rows,
        "row count"
    );
    assert_eq!(
        q(&mut c, "SELECT count(DISTINCT id) FROM accounts"),
        rows,
        "no duplicates"
    );
    assert_eq!(
        q(
            &mut c,
            "SELECT count(*) FROM (TABLE accounts EXCEPT ALL TABLE reference) x"
        ),
        0
    );
    assert_eq!(
        q(
            &mut c,
            "SELECT count(*) FROM (TABLE reference EXCEPT ALL TABLE accounts) x"
        ),
        0
    );
    let sums: (i64, String, String) = {
        let r = c
            .query_one(
                "SELECT (SELECT sum(balance) FROM accounts)::int8 - (SELECT sum(balance) FROM reference)::int8,
                        (SELECT md5(string_agg(id::text || balance, ',' ORDER BY id)) FROM accounts),
                        (SELECT md5(string_agg(id::text || balance, ',' ORDER BY id)) FROM reference)",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(sums.0, 0, "balance checksum");
    assert_eq!(sums.1, sums.2, "content checksum");
}
