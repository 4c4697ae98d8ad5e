//! The record scanner: PostgreSQL's `CopyReadLineText` (CSV mode) as a pure state
//! machine over byte slices, plus the field splitters of `CopyReadAttributesCSV`.
//!
//! No I/O here, the way csv-core separates parsing from reading: [`Scanner::scan`] is
//! given the bytes of the current record seen so far and either finds its end or asks
//! for more, keeping its place, so a refill never rescans what was already scanned and a
//! record may be split across buffers at any byte.

use memchr::{memchr, memchr2, memchr3, memchr_iter};

use super::fields::Span;
use super::Dialect;

/// The line-end style, fixed by the first line end like PostgreSQL's `eol_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eol {
    Unknown,
    Nl,
    CrNl,
    Cr,
}

/// The extent of a record, relative to its first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Length without the terminator.
    pub(crate) content: usize,
    /// Length with the terminator.
    pub(crate) raw: usize,
    pub(crate) saw_quote: bool,
    /// Offset of the opening quote that never closed (at EOF).
    pub(crate) unterminated: Option<usize>,
    /// A line end of another style than the first one.
    pub(crate) eol_err: Option<&'static str>,
}

/// What [`Scanner::scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The record goes on past the bytes given: call again with more.
    More,
    /// No bytes left at the end of the input: no record.
    End,
    /// A complete record; the scanner is ready for the next one.
    Record(Scan),
}

const NL_ERR: &str = "unquoted newline found in data, but lines of this input end with a \
     carriage return (quote the field to keep a newline in it)";
const CR_ERR: &str = "unquoted carriage return found in data, but lines of \
     this input end otherwise (quote the field to keep a carriage return in it)";

/// Resumable record scanner; the line-end style carries over from record to record.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    quote: u8,
    escape: u8,
    eol: Eol,
    /// Where scanning of the current record resumes.
    i: usize,
    in_quote: bool,
    saw_quote: bool,
    open: usize,
}

impl Scanner {
    pub(crate) fn new(quote: u8, escape: u8) -> Scanner {
        Scanner {
            quote,
            escape,
            eol: Eol::Unknown,
            i: 0,
            in_quote: false,
            saw_quote: false,
            open: 0,
        }
    }

    /// The line-end style seen so far.
    pub(crate) fn eol(&self) -> Eol {
        self.eol
    }

    /// Scans the current record: `rec` holds its bytes from its first one (the same
    /// prefix as in the previous call, plus more), `eof` says no more bytes follow.
    pub(crate) fn scan(&mut self, rec: &[u8], eof: bool) -> Step {
        let (q, e) = (self.quote, self.escape);
        loop {
            let hay = &rec[self.i..];
            if self.in_quote {
                let hit = if e == q {
                    find1(q, hay)
                } else {
                    find2(q, e, hay)
                };
                let Some(k) = hit else {
                    self.i = rec.len();
                    if !eof {
                        return Step::More;
                    }
                    let (n, open) = (rec.len(), self.open);
                    return self.done(n, n, Some(open), None);
                };
                let j = self.i + k;
                if rec[j] == q {
                    self.in_quote = false;
                    self.i = j + 1;
                    continue;
                }
                // An escape (distinct from the quote): it escapes a following quote or
                // escape, else it is a literal.
                if j + 1 == rec.len() && !eof {
                    self.i = j;
                    return Step::More;
                }
                let escapes = j + 1 < rec.len() && (rec[j + 1] == q || rec[j + 1] == e);
                self.i = if escapes { j + 2 } else { j + 1 };
                continue;
            }
            let Some(k) = memchr3(q, b'\n', b'\r', hay) else {
                self.i = rec.len();
                if !eof {
                    return Step::More;
                }
                if rec.is_empty() {
                    return Step::End;
                }
                let n = rec.len();
                return self.done(n, n, None, None);
            };
            let j = self.i + k;
            let c = rec[j];
            if c == q {
                self.in_quote = true;
                self.saw_quote = true;
                self.open = j;
                self.i = j + 1;
            } else if c == b'\n' {
                let err = match self.eol {
                    Eol::Cr | Eol::CrNl => Some(NL_ERR),
                    Eol::Unknown | Eol::Nl => {
                        self.eol = Eol::Nl;
                        None
                    }
                };
                return self.done(j, j + 1, None, err);
            } else {
                match self.eol {
                    Eol::Cr => return self.done(j, j + 1, None, None),
                    Eol::Nl => return self.done(j, j + 1, None, Some(CR_ERR)),
                    Eol::Unknown | Eol::CrNl => {}
                }
                if j + 1 == rec.len() && !eof {
                    self.i = j;
                    return Step::More;
                }
                if j + 1 < rec.len() && rec[j + 1] == b'\n' {
                    self.eol = Eol::CrNl;
                    return self.done(j, j + 2, None, None);
                }
                if self.eol == Eol::CrNl {
                    return self.done(j, j + 1, None, Some(CR_ERR));
                }
                self.eol = Eol::Cr;
                return self.done(j, j + 1, None, None);
            }
        }
    }

