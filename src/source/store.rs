//! The object stores behind remote URLs (`s3://`, `az://`, `gs://`): how a GET of an
//! object's bytes, of its identity or of a listing is addressed and authorised, made
//! just before [`super::remote`] sends it. Everything else (retries, identity, ranged
//! resume) is remote's, the same for every store and for plain `https://`.

pub(crate) use super::object::Signed;
use super::{azure, gcs, s3};
use crate::error::Result;

/// Whether `url` names an object store's object, prefix or pattern.
pub fn is_store(url: &str) -> bool {
    s3::is_s3(url) || azure::is_azure(url) || gcs::is_gs(url)
}

/// The GET of `url`'s bytes, with `range` (a `Range` value) and, when resuming, the
/// ETag the bytes must still be of.
pub(crate) fn get(url: &str, range: Option<String>, etag: Option<&str>) -> Result<Signed> {
    let mut headers = Vec::new();
    if let Some(r) = range {
        headers.push(("Range".to_string(), r));
    }
    if azure::is_azure(url) {
        // Azure does not take `If-Range`; `If-Match` refuses a changed blob (412).
        if let Some(e) = etag {
            headers.push(("If-Match".into(), e.into()));
        }
        return azure::get(url, headers);
    }
    if let Some(e) = etag {
        headers.push(("If-Range".into(), e.into()));
    }
    if gcs::is_gs(url) {
        gcs::media(url, headers)
    } else if s3::is_s3(url) {
        Ok(Signed {
            to: s3::presign_get(url)?,
            headers,
        })
    } else {
        Ok(Signed {
            to: url.to_string(),
            headers,
        })
    }
}

/// Whether a GET's headers are the object's identity: not for `gs://`, whose
/// generation is in its metadata ([`stat`]).
pub(crate) fn identity_in_headers(url: &str) -> bool {
    !gcs::is_gs(url)
}

/// What a store says about a failed request, and what may be missing: ` (Code)` from
/// the store's error (S3's `<Code>`, Azure's `x-ms-error-code`, GCS's `reason`), and a
/// hint when a refusal met no credentials. Neither holds a secret.
pub(crate) fn explain(url: &str, status: u16, ms_code: Option<&str>, body: &str) -> String {
    let code = if s3::is_s3(url) {
        s3::error_code(body).map(str::to_string)
    } else if azure::is_azure(url) {
        ms_code
            .filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            .map(str::to_string)
    } else if gcs::is_gs(url) {
        gcs::error_reason(body)
    } else {
        None
    };
    let mut msg = code.map_or(String::new(), |c| format!(" ({c})"));
    let refused = matches!(status, 401 | 403);
    let hint = if !refused {
        None
    } else if s3::is_s3(url) && !s3::has_credentials() {
        Some(
            "no AWS credentials found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
              or a profile in ~/.aws/credentials)",
        )
    } else if azure::is_azure(url) && !azure::has_credentials() {
        Some(
            "no Azure credentials found (AZURE_STORAGE_CONNECTION_STRING, or \
              AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN)",
        )
    } else if gcs::is_gs(url) && !gcs::has_credentials() {
        Some(
            "no Google access token found (GOOGLE_OAUTH_ACCESS_TOKEN, e.g. from \
              `gcloud auth print-access-token`)",
        )
    } else {
        None
    };
    if let Some(h) = hint {
        msg.push_str("; ");
        msg.push_str(h);
    }
    msg
}
