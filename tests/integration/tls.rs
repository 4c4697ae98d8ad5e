//! TLS modes against a real PostgreSQL with a certificate signed by a test CA.
//!
//! The throwaway server is started with `ssl=on` and a certificate the test makes.

use std::fs;

use chunkload::cluster::{ClusterOptions, LocalCluster, TlsFiles};
use chunkload::connect::{connect, connect_host, ConnectOptions};
use chunkload::ErrorKind;
use chunkload::Flavour;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

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

fn start_server(pki: &Pki) -> LocalCluster {
    LocalCluster::start_with(&ClusterOptions {
        durable: false,
        tls: Some(TlsFiles {
            cert_pem: pki.cert_pem.clone(),
            key_pem: pki.key_pem.clone(),
        }),
        ..ClusterOptions::default()
    })
    .expect("start a TLS-serving throwaway server")
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

/// The connect error's message; panics if the connection succeeded, failed otherwise, or
/// failed in a way classified as worth retrying.
fn refused(url: &str) -> String {
    match connect(&opts(url)) {
        Ok(_) => panic!("connection to {url} should have been refused"),
        Err(e) => match e.into_kind() {
            ErrorKind::Connect { msg, permanent, .. } => {
                // A refused certificate does not change by retrying: fail at once.
                assert!(permanent, "{msg}");
                msg
            }
            other => panic!("expected a Connect error, got {other:?}"),
        },
    }
}

#[test]
fn tls_modes_against_local_postgres() {
    let pki = make_pki();
    let server = start_server(&pki);
    let port = server.port();

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
    assert_eq!(Flavour::detect(&mut c).unwrap(), Flavour::Postgres);
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
    let dead = chunkload::cluster::free_port().unwrap();
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
