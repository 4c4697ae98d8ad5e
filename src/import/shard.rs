//! Splitting a CSV file into shards at record boundaries.
//!
//! Two passes over a seekable file: the first finds the header and the cut offsets with
//! the source stage's [`RecordReader`] (the reader `load` uses, so both commands accept
//! and reject the same input with the same errors; a quoted field holding newlines is
//! never split), the second copies the raw bytes between cuts, byte-exact. Stdin and
//! compressed input are spooled to an anonymous temp file first, since their size is
//! unknown.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use crate::source::remote::is_remote;
use crate::source::{open_input, Dialect, Record, RecordReader, BOM};
use crate::{Error, ErrorKind, Result};

/// How to cut the input.
#[derive(Debug, Clone)]
pub(crate) struct CutSpec {
    /// The CSV dialect, as for `load`.
    pub dialect: Dialect,
    /// Every record must have this many fields, when known in advance (`--columns`).
    pub expect_fields: Option<usize>,
    pub shards: usize,
}

/// Result of the first pass; offsets are absolute in the (decompressed) input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cuts {
    /// Offset just after the BOM (0 or 3).
    pub bom_len: u64,
    /// Header fields, when the input has a header.
    pub header: Option<Vec<String>>,
    /// `shards + 1` offsets; shard i is `bounds[i]..bounds[i+1]`.
    pub bounds: Vec<u64>,
    /// Data records per shard.
    pub records: Vec<u64>,
    /// Fields per record (from the header or the first record), if any record was seen.
    pub fields: Option<usize>,
}

impl Cuts {
    /// First byte of the data (after BOM and header).
    pub fn data_start(&self) -> u64 {
        self.bounds[0]
    }
}

/// Opens the input as a seekable file: plain files directly, stdin (`-`), remote objects,
/// compressed and UTF-16 input (detected as for `load`, by [`open_input`]) spooled, as UTF-8, to an
/// anonymous temp file in `spool_dir`.
pub(crate) fn open_seekable(input: &Path, spool_dir: &Path) -> Result<File> {
    let name = input.display().to_string();
    let io_err = |e| Error::io(name.clone(), e);
    let mut opened = open_input(&name, None, None)?;
    if name != "-" && !is_remote(&name) && opened.is_plain() {
        drop(opened);
        return File::open(input).map_err(io_err);
    }
    let mut f = tempfile::tempfile_in(spool_dir)
        .map_err(|e| Error::io(spool_dir.display().to_string(), e))?;
    io::copy(&mut opened.reader, &mut f).map_err(|e| Error::io(name.clone(), e))?;
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    Ok(f)
}

fn read_at(file: &mut File, off: u64, buf: &mut [u8]) -> io::Result<usize> {
    file.seek(SeekFrom::Start(off))?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Chooses the nearest boundary to each target while streaming boundaries in order.
struct Cutter {
    targets: Vec<u64>,
    next: usize,
    prev: (u64, u64),
    cuts: Vec<(u64, u64)>,
}

impl Cutter {
    /// `targets` ascending, relative offsets; `(offset, records before it)` pairs come in.
    fn new(targets: Vec<u64>) -> Cutter {
        Cutter {
            targets,
            next: 0,
            prev: (0, 0),
            cuts: Vec::new(),
        }
    }

    fn boundary(&mut self, at: u64, records: u64) {
        while self.next < self.targets.len() && self.targets[self.next] <= at {
            let t = self.targets[self.next];
            let pick = if t - self.prev.0 <= at - t {
                self.prev
            } else {
                (at, records)
            };
            let last = self.cuts.last().copied().unwrap_or((0, 0));
            self.cuts.push(if pick.0 < last.0 { last } else { pick });
            self.next += 1;
        }
        self.prev = (at, records);
    }

    fn finish(mut self, end: u64, records: u64) -> Vec<(u64, u64)> {
        while self.cuts.len() < self.targets.len() {
            self.cuts.push((end, records));
        }
        self.cuts
    }
}

/// Whether a record is an empty line. Blank lines are passed through to the shards
/// (in the shard before them) but never start a shard and are not counted as records.
fn is_blank(rec: &Record) -> bool {
    rec.raw().iter().all(|&b| b == b'\n' || b == b'\r')
}

/// First pass: header, field count check, and the cut offsets.
pub(crate) fn find_cuts(file: &mut File, name: &str, spec: &CutSpec) -> Result<Cuts> {
    let io_err = |e| Error::io(name.to_string(), e);
    let end = file.metadata().map_err(io_err)?.len();
    let mut head = [0u8; 3];
    let n = read_at(file, 0, &mut head).map_err(io_err)?;
    let bom_len = if head[..n] == *BOM { 3 } else { 0 };
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;

    let dialect = Dialect {
        skip_lines: 0,
        ..spec.dialect.clone()
    };
    let mut rdr = RecordReader::new(name, &mut *file, dialect);
    if let Some(n) = spec.expect_fields {
        rdr.set_expected_fields(n);
    }
    let header = rdr.read_header()?;
    if let (Some(want), Some(h)) = (spec.expect_fields, header.as_ref()) {
        if h.len() != want {
            return Err(Error::schema(format!(
                "{name}: the header has {} fields but {want} columns were given",
                h.len()
            )));
        }
    }
    // Offsets below are relative to the end of the header; the data starts at the first
    // record that is not a blank line.
    let header_end = rdr.bytes_read();
    let total = end - header_end;
    let n = spec.shards as u64;
    let targets = (1..n).map(|k| total * k / n).collect();
    let mut cutter = Cutter::new(targets);
    let mut data_start = None;
    let mut rec = Record::new();
    let mut count = 0u64;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) if is_blank(&rec) => continue,
            Ok(true) => {}
            Err(e) if matches!(e.kind(), ErrorKind::Parse { .. }) && is_blank(&rec) => continue,
            Err(e) => return Err(e),
        }
        let start = rec.position().byte;
        data_start.get_or_insert(start);
        cutter.boundary(start - header_end, count);
        count += 1;
    }
    let fields = rdr
        .expected_fields()
        .filter(|_| count > 0 || header.is_some());
    let fields = fields.or(spec.expect_fields);
    drop(rdr);
    cutter.boundary(total, count);
    let data_start = data_start.unwrap_or(end);
    let mut bounds = vec![data_start];
    let mut records = Vec::new();
    let mut last_count = 0;
    for (off, c) in cutter.finish(total, count) {
        let abs = header_end + off;
        bounds.push(abs.max(*bounds.last().unwrap_or(&data_start)));
        records.push(c - last_count);
        last_count = c;
    }
    bounds.push(end);
    records.push(count - last_count);
    Ok(Cuts {
        bom_len,
        header,
        bounds,
        records,
        fields,
    })
}

