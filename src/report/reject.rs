//! The reject file: bad records as read, with their line and error, ready to fix and load again.

use crate::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

/// Extra columns a reject file appends to each record; a load whose header ends with
/// them (a fixed reject file loaded again) ignores them.
pub const REJECT_COLUMNS: [&str; 2] = ["chunkload_line", "chunkload_error"];

/// Writes rejected records: the record's bytes exactly as read, plus its source line and
/// the error, as CSV in the input's own dialect, so the file can be fixed and loaded again.
/// The file is created on the first reject: a clean load leaves no empty file behind.
pub struct RejectWriter {
    path: String,
    header: Vec<u8>,
    delimiter: u8,
    quote: u8,
    /// The first record replaces the file instead of appending to it.
    replace: bool,
    out: Mutex<Option<BufWriter<File>>>,
}

impl RejectWriter {
    /// `header` is the raw header record of the input (or column names joined by the
    /// delimiter when the input had none), without its line terminator.
    pub fn new(path: &str, header: Vec<u8>, delimiter: u8, quote: u8) -> RejectWriter {
        RejectWriter {
            path: path.to_string(),
            header,
            delimiter,
            quote,
            replace: false,
            out: Mutex::new(None),
        }
    }

    /// The first record written replaces the file, header and all (a check's rejects are
    /// those of a new load, not added to an earlier run's).
    pub fn replacing(mut self) -> RejectWriter {
        self.replace = true;
        self
    }

    /// Where the rejects go.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn quoted(&self, s: &str) -> Vec<u8> {
        let q = self.quote;
        let mut v = vec![q];
        for b in s.bytes() {
            if b == q {
                v.push(q);
            }
            v.push(b);
        }
        v.push(q);
        v
    }

    /// Fails unless the reject file can be written: called before the first chunk commits,
    /// so an unwritable path stops the load with nothing committed. Checked as
    /// [`crate::output::write_through`] will write it: through a symlink, a FIFO or a
    /// device as it is (not opened), a regular file or a new path by a temp file in its
    /// real directory (created and removed: no empty reject file is left behind).
    pub fn check_writable(&self) -> Result<()> {
        match crate::output::check_writable(std::path::Path::new(&self.path)) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::usage(format!(
                "the reject file {} cannot be written ({e}); nothing was loaded. \
                 Pass --reject-file PATH in a writable place",
                self.path
            ))),
        }
    }

    /// Appends one rejected record.
    pub fn write(&self, raw: &[u8], line: u64, error: &str) -> Result<()> {
        let mut guard = self.out.lock().expect("reject writer poisoned");
        let io = |e| Error::io(self.path.clone(), e);
        if guard.is_none() {
            // A FIFO or device is a new stream for its reader: it gets the header too.
            let exists =
                !self.replace && crate::output::is_regular_file(std::path::Path::new(&self.path));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(!self.replace)
                .write(true)
                .truncate(self.replace)
                .open(&self.path)
                .map_err(io)?;
            let mut w = BufWriter::new(f);
            if !exists {
                self.write_header(&mut w).map_err(io)?;
            }
            *guard = Some(w);
        }
        let w = guard.as_mut().expect("opened above");
        self.write_record(w, raw, line, error).map_err(io)?;
        // Flushed per record: a crash must not lose rejects whose rows are not loaded.
        w.flush().map_err(io)?;
        Ok(())
    }

    /// Writes the reject file anew with `records`, through [`crate::output::write_through`]:
    /// a symlink stays a link and its target gets them, a FIFO or device is written into,
    /// a regular file is replaced by a temp file renamed in its real directory (a crash
    /// leaves the old file or the new one). With no records, only a regular file is
    /// rewritten (to its header): a new path is not created and a FIFO is left alone.
    /// Returns the number of records written; an error is [`ErrorKind::RejectFile`].
    ///
    /// [`ErrorKind::RejectFile`]: crate::ErrorKind::RejectFile
    pub fn rewrite(&self, records: &[(Vec<u8>, u64, String)]) -> Result<u64> {
        let path = std::path::Path::new(&self.path);
        if records.is_empty() && !crate::output::is_regular_file(path) {
            return Ok(0);
        }
        crate::output::write_through(path, |w| {
            self.write_header(w)?;
            for (raw, line, error) in records {
                self.write_record(w, raw, *line, error)?;
            }
            Ok(())
        })
        .map_err(|e| -> Error {
            let source = match e.into_kind() {
                crate::ErrorKind::Io { source, .. } => source,
                other => std::io::Error::other(crate::Error::from(other).to_string()),
            };
            crate::ErrorKind::RejectFile {
                path: self.path.clone(),
                rows: records.len() as u64,
                source,
            }
            .into()
        })?;
        Ok(records.len() as u64)
    }

    fn write_header(&self, w: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        w.write_all(&self.header)?;
        for c in REJECT_COLUMNS {
            w.write_all(&[self.delimiter])?;
            w.write_all(c.as_bytes())?;
        }
        w.write_all(b"\n")
    }

    fn write_record(
        &self,
        w: &mut (impl Write + ?Sized),
        raw: &[u8],
        line: u64,
        error: &str,
    ) -> std::io::Result<()> {
        let mut rec = raw;
        while let Some((last, rest)) = rec.split_last() {
            if *last == b'\n' || *last == b'\r' {
                rec = rest;
            } else {
                break;
            }
        }
        w.write_all(rec)?;
        w.write_all(&[self.delimiter])?;
        w.write_all(line.to_string().as_bytes())?;
        w.write_all(&[self.delimiter])?;
        w.write_all(&self.quoted(&error.replace(['\r', '\n'], " ")))?;
        w.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_file_keeps_raw_record_and_appends_line_and_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let w = RejectWriter::new(path.to_str().unwrap(), b"id,note".to_vec(), b',', b'"');
        w.write(b"1,\"a, \"\"b\"\"\nc\"\r\n", 7, "bad \"value\"")
            .unwrap();
        w.write(b"x,y", 9, "invalid input syntax for type integer")
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "id,note,chunkload_line,chunkload_error\n\
             1,\"a, \"\"b\"\"\nc\",7,\"bad \"\"value\"\"\"\n\
             x,y,9,\"invalid input syntax for type integer\"\n"
        );
        let mut r = csv::ReaderBuilder::new().from_path(&path).unwrap();
        let recs: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(&recs[0][1], "a, \"b\"\nc");
        assert_eq!(&recs[0][3], "bad \"value\"");
    }

    #[test]
    fn no_reject_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let _w = RejectWriter::new(path.to_str().unwrap(), b"id".to_vec(), b',', b'"');
        assert!(!path.exists());
    }
}
