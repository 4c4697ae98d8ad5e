//! Chunk: cut the record stream into bounded chunks that never split a record.
//!
//! Each chunk becomes one transaction, so it must stay under the server's limits: the
//! bytes a transaction writes, 65 535 bind parameters per statement, 16 MiB per protocol
//! message. Sizes are counted in source bytes (raw record bytes), never in anything that
//! depends on timing or on the server, so the same input and options always give the same
//! chunks: resume after a crash relies on it to skip the chunks the ledger says are done.
//!
//! The decision logic ([`ChunkLimits::fits`], [`Chunker`]) is pure; [`ChunkStream`] is
//! the driver over a [`RecordReader`]. The header is read once by the stream, never per
//! chunk (a peer tool dropped the first row of every batch that way).

use std::io::Read;

use crate::error::{Error, ErrorKind, Position, Result};
use crate::source::{Record, RecordReader, Span};

/// Upper bound of how much larger than its text a field can get once encoded (binary COPY
/// or a bind parameter): a 4-byte length plus a value up to 16 bytes (interval, uuid)
/// where the text may be a single character, with slack.
pub const MESSAGE_BYTES_PER_FIELD: usize = 24;

/// Per-record overhead of the encoded form (binary COPY tuple header, message framing).
pub const MESSAGE_BYTES_PER_RECORD: usize = 16;

/// Bounds of one chunk. A chunk closes before the next record would pass any of them; a
/// record that alone passes one goes alone in an `oversized` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Raw source bytes per chunk. Default 256 KiB: small enough that a retried
    /// transaction is cheap and far under CockroachDB's 4 MiB intent budget (the keys and
    /// index entries a chunk writes are a multiple of its source bytes), large enough to
    /// amortise the per-transaction round trips.
    pub max_bytes: usize,
    /// Records per chunk. Default 10 000: CockroachDB's docs advise batches of 10 to
    /// 1 000 rows and warn against 100 000+; with the 256 KiB byte cap, rows of 26 bytes
    /// or more hit the byte cap first, so this only bounds tables of tiny rows, whose cost
    /// is per row (one KV write each) rather than per byte.
    pub max_rows: usize,
    /// Rows × columns per chunk: the wire protocol allows 65 535 bind parameters per
    /// statement. Irrelevant for COPY: set it to `usize::MAX` there.
    pub max_params: usize,
    /// Upper estimate of the encoded chunk, kept under the server's 16 MiB message limit
    /// (`sql.conn.max_read_buffer_message_size`).
    pub max_message: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_bytes: 256 * 1024,
            max_rows: 10_000,
            max_params: 65_535,
            max_message: 16 * 1024 * 1024,
        }
    }
}

/// How full a chunk is, in every bounded unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkSize {
    /// Records.
    pub rows: usize,
    /// Raw source bytes.
    pub bytes: usize,
    /// Fields (bind parameters of a multi-row INSERT).
    pub params: usize,
    /// Upper estimate of the encoded size.
    pub message: usize,
}

impl ChunkSize {
    /// Accounts for one more record.
    pub fn add(&mut self, raw_len: usize, nfields: usize) {
        self.rows += 1;
        self.bytes = self.bytes.saturating_add(raw_len);
        self.params = self.params.saturating_add(nfields);
        self.message = self
            .message
            .saturating_add(ChunkLimits::message_estimate(raw_len, nfields));
    }
}

impl ChunkLimits {
    /// Zero limits would never let a record in: a usage error, not an endless loop.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("chunk bytes", self.max_bytes),
            ("chunk rows", self.max_rows),
            ("chunk parameters", self.max_params),
            ("message size", self.max_message),
        ] {
            if v == 0 {
                return Err(Error::usage(format!("the {what} limit must be at least 1")));
            }
        }
        Ok(())
    }

    /// Deterministic upper estimate of a record's encoded size, from its raw length.
    pub fn message_estimate(raw_len: usize, nfields: usize) -> usize {
        raw_len
            .saturating_add(nfields.saturating_mul(MESSAGE_BYTES_PER_FIELD))
            .saturating_add(MESSAGE_BYTES_PER_RECORD)
    }

    /// Whether a chunk of size `cur` can take one more record and stay within every bound.
    pub fn fits(&self, cur: ChunkSize, raw_len: usize, nfields: usize) -> bool {
        let mut next = cur;
        next.add(raw_len, nfields);
        next.rows <= self.max_rows
            && next.bytes <= self.max_bytes
            && next.params <= self.max_params
            && next.message <= self.max_message
    }

    /// Whether a record passes a bound even alone.
    pub fn oversized(&self, raw_len: usize, nfields: usize) -> bool {
        !self.fits(ChunkSize::default(), raw_len, nfields)
    }
}

/// Where the next record goes, as decided by [`Chunker::place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Close the current (non-empty) chunk before adding the record.
    pub close_before: bool,
    /// Close the chunk right after adding the record: it is full, or oversized.
    pub close_after: bool,
    /// The record alone passes a bound; it is alone in its chunk.
    pub oversized: bool,
}

