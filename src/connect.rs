//! Connection strings, TLS and the server flavour.
//!
//! One URL names the target: `postgres://`, `postgresql://` or `cockroachdb://`, with the
//! libpq multi-host form `postgres://u:p@h1:26257,h2,h3/db` so a load can spread its
//! connections over the nodes of a cluster ([`connect_host`] takes a host index). libpq's
//! keyword/value strings, Unix-socket hosts (`/dir`), the `PG*` variables and the password
//! file are in the `libpq` submodule ([`ConnectOptions::from_env`], [`is_permanent`]).
//!
//! TLS is done here, with rustls, because `postgres::Config` knows neither `verify-ca`,
//! `verify-full` nor `sslrootcert`. The modes follow libpq:
//!
//! | sslmode       | TLS                         | certificate check            |
//! |---------------|-----------------------------|------------------------------|
//! | `disable`     | never                       | –                            |
//! | `prefer`      | if the server accepts it    | none                         |
//! | `require`     | always                      | none (chain if `sslrootcert`)|
//! | `verify-ca`   | always                      | chain                        |
//! | `verify-full` | always                      | chain and host name          |
//!
//! Passwords never leave this module in clear: [`redact`] masks them in URLs, and error
//! texts from the driver are scrubbed of the password before they are wrapped.

use std::fmt;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use postgres::config::SslMode as PgSslMode;
use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{db_message, Error, ErrorKind, Result};

mod reconnect;
pub use reconnect::Connect;
pub(crate) use reconnect::{connect_with_backoff, with_reconnect, Connector};

mod libpq;
mod service;

use libpq::Settings;
pub use libpq::{
    is_permanent, keyword_values, pgpass_lookup, read_passfile, Environment,
    VARIABLES as LIBPQ_VARIABLES,
};

/// A host naming a Unix-socket directory rather than a TCP host.
fn is_socket(host: &str) -> bool {
    host.starts_with('/')
}

/// `application_name` reported to the server unless the URL sets one, so a DBA can tell
/// loader sessions apart in `pg_stat_activity` / `SHOW SESSIONS`.
pub const DEFAULT_APPLICATION_NAME: &str = "chunkload";

/// Seconds to wait for a TCP connection when the URL does not say.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

/// How much to trust the network; the libpq `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS or fail; the certificate is checked only when `sslrootcert` is given.
    Require,
    /// TLS with the certificate chain checked, but not the host name.
    VerifyCa,
    /// TLS with the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// The spelling used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq also knows `allow`; without a fallback-to-TLS path, `prefer` is closest.
            "allow" => SslMode::Prefer,
            other => {
                return Err(Error::usage(format!(
                    "invalid sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full"
                )))
            }
        })
    }
}

/// A parsed connection URL: hosts, credentials, TLS and session settings.
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    redacted: String,
    cockroach_scheme: bool,
    hosts: Vec<(String, u16)>,
    user: Option<String>,
    password: Option<String>,
    /// Per host, from the password file, when no password was given.
    host_passwords: Vec<Option<String>>,
    dbname: Option<String>,
    ssl_mode: SslMode,
    ssl_root_cert: Option<PathBuf>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    connect_timeout: Option<Duration>,
    application_name: String,
    options: Option<String>,
    /// What the environment's resolution ignored ([`Environment::warnings`]).
    warnings: Vec<String>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.redacted)
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.has_password().then_some("***"))
            .field("dbname", &self.dbname)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("ssl_cert", &self.ssl_cert)
            .field("ssl_key", &self.ssl_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .finish()
    }
}

impl FromStr for ConnectOptions {
    type Err = Error;

    fn from_str(s: &str) -> Result<ConnectOptions> {
        ConnectOptions::parse(s)
    }
}

fn decode(part: &str, what: &str, url: &str) -> Result<String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            Error::usage(format!(
                "invalid connection URL {}: {what} is not valid UTF-8 after percent-decoding",
                redact(url)
            ))
        })
}

