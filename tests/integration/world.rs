//! Issue 22, "nothing lost when the user changes the world between runs": the command an
//! interrupt prints resumes (also after `--fresh --truncate`), a load from stdin says that
//! a rerun loads again, the reject file is written through what its path names, a server
//! that is down at the start fails at once, and `--method insert` reads a numeric with its
//! column's typmod as COPY does.

use crate::cli::{chunkload, stderr};
use crate::support::{client, command, count, fresh_db, spawn, stderr_of, wait_bounded};
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: i64 = 2000;

use crate::signals::{assert_exact, numbers_file, slow_table};

/// Splits a command line as a POSIX shell does for the quoting the interrupt line uses:
/// blanks separate words, `'...'` quotes literally.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if let Some(n) = chars.next() {
                    w.push(n);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The command the interrupt line says resumes the load: `to resume, run[ notes]: CMD`.
fn resume_command(line: &str) -> Vec<String> {
    let (_, rest) = line
        .split_once("; to resume, run")
        .unwrap_or_else(|| panic!("no resume command in {line:?}"));
    let (_, cmd) = rest
        .split_once(": ")
        .unwrap_or_else(|| panic!("no resume command in {line:?}"));
    shell_words(cmd)
}

/// Sends `signal` once `ready` holds, and returns the process's exit code and stderr.
fn interrupt_when(
    child: &mut std::process::Child,
    ready: impl Fn() -> bool,
    signal: i32,
) -> (Option<i32>, String) {
    let start = Instant::now();
    while !ready() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ready(), "the load never got there");
    // SAFETY: signalling the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = wait_bounded(child, Duration::from_secs(10)).expect("stopped in time");
    (status.code(), stderr_of(child))
}

