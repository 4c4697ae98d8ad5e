//! Text encodings: input in another encoding converted to UTF-8 as it streams
//! (`--encoding`, COPY's `ENCODING`), and the guess a not-UTF-8 error offers.
//!
//! Positions after a conversion (in errors, reject files and the ledger's byte ranges) are
//! offsets in the converted, UTF-8 stream, as they are in the decompressed stream of a
//! compressed file: the reader only ever sees that stream, and a rerun with the same
//! encoding converts the same bytes to the same offsets.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use encoding_rs::{Decoder, DecoderResult};

use crate::error::{Error, Result};

/// A text encoding the input is in, by PostgreSQL's name (`LATIN1`, `WIN1252`, `SJIS`,
/// …) or a WHATWG label (`windows-1252`, `utf-16le`, …).
///
/// PostgreSQL's names mean what they mean to PostgreSQL: `LATIN1` (and `ISO-8859-1`) is
/// ISO 8859-1, whose bytes 0x80–0x9F are the C1 controls, not the Windows-1252
/// characters the WHATWG standard reads there; `WIN1252` is Windows-1252.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    name: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    /// ISO 8859-1: each byte is its code point.
    Latin1,
    /// ISO 8859-9 (WHATWG reads it as Windows-1254, which differs at 0x80–0x9F).
    Latin5,
    Rs(&'static encoding_rs::Encoding),
}

/// PostgreSQL's encodings by their names and aliases, cleaned as PostgreSQL cleans them
/// (lowercase, letters and digits only), and the encoding that decodes each.
const PG: &[(&[&str], &str, Option<Kind>)] = {
    use encoding_rs::*;
    &[
        (&["utf8", "unicode"], "UTF8", Some(Kind::Utf8)),
        (&["latin1", "iso88591"], "LATIN1", Some(Kind::Latin1)),
        (
            &["latin2", "iso88592"],
            "LATIN2",
            Some(Kind::Rs(ISO_8859_2)),
        ),
        (
            &["latin3", "iso88593"],
            "LATIN3",
            Some(Kind::Rs(ISO_8859_3)),
        ),
        (
            &["latin4", "iso88594"],
            "LATIN4",
            Some(Kind::Rs(ISO_8859_4)),
        ),
        (&["latin5", "iso88599"], "LATIN5", Some(Kind::Latin5)),
        (
            &["latin6", "iso885910"],
            "LATIN6",
            Some(Kind::Rs(ISO_8859_10)),
        ),
        (
            &["latin7", "iso885913"],
            "LATIN7",
            Some(Kind::Rs(ISO_8859_13)),
        ),
        (
            &["latin8", "iso885914"],
            "LATIN8",
            Some(Kind::Rs(ISO_8859_14)),
        ),
        (
            &["latin9", "iso885915"],
            "LATIN9",
            Some(Kind::Rs(ISO_8859_15)),
        ),
        (
            &["latin10", "iso885916"],
            "LATIN10",
            Some(Kind::Rs(ISO_8859_16)),
        ),
        (&["iso88595"], "ISO_8859_5", Some(Kind::Rs(ISO_8859_5))),
        (&["iso88596"], "ISO_8859_6", Some(Kind::Rs(ISO_8859_6))),
        (&["iso88597"], "ISO_8859_7", Some(Kind::Rs(ISO_8859_7))),
        (&["iso88598"], "ISO_8859_8", Some(Kind::Rs(ISO_8859_8))),
        (
            &["win866", "alt", "cp866"],
            "WIN866",
            Some(Kind::Rs(IBM866)),
        ),
        (&["win874", "cp874"], "WIN874", Some(Kind::Rs(WINDOWS_874))),
        (
            &["win1250", "cp1250"],
            "WIN1250",
            Some(Kind::Rs(WINDOWS_1250)),
        ),
        (
            &["win1251", "win", "cp1251"],
            "WIN1251",
            Some(Kind::Rs(WINDOWS_1251)),
        ),
        (
            &["win1252", "cp1252"],
            "WIN1252",
            Some(Kind::Rs(WINDOWS_1252)),
        ),
        (
            &["win1253", "cp1253"],
            "WIN1253",
            Some(Kind::Rs(WINDOWS_1253)),
        ),
        (
            &["win1254", "cp1254"],
            "WIN1254",
            Some(Kind::Rs(WINDOWS_1254)),
        ),
        (
            &["win1255", "cp1255"],
            "WIN1255",
            Some(Kind::Rs(WINDOWS_1255)),
        ),
        (
            &["win1256", "cp1256"],
            "WIN1256",
            Some(Kind::Rs(WINDOWS_1256)),
        ),
        (
            &["win1257", "cp1257"],
            "WIN1257",
            Some(Kind::Rs(WINDOWS_1257)),
        ),
        (
            &["win1258", "cp1258", "abc", "tcvn", "tcvn5712", "vscii"],
            "WIN1258",
            Some(Kind::Rs(WINDOWS_1258)),
        ),
        (&["koi8r", "koi8"], "KOI8R", Some(Kind::Rs(KOI8_R))),
        (&["koi8u"], "KOI8U", Some(Kind::Rs(KOI8_U))),
        (&["eucjp"], "EUC_JP", Some(Kind::Rs(EUC_JP))),
        (
            &["sjis", "shiftjis", "mskanji", "windows932", "cp932"],
            "SJIS",
            Some(Kind::Rs(SHIFT_JIS)),
        ),
        (&["euckr"], "EUC_KR", Some(Kind::Rs(EUC_KR))),
        (
            &["uhc", "windows949", "cp949"],
            "UHC",
            Some(Kind::Rs(EUC_KR)),
        ),
        (
            &["big5", "windows950", "cp950"],
            "BIG5",
            Some(Kind::Rs(BIG5)),
        ),
        (&["gbk", "windows936", "cp936"], "GBK", Some(Kind::Rs(GBK))),
        (&["gb18030"], "GB18030", Some(Kind::Rs(GB18030))),
        // GB2312 in EUC form: a subset of GBK, which decodes it alike.
        (&["euccn"], "EUC_CN", Some(Kind::Rs(GBK))),
        (&["euctw"], "EUC_TW", None),
        (&["johab"], "JOHAB", None),
        (&["muleinternal"], "MULE_INTERNAL", None),
        (&["eucjis2004"], "EUC_JIS_2004", None),
        (&["shiftjis2004"], "SHIFT_JIS_2004", None),
    ]
};