/// Splits `h1:1,[::1]:2,h3` into hosts and the ports written next to them.
fn parse_hosts(spec: &str, url: &str) -> Result<Vec<(String, Option<u16>)>> {
    let bad = |why: String| Error::usage(format!("invalid connection URL {}: {why}", redact(url)));
    let mut hosts = Vec::new();
    for item in spec.split(',') {
        let (host, port) = if let Some(rest) = item.strip_prefix('[') {
            let end = rest
                .find(']')
                .ok_or_else(|| bad(format!("unterminated IPv6 address in {item:?}")))?;
            let host = &rest[..end];
            let after = &rest[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad(format!("unexpected {after:?} after IPv6 address"))),
            };
            (host.to_string(), port)
        } else {
            match item.rsplit_once(':') {
                Some((h, p)) => (decode(h, "a host name", url)?, Some(p)),
                None => (decode(item, "a host name", url)?, None),
            }
        };
        let port = match port {
            None | Some("") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| bad(format!("invalid port {p:?}")))?,
            ),
        };
        hosts.push((host, port));
    }
    Ok(hosts)
}

/// Reads a URL into `set`; returns whether it is a `cockroachdb://` URL.
fn parse_url(url: &str, set: &mut Settings) -> Result<bool> {
    let bad = |why: &str| Error::usage(format!("invalid connection URL {}: {why}", redact(url)));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected postgres://, postgresql:// or cockroachdb://"))?;
    let cockroach_scheme = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => false,
        "cockroachdb" | "cockroach" => true,
        _ => {
            return Err(bad(&format!(
                "unsupported scheme {scheme:?}: expected postgres, postgresql or cockroachdb"
            )))
        }
    };
    let (userinfo, rest) = split_userinfo(rest, true);
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (hostspec, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    if let Some(ui) = userinfo {
        let (u, p) = match ui.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (ui, None),
        };
        if !u.is_empty() {
            set.user = Some(decode(u, "the user name", url)?);
        }
        if let Some(p) = p {
            set.password = Some(decode(p, "the password", url)?);
        }
    }
    let hosts = parse_hosts(hostspec, url)?;
    // `postgres:///db` names no host: like libpq, the environment or default decides.
    if hosts.iter().any(|(h, p)| !h.is_empty() || p.is_some()) || hosts.len() > 1 {
        set.hosts = Some(hosts);
    }
    if !path.is_empty() {
        set.dbname = Some(decode(path, "the database name", url)?);
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k, "a query parameter", url)?;
        let value = decode(v, &format!("parameter {key}"), url)?;
        set.set(&key, value, "query parameter")
            .map_err(|why| bad(&why))?;
    }
    Ok(cockroach_scheme)
}

impl ConnectOptions {
    /// Parses a `postgres://`, `postgresql://` or `cockroachdb://` URL, or a libpq
    /// keyword/value string (`host=/run/postgresql port=5432 dbname=db`), without looking
    /// at the environment (see [`ConnectOptions::from_env`]).
    ///
    /// Hosts default to `localhost`, ports to 5432 (26257 for `cockroachdb://`), sslmode to
    /// `prefer`, connect_timeout to 10 s and application_name to `chunkload`. A host
    /// starting with `/` is a Unix-socket directory. Unknown parameters are refused rather
    /// than silently ignored. Errors are [`ErrorKind::Usage`] and show the string redacted.
    pub fn parse(url: &str) -> Result<ConnectOptions> {
        ConnectOptions::resolve(Some(url), &Environment::empty())
    }

    /// Like libpq: the string (`--url`, `DATABASE_URL`) wins per field, the `PG*`
    /// variables and the password file fill the rest, then libpq's defaults (socket
    /// directory or localhost, port 5432, the OS user, a database named after the user).
    pub fn from_env(url: Option<&str>) -> Result<ConnectOptions> {
        ConnectOptions::resolve(url, &Environment::from_process())
    }

