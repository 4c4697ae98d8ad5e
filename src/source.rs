//! Read: a streaming CSV record reader that parses exactly like PostgreSQL's
//! `COPY ... FROM ... (FORMAT csv)`, plus opening of (compressed) inputs.
//!
//! Why not the `csv` crate: it cannot tell a quoted empty field `""` (the empty string)
//! from an unquoted empty field (NULL), a difference PostgreSQL's CSV COPY makes. This
//! reader mirrors `CopyReadLineText` (CSV mode) and `CopyReadAttributesCSV` of
//! `src/backend/commands/copyfromparse.c`:
//!
//! * a quote toggles quoted mode anywhere in a field; inside quotes the escape character
//!   (by default the quote itself) followed by a quote or an escape yields that character;
//!   outside quotes the escape character is literal;
//! * a field is NULL iff it contained no quote at all and its bytes equal the NULL string;
//! * records end at LF, CRLF or a lone CR outside quotes; like PostgreSQL, the first line
//!   end fixes the style and a different one later is an error;
//! * a blank line is a record with one field (NULL with the default NULL string), so it
//!   only loads into a one-column table, anything else fails the field-count check.
//!
//! The reader streams through one reusable buffer (grown only for a record larger than
//! it), and [`RecordReader::read_record`] fills a caller-owned [`Record`], so the steady
//! state allocates nothing per record. Each record keeps its raw bytes, terminator
//! included, for reject files and IMPORT sharding.

use std::fs::File;
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memchr::{memchr, memchr2, memchr3, memchr_iter};

use crate::error::{Error, ErrorKind, Location, Position, Result};

/// Default size of the read buffer: large reads, small enough to stay in L2 cache.
pub const DEFAULT_BUFFER_SIZE: usize = 256 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The CSV dialect, with PostgreSQL's `COPY ... (FORMAT csv)` option names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Field separator (`DELIMITER`), one ASCII byte.
    pub delimiter: u8,
    /// Quote character (`QUOTE`), one ASCII byte.
    pub quote: u8,
    /// Escape character inside quotes (`ESCAPE`); equal to `quote` means doubled quotes.
    pub escape: u8,
    /// Whether the first record (after skipped lines) names the columns.
    pub has_header: bool,
    /// Physical lines (counted by `\n`) to drop before the header or data.
    pub skip_lines: u64,
    /// The unquoted text that means NULL (`NULL`); empty by default as in PostgreSQL.
    pub null: Vec<u8>,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            quote: b'"',
            escape: b'"',
            has_header: true,
            skip_lines: 0,
            null: Vec::new(),
        }
    }
}

impl Dialect {
    /// Rejects the option combinations PostgreSQL rejects, since they would make the
    /// format ambiguous.
    pub fn validate(&self) -> Result<()> {
        let show = |b: u8| format!("{:?}", b as char);
        for (what, b) in [
            ("delimiter", self.delimiter),
            ("quote", self.quote),
            ("escape", self.escape),
        ] {
            if !b.is_ascii() {
                return Err(Error::usage(format!(
                    "the CSV {what} must be a single ASCII character, got byte 0x{b:02x}"
                )));
            }
            if b == b'\n' || b == b'\r' {
                return Err(Error::usage(format!(
                    "the CSV {what} cannot be newline or carriage return"
                )));
            }
        }
        if self.delimiter == self.quote {
            return Err(Error::usage(format!(
                "the CSV delimiter and quote must differ (both are {})",
                show(self.delimiter)
            )));
        }
        if self.null.iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(Error::usage(
                "the NULL string cannot contain newline or carriage return",
            ));
        }
        if self.null.contains(&self.delimiter) {
            return Err(Error::usage(format!(
                "the NULL string cannot contain the delimiter {}",
                show(self.delimiter)
            )));
        }
        if self.null.contains(&self.quote) {
            return Err(Error::usage(format!(
                "the NULL string cannot contain the quote {}",
                show(self.quote)
            )));
        }
        Ok(())
    }
}

/// A field's bytes within a record buffer; `null` fields have an empty range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) null: bool,
}