/// Point 4: a `--fresh --truncate` load that was interrupted prints the command that
/// resumes it: without `--fresh` (which would start over), without `--truncate` (the
/// table was emptied in the first chunk's transaction; the rows since must stay), and
/// naming the fresh load's id (the derived id is an earlier, finished load's).
#[test]
fn world_fresh_truncate_interrupted_prints_the_command_that_resumes_once() {
    let url = fresh_db("world_fresh_resume");
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    // An earlier, finished load of the same file under its derived id.
    let first = chunkload(&["load", &file, "--table", "slow", "--url", &url, "-q"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_exact(&url, ROWS);
    let args = [
        "--url",
        &url,
        "load",
        &file,
        "--table",
        "slow",
        "--chunk-rows",
        "10",
        "--fresh",
        "--truncate",
        "-q",
    ];
    let mut child = spawn(&args);
    // The first chunk's transaction empties the table: fewer rows than the earlier load.
    let (code, err) = interrupt_when(&mut child, || count(&url, "slow") < ROWS, libc::SIGINT);
    assert_eq!(code, Some(130), "{err}");
    let committed = count(&url, "slow");
    assert!(committed > 0 && committed < ROWS, "{committed}");
    let line = err.trim_end();
    assert_eq!(line.lines().count(), 1, "{err}");
    assert!(
        line.starts_with("interrupted: ") && line.contains(&format!("({committed} rows)")),
        "{line}"
    );
    let resume = resume_command(line);
    assert!(!resume.iter().any(|a| a == "--fresh"), "{line}");
    assert!(!resume.iter().any(|a| a == "--truncate"), "{line}");
    let id = resume
        .iter()
        .position(|a| a == "--load-id")
        .map(|i| resume[i + 1].clone())
        .unwrap_or_else(|| panic!("names the load: {line}"));
    assert!(id.starts_with("slow-"), "{id}");
    // Run it as printed (its first word is the program as it was started), with --json to
    // see what the rerun did.
    let mut rerun: Vec<&str> = resume[1..].iter().map(String::as_str).collect();
    rerun.push("--json");
    let out = std::process::Command::new(&resume[0])
        .args(&rerun)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["load_id"], id.as_str(), "{summary}");
    assert_eq!(summary["rows"], ROWS - committed, "resumed: {summary}");
    assert_exact(&url, ROWS);
    // Run once more: the load is finished, nothing is loaded again.
    let again = std::process::Command::new(&resume[0])
        .args(&resume[1..])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_exact(&url, ROWS);
}

/// Point 4: `--truncate` on a rerun is skipped only once an earlier run committed rows
/// (its first commit emptied the table); an earlier run that only rejected rows emptied
/// nothing, so the rerun still empties the table.
#[test]
fn world_truncate_after_a_run_that_only_rejected_rows_still_empties_the_table() {
    let url = fresh_db("world_truncate_rejects_only");
    client(&url)
        .batch_execute(
            "CREATE TABLE r (id int8 CHECK (id > 0), v text);
             INSERT INTO r VALUES (100, 'old');",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    std::fs::write(&file, "id,v\n-1,a\n-2,b\n3,c\n").unwrap();
    let rejects = dir.path().join("r.rejects.csv");
    let run = |max_errors: &str| {
        chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            "r",
            "--url",
            &url,
            "--truncate",
            "--workers",
            "1",
            "--max-errors",
            max_errors,
            "--reject-file",
            rejects.to_str().unwrap(),
        ])
    };
    // The server refuses -1 (recorded in the ledger as rejected), then -2: one too many.
    let o = run("1");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let ids = |url: &str| -> Vec<i64> {
        client(url)
            .query("SELECT id FROM r ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(ids(&url), [100], "nothing committed, nothing emptied");
    let o = run("5");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        ids(&url),
        [3],
        "the rerun emptied the table: {}",
        stderr(&o)
    );
}

/// Point 4: the printed command never shows a password from the URL.
#[test]
fn world_interrupted_line_masks_the_password_of_the_url() {
    let url = fresh_db("world_resume_secret");
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    // The server trusts loopback connections: the password is only there to be hidden.
    let with_pw = url.replacen("://postgres@", "://postgres:s3cret@", 1);
    assert_ne!(with_pw, url, "{url}");
    let args = [
        "load",
        &file,
        "--table",
        "slow",
        "--url",
        &with_pw,
        "--chunk-rows",
        "10",
        "-q",
    ];
    let mut child = spawn(&args);
    let (code, err) = interrupt_when(&mut child, || count(&url, "slow") > 0, libc::SIGTERM);
    assert_eq!(code, Some(143), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    let resume = resume_command(err.trim_end());
    assert!(
        resume.iter().any(|a| a.contains("postgres:***@")),
        "{resume:?}"
    );
}

/// Point 5: a load from stdin without `--load-id` says once, up front, that a rerun loads
/// the rows again; run twice into a table without a key, it did (as it said).
#[test]
fn world_stdin_without_a_load_id_warns_once_that_a_rerun_loads_again() {
    let url = fresh_db("world_stdin_warn");
    client(&url)
        .batch_execute("CREATE TABLE slow (id int8, v text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    for run in 1..=2 {
        let mut child = command(&["load", "-", "--table", "slow", "--url", &url])
            .stdin(std::fs::File::open(&file).unwrap())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("load ends");
        let err = stderr_of(&mut child);
        assert!(status.success(), "{err}");
        let warnings: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("--load-id NAME"))
            .collect();
        assert_eq!(warnings.len(), 1, "run {run}: {err}");
        assert!(
            warnings[0].starts_with("warning: ") && warnings[0].contains("loads these rows again"),
            "{err}"
        );
        assert_eq!(count(&url, "slow"), ROWS * run);
    }
}

/// Point 5: with `--load-id`, a load from stdin that was interrupted resumes when fed the
/// same bytes again, and says nothing about loading again.
#[test]
fn world_stdin_with_a_load_id_resumes_exactly() {
    let url = fresh_db("world_stdin_resume");
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    let args = [
        "load",
        "-",
        "--table",
        "slow",
        "--url",
        &url,
        "--load-id",
        "numbers-from-stdin",
        "--chunk-rows",
        "10",
    ];
    let mut child = command(&args)
        .stdin(std::fs::File::open(&file).unwrap())
        .spawn()
        .unwrap();
    let (code, err) = interrupt_when(&mut child, || count(&url, "slow") > 0, libc::SIGINT);
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("--load-id NAME"), "{err}");
    let committed = count(&url, "slow");
    assert!(committed < ROWS, "{committed}");
    let resume = resume_command(err.trim_end());
    assert!(
        resume
            .windows(2)
            .any(|w| w == ["--load-id", "numbers-from-stdin"]),
        "{resume:?}"
    );
    assert!(err.contains("same input on stdin"), "{err}");
    let mut rerun = command(&args)
        .stdin(std::fs::File::open(&file).unwrap())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut rerun, Duration::from_secs(60)).expect("rerun ends");
    let err = stderr_of(&mut rerun);
    assert!(status.success(), "{err}");
    assert!(!err.contains("--load-id NAME"), "{err}");
    assert_exact(&url, ROWS);
}

