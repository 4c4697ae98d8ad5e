//! What libpq adds around a connection string: keyword/value strings, the `PG*`
//! environment variables, the password file, the built-in defaults, and which connect
//! errors retrying cannot fix.
//!
//! Everything here is a pure function of an [`Environment`] so it can be tested without
//! touching the process environment; [`Environment::from_process`] is the one reader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::error::SqlState;

use super::service::{self, ServiceFile};
use super::{ConnectOptions, SslMode, DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_TIMEOUT_SECS};
use crate::error::{Error, ErrorKind, Result};

/// The environment a connection is resolved in: `PG*` variables, the OS user, the
/// password file's text and where sockets live. [`Environment::empty`] resolves nothing.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
    os_user: Option<String>,
    passfile: Option<String>,
    socket_dir: Option<PathBuf>,
    services: Vec<ServiceFile>,
    /// What was ignored on the way, as libpq warns of it (a password file others can read).
    warnings: Vec<String>,
}

/// Where libpq looks for a socket when no host is given; a password file's `localhost`
/// stands for these (and for no host), any other socket directory is matched as written.
pub const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// The variables libpq reads that chunkload honours.
pub const VARIABLES: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGOPTIONS",
    "PGTZ",
    "PGDATESTYLE",
    "PGSERVICE",
    "PGCLIENTENCODING",
];

impl Environment {
    /// No variables, no OS user, no password file: only what the string says.
    pub fn empty() -> Environment {
        Environment::default()
    }

    /// What was ignored while reading the environment, one sentence each (libpq prints
    /// these as warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// An environment from explicit parts (tests, embedding programs).
    pub fn new(
        vars: impl IntoIterator<Item = (String, String)>,
        os_user: Option<String>,
        passfile: Option<String>,
        socket_dir: Option<PathBuf>,
    ) -> Environment {
        Environment {
            vars: vars.into_iter().collect(),
            os_user,
            passfile,
            socket_dir,
            services: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Adds a service file (`pg_service.conf`) to look services up in, after those added
    /// before: the user's file first, then the system's, as libpq.
    pub fn with_service_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.services.push(ServiceFile {
            name: name.into(),
            text: text.into(),
        });
        self
    }

    /// The process's environment, as libpq sees it. A password file readable by group or
    /// others is ignored, as libpq does, with a warning in [`Environment::warnings`].
    pub fn from_process() -> Environment {
        let vars = VARIABLES
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)));
        let path = std::env::var_os("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
        let mut warnings = Vec::new();
        let passfile = path.and_then(|p| match read_passfile(&p) {
            Ok(text) => text,
            Err(warning) => {
                warnings.push(warning.to_string());
                None
            }
        });
        let socket_dir = DEFAULT_SOCKET_DIRS
            .iter()
            .map(PathBuf::from)
            .find(|d| socket_in(d));
        let mut env = Environment::new(vars, os_user(), passfile, socket_dir);
        env.warnings = warnings;
        // libpq: PGSERVICEFILE or ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf
        // (the system directory: Debian's libpq uses /etc/postgresql-common).
        let user_file = std::env::var_os("PGSERVICEFILE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pg_service.conf")));
        let sys_dir = std::env::var_os("PGSYSCONFDIR")
            .map_or_else(|| PathBuf::from("/etc/postgresql-common"), PathBuf::from);
        for path in user_file
            .into_iter()
            .chain([sys_dir.join("pg_service.conf")])
        {
            if let Ok(text) = std::fs::read_to_string(&path) {
                env = env.with_service_file(path.display().to_string(), text);
            }
        }
        env
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn socket_in(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL."))
    })
}

fn os_user() -> Option<String> {
    // SAFETY: getpwuid returns static storage or null; the name is copied out at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() {
            return std::env::var("USER").ok();
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// The password file's text; `Ok(None)` when there is none, `Err(warning)` when it is
/// refused for its permissions.
pub fn read_passfile(path: &Path) -> std::result::Result<Option<String>, String> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) \
             or less; ignoring it",
            path.display()
        ));
    }
    Ok(std::fs::read_to_string(path).ok())
}