/// One record, reused from read to read so that reading allocates nothing per record.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The record exactly as read, terminator included.
    pub(crate) raw: Vec<u8>,
    /// Unescaped field bytes, when the record had quotes.
    pub(crate) data: Vec<u8>,
    pub(crate) spans: Vec<Span>,
    /// The spans index `raw` (no quotes in the record, nothing to unescape) or `data`.
    pub(crate) in_raw: bool,
    pub(crate) pos: Position,
}

impl Record {
    /// An empty record to pass to [`RecordReader::read_record`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the record has no field (only after a failed read).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The buffer the spans index.
    pub(crate) fn values(&self) -> &[u8] {
        if self.in_raw {
            &self.raw
        } else {
            &self.data
        }
    }

    /// Field `i`, unescaped; `None` is SQL NULL. Panics if `i >= len()`, like indexing.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        let s = self.spans[i];
        if s.null {
            None
        } else {
            Some(&self.values()[s.start..s.end])
        }
    }

    /// Whether field `i` is NULL. Panics if `i >= len()`.
    pub fn is_null(&self, i: usize) -> bool {
        self.spans[i].null
    }

    /// All fields in order; `None` is NULL.
    pub fn fields(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        let values = self.values();
        self.spans
            .iter()
            .map(move |s| (!s.null).then(|| &values[s.start..s.end]))
    }

    /// The record's bytes exactly as in the input, line terminator included: what a
    /// reject file or an IMPORT shard must contain.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Where the record starts in its input.
    pub fn position(&self) -> Position {
        self.pos
    }
}

/// The line-end style, fixed by the first line end like PostgreSQL's `eol_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Unknown,
    Nl,
    CrNl,
    Cr,
}

/// The extent of the next record in the buffer, relative to `pos`.
struct Scan {
    /// Length without the terminator.
    content: usize,
    /// Length with the terminator.
    raw: usize,
    saw_quote: bool,
    /// Offset of the opening quote that never closed (at EOF).
    unterminated: Option<usize>,
    /// A line end of another style than the first one.
    eol_err: Option<&'static str>,
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
    eol: Eol,
    /// Line on which the next record starts.
    line: u64,
    /// Data records consumed so far.
    record: u64,
    expected: Option<usize>,
    header_done: bool,
    header: Option<Vec<String>>,
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
            eol: Eol::Unknown,
            line: 1,
            record: 0,
            expected: None,
            header_done: false,
            header: None,
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
        match self.read_raw(&mut rec, 0)? {
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

    /// Reads the next data record into `rec`; `Ok(false)` at the end of the input.
    pub fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        self.start()?;
        if self.dialect.has_header && !self.header_done {
            self.read_header()?;
        }
        let number = self.record + 1;
        match self.read_raw(rec, number)? {
            Got::Eof => Ok(false),
            Got::Bad(e) => {
                self.record = number;
                Err(e)
            }
            Got::Ok => {
                self.record = number;
                let found = rec.len();
                match self.expected {
                    None => self.expected = Some(found),
                    Some(want) if want != found => return Err(self.count_error(rec, want)),
                    Some(_) => {}
                }
                Ok(true)
            }
        }
    }

