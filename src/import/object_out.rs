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

use super::ImportAuth;
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
    /// object of the parts `tags` sent before. By default `rest` goes as one more part
    /// before [`ObjectOut::commit`]; a store whose last part is special overrides this.
    fn complete(
        &self,
        at: &Object<'_>,
        session: &str,
        tags: &mut Vec<String>,
        offset: u64,
        rest: &[u8],
    ) -> Result<()> {
        if !rest.is_empty() {
            let number = tags.len() as u64 + 1;
            tags.push(self.put_part(at, session, number, offset, rest)?);
        }
        self.commit(at, session, tags)
    }
    /// Makes the object of the parts `tags`, all sent (from the default
    /// [`ObjectOut::complete`]).
    fn commit(&self, at: &Object<'_>, session: &str, tags: &[String]) -> Result<()>;
    /// Drops an upload that will not be completed.
    fn abort(&self, at: &Object<'_>, session: &str) -> Result<()>;
    /// Deletes the object; a missing one is no error.
    fn delete(&self, at: &Object<'_>) -> Result<()>;
}

/// One object being uploaded; dropped unfinished, its upload is aborted.
pub(crate) struct Upload<'a> {
    ops: &'a dyn ObjectOut,
    bucket: &'a str,
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

impl<'a> Upload<'a> {
    /// A writer that stores what it is given as `key` of `bucket` (`url` in messages),
    /// about `part_size` bytes per part; nothing is stored until [`Upload::finish`].
    pub fn new(
        ops: &'a dyn ObjectOut,
        bucket: &'a str,
        key: String,
        url: String,
        part_size: usize,
    ) -> Self {
        Upload {
            ops,
            bucket,
            key,
            url,
            part_size: ops.part_size(part_size),
            buf: Vec::new(),
            session: None,
            tags: Vec::new(),
            bytes: 0,
            failed: None,
            finished: false,
        }
    }

    fn object(&self) -> Object<'_> {
        Object {
            bucket: self.bucket,
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
        let ops = self.ops;
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
        let ops = self.ops;
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
            let _ = self.ops.abort(&self.object(), &session);
        }
    }
}
