//! Opening inputs: files, stdin, zip members and remote objects (`remote`); gzip, zstd,
//! bzip2 and xz decompression; conversion to UTF-8; one detection rule (the first bytes)
//! for `load`, `import` and `schema`.

use std::fs::File;
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::archive;
use super::encoding::Encoding;
use super::remote;
use crate::error::{Error, Result};

/// Compression of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip, possibly several concatenated members (as `pigz` and `cat a.gz b.gz` make).
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2, possibly several concatenated streams (as `pbzip2` makes).
    Bzip2,
    /// xz, possibly several concatenated streams.
    Xz,
}

impl Compression {
    /// Guesses from the file name's extension (`.gz`, `.zst`, `.bz2`, `.xz`),
    /// case-insensitively. Reading does not use it (see [`Compression::detect`]); it
    /// names what a file written under that name should hold.
    pub fn from_path(path: &str) -> Compression {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".gz") || p.ends_with(".gzip") {
            Compression::Gzip
        } else if p.ends_with(".zst") || p.ends_with(".zstd") {
            Compression::Zstd
        } else if p.ends_with(".bz2") {
            Compression::Bzip2
        } else if p.ends_with(".xz") {
            Compression::Xz
        } else {
            Compression::None
        }
    }
}

impl FromStr for Compression {
    type Err = Error;

    /// Parses `none`, `gzip`/`gz`, `zstd`/`zst`, `bzip2`/`bz2` or `xz`, for a
    /// command-line option.
    fn from_str(s: &str) -> Result<Compression> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            "bzip2" | "bz2" => Ok(Compression::Bzip2),
            "xz" => Ok(Compression::Xz),
            _ => Err(Error::usage(format!(
                "unknown compression {s:?} (expected none, gzip, zstd, bzip2 or xz)"
            ))),
        }
    }
}

/// An opened input: its text as UTF-8 bytes plus what a progress bar needs.
pub struct Input {
    /// The decompressed byte stream, converted to UTF-8.
    pub reader: Box<dyn Read + Send>,
    /// Size of the file on disk (compressed; a zip member's compressed size), when known.
    pub size: Option<u64>,
    /// Bytes read from the file on disk so far (compressed); compare with `size`.
    pub consumed: Arc<AtomicU64>,
    /// The compression in effect.
    pub compression: Compression,
    /// The conversion in effect: `None` when the bytes are read as they are (UTF-8).
    pub encoding: Option<Encoding>,
    /// Whether the input is a zip member (decompressed by the archive's method).
    pub member: bool,
}

impl Input {
    /// Whether the stream is the file's bytes as they are, so an offset in it is one in
    /// the file (a resumed read may seek, an IMPORT may split the file in place).
    pub fn is_plain(&self) -> bool {
        self.compression == Compression::None
            && self.encoding.is_none()
            && !self.member
            && self.size.is_some()
    }
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

/// gzip's magic bytes (RFC 1952).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// Zstandard's frame magic number, little-endian.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// xz's stream header magic.
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];

/// bzip2: `BZh`, the block size digit, then a block's magic (π) or the end of stream's
/// (√π): six more bytes than the name, so a CSV file starting `BZh1` is not taken for one.
fn is_bzip2(head: &[u8]) -> bool {
    const BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (&head[4..10] == BLOCK || &head[4..10] == END)
}

/// Formats recognised by their first bytes and not read: named in the error.
fn unsupported(head: &[u8]) -> Option<&'static str> {
    let tar = head.len() >= 262 && &head[257..262] == b"ustar";
    let table: &[(&[u8], &str)] = &[
        (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c], "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (&[0x04, 0x22, 0x4d, 0x18], "LZ4-compressed"),
        (b"LZIP\x01", "lzip-compressed"),
        (&[0x1f, 0x9d], "compress(1)-compressed (.Z)"),
        (
            &[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
            "an OLE2 document (an old Excel .xls?)",
        ),
        (b"PAR1", "a Parquet file"),
        (b"%PDF-", "a PDF document"),
    ];
    if tar {
        return Some("a tar archive");
    }
    table
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, what)| *what)
}

