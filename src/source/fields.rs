//! Where read records live: one record ([`super::Record`]) or a whole chunk of them
//! (`chunk::RecordBatch`) in the same three flat buffers, so the reader can append a
//! record straight into a chunk instead of copying it there afterwards.

/// A field's bytes, 8 bytes a field: `start..end` of the raw record bytes or, for a
/// record that had values to unescape, of the unescaped values (the record says which,
/// once for all its fields: the encoders' field loops stay small); NULL is
/// `start == u32::MAX`. Offsets stay below [`MAX_OFFSET`].
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
    /// A NULL field.
    pub(crate) const NULL: Span = Span {
        start: u32::MAX,
        end: u32::MAX,
    };

    /// Bytes `start..end` of the record's buffer.
    #[inline(always)]
    pub(crate) fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end && end < MAX_OFFSET);
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline(always)]
    pub(crate) fn is_null(self) -> bool {
        self.start == u32::MAX
    }

    /// The field's bytes in `values`; `None` is NULL.
    #[inline(always)]
    pub(crate) fn get(self, values: &[u8]) -> Option<&[u8]> {
        (!self.is_null()).then(|| &values[self.start as usize..self.end as usize])
    }

    /// The same field after its record's buffer moved from offset `from` to `to`.
    fn moved(self, from: usize, to: usize) -> Span {
        match self.is_null() {
            true => self,
            false => Span::new(
                self.start as usize + to - from,
                self.end as usize + to - from,
            ),
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

    /// The buffer a record's spans index: the raw bytes, or the unescaped values when
    /// the record had some (`in_raw` false).
    #[inline(always)]
    pub(crate) fn values(&self, in_raw: bool) -> &[u8] {
        match in_raw {
            true => &self.raw,
            false => &self.data,
        }
    }

    /// Appends what `from` holds after `m` (one record, whose spans index the raw bytes
    /// if `in_raw`), its spans moved to index here.
    pub(crate) fn append_tail(&mut self, from: &Buffers, m: Mark, in_raw: bool) {
        let (from_at, to_at) = match in_raw {
            true => (m.raw, self.raw.len()),
            false => (m.data, self.data.len()),
        };
        self.raw.extend_from_slice(&from.raw[m.raw..]);
        self.data.extend_from_slice(&from.data[m.data..]);
        self.spans.extend(
            from.spans[m.spans..]
                .iter()
                .map(|s| s.moved(from_at, to_at)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_move_with_their_record() {
        let mut a = Buffers::default();
        a.raw.extend_from_slice(b"x\n");
        a.data.extend_from_slice(b"old");
        let m = a.mark();
        a.raw.extend_from_slice(b"ab,\"c\"\"d\",\n");
        a.data.extend_from_slice(b"abc\"d");
        let got = |b: &Buffers, from: usize, in_raw: bool| -> Vec<Option<Vec<u8>>> {
            b.spans[from..]
                .iter()
                .map(|&s| s.get(b.values(in_raw)).map(<[u8]>::to_vec))
                .collect()
        };
        let v = |f: &[u8]| Some(f.to_vec());
        // Spans of the raw bytes (`c` is the quoted field's raw bytes between its quotes),
        // then of the unescaped values.
        for (in_raw, spans, want) in [
            (
                true,
                [Span::new(2, 4), Span::new(6, 7), Span::NULL],
                vec![v(b"ab"), v(b"c"), None],
            ),
            (
                false,
                [Span::new(3, 5), Span::new(5, 8), Span::NULL],
                vec![v(b"ab"), v(b"c\"d"), None],
            ),
        ] {
            let mut a = a.clone();
            a.spans.extend(spans);
            assert_eq!(got(&a, 0, in_raw), want);
            let mut b = Buffers::default();
            b.append_tail(&a, m, in_raw);
            assert_eq!(got(&b, 0, in_raw), want);
            assert_eq!(b.raw, b"ab,\"c\"\"d\",\n");
            // And forward, behind other records.
            let mut c = a.clone();
            c.append_tail(&a, m, in_raw);
            assert_eq!(got(&c, 0, in_raw), [want.clone(), want].concat());
            a.truncate(m);
            assert_eq!((a.raw.len(), a.data.len(), a.spans.len()), (2, 3, 0));
        }
    }
}