    fn done(
        &mut self,
        content: usize,
        raw: usize,
        unterminated: Option<usize>,
        eol_err: Option<&'static str>,
    ) -> Step {
        let scan = Scan {
            content,
            raw,
            saw_quote: self.saw_quote,
            unterminated,
            eol_err,
        };
        self.i = 0;
        self.in_quote = false;
        self.saw_quote = false;
        self.open = 0;
        Step::Record(scan)
    }
}
/// What [`Scanner::line`] found: a record that ends in `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    /// Length without the `\n`.
    pub(crate) content: usize,
    /// Every byte is ASCII.
    pub(crate) ascii: bool,
    /// Line ends inside quoted fields: the record spans `1 + newlines` lines.
    pub(crate) newlines: u64,
    /// The spans index the raw bytes; else the unescaped values (the record had a field
    /// to unescape).
    pub(crate) in_raw: bool,
}

impl Scanner {
    /// The common record in one pass: when `rec` (the unread bytes, a record's start)
    /// holds a record ending in `\n` with no carriage return outside quotes, lines end in
    /// `\n` and quotes are escaped by doubling, appends its fields as [`Scanner::scan`]
    /// and [`split_plain`] or [`split_quoted`] would find them and returns its extent.
    /// Spans index `rec` as if it started at `base` (a quoted field without doubled
    /// quotes is the bytes between its quotes); a record with a field to unescape goes
    /// through [`split_quoted`], values to `data`. `None` otherwise (a `\r` outside
    /// quotes, no line end in `rec`, another escape): [`Scanner::scan`] then reads the
    /// record from its start, and what was appended is to be dropped.
    #[inline]
    pub(crate) fn line(
        &mut self,
        rec: &[u8],
        d: &Dialect,
        base: usize,
        spans: &mut Vec<Span>,
        data: &mut Vec<u8>,
    ) -> Option<Line> {
        if self.i != 0 || !matches!(self.eol, Eol::Unknown | Eol::Nl) || d.escape != d.quote {
            return None;
        }
        let found = line(rec, d, base, spans, data)?;
        self.eol = Eol::Nl;
        Some(found)
    }
}

/// The fields of one record being split by [`line`].
struct Split<'a> {
    rec: &'a [u8],
    d: &'a Dialect,
    base: usize,
    spans: &'a mut Vec<Span>,
    /// A field needs unescaping: the record's spans are to be made again.
    escaped: bool,
    /// Where the current field starts in `rec`.
    start: usize,
    /// Quotes in the current field so far.
    quotes: u32,
}

impl Split<'_> {
    /// Ends the current field at `k` (a delimiter or the line end outside quotes).
    #[inline(always)]
    fn field(&mut self, k: usize) {
        let (start, q) = (self.start, self.d.quote);
        let f = &self.rec[start..k];
        let span = if self.quotes == 0 {
            match is_null(f, &self.d.null) {
                true => Span::NULL,
                false => Span::new(self.base + start, self.base + k),
            }
        } else if self.quotes == 2 && f[0] == q && f[f.len() - 1] == q {
            // `"..."` with nothing to unescape: the bytes between the quotes.
            Span::new(self.base + start + 1, self.base + k - 1)
        } else {
            self.escaped = true;
            Span::NULL
        };
        self.spans.push(span);
        self.start = k + 1;
        self.quotes = 0;
    }
}

