//! One load (or dry run) of the `load` command: the table created first with
//! `--create-table`, the load run, its summary returned unprinted. `load` runs it once,
//! `many` once per file.

use super::shared::{connect, infer_schema, inferred_from, say, warn};
use crate::args::LoadArgs;
use chunkload::connect::ConnectOptions;
use chunkload::encode::DateOrder;
use chunkload::infer::Sample;
use chunkload::load::LoadConfig;
use chunkload::report::Summary;
use chunkload::table::Table;
use chunkload::Flavour;
use std::sync::Arc;

/// One load (or dry run) as `cfg` says, the table created first with `--create-table`;
/// returns its summary, unprinted.
pub(crate) fn one(
    args: &LoadArgs,
    mut cfg: LoadConfig,
    url: Option<&str>,
    opts: Option<&Arc<ConnectOptions>>,
) -> anyhow::Result<Summary> {
    // Sniffing, inference and the load read one version of a remote object, and its
    // start once.
    let _one_version = chunkload::source::remote::remember_identities();
    // Each file of a table-per-file run finds its own dialect.
    cfg.find_dialect(&args.dialect.spec()?)?;
    let Some(opts) = opts else {
        return dry_run(&cfg, args, url);
    };
    if args.create_table {
        let mut client = chunkload::connect::connect(opts)?;
        // COPY on CockroachDB is refused before the table is created: nothing is written.
        cfg.method_for(Flavour::detect(&mut client)?)?;
        if args.check {
            refuse_to_create(&mut client, &cfg.table)?;
        }
        let sample = Sample {
            file: &cfg.files[0],
            dialect: &cfg.dialect,
            compression: cfg.compression,
            columns: cfg.columns.as_deref(),
        };
        let inferring = std::time::Instant::now();
        let mut opts = args
            .infer
            .options(&cfg.files[0], cfg.decimal_comma, cfg.date_order);
        opts.observer = Some(cfg.observer.clone());
        let created = chunkload::infer::create_missing_table(
            &mut client,
            &cfg.table,
            &sample,
            &opts,
            &mut warn,
        )?;
        if created.is_none() && cfg.date_order.is_none() {
            // The table exists: its dates are read as when it was created.
            cfg.date_order =
                chunkload::infer::existing_date_order(&mut client, &cfg.table, &sample, &opts)?;
            if let Some(order) = cfg.date_order {
                say(&format!(
                    "{}: dates read as {} (--date-order {order}), as the file's inference \
                     finds them",
                    cfg.files[0],
                    order.pattern()
                ));
            }
        }
        if let Some(created) = created {
            // The load reads dates in the order the inference found.
            cfg.date_order = created.inferred.date_order;
            // Part of the load: dropped again if no row commits (`load::run`).
            cfg.created_table = true;
            say(&format!(
                "created table {} from the inferred schema ({}):\n{}",
                cfg.table,
                inferred_from(&created.inferred, &cfg.files[0], inferring.elapsed()),
                created.sql
            ));
            let file = cfg.files[0].clone();
            let inferred = created.inferred;
            cfg.type_hint = Some(Arc::new(move |ty: &str| {
                chunkload::infer::hint(ty, &inferred, &file)
            }));
        }
    }
    Ok(chunkload::load::run(&cfg, opts.clone())?)
}

/// `--check --create-table` on a missing table: a check writes nothing, not even a table.
fn refuse_to_create(client: &mut postgres::Client, table: &str) -> anyhow::Result<()> {
    match Table::read(client, table) {
        Err(e) if matches!(e.kind(), chunkload::ErrorKind::Schema(_)) => {
            Err(chunkload::Error::usage(format!(
                "--check writes nothing, so it cannot create table {table}: create it first \
                 (`chunkload schema FILE` prints the inferred CREATE TABLE), or use --dry-run"
            ))
            .into())
        }
        _ => Ok(()),
    }
}

