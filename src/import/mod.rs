//! `chunkload import`: split a CSV into shards for CockroachDB's `IMPORT INTO`.
//!
//! `IMPORT INTO` has every node fetch files in parallel, so many shards let the whole
//! cluster ingest; but it takes the table offline and is insert-only, which is why this
//! is a separate command from the chunked, retried `load`. [`prepare`] writes the shards
//! and the statement; [`serve`] hands the shards to the nodes over HTTP; [`execute`] runs
//! the statement on CockroachDB. For PostgreSQL, [`ImportPlan::copy_statements`] gives
//! one server-side `COPY ... FROM 'file'` per shard instead, which [`execute_copy`] runs.

mod azure_out;
mod gcs_out;
mod import_into;
mod object_out;
mod options;
mod out_prefix;
mod plan;
mod s3_out;
mod serve;
mod shard;
mod store_plan;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::source::s3::ImportAuth;
pub use import_into::{
    copy_statement, import_statement, redact_url, shell_quote, BaseUrl, Scheme, ShardDialect,
};
pub use options::{Emit, ImportOptions, ShardCompression};
pub use plan::{ImportPlan, Shard, MAX_ADVISED_SHARD_BYTES};
pub use s3_out::DEFAULT_PART_SIZE;
pub use serve::{serve, shard_files, ShardServer};

use crate::{Error, Flavour, Result};
use plan::caveats_for;

/// The base URL `--serve ADDR` implies when `--base-url` is not given.
pub fn http_base_url(addr: &str) -> String {
    format!("http://{addr}/")
}

/// A file-name-safe form of the table name: `[A-Za-z0-9_.-]` kept, the rest `_`.
fn file_stem(table: &str) -> String {
    let mut s: String = table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    s
}

/// Whether `name` is a shard file of the table with file stem `stem`, as [`shard_name`]
/// writes them (any count, compressed or not).
fn is_shard_of(stem: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let Some(num) = rest
        .strip_suffix(".csv.gz")
        .or_else(|| rest.strip_suffix(".csv"))
    else {
        return false;
    };
    !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit())
}

/// The shard files of the table with file stem `stem` already in `dir`, sorted.
fn existing_shards(dir: &Path, stem: &str) -> Result<Vec<String>> {
    let name = dir.display().to_string();
    let mut v = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(name.clone(), e))? {
        let entry = entry.map_err(|e| Error::io(name.clone(), e))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if is_shard_of(stem, &file_name) {
            v.push(file_name);
        }
    }
    v.sort();
    Ok(v)
}

/// Creates the output directory if missing and returns it canonicalized; an existing
/// path that is not a directory is a usage error.
pub fn out_dir(path: &Path) -> Result<PathBuf> {
    let name = path.display().to_string();
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::usage(format!(
                "--out {name} exists and is not a directory"
            )))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(path).map_err(|e| Error::io(name.clone(), e))?
        }
        Err(e) => return Err(Error::io(name, e)),
    }
    path.canonicalize().map_err(|e| Error::io(name, e))
}

fn shard_name(stem: &str, index: usize, count: usize, gzip: bool) -> String {
    let width = count.to_string().len();
    format!(
        "{stem}.{:0width$}.csv{}",
        index + 1,
        if gzip { ".gz" } else { "" }
    )
}

