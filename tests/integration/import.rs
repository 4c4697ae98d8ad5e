//! `chunkload import`: sharding properties, golden statements, the shard file server,
//! `--emit copy` against `chunkload load` on the shared server, and the command line.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chunkload::import::{
    prepare, Emit, ImportOptions, ImportPlan, ShardCompression, ShardServer, POSTGRES_REFUSAL,
};
use flate2::read::MultiGzDecoder;
use proptest::prelude::*;

use crate::cli::{chunkload, stderr};
use crate::support::{client, fresh_db};

fn read_shard(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
        out
    } else {
        raw
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn records(data: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    r.byte_records()
        .map(|rec| rec.unwrap().iter().map(<[u8]>::to_vec).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Property test: shards concatenated equal the input's data, byte for byte.
// ---------------------------------------------------------------------------------------

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,6}",
        "[a-z ,\"|\t]{0,5}",
        "[a-z]{0,3}(\n|\r\n)[a-z,]{0,3}",
        "[é€a-z]{1,4}",
        Just(String::new()),
    ]
}

/// Quotes a field when it needs it (or at random), PostgreSQL/RFC 4180 style.
fn encode_field(f: &str, delimiter: u8, force_quote: bool) -> String {
    let needs = f.is_empty() && force_quote
        || f.bytes()
            .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if needs || force_quote {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

#[derive(Debug, Clone)]
struct Case {
    rows: Vec<Vec<(String, bool)>>,
    crlf: bool,
    bom: bool,
    header: bool,
    trailing_newline: bool,
    gzip_out: bool,
    gzip_in: bool,
    shards: usize,
    delimiter: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..5).prop_flat_map(|cols| {
        (
            prop::collection::vec(prop::collection::vec((field(), any::<bool>()), cols), 0..40),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            1usize..7,
            prop::sample::select(vec![b',', b'\t', b'|']),
        )
            .prop_map(
                |(rows, crlf, bom, header, trailing_newline, gzip_out, gzip_in, shards, d)| Case {
                    rows,
                    crlf,
                    bom,
                    header,
                    trailing_newline,
                    gzip_out,
                    gzip_in,
                    shards,
                    delimiter: d,
                },
            )
    })
}

/// Builds the input: (whole file, offset where the data starts, each record's bytes).
fn render(c: &Case) -> (Vec<u8>, usize, Vec<usize>) {
    let eol = if c.crlf { "\r\n" } else { "\n" };
    let d = char::from(c.delimiter).to_string();
    let mut out = Vec::new();
    if c.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    if c.header {
        let cols = c.rows.first().map_or(2, Vec::len);
        let names: Vec<String> = (0..cols).map(|i| format!("c{i}")).collect();
        out.extend_from_slice(names.join(&d).as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    let data_start = out.len();
    let mut sizes = Vec::new();
    for (i, row) in c.rows.iter().enumerate() {
        let mut line = row
            .iter()
            .map(|(f, q)| encode_field(f, c.delimiter, *q))
            .collect::<Vec<_>>()
            .join(&d);
        if i + 1 < c.rows.len() || c.trailing_newline {
            line.push_str(eol);
        }
        sizes.push(line.len());
        out.extend_from_slice(line.as_bytes());
    }
    (out, data_start, sizes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn shards_concatenate_to_the_input_records(c in case()) {
        let (input, data_start, sizes) = render(&c);
        let dir = tempfile::tempdir().unwrap();
        let in_path = dir.path().join(if c.gzip_in { "in.csv.gz" } else { "in.csv" });
        fs::write(&in_path, if c.gzip_in { gzip(&input) } else { input.clone() }).unwrap();
        let mut opts = ImportOptions::new(&in_path, "t", c.shards, dir.path().join("out"));
        opts.delimiter = c.delimiter;
        opts.has_header = c.header;
        if !c.header {
            opts.columns = Some((0..c.rows.first().map_or(2, Vec::len)).map(|i| format!("k{i}")).collect());
        }
        opts.compress = if c.gzip_out { ShardCompression::Gzip } else { ShardCompression::None };
        if c.rows.is_empty() {
            // No records: nothing to import, and no file is written.
            prop_assert!(prepare(&opts).is_err());
            prop_assert_eq!(fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
            return Ok(());
        }
        let plan = prepare(&opts).unwrap();
        // Never an empty shard: at most one per record.
        prop_assert!(plan.shards().len() <= c.shards.min(c.rows.len()));
        prop_assert!(plan.shards().iter().all(|s| s.records > 0));

        let mut concat = Vec::new();
        for s in plan.shards() {
            prop_assert_eq!(s.file_name.ends_with(".gz"), c.gzip_out);
            let bytes = read_shard(&s.path);
            prop_assert_eq!(bytes.len() as u64, s.data_bytes);
            prop_assert_eq!(records(&bytes, c.delimiter).len() as u64, s.records);
            if !bytes.is_empty() {
                prop_assert!(bytes[0] != b'\n' && bytes[0] != b'\r', "shard starts with a line break");
            }
            concat.extend_from_slice(&bytes);
        }
        prop_assert_eq!(&concat[..], &input[data_start..]);
        prop_assert_eq!(records(&concat, c.delimiter), records(&input[data_start..], c.delimiter));
        prop_assert_eq!(plan.total_records(), c.rows.len() as u64);

        // Every shard is within one record (plus rounding) of the ideal size.
        let total = (input.len() - data_start) as f64;
        let ideal = total / c.shards as f64;
        let max_rec = sizes.iter().copied().max().unwrap_or(0) as f64;
        for s in plan.shards() {
            prop_assert!(
                (s.data_bytes as f64 - ideal).abs() <= max_rec + 1.0,
                "shard {} has {} bytes, ideal {ideal}, largest record {max_rec}", s.file_name, s.data_bytes
            );
        }
        let header_cols: Vec<String> = (0..c.rows.first().map_or(2, Vec::len))
            .map(|i| format!("{}{i}", if c.header { "c" } else { "k" }))
            .collect();
        prop_assert_eq!(plan.columns(), Some(&header_cols[..]));
    }
}

#[test]
fn quoted_field_with_many_newlines_is_never_split() {
    let dir = tempfile::tempdir().unwrap();
    let body = "x\n".repeat(500);
    let input = format!("id,note\n1,\"{body}\"\n2,b\n3,c\n");
    let in_path = dir.path().join("in.csv");
    fs::write(&in_path, &input).unwrap();
    let plan = prepare(&ImportOptions::new(&in_path, "t", 4, dir.path().join("o"))).unwrap();
    for s in plan.shards() {
        let data = fs::read(&s.path).unwrap();
        // Each shard parses into whole records, and the big one is intact where it lands.
        for rec in records(&data, b',') {
            assert_eq!(rec.len(), 2);
            if rec[0] == b"1" {
                assert_eq!(rec[1], body.as_bytes());
            }
        }
    }
    assert_eq!(plan.total_records(), 3);
}

#[test]
fn failed_prepare_leaves_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.csv");
    fs::write(&in_path, "a,b\n1,2\n3,4,5\n").unwrap();
    let out = dir.path().join("o");
    let err = prepare(&ImportOptions::new(&in_path, "t", 2, &out)).unwrap_err();
    let loc = err.location().expect("a data error with a location");
    assert_eq!((loc.pos.record, loc.pos.line, loc.pos.byte), (2, 3, 8));
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn compressed_input_and_keep_header() {
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.csv.zst");
    let raw = b"id,v\n1,a\n2,b\n3,c\n4,d\n";
    fs::write(&in_path, zstd::encode_all(&raw[..], 3).unwrap()).unwrap();
    let mut opts = ImportOptions::new(&in_path, "t", 2, dir.path().join("o"));
    opts.keep_header = true;
    let plan = prepare(&opts).unwrap();
    let mut data = Vec::new();
    for s in plan.shards() {
        let bytes = fs::read(&s.path).unwrap();
        assert!(bytes.starts_with(b"id,v\n"));
        data.extend_from_slice(&bytes[5..]);
    }
    assert_eq!(&data[..], &raw[5..]);
    assert!(plan.statement().contains("skip = '1'"));
    assert!(plan.copy_statements()[0].contains("HEADER true"));
}

// ---------------------------------------------------------------------------------------
// Golden statements.
// ---------------------------------------------------------------------------------------

fn plan_for(
    table: &str,
    input: &str,
    shards: usize,
    f: impl FnOnce(&mut ImportOptions),
) -> (tempfile::TempDir, ImportPlan) {
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.csv");
    fs::write(&in_path, input).unwrap();
    let mut opts = ImportOptions::new(&in_path, table, shards, dir.path().join("out"));
    f(&mut opts);
    let plan = prepare(&opts).unwrap();
    (dir, plan)
}

const SIMPLE: &str = "id,name\n1,a\n2,b\n3,c\n4,d\n";

#[test]
fn golden_nodelocal_default() {
    let (_d, plan) = plan_for("accounts", SIMPLE, 2, |_| {});
    assert_eq!(
        plan.statement(),
        "IMPORT INTO \"accounts\" (\"id\", \"name\")\n    CSV DATA (\n        'nodelocal://1/out/accounts.1.csv',\n        'nodelocal://1/out/accounts.2.csv'\n    )\n    WITH nullif = '';"
    );
    assert_eq!(plan.redacted_statement(), plan.statement());
    assert!(plan.userfile_commands().is_empty());
    let sql = fs::read_to_string(plan.import_sql_path()).unwrap();
    assert!(sql.ends_with(&format!("{}\n", plan.statement())));
    assert!(sql.contains("-- IMPORT INTO takes the table offline"));
}

#[test]
fn golden_userfile_with_quoting_tab_and_gzip() {
    // The header names a column `a"b`, quoted as PostgreSQL CSV (and `load`) reads it.
    let input = "\"a\"\"b\"\tit's\n1\tx\n2\t\n";
    let (_d, plan) = plan_for("my schema.a\"b", input, 2, |o| {
        o.delimiter = b'\t';
        o.compress = ShardCompression::Gzip;
        o.base_url = Some("userfile:///imp".into());
    });
    assert_eq!(
        plan.statement(),
        "IMPORT INTO \"my schema\".\"a\"\"b\" (\"a\"\"b\", \"it's\")\n    CSV DATA (\n        'userfile:///imp/my_schema.a_b.1.csv.gz',\n        'userfile:///imp/my_schema.a_b.2.csv.gz'\n    )\n    WITH delimiter = e'\\t', nullif = '', decompress = 'gzip';"
    );
    let dir = plan.dir().display().to_string();
    assert_eq!(
        plan.userfile_commands(),
        vec![
            format!("cockroach userfile upload {dir}/my_schema.a_b.1.csv.gz /imp/my_schema.a_b.1.csv.gz --url \"$COCKROACH_URL\""),
            format!("cockroach userfile upload {dir}/my_schema.a_b.2.csv.gz /imp/my_schema.a_b.2.csv.gz --url \"$COCKROACH_URL\""),
        ]
    );
    assert_eq!(
        plan.copy_statements()[0].replace(&dir, "<DIR>"),
        "COPY \"my schema\".\"a\"\"b\" (\"a\"\"b\", \"it's\") FROM PROGRAM 'gzip -dc <DIR>/my_schema.a_b.1.csv.gz' WITH (FORMAT csv, DELIMITER e'\\t', NULL '', QUOTE '\"', ESCAPE '\"');"
    );
}

#[test]
fn golden_userfile_qualified_destination() {
    let (_d, plan) = plan_for("t", SIMPLE, 1, |o| {
        o.base_url = Some("userfile://defaultdb.public.userfiles_root/x".into());
    });
    assert!(plan
        .statement()
        .contains("'userfile://defaultdb.public.userfiles_root/x/t.1.csv'"));
    assert!(plan.userfile_commands()[0]
        .contains(" userfile://defaultdb.public.userfiles_root/x/t.1.csv --url"));
}

#[test]
fn golden_http_with_null_marker_that_needs_quoting() {
    let (_d, plan) = plan_for("t", "id|v\n1|it's\n", 1, |o| {
        o.delimiter = b'|';
        o.null = "it's".into();
        o.base_url = Some("http://10.0.0.5:8080".into());
    });
    assert_eq!(
        plan.statement(),
        "IMPORT INTO \"t\" (\"id\", \"v\")\n    CSV DATA (\n        'http://10.0.0.5:8080/t.1.csv'\n    )\n    WITH delimiter = '|', nullif = 'it''s';"
    );
    let dir = plan.dir().display().to_string();
    assert_eq!(
        plan.copy_statements()[0].replace(&dir, "<DIR>"),
        "COPY \"t\" (\"id\", \"v\") FROM '<DIR>/t.1.csv' WITH (FORMAT csv, DELIMITER '|', NULL 'it''s', QUOTE '\"', ESCAPE '\"');"
    );
}

#[test]
fn golden_s3_credentials_redacted_on_terminal_kept_in_file() {
    let url = "s3://bkt/load/2024?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=s3cr'et&AWS_SESSION_TOKEN=tok";
    let (_d, plan) = plan_for("t", SIMPLE, 2, |o| o.base_url = Some(url.into()));
    assert_eq!(
        plan.statement(),
        "IMPORT INTO \"t\" (\"id\", \"name\")\n    CSV DATA (\n        's3://bkt/load/2024/t.1.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=s3cr''et&AWS_SESSION_TOKEN=tok',\n        's3://bkt/load/2024/t.2.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=s3cr''et&AWS_SESSION_TOKEN=tok'\n    )\n    WITH nullif = '';"
    );
    assert_eq!(
        plan.redacted_statement(),
        "IMPORT INTO \"t\" (\"id\", \"name\")\n    CSV DATA (\n        's3://bkt/load/2024/t.1.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=***&AWS_SESSION_TOKEN=***',\n        's3://bkt/load/2024/t.2.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=***&AWS_SESSION_TOKEN=***'\n    )\n    WITH nullif = '';"
    );
    assert!(!plan.redacted_statement().contains("s3cr"));
    let sql = fs::read_to_string(plan.import_sql_path()).unwrap();
    assert!(sql.contains("AWS_SECRET_ACCESS_KEY=s3cr''et"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(plan.import_sql_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "import.sql with secrets must be private");
    }
}

#[test]
fn golden_gs_no_header_columns_and_keep_schema() {
    let (_d, plan) = plan_for("public.t", "1,a\n2,b\n", 1, |o| {
        o.has_header = false;
        o.base_url = Some("gs://bucket/p?AUTH=specified&CREDENTIALS=c2VjcmV0".into());
    });
    assert_eq!(
        plan.statement(),
        "IMPORT INTO \"public\".\"t\"\n    CSV DATA (\n        'gs://bucket/p/public.t.1.csv?AUTH=specified&CREDENTIALS=c2VjcmV0'\n    )\n    WITH nullif = '';"
    );
    assert!(plan.redacted_statement().contains("CREDENTIALS=***'"));
    let (_d2, named) = plan_for("t", "1,a\n", 1, |o| {
        o.has_header = false;
        o.columns = Some(vec!["id".into(), "it's".into()]);
        o.base_url = Some("https://user:pw@files.example/x/".into());
    });
    assert!(named
        .statement()
        .starts_with("IMPORT INTO \"t\" (\"id\", \"it's\")"));
    assert!(named
        .statement()
        .contains("'https://user:pw@files.example/x/t.1.csv'"));
    assert!(named
        .redacted_statement()
        .contains("'https://user:***@files.example/x/t.1.csv'"));
}

#[test]
fn caveats_and_notes_name_the_risks() {
    let (_d, plan) = plan_for("t", SIMPLE, 1, |o| o.base_url = Some("http://h:1/".into()));
    let all = plan.caveats().join("\n");
    for must in [
        "offline",
        "primary key",
        "unique",
        "foreign keys",
        "every constraint of the table unvalidated",
        "INSERT",
        "DROP",
        "http(s)://",
        "nodelocal://",
        "admin role or the EXTERNALIOIMPLICITACCESS",
    ] {
        assert!(all.contains(must), "caveats lack {must:?}");
    }
    assert!(plan.notes()[0].contains("HTTP"));
    assert!(plan.copy_notes()[0].contains("readable by its OS user"));
}

#[test]
fn bad_base_url_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.csv");
    fs::write(&in_path, SIMPLE).unwrap();
    let mut opts = ImportOptions::new(&in_path, "t", 1, dir.path().join("o"));
    opts.base_url = Some("ftp://u:secret@h/x".into());
    let err = prepare(&opts).unwrap_err();
    assert!(err.to_string().contains("unsupported scheme"));
    assert!(!err.to_string().contains("secret"));
    assert_eq!(fs::read_dir(dir.path().join("o")).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------
// The shard file server.
// ---------------------------------------------------------------------------------------

/// Sends one raw request line (no URL normalisation, unlike real clients) and returns the
/// status code.
pub(crate) fn raw_status(addr: std::net::SocketAddr, target: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let resp = String::from_utf8_lossy(&raw);
    resp.split(' ').nth(1).unwrap_or("0").parse().unwrap()
}

struct Running {
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    handle: std::thread::JoinHandle<()>,
}

fn start_server(dir: &Path, once: Option<Vec<String>>) -> Running {
    let server = ShardServer::bind(dir, "127.0.0.1:0").unwrap();
    let files = match &once {
        Some(names) => names.clone(),
        None => chunkload::import::shard_files(dir).unwrap(),
    };
    let addr = server.local_addr();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = Arc::clone(&log);
    let handle = std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        server
            .run(&files, once.is_some(), &stop, |l| {
                log2.lock().unwrap().push(l.to_string())
            })
            .unwrap();
    });
    Running { addr, log, handle }
}

fn wait_finished<T>(h: &std::thread::JoinHandle<T>, secs: u64) -> bool {
    let t = Instant::now();
    while !h.is_finished() && t.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(20));
    }
    h.is_finished()
}

#[test]
fn server_serves_shards_byte_exact_and_nothing_else() {
    let body: String = (0..2000).map(|i| format!("{i},\"line\n{i}\"\n")).collect();
    let (d, plan) = plan_for("t", &format!("id,v\n{body}"), 3, |o| {
        o.compress = ShardCompression::Gzip;
    });
    let outside = d.path().join("secret.txt");
    fs::write(&outside, "top secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, plan.dir().join("link.csv")).unwrap();
    fs::create_dir(plan.dir().join("sub")).unwrap();

    let srv = start_server(plan.dir(), None);
    let base = format!("http://{}", srv.addr);
    for s in plan.shards() {
        let resp = ureq::get(&format!("{base}/{}", s.file_name))
            .call()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.header("Content-Length").unwrap(),
            s.file_bytes.to_string()
        );
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert_eq!(got, fs::read(&s.path).unwrap(), "{} differs", s.file_name);
    }
    let first = &plan.shards()[0];
    let head = ureq::head(&format!("{base}/{}", first.file_name))
        .call()
        .unwrap();
    assert_eq!(
        head.header("Content-Length").unwrap(),
        first.file_bytes.to_string()
    );
    let part = ureq::get(&format!("{base}/{}", first.file_name))
        .set("Range", "bytes=3-9")
        .call()
        .unwrap();
    assert_eq!(part.status(), 206);
    let mut got = Vec::new();
    part.into_reader().read_to_end(&mut got).unwrap();
    assert_eq!(got, fs::read(&first.path).unwrap()[3..10]);

    match ureq::get(&format!("{base}/missing.csv")).call() {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let secret_abs = outside.display().to_string();
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        &format!("/{secret_abs}"),
        &format!("/%2F{}", &secret_abs[1..]),
        "/link.csv",
        "/sub",
        "/",
        "/etc/passwd",
    ] {
        assert_eq!(raw_status(srv.addr, target), 404, "{target}");
    }
    assert_eq!(raw_status(srv.addr, &format!("/{}", first.file_name)), 200);
    let log = srv.log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.contains(&format!("GET /{} 200", first.file_name))),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("GET /%2e%2e/secret.txt 404")));
    assert!(
        !srv.handle.is_finished(),
        "without --serve-once the server keeps running"
    );
}

