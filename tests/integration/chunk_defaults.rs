//! Chunk bounds: each server flavour's defaults when none is given, and an explicit
//! `--chunk-bytes` / `--chunk-rows` over them.

use crate::cli::chunkload;
use crate::support::{
    accounts_file, assert_exact, fresh_db, load_args, ok_summary, target_and_reference,
};

fn load_json(url: &str, file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let quiet = ["--json", "--quiet"];
    ok_summary(&chunkload(&load_args(
        file,
        "accounts",
        url,
        &[&quiet, extra],
    )))
}

/// 20 000 rows of `accounts` are ~880 KB: one chunk under PostgreSQL's 1 MiB default
/// (no row bound), two under CockroachDB's 10 000 rows (its INSERTs' 512 KiB bound holds
/// 10 000 rows of ~44 bytes).
const ROWS: u64 = 20_000;

#[test]
fn postgres_defaults_send_a_small_file_in_one_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), ROWS, 61);
    let url = fresh_db("chunk_defaults_pg");
    target_and_reference(&url, &file);
    let s = load_json(&url, &file, &[]);
    assert_eq!(s["chunks"], 1, "{s}");
    assert_exact(&url, ROWS as i64);
}

#[test]
fn explicit_chunk_bounds_win_over_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), ROWS, 62);
    let size = std::fs::metadata(&file).unwrap().len();
    let url = fresh_db("chunk_defaults_bytes");
    target_and_reference(&url, &file);
    let s = load_json(&url, &file, &["--chunk-bytes", "256K"]);
    let chunks = s["chunks"].as_u64().unwrap();
    assert!(chunks >= size.div_ceil(256 << 10), "{size} bytes: {s}");
    assert!(chunks <= size.div_ceil(250 << 10), "{size} bytes: {s}");
    assert_exact(&url, ROWS as i64);

    let url = fresh_db("chunk_defaults_rows");
    target_and_reference(&url, &file);
    let s = load_json(&url, &file, &["--chunk-rows", "7000"]);
    assert_eq!(s["chunks"], ROWS.div_ceil(7000), "{s}");
    assert_exact(&url, ROWS as i64);
}

#[test]
fn cockroach_defaults_bound_chunks_by_rows_and_a_given_bound_wins() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), ROWS, 63);
    let url = crate::support::fresh_cockroach_db("chunk_defaults_crdb");
    target_and_reference(&url, &file);
    let s = load_json(&url, &file, &[]);
    assert_eq!(s["method"], "insert", "CockroachDB's default method: {s}");
    assert_eq!(
        s["chunks"],
        ROWS.div_ceil(10_000),
        "10 000 rows a chunk: {s}"
    );
    assert_exact(&url, ROWS as i64);

    let url = crate::support::fresh_cockroach_db("chunk_defaults_crdb_rows");
    target_and_reference(&url, &file);
    // With room in bytes (INSERT's default is 512 KiB) and in bind parameters (2 × 20 000
    // is under 65 535), the row bound given wins.
    let given = ["--chunk-rows", "100000", "--chunk-bytes", "1M"];
    let s = load_json(&url, &file, &given);
    assert_eq!(s["chunks"], 1, "the row bound given wins: {s}");
    assert_exact(&url, ROWS as i64);
}
