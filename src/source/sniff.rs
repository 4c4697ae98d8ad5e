//! Finding a file's dialect from a sample of its bytes, as DuckDB's CSV sniffer does:
//! every candidate (delimiter × quote × escape) splits the sample, the one that gives the
//! most rows the same field count wins (then fewer stray quotes, more quoted fields, more
//! fields, then the usual order), and a header is found when the first row differs in
//! type from the rows below it. Pure: no I/O, so every rule is unit-tested on bytes.
//!
//! Parts the user gave (a [`DialectSpec`]) are never second-guessed: they restrict the
//! candidates. A sample that no candidate splits convincingly, although some delimiter
//! occurs in most of its rows, is an error naming those delimiters rather than a
//! one-column table.

use super::Dialect;
use crate::{Error, Result};

/// Bytes the sniffer reads from the start of an input: enough rows for any ordinary
/// file, read in a few milliseconds.
pub const SNIFF_BYTES: usize = 1 << 20;

/// Delimiters tried, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Tried only when none of [`DELIMITERS`] convinces: times (`12:30:00`) make `:` look
/// like a delimiter in files that have another.
const LAST_RESORT: u8 = b':';
const QUOTES: [u8; 2] = [b'"', b'\''];
/// Rows whose values decide the header (their field counts all vote).
const HEADER_ROWS: usize = 200;

/// The dialect as given on the command line: `None` parts are found from the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialectSpec {
    /// `--delimiter`.
    pub delimiter: Option<u8>,
    /// `--quote`.
    pub quote: Option<u8>,
    /// `--escape`.
    pub escape: Option<u8>,
    /// `--header` / `--no-header`.
    pub has_header: Option<bool>,
    /// `--skip-lines`, never sniffed.
    pub skip_lines: u64,
    /// `--null`, never sniffed.
    pub null: Vec<u8>,
    /// `--encoding`, never sniffed (a byte order mark still wins, as when loading).
    pub encoding: Option<super::Encoding>,
    /// `--decimal-comma` (`Some(true)`) or `--no-decimal-comma`; `None` finds it in a
    /// file whose `;` delimiter was found (see `decimal_mark`).
    pub decimal_comma: Option<bool>,
}

impl DialectSpec {
    /// Every part given: nothing to find.
    pub fn given(d: &Dialect) -> DialectSpec {
        DialectSpec {
            delimiter: Some(d.delimiter),
            quote: Some(d.quote),
            escape: Some(d.escape),
            has_header: Some(d.has_header),
            skip_lines: d.skip_lines,
            null: d.null.clone(),
            encoding: d.encoding,
            decimal_comma: None,
        }
    }

    /// Whether every part that can be found was given.
    pub fn is_complete(&self) -> bool {
        self.delimiter.is_some()
            && self.quote.is_some()
            && self.escape.is_some()
            && self.has_header.is_some()
    }

    /// The given parts, PostgreSQL's defaults for the others (the escape defaults to the
    /// quote).
    pub fn or_defaults(&self) -> Dialect {
        let d = Dialect::default();
        let quote = self.quote.unwrap_or(d.quote);
        Dialect {
            delimiter: self.delimiter.unwrap_or(d.delimiter),
            quote,
            escape: self.escape.unwrap_or(quote),
            has_header: self.has_header.unwrap_or(d.has_header),
            skip_lines: self.skip_lines,
            null: self.null.clone(),
            encoding: self.encoding,
        }
    }
}

/// The dialect found, and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The dialect to read with: given parts as given, the others found.
    pub dialect: Dialect,
    /// Which parts were found rather than given.
    pub found: Found,
    /// Rows of the sample that had the chosen field count, of all rows sampled.
    pub consistent: usize,
    /// Rows sampled (blank lines not counted).
    pub rows: usize,
    /// Fields per row under the chosen dialect.
    pub fields: usize,
    /// Why the first row is or is not a header, when that was found.
    pub header_reason: Option<&'static str>,
    /// The `;`-separated sample's numbers have a decimal comma and none a decimal point:
    /// the load reads `12,5` as 12.5 (unless `DialectSpec::decimal_comma` said otherwise).
    pub decimal_comma: bool,
}

/// The parts of a [`Sniffed`] dialect that came from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found {
    /// The delimiter was found.
    pub delimiter: bool,
    /// The quote was found.
    pub quote: bool,
    /// The escape was found.
    pub escape: bool,
    /// Whether there is a header was found.
    pub header: bool,
}

