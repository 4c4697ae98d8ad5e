//! Zip archives: each CSV member is an input of its own, named `archive.zip!/member.csv`.
//!
//! A load expands an archive into its CSV members, sorted by name (a stable order however
//! the archive was written), so the ledger keys each member by its place in that list like
//! any file, and a rerun reads a member again from its start, skipping the covered bytes.
//! The members are decompressed here (stored, deflate, bzip2, zstd, xz), their CRC-32
//! checked at the end; `zip` only reads the central directory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// Separates an archive's path from a member's name in an input's name.
pub const MEMBER_SEP: &str = "!/";

/// A zip archive's local file header (or an empty archive's end record).
pub(crate) fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// `a.zip!/b.csv` as (`a.zip`, `b.csv`) when `a.zip` is a file and the name itself is not.
pub fn split_member(name: &str) -> Option<(&str, &str)> {
    let i = name.find(MEMBER_SEP)?;
    let (archive, member) = (&name[..i], &name[i + MEMBER_SEP.len()..]);
    (Path::new(archive).is_file() && !Path::new(name).exists()).then_some((archive, member))
}

/// The file on disk an input is read from: the archive of a member, else the input.
pub fn outer_path(name: &str) -> &str {
    split_member(name).map_or(name, |(a, _)| a)
}

/// Whether a member is one to load: a CSV-like name, not a directory, not hidden, not
/// macOS's resource forks.
fn is_csv_member(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    let stem = ["", ".gz", ".bz2", ".xz", ".zst"]
        .iter()
        .find_map(|c| base.strip_suffix(c).filter(|_| !c.is_empty()))
        .unwrap_or(base);
    !name.ends_with('/')
        && !base.starts_with('.')
        && !lower.starts_with("__macosx/")
        && [".csv", ".tsv", ".txt", ".tab", ".psv"]
            .iter()
            .any(|e| stem.ends_with(e))
}

/// An archive's members: those loaded (sorted by name) and the others.
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// The CSV members, as input names (`a.zip!/b.csv`), sorted.
    pub csv: Vec<String>,
    /// The other members' names (directories aside), not loaded.
    pub skipped: Vec<String>,
}

/// Lists the members of the zip archive at `path`.
pub fn zip_members(path: &str) -> Result<Members> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let zip = zip::ZipArchive::new(file).map_err(|e| bad_zip(path, e))?;
    let mut m = Members::default();
    let mut names: Vec<&str> = zip.file_names().collect();
    names.sort_unstable();
    for name in names {
        if is_csv_member(name) {
            m.csv.push(format!("{path}{MEMBER_SEP}{name}"));
        } else if !name.ends_with('/') {
            m.skipped.push(name.to_string());
        }
    }
    if m.csv.is_empty() {
        return Err(Error::usage(format!(
            "{path}: a zip archive with no CSV member (.csv, .tsv, .txt, .tab, .psv) to load; \
             it holds: {}",
            shorten(&m.skipped)
        )));
    }
    Ok(m)
}

/// Up to 5 names, and how many more.
pub(crate) fn shorten(names: &[String]) -> String {
    let mut s = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    if s.is_empty() {
        s.push_str("nothing");
    }
    s
}

fn bad_zip(path: &str, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(e) => Error::io(path, e),
        e => Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        ),
    }
}

/// A member's compressed bytes (read from its own handle on the archive) and their
/// decompressor; its compressed size, for progress.
pub(crate) fn open_member(archive: &str, member: &str) -> Result<(Box<dyn Read + Send>, u64)> {
    let name = format!("{archive}{MEMBER_SEP}{member}");
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad_zip(archive, e))?;
    let Some(i) = zip.index_for_name(member) else {
        return Err(Error::io(
            &name,
            io::Error::new(io::ErrorKind::NotFound, "no such member in the archive"),
        ));
    };
    let f = zip.by_index_raw(i).map_err(|e| bad_zip(&name, e))?;
    if f.encrypted() {
        return Err(Error::usage(format!(
            "{name}: the member is encrypted; chunkload does not decrypt"
        )));
    }
    let (start, size, method) = (f.data_start(), f.compressed_size(), f.compression());
    let (crc, len) = (f.crc32(), f.size());
    drop(f);
    let mut file = zip.into_inner();
    let start = start.ok_or_else(|| Error::other(format!("{name}: no data offset")))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&name, e))?;
    let raw = file.take(size);
    use zip::CompressionMethod as M;
    let reader: Box<dyn Read + Send> = if method == M::STORE {
        Box::new(raw)
    } else if method == M::DEFLATE {
        Box::new(flate2::read::DeflateDecoder::new(raw))
    } else if method == M::BZIP2 {
        Box::new(bzip2::read::BzDecoder::new(raw))
    } else if method == M::ZSTD {
        Box::new(zstd::Decoder::new(raw).map_err(|e| Error::io(&name, e))?)
    } else if method == M::XZ {
        Box::new(liblzma::read::XzDecoder::new(raw))
    } else {
        return Err(Error::usage(format!(
            "{name}: compressed with {method}, which chunkload does not read (it reads \
             stored, deflate, bzip2, zstd and xz members)"
        )));
    };
    let checked = Checked {
        inner: reader,
        hasher: crc32fast::Hasher::new(),
        len: 0,
        want: (crc, len),
    };
    Ok((Box::new(checked), size))
}

/// A member's bytes, their CRC-32 and length compared with the directory's at the end.
struct Checked {
    inner: Box<dyn Read + Send>,
    hasher: crc32fast::Hasher,
    len: u64,
    want: (u32, u64),
}

impl Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        if n == 0 && !buf.is_empty() {
            let crc = self.hasher.clone().finalize();
            if (crc, self.len) != self.want {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the member is corrupt: {} bytes with CRC-32 {crc:08x}, the archive \
                         says {} bytes with {:08x}",
                        self.len, self.want.1, self.want.0
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_members_by_name() {
        for yes in ["a.csv", "d/B.TSV", "x.txt", "y.csv.gz"] {
            assert!(is_csv_member(yes), "{yes}");
        }
        for no in [
            "d/",
            "readme.md",
            ".hidden.csv",
            "__MACOSX/._a.csv",
            "a.json",
            "a.gz",
        ] {
            assert!(!is_csv_member(no), "{no}");
        }
    }
}
