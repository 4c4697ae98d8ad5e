//! The plan of a load: each file's header, the columns picked from it, and how the
//! fields of every file line up with the first file's target columns.

use super::config::LoadConfig;
use crate::commit::{Method, Statements};
use crate::encode::{Column, ColumnType, Format};
use crate::flavour::Flavour;
use crate::report::{Event, Notice, Topic, REJECT_COLUMNS};
use crate::source::{column_names, mismatches, open_input, RecordReader};
use crate::table::Table;
use crate::{Error, ErrorKind, Location, Result};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// A reader and the counter of the (compressed) bytes it consumed, for progress.
pub(crate) type OpenReader = (RecordReader<Box<dyn std::io::Read + Send>>, Arc<AtomicU64>);

/// The resolved shape of a load: which file field goes to which column, as what type.
pub(crate) struct LoadPlan {
    /// Stdin's reader, its header already read: stdin cannot be opened a second time.
    pub(crate) stdin: Option<OpenReader>,
    /// Target table, columns in encoding order, format, flavour and method.
    pub(crate) statements: Statements,
    /// Per file: the file field index of each target column.
    pub(crate) projections: Vec<Vec<usize>>,
    /// Field count of each file.
    pub(crate) widths: Vec<usize>,
    /// Raw header for the reject file.
    pub(crate) reject_header: Vec<u8>,
}

/// Reads each file's header and maps its fields to table columns.
pub(crate) fn resolve(cfg: &LoadConfig, table: Table, flavour: Flavour) -> Result<LoadPlan> {
    let mut projections = Vec::new();
    let mut widths = Vec::new();
    let mut target: Option<Vec<usize>> = None;
    let mut reject_header = Vec::new();
    let mut stdin = None;
    for (i, file) in cfg.files.iter().enumerate() {
        let (names, width) = field_names(cfg, &table, file, &mut stdin)?;
        if i == 0 {
            reject_header = names
                .join(&(cfg.dialect.delimiter as char).to_string())
                .into_bytes();
        }
        let picked = picked_fields(cfg, file, &names)?;
        let cols = map_header(cfg, &table, file, &names, &picked)?;
        let order = match &target {
            None => {
                target = Some(cols);
                picked
            }
            Some(t) => aligned(cfg, &table, file, t, &cols, &picked)?,
        };
        projections.push(order);
        widths.push(width);
    }
    let target = target.expect("at least one file");
    let columns: Vec<Column> = target
        .iter()
        .map(|&i| {
            let c = &table.columns[i];
            Column {
                name: c.name.clone(),
                ty: ColumnType::from_pg(&c.type_name),
                type_name: c.type_name.clone(),
                not_null: c.not_null,
                has_default: c.has_default,
            }
        })
        .collect();
    // Resolved again here, so no plan for CockroachDB can hold a COPY, whoever built `cfg`.
    let method = cfg.method_for(flavour)?;
    if method == Method::Upsert && table.primary_key.is_empty() {
        return Err(Error::schema(format!(
            "--method upsert needs a primary key, and {} has none{}",
            table.sql_name(),
            match flavour {
                // Its hidden rowid is CockroachDB's, not a key the rows carry.
                Flavour::Cockroach => " (declared: the hidden rowid CockroachDB adds is not one)",
                Flavour::Postgres => "",
            }
        )));
    }
    let format = match method {
        Method::Copy => Format::for_columns(&columns, flavour == Flavour::Postgres),
        _ => Format::for_columns(&columns, true),
    };
    Ok(LoadPlan {
        stdin,
        statements: Statements {
            table,
            columns,
            format,
            flavour,
            method,
            ledger_schema: cfg.ledger_schema.clone(),
        },
        projections,
        widths,
        reject_header,
    })
}

