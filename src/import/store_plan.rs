//! [`super::prepare`] for an object-store `--out` (`s3://`, `az://`, `gs://`
//! bucket/prefix): the shards are uploaded as they are cut and `import.sql` stays local.
//!
//! `import.sql` holds the keys the nodes read with, so it is written locally (mode 0600),
//! never into the store, where whoever may list it would find them. An object only
//! exists once its upload completes; if the import fails, the shards this run completed
//! are deleted again, so the prefix is left as it was found. (With `--force`, earlier
//! shards of the same names were overwritten by then: the prefix then holds no import.)
//!
//! `--force` deletes only objects right under the prefix named as this table's shards
//! ([`super::is_shard_of`]), as a local `--out` does; anything else there is left alone.

use super::object_out::Upload;
use super::out_prefix::OutPrefix;
use super::{
    file_stem, is_shard_of, refuse_earlier, shard, write_import_sql, BaseUrl, ImportOptions,
    ImportPlan, Input, Shard, ShardSink,
};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Shards uploaded under `prefix`; `done` are the ones completed.
struct StoreSink<'a> {
    prefix: &'a OutPrefix,
    part_size: usize,
    done: Vec<String>,
}

impl<'a> ShardSink for StoreSink<'a> {
    type Out = Upload<'a>;

    fn open(&mut self, file_name: &str, bytes: u64) -> Result<Upload<'a>> {
        // Parts grow for shards that would need more than S3's 10 000 of them (the
        // lowest limit of the stores).
        let fit = bytes.div_ceil(9_000).min(5 << 30) as usize;
        Ok(self.prefix.upload(file_name, self.part_size.max(fit)))
    }

    fn close(&mut self, out: Upload<'a>, file_name: &str) -> Result<u64> {
        let size = out.finish()?;
        self.done.push(file_name.to_string());
        Ok(size)
    }

    fn path(&self, file_name: &str) -> PathBuf {
        PathBuf::from(self.prefix.url(file_name))
    }
}

/// Uploads the shards under `prefix`, writes the local `import.sql` and, with `--force`,
/// deletes the earlier import's other shards.
pub(super) fn prepare(opts: &ImportOptions, prefix: OutPrefix) -> Result<ImportPlan> {
    let stem = file_stem(&opts.table);
    let sql_path = opts
        .sql_out
        .clone()
        .unwrap_or_else(|| PathBuf::from("import.sql"));
    check_sql_path(&sql_path)?;
    let earlier: Vec<String> = prefix
        .names()?
        .into_iter()
        .filter(|n| is_shard_of(&stem, n))
        .collect();
    refuse_earlier(opts, &prefix.root(), &earlier)?;
    let base = match &opts.base_url {
        Some(u) => BaseUrl::parse(u)?,
        None => BaseUrl::parse(&format!(
            "{}{}",
            prefix.encoded_root(),
            prefix.import_query(opts.out_auth)?
        ))?,
    };
    // Stdin and compressed input are read twice: spooled to the temp directory.
    let mut input = Input::cut(opts, &std::env::temp_dir())?;
    let mut sink = StoreSink {
        prefix: &prefix,
        part_size: opts.part_size,
        done: Vec::new(),
    };
    let planned = upload(opts, &mut input, &stem, base, &mut sink, &sql_path, earlier);
    if planned.is_err() {
        for name in &sink.done {
            let _ = prefix.delete(name);
        }
    }
    planned
}

fn upload(
    opts: &ImportOptions,
    input: &mut Input,
    stem: &str,
    base: BaseUrl,
    sink: &mut StoreSink<'_>,
    sql_path: &Path,
    earlier: Vec<String>,
) -> Result<ImportPlan> {
    let shards: Vec<Shard> = input.write(stem, &base, sink)?;
    let (statement, redacted) = input.statements(opts, &shards)?;
    let mut pending = shard::Pending::new();
    let header = input.sql_header(opts, shards.len());
    let secret = redacted != statement;
    write_import_sql(&mut pending, sql_path, &header, &statement, secret, &base)?;
    let mut replaced = Vec::new();
    for name in earlier {
        if !shards.iter().any(|s| s.file_name == name) {
            sink.prefix.delete(&name)?;
        }
        replaced.push(name);
    }
    pending.commit()?;
    Ok(ImportPlan {
        table: opts.table.clone(),
        columns: input.columns.clone(),
        dialect: input.dialect.clone(),
        base,
        dir: PathBuf::from(sink.prefix.root()),
        shards,
        statement,
        redacted,
        copy: Vec::new(),
        import_sql: sql_path.to_path_buf(),
        copy_sql: None,
        requested_shards: opts.shards,
        replaced,
        uploaded: true,
    })
}

/// `--sql-out` must name a file in an existing directory: checked before any upload.
fn check_sql_path(path: &Path) -> Result<()> {
    let shown = path.display();
    if path.is_dir() {
        return Err(Error::usage(format!(
            "--sql-out {shown} is a directory; name the file, e.g. {shown}/import.sql"
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::usage(format!(
            "--sql-out {shown}: the directory {} does not exist",
            parent.display()
        )));
    }
    Ok(())
}
