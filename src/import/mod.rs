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
pub use s3_out::DEFAULT_PART_SIZE;
pub use serve::{serve, shard_files, ShardServer};

use crate::{Error, Flavour, Result};

/// Whether shards are compressed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardCompression {
    /// Plain `.csv` shards.
    #[default]
    None,
    /// `.csv.gz` shards, read with `decompress = 'gzip'`; less to move over the network.
    Gzip,
}

/// Which statements `import` writes besides `import.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emit {
    /// CockroachDB `IMPORT INTO` only.
    #[default]
    Import,
    /// Also `copy.sql`: one server-side `COPY ... FROM 'file'` per shard, for PostgreSQL.
    Copy,
}

/// Everything `chunkload import` needs; built by the CLI from its flags.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The CSV file; `-` reads stdin. gzip and zstd input is detected and decompressed.
    pub input: PathBuf,
    /// Target table, optionally schema-qualified (`schema.table`).
    pub table: String,
    /// Number of shard files to write (at least 1). Fewer are written when a shard would
    /// be empty (fewer records than shards, or records larger than a shard's share).
    pub shards: usize,
    /// Directory for the shards and `import.sql`; created if missing. An `s3://bucket/prefix`
    /// (`az://container/prefix`, `gs://bucket/prefix`) URL uploads the shards there instead, as they are cut (`import.sql` then goes to
    /// [`ImportOptions::sql_out`]).
    pub out_dir: PathBuf,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
    /// Unquoted field text meaning NULL (default empty, as PostgreSQL CSV).
    pub null: String,
    /// Whether the first record is a header (default true); it is dropped from the shards.
    pub has_header: bool,
    /// Column names: override the header's, or name the columns of a headerless file.
    pub columns: Option<Vec<String>>,
    /// Shard compression.
    pub compress: ShardCompression,
    /// Where nodes read the shards; default `nodelocal://1/<name of out_dir>/`.
    pub base_url: Option<String>,
    /// Repeat the header at the top of every shard and emit `skip = '1'`.
    pub keep_header: bool,
    /// Also write `copy.sql` for PostgreSQL.
    pub emit: Emit,
    /// Replace the shards of the same table left in `out_dir` by an earlier import;
    /// without it their presence is a usage error (they would be served and not loaded).
    pub force: bool,
    /// Where `import.sql` goes with object-store output (default `import.sql` in the current
    /// directory): it holds the credentials, so it stays local and is never uploaded.
    pub sql_out: Option<PathBuf>,
    /// With object-store output: whether the statement's URLs carry this process's
    /// credentials (AWS keys, Azure account key, Google token) or `AUTH=implicit`.
    pub out_auth: ImportAuth,
    /// With object-store output: bytes per part, so per shard in memory (default
    /// 8 MiB). S3 refuses parts under 5 MiB but the last, at completion.
    pub part_size: usize,
}

