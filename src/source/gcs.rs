//! `gs://bucket/object` objects in Google Cloud Storage, through its JSON API: the
//! object's metadata for its identity (generation, size, ETag), `?alt=media` with
//! `Range` for its bytes, `objects.list` for prefixes. Each request goes through
//! [`super::remote`] as an `https://` GET does.
//!
//! Settings as Google's tools read them: `STORAGE_EMULATOR_HOST` (an emulator's
//! address, as the client libraries take it) selects the endpoint; a bearer token from
//! `GOOGLE_OAUTH_ACCESS_TOKEN` or `CLOUDSDK_AUTH_ACCESS_TOKEN` (what `gcloud auth
//! print-access-token` prints) authorises requests; without one they go anonymous
//! (public buckets). Service-account JSON (`GOOGLE_APPLICATION_CREDENTIALS`) is not
//! read: it needs an OAuth exchange.

use super::object::ObjectInfo;
use super::object::Signed;
use crate::error::{Error, Result};
// A `/` is part of an object's name in a JSON API path, so it is encoded too.
use super::percent::UNRESERVED as SEGMENT;
use percent_encoding::utf8_percent_encode;
use std::sync::OnceLock;

/// Whether `path` is a `gs://` URL.
pub fn is_gs(path: &str) -> bool {
    path.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("gs://"))
}

/// The bucket and object of `gs://bucket/object`.
pub fn split(url: &str) -> Result<(&str, &str)> {
    let rest = url.get(5..).filter(|_| is_gs(url)).unwrap_or("");
    match rest.split_once('/').unwrap_or((rest, "")) {
        ("", _) => Err(Error::usage(format!(
            "{url} is not a Cloud Storage URL (expected gs://bucket/object)"
        ))),
        parts => Ok(parts),
    }
}

struct Settings {
    /// The JSON API's base, without a trailing `/`.
    endpoint: String,
    token: Option<String>,
}

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Settings::from(env)
    })
}

impl Settings {
    fn from(env: impl Fn(&str) -> Option<String>) -> Settings {
        let endpoint = match env("STORAGE_EMULATOR_HOST") {
            // As the client libraries take it: `host:port` is plain HTTP.
            Some(h) if !h.contains("://") => format!("http://{h}"),
            Some(h) => h,
            None => "https://storage.googleapis.com".into(),
        };
        Settings {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: env("GOOGLE_OAUTH_ACCESS_TOKEN").or_else(|| env("CLOUDSDK_AUTH_ACCESS_TOKEN")),
        }
    }

    fn get(&self, path_and_query: String, mut headers: Vec<(String, String)>) -> Signed {
        if let Some(t) = &self.token {
            headers.push(("Authorization".into(), format!("Bearer {t}")));
        }
        Signed {
            to: format!("{}/storage/v1{path_and_query}", self.endpoint),
            headers,
        }
    }
}

/// `/b/BUCKET/o/OBJECT` of the object at `url`.
fn object_path(url: &str) -> Result<String> {
    let (bucket, object) = split(url)?;
    if object.is_empty() || object.ends_with('/') {
        return Err(Error::usage(format!(
            "{url} names a bucket or a prefix, not an object"
        )));
    }
    Ok(format!(
        "/b/{}/o/{}",
        utf8_percent_encode(bucket, SEGMENT),
        utf8_percent_encode(object, SEGMENT)
    ))
}

/// A GET of the object's bytes with `headers` (`Range`).
pub(crate) fn media(url: &str, headers: Vec<(String, String)>) -> Result<Signed> {
    Ok(settings().get(format!("{}?alt=media", object_path(url)?), headers))
}

/// A GET of the object's metadata (objects.get).
pub(crate) fn metadata(url: &str) -> Result<Signed> {
    Ok(settings().get(object_path(url)?, Vec::new()))
}

/// A request to `to` (a URL of the endpoint, or a resumable session's) with `headers`,
/// authorised with the token: the write side (`import --out gs://`) sends these.
pub(crate) fn authorised(to: String, mut headers: Vec<(String, String)>) -> Signed {
    if let Some(t) = &settings().token {
        headers.push(("Authorization".into(), format!("Bearer {t}")));
    }
    Signed { to, headers }
}

/// The upload endpoint for a new object under `bucket` (JSON API, `uploadType` given
/// by the caller) and the name's query value.
pub(crate) fn upload_url(url: &str, upload_type: &str) -> Result<String> {
    let (bucket, object) = split(url)?;
    Ok(format!(
        "{}/upload/storage/v1/b/{}/o?uploadType={upload_type}&name={}",
        settings().endpoint,
        utf8_percent_encode(bucket, SEGMENT),
        utf8_percent_encode(object, SEGMENT)
    ))
}

/// The JSON API URL of the object at `url` (objects.delete takes it).
pub(crate) fn object_url(url: &str) -> Result<String> {
    Ok(format!(
        "{}/storage/v1{}",
        settings().endpoint,
        object_path(url)?
    ))
}

