//! A cluster of many nodes, played by one server behind three loopback proxies (one
//! database, as in a real cluster): writers spread over the hosts of a multi-host URL, and
//! a node going away mid-load does not stop the load.

use crate::cli::{chunkload, stderr};
use crate::proxy::{Faults, Proxy};
use crate::support::{accounts_file, assert_exact, fresh_db, proxy, target_and_reference};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

#[test]
fn multihost_writers_spread_over_nodes_and_survive_one_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 150_000, 21);
    let url = fresh_db("multihost");
    target_and_reference(&url, &file);

    let nodes: Vec<Proxy> = (0..3).map(|_| proxy(Faults::default())).collect();
    let hosts: Vec<String> = nodes
        .iter()
        .map(|p| format!("127.0.0.1:{}", p.addr().port()))
        .collect();
    let db = url.rsplit('/').next().unwrap();
    let multi = format!("postgres://postgres@{}/{db}", hosts.join(","));
    let out = std::thread::scope(|s| {
        let victim = &nodes[1];
        s.spawn(move || {
            // Wait until node 1 carries data, then take it away.
            for _ in 0..200 {
                if victim.bytes_up.load(SeqCst) > 200_000 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            victim.stop();
        });
        chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            "accounts",
            "--url",
            &multi,
            "--workers",
            "3",
            "--chunk-bytes",
            "16K",
            "--json",
        ])
    });
    assert!(out.status.success(), "{}", stderr(&out));
    for (i, n) in nodes.iter().enumerate() {
        assert!(
            n.bytes_up.load(SeqCst) > 100_000,
            "node {i} carried chunks: {}",
            n.bytes_up.load(SeqCst)
        );
    }
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        s["reconnects"].as_u64().unwrap() >= 1,
        "node 1's writer moved: {s}"
    );
    assert_exact(&url, 150_000);
}
