//! `import --out` to an object store: `s3://bucket/prefix/`, `az://container/prefix/` or
//! `gs://bucket/prefix/`, the shards uploaded as they are cut.
//!
//! One shard is one [`Upload`]: a writer with one part in memory (8 MiB by default), so
//! memory stays bounded whatever the shard's size. A shard smaller than a part goes as
//! one request; a larger one as the store's multi-request upload, which makes no object
//! until it is completed. What differs between the stores is behind [`ObjectOut`]
//! (`s3_out`, `azure_out`, `gcs_out`); the buffering, the part count, the failure kept
//! for `finish` and the abort on drop are here, once.
//!
//! Requests are authorised by `source::{s3, azure, gcs}` and sent, classified and retried
//! by `source::remote`: 400/401/403/404 fail at once, naming the object and the store's
//! error code; 408/429/5xx and cut connections are retried with the crate's backoff.

use super::{azure_out, gcs_out, s3_out, ImportAuth};
use crate::source::{azure, gcs, s3, store};
use crate::{Error, ErrorKind, Result};
use std::io::{self, Write};

/// One object a request is about.
pub(crate) struct Object<'a> {
    pub bucket: &'a str,
    /// Its key (name) in the bucket.
    pub key: &'a str,
    /// `scheme://bucket/key`, as messages and classification name it.
    pub url: &'a str,
}