/// The fields of one `\n`-terminated record without `\r` outside quotes, 16 bytes at a
/// time. Every quote toggles quoted mode when the escape is the quote itself (a doubled
/// quote inside quotes closes and reopens), so the quote count tells where fields end.
fn line(
    rec: &[u8],
    d: &Dialect,
    base: usize,
    spans: &mut Vec<Span>,
    data: &mut Vec<u8>,
) -> Option<Line> {
    let (delim, q) = (d.delimiter, d.quote);
    let first = spans.len();
    let mut s = Split {
        rec,
        d,
        base,
        spans,
        escaped: false,
        start: 0,
        quotes: 0,
    };
    // The record's extent is known: unescape if needed (rare), else done.
    let mut end = |s: Split, content: usize, ascii: bool, newlines: u64| {
        if s.escaped {
            s.spans.truncate(first);
            split_quoted(&rec[..content], d, data, s.spans);
        }
        Some(Line {
            content,
            ascii,
            newlines,
            in_raw: !s.escaped,
        })
    };
    let mut in_quote = false;
    let mut newlines = 0u64;
    let mut high = 0u8;
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    while i + 16 <= rec.len() {
        // SAFETY: SSE2 is part of x86_64; the load reads rec[i..i + 16], in bounds.
        let (delims, special, nonascii) = unsafe { block16(rec.as_ptr().add(i), delim, q) };
        if special == 0 && !in_quote {
            let mut m = delims;
            while m != 0 {
                s.field(i + m.trailing_zeros() as usize);
                m &= m - 1;
            }
        } else {
            let mut m = delims | special;
            while m != 0 {
                let k = i + m.trailing_zeros() as usize;
                m &= m - 1;
                let c = rec[k];
                if c == q {
                    in_quote = !in_quote;
                    s.quotes += 1;
                } else if in_quote {
                    newlines += u64::from(c == b'\n');
                } else if c == delim {
                    s.field(k);
                } else if c == b'\n' {
                    s.field(k);
                    let before = (1u32 << (k - i)) - 1;
                    let ascii = high & 0x80 == 0 && nonascii & before == 0;
                    return end(s, k, ascii, newlines);
                } else {
                    return None;
                }
            }
        }
        high |= (nonascii != 0) as u8 * 0x80;
        i += 16;
    }
    while i < rec.len() {
        let c = rec[i];
        if c == q {
            in_quote = !in_quote;
            s.quotes += 1;
        } else if in_quote {
            newlines += u64::from(c == b'\n');
        } else if c == delim {
            s.field(i);
        } else if c == b'\n' {
            s.field(i);
            return end(s, i, high & 0x80 == 0, newlines);
        } else if c == b'\r' {
            return None;
        }
        high |= c;
        i += 1;
    }
    None
}

/// Bit masks of one 16-byte block: delimiters, line ends or quotes, non-ASCII bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block16(p: *const u8, delim: u8, q: u8) -> (u32, u32, u32) {
    use std::arch::x86_64::*;
    let v = _mm_loadu_si128(p as *const __m128i);
    let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
    let delims = _mm_movemask_epi8(eq(delim)) as u32;
    let special = _mm_or_si128(_mm_or_si128(eq(q), eq(b'\n')), eq(b'\r'));
    (
        delims,
        _mm_movemask_epi8(special) as u32,
        _mm_movemask_epi8(v) as u32,
    )
}

/// Bytes checked one by one before handing over to `memchr`: fields are usually short,
/// and for them a plain loop beats the set-up cost of the vectorised search.
const SHORT: usize = 16;

#[inline(always)]
pub(crate) fn find1(a: u8, hay: &[u8]) -> Option<usize> {
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
pub(crate) fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let n = hay.len().min(SHORT);
    if let Some(i) = hay[..n].iter().position(|&c| c == a || c == b) {
        return Some(i);
    }
    if hay.len() <= SHORT {
        return None;
    }
    memchr2(a, b, &hay[SHORT..]).map(|k| k + SHORT)
}

/// How often `b` occurs in `hay`: line ends in a quoted record, usually none or few.
#[inline]
pub(crate) fn count_byte(b: u8, hay: &[u8]) -> u64 {
    memchr_iter(b, hay).count() as u64
}

#[inline(always)]
fn is_null(v: &[u8], null: &[u8]) -> bool {
    v.len() == null.len() && v == null
}

/// Splits a record without quotes: nothing to unescape, spans index the line itself,
/// which starts at `base` of the raw bytes.
pub(crate) fn split_plain(line: &[u8], d: &Dialect, base: usize, spans: &mut Vec<Span>) {
    let field = |start: usize, end: usize| match is_null(&line[start..end], &d.null) {
        true => Span::NULL,
        false => Span::new(base + start, base + end),
    };
    let mut start = 0;
    for k in memchr_iter(d.delimiter, line) {
        spans.push(field(start, k));
        start = k + 1;
    }
    spans.push(field(start, line.len()));
}