    /// [`ConnectOptions::from_env`] with an explicit environment.
    pub fn resolve(url: Option<&str>, env: &Environment) -> Result<ConnectOptions> {
        let s = url.unwrap_or("");
        let what = if s.contains("://") { "URL" } else { "string" };
        let bad =
            |why: &str| Error::usage(format!("invalid connection {what} {}: {why}", redact(s)));
        let mut set = Settings::default();
        let cockroach_scheme = if s.contains("://") {
            parse_url(s, &mut set)?
        } else if s.trim().is_empty() || s.contains('=') {
            for (k, v) in keyword_values(s).map_err(|why| bad(&why))? {
                set.set(&k, v, "keyword").map_err(|why| bad(&why))?;
            }
            false
        } else {
            return Err(bad(
                "expected postgres://, postgresql:// or cockroachdb:// URL, or keyword=value pairs",
            ));
        };
        libpq::finish(set, cockroach_scheme, redact(s), env).map_err(|why| bad(&why))
    }

    /// The URL as given, with the password masked: safe for logs and errors.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// Every `(host, port)` of the URL, in order; at least one.
    pub fn hosts(&self) -> Vec<(String, u16)> {
        self.hosts.clone()
    }

    /// How many hosts the URL names, to spread connections round-robin.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// True for `cockroachdb://` URLs (a hint only; [`crate::Flavour::detect`] asks the server).
    pub fn is_cockroach_scheme(&self) -> bool {
        self.cockroach_scheme
    }

    /// The user name, when the URL gives one.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// What resolving the options ignored, one sentence each, for the caller to show (a
    /// password file others can read is ignored, as libpq does).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether the URL carries a password (its value stays private).
    pub fn has_password(&self) -> bool {
        self.password.is_some() || self.host_passwords.iter().any(Option::is_some)
    }

    /// The database name, when the URL gives one.
    pub fn dbname(&self) -> Option<&str> {
        self.dbname.as_deref()
    }

    /// Points the options at another database, e.g. to create the target database first.
    pub fn set_dbname(&mut self, dbname: impl Into<String>) {
        self.dbname = Some(dbname.into());
    }

    /// The TLS mode.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The CA bundle that verifies the server, when given.
    pub fn ssl_root_cert(&self) -> Option<&Path> {
        self.ssl_root_cert.as_deref()
    }