#[test]
fn serve_once_stops_after_every_shard_was_fetched_completely() {
    let (_d, plan) = plan_for("t", SIMPLE, 2, |_| {});
    let names: Vec<String> = plan.shards().iter().map(|s| s.file_name.clone()).collect();
    assert_eq!(chunkload::import::shard_files(plan.dir()).unwrap(), names);
    let srv = start_server(plan.dir(), Some(names.clone()));
    let base = format!("http://{}", srv.addr);
    // A HEAD and a partial range do not count as a download.
    ureq::head(&format!("{base}/{}", names[0])).call().unwrap();
    let part = ureq::get(&format!("{base}/{}", names[0]))
        .set("Range", "bytes=0-1")
        .call()
        .unwrap();
    part.into_string().unwrap();
    ureq::get(&format!("{base}/{}", names[1]))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        !wait_finished(&srv.handle, 1),
        "stopped before shard 1 was complete"
    );
    // The rest of shard 1, as a resumed read would ask for it.
    ureq::get(&format!("{base}/{}", names[0]))
        .set("Range", "bytes=2-")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        wait_finished(&srv.handle, 10),
        "did not stop after all shards were served"
    );
    let log = srv.log.lock().unwrap().clone();
    assert!(
        log.last().unwrap().contains("all 2 shards served"),
        "{log:?}"
    );
}
// ---------------------------------------------------------------------------------------
// --emit copy on the shared throwaway PostgreSQL, against `chunkload load`.
// ---------------------------------------------------------------------------------------

