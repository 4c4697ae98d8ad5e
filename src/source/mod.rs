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
//!
//! `sniff` finds the dialect parts the user did not give from the first bytes (pure);
//! [`detect_dialect`] feeds it a file. `scan` is the pure record scanner, `reader` the
//! buffered reader on top of it, `input` opens files, stdin (`stdin`), zip members
//! (`archive`) and remote objects (`remote`: HTTP, and S3, Azure and GCS through `store`), decompresses them
//! and converts them to UTF-8 (`encoding`). `load`, `infer` and `import` all read
//! CSV through here, so they parse and report errors identically.

mod archive;
pub mod azure;
mod decimal_mark;
mod encoding;
mod fields;
pub mod gcs;
mod header;
mod input;
pub mod listing;
mod object;
pub(crate) mod percent;
mod reader;
pub mod remote;
pub mod s3;
mod scan;
mod sniff;
pub mod stdin;
pub mod store;

pub use archive::{outer_path, split_member, MEMBER_SEP};
pub(crate) use decimal_mark::thousands_grouped;
pub use encoding::Encoding;
pub(crate) use fields::{Buffers, Mark, Span, MAX_BATCH_BYTES};
pub use header::{column_names, mismatches, Renamed, MAX_NAME_BYTES};
pub use input::{
    expand_archives, input_size, open_input, open_plain_at, Compression, Expanded, Input,
};
pub(crate) use reader::BOM;
pub use reader::{Record, RecordReader, DEFAULT_BUFFER_SIZE};
pub use sniff::{show_byte, sniff, DialectSpec, Found, Sniffed, SNIFF_BYTES};

use crate::error::{Error, Result};

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
    /// The file's encoding (`ENCODING`), converted to UTF-8 as it is read; `None`:
    /// UTF-8, or UTF-16 when a byte order mark says so.
    pub encoding: Option<Encoding>,
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
            encoding: None,
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

/// Finds the parts of the dialect `spec` leaves open from the first [`SNIFF_BYTES`] of
/// `path`, decompressed, after the BOM and the skipped lines. Stdin's sampled bytes are
/// put back for the load to read (see [`stdin`]).
pub fn detect_dialect(
    path: &str,
    compression: Option<Compression>,
    spec: &DialectSpec,
) -> Result<Sniffed> {
    if spec.is_complete() {
        let given = spec.or_defaults();
        given.validate()?;
        return Ok(Sniffed::given(&given));
    }
    let (sample, complete) = match path {
        "-" => stdin::sampled(|| sample_of(path, compression, spec)).0?,
        _ => sample_of(path, compression, spec)?,
    };
    // Bytes that are not text (compressed input read with `--compression none`, a binary
    // file) are not sniffed: the load says what they are, with its position.
    if looks_binary(&sample) {
        let given = spec.or_defaults();
        given.validate()?;
        return Ok(Sniffed::given(&given));
    }
    let mut at = if sample.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    for _ in 0..spec.skip_lines {
        match memchr::memchr(b'\n', &sample[at..]) {
            Some(i) => at += i + 1,
            None => at = sample.len(),
        }
    }
    let found = sniff(path, &sample[at..], complete, spec)?;
    found.dialect.validate()?;
    Ok(found)
}

/// A NUL in the first 8 KiB, or a compressed stream's magic number: not CSV text.
fn looks_binary(sample: &[u8]) -> bool {
    let head = &sample[..sample.len().min(8 << 10)];
    head.contains(&0) || Compression::detect(None, head) != Compression::None
}

/// The first [`SNIFF_BYTES`] of `path` as the load will read them (decompressed, a zip's
/// first CSV member, converted to UTF-8), and whether that is all of it.
fn sample_of(
    path: &str,
    compression: Option<Compression>,
    spec: &DialectSpec,
) -> Result<(Vec<u8>, bool)> {
    use std::io::Read;
    // A zip archive: its first CSV member, as the load and the inference read it.
    let first = expand_archives(&[path.to_string()])?.files.swap_remove(0);
    let input = open_input(&first, compression, spec.encoding)?;
    let mut sample = Vec::new();
    // A read that fails after some bytes (a damaged compressed file) leaves the failure
    // to the load, which says where it is: the bytes before are sniffed.
    let complete = match input
        .reader
        .take(SNIFF_BYTES as u64 + 1)
        .read_to_end(&mut sample)
    {
        Ok(_) => sample.len() <= SNIFF_BYTES,
        Err(e) if sample.is_empty() => return Err(Error::io(path, e)),
        Err(_) => false,
    };
    sample.truncate(SNIFF_BYTES);
    Ok((sample, complete))
}
