//! A whole chunk through the encoder: its rows encoded, the rows that fail conversion
//! kept apart with their place in the input.

use super::date_order::{iso_date, DateOrder};
use super::{Column, ColumnType, EncodedRows, Encoder, Format};
use crate::chunk::{Chunk, RecordBatch};
use crate::{Error, Location};
use std::sync::Arc;

/// Advice for a conversion error, given the column's type name.
pub type TypeHint = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// What encoding a load's chunks needs: the target columns and, per file, which field
/// fills each of them.
#[derive(Clone)]
pub struct ChunkShape {
    /// Target columns, in the order rows are encoded.
    pub columns: Vec<Column>,
    /// Wire format of the encoded rows.
    pub format: Format,
    /// Per file: the file field index of each target column.
    pub projections: Vec<Vec<usize>>,
    /// Input file names, for error positions.
    pub files: Vec<String>,
    /// Advice appended to conversion errors (tables created from an inferred schema).
    pub hint: Option<TypeHint>,
    /// Numbers are written with a decimal comma (`1.234,5`): see [`decimal_point`].
    pub decimal_comma: bool,
    /// Numeric dates are in this order: rewritten as ISO (see [`iso_date`]) in date and
    /// timestamp columns.
    pub date_order: Option<DateOrder>,
}

/// A number written with a decimal comma, as PostgreSQL reads numbers: `1.234,5` is
/// `1234.5` (the dots group thousands), `12,5` is `12.5`, `1.234` is `1234`, appended to
/// `out`; false when `v` holds no comma nor only thousands dots (it is read as it is, so
/// `-3` and `1e5` stay themselves).
pub fn decimal_point(v: &[u8], out: &mut Vec<u8>) -> bool {
    if !v.contains(&b',') && !crate::source::thousands_grouped(v) {
        return false;
    }
    out.extend(v.iter().filter(|&&b| b != b'.').map(|&b| match b {
        b',' => b'.',
        b => b,
    }));
    true
}

/// What is rewritten in a column's values before they are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    Keep,
    DecimalComma,
    Date(DateOrder),
}

fn rewrite_of(shape: &ChunkShape, ty: ColumnType) -> Rewrite {
    use ColumnType::*;
    match (ty, shape.date_order) {
        (Int2 | Int4 | Int8 | Numeric | Float4 | Float8, _) if shape.decimal_comma => {
            Rewrite::DecimalComma
        }
        (Date | Timestamp | Timestamptz, Some(order)) => Rewrite::Date(order),
        _ => Rewrite::Keep,
    }
}

/// Where a finished chunk's buffers go back to, to be refilled instead of allocated:
/// the record batch to the reader, the encoded rows to the encoders.
#[derive(Clone)]
pub struct Recycler {
    /// Record batches for the reader.
    pub batches: crossbeam_channel::Sender<RecordBatch>,
    /// Encoded-row buffers for the encoders.
    pub rows: crossbeam_channel::Sender<EncodedRows>,
}

/// A chunk and its encoded rows; rows that failed conversion are listed apart.
pub struct EncodedChunk {
    /// The source chunk: raw records and positions, for rejects and error messages.
    pub chunk: Chunk,
    /// The rows that converted, in source order.
    pub rows: EncodedRows,
    /// Source row index and error of each row that did not convert.
    pub bad: Vec<(u32, Error)>,
    /// The fast path was not certain of some value, so the whole chunk is encoded as
    /// text for the server's parser (COPY text, text parameters).
    pub fallback: bool,
    /// Takes the buffers back once the chunk is done with (dropped).
    pub recycle: Option<Recycler>,
}

impl Drop for EncodedChunk {
    fn drop(&mut self) {
        if let Some(r) = self.recycle.take() {
            // A full pool (or a reader gone) just frees them.
            let _ = r.batches.try_send(std::mem::take(&mut self.chunk.batch));
            let _ = r.rows.try_send(std::mem::take(&mut self.rows));
        }
    }
}

/// Encodes every record of `chunk`; its parsed fields are dropped afterwards, its raw
/// bytes kept.
pub fn encode_chunk(shape: &ChunkShape, chunk: Chunk) -> EncodedChunk {
    encode_chunk_into(shape, chunk, EncodedRows::new(), None)
}

