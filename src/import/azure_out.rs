//! [`ObjectOut`] for `az://`: block blobs. A shard smaller than a part is one Put Blob; a
//! larger one is staged with Put Block (block ids of one length, base64) and made a blob
//! by Put Block List, the only request that makes it visible. Azure has no call to drop
//! staged blocks: an upload that fails is never committed, and Azure discards
//! uncommitted blocks after a week (Put Block, learn.microsoft.com/rest/api/
//! storageservices/put-block). Requests are signed by `source::azure` (Shared Key or SAS).

use super::object_out::{Object, ObjectOut};
use super::ImportAuth;
use crate::source::azure;
use crate::source::remote;
use crate::Result;
use base64::Engine as _;

/// Azure Blob Storage, or Azurite.
pub(crate) struct Azure;

/// The largest block of REST version 2019-12-12 and later: 4000 MiB.
const MAX_BLOCK: usize = 4000 << 20;

/// A block's id: its number, zero-padded so all ids have one length, in base64.
fn block_id(number: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{number:010}"))
}

/// A `verb` request on the blob with `query`, `headers` and `body`, signed per attempt
/// (the date is signed) and retried; a 404 is `Ok(None)` when `missing_ok`.
fn send(
    at: &Object<'_>,
    verb: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
    missing_ok: bool,
) -> Result<Option<ureq::Response>> {
    let ok: &[u16] = if missing_ok { &[404] } else { &[] };
    remote::send(at.url, verb, body, ok, || {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        azure::blob_request(verb, at.url, query, headers, body.len() as u64)
    })
}

impl ObjectOut for Azure {
    /// `azure-blob` is the scheme CockroachDB's source registers
    /// (pkg/cloud/azure/azure_storage.go, with `azure` and `azure-storage` kept as
    /// deprecated aliases) and its current "Use Cloud Storage" page spells; the v21.2
    /// and v22.1 pages spell `azure`, which `--base-url` gives an older cluster.
    fn statement_scheme(&self) -> &'static str {
        "azure-blob"
    }

    fn import_query(&self, auth: ImportAuth) -> Result<String> {
        azure::import_query(auth == ImportAuth::Implicit)
    }

    /// A blob's most blocks.
    fn max_parts(&self) -> u64 {
        50_000
    }

    fn part_size(&self, want: usize) -> usize {
        want.min(MAX_BLOCK)
    }

    fn put(&self, at: &Object<'_>, body: &[u8]) -> Result<()> {
        let headers = [("x-ms-blob-type", "BlockBlob")];
        send(at, "PUT", &[], &headers, body, false).map(drop)
    }

    /// Nothing to begin: blocks are staged against the blob's name.
    fn begin(&self, _at: &Object<'_>) -> Result<String> {
        Ok(String::new())
    }

    fn put_part(
        &self,
        at: &Object<'_>,
        _session: &str,
        number: u64,
        _offset: u64,
        body: &[u8],
    ) -> Result<String> {
        let id = block_id(number);
        let query = [("comp", "block"), ("blockid", id.as_str())];
        send(at, "PUT", &query, &[], body, false)?;
        Ok(id)
    }

    /// Azure has no upload session: the block list is the commit.
    fn commit(&self, at: &Object<'_>, _session: &str, tags: &[String]) -> Result<()> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in tags.iter() {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let query = [("comp", "blocklist")];
        let headers = [("Content-Type", "application/xml")];
        send(at, "PUT", &query, &headers, xml.as_bytes(), false).map(drop)
    }

    /// Never committed, the blocks are no blob and are discarded within a week.
    fn abort(&self, _at: &Object<'_>, _session: &str) -> Result<()> {
        Ok(())
    }

    fn delete(&self, at: &Object<'_>) -> Result<()> {
        send(at, "DELETE", &[], &[], &[], true).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_have_one_length() {
        assert_eq!(block_id(1), "MDAwMDAwMDAwMQ==");
        assert_eq!(block_id(1).len(), block_id(49_999).len());
    }
}