/// Makes a tree readable by the server's OS user (`postgres`): the tests run as root and
/// tempdirs are 0700, but a server-side COPY is read by the server process.
fn share_with_server(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).unwrap();
    let mode = if meta.is_dir() { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    if meta.is_dir() {
        for e in fs::read_dir(path).unwrap() {
            share_with_server(&e.unwrap().path());
        }
    }
}

type Row = (i32, Option<String>, Option<String>, Option<String>);

fn create_table(c: &mut postgres::Client, table: &str) {
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, name text, note text, amount numeric)"
    ))
    .unwrap();
}

fn table_rows(c: &mut postgres::Client, table: &str) -> Vec<Row> {
    c.query(
        &format!("SELECT id, name, note, amount::text FROM {table} ORDER BY id"),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// Loads the original file with the real `chunkload load`, same dialect.
fn reference_load(url: &str, table: &str, file: &Path, delim: char, null: &str) {
    let o = chunkload(&[
        "--url",
        url,
        "load",
        file.to_str().unwrap(),
        "--table",
        table,
        "--delimiter",
        &delim.to_string(),
        "--null",
        null,
        "--quiet",
    ]);
    assert!(o.status.success(), "chunkload load: {}", stderr(&o));
}

fn tricky_csv(d: char, null: &str) -> String {
    let mut s = format!("id{d}name{d}note{d}amount\r\n");
    for i in 0..300 {
        let name = match i % 5 {
            0 => String::new(),          // unquoted empty: NULL when null is ''
            1 => "\"\"".to_string(),     // quoted empty: empty string, never NULL
            2 => format!("\"n{d}{i}\""), // delimiter inside quotes
            3 => null.to_string(),       // the NULL marker itself
            _ => format!("\"it's \"\"q\"\" {i}\""),
        };
        let note = if i % 7 == 0 {
            format!("\"multi\nline\r\n{i}\"")
        } else {
            format!("n{i}")
        };
        let amount = if i % 4 == 0 {
            null.to_string()
        } else {
            format!("{i}.5")
        };
        s.push_str(&format!("{i}{d}{name}{d}{note}{d}{amount}\r\n"));
    }
    s
}

fn assert_same_rows(got: &[Row], want: &[Row], what: &str) {
    assert_eq!(want.len(), 300, "{what}: the load");
    assert_eq!(
        got, want,
        "{what}: COPY of the shards differs from the load"
    );
    // The NULL semantics survived: unquoted NULL marker is NULL, quoted "" is ''.
    assert!(got.iter().any(|r| r.1.is_none()), "{what}");
    assert!(got.iter().any(|r| r.1.as_deref() == Some("")), "{what}");
    assert!(got.iter().any(|r| r.3.is_none()), "{what}");
    assert!(
        got.iter()
            .any(|r| r.2.as_deref().is_some_and(|s| s.contains("\r\n"))),
        "{what}"
    );
}

#[test]
fn emit_copy_loads_the_same_rows_as_a_load_and_execute_refuses_on_postgres() {
    let url = fresh_db("import_emit_copy");
    let mut c = client(&url);
    let work = tempfile::tempdir().unwrap();
    for (n, (delim, null, compress)) in [
        (',', "", ShardCompression::None),
        ('\t', "\\N", ShardCompression::Gzip),
        ('|', "NA", ShardCompression::None),
    ]
    .into_iter()
    .enumerate()
    {
        let (a, b) = (format!("ref_{n}"), format!("sharded_{n}"));
        create_table(&mut c, &a);
        create_table(&mut c, &b);
        let case_dir: PathBuf = work.path().join(format!("case{n}"));
        fs::create_dir(&case_dir).unwrap();
        let input = case_dir.join("in.csv");
        fs::write(&input, tricky_csv(delim, null)).unwrap();
        let mut opts = ImportOptions::new(&input, &b, 3, case_dir.join("shards"));
        opts.delimiter = delim as u8;
        opts.null = null.to_string();
        opts.compress = compress;
        opts.emit = Emit::Copy;
        let plan = prepare(&opts).unwrap();
        share_with_server(work.path());
        assert_eq!(plan.copy_statements().len(), 3);
        assert!(plan.copy_sql_path().unwrap().exists());

        let err =
            chunkload::import::execute(&mut c, &plan, chunkload::Flavour::Postgres).unwrap_err();
        assert_eq!(err.to_string(), POSTGRES_REFUSAL);
        assert_eq!(err.outcome(), chunkload::error::Outcome::Usage);
        assert!(err.to_string().contains("chunkload load"));
        assert!(err.to_string().contains("--emit copy"));

        reference_load(&url, &a, &input, delim, null);
        for stmt in plan.copy_statements() {
            c.batch_execute(stmt).unwrap();
        }
        let (want, got) = (table_rows(&mut c, &a), table_rows(&mut c, &b));
        assert_same_rows(&got, &want, &format!("case {n}"));
    }
}

// ---------------------------------------------------------------------------------------
// The command line.
// ---------------------------------------------------------------------------------------

pub(crate) fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_import_writes_shards_and_redacts_credentials_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, "id|name\n1|a\n2|\"b|c\"\n3|NA\n4|d\n5|e\n").unwrap();
    let out = dir.path().join("shards");
    let base =
        "s3://bkt/imp?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=hunter2xyz";
    let o = chunkload(&[
        "import",
        input.to_str().unwrap(),
        "--table",
        "public.t",
        "--shards",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--delimiter",
        "|",
        "--null",
        "NA",
        "--compress",
        "gzip",
        "--base-url",
        base,
    ]);
    let (so, se) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{se}");
    // Shards: gzip, together the input's data records.
    let mut data = Vec::new();
    for i in 1..=3 {
        data.extend(read_shard(&out.join(format!("public.t.{i}.csv.gz"))));
    }
    assert_eq!(
        String::from_utf8(data).unwrap(),
        "1|a\n2|\"b|c\"\n3|NA\n4|d\n5|e\n"
    );
    // The terminal: redacted statement on stdout, caveats and notes on stderr.
    for text in [&so, &se] {
        assert!(!text.contains("hunter2xyz"), "secret leaked:\n{text}");
    }
    assert!(
        so.starts_with("IMPORT INTO \"public\".\"t\" (\"id\", \"name\")"),
        "{so}"
    );
    assert_eq!(so.matches("AWS_SECRET_ACCESS_KEY=***").count(), 3, "{so}");
    assert!(
        so.contains("'s3://bkt/imp/public.t.1.csv.gz?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1"),
        "{so}"
    );
    assert!(
        so.contains("WITH delimiter = '|', nullif = 'NA', decompress = 'gzip';"),
        "{so}"
    );
    assert!(se.contains("wrote 3 shards (5 records"), "{se}");
    assert!(
        se.contains("caveat: IMPORT INTO takes the table offline"),
        "{se}"
    );
    assert!(se.contains("primary key"), "{se}");
    assert!(se.contains("bucket prefix"), "{se}");
    // import.sql keeps the real URLs.
    let sql = fs::read_to_string(out.join("import.sql")).unwrap();
    assert_eq!(
        sql.matches("AWS_SECRET_ACCESS_KEY=hunter2xyz").count(),
        3,
        "{sql}"
    );
    assert!(!out.join("copy.sql").exists());
}