    fn count_error(&self, rec: &Record, want: usize) -> Error {
        let found = rec.len();
        let blank = rec.raw.iter().all(|&b| b == b'\n' || b == b'\r');
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
                pos: rec.pos,
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
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
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

    /// Finds the end of the next record (PostgreSQL's `CopyReadLineText`, CSV mode),
    /// reading more input as needed; `None` at a clean EOF.
    fn scan(&mut self) -> Result<Option<Scan>> {
        let (q, e) = (self.dialect.quote, self.dialect.escape);
        let mut i = 0usize;
        let mut in_quote = false;
        let mut saw_quote = false;
        let mut open = 0usize;
        let done = |content: usize,
                    raw: usize,
                    saw_quote: bool,
                    eol_err: Option<&'static str>|
         -> Result<Option<Scan>> {
            Ok(Some(Scan {
                content,
                raw,
                saw_quote,
                unterminated: None,
                eol_err,
            }))
        };
        loop {
            let hay = &self.buf[self.pos + i..self.end];
            if in_quote {
                let hit = if e == q {
                    find1(q, hay)
                } else {
                    find2(q, e, hay)
                };
                let Some(k) = hit else {
                    i = self.end - self.pos;
                    if !self.fill()? {
                        return Ok(Some(Scan {
                            content: i,
                            raw: i,
                            saw_quote,
                            unterminated: Some(open),
                            eol_err: None,
                        }));
                    }
                    continue;
                };
                let j = i + k;
                if self.buf[self.pos + j] == q {
                    in_quote = false;
                    i = j + 1;
                    continue;
                }
                // An escape (distinct from the quote): it escapes a following quote or
                // escape, else it is a literal.
                if self.pos + j + 1 == self.end && self.fill()? {
                    i = j;
                    continue;
                }
                let at = self.pos + j + 1;
                let escapes = at < self.end && (self.buf[at] == q || self.buf[at] == e);
                i = if escapes { j + 2 } else { j + 1 };
                continue;
            }
            let Some(k) = memchr3(q, b'\n', b'\r', hay) else {
                i = self.end - self.pos;
                if !self.fill()? {
                    if i == 0 {
                        return Ok(None);
                    }
                    return done(i, i, saw_quote, None);
                }
                continue;
            };
            let j = i + k;
            let c = self.buf[self.pos + j];
            if c == q {
                in_quote = true;
                saw_quote = true;
                open = j;
                i = j + 1;
            } else if c == b'\n' {
                let err = match self.eol {
                    Eol::Cr | Eol::CrNl => Some(
                        "unquoted newline found in data, but lines of this input end with a \
                         carriage return (quote the field to keep a newline in it)",
                    ),
                    Eol::Unknown | Eol::Nl => {
                        self.eol = Eol::Nl;
                        None
                    }
                };
                return done(j, j + 1, saw_quote, err);
            } else {
                const CR_ERR: &str = "unquoted carriage return found in data, but lines of \
                     this input end otherwise (quote the field to keep a carriage return in it)";
                match self.eol {
                    Eol::Cr => return done(j, j + 1, saw_quote, None),
                    Eol::Nl => return done(j, j + 1, saw_quote, Some(CR_ERR)),
                    Eol::Unknown | Eol::CrNl => {}
                }
                if self.pos + j + 1 == self.end && self.fill()? {
                    i = j;
                    continue;
                }
                let at = self.pos + j + 1;
                if at < self.end && self.buf[at] == b'\n' {
                    self.eol = Eol::CrNl;
                    return done(j, j + 2, saw_quote, None);
                }
                if self.eol == Eol::CrNl {
                    return done(j, j + 1, saw_quote, Some(CR_ERR));
                }
                self.eol = Eol::Cr;
                return done(j, j + 1, saw_quote, None);
            }
        }
    }

    /// Reads one record (header or data) into `rec` without the field-count check.
    fn read_raw(&mut self, rec: &mut Record, number: u64) -> Result<Got> {
        let byte = self.bytes_read();
        let Some(scan) = self.scan()? else {
            return Ok(Got::Eof);
        };
        let pos = Position {
            line: self.line,
            byte,
            record: number,
        };
        rec.pos = pos;
        rec.raw.clear();
        rec.raw
            .extend_from_slice(&self.buf[self.pos..self.pos + scan.raw]);
        self.pos += scan.raw;
        let eol_char = if self.eol == Eol::Cr { b'\r' } else { b'\n' };
        self.line += if scan.saw_quote {
            count_byte(eol_char, &rec.raw)
        } else {
            u64::from(scan.raw > scan.content)
        };

        if let Some(q) = scan.unterminated {
            rec.spans.clear();
            rec.in_raw = true;
            let qline = pos.line + count_byte(eol_char, &rec.raw[..q]);
            return Ok(Got::Bad(self.parse_error(
                pos,
                format!(
                    "unterminated quoted field: the quote opened on line {qline} (byte {}) \
                     is never closed",
                    byte + q as u64
                ),
            )));
        }
        let d = &self.dialect;
        let line = &rec.raw[..scan.content];
        if scan.saw_quote {
            rec.in_raw = false;
            split_quoted(line, d, &mut rec.data, &mut rec.spans);
        } else {
            rec.in_raw = true;
            split_plain(line, d, &mut rec.spans);
        }
        if let Some(msg) = scan.eol_err {
            return Ok(Got::Bad(self.parse_error(pos, msg.to_string())));
        }
        // `is_ascii` first: much cheaper than `from_utf8` on short, mostly ASCII records.
        if rec.raw.is_ascii() {
            return Ok(Got::Ok);
        }
        if let Err(e) = std::str::from_utf8(&rec.raw) {
            return Ok(Got::Bad(self.parse_error(
                pos,
                format!(
                    "invalid UTF-8 at byte {}{}",
                    byte + e.valid_up_to() as u64,
                    compressed_hint(byte, &rec.raw)
                ),
            )));
        }
        Ok(Got::Ok)
    }
}

/// Bytes checked one by one before handing over to `memchr`: fields are usually short,
/// and for them a plain loop beats the set-up cost of the vectorised search.
const SHORT: usize = 16;

#[inline(always)]
fn find1(a: u8, hay: &[u8]) -> Option<usize> {
    let n = hay.len().min(SHORT);
    if let Some(i) = hay[..n].iter().position(|&c| c == a) {
        return Some(i);
    }
    if hay.len() <= SHORT {
        return None;
    }
    memchr(a, &hay[SHORT..]).map(|k| k + SHORT)
}

#[inline(always)]
fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let n = hay.len().min(SHORT);
    if let Some(i) = hay[..n].iter().position(|&c| c == a || c == b) {
        return Some(i);
    }
    if hay.len() <= SHORT {
        return None;
    }
    memchr2(a, b, &hay[SHORT..]).map(|k| k + SHORT)
}

