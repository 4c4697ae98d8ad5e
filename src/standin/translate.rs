//! What the stand-in answers itself, through a side connection to the same database as the
//! same user: the claimed version, which names PostgreSQL knows as functions, and the
//! CockroachDB statements PostgreSQL lacks (`SHOW CLUSTER SETTING`, `UPSERT`, `IMPORT INTO`,
//! `SHOW CREATE TABLE` and index DDL, the last two in [`super::indexes`]).

use super::lex::{self, Kind, Tok};
use super::rules::{Refusal, Version};
use crate::sql::{quote_ident, quote_literal};
use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;

/// The side connection and what it learnt.
pub(super) struct Side {
    conn: Option<postgres::Client>,
    functions: HashMap<String, bool>,
}

fn refusal(code: &str, message: String, source: &'static str) -> Refusal {
    Refusal {
        code: code.to_string(),
        message,
        source,
    }
}

impl Side {
    pub(super) fn new(upstream: SocketAddr, user: &str, db: &str) -> Side {
        let mut cfg = postgres::Config::new();
        cfg.host(&upstream.ip().to_string())
            .port(upstream.port())
            .user(user)
            .dbname(db)
            .application_name("chunkload stand-in");
        Side {
            conn: cfg.connect(postgres::NoTls).ok(),
            functions: HashMap::new(),
        }
    }

    /// The version `crdb_compat.version()` claims; the cluster's default stand-in version
    /// for a database that is not a stand-in.
    pub(super) fn version(&mut self) -> Version {
        let claimed = self
            .conn
            .as_mut()
            .and_then(|c| c.query_one("SELECT crdb_compat.version()", &[]).ok())
            .map(|r| r.get::<_, String>(0))
            .unwrap_or_else(|| crate::cluster::COCKROACH_VERSION.to_string());
        crate::flavour::Flavour::cockroach_version(&claimed).unwrap_or((23, 2, 0))
    }