#[test]
fn cli_import_bad_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, SIMPLE).unwrap();
    let out = dir.path().join("o");
    let base = [
        "import",
        input.to_str().unwrap(),
        "--table",
        "t",
        "--out",
        out.to_str().unwrap(),
    ];
    for extra in [
        &["--shards", "0"][..],
        &["--shards", "2", "--delimiter", "ab"],
        &["--shards", "2", "--base-url", "ftp://u:topsecret@h/x"],
        &["--shards", "2", "--serve-once"],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = chunkload(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("topsecret"), "{}", stderr(&o));
    }
    assert!(!out.join("t.1.csv").exists());
}

#[test]
fn cli_import_execute_on_postgres_refuses_with_code_2() {
    let url = fresh_db("import_execute_refuses");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, SIMPLE).unwrap();
    let out = dir.path().join("shards");
    let o = chunkload(&[
        "--url",
        &url,
        "import",
        input.to_str().unwrap(),
        "--table",
        "t",
        "--shards",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--execute",
    ]);
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{se}");
    assert!(se.contains("PostgreSQL"), "{se}");
    assert!(se.contains("chunkload load"), "{se}");
    assert!(se.contains("--emit copy"), "{se}");
    assert_eq!(se.trim_end().lines().count(), 1, "{se}");
    // Refused before any work: no shards, nothing in the database.
    assert!(!out.exists());
}

