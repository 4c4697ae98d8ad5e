//! `chunkload load`: flags to a [`LoadConfig`], the table created or read, the load run,
//! the summary printed; rejected rows give exit code 3.

use super::shared::{connect, connect_options, infer_schema, warn};
use crate::args::LoadArgs;
use crate::exit::ExitStatus;
use chunkload::infer::Sample;
use chunkload::load::LoadConfig;
use chunkload::table::Table;
use chunkload::Flavour;
use std::process::ExitCode;

/// `interrupt` is raised by the signal handler: the load stops between chunks.
pub(crate) fn run(
    args: &LoadArgs,
    url: Option<&str>,
    interrupt: chunkload::interrupt::Interrupt,
) -> anyhow::Result<ExitCode> {
    let mut cfg = args.config()?;
    cfg.interrupt = interrupt;
    if args.dry_run && args.check {
        return Err(chunkload::Error::usage(chunkload::load::CHECK_NOT_DRY).into());
    }
    if args.dry_run {
        return dry_run(&cfg, args, url);
    }
    let opts = connect_options(url)?;
    if args.create_table {
        let mut client = chunkload::connect::connect(&opts)?;
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
        let created = chunkload::infer::create_missing_table(
            &mut client,
            &cfg.table,
            &sample,
            &args.infer.options(),
            &mut warn,
        )?;
        if let Some(created) = created {
            // Part of the load: dropped again if no row commits (`load::run`).
            cfg.created_table = true;
            eprintln!(
                "created table {} from the inferred schema:\n{}",
                cfg.table, created.sql
            );
            let file = cfg.files[0].clone();
            let inferred = created.inferred;
            cfg.type_hint = Some(std::sync::Arc::new(move |ty: &str| {
                chunkload::infer::hint(ty, &inferred, &file)
            }));
        }
    }
    let summary = chunkload::load::run(&cfg, std::sync::Arc::new(opts))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        eprintln!("{summary}");
    }
    Ok(if summary.rejected > 0 {
        ExitCode::from(ExitStatus::Partial.code())
    } else {
        ExitCode::SUCCESS
    })
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

fn dry_run(cfg: &LoadConfig, args: &LoadArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let (table, flavour) = dry_run_table(cfg, args, url)?;
    let d = chunkload::load::dry_run(cfg, table, flavour)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d.summary)?);
    } else {
        println!("-- the first chunk sends:\n{}", d.first_sql);
        println!("{}", d.summary);
        println!(
            "largest chunk: {} rows, {} bytes",
            d.max_chunk_rows, d.max_chunk_bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The table a dry run converts for: from the catalog when a URL is given, else inferred
/// from the file (nothing needs a server).
fn dry_run_table(
    cfg: &LoadConfig,
    args: &LoadArgs,
    url: Option<&str>,
) -> anyhow::Result<(Table, Flavour)> {
    if let Some(u) = url {
        let (mut client, flavour) = connect(Some(u))?;
        match Table::read(&mut client, &cfg.table) {
            Ok(t) => return Ok((t, flavour)),
            Err(e)
                if !(args.create_table && matches!(e.kind(), chunkload::ErrorKind::Schema(_))) =>
            {
                return Err(e.into())
            }
            Err(_) => {}
        }
    }
    let opts = args.infer.options();
    // A zip archive: its first CSV member.
    let first = chunkload::source::expand_archives(&cfg.files[..1])?;
    let inferred = infer_schema(
        &first.files[0],
        &cfg.dialect,
        cfg.compression,
        cfg.columns.as_deref(),
        &opts,
    )?;
    Ok((inferred.to_table(&cfg.table, &opts), Flavour::Postgres))
}
