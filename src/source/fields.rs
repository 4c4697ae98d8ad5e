//! Where read records live: one record ([`super::Record`]) or a whole chunk of them
//! (`chunk::RecordBatch`) in the same three flat buffers, so the reader can append a
//! record straight into a chunk instead of copying it there afterwards.

use std::ops::Range;

/// A field's bytes, 8 bytes a field: `start..end` of the raw record bytes, or of the
/// unescaped values when [`Span::DATA`] is set in `start` (a quoted field that needed
/// unescaping); NULL is `start == u32::MAX`. Offsets stay below [`MAX_OFFSET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// Offsets into a buffer of fields stay below this (2 GiB): a record is at most
/// [`MAX_RECORD_BYTES`] and a batch of several at most [`MAX_BATCH_BYTES`].
pub(crate) const MAX_OFFSET: usize = (1 << 31) - 1;

/// The longest record read: 1 GiB less a byte, PostgreSQL's `MaxAllocSize`, past which
/// its COPY cannot hold a line either.
pub(crate) const MAX_RECORD_BYTES: usize = (1 << 30) - 1;

/// The most raw bytes in one batch of records: a chunk closes before passing it, whatever
/// its limits say.
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 30;

impl Span {
    const DATA: u32 = 1 << 31;

    /// A NULL field.
    pub(crate) const NULL: Span = Span {
        start: u32::MAX,
        end: u32::MAX,
    };

    /// Bytes `start..end` of the raw record bytes.
    #[inline(always)]
    pub(crate) fn raw(start: usize, end: usize) -> Span {
        debug_assert!(start <= end && end < MAX_OFFSET);
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// Bytes `start..end` of the unescaped values.
    #[inline(always)]
    pub(crate) fn data(start: usize, end: usize) -> Span {
        debug_assert!(start <= end && end < MAX_OFFSET);
        Span {
            start: start as u32 | Span::DATA,
            end: end as u32,
        }
    }

    #[inline(always)]
    pub(crate) fn is_null(self) -> bool {
        self.start == u32::MAX
    }

    #[inline(always)]
    fn in_data(self) -> bool {
        self.start & Span::DATA != 0
    }

    #[inline(always)]
    fn range(self) -> Range<usize> {
        (self.start & !Span::DATA) as usize..self.end as usize
    }

    /// The same field after its record's raw bytes moved from offset `raw.0` to `raw.1`
    /// and its values from `data.0` to `data.1`.
    fn moved(self, raw: (usize, usize), data: (usize, usize)) -> Span {
        if self.is_null() {
            return self;
        }
        let r = self.range();
        match self.in_data() {
            true => Span::data(r.start + data.1 - data.0, r.end + data.1 - data.0),
            false => Span::raw(r.start + raw.1 - raw.0, r.end + raw.1 - raw.0),
        }
    }
}

/// Raw bytes, unescaped values and field spans of one or more records, appended in
/// input order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffers {
    /// Records exactly as read, terminators included.
    pub(crate) raw: Vec<u8>,
    /// Unescaped values of the quoted fields that had to be unescaped.
    pub(crate) data: Vec<u8>,
    pub(crate) spans: Vec<Span>,
}

/// The lengths of [`Buffers`] before a record was appended: where it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) raw: usize,
    pub(crate) data: usize,
    pub(crate) spans: usize,
}

impl Buffers {
    pub(crate) fn clear(&mut self) {
        self.raw.clear();
        self.data.clear();
        self.spans.clear();
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            raw: self.raw.len(),
            data: self.data.len(),
            spans: self.spans.len(),
        }
    }

    /// Drops what was appended after `m`.
    pub(crate) fn truncate(&mut self, m: Mark) {
        self.raw.truncate(m.raw);
        self.data.truncate(m.data);
        self.spans.truncate(m.spans);
    }

    /// Field `s`; `None` is NULL.
    #[inline(always)]
    pub(crate) fn get(&self, s: Span) -> Option<&[u8]> {
        if s.is_null() {
            None
        } else if s.in_data() {
            Some(&self.data[s.range()])
        } else {
            Some(&self.raw[s.range()])
        }
    }

    /// Appends what `from` holds after `m` (one record), its spans moved to index here.
    pub(crate) fn append_tail(&mut self, from: &Buffers, m: Mark) {
        let (raw, data) = (self.raw.len(), self.data.len());
        self.raw.extend_from_slice(&from.raw[m.raw..]);
        self.data.extend_from_slice(&from.data[m.data..]);
        self.spans.extend(
            from.spans[m.spans..]
                .iter()
                .map(|s| s.moved((m.raw, raw), (m.data, data))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_index_raw_or_data_and_move_with_their_record() {
        let mut a = Buffers::default();
        a.raw.extend_from_slice(b"x\n");
        let m = a.mark();
        a.raw.extend_from_slice(b"ab,\"c\"\"d\",\n");
        a.data.extend_from_slice(b"c\"d");
        a.spans
            .extend([Span::raw(2, 4), Span::data(0, 3), Span::NULL]);
        let got = |b: &Buffers, from: usize| -> Vec<Option<Vec<u8>>> {
            b.spans[from..]
                .iter()
                .map(|&s| b.get(s).map(<[u8]>::to_vec))
                .collect()
        };
        let want = vec![Some(b"ab".to_vec()), Some(b"c\"d".to_vec()), None];
        assert_eq!(got(&a, 0), want);
        let mut b = Buffers::default();
        b.append_tail(&a, m);
        assert_eq!(got(&b, 0), want);
        assert_eq!(b.raw, b"ab,\"c\"\"d\",\n");
        // And forward, behind other records.
        let mut c = a.clone();
        c.append_tail(&a, m);
        assert_eq!(got(&c, 0), [want.clone(), want.clone()].concat());
        a.truncate(m);
        assert_eq!((a.raw.len(), a.data.len(), a.spans.len()), (2, 0, 0));
    }
}