#[inline]
fn count_byte(b: u8, hay: &[u8]) -> u64 {
    hay.iter().filter(|&&c| c == b).count() as u64
}

#[inline]
fn is_null(v: &[u8], null: &[u8]) -> bool {
    v.len() == null.len() && v == null
}

/// Splits a record without quotes: nothing to unescape, spans index the line itself.
fn split_plain(line: &[u8], d: &Dialect, spans: &mut Vec<Span>) {
    spans.clear();
    let mut start = 0;
    for k in memchr_iter(d.delimiter, line) {
        spans.push(Span {
            start,
            end: k,
            null: is_null(&line[start..k], &d.null),
        });
        start = k + 1;
    }
    spans.push(Span {
        start,
        end: line.len(),
        null: is_null(&line[start..], &d.null),
    });
}

/// Splits and unescapes a record with quotes into `out` (PostgreSQL's
/// `CopyReadAttributesCSV`). The line's quotes are balanced: `scan` checked.
fn split_quoted(line: &[u8], d: &Dialect, out: &mut Vec<u8>, spans: &mut Vec<Span>) {
    let (delim, q, e) = (d.delimiter, d.quote, d.escape);
    out.clear();
    spans.clear();
    let n = line.len();
    let mut cur = 0;
    loop {
        let raw_start = cur;
        let out_start = out.len();
        let mut saw_quote = false;
        let raw_end;
        let more;
        'field: loop {
            // Outside quotes.
            match find2(delim, q, &line[cur..]) {
                None => {
                    out.extend_from_slice(&line[cur..]);
                    cur = n;
                    raw_end = n;
                    more = false;
                    break 'field;
                }
                Some(k) => {
                    out.extend_from_slice(&line[cur..cur + k]);
                    let p = cur + k;
                    cur = p + 1;
                    if line[p] == delim {
                        raw_end = p;
                        more = true;
                        break 'field;
                    }
                    saw_quote = true;
                }
            }
            // Inside quotes.
            loop {
                let hit = if e == q {
                    find1(q, &line[cur..])
                } else {
                    find2(q, e, &line[cur..])
                };
                let Some(k) = hit else {
                    // Unreachable after `scan`; keep the rest rather than panic.
                    out.extend_from_slice(&line[cur..]);
                    cur = n;
                    raw_end = n;
                    more = false;
                    break 'field;
                };
                out.extend_from_slice(&line[cur..cur + k]);
                let p = cur + k;
                let c = line[p];
                if c == e && p + 1 < n && (line[p + 1] == e || line[p + 1] == q) {
                    out.push(line[p + 1]);
                    cur = p + 2;
                    continue;
                }
                cur = p + 1;
                if c == q {
                    break;
                }
                out.push(c);
            }
        }
        spans.push(Span {
            start: out_start,
            end: out.len(),
            null: !saw_quote && is_null(&line[raw_start..raw_end], &d.null),
        });
        if !more {
            break;
        }
    }
}