impl Found {
    /// Nothing was found: every part was given.
    pub fn none(&self) -> bool {
        !(self.delimiter || self.quote || self.escape || self.header)
    }
}

/// A byte as a person reads it in a message: `tab`, `';'`.
pub fn show_byte(b: u8) -> String {
    match b {
        b'\t' => "tab".into(),
        b' ' => "space".into(),
        _ => format!("'{}'", b as char),
    }
}

/// A byte as the flag that gives it: `'\t'` for tab, the byte quoted for the shell.
fn flag_byte(b: u8) -> String {
    match b {
        b'\t' => "'\\t'".into(),
        b'\'' => "\"'\"".into(),
        _ => format!("'{}'", b as char),
    }
}

impl Sniffed {
    /// Everything given: no sample read.
    pub fn given(d: &Dialect) -> Sniffed {
        Sniffed {
            dialect: d.clone(),
            found: Found::default(),
            consistent: 0,
            rows: 0,
            fields: 0,
            header_reason: None,
            decimal_comma: false,
        }
    }

    /// One line for the user: the dialect read with, what was found and the flags that
    /// override it; `None` when everything was given, or when what was found is
    /// PostgreSQL's default (`,`, `"`, a header), which needs no word.
    pub fn describe(&self, file: &str) -> Option<String> {
        let plain = Dialect {
            null: self.dialect.null.clone(),
            skip_lines: self.dialect.skip_lines,
            encoding: self.dialect.encoding,
            ..Dialect::default()
        };
        if self.found.none() || self.dialect == plain {
            return None;
        }
        let d = &self.dialect;
        let mark = |found: bool| if found { "" } else { " (given)" };
        let header = match (d.has_header, self.header_reason) {
            (true, Some(why)) => format!("a header ({why})"),
            (false, Some(why)) => format!("no header ({why})"),
            (true, None) => "a header (given)".into(),
            (false, None) => "no header (given)".into(),
        };
        let comma = match self.decimal_comma {
            true => ", decimal comma (numbers such as 12,5)",
            false => "",
        };
        let flags: Vec<&str> = [
            (self.found.delimiter, "--delimiter"),
            (self.found.quote, "--quote"),
            (self.found.escape, "--escape"),
            (self.found.header, "--header/--no-header"),
            (self.decimal_comma, "--no-decimal-comma"),
        ]
        .into_iter()
        .filter_map(|(found, flag)| found.then_some(flag))
        .collect();
        Some(format!(
            "{file}: dialect found from {} of the first {} rows: delimiter {}{}, quote {}{}, escape {}{}, {header}{comma}; {} fields (to override: {})",
            self.consistent,
            self.rows,
            show_byte(d.delimiter),
            mark(self.found.delimiter),
            show_byte(d.quote),
            mark(self.found.quote),
            show_byte(d.escape),
            mark(self.found.escape),
            self.fields,
            flags.join(", "),
        ))
    }
}

/// How one candidate split the sample.
#[derive(Debug, Default)]
struct Split {
    /// Field count of each non-blank record, in order.
    counts: Vec<usize>,
    /// Values of the first [`HEADER_ROWS`] non-blank records.
    values: Vec<Vec<Vec<u8>>>,
    /// Quotes opened inside a field or closed before its end: signs of the wrong quote.
    stray: usize,
    /// Fields opened by a quote: of two quotes that split alike, the one the file uses.
    quoted: usize,
    /// The sample ended inside quotes although it was the whole input.
    #[cfg_attr(not(test), allow(dead_code))]
    unbalanced: bool,
}