impl Encoding {
    /// UTF-8: the input is read as it is (the default).
    pub const UTF8: Encoding = Encoding {
        name: "UTF8",
        kind: Kind::Utf8,
    };
    /// UTF-16, little-endian (what a `FF FE` byte order mark announces).
    pub const UTF16LE: Encoding = Encoding {
        name: "UTF-16LE",
        kind: Kind::Rs(encoding_rs::UTF_16LE),
    };
    /// UTF-16, big-endian (what a `FE FF` byte order mark announces).
    pub const UTF16BE: Encoding = Encoding {
        name: "UTF-16BE",
        kind: Kind::Rs(encoding_rs::UTF_16BE),
    };

    /// The name it goes by: PostgreSQL's where it has one, else the WHATWG name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether input in it is read as it is, with no conversion.
    pub fn is_utf8(&self) -> bool {
        self.kind == Kind::Utf8
    }

    /// A reader of `inner` converted to UTF-8; `name` names the input in errors.
    pub(crate) fn decode<R: Read>(self, name: &str, inner: R) -> Decoding<R> {
        let conv = match self.kind {
            Kind::Utf8 => Conv::Rs(Box::new(
                encoding_rs::UTF_8.new_decoder_without_bom_handling(),
            )),
            Kind::Latin1 => Conv::Latin1,
            Kind::Latin5 => Conv::Table(latin5_table()),
            Kind::Rs(e) => Conv::Rs(Box::new(e.new_decoder_without_bom_handling())),
        };
        Decoding {
            inner,
            name: name.to_string(),
            encoding: self.name,
            conv,
            raw: vec![0; 64 * 1024],
            out: Vec::new(),
            out_pos: 0,
            source_bytes: 0,
            lines: 1,
            done: false,
        }
    }
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for Encoding {
    type Err = Error;

    /// PostgreSQL's names and aliases first (as PostgreSQL matches them: case and
    /// punctuation aside), then the WHATWG labels.
    fn from_str(s: &str) -> Result<Encoding> {
        let clean: String = s
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some((_, name, kind)) = PG.iter().find(|(names, _, _)| names.contains(&&*clean)) {
            return kind.map(|kind| Encoding { name, kind }).ok_or_else(|| {
                Error::usage(format!(
                    "encoding {name} is not one chunkload can convert: convert the file to \
                     UTF-8 first (e.g. iconv -f {name} -t UTF-8)"
                ))
            });
        }
        if clean == "sqlascii" {
            return Err(Error::usage(
                "SQL_ASCII names no encoding (PostgreSQL stores such bytes unconverted): name \
                 the encoding the file is in, e.g. --encoding LATIN1 or WIN1252",
            ));
        }
        match encoding_rs::Encoding::for_label(s.trim().as_bytes()) {
            Some(e) if e == encoding_rs::UTF_8 => Ok(Encoding::UTF8),
            Some(e) if e != encoding_rs::REPLACEMENT && e != encoding_rs::X_USER_DEFINED => {
                Ok(Encoding {
                    name: e.name(),
                    kind: Kind::Rs(e),
                })
            }
            _ => Err(Error::usage(format!(
                "unknown encoding {s:?}: use a PostgreSQL name (UTF8, LATIN1, WIN1252, LATIN9, \
                 SJIS, EUC_JP, …) or a WHATWG label (windows-1252, iso-8859-15, utf-16le, …)"
            ))),
        }
    }
}

/// ISO 8859-9's upper half: Windows-1254's, but the C1 controls at 0x80–0x9F.
fn latin5_table() -> Box<[char; 128]> {
    let mut t = Box::new(['\0'; 128]);
    for (i, c) in t.iter_mut().enumerate() {
        let b = 0x80 + i as u8;
        *c = match b {
            0x80..=0x9f => char::from(b),
            _ => {
                let one = [b];
                let (s, _) = encoding_rs::WINDOWS_1254.decode_without_bom_handling(&one);
                s.chars().next().unwrap_or('\u{fffd}')
            }
        };
    }
    t
}

enum Conv {
    Latin1,
    Table(Box<[char; 128]>),
    Rs(Box<Decoder>),
}

/// Input in another encoding, read as UTF-8, in bounded memory (one 64 KiB read and its
/// conversion at a time).
pub(crate) struct Decoding<R> {
    inner: R,
    name: String,
    encoding: &'static str,
    conv: Conv,
    raw: Vec<u8>,
    /// Converted bytes not yet returned: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// Input bytes converted so far, and the lines they held (for an error's position).
    source_bytes: u64,
    lines: u64,
    done: bool,
}

impl<R: Read> Decoding<R> {
    /// Converts the next read of the input into `out`; false at its end.
    fn refill(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let n = loop {
            match self.inner.read(&mut self.raw) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        let src = &self.raw[..n];
        self.out.clear();
        self.out_pos = 0;
        match &mut self.conv {
            Conv::Latin1 => {
                self.out.resize(n * 2, 0);
                let w = encoding_rs::mem::convert_latin1_to_utf8(src, &mut self.out);
                self.out.truncate(w);
            }
            Conv::Table(t) => {
                let mut s = String::with_capacity(n * 2);
                s.extend(src.iter().map(|&b| match b {
                    0..=0x7f => b as char,
                    _ => t[(b - 0x80) as usize],
                }));
                self.out = s.into_bytes();
            }
            Conv::Rs(d) => {
                let last = n == 0;
                let cap = d
                    .max_utf8_buffer_length_without_replacement(n)
                    .unwrap_or(n * 4 + 16);
                self.out.resize(cap, 0);
                let (result, read, written) =
                    d.decode_to_utf8_without_replacement(src, &mut self.out, last);
                self.out.truncate(written);
                if let DecoderResult::Malformed(bad, extra) = result {
                    // The sequence may have begun in the previous read.
                    let start = read as i64 - bad as i64 - extra as i64;
                    let at = (self.source_bytes as i64 + start).max(0);
                    let from = start.max(0) as usize;
                    let bytes: Vec<String> = src[from..read - extra as usize]
                        .iter()
                        .map(|b| format!("0x{b:02x}"))
                        .collect();
                    let line = self.lines + memchr::memchr_iter(b'\n', &self.out).count() as u64;
                    let what = match bytes.is_empty() {
                        true => "the file ends inside a character,".to_string(),
                        false => bytes.join(" "),
                    };
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {line}, byte {at} of the file: {what} not valid {} (--encoding)",
                            self.encoding
                        ),
                    ));
                }
            }
        }
        self.source_bytes += n as u64;
        self.lines += memchr::memchr_iter(b'\n', &self.out).count() as u64;
        if n == 0 {
            self.done = true;
        }
        Ok(n > 0 || !self.out.is_empty())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

impl<R> fmt::Debug for Decoding<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decoding({}, {})", self.name, self.encoding)
    }
}