impl Compression {
    /// The one detection rule of `load` and `import`: an explicit choice wins, else the
    /// first bytes decide (gzip, zstd, bzip2 or xz magic), so stdin and misnamed files work
    /// too. The file name is not consulted: a `.gz` that is not gzip is read as it is.
    pub fn detect(explicit: Option<Compression>, head: &[u8]) -> Compression {
        if let Some(c) = explicit {
            c
        } else if head.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else if head.starts_with(XZ_MAGIC) {
            Compression::Xz
        } else if is_bzip2(head) {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }
}

/// Reads up to `buf.len()` bytes, fewer only at EOF.
fn read_head(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many first bytes the detection looks at: a tar header's magic is at 257.
const HEAD: usize = 512;

/// A stream's first bytes, read ahead and put back in front of the rest.
fn peek(path: &str, mut r: Box<dyn Read + Send>) -> Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = vec![0u8; HEAD];
    let n = read_head(&mut r, &mut head).map_err(|e| Error::io(path, e))?;
    head.truncate(n);
    let rest = io::Cursor::new(head.clone()).chain(r);
    Ok((head, Box::new(rest)))
}

/// Opens `path` (`-` is stdin, `a.zip!/b.csv` a zip member): decompressed as
/// [`Compression::detect`] says, converted to UTF-8 from `encoding` (`None`: UTF-8, or
/// UTF-16 when a byte order mark says so; a UTF-8 or UTF-16 byte order mark wins over
/// `encoding`, as in the WHATWG standard). Stdin can be read only once: a caller that
/// needs its header before the data keeps the reader it read the header with (or puts
/// what it read back, see [`super::stdin`]).
pub fn open_input(
    path: &str,
    compression: Option<Compression>,
    encoding: Option<Encoding>,
) -> Result<Input> {
    let member = archive::split_member(path);
    let (file, size): (Box<dyn Read + Send>, Option<u64>) = match member {
        _ if path == "-" => (Box::new(super::stdin::reader()), None),
        _ if remote::is_remote(path) => remote::open_at(path, 0)?,
        Some((a, m)) => {
            let (r, size) = archive::open_member(a, m)?;
            (r, Some(size))
        }
        None => {
            let f = File::open(path).map_err(|e| Error::io(path, e))?;
            let meta = f.metadata().map_err(|e| Error::io(path, e))?;
            if meta.is_dir() {
                return Err(Error::io(
                    path,
                    io::Error::from(io::ErrorKind::IsADirectory),
                ));
            }
            (Box::new(f), meta.is_file().then_some(meta.len()))
        }
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = Box::new(CountingReader {
        inner: file,
        count: Arc::clone(&consumed),
    });
    let (head, stream) = peek(path, counted)?;
    let compression = Compression::detect(compression, &head);
    if compression == Compression::None {
        if archive::is_zip(&head) {
            return open_zip(path, encoding);
        }
        if let Some(what) = unsupported(&head) {
            return Err(not_read(path, what));
        }
    }
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => stream,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(zstd::Decoder::new(stream).map_err(|e| Error::io(path, e))?),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(stream)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(stream)),
    };
    let (reader, encoding) = match compression {
        Compression::None => decoded(path, head, reader, encoding)?,
        _ => {
            let (head, reader) = peek(path, reader)?;
            if let Some(what) =
                unsupported(&head).or(archive::is_zip(&head).then_some("a zip archive"))
            {
                return Err(not_read(path, &format!("{what} inside {compression:?}")));
            }
            decoded(path, head, reader, encoding)?
        }
    };
    Ok(Input {
        reader,
        size,
        consumed,
        compression,
        encoding,
        member: member.is_some(),
    })
}

fn not_read(path: &str, what: &str) -> Error {
    Error::usage(format!(
        "{path}: the input is {what}, which chunkload does not read; it reads CSV, plain or \
         compressed with gzip, zstd, bzip2 or xz, and zip archives of CSV files"
    ))
}

/// A zip archive named as the input: its one CSV member (a load expands an archive into
/// its members first, see [`expand_archives`]).
fn open_zip(path: &str, encoding: Option<Encoding>) -> Result<Input> {
    if remote::is_remote(path) {
        return Err(Error::usage(format!(
            "{path}: a zip archive over HTTP is not read (its index is at its end); \
             download it and pass the file"
        )));
    }
    if path == "-" || archive::split_member(path).is_some() {
        return Err(Error::usage(format!(
            "{path}: a zip archive {}; pass the archive as a file",
            match path {
                "-" => "cannot be read from stdin (its index is at its end)",
                _ => "inside a zip archive is not read",
            }
        )));
    }
    let members = archive::zip_members(path)?;
    match members.csv.as_slice() {
        [one] => open_input(one, None, encoding),
        many => Err(Error::usage(format!(
            "{path}: a zip archive of {} CSV members ({}): name one, as {}",
            many.len(),
            archive::shorten(
                &many
                    .iter()
                    .map(|m| m
                        .rsplit(archive::MEMBER_SEP)
                        .next()
                        .unwrap_or(m)
                        .to_string())
                    .collect::<Vec<_>>()
            ),
            many[0]
        ))),
    }
}