#[test]
fn cli_import_emit_copy_execute_equals_chunkload_load() {
    let url = fresh_db("import_cli_emit_copy");
    let mut c = client(&url);
    create_table(&mut c, "loaded");
    create_table(&mut c, "copied");
    let work = tempfile::tempdir().unwrap();
    share_with_server(work.path());
    let input = work.path().join("in.csv");
    fs::write(&input, tricky_csv(';', "")).unwrap();
    reference_load(&url, "loaded", &input, ';', "");
    let out = work.path().join("shards");
    let o = chunkload(&[
        "--url",
        &url,
        "import",
        input.to_str().unwrap(),
        "--table",
        "copied",
        "--shards",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--delimiter",
        ";",
        "--compress",
        "gzip",
        "--emit",
        "copy",
        "--execute",
    ]);
    let (so, se) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{se}");
    // A PostgreSQL target: the COPY statements, not IMPORT INTO with CockroachDB's caveats.
    assert!(!se.contains("caveat: IMPORT INTO"), "{se}");
    assert!(!so.contains("IMPORT INTO"), "{so}");
    assert!(se.contains("pg_execute_server_program"), "{se}");
    assert_eq!(so.matches("COPY \"copied\"").count(), 4, "{so}");
    assert!(so.contains("copy finished: 300 rows"), "{so}");
    assert!(out.join("copy.sql").exists());
    let (want, got) = (table_rows(&mut c, "loaded"), table_rows(&mut c, "copied"));
    assert_same_rows(&got, &want, "cli --emit copy --execute");
}