/// Splits `sample` as PostgreSQL's CSV COPY would with this delimiter, quote and escape.
/// An incomplete sample's last record may be cut short, so it is left out.
fn split(sample: &[u8], complete: bool, delim: u8, quote: u8, escape: u8) -> Split {
    let mut s = Split::default();
    let (mut fields, mut field): (Vec<Vec<u8>>, Vec<u8>) = (Vec::new(), Vec::new());
    let mut count = 1;
    let (mut in_quotes, mut at_start, mut just_closed, mut blank) = (false, true, false, true);
    let mut i = 0;
    let keep = |s: &Split| s.values.len() < HEADER_ROWS;
    while i < sample.len() {
        let b = sample[i];
        if in_quotes {
            let next = sample.get(i + 1).copied();
            if b == escape && (next == Some(quote) || (escape != quote && next == Some(escape))) {
                if keep(&s) {
                    field.push(next.unwrap_or(b));
                }
                i += 2;
                continue;
            }
            if b == quote {
                in_quotes = false;
                just_closed = true;
            } else if keep(&s) {
                field.push(b);
            }
            i += 1;
            continue;
        }
        if just_closed && b != delim && b != b'\n' && b != b'\r' && b != quote {
            s.stray += 1;
        }
        just_closed = false;
        match b {
            b'\n' | b'\r' => {
                if !blank {
                    s.counts.push(count);
                    if keep(&s) {
                        fields.push(std::mem::take(&mut field));
                        s.values.push(std::mem::take(&mut fields));
                    }
                }
                field.clear();
                fields.clear();
                if b == b'\r' && sample.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                count = 1;
                (at_start, blank) = (true, true);
            }
            _ if b == delim => {
                count += 1;
                if keep(&s) {
                    fields.push(std::mem::take(&mut field));
                }
                (at_start, blank) = (true, false);
            }
            _ if b == quote => {
                match at_start {
                    true => s.quoted += 1,
                    false => s.stray += 1,
                }
                in_quotes = true;
                (at_start, blank) = (false, false);
            }
            _ => {
                if keep(&s) {
                    field.push(b);
                }
                (at_start, blank) = (false, false);
            }
        }
        i += 1;
    }
    if in_quotes {
        // An open quote at the very end of a whole input is a broken last record (the
        // load says where) or the wrong quote: a mark against the candidate, not a
        // disqualification. A sample cut short may well end inside a quoted field.
        s.unbalanced = complete;
        s.stray += usize::from(complete);
    } else if complete && !blank {
        s.counts.push(count);
        if keep(&s) {
            fields.push(field);
            s.values.push(fields);
        }
    }
    s
}

/// A candidate's standing: compared field by field, greater is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    consistent: usize,
    fewer_stray: std::cmp::Reverse<usize>,
    quoted: usize,
    fields: usize,
    /// Earlier candidates win ties.
    earlier: std::cmp::Reverse<usize>,
}

/// The most common field count (the larger on a tie) and how many rows have it.
fn mode(counts: &[usize]) -> (usize, usize) {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best = (0, 0);
    for run in sorted.chunk_by(|a, b| a == b) {
        if run.len() >= best.1 {
            best = (run[0], run.len());
        }
    }
    best
}

/// Finds the parts of the dialect `spec` leaves open from `sample`, the input's first
/// bytes after the BOM and the skipped lines (`complete`: the whole input). `file` names
/// the input in the error of a sample no candidate splits convincingly.
pub fn sniff(file: &str, sample: &[u8], complete: bool, spec: &DialectSpec) -> Result<Sniffed> {
    if spec.is_complete() {
        return Ok(Sniffed::given(&spec.or_defaults()));
    }
    let delims: Vec<u8> = spec.delimiter.map_or(DELIMITERS.to_vec(), |d| vec![d]);
    let quotes: Vec<u8> = spec.quote.map_or(QUOTES.to_vec(), |q| vec![q]);
    let mut best = pick(sample, complete, spec, &delims, &quotes);
    if best.is_none() && spec.delimiter.is_none() {
        best = pick(sample, complete, spec, &[LAST_RESORT], &quotes);
    }
    let (cand, split, (fields, consistent)) = match best {
        Some(b) => b,
        None => one_column(file, sample, complete, spec)?,
    };
    let rows = split.counts.len();
    let (has_header, header_reason) = match spec.has_header {
        Some(h) => (h, None),
        None => {
            let (h, why) = header(&split.values);
            (h, Some(why))
        }
    };
    // A European Excel's numbers: only where its `;` was found, never against a flag.
    let data = &split.values[usize::from(has_header).min(split.values.len())..];
    let decimal_comma = spec.decimal_comma.is_none()
        && spec.delimiter.is_none()
        && cand.0 == b';'
        && super::decimal_mark::decimal_commas(data);
    Ok(Sniffed {
        dialect: Dialect {
            delimiter: cand.0,
            quote: cand.1,
            escape: cand.2,
            has_header,
            skip_lines: spec.skip_lines,
            null: spec.null.clone(),
            encoding: spec.encoding,
        },
        found: Found {
            delimiter: spec.delimiter.is_none(),
            quote: spec.quote.is_none(),
            escape: spec.escape.is_none(),
            header: spec.has_header.is_none(),
        },
        consistent,
        rows,
        fields,
        header_reason,
        decimal_comma,
    })
}