/// Splits the input into shards in `out_dir` (or uploads them under an object-store prefix,
/// see [`ImportOptions::out_dir`]) and builds the statements.
///
/// Shards and SQL files are written under temp names and renamed only when all are
/// complete, so an error leaves nothing half-written (and earlier files untouched).
pub fn prepare(opts: &ImportOptions) -> Result<ImportPlan> {
    opts.validate()?;
    if let Some(prefix) = out_prefix::OutPrefix::of(&opts.out_dir.to_string_lossy())? {
        return store_plan::prepare(opts, prefix);
    }
    let dir = out_dir(&opts.out_dir)?;
    let stem = file_stem(&opts.table);
    let earlier = existing_shards(&dir, &stem)?;
    refuse_earlier(opts, &dir.display().to_string(), &earlier)?;
    let base = base_url(opts, &dir)?;
    let mut input = Input::cut(opts, &dir)?;
    let mut pending = shard::Pending::new();
    let mut sink = DirSink {
        dir: &dir,
        pending: &mut pending,
    };
    let shards = input.write(&stem, &base, &mut sink)?;
    let (statement, redacted) = input.statements(opts, &shards)?;
    let copy = shards
        .iter()
        .map(|s| {
            let path = s.path.display().to_string();
            copy_statement(&opts.table, input.columns.as_deref(), &path, &input.dialect)
        })
        .collect::<Result<Vec<_>>>()?;
    let header = input.sql_header(opts, shards.len());
    let secret = redacted != statement;
    let import_sql = dir.join("import.sql");
    write_import_sql(
        &mut pending,
        &import_sql,
        &header,
        &statement,
        secret,
        &base,
    )?;
    let copy_sql = match opts.emit {
        Emit::Copy => Some(write_copy_sql(&mut pending, &dir, &copy)?),
        _ => None,
    };
    let Input {
        src,
        columns,
        dialect,
        ..
    } = input;
    drop(src);
    let replaced = remove_earlier(&dir, earlier, &shards)?;
    pending.commit()?;
    Ok(ImportPlan {
        table: opts.table.clone(),
        columns,
        dialect,
        base,
        dir,
        shards,
        statement,
        redacted,
        copy,
        import_sql,
        copy_sql,
        requested_shards: opts.shards,
        replaced,
        uploaded: false,
    })
}

/// The input, cut: where each shard starts and ends, and how the shards are written.
struct Input {
    src: fs::File,
    name: String,
    cuts: shard::Cuts,
    /// The statements' column list: `--columns`, else the header's.
    columns: Option<Vec<String>>,
    /// The raw header line, repeated atop each shard with `--keep-header`.
    header_bytes: Vec<u8>,
    dialect: ShardDialect,
}

impl Input {
    /// Opens the input (spooling to `spool_dir` what cannot be read twice) and cuts it.
    fn cut(opts: &ImportOptions, spool_dir: &Path) -> Result<Input> {
        let name = opts.input.display().to_string();
        let mut src = shard::open_seekable(&opts.input, spool_dir)?;
        let cuts = shard::find_cuts(&mut src, &name, &cut_spec(opts))?;
        let columns = opts.columns.clone().or_else(|| cuts.header.clone());
        let header_bytes = if opts.keep_header {
            shard::read_range(&mut src, cuts.bom_len, cuts.data_start())
                .map_err(|e| Error::io(name.clone(), e))?
        } else {
            Vec::new()
        };
        let dialect = ShardDialect {
            delimiter: opts.delimiter,
            null: opts.null.clone(),
            header_in_shards: opts.keep_header,
            gzip: opts.compress == ShardCompression::Gzip,
        };
        Ok(Input {
            src,
            name,
            cuts,
            columns,
            header_bytes,
            dialect,
        })
    }

    fn write<S: ShardSink>(
        &mut self,
        stem: &str,
        base: &BaseUrl,
        sink: &mut S,
    ) -> Result<Vec<Shard>> {
        let layout = ShardLayout {
            stem,
            base,
            gzip: self.dialect.gzip,
            header: &self.header_bytes,
        };
        write_shards(&mut self.src, &self.name, &self.cuts, &layout, sink)
    }

    /// `IMPORT INTO` with the shards' real URLs, and with their secrets as `***`.
    fn statements(&self, opts: &ImportOptions, shards: &[Shard]) -> Result<(String, String)> {
        let urls: Vec<String> = shards.iter().map(|s| s.url.clone()).collect();
        let cols = self.columns.as_deref();
        let statement = import_statement(&opts.table, cols, &urls, &self.dialect)?;
        let redacted_urls: Vec<String> = urls.iter().map(|u| redact_url(u)).collect();
        let redacted = import_statement(&opts.table, cols, &redacted_urls, &self.dialect)?;
        Ok((statement, redacted))
    }

    fn sql_header(&self, opts: &ImportOptions, shards: usize) -> String {
        format!(
            "-- chunkload import: {shards} shards of {} into {}\n",
            self.name, opts.table
        )
    }
}

/// Shards an earlier import left at `place`: replaced only with `--force`.
fn refuse_earlier(opts: &ImportOptions, place: &str, earlier: &[String]) -> Result<()> {
    if !earlier.is_empty() && !opts.force {
        return Err(Error::usage(format!(
            "{place} already holds {} shards of {} from an earlier import ({}{}); pass --force \
             to replace them, or choose another --out",
            earlier.len(),
            opts.table,
            earlier[0],
            if earlier.len() > 1 { ", ..." } else { "" }
        )));
    }
    Ok(())
}