    /// Whether PostgreSQL has a function called `name` (cached).
    pub(super) fn is_pg_function(&mut self, name: &str) -> bool {
        if let Some(&known) = self.functions.get(name) {
            return known;
        }
        let Some(c) = self.conn.as_mut() else {
            return false;
        };
        let known = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proname = $1)",
                &[&name],
            )
            .map(|r| r.get(0))
            .unwrap_or(false);
        self.functions.insert(name.to_string(), known);
        known
    }

    fn conn(&mut self) -> Result<&mut postgres::Client, Refusal> {
        self.conn.as_mut().ok_or_else(|| {
            refusal(
                "XX000",
                "stand-in: no side connection to the database".into(),
                "the stand-in itself",
            )
        })
    }

    /// The statement as PostgreSQL runs it: CockroachDB's index DDL translated
    /// ([`super::indexes`]), the catalog references rewritten ([`super::rules::rewrite`]).
    pub(super) fn forwarded(&mut self, stmt: &str) -> Result<String, Refusal> {
        if let Some(t) = super::indexes::create_index(stmt) {
            return t;
        }
        let toks = lex::tokens(stmt);
        if toks.first().is_some_and(|t| t.is("drop")) && toks.get(1).is_some_and(|t| t.is("index"))
        {
            if let Some(t) = super::indexes::drop_index(self.conn()?, stmt) {
                return t;
            }
        }
        Ok(super::rules::rewrite(stmt).unwrap_or_else(|| stmt.to_string()))
    }

    /// `SHOW CREATE TABLE name`, from the catalog ([`super::indexes::show_create_table`]).
    pub(super) fn show_create(&mut self, name: &str) -> Result<String, Refusal> {
        super::indexes::show_create_table(self.conn()?, name)
    }

    /// `SHOW CLUSTER SETTING name`: needs admin, VIEWCLUSTERSETTING or
    /// MODIFYCLUSTERSETTING (docs "SHOW CLUSTER SETTING", required privileges); in the
    /// stand-in a superuser is admin and membership in a role of that name grants it. The
    /// value comes from `crdb_compat.cluster_settings`, as CockroachDB shows it (a byte
    /// size reads like `4.0 MiB`).
    pub(super) fn show_cluster_setting(&mut self, name: &str) -> Result<String, Refusal> {
        let c = self.conn()?;
        let allowed: bool = c
            .query_one(
                "SELECT r.rolsuper OR EXISTS (
                    SELECT 1 FROM pg_catalog.pg_auth_members m
                      JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                     WHERE m.member = r.oid
                       AND g.rolname IN ('admin', 'viewclustersetting', 'modifyclustersetting'))
                   FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
                &[],
            )
            .map(|r| r.get(0))
            .unwrap_or(false);
        if !allowed {
            return Err(refusal(
                "42501",
                "only users with the MODIFYCLUSTERSETTING or VIEWCLUSTERSETTING system privilege \
                 are allowed to read cluster settings"
                    .into(),
                "docs SHOW CLUSTER SETTING: required privileges (admin, VIEWCLUSTERSETTING or MODIFYCLUSTERSETTING)",
            ));
        }
        let known = c
            .query_opt(
                "SELECT 1 FROM crdb_compat.cluster_settings WHERE name = $1",
                &[&name],
            )
            .ok()
            .flatten()
            .is_some();
        if !known {
            return Err(refusal(
                "42704",
                format!("unknown cluster setting: {name}"),
                "docs SHOW CLUSTER SETTING",
            ));
        }
        Ok(format!(
            "SELECT value AS {} FROM crdb_compat.cluster_settings WHERE name = {}",
            quote_ident(name),
            quote_literal(name)
        ))
    }

    /// `UPSERT INTO t (cols) VALUES ...` as PostgreSQL's `INSERT ... ON CONFLICT (pk) DO
    /// UPDATE SET` every listed column outside the key (docs "UPSERT": it replaces the row
    /// whose primary key matches, and writes only the listed columns).
    pub(super) fn upsert(&mut self, stmt: &str) -> Result<String, Refusal> {
        let toks = lex::tokens(stmt);
        let open = toks.iter().position(|t| t.is_punct("(")).ok_or_else(|| {
            refusal(
                "42601",
                "UPSERT without a column list: the stand-in needs one".into(),
                "the stand-in itself",
            )
        })?;
        let into = toks.iter().position(|t| t.is("into")).unwrap_or(0);
        let table = stmt[toks[into].start + 4..toks[open].start].trim();
        let cols = list_items(&toks, open);
        let key: Vec<String> = self
            .conn()?
            .query(
                "SELECT a.attname::text FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = $1::text::regclass AND i.indisprimary",
                &[&table],
            )
            .map_err(|e| refusal("42P01", format!("relation {table} does not exist: {e}"), "docs UPSERT"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let set: Vec<String> = cols
            .iter()
            .filter(|c| !key.contains(&c.ident()))
            .map(|c| format!("{0} = excluded.{0}", c.text))
            .collect();
        let target = key
            .iter()
            .map(|k| quote_ident(k))
            .collect::<Vec<_>>()
            .join(", ");
        let action = match set.is_empty() {
            true => "DO NOTHING".to_string(),
            false => format!("DO UPDATE SET {}", set.join(", ")),
        };
        Ok(format!(
            "INSERT{} ON CONFLICT ({target}) {action}",
            &stmt[toks[0].start + toks[0].text.len()..]
        ))
    }

    /// `IMPORT INTO t [(cols)] CSV DATA ('url', ...) [WITH opt = 'v', ...]`: fetches every
    /// URL over HTTP and copies the rows in one transaction of the side connection (an
    /// import is a job of its own, all or nothing), then answers with the job's result row
    /// (docs "IMPORT INTO": job_id, status, fraction_completed, rows, index_entries, bytes).
    pub(super) fn import(&mut self, stmt: &str) -> Result<String, Refusal> {
        let spec = ImportSpec::parse(stmt)?;
        let mut bytes = 0u64;
        let mut bodies = Vec::new();
        for url in &spec.urls {
            let body = fetch(url, spec.gzip)?;
            bytes += body.len() as u64;
            bodies.push(body);
        }
        let copy = spec.copy_sql();
        let c = self.conn()?;
        let failed = |e: postgres::Error| {
            let (code, msg) = match e.as_db_error() {
                Some(d) => (d.code().code().to_string(), d.message().to_string()),
                None => ("XX000".to_string(), e.to_string()),
            };
            refusal(
                &code,
                format!("import failed: {msg}"),
                "docs IMPORT INTO: a failed job is rolled back",
            )
        };
        let mut tx = c.transaction().map_err(failed)?;
        let mut rows = 0u64;
        for body in bodies {
            let data = skip_lines(&body, spec.skip);
            let mut w = tx.copy_in(copy.as_str()).map_err(failed)?;
            std::io::Write::write_all(&mut w, data).map_err(|e| {
                refusal(
                    "XX000",
                    format!("import failed: {e}"),
                    "the stand-in itself",
                )
            })?;
            rows += w.finish().map_err(failed)?;
        }
        tx.commit().map_err(failed)?;
        Ok(format!(
            "SELECT 1::INT8 AS job_id, 'succeeded' AS status, 1::FLOAT8 AS fraction_completed, \
             {rows}::INT8 AS rows, 0::INT8 AS index_entries, {bytes}::INT8 AS bytes"
        ))
    }
}

/// The items of a parenthesised list opening at `open`, as their single tokens.
fn list_items<'a>(toks: &[Tok<'a>], open: usize) -> Vec<Tok<'a>> {
    toks[open + 1..]
        .iter()
        .take_while(|t| !t.is_punct(")"))
        .filter(|t| !t.is_punct(","))
        .copied()
        .collect()
}

/// The parts of an `IMPORT INTO` the stand-in runs.
#[derive(Debug, PartialEq, Eq)]
struct ImportSpec {
    table: String,
    columns: Option<String>,
    urls: Vec<String>,
    delimiter: String,
    nullif: Option<String>,
    skip: usize,
    gzip: bool,
}

