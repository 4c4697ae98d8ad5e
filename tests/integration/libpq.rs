//! Connections as libpq users write them: keyword/value strings, Unix sockets, `PG*`
//! variables, the password file, fail-fast on bad credentials, connect_timeout.

use crate::support::{client, cluster, fresh_db};
use chunkload::cluster::PASSWORD_ROLE;
use chunkload::connect::{self, ConnectOptions};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The binary with a clean libpq environment: no URL, no `PG*`, a `HOME` without a
/// password file; `env` is then applied.
fn run(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
    c.args(args).env_remove("DATABASE_URL").env("HOME", home);
    for v in connect::LIBPQ_VARIABLES
        .iter()
        .chain(&["PGPASSFILE", "PGSERVICEFILE"])
    {
        c.env_remove(v);
    }
    // No system service file either.
    c.env("PGSYSCONFDIR", home);
    c.envs(env.iter().copied());
    c.output().expect("run chunkload")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// A role that must log in with a password over TCP.
const USER: &str = "pw_user";
const PASSWORD: &str = "s3cret pw";

fn password_role() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut c = client(&cluster().url());
        c.batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}') THEN
                 CREATE ROLE {PASSWORD_ROLE} NOLOGIN;
               END IF;
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') THEN
                 CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}' IN ROLE {PASSWORD_ROLE};
               END IF;
             END $$;"
        ))
        .unwrap();
    });
}

#[test]
fn libpq_keyword_value_string_over_tcp_and_socket() {
    let url = fresh_db("libpq_kv");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let kv = format!("host=127.0.0.1 port={port} user=postgres dbname={db}");
    assert_ok(&run(&["status", "--url", &kv], &[], home.path()));
    let sock = format!(
        "host={} port={port} user=postgres dbname='{db}'",
        cluster().dir().display()
    );
    assert_ok(&run(&["status", "--url", &sock], &[], home.path()));
    // The library connects over the socket too.
    let opts = ConnectOptions::parse(&sock).unwrap();
    let mut c = connect::connect(&opts).unwrap();
    let addr: Option<String> = c
        .query_one("SELECT inet_client_addr()::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(addr, None, "a socket connection has no client address");
}

#[test]
fn libpq_socket_url_forms() {
    let url = fresh_db("libpq_sock_url");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let dir = cluster().dir().display().to_string().replace('/', "%2F");
    let port = cluster().port();
    for u in [
        format!("postgres://postgres@{dir}:{port}/{db}"),
        format!("postgres://postgres@/{db}?host={dir}&port={port}"),
    ] {
        assert_ok(&run(&["status", "--url", &u], &[], home.path()));
        let mut c = connect::connect(&ConnectOptions::parse(&u).unwrap()).unwrap();
        let addr: Option<String> = c
            .query_one("SELECT inet_client_addr()::text", &[])
            .unwrap()
            .get(0);
        assert_eq!(addr, None, "{u}");
    }
}

#[test]
fn libpq_pg_variables_without_url() {
    let url = fresh_db("libpq_env");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let dir = cluster().dir().display().to_string();
    for host in ["127.0.0.1", dir.as_str()] {
        let env = [
            ("PGHOST", host),
            ("PGPORT", port.as_str()),
            ("PGUSER", "postgres"),
            ("PGDATABASE", db),
        ];
        assert_ok(&run(&["status"], &env, home.path()));
    }
    // The URL wins per field: its database does not exist, PG* cannot override it.
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "postgres"),
        ("PGDATABASE", db),
    ];
    let o = run(&["status", "--url", "dbname=no_such_db"], &env, home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no_such_db"), "{}", stderr(&o));
    // No such database (3D000) or role (28000): not worth retrying.
    for kv in [
        format!("host=127.0.0.1 port={port} user=postgres dbname=no_such_db"),
        format!("host=127.0.0.1 port={port} user=no_such_role dbname={db}"),
    ] {
        let e = connect::connect(&ConnectOptions::parse(&kv).unwrap())
            .err()
            .unwrap();
        assert!(connect::is_permanent(&e), "{e}");
    }
}