    /// The TCP connect timeout; `None` waits forever (`connect_timeout=0`).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The session's `application_name` (`chunkload` unless the URL set one).
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// The `options` startup parameter (e.g. `--cluster=name`), when given.
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// A driver config for one host, `host_index` taken modulo the host count so callers
    /// can pass a worker number to spread connections round-robin.
    ///
    /// TLS is not in it: use [`connect_host`], which adds the connector for the sslmode.
    pub fn host_config(&self, host_index: usize) -> postgres::Config {
        let i = host_index % self.hosts.len();
        let (host, port) = &self.hosts[i];
        let mut c = postgres::Config::new();
        c.host(host).port(*port);
        if let Some(u) = &self.user {
            c.user(u);
        }
        if let Some(p) = self.password.as_ref().or(self.host_passwords[i].as_ref()) {
            c.password(p);
        }
        if let Some(d) = &self.dbname {
            c.dbname(d);
        }
        if let Some(o) = &self.options {
            c.options(o);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        c.application_name(&self.application_name);
        c.ssl_mode(match self.ssl_mode {
            // libpq never uses TLS over a Unix socket.
            _ if is_socket(host) => PgSslMode::Disable,
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
        c
    }

    /// Masks the password in any text (e.g. a driver error) before it is shown.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for p in self
            .password
            .iter()
            .chain(self.host_passwords.iter().flatten())
        {
            if !p.is_empty() {
                let encoded = utf8_percent_encode(p, NON_ALPHANUMERIC).to_string();
                out = out.replace(p.as_str(), "***").replace(&encoded, "***");
            }
        }
        out
    }

    fn connect_error(&self, msg: String) -> Error {
        self.connect_failure(msg, false, None)
    }

    fn connect_failure(&self, msg: String, permanent: bool, sqlstate: Option<String>) -> Error {
        ErrorKind::Connect {
            url: self.redacted.clone(),
            msg: self.scrub(&msg),
            permanent,
            sqlstate,
        }
        .into()
    }
}

/// Masks the password of a connection string for logs and error messages.
///
/// `postgres://root:secret@host/db` becomes `postgres://root:***@host/db`, and every
/// `password=` value (URL query or keyword/value form) becomes `***`.
pub fn redact(url: &str) -> String {
    let (prefix, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(prefix);
    let rest = match split_userinfo(rest, !prefix.is_empty()) {
        (Some(userinfo), after) => {
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push('@');
            after
        }
        (None, rest) => rest,
    };
    out.push_str(&redact_password_params(rest));
    out
}

/// Splits `user:password@` off the part after `scheme://`.
///
/// Normally the user info ends at the last '@' before the first '/', '?' or '#'. Passwords
/// are often pasted without percent-encoding, so when that finds none, the rightmost '@'
/// whose prefix has a ':' and does not look like a path with a query (`?k=`) is taken:
/// better to mask too much than to print half a password.
fn split_userinfo(rest: &str, is_url: bool) -> (Option<&str>, &str) {
    let plausible = |before: &str| is_url || !before.contains([' ', '\t', '\n', '=']);
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..auth_end].rfind('@') {
        if plausible(&rest[..at]) {
            return (Some(&rest[..at]), &rest[at + 1..]);
        }
    }
    for (at, _) in rest.rmatch_indices('@') {
        let before = &rest[..at];
        let query_like = before.find('?').is_some_and(|q| before[q..].contains('='));
        if before.contains(':') && !query_like && plausible(before) {
            return (Some(before), &rest[at + 1..]);
        }
    }
    (None, rest)
}

/// Replaces the value of every `password=` parameter, in `?a=b&password=x` and in
/// `host=h password='x y'` form alike.
fn redact_password_params(s: &str) -> String {
    const KEY: &str = "password=";
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(off) = lower[i..].find(KEY) {
        let start = i + off;
        let at_boundary = start == 0
            || matches!(
                s.as_bytes()[start - 1],
                b'?' | b'&' | b' ' | b'\t' | b'\n' | b';'
            );
        let vstart = start + KEY.len();
        out.push_str(&s[i..vstart]);
        if !at_boundary {
            i = vstart;
            continue;
        }
        let bytes = s.as_bytes();
        let vend = if bytes.get(vstart) == Some(&b'\'') {
            // Quoted keyword/value form: up to the closing unescaped quote.
            let mut j = vstart + 1;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' => j += 2,
                    b'\'' => {
                        j += 1;
                        break;
                    }
                    _ => j += 1,
                }
            }
            j.min(bytes.len())
        } else {
            s[vstart..]
                .find(['&', '#', ' ', '\t', '\n'])
                .map_or(s.len(), |e| vstart + e)
        };
        out.push_str("***");
        i = vend;
    }
    out.push_str(&s[i..]);
    out
}

/// Accepts any server certificate: `prefer`, and `require` without a root certificate.
/// The handshake signatures are still checked, so the peer holds the certificate's key.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full WebPKI check, minus the host name. The name check is the last
/// step of [`WebPkiServerVerifier`], so a name error means the chain already passed.
#[derive(Debug)]
struct VerifyChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for VerifyChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn load_roots(path: Option<&Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match path {
        // libpq 16: `sslrootcert=system` means the usual public CAs.
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(p) if p == Path::new("system") => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
        }
        Some(p) => {
            let pem = read_pem(p, "sslrootcert")?;
            let mut n = 0;
            for cert in rustls_pemfile::certs(&mut BufReader::new(&pem[..])) {
                let cert = cert.map_err(|e| {
                    Error::usage(format!("sslrootcert {}: bad PEM: {e}", p.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    Error::usage(format!("sslrootcert {}: bad certificate: {e}", p.display()))
                })?;
                n += 1;
            }
            if n == 0 {
                return Err(Error::usage(format!(
                    "sslrootcert {}: no PEM certificate found",
                    p.display()
                )));
            }
        }
    }
    Ok(roots)
}

fn load_client_auth(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let pem = read_pem(cert, "sslcert")?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(&pem[..]))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::usage(format!("sslcert {}: bad PEM: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "sslcert {}: no PEM certificate found",
            cert.display()
        )));
    }
    let pem = read_pem(key, "sslkey")?;
    let key_der = rustls_pemfile::private_key(&mut BufReader::new(&pem[..]))
        .map_err(|e| Error::usage(format!("sslkey {}: bad PEM: {e}", key.display())))?
        .ok_or_else(|| Error::usage(format!("sslkey {}: no private key found", key.display())))?;
    Ok((certs, key_der))
}

