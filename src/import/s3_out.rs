//! `import --out s3://bucket/prefix/`: shards uploaded as they are cut.
//!
//! Each shard goes up by S3 multipart upload with one part in memory at a time (8 MiB by
//! default), so memory stays bounded whatever the shard's size; a shard smaller than a
//! part goes as one PUT. A retry resends the part, not the object. An object appears only
//! when its upload completes: a failed upload is aborted (AbortMultipartUpload) when its
//! writer is dropped.
//!
//! Requests are presigned by `source::s3` and sent, classified and retried by the
//! transport of `source::remote`: 400/401/403/404 fail at once, naming the object and
//! S3's error code; 408/429/5xx and cut connections are retried with the crate's backoff.

use crate::source::remote::{self, Failure};
use crate::source::{s3, store};
use crate::{Error, ErrorKind, Result};
use rusty_s3::actions::{CreateMultipartUpload, S3Action};
use std::io::{self, Read, Write};
use std::time::Instant;

/// Bytes per part unless told otherwise: 8 MiB, over S3's 5 MiB minimum.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// S3's largest part number: an object has at most 10 000 parts.
const MAX_PARTS: u64 = 10_000;

/// The bucket and key prefix of an `s3://` `--out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Prefix {
    bucket: String,
    /// Empty, or ending with `/`.
    prefix: String,
}