/// [`encode_chunk`] into the buffers of `rows` (an earlier chunk's, cleared here); the
/// result gives its buffers to `recycle` when dropped.
pub fn encode_chunk_into(
    shape: &ChunkShape,
    mut chunk: Chunk,
    mut rows: EncodedRows,
    recycle: Option<Recycler>,
) -> EncodedChunk {
    rows.clear();
    rows.reserve_for(chunk.bytes(), chunk.rows(), shape.columns.len());
    let mut bad = Vec::new();
    let mut fallback = false;
    if !encode_all(shape, shape.format, &chunk, &mut rows, &mut bad) {
        // A value only the server can convert: the chunk goes as text, all of it, so it
        // stays one statement in one transaction with its ledger row.
        fallback = true;
        rows.clear();
        bad.clear();
        let done = encode_all(shape, Format::Text, &chunk, &mut rows, &mut bad);
        debug_assert!(done, "text rows defer nothing");
    }
    chunk.batch.drop_fields();
    EncodedChunk {
        chunk,
        rows,
        bad,
        fallback,
        recycle,
    }
}

/// Encodes every record of `chunk` in `format`; `false` at the first deferred value.
fn encode_all(
    shape: &ChunkShape,
    format: Format,
    chunk: &Chunk,
    rows: &mut EncodedRows,
    bad: &mut Vec<(u32, Error)>,
) -> bool {
    let encoder = Encoder::new(shape.columns.clone(), format);
    let proj = &shape.projections[chunk.file_index];
    let rewrites: Vec<Rewrite> = shape
        .columns
        .iter()
        .map(|c| rewrite_of(shape, c.ty))
        .collect();
    let rewrite = rewrites.iter().any(|r| *r != Rewrite::Keep);
    let mut scratch = Vec::new();
    // Where each rewritten value of a row lies in `scratch`: (column, start, end).
    let mut at = Vec::new();
    for i in 0..chunk.batch.len() {
        let rec = chunk.batch.record(i);
        let encoded = if rewrite {
            // Each value rewritten (a number with a comma, a date in another order) goes
            // into `scratch`, then the row's fields point there instead.
            scratch.clear();
            at.clear();
            for (c, f) in rec.project(proj).enumerate() {
                let start = scratch.len();
                let Some(v) = f else { continue };
                let done = match rewrites.get(c) {
                    Some(Rewrite::DecimalComma) => decimal_point(v, &mut scratch),
                    Some(Rewrite::Date(order)) => iso_date(v, *order, &mut scratch),
                    _ => false,
                };
                if done {
                    at.push((c, start, scratch.len()));
                }
            }
            let mut fields: Vec<Option<&[u8]>> = rec.project(proj).collect();
            for &(c, start, end) in &at {
                fields[c] = Some(&scratch[start..end]);
            }
            encoder.encode_row(fields, i as u32, rows)
        } else {
            encoder.encode_row(rec.project(proj), i as u32, rows)
        };
        if let Err(e) = encoded {
            if e.deferred {
                return false;
            }
            let value = proj.get(e.column).and_then(|&j| rec.field(j));
            let loc = Location {
                file: shape.files[chunk.file_index].clone(),
                pos: rec.position(),
                column: None,
            };
            let column = shape.columns.get(e.column).map(|c| c.type_name.clone());
            let err = e.into_error(loc, &shape.columns, value);
            let err = match (&shape.hint, column) {
                (Some(h), Some(ty)) => err.with_note(&format!("; {}", h(&ty))),
                _ => err,
            };
            bad.push((i as u32, err));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_commas_become_points_and_dots_group_thousands() {
        let point = |v: &str| {
            let mut out = Vec::new();
            decimal_point(v.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap())
        };
        assert_eq!(point("12,5").as_deref(), Some("12.5"));
        assert_eq!(point("-1.234.567,89").as_deref(), Some("-1234567.89"));
        assert_eq!(point("0,001").as_deref(), Some("0.001"));
        // Dots alone that group thousands: as in `1.234,5`, not a decimal point.
        assert_eq!(point("1.234").as_deref(), Some("1234"));
        assert_eq!(point("-1.234.567").as_deref(), Some("-1234567"));
        // No comma: read as written.
        assert_eq!(point("1234"), None);
        assert_eq!(point("1e5"), None);
        assert_eq!(point("1.5"), None);
        assert_eq!(point("0.125"), None);
    }
}