/// The query string (with its `?`) that lets CockroachDB's nodes read objects of this
/// store. Its docs "Use Cloud Storage" (www.cockroachlabs.com/docs/stable/use-cloud-storage,
/// Google Cloud Storage) name `AUTH=specified` with `CREDENTIALS` (a service account's
/// key, base64) or `AUTH=implicit`; its source (pkg/cloud/gcp/gcs_storage.go,
/// `BearerTokenParam`) also takes `BEARER_TOKEN`, a temporary token it never
/// refreshes. A token is what this process has, so `specified` passes it, and the
/// import must end before it expires (about an hour for `gcloud auth
/// print-access-token`'s).
pub(crate) fn import_query(implicit: bool) -> Result<String> {
    if implicit {
        return Ok("?AUTH=implicit".into());
    }
    let token = settings().token.as_deref().ok_or_else(|| {
        Error::usage(
            "the IMPORT statement needs a Google access token for the nodes and none was \
             found (GOOGLE_OAUTH_ACCESS_TOKEN, e.g. from `gcloud auth print-access-token`); \
             pass --out-auth implicit if the nodes have their own credentials",
        )
    })?;
    Ok(format!(
        "?AUTH=specified&BEARER_TOKEN={}",
        utf8_percent_encode(token, SEGMENT)
    ))
}

/// The identity in an objects.get answer: size, generation (a new one for every write
/// of the name), ETag and update time.
pub(crate) fn parse_metadata(json: &str) -> std::result::Result<ObjectInfo, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("object metadata: {e}"))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let size = s("size").and_then(|n| n.parse().ok());
    if size.is_none() {
        return Err("object metadata without a size".into());
    }
    Ok(ObjectInfo {
        size,
        etag: s("etag"),
        last_modified: s("updated"),
        version: s("generation"),
    })
}

/// An objects.list page of `bucket`'s objects under `prefix`, from `token` on.
pub(crate) fn list(bucket: &str, prefix: &str, token: Option<&str>) -> Signed {
    let enc = |v: &str| utf8_percent_encode(v, SEGMENT).to_string();
    let mut pq = format!("/b/{}/o?prefix={}", enc(bucket), enc(prefix));
    if let Some(t) = token {
        pq.push_str(&format!("&pageToken={}", enc(t)));
    }
    settings().get(pq, Vec::new())
}

/// The object names and next page token of one objects.list page.
pub(crate) fn parse_list(json: &str) -> std::result::Result<(Vec<String>, Option<String>), String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("object listing: {e}"))?;
    let names = match v.get("items") {
        None => Vec::new(),
        Some(items) => items
            .as_array()
            .ok_or("object listing: items is no list")?
            .iter()
            .map(|i| i.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("object listing: an item has no name")?,
    };
    let next = v
        .get("nextPageToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok((names, next))
}

/// The `reason` of a JSON API error body (`notFound`, `forbidden`, …).
pub(crate) fn error_reason(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let reason = v.pointer("/error/errors/0/reason")?.as_str()?;
    Some(reason.to_string()).filter(|r| r.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Whether a token was found (messages about 401/403 say so when not).
pub(crate) fn has_credentials() -> bool {
    settings().token.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_endpoints_and_paths() {
        assert!(is_gs("GS://b/o") && !is_gs("gs:/b"));
        assert_eq!(split("gs://b/d/a.csv").unwrap(), ("b", "d/a.csv"));
        assert!(split("gs:///o").is_err());
        assert_eq!(
            object_path("gs://b/d/a b.csv").unwrap(),
            "/b/b/o/d%2Fa%20b.csv"
        );
        assert!(object_path("gs://b/d/").is_err());
        let emu = Settings::from(|k| (k == "STORAGE_EMULATOR_HOST").then(|| "h:9".into()));
        assert_eq!(emu.endpoint, "http://h:9");
        let s = Settings::from(|k| (k == "CLOUDSDK_AUTH_ACCESS_TOKEN").then(|| "t".into()));
        assert_eq!(s.endpoint, "https://storage.googleapis.com");
        let got = s.get("/b/x/o".into(), Vec::new());
        assert_eq!(got.to, "https://storage.googleapis.com/storage/v1/b/x/o");
        assert_eq!(got.headers, [("Authorization".into(), "Bearer t".into())]);
    }

    #[test]
    fn metadata_listings_and_errors_are_read() {
        let m = r#"{"name":"a","size":"13","generation":"17","etag":"e","updated":"u"}"#;
        let info = parse_metadata(m).unwrap();
        assert_eq!(info.size, Some(13));
        assert_eq!(info.version.as_deref(), Some("17"));
        assert!(parse_metadata("{}").is_err());
        let page = r#"{"items":[{"name":"a"},{"name":"b/c"}],"nextPageToken":"t"}"#;
        let (names, next) = parse_list(page).unwrap();
        assert_eq!(names, ["a", "b/c"]);
        assert_eq!(next.as_deref(), Some("t"));
        assert_eq!(parse_list("{}").unwrap(), (vec![], None));
        let err = r#"{"error":{"code":404,"errors":[{"reason":"notFound"}]}}"#;
        assert_eq!(error_reason(err).as_deref(), Some("notFound"));
        assert_eq!(error_reason(""), None);
    }
}