impl ImportOptions {
    /// Options with the defaults of the command line: comma, empty NULL, header, plain
    /// shards, nodelocal URLs.
    pub fn new(
        input: impl Into<PathBuf>,
        table: impl Into<String>,
        shards: usize,
        out_dir: impl Into<PathBuf>,
    ) -> ImportOptions {
        ImportOptions {
            input: input.into(),
            table: table.into(),
            shards,
            out_dir: out_dir.into(),
            delimiter: b',',
            null: String::new(),
            has_header: true,
            columns: None,
            compress: ShardCompression::None,
            base_url: None,
            keep_header: false,
            emit: Emit::Import,
            force: false,
            sql_out: None,
            out_auth: ImportAuth::Specified,
            part_size: s3_out::DEFAULT_PART_SIZE,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.shards == 0 {
            return Err(Error::usage("--shards must be at least 1"));
        }
        if self.shards > 100_000 {
            return Err(Error::usage("--shards must be at most 100000"));
        }
        if matches!(self.delimiter, b'"' | b'\r' | b'\n') || !self.delimiter.is_ascii() {
            return Err(Error::usage(
                "--delimiter must be one ASCII character other than a quote or a newline",
            ));
        }
        if self.null.contains(char::from(self.delimiter)) || self.null.contains('"') {
            return Err(Error::usage(
                "--null must not contain the delimiter or a double quote",
            ));
        }
        if self.null.contains(['\r', '\n']) {
            return Err(Error::usage("--null must not contain a newline"));
        }
        if let Some(cols) = &self.columns {
            if cols.is_empty() || cols.iter().any(|c| c.is_empty()) {
                return Err(Error::usage("--columns must list non-empty column names"));
            }
        }
        if self.keep_header && !self.has_header {
            return Err(Error::usage("--keep-header needs an input with a header"));
        }
        crate::sql::quote_table(&self.table)?;
        let store = crate::source::store::is_store(&self.out_dir.to_string_lossy());
        if store && self.emit == Emit::Copy {
            return Err(Error::usage(
                "--emit copy needs the shards on the PostgreSQL server's disk: it cannot read \
                 them from an object-store --out (s3://, az://, gs://)",
            ));
        }
        if !store && self.sql_out.is_some() {
            return Err(Error::usage(
                "--sql-out is for object-store output (s3://, az://, gs://); import.sql goes \
                 to a local --out",
            ));
        }
        if !(1 << 20..=5 << 30).contains(&self.part_size) {
            return Err(Error::usage("--part-size must be between 1 MiB and 5 GiB"));
        }
        Ok(())
    }
}

/// One shard file written by [`prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// File name inside the output directory.
    pub file_name: String,
    /// Absolute path (the output directory canonicalized), or the object-store URL it was
    /// uploaded to.
    pub path: PathBuf,
    /// URL the nodes read it from; may hold credentials, see [`redact_url`].
    pub url: String,
    /// Data records in the shard.
    pub records: u64,
    /// Uncompressed data bytes (header excluded).
    pub data_bytes: u64,
    /// Size on disk.
    pub file_bytes: u64,
}

/// The written shards and the statements that load them.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    table: String,
    columns: Option<Vec<String>>,
    dialect: ShardDialect,
    base: BaseUrl,
    dir: PathBuf,
    shards: Vec<Shard>,
    statement: String,
    redacted: String,
    copy: Vec<String>,
    import_sql: PathBuf,
    copy_sql: Option<PathBuf>,
    requested_shards: usize,
    replaced: Vec<String>,
    /// The shards were uploaded to `dir`, an object-store prefix.
    uploaded: bool,
}

/// CockroachDB's caveats of `IMPORT INTO` (`shared/guide/cockroachdb.md`, "IMPORT INTO" and
/// "Privileges"), whatever the URLs.
const CAVEATS: &[&str] = &[
    "IMPORT INTO takes the table offline until the import finishes: reads and writes to it fail meanwhile.",
    "IMPORT INTO only inserts: imported rows must not conflict with the primary key or any unique index, or the job fails and is rolled back.",
    "IMPORT INTO leaves every constraint of the table unvalidated (its foreign keys and check constraints included); validate them afterwards with ALTER TABLE ... VALIDATE CONSTRAINT.",
    "The user needs the INSERT and DROP privileges on the table (DROP because it is taken offline).",
];

/// For http(s):// and nodelocal:// URLs (the guide's "Privileges").
const EXTERNAL_IO: &str = "IMPORT from http(s):// URLs (as --serve offers the shards) or nodelocal:// URLs needs the admin role or the EXTERNALIOIMPLICITACCESS system privilege.";

/// For cloud storage read with the nodes' own credentials: EXTERNALIOIMPLICITACCESS
/// covers implicit authentication (cockroachdb/cockroach#87066, "Egs: gs, s3, nodelocal").
const IMPLICIT: &str = "IMPORT from cloud storage with AUTH=implicit (the nodes' own credentials) needs the admin role or the EXTERNALIOIMPLICITACCESS system privilege.";

/// The caveats of an `IMPORT INTO` reading URLs like `base`: the admin role is named only
/// where those URLs need it, not for cloud storage with credentials in the URL (as
/// `--out s3://` writes by default) or userfile://.
fn caveats_for(base: &BaseUrl) -> Vec<&'static str> {
    let mut caveats = CAVEATS.to_vec();
    match base.scheme() {
        Scheme::Http | Scheme::Nodelocal => caveats.push(EXTERNAL_IO),
        Scheme::S3 | Scheme::Gs | Scheme::Azure if base.implicit_auth() => caveats.push(IMPLICIT),
        Scheme::S3 | Scheme::Gs | Scheme::Azure | Scheme::Userfile => {}
    }
    caveats
}

