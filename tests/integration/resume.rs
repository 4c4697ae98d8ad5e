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
        Some(0),
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

/// The `(byte, line)` of a "resuming at byte N, line L" line.
fn resumed_at(err: &str) -> Option<(usize, u64)> {
    let rest = &err[err.find("resuming at byte ")? + "resuming at byte ".len()..];
    let (byte, rest) = rest.split_once(", line ")?;
    let line = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((byte.parse().ok()?, line.parse().ok()?))
}

#[test]
fn resume_of_a_plain_file_seeks_past_the_committed_bytes_and_keeps_line_numbers() {
    let url = fresh_db("resume_seek");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8, n int8, note text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    // Every 7th note spans two lines, so line numbers run ahead of record numbers.
    let (mut csv, mut line, mut bad) = (String::from("id,n,note\n"), 2u64, Vec::new());
    for i in 1..=6_000u64 {
        let (n, note) = match i {
            4_000 | 5_500 => ("oops".to_string(), "x".to_string()),
            _ if i % 7 == 0 => (i.to_string(), format!("\"two\nlines {i}\"")),
            _ => (i.to_string(), format!("n{i}")),
        };
        if n == "oops" {
            bad.push(line);
        }
        csv.push_str(&format!("{i},{n},{note}\n"));
        line += 1 + u64::from(i % 7 == 0 && n != "oops");
    }
    std::fs::write(&file, &csv).unwrap();
    let rejects = dir.path().join("rejects.csv");
    // In file order, so the first bad row is the one that stops each run.
    let run = |max: &str| {
        crate::cli::chunkload_in_order(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            "t",
            "--url",
            &url,
            "--chunk-bytes",
            "8K",
            "--workers",
            "1",
            "--max-errors",
            max,
            "--reject-file",
            rejects.to_str().unwrap(),
            "--json",
            "--progress-lines",
            "60",
        ])
    };
    let json = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(o)))
    };
    // Stops at the first bad value, chunks before it committed.
    let first = run("0");
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let committed = count(&url, "t");
    assert!(committed > 1_000, "{committed}");
    let loc = json(&first)["error"]["location"].clone();
    assert_eq!(loc["line"].as_u64(), Some(bad[0]), "{loc}");
    // The same again: it seeks past the committed bytes and stops at the same place,
    // with the same line, byte and record number.
    let again = run("0");
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(3), "{err}");
    assert_eq!(json(&again)["error"]["location"], loc, "{err}");
    let (byte, at_line) = resumed_at(&err).unwrap_or_else(|| panic!("no seek: {err}"));
    let header = "id,n,note\n".len();
    assert!(byte > header, "{err}");
    assert_eq!(csv.as_bytes()[byte - 1], b'\n', "a record boundary");
    assert!(
        csv[..byte].matches('"').count() % 2 == 0,
        "not inside a quoted field"
    );
    assert_eq!(
        at_line,
        1 + csv[..byte].matches('\n').count() as u64,
        "the real line"
    );
    // Rejects within the budget: done, each bad row at its real line, the table exact.
    let done = run("5");
    let err = stderr(&done);
    assert_eq!(done.status.code(), Some(0), "rows were rejected: {err}");
    assert_eq!(resumed_at(&err).map(|r| r.0), Some(byte), "{err}");
    let summary = json(&done);
    assert_eq!(
        summary["bytes_seeked"].as_u64(),
        Some((byte - header) as u64),
        "{summary}"
    );
    assert_eq!(summary["rejected"].as_u64(), Some(2), "{summary}");
    let mut c = client(&url);
    let row = c
        .query_one(
            "SELECT count(*), count(DISTINCT id), sum(id)::int8, sum(n)::int8,
                    count(*) FILTER (WHERE note = 'two' || chr(10) || 'lines ' || id)
             FROM t",
            &[],
        )
        .unwrap();
    let (n, distinct, ids, ns, multi): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    let all: i64 = (1..=6_000).sum();
    assert_eq!((n, distinct), (5_998, 5_998));
    assert_eq!((ids, ns), (all - 4_000 - 5_500, all - 4_000 - 5_500));
    assert_eq!(multi, (1..=6_000).filter(|i| i % 7 == 0).count() as i64);
    let lines: Vec<u64> = csv::Reader::from_path(&rejects)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[3].parse().unwrap())
        .collect();
    assert_eq!(lines, bad, "the source's real line numbers");
}
