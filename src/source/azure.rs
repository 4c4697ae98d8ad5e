//! `az://container/blob` (or `azure://`) objects in Azure Blob Storage: each request is
//! authorised just before it is sent (Shared Key, a SAS token, or none for a public
//! container) and then goes through [`super::remote`] as an `https://` GET does.
//!
//! Settings come from where Azure's tools read them: `AZURE_STORAGE_CONNECTION_STRING`
//! (`AccountName`, `AccountKey`, `BlobEndpoint`, `SharedAccessSignature`,
//! `DefaultEndpointsProtocol`, `EndpointSuffix`, `UseDevelopmentStorage=true`), else
//! `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY` or `AZURE_STORAGE_SAS_TOKEN`.
//!
//! The key and the SAS signature live only inside one request: messages and the ledger
//! name the object by its `az://` URL (a SAS is in the query string, which messages
//! hide).

use super::object::Signed;
use super::percent::{PATH, UNRESERVED as QUERY};
use crate::error::{Error, Result};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use percent_encoding::utf8_percent_encode;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The REST API version requests ask for (`x-ms-version`).
const VERSION: &str = "2021-08-06";

/// Azurite's well-known development account (`UseDevelopmentStorage=true`); public.
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Whether `path` is an `az://` or `azure://` URL.
pub fn is_azure(path: &str) -> bool {
    let p = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    p.starts_with("az://") || p.starts_with("azure://")
}

/// The container and blob of `az://container/blob`.
pub fn split(url: &str) -> Result<(&str, &str)> {
    let rest = url
        .split_once("://")
        .filter(|_| is_azure(url))
        .map_or("", |(_, r)| r);
    match rest.split_once('/').unwrap_or((rest, "")) {
        ("", _) => Err(Error::usage(format!(
            "{url} is not an Azure Blob URL (expected az://container/blob)"
        ))),
        parts => Ok(parts),
    }
}

/// How requests are authorised. Its `Debug` shows no key or signature: a `{:?}` of
/// the settings must not leak them.
#[derive(PartialEq)]
enum Auth {
    /// The account key, decoded: Shared Key.
    Key(Vec<u8>),
    /// A SAS token (without `?`), appended to each URL.
    Sas(String),
    Anonymous,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Key(_) => "Key(***)",
            Auth::Sas(_) => "Sas(***)",
            Auth::Anonymous => "Anonymous",
        })
    }
}

/// Where and as whom requests go.
#[derive(Debug)]
struct Settings {
    account: String,
    /// The blob service's base URL, without a trailing `/`.
    endpoint: String,
    auth: Auth,
}

fn settings() -> Result<&'static Settings> {
    static SETTINGS: OnceLock<std::result::Result<Settings, String>> = OnceLock::new();
    SETTINGS
        .get_or_init(|| {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            Settings::from(env)
        })
        .as_ref()
        .map_err(|e| Error::usage(e.clone()))
}

impl Settings {
    fn from(env: impl Fn(&str) -> Option<String>) -> std::result::Result<Settings, String> {
        let mut parts: BTreeMap<String, String> = BTreeMap::new();
        let from_string = env("AZURE_STORAGE_CONNECTION_STRING");
        if let Some(cs) = &from_string {
            for part in cs.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                // Values (keys, SAS tokens) may hold `=`: the name ends at the first.
                let Some((k, v)) = part.split_once('=') else {
                    return Err("AZURE_STORAGE_CONNECTION_STRING: a part is not Name=value".into());
                };
                parts.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
            if parts.get("usedevelopmentstorage").map(String::as_str) == Some("true") {
                parts
                    .entry("accountname".into())
                    .or_insert(DEV_ACCOUNT.into());
                parts.entry("accountkey".into()).or_insert(DEV_KEY.into());
                parts
                    .entry("blobendpoint".into())
                    .or_insert(format!("http://127.0.0.1:10000/{DEV_ACCOUNT}"));
            }
        } else {
            let mut put = |k: &str, var: &str| {
                if let Some(v) = env(var) {
                    parts.insert(k.into(), v);
                }
            };
            put("accountname", "AZURE_STORAGE_ACCOUNT");
            put("accountkey", "AZURE_STORAGE_KEY");
            put("sharedaccesssignature", "AZURE_STORAGE_SAS_TOKEN");
        }
        let p = |k: &str| parts.get(k).cloned();
        let endpoint = match (p("blobendpoint"), p("accountname")) {
            (Some(e), _) => e.trim_end_matches('/').to_string(),
            (None, Some(a)) => format!(
                "{}://{a}.blob.{}",
                p("defaultendpointsprotocol").unwrap_or_else(|| "https".into()),
                p("endpointsuffix").unwrap_or_else(|| "core.windows.net".into())
            ),
            (None, None) => {
                return Err(
                    "no Azure storage account: set AZURE_STORAGE_CONNECTION_STRING, \
                            or AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY or \
                            AZURE_STORAGE_SAS_TOKEN)"
                        .into(),
                )
            }
        };
        // An account named only by the endpoint (a SAS connection string) is its host's
        // first label; Shared Key needs it, a SAS does not.
        let account = p("accountname").unwrap_or_else(|| {
            let host = endpoint.split_once("://").map_or("", |(_, h)| h);
            host.split(['.', '/', ':']).next().unwrap_or("").to_string()
        });
        let auth = match (p("sharedaccesssignature"), p("accountkey")) {
            (Some(sas), _) => Auth::Sas(sas.trim_start_matches('?').to_string()),
            (None, Some(key)) => Auth::Key(
                base64::engine::general_purpose::STANDARD
                    .decode(key.as_bytes())
                    .map_err(|_| "the Azure account key is not base64".to_string())?,
            ),
            (None, None) => Auth::Anonymous,
        };
        Ok(Settings {
            account,
            endpoint,
            auth,
        })
    }

