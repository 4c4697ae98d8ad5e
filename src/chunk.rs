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
use crate::source::{Buffers, Mark, Record, RecordReader, Span, MAX_BATCH_BYTES};

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
    /// Raw source bytes per chunk. A load takes its server's default
    /// ([`crate::flavour::Flavour::chunk_defaults`], chosen from a sweep and memory bounds);
    /// `Default` here is 256 KiB, for callers of the chunker alone.
    pub max_bytes: usize,
    /// Records per chunk: a load's default is per server as for the bytes (none on
    /// PostgreSQL, 10 000 on CockroachDB, whose cost is per row); `Default` here is 10 000.
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
        self.within(next)
    }

    /// Whether a chunk of size `next` is within every bound.
    fn within(&self, next: ChunkSize) -> bool {
        next.rows <= self.max_rows
            && next.bytes <= self.max_bytes.min(MAX_BATCH_BYTES)
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
        let mut next = self.cur;
        next.add(raw_len, nfields);
        let fits = self.limits.within(next);
        // Sizes only grow: a record that fits the open chunk fits an empty one.
        let oversized = !fits && self.limits.oversized(raw_len, nfields);
        let close_before = self.cur.rows > 0 && !fits;
        if close_before {
            self.cur = ChunkSize::default();
            self.cur.add(raw_len, nfields);
        } else {
            self.cur = next;
        }
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
    /// Where the record ends in the raw bytes and in the spans (a batch holds less than
    /// 2 GiB: `ChunkLimits::fits`).
    raw_end: u32,
    spans_end: u32,
    /// The record's spans index the raw bytes, else the unescaped values.
    in_raw: bool,
}

/// Many records in a few flat buffers: raw bytes, unescaped values, field spans and
/// positions. Reusable with [`RecordBatch::clear`].
#[derive(Debug, Clone, Default)]
pub struct RecordBatch {
    bufs: Buffers,
    recs: Vec<Meta>,
}

impl RecordBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bufs.clear();
        self.recs.clear();
    }

    /// An empty batch with room for as much as `like` holds: a chunk stream's batches
    /// are all about the same size, so the next one then fills without reallocating
    /// (growing from empty copied each 4 MiB chunk about twice over).
    fn with_capacity_of(like: &RecordBatch) -> Self {
        let mut b = RecordBatch::default();
        b.reserve_like(like);
        b
    }

    /// Makes room for as much as `like` holds and an eighth more (the next chunk is
    /// rarely exactly as large: without slack every other one grew once, copying itself),
    /// in a batch that may have it already (recycled).
    fn reserve_like(&mut self, like: &RecordBatch) {
        fn room<T>(v: &mut Vec<T>, like: usize) {
            v.reserve((like + like / 8).saturating_sub(v.len()));
        }
        room(&mut self.bufs.raw, like.bufs.raw.len());
        room(&mut self.bufs.data, like.bufs.data.len());
        room(&mut self.bufs.spans, like.bufs.spans.len());
        room(&mut self.recs, like.recs.len());
    }

    /// Appends a copy of `rec`.
    pub fn push(&mut self, rec: &Record) {
        self.bufs
            .append_tail(&rec.bufs, Mark::default(), rec.in_raw);
        self.close_record(rec.position(), rec.in_raw);
    }

    /// Makes what was appended to the buffers since the last record a record at `pos`.
    fn close_record(&mut self, pos: Position, in_raw: bool) {
        self.recs.push(Meta {
            pos,
            raw_end: self.bufs.raw.len() as u32,
            spans_end: self.bufs.spans.len() as u32,
            in_raw,
        });
    }

    /// Frees the unescaped values and field spans, keeping raw bytes and positions: once
    /// a chunk is encoded, its writer needs only those (reject file, ledger), and a chunk
    /// waiting for a connection then holds about half the memory. Afterwards
    /// [`RecordRef::field`] must not be called.
    pub fn drop_fields(&mut self) {
        self.bufs.data = Vec::new();
        self.bufs.spans = Vec::new();
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
        self.bufs.raw.len()
    }

    /// All records' raw bytes, concatenated as in the input: an IMPORT shard as is.
    pub fn raw(&self) -> &[u8] {
        &self.bufs.raw
    }

    /// Record `i`. Panics if `i >= len()`, like indexing.
    pub fn record(&self, i: usize) -> RecordRef<'_> {
        assert!(
            i < self.recs.len(),
            "record {i} of a batch of {}",
            self.len()
        );
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
            i => self.batch.recs[i - 1].spans_end as usize,
        };
        &self.batch.bufs.spans[start..self.meta().spans_end as usize]
    }

    fn values(&self) -> &'a [u8] {
        self.batch.bufs.values(self.meta().in_raw)
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
        self.spans()[j].get(self.values())
    }

    /// The fields picked by `proj` (field indexes), in that order; `None` is NULL. The
    /// record's spans are looked up once, not once per field.
    pub fn project<'p>(&self, proj: &'p [usize]) -> impl Iterator<Item = Option<&'a [u8]>> + 'p
    where
        'a: 'p,
    {
        let (spans, values) = (self.spans(), self.values());
        proj.iter().map(move |&j| spans[j].get(values))
    }

    /// All fields in order; `None` is NULL.
    pub fn fields(&self) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
        let values = self.values();
        self.spans().iter().map(move |&s| s.get(values))
    }

    /// The record's bytes as in the input, terminator included.
    pub fn raw(&self) -> &'a [u8] {
        let start = match self.i {
            0 => 0,
            i => self.batch.recs[i - 1].raw_end as usize,
        };
        &self.batch.bufs.raw[start..self.meta().raw_end as usize]
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

