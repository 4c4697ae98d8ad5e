//! Every statement shape the CockroachDB flavour sends, each with the CockroachDB source
//! that says it works on v23.2 to v26.x. The stand-in refuses any other statement when
//! [`super::Options::reviewed_only`] is set (the tests' setting), so new SQL in the
//! CockroachDB flavour fails the suite until someone checks it and adds it here.
//!
//! Shapes are regular expressions over the statement with white space collapsed
//! ([`super::lex::normalise`]), matched whole and without regard to case. `ID` stands for
//! an identifier, quoted or not, optionally qualified.

use super::lex;
use super::rules::Refusal;
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// `(shape, why CockroachDB runs it)`.
pub const SHAPES: &[(&str, &str)] = &[];

fn compiled() -> &'static [Regex] {
    static R: OnceLock<Vec<Regex>> = OnceLock::new();
    R.get_or_init(|| {
        let id =
            r#"(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)(?:\.(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*))*"#;
        SHAPES
            .iter()
            .map(|(shape, _)| {
                RegexBuilder::new(&format!("^(?:{})$", shape.replace("ID", id)))
                    .case_insensitive(true)
                    .dot_matches_new_line(true)
                    .build()
                    .expect("a valid shape")
            })
            .collect()
    })
}

/// The shape `stmt` matches, or the refusal that names it.
pub fn check(stmt: &str) -> Result<usize, Refusal> {
    let text = lex::normalise(stmt);
    compiled()
        .iter()
        .position(|r| r.is_match(&text))
        .ok_or_else(|| Refusal {
            code: "XX000",
            message: format!(
                "stand-in: statement not on the reviewed list of the CockroachDB flavour: {text}"
            ),
            source: "src/standin/reviewed.rs",
        })
}
