//! The dialect chunkload finds for each file named on stdin (one path a line), as one
//! tab-separated line each: path, delimiter, quote, escape (bytes as numbers), header
//! (1/0), or path, `error`, message. `benches/sniff_corpus.py` compares it with DuckDB.

use chunkload::source::{detect_dialect, DialectSpec};
use std::io::{BufRead, Write};

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in std::io::stdin().lock().lines() {
        let path = path.expect("a path on stdin");
        let line = match detect_dialect(&path, None, &DialectSpec::default()) {
            Ok(s) => {
                let d = s.dialect;
                format!(
                    "{path}\t{}\t{}\t{}\t{}",
                    d.delimiter, d.quote, d.escape, d.has_header as u8
                )
            }
            Err(e) => format!(
                "{path}\terror\t{}",
                e.to_string().replace(['\t', '\n'], " ")
            ),
        };
        writeln!(out, "{line}").expect("write to stdout");
    }
}