    /// A GET of `path` (encoded, from `/`) with `query` (name, value; unencoded) and
    /// `headers` (standard ones, e.g. `Range`), authorised now.
    fn get(&self, path: &str, query: &[(&str, &str)], headers: Vec<(String, String)>) -> Signed {
        self.sign("GET", path, query, headers, 0)
    }

    /// A `verb` request of `path` with `query` and `headers` and a body of
    /// `content_length` bytes (signed, as Shared Key covers it), authorised now.
    fn sign(
        &self,
        verb: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: Vec<(String, String)>,
        content_length: u64,
    ) -> Signed {
        let mut to = format!("{}{path}", self.endpoint);
        let mut sep = '?';
        for (k, v) in query {
            to.push_str(&format!("{sep}{k}={}", utf8_percent_encode(v, QUERY)));
            sep = '&';
        }
        let mut headers = headers;
        headers.push(("x-ms-version".into(), VERSION.into()));
        match &self.auth {
            Auth::Sas(sas) => to.push_str(&format!("{sep}{sas}")),
            Auth::Key(key) => {
                let date = chrono::Utc::now()
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string();
                headers.push(("x-ms-date".into(), date));
                let base_path = url_path(&to);
                let request = Canonical {
                    verb,
                    content_length,
                    headers: &headers,
                };
                let signed = string_to_sign(&self.account, &base_path, query, &request);
                let mut mac =
                    hmac::Hmac::<sha2_011::Sha256>::new_from_slice(key).expect("any key length");
                mac.update(signed.as_bytes());
                let sig =
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
                let auth = format!("SharedKey {}:{sig}", self.account);
                headers.push(("Authorization".into(), auth));
            }
            Auth::Anonymous => {}
        }
        Signed { to, headers }
    }
}

/// The path of a URL (from the `/` after the host, without the query).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_string())
}

/// What of a request Shared Key signs besides its resource.
struct Canonical<'a> {
    verb: &'a str,
    /// The body's length; 0 is signed as an empty line (version 2015-02-21 on).
    content_length: u64,
    headers: &'a [(String, String)],
}

/// The string a Shared Key signs, as Microsoft's "Authorize with Shared Key"
/// (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key) lays it out
/// for version 2009-09-19 and later: the verb, eleven standard headers (`Range`,
/// `If-Match`, `Content-Type` and the length are sent here; `Date` is empty as
/// `x-ms-date` is used), the
/// `x-ms-*` headers sorted, then `/account/path` and the query's names sorted, each on
/// its own line as `name:value`. The emulator's account is in its path too, so it
/// appears twice, as that page says.
fn string_to_sign(
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    request: &Canonical<'_>,
) -> String {
    let headers = request.headers;
    let length = match request.content_length {
        0 => String::new(),
        n => n.to_string(),
    };
    let header = |name: &str| {
        if name == "Content-Length" {
            return length.as_str();
        }
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    };
    let mut s = format!("{}\n", request.verb);
    for name in [
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-MD5",
        "Content-Type",
        "Date",
        "If-Modified-Since",
        "If-Match",
        "If-None-Match",
        "If-Unmodified-Since",
        "Range",
    ] {
        s.push_str(header(name));
        s.push('\n');
    }
    let mut ms: Vec<(String, &str)> = headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim()))
        .collect();
    ms.sort();
    for (k, v) in ms {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&format!("/{account}{path}"));
    let mut q: Vec<(String, &str)> = query
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    q.sort();
    for (k, v) in q {
        s.push_str(&format!("\n{k}:{v}"));
    }
    s
}