/// The chunking decision, without I/O: feed it each record's raw length and field count.
#[derive(Debug, Clone)]
pub struct Chunker {
    limits: ChunkLimits,
    cur: ChunkSize,
}

impl Chunker {
    /// A chunker with validated limits.
    pub fn new(limits: ChunkLimits) -> Result<Self> {
        limits.validate()?;
        Ok(Chunker {
            limits,
            cur: ChunkSize::default(),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &ChunkLimits {
        &self.limits
    }

    /// Size of the open chunk.
    pub fn current(&self) -> ChunkSize {
        self.cur
    }

    /// Decides where a record goes and updates the open chunk's size accordingly.
    pub fn place(&mut self, raw_len: usize, nfields: usize) -> Placement {
        let oversized = self.limits.oversized(raw_len, nfields);
        let close_before = self.cur.rows > 0 && !self.limits.fits(self.cur, raw_len, nfields);
        if close_before {
            self.cur = ChunkSize::default();
        }
        self.cur.add(raw_len, nfields);
        let close_after = oversized || self.cur.rows >= self.limits.max_rows;
        if close_after {
            self.cur = ChunkSize::default();
        }
        Placement {
            close_before,
            close_after,
            oversized,
        }
    }

    /// Forgets the open chunk (it was closed at the end of a file).
    pub fn reset(&mut self) {
        self.cur = ChunkSize::default();
    }
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    pos: Position,
    raw_end: usize,
    spans_end: usize,
    /// The record's spans index `raw` (it had no quotes) rather than `data`.
    in_raw: bool,
}

/// Many records in a few flat buffers: raw bytes, unescaped values, field spans and
/// positions. Reusable with [`RecordBatch::clear`].
#[derive(Debug, Clone, Default)]
pub struct RecordBatch {
    raw: Vec<u8>,
    data: Vec<u8>,
    spans: Vec<Span>,
    recs: Vec<Meta>,
}

impl RecordBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.raw.clear();
        self.data.clear();
        self.spans.clear();
        self.recs.clear();
    }

    /// Appends a copy of `rec`.
    pub fn push(&mut self, rec: &Record) {
        let raw_base = self.raw.len();
        self.raw.extend_from_slice(&rec.raw);
        let base = if rec.in_raw {
            raw_base
        } else {
            let b = self.data.len();
            self.data.extend_from_slice(&rec.data);
            b
        };
        self.spans.extend(rec.spans.iter().map(|s| Span {
            start: s.start + base,
            end: s.end + base,
            null: s.null,
        }));
        self.recs.push(Meta {
            pos: rec.pos,
            raw_end: self.raw.len(),
            spans_end: self.spans.len(),
            in_raw: rec.in_raw,
        });
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// True when there is no record.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Raw source bytes of all records.
    pub fn bytes(&self) -> usize {
        self.raw.len()
    }

    /// All records' raw bytes, concatenated as in the input: an IMPORT shard as is.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Record `i`. Panics if `i >= len()`, like indexing.
    pub fn record(&self, i: usize) -> RecordRef<'_> {
        assert!(i < self.recs.len(), "record {i} of a batch of {}", self.len());
        RecordRef { batch: self, i }
    }

    /// The records in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordRef<'_>> + '_ {
        (0..self.len()).map(move |i| RecordRef { batch: self, i })
    }
}

/// A record inside a [`RecordBatch`].
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    batch: &'a RecordBatch,
    i: usize,
}

impl<'a> RecordRef<'a> {
    fn meta(&self) -> &'a Meta {
        &self.batch.recs[self.i]
    }

    fn spans(&self) -> &'a [Span] {
        let start = match self.i {
            0 => 0,
            i => self.batch.recs[i - 1].spans_end,
        };
        &self.batch.spans[start..self.meta().spans_end]
    }

    fn values(&self) -> &'a [u8] {
        if self.meta().in_raw {
            &self.batch.raw
        } else {
            &self.batch.data
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.spans().len()
    }

    /// True when the record has no field (never for a record read successfully).
    pub fn is_empty(&self) -> bool {
        self.spans().is_empty()
    }

    /// Field `j`, unescaped; `None` is SQL NULL. Panics if `j >= len()`.
    pub fn field(&self, j: usize) -> Option<&'a [u8]> {
        let s = self.spans()[j];
        (!s.null).then(|| &self.values()[s.start..s.end])
    }

    /// All fields in order; `None` is NULL.
    pub fn fields(&self) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
        let values = self.values();
        self.spans()
            .iter()
            .map(move |s| (!s.null).then(|| &values[s.start..s.end]))
    }

    /// The record's bytes as in the input, terminator included.
    pub fn raw(&self) -> &'a [u8] {
        let start = match self.i {
            0 => 0,
            i => self.batch.recs[i - 1].raw_end,
        };
        &self.batch.raw[start..self.meta().raw_end]
    }

    /// Where the record starts in its input.
    pub fn position(&self) -> Position {
        self.meta().pos
    }
}