/// What the bytes of a record that is not UTF-8 look like, for the error's advice:
/// UTF-16 (NUL bytes), a single-byte encoding (lone high bytes between ASCII), or a
/// multi-byte one (runs of high bytes).
pub(crate) fn guess(raw: &[u8]) -> &'static str {
    if raw.contains(&0) {
        return "UTF-16 without a byte order mark (--encoding UTF-16LE or UTF-16BE)";
    }
    let (mut lone, mut runs) = (0usize, 0usize);
    let mut i = 0;
    while i < raw.len() {
        if raw[i] < 0x80 {
            i += 1;
            continue;
        }
        let start = i;
        while i < raw.len() && raw[i] >= 0x80 {
            i += 1;
        }
        match i - start {
            1 => lone += 1,
            _ => runs += 1,
        }
    }
    if runs > lone {
        "a multi-byte encoding such as SJIS, EUC_JP, EUC_KR, GBK or BIG5"
    } else if raw.iter().any(|b| (0x80..0xa0).contains(b)) {
        "WIN1252 (Windows' Latin-1)"
    } else {
        "LATIN1 or WIN1252"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(enc: &str, bytes: &[u8]) -> io::Result<String> {
        let e: Encoding = enc.parse().unwrap();
        let mut s = String::new();
        e.decode("t.csv", bytes).read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn postgres_names_and_whatwg_labels() {
        for (given, name) in [
            ("LATIN1", "LATIN1"),
            ("latin-1", "LATIN1"),
            ("ISO-8859-1", "LATIN1"),
            ("WIN1252", "WIN1252"),
            ("windows-1252", "windows-1252"),
            ("LATIN9", "LATIN9"),
            ("iso-8859-15", "LATIN9"),
            ("UTF8", "UTF8"),
            ("utf-8", "UTF8"),
            ("Shift_JIS", "SJIS"),
            ("EUC_JP", "EUC_JP"),
            ("utf-16le", "UTF-16LE"),
            ("UTF-16BE", "UTF-16BE"),
        ] {
            assert_eq!(given.parse::<Encoding>().unwrap().name(), name, "{given}");
        }
        for bad in ["SQL_ASCII", "EUC_TW", "klingon", ""] {
            assert!(bad.parse::<Encoding>().is_err(), "{bad}");
        }
    }

    #[test]
    fn converts_as_postgres_does() {
        assert_eq!(
            decode("LATIN1", b"caf\xe9,\x80\n").unwrap(),
            "café,\u{80}\n"
        );
        assert_eq!(decode("WIN1252", b"caf\xe9,\x80\n").unwrap(), "café,€\n");
        assert_eq!(decode("LATIN9", b"\xa4").unwrap(), "€");
        assert_eq!(decode("LATIN5", b"\xdd\x80").unwrap(), "İ\u{80}");
        assert_eq!(decode("SJIS", b"\x93\xfa\x96\x7b").unwrap(), "日本");
        assert_eq!(decode("UTF-16LE", b"a\0,\0\xe9\0").unwrap(), "a,é");
    }

    #[test]
    fn a_malformed_sequence_names_its_line_and_byte() {
        let e = decode("SJIS", b"a\nb\n\x93\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "line 3, byte 4 of the file: 0x93 not valid SJIS (--encoding)"
        );
        let e = decode("SJIS", b"a\nb\n\x93").unwrap_err().to_string();
        assert_eq!(
            e,
            "line 3, byte 4 of the file: the file ends inside a character, not valid SJIS (--encoding)"
        );
    }

    #[test]
    fn conversion_streams_through_small_reads() {
        let text = "日本語,abc\n".repeat(50_000);
        let (bytes, _, lossy) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!lossy);
        let e: Encoding = "SJIS".parse().unwrap();
        let mut s = String::new();
        e.decode("t", &bytes[..]).read_to_string(&mut s).unwrap();
        assert_eq!(s, text);
    }

    #[test]
    fn guesses() {
        assert_eq!(guess(b"caf\xe9\n"), "LATIN1 or WIN1252");
        assert_eq!(guess(b"\x80 caf\xe9\n"), "WIN1252 (Windows' Latin-1)");
        assert!(guess(b"\x93\xfa\x96\x7b").contains("SJIS"));
        assert!(guess(b"a\0b\0").contains("UTF-16"));
    }
}
