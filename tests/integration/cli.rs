//! The command line as a user meets it: exit codes, one-line errors, no secrets.

use crate::support::{fresh_db, load_args};
use std::process::{Command, Output};

pub fn chunkload(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run chunkload")
}

/// [`chunkload`] with one encoder thread: with one worker, chunks then reach the writer in
/// file order, so the first bad row is the one that stops a load and, of two equal keys,
/// the later is refused (with more threads a later chunk may get there first).
pub fn chunkload_in_order(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run chunkload")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cli_unreachable_server_fails_in_one_line_with_code_2_and_no_secret() {
    let o = chunkload(&["--url", "postgres://u:secret@127.0.0.1:1/db", "bank"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        !err.contains("secret") && err.contains("u:***@127.0.0.1:1"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("secret"));
}

#[test]
fn cli_malformed_url_is_a_usage_error() {
    let o = chunkload(&["--url", "mysql://u:secret@h/db", "bank"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("secret"), "{}", stderr(&o));
}

#[test]
fn cli_init_and_bank_leave_95_accounts() {
    let url = fresh_db("cli_bank");
    let o = chunkload(&["--url", &url, "init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = chunkload(&["bank", "--url", &url, "--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("Created new account with id ").count(), 100);
    assert!(out.contains("95 accounts remain"), "{out}");
}

#[test]
fn cli_create_table_infers_the_schema_and_explains_a_late_misfit() {
    let url = fresh_db("cli_create");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("trips.csv");
    std::fs::write(
        &good,
        "Trip Id,fare,when,ok\n1,12.50,2024-01-02,true\n2,7,2024-01-03,false\n",
    )
    .unwrap();
    let o = chunkload(&[
        "load",
        good.to_str().unwrap(),
        "--table",
        "trips",
        "--url",
        &url,
        "--create-table",
        "--primary-key",
        "Trip Id",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let types: Vec<(String, String)> = crate::support::client(&url)
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'trips'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        [
            ("Trip Id", "bigint"),
            ("fare", "numeric"),
            ("when", "date"),
            ("ok", "boolean")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(crate::support::count(&url, "trips"), 2);
    // A value that does not fit the type inferred from the first rows.
    let late = dir.path().join("late.csv");
    let mut text = String::from("id,n\n");
    for i in 0..20 {
        text.push_str(&format!("{i},{i}\n"));
    }
    text.push_str("20,twenty\n");
    std::fs::write(&late, text).unwrap();
    let o = chunkload(&[
        "load",
        late.to_str().unwrap(),
        "--table",
        "late",
        "--url",
        &url,
        "--create-table",
        "--infer-rows",
        "5",
        "-q",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 22") && err.contains("column \"n\"") && err.contains("bigint"),
        "{err}"
    );
    assert!(err.contains("--infer-rows all"), "{err}");
    // `schema` prints what --create-table would create.
    let o = chunkload(&["schema", late.to_str().unwrap(), "--infer-rows", "all"]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\"n\" text"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn cli_demo_runs_the_bank_app_and_a_chunked_load_on_its_own_server() {
    let o = chunkload(&["demo", "--seed", "1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("Connection string (sql/tcp): postgres://"),
        "{out}"
    );
    assert_eq!(out.matches("Created new account with id ").count(), 100);
    assert!(out.contains("= 10095 rows in accounts"), "{out}");
    assert!(stderr(&o).contains("throwaway server stopped and removed"));
}

#[test]
fn cli_completions_and_help_examples() {
    let o = chunkload(&["completions", "bash"]);
    assert!(o.status.success());
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("chunkload") && script.contains("--chunk-bytes"),
        "bash completion lists load's flags"
    );
    for sub in [
        "init",
        "bank",
        "load",
        "status",
        "schema",
        "gen",
        "demo",
        "completions",
    ] {
        let o = chunkload(&[sub, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && help.contains("Example"),
            "{sub} --help shows an example:\n{help}"
        );
    }
}

#[test]
fn cli_missing_input_is_a_usage_error_and_empty_input_names_line_1() {
    let url = fresh_db("cli_missing");
    crate::support::client(&url)
        .batch_execute(chunkload::bank::DBINIT_SQL)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let o = chunkload(&[
        "load",
        missing.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = chunkload(&[
        "load",
        empty.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("empty.csv: line 1") && stderr(&o).contains("no header"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_dry_run_without_a_server_infers_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(&f, "id,when,note\n1,2024-01-02,a\n2,2024-01-03,\n3,x,c\n").unwrap();
    let o = chunkload(&[
        "load",
        f.to_str().unwrap(),
        "--table",
        "t",
        "--dry-run",
        "--method",
        "insert",
        "--not-null",
        "id",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("INSERT INTO \"public\".\"t\" (\"id\",\"when\",\"note\")"),
        "{out}"
    );
    assert!(out.contains("would load 3 rows"), "{out}");
}

/// `chunkload gen accounts --rows 50 --seed 5 -o PATH`.
fn gen_to(path: &std::path::Path) -> Output {
    chunkload(&[
        "gen",
        "accounts",
        "--rows",
        "50",
        "--seed",
        "5",
        "-o",
        path.to_str().unwrap(),
    ])
}

fn gen_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    chunkload::dataset::generate(chunkload::dataset::Dataset::Accounts, 50, 5, &mut v).unwrap();
    v
}

#[test]
fn cli_gen_writes_through_a_symlink_and_into_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let target = data_dir.join("real.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = gen_to(&link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    assert_eq!(std::fs::read(&target).unwrap(), gen_bytes());
    // The temp file went next to the target, and is gone.
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = gen_to(&fifo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(reader.join().unwrap(), gen_bytes());
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn cli_gen_replaces_a_regular_file_atomically() {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "old contents").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&path).unwrap().ino();
    // A reader holding the old file keeps seeing it whole: the new one is a new inode.
    let mut held = std::fs::File::open(&path).unwrap();
    let o = gen_to(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let after = std::fs::metadata(&path).unwrap();
    assert_ne!(after.ino(), before, "renamed into place, not rewritten");
    assert_eq!(after.permissions().mode() & 0o777, 0o640, "mode kept");
    assert_eq!(std::fs::read(&path).unwrap(), gen_bytes());
    let mut old = String::new();
    held.read_to_string(&mut old).unwrap();
    assert_eq!(old, "old contents");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    // A new path in a missing directory: the error names the path, nothing is created.
    let missing = dir.path().join("nodir/x.csv");
    let o = gen_to(&missing);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(".chunkload-gen-"), "{}", stderr(&o));
}

#[test]
fn cli_demo_refuses_a_url_and_schema_from_stdin_needs_a_table() {
    // The demo never runs in a database the user named: an explicit --url is refused, and
    // nothing is started or touched.
    let o = chunkload(&["demo", "--url", "postgres://u@127.0.0.1:1/db"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("never touches another database"));
    assert!(!stderr(&o).contains("starting a throwaway"));

    // `schema -` would name the table "-".
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["schema", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run chunkload");
    drop(child.stdin.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--table"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["schema", "-", "--table", "t"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run chunkload");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"a,b\n1,x\n").unwrap();
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success());
    let sql = String::from_utf8_lossy(&o.stdout);
    assert!(sql.starts_with("CREATE TABLE \"t\""), "{sql}");
}

/// A database with `t (id int primary key, n int)` and a directory for input files.
fn exit_db(test: &str) -> (String, tempfile::TempDir) {
    let url = fresh_db(test);
    crate::support::client(&url)
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, n int)")
        .unwrap();
    (url, tempfile::tempdir().unwrap())
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// `id,n` rows 1..=n, with `bad` in place of row `bad_at`'s n.
fn rows(n: u64, bad_at: &[u64]) -> String {
    let mut s = String::from("id,n\n");
    for i in 1..=n {
        if bad_at.contains(&i) {
            s.push_str(&format!("{i},bad\n"));
        } else {
            s.push_str(&format!("{i},{i}\n"));
        }
    }
    s
}

fn load(url: &str, f: &str, extra: &[&str]) -> Output {
    let file = std::path::Path::new(f);
    chunkload(&load_args(file, "t", url, &[&["-q"], extra]))
}

#[test]
fn cli_exit_codes_follow_the_table() {
    let (url, dir) = exit_db("cli_exit_table");
    let one = ["--chunk-rows", "1", "--workers", "1"];
    // 0: done.
    let good = file(&dir, "good.csv", &rows(3, &[]));
    let o = load(&url, &good, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // 1: a bad row in the first chunk: nothing committed.
    let first_bad = file(&dir, "first_bad.csv", &rows(3, &[1]));
    let o = load(&url, &first_bad, &["--fresh"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // 3: a bad row after committed chunks, as under --max-errors.
    crate::support::client(&url)
        .batch_execute("TRUNCATE t")
        .unwrap();
    let late_bad = file(&dir, "late_bad.csv", &rows(50, &[40]));
    let o = load(&url, &late_bad, &one);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let kept = crate::support::count(&url, "t");
    assert!(kept > 0, "{err}");
    assert!(
        err.contains(&format!("{kept} rows of earlier chunks are committed")),
        "{err}"
    );
    let two_bad = file(&dir, "two_bad.csv", &rows(5, &[2, 4]));
    crate::support::client(&url)
        .batch_execute("TRUNCATE t")
        .unwrap();
    let o = load(&url, &two_bad, &["--max-errors", "1", "--fresh"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = load(
        &url,
        &two_bad,
        &["--max-errors", "5", "--fresh", "--truncate"],
    );
    assert_eq!(o.status.code(), Some(0), "rows rejected: {}", stderr(&o));
    // 2: the command is wrong: a missing file, a directory, a missing schema file, an
    // input that changed since its load started.
    let missing = dir.path().join("nope.csv");
    let o = load(&url, missing.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A directory loads its CSV files (many.rs); one without any is a usage error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = load(&url, empty.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("directory"), "{}", stderr(&o));
    let o = chunkload(&["init", "--schema", missing.to_str().unwrap(), "--url", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));
    std::fs::write(&late_bad, rows(51, &[40])).unwrap();
    let o = load(&url, &late_bad, &one);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the input changed since load"), "{err}");
    // 130 and 143 are reserved for signals.
}

#[test]
fn cli_json_error_object_on_stdout() {
    let (url, dir) = exit_db("cli_json_error");
    let f = file(&dir, "bad.csv", &rows(4, &[3]));
    // One encoder thread: the chunk after the bad one cannot reach the writer first.
    let o = chunkload_in_order(&[
        "load",
        &f,
        "--table",
        "t",
        "--url",
        &url,
        "-q",
        "--json",
        "--chunk-rows",
        "1",
        "--workers",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let e = &v["error"];
    assert_eq!(e["exit_code"], 3, "{v}");
    assert_eq!(e["kind"], "convert", "{v}");
    assert_eq!(e["status"], "partial", "{v}");
    // The chunks before the bad one are encoded in parallel and may reach the one writer
    // after it: what the error counts is what the table holds.
    let committed = e["rows_committed"].as_i64().unwrap();
    assert!(committed <= 2, "{v}");
    assert_eq!(crate::support::count(&url, "t"), committed, "{v}");
    assert_eq!(e["location"]["line"], 4, "{v}");
    assert_eq!(e["location"]["column"], "n", "{v}");
    assert!(e["location"]["file"].as_str().unwrap().ends_with("bad.csv"));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cannot convert \"bad\""),
        "{v}"
    );
    // An error without a position: location is null; the message is the one on stderr.
    let o = load(
        &url,
        dir.path().join("nope.csv").to_str().unwrap(),
        &["--json"],
    );
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["location"].is_null(), "{v}");
    assert!(
        stderr(&o).contains(v["error"]["message"].as_str().unwrap()),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_progress_lines_show_share_and_eta_when_the_size_is_known() {
    let (url, dir) = exit_db("cli_progress");
    let f = file(&dir, "many.csv", &rows(3000, &[]));
    let o = chunkload(&[
        "load",
        &f,
        "--table",
        "t",
        "--url",
        &url,
        "--chunk-rows",
        "10",
        "--workers",
        "1",
        "--method",
        "insert",
        "--progress-lines",
        "0.1",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    for l in &lines {
        assert!(
            l.contains(" of ") && l.contains("% ") || l.contains("%)"),
            "{l}"
        );
        assert!(l.contains(", ETA "), "{l}");
    }
    // stdin has no size: bytes read, no share, no ETA.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args([
            "load",
            "-",
            "--table",
            "t",
            "--url",
            &url,
            "--chunk-rows",
            "10",
            "--workers",
            "1",
            "--method",
            "insert",
            "--progress-lines",
            "0.1",
            "--load-id",
            "stdin",
            "--truncate",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), rows(3000, &[]).as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" read, ") && !l.contains("ETA")),
        "{err}"
    );
}

#[test]
fn cli_messages_say_things_once_in_plain_words() {
    let (url, dir) = exit_db("cli_messages");
    // The server's error once, with its SQLSTATE.
    crate::support::client(&url)
        .batch_execute("CREATE TABLE dz (id int, n int CHECK (1 / n > 0))")
        .unwrap();
    let f = file(&dir, "dz.csv", "id,n\n1,0\n");
    let o = chunkload(&["load", &f, "--table", "dz", "--url", &url, "-q"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("division by zero").count(), 1, "{err}");
    assert!(
        err.contains("SQLSTATE 22012") && !err.contains("db error"),
        "{err}"
    );
    // A duplicate key: the server's detail inside the parentheses, no `.;`.
    let f = file(&dir, "dup.csv", "id,n\n9,1\n9,2\n");
    let o = load(&url, &f, &["--method", "insert"]);
    let err = stderr(&o);
    assert!(err.contains("Key (id)=(9) already exists)"), "{err}");
    assert!(err.contains("lines 2–3") && !err.contains(".;"), "{err}");
    // Plurals.
    let f = file(&dir, "one.csv", "id,n\n1,1\n");
    let o = chunkload(&["load", &f, "--table", "t", "--url", &url, "--workers", "1"]);
    let err = stderr(&o);
    assert!(
        err.contains("loaded 1 row into") && err.contains("from 1 file: 1 chunk,"),
        "{err}"
    );
    assert!(err.contains("(copy, 1 worker)"), "{err}");
    // Records larger than --chunk-bytes: one warning and a count.
    let wide: String = (1..=50).map(|i| format!("{i},{i:08}\n")).collect();
    let f = file(&dir, "wide.csv", &format!("id,n\n{wide}"));
    let o = load(&url, &f, &["--chunk-bytes", "4", "--truncate"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches("larger than --chunk-bytes").count(), 2, "{err}");
    assert!(
        err.contains("50 records were larger than --chunk-bytes"),
        "{err}"
    );
    // --skip-lines past the end.
    let f = file(&dir, "short.csv", "id,n\n1,1\n");
    let o = load(&url, &f, &["--skip-lines", "10"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--skip-lines 10 skips past the end"), "{err}");
}

#[test]
fn cli_compressed_input_read_as_text_or_cut_short_says_so() {
    use std::io::Write;
    let (url, dir) = exit_db("cli_gzip");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(rows(20_000, &[]).as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let stdin_load = |extra: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chunkload"))
            .args(["load", "-", "--table", "t", "--url", &url, "-q"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(&gz);
        child.wait_with_output().unwrap()
    };
    // gzip on stdin without --compression: the magic bytes say gzip.
    let o = stdin_load(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(crate::support::count(&url, "t"), 20_000);
    crate::support::client(&url)
        .batch_execute("TRUNCATE t")
        .unwrap();
    // Read as text on purpose: the error says what the bytes are.
    let o = stdin_load(&["--compression", "none", "--fresh"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("gzip-compressed: pass --compression gzip (nothing was committed)"),
        "{err}"
    );
    // A truncated .gz after some chunks: what happened, and how many rows stay.
    let cut = dir.path().join("cut.csv.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = load(
        &url,
        cut.to_str().unwrap(),
        &["--chunk-rows", "100", "--workers", "1"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let kept = crate::support::count(&url, "t");
    assert!(kept > 0, "{err}");
    assert!(err.contains("the compressed input ends early"), "{err}");
    assert!(
        err.contains(&format!("{kept} rows stay committed")),
        "{err}"
    );
}
