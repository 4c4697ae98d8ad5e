//! The buffered record reader: refills, BOM and skipped lines, header, field counts,
//! positions, and each record's raw bytes and byte offset (for rejects and IMPORT shards).

use std::io::{self, Read};

use memchr::memchr;

use super::fields::{Buffers, Mark, MAX_RECORD_BYTES};
use super::scan::{count_byte, split_plain, split_quoted, Eol, Scan, Scanner, Step};
use super::Dialect;
use crate::error::{Error, ErrorKind, Location, Position, Result};

/// Default size of the read buffer: large reads, small enough to stay in L2 cache.
pub const DEFAULT_BUFFER_SIZE: usize = 256 * 1024;

/// The UTF-8 byte order mark, skipped at the start of an input.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One record, reused from read to read so that reading allocates nothing per record.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Raw bytes (terminator included), unescaped values, spans.
    pub(crate) bufs: Buffers,
    pub(crate) pos: Position,
    /// The spans index the raw bytes, else the unescaped values.
    pub(crate) in_raw: bool,
}

impl Record {
    /// An empty record to pass to [`RecordReader::read_record`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.bufs.spans.len()
    }

    /// True when the record has no field (only after a failed read).
    pub fn is_empty(&self) -> bool {
        self.bufs.spans.is_empty()
    }

    /// Field `i`, unescaped; `None` is SQL NULL. Panics if `i >= len()`, like indexing.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.bufs.spans[i].get(self.bufs.values(self.in_raw))
    }

    /// Whether field `i` is NULL. Panics if `i >= len()`.
    pub fn is_null(&self, i: usize) -> bool {
        self.bufs.spans[i].is_null()
    }

    /// All fields in order; `None` is NULL.
    pub fn fields(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        let values = self.bufs.values(self.in_raw);
        self.bufs.spans.iter().map(move |&s| s.get(values))
    }

    /// The record's bytes exactly as in the input, line terminator included: what a
    /// reject file or an IMPORT shard must contain.
    pub fn raw(&self) -> &[u8] {
        &self.bufs.raw
    }

    /// Where the record starts in its input.
    pub fn position(&self) -> Position {
        self.pos
    }
}

enum Got {
    Eof,
    Ok,
    Bad(Error),
}

/// Reads PostgreSQL-CSV records from any byte stream in bounded memory.
///
/// After a [`ErrorKind::Parse`] error the bad record has been consumed and the
/// [`Record`] passed in holds its raw bytes and position, so the caller may write it to a
/// reject file and keep reading. I/O errors are final.
pub struct RecordReader<R: Read> {
    name: String,
    rdr: R,
    dialect: Dialect,
    buf: Vec<u8>,
    init_cap: usize,
    /// Unconsumed bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    /// Absolute input offset of `buf[0]`.
    base: u64,
    eof: bool,
    started: bool,
    scanner: Scanner,
    /// Line on which the next record starts.
    line: u64,
    /// Data records consumed so far.
    record: u64,
    expected: Option<usize>,
    header_done: bool,
    header: Option<Vec<String>>,
    /// Longer records are errors ([`MAX_RECORD_BYTES`]; smaller in tests).
    max_record: usize,
}

impl<R: Read> RecordReader<R> {
    /// A reader named `name` (used in error messages; `-` for stdin).
    pub fn new(name: &str, rdr: R, dialect: Dialect) -> Self {
        Self::with_buffer_size(name, rdr, dialect, DEFAULT_BUFFER_SIZE)
    }

    /// Like [`RecordReader::new`] with another buffer size; tiny sizes exercise refills
    /// in tests.
    pub fn with_buffer_size(name: &str, rdr: R, dialect: Dialect, size: usize) -> Self {
        let size = size.max(1);
        let scanner = Scanner::new(dialect.quote, dialect.escape);
        RecordReader {
            name: name.to_string(),
            rdr,
            dialect,
            buf: vec![0; size],
            init_cap: size,
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            started: false,
            scanner,
            line: 1,
            record: 0,
            expected: None,
            header_done: false,
            header: None,
            max_record: MAX_RECORD_BYTES,
        }
    }