/// Temp files not yet renamed into place; removed on drop unless committed.
pub(crate) struct Pending {
    items: Vec<(PathBuf, PathBuf)>,
}

impl Pending {
    pub fn new() -> Pending {
        Pending { items: Vec::new() }
    }

    /// Creates a fresh temp file next to `target` and remembers the pair.
    pub fn create(&mut self, target: &Path) -> Result<File> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let base = target
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for attempt in 0..100u32 {
            let tmp = dir.join(format!(
                ".{base}.tmp-{}-{}-{attempt}",
                std::process::id(),
                rand::random::<u32>()
            ));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    self.items.push((tmp, target.to_path_buf()));
                    return Ok(f);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(tmp.display().to_string(), e)),
            }
        }
        Err(Error::other(format!(
            "cannot create a temp file in {}",
            dir.display()
        )))
    }

    /// Renames every temp file to its target. Targets are replaced atomically.
    pub fn commit(mut self) -> Result<()> {
        let items = std::mem::take(&mut self.items);
        for (i, (tmp, target)) in items.iter().enumerate() {
            if let Err(e) = fs::rename(tmp, target) {
                for (t, _) in &items[i..] {
                    let _ = fs::remove_file(t);
                }
                return Err(Error::io(target.display().to_string(), e));
            }
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        for (tmp, _) in &self.items {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Second pass: copies `[start, end)` of `src` (after `prefix`) into `out`, optionally
/// gzip-compressed, and hands `out` back for the caller to complete (a file synced, an
/// upload finished).
pub(crate) fn write_shard<W: Write>(
    src: &mut File,
    prefix: &[u8],
    start: u64,
    end: u64,
    gzip: bool,
    out: W,
    out_name: &str,
) -> Result<W> {
    let in_err = |e| Error::io("input", e);
    let out_err = |e| Error::io(out_name.to_string(), e);
    src.seek(SeekFrom::Start(start)).map_err(in_err)?;
    let mut body = BufReader::with_capacity(1 << 16, &mut *src).take(end - start);
    let mut w = BufWriter::with_capacity(1 << 16, out);
    if gzip {
        let mut gz = GzEncoder::new(&mut w, flate2::Compression::default());
        gz.write_all(prefix).map_err(out_err)?;
        copy_exact(&mut body, &mut gz, end - start, out_name)?;
        gz.finish().map_err(out_err)?;
    } else {
        w.write_all(prefix).map_err(out_err)?;
        copy_exact(&mut body, &mut w, end - start, out_name)?;
    }
    w.into_inner().map_err(|e| out_err(e.into_error()))
}

fn copy_exact(r: &mut impl Read, w: &mut impl Write, want: u64, out_name: &str) -> Result<()> {
    let n = io::copy(r, w).map_err(|e| Error::io(out_name.to_string(), e))?;
    if n != want {
        return Err(Error::other(format!(
            "input shrank while writing {out_name}: copied {n} of {want} bytes"
        )));
    }
    Ok(())
}

/// Reads `[start, end)` of a file; used for the raw header bytes.
pub(crate) fn read_range(src: &mut File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; (end - start) as usize];
    let n = read_at(src, start, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cuts_of(data: &[u8], spec: &CutSpec) -> Result<Cuts> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        find_cuts(&mut f, "in.csv", spec)
    }

    fn spec(shards: usize) -> CutSpec {
        CutSpec {
            dialect: Dialect::default(),
            expect_fields: None,
            shards,
        }
    }

    #[test]
    fn cutter_picks_nearest_boundary_and_never_goes_back() {
        let mut c = Cutter::new(vec![10, 11, 30]);
        for (at, n) in [(4, 1), (12, 2), (13, 3), (40, 4)] {
            c.boundary(at, n);
        }
        assert_eq!(c.finish(40, 4), vec![(12, 2), (12, 2), (40, 4)]);
    }

    #[test]
    fn crlf_and_blank_lines_never_start_a_shard() {
        let data = b"h1,h2\r\na,b\r\n\r\nc,d\r\ne,f\r\n";
        let c = cuts_of(data, &spec(3)).unwrap();
        assert_eq!(c.header, Some(vec!["h1".to_string(), "h2".to_string()]));
        assert_eq!(c.data_start(), 7);
        for b in &c.bounds[..c.bounds.len() - 1] {
            let byte = data.get(*b as usize).copied();
            assert!(
                byte.is_none() || (byte != Some(b'\n') && byte != Some(b'\r')),
                "{b}"
            );
        }
        assert_eq!(c.records.iter().sum::<u64>(), 3);
        assert_eq!(*c.bounds.last().unwrap(), data.len() as u64);
    }

    #[test]
    fn quoted_newlines_stay_in_one_shard() {
        let data = b"h\n\"x\ny\nz\"\n\"p\nq\"\n";
        let c = cuts_of(data, &spec(4)).unwrap();
        for b in &c.bounds {
            assert!([2u64, 10, 16].contains(b), "{b} not a record boundary");
        }
    }

    #[test]
    fn bom_is_skipped_and_header_taken() {
        let c = cuts_of(b"\xEF\xBB\xBFid,name\n1,a\n", &spec(1)).unwrap();
        assert_eq!(c.bom_len, 3);
        assert_eq!(c.header.unwrap(), vec!["id", "name"]);
        assert_eq!(c.bounds, vec![11, 15]);
    }

    #[test]
    fn wrong_field_count_reports_record_and_byte() {
        let err = cuts_of(b"a,b\n1,2\n3\n", &spec(2)).unwrap_err();
        let loc = err.location().expect("location");
        assert_eq!(loc.file, "in.csv");
        assert_eq!(loc.pos.record, 2);
        assert_eq!(loc.pos.byte, 8);
        assert_eq!(loc.pos.line, 3);
    }

    #[test]
    fn columns_must_match_header() {
        let s = CutSpec {
            expect_fields: Some(3),
            ..spec(1)
        };
        assert!(matches!(
            cuts_of(b"a,b\n1,2\n", &s).unwrap_err().kind(),
            ErrorKind::Schema(_)
        ));
    }

    #[test]
    fn unterminated_quote_is_the_same_error_as_in_load() {
        let data = b"a,b\n1,2\n3,\"open\n4,5\n";
        let err = cuts_of(data, &spec(2)).unwrap_err();
        let mut load = RecordReader::new("in.csv", &data[..], Dialect::default());
        let mut rec = Record::new();
        assert!(load.read_record(&mut rec).unwrap());
        let want = load.read_record(&mut rec).unwrap_err();
        assert_eq!(err.to_string(), want.to_string());
        assert_eq!(
            err.to_string(),
            "in.csv: line 3, byte 8, record 2: unterminated quoted field: the quote opened \
             on line 3 (byte 10) is never closed"
        );
    }

    #[test]
    fn dialect_quote_and_escape_are_honoured() {
        let d = Dialect {
            delimiter: b';',
            quote: b'\'',
            escape: b'\\',
            ..Dialect::default()
        };
        let s = CutSpec {
            dialect: d,
            ..spec(3)
        };
        let data = b"h;i\n'x\\'\ny';1\n'p\nq';2\n";
        let c = cuts_of(data, &s).unwrap();
        assert_eq!(c.fields, Some(2));
        assert_eq!(c.records.iter().sum::<u64>(), 2);
        for b in &c.bounds {
            assert!([4u64, 14, 22].contains(b), "{b} not a record boundary");
        }
    }

    #[test]
    fn more_shards_than_records_gives_empty_shards() {
        let c = cuts_of(b"a\n1\n", &spec(3)).unwrap();
        assert_eq!(c.bounds.len(), 4);
        assert_eq!(c.records.iter().sum::<u64>(), 1);
    }
}