/// A GET of the blob at `url` with `headers` (`Range`, `If-Match`), authorised now.
pub(crate) fn get(url: &str, headers: Vec<(String, String)>) -> Result<Signed> {
    let (container, blob) = split(url)?;
    if blob.is_empty() || blob.ends_with('/') {
        return Err(Error::usage(format!(
            "{url} names a container or a prefix, not a blob"
        )));
    }
    let path = format!("/{container}/{}", utf8_percent_encode(blob, PATH));
    Ok(settings()?.get(&path, &[], headers))
}

/// A `verb` request (PUT, DELETE) on the blob at `url` with `query` (e.g. `comp=block`),
/// `headers` and a body of `content_length` bytes, authorised now: the write side
/// (`import --out az://`) signs its requests here.
pub(crate) fn blob_request(
    verb: &str,
    url: &str,
    query: &[(&str, &str)],
    headers: Vec<(String, String)>,
    content_length: u64,
) -> Result<Signed> {
    let (container, blob) = split(url)?;
    let path = format!("/{container}/{}", utf8_percent_encode(blob, PATH));
    Ok(settings()?.sign(verb, &path, query, headers, content_length))
}

/// The query string (with its `?`) that lets CockroachDB's nodes read blobs of this
/// account, as its docs "Use Cloud Storage" (www.cockroachlabs.com/docs/stable/use-cloud-storage,
/// Azure Blob Storage) and its source (pkg/cloud/azure/azure_storage.go) spell it:
/// `AZURE_ACCOUNT_NAME` with `AZURE_ACCOUNT_KEY` (percent-encoded, as the docs ask), or
/// `AUTH=implicit` (the nodes' managed identity); `AZURE_ENVIRONMENT` only for a
/// sovereign cloud, as the nodes default to the public one and releases before v22.1
/// do not know the parameter. A SAS is no IMPORT parameter: refused for `specified`.
pub(crate) fn import_query(implicit: bool) -> Result<String> {
    let s = settings()?;
    let enc = |v: &str| utf8_percent_encode(v, QUERY).to_string();
    let mut params = Vec::new();
    if implicit {
        params.push("AUTH=implicit".to_string());
    }
    params.push(format!("AZURE_ACCOUNT_NAME={}", enc(&s.account)));
    if !implicit {
        let Auth::Key(key) = &s.auth else {
            return Err(Error::usage(
                "the IMPORT statement needs the Azure account key for the nodes \
                 (AZURE_STORAGE_KEY, or AccountKey in AZURE_STORAGE_CONNECTION_STRING); a SAS \
                 token is not one of CockroachDB's parameters. Pass --out-auth implicit if the \
                 nodes have their own identity",
            ));
        };
        let key = base64::engine::general_purpose::STANDARD.encode(key);
        params.push(format!("AZURE_ACCOUNT_KEY={}", enc(&key)));
    }
    if let Some(env) = environment(&s.endpoint) {
        params.push(format!("AZURE_ENVIRONMENT={env}"));
    }
    Ok(format!("?{}", params.join("&")))
}

/// CockroachDB's name of the sovereign cloud an endpoint is in (the nodes build
/// `https://ACCOUNT.blob.SUFFIX` from it); None for the public cloud or another host.
fn environment(endpoint: &str) -> Option<&'static str> {
    let host = endpoint.split_once("://").map_or(endpoint, |(_, h)| h);
    let host = host.split(['/', ':']).next().unwrap_or("");
    [
        (".blob.core.chinacloudapi.cn", "AZURECHINACLOUD"),
        (".blob.core.usgovcloudapi.net", "AZUREUSGOVERNMENTCLOUD"),
        (".blob.core.cloudapi.de", "AZUREGERMANCLOUD"),
    ]
    .into_iter()
    .find(|(suffix, _)| host.ends_with(suffix))
    .map(|(_, env)| env)
}

/// A List Blobs page of `container`'s blobs under `prefix`, from `marker` on.
pub(crate) fn list(container: &str, prefix: &str, marker: Option<&str>) -> Result<Signed> {
    let path = format!("/{}", utf8_percent_encode(container, QUERY));
    let mut query = vec![("restype", "container"), ("comp", "list")];
    if !prefix.is_empty() {
        query.push(("prefix", prefix));
    }
    if let Some(m) = marker {
        query.push(("marker", m));
    }
    Ok(settings()?.get(&path, &query, Vec::new()))
}

/// The blob names and next marker of one List Blobs page (its XML).
pub(crate) fn parse_list(xml: &str) -> std::result::Result<(Vec<String>, Option<String>), String> {
    if !xml.contains("<EnumerationResults") {
        return Err("the answer to List Blobs is not a listing".into());
    }
    let mut names = Vec::new();
    for blob in xml.split("<Blob>").skip(1) {
        let name = element(blob, "Name").ok_or("a listed blob has no name")?;
        names.push(name);
    }
    let next = element(xml, "NextMarker").filter(|m| !m.is_empty());
    Ok((names, next))
}