/// A `chunkload import ... --serve 127.0.0.1:0` child, its stderr read line by line.
pub(crate) struct Serving {
    child: std::process::Child,
    pub(crate) addr: String,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
    log: Vec<String>,
}

/// Starts the command on `input` into `out` and waits for its "serving ..." line.
pub(crate) fn spawn_serving(input: &Path, out: &Path, extra: &[&str]) -> Serving {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .arg("import")
        .arg(input)
        .args(["--table", "t", "--shards", "3", "--serve", "127.0.0.1:0"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no 'serving' line ({e}): {log:?}"));
        log.push(line.clone());
        if let Some(rest) = line.strip_prefix("serving ") {
            let at = rest.find("http://").expect("an address") + "http://".len();
            let end = rest[at..].find('/').unwrap() + at;
            break rest[at..end].to_string();
        }
    };
    Serving {
        child,
        addr,
        lines,
        reader,
        log,
    }
}

impl Serving {
    /// Waits (at most 20 s) for the child to exit; returns its exit code and stdout.
    pub(crate) fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        let t = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("chunkload import --serve did not exit: {:?}", self.log);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.reader.join().unwrap();
        self.log.extend(self.lines.try_iter());
        let mut so = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut so)
            .unwrap();
        (status.code(), so, self.log)
    }
}