impl ImportPlan {
    /// The `IMPORT INTO` statement with real URLs, for running or for `import.sql`.
    pub fn statement(&self) -> &str {
        &self.statement
    }

    /// The statement with credentials in URLs replaced by `***`, for the terminal.
    pub fn redacted_statement(&self) -> &str {
        &self.redacted
    }

    /// One server-side `COPY t (cols) FROM '/abs/path' WITH (FORMAT csv, ...)` per shard,
    /// for a PostgreSQL target; together they load the same rows as `chunkload load`.
    pub fn copy_statements(&self) -> &[String] {
        &self.copy
    }

    /// `cockroach userfile upload` commands to run first, when the base URL is
    /// `userfile://`; empty otherwise. The cluster URL is left to `$COCKROACH_URL` so no
    /// password is printed.
    pub fn userfile_commands(&self) -> Vec<String> {
        if self.base.scheme() != Scheme::Userfile {
            return Vec::new();
        }
        self.shards
            .iter()
            .map(|s| {
                format!(
                    "cockroach userfile upload {} {} --url \"$COCKROACH_URL\"",
                    shell_quote(&s.path.display().to_string()),
                    shell_quote(&self.base.userfile_destination(&s.file_name))
                )
            })
            .collect()
    }

    /// CockroachDB's caveats of `IMPORT INTO` from the base URL's scheme, to print before
    /// running or emitting it.
    pub fn caveats(&self) -> Vec<&'static str> {
        caveats_for(&self.base)
    }

    /// What the user must do for the chosen URL scheme before the statement can run.
    pub fn notes(&self) -> Vec<String> {
        let dir = self.dir.display();
        if self.uploaded {
            return vec![format!(
                "the shards are under {dir}, where every node reads them itself (the URLs \
                 carry the credentials, or AUTH=implicit for the nodes' own)"
            )];
        }
        match self.base.scheme() {
            Scheme::Nodelocal => vec![format!(
                "nodelocal URLs read from that node's external IO directory (<store>/extern by \
                 default): copy the files of {dir} there, keeping the path of the URL."
            )],
            Scheme::Userfile => vec![
                "Upload the shards into the cluster first with the `cockroach userfile upload` \
                 commands below (set COCKROACH_URL to the cluster's connection URL)."
                    .to_string(),
            ],
            Scheme::Http => vec![format!(
                "Every node fetches the shards over HTTP: serve {dir} (chunkload import --serve \
                 ADDR) at an address all nodes can reach."
            )],
            Scheme::S3 | Scheme::Gs | Scheme::Azure => vec![format!(
                "Upload the files of {dir} under the bucket prefix of --base-url before running \
                 the statement."
            )],
        }
    }

    /// Notes for `--emit copy`: the server, not the client, reads the files.
    pub fn copy_notes(&self) -> Vec<String> {
        let mut v = vec![format!(
            "COPY FROM a file is run by the PostgreSQL server process: the shards in {} must be \
             on the database host and readable by its OS user (usually postgres).",
            self.dir.display()
        )];
        v.push(if self.dialect.gzip {
            "COPY FROM PROGRAM needs superuser or the pg_execute_server_program role.".to_string()
        } else {
            "COPY FROM a file needs superuser or the pg_read_server_files role.".to_string()
        });
        v
    }

    /// The shards, in order.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// Target table as given.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Column list of the statements (`None`: all columns, in table order).
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// The dialect the shards are written in.
    pub fn dialect(&self) -> &ShardDialect {
        &self.dialect
    }

    /// The canonical output directory, or the `s3://`, `az://` or `gs://` prefix the shards went to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of `import.sql` (holds credentials if the URLs do; mode 0600 then), always
    /// local.
    pub fn import_sql_path(&self) -> &Path {
        &self.import_sql
    }

    /// Path of `copy.sql`, written with `--emit copy`.
    pub fn copy_sql_path(&self) -> Option<&Path> {
        self.copy_sql.as_deref()
    }

    /// Why fewer shards than `--shards` were written, if so: none is ever empty.
    pub fn shard_note(&self) -> Option<String> {
        let (n, want) = (self.shards.len(), self.requested_shards);
        (n < want).then(|| {
            format!(
                "wrote {n} shards instead of {want}: the other shards would have been empty \
                 ({} records)",
                self.total_records()
            )
        })
    }

    /// A warning when a shard exceeds CockroachDB's advised 4 GB per file, if one does.
    pub fn shard_size_warning(&self) -> Option<String> {
        size_warning(self.shards.iter().map(|s| s.data_bytes))
    }

    /// Shards of an earlier import of this table that were removed (`force`).
    pub fn replaced_shards(&self) -> &[String] {
        &self.replaced
    }

    /// The shards' file names, in order: all that `--serve` hands out.
    pub fn shard_names(&self) -> Vec<String> {
        self.shards.iter().map(|s| s.file_name.clone()).collect()
    }

    /// Total data records over all shards.
    pub fn total_records(&self) -> u64 {
        self.shards.iter().map(|s| s.records).sum()
    }
}

