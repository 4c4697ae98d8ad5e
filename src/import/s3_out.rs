//! [`ObjectOut`] for `s3://`: a shard smaller than a part is one PUT; a larger one an S3
//! multipart upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload), aborted
//! (AbortMultipartUpload, which drops its parts) when it fails. Requests are presigned by
//! `source::s3`.

use super::object_out::{Object, ObjectOut};
use super::ImportAuth;
use crate::source::remote::{self, Failure};
use crate::source::{s3, store::Signed};
use crate::{Error, Result};
use rusty_s3::actions::{CreateMultipartUpload, S3Action};
use std::io::{self, Read};
use std::time::Instant;

/// Bytes per part unless told otherwise: 8 MiB, over S3's 5 MiB minimum.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;

/// Amazon S3 and the stores that speak its API.
pub(crate) struct S3;

/// A request to the presigned `to` (no headers: the URL carries the signature), retried.
fn send(url: &str, verb: &str, to: &str, body: &[u8]) -> Result<ureq::Response> {
    let sign = || {
        Ok(Signed {
            to: to.to_string(),
            headers: Vec::new(),
        })
    };
    // No status is taken for an answer, so there is always a response.
    remote::send(url, verb, body, &[], sign)?
        .ok_or_else(|| Error::other(format!("{url}: no answer")))
}

impl ObjectOut for S3 {
    fn statement_scheme(&self) -> &'static str {
        "s3"
    }

    fn import_query(&self, auth: ImportAuth) -> Result<String> {
        s3::import_query(auth)
    }

    /// S3's largest part number.
    fn max_parts(&self) -> u64 {
        10_000
    }

    fn put(&self, at: &Object<'_>, body: &[u8]) -> Result<()> {
        let to = s3::presign(at.bucket, |b, c| {
            b.put_object(c, at.key).sign(s3::SIGNATURE_LIFETIME)
        })?;
        send(at.url, "PUT", to.as_str(), body).map(drop)
    }

    fn begin(&self, at: &Object<'_>) -> Result<String> {
        let to = s3::presign(at.bucket, |b, c| {
            b.create_multipart_upload(c, at.key)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        let xml = post(at.url, to.as_str(), "")?;
        CreateMultipartUpload::parse_response(&xml)
            .map(|r| r.upload_id().to_string())
            .map_err(|e| {
                let why = format!("CreateMultipartUpload answered no upload id: {e}");
                Error::io(at.url, io::Error::new(io::ErrorKind::InvalidData, why))
            })
    }

    fn put_part(
        &self,
        at: &Object<'_>,
        session: &str,
        number: u64,
        _offset: u64,
        body: &[u8],
    ) -> Result<String> {
        let to = s3::presign(at.bucket, |b, c| {
            b.upload_part(c, at.key, number as u16, session)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        let resp = send(at.url, "PUT", to.as_str(), body)?;
        resp.header("ETag").map(str::to_string).ok_or_else(|| {
            Error::io(
                at.url,
                io::Error::other("UploadPart answered without an ETag"),
            )
        })
    }

    fn commit(&self, at: &Object<'_>, session: &str, tags: &[String]) -> Result<()> {
        let (to, body) = s3::presign(at.bucket, |b, c| {
            let action =
                b.complete_multipart_upload(c, at.key, session, tags.iter().map(String::as_str));
            (action.sign(s3::SIGNATURE_LIFETIME), action.body())
        })?;
        post(at.url, to.as_str(), &body).map(drop)
    }

    fn abort(&self, at: &Object<'_>, session: &str) -> Result<()> {
        let to = s3::presign(at.bucket, |b, c| {
            b.abort_multipart_upload(c, at.key, session)
                .sign(s3::SIGNATURE_LIFETIME)
        })?;
        send(at.url, "DELETE", to.as_str(), &[]).map(drop)
    }

    /// S3 answers 204 for a missing key too.
    fn delete(&self, at: &Object<'_>) -> Result<()> {
        let to = s3::presign(at.bucket, |b, c| {
            b.delete_object(c, at.key).sign(s3::SIGNATURE_LIFETIME)
        })?;
        send(at.url, "DELETE", to.as_str(), &[]).map(drop)
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
