//! The message of a rebuild the data refused: the duplicate keys (one `GROUP BY` on the
//! table) and their source lines (one more pass over the input).

use super::{Deferred, Refused};
use crate::commit::Statements;
use crate::connect::Connector;
use crate::encode::{self, ColumnType};
use crate::flavour::Flavour;
use crate::load::config::LoadConfig;
use crate::load::on_control;
use crate::source::{open_input, Record, RecordReader};
use crate::sql::quote_ident;
use crate::table::Table;
use crate::Result;
use postgres::Client;
use std::collections::HashMap;
use std::time::Duration;

/// What the duplicate lookup needs of the load's plan.
pub(crate) struct PlanView<'a> {
    pub(crate) flavour: Flavour,
    pub(crate) table: &'a Table,
    /// Target column names, in the order of `projections`' entries.
    pub(crate) columns: Vec<String>,
    /// Per file: the file field of each target column.
    pub(crate) projections: &'a [Vec<usize>],
}

impl<'a> PlanView<'a> {
    pub(crate) fn of(statements: &'a Statements, projections: &'a [Vec<usize>]) -> PlanView<'a> {
        PlanView {
            flavour: statements.flavour,
            table: &statements.table,
            columns: statements.columns.iter().map(|c| c.name.clone()).collect(),
            projections,
        }
    }
}

/// Duplicate keys shown per refused item.
const MAX_KEYS: i64 = 10;
/// Source lines shown per duplicate key.
const MAX_LINES: usize = 5;