/// Where the cluster reads the shards: `--base-url`, else `nodelocal://1/<out dir's name>`.
fn base_url(opts: &ImportOptions, dir: &Path) -> Result<BaseUrl> {
    match &opts.base_url {
        Some(u) => BaseUrl::parse(u),
        None => {
            let leaf = dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            BaseUrl::parse(&format!("nodelocal://1/{}", file_stem(&leaf)))
        }
    }
}

fn cut_spec(opts: &ImportOptions) -> shard::CutSpec {
    shard::CutSpec {
        dialect: crate::source::Dialect {
            delimiter: opts.delimiter,
            null: opts.null.clone().into_bytes(),
            has_header: opts.has_header,
            ..crate::source::Dialect::default()
        },
        expect_fields: opts.columns.as_ref().map(Vec::len),
        shards: opts.shards,
    }
}

/// Where and how shard files are written.
struct ShardLayout<'a> {
    stem: &'a str,
    base: &'a BaseUrl,
    gzip: bool,
    /// Written at the head of each shard (`--keep-header`), else empty.
    header: &'a [u8],
}

/// Where a shard's bytes go: a temp file in the out dir, or an upload to a store.
trait ShardSink {
    type Out: Write;
    /// Starts the shard `file_name`, of about `bytes` bytes.
    fn open(&mut self, file_name: &str, bytes: u64) -> Result<Self::Out>;
    /// Completes it; returns its stored size.
    fn close(&mut self, out: Self::Out, file_name: &str) -> Result<u64>;
    /// Where it is stored: a path, or an object-store URL.
    fn path(&self, file_name: &str) -> PathBuf;
}

/// Shards in a local directory, under temp names until `pending` commits.
struct DirSink<'a> {
    dir: &'a Path,
    pending: &'a mut shard::Pending,
}

impl ShardSink for DirSink<'_> {
    type Out = fs::File;

    fn open(&mut self, file_name: &str, _bytes: u64) -> Result<fs::File> {
        self.pending.create(&self.dir.join(file_name))
    }

    fn close(&mut self, out: fs::File, file_name: &str) -> Result<u64> {
        let err = |e| Error::io(self.path(file_name).display().to_string(), e);
        out.sync_all().map_err(err)?;
        Ok(out.metadata().map_err(err)?.len())
    }

    fn path(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }
}

/// Writes the shards that hold records (an empty file would be served and imported for
/// nothing) into `sink`.
fn write_shards<S: ShardSink>(
    src: &mut fs::File,
    input_name: &str,
    cuts: &shard::Cuts,
    layout: &ShardLayout<'_>,
    sink: &mut S,
) -> Result<Vec<Shard>> {
    let kept: Vec<usize> = (0..cuts.records.len())
        .filter(|&i| cuts.records[i] > 0)
        .collect();
    if kept.is_empty() {
        return Err(Error::usage(format!(
            "{input_name} holds no data records: there is nothing to import"
        )));
    }
    let mut shards = Vec::with_capacity(kept.len());
    for (n, &i) in kept.iter().enumerate() {
        let file_name = shard_name(layout.stem, n, kept.len(), layout.gzip);
        let path = sink.path(&file_name);
        let (start, end) = (cuts.bounds[i], cuts.bounds[i + 1]);
        let out = sink.open(&file_name, end - start + layout.header.len() as u64)?;
        let shown = path.display().to_string();
        let out = shard::write_shard(src, layout.header, start, end, layout.gzip, out, &shown)?;
        let file_bytes = sink.close(out, &file_name)?;
        shards.push(Shard {
            url: layout.base.file_url(&file_name),
            file_name,
            path,
            records: cuts.records[i],
            data_bytes: end - start,
            file_bytes,
        });
    }
    Ok(shards)
}

/// `import.sql`: the caveats of URLs like `base`, then the statement (0600 when it holds
/// a secret).
fn write_import_sql(
    pending: &mut shard::Pending,
    path: &Path,
    header: &str,
    statement: &str,
    secret: bool,
    base: &BaseUrl,
) -> Result<()> {
    let mut sql = header.to_string();
    for c in caveats_for(base) {
        sql.push_str(&format!("-- {c}\n"));
    }
    sql.push_str(statement);
    sql.push('\n');
    write_sql(pending, path, &sql, secret)
}

