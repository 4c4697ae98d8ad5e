//! `s3://bucket/key` objects: each request is a GET presigned with SigV4 (the crate
//! `rusty-s3`, which only signs and leaves the transport to us), so `remote` reads them
//! with the same ranged GETs, identity, resume and retries as an `https://` object.
//!
//! Settings come from where the AWS CLI reads them: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` (an S3-compatible store, addressed
//! path-style), else the profile (`AWS_PROFILE`, `default`) of `~/.aws/credentials` and
//! `~/.aws/config`. Without credentials requests go unsigned (public buckets).
//!
//! A presigned URL holds a signature: it lives only inside one request. The ledger,
//! messages and reports name the object by its `s3://` URL.

use crate::error::{Error, Result};
use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a presigned URL is valid: one request's connect, made just before it.
const SIGNED_FOR: Duration = Duration::from_secs(3600);

/// Whether `path` is an `s3://` URL.
pub fn is_s3(path: &str) -> bool {
    path.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("s3://"))
}

/// The bucket and key of `s3://bucket/key`.
pub fn split(url: &str) -> Result<(&str, &str)> {
    let rest = url.get(5..).filter(|_| is_s3(url)).unwrap_or("");
    match rest.split_once('/').unwrap_or((rest, "")) {
        ("", _) => Err(Error::usage(format!(
            "{url} is not an S3 URL (expected s3://bucket/key)"
        ))),
        parts => Ok(parts),
    }
}

/// Where and as whom requests go.
struct Settings {
    endpoint: Option<String>,
    region: String,
    credentials: Option<Credentials>,
}

/// Read once per process, at the first `s3://` request.
fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = env("HOME").unwrap_or_default();
        let read = |var: &str, default: &str| {
            let path = env(var).unwrap_or_else(|| format!("{home}/.aws/{default}"));
            std::fs::read_to_string(path).unwrap_or_default()
        };
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let mut prof = section(&read("AWS_CONFIG_FILE", "config"), &profile, true);
        prof.extend(section(
            &read("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            &profile,
            false,
        ));
        Settings::from(|k| env(k), &prof)
    })
}

impl Settings {
    /// The environment wins over the profile, key by key, as with the AWS CLI.
    fn from(env: impl Fn(&str) -> Option<String>, prof: &HashMap<String, String>) -> Settings {
        let p = |k: &str| prof.get(k).cloned();
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| p("region"))
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = env("AWS_ENDPOINT_URL_S3")
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .or_else(|| p("endpoint_url"));
        let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(k), Some(s)) => Some((k, s, env("AWS_SESSION_TOKEN"))),
            _ => match (p("aws_access_key_id"), p("aws_secret_access_key")) {
                (Some(k), Some(s)) => Some((k, s, p("aws_session_token"))),
                _ => None,
            },
        }
        .map(|(k, s, t)| match t {
            Some(t) => Credentials::new_with_token(k, s, t),
            None => Credentials::new(k, s),
        });
        Settings {
            endpoint,
            region,
            credentials,
        }
    }

    fn bucket(&self, name: &str) -> Result<Bucket> {
        let bad = |why: String| Error::usage(format!("S3 endpoint: {why}"));
        let (endpoint, style) = match &self.endpoint {
            Some(e) => (e.clone(), UrlStyle::Path),
            // Dots in a bucket's name break the certificate of virtual-host addressing.
            None if name.contains('.') => (
                format!("https://s3.{}.amazonaws.com", self.region),
                UrlStyle::Path,
            ),
            None => (
                format!("https://s3.{}.amazonaws.com", self.region),
                UrlStyle::VirtualHost,
            ),
        };
        let url = url::Url::parse(&endpoint).map_err(|e| bad(format!("{endpoint}: {e}")))?;
        Bucket::new(url, style, name.to_string(), self.region.clone())
            .map_err(|e| bad(format!("{endpoint}: {e}")))
    }
}

/// The keys of one profile in an AWS INI file: `[name]` in `credentials`, `[profile
/// name]` (or `[default]`) in `config`.
fn section(text: &str, profile: &str, config: bool) -> HashMap<String, String> {
    let want = if config && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_string()
    };
    let mut inside = false;
    let mut keys = HashMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == want;
        } else if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            if !line.starts_with(['#', ';']) {
                keys.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    keys
}

/// A GET URL for the object at `s3://bucket/key`, signed now (unsigned without
/// credentials). It holds a signature: never show or store it.
pub fn presign_get(url: &str) -> Result<String> {
    let (bucket, key) = split(url)?;
    // A bucket's root answers with a listing, which is no CSV.
    if key.is_empty() || key.ends_with('/') {
        return Err(Error::usage(format!(
            "{url} names a bucket or a prefix, not an object"
        )));
    }
    // The signing crate joins the key to the endpoint as a relative URL: `//host/…`
    // would send the request, signed, to another host.
    if key.starts_with('/') {
        return Err(Error::usage(format!(
            "{url}: keys that start with / are not supported"
        )));
    }
    let s = settings();
    let bucket = s.bucket(bucket)?;
    Ok(bucket
        .get_object(s.credentials.as_ref(), key)
        .sign(SIGNED_FOR)
        .to_string())
}

/// A URL for one request on `bucket`, signed now by `action` with the settings'
/// credentials: the write side (`import --out s3://`) signs its requests here too.
pub(crate) fn presign<T>(
    bucket: &str,
    action: impl FnOnce(&Bucket, Option<&Credentials>) -> T,
) -> Result<T> {
    let s = settings();
    let bucket = s.bucket(bucket)?;
    Ok(action(&bucket, s.credentials.as_ref()))
}

