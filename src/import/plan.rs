//! What `prepare` returns: the shards written and the statements that load them, with
//! CockroachDB's caveats for the URLs the nodes read.

use super::{shell_quote, BaseUrl, Scheme, ShardDialect};
use std::path::{Path, PathBuf};

/// One shard file written by [`prepare`](super::prepare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// File name inside the output directory.
    pub file_name: String,
    /// Absolute path (the output directory canonicalized), or the object-store URL it was
    /// uploaded to.
    pub path: PathBuf,
    /// URL the nodes read it from; may hold credentials, see [`redact_url`](super::redact_url).
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
    pub(super) table: String,
    pub(super) columns: Option<Vec<String>>,
    pub(super) dialect: ShardDialect,
    pub(super) base: BaseUrl,
    pub(super) dir: PathBuf,
    pub(super) shards: Vec<Shard>,
    pub(super) statement: String,
    pub(super) redacted: String,
    pub(super) copy: Vec<String>,
    pub(super) import_sql: PathBuf,
    pub(super) copy_sql: Option<PathBuf>,
    pub(super) requested_shards: usize,
    pub(super) replaced: Vec<String>,
    /// The shards were uploaded to `dir`, an object-store prefix.
    pub(super) uploaded: bool,
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
pub(super) fn caveats_for(base: &BaseUrl) -> Vec<&'static str> {
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
}