#[test]
fn libpq_password_from_variable_and_password_file() {
    password_role();
    let url = fresh_db("libpq_pw");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let base = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", USER),
        ("PGDATABASE", db),
    ];
    let o = run(&["status"], &base, home.path());
    assert_eq!(o.status.code(), Some(2), "no password: {}", stderr(&o));
    let mut env = base.to_vec();
    env.push(("PGPASSWORD", PASSWORD));
    assert_ok(&run(&["status"], &env, home.path()));

    use std::os::unix::fs::PermissionsExt;
    let passfile = home.path().join("pass");
    std::fs::write(
        &passfile,
        format!("# test\nother:*:*:*:nope\n127.0.0.1:{port}:*:{USER}:{PASSWORD}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pf = passfile.display().to_string();
    let mut env = base.to_vec();
    env.push(("PGPASSFILE", pf.as_str()));
    let o = run(&["status"], &env, home.path());
    assert_ok(&o);
    assert!(!stderr(&o).contains(PASSWORD));
    // ~/.pgpass is the default file.
    std::fs::copy(&passfile, home.path().join(".pgpass")).unwrap();
    assert_ok(&run(&["status"], &base, home.path()));
    // A file others can read is ignored, with libpq's warning.
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&["status"], &env, home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("group or world access"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(PASSWORD));
}

#[test]
fn libpq_wrong_password_fails_fast_with_exit_2() {
    password_role();
    let url = fresh_db("libpq_wrong_pw");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("d.csv");
    std::fs::write(&data, "a\n1\n").unwrap();
    let target = format!(
        "postgres://{USER}:n0tIt9@127.0.0.1:{}/{db}",
        cluster().port()
    );
    for args in [
        vec!["status", "--url", &target],
        vec![
            "load",
            data.to_str().unwrap(),
            "--table",
            "t",
            "--create-table",
            "--url",
            &target,
        ],
    ] {
        let t = Instant::now();
        let o = run(&args, &[], home.path());
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("password"), "{}", stderr(&o));
        assert!(!stderr(&o).contains("n0tIt9"), "{}", stderr(&o));
    }
    // --json names the server's SQLSTATE, as for any other server error.
    let o = run(&["status", "--json", "--url", &target], &[], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["sqlstate"], "28P01", "{v}");
    assert_eq!(v["error"]["kind"], "connect", "{v}");
    assert!(!v.to_string().contains("n0tIt9"), "{v}");
    let e = connect::connect(&ConnectOptions::parse(&target).unwrap())
        .err()
        .unwrap();
    assert!(connect::is_permanent(&e), "{e}");
    assert_eq!(e.sqlstate(), Some("28P01"));
    // Refused connections are transient.
    let closed = chunkload::cluster::free_port().unwrap();
    let e = connect::connect(
        &ConnectOptions::parse(&format!("postgres://u@127.0.0.1:{closed}/db")).unwrap(),
    )
    .err()
    .unwrap();
    assert!(!connect::is_permanent(&e), "{e}");
}

#[test]
fn libpq_connect_timeout_bounds_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and never answers; the accepted sockets stay open until the test ends.
    let accepted = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(2) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(4));
    });
    let home = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let kv = format!("host=127.0.0.1 port={port} user=u dbname=d sslmode=disable");
    // libpq waits at least 2 s whatever connect_timeout says.
    let env = [("PGCONNECT_TIMEOUT", "1")];
    let o = run(&["status", "--url", &kv], &env, home.path());
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    let t = Instant::now();
    let opts = ConnectOptions::parse(&format!(
        "postgres://u@127.0.0.1:{port}/d?connect_timeout=1"
    ))
    .unwrap();
    let e = connect::connect(&opts).err().unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(!connect::is_permanent(&e), "{e}");
    accepted.join().unwrap();
}