    /// The input's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dialect in use.
    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// Decompressed bytes consumed so far (BOM, skipped lines and header included).
    pub fn bytes_read(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Data records consumed so far, bad ones included.
    pub fn records_read(&self) -> u64 {
        self.record
    }

    /// The number of fields every data record must have, once known.
    pub fn expected_fields(&self) -> Option<usize> {
        self.expected
    }

    /// Sets the number of fields every data record must have. Without it, the header's
    /// field count applies, or else the first record's.
    pub fn set_expected_fields(&mut self, n: usize) {
        self.expected = Some(n);
    }

    /// Reads the header once, if the dialect has one: later calls return the same names
    /// without reading. `Ok(None)` when there is no header option or the input is empty.
    /// [`RecordReader::read_record`] reads it first if nobody did, so the header can never
    /// come back as data.
    pub fn read_header(&mut self) -> Result<Option<Vec<String>>> {
        if !self.dialect.has_header {
            return Ok(None);
        }
        if self.header_done {
            return Ok(self.header.clone());
        }
        self.start()?;
        self.header_done = true;
        let mut rec = Record::new();
        match self.read_raw(&mut rec.bufs, 0, &mut rec.pos, &mut rec.in_raw)? {
            Got::Eof => Ok(None),
            Got::Bad(e) => Err(e),
            Got::Ok => {
                let names: Vec<String> = rec
                    .fields()
                    .map(|f| String::from_utf8_lossy(f.unwrap_or_default()).into_owned())
                    .collect();
                if self.expected.is_none() {
                    self.expected = Some(names.len());
                }
                self.header = Some(names.clone());
                Ok(Some(names))
            }
        }
    }

    /// Skips the BOM, the lines to skip and the header (each once); returns the offset
    /// where the data records start.
    pub fn skip_preamble(&mut self) -> Result<u64> {
        self.start()?;
        self.read_header()?;
        Ok(self.bytes_read())
    }

    /// Goes on reading from `rdr`, which yields the input from offset `byte` on: a record
    /// boundary, where line `line` starts after `record` data records. A resumed load
    /// skips what an earlier run committed this way without reading it. Dialect, header
    /// and field count stay; call after [`RecordReader::skip_preamble`], before any data
    /// record.
    pub fn resume_at(&mut self, rdr: R, byte: u64, line: u64, record: u64) {
        self.rdr = rdr;
        self.pos = 0;
        self.end = 0;
        self.base = byte;
        self.eof = false;
        self.line = line;
        self.record = record;
    }

    /// Reads the next data record into `rec`; `Ok(false)` at the end of the input.
    pub fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        rec.bufs.clear();
        self.read_fields(&mut rec.bufs, &mut rec.pos, &mut rec.in_raw)
    }

    /// Reads the next data record and appends it to `out`, its spans indexing `out`'s
    /// raw bytes (`in_raw` set) or unescaped values, and sets `pos` to its position: a
    /// chunk's records are read in place, not copied there from a [`Record`].
    /// `Ok(false)` at the end of the input. After a [`ErrorKind::Parse`] error the bad
    /// record has been consumed and appended too.
    pub(crate) fn read_fields(
        &mut self,
        out: &mut Buffers,
        pos: &mut Position,
        in_raw: &mut bool,
    ) -> Result<bool> {
        self.start()?;
        if self.dialect.has_header && !self.header_done {
            self.read_header()?;
        }
        let number = self.record + 1;
        let mark = out.mark();
        match self.read_raw(out, number, pos, in_raw)? {
            Got::Eof => Ok(false),
            Got::Bad(e) => {
                self.record = number;
                Err(e)
            }
            Got::Ok => {
                self.record = number;
                let found = out.spans.len() - mark.spans;
                match self.expected {
                    None => self.expected = Some(found),
                    Some(want) if want != found => {
                        return Err(self.count_error(&out.raw[mark.raw..], *pos, found, want))
                    }
                    Some(_) => {}
                }
                Ok(true)
            }
        }
    }

