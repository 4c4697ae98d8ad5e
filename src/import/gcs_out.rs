//! [`ObjectOut`] for `gs://`, through the JSON API: a shard smaller than a part is one
//! media upload (`uploadType=media`); a larger one a resumable upload session, its chunks
//! multiples of 256 KiB as Google requires (the last carries the object's size, which
//! makes the object). A session that fails is cancelled (DELETE of its URL, which Google
//! answers 499); one left behind makes no object and expires after a week. The
//! `gcp-storage-emulator` the tests use supports both upload types.

use super::object_out::{Object, ObjectOut};
use super::ImportAuth;
use crate::source::remote;
use crate::source::{gcs, store::Signed};
use crate::Result;
use std::io;

/// Google Cloud Storage, or an emulator at `STORAGE_EMULATOR_HOST`.
pub(crate) struct Gcs;

/// Chunks of a resumable upload are multiples of this, but the last.
const CHUNK_UNIT: usize = 256 << 10;

/// A `verb` request to `to` with `headers` and `body`, authorised and retried; the
/// statuses of `ok` (a 404 of a delete, the 499 of a cancel) are `Ok(None)`.
fn send(
    at: &Object<'_>,
    verb: &str,
    to: &str,
    headers: &[(&str, String)],
    body: &[u8],
    ok: &[u16],
) -> Result<Option<ureq::Response>> {
    remote::send(at.url, verb, body, ok, || {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Ok(gcs::authorised(to.to_string(), headers))
    })
}

/// The bytes the session says it holds, from a 308's `Range: bytes=0-N`.
fn persisted(resp: &ureq::Response) -> Option<u64> {
    let range = resp.header("Range")?;
    let last: u64 = range.rsplit_once('-')?.1.trim().parse().ok()?;
    Some(last + 1)
}

fn octets() -> (&'static str, String) {
    ("Content-Type", "application/octet-stream".into())
}

impl ObjectOut for Gcs {
    fn statement_scheme(&self) -> &'static str {
        "gs"
    }

    fn import_query(&self, auth: ImportAuth) -> Result<String> {
        gcs::import_query(auth == ImportAuth::Implicit)
    }

    /// No limit on chunks; an object's 5 TiB is far above any shard.
    fn max_parts(&self) -> u64 {
        u64::MAX
    }

    fn part_size(&self, want: usize) -> usize {
        (want / CHUNK_UNIT).max(1) * CHUNK_UNIT
    }

    fn put(&self, at: &Object<'_>, body: &[u8]) -> Result<()> {
        let to = gcs::upload_url(at.url, "media")?;
        send(at, "POST", &to, &[octets()], body, &[]).map(drop)
    }

    fn begin(&self, at: &Object<'_>) -> Result<String> {
        let to = gcs::upload_url(at.url, "resumable")?;
        let headers = [("X-Upload-Content-Type", "application/octet-stream".into())];
        let resp = send(at, "POST", &to, &headers, &[], &[])?;
        resp.and_then(|r| r.header("Location").map(str::to_string))
            .ok_or_else(|| {
                let why = "the resumable upload was begun without a session URL (Location)";
                crate::Error::io(at.url, io::Error::new(io::ErrorKind::InvalidData, why))
            })
    }

    fn put_part(
        &self,
        at: &Object<'_>,
        session: &str,
        _number: u64,
        offset: u64,
        body: &[u8],
    ) -> Result<String> {
        let end = offset + body.len() as u64;
        let range = format!("bytes {offset}-{}/*", end - 1);
        let headers = [octets(), ("Content-Range", range)];
        let resp = send(at, "PUT", session, &headers, body, &[])?;
        // 308 Resume Incomplete, saying how much is kept: all of it, or the chunk failed.
        match resp.as_ref().map(|r| (r.status(), persisted(r))) {
            Some((308, Some(n))) if n == end => Ok(String::new()),
            got => Err(crate::Error::io(
                at.url,
                io::Error::other(format!(
                    "the upload session kept other bytes than sent (0..{end}): {got:?}"
                )),
            )),
        }
    }

    /// Never called: a resumable upload is made whole by its last chunk, which
    /// [`ObjectOut::complete`] here sends with the object's size.
    fn commit(&self, at: &Object<'_>, _session: &str, _tags: &[String]) -> Result<()> {
        Err(crate::Error::other(format!(
            "{}: no commit step in GCS",
            at.url
        )))
    }

    fn complete(
        &self,
        at: &Object<'_>,
        session: &str,
        _tags: &mut Vec<String>,
        offset: u64,
        rest: &[u8],
    ) -> Result<()> {
        let total = offset + rest.len() as u64;
        let range = match rest.len() {
            0 => format!("bytes */{total}"),
            n => format!("bytes {offset}-{}/{total}", offset + n as u64 - 1),
        };
        let headers = [octets(), ("Content-Range", range)];
        let resp = send(at, "PUT", session, &headers, rest, &[])?;
        match resp.map(|r| r.status()) {
            Some(200 | 201) => Ok(()),
            got => Err(crate::Error::io(
                at.url,
                io::Error::other(format!("the last chunk did not make the object: {got:?}")),
            )),
        }
    }

    /// One attempt, not retried: it runs while a failure is being reported, and a
    /// session left behind makes no object.
    fn abort(&self, at: &Object<'_>, session: &str) -> Result<()> {
        let Signed { to, headers } = gcs::authorised(session.to_string(), Vec::new());
        let mut req = remote::agent().delete(&to);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        match req.call() {
            Ok(_) | Err(ureq::Error::Status(404 | 499, _)) => Ok(()),
            Err(e) => match remote::classify(at.url, e) {
                remote::Failure::Final(e) => Err(crate::Error::io(at.url, e)),
                _ => Err(crate::Error::other(format!("{}: cancel failed", at.url))),
            },
        }
    }

    fn delete(&self, at: &Object<'_>) -> Result<()> {
        let to = gcs::object_url(at.url)?;
        send(at, "DELETE", &to, &[], &[], &[404]).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_multiples_of_256_kib() {
        assert_eq!(Gcs.part_size(8 << 20), 8 << 20);
        assert_eq!(Gcs.part_size((1 << 20) + 5), 1 << 20);
        assert_eq!(Gcs.part_size(10), CHUNK_UNIT);
    }
}
