//! COPY framing: the text format's escaping, the binary header and trailer, and the
//! `COPY ... FROM STDIN` statement.

use std::io;

use bytes::BytesMut;

use crate::encode::{Column, EncodedRows, Format};
use crate::sql::{push_ident_list, QualifiedName};

/// Appends `v` escaped for COPY text format.
pub(super) fn escape_copy_text(v: &[u8], buf: &mut Vec<u8>) {
    if !v
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(v);
        return;
    }
    for &b in v {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Appends COPY-text-escaped `v` unescaped (the inverse of [`escape_copy_text`]).
pub(super) fn unescape_copy_text(v: &[u8], out: &mut BytesMut) {
    if !v.contains(&b'\\') {
        out.extend_from_slice(v);
        return;
    }
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        if b == b'\\' && i + 1 < v.len() {
            out.extend_from_slice(&[match v[i + 1] {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                other => other,
            }]);
            i += 2;
        } else {
            out.extend_from_slice(&[b]);
            i += 1;
        }
    }
}

/// Signature, flags and header-extension length of a COPY BINARY stream.
pub const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end-of-data marker of a COPY BINARY stream (a field count of -1).
pub const COPY_BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// Writes the selected rows (indices in increasing order make the fastest writes) as one
/// complete COPY data stream: header, tuples and trailer for binary, lines for text.
/// Consecutive rows are written with a single `write_all`.
pub fn write_copy(
    rows: &EncodedRows,
    select: impl Iterator<Item = usize>,
    format: Format,
    w: &mut impl io::Write,
) -> io::Result<()> {
    if !rows.is_empty() && rows.format != format {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rows were encoded in another COPY format",
        ));
    }
    if format == Format::Binary {
        w.write_all(COPY_BINARY_HEADER)?;
    }
    let mut run: Option<std::ops::Range<usize>> = None;
    for i in select {
        let r = rows.row_range(i);
        run = match run {
            Some(cur) if cur.end == r.start => Some(cur.start..r.end),
            Some(cur) => {
                w.write_all(&rows.buf[cur])?;
                Some(r)
            }
            None => Some(r),
        };
    }
    if let Some(cur) = run {
        w.write_all(&rows.buf[cur])?;
    }
    if format == Format::Binary {
        w.write_all(COPY_BINARY_TRAILER)?;
    }
    Ok(())
}

/// `COPY "s"."t" ("a","b") FROM STDIN ...` for rows encoded in `format`. Text format
/// uses no option at all, the default on PostgreSQL and CockroachDB alike.
pub fn copy_sql(table: &QualifiedName, columns: &[Column], format: Format) -> String {
    let mut s = format!("COPY {table} (");
    push_ident_list(&mut s, columns.iter().map(|c| c.name.as_str()));
    s.push_str(") FROM STDIN");
    if format == Format::Binary {
        s.push_str(" (FORMAT binary)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;
    use crate::encode::Encoder;
    use proptest::prelude::*;

    #[test]
    fn write_copy_frames_binary_and_writes_text_lines() {
        let e = Encoder::new(vec![col("n", "int4")], Format::Binary);
        let mut rows = EncodedRows::new();
        for (i, v) in ["1", "2", "3"].iter().enumerate() {
            e.encode_row([Some(v.as_bytes())], i as u32, &mut rows)
                .unwrap();
        }
        let mut out = Vec::new();
        write_copy(&rows, 0..rows.len(), Format::Binary, &mut out).unwrap();
        let mut want = b"PGCOPY\n\xff\r\n\0".to_vec();
        want.extend_from_slice(&[0; 8]);
        for n in 1..=3i32 {
            want.extend_from_slice(&[0, 1, 0, 0, 0, 4]);
            want.extend_from_slice(&n.to_be_bytes());
        }
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(out, want);

        let mut sel = Vec::new();
        write_copy(&rows, [0usize, 2].into_iter(), Format::Binary, &mut sel).unwrap();
        assert_eq!(sel.len(), 19 + 2 * 10 + 2);
        assert_eq!(&sel[19..29], rows.row(0));
        assert_eq!(&sel[29..39], rows.row(2));

        assert!(write_copy(&rows, 0..1, Format::Text, &mut Vec::new()).is_err());

        let t = Encoder::new(vec![col("s", "text")], Format::Text);
        let mut trows = EncodedRows::new();
        for (i, v) in ["a", "b\tc", "d"].iter().enumerate() {
            t.encode_row([Some(v.as_bytes())], i as u32, &mut trows)
                .unwrap();
        }
        let mut text = Vec::new();
        write_copy(&trows, [1usize, 2].into_iter(), Format::Text, &mut text).unwrap();
        assert_eq!(text, b"b\\tc\nd\n");
    }

    /// A writer that records each write call.
    struct Calls(Vec<usize>);
    impl io::Write for Calls {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.push(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_copy_writes_consecutive_rows_in_one_call() {
        let e = Encoder::new(vec![col("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        for i in 0..100 {
            e.encode_row([Some(i.to_string().as_bytes())], i, &mut rows)
                .unwrap();
        }
        let mut w = Calls(Vec::new());
        write_copy(&rows, 0..100, Format::Binary, &mut w).unwrap();
        assert_eq!(w.0, vec![19, rows.byte_len(), 2]);
        let mut w = Calls(Vec::new());
        write_copy(&rows, (0..10).chain(20..30), Format::Binary, &mut w).unwrap();
        assert_eq!(w.0, vec![19, 140, 140, 2]);
    }

    #[test]
    fn copy_sql_golden_strings() {
        let t = QualifiedName::parse("S.\"T t\"").unwrap();
        let cols = weird_cols();
        assert_eq!(
            copy_sql(&t, &cols[..3], Format::Binary),
            "COPY \"s\".\"T t\" (\"id\",\"Cost Total $\",\"select\") FROM STDIN (FORMAT binary)"
        );
        assert_eq!(
            copy_sql(&t, &cols, Format::Text),
            "COPY \"s\".\"T t\" (\"id\",\"Cost Total $\",\"select\",\"a\"\"b\") FROM STDIN"
        );
    }

    proptest! {
        #[test]
        fn prop_escaped_text_unescapes_to_the_original(s in "[a-z\t\n\r\\\\]{0,20}") {
            let mut buf = Vec::new();
            escape_copy_text(s.as_bytes(), &mut buf);
            prop_assert!(!buf.iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r')));
            let mut out = BytesMut::new();
            unescape_copy_text(&buf, &mut out);
            prop_assert_eq!(&out[..], s.as_bytes());
        }
    }
}