type Candidate = (u8, u8, u8);

/// The best candidate of these delimiters and quotes: one that splits most rows into the
/// same count of two or more fields, or any at all when the delimiter was given.
fn pick(
    sample: &[u8],
    complete: bool,
    spec: &DialectSpec,
    delims: &[u8],
    quotes: &[u8],
) -> Option<(Candidate, Split, (usize, usize))> {
    let mut best: Option<(Score, Candidate, Split, (usize, usize))> = None;
    let mut order = 0;
    for &d in delims {
        for &q in quotes {
            // `'` is tried only where one opens a field: apostrophes in text are common.
            let opens = |w: &[u8]| w[1] == q && (w[0] == d || w[0] == b'\n');
            if d == q
                || (spec.quote.is_none()
                    && q != QUOTES[0]
                    && !(sample.first() == Some(&q) || sample.windows(2).any(opens)))
            {
                continue;
            }
            let escapes: Vec<u8> = match spec.escape {
                Some(e) => vec![e],
                // A backslash escape only matters where one stands before a quote.
                None if sample.windows(2).any(|w| w == [b'\\', q]) => vec![q, b'\\'],
                None => vec![q],
            };
            for e in escapes {
                order += 1;
                let s = split(sample, complete, d, q, e);
                let (fields, consistent) = mode(&s.counts);
                // A majority, so one bad row in a small file does not stop the load (it
                // is rejected or named by the load itself).
                let convincing = fields >= 2 && consistent * 2 > s.counts.len();
                if !(convincing || spec.delimiter.is_some()) {
                    continue;
                }
                let score = Score {
                    consistent,
                    fewer_stray: std::cmp::Reverse(s.stray),
                    quoted: s.quoted,
                    fields,
                    earlier: std::cmp::Reverse(order),
                };
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, (d, q, e), s, (fields, consistent)));
                }
            }
        }
    }
    best.map(|(_, c, s, m)| (c, s, m))
}

/// No delimiter convinced: a file of one column, unless some delimiter occurs in most of
/// its rows, which is then named in the error.
fn one_column(
    file: &str,
    sample: &[u8],
    complete: bool,
    spec: &DialectSpec,
) -> Result<(Candidate, Split, (usize, usize))> {
    let d = spec.or_defaults();
    let mut likely = Vec::new();
    for delim in DELIMITERS.into_iter().chain([LAST_RESORT]) {
        let s = split(sample, complete, delim, d.quote, d.escape);
        let split_rows = s.counts.iter().filter(|&&c| c >= 2).count();
        if split_rows >= 2 && split_rows * 2 >= s.counts.len() {
            let (lo, hi) = s
                .counts
                .iter()
                .fold((usize::MAX, 0), |(lo, hi), &c| (lo.min(c), hi.max(c)));
            likely.push((delim, lo, hi, split_rows, s.counts.len()));
        }
    }
    if let Some(&(first, ..)) = likely.first() {
        let named: Vec<String> = likely
            .iter()
            .map(|&(b, lo, hi, n, of)| {
                format!(
                    "{} (in {n} of {of} rows, {lo} to {hi} fields a row)",
                    show_byte(b)
                )
            })
            .collect();
        return Err(Error::usage(format!(
            "{file}: cannot tell the CSV dialect: no delimiter splits the first rows into the \
             same number of fields, but these occur in most of them: {}; pass the delimiter \
             (e.g. --delimiter {}), and --quote if fields are quoted otherwise",
            named.join(", "),
            flag_byte(first)
        )));
    }
    let s = split(sample, complete, d.delimiter, d.quote, d.escape);
    let m = (1, s.counts.len());
    Ok(((d.delimiter, d.quote, d.escape), s, m))
}

/// What a value looks like, for telling a header from data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Null,
    Int,
    Num,
    Bool,
    Date,
    Timestamp,
    Text,
}

