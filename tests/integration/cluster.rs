//! The throwaway server's lifecycle: it starts, serves, and leaves nothing behind.

use chunkload::cluster::{ClusterOptions, LocalCluster};
use std::net::TcpStream;

#[test]
fn cluster_starts_on_loopback_and_cleans_up_on_drop() {
    let c = LocalCluster::start_with(&ClusterOptions {
        durable: false,
        ..ClusterOptions::default()
    })
    .unwrap();
    let (port, dir) = (c.port(), c.dir().to_path_buf());
    let mut client = postgres::Client::connect(&c.url(), postgres::NoTls).unwrap();
    let addr: String = client
        .query_one("SELECT current_setting('listen_addresses')", &[])
        .unwrap()
        .get(0);
    assert_eq!(addr, "127.0.0.1");
    drop(client);
    c.restart().unwrap();
    let url = c.create_database("after_restart").unwrap();
    assert!(postgres::Client::connect(&url, postgres::NoTls).is_ok());
    drop(c);
    assert!(!dir.exists(), "data dir removed");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server stopped"
    );
}
