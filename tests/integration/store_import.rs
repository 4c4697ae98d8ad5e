//! Issue 25 point 3 for Azure and GCS: `import --out az://…` and `--out gs://…` against
//! Azurite and gcp-storage-emulator (`emulators.rs`), as `s3_import.rs` does for S3:
//! shards byte-equal to a local `--out` (plain, gzip, and one sent in several blocks or
//! chunks), the statement's URLs and their redaction, `import.sql` local and 0600,
//! `--force` deleting only this table's shards, a refused credential failing at once with
//! exit 2 and no secret, and a failed upload leaving no object behind.
//!
//! Failures are made by a [`Gate`] in front of the emulator: it forwards every request
//! and refuses the ones a rule picks, as a store that refuses a credential would.

use crate::cli::stderr;
use crate::emulators::{self, Server, ACCOUNT, KEY, TOKEN};
use crate::support::accounts_file;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An emulator with a container (bucket) `data`.
struct Out {
    server: Server,
    azure: bool,
}

impl Out {
    fn azure() -> Out {
        let server = emulators::azurite();
        emulators::azure_container(&server, "data");
        Out {
            server,
            azure: true,
        }
    }

    fn gcs() -> Out {
        let server = emulators::gcs();
        emulators::gcs_bucket(&server, "data");
        Out {
            server,
            azure: false,
        }
    }

    fn scheme(&self) -> &'static str {
        if self.azure {
            "az"
        } else {
            "gs"
        }
    }

    /// The credential no output may show.
    fn secret(&self) -> &'static str {
        if self.azure {
            KEY
        } else {
            TOKEN
        }
    }

    fn put(&self, name: &str, data: &[u8]) {
        if self.azure {
            emulators::azure_blob(&self.server, "data", name, data);
        } else {
            emulators::gcs_object(&self.server, "data", name, data);
        }
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        if self.azure {
            emulators::azure_read(&self.server, "data", name)
        } else {
            emulators::gcs_read(&self.server, "data", name)
        }
    }

    fn names(&self) -> Vec<String> {
        if self.azure {
            emulators::azure_names(&self.server, "data")
        } else {
            emulators::gcs_names(&self.server, "data")
        }
    }

    /// `import FILE --table accounts --sql-out SQL EXTRA…` against the store at
    /// `endpoint` (the emulator, or a gate in front of it) with `secret` as credential.
    fn import_via(
        &self,
        endpoint: &str,
        secret: &str,
        file: &Path,
        sql: &Path,
        extra: &[&str],
    ) -> Output {
        let mut args = vec![
            "import",
            file.to_str().unwrap(),
            "--table",
            "accounts",
            "--sql-out",
            sql.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut c = self.server.command(&args);
        if self.azure {
            let cs = emulators::connection_string(endpoint, secret);
            c.env("AZURE_STORAGE_CONNECTION_STRING", cs);
        } else {
            c.env("STORAGE_EMULATOR_HOST", endpoint)
                .env("GOOGLE_OAUTH_ACCESS_TOKEN", secret);
        }
        c.output().unwrap()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    fn import(&self, file: &Path, sql: &Path, extra: &[&str]) -> Output {
        self.import_via(&self.endpoint(), self.secret(), file, sql, extra)
    }

    fn no_secret(&self, o: &Output) {
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
        assert!(!all.contains(self.secret()), "{all}");
        assert!(!all.contains("SharedKey"), "{all}");
    }
}

fn local(file: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(&args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Every named file of `dir` equals the object `prefix` + name.
fn same_as_local(out: &Out, dir: &Path, prefix: &str, names: &[&str]) {
    for name in names {
        let want = std::fs::read(dir.join(name)).unwrap();
        let got = out.read(&format!("{prefix}{name}")).expect(name);
        assert!(got == want, "{name}: {} vs {} bytes", got.len(), want.len());
    }
}

/// A loopback HTTP forwarder in front of an emulator that refuses (403, with the
/// store's error code) the requests `refuse` picks by method and URL; it logs every
/// request as `METHOD URL`.
struct Gate {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

type Rule = Box<dyn Fn(&str, &str) -> bool + Send>;

impl Gate {
    fn start(upstream: u16, refuse: Rule) -> Gate {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().redirects(0).build();
            for _ in 0..100_000 {
                if stop2.load(SeqCst) {
                    return;
                }
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(200)) else {
                    continue;
                };
                let (method, url) = (req.method().to_string(), req.url().to_string());
                log2.lock().unwrap().push(format!("{method} {url}"));
                if refuse(&method, &url) {
                    let body = r#"{"error":{"code":403,"errors":[{"reason":"forbidden"}]}}"#;
                    let code =
                        tiny_http::Header::from_bytes("x-ms-error-code", "AuthorizationFailure");
                    let _ = req.respond(
                        tiny_http::Response::from_string(body)
                            .with_status_code(403)
                            .with_header(code.unwrap()),
                    );
                    continue;
                }
                let mut body = Vec::new();
                std::io::Read::read_to_end(req.as_reader(), &mut body).unwrap();
                let mut fwd = agent.request(&method, &format!("http://127.0.0.1:{upstream}{url}"));
                for h in req.headers() {
                    let name = h.field.as_str().as_str().to_ascii_lowercase();
                    if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                        fwd = fwd.set(h.field.as_str().as_str(), h.value.as_str());
                    }
                }
                let resp = match fwd.send_bytes(&body) {
                    Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                    Err(e) => panic!("gate: {e}"),
                };
                let mut out =
                    tiny_http::Response::from_data(Vec::new()).with_status_code(resp.status());
                for name in resp.headers_names() {
                    let lower = name.to_ascii_lowercase();
                    if matches!(
                        lower.as_str(),
                        "content-length" | "connection" | "transfer-encoding"
                    ) {
                        continue;
                    }
                    // A session URL names the emulator: it must name the gate.
                    let v = resp.header(&name).unwrap_or("").replace(
                        &format!("127.0.0.1:{upstream}"),
                        &format!("127.0.0.1:{port}"),
                    );
                    out.add_header(
                        tiny_http::Header::from_bytes(name.as_bytes(), v.as_bytes()).unwrap(),
                    );
                }
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut resp.into_reader(), &mut data).unwrap();
                let _ = req
                    .respond(out.with_data(std::io::Cursor::new(data.clone()), Some(data.len())));
            }
        });
        Gate { port, log, stop }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}

