//! The plan of a load: each file's header, the columns picked from it, and how the
//! fields of every file line up with the first file's target columns.

use super::config::LoadConfig;
use crate::commit::{Method, Statements};
use crate::encode::{Column, ColumnType, Format};
use crate::flavour::Flavour;
use crate::report::REJECT_COLUMNS;
use crate::source::{open_input, RecordReader};
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
        let (names, width) = if cfg.dialect.has_header {
            let input = open_input(file, cfg.compression)?;
            let mut rdr = RecordReader::new(file, input.reader, cfg.dialect.clone());
            let header = rdr.read_header()?;
            if file == "-" {
                stdin = Some((rdr, input.consumed));
            }
            let mut header = header.ok_or_else(|| {
                Error::from(ErrorKind::Parse {
                    loc: Location {
                        file: file.clone(),
                        pos: crate::Position {
                            line: 1,
                            byte: 0,
                            record: 0,
                        },
                        column: None,
                    },
                    msg: match cfg.dialect.skip_lines {
                        0 => "the file is empty: no header".into(),
                        n => format!(
                            "--skip-lines {n} skips past the end of the file: no header is left"
                        ),
                    },
                })
            })?;
            let width = header.len();
            // A fixed reject file loads again as it is: its two extra columns are ignored.
            if header.len() > 2 && header[header.len() - 2..] == REJECT_COLUMNS {
                header.truncate(header.len() - 2);
            }
            if i == 0 {
                reject_header = header
                    .join(&(cfg.dialect.delimiter as char).to_string())
                    .into_bytes();
            }
            (header, width)
        } else {
            let names = match &cfg.columns {
                Some(c) => c.clone(),
                None => table.columns.iter().map(|c| c.name.clone()).collect(),
            };
            let width = names.len();
            if i == 0 {
                reject_header = names
                    .join(&(cfg.dialect.delimiter as char).to_string())
                    .into_bytes();
            }
            (names, width)
        };
        // With a header, --columns picks and orders the header columns to load.
        let picked: Vec<usize> = match (&cfg.columns, cfg.dialect.has_header) {
            (Some(cols), true) => cols
                .iter()
                .map(|c| {
                    crate::table::resolve_name(c, names.iter().map(String::as_str)).ok_or_else(
                        || {
                            Error::schema(format!(
                                "{file}: --columns names {c:?}, which is not in the header ({})",
                                names.join(", ")
                            ))
                        },
                    )
                })
                .collect::<Result<_>>()?,
            _ => (0..names.len()).collect(),
        };
        let picked_names: Vec<String> = picked.iter().map(|&i| names[i].clone()).collect();
        let cols = table.map_columns(&picked_names, file)?;
        // Files after the first must fill the same columns; their field order may differ.
        let order = match &target {
            None => {
                target = Some(cols.clone());
                picked
            }
            Some(t) => {
                let mut order = Vec::with_capacity(t.len());
                for want in t {
                    let at = cols.iter().position(|c| c == want).ok_or_else(|| {
                        Error::schema(format!(
                            "{file}: has no column {:?}, which {} has; files loaded together must fill the same columns",
                            table.columns[*want].name, cfg.files[0]
                        ))
                    })?;
                    order.push(picked[at]);
                }
                if cols.len() != t.len() {
                    return Err(Error::schema(format!(
                        "{file}: fills {} columns, {} fills {}; files loaded together must fill the same columns",
                        cols.len(),
                        cfg.files[0],
                        t.len()
                    )));
                }
                order
            }
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