/// The table columns of the picked fields: by the header's cells as written (exact, else
/// case-insensitive), else by the names `--create-table` makes of them, exactly (a table
/// created from this header, by this run or an earlier one: each renamed cell is said in
/// a [`Topic::Header`] note), else an error naming each cell that does not fit and why.
fn map_header(
    cfg: &LoadConfig,
    table: &Table,
    file: &str,
    names: &[String],
    picked: &[usize],
) -> Result<Vec<usize>> {
    let picked_names: Vec<String> = picked.iter().map(|&i| names[i].clone()).collect();
    let err = match table.map_columns(&picked_names, file) {
        Ok(cols) => return Ok(cols),
        Err(e) => e,
    };
    if !cfg.dialect.has_header || cfg.columns.is_some() {
        return Err(err);
    }
    let (made, renamed) = column_names(names);
    let exact: Option<Vec<usize>> = picked
        .iter()
        .map(|&i| table.columns.iter().position(|c| c.name == made[i]))
        .collect();
    if let Some(cols) = exact {
        for r in renamed {
            let note = Notice {
                topic: Topic::Header,
                text: format!("{file}: {r}"),
            };
            cfg.observer.event(&Event::Note(note));
        }
        return Ok(cols);
    }
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let skipped = table.skipped.iter().map(|c| c.name.as_str());
    let resolve = |n: &str| crate::table::resolve_name(n, columns.iter().copied());
    // A computed or hidden column named: `map_columns` says so best.
    if names
        .iter()
        .any(|n| crate::table::resolve_name(n, skipped.clone()).is_some())
    {
        return Err(err);
    }
    let problems = mismatches(names, &columns, resolve);
    if problems.is_empty() {
        return Err(err);
    }
    Err(Error::schema(format!(
        "{file}: line {}: the header does not fit table {}: {}; the table's columns: {}",
        cfg.dialect.skip_lines + 1,
        table.sql_name(),
        problems.join("; "),
        table.column_list()
    )))
}

/// The names of a file's fields (its header, or `--columns`, or the table's columns for a
/// headerless file) and how many fields its records have. Stdin's header is read here,
/// so its reader is kept in `stdin` for the load.
fn field_names(
    cfg: &LoadConfig,
    table: &Table,
    file: &str,
    stdin: &mut Option<OpenReader>,
) -> Result<(Vec<String>, usize)> {
    if !cfg.dialect.has_header {
        let names = match &cfg.columns {
            Some(c) => c.clone(),
            None => table.columns.iter().map(|c| c.name.clone()).collect(),
        };
        let width = names.len();
        return Ok((names, width));
    }
    let input = open_input(file, cfg.compression, cfg.dialect.encoding)?;
    let mut rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
    let header = rdr.read_header()?;
    if file == "-" {
        *stdin = Some((rdr, input.consumed));
    }
    let mut header = header.ok_or_else(|| no_header(file, cfg.dialect.skip_lines))?;
    let width = header.len();
    // A fixed reject file loads again as it is: its two extra columns are ignored.
    if header.len() > 2 && header[header.len() - 2..] == REJECT_COLUMNS {
        header.truncate(header.len() - 2);
    }
    Ok((header, width))
}

fn no_header(file: &str, skip_lines: u64) -> Error {
    Error::from(ErrorKind::Parse {
        loc: Location {
            file: file.to_string(),
            pos: crate::Position {
                line: 1,
                byte: 0,
                record: 0,
            },
            column: None,
        },
        msg: match skip_lines {
            0 => "the file is empty: no header".into(),
            n => format!("--skip-lines {n} skips past the end of the file: no header is left"),
        },
    })
}

/// The fields to load, by index: with a header, `--columns` picks and orders the header
/// columns; otherwise every field, in order.
fn picked_fields(cfg: &LoadConfig, file: &str, names: &[String]) -> Result<Vec<usize>> {
    let (Some(cols), true) = (&cfg.columns, cfg.dialect.has_header) else {
        return Ok((0..names.len()).collect());
    };
    cols.iter()
        .map(|c| {
            crate::table::resolve_name(c, names.iter().map(String::as_str)).ok_or_else(|| {
                Error::schema(format!(
                    "{file}: --columns names {c:?}, which is not in the header ({})",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

/// A later file's fields in the first file's column order: files loaded together fill the
/// same columns, in whatever field order.
fn aligned(
    cfg: &LoadConfig,
    table: &Table,
    file: &str,
    target: &[usize],
    cols: &[usize],
    picked: &[usize],
) -> Result<Vec<usize>> {
    let mut order = Vec::with_capacity(target.len());
    for want in target {
        let at = cols.iter().position(|c| c == want).ok_or_else(|| {
            Error::schema(format!(
                "{file}: has no column {:?}, which {} has; files loaded together must fill the same columns",
                table.columns[*want].name, cfg.files[0]
            ))
        })?;
        order.push(picked[at]);
    }
    if cols.len() != target.len() {
        return Err(Error::schema(format!(
            "{file}: fills {} columns, {} fills {}; files loaded together must fill the same columns",
            cols.len(),
            cfg.files[0],
            target.len()
        )));
    }
    Ok(order)
}
