//! The reading thread: files → records → chunks, skipping the records an earlier run
//! committed (by byte range) and sending malformed records to the reject file.

use super::config::LoadConfig;
use super::plan::OpenReader;
use crate::chunk::{Chunk, ChunkStream, Coverage, RecordBatch};
use crate::commit::{PipelineControl, Rejects};
use crate::ledger::Committed;
use crate::report::{Counters, Reporter, Topic};
use crate::source::{open_input, open_plain_at, RecordReader};
use crate::{ErrorKind, Result};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an interrupted load may spend counting the chunks it did not read, so that
/// its message can say how many are left (well inside the binary's 5 s watchdog).
const COUNT_BUDGET: Duration = Duration::from_millis(1500);

/// What the reading thread needs.
pub(crate) struct ChunkReader<'a> {
    pub(crate) cfg: &'a LoadConfig,
    /// Stdin's reader, its header already read by the plan.
    pub(crate) stdin: Option<OpenReader>,
    /// Field count of each file.
    pub(crate) widths: &'a [usize],
    pub(crate) committed: &'a Committed,
    pub(crate) counters: &'a Counters,
    pub(crate) rejects: &'a Rejects,
    pub(crate) control: &'a PipelineControl,
    pub(crate) reporter: &'a Reporter,
    /// Record batches of chunks done with, to refill (the pipeline's recycling channel).
    pub(crate) pool: crossbeam_channel::Receiver<RecordBatch>,
}

impl ChunkReader<'_> {
    /// Reads every file into `tx` until the end or the load stops; returns the number of
    /// chunks and the source bytes read.
    pub(crate) fn read_all(mut self, tx: crossbeam_channel::Sender<Chunk>) -> Result<(u64, u64)> {
        let cfg = self.cfg;
        let c = self.counters;
        let mut seq = 0u64;
        let mut bytes = 0u64;
        let total: u64 = cfg
            .files
            .iter()
            .filter_map(|f| crate::source::input_size(f))
            .sum();
        c.bytes_total.store(total, Relaxed);
        let mut done_before = 0u64;
        for (fi, file) in cfg.files.iter().enumerate() {
            let kept = match file.as_str() {
                "-" => self.stdin.take(),
                _ => None,
            };
            let (rdr, mut consumed, seekable) = match kept {
                Some((rdr, consumed)) => (rdr, consumed, false),
                None => {
                    let input = open_input(file, cfg.compression, cfg.dialect.encoding)?;
                    let seekable = input.is_plain();
                    let rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
                    (rdr, input.consumed, seekable)
                }
            };
            let mut stream = ChunkStream::new(rdr, cfg.effective_limits(), fi, seq)?;
            stream.recycle_from(self.pool.clone());
            stream.reader_mut().set_expected_fields(self.widths[fi]);
            if seekable {
                if let Some(at) = self.seek_past_covered(&mut stream, fi)? {
                    consumed = at;
                }
            }
            stream.skip_covered(Coverage::new(self.committed.covered(fi as u32)));
            loop {
                let chunk = match stream.next_chunk() {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    // A malformed record goes to the reject file like a bad value does; the
                    // stream keeps its open chunk, so chunk boundaries do not move.
                    Err(e)
                        if matches!(e.kind(), ErrorKind::Parse { .. })
                            && self.rejects.tolerates_any() =>
                    {
                        // Inside a committed piece's bytes, an earlier run got past this
                        // record and already wrote it to the reject file.
                        let rec = stream.last_record().clone();
                        if stream.is_covered(&rec) {
                            continue;
                        }
                        self.rejects.reject(
                            fi as u32,
                            rec.position().byte,
                            rec.raw(),
                            rec.position().line,
                            &e,
                        )?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if self.control.aborted() {
                    if cfg.interrupt.is_raised() {
                        self.count_rest(stream, fi);
                    }
                    return Ok((seq, bytes));
                }
                seq = chunk.seq + 1;
                bytes += chunk.bytes() as u64;
                c.bytes_read
                    .store(done_before + consumed.load(Relaxed), Relaxed);
                if chunk.oversized {
                    self.reporter
                        .oversized(file, chunk.first_line(), chunk.bytes());
                }
                let first = chunk.seq == 0;
                if tx.send(chunk).is_err() {
                    return Ok((seq, bytes));
                }
                // --truncate: chunks reach the writers out of order, and a writer holding a
                // later chunk waits for chunk 0; send nothing more until chunk 0 committed,
                // or every writer could be waiting (a no-op without --truncate).
                if first {
                    self.control.wait_first();
                }
            }
            seq = seq.max(stream.next_seq());
            done_before += consumed.load(Relaxed);
            c.bytes_read.store(done_before, Relaxed);
        }
        Ok((seq, bytes))
    }

    /// A plain file whose first records an earlier run committed: seeks past them (the
    /// covered run ends on a record boundary) instead of reading and skipping them, with
    /// the line and record numbers the ledger kept for that place. Returns the new
    /// input's byte counter.
    fn seek_past_covered(
        &self,
        stream: &mut ChunkStream<Box<dyn std::io::Read + Send>>,
        fi: usize,
    ) -> Result<Option<Arc<AtomicU64>>> {
        let data_start = stream.reader_mut().skip_preamble()?;
        let Some(at) = self.committed.resume_point(fi as u32, data_start) else {
            return Ok(None);
        };
        let file = &self.cfg.files[fi];
        let input = open_plain_at(file, at.byte)?;
        stream
            .reader_mut()
            .resume_at(input.reader, at.byte, at.line, at.record);
        let skipped = at.byte - data_start;
        self.counters.bytes_seeked.fetch_add(skipped, Relaxed);
        self.reporter.note(
            Topic::Resume,
            format!(
                "{file}: resuming at byte {}, line {} (record {}): the {skipped} bytes \
                 before are committed and skipped unread",
                at.byte,
                at.line,
                at.record + 1
            ),
        );
        Ok(Some(input.consumed))
    }

    /// After an interrupt: chunks the rest of the input (file `fi` on, without sending
    /// anything) to learn the total, unless it is stdin, malformed or takes too long.
    fn count_rest(&self, mut stream: ChunkStream<Box<dyn std::io::Read + Send>>, fi: usize) {
        let cfg = self.cfg;
        if cfg.files.iter().any(|f| f == "-") {
            return;
        }
        let deadline = Instant::now() + COUNT_BUDGET;
        let mut fi = fi;
        loop {
            loop {
                if Instant::now() > deadline {
                    return;
                }
                match stream.next_chunk() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            let seq = stream.next_seq();
            fi += 1;
            let Some(file) = cfg.files.get(fi) else {
                self.cfg.interrupt.set_total(seq);
                return;
            };
            let Ok(input) = open_input(file, cfg.compression, cfg.dialect.encoding) else {
                return;
            };
            let rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
            let Ok(next) = ChunkStream::new(rdr, cfg.effective_limits(), fi, seq) else {
                return;
            };
            stream = next;
            stream.reader_mut().set_expected_fields(self.widths[fi]);
        }
    }
}