/// A dry run: without `--json`, what it would create and the head of the first chunk's
/// statement on stdout (the summary is the caller's to print).
fn dry_run(cfg: &LoadConfig, args: &LoadArgs, url: Option<&str>) -> anyhow::Result<Summary> {
    let (table, flavour, create, order) = dry_run_table(cfg, args, url)?;
    let mut cfg = cfg.clone();
    cfg.date_order = cfg.date_order.or(order);
    let d = chunkload::load::dry_run(&cfg, table, flavour)?;
    if !args.json {
        if let Some(sql) = create {
            println!(
                "-- --create-table would run, if {} does not exist:\n{sql}",
                cfg.table
            );
        }
        println!(
            "-- the first chunk sends:\n{}",
            sql_head(&d.first_sql, d.first_chunk_rows)
        );
        println!(
            "largest chunk: {} rows, {} bytes",
            d.max_chunk_rows, d.max_chunk_bytes
        );
    }
    Ok(d.summary)
}

/// At most this many characters of the first chunk's statement are shown: an INSERT of
/// a thousand rows is hundreds of thousands of characters.
const SQL_HEAD: usize = 600;

/// `sql` as a dry run shows it: whole when short, else its head cut after a value or a
/// line, then how much was left out.
fn sql_head(sql: &str, rows: u64) -> String {
    if sql.chars().count() <= SQL_HEAD {
        return sql.to_string();
    }
    let cut = sql
        .char_indices()
        .nth(SQL_HEAD)
        .map_or(sql.len(), |(i, _)| i);
    let head = &sql[..cut];
    let end = head.rfind(['\n', ')']).or_else(|| head.rfind(','));
    let head = end.map_or(head, |i| &head[..=i]);
    format!(
        "{} … ({rows} {}, {} bytes)",
        head.trim_end(),
        chunkload::error::plural(rows, "row", "rows"),
        sql.len()
    )
}

/// The table a dry run converts for: from the catalog when a URL is given, else inferred
/// from the file (nothing needs a server); with the CREATE TABLE `--create-table` would
/// run when inferred.
fn dry_run_table(
    cfg: &LoadConfig,
    args: &LoadArgs,
    url: Option<&str>,
) -> anyhow::Result<(Table, Flavour, Option<String>, Option<DateOrder>)> {
    if let Some(u) = url {
        let (mut client, flavour) = connect(Some(u))?;
        match Table::read(&mut client, &cfg.table) {
            Ok(t) => return Ok((t, flavour, None, None)),
            Err(e)
                if !(args.create_table && matches!(e.kind(), chunkload::ErrorKind::Schema(_))) =>
            {
                return Err(e.into())
            }
            Err(_) => {}
        }
    }
    let mut opts = args
        .infer
        .options(&cfg.files[0], cfg.decimal_comma, cfg.date_order);
    opts.observer = Some(cfg.observer.clone());
    // A zip archive: its first CSV member.
    let first = chunkload::source::expand_archives(&cfg.files[..1])?;
    let inferred = infer_schema(
        &first.files[0],
        &cfg.dialect,
        cfg.compression,
        cfg.columns.as_deref(),
        &opts,
    )?;
    let create = match args.create_table {
        true => Some(chunkload::infer::create_table_sql(
            &cfg.table, &inferred, &opts,
        )?),
        false => None,
    };
    Ok((
        inferred.to_table(&cfg.table, &opts),
        Flavour::Postgres,
        create,
        inferred.date_order,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_statement_shows_its_head_and_what_was_left_out() {
        assert_eq!(sql_head("COPY t FROM STDIN", 3), "COPY t FROM STDIN");
        let values: Vec<String> = (0..5000)
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!("INSERT INTO t (a, b) VALUES {}", values.join(", "));
        let shown = sql_head(&sql, 5000);
        assert!(
            shown.starts_with("INSERT INTO t (a, b) VALUES ($1, $2), "),
            "{shown}"
        );
        assert!(shown.chars().count() < SQL_HEAD + 40, "{shown}");
        assert!(
            shown.ends_with(&format!(") … (5000 rows, {} bytes)", sql.len())),
            "{shown}"
        );
    }
}
