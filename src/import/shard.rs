//! Splitting a CSV file into shards at record boundaries.
//!
//! Two passes over a seekable file: the first finds the header and the cut offsets with
//! the `csv` crate (quote-aware, so a quoted field holding newlines is never split), the
//! second copies the raw bytes between cuts, byte-exact. Stdin and compressed input are
//! spooled to an anonymous temp file first, since their size is unknown.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::{Error, ErrorKind, Location, Position, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to cut the input.
#[derive(Debug, Clone)]
pub(crate) struct CutSpec {
    pub delimiter: u8,
    pub has_header: bool,
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

/// Opens the input as a seekable file: plain files directly, stdin (`-`) and gzip/zstd
/// input (detected by magic bytes) spooled to an anonymous temp file in `spool_dir`.
pub(crate) fn open_seekable(input: &Path, spool_dir: &Path) -> Result<File> {
    let name = input.display().to_string();
    let io_err = |e| Error::io(name.clone(), e);
    let is_stdin = input.as_os_str() == "-";
    let mut reader: Box<dyn BufRead> = if is_stdin {
        Box::new(BufReader::new(io::stdin()))
    } else {
        Box::new(BufReader::new(File::open(input).map_err(io_err)?))
    };
    let magic = reader.fill_buf().map_err(io_err)?.to_vec();
    let spool = |r: &mut dyn Read| -> Result<File> {
        let mut f = tempfile::tempfile_in(spool_dir)
            .map_err(|e| Error::io(spool_dir.display().to_string(), e))?;
        io::copy(r, &mut f).map_err(|e| Error::io(name.clone(), e))?;
        f.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok(f)
    };
    if magic.starts_with(&[0x1f, 0x8b]) {
        spool(&mut MultiGzDecoder::new(reader))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut dec = zstd::stream::read::Decoder::with_buffer(reader).map_err(io_err)?;
        spool(&mut dec)
    } else if is_stdin {
        spool(&mut reader)
    } else {
        drop(reader);
        File::open(input).map_err(io_err)
    }
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

/// Moves a boundary the csv reader reported past the line terminator bytes that follow it.
/// The reader ends a CRLF record at the `\r`, and skips blank lines before the next
/// record; a shard must not start with those bytes, so they go to the previous shard.
fn skip_terminators(file: &mut File, mut off: u64, end: u64) -> io::Result<u64> {
    let mut buf = [0u8; 512];
    while off < end {
        let n = read_at(file, off, &mut buf)?;
        let k = buf[..n]
            .iter()
            .take_while(|b| **b == b'\n' || **b == b'\r')
            .count();
        off += k as u64;
        if k < n || n == 0 {
            break;
        }
    }
    Ok(off)
}

fn parse_error(name: &str, line: u64, byte: u64, record: u64, msg: String) -> Error {
    ErrorKind::Parse {
        loc: Location {
            file: name.to_string(),
            pos: Position { line, byte, record },
            column: None,
        },
        msg,
    }
    .into()
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

/// First pass: header, field count check, and the cut offsets.
pub(crate) fn find_cuts(file: &mut File, name: &str, spec: &CutSpec) -> Result<Cuts> {
    let io_err = |e| Error::io(name.to_string(), e);
    let end = file.metadata().map_err(io_err)?.len();
    let mut head = [0u8; 3];
    let n = read_at(file, 0, &mut head).map_err(io_err)?;
    let bom_len = if head[..n] == *BOM { 3 } else { 0 };

    let builder = {
        let mut b = csv::ReaderBuilder::new();
        b.has_headers(false)
            .flexible(true)
            .delimiter(spec.delimiter);
        b
    };
    let mut rec = csv::ByteRecord::new();
    let mut header = None;
    let mut data_start = bom_len;
    let mut header_lines = 0;
    if spec.has_header {
        file.seek(SeekFrom::Start(bom_len)).map_err(io_err)?;
        let mut rdr = builder.from_reader(BufReader::new(&mut *file));
        let got = rdr.read_byte_record(&mut rec).map_err(|e| {
            parse_error(name, 1, bom_len, 0, format!("cannot read the header: {e}"))
        })?;
        if got {
            let fields = rec
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    String::from_utf8(f.to_vec()).map_err(|_| {
                        parse_error(
                            name,
                            1,
                            bom_len,
                            0,
                            format!("header field {} is not valid UTF-8", i + 1),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let after = bom_len + rdr.position().byte();
            drop(rdr);
            data_start = skip_terminators(file, after, end).map_err(io_err)?;
            header_lines = read_range(file, bom_len, data_start)
                .map_err(io_err)?
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            header = Some(fields);
        }
    }
    let mut fields = spec
        .expect_fields
        .or(header.as_ref().map(|h: &Vec<String>| h.len()));
    if let (Some(want), Some(h)) = (spec.expect_fields, header.as_ref()) {
        if h.len() != want {
            return Err(Error::schema(format!(
                "{name}: the header has {} fields but {want} columns were given",
                h.len()
            )));
        }
    }

    let total = end - data_start;
    let n = spec.shards as u64;
    let targets = (1..n).map(|k| total * k / n).collect();
    let mut cutter = Cutter::new(targets);
    file.seek(SeekFrom::Start(data_start)).map_err(io_err)?;
    let mut rdr = builder.from_reader(BufReader::with_capacity(1 << 16, &mut *file));
    let mut count = 0u64;
    loop {
        let got = rdr.read_byte_record(&mut rec).map_err(|e| {
            let p = rdr.position();
            parse_error(
                name,
                header_lines + p.line(),
                data_start + p.byte(),
                count + 1,
                e.to_string(),
            )
        })?;
        if !got {
            break;
        }
        count += 1;
        let want = *fields.get_or_insert(rec.len());
        if rec.len() != want {
            let p = rec.position().cloned().unwrap_or_else(csv::Position::new);
            return Err(parse_error(
                name,
                header_lines + p.line(),
                data_start + p.byte(),
                count,
                format!("record has {} fields, expected {want}", rec.len()),
            ));
        }
        cutter.boundary(rdr.position().byte(), count);
    }
    drop(rdr);
    let mut bounds = vec![data_start];
    let mut records = Vec::new();
    let mut last_count = 0;
    for (off, c) in cutter.finish(total, count) {
        let abs = skip_terminators(file, data_start + off, end).map_err(io_err)?;
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
/// gzip-compressed. Returns the bytes written to disk.
pub(crate) fn write_shard(
    src: &mut File,
    prefix: &[u8],
    start: u64,
    end: u64,
    gzip: bool,
    out: File,
    out_name: &str,
) -> Result<u64> {
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
    let f = w.into_inner().map_err(|e| out_err(e.into_error()))?;
    f.sync_all().map_err(out_err)?;
    Ok(f.metadata().map_err(out_err)?.len())
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
            delimiter: b',',
            has_header: true,
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
    fn more_shards_than_records_gives_empty_shards() {
        let c = cuts_of(b"a\n1\n", &spec(3)).unwrap();
        assert_eq!(c.bounds.len(), 4);
        assert_eq!(c.records.iter().sum::<u64>(), 1);
    }
}