/// One `.pgpass` field matches: `*` matches anything, `\` escapes `:` and `\`.
fn field_matches(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

/// Splits a `.pgpass` line on unescaped `:`, removing the escapes.
fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().unwrap().push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The password of the first `hostname:port:database:username:password` line that
/// matches, as libpq: a socket host matches `localhost`, comments and short lines skip.
pub fn pgpass_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    // libpq: `localhost` stands for no host and the default socket directory; another
    // socket directory matches only a line naming that directory.
    let host = if host.is_empty() || DEFAULT_SOCKET_DIRS.contains(&host) {
        "localhost"
    } else {
        host
    };
    let port = port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(split_pgpass_line)
        .filter(|f| f.len() >= 5)
        .find(|f| {
            // An escaped '*' is taken literally, which the split above cannot tell apart;
            // libpq has the same ambiguity.
            field_matches(&f[0], host)
                && field_matches(&f[1], &port)
                && field_matches(&f[2], db)
                && field_matches(&f[3], user)
        })
        .map(|f| f[4..].join(":"))
}

/// Splits `host=h port=5 password='a b\'c'` into pairs, with libpq's quoting rules.
pub fn keyword_values(s: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.next() != Some('=') {
            return Err(format!("missing \"=\" after {key:?}"));
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut value = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            loop {
                match it.next() {
                    None => return Err(format!("unterminated quoted value of {key:?}")),
                    Some('\\') => value.extend(it.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    value.extend(it.next());
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

/// Service `name`'s settings; its keywords are the connection string's (an unknown one is
/// an error naming the file and line, as in libpq).
fn service_settings(name: &str, files: &[ServiceFile]) -> Result<Settings, String> {
    let section = service::lookup(name, files)?;
    let mut s = Settings::default();
    for (line, key, value) in section.entries {
        s.set(&key, value, "keyword").map_err(|why| {
            format!(
                "syntax error in service file \"{}\", line {line}: {why}",
                section.file
            )
        })?;
    }
    Ok(s)
}

/// What a URL or keyword/value string said, before the environment fills the rest.
#[derive(Debug, Default)]
pub(super) struct Settings {
    /// Hosts with the port written next to them (URL authority); empty = default host.
    pub hosts: Option<Vec<(String, Option<u16>)>>,
    pub ports: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub ssl_mode: Option<SslMode>,
    pub ssl_root_cert: Option<PathBuf>,
    pub ssl_cert: Option<PathBuf>,
    pub ssl_key: Option<PathBuf>,
    pub connect_timeout: Option<String>,
    pub application_name: Option<String>,
    pub options: Option<String>,
    pub service: Option<String>,
    pub client_encoding: Option<String>,
    pub hostaddr: Option<String>,
}

/// The keywords of both string forms.
const KEYWORDS: &str = "host, port, user, password, dbname, sslmode, sslrootcert, sslcert, \
                        sslkey, connect_timeout, application_name, options, service, \
                        client_encoding, hostaddr";

impl Settings {
    /// Fills each field left unset from `other` (a service's settings).
    fn or(self, other: Settings) -> Settings {
        Settings {
            hosts: self.hosts.or(other.hosts),
            ports: self.ports.or(other.ports),
            user: self.user.or(other.user),
            password: self.password.or(other.password),
            dbname: self.dbname.or(other.dbname),
            ssl_mode: self.ssl_mode.or(other.ssl_mode),
            ssl_root_cert: self.ssl_root_cert.or(other.ssl_root_cert),
            ssl_cert: self.ssl_cert.or(other.ssl_cert),
            ssl_key: self.ssl_key.or(other.ssl_key),
            connect_timeout: self.connect_timeout.or(other.connect_timeout),
            application_name: self.application_name.or(other.application_name),
            options: self.options.or(other.options),
            service: self.service,
            client_encoding: self.client_encoding.or(other.client_encoding),
            hostaddr: self.hostaddr.or(other.hostaddr),
        }
    }

    /// Takes one keyword (URL query parameter or keyword/value pair).
    pub fn set(&mut self, key: &str, value: String, what: &str) -> Result<(), String> {
        match key {
            "host" => self.hosts = Some(value.split(',').map(|h| (h.to_string(), None)).collect()),
            "port" => self.ports = Some(value),
            "user" => self.user = Some(value),
            "password" => self.password = Some(value),
            "dbname" => self.dbname = Some(value),
            "sslmode" => self.ssl_mode = Some(value.parse().map_err(|e: Error| e.to_string())?),
            "sslrootcert" => self.ssl_root_cert = Some(PathBuf::from(value)),
            "sslcert" => self.ssl_cert = Some(PathBuf::from(value)),
            "sslkey" => self.ssl_key = Some(PathBuf::from(value)),
            "connect_timeout" => self.connect_timeout = Some(value),
            "application_name" => self.application_name = Some(value),
            "options" => self.options = Some(value),
            "service" => self.service = Some(value),
            "client_encoding" => self.client_encoding = Some(value),
            "hostaddr" => self.hostaddr = Some(value),
            other => {
                return Err(format!(
                    "unsupported {what} {other:?} (supported: {KEYWORDS})"
                ))
            }
        }
        Ok(())
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.trim()
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("invalid port {p:?}"))
}

fn parse_timeout(v: &str) -> Result<Option<Duration>, String> {
    let secs: i64 = v
        .trim()
        .parse()
        .map_err(|_| format!("connect_timeout {v:?} is not a number of seconds"))?;
    // libpq: zero or negative waits forever, and 1 is taken as 2 ("rounding could cause
    // connection to fail unexpectedly quickly").
    Ok((secs > 0).then(|| Duration::from_secs(secs.max(2) as u64)))
}

/// Fills what the string left out from the environment, then libpq's defaults: per field,
/// the string wins, then `PG*`, then the default.
pub(super) fn finish(
    s: Settings,
    cockroach_scheme: bool,
    redacted: String,
    env: &Environment,
) -> Result<ConnectOptions, String> {
    let s = with_service(s, env)?;
    check_client_encoding(&s, env)?;
    let hosts = resolve_hosts(&s, cockroach_scheme, env)?;
    let pick = |given: Option<String>, var: &str| given.or_else(|| env.var(var).map(String::from));
    let user = pick(s.user, "PGUSER").or_else(|| env.os_user.clone());
    let dbname = pick(s.dbname, "PGDATABASE").or_else(|| user.clone());
    let password = pick(s.password, "PGPASSWORD");
    let host_passwords = match (&password, &env.passfile, &user) {
        (None, Some(text), Some(u)) => hosts
            .iter()
            .map(|(h, p)| pgpass_lookup(text, h, *p, dbname.as_deref().unwrap_or(u), u))
            .collect(),
        _ => vec![None; hosts.len()],
    };
    let ssl_mode = match s.ssl_mode {
        Some(m) => m,
        None => match env.var("PGSSLMODE") {
            Some(v) => v.parse().map_err(|e: Error| format!("PGSSLMODE: {e}"))?,
            None => SslMode::default(),
        },
    };
    let connect_timeout = match pick(s.connect_timeout, "PGCONNECT_TIMEOUT") {
        Some(v) => parse_timeout(&v)?,
        None => Some(Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS)),
    };
    let options = session_options(pick(s.options, "PGOPTIONS"), env);
    let ssl_cert = s
        .ssl_cert
        .or_else(|| env.var("PGSSLCERT").map(PathBuf::from));
    let ssl_key = s.ssl_key.or_else(|| env.var("PGSSLKEY").map(PathBuf::from));
    if ssl_cert.is_some() != ssl_key.is_some() {
        return Err("sslcert and sslkey must be given together".into());
    }
    let redacted = if redacted.is_empty() {
        describe_target(&hosts, user.as_deref(), dbname.as_deref())
    } else {
        redacted
    };
    Ok(ConnectOptions {
        redacted,
        cockroach_scheme,
        hosts,
        user,
        password,
        host_passwords,
        dbname,
        ssl_mode,
        ssl_root_cert: s
            .ssl_root_cert
            .or_else(|| env.var("PGSSLROOTCERT").map(PathBuf::from)),
        ssl_cert,
        ssl_key,
        connect_timeout,
        application_name: pick(s.application_name, "PGAPPNAME")
            .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
        options,
        warnings: env.warnings.clone(),
    })
}

/// libpq: a service's settings (`service=`, PGSERVICE) come after the string's and
/// before the variables'.
fn with_service(s: Settings, env: &Environment) -> Result<Settings, String> {
    let name = s
        .service
        .clone()
        .or_else(|| env.var("PGSERVICE").map(String::from));
    Ok(match name {
        Some(name) => s.or(service_settings(&name, &env.services)?),
        None => s,
    })
}

/// Input is read as UTF-8 and sent as UTF-8 (the server converts to its encoding, as for
/// psql in a UTF-8 locale); another client encoding would store other characters.
fn check_client_encoding(s: &Settings, env: &Environment) -> Result<(), String> {
    let Some(enc) = s
        .client_encoding
        .as_deref()
        .or_else(|| env.var("PGCLIENTENCODING"))
    else {
        return Ok(());
    };
    let e = enc.to_ascii_lowercase().replace(['-', '_'], "");
    if matches!(e.as_str(), "utf8" | "unicode" | "auto") {
        return Ok(());
    }
    Err(format!(
        "client_encoding (PGCLIENTENCODING) {enc:?} is not supported: chunkload reads \
         its input as UTF-8; convert the file (e.g. iconv -f {enc} -t UTF-8) and \
         leave the client encoding unset or UTF8"
    ))
}

/// Every `(host, port)` to try, in order: the string's hosts (or PGHOST, or `hostaddr`,
/// or the socket directory / localhost), each with its port (a `port` keyword, the
/// URL's own, PGPORT, then 5432 or CockroachDB's 26257).
fn resolve_hosts(
    s: &Settings,
    cockroach_scheme: bool,
    env: &Environment,
) -> Result<Vec<(String, u16)>, String> {
    let default_host = || {
        env.socket_dir
            .as_ref()
            .map_or("localhost".to_string(), |d| d.display().to_string())
    };
    let hosts = s.hosts.clone().or_else(|| {
        env.var("PGHOST")
            .map(|h| h.split(',').map(|h| (h.to_string(), None)).collect())
    });
    // libpq: `hostaddr` (PGHOSTADDR) is the numeric address to connect to; with no host it
    // is the host. Beside a host it would be the address while the host name serves TLS
    // and the password file: not supported, so refused rather than one of them ignored.
    let hostaddr = s
        .hostaddr
        .clone()
        .or_else(|| env.var("PGHOSTADDR").map(String::from))
        .filter(|a| !a.is_empty());
    let hosts = match (hosts, hostaddr) {
        (Some(_), Some(addr)) => {
            return Err(format!(
                "hostaddr (PGHOSTADDR) {addr:?} together with a host is not supported: give \
                 the address as the host instead"
            ))
        }
        (None, Some(addr)) => addr.split(',').map(|h| (h.to_string(), None)).collect(),
        (Some(h), None) => h,
        (None, None) => vec![(String::new(), None)],
    };
    let ports = match s.ports.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some((p, true)),
        None => env.var("PGPORT").map(|p| (p, false)),
    };
    let ports: Option<(Vec<u16>, bool)> = match ports {
        Some((p, explicit)) => Some((
            p.split(',').map(parse_port).collect::<Result<_, _>>()?,
            explicit,
        )),
        None => None,
    };
    if let Some((p, _)) = &ports {
        if p.len() != 1 && p.len() != hosts.len() {
            return Err(format!(
                "{} ports given for {} hosts: give one port or one per host",
                p.len(),
                hosts.len()
            ));
        }
    }
    let default_port = if cockroach_scheme { 26257 } else { 5432 };
    Ok(hosts
        .into_iter()
        .enumerate()
        .map(|(i, (h, written))| {
            let listed = ports
                .as_ref()
                .map(|(p, explicit)| (p[i % p.len()], *explicit));
            let port = match (listed, written) {
                // A `port` keyword overrides the URL authority; PGPORT does not.
                (Some((p, true)), _) => p,
                (_, Some(w)) => w,
                (Some((p, false)), None) => p,
                (None, None) => default_port,
            };
            let h = if h.is_empty() { default_host() } else { h };
            (h, port)
        })
        .collect())
}

/// The session's `options`: the string's (or PGOPTIONS), then PGTZ and PGDATESTYLE as
/// libpq sends them, as `-c TimeZone=…` and `-c DateStyle=…`.
fn session_options(options: Option<String>, env: &Environment) -> Option<String> {
    let mut options = options;
    for (var, setting) in [("PGTZ", "TimeZone"), ("PGDATESTYLE", "DateStyle")] {
        if let Some(v) = env.var(var) {
            let v = v.replace('\\', "\\\\").replace(' ', "\\ ");
            options = Some(match options {
                Some(o) => format!("{o} -c {setting}={v}"),
                None => format!("-c {setting}={v}"),
            });
        }
    }
    options
}

/// A password-free keyword/value description for messages when no string was given.
fn describe_target(hosts: &[(String, u16)], user: Option<&str>, db: Option<&str>) -> String {
    let (h, p) = &hosts[0];
    let mut s = format!("host={h} port={p}");
    if let Some(u) = user {
        s.push_str(&format!(" user={u}"));
    }
    if let Some(d) = db {
        s.push_str(&format!(" dbname={d}"));
    }
    s
}

/// True when retrying a failed connection cannot help: bad credentials, no such role or
/// database, a `pg_hba.conf` rejection, a refused certificate, or bad options. Refused or
/// reset connections, shutdowns, `too many clients` and timeouts are transient.
pub fn is_permanent(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Usage(_) => true,
        ErrorKind::Connect { permanent, .. } => *permanent,
        _ => false,
    }
}

/// The driver-level classification behind [`is_permanent`].
pub(super) fn permanent_driver_error(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return code.code().starts_with("28")
            || *code == SqlState::UNDEFINED_DATABASE
            || *code == SqlState::INSUFFICIENT_PRIVILEGE;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return matches!(r, rustls::Error::InvalidCertificate(_));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return matches!(r, rustls::Error::InvalidCertificate(_));
            }
        }
        if s.to_string().contains("invalid peer certificate") {
            return true;
        }
        src = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_section_takes_the_connection_string_keywords() {
        let files = [ServiceFile {
            name: "f".into(),
            text: "[a]\nhost=/s\nport = 6\n[b]\nfrob=1\n".into(),
        }];
        let s = service_settings("a", &files).unwrap();
        assert_eq!(s.hosts, Some(vec![("/s".to_string(), None)]));
        assert_eq!(s.ports.as_deref(), Some("6"));
        assert_eq!(s.dbname, None);
        let e = service_settings("b", &files).unwrap_err();
        assert!(e.contains("service file \"f\", line 5"), "{e}");
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::new(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
            None,
            None,
        )
    }

    fn with(s: Option<&str>, e: &Environment) -> ConnectOptions {
        ConnectOptions::resolve(s, e).unwrap()
    }

    #[test]
    fn keyword_values_follow_libpq_quoting() {
        let kv = keyword_values(r"host=h  port = 5 password='a b\'c' x=\ y dbname=''").unwrap();
        let kv: Vec<(&str, &str)> = kv.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        assert_eq!(
            kv,
            [
                ("host", "h"),
                ("port", "5"),
                ("password", "a b'c"),
                ("x", " y"),
                ("dbname", "")
            ]
        );
        assert!(keyword_values("host").unwrap_err().contains("missing"));
        assert!(keyword_values("password='x")
            .unwrap_err()
            .contains("unterminated"));
    }

    #[test]
    fn keyword_value_strings_and_sockets() {
        let o = with(
            Some("host=/tmp/sock port=5433 user=u dbname=d password='a b' sslmode=verify-ca"),
            &Environment::empty(),
        );
        assert_eq!(o.hosts(), vec![("/tmp/sock".to_string(), 5433)]);
        assert_eq!(o.user(), Some("u"));
        assert_eq!(o.dbname(), Some("d"));
        assert_eq!(o.ssl_mode(), SslMode::VerifyCa);
        assert_eq!(o.host_config(0).get_password(), Some(&b"a b"[..]));
        assert!(!format!("{o:?} {}", o.redacted_url()).contains("a b"));
        let c = o.host_config(0);
        assert_eq!(
            c.get_hosts(),
            &[postgres::config::Host::Unix("/tmp/sock".into())]
        );
        let u = with(Some("postgres://u@%2Fvar%2Frun/db"), &Environment::empty());
        assert_eq!(u.hosts(), vec![("/var/run".to_string(), 5432)]);
        let q = with(
            Some("postgres://u@/db?host=%2Fx%2Fy&port=6"),
            &Environment::empty(),
        );
        assert_eq!(q.hosts(), vec![("/x/y".to_string(), 6)]);
        let m = ConnectOptions::parse("host=h frob=1")
            .unwrap_err()
            .to_string();
        assert!(m.contains("unsupported keyword \"frob\""), "{m}");
    }

    #[test]
    fn each_variable_fills_what_the_string_leaves_out() {
        let e = env(&[
            ("PGHOST", "/s1,h2"),
            ("PGPORT", "6000"),
            ("PGUSER", "eu"),
            ("PGPASSWORD", "epw"),
            ("PGDATABASE", "edb"),
            ("PGSSLMODE", "require"),
            ("PGSSLROOTCERT", "/ca.crt"),
            ("PGAPPNAME", "eapp"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGOPTIONS", "-c work_mem=1MB"),
            ("PGTZ", "Europe/Paris"),
            ("PGDATESTYLE", "ISO, DMY"),
        ]);
        let o = with(None, &e);
        assert_eq!(
            o.hosts(),
            vec![("/s1".to_string(), 6000), ("h2".to_string(), 6000)]
        );
        assert_eq!(o.user(), Some("eu"));
        assert_eq!(o.host_config(0).get_password(), Some(&b"epw"[..]));
        assert_eq!(o.dbname(), Some("edb"));
        assert_eq!(o.ssl_mode(), SslMode::Require);
        assert_eq!(o.ssl_root_cert(), Some(Path::new("/ca.crt")));
        assert_eq!(o.application_name(), "eapp");
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(
            o.options(),
            Some("-c work_mem=1MB -c TimeZone=Europe/Paris -c DateStyle=ISO,\\ DMY")
        );
        assert!(!o.redacted_url().contains("epw"));
        // The string wins per field; the environment fills the rest.
        let o = with(
            Some("postgres://u:pw@h:7/db?sslmode=disable&application_name=a&connect_timeout=0"),
            &e,
        );
        assert_eq!(o.hosts(), vec![("h".to_string(), 7)]);
        assert_eq!(o.user(), Some("u"));
        assert_eq!(o.host_config(0).get_password(), Some(&b"pw"[..]));
        assert_eq!(o.dbname(), Some("db"));
        assert_eq!(o.ssl_mode(), SslMode::Disable);
        assert_eq!(o.application_name(), "a");
        assert_eq!(o.connect_timeout(), None);
        assert_eq!(
            with(Some("postgres://h/db"), &e).hosts(),
            vec![("h".to_string(), 6000)]
        );
        assert_eq!(with(Some("host=k"), &e).user(), Some("eu"));
        assert!(ConnectOptions::resolve(None, &env(&[("PGSSLMODE", "x")])).is_err());
        assert!(ConnectOptions::resolve(None, &env(&[("PGPORT", "no")])).is_err());
        let one = with(None, &env(&[("PGCONNECT_TIMEOUT", "1")]));
        assert_eq!(
            one.connect_timeout(),
            Some(Duration::from_secs(2)),
            "as libpq"
        );
    }

    #[test]
    fn libpq_defaults_without_string_or_variables() {
        let e = Environment::new([], Some("alice".into()), None, Some("/run/pg".into()));
        let o = with(None, &e);
        assert_eq!(o.hosts(), vec![("/run/pg".to_string(), 5432)]);
        assert_eq!(o.user(), Some("alice"));
        assert_eq!(o.dbname(), Some("alice"));
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(
            o.redacted_url(),
            "host=/run/pg port=5432 user=alice dbname=alice"
        );
        let e = Environment::new([], Some("bob".into()), None, None);
        assert_eq!(
            with(None, &e).hosts(),
            vec![("localhost".to_string(), 5432)]
        );
    }

    #[test]
    fn pgpass_matching_rules() {
        let text = "# comment\n\
                    db1:5432:*:u:first\n\
                    *:5432:*:u:second\n\
                    localhost:*:app:*:sock\n\
                    h\\:x:1:d:u:esc\\:aped\\\\\n\
                    short:line\n";
        assert_eq!(
            pgpass_lookup(text, "db1", 5432, "any", "u").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(text, "db2", 5432, "any", "u").as_deref(),
            Some("second")
        );
        assert_eq!(pgpass_lookup(text, "db2", 5433, "any", "u"), None);
        assert_eq!(
            pgpass_lookup(text, "/tmp", 9, "app", "v").as_deref(),
            Some("sock")
        );
        assert_eq!(
            pgpass_lookup(text, "h:x", 1, "d", "u").as_deref(),
            Some("esc:aped\\")
        );
        assert_eq!(pgpass_lookup(text, "short", 1, "line", "u"), None);
        assert_eq!(
            pgpass_lookup("a:1:d:u:p:q", "a", 1, "d", "u").as_deref(),
            Some("p:q")
        );
    }

    #[test]
    fn pgpass_fills_only_a_missing_password() {
        let e = Environment::new(
            [],
            Some("u".into()),
            Some("h:5432:db:u:filepw\n*:*:*:*:other\n".into()),
            None,
        );
        let o = with(Some("postgres://h/db"), &e);
        assert_eq!(o.host_config(0).get_password(), Some(&b"filepw"[..]));
        assert!(o.has_password());
        let o = with(Some("postgres://u:given@h/db"), &e);
        assert_eq!(o.host_config(0).get_password(), Some(&b"given"[..]));
        let o = with(Some("host=h,k dbname=db"), &e);
        assert_eq!(o.host_config(1).get_password(), Some(&b"other"[..]));
        let s = o.scrub("it was filepw");
        assert!(!s.contains("filepw"), "{s}");
    }

    #[test]
    fn passfile_refused_when_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pgpass");
        std::fs::write(&p, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_passfile(&p).unwrap().as_deref(), Some("*:*:*:*:pw\n"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_passfile(&p)
            .unwrap_err()
            .contains("group or world access"));
        assert_eq!(read_passfile(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn classifier_separates_permanent_from_transient() {
        let c = |permanent| -> Error {
            ErrorKind::Connect {
                url: String::new(),
                msg: String::new(),
                permanent,
                sqlstate: None,
            }
            .into()
        };
        assert!(is_permanent(&c(true)));
        assert!(!is_permanent(&c(false)));
        assert!(is_permanent(&Error::usage("x")));
        assert!(!is_permanent(&Error::other("x")));
    }
}