impl ImportSpec {
    fn parse(stmt: &str) -> Result<ImportSpec, Refusal> {
        let bad = |m: &str| {
            refusal(
                "42601",
                format!("IMPORT INTO: {m}"),
                "docs IMPORT INTO: synopsis",
            )
        };
        let toks = lex::tokens(stmt);
        let csv = toks
            .iter()
            .position(|t| t.is("csv"))
            .ok_or_else(|| bad("only CSV DATA is supported by the stand-in"))?;
        if !toks.get(csv + 1).is_some_and(|t| t.is("data")) {
            return Err(bad("expected CSV DATA"));
        }
        let head = &stmt[toks[2].start..toks[csv].start];
        let (table, columns) = match head.find('(') {
            Some(p) => (
                head[..p].trim().to_string(),
                Some(head[p..].trim().to_string()),
            ),
            None => (head.trim().to_string(), None),
        };
        let mut i = csv + 3;
        let mut urls = Vec::new();
        while let Some(t) = toks.get(i) {
            if t.is_punct(")") {
                break;
            }
            if t.kind == Kind::Str {
                urls.push(unquote(t.text));
            }
            i += 1;
        }
        let mut spec = ImportSpec {
            table,
            columns,
            urls,
            delimiter: ",".into(),
            nullif: None,
            skip: 0,
            gzip: false,
        };
        let opts = &toks[(i + 1).min(toks.len())..];
        for w in opts.windows(3) {
            if w[1].is_punct("=") && w[2].kind == Kind::Str {
                let v = unquote(w[2].text);
                match w[0].text.to_ascii_lowercase().as_str() {
                    "delimiter" => spec.delimiter = v,
                    "nullif" => spec.nullif = Some(v),
                    "skip" => spec.skip = v.parse().map_err(|_| bad("skip is not a number"))?,
                    "decompress" => spec.gzip = v.eq_ignore_ascii_case("gzip"),
                    other => {
                        return Err(bad(&format!(
                            "option {other} is not supported by the stand-in"
                        )))
                    }
                }
            }
        }
        if spec.urls.is_empty() {
            return Err(bad("no files"));
        }
        spec.gzip |= spec.urls.iter().all(|u| u.ends_with(".gz"));
        Ok(spec)
    }

    /// CockroachDB's CSV: `nullif` names the NULL spelling, and without
    /// `allow_quoted_null` a quoted field is never NULL, as in PostgreSQL's CSV COPY.
    fn copy_sql(&self) -> String {
        format!(
            "COPY {}{} FROM STDIN WITH (FORMAT csv, DELIMITER {}, NULL {})",
            self.table,
            self.columns
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default(),
            quote_literal(&self.delimiter),
            quote_literal(self.nullif.as_deref().unwrap_or("")),
        )
    }
}

fn unquote(lit: &str) -> String {
    lit[1..lit.len() - 1].replace("''", "'")
}

fn skip_lines(body: &[u8], n: usize) -> &[u8] {
    let mut rest = body;
    for _ in 0..n {
        rest = memchr::memchr(b'\n', rest).map_or(&[][..], |p| &rest[p + 1..]);
    }
    rest
}

/// GETs `url` (http or https; nodes fetch IMPORT files themselves, so the URL must be
/// reachable from the server: here, loopback).
fn fetch(url: &str, gzip: bool) -> Result<Vec<u8>, Refusal> {
    let failed = |m: String| {
        refusal(
            "XXUUU",
            format!("import failed: {url}: {m}"),
            "docs IMPORT INTO: file URLs",
        )
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(failed("the stand-in fetches http(s) URLs only".into()));
    }
    let resp = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .map_err(|e| failed(e.to_string()))?;
    if gzip {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .map_err(|e| failed(format!("gunzip: {e}")))?;
        body = out;
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_statements_are_read_as_chunkload_writes_them() {
        let s = "IMPORT INTO \"t\" (\"a\", \"b\")\n    CSV DATA (\n        'http://127.0.0.1:9/t.1.csv.gz',\n        'http://127.0.0.1:9/t.2.csv.gz'\n    )\n    WITH delimiter = '|', nullif = '', skip = '1', decompress = 'gzip';";
        let spec = ImportSpec::parse(s.trim_end_matches(';')).unwrap();
        assert_eq!(spec.table, "\"t\"");
        assert_eq!(spec.columns.as_deref(), Some("(\"a\", \"b\")"));
        assert_eq!(spec.urls.len(), 2);
        assert_eq!(
            (spec.delimiter.as_str(), spec.skip, spec.gzip),
            ("|", 1, true)
        );
        assert_eq!(
            spec.copy_sql(),
            "COPY \"t\" (\"a\", \"b\") FROM STDIN WITH (FORMAT csv, DELIMITER '|', NULL '')"
        );
        assert_eq!(skip_lines(b"h\nr1\nr2\n", 1), b"r1\nr2\n");
    }
}
