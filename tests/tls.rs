//! TLS modes against a real PostgreSQL with a certificate signed by a test CA.
//!
//! The server is started here (initdb + pg_ctl into a temp dir, as the `postgres` user when
//! the tests run as root) and stopped by a guard, also when an assertion fails.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use chunkload::connect::{connect, connect_host, detect_flavour, ConnectOptions, Flavour};
use chunkload::ErrorKind;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// The directory holding initdb, pg_ctl and postgres.
fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries: no pg_config and no /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server binary, as `postgres` when we are root (the server refuses to run as root).
fn pg_command(bin: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn chown_to_postgres(path: &Path) {
    if !is_root() {
        return;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops the server when dropped, so a failed assertion does not leave it running.
struct Server {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = pg_command(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .output();
    }
}

struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn make_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (p.self_signed(&key).unwrap(), key)
}

/// A CA and a leaf for `localhost` only (no IP address in the certificate).
fn make_pki() -> Pki {
    let (ca, ca_key) = make_ca("chunkload test CA");
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = p.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn start_server(pki: &Pki) -> Server {
    let bindir = pg_bindir();
    let dir = tempfile::tempdir().unwrap();
    chown_to_postgres(dir.path());
    let root = dir.path().to_path_buf();
    let data = root.join("data");

    let out = pg_command(&bindir.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cert = root.join("server.crt");
    let key = root.join("server.key");
    fs::write(&cert, &pki.cert_pem).unwrap();
    fs::write(&key, &pki.key_pem).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    chown_to_postgres(&cert);
    chown_to_postgres(&key);

    let port = free_port();
    let mut conf = fs::read_to_string(data.join("postgresql.conf")).unwrap();
    conf.push_str(&format!(
        "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
         ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
        root.display(),
        cert.display(),
        key.display()
    ));
    fs::write(data.join("postgresql.conf"), conf).unwrap();

    let server = Server {
        bindir: bindir.clone(),
        data: data.clone(),
        port,
        _dir: dir,
    };
    let log = root.join("server.log");
    let out = pg_command(&bindir.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "30", "start"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        fs::read_to_string(&log).unwrap_or_default()
    );
    server
}

fn uses_tls(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

fn opts(url: &str) -> ConnectOptions {
    ConnectOptions::parse(url).unwrap()
}

/// The connect error's message; panics if the connection succeeded or failed otherwise.
fn refused(url: &str) -> String {
    match connect(&opts(url)) {
        Ok(_) => panic!("connection to {url} should have been refused"),
        Err(e) => match e.into_kind() {
            ErrorKind::Connect { msg, .. } => msg,
            other => panic!("expected a Connect error, got {other:?}"),
        },
    }
}

#[test]
fn tls_modes_against_local_postgres() {
    let pki = make_pki();
    let server = start_server(&pki);
    let port = server.port;

    let certs = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.crt");
    fs::write(&ca, &pki.ca_pem).unwrap();
    let wrong_ca = certs.path().join("wrong-ca.crt");
    fs::write(&wrong_ca, make_ca("someone else").0.pem()).unwrap();
    let (ca, wrong_ca) = (ca.display(), wrong_ca.display());
    let url =
        |host: &str, query: &str| format!("postgres://postgres@{host}:{port}/postgres?{query}");

    // verify-full: the chain and the name `localhost` both check out.
    let mut c = connect(&opts(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )))
    .unwrap();
    assert!(uses_tls(&mut c));
    assert_eq!(detect_flavour(&mut c).unwrap(), Flavour::Postgres);
    let app: String = c
        .query_one("SELECT current_setting('application_name')", &[])
        .unwrap()
        .get(0);
    assert_eq!(app, "chunkload");

    // verify-full to 127.0.0.1: the certificate names only `localhost`.
    let msg = refused(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(msg.contains("not valid for name \"127.0.0.1\""), "{msg}");
    assert!(msg.contains("sslmode=verify-ca"), "{msg}");
    eprintln!("verify-full by address: {msg}");

    // verify-ca to the same address: the chain is enough.
    let mut c = connect(&opts(&url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    )))
    .unwrap();
    assert!(uses_tls(&mut c));

    // A CA that did not sign the server certificate is refused under verify-ca and
    // verify-full, and under require too once given (libpq behaviour).
    for mode in ["verify-ca", "verify-full", "require"] {
        let msg = refused(&url(
            "localhost",
            &format!("sslmode={mode}&sslrootcert={wrong_ca}"),
        ));
        assert!(msg.contains("UnknownIssuer"), "{mode}: {msg}");
        assert!(
            msg.contains("not signed by a CA in sslrootcert"),
            "{mode}: {msg}"
        );
        eprintln!("{mode} with the wrong CA: {msg}");
    }

    // require without a root certificate: TLS, no verification.
    let mut c = connect(&opts(&url("127.0.0.1", "sslmode=require"))).unwrap();
    assert!(uses_tls(&mut c));

    // prefer: TLS because the server offers it.
    let mut c = connect(&opts(&url("127.0.0.1", ""))).unwrap();
    assert!(uses_tls(&mut c));

    // disable: plaintext.
    let mut c = connect(&opts(&url("127.0.0.1", "sslmode=disable"))).unwrap();
    assert!(!uses_tls(&mut c));

    // Multi-host: a dead host first; connect() moves on, connect_host() targets one.
    let dead = free_port();
    let multi = opts(&format!(
        "postgres://postgres:hunter2@127.0.0.1:{dead},localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    ));
    let mut c = connect(&multi).unwrap();
    assert!(uses_tls(&mut c));
    let mut c = connect_host(&multi, 3).unwrap(); // 3 % 2 == 1: the live host
    assert!(uses_tls(&mut c));
    let e = connect_host(&multi, 0).err().expect("dead host must fail");
    let text = e.to_string();
    assert!(text.contains(&format!("127.0.0.1:{dead}")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("postgres:***@"), "{text}");

    drop(server);
}
