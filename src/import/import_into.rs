//! SQL text for the import: shard URLs, shell quoting, redaction and the statements
//! themselves.
//!
//! Everything here is pure string work so it is golden-tested without a server.

use crate::sql::{quote_ident, quote_literal, quote_table};
use crate::{Error, Result};

/// Quotes a word for a POSIX shell, so printed commands can be pasted as they are.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Where the cluster's nodes read the shards from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `nodelocal://<node>/path`: a node's external IO directory.
    Nodelocal,
    /// `userfile://[db.schema.table]/path`: files stored in the cluster itself.
    Userfile,
    /// `http://` or `https://`: any file server, e.g. `chunkload import --serve`.
    Http,
    /// `s3://bucket/prefix?AUTH=...`.
    S3,
    /// `gs://bucket/prefix?AUTH=...`.
    Gs,
    /// `azure://container/prefix?AZURE_ACCOUNT_NAME=...`.
    Azure,
}

/// A validated base URL; shard file names are appended to its path, before its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    /// Everything before the query string, ending with `/`.
    prefix: String,
    /// The query string with its leading `?`, or empty.
    query: String,
}

impl BaseUrl {
    /// Parses and checks a `--base-url`. Only the schemes CockroachDB's IMPORT reads are
    /// accepted, so a typo fails here and not halfway through a cluster-wide job.
    pub fn parse(raw: &str) -> Result<BaseUrl> {
        let (scheme_str, rest) = raw.split_once("://").ok_or_else(|| {
            Error::usage(format!(
                "--base-url {}: expected scheme://..., e.g. nodelocal://1/import",
                redact_url(raw)
            ))
        })?;
        let scheme = match scheme_str.to_ascii_lowercase().as_str() {
            "nodelocal" => Scheme::Nodelocal,
            "userfile" => Scheme::Userfile,
            "http" | "https" => Scheme::Http,
            "s3" => Scheme::S3,
            "gs" => Scheme::Gs,
            "azure" | "azure-blob" | "azure-storage" => Scheme::Azure,
            other => {
                return Err(Error::usage(format!(
                    "--base-url: unsupported scheme {other:?}; use nodelocal, userfile, http, \
                     https, s3, gs or azure"
                )))
            }
        };
        let (before, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if before.contains('#') {
            return Err(Error::usage("--base-url must not contain a fragment (#)"));
        }
        let authority = before.split('/').next().unwrap_or("");
        match scheme {
            Scheme::Nodelocal if authority.is_empty() => {
                return Err(Error::usage(
                    "--base-url nodelocal:// needs a node id, e.g. nodelocal://1/import",
                ))
            }
            Scheme::Http | Scheme::S3 | Scheme::Gs | Scheme::Azure if authority.is_empty() => {
                return Err(Error::usage(format!(
                    "--base-url {}: missing host or bucket",
                    redact_url(raw)
                )))
            }
            _ => {}
        }
        let mut prefix = format!("{scheme_str}://{before}");
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(BaseUrl {
            scheme,
            prefix,
            query: query.to_string(),
        })
    }

    /// The scheme, which decides the extra steps printed for the user.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the query says `AUTH=implicit`: the nodes read with their own credentials.
    pub(crate) fn implicit_auth(&self) -> bool {
        let query = self.query.strip_prefix('?').unwrap_or("");
        query.split('&').any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("AUTH") && v.eq_ignore_ascii_case("implicit")
            })
        })
    }

    /// The URL of one shard: the file name goes into the path, before the query string
    /// (where S3/GCS credentials live).
    pub fn file_url(&self, file_name: &str) -> String {
        format!("{}{}{}", self.prefix, file_name, self.query)
    }

    /// The destination `cockroach userfile upload` takes for a shard: a plain path for
    /// the default `userfile:///` storage, the full URL for a qualified table.
    pub(crate) fn userfile_destination(&self, file_name: &str) -> String {
        match self.prefix.strip_prefix("userfile://") {
            Some(rest) if rest.starts_with('/') => format!("{rest}{file_name}"),
            _ => self.file_url(file_name),
        }
    }
}

