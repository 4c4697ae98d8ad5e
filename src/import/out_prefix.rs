//! Where `import --out` uploads to: the store, bucket and key prefix of an `s3://`,
//! `az://` or `gs://` URL, each store's [`ObjectOut`] behind it.

use super::object_out::{Object, ObjectOut, Upload};
use super::{azure_out, gcs_out, s3_out, ImportAuth};
use crate::source::{azure, gcs, s3};
use crate::{Error, Result};

/// The store, bucket and key prefix of an object-store `--out`.
pub(crate) struct OutPrefix {
    ops: &'static dyn ObjectOut,
    /// `s3`, `az` or `gs`.
    scheme: &'static str,
    bucket: String,
    /// Empty, or ending with `/`.
    prefix: String,
}

impl OutPrefix {
    /// `Some` when `out` is an `s3://`, `az://` (`azure://`) or `gs://` URL.
    pub fn of(out: &str) -> Result<Option<OutPrefix>> {
        let (ops, scheme, (bucket, key)): (&'static dyn ObjectOut, _, _) = if s3::is_s3(out) {
            (&s3_out::S3, "s3", s3::split(out)?)
        } else if azure::is_azure(out) {
            (&azure_out::Azure, "az", azure::split(out)?)
        } else if gcs::is_gs(out) {
            (&gcs_out::Gcs, "gs", gcs::split(out)?)
        } else {
            return Ok(None);
        };
        // The S3 signing crate joins keys to the endpoint as relative URLs (see s3.rs);
        // an empty segment is refused for every store alike.
        if key.starts_with('/') || key.contains("//") {
            return Err(Error::usage(format!(
                "--out {out}: empty path segments (//) are not supported in object-store prefixes"
            )));
        }
        let mut prefix = key.to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Some(OutPrefix {
            ops,
            scheme,
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    /// `scheme://bucket/prefix/`.
    pub fn root(&self) -> String {
        format!("{}://{}/{}", self.scheme, self.bucket, self.prefix)
    }

    /// `scheme://bucket/prefix/name`, as messages name the object.
    pub fn url(&self, name: &str) -> String {
        format!("{}{name}", self.root())
    }

    /// The root as a URL for the statement, in the scheme CockroachDB reads the store
    /// with, the path percent-encoded as it parses it (Go's `url.Parse`), `/` kept.
    pub fn encoded_root(&self) -> String {
        use crate::source::percent::PATH;
        use percent_encoding::utf8_percent_encode;
        format!(
            "{}://{}/{}",
            self.ops.statement_scheme(),
            self.bucket,
            utf8_percent_encode(&self.prefix, PATH)
        )
    }

    /// The statement URLs' query string for `auth`.
    pub fn import_query(&self, auth: ImportAuth) -> Result<String> {
        self.ops.import_query(auth)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The names of the objects right under the prefix (not deeper), sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let root = self.root();
        Ok(crate::source::listing::list(&root)?
            .into_iter()
            .filter_map(|u| {
                let name = u.strip_prefix(&root)?;
                (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
            })
            .collect())
    }

    /// Deletes the object `name` (a missing one is no error).
    pub fn delete(&self, name: &str) -> Result<()> {
        let (key, url) = (self.key(name), self.url(name));
        self.ops.delete(&Object {
            bucket: &self.bucket,
            key: &key,
            url: &url,
        })
    }

    /// A writer that stores what it is given as the object `name`, about `part_size`
    /// bytes per part; nothing is stored until [`Upload::finish`].
    pub fn upload(&self, name: &str, part_size: usize) -> Upload<'_> {
        Upload::new(
            self.ops,
            &self.bucket,
            self.key(name),
            self.url(name),
            part_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_with_a_slash_and_encode_for_the_statement() {
        let p = OutPrefix::of("s3://b/imp/2024").unwrap().unwrap();
        assert_eq!(p.root(), "s3://b/imp/2024/");
        assert_eq!(p.url("t.1.csv"), "s3://b/imp/2024/t.1.csv");
        let top = OutPrefix::of("s3://b").unwrap().unwrap();
        assert_eq!(top.root(), "s3://b/");
        let odd = OutPrefix::of("s3://b/a b?c").unwrap().unwrap();
        assert_eq!(odd.encoded_root(), "s3://b/a%20b%3Fc/");
        assert!(OutPrefix::of("out/dir").unwrap().is_none());
        assert!(OutPrefix::of("s3://b//x").is_err());
        assert!(OutPrefix::of("s3:///x").is_err());
        let az = OutPrefix::of("azure://c/imp").unwrap().unwrap();
        assert_eq!(az.root(), "az://c/imp/");
        assert_eq!(az.encoded_root(), "azure-blob://c/imp/");
        let gs = OutPrefix::of("gs://b/x y/").unwrap().unwrap();
        assert_eq!(gs.encoded_root(), "gs://b/x%20y/");
        assert!(OutPrefix::of("gs://b//x").is_err());
    }
}