/// A file of `good` rows then one that int8 refuses, for reject-file tests.
fn one_bad_row(dir: &Path) -> String {
    let path = dir.join("bad.csv");
    std::fs::write(&path, "id,v\n1,a\n2,b\nthree,c\n4,d\n").unwrap();
    path.display().to_string()
}

fn reject_table(url: &str) {
    client(url)
        .batch_execute("CREATE TABLE r (id int8, v text)")
        .unwrap();
}

/// Point 6: a reject file that is a symlink stays one; its target gets the rejects.
#[test]
fn world_reject_file_symlink_stays_a_link_and_its_target_gets_the_rejects() {
    let url = fresh_db("world_reject_link");
    reject_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = one_bad_row(dir.path());
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let target = dir.path().join("real/rejects.csv");
    std::fs::write(&target, "stale\n").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink("real/rejects.csv", &link).unwrap();
    let o = chunkload(&[
        "load",
        &file,
        "--table",
        "r",
        "--url",
        &url,
        "--max-errors",
        "5",
        "--reject-file",
        link.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let rejects = std::fs::read_to_string(&target).unwrap();
    assert!(
        rejects.starts_with("id,v,chunkload_line,chunkload_error\nthree,c,4,"),
        "{rejects}"
    );
    // Nothing else in the link's directory or the target's: no temp file left.
    assert_eq!(
        std::fs::read_dir(dir.path().join("real")).unwrap().count(),
        1
    );
    assert_eq!(count(&url, "r"), 3);
}

/// Point 6: a reject file that is a FIFO is written into; the FIFO stays.
#[test]
fn world_reject_file_fifo_is_written_through() {
    let url = fresh_db("world_reject_fifo");
    reject_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = one_bad_row(dir.path());
    let fifo = dir.path().join("rejects.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a path we own, in the test's temp dir.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A reader that is there from the start (non-blocking open), so no writer waits for
    // one, and that ends once the load ended and what it wrote is read.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (fifo, done) = (fifo.clone(), done.clone());
        std::thread::spawn(move || {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let end = Instant::now() + Duration::from_secs(60);
            while Instant::now() < end {
                match f.read(&mut buf) {
                    Ok(0) if done.load(SeqCst) => break,
                    Ok(0) => std::thread::sleep(Duration::from_millis(10)),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            String::from_utf8(got).unwrap()
        })
    };
    let mut child = command(&[
        "load",
        &file,
        "--table",
        "r",
        "--url",
        &url,
        "--max-errors",
        "5",
        "--reject-file",
        fifo.to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("load ends");
    let err = stderr_of(&mut child);
    done.store(true, SeqCst);
    let got = reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO stays"
    );
    assert!(
        got.starts_with("id,v,chunkload_line,chunkload_error\nthree,c,4,"),
        "{got:?} {err}"
    );
    assert!(err.contains("1 row rejected, written to"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// Point 6: a reject file that cannot be written at the end of the load (its directory
/// became a file since the load checked it) is an error naming the file, with exit 3 (the
/// rows stay committed, the rejects in the ledger), never `written to`; the rerun writes it.
#[test]
fn world_reject_file_that_cannot_be_written_is_an_error_and_the_rerun_writes_it() {
    let url = fresh_db("world_reject_unwritable");
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.csv");
    let mut s = String::from("id,v\n");
    for i in 1..=ROWS {
        s.push_str(&format!("{i},row-{i}\n"));
        if i == 5 {
            s.push_str("five,bad\n");
        }
    }
    std::fs::write(&path, s).unwrap();
    let sub = dir.path().join("out");
    std::fs::create_dir(&sub).unwrap();
    let rejects = sub.join("rejects.csv");
    let args = [
        "load",
        path.to_str().unwrap(),
        "--table",
        "slow",
        "--url",
        &url,
        "--chunk-rows",
        "10",
        "--max-errors",
        "5",
        "--reject-file",
        rejects.to_str().unwrap(),
    ];
    let mut child = spawn(&args);
    let start = Instant::now();
    while count(&url, "slow") == 0 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The load checked the path before its first commit; now its directory is a file.
    std::fs::remove_dir(&sub).unwrap();
    std::fs::write(&sub, "not a directory").unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("load ends");
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(!err.contains("written to"), "{err}");
    assert!(
        err.contains(&format!("reject file {}", rejects.display())),
        "names the file: {err}"
    );
    assert_eq!(count(&url, "slow"), ROWS);
    // Put the directory back and rerun: the rejects come from the ledger, nothing loads.
    std::fs::remove_file(&sub).unwrap();
    std::fs::create_dir(&sub).unwrap();
    let o = chunkload(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 row rejected, written to"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.contains("\nfive,bad,7,"), "{text}");
    assert_exact(&url, ROWS);
}

/// Point 6: a reject path whose parent is a file is refused before anything commits.
#[test]
fn world_reject_file_under_a_file_is_refused_up_front() {
    let url = fresh_db("world_reject_under_file");
    reject_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = one_bad_row(dir.path());
    let not_dir = dir.path().join("plain");
    std::fs::write(&not_dir, "x").unwrap();
    let rejects = not_dir.join("rejects.csv");
    let o = chunkload(&[
        "load",
        &file,
        "--table",
        "r",
        "--url",
        &url,
        "--max-errors",
        "5",
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("written to"), "{err}");
    assert!(err.contains(rejects.to_str().unwrap()), "{err}");
    assert_eq!(count(&url, "r"), 0);
}

/// Point 8: a server that is down when the load starts fails at once with exit 2, as
/// psql and `status` do, instead of retrying for --reconnect-timeout.
#[test]
fn world_load_against_a_closed_port_fails_at_once_with_exit_2() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    let url = format!("postgres://u:secret@127.0.0.1:{port}/db");
    for extra in [&[][..], &["--check"][..]] {
        let mut args = vec!["load", file.as_str(), "--table", "t", "--url", &url];
        args.extend_from_slice(extra);
        let start = Instant::now();
        let mut child = spawn(&args);
        let status = wait_bounded(&mut child, Duration::from_secs(20)).expect("ends");
        let took = start.elapsed();
        let err = stderr_of(&mut child);
        assert!(took < Duration::from_secs(5), "{extra:?}: {took:?} {err}");
        assert_eq!(status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot connect") && !err.contains("secret"),
            "{err}"
        );
    }
}

/// Point 8: a multi-host URL whose first host is down still starts: the first connection
/// tries every host once, as libpq does.
#[test]
fn world_load_whose_first_host_is_down_starts_on_the_next() {
    let url = fresh_db("world_first_host_down");
    client(&url)
        .batch_execute("CREATE TABLE slow (id int8, v text)")
        .unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let two = url.replacen("@127.0.0.1:", &format!("@127.0.0.1:{closed},127.0.0.1:"), 1);
    assert_ne!(two, url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    let start = Instant::now();
    let o = chunkload(&["load", &file, "--table", "slow", "--url", &two, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_exact(&url, ROWS);
}

/// Point 9: numeric(7,2) under `--method insert` and `upsert` stores what COPY stores:
/// every value rounded to the scale before the precision is checked, as `numeric_in`
/// with the column's typmod does (`865.1E-16384` is 0.00, not an overflow), and the same
/// rows refused with the same error.
#[test]
fn world_numeric_with_a_typmod_stores_the_same_under_every_method() {
    let url = fresh_db("world_numeric_typmod");
    let mut c = client(&url);
    for t in ["reference", "via_copy", "via_insert", "via_upsert"] {
        c.batch_execute(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, n numeric(7,2), m numeric(5))"
        ))
        .unwrap();
    }
    let typmod: i32 = c
        .query_one(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'via_copy'::regclass AND attname = 'n'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        chunkload::encode::insert::numeric_typmod("numeric(7,2)"),
        Some(typmod)
    );
    let values = [
        ("865.1E-16384", "1"),
        ("0.005", "0.5"),
        ("-0.005", "-0.5"),
        ("12345.675", "12345.5"),
        ("99999.994", "99999.4"),
        ("1e2", "1e2"),
        (".5", "1.5E-16384"),
        ("-865.1E-16384", "2.5"),
        ("99999.995", "1"),
        ("123456.78", "1"),
        ("1", "99999.5"),
        ("1.5e-20000", "0"),
        ("NaN", "NaN"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.csv");
    let mut csv = String::from("id,n,m\n");
    for (id, (n, m)) in values.iter().enumerate() {
        csv.push_str(&format!("{id},{n},{m}\n"));
        // PostgreSQL's own COPY, one row per COPY: a refused row refuses only itself.
        let mut w = c
            .copy_in("COPY reference FROM STDIN (FORMAT csv, HEADER)")
            .unwrap();
        use std::io::Write;
        w.write_all(format!("id,n,m\n{id},{n},{m}\n").as_bytes())
            .unwrap();
        let _ = w.finish();
    }
    std::fs::write(&file, &csv).unwrap();
    let rows = |c: &mut postgres::Client, t: &str| -> Vec<String> {
        c.query(&format!("SELECT (t.*)::text FROM {t} t ORDER BY id"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let reference = rows(&mut c, "reference");
    assert!(
        reference.contains(&"(0,0.00,1)".to_string()),
        "{reference:?}"
    );
    assert!(
        reference.len() < values.len(),
        "some refused: {reference:?}"
    );
    let mut refused: Option<Vec<String>> = None;
    for (t, method) in [
        ("via_copy", "copy"),
        ("via_insert", "insert"),
        ("via_upsert", "upsert"),
    ] {
        let rejects = dir.path().join(format!("{t}.rejects"));
        let out = chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            t,
            "--url",
            &url,
            "--method",
            method,
            "--max-errors",
            "100",
            "--reject-file",
            rejects.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(out.status.code(), Some(0), "{method}: {}", stderr(&out));
        assert_eq!(rows(&mut c, t), reference, "{method}");
        // The same records refused, for the same reason.
        let text = std::fs::read_to_string(&rejects).unwrap();
        let mut lines: Vec<String> = Vec::new();
        for l in text.lines().skip(1) {
            // The record as read and its line; then the error, quoted.
            let (record, error) = l.split_once(",\"").unwrap_or((l, ""));
            assert!(error.contains("numeric field overflow"), "{method}: {l}");
            lines.push(record.to_string());
        }
        lines.sort();
        match &refused {
            None => refused = Some(lines),
            Some(first) => assert_eq!(&lines, first, "{method}"),
        }
    }
    assert_eq!(
        refused.unwrap().len(),
        values.len() - reference.len(),
        "every refused row is in the reject file"
    );
}