/// The stream converted to UTF-8: a byte order mark decides, else `encoding`; UTF-8 is
/// read as it is (the reader skips its byte order mark). Without an encoding, text whose
/// first bytes alternate with NULs is UTF-16 without a byte order mark: an error saying so,
/// not NULs loaded.
fn decoded(
    path: &str,
    head: Vec<u8>,
    mut reader: Box<dyn Read + Send>,
    encoding: Option<Encoding>,
) -> Result<(Box<dyn Read + Send>, Option<Encoding>)> {
    let bom = if head.starts_with(b"\xEF\xBB\xBF") {
        Some(Encoding::UTF8)
    } else if head.starts_with(b"\xFF\xFE") {
        Some(Encoding::UTF16LE)
    } else if head.starts_with(b"\xFE\xFF") {
        Some(Encoding::UTF16BE)
    } else {
        None
    };
    if matches!(bom, Some(e) if !e.is_utf8()) {
        let mut two = [0u8; 2];
        reader
            .read_exact(&mut two)
            .map_err(|e| Error::io(path, e))?;
    }
    if bom.is_none() && encoding.is_none() {
        if let Some(e) = utf16_without_bom(&head) {
            return Err(Error::usage(format!(
                "{path}: the input looks like {e} without a byte order mark (every other \
                 byte is NUL): pass --encoding {e}"
            )));
        }
    }
    match bom.or(encoding) {
        Some(e) if !e.is_utf8() => Ok((Box::new(e.decode(path, reader)), Some(e))),
        _ => Ok((reader, None)),
    }
}

/// UTF-16 text of mostly ASCII characters: NULs at every odd (LE) or even (BE) byte.
fn utf16_without_bom(head: &[u8]) -> Option<Encoding> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let nul_at = |k: usize| {
        head.chunks_exact(2)
            .filter(|p| p[k] == 0 && p[1 - k] != 0)
            .count()
    };
    match (nul_at(1) * 10 >= pairs * 9, nul_at(0) * 10 >= pairs * 9) {
        (true, _) => Some(Encoding::UTF16LE),
        (_, true) => Some(Encoding::UTF16BE),
        _ => None,
    }
}

/// A load's inputs with each zip archive replaced by its CSV members.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    /// The inputs, each archive's members in its place, in name order.
    pub files: Vec<String>,
    /// Per archive, the members it held besides, not loaded.
    pub left_out: Vec<(String, Vec<String>)>,
}

/// Expands each zip archive among `files` into its CSV members (see [`Expanded`]).
pub fn expand_archives(files: &[String]) -> Result<Expanded> {
    let mut out = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for f in files {
        if f == "-" || !is_zip_file(f) {
            out.push(f.clone());
            continue;
        }
        let m = archive::zip_members(f)?;
        out.extend(m.csv);
        if !m.skipped.is_empty() {
            skipped.push((f.clone(), m.skipped));
        }
    }
    Ok(Expanded {
        files: out,
        left_out: skipped,
    })
}

fn is_zip_file(path: &str) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| read_head(&mut f, &mut head))
        .is_ok_and(|n| archive::is_zip(&head[..n]))
}

/// The size on disk of an input, for progress: a file's, a zip member's compressed size.
pub fn input_size(name: &str) -> Option<u64> {
    if remote::is_remote(name) {
        return remote::size_of(name);
    }
    match archive::split_member(name) {
        Some((a, m)) => {
            let f = File::open(a).ok()?;
            let mut zip = zip::ZipArchive::new(f).ok()?;
            let i = zip.index_for_name(m)?;
            let size = zip.by_index_raw(i).ok()?.compressed_size();
            Some(size)
        }
        None => std::fs::metadata(name)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
    }
}