    fn count_error(&self, raw: &[u8], pos: Position, found: usize, want: usize) -> Error {
        let blank = raw.iter().all(|&b| b == b'\n' || b == b'\r');
        let column = if found < want {
            self.header.as_ref().and_then(|h| h.get(found).cloned())
        } else {
            None
        };
        let msg = format!(
            "expected {want} fields, found {found}{}",
            if blank { " (blank line)" } else { "" }
        );
        ErrorKind::Parse {
            loc: Location {
                file: self.name.clone(),
                pos,
                column,
            },
            msg,
        }
        .into()
    }

    fn parse_error(&self, pos: Position, msg: String) -> Error {
        ErrorKind::Parse {
            loc: Location {
                file: self.name.clone(),
                pos,
                column: None,
            },
            msg,
        }
        .into()
    }

    /// Validates the dialect, skips the BOM and the lines to skip, once.
    #[inline]
    fn start(&mut self) -> Result<()> {
        match self.started {
            true => Ok(()),
            false => self.start_once(),
        }
    }

    fn start_once(&mut self) -> Result<()> {
        self.dialect.validate()?;
        self.started = true;
        while self.end - self.pos < BOM.len() && self.fill()? {}
        if self.buf[self.pos..self.end].starts_with(BOM) {
            self.pos += BOM.len();
        }
        for _ in 0..self.dialect.skip_lines {
            loop {
                match memchr(b'\n', &self.buf[self.pos..self.end]) {
                    Some(k) => {
                        self.pos += k + 1;
                        self.line += 1;
                        break;
                    }
                    None => {
                        self.pos = self.end;
                        if !self.fill()? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads more input after `buf[pos..end]`, moving the unconsumed bytes to the front
    /// first and growing the buffer only when one record fills it. `Ok(false)` at EOF.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if self.buf.len() > self.init_cap && self.end < self.init_cap / 2 {
                // A huge record is gone: give its memory back.
                self.buf.truncate(self.init_cap);
                self.buf.shrink_to_fit();
            }
        }
        if self.end == self.buf.len() {
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        loop {
            match self.rdr.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(self.name.clone(), e)),
            }
        }
    }

    /// Finds the end of the next record, reading more input as the scanner asks;
    /// `None` at a clean EOF.
    fn scan(&mut self) -> Result<Option<Scan>> {
        loop {
            match self.scanner.scan(&self.buf[self.pos..self.end], self.eof) {
                Step::Record(s) => return Ok(Some(s)),
                Step::End => return Ok(None),
                Step::More => {
                    self.fill()?;
                }
            }
        }
    }

    /// Reads one record (header or data), appending it to `out`, without the field-count
    /// check; sets `pos` and `in_raw` unless at the end.
    fn read_raw(
        &mut self,
        out: &mut Buffers,
        number: u64,
        pos: &mut Position,
        in_raw: &mut bool,
    ) -> Result<Got> {
        let byte = self.bytes_read();
        let mark = out.mark();
        let base = mark.raw;
        let unread = &self.buf[self.pos..self.end];
        if let Some(line) =
            self.scanner
                .line(unread, &self.dialect, base, &mut out.spans, &mut out.data)
        {
            // The common record, scanned and split in one pass.
            let raw = line.content + 1;
            *pos = Position {
                line: self.line,
                byte,
                record: number,
            };
            out.raw.extend_from_slice(&unread[..raw]);
            *in_raw = line.in_raw;
            self.pos += raw;
            self.line += 1 + line.newlines;
            if raw > self.max_record {
                out.truncate(Mark {
                    raw: base + raw,
                    ..mark
                });
                return Ok(Got::Bad(self.too_long(*pos, raw)));
            }
            if line.ascii {
                return Ok(Got::Ok);
            }
            return Ok(self.check_utf8(&out.raw[base..], *pos));
        }
        // The one-pass split may have appended some fields before it gave up.
        out.truncate(mark);
        let Some(scan) = self.scan()? else {
            return Ok(Got::Eof);
        };
        *pos = Position {
            line: self.line,
            byte,
            record: number,
        };
        *in_raw = !scan.saw_quote;
        out.raw
            .extend_from_slice(&self.buf[self.pos..self.pos + scan.raw]);
        self.pos += scan.raw;
        let raw = &out.raw[base..];
        let eol_char = if self.scanner.eol() == Eol::Cr {
            b'\r'
        } else {
            b'\n'
        };
        self.line += if scan.saw_quote {
            count_byte(eol_char, raw)
        } else {
            u64::from(scan.raw > scan.content)
        };

        if let Some(q) = scan.unterminated {
            let qline = pos.line + count_byte(eol_char, &raw[..q]);
            return Ok(Got::Bad(self.parse_error(
                *pos,
                format!(
                    "unterminated quoted field: the quote opened on line {qline} (byte {}) \
                     is never closed",
                    byte + q as u64
                ),
            )));
        }
        if scan.raw > self.max_record {
            return Ok(Got::Bad(self.too_long(*pos, scan.raw)));
        }
        let d = &self.dialect;
        let line = &out.raw[base..base + scan.content];
        if scan.saw_quote {
            split_quoted(line, d, &mut out.data, &mut out.spans);
        } else {
            split_plain(line, d, base, &mut out.spans);
        }
        if let Some(msg) = scan.eol_err {
            return Ok(Got::Bad(self.parse_error(*pos, msg.to_string())));
        }
        // `is_ascii` first: much cheaper than `from_utf8` on short, mostly ASCII records.
        let raw = &out.raw[base..];
        if raw.is_ascii() {
            return Ok(Got::Ok);
        }
        Ok(self.check_utf8(raw, *pos))
    }

    fn too_long(&self, pos: Position, len: usize) -> Error {
        self.parse_error(
            pos,
            format!(
                "record of {len} bytes: longer than {} bytes, the most PostgreSQL's COPY \
                 takes in one line",
                self.max_record
            ),
        )
    }

    fn check_utf8(&self, raw: &[u8], pos: Position) -> Got {
        if let Err(e) = std::str::from_utf8(raw) {
            return Got::Bad(self.parse_error(
                pos,
                format!(
                    "invalid UTF-8 at byte {}{}",
                    pos.byte + e.valid_up_to() as u64,
                    match compressed_hint(pos.byte, raw) {
                        "" => not_utf8_hint(&raw[e.valid_up_to()..]),
                        hint => hint.to_string(),
                    }
                ),
            ));
        }
        Got::Ok
    }
}

/// Advice when the bytes are in another encoding: its name, as `--encoding` takes it.
fn not_utf8_hint(bad: &[u8]) -> String {
    format!(
        ": the file is not UTF-8 (byte 0x{:02x}); it looks like {}: name its encoding with \
         --encoding NAME",
        bad.first().copied().unwrap_or(0),
        super::encoding::guess(bad)
    )
}

/// Advice when a compressed stream is read as text (`--compression none`): the magic
/// number says which `--compression` it needs.
fn compressed_hint(byte: u64, raw: &[u8]) -> &'static str {
    match raw {
        [0x1f, 0x8b, ..] if byte == 0 => {
            "; the input is gzip-compressed: pass --compression gzip (nothing was committed)"
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] if byte == 0 => {
            "; the input is zstd-compressed: pass --compression zstd (nothing was committed)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::open_input;
    use std::io::Write;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    type Fields = Vec<Option<Vec<u8>>>;
    type Summary = (Option<Vec<String>>, Vec<(Fields, Position, Vec<u8>)>);

    fn dialect(has_header: bool) -> Dialect {
        Dialect {
            has_header,
            ..Dialect::default()
        }
    }

    fn owned(rec: &Record) -> Fields {
        rec.fields().map(|f| f.map(<[u8]>::to_vec)).collect()
    }

    /// Reads everything with several buffer sizes (refills at every possible place) and
    /// checks they agree; returns header and records, or the first error.
    fn read_all(input: &[u8], d: &Dialect) -> Result<(Option<Vec<String>>, Vec<Record>)> {
        let mut first: Option<Summary> = None;
        let mut result = None;
        for size in [1, 2, 3, 5, 16, DEFAULT_BUFFER_SIZE] {
            let mut r = RecordReader::with_buffer_size("t.csv", input, d.clone(), size);
            let header = r.read_header()?;
            let mut recs = Vec::new();
            let mut rec = Record::new();
            while r.read_record(&mut rec)? {
                recs.push(rec.clone());
            }
            let summary = recs
                .iter()
                .map(|r| (owned(r), r.position(), r.raw().to_vec()))
                .collect::<Vec<_>>();
            match &first {
                None => first = Some((header.clone(), summary)),
                Some(f) => assert_eq!(f, &(header.clone(), summary), "buffer size {size}"),
            }
            result = Some((header, recs));
        }
        Ok(result.unwrap())
    }

    fn values(input: &[u8], d: &Dialect) -> Vec<Fields> {
        read_all(input, d).unwrap().1.iter().map(owned).collect()
    }

    fn s(v: &str) -> Option<Vec<u8>> {
        Some(v.as_bytes().to_vec())
    }

    fn first_error(input: &[u8], d: &Dialect) -> Error {
        let mut r = RecordReader::with_buffer_size("t.csv", input, d.clone(), 4);
        let mut rec = Record::new();
        loop {
            match r.read_record(&mut rec) {
                Ok(true) => continue,
                Ok(false) => panic!("no error in {:?}", String::from_utf8_lossy(input)),
                Err(e) => return e,
            }
        }
    }

    #[test]
    fn quoted_empty_is_empty_string_unquoted_empty_is_null() {
        let v = values(b"a,,b\na,\"\",b\n", &dialect(false));
        assert_eq!(v[0], vec![s("a"), None, s("b")]);
        assert_eq!(v[1], vec![s("a"), s(""), s("b")]);
    }

    #[test]
    fn custom_null_string_only_matches_unquoted() {
        let d = Dialect {
            null: b"NA".to_vec(),
            ..dialect(false)
        };
        let v = values(b"NA,\"NA\",,NAN, NA\n", &d);
        assert_eq!(v[0], vec![None, s("NA"), s(""), s("NAN"), s(" NA")]);
    }

    #[test]
    fn quotes_toggle_anywhere_in_a_field_like_postgres() {
        let v = values(b"a\"b,c\"d,\"x\"\"y\",\"p\"q, s p \n", &dialect(false));
        assert_eq!(v[0], vec![s("ab,cd"), s("x\"y"), s("pq"), s(" s p ")]);
    }

    #[test]
    fn bom_is_skipped_but_counted_in_byte_offsets() {
        let (h, recs) = read_all(b"\xEF\xBB\xBFid,name\n1,x\n", &dialect(true)).unwrap();
        assert_eq!(h, Some(vec!["id".to_string(), "name".to_string()]));
        assert_eq!(
            recs[0].position(),
            Position {
                line: 2,
                byte: 11,
                record: 1
            }
        );
        assert_eq!(recs[0].raw(), b"1,x\n");
    }

    #[test]
    fn crlf_lines_keep_their_terminator_in_raw() {
        let (_, recs) = read_all(b"a,b\r\n1,\"x\r\ny\"\r\n3,4", &dialect(true)).unwrap();
        assert_eq!(owned(&recs[0]), vec![s("1"), s("x\r\ny")]);
        assert_eq!(recs[0].raw(), b"1,\"x\r\ny\"\r\n");
        assert_eq!(owned(&recs[1]), vec![s("3"), s("4")]);
        assert_eq!(recs[1].raw(), b"3,4");
        assert_eq!(recs[1].position().line, 4);
        assert_eq!(recs[1].position().byte, 15);
    }

    #[test]
    fn lone_cr_ends_lines_when_the_first_line_does() {
        let (_, recs) = read_all(b"a,b\r1,2\r\"x\ry\",4\r5,6", &dialect(true)).unwrap();
        let v: Vec<Fields> = recs.iter().map(owned).collect();
        assert_eq!(
            v,
            vec![
                vec![s("1"), s("2")],
                vec![s("x\ry"), s("4")],
                vec![s("5"), s("6")]
            ]
        );
        assert_eq!(
            recs.iter().map(|r| r.position().line).collect::<Vec<_>>(),
            vec![2, 3, 5]
        );
    }

    #[test]
    fn mixed_line_ends_are_errors_like_postgres() {
        let e = first_error(b"a\n1\r2\n", &dialect(true));
        assert!(e.to_string().contains("unquoted carriage return"), "{e}");
        let e = first_error(b"a\r\n1\n2\r\n", &dialect(true));
        assert!(e.to_string().contains("unquoted newline"), "{e}");
    }

    #[test]
    fn header_is_read_once_and_never_returned_as_data() {
        let mut r = RecordReader::new("t.csv", &b"h1,h2\n1,2\n3,4\n"[..], dialect(true));
        let mut rec = Record::new();
        // read_record reads the header itself when nobody did.
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(owned(&rec), vec![s("1"), s("2")]);
        assert_eq!(rec.position().record, 1);
        let h = Some(vec!["h1".to_string(), "h2".to_string()]);
        assert_eq!(r.read_header().unwrap(), h);
        assert_eq!(r.read_header().unwrap(), h);
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(owned(&rec), vec![s("3"), s("4")]);
        assert!(!r.read_record(&mut rec).unwrap());
    }

    #[test]
    fn skip_lines_counts_raw_newlines_even_inside_quotes() {
        let d = Dialect {
            skip_lines: 2,
            ..dialect(true)
        };
        let (h, recs) = read_all(b"junk \"quote\nmore,junk\nid\n1\n", &d).unwrap();
        assert_eq!(h, Some(vec!["id".to_string()]));
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].position().line, 4);
        assert_eq!(recs[0].position().byte, 25);
        // Seeking beyond the end leaves nothing.
        let d = Dialect {
            skip_lines: 10,
            ..dialect(true)
        };
        let (h, recs) = read_all(b"a\nb\n", &d).unwrap();
        assert_eq!((h, recs.len()), (None, 0));
    }