/// How long a presigned URL of [`presign`]'s actions is valid.
pub(crate) const SIGNATURE_LIFETIME: Duration = SIGNED_FOR;

/// Who the cluster's nodes are when they read an `s3://` URL of an `IMPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportAuth {
    /// `AUTH=specified`: this process's keys go into the URL (and `import.sql`).
    #[default]
    Specified,
    /// `AUTH=implicit`: the nodes use their own credentials (environment, instance role).
    Implicit,
}

/// The query string (with its `?`) that lets CockroachDB's nodes read objects of this
/// store, as its docs "Use Cloud Storage" (www.cockroachlabs.com/docs/stable/use-cloud-storage,
/// Amazon S3 parameters) spell it: `AUTH`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`, and `AWS_ENDPOINT` for an S3-compatible store.
/// Values are percent-encoded: secret keys hold `/` and `+`.
pub(crate) fn import_query(auth: ImportAuth) -> Result<String> {
    use super::percent::UNRESERVED as VALUE;
    use percent_encoding::utf8_percent_encode;
    let s = settings();
    let mut params = Vec::new();
    match auth {
        ImportAuth::Implicit => params.push(("AUTH", "implicit".to_string())),
        ImportAuth::Specified => {
            let c = s.credentials.as_ref().ok_or_else(|| {
                Error::usage(
                    "the IMPORT statement needs AWS credentials for the nodes and none were \
                     found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile); pass \
                     --out-auth implicit if the nodes have their own",
                )
            })?;
            params.push(("AUTH", "specified".to_string()));
            params.push(("AWS_ACCESS_KEY_ID", c.key().to_string()));
            params.push(("AWS_SECRET_ACCESS_KEY", c.secret().to_string()));
            if let Some(t) = c.token() {
                params.push(("AWS_SESSION_TOKEN", t.to_string()));
            }
        }
    }
    params.push(("AWS_REGION", s.region.clone()));
    if let Some(e) = &s.endpoint {
        params.push(("AWS_ENDPOINT", e.clone()));
    }
    let query: Vec<String> = params
        .into_iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(&v, VALUE)))
        .collect();
    Ok(format!("?{}", query.join("&")))
}

/// A ListObjectsV2 URL for keys under `prefix`, from `token` on; signed as
/// [`presign_get`].
pub(crate) fn presign_list(bucket: &str, prefix: &str, token: Option<&str>) -> Result<String> {
    let s = settings();
    let bucket = s.bucket(bucket)?;
    let mut list: ListObjectsV2 = bucket.list_objects_v2(s.credentials.as_ref());
    list.with_prefix(prefix);
    if let Some(t) = token {
        list.with_continuation_token(t);
    }
    Ok(list.sign(SIGNED_FOR).to_string())
}

/// The keys and continuation token of one ListObjectsV2 page.
pub(crate) fn parse_list(xml: &str) -> std::result::Result<(Vec<String>, Option<String>), String> {
    let page = ListObjectsV2::parse_response(xml).map_err(|e| e.to_string())?;
    let keys = page.contents.into_iter().map(|c| c.key).collect();
    Ok((keys, page.next_continuation_token))
}

/// The `<Code>` of an S3 error body (`NoSuchKey`, `AccessDenied`, …): it names the
/// cause and, unlike the rest of some bodies, holds nothing signed.
pub(crate) fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(&body[start..start + len]).filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric()))
}

/// Whether credentials were found (messages about 403 say so when not).
pub(crate) fn has_credentials() -> bool {
    settings().credentials.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_key() {
        assert!(is_s3("S3://b/k") && !is_s3("s3:/b") && !is_s3("data/s3://x"));
        assert_eq!(split("s3://b/2024/a.csv").unwrap(), ("b", "2024/a.csv"));
        assert_eq!(split("s3://b").unwrap(), ("b", ""));
        assert!(split("s3://").is_err() && split("s3:///k").is_err());
    }

    #[test]
    fn the_environment_wins_over_the_profile() {
        let ini = "[default]\nregion = eu-west-1\n[profile dev]\nregion=us-west-2\n\
                   endpoint_url = http://127.0.0.1:9000\n# x = y\n";
        let dev = section(ini, "dev", true);
        assert_eq!(dev["region"], "us-west-2");
        assert!(!dev.contains_key("# x"));
        let creds = section(
            "[dev]\naws_access_key_id=K\naws_secret_access_key=S\n",
            "dev",
            false,
        );
        let mut prof = dev.clone();
        prof.extend(creds);
        let s = Settings::from(|_| None, &prof);
        assert_eq!(s.region, "us-west-2");
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.credentials.as_ref().unwrap().key(), "K");
        let env = |k: &str| (k == "AWS_REGION").then(|| "ap-south-1".to_string());
        assert_eq!(Settings::from(env, &prof).region, "ap-south-1");
        // A custom endpoint is addressed path-style.
        let b = s.bucket("data").unwrap();
        assert_eq!(b.base_url().as_str(), "http://127.0.0.1:9000/data/");
        let aws = Settings::from(|_| None, &HashMap::new());
        assert_eq!(
            aws.bucket("data").unwrap().base_url().as_str(),
            "https://data.s3.us-east-1.amazonaws.com/"
        );
    }

    #[test]
    fn error_codes_are_read_from_s3_bodies() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>x</Message>";
        assert_eq!(error_code(body), Some("NoSuchKey"));
        assert_eq!(error_code("<html>"), None);
    }
}