/// Opens plain (uncompressed) file `path` at byte `offset`, for a read resumed past
/// what is already loaded; `consumed` starts at `offset`, as though it had been read.
pub fn open_plain_at(path: &str, offset: u64) -> Result<Input> {
    use std::io::{Seek, SeekFrom};
    let (inner, size): (Box<dyn Read + Send>, Option<u64>) = if remote::is_remote(path) {
        remote::open_at(path, offset)?
    } else {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(path, e))?;
        (Box::new(f), size)
    };
    let consumed = Arc::new(AtomicU64::new(offset));
    let reader = Box::new(CountingReader {
        inner,
        count: Arc::clone(&consumed),
    });
    Ok(Input {
        reader,
        size,
        consumed,
        compression: Compression::None,
        encoding: None,
        member: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn explicit_compression_wins_then_magic_bytes_decide() {
        let gz = [0x1f, 0x8b, 8, 0];
        let zs = [0x28, 0xb5, 0x2f, 0xfd];
        assert_eq!(Compression::detect(None, &gz), Compression::Gzip);
        assert_eq!(Compression::detect(None, &zs), Compression::Zstd);
        assert_eq!(Compression::detect(None, b"id,n"), Compression::None);
        assert_eq!(Compression::detect(None, b""), Compression::None);
        let none = Some(Compression::None);
        assert_eq!(Compression::detect(none, &gz), Compression::None);
    }

    #[test]
    fn a_misnamed_gzip_file_is_still_decompressed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, b"a\n1\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let mut input = open_input(path.to_str().unwrap(), None, None).unwrap();
        assert_eq!(input.compression, Compression::Gzip);
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\n1\n");
        // A tiny plain file (shorter than the magic) reads back whole.
        let tiny = dir.path().join("t.csv.gz");
        std::fs::write(&tiny, b"x").unwrap();
        let mut input = open_input(tiny.to_str().unwrap(), None, None).unwrap();
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!((input.compression, text.as_str()), (Compression::None, "x"));
    }

    fn read(path: &std::path::Path, encoding: Option<&str>) -> Result<(String, Input)> {
        let enc = encoding.map(|e| e.parse().unwrap());
        let mut input = open_input(path.to_str().unwrap(), None, enc)?;
        let mut text = String::new();
        input
            .reader
            .read_to_string(&mut text)
            .map_err(|e| Error::io("t", e))?;
        Ok((text, input))
    }

    #[test]
    fn bzip2_xz_and_encodings_by_their_first_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let csv = b"a,b\n1,x\n".repeat(1000);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&csv).unwrap();
        std::fs::write(&p, bz.finish().unwrap()).unwrap();
        let (text, input) = read(&p, None).unwrap();
        assert_eq!(
            (input.compression, text.as_bytes()),
            (Compression::Bzip2, &csv[..])
        );
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&csv).unwrap();
        std::fs::write(&p, xz.finish().unwrap()).unwrap();
        let (text, input) = read(&p, None).unwrap();
        assert_eq!(
            (input.compression, text.as_bytes()),
            (Compression::Xz, &csv[..])
        );
        assert!(!input.is_plain());
        // UTF-16 by its byte order mark, whatever --encoding says.
        std::fs::write(&p, b"\xff\xfea\0,\0\xe9\0\n\0").unwrap();
        let (text, input) = read(&p, Some("LATIN1")).unwrap();
        assert_eq!(
            (text.as_str(), input.encoding),
            ("a,é\n", Some(Encoding::UTF16LE))
        );
        std::fs::write(&p, b"a\0,\0b\0\n\0").unwrap();
        let e = read(&p, None).err().unwrap().to_string();
        assert!(e.contains("UTF-16LE without a byte order mark"), "{e}");
        std::fs::write(&p, b"caf\xe9\n").unwrap();
        let (text, input) = read(&p, Some("latin1")).unwrap();
        assert_eq!((text.as_str(), input.is_plain()), ("café\n", false));
        let utf8 = Some(Encoding::UTF8);
        assert!(open_input(p.to_str().unwrap(), None, utf8)
            .unwrap()
            .is_plain());
    }

    #[test]
    fn unsupported_formats_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, b"7z\xbc\xaf\x27\x1c\0\x04").unwrap();
        let e = read(&p, None).err().unwrap();
        assert!(e.to_string().contains("a 7-Zip archive"), "{e}");
        assert_eq!(e.outcome(), crate::error::Outcome::Usage);
        let mut tar = vec![0u8; 1024];
        tar[..5].copy_from_slice(b"a.csv");
        tar[257..262].copy_from_slice(b"ustar");
        std::fs::write(&p, &tar).unwrap();
        let e = read(&p, None).err().unwrap();
        assert!(e.to_string().contains("a tar archive"), "{e}");
        // A CSV file whose first field happens to start like bzip2's name is CSV.
        std::fs::write(&p, b"BZh1,x\n").unwrap();
        assert_eq!(read(&p, None).unwrap().0, "BZh1,x\n");
    }
}