/// The error text of a rebuild the data refused: per item the server's message, the
/// duplicate keys with their source lines, and how to go on.
pub(super) fn explain(
    cfg: &LoadConfig,
    view: &PlanView<'_>,
    connector: &Connector,
    budget: Duration,
    (load_id, rows): (&str, u64),
    items: &[Deferred],
    refused: &[Refused],
) -> Result<String> {
    let name = view.table.sql_name();
    let mut msg = format!(
        "every row is loaded into {name} ({rows} rows committed), but {} of the {} deferred \
         indexes and constraints could not be rebuilt, so the table is left without {}:",
        refused.len(),
        items.len(),
        if refused.len() == 1 { "it" } else { "them" }
    );
    for (n, r) in refused.iter().enumerate() {
        let d = &r.item;
        let sep = if n == 0 { " " } else { "; " };
        msg.push_str(&format!(
            "{sep}({}) {} {}: {}",
            n + 1,
            d.kind.name(),
            d.name,
            r.error
        ));
        if d.key_columns.is_empty() {
            continue;
        }
        let keys = on_control(connector, budget, |c| duplicates(c, &name, &d.key_columns))?;
        if keys.is_empty() {
            continue;
        }
        let lines = source_lines(cfg, view, &d.key_columns, &keys);
        let cols = d.key_columns.join(", ");
        for (key, count) in &keys {
            let at = match lines.get(key) {
                Some(found) if !found.is_empty() => {
                    let shown: Vec<String> = found
                        .iter()
                        .take(MAX_LINES)
                        .map(|(f, l)| format!("{f}:{l}"))
                        .collect();
                    let more = found.len().saturating_sub(MAX_LINES);
                    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                    format!("at {}{more}", shown.join(", "))
                }
                _ => "(source lines not found: the file spells the key differently, or it is read from stdin)".into(),
            };
            msg.push_str(&format!(
                "; duplicate key ({cols})=({}) in {count} rows, {at}",
                key.join(", ")
            ));
        }
        if keys.len() as i64 == MAX_KEYS {
            msg.push_str(&format!(" (the first {MAX_KEYS} duplicate keys)"));
        }
    }
    msg.push_str(&format!(
        ". To go on: fix or delete the offending rows in {name}, then rerun the same command, \
         which rebuilds what is missing (load id {load_id}); or run by hand: {}",
        refused
            .iter()
            .map(|r| format!("{};", r.item.create_sql))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    Ok(msg)
}

/// Up to [`MAX_KEYS`] keys held by more than one row, as text, with their row counts.
fn duplicates(c: &mut Client, table: &str, cols: &[String]) -> Result<Vec<(Vec<String>, i64)>> {
    let quoted: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
    let texts: Vec<String> = quoted.iter().map(|q| format!("{q}::text")).collect();
    let not_null: Vec<String> = quoted.iter().map(|q| format!("{q} IS NOT NULL")).collect();
    let sql = format!(
        "SELECT ARRAY[{}], count(*) FROM {table} WHERE {} GROUP BY {} HAVING count(*) > 1
         ORDER BY count(*) DESC, 1 LIMIT {MAX_KEYS}",
        texts.join(", "),
        not_null.join(" AND "),
        quoted.join(", ")
    );
    Ok(c.query(&sql, &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The source lines (`file:line`) of the records whose key fields spell `keys`, found by
/// reading the inputs again. Matching is on each field's [`KeyForm`], so a line named is
/// one that holds the key; one spelt otherwise is missed, and the message says so.
fn source_lines(
    cfg: &LoadConfig,
    view: &PlanView<'_>,
    cols: &[String],
    keys: &[(Vec<String>, i64)],
) -> HashMap<Vec<String>, Vec<(String, u64)>> {
    let mut found: HashMap<Vec<String>, Vec<(String, u64)>> = HashMap::new();
    let forms: Vec<KeyForm> = cols
        .iter()
        .map(|c| {
            let t = view.table.columns.iter().find(|t| &t.name == c);
            KeyForm::of(t.map_or("", |t| t.type_name.as_str()))
        })
        .collect();
    let mut scratch = Vec::new();
    let wanted: HashMap<Vec<Vec<u8>>, Vec<String>> = keys
        .iter()
        .map(|(k, _)| {
            let norm = k.iter().zip(&forms);
            let norm = norm
                .map(|(v, f)| f.form(v.as_bytes(), &mut scratch))
                .collect();
            (norm, k.clone())
        })
        .collect();
    // Target position of each key column; a key column the file does not fill has no line.
    let Some(at): Option<Vec<usize>> = cols
        .iter()
        .map(|c| view.columns.iter().position(|n| n == c))
        .collect()
    else {
        return found;
    };
    for (f, file) in cfg.files.iter().enumerate() {
        if file == "-" {
            continue;
        }
        let Ok(input) = open_input(file, cfg.compression, cfg.dialect.encoding) else {
            continue;
        };
        let mut rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
        if cfg.dialect.has_header && rdr.read_header().is_err() {
            continue;
        }
        let fields: Vec<usize> = at.iter().map(|&j| view.projections[f][j]).collect();
        let mut rec = Record::new();
        let mut key = Vec::with_capacity(fields.len());
        while let Ok(true) = rdr.read_record(&mut rec) {
            key.clear();
            for (&i, f) in fields.iter().zip(&forms) {
                match rec.field(i) {
                    Some(v) if !rec.is_null(i) => key.push(f.form(v, &mut scratch)),
                    _ => break,
                }
            }
            if key.len() != fields.len() {
                continue;
            }
            if let Some(orig) = wanted.get(&key) {
                found
                    .entry(orig.clone())
                    .or_default()
                    .push((file.clone(), rec.position().line));
            }
        }
    }
    found
}

/// How a key column's values compare: in a form equal for equal values, where the type
/// makes that cheap.
#[derive(Clone, Copy)]
enum KeyForm {
    /// uuid and the integers: the value as the encoder converts it ([`encode::check_value`]
    /// leaves its binary form in the scratch buffer), so braces, case and hyphens of a uuid
    /// and signs, blanks and leading zeros of an integer make no difference.
    Converted(ColumnType),
    /// `character(n)`: trailing blanks do not count.
    BlankPadded,
    /// The text as it is.
    Text,
}

impl KeyForm {
    fn of(type_name: &str) -> KeyForm {
        match ColumnType::from_pg(type_name) {
            ty @ (ColumnType::Uuid | ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8) => {
                KeyForm::Converted(ty)
            }
            _ if type_name.starts_with("character(") => KeyForm::BlankPadded,
            _ => KeyForm::Text,
        }
    }

    /// The form of `v`, tagged so that a converted value never equals a text (a value that
    /// does not convert is compared as text).
    fn form(self, v: &[u8], scratch: &mut Vec<u8>) -> Vec<u8> {
        let text = match self {
            KeyForm::Converted(ty) => match encode::check_value(ty, v, scratch) {
                Ok(()) if !scratch.is_empty() => return [&[0], &scratch[..]].concat(),
                _ => v,
            },
            KeyForm::BlankPadded => &v[..v.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1)],
            KeyForm::Text => v,
        };
        [&[1], text].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(type_name: &str, v: &str) -> Vec<u8> {
        KeyForm::of(type_name).form(v.as_bytes(), &mut Vec::new())
    }

    #[test]
    fn keys_compare_as_the_encoder_converts_them_where_the_type_allows() {
        assert_eq!(
            form("uuid", "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}"),
            form("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(
            form("uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
            form("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_ne!(
            form("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            form("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12")
        );
        assert_eq!(form("bigint", " +007"), form("bigint", "7"));
        assert_eq!(form("smallint", "-0012"), form("smallint", "-12"));
        assert_ne!(form("integer", "7"), form("integer", "8"));
        // Not a number: compared as text, never equal to a number.
        assert_eq!(form("integer", "x"), form("text", "x"));
        assert_ne!(form("integer", "x"), form("integer", "0"));
        assert_ne!(form("text", " A "), form("text", "A"));
        assert_eq!(form("character(4)", "ab  "), form("character(4)", "ab"));
        assert_ne!(form("character(4)", "ab\t"), form("character(4)", "ab"));
    }
}
