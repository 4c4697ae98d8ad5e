//! `chunkload status`: the loads the ledger recorded.

use super::shared::connect;
use crate::args::StatusArgs;
use chunkload::ledger::{self, LoadStatus};
use std::process::ExitCode;

pub(crate) fn run(args: &StatusArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let schema = args.ledger.schema()?;
    let (mut client, _) = connect(url)?;
    // Without --ledger-schema, every ledger of the database: one kept beside a table too.
    let mut loads = Vec::new();
    for s in ledger::home::found(&mut client, &schema)? {
        loads.extend(ledger::status(&mut client, &s)?);
    }
    // Newest first across ledgers (a stable sort keeps one ledger's own order).
    loads.sort_by(|a, b| b.last_activity.cmp(&a.last_activity));
    if !args.all {
        loads.retain(|l| !l.finished);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&loads)?);
    } else {
        print!("{}", status_table(&loads));
    }
    Ok(ExitCode::SUCCESS)
}

/// `chunkload status` as text: one aligned line per load under a header, or a sentence
/// when the database has none.
fn status_table(loads: &[LoadStatus]) -> String {
    if loads.is_empty() {
        return "no loads recorded in this database\n".to_string();
    }
    let mut out = format!(
        "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} file\n",
        "load id", "table", "chunks", "rows", "rejected", "last activity", "finished"
    );
    for l in loads {
        let chunks = match l.total_chunks {
            Some(t) => format!("{}/{t}", l.chunks),
            None => l.chunks.to_string(),
        };
        out.push_str(&format!(
            "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} {}\n",
            l.load_id,
            l.table,
            chunks,
            l.rows,
            l.rejected,
            l.last_activity,
            if l.finished { "yes" } else { "no" },
            l.files.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_aligns_one_line_per_load() {
        assert_eq!(status_table(&[]), "no loads recorded in this database\n");
        let load = |id: &str, total: Option<i64>, finished: bool| LoadStatus {
            load_id: id.into(),
            table: "accounts".into(),
            files: vec!["a.csv".into()],
            chunks: 3,
            total_chunks: total,
            rows: 30,
            rejected: 1,
            last_activity: "2024-01-31T10:00:00Z".into(),
            finished,
        };
        let text = status_table(&[load("l1", Some(3), true), load("l2", None, false)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("load id ") && lines[0].ends_with(" finished file"));
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cells(lines[1]),
            [
                "l1",
                "accounts",
                "3/3",
                "30",
                "1",
                "2024-01-31T10:00:00Z",
                "yes",
                "a.csv"
            ]
        );
        assert_eq!(
            cells(lines[2])[2..],
            ["3", "30", "1", "2024-01-31T10:00:00Z", "no", "a.csv"]
        );
        // Columns line up: every line has the file at the same offset.
        let at = lines[0].find("file").unwrap();
        assert!(lines[1..].iter().all(|l| &l[at..] == "a.csv"), "{text}");
    }
}