fn class(v: &[u8]) -> Class {
    let t = v.trim_ascii();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let unsigned = t.strip_prefix(b"-").unwrap_or(t);
    if t.is_empty() || [&b"NA"[..], b"NaN", b"null", b"NULL", b"None"].contains(&t) {
        return Class::Null;
    }
    let (mantissa, exponent) = match unsigned.iter().position(|&b| b == b'e' || b == b'E') {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let exponent_ok = exponent.is_none_or(|x| {
        digits(
            x.strip_prefix(b"-")
                .or_else(|| x.strip_prefix(b"+"))
                .unwrap_or(x),
        )
    });
    let mut parts = mantissa.splitn(2, |&b| b == b'.' || b == b',');
    let (whole, frac) = (parts.next().unwrap_or_default(), parts.next());
    let number = match frac {
        None => digits(whole),
        Some(f) => (whole.is_empty() || digits(whole)) && digits(f),
    };
    if number && exponent_ok {
        return match (frac, exponent) {
            (None, None) => Class::Int,
            _ => Class::Num,
        };
    }
    if ["true", "false", "TRUE", "FALSE", "True", "False"]
        .iter()
        .any(|w| t == w.as_bytes())
    {
        return Class::Bool;
    }
    let date = |s: &[u8]| {
        s.len() == 10
            && s.iter().enumerate().all(|(i, b)| {
                matches!(i, 4 | 7) == matches!(b, b'-' | b'/')
                    && (matches!(i, 4 | 7) || b.is_ascii_digit())
            })
    };
    if date(t) {
        return Class::Date;
    }
    if t.len() > 11 && date(&t[..10]) && matches!(t[10], b' ' | b'T') {
        return Class::Timestamp;
    }
    Class::Text
}

/// Whether a first-row value of class `first` fits a column of class `col`: the same
/// kind (a number, a point in time), or NULL.
fn fits(first: Class, col: Class) -> bool {
    let kind = |c: Class| match c {
        Class::Int | Class::Num => Class::Num,
        Class::Date | Class::Timestamp => Class::Timestamp,
        c => c,
    };
    first == Class::Null || kind(first) == kind(col)
}

/// The class every non-null value of a column fits; `None` with no value.
fn column_class(values: impl Iterator<Item = Class>) -> Option<Class> {
    values
        .filter(|&c| c != Class::Null)
        .reduce(|a, b| match (a, b) {
            _ if a == b => a,
            (Class::Int, Class::Num) | (Class::Num, Class::Int) => Class::Num,
            (Class::Date, Class::Timestamp) | (Class::Timestamp, Class::Date) => Class::Timestamp,
            _ => Class::Text,
        })
}

/// Whether the first of `rows` is a header, and why: a row that is text over a typed
/// column is one; a row that fits every typed column is data; over text columns only, a
/// row of distinct names that do not recur below is taken for a header.
fn header(rows: &[Vec<Vec<u8>>]) -> (bool, &'static str) {
    let Some((first, body)) = rows.split_first() else {
        return (true, "the input is empty");
    };
    let first: Vec<Class> = first.iter().map(|v| class(v)).collect();
    if body.is_empty() {
        return match first.iter().all(|&c| c == Class::Text || c == Class::Null) {
            true => (true, "the only row is text"),
            false => (false, "the only row holds numbers or dates"),
        };
    }
    let mut typed = 0;
    for (i, &f) in first.iter().enumerate() {
        let col = column_class(body.iter().filter_map(|r| r.get(i)).map(|v| class(v)));
        match col {
            Some(c) if c != Class::Text => {
                if !fits(f, c) {
                    return (true, "the first row is text over typed columns");
                }
                typed += 1;
            }
            _ => {}
        }
    }
    if typed > 0 {
        return (false, "the first row has the types of the rows below");
    }
    let names = &rows[0];
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    let recur = names
        .iter()
        .enumerate()
        .any(|(i, n)| !n.is_empty() && body.iter().any(|r| r.get(i) == Some(n)));
    match (distinct, recur) {
        (true, false) => (true, "the first row holds distinct names over text columns"),
        _ => (false, "the first row's values repeat like data"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sample: &str) -> Dialect {
        sniff("f", sample.as_bytes(), true, &DialectSpec::default())
            .unwrap()
            .dialect
    }

    fn shape(d: &Dialect) -> (char, char, char, bool) {
        (
            d.delimiter as char,
            d.quote as char,
            d.escape as char,
            d.has_header,
        )
    }

    #[test]
    fn delimiters_are_found_by_consistent_field_counts() {
        let csv = "id,name,score\n1,ann,2.5\n2,bob,3\n";
        assert_eq!(shape(&found(csv)), (',', '"', '"', true));
        let tsv = "id\tname\tscore\n1\tann, jr\t2.5\n2\tbob, sr\t3\n";
        assert_eq!(shape(&found(tsv)), ('\t', '"', '"', true));
        // Decimal commas in every row: the semicolons give more fields.
        let semi = "id;amount;city\n1;12,5;Wien\n2;3,25;Graz\n";
        assert_eq!(shape(&found(semi)), (';', '"', '"', true));
        let pipe = "1|x|2020-01-01\n2|y|2020-01-02\n";
        assert_eq!(shape(&found(pipe)), ('|', '"', '"', false));
    }

    #[test]
    fn quoted_delimiters_do_not_count_and_the_right_quote_is_found() {
        let csv = "a;b\n\"x;y\";1\n\"p;q\";2\n";
        assert_eq!(shape(&found(csv)), (';', '"', '"', true));
        let single = "a,b\n'x,y',1\n'p,q',2\n'it''s',3\n";
        assert_eq!(shape(&found(single)), (',', '\'', '\'', true));
        // Quoted fields without delimiters in them split alike: the quote used wins.
        let single = "'a','b'\n'x',1\n";
        assert_eq!(shape(&found(single)), (',', '\'', '\'', true));
        // Apostrophes in text do not make `'` the quote.
        let apos = "name,n\nO'Brien,1\nD'Arcy,2\n";
        assert_eq!(shape(&found(apos)), (',', '"', '"', true));
        let backslash = "a,b\n\"say \\\"hi\\\", now\",1\n\"x\",2\n";
        assert_eq!(shape(&found(backslash)), (',', '"', '\\', true));
    }

    #[test]
    fn a_sample_cut_inside_a_quoted_field_keeps_its_quote() {
        // `'` quotes every text field; the sample ends inside one. `"` splits alike but
        // quotes nothing: the cut must not count against `'`.
        let mut text = String::from("'id','name','city'\n");
        for i in 0..50 {
            text.push_str(&format!("{i},'name {i}','city {i}'\n"));
        }
        text.push_str("50,'cut sh");
        let s = sniff("f.csv", text.as_bytes(), false, &DialectSpec::default()).unwrap();
        assert_eq!(s.dialect.quote, b'\'');
        assert!(s.dialect.has_header);
    }

    #[test]
    fn headers_are_found_by_type_or_by_names() {
        assert!(found("a,b\n1,2\n3,4\n").has_header);
        assert!(!found("1,2\n3,4\n").has_header);
        assert!(found("city,country\nWien,AT\nGraz,AT\n").has_header);
        // Values that recur below are data.
        assert!(!found("AT,Wien\nAT,Graz\n").has_header);
        // Empty header cells over typed columns (an Excel header `a,b,`).
        assert!(found("a,b,\n1,2,\n3,4,\n").has_header);
        assert!(!found("2020-01-01,1.5\n2020-01-02,2\n").has_header);
    }

    #[test]
    fn a_semicolon_files_decimal_commas_are_found_unless_flags_say() {
        let semi = b"id;amount;city\n1;12,5;Wien\n2;1.234,5;Graz\n3;7;Linz\n";
        let s = sniff("f", semi, true, &DialectSpec::default()).unwrap();
        assert!(s.decimal_comma);
        let line = s.describe("f").unwrap();
        assert!(
            line.contains("decimal comma (numbers such as 12,5)"),
            "{line}"
        );
        assert!(line.contains("--no-decimal-comma"), "{line}");
        // A decimal point anywhere, a comma-separated file, or a flag: off.
        let mixed = b"id;amount\n1;12,5\n2;3.5\n";
        assert!(
            !sniff("f", mixed, true, &DialectSpec::default())
                .unwrap()
                .decimal_comma
        );
        let comma = b"id,amount\n1,\"12,5\"\n2,\"3,5\"\n";
        assert!(
            !sniff("f", comma, true, &DialectSpec::default())
                .unwrap()
                .decimal_comma
        );
        for spec in [
            DialectSpec {
                decimal_comma: Some(false),
                ..DialectSpec::default()
            },
            DialectSpec {
                delimiter: Some(b';'),
                ..DialectSpec::default()
            },
        ] {
            assert!(!sniff("f", semi, true, &spec).unwrap().decimal_comma);
        }
        // The header's cells do not vote.
        let head = b"1.5;2.5\n12,5;3\n";
        let spec = DialectSpec {
            has_header: Some(true),
            ..DialectSpec::default()
        };
        assert!(sniff("f", head, true, &spec).unwrap().decimal_comma);
    }

    #[test]
    fn given_parts_win() {
        let spec = DialectSpec {
            delimiter: Some(b','),
            has_header: Some(false),
            ..DialectSpec::default()
        };
        let s = sniff("f", b"a;b\n1;2\n", true, &spec).unwrap();
        assert_eq!(shape(&s.dialect), (',', '"', '"', false));
        assert!(s.found.quote && !s.found.delimiter && !s.found.header);
        let all = DialectSpec::given(&Dialect::default());
        let s = sniff("f", b"a\tb\n", true, &all).unwrap();
        assert_eq!(s.dialect, Dialect::default());
        assert_eq!(s.describe("f"), None);
    }

    #[test]
    fn unconvincing_samples_name_the_likely_delimiters() {
        let ragged = "a;b\n1;2;3\n4;5;6;7\n8\n9;1;2;3;4\n";
        let err = sniff("f.csv", ragged.as_bytes(), true, &DialectSpec::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.csv: cannot tell the CSV dialect"), "{err}");
        assert!(
            err.contains("';' (in 4 of 5 rows, 1 to 5 fields a row)"),
            "{err}"
        );
        assert!(err.contains("--delimiter ';'"), "{err}");
        // One column of plain words is one column.
        let s = sniff("f", b"word\napple\npear\n", true, &DialectSpec::default()).unwrap();
        assert_eq!((s.fields, s.dialect.delimiter), (1, b','));
    }

    #[test]
    fn a_bad_row_in_a_small_file_does_not_hide_the_delimiter() {
        let s = found("id,name,n\n1,a,1\n2,b,2\n3,c\n4,d,4\n");
        assert_eq!(shape(&s), (',', '"', '"', true));
    }

    #[test]
    fn a_cut_sample_drops_its_last_row_and_open_quotes() {
        let cut = "a|b\n1|2\n3|\"long";
        let s = sniff("f", cut.as_bytes(), false, &DialectSpec::default()).unwrap();
        assert_eq!((s.dialect.delimiter, s.rows, s.consistent), (b'|', 2, 2));
        // The same bytes as the whole input leave a quote open: a mark against `"`, and
        // still the dialect (the load then names the unterminated quote).
        let s = split(cut.as_bytes(), true, b'|', b'"', b'"');
        assert!(s.unbalanced && s.stray == 1);
        let s = sniff("f", cut.as_bytes(), true, &DialectSpec::default()).unwrap();
        assert_eq!(shape(&s.dialect), ('|', '"', '"', true));
        // A plain CSV is found and needs no line.
        let s = sniff("f", b"a,b\n1,2\n", true, &DialectSpec::default()).unwrap();
        assert_eq!(s.describe("f"), None);
    }

    #[test]
    fn sniffing_is_deterministic_and_describes_itself() {
        let tsv = "id\tname\n1\tann\n2\tbob\n";
        let a = sniff("t.tsv", tsv.as_bytes(), true, &DialectSpec::default()).unwrap();
        let b = sniff("t.tsv", tsv.as_bytes(), true, &DialectSpec::default()).unwrap();
        assert_eq!(a, b);
        let line = a.describe("t.tsv").unwrap();
        assert!(
            line.starts_with("t.tsv: dialect found from 3 of the first 3 rows: delimiter tab, quote '\"', escape '\"', a header (the first row is text over typed columns); 2 fields"),
            "{line}"
        );
    }

    #[test]
    fn values_are_classed_for_the_header() {
        for (v, c) in [
            ("12", Class::Int),
            ("-3", Class::Int),
            ("1.5", Class::Num),
            ("12,5", Class::Num),
            ("1e5", Class::Num),
            ("2.5E-3", Class::Num),
            ("", Class::Null),
            ("NA", Class::Null),
            ("true", Class::Bool),
            ("2020-01-31", Class::Date),
            ("2020-01-31 10:00", Class::Timestamp),
            ("amount", Class::Text),
        ] {
            assert_eq!(class(v.as_bytes()), c, "{v}");
        }
    }
}