/// Walks increasing record offsets against sorted covered ranges: whether each record
/// lies inside one. Records come in input order, so one pass suffices.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    ranges: Vec<(u64, u64)>,
    at: usize,
}

impl Coverage {
    /// Coverage of sorted, disjoint `ranges` (as `ledger::Committed::covered` returns them).
    pub fn new(ranges: Vec<(u64, u64)>) -> Coverage {
        Coverage { ranges, at: 0 }
    }

    /// Whether the record at bytes `start .. end` is covered; call with increasing `start`.
    pub fn covers(&mut self, start: u64, end: u64) -> bool {
        while self.at < self.ranges.len() && self.ranges[self.at].1 <= start {
            self.at += 1;
        }
        self.ranges
            .get(self.at)
            .is_some_and(|&(s, e)| s <= start && end <= e)
    }

    /// No range left at or after the last record asked about.
    pub fn exhausted(&self) -> bool {
        self.at >= self.ranges.len()
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
    ready: Option<Chunk>,
    file_index: usize,
    next_seq: u64,
    done: bool,
    header: Option<Vec<String>>,
    coverage: Coverage,
    skipped: u64,
    pool: Option<crossbeam_channel::Receiver<RecordBatch>>,
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
            ready: None,
            file_index,
            next_seq: first_seq,
            done: false,
            header,
            coverage: Coverage::default(),
            skipped: 0,
            pool: None,
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

    /// After a parse error, the bad record (raw bytes and position); good records go
    /// straight into their chunk and never pass through here.
    pub fn last_record(&self) -> &Record {
        &self.rec
    }

    /// Skips the records inside `coverage` (what earlier runs committed): they never
    /// reach a chunk, and a chunk never spans a skipped record, so its bytes stay one
    /// contiguous range.
    pub fn skip_covered(&mut self, coverage: Coverage) {
        self.coverage = coverage;
    }

    /// Whether `rec` lies in the covered bytes (see [`ChunkStream::skip_covered`]).
    pub fn is_covered(&mut self, rec: &Record) -> bool {
        let start = rec.position().byte;
        self.coverage.covers(start, start + rec.raw().len() as u64)
    }

    /// Records skipped as covered.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The sequence number the next chunk will get: pass it to the next file's stream.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Takes the next batches from `pool` (batches of chunks done with) instead of
    /// allocating them.
    pub fn recycle_from(&mut self, pool: crossbeam_channel::Receiver<RecordBatch>) {
        self.pool = Some(pool);
    }

    /// Closes the open chunk. With `tail`, the record appended after that mark (just
    /// read) stays out of it and opens the next one instead.
    fn take(&mut self, oversized: bool, tail: Option<(Mark, bool)>) -> Chunk {
        // After a lone oversized record, start small again.
        let recycled = match oversized {
            true => None,
            false => self.pool.as_ref().and_then(|p| p.try_recv().ok()),
        };
        let fresh = match recycled {
            Some(mut b) => {
                b.clear();
                b.reserve_like(&self.batch);
                b
            }
            None if oversized => RecordBatch::default(),
            None => RecordBatch::with_capacity_of(&self.batch),
        };
        let mut fresh = fresh;
        if let Some((m, in_raw)) = tail {
            fresh.bufs.append_tail(&self.batch.bufs, m, in_raw);
            self.batch.bufs.truncate(m);
        }
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
            // The record is read straight into the open chunk's buffers.
            let mark = self.batch.bufs.mark();
            let (mut pos, mut in_raw) = (Position::default(), true);
            match self
                .reader
                .read_fields(&mut self.batch.bufs, &mut pos, &mut in_raw)
            {
                Err(e) => {
                    if matches!(e.kind(), ErrorKind::Parse { .. }) {
                        // The bad record leaves the chunk, for the reject file.
                        self.rec.bufs.clear();
                        self.rec.bufs.append_tail(&self.batch.bufs, mark, in_raw);
                        self.rec.pos = pos;
                        self.rec.in_raw = in_raw;
                        self.batch.bufs.truncate(mark);
                    } else {
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
                    let raw_len = self.batch.bufs.raw.len() - mark.raw;
                    let nfields = self.batch.bufs.spans.len() - mark.spans;
                    if self.coverage.covers(pos.byte, pos.byte + raw_len as u64) {
                        self.batch.bufs.truncate(mark);
                        self.skipped += 1;
                        if !self.batch.is_empty() {
                            self.chunker.reset();
                            return Ok(Some(self.take(false, None)));
                        }
                        continue;
                    }
                    let p = self.chunker.place(raw_len, nfields);
                    let before = p
                        .close_before
                        .then(|| self.take(false, Some((mark, in_raw))));
                    self.batch.close_record(pos, in_raw);
                    if p.close_after {
                        let after = self.take(p.oversized, None);
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
            Ok(Some(self.take(false, None)))
        }
    }
}

impl<R: Read> Iterator for ChunkStream<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Result<Chunk>> {
        self.next_chunk().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Dialect, DEFAULT_BUFFER_SIZE};
    use proptest::prelude::*;

    fn limits(
        max_bytes: usize,
        max_rows: usize,
        max_params: usize,
        max_message: usize,
    ) -> ChunkLimits {
        ChunkLimits {
            max_bytes,
            max_rows,
            max_params,
            max_message,
        }
    }

    fn stream(
        input: &'static [u8],
        l: ChunkLimits,
        has_header: bool,
    ) -> ChunkStream<&'static [u8]> {
        let d = Dialect {
            has_header,
            ..Dialect::default()
        };
        ChunkStream::new(RecordReader::new("t.csv", input, d), l, 0, 0).unwrap()
    }

    #[test]
    fn coverage_covers_records_inside_the_ranges_only() {
        let mut c = Coverage::new(vec![(0, 80), (100, 200)]);
        assert!(c.covers(0, 10));
        assert!(c.covers(70, 80));
        assert!(!c.covers(80, 100), "the gap is sent");
        assert!(
            !c.covers(90, 110),
            "a record straddling a range is not covered"
        );
        assert!(c.covers(100, 150));
        assert!(c.covers(150, 200));
        assert!(!c.covers(200, 210));
        assert!(c.exhausted());
    }

    #[test]
    fn drop_fields_keeps_raw_bytes_and_positions() {
        let mut s = stream(b"a,b\n1,\"x\"\"y\"\n2,z\n", ChunkLimits::default(), true);
        let mut c = s.next_chunk().unwrap().unwrap();
        assert_eq!(c.batch.record(0).field(1), Some(&b"x\"y"[..]));
        c.batch.drop_fields();
        assert_eq!(c.rows(), 2);
        assert_eq!(c.batch.record(0).raw(), b"1,\"x\"\"y\"\n");
        assert_eq!(c.batch.record(1).position().line, 3);
        assert_eq!(c.bytes(), 13);
    }

    fn size_of(c: &Chunk) -> ChunkSize {
        let mut s = ChunkSize::default();
        for r in c.batch.iter() {
            s.add(r.raw().len(), r.len());
        }
        s
    }

    #[test]
    fn batches_close_before_a_gibibyte_whatever_the_limits() {
        // Field spans are u32 offsets into a batch.
        let l = limits(usize::MAX, usize::MAX, usize::MAX, usize::MAX);
        let cur = ChunkSize {
            rows: 1,
            bytes: MAX_BATCH_BYTES - 10,
            params: 1,
            message: 0,
        };
        assert!(l.fits(cur, 10, 1));
        assert!(!l.fits(cur, 11, 1));
    }

    #[test]
    fn zero_limits_are_usage_errors() {
        assert!(ChunkLimits::default().validate().is_ok());
        for l in [
            limits(0, 1, 1, 1),
            limits(1, 0, 1, 1),
            limits(1, 1, 0, 1),
            limits(1, 1, 1, 0),
        ] {
            let e = Chunker::new(l).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{l:?}");
        }
    }

    #[test]
    fn message_estimate_bounds_binary_growth() {
        assert_eq!(ChunkLimits::message_estimate(10, 2), 10 + 48 + 16);
        // 100 one-character int8 fields: 200 raw bytes, 1 200 bytes of binary COPY
        // (8-byte value + 4-byte length each) plus the tuple header.
        assert!(ChunkLimits::message_estimate(200, 100) >= 100 * 12 + 2);
    }

    #[test]
    fn chunker_closes_before_a_record_that_would_pass_a_bound() {
        let mut c = Chunker::new(limits(10, 100, 100, 1000)).unwrap();
        let open = Placement {
            close_before: false,
            close_after: false,
            oversized: false,
        };
        assert_eq!(c.place(4, 1), open);
        assert_eq!(c.place(4, 1), open);
        assert_eq!(c.current().bytes, 8);
        // 8 + 4 > 10: close first.
        assert_eq!(
            c.place(4, 1),
            Placement {
                close_before: true,
                ..open
            }
        );
        assert_eq!(c.current().bytes, 4);
        // Exactly at the bound is fine.
        assert_eq!(c.place(6, 1), open);
        // A record alone over the bound: close the open chunk, then it goes alone.
        assert_eq!(
            c.place(11, 1),
            Placement {
                close_before: true,
                close_after: true,
                oversized: true
            }
        );
        assert_eq!(c.current(), ChunkSize::default());
        assert_eq!(
            c.place(11, 1),
            Placement {
                close_before: false,
                close_after: true,
                oversized: true
            }
        );
    }

    #[test]
    fn chunker_closes_when_rows_or_params_are_full() {
        let mut c = Chunker::new(limits(1000, 2, 1000, 100_000)).unwrap();
        assert!(!c.place(1, 1).close_after);
        assert!(c.place(1, 1).close_after);
        assert_eq!(c.current(), ChunkSize::default());
        let mut c = Chunker::new(limits(1000, 1000, 7, 100_000)).unwrap();
        assert!(!c.place(1, 3).close_before);
        assert!(!c.place(1, 3).close_before);
        let p = c.place(1, 3);
        assert!(p.close_before && !p.oversized);
        assert!(c.place(1, 8).oversized);
    }

    #[test]
    fn header_is_read_once_not_per_chunk() {
        let mut s = stream(b"id\n1\n2\n3\n", limits(1000, 1, 1000, 100_000), true);
        assert_eq!(s.header(), Some(&["id".to_string()][..]));
        let chunks: Vec<Chunk> = s.by_ref().map(|c| c.unwrap()).collect();
        let firsts: Vec<&[u8]> = chunks
            .iter()
            .map(|c| c.batch.record(0).field(0).unwrap())
            .collect();
        assert_eq!(firsts, vec![&b"1"[..], b"2", b"3"]);
        assert_eq!(
            chunks.iter().map(|c| c.seq).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(chunks[2].first_line(), 4);
        assert_eq!(s.next_seq(), 3);
        assert!(s.next().is_none());
    }

    #[test]
    fn oversized_record_goes_alone_and_is_flagged() {
        let mut s = stream(
            b"a\nb\n0123456789\nc\n",
            limits(4, 100, 100, 100_000),
            false,
        );
        let got: Vec<(usize, bool, u64, u64)> = s
            .by_ref()
            .map(|c| {
                let c = c.unwrap();
                (c.rows(), c.oversized, c.first_line(), c.last_line())
            })
            .collect();
        assert_eq!(
            got,
            vec![(2, false, 1, 2), (1, true, 3, 3), (1, false, 4, 4)]
        );
    }

    #[test]
    fn parse_errors_do_not_move_chunk_boundaries() {
        let mut s = stream(
            b"a,b\n1,2\n3\n4,5\n6,7\n",
            limits(1000, 2, 1000, 100_000),
            true,
        );
        let e = s.next_chunk().unwrap_err();
        assert!(e.to_string().contains("expected 2 fields, found 1"), "{e}");
        assert_eq!(s.last_record().raw(), b"3\n");
        let c = s.next_chunk().unwrap().unwrap();
        let rows: Vec<&[u8]> = c.batch.iter().map(|r| r.raw()).collect();
        assert_eq!(rows, vec![&b"1,2\n"[..], b"4,5\n"]);
        let c2 = s.next_chunk().unwrap().unwrap();
        assert_eq!((c2.seq, c2.rows(), c2.first_line()), (1, 1, 5));
        assert!(s.next_chunk().unwrap().is_none());
    }

    #[test]
    fn seq_continues_across_files() {
        let d = Dialect::default();
        let l = limits(1000, 1, 1000, 100_000);
        let mut a = ChunkStream::new(
            RecordReader::new("a", &b"h\n1\n2\n"[..], d.clone()),
            l,
            0,
            0,
        )
        .unwrap();
        let n = a.by_ref().count();
        let mut b = ChunkStream::new(
            RecordReader::new("b", &b"h\n3\n"[..], d),
            l,
            1,
            a.next_seq(),
        )
        .unwrap();
        let c = b.next_chunk().unwrap().unwrap();
        assert_eq!((n, c.seq, c.file_index), (2, 2, 1));
    }

    #[test]
    fn io_error_ends_the_stream() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                buf[..2].copy_from_slice(b"1\n");
                Ok(2)
            }
        }
        let d = Dialect {
            has_header: false,
            ..Dialect::default()
        };
        let r = RecordReader::with_buffer_size("b.csv", Broken(3), d, 16);
        let mut s = ChunkStream::new(r, ChunkLimits::default(), 0, 0).unwrap();
        let e = s.next().unwrap().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Io { path, .. } if path == "b.csv"));
        assert!(s.next().is_none());
    }

    // ---- property test: random CSV text, parsed and chunked ----

    #[derive(Debug, Clone)]
    struct Case {
        dialect: Dialect,
        eol: &'static str,
        bom: bool,
        junk: Vec<String>,
        header: Option<Vec<String>>,
        /// Values and whether to quote them even when not needed.
        rows: Vec<Vec<(Option<String>, bool)>>,
        final_eol: bool,
        limits: ChunkLimits,
        buf: usize,
    }

    fn value() -> impl Strategy<Value = String> {
        let chars = vec![
            'a', 'b', 'N', 'A', ' ', ',', ';', '|', '\t', '"', '\'', '\\', '\r', '\n', 'é', '😀',
        ];
        prop::collection::vec(prop::sample::select(chars), 0..6)
            .prop_map(|v| v.into_iter().collect())
    }

    fn case() -> impl Strategy<Value = Case> {
        let dialect = (
            prop::sample::select(vec![b',', b';', b'\t', b'|']),
            prop::sample::select(vec![b'"', b'\'']),
            any::<bool>(),
            prop::sample::select(vec!["", "NA", "\\N"]),
        )
            .prop_map(|(delimiter, quote, backslash, null)| Dialect {
                delimiter,
                quote,
                escape: if backslash { b'\\' } else { quote },
                has_header: false,
                skip_lines: 0,
                null: null.as_bytes().to_vec(),
                encoding: None,
            });
        (1usize..5).prop_flat_map(move |ncols| {
            let field = (prop::option::weighted(0.8, value()), any::<bool>());
            (
                dialect.clone(),
                prop::sample::select(vec!["\n", "\r\n", "\r"]),
                any::<bool>(),
                prop::collection::vec("[^\n]{0,8}", 0..3),
                prop::option::of(prop::collection::vec(value(), ncols)),
                prop::collection::vec(prop::collection::vec(field, ncols), 0..40),
                any::<bool>(),
                (1usize..400, 1usize..20, 1usize..60, 1usize..1000),
                prop::sample::select(vec![1usize, 2, 3, 7, 64, DEFAULT_BUFFER_SIZE]),
            )
                .prop_map(
                    |(mut dialect, eol, bom, junk, header, rows, final_eol, l, buf)| {
                        dialect.has_header = header.is_some();
                        dialect.skip_lines = junk.len() as u64;
                        Case {
                            dialect,
                            eol,
                            bom,
                            junk,
                            header,
                            rows,
                            final_eol,
                            limits: limits(l.0, l.1, l.2, l.3),
                            buf,
                        }
                    },
                )
        })
    }

    fn encode_field(v: &Option<String>, force_quote: bool, d: &Dialect, out: &mut Vec<u8>) {
        let Some(v) = v else {
            out.extend_from_slice(&d.null);
            return;
        };
        let b = v.as_bytes();
        let needs = (b.is_empty() && d.null.is_empty())
            || b == d.null.as_slice()
            || b.iter()
                .any(|&c| c == d.delimiter || c == d.quote || c == b'\r' || c == b'\n');
        if !needs && !force_quote {
            out.extend_from_slice(b);
            return;
        }
        out.push(d.quote);
        for &c in b {
            if c == d.quote || c == d.escape {
                out.push(d.escape);
            }
            out.push(c);
        }
        out.push(d.quote);
    }

    fn encode_row(row: &[(Option<String>, bool)], d: &Dialect, out: &mut Vec<u8>) {
        for (i, (v, q)) in row.iter().enumerate() {
            if i > 0 {
                out.push(d.delimiter);
            }
            encode_field(v, *q, d, out);
        }
    }

    /// The CSV text and the offset where data starts (after BOM, junk and header).
    fn render(c: &Case) -> (Vec<u8>, usize, usize) {
        let d = &c.dialect;
        let mut out = Vec::new();
        if c.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        for j in &c.junk {
            out.extend_from_slice(j.as_bytes());
            out.push(b'\n');
        }
        let skip_end = out.len();
        if let Some(h) = &c.header {
            let row: Vec<(Option<String>, bool)> =
                h.iter().map(|n| (Some(n.clone()), false)).collect();
            encode_row(&row, d, &mut out);
            out.extend_from_slice(c.eol.as_bytes());
        }
        let data_start = out.len();
        for (i, row) in c.rows.iter().enumerate() {
            let before = out.len();
            encode_row(row, d, &mut out);
            let last = i + 1 == c.rows.len();
            // A blank last line without terminator would be no record at all.
            if !last || c.final_eol || out.len() == before {
                out.extend_from_slice(c.eol.as_bytes());
            }
        }
        (out, skip_end, data_start)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn parse_and_chunk_roundtrip(c in case()) {
            let (input, skip_end, data_start) = render(&c);
            let reader = RecordReader::with_buffer_size("p.csv", &input[..], c.dialect.clone(), c.buf);
            let mut s = ChunkStream::new(reader, c.limits, 3, 10).unwrap();
            prop_assert_eq!(s.header().map(<[String]>::to_vec), c.header.clone());
            let chunks: Vec<Chunk> = s.by_ref().collect::<Result<_>>().unwrap();

            let mut got_rows: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
            let mut raw = Vec::new();
            let mut prev: Option<&Chunk> = None;
            let eol_char = if c.eol == "\r" { b'\r' } else { b'\n' };
            for (k, ch) in chunks.iter().enumerate() {
                prop_assert_eq!(ch.seq, 10 + k as u64);
                prop_assert_eq!(ch.file_index, 3);
                prop_assert!(ch.rows() > 0, "empty chunk");
                let size = size_of(ch);
                prop_assert_eq!(size.bytes, ch.bytes());
                if ch.oversized {
                    let r = ch.batch.record(0);
                    prop_assert_eq!(ch.rows(), 1);
                    prop_assert!(c.limits.oversized(r.raw().len(), r.len()));
                } else {
                    prop_assert!(size.rows <= c.limits.max_rows);
                    prop_assert!(size.bytes <= c.limits.max_bytes);
                    prop_assert!(size.params <= c.limits.max_params);
                    prop_assert!(size.message <= c.limits.max_message);
                }
                // Greedy: the previous chunk closed only because this record did not fit.
                if let Some(p) = prev {
                    if !p.oversized {
                        let r = ch.batch.record(0);
                        prop_assert!(!c.limits.fits(size_of(p), r.raw().len(), r.len()));
                    }
                }
                prev = Some(ch);
                for r in ch.batch.iter() {
                    let pos = r.position();
                    prop_assert_eq!(pos.byte as usize, data_start + raw.len());
                    prop_assert_eq!(pos.record as usize, got_rows.len() + 1);
                    let line = 1
                        + input[..skip_end].iter().filter(|&&b| b == b'\n').count()
                        + input[skip_end..pos.byte as usize].iter().filter(|&&b| b == eol_char).count();
                    prop_assert_eq!(pos.line as usize, line);
                    raw.extend_from_slice(r.raw());
                    got_rows.push(r.fields().map(|f| f.map(<[u8]>::to_vec)).collect());
                }
            }
            let want: Vec<Vec<Option<Vec<u8>>>> = c
                .rows
                .iter()
                .map(|row| row.iter().map(|(v, _)| v.clone().map(String::into_bytes)).collect())
                .collect();
            prop_assert_eq!(got_rows, want);
            prop_assert_eq!(&raw[..], &input[data_start..]);
        }
    }
}