/// What a store does for an upload; parts are numbered from 1.
pub(crate) trait ObjectOut: Sync {
    /// The scheme CockroachDB's IMPORT reads these objects with.
    fn statement_scheme(&self) -> &'static str;
    /// The statement URLs' query string (with `?`): credentials, or `AUTH=implicit`.
    fn import_query(&self, auth: ImportAuth) -> Result<String>;
    /// The most parts one object may have.
    fn max_parts(&self) -> u64;
    /// The part size to use for `want` bytes (GCS needs multiples of 256 KiB).
    fn part_size(&self, want: usize) -> usize {
        want
    }
    /// Stores `body` as the object in one request.
    fn put(&self, at: &Object<'_>, body: &[u8]) -> Result<()>;
    /// Begins an upload of parts; its id (a session URL for GCS).
    fn begin(&self, at: &Object<'_>) -> Result<String>;
    /// Sends part `number`, which starts at byte `offset`; what completion needs of it.
    fn put_part(
        &self,
        at: &Object<'_>,
        session: &str,
        number: u64,
        offset: u64,
        body: &[u8],
    ) -> Result<String>;
    /// Sends the last bytes `rest` (maybe none; they start at `offset`) and makes the
    /// object of the parts `tags` sent before.
    fn complete(
        &self,
        at: &Object<'_>,
        session: &str,
        tags: &mut Vec<String>,
        offset: u64,
        rest: &[u8],
    ) -> Result<()>;
    /// Drops an upload that will not be completed.
    fn abort(&self, at: &Object<'_>, session: &str) -> Result<()>;
    /// Deletes the object; a missing one is no error.
    fn delete(&self, at: &Object<'_>) -> Result<()>;
}

/// The store, bucket and key prefix of an object-store `--out`.
pub(crate) struct OutPrefix {
    ops: &'static dyn ObjectOut,
    /// `s3`, `az` or `gs`.
    scheme: &'static str,
    bucket: String,
    /// Empty, or ending with `/`.
    prefix: String,
}

impl OutPrefix {
    /// `Some` when `out` is an `s3://`, `az://` (`azure://`) or `gs://` URL.
    pub fn of(out: &str) -> Result<Option<OutPrefix>> {
        let (ops, scheme, (bucket, key)): (&'static dyn ObjectOut, _, _) = if s3::is_s3(out) {
            (&s3_out::S3, "s3", s3::split(out)?)
        } else if azure::is_azure(out) {
            (&azure_out::Azure, "az", azure::split(out)?)
        } else if gcs::is_gs(out) {
            (&gcs_out::Gcs, "gs", gcs::split(out)?)
        } else {
            return Ok(None);
        };
        // The S3 signing crate joins keys to the endpoint as relative URLs (see s3.rs);
        // an empty segment is refused for every store alike.
        if key.starts_with('/') || key.contains("//") {
            return Err(Error::usage(format!(
                "--out {out}: empty path segments (//) are not supported in object-store prefixes"
            )));
        }
        let mut prefix = key.to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Some(OutPrefix {
            ops,
            scheme,
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    /// `scheme://bucket/prefix/`.
    pub fn root(&self) -> String {
        format!("{}://{}/{}", self.scheme, self.bucket, self.prefix)
    }

    /// `scheme://bucket/prefix/name`, as messages name the object.
    pub fn url(&self, name: &str) -> String {
        format!("{}{name}", self.root())
    }

    /// The root as a URL for the statement, in the scheme CockroachDB reads the store
    /// with, the path percent-encoded as it parses it (Go's `url.Parse`), `/` kept.
    pub fn encoded_root(&self) -> String {
        use crate::source::percent::PATH;
        use percent_encoding::utf8_percent_encode;
        format!(
            "{}://{}/{}",
            self.ops.statement_scheme(),
            self.bucket,
            utf8_percent_encode(&self.prefix, PATH)
        )
    }

    /// The statement URLs' query string for `auth`.
    pub fn import_query(&self, auth: ImportAuth) -> Result<String> {
        self.ops.import_query(auth)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The names of the objects right under the prefix (not deeper), sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let root = self.root();
        Ok(store::list(&root)?
            .into_iter()
            .filter_map(|u| {
                let name = u.strip_prefix(&root)?;
                (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
            })
            .collect())
    }

    /// Deletes the object `name` (a missing one is no error).
    pub fn delete(&self, name: &str) -> Result<()> {
        let (key, url) = (self.key(name), self.url(name));
        self.ops.delete(&Object {
            bucket: &self.bucket,
            key: &key,
            url: &url,
        })
    }

    /// A writer that stores what it is given as the object `name`, about `part_size`
    /// bytes per part; nothing is stored until [`Upload::finish`].
    pub fn upload(&self, name: &str, part_size: usize) -> Upload<'_> {
        Upload {
            dest: self,
            key: self.key(name),
            url: self.url(name),
            part_size: self.ops.part_size(part_size),
            buf: Vec::new(),
            session: None,
            tags: Vec::new(),
            bytes: 0,
            failed: None,
            finished: false,
        }
    }
}

/// One object being uploaded; dropped unfinished, its upload is aborted.
pub(crate) struct Upload<'a> {
    dest: &'a OutPrefix,
    key: String,
    url: String,
    part_size: usize,
    buf: Vec<u8>,
    /// The multi-request upload begun, if one was.
    session: Option<String>,
    tags: Vec<String>,
    /// Bytes sent in parts so far.
    bytes: u64,
    /// The error that stopped the upload: `Write` can only carry an `io::Error`, so the
    /// typed one waits here for [`Upload::finish`].
    failed: Option<Error>,
    finished: bool,
}

/// The `io::Error` a `Write` caller sees for `e`: its kind kept (a 403 stays a usage
/// error), the object's name left to the caller, which adds it.
fn as_io(e: &Error) -> io::Error {
    match e.kind() {
        ErrorKind::Io { source, .. } => io::Error::new(source.kind(), source.to_string()),
        _ => io::Error::other(e.to_string()),
    }
}

impl Upload<'_> {
    fn object(&self) -> Object<'_> {
        Object {
            bucket: &self.dest.bucket,
            key: &self.key,
            url: &self.url,
        }
    }

    /// Completes the object: one request if it never filled a part, else the last
    /// bytes and the completion. Returns its size.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let ops = self.dest.ops;
        match self.session.clone() {
            None => ops.put(&self.object(), &self.buf)?,
            Some(session) => {
                let mut tags = std::mem::take(&mut self.tags);
                ops.complete(&self.object(), &session, &mut tags, self.bytes, &self.buf)?;
            }
        }
        self.bytes += self.buf.len() as u64;
        self.finished = true;
        Ok(self.bytes)
    }

    fn send_part(&mut self) -> Result<()> {
        let ops = self.dest.ops;
        let session = match &self.session {
            Some(s) => s.clone(),
            None => {
                let s = ops.begin(&self.object())?;
                self.session = Some(s.clone());
                s
            }
        };
        let number = self.tags.len() as u64 + 1;
        if number >= ops.max_parts() {
            return Err(Error::other(format!(
                "{}: more than {} parts of {} bytes (the store's limit); raise the part size",
                self.url,
                ops.max_parts(),
                self.part_size
            )));
        }
        let tag = ops.put_part(&self.object(), &session, number, self.bytes, &self.buf)?;
        self.tags.push(tag);
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(as_io(e));
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.part_size);
        }
        let n = (self.part_size - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.part_size {
            if let Err(e) = self.send_part() {
                let io = as_io(&e);
                self.failed = Some(e);
                return Err(io);
            }
        }
        Ok(n)
    }

    /// Parts go when full and the rest at [`Upload::finish`]: no store has a partial
    /// flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if let (false, Some(session)) = (self.finished, self.session.take()) {
            // Best effort: the error that got us here is the one reported; what a failed
            // abort leaves is no object (see each store's `abort`).
            let _ = self.dest.ops.abort(&self.object(), &session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_with_a_slash_and_encode_for_the_statement() {
        let p = OutPrefix::of("s3://b/imp/2024").unwrap().unwrap();
        assert_eq!(p.root(), "s3://b/imp/2024/");
        assert_eq!(p.url("t.1.csv"), "s3://b/imp/2024/t.1.csv");
        let top = OutPrefix::of("s3://b").unwrap().unwrap();
        assert_eq!(top.root(), "s3://b/");
        let odd = OutPrefix::of("s3://b/a b?c").unwrap().unwrap();
        assert_eq!(odd.encoded_root(), "s3://b/a%20b%3Fc/");
        assert!(OutPrefix::of("out/dir").unwrap().is_none());
        assert!(OutPrefix::of("s3://b//x").is_err());
        assert!(OutPrefix::of("s3:///x").is_err());
        let az = OutPrefix::of("azure://c/imp").unwrap().unwrap();
        assert_eq!(az.root(), "az://c/imp/");
        assert_eq!(az.encoded_root(), "azure-blob://c/imp/");
        let gs = OutPrefix::of("gs://b/x y/").unwrap().unwrap();
        assert_eq!(gs.encoded_root(), "gs://b/x%20y/");
        assert!(OutPrefix::of("gs://b//x").is_err());
    }
}
