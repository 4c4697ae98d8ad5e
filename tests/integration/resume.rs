//! Resume semantics: a rerun skips what is committed, a changed file is refused, `--fresh`
//! starts over, and `status` lists the loads.

use crate::cli::{chunkload, stderr};
use crate::support::{client, count, fresh_db};

#[test]
fn resume_rerun_sends_nothing_twice_and_a_changed_file_is_refused() {
    let url = fresh_db("resume");
    client(&url)
        .batch_execute(chunkload::bank::DBINIT_SQL)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::accounts_file(dir.path(), 5_000, 3);
    let f = file.to_str().unwrap();
    let load = |extra: &[&str]| {
        let mut a = vec![
            "load",
            f,
            "--table",
            "accounts",
            "--url",
            &url,
            "--chunk-bytes",
            "16K",
        ];
        a.extend_from_slice(extra);
        chunkload(&a)
    };
    let o = load(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&url, "accounts"), 5_000);
    // The same command again: every chunk is already committed, nothing is sent.
    let o = load(&[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("resumed: 14 of 14 chunks already committed"),
        "{err}"
    );
    assert!(err.contains("loaded 0 rows"), "{err}");
    assert_eq!(
        count(&url, "accounts"),
        5_000,
        "no duplicates (the primary key would have failed)"
    );
    // The file changes under the same load id: refused, nothing written.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, b"6b9f2d4e-1111-4c4c-9c9c-000000000001,5\n")
        })
        .unwrap();
    let o = load(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("input changed") && err.contains("--fresh"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // --fresh with --truncate starts a new load from scratch.
    let o = load(&["--fresh", "--truncate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&url, "accounts"), 5_001);
    // status lists both loads, one unfinished (refused before it started) is not listed twice.
    let o = chunkload(&["status", "--url", &url, "--json", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let loads: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let loads = loads.as_array().unwrap();
    assert_eq!(loads.len(), 2, "{loads:?}");
    assert!(loads.iter().all(|l| l["finished"] == true), "{loads:?}");
    assert_eq!(
        loads.iter().map(|l| l["rows"].as_i64().unwrap()).max(),
        Some(5_001)
    );
}

#[test]
fn resume_after_too_many_rejects_writes_each_bad_row_once() {
    let url = fresh_db("resume_rejects");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8 PRIMARY KEY, n int8)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    let mut csv = String::from("id,n\n");
    for i in 1..=30_000u64 {
        let line = i + 1;
        csv.push_str(&match line {
            10 => format!("{i},1,extra field\n"),
            25_000 | 28_000 => format!("{i},not a number\n"),
            _ => format!("{i},{i}\n"),
        });
    }
    std::fs::write(&file, csv).unwrap();
    let rejects = dir.path().join("rejects.csv");
    let run = |max: &str| {
        chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            "t",
            "--url",
            &url,
            "--chunk-bytes",
            "16K",
            "--workers",
            "1",
            "--max-errors",
            max,
            "--reject-file",
            rejects.to_str().unwrap(),
        ])
    };
    let o = run("1");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("more than --max-errors 1"),
        "{}",
        stderr(&o)
    );
    let o = run("10");
    assert_eq!(
        o.status.code(),
        Some(3),
        "rows were rejected: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("resumed:"), "{}", stderr(&o));
    assert_eq!(count(&url, "t"), 29_997);
    // A malformed record keeps its own field count: the line is the next-to-last field.
    let mut lines: Vec<u64> = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&rejects)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            r[r.len() - 2].parse().unwrap()
        })
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [10, 25_000, 28_000],
        "each bad row once, over both runs"
    );
}
