//! The objects under an object-store prefix (`s3://b/2024/`, `az://c/x`, `gs://b/p`),
//! listed page by page through the one remote reader.

use super::object::Signed;
use super::remote::{get_text, invalid};
use super::{azure, gcs, s3};
use crate::error::{Error, Result};

/// Every object under the prefix `url` names (`s3://b/2024/`, `az://c/x`), sorted, as
/// URLs spelled as `url` is. Bounded: more than 1000 pages is refused.
pub fn list(url: &str) -> Result<Vec<String>> {
    let (scheme, _) = url.split_once("://").unwrap_or(("", ""));
    let (bucket, prefix) = if s3::is_s3(url) {
        s3::split(url)?
    } else if azure::is_azure(url) {
        azure::split(url)?
    } else if gcs::is_gs(url) {
        gcs::split(url)?
    } else {
        return Err(Error::usage(format!("{url} is no object store URL")));
    };
    let mut urls = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..1000 {
        let t = token.as_deref();
        let req = if s3::is_s3(url) {
            Signed {
                to: s3::presign_list(bucket, prefix, t)?,
                headers: Vec::new(),
            }
        } else if azure::is_azure(url) {
            azure::list(bucket, prefix, t)?
        } else {
            gcs::list(bucket, prefix, t)
        };
        let text = get_text(url, &req)?;
        let page = if s3::is_s3(url) {
            s3::parse_list(&text)
        } else if azure::is_azure(url) {
            azure::parse_list(&text)
        } else {
            gcs::parse_list(&text)
        };
        let (keys, next) = page.map_err(|e| invalid(url, e))?;
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