impl S3Prefix {
    /// `Some` when `out` is an `s3://` URL.
    pub fn of(out: &str) -> Result<Option<S3Prefix>> {
        if !s3::is_s3(out) {
            return Ok(None);
        }
        let (bucket, key) = s3::split(out)?;
        // The signing crate joins keys to the endpoint as relative URLs (see s3.rs).
        if key.starts_with('/') || key.contains("//") {
            return Err(Error::usage(format!(
                "--out {out}: empty path segments (//) are not supported in S3 prefixes"
            )));
        }
        let mut prefix = key.to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Some(S3Prefix {
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    /// `s3://bucket/prefix/`.
    pub fn root(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// `s3://bucket/prefix/name`, as messages name the object.
    pub fn url(&self, name: &str) -> String {
        format!("{}{name}", self.root())
    }

    /// The root as a URL for the statement: the path percent-encoded as CockroachDB
    /// parses it (Go's `url.Parse`), `/` kept.
    pub fn encoded_root(&self) -> String {
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        const PATH: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~')
            .remove(b'/');
        format!(
            "s3://{}/{}",
            self.bucket,
            utf8_percent_encode(&self.prefix, PATH)
        )
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

    /// Deletes the object `name` (a missing one is no error, as S3 says).
    pub fn delete(&self, name: &str) -> Result<()> {
        let (url, key) = (self.url(name), self.key(name));
        let to = s3::presign(&self.bucket, |b, c| {
            b.delete_object(c, &key).sign(s3::SIGNATURE_LIFETIME)
        })?;
        remote::retrying(&url, Instant::now(), || {
            remote::agent()
                .delete(to.as_str())
                .call()
                .map(drop)
                .map_err(|e| remote::classify(&url, e))
        })
    }

    /// A writer that stores what it is given as the object `name`, `part_size` bytes
    /// per part; nothing is stored until [`Upload::finish`].
    pub fn upload(&self, name: &str, part_size: usize) -> Upload<'_> {
        Upload {
            dest: self,
            key: self.key(name),
            url: self.url(name),
            part_size,
            buf: Vec::new(),
            upload_id: None,
            etags: Vec::new(),
            bytes: 0,
            failed: None,
            finished: false,
        }
    }
}

/// One object being uploaded; dropped unfinished, its multipart upload is aborted.
pub(crate) struct Upload<'a> {
    dest: &'a S3Prefix,
    key: String,
    url: String,
    part_size: usize,
    buf: Vec<u8>,
    upload_id: Option<String>,
    etags: Vec<String>,
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
    /// Completes the object: one PUT if it never filled a part, else the last part and
    /// CompleteMultipartUpload. Returns its size.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.upload_id.is_none() {
            self.put()?;
        } else {
            if !self.buf.is_empty() {
                self.send_part()?;
            }
            self.complete()?;
        }
        self.finished = true;
        Ok(self.bytes)
    }

    fn put(&mut self) -> Result<()> {
        let key = &self.key;
        let to = s3::presign(&self.dest.bucket, |b, c| {
            b.put_object(c, key).sign(s3::SIGNATURE_LIFETIME)
        })?;
        let (url, body) = (&self.url, &self.buf);
        remote::retrying(url, Instant::now(), || {
            remote::agent()
                .put(to.as_str())
                .send_bytes(body)
                .map(drop)
                .map_err(|e| remote::classify(url, e))
        })?;
        self.bytes = body.len() as u64;
        Ok(())
    }

    fn create(&self) -> Result<String> {
        let key = &self.key;
        let to = s3::presign(&self.dest.bucket, |b, c| {
            b.create_multipart_upload(c, key)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        let xml = post(&self.url, to.as_str(), "")?;
        CreateMultipartUpload::parse_response(&xml)
            .map(|r| r.upload_id().to_string())
            .map_err(|e| {
                let why = format!("CreateMultipartUpload answered no upload id: {e}");
                Error::io(&self.url, io::Error::new(io::ErrorKind::InvalidData, why))
            })
    }

    fn send_part(&mut self) -> Result<()> {
        let id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = self.create()?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.etags.len() as u64 + 1;
        if number > MAX_PARTS {
            return Err(Error::other(format!(
                "{}: more than {MAX_PARTS} parts of {} bytes (S3's limit); raise the part size",
                self.url, self.part_size
            )));
        }
        let key = &self.key;
        let to = s3::presign(&self.dest.bucket, |b, c| {
            b.upload_part(c, key, number as u16, &id)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        let (url, body) = (&self.url, &self.buf);
        let etag = remote::retrying(url, Instant::now(), || {
            let resp = remote::agent()
                .put(to.as_str())
                .send_bytes(body)
                .map_err(|e| remote::classify(url, e))?;
            resp.header("ETag").map(str::to_string).ok_or_else(|| {
                Failure::Final(io::Error::other("UploadPart answered without an ETag"))
            })
        })?;
        self.etags.push(etag);
        self.bytes += body.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn complete(&self) -> Result<()> {
        let (key, id) = (&self.key, self.upload_id.as_deref().unwrap_or(""));
        let (to, body) = s3::presign(&self.dest.bucket, |b, c| {
            let action =
                b.complete_multipart_upload(c, key, id, self.etags.iter().map(String::as_str));
            (action.sign(s3::SIGNATURE_LIFETIME), action.body())
        })?;
        post(&self.url, to.as_str(), &body).map(drop)
    }

    /// Aborts the multipart upload, if one was begun; S3 then drops its parts.
    fn abort(&mut self) -> Result<()> {
        let Some(id) = self.upload_id.take() else {
            return Ok(());
        };
        let key = &self.key;
        let to = s3::presign(&self.dest.bucket, |b, c| {
            b.abort_multipart_upload(c, key, &id)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        let url = &self.url;
        remote::retrying(url, Instant::now(), || {
            remote::agent()
                .delete(to.as_str())
                .call()
                .map(drop)
                .map_err(|e| remote::classify(url, e))
        })
    }
}

/// A POST to `to` with `body`; its answer's text. S3 may answer 200 to
/// CompleteMultipartUpload and put an `<Error>` in the body (its docs say to retry then).
fn post(url: &str, to: &str, body: &str) -> Result<String> {
    remote::retrying(url, Instant::now(), || {
        let resp = remote::agent()
            .post(to)
            .send_string(body)
            .map_err(|e| remote::classify(url, e))?;
        let mut text = String::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| Failure::Again(e.to_string(), None))?;
        if text.contains("<Error>") {
            let code = s3::error_code(&text).unwrap_or("an error");
            return Err(Failure::Again(format!("HTTP 200 with {code}"), None));
        }
        Ok(text)
    })
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

    /// Parts go when full and the rest at [`Upload::finish`]: S3 has no partial flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: the error that got us here is the one reported; an upload
            // left by a failed abort is dropped by a bucket's lifecycle rule, if any.
            let _ = self.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_with_a_slash_and_encode_for_the_statement() {
        let p = S3Prefix::of("s3://b/imp/2024").unwrap().unwrap();
        assert_eq!(p.root(), "s3://b/imp/2024/");
        assert_eq!(p.url("t.1.csv"), "s3://b/imp/2024/t.1.csv");
        let top = S3Prefix::of("s3://b").unwrap().unwrap();
        assert_eq!(top.root(), "s3://b/");
        let odd = S3Prefix::of("s3://b/a b?c").unwrap().unwrap();
        assert_eq!(odd.encoded_root(), "s3://b/a%20b%3Fc/");
        assert!(S3Prefix::of("out/dir").unwrap().is_none());
        assert!(S3Prefix::of("s3://b//x").is_err());
        assert!(S3Prefix::of("s3:///x").is_err());
    }
}