/// Query parameters whose values are secrets; compared case-insensitively.
const SECRET_PARAMS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "CREDENTIALS",
    "AZURE_ACCOUNT_KEY",
    "AZURE_CLIENT_SECRET",
    "BEARER_TOKEN",
    "password",
    "sslpassword",
];

/// Hides secrets in a URL for the terminal: the password in `user:pass@` and the values
/// of credential query parameters become `***`. The files keep the real URL.
pub fn redact_url(url: &str) -> String {
    // The user-info password as connection strings mask it, then cloud credentials.
    let base = crate::connect::redact(url);
    let Some((before, query)) = base.split_once('?') else {
        return base;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(k)) => {
                format!("{k}=***")
            }
            _ => kv.to_string(),
        })
        .collect();
    format!("{before}?{}", params.join("&"))
}

/// The CSV dialect of the shards, which the statements must describe exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardDialect {
    /// Field delimiter byte.
    pub delimiter: u8,
    /// Text of an unquoted field that means NULL (PostgreSQL CSV default: empty).
    pub null: String,
    /// Whether each shard starts with the header line (`--keep-header`).
    pub header_in_shards: bool,
    /// Whether the shards are gzip-compressed.
    pub gzip: bool,
}

fn delimiter_text(d: u8) -> String {
    char::from(d).to_string()
}

/// Renders `IMPORT INTO t (cols) CSV DATA (urls) WITH options;`.
///
/// `nullif` is always given: CockroachDB's default treats no value as NULL, while the
/// PostgreSQL CSV semantics `chunkload load` follows make an unquoted empty field NULL and
/// a quoted `""` an empty string. `nullif` without `allow_quoted_null` is exactly that.
pub fn import_statement(
    table: &str,
    columns: Option<&[String]>,
    urls: &[String],
    dialect: &ShardDialect,
) -> Result<String> {
    let mut s = format!("IMPORT INTO {}", quote_table(table)?);
    if let Some(cols) = columns {
        s.push_str(&format!(" ({})", column_list(cols)));
    }
    s.push_str("\n    CSV DATA (\n");
    for (i, u) in urls.iter().enumerate() {
        s.push_str("        ");
        s.push_str(&quote_literal(u));
        if i + 1 < urls.len() {
            s.push(',');
        }
        s.push('\n');
    }
    s.push_str("    )\n    WITH ");
    let mut opts = Vec::new();
    if dialect.delimiter != b',' {
        opts.push(format!(
            "delimiter = {}",
            quote_literal(&delimiter_text(dialect.delimiter))
        ));
    }
    opts.push(format!("nullif = {}", quote_literal(&dialect.null)));
    if dialect.header_in_shards {
        opts.push("skip = '1'".to_string());
    }
    if dialect.gzip {
        opts.push("decompress = 'gzip'".to_string());
    }
    s.push_str(&opts.join(", "));
    s.push(';');
    Ok(s)
}

/// Renders a server-side `COPY t (cols) FROM 'path' WITH (FORMAT csv, ...)` for one
/// shard. A gzip shard is read through `FROM PROGRAM 'gzip -dc ...'`.
pub fn copy_statement(
    table: &str,
    columns: Option<&[String]>,
    path: &str,
    dialect: &ShardDialect,
) -> Result<String> {
    let mut s = format!("COPY {}", quote_table(table)?);
    if let Some(cols) = columns {
        s.push_str(&format!(" ({})", column_list(cols)));
    }
    if dialect.gzip {
        let program = format!("gzip -dc {}", shell_quote(path));
        s.push_str(&format!(" FROM PROGRAM {}", quote_literal(&program)));
    } else {
        s.push_str(&format!(" FROM {}", quote_literal(path)));
    }
    s.push_str(&format!(
        " WITH (FORMAT csv, DELIMITER {}, NULL {}, QUOTE '\"', ESCAPE '\"'{});",
        quote_literal(&delimiter_text(dialect.delimiter)),
        quote_literal(&dialect.null),
        if dialect.header_in_shards {
            ", HEADER true"
        } else {
            ""
        }
    ));
    Ok(s)
}

fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect() -> ShardDialect {
        ShardDialect {
            delimiter: b',',
            null: String::new(),
            header_in_shards: false,
            gzip: false,
        }
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/tmp/a.csv"), "/tmp/a.csv");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn base_url_puts_file_before_query() {
        let b = BaseUrl::parse("s3://bkt/pre?AUTH=specified&AWS_SECRET_ACCESS_KEY=x").unwrap();
        assert_eq!(b.scheme(), Scheme::S3);
        assert_eq!(
            b.file_url("t.1.csv"),
            "s3://bkt/pre/t.1.csv?AUTH=specified&AWS_SECRET_ACCESS_KEY=x"
        );
        let h = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(h.file_url("t.1.csv"), "http://127.0.0.1:8080/t.1.csv");
        let n = BaseUrl::parse("nodelocal://1/imp/").unwrap();
        assert_eq!(n.file_url("t.1.csv"), "nodelocal://1/imp/t.1.csv");
        assert!(BaseUrl::parse("nodelocal:///x").is_err());
        assert!(BaseUrl::parse("ftp://x/y").is_err());
        assert!(BaseUrl::parse("/just/a/path").is_err());
        assert!(BaseUrl::parse("s3:///x").is_err());
    }

    #[test]
    fn userfile_destination_is_path_or_qualified_url() {
        let d = BaseUrl::parse("userfile:///imp").unwrap();
        assert_eq!(d.userfile_destination("t.1.csv"), "/imp/t.1.csv");
        let q = BaseUrl::parse("userfile://db.public.files/imp").unwrap();
        assert_eq!(
            q.userfile_destination("t.1.csv"),
            "userfile://db.public.files/imp/t.1.csv"
        );
    }

    #[test]
    fn redaction_hides_secrets_only() {
        assert_eq!(
            redact_url("s3://b/p/f.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AK&aws_secret_access_key=S%2Fx&AWS_SESSION_TOKEN=T"),
            "s3://b/p/f.csv?AUTH=specified&AWS_ACCESS_KEY_ID=AK&aws_secret_access_key=***&AWS_SESSION_TOKEN=***"
        );
        assert_eq!(
            redact_url("http://user:pw@host:80/f.csv"),
            "http://user:***@host:80/f.csv"
        );
        assert_eq!(
            redact_url("gs://b/f.csv?AUTH=specified&CREDENTIALS=abc"),
            "gs://b/f.csv?AUTH=specified&CREDENTIALS=***"
        );
        assert_eq!(redact_url("nodelocal://1/a/b.csv"), "nodelocal://1/a/b.csv");
        assert_eq!(redact_url("http://u@h/x"), "http://u@h/x");
    }

    #[test]
    fn import_statement_minimal() {
        let s = import_statement(
            "t",
            Some(&["a".into(), "b".into()]),
            &["nodelocal://1/x/t.1.csv".into()],
            &dialect(),
        )
        .unwrap();
        assert_eq!(
            s,
            "IMPORT INTO \"t\" (\"a\", \"b\")\n    CSV DATA (\n        'nodelocal://1/x/t.1.csv'\n    )\n    WITH nullif = '';"
        );
    }

    #[test]
    fn copy_statement_gzip_uses_program() {
        let d = ShardDialect {
            gzip: true,
            ..dialect()
        };
        let s = copy_statement("t", None, "/d/it's.csv.gz", &d).unwrap();
        assert_eq!(
            s,
            "COPY \"t\" FROM PROGRAM 'gzip -dc ''/d/it''\\''''s.csv.gz''' WITH (FORMAT csv, DELIMITER ',', NULL '', QUOTE '\"', ESCAPE '\"');"
        );
    }
}