/// The text of the first `<tag>…</tag>` in `xml`, its entities decoded.
fn element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{tag}>"))?;
    let raw = &xml[start..start + len];
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Whether a key or SAS token was found (messages about 403 say so when not).
pub(crate) fn has_credentials() -> bool {
    settings().is_ok_and(|s| s.auth != Auth::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
    }

    #[test]
    fn urls_split_into_container_and_blob() {
        assert!(is_azure("az://c/b") && is_azure("AZURE://c/b") && !is_azure("azb://c"));
        assert_eq!(split("az://c/2024/a.csv").unwrap(), ("c", "2024/a.csv"));
        assert_eq!(split("azure://c").unwrap(), ("c", ""));
        assert!(split("az:///b").is_err());
    }

    #[test]
    fn settings_as_azures_tools_read_them() {
        let dev = Settings::from(env(&[(
            "AZURE_STORAGE_CONNECTION_STRING",
            "UseDevelopmentStorage=true",
        )]))
        .unwrap();
        assert_eq!(dev.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        assert!(matches!(dev.auth, Auth::Key(_)));
        let sas = Settings::from(env(&[(
            "AZURE_STORAGE_CONNECTION_STRING",
            "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=a%3D",
        )]))
        .unwrap();
        assert_eq!(sas.account, "acct");
        assert_eq!(sas.auth, Auth::Sas("sv=1&sig=a%3D".into()));
        assert!(!format!("{sas:?}").contains("sig="));
        let key = Settings::from(env(&[
            ("AZURE_STORAGE_ACCOUNT", "acct"),
            ("AZURE_STORAGE_KEY", "a2V5"),
        ]))
        .unwrap();
        assert_eq!(key.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(key.auth, Auth::Key(b"key".to_vec()));
        assert!(Settings::from(env(&[])).is_err());
        let bad = [("AZURE_STORAGE_ACCOUNT", "a"), ("AZURE_STORAGE_KEY", "!!")];
        let err = Settings::from(env(Box::leak(Box::new(bad)))).unwrap_err();
        assert!(!err.contains("!!"), "{err}");
    }

    #[test]
    fn the_string_to_sign_follows_the_documented_layout() {
        let headers = vec![
            ("Range".to_string(), "bytes=5-".to_string()),
            ("x-ms-version".to_string(), VERSION.to_string()),
            ("x-ms-date".to_string(), "D".to_string()),
        ];
        let get = Canonical {
            verb: "GET",
            content_length: 0,
            headers: &headers,
        };
        let s = string_to_sign(
            "devstoreaccount1",
            "/devstoreaccount1/c",
            &[("restype", "container"), ("comp", "list")],
            &get,
        );
        let want = format!(
            "GET\n\n\n\n\n\n\n\n\n\n\nbytes=5-\nx-ms-date:D\nx-ms-version:{VERSION}\n\
             /devstoreaccount1/devstoreaccount1/c\ncomp:list\nrestype:container"
        );
        assert_eq!(s, want);
        assert_eq!(url_path("http://h:1/a/b%20c?x=1"), "/a/b%20c");
    }

    #[test]
    fn writes_sign_their_verb_length_and_type() {
        let headers = vec![
            ("Content-Type".to_string(), "application/xml".to_string()),
            ("x-ms-date".to_string(), "D".to_string()),
        ];
        let put = Canonical {
            verb: "PUT",
            content_length: 12,
            headers: &headers,
        };
        let s = string_to_sign("a", "/c/b", &[("comp", "block"), ("blockid", "MQ==")], &put);
        assert_eq!(
            s,
            "PUT\n\n\n12\n\napplication/xml\n\n\n\n\n\n\nx-ms-date:D\n/a/c/b\nblockid:MQ==\ncomp:block"
        );
        assert_eq!(
            environment("https://a.blob.core.chinacloudapi.cn"),
            Some("AZURECHINACLOUD")
        );
        assert_eq!(environment("https://a.blob.core.windows.net"), None);
        assert_eq!(environment("http://127.0.0.1:10000/devstoreaccount1"), None);
    }

    #[test]
    fn listings_give_names_and_the_next_marker() {
        let xml = "<?xml?><EnumerationResults ContainerName=\"c\"><Blobs><Blob><Name>a&amp;b.csv\
                   </Name><Properties/></Blob><Blob><Name>d/e.csv</Name></Blob></Blobs>\
                   <NextMarker>m1</NextMarker></EnumerationResults>";
        let (names, next) = parse_list(xml).unwrap();
        assert_eq!(names, ["a&b.csv", "d/e.csv"]);
        assert_eq!(next.as_deref(), Some("m1"));
        let end = "<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>";
        assert_eq!(parse_list(end).unwrap(), (vec![], None));
        assert!(parse_list("<html>").is_err());
    }
}