/// `copy.sql` (`--emit copy`): one `\copy` per shard, for a PostgreSQL target.
fn write_copy_sql(pending: &mut shard::Pending, dir: &Path, copy: &[String]) -> Result<PathBuf> {
    let path = dir.join("copy.sql");
    let mut text = String::from("-- chunkload import --emit copy: run on the PostgreSQL target\n");
    for s in copy {
        text.push_str(s);
        text.push('\n');
    }
    write_sql(pending, &path, &text, false)?;
    Ok(path)
}

/// The earlier import's shards go only once the new ones are complete; those with a new
/// shard's name are replaced by the rename. Returns their names.
fn remove_earlier(dir: &Path, earlier: Vec<String>, shards: &[Shard]) -> Result<Vec<String>> {
    let mut replaced = Vec::new();
    for name in earlier {
        if !shards.iter().any(|s| s.file_name == name) {
            let path = dir.join(&name);
            fs::remove_file(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
        }
        replaced.push(name);
    }
    Ok(replaced)
}

fn write_sql(pending: &mut shard::Pending, path: &Path, text: &str, secret: bool) -> Result<()> {
    let name = path.display().to_string();
    let mut f = pending.create(path)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(name.clone(), e))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(name, e))
}

/// The message `--execute` gives on PostgreSQL, which has no `IMPORT INTO`.
pub const POSTGRES_REFUSAL: &str = "IMPORT INTO is a CockroachDB statement and the target is \
PostgreSQL: nothing was run. Use `chunkload load` to load the file in chunks, or \
`chunkload import --emit copy` to get server-side COPY statements for the shards.";

/// Runs the plan's `IMPORT INTO` on CockroachDB and returns the job's result row as
/// `name=value` pairs; refuses on PostgreSQL without touching the server.
pub fn execute(
    client: &mut postgres::Client,
    plan: &ImportPlan,
    flavour: Flavour,
) -> Result<String> {
    if flavour != Flavour::Cockroach {
        return Err(Error::usage(POSTGRES_REFUSAL));
    }
    let messages = client.simple_query(plan.statement())?;
    let mut out = Vec::new();
    for m in messages {
        if let postgres::SimpleQueryMessage::Row(row) = m {
            for (i, col) in row.columns().iter().enumerate() {
                out.push(format!("{}={}", col.name(), row.get(i).unwrap_or("NULL")));
            }
        }
    }
    Ok(out.join(", "))
}

/// Runs the plan's [`ImportPlan::copy_statements`] on PostgreSQL in one transaction, so
/// either every shard loads or none; returns the rows copied.
pub fn execute_copy(client: &mut postgres::Client, plan: &ImportPlan) -> Result<u64> {
    let mut tx = client.transaction()?;
    let mut rows = 0;
    for stmt in plan.copy_statements() {
        for m in tx.simple_query(stmt)? {
            if let postgres::SimpleQueryMessage::CommandComplete(n) = m {
                rows += n;
            }
        }
    }
    tx.commit()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn file_stem_is_safe() {
        assert_eq!(file_stem("public.t"), "public.t");
        assert_eq!(file_stem("a\"b/c d"), "a_b_c_d");
        assert_eq!(file_stem(".hidden"), "_hidden");
    }

    #[test]
    fn shard_names_are_padded_to_sort() {
        assert_eq!(shard_name("t", 0, 1, false), "t.1.csv");
        assert_eq!(shard_name("t", 2, 12, true), "t.03.csv.gz");
    }

    #[test]
    fn shard_names_of_a_table_are_recognised() {
        for yes in ["t.1.csv", "t.0042.csv.gz"] {
            assert!(is_shard_of("t", yes), "{yes}");
        }
        for no in [
            "t.csv",
            "t.x.csv",
            "tt.1.csv",
            "t.1.csv.tmp",
            "u.1.csv",
            "a.t.1.csv",
        ] {
            assert!(!is_shard_of("t", no), "{no}");
        }
        assert!(!is_shard_of("a", "a.b.1.csv"));
    }
}