/// Splits and unescapes a record with quotes, appending the values to `out`
/// (PostgreSQL's `CopyReadAttributesCSV`). The line's quotes are balanced: `scan` checked.
pub(crate) fn split_quoted(line: &[u8], d: &Dialect, out: &mut Vec<u8>, spans: &mut Vec<Span>) {
    let (delim, q, e) = (d.delimiter, d.quote, d.escape);
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
        spans.push(
            if !saw_quote && is_null(&line[raw_start..raw_end], &d.null) {
                Span::NULL
            } else {
                Span::new(out_start, out.len())
            },
        );
        if !more {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::fields::Buffers;

    fn values(b: &Buffers, from: usize, in_raw: bool) -> Vec<Option<Vec<u8>>> {
        b.spans[from..]
            .iter()
            .map(|&s| s.get(b.values(in_raw)).map(<[u8]>::to_vec))
            .collect()
    }

    /// The one-pass line agrees with scan + split on every prefix of random records: same
    /// extent, same values, same line count, and `None` exactly where the scan sees a `\r`
    /// outside quotes first, or no line end. Records have quotes (doubled, unbalanced,
    /// inside fields), delimiters and line ends inside quotes, CRs and multibyte UTF-8,
    /// and start after other bytes in the buffer (`base`).
    #[test]
    fn line_agrees_with_scan_and_split() {
        let mut next = crate::testing::xorshift(0x2545_F491_4F6C_DD1Du64);
        const BYTES: &[u8] = b"ab,,,,xy\n\n\"\"\"\r;NA\xc3\xa9 0123456789";
        let mut seen = [0usize; 5];
        for (null, delim) in [(&b""[..], b','), (b"NA", b','), (b"", b';')] {
            let d = Dialect {
                null: null.to_vec(),
                delimiter: delim,
                ..Dialect::default()
            };
            for _ in 0..40_000 {
                let len = (next() % 90) as usize;
                let rare = next() % 4;
                let mut line: Vec<u8> = (0..len)
                    .map(|_| match BYTES[(next() % BYTES.len() as u64) as usize] {
                        // Some lines get past the first blocks without a line end or CR.
                        b'\n' | b'\r' if next() % 8 < rare * 2 => b'x',
                        b'"' if rare == 0 => b'y',
                        b => b,
                    })
                    .collect();
                if next() % 4 != 0 {
                    line.push(b'\n');
                }
                let mut b = Buffers::default();
                b.raw.extend_from_slice(b"prefix\n");
                b.data.extend_from_slice(b"old");
                b.spans.push(Span::new(0, 6));
                let base = b.raw.len();
                let mut fast = Scanner::new(b'"', b'"');
                let got = fast.line(&line, &d, base, &mut b.spans, &mut b.data);
                b.raw.extend_from_slice(&line);
                let mut slow = Scanner::new(b'"', b'"');
                let want = match slow.scan(&line, false) {
                    Step::Record(r)
                        if r.eol_err.is_none()
                            && r.raw == r.content + 1
                            && line[r.content] == b'\n' =>
                    {
                        let mut w = Buffers::default();
                        w.raw.extend_from_slice(&line);
                        match r.saw_quote {
                            true => split_quoted(&line[..r.content], &d, &mut w.data, &mut w.spans),
                            false => split_plain(&line[..r.content], &d, 0, &mut w.spans),
                        }
                        // Unescaped values only for records with quotes.
                        let in_raw = got.is_none_or(|g| g.in_raw);
                        assert!(in_raw || r.saw_quote);
                        assert_eq!(
                            values(&b, 1, in_raw),
                            values(&w, 0, !r.saw_quote),
                            "{:?}",
                            String::from_utf8_lossy(&line)
                        );
                        assert_eq!(&b.data[..3], b"old");
                        let inner = count_byte(b'\n', &line[..r.content]);
                        seen[match (r.saw_quote, in_raw, inner) {
                            (false, _, _) => 0,
                            (true, true, 0) => 1,
                            (true, false, 0) => 2,
                            (true, _, _) => 3,
                        }] += 1;
                        Some(Line {
                            content: r.content,
                            ascii: line[..r.content].is_ascii(),
                            newlines: inner,
                            in_raw,
                        })
                    }
                    _ => {
                        seen[4] += 1;
                        None
                    }
                };
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&line));
                if got.is_some() {
                    assert_eq!(fast.eol(), Eol::Nl);
                }
            }
        }
        // Every kind came up often: plain; quoted, without or with values to unescape; a
        // line end inside quotes; no fast path.
        assert!(seen.iter().all(|&n| n > 500), "{seen:?}");
        // A file whose lines end in \r\n never takes the one-pass path, nor another escape.
        let mut s = Scanner::new(b'"', b'"');
        assert!(matches!(s.scan(b"a\r\n", false), Step::Record(_)));
        let (mut spans, mut data) = (Vec::new(), Vec::new());
        assert_eq!(
            s.line(b"b\n", &Dialect::default(), 0, &mut spans, &mut data),
            None
        );
        let d = Dialect {
            escape: b'\\',
            ..Dialect::default()
        };
        let mut s = Scanner::new(b'"', b'\\');
        assert_eq!(s.line(b"b\n", &d, 0, &mut spans, &mut data), None);
    }

    /// Scans all of `input` in one call per record.
    fn whole(input: &[u8], q: u8, e: u8) -> Vec<Scan> {
        let mut s = Scanner::new(q, e);
        let mut at = 0;
        let mut out = Vec::new();
        loop {
            match s.scan(&input[at..], true) {
                Step::Record(r) => {
                    at += r.raw;
                    out.push(r);
                }
                Step::End => return out,
                Step::More => panic!("more asked for at EOF"),
            }
        }
    }

    /// Scans `input` handed over `chunk` bytes at a time, the visible bytes starting at
    /// `cut` first: every record is split across "buffers" at some offset.
    fn chunked(input: &[u8], q: u8, e: u8, cut: usize, chunk: usize) -> Vec<Scan> {
        let mut s = Scanner::new(q, e);
        let (mut at, mut seen) = (0, cut.min(input.len()));
        let mut out = Vec::new();
        for _ in 0..10 * input.len() + 10 {
            let eof = seen == input.len();
            match s.scan(&input[at..seen], eof) {
                Step::Record(r) => {
                    at += r.raw;
                    seen = seen.max(at);
                    out.push(r);
                }
                Step::End => return out,
                Step::More => seen = (seen + chunk).min(input.len()),
            }
        }
        panic!("scanner did not finish");
    }

    fn agree(input: &[u8], q: u8, e: u8) -> Vec<Scan> {
        let want = whole(input, q, e);
        for cut in 0..=input.len() {
            for chunk in [1, 2, 3, 7] {
                assert_eq!(
                    chunked(input, q, e, cut, chunk),
                    want,
                    "cut {cut} chunk {chunk} of {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        want
    }

    fn extents(v: &[Scan]) -> Vec<(usize, usize)> {
        v.iter().map(|s| (s.content, s.raw)).collect()
    }

    #[test]
    fn records_split_at_every_offset_scan_the_same() {
        let v = agree(b"a,b\n\"x\ny\",\"p\"\"q\"\nlast", b'"', b'"');
        assert_eq!(extents(&v), vec![(3, 4), (12, 13), (4, 4)]);
        assert_eq!(
            v.iter().map(|s| s.saw_quote).collect::<Vec<_>>(),
            vec![false, true, false]
        );
        let v = agree(b"h\r\n\"a\r\nb\"\r\n\r\n", b'"', b'"');
        assert_eq!(extents(&v), vec![(1, 3), (6, 8), (0, 2)]);
        let v = agree(b"1\r2\r\"x\ry\"\r", b'"', b'"');
        assert_eq!(extents(&v), vec![(1, 2), (1, 2), (5, 6)]);
    }

    #[test]
    fn escape_at_a_buffer_end_waits_for_the_next_byte() {
        let v = agree(b"'a\\'b',c\n'd\\\\'\n'e\\", b'\'', b'\\');
        assert_eq!(extents(&v)[..2], [(8, 9), (5, 6)]);
        assert_eq!(v[2].unterminated, Some(0));
    }

    #[test]
    fn unterminated_quote_and_mixed_line_ends() {
        let v = agree(b"ok\nx,\"open\nrest", b'"', b'"');
        assert_eq!(v[1].unterminated, Some(2));
        assert_eq!(v[1].raw, 12);
        let v = agree(b"a\n1\r2\n", b'"', b'"');
        assert_eq!(v[1].eol_err, Some(CR_ERR));
        let v = agree(b"a\r\n1\n", b'"', b'"');
        assert_eq!(v[1].eol_err, Some(NL_ERR));
    }

    #[test]
    fn empty_input_has_no_record() {
        assert_eq!(agree(b"", b'"', b'"'), vec![]);
        assert_eq!(Scanner::new(b'"', b'"').scan(b"", false), Step::More);
    }
}