/// A bounded run of consecutive records of one file: the unit of one transaction.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// 0-based sequence number within the load, across files: the ledger's key.
    pub seq: u64,
    /// Which input file (index in the load's file list).
    pub file_index: usize,
    /// The records.
    pub batch: RecordBatch,
    /// A lone record larger than a bound: the caller should warn, the server may refuse.
    pub oversized: bool,
}

impl Chunk {
    /// Number of records.
    pub fn rows(&self) -> usize {
        self.batch.len()
    }

    /// Raw source bytes.
    pub fn bytes(&self) -> usize {
        self.batch.bytes()
    }

    /// Position of the first record.
    pub fn first_position(&self) -> Position {
        self.batch.record(0).position()
    }

    /// Position of the last record.
    pub fn last_position(&self) -> Position {
        self.batch.record(self.batch.len() - 1).position()
    }

    /// Line on which the first record starts.
    pub fn first_line(&self) -> u64 {
        self.first_position().line
    }

    /// Line on which the last record starts.
    pub fn last_line(&self) -> u64 {
        self.last_position().line
    }
}

/// Reads a file's records and yields them as chunks, header read once up front.
///
/// A parse error comes back as `Err` with the bad record available from
/// [`ChunkStream::last_record`] (for the reject file); the open chunk is kept and the next
/// call continues, so bad records do not move chunk boundaries. After an I/O error the
/// stream ends.
pub struct ChunkStream<R: Read> {
    reader: RecordReader<R>,
    chunker: Chunker,
    rec: Record,
    batch: RecordBatch,
    spare: Vec<RecordBatch>,
    ready: Option<Chunk>,
    file_index: usize,
    next_seq: u64,
    done: bool,
    header: Option<Vec<String>>,
}

impl<R: Read> ChunkStream<R> {
    /// Validates the limits and reads the header (if the dialect has one); chunks are
    /// numbered from `first_seq`.
    pub fn new(
        mut reader: RecordReader<R>,
        limits: ChunkLimits,
        file_index: usize,
        first_seq: u64,
    ) -> Result<Self> {
        let chunker = Chunker::new(limits)?;
        let header = reader.read_header()?;
        Ok(ChunkStream {
            reader,
            chunker,
            rec: Record::new(),
            batch: RecordBatch::new(),
            spare: Vec::new(),
            ready: None,
            file_index,
            next_seq: first_seq,
            done: false,
            header,
        })
    }

    /// The header's names, if the dialect has a header and the input was not empty.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// The underlying reader (positions, bytes read, expected field count).
    pub fn reader(&self) -> &RecordReader<R> {
        &self.reader
    }

    /// The underlying reader, e.g. to set the expected field count before the first chunk.
    pub fn reader_mut(&mut self) -> &mut RecordReader<R> {
        &mut self.reader
    }

    /// The last record read: after a parse error, the bad one (raw bytes and position).
    pub fn last_record(&self) -> &Record {
        &self.rec
    }

    /// The sequence number the next chunk will get: pass it to the next file's stream.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Gives a consumed chunk's batch back so its buffers are reused.
    pub fn recycle(&mut self, mut batch: RecordBatch) {
        if self.spare.len() < 4 {
            batch.clear();
            self.spare.push(batch);
        }
    }

    fn take(&mut self, oversized: bool) -> Chunk {
        let fresh = self.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, fresh);
        let seq = self.next_seq;
        self.next_seq += 1;
        Chunk {
            seq,
            file_index: self.file_index,
            batch,
            oversized,
        }
    }

    /// The next chunk; `Ok(None)` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if let Some(c) = self.ready.take() {
            return Ok(Some(c));
        }
        while !self.done {
            match self.reader.read_record(&mut self.rec) {
                Err(e) => {
                    if !matches!(e.kind(), ErrorKind::Parse { .. }) {
                        self.done = true;
                        self.batch.clear();
                    }
                    return Err(e);
                }
                Ok(false) => {
                    self.done = true;
                    self.chunker.reset();
                }
                Ok(true) => {
                    let p = self.chunker.place(self.rec.raw().len(), self.rec.len());
                    let before = p.close_before.then(|| self.take(false));
                    self.batch.push(&self.rec);
                    if p.close_after {
                        let after = self.take(p.oversized);
                        return Ok(Some(match before {
                            Some(b) => {
                                self.ready = Some(after);
                                b
                            }
                            None => after,
                        }));
                    }
                    if before.is_some() {
                        return Ok(before);
                    }
                }
            }
        }
        if self.batch.is_empty() {
            Ok(None)
        } else {
            Ok(Some(self.take(false)))
        }
    }
}

impl<R: Read> Iterator for ChunkStream<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Result<Chunk>> {
        self.next_chunk().transpose()
    }
}