#[test]
fn cli_import_serve_once_exits_0_after_every_shard_was_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let body: String = (0..3000).map(|i| format!("{i},\"v\n{i}\"\n")).collect();
    fs::write(&input, format!("id,v\n{body}")).unwrap();
    let out = dir.path().join("shards");
    let srv = spawn_serving(&input, &out, &["--serve-once"]);
    let addr = srv.addr.clone();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    // A HEAD does not count; each shard fetched fully once does.
    let names = ["t.1.csv", "t.2.csv", "t.3.csv"];
    ureq::head(&format!("http://{addr}/{}", names[0]))
        .call()
        .unwrap();
    let mut served = Vec::new();
    for name in names {
        let resp = ureq::get(&format!("http://{addr}/{name}")).call().unwrap();
        assert_eq!(resp.status(), 200);
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert_eq!(got, fs::read(out.join(name)).unwrap(), "{name}");
        served.extend(got);
    }
    assert_eq!(String::from_utf8(served).unwrap(), body);
    let (code, so, log) = srv.finish();
    assert_eq!(code, Some(0), "{log:?}");
    // The statement names the port actually bound.
    assert!(so.contains(&format!("'http://{addr}/t.1.csv'")), "{so}");
    for name in names {
        assert!(
            log.iter()
                .any(|l| l.contains(&format!("GET /{name} 200")) && l.ends_with(" bytes")),
            "{name} not logged as complete: {log:?}"
        );
    }
    assert!(
        log.iter().any(|l| l.contains("HEAD /t.1.csv 200")),
        "{log:?}"
    );
    assert!(
        log.last().unwrap().contains("all 3 shards served"),
        "{log:?}"
    );
}