#[test]
fn libpq_psql_flags_name_the_server_and_never_mean_help() {
    let url = fresh_db("libpq_flags");
    let db = db_name(&url).to_string();
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let sock = cluster().dir().display().to_string();
    // TCP and the socket directory, as psql takes them.
    for host in ["127.0.0.1", sock.as_str()] {
        let o = run(
            &["-h", host, "-p", &port, "-U", "postgres", "-d", &db, "init"],
            &[],
            home.path(),
        );
        assert_ok(&o);
    }
    let n: i64 = client(&url)
        .query_one("SELECT count(*) FROM accounts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "init ran in the database -d named");
    // `-h` is the host, never help: a host that does not answer fails, it does not print
    // usage and exit 0.
    let o = run(&["status", "-h", "127.0.0.1", "-p", "1"], &[], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Usage"));
    // Both a URL and a flag: refused, not guessed.
    let o = run(&["status", "--url", &url, "-U", "bob"], &[], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("use one of them"), "{}", stderr(&o));
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn libpq_password_file_names_a_socket_directory_as_written() {
    password_role();
    let url = fresh_db("libpq_pw_sock");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let sock = cluster().dir().display().to_string();
    let passfile = home.path().join("pass");
    let pf = passfile.display().to_string();
    let env = [
        ("PGHOST", sock.as_str()),
        ("PGPORT", port.as_str()),
        ("PGUSER", USER),
        ("PGDATABASE", db),
        ("PGPASSFILE", pf.as_str()),
    ];
    // libpq matches a socket directory other than the default one as written (psql
    // connects with this file)...
    let escaped = sock.replace('\\', "\\\\").replace(':', "\\:");
    write_private(
        &passfile,
        &format!("{escaped}:{port}:*:{USER}:{PASSWORD}\n"),
    );
    let o = run(&["status"], &env, home.path());
    assert_ok(&o);
    assert!(!stderr(&o).contains(PASSWORD));
    // ... and `localhost` stands only for the default socket directory, not this one
    // (psql: "no password supplied").
    write_private(
        &passfile,
        &format!("localhost:{port}:*:{USER}:{PASSWORD}\n"),
    );
    let o = run(&["status"], &env, home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
}

#[test]
fn libpq_service_file_fills_in_before_the_variables() {
    password_role();
    let url = fresh_db("libpq_service");
    let db = db_name(&url);
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let sock = cluster().dir().display().to_string();
    let services = home.path().join("services.conf");
    std::fs::write(
        &services,
        format!(
            "# services\n[other]\ndbname=nope\n\n[app]\nhost={sock}\nport={port}\n\
             user={USER}\npassword={PASSWORD}\ndbname={db}\n"
        ),
    )
    .unwrap();
    let sf = services.display().to_string();
    // PGSERVICE, or `service` in the string, as psql takes them; the service's dbname
    // wins over PGDATABASE.
    let env = [
        ("PGSERVICEFILE", sf.as_str()),
        ("PGSERVICE", "app"),
        ("PGDATABASE", "no_such_db"),
    ];
    let o = run(&["init"], &env, home.path());
    assert_ok(&o);
    assert!(!stderr(&o).contains(PASSWORD));
    let n: i64 = client(&url)
        .query_one("SELECT count(*) FROM accounts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "init ran in the service's database");
    let env = [("PGSERVICEFILE", sf.as_str())];
    for s in ["service=app", "postgres:///?service=app"] {
        assert_ok(&run(&["status", "--url", s], &env, home.path()));
    }
    // The string wins over the service.
    let o = run(
        &["status", "--url", "service=app dbname=no_such_db"],
        &env,
        home.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no_such_db"), "{}", stderr(&o));
    // ~/.pg_service.conf is the default file.
    std::fs::copy(&services, home.path().join(".pg_service.conf")).unwrap();
    assert_ok(&run(&["status"], &[("PGSERVICE", "app")], home.path()));
    // An unknown service is an error, as in libpq, not the default server.
    let o = run(&["status"], &[("PGSERVICE", "nosuch")], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("definition of service \"nosuch\" not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn libpq_client_encoding_other_than_utf8_is_refused() {
    let url = fresh_db("libpq_encoding");
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("d.csv");
    std::fs::write(&data, "a\n1\n").unwrap();
    let args = [
        "load",
        data.to_str().unwrap(),
        "--table",
        "t",
        "--create-table",
        "--url",
        &url,
    ];
    // psql would read the file as LATIN1; chunkload reads UTF-8 only, so it says so
    // rather than storing other characters.
    let o = run(&args, &[("PGCLIENTENCODING", "LATIN1")], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("UTF-8"), "{}", stderr(&o));
    assert_ok(&run(&args, &[("PGCLIENTENCODING", "UTF8")], home.path()));
}

#[test]
fn libpq_hostaddr_without_a_host_is_the_address_to_connect_to() {
    let url = fresh_db("libpq_hostaddr");
    let db = db_name(&url);
    let port = cluster().port().to_string();
    // The default socket directory would be this cluster's; PGHOSTADDR says TCP, as psql.
    let env = |extra: &[(&str, &str)]| {
        let mut vars = vec![
            ("PGHOSTADDR", "127.0.0.1"),
            ("PGPORT", port.as_str()),
            ("PGUSER", "postgres"),
            ("PGDATABASE", db),
        ];
        vars.extend_from_slice(extra);
        connect::Environment::new(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
            None,
            Some(cluster().dir().to_path_buf()),
        )
    };
    let opts = ConnectOptions::resolve(None, &env(&[])).unwrap();
    let mut c = connect::connect(&opts).unwrap();
    let addr: Option<String> = c
        .query_one("SELECT host(inet_client_addr())", &[])
        .unwrap()
        .get(0);
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    // Beside a host it is refused, not one of them silently ignored.
    let sock = cluster().dir().display().to_string();
    let e = ConnectOptions::resolve(None, &env(&[("PGHOST", sock.as_str())]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("hostaddr"), "{e}");
    let e = ConnectOptions::resolve(Some("host=h hostaddr=127.0.0.1"), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("hostaddr"), "{e}");
}

#[test]
fn libpq_psql_dbname_flag_takes_a_whole_connection_string() {
    let url = fresh_db("libpq_d_conninfo");
    let db = db_name(&url).to_string();
    let home = tempfile::tempdir().unwrap();
    let port = cluster().port().to_string();
    let sock = cluster().dir().display().to_string();
    // psql -d "host=... dbname=..." and psql -d postgres://...: the string names the server.
    let kv = format!("host={sock} port={port} user=postgres dbname={db}");
    assert_ok(&run(&["-d", &kv, "init"], &[], home.path()));
    let n: i64 = client(&url)
        .query_one("SELECT count(*) FROM accounts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "init ran in the database the -d string named");
    let u = format!("postgres://postgres@127.0.0.1:{port}/{db}");
    assert_ok(&run(&["status", "-d", &u], &[], home.path()));
    // The flags fill what the string leaves out; the string's fields win.
    let partial = format!("user=postgres dbname={db}");
    assert_ok(&run(
        &["status", "-h", "127.0.0.1", "-p", &port, "-d", &partial],
        &[],
        home.path(),
    ));
    let o = run(
        &["status", "-p", "1", "-d", &format!("{kv} port={port}")],
        &[],
        home.path(),
    );
    assert_ok(&o);
    // A URL with flags beside it: refused, not merged by guess.
    let o = run(&["status", "-p", &port, "-d", &u], &[], home.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("-d names a connection URL"),
        "{}",
        stderr(&o)
    );
}
