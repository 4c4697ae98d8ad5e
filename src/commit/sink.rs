//! Writers drain encoded chunks into a sink: the database, or a dry run's counters.

use super::control::{PipelineControl, Rejects};
use crate::encode::{EncodedChunk, EncodedRows};
use crate::report::Counters;
use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Where a writer puts encoded chunks.
pub trait ChunkSink {
    /// Takes one chunk; `truncate`: empty the table in the same transaction (chunk 0 of a
    /// `--truncate` load on PostgreSQL; on CockroachDB the load empties the table before
    /// any chunk, and a chunk transaction never holds DDL).
    fn commit(&mut self, chunk: EncodedChunk, truncate: bool) -> Result<()>;
}

/// Hands every chunk from `chunks` to `sink` until they end (the channel closes); with `truncate`,
/// chunk 0 commits before any other.
pub fn drain(
    control: &PipelineControl,
    chunks: impl IntoIterator<Item = EncodedChunk>,
    truncate: bool,
    sink: &mut dyn ChunkSink,
) {
    for chunk in chunks {
        if control.aborted() {
            continue;
        }
        let first = truncate && chunk.chunk.seq == 0;
        if truncate && !first {
            control.wait_first();
            if control.aborted() {
                continue;
            }
        }
        let r = sink.commit(chunk, first);
        if first {
            control.signal_first();
        }
        if let Err(e) = r {
            control.fail(e);
        }
    }
}

/// What a dry run measured of the chunks it would send.
#[derive(Debug, Default)]
pub struct DryRunStats {
    /// Rows of chunk 0 (for the INSERT shown).
    pub first_chunk_rows: AtomicU64,
    /// Records of the largest chunk.
    pub max_chunk_rows: AtomicU64,
    /// Source bytes of the largest chunk.
    pub max_chunk_bytes: AtomicU64,
}

/// A dry run's sink: counts what would be sent; bad rows fail or are counted.
pub struct DryRunSink<'a> {
    /// Rows and chunks.
    pub counters: &'a Counters,
    /// Bad rows, counted and written nowhere.
    pub rejects: &'a Rejects,
    /// Chunk sizes.
    pub stats: &'a DryRunStats,
}

impl ChunkSink for DryRunSink<'_> {
    fn commit(&mut self, mut work: EncodedChunk, _truncate: bool) -> Result<()> {
        if work.fallback {
            self.counters.fallback_chunks.fetch_add(1, Relaxed);
        }
        for (row, err) in std::mem::take(&mut work.bad) {
            if !self.rejects.tolerates_any() {
                return Err(err);
            }
            let rec = work.chunk.batch.record(row as usize);
            self.rejects.reject(
                work.chunk.file_index as u32,
                rec.position().byte,
                rec.raw(),
                rec.position().line,
                &err,
            )?;
        }
        let s = self.stats;
        if work.chunk.seq == 0 {
            s.first_chunk_rows.store(work.rows.len() as u64, Relaxed);
        }
        s.max_chunk_rows
            .fetch_max(work.chunk.rows() as u64, Relaxed);
        s.max_chunk_bytes
            .fetch_max(work.chunk.bytes() as u64, Relaxed);
        self.counters
            .rows
            .fetch_add(work.rows.len() as u64, Relaxed);
        self.counters.chunks.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// Rows of `rows` whose source index lies in `lo .. lo + n` (encoded rows keep source order).
pub(crate) fn encoded_range(rows: &EncodedRows, lo: u32, n: u32) -> std::ops::Range<usize> {
    let sources = rows.sources();
    sources.partition_point(|&s| s < lo)..sources.partition_point(|&s| s < lo + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Column, Encoder, Format};

    #[test]
    fn encoded_range_finds_the_encoded_rows_of_a_source_range_around_rejected_rows() {
        let enc = Encoder::new(vec![Column::new("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        // Source rows 0..10, with 3 and 7 rejected by conversion.
        for i in 0..10u32 {
            let v = if i == 3 || i == 7 {
                "x".to_string()
            } else {
                i.to_string()
            };
            let _ = enc.encode_row([Some(v.as_bytes())], i, &mut rows);
        }
        assert_eq!(rows.len(), 8);
        assert_eq!(encoded_range(&rows, 0, 10), 0..8);
        assert_eq!(encoded_range(&rows, 0, 3), 0..3);
        assert_eq!(
            encoded_range(&rows, 3, 1),
            3..3,
            "a rejected row encodes to nothing"
        );
        assert_eq!(encoded_range(&rows, 3, 5), 3..6);
        assert_eq!(encoded_range(&rows, 8, 2), 6..8);
    }
}