fn uploads_equal_local_ones(out: Out) {
    let dir = tempfile::tempdir().unwrap();
    // About 7 MB.
    let csv = accounts_file(dir.path(), 150_000, 3);
    let sql = dir.path().join("import.sql");
    let s = out.scheme();
    let first = out.import(
        &csv,
        &sql,
        &["--shards", "3", "--out", &format!("{s}://data/imp")],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    out.no_secret(&first);
    let names = ["accounts.1.csv", "accounts.2.csv", "accounts.3.csv"];
    local(&csv, &dir.path().join("plain"), &["--shards", "3"]);
    same_as_local(&out, &dir.path().join("plain"), "imp/", &names);
    // The statement: CockroachDB's scheme and parameters; *** on the terminal, the
    // credential (percent-encoded) in import.sql, 0600.
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    let (scheme, query) = if out.azure {
        (
            "azure-blob",
            format!("?AZURE_ACCOUNT_NAME={ACCOUNT}&AZURE_ACCOUNT_KEY={{}}"),
        )
    } else {
        ("gs", "?AUTH=specified&BEARER_TOKEN={}".to_string())
    };
    for n in names {
        let shown = format!("'{scheme}://data/imp/{n}{}'", query.replace("{}", "***"));
        assert!(stdout.contains(&shown), "{shown} not in {stdout}");
    }
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(out.secret(), VALUE).to_string();
    let text = std::fs::read_to_string(&sql).unwrap();
    let real = format!(
        "'{scheme}://data/imp/accounts.1.csv{}'",
        query.replace("{}", &encoded)
    );
    assert!(text.contains(&real), "{real} not in {text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sql).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        stderr(&first).contains("wrote 3 shards"),
        "{}",
        stderr(&first)
    );

    // One shard in 1 MiB blocks (chunks), through a gate that only logs.
    let gate = Gate::start(out.server.port, Box::new(|_, _| false));
    let one = out.import_via(
        &gate.endpoint(),
        out.secret(),
        &csv,
        &sql,
        &[
            "--shards",
            "1",
            "--out",
            &format!("{s}://data/one/"),
            "--part-size",
            "1048576",
        ],
    );
    assert!(one.status.success(), "{}", stderr(&one));
    let log = gate.log();
    let parts = log
        .iter()
        .filter(|l| {
            l.starts_with("PUT ") && (l.contains("comp=block&") || l.contains("upload_id="))
        })
        .count();
    assert!(parts >= 7, "not sent in parts: {log:?}");
    local(&csv, &dir.path().join("one"), &["--shards", "1"]);
    same_as_local(&out, &dir.path().join("one"), "one/", &["accounts.1.csv"]);

    // gzip shards as a local --out writes them; the nodes' own credentials.
    let gz = out.import(
        &csv,
        &sql,
        &[
            "--shards",
            "2",
            "--out",
            &format!("{s}://data/gz/"),
            "--compress",
            "gzip",
            "--out-auth",
            "implicit",
        ],
    );
    assert!(gz.status.success(), "{}", stderr(&gz));
    local(
        &csv,
        &dir.path().join("gz"),
        &["--shards", "2", "--compress", "gzip"],
    );
    same_as_local(
        &out,
        &dir.path().join("gz"),
        "gz/",
        &["accounts.1.csv.gz", "accounts.2.csv.gz"],
    );
    let text = std::fs::read_to_string(&sql).unwrap();
    let implicit = if out.azure {
        format!("accounts.2.csv.gz?AUTH=implicit&AZURE_ACCOUNT_NAME={ACCOUNT}'")
    } else {
        "accounts.2.csv.gz?AUTH=implicit'".to_string()
    };
    assert!(text.contains(&implicit), "{text}");
    assert!(
        !text.contains(&encoded) && text.contains("decompress = 'gzip'"),
        "{text}"
    );
}

#[test]
fn azure_uploads_equal_local_shards_and_the_statement_carries_the_key() {
    uploads_equal_local_ones(Out::azure());
}

#[test]
fn gcs_uploads_equal_local_shards_and_the_statement_carries_the_token() {
    uploads_equal_local_ones(Out::gcs());
}

fn force_keeps_foreign_objects(out: Out) {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 3_000, 4);
    let foreign = [
        "imp/notes.txt",
        "imp/other.1.csv",
        "imp/accounts.csv",
        "imp/sub/accounts.1.csv",
        "elsewhere/accounts.1.csv",
    ];
    for k in foreign {
        out.put(k, k.as_bytes());
    }
    let sql = dir.path().join("import.sql");
    let to = format!("{}://data/imp/", out.scheme());
    let first = out.import(&csv, &sql, &["--shards", "3", "--out", &to]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = out.names();
    let again = out.import(&csv, &sql, &["--shards", "2", "--out", &to]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already holds 3 shards of accounts"),
        "{}",
        stderr(&again)
    );
    assert_eq!(out.names(), before);
    let forced = out.import(&csv, &sql, &["--shards", "2", "--out", &to, "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let mut want: Vec<String> = foreign.iter().map(|k| k.to_string()).collect();
    want.extend(["imp/accounts.1.csv".into(), "imp/accounts.2.csv".into()]);
    want.sort();
    assert_eq!(out.names(), want);
    for k in foreign {
        assert_eq!(out.read(k).unwrap(), k.as_bytes(), "{k}");
    }
    local(&csv, &dir.path().join("two"), &["--shards", "2"]);
    same_as_local(
        &out,
        &dir.path().join("two"),
        "imp/",
        &["accounts.1.csv", "accounts.2.csv"],
    );
}

#[test]
fn azure_force_replaces_only_this_tables_blobs() {
    force_keeps_foreign_objects(Out::azure());
}

#[test]
fn gcs_force_replaces_only_this_tables_objects() {
    force_keeps_foreign_objects(Out::gcs());
}

fn refused_fails_at_once(out: Out, endpoint: &str, secret: &str) {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 2_000, 5);
    let sql = dir.path().join("import.sql");
    let started = Instant::now();
    let to = format!("{}://data/imp/", out.scheme());
    let o = out.import_via(
        endpoint,
        secret,
        &csv,
        &sql,
        &["--shards", "2", "--out", &to],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "retried: {err}"
    );
    assert!(err.contains(&to) && err.contains("HTTP 403"), "{err}");
    let all = format!("{}{err}", String::from_utf8_lossy(&o.stdout));
    assert!(
        !all.contains(secret) && !all.contains(KEY) && !all.contains(TOKEN),
        "{all}"
    );
    assert!(!sql.exists());
    assert!(out.names().is_empty(), "{:?}", out.names());
}

#[test]
fn azure_a_wrong_key_fails_at_once_with_exit_2_and_no_key_shown() {
    let out = Out::azure();
    // Valid base64, not the account's: Azurite refuses the signature.
    let wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk=";
    let endpoint = out.endpoint();
    refused_fails_at_once(out, &endpoint, wrong);
}

#[test]
fn gcs_a_refused_token_fails_at_once_with_exit_2_and_no_token_shown() {
    let out = Out::gcs();
    // The emulator takes any token: the gate refuses every request, as Google does.
    let gate = Gate::start(out.server.port, Box::new(|_, _| true));
    let endpoint = gate.endpoint();
    refused_fails_at_once(out, &endpoint, TOKEN);
}

fn a_failed_upload_leaves_nothing(out: Out) {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 150_000, 6);
    out.put("imp/keep.txt", b"keep");
    let sql = dir.path().join("import.sql");
    // The second shard's third block (chunk) is refused, after two were stored.
    let parts = std::sync::atomic::AtomicUsize::new(0);
    let gate = Gate::start(
        out.server.port,
        Box::new(move |method, url| {
            let part = url.contains("comp=block&") || url.contains("upload_id=");
            method == "PUT" && part && url.contains("accounts.2.csv") && {
                parts.fetch_add(1, SeqCst) == 2
            }
        }),
    );
    let to = format!("{}://data/imp/", out.scheme());
    let o = out.import_via(
        &gate.endpoint(),
        out.secret(),
        &csv,
        &sql,
        &["--shards", "2", "--out", &to, "--part-size", "1048576"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{to}accounts.2.csv: HTTP 403")),
        "{err}"
    );
    out.no_secret(&o);
    let log = gate.log();
    // The first shard was stored, then deleted again; the second never completed.
    assert!(
        log.iter()
            .any(|l| l.starts_with("DELETE ") && l.contains("accounts.1.csv")),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.contains("accounts.2.csv") && l.contains("comp=blocklist")),
        "committed: {log:?}"
    );
    if !out.azure {
        // The session was cancelled (Azure has no such call: its blocks just expire).
        let cancel = |l: &String| {
            l.starts_with("DELETE ") && l.contains("accounts.2.csv") && l.contains("upload_id=")
        };
        assert!(log.iter().any(cancel), "no cancel: {log:?}");
    }
    assert_eq!(out.names(), vec!["imp/keep.txt".to_string()]);
    assert!(!sql.exists(), "import.sql written for a failed import");
}

#[test]
fn azure_a_failed_upload_commits_no_blob_and_leaves_the_container_as_found() {
    a_failed_upload_leaves_nothing(Out::azure());
}

#[test]
fn gcs_a_failed_upload_makes_no_object_and_leaves_the_bucket_as_found() {
    a_failed_upload_leaves_nothing(Out::gcs());
}
