//! What the object stores' modules share without depending on one another: a request
//! as authorised for one store, and an object's identity as its server gives it.

/// One request's address and headers, authorised. It may hold a signature or token:
/// never shown or stored (messages use the object's own URL).
pub(crate) struct Signed {
    pub to: String,
    pub headers: Vec<(String, String)>,
}

/// What identifies one version of an object, as the server says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    /// Size in bytes (`Content-Length`, or the total of `Content-Range`).
    pub size: Option<u64>,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    pub last_modified: Option<String>,
    /// A store's version of the object (a `gs://` object's generation).
    pub version: Option<String>,
}

impl ObjectInfo {
    pub(crate) fn of(resp: &ureq::Response) -> ObjectInfo {
        let total = resp
            .header("Content-Range")
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, t)| t.trim().parse().ok());
        let len = || resp.header("Content-Length").and_then(|l| l.parse().ok());
        ObjectInfo {
            size: if resp.status() == 206 { total } else { len() },
            etag: resp.header("ETag").map(str::to_string),
            last_modified: resp.header("Last-Modified").map(str::to_string),
            version: None,
        }
    }

    /// The fingerprint the ledger keeps: it changes when the object does.
    pub fn fingerprint(&self) -> String {
        let size = self.size.map_or("?".into(), |s| s.to_string());
        let etag = self.etag.as_deref().unwrap_or("");
        let modified = self.last_modified.as_deref().unwrap_or("");
        match &self.version {
            Some(v) => format!("http:{size}:{etag}:{modified}:{v}"),
            None => format!("http:{size}:{etag}:{modified}"),
        }
    }
}
