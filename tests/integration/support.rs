//! Shared test harness: one throwaway server per test binary, one database per test.

use chunkload::cluster::{ClusterOptions, LocalCluster};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The server all tests of this binary share; stopped by its watchdog when the binary exits.
pub fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        LocalCluster::start_with(&ClusterOptions {
            durable: false,
            ..ClusterOptions::default()
        })
        .expect("start the throwaway PostgreSQL server")
    })
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
