//! Sampling: reading an input's records into the columns' tallies, and telling how far
//! the reading has got.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::tally::{Scratch, Tally};
use super::{order, InferOptions, Inferred, InferredColumn};
use crate::report::{Event, InferProgress, Observer};
use crate::source::{self, Compression, Dialect, Record, RecordReader};
use crate::{Error, ErrorKind, Result};

/// Reads up to `opts.sample_rows` records from `reader` and infers each column's type.
///
/// `header` names the columns (the file's header or `--columns`); when it is empty the
/// columns are named `col1..colN` after the first record's width. Malformed records are
/// counted and left out, since the load rejects them on its own terms; if nothing but
/// malformed records was read, the first one's error is returned.
pub fn infer<R: Read>(
    reader: &mut RecordReader<R>,
    header: &[String],
    opts: &InferOptions,
) -> Result<Inferred> {
    infer_with(reader, header, opts, &mut || {})
}

/// Records between two looks at how far the input has been read.
const PROGRESS_EVERY: u64 = 1024;

/// [`infer`], calling `tick` every [`PROGRESS_EVERY`] records.
fn infer_with<R: Read>(
    reader: &mut RecordReader<R>,
    header: &[String],
    opts: &InferOptions,
    tick: &mut dyn FnMut(),
) -> Result<Inferred> {
    let mut names: Vec<String> = header.to_vec();
    if !names.is_empty() && reader.expected_fields().is_none() {
        reader.set_expected_fields(names.len());
    }
    let mut tallies = vec![Tally::new(); names.len()];
    let mut rec = Record::new();
    let mut scratch = Scratch::default();
    let (mut read, mut sampled, mut skipped) = (0u64, 0u64, 0u64);
    let mut first_bad = None;
    let mut whole_input = false;
    while opts.sample_rows.is_none_or(|limit| read < limit) {
        match reader.read_record(&mut rec) {
            Ok(false) => {
                whole_input = true;
                break;
            }
            Ok(true) => {
                if names.is_empty() {
                    names = (1..=rec.len()).map(|i| format!("col{i}")).collect();
                    tallies = vec![Tally::new(); names.len()];
                }
                for (t, f) in tallies.iter_mut().zip(rec.fields()) {
                    t.observe(f, &mut scratch, opts);
                }
                sampled += 1;
            }
            Err(e) if matches!(e.kind(), ErrorKind::Parse { .. }) => {
                skipped += 1;
                first_bad.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
        read += 1;
        if read % PROGRESS_EVERY == 0 {
            tick();
        }
    }
    if sampled == 0 {
        if let Some(e) = first_bad {
            return Err(e);
        }
    }
    if names.is_empty() {
        return Err(Error::schema(format!(
            "{}: the input is empty, there is nothing to infer a table from",
            reader.name()
        )));
    }
    let (date_order, notes) = order::settle(&names, &mut tallies, opts.date_order);
    Ok(Inferred {
        columns: names
            .into_iter()
            .zip(&tallies)
            .map(|(name, t)| InferredColumn {
                name,
                type_name: t.type_name(),
                nulls: t.nulls,
                non_null: t.non_null,
            })
            .collect(),
        rows_sampled: sampled,
        rows_skipped: skipped,
        whole_input,
        renamed: Vec::new(),
        date_order,
        notes,
    })
}

/// Opens `path` (`-` is stdin, which is then consumed) and infers its columns. Names come
/// from `columns` when given (a header, if the dialect has one, is skipped), else from the
/// header made valid names (`source::column_names`, which the load maps back the same
/// way), else `col1..colN`.
pub fn infer_file(
    path: &str,
    dialect: &Dialect,
    compression: Option<Compression>,
    columns: Option<&[String]>,
    opts: &InferOptions,
) -> Result<Inferred> {
    let input = source::open_input(path, compression, dialect.encoding)?;
    let mut reader = RecordReader::new(path, input.reader, dialect.clone());
    let header = reader.read_header()?;
    let (names, renamed) = match (columns, header) {
        (Some(c), _) => (c.to_vec(), Vec::new()),
        (None, Some(h)) => source::column_names(&h),
        (None, None) => (Vec::new(), Vec::new()),
    };
    let mut watch = Watch::new(opts.observer.as_deref(), input.consumed, input.size);
    let inferred = infer_with(&mut reader, &names, opts, &mut || watch.tick(false));
    watch.tick(true);
    let mut inferred = inferred?;
    inferred.renamed = renamed;
    Ok(inferred)
}

/// Sends [`Event::Inferring`] as the input is read: each time another hundredth of it
/// (at least 1 MiB; 16 MiB when the size is unknown) has been read, and at the end.
struct Watch<'a> {
    observer: Option<&'a dyn Observer>,
    consumed: Arc<AtomicU64>,
    total: Option<u64>,
    step: u64,
    last: u64,
}

impl<'a> Watch<'a> {
    fn new(
        observer: Option<&'a dyn Observer>,
        consumed: Arc<AtomicU64>,
        total: Option<u64>,
    ) -> Self {
        let step = total.map_or(16 << 20, |t| (t / 100).max(1 << 20));
        Watch {
            observer,
            consumed,
            total,
            step,
            last: 0,
        }
    }

    fn tick(&mut self, done: bool) {
        let Some(observer) = self.observer else {
            return;
        };
        let read = self.consumed.load(Relaxed);
        if done || read >= self.last + self.step {
            self.last = read;
            observer.event(&Event::Inferring(InferProgress {
                read,
                total: self.total,
                done,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{opts, run, strings};
    use super::*;

    #[test]
    fn the_sample_limit_stops_reading() {
        let csv = "n\n1\n2\n3\nx\n";
        let limited = run(csv, Dialect::default(), &opts(Some(3))).unwrap();
        assert_eq!(limited.columns[0].type_name, "int8");
        assert_eq!(limited.rows_sampled, 3);
        assert!(!limited.whole_input);
        let all = run(csv, Dialect::default(), &opts(None)).unwrap();
        assert_eq!(all.columns[0].type_name, "text");
        assert_eq!(all.rows_sampled, 4);
        assert!(all.whole_input);
        // A limit past the end reads the whole input.
        assert!(
            run(csv, Dialect::default(), &opts(Some(10)))
                .unwrap()
                .whole_input
        );
    }

    #[test]
    fn without_header_columns_are_numbered() {
        let d = Dialect {
            has_header: false,
            ..Dialect::default()
        };
        let inf = run("1,x\n2,y\n", d, &opts(None)).unwrap();
        let names: Vec<_> = inf.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["col1", "col2"]);
        assert_eq!(inf.rows_sampled, 2);
    }

    #[test]
    fn malformed_records_are_skipped_unless_nothing_else_is_there() {
        let inf = run("a,b\n1,2\n3\n4,5\n", Dialect::default(), &opts(None)).unwrap();
        assert_eq!((inf.rows_sampled, inf.rows_skipped), (2, 1));
        assert_eq!(inf.columns[1].type_name, "int8");
        let e = run("a,b\n3\n", Dialect::default(), &opts(None)).unwrap_err();
        assert!(e.to_string().contains("expected 2 fields, found 1"), "{e}");
        let e = run("", Dialect::default(), &opts(None)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Schema(_)), "{e}");
        // A header alone gives text columns.
        let inf = run("a,b\n", Dialect::default(), &opts(None)).unwrap();
        assert_eq!(inf.rows_sampled, 0);
        assert_eq!(inf.columns[0].type_name, "text");
    }

    #[test]
    fn infer_file_reads_compressed_files_and_takes_column_names() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"id,when\n1,2024-01-01\n2,2024-01-02 03:04:05\n")
            .unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let p = path.to_str().unwrap();
        let o = opts(None);
        let inf = infer_file(p, &Dialect::default(), None, None, &o).unwrap();
        let got: Vec<_> = inf
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.type_name))
            .collect();
        assert_eq!(got, vec![("id", "int8"), ("when", "timestamp")]);
        let names = strings(&["k", "v"]);
        let inf = infer_file(p, &Dialect::default(), None, Some(&names), &o).unwrap();
        assert_eq!(inf.columns[0].name, "k");
        assert_eq!(inf.rows_sampled, 2);
        let e = infer_file(
            dir.path().join("missing.csv").to_str().unwrap(),
            &Dialect::default(),
            None,
            None,
            &o,
        )
        .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
    }

    #[test]
    fn a_files_inference_reports_how_far_it_has_read() {
        use std::sync::Mutex;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let row = "12345678901234567890,abcdefghijklmnopqrstuvwxyz\n";
        let body = format!("n,s\n{}", row.repeat(3 * (1 << 20) / row.len()));
        std::fs::write(&path, &body).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let o = InferOptions {
            sample_rows: None,
            observer: Some(Arc::new(move |e: &Event| {
                if let Event::Inferring(p) = e {
                    sink.lock().unwrap().push(*p);
                }
            })),
            ..InferOptions::default()
        };
        let p = path.to_str().unwrap();
        infer_file(p, &Dialect::default(), None, None, &o).unwrap();
        let seen = seen.lock().unwrap().clone();
        let total = body.len() as u64;
        assert!(seen.len() >= 3, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].read <= w[1].read), "{seen:?}");
        assert!(seen.iter().all(|p| p.total == Some(total)), "{seen:?}");
        let (last, before) = seen.split_last().unwrap();
        assert!(last.done && last.read == total, "{last:?}");
        assert!(before.iter().all(|p| !p.done && p.read < total), "{seen:?}");
    }
}
