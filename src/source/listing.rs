//! The objects under an object-store prefix (`s3://b/2024/`, `az://c/x`, `gs://b/p`),
//! listed page by page through the one remote reader.

use super::object::Signed;
use super::remote::{get_text, invalid};
use super::{azure, gcs, s3};
use crate::error::{Error, Result};

/// The store a URL names, found once for a whole listing.
#[derive(Clone, Copy)]
enum Store {
    S3,
    Azure,
    Gcs,
}

type Page = std::result::Result<(Vec<String>, Option<String>), String>;

impl Store {
    fn of(url: &str) -> Option<Store> {
        if s3::is_s3(url) {
            Some(Store::S3)
        } else if azure::is_azure(url) {
            Some(Store::Azure)
        } else if gcs::is_gs(url) {
            Some(Store::Gcs)
        } else {
            None
        }
    }

    fn split(self, url: &str) -> Result<(&str, &str)> {
        match self {
            Store::S3 => s3::split(url),
            Store::Azure => azure::split(url),
            Store::Gcs => gcs::split(url),
        }
    }

    /// The request for the page after `token` of the keys under `prefix`.
    fn request(self, bucket: &str, prefix: &str, token: Option<&str>) -> Result<Signed> {
        Ok(match self {
            Store::S3 => Signed {
                to: s3::presign_list(bucket, prefix, token)?,
                headers: Vec::new(),
            },
            Store::Azure => azure::list(bucket, prefix, token)?,
            Store::Gcs => gcs::list(bucket, prefix, token),
        })
    }

    fn parse(self, text: &str) -> Page {
        match self {
            Store::S3 => s3::parse_list(text),
            Store::Azure => azure::parse_list(text),
            Store::Gcs => gcs::parse_list(text),
        }
    }
}

/// Every object under the prefix `url` names (`s3://b/2024/`, `az://c/x`), sorted, as
/// URLs spelled as `url` is. Bounded: more than 1000 pages is refused.
pub fn list(url: &str) -> Result<Vec<String>> {
    let (scheme, _) = url.split_once("://").unwrap_or(("", ""));
    let store =
        Store::of(url).ok_or_else(|| Error::usage(format!("{url} is no object store URL")))?;
    let (bucket, prefix) = store.split(url)?;
    let mut urls = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..1000 {
        let req = store.request(bucket, prefix, token.as_deref())?;
        let text = get_text(url, &req)?;
        let (keys, next) = store.parse(&text).map_err(|e| invalid(url, e))?;
        urls.extend(keys.into_iter().map(|k| format!("{scheme}://{bucket}/{k}")));
        token = match next {
            Some(t) => Some(t),
            None => {
                urls.sort();
                return Ok(urls);
            }
        };
    }
    Err(Error::usage(format!(
        "{url} lists more than 1000 pages of objects; name a narrower prefix"
    )))
}