    #[test]
    fn custom_delimiter_quote_and_escape() {
        let d = Dialect {
            delimiter: b';',
            quote: b'\'',
            escape: b'\\',
            ..dialect(false)
        };
        let v = values(b"'a\\'b';'c\\\\d';'e\\f';x\\y;'it''s'\n", &d);
        assert_eq!(
            v[0],
            vec![s("a'b"), s("c\\d"), s("e\\f"), s("x\\y"), s("its")]
        );
    }

    #[test]
    fn tab_delimiter() {
        let d = Dialect {
            delimiter: b'\t',
            ..dialect(false)
        };
        let v = values(b"a\t\t\"b\tc\"\t d\n", &d);
        assert_eq!(v[0], vec![s("a"), None, s("b\tc"), s(" d")]);
    }

    #[test]
    fn blank_line_is_one_null_field() {
        let v = values(b"1\n\n2\n", &dialect(false));
        assert_eq!(v, vec![vec![s("1")], vec![None], vec![s("2")]]);
        let e = first_error(b"a,b\n1,2\n\n", &dialect(true));
        assert_eq!(
            e.to_string(),
            "t.csv: line 3, byte 8, record 2, column \"b\": expected 2 fields, found 1 (blank line)"
        );
    }

    #[test]
    fn last_record_without_newline_and_no_record_for_final_newline() {
        assert_eq!(values(b"1\n2", &dialect(false)).len(), 2);
        assert_eq!(values(b"1\n2\n", &dialect(false)).len(), 2);
        assert_eq!(values(b"", &dialect(false)).len(), 0);
        let (h, recs) = read_all(b"", &dialect(true)).unwrap();
        assert_eq!((h, recs.len()), (None, 0));
    }

