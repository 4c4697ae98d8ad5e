//! Opening inputs: files, stdin and remote objects (`remote`), and gzip/zstd
//! decompression above them under one detection rule for `load` and `import`.

use std::fs::File;
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
}

impl Compression {
    /// Guesses from the file name's extension (`.gz`, `.zst`, `.zstd`), case-insensitively.
    /// Reading does not use it (see [`Compression::detect`]); it names what a file
    /// written under that name should hold.
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

/// gzip's magic bytes (RFC 1952).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// Zstandard's frame magic number, little-endian.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// The one detection rule of `load` and `import`: an explicit choice wins, else the
    /// first bytes decide (gzip or zstd magic), so stdin and misnamed files work too.
    /// The file name is not consulted: a `.gz` that is not gzip is read as it is.
    pub fn detect(explicit: Option<Compression>, head: &[u8]) -> Compression {
        if let Some(c) = explicit {
            c
        } else if head.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
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

/// Opens `path` (`-` is stdin), decompressing as [`Compression::detect`] says. Stdin can
/// be read only once: a caller that needs its header before the data keeps the reader it
/// read the header with.
pub fn open_input(path: &str, compression: Option<Compression>) -> Result<Input> {
    let (file, size): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (Box::new(io::stdin()), None)
    } else if remote::is_remote(path) {
        remote::open_at(path, 0)?
    } else {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        (Box::new(f), size)
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let mut counted = CountingReader {
        inner: file,
        count: Arc::clone(&consumed),
    };
    let mut head = [0u8; 4];
    let n = if compression.is_some() {
        0
    } else {
        read_head(&mut counted, &mut head).map_err(|e| Error::io(path, e))?
    };
    let compression = Compression::detect(compression, &head[..n]);
    let stream = io::Cursor::new(head[..n].to_vec()).chain(counted);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(zstd::Decoder::new(stream).map_err(|e| Error::io(path, e))?),
    };
    Ok(Input {
        reader,
        size,
        consumed,
        compression,
    })
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
        let mut input = open_input(path.to_str().unwrap(), None).unwrap();
        assert_eq!(input.compression, Compression::Gzip);
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\n1\n");
        // A tiny plain file (shorter than the magic) reads back whole.
        let tiny = dir.path().join("t.csv.gz");
        std::fs::write(&tiny, b"x").unwrap();
        let mut input = open_input(tiny.to_str().unwrap(), None).unwrap();
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!((input.compression, text.as_str()), (Compression::None, "x"));
    }
}