/// Builds the rustls connector for a mode that may use TLS. The ring provider is passed
/// explicitly so no process-wide default provider has to be installed.
fn tls_connector(opts: &ConnectOptions) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |e: rustls::Error| opts.connect_error(format!("TLS setup: {e}"));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    // libpq: with a root certificate given, `require` checks the chain like `verify-ca`.
    let mode = match (opts.ssl_mode, &opts.ssl_root_cert) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (m, _) => m,
    };
    let builder = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider))),
        SslMode::VerifyCa => {
            let roots = Arc::new(load_roots(opts.ssl_root_cert.as_deref())?);
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| opts.connect_error(format!("TLS setup: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(VerifyChainOnly(inner)))
        }
        SslMode::VerifyFull => {
            builder.with_root_certificates(load_roots(opts.ssl_root_cert.as_deref())?)
        }
    };
    let config = match (&opts.ssl_cert, &opts.ssl_key) {
        (Some(c), Some(k)) => {
            let (certs, key) = load_client_auth(c, k)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| Error::usage(format!("sslcert/sslkey: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// Describes a driver error for a user: the cause chain, with timeouts in plain words.
fn describe(e: &postgres::Error, timeout: Option<Duration>) -> String {
    if e.as_db_error().is_some() {
        return db_message(e);
    }
    let mut text = e.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return match timeout {
                    Some(t) => format!("timed out after {} s", t.as_secs()),
                    None => "timed out".to_string(),
                };
            }
        }
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        src = s.source();
    }
    text
}

/// A hint for the usual certificate failures, naming the setting to look at.
fn tls_hint(opts: &ConnectOptions, msg: &str) -> &'static str {
    if msg.contains("not valid for name") {
        " (hint: the certificate does not name this host; connect by a name it lists, or use \
         sslmode=verify-ca to check the chain only)"
    } else if msg.contains("UnknownIssuer") {
        if opts.ssl_root_cert.is_some() {
            " (hint: the server certificate is not signed by a CA in sslrootcert)"
        } else {
            " (hint: give the cluster's CA certificate with sslrootcert=path)"
        }
    } else {
        ""
    }
}

/// Connects to one host of the URL: `host_index` modulo the host count, so a worker
/// number spreads connections over a cluster's nodes round-robin.
///
/// `connect_timeout` bounds the whole attempt, startup and authentication included, so a
/// server that accepts and never answers fails in time too.
pub fn connect_host(opts: &ConnectOptions, host_index: usize) -> Result<Client> {
    let config = opts.host_config(host_index);
    let (host, port) = &opts.hosts[host_index % opts.hosts.len()];
    let plain = opts.ssl_mode == SslMode::Disable || is_socket(host);
    let tls = if plain {
        None
    } else {
        Some(tls_connector(opts)?)
    };
    let attempt = move || match tls {
        None => config.connect(NoTls),
        Some(tls) => config.connect(tls),
    };
    let result = match opts.connect_timeout {
        None => attempt(),
        Some(limit) => {
            let (tx, rx) = std::sync::mpsc::channel();
            // The driver only bounds the TCP connect; a thread bounds the rest. On timeout
            // it is left to end with its socket.
            std::thread::spawn(move || {
                let _ = tx.send(attempt());
            });
            match rx.recv_timeout(limit) {
                Ok(r) => r,
                Err(_) => {
                    return Err(opts.connect_error(format!(
                        "{host}:{port}: timed out after {} s (connect_timeout)",
                        limit.as_secs()
                    )))
                }
            }
        }
    };
    result.map_err(|e| {
        let mut msg = format!("{host}:{port}: {}", describe(&e, opts.connect_timeout));
        msg.push_str(tls_hint(opts, &msg));
        let sqlstate = e.code().map(|c| c.code().to_string());
        opts.connect_failure(msg, libpq::permanent_driver_error(&e), sqlstate)
    })
}

/// Connects to the first host of the URL that answers, like libpq; the error lists why
/// each host failed.
pub fn connect(opts: &ConnectOptions) -> Result<Client> {
    connect_from(opts, 0)
}

/// Connects to the first host that answers, trying each host of the URL once in order from
/// `first` (modulo the host count) round; the error lists why each host failed.
pub fn connect_from(opts: &ConnectOptions, first: usize) -> Result<Client> {
    let mut failures = Vec::new();
    let mut all_permanent = true;
    let mut state = None;
    for i in first..first + opts.hosts.len() {
        match connect_host(opts, i) {
            Ok(c) => return Ok(c),
            Err(e) => match e.into_kind() {
                ErrorKind::Connect {
                    msg,
                    permanent,
                    sqlstate,
                    ..
                } => {
                    all_permanent &= permanent;
                    state = state.or(sqlstate);
                    failures.push(msg)
                }
                other => return Err(other.into()),
            },
        }
    }
    Err(ErrorKind::Connect {
        url: opts.redacted.clone(),
        msg: failures.join("; "),
        permanent: all_permanent,
        sqlstate: state,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(url: &str) -> ConnectOptions {
        ConnectOptions::parse(url).unwrap()
    }

    fn usage_msg(url: &str) -> String {
        match ConnectOptions::parse(url).unwrap_err().into_kind() {
            ErrorKind::Usage(m) => m,
            other => panic!("expected Usage, got {other:?}"),
        }
    }

    #[test]
    fn parses_all_schemes() {
        for (url, crdb) in [
            ("postgres://u@h/db", false),
            ("postgresql://u@h/db", false),
            ("cockroachdb://u@h/db", true),
            ("POSTGRES://u@h/db", false),
        ] {
            let o = p(url);
            assert_eq!(o.is_cockroach_scheme(), crdb, "{url}");
            assert_eq!(o.user(), Some("u"));
            assert_eq!(o.dbname(), Some("db"));
        }
        assert!(usage_msg("mysql://u@h/db").contains("unsupported scheme"));
        assert!(usage_msg("just-a-host").contains("expected postgres://"));
    }

    #[test]
    fn defaults() {
        let o = p("postgres://h");
        assert_eq!(o.hosts(), vec![("h".to_string(), 5432)]);
        assert_eq!(o.user(), None);
        assert!(!o.has_password());
        assert_eq!(o.dbname(), None);
        assert_eq!(o.ssl_mode(), SslMode::Prefer);
        assert_eq!(o.ssl_root_cert(), None);
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(o.application_name(), "chunkload");
        assert_eq!(o.options(), None);
        assert_eq!(p("cockroachdb://h").hosts(), vec![("h".to_string(), 26257)]);
        assert_eq!(
            p("postgres:///db").hosts(),
            vec![("localhost".to_string(), 5432)]
        );
        assert_eq!(
            p("postgres://u:pw@").hosts(),
            vec![("localhost".to_string(), 5432)]
        );
    }

    #[test]
    fn multi_host_keeps_every_host_in_order() {
        let o = p("postgres://u:p@h1:26257,h2:26258,h3/db");
        assert_eq!(
            o.hosts(),
            vec![
                ("h1".to_string(), 26257),
                ("h2".to_string(), 26258),
                ("h3".to_string(), 5432)
            ]
        );
        assert_eq!(o.host_count(), 3);
        assert_eq!(o.dbname(), Some("db"));
        let v6 = p("postgres://[::1]:26257,[fe80::2],h/db");
        assert_eq!(
            v6.hosts(),
            vec![
                ("::1".to_string(), 26257),
                ("fe80::2".to_string(), 5432),
                ("h".to_string(), 5432)
            ]
        );
        assert!(usage_msg("postgres://h1:99999/db").contains("invalid port"));
        assert!(usage_msg("postgres://h1:x/db").contains("invalid port"));
        assert!(usage_msg("postgres://[::1/db").contains("IPv6"));
    }

    #[test]
    fn host_config_targets_one_host_round_robin() {
        use postgres::config::Host;
        let o = p("postgres://u:pw@h1:1,h2:2,h3:3/db?sslmode=verify-full&application_name=x");
        for (i, (h, port)) in [("h1", 1), ("h2", 2), ("h3", 3), ("h1", 1)]
            .iter()
            .enumerate()
        {
            let c = o.host_config(i);
            assert_eq!(c.get_hosts(), &[Host::Tcp(h.to_string())]);
            assert_eq!(c.get_ports(), &[*port]);
            assert_eq!(c.get_user(), Some("u"));
            assert_eq!(c.get_password(), Some(&b"pw"[..]));
            assert_eq!(c.get_dbname(), Some("db"));
            assert_eq!(c.get_application_name(), Some("x"));
            assert_eq!(c.get_ssl_mode(), PgSslMode::Require);
            assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(10)));
        }
    }

    #[test]
    fn sslmode_values() {
        for (v, m, pg) in [
            ("disable", SslMode::Disable, PgSslMode::Disable),
            ("prefer", SslMode::Prefer, PgSslMode::Prefer),
            ("require", SslMode::Require, PgSslMode::Require),
            ("verify-ca", SslMode::VerifyCa, PgSslMode::Require),
            ("verify-full", SslMode::VerifyFull, PgSslMode::Require),
        ] {
            let o = p(&format!("postgres://h/db?sslmode={v}"));
            assert_eq!(o.ssl_mode(), m);
            assert_eq!(o.ssl_mode().as_str(), v);
            assert_eq!(o.host_config(0).get_ssl_mode(), pg);
        }
        let msg = usage_msg("postgres://u:hunter2@h/db?sslmode=bogus");
        assert!(msg.contains("invalid sslmode \"bogus\""), "{msg}");
        assert!(!msg.contains("hunter2"));
        let o = p("postgres://h/db?sslmode=verify-ca&sslrootcert=%2Ftmp%2Fca.crt");
        assert_eq!(o.ssl_root_cert(), Some(Path::new("/tmp/ca.crt")));
    }

    #[test]
    fn application_name_defaults_but_user_value_wins() {
        assert_eq!(p("postgres://h").application_name(), "chunkload");
        assert_eq!(
            p("postgres://h?application_name=my%20app").application_name(),
            "my app"
        );
        assert_eq!(
            p("postgres://h").host_config(0).get_application_name(),
            Some("chunkload")
        );
    }

    #[test]
    fn query_parameters() {
        let o = p("postgres://h/db?connect_timeout=3&options=--cluster%3Dfoo&user=q&password=s+t&dbname=other");
        assert_eq!(o.host_config(0).get_password(), Some(&b"s+t"[..]));
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(o.options(), Some("--cluster=foo"));
        assert_eq!(o.user(), Some("q"));
        assert!(o.has_password());
        assert_eq!(o.dbname(), Some("other"));
        assert_eq!(p("postgres://h?connect_timeout=0").connect_timeout(), None);
        assert_eq!(
            p("postgres://h?connect_timeout=0")
                .host_config(0)
                .get_connect_timeout(),
            None
        );
        assert!(usage_msg("postgres://h?connect_timeout=soon").contains("connect_timeout"));
        assert!(usage_msg("postgres://h?frobnicate=1").contains("unsupported query parameter"));
        assert!(usage_msg("postgres://h?sslcert=a").contains("together"));
        let o = p("postgres://ignored/db?host=a,b&port=7");
        assert_eq!(o.hosts(), vec![("a".into(), 7), ("b".into(), 7)]);
        assert_eq!(
            p("postgres://a,b:9/db?port=7").hosts(),
            vec![("a".into(), 7), ("b".into(), 7)]
        );
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let o = p("postgres://us%40er:p%40ss%3Aw%2Fd@h/my%20db");
        assert_eq!(o.user(), Some("us@er"));
        assert_eq!(o.host_config(0).get_password(), Some(&b"p@ss:w/d"[..]));
        assert_eq!(o.dbname(), Some("my db"));
        // An unescaped '@' in the password: the last '@' ends the user info.
        let o = p("postgres://root:se@cret@h:26257/db");
        assert_eq!(o.host_config(0).get_password(), Some(&b"se@cret"[..]));
        assert_eq!(o.hosts(), vec![("h".into(), 26257)]);
        let o = p("postgres://root:p/w?x#y+z@h:1/db?sslmode=disable#frag");
        assert_eq!(o.host_config(0).get_password(), Some(&b"p/w?x#y+z"[..]));
        assert_eq!(o.hosts(), vec![("h".into(), 1)]);
        assert_eq!(o.ssl_mode(), SslMode::Disable);
    }

    #[test]
    fn debug_hides_password() {
        let o = p("postgres://root:hunter2@h/db?sslmode=require");
        let d = format!("{o:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("***"));
        assert_eq!(o.redacted_url(), "postgres://root:***@h/db?sslmode=require");
    }

    #[test]
    fn redact_masks_userinfo_password() {
        assert_eq!(
            redact("postgres://root:secret@host:26257/db"),
            "postgres://root:***@host:26257/db"
        );
        assert_eq!(
            redact("postgres://root:s%40c%3Ar%2Ft@h1:1,h2:2/db?sslmode=require"),
            "postgres://root:***@h1:1,h2:2/db?sslmode=require"
        );
        assert_eq!(
            redact("postgres://root:se@cr:et@h/db"),
            "postgres://root:***@h/db"
        );
        assert_eq!(
            redact("postgres://root:p/w@h/db"),
            "postgres://root:***@h/db"
        );
        assert_eq!(
            redact("postgres://root:p?w#x@h/db"),
            "postgres://root:***@h/db"
        );
        assert_eq!(
            redact("postgres://root:p/w@h/db?user=a@b"),
            "postgres://root:***@h/db?user=a@b"
        );
        assert_eq!(
            redact("postgres://h:5432/db?user=a@b"),
            "postgres://h:5432/db?user=a@b"
        );
        assert_eq!(redact("root:secret@h/db"), "root:***@h/db");
        assert_eq!(redact("postgres://root:@h/db"), "postgres://root:***@h/db");
    }

    #[test]
    fn redact_leaves_urls_without_password_alone() {
        for u in [
            "postgres://root@host:26257/db",
            "postgres://host/db?sslmode=disable",
            "cockroachdb://h1,h2/db",
            "postgres:///db",
            "",
        ] {
            assert_eq!(redact(u), u);
        }
    }

    #[test]
    fn redact_masks_password_parameters() {
        assert_eq!(
            redact("postgres://h/db?user=u&password=top%20secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact("postgres://h/db?PASSWORD=x"),
            "postgres://h/db?PASSWORD=***"
        );
        assert_eq!(
            redact("host=h password='a b\\' c' user=u"),
            "host=h password=*** user=u"
        );
        assert_eq!(redact("host=h password=abc"), "host=h password=***");
        // Not a password parameter: only whole keys are masked.
        assert_eq!(
            redact("postgres://h/db?oldpassword=x"),
            "postgres://h/db?oldpassword=x"
        );
    }

    #[test]
    fn parse_errors_are_redacted() {
        let m = usage_msg("postgres://root:hunter2@h:bad/db");
        assert!(!m.contains("hunter2"), "{m}");
        assert!(m.contains("root:***@"), "{m}");
    }

    #[test]
    fn connect_errors_scrub_the_password() {
        let o = p("postgres://root:s%40cret!@h/db");
        let e = o.connect_error("driver said: s@cret! and s%40cret%21".into());
        let text = e.to_string();
        assert!(!text.contains("s@cret"), "{text}");
        assert!(!text.contains("s%40cret"), "{text}");
        assert!(
            text.starts_with(
                "cannot connect to postgres://root:***@h/db: driver said: *** and ***"
            ),
            "{text}"
        );
        assert_eq!(e.outcome(), crate::error::Outcome::Usage);
    }

    #[test]
    fn tls_connector_reports_bad_root_cert() {
        let o = p("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt");
        let e = tls_connector(&o).err().unwrap();
        assert!(matches!(e.kind(), ErrorKind::Usage(m) if m.contains("/nonexistent/ca.crt")));
        // Modes without verification need no files.
        assert!(tls_connector(&p("postgres://h/db?sslmode=require")).is_ok());
        assert!(tls_connector(&p("postgres://h/db?sslmode=verify-full")).is_ok());
    }
}