#[test]
fn serve_function_logs_start_and_returns_with_once() {
    let (_d, plan) = plan_for("t", SIMPLE, 2, |_| {});
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = plan.dir().to_path_buf();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let log2 = Arc::clone(&log);
    let a2 = addr.clone();
    let h = std::thread::spawn(move || {
        chunkload::import::serve(&dir, &a2, true, |l| log2.lock().unwrap().push(l.into()))
    });
    let t = Instant::now();
    for s in plan.shards() {
        let got = loop {
            match ureq::get(&format!("http://{addr}/{}", s.file_name)).call() {
                Ok(r) => break r.into_string().unwrap(),
                Err(_) if t.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(got.as_bytes(), fs::read(&s.path).unwrap());
    }
    assert!(wait_finished(&h, 10));
    h.join().unwrap().unwrap();
    let log = log.lock().unwrap().clone();
    assert!(
        log[0].starts_with("serving ") && log[0].contains(&addr),
        "{log:?}"
    );
    assert_eq!(log.iter().filter(|l| l.contains(" 200 ")).count(), 2);
}

#[test]
fn cli_import_serve_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, SIMPLE).unwrap();
    let interrupt = |srv: &Serving| {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(srv.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
    };

    // Plain --serve: Ctrl-C is the normal end.
    let srv = spawn_serving(&input, &dir.path().join("a"), &[]);
    let got = ureq::get(&format!("http://{}/t.1.csv", srv.addr))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(got, "1,a\n");
    interrupt(&srv);
    let (code, _, log) = srv.finish();
    assert_eq!(code, Some(0), "{log:?}");
    assert!(
        log.iter().any(|l| l.contains("GET /t.1.csv 200")),
        "{log:?}"
    );
    assert!(log.last().unwrap().contains("stopped (Ctrl-C)"), "{log:?}");

    // --serve-once interrupted before every shard was fetched: 130, and says so.
    let srv = spawn_serving(&input, &dir.path().join("b"), &["--serve-once"]);
    interrupt(&srv);
    let (code, _, log) = srv.finish();
    assert_eq!(code, Some(130), "{log:?}");
    assert!(
        log.last()
            .unwrap()
            .contains("before every shard was fetched"),
        "{log:?}"
    );
}

#[test]
fn unterminated_quote_is_reported_as_load_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.csv");
    fs::write(&in_path, "id,name\n1,a\n2,\"open\n3,c\n").unwrap();
    let opts = ImportOptions::new(&in_path, "t", 2, dir.path().join("out"));
    let err = prepare(&opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 3, byte 12, record 2: unterminated quoted field: the quote opened on \
             line 3 (byte 14) is never closed",
            in_path.display()
        )
    );
    assert!(!dir.path().join("out").join("t.1.csv").exists());
}