    #[test]
    fn unterminated_quote_names_file_and_lines() {
        let e = first_error(b"h\n1\n\"abc\n\ndef", &dialect(true));
        let msg = e.to_string();
        assert!(msg.starts_with("t.csv: line 3, byte 4, record 2:"), "{msg}");
        assert!(msg.contains("unterminated quoted field"), "{msg}");
        assert!(msg.contains("opened on line 3"), "{msg}");
        // A quote opened on a later line of the record is reported there.
        let e = first_error(b"a,\"x\ny\",\"z\n", &dialect(false));
        assert!(e.to_string().contains("opened on line 2"), "{e}");
    }

    #[test]
    fn wrong_field_count_is_reported_and_reading_continues() {
        let mut r = RecordReader::new("t.csv", &b"a,b\n1,2\n3\n4,5,6\n7,8\n"[..], dialect(true));
        let mut rec = Record::new();
        assert!(r.read_record(&mut rec).unwrap());
        let e = r.read_record(&mut rec).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: line 3, byte 8, record 2, column \"b\": expected 2 fields, found 1"
        );
        assert_eq!(rec.raw(), b"3\n");
        let e = r.read_record(&mut rec).unwrap_err();
        assert!(e.to_string().ends_with("expected 2 fields, found 3"), "{e}");
        assert!(matches!(e.kind(), ErrorKind::Parse { .. }));
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(owned(&rec), vec![s("7"), s("8")]);
        assert_eq!(rec.position().record, 4);
        assert_eq!(r.records_read(), 4);
    }

    #[test]
    fn first_record_sets_the_field_count_without_header() {
        let e = first_error(b"1,2\n3\n", &dialect(false));
        assert!(e.to_string().contains("expected 2 fields, found 1"), "{e}");
        let mut r = RecordReader::new("t.csv", &b"1\n"[..], dialect(false));
        r.set_expected_fields(3);
        let e = r.read_record(&mut Record::new()).unwrap_err();
        assert!(e.to_string().contains("expected 3 fields, found 1"), "{e}");
    }

    #[test]
    fn invalid_utf8_reports_the_bad_byte() {
        let mut r = RecordReader::new("t.csv", &b"h\nok\nab\xffc\nfine\n"[..], dialect(true));
        let mut rec = Record::new();
        assert!(r.read_record(&mut rec).unwrap());
        let e = r.read_record(&mut rec).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: line 3, byte 5, record 2: invalid UTF-8 at byte 7: the file is not UTF-8 \
             (byte 0xff); it looks like LATIN1 or WIN1252: name its encoding with --encoding NAME"
        );
        assert_eq!(rec.raw(), b"ab\xffc\n");
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(owned(&rec), vec![s("fine")]);
        // A bad header too.
        let e = RecordReader::new("t.csv", &b"\xc3(\n"[..], dialect(true))
            .read_header()
            .unwrap_err();
        assert!(e.to_string().contains("invalid UTF-8 at byte 0"), "{e}");
    }

    #[test]
    fn line_numbers_after_multi_line_quoted_fields() {
        let input = b"id,note\n1,\"one\ntwo\nthree\"\n2,x\n3,\"a\r\nb\"\n4,y\n";
        let (_, recs) = read_all(input, &dialect(true)).unwrap();
        let lines: Vec<u64> = recs.iter().map(|r| r.position().line).collect();
        assert_eq!(lines, vec![2, 5, 6, 8]);
        assert_eq!(owned(&recs[0])[1], s("one\ntwo\nthree"));
        assert_eq!(owned(&recs[2])[1], s("a\r\nb"));
        let records: Vec<u64> = recs.iter().map(|r| r.position().record).collect();
        assert_eq!(records, vec![1, 2, 3, 4]);
    }

    #[test]
    fn records_larger_than_the_buffer_grow_it_then_shrink_back() {
        let big = "x".repeat(10_000);
        let input = format!("a\n\"{big}\"\nb\n");
        let mut r = RecordReader::with_buffer_size("t", input.as_bytes(), dialect(false), 64);
        let mut rec = Record::new();
        let mut got = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            got.push(owned(&rec));
        }
        assert_eq!(got, vec![vec![s("a")], vec![s(&big)], vec![s("b")]]);
        assert_eq!(r.buf.len(), 64);
        assert_eq!(r.bytes_read(), input.len() as u64);
    }

    #[test]
    fn records_longer_than_the_limit_are_errors_and_reading_continues() {
        for input in [&b"1,2\n1234567,8\n3,4\n"[..], b"1,2\n\"12345\",7\n3,4\n"] {
            let mut r = RecordReader::new("t.csv", input, dialect(false));
            r.max_record = 9;
            let mut rec = Record::new();
            assert!(r.read_record(&mut rec).unwrap());
            let e = r.read_record(&mut rec).unwrap_err();
            assert_eq!(
                e.to_string(),
                "t.csv: line 2, byte 4, record 2: record of 10 bytes: longer than 9 bytes, \
                 the most PostgreSQL's COPY takes in one line"
            );
            assert!(matches!(e.kind(), ErrorKind::Parse { .. }));
            assert_eq!(rec.raw().len(), 10);
            assert!(r.read_record(&mut rec).unwrap());
            assert_eq!(owned(&rec), vec![s("3"), s("4")]);
        }
    }

    #[test]
    fn dialect_validation_rejects_ambiguous_options() {
        assert!(Dialect::default().validate().is_ok());
        let bad = [
            Dialect {
                delimiter: b'"',
                ..Dialect::default()
            },
            Dialect {
                delimiter: b'\n',
                ..Dialect::default()
            },
            Dialect {
                quote: 0xA7,
                ..Dialect::default()
            },
            Dialect {
                null: b"a,b".to_vec(),
                ..Dialect::default()
            },
            Dialect {
                null: b"\"".to_vec(),
                ..Dialect::default()
            },
        ];
        for d in bad {
            let e = d.validate().unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{d:?}");
            let mut r = RecordReader::new("t", &b"x\n"[..], d);
            assert!(r.read_record(&mut Record::new()).is_err());
        }
    }

    fn check_input(path: &str, on_disk: u64, expected: &[u8]) {
        let input = open_input(path, None, None).unwrap();
        assert_eq!(input.size, Some(on_disk));
        let consumed = Arc::clone(&input.consumed);
        let mut r = RecordReader::new(path, input.reader, dialect(true));
        let mut rec = Record::new();
        let mut raw = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            raw.extend_from_slice(rec.raw());
        }
        assert_eq!(raw, &expected[6..]);
        assert_eq!(r.bytes_read(), expected.len() as u64);
        assert_eq!(consumed.load(Ordering::Relaxed), on_disk);
    }

    #[test]
    fn gzip_and_zstd_inputs_decompress_and_count_compressed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let text: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{i},\"row {i}\"\n").into_bytes())
            .collect();
        let text = [b"id,v\r\n".as_slice(), &text.replace_crlf()].concat();

        // Two concatenated gzip members, as pigz or `cat a.gz b.gz` produce.
        let gz = dir.path().join("in.csv.gz");
        let (a, b) = text.split_at(text.len() / 2);
        let mut bytes = Vec::new();
        for part in [a, b] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(part).unwrap();
            bytes.extend(enc.finish().unwrap());
        }
        std::fs::write(&gz, &bytes).unwrap();
        check_input(gz.to_str().unwrap(), bytes.len() as u64, &text);

        let zs = dir.path().join("in.csv.zst");
        let bytes = zstd::encode_all(&text[..], 3).unwrap();
        std::fs::write(&zs, &bytes).unwrap();
        check_input(zs.to_str().unwrap(), bytes.len() as u64, &text);

        let plain = dir.path().join("in.csv");
        std::fs::write(&plain, &text).unwrap();
        check_input(plain.to_str().unwrap(), text.len() as u64, &text);

        let e = match open_input(dir.path().join("missing.csv").to_str().unwrap(), None, None) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing file"),
        };
        assert!(matches!(e.kind(), ErrorKind::Io { path, .. } if path.ends_with("missing.csv")));
    }

    trait ReplaceCrlf {
        fn replace_crlf(&self) -> Vec<u8>;
    }
    impl ReplaceCrlf for Vec<u8> {
        /// The rows in CRLF, like the header, so the file has one line-end style.
        fn replace_crlf(&self) -> Vec<u8> {
            self.iter()
                .flat_map(|&b| {
                    if b == b'\n' {
                        vec![b'\r', b'\n']
                    } else {
                        vec![b]
                    }
                })
                .collect()
        }
    }
}