/// CockroachDB's advice: each IMPORT file at most 4 GB, at least as many files as nodes.
pub const MAX_ADVISED_SHARD_BYTES: u64 = 4_000_000_000;

/// The warning for shards of `sizes` (uncompressed bytes) over [`MAX_ADVISED_SHARD_BYTES`].
fn size_warning(sizes: impl Iterator<Item = u64>) -> Option<String> {
    let (over, largest) = sizes
        .filter(|&b| b > MAX_ADVISED_SHARD_BYTES)
        .fold((0, 0), |(n, m), b| (n + 1, m.max(b)));
    (over > 0).then(|| {
        format!(
            "{over} shard(s) exceed 4 GB (largest {largest} bytes): CockroachDB advises files of \
             at most 4 GB and at least as many as nodes (raise --shards); input sorted by \
             primary key also imports much faster (unsorted was about 16x slower in its guide)"
        )
    })
}

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
    if let Some(prefix) = object_out::OutPrefix::of(&opts.out_dir.to_string_lossy())? {
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
    #[test]
    fn the_admin_caveat_is_for_the_urls_that_need_it() {
        let caveats = |url: &str| super::caveats_for(&super::BaseUrl::parse(url).unwrap());
        let admin = |url: &str| {
            let all = caveats(url).join("\n");
            assert!(all.contains("takes the table offline"), "{all}");
            all.contains("admin role")
        };
        assert!(admin("http://h:1/imp/") && admin("nodelocal://1/imp"));
        assert!(caveats("https://h/imp/").contains(&super::EXTERNAL_IO));
        assert!(!admin("s3://b/imp/?AUTH=specified&AWS_ACCESS_KEY_ID=k"));
        assert!(!admin("gs://b/imp/?AUTH=specified&CREDENTIALS=x"));
        assert!(!admin(
            "azure://c/imp/?AZURE_ACCOUNT_NAME=a&AZURE_ACCOUNT_KEY=k"
        ));
        assert!(!admin("userfile:///imp/"));
        let implicit = caveats("s3://b/imp/?auth=Implicit&AWS_REGION=x");
        assert!(implicit.contains(&super::IMPLICIT), "{implicit:?}");
        assert!(!implicit.contains(&super::EXTERNAL_IO), "{implicit:?}");
    }

    #[test]
    fn shards_over_4_gb_are_warned_about_with_the_sorting_advice() {
        assert_eq!(super::size_warning([10, 4_000_000_000].into_iter()), None);
        let w = super::size_warning([5_000_000_000, 1, 4_000_000_001].into_iter())
            .expect("two shards over 4 GB");
        assert!(
            w.starts_with("2 shard(s) exceed 4 GB (largest 5000000000 bytes)"),
            "{w}"
        );
        assert!(w.contains("sorted by primary key"), "{w}");
    }

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

    #[test]
    fn options_are_validated() {
        let ok = ImportOptions::new("a.csv", "t", 2, "/tmp/x");
        assert!(ok.validate().is_ok());
        let bad = |f: &dyn Fn(&mut ImportOptions)| {
            let mut o = ok.clone();
            f(&mut o);
            o.validate().is_err()
        };
        assert!(bad(&|o| o.shards = 0));
        assert!(bad(&|o| o.delimiter = b'"'));
        assert!(bad(&|o| o.null = ",".into()));
        assert!(bad(&|o| o.columns = Some(vec![])));
        assert!(bad(&|o| o.table = "a..b".into()));
        assert!(bad(&|o| {
            o.has_header = false;
            o.keep_header = true;
        }));
    }
}