/// Compression of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip, possibly several concatenated members (as `pigz` and `cat a.gz b.gz` make).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Guesses from the file name's extension (`.gz`, `.zst`, `.zstd`), case-insensitively.
    pub fn from_path(path: &str) -> Compression {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".gz") || p.ends_with(".gzip") {
            Compression::Gzip
        } else if p.ends_with(".zst") || p.ends_with(".zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

impl FromStr for Compression {
    type Err = Error;

    /// Parses `none`, `gzip`/`gz` or `zstd`/`zst`, for a command-line option.
    fn from_str(s: &str) -> Result<Compression> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            _ => Err(Error::usage(format!(
                "unknown compression {s:?} (expected none, gzip or zstd)"
            ))),
        }
    }
}

/// An opened input: decompressed bytes plus what a progress bar needs.
pub struct Input {
    /// The decompressed byte stream.
    pub reader: Box<dyn Read + Send>,
    /// Size of the file on disk (compressed), when it is a regular file.
    pub size: Option<u64>,
    /// Bytes read from the file on disk so far (compressed); compare with `size`.
    pub consumed: Arc<AtomicU64>,
    /// The compression in effect.
    pub compression: Compression,
}

/// Counts the bytes that pass, under the decompressor, so progress is measured in the
/// same unit as the file size.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` (`-` is stdin), decompressing as `compression` says or, when `None`, as
/// the extension says. Stdin can be read only once: a caller that needs its header before
/// the data keeps the reader it read the header with.
pub fn open_input(path: &str, compression: Option<Compression>) -> Result<Input> {
    let compression = compression.unwrap_or_else(|| Compression::from_path(path));
    let (file, size): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (Box::new(io::stdin()), None)
    } else {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        (Box::new(f), size)
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: Arc::clone(&consumed),
    };
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(counted),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Zstd => Box::new(zstd::Decoder::new(counted).map_err(|e| Error::io(path, e))?),
    };
    Ok(Input {
        reader,
        size,
        consumed,
        compression,
    })
}

/// Advice when the first bytes of an input are a compressed stream read as text (stdin, or
/// a file without `.gz`/`.zst`): the magic number says which `--compression` it needs.
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
    use std::io::Write;

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
            "t.csv: line 3, byte 5, record 2: invalid UTF-8 at byte 7"
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

    #[test]
    fn compression_from_path_and_name() {
        assert_eq!(Compression::from_path("a.csv.gz"), Compression::Gzip);
        assert_eq!(Compression::from_path("A.CSV.ZST"), Compression::Zstd);
        assert_eq!(Compression::from_path("a.zstd"), Compression::Zstd);
        assert_eq!(Compression::from_path("a.csv"), Compression::None);
        assert_eq!(Compression::from_path("-"), Compression::None);
        assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip);
        assert_eq!("zst".parse::<Compression>().unwrap(), Compression::Zstd);
        assert!("lz4".parse::<Compression>().is_err());
    }

    fn check_input(path: &str, on_disk: u64, expected: &[u8]) {
        let input = open_input(path, None).unwrap();
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

        let e = match open_input(dir.path().join("missing.csv").to_str().unwrap(), None) {
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
