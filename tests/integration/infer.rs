//! Schema inference against the real server: the inferred table is created as printed,
//! with the inferred types, and accepts the sampled rows.

use crate::support::{client, count, fresh_db};
use chunkload::encode::copy::{copy_sql, write_copy};
use chunkload::encode::{Column, EncodedRows, Encoder, Format};
use chunkload::infer::{self, InferOptions};
use chunkload::source::{Dialect, Record, RecordReader};
use chunkload::sql::QualifiedName;
use chunkload::table::Table;
use std::sync::{Arc, Barrier};

const CSV: &str = "\
id,Cost Total $,ratio,select,day,at,key,doc,\"a\"\"b\",zip,empty
1,12.50,1e-3,t,2024-01-31,2024-01-31 10:00:00+02,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,\"{\"\"k\"\": [1, 2]}\",hello,01234,
2,-3,NaN,no,1999-12-01,2024-02-01T00:00:00Z,A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12,[],\"\",98101,
3,,2.5,FALSE,,2024-02-02,,,x,,
";

fn sql_literal(v: Option<&[u8]>) -> String {
    match v {
        None => "NULL".into(),
        Some(b) => format!(
            "'{}'",
            String::from_utf8(b.to_vec()).unwrap().replace('\'', "''")
        ),
    }
}

#[test]
fn inferred_table_has_the_inferred_types_and_takes_the_rows() {
    let url = fresh_db("infer_create");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, CSV).unwrap();
    let path = path.to_str().unwrap();
    let opts = InferOptions {
        primary_key: vec!["ID".into()],
        not_null: vec!["select".into()],
        ..InferOptions::default()
    };
    let inferred = infer::infer_file(path, &Dialect::default(), None, None, &opts).unwrap();
    assert_eq!(inferred.rows_sampled, 3);
    let sql = infer::create_table_sql("\"Inferred T\"", &inferred, &opts).unwrap();

    let mut c = client(&url);
    assert!(infer::create_if_missing(&mut c, "\"Inferred T\"", &sql).unwrap());
    assert!(!infer::create_if_missing(&mut c, "\"Inferred T\"", &sql).unwrap());

    let rows = c
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
             FROM pg_attribute a
             WHERE a.attrelid = '\"Inferred T\"'::regclass AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[],
        )
        .unwrap();
    let got: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want = [
        ("id", "bigint", true),
        ("Cost Total $", "numeric", false),
        ("ratio", "double precision", false),
        ("select", "boolean", true),
        ("day", "date", false),
        ("at", "timestamp with time zone", false),
        ("key", "uuid", false),
        ("doc", "jsonb", false),
        ("a\"b", "text", false),
        ("zip", "text", false),
        ("empty", "text", false),
    ];
    let want: Vec<(String, String, bool)> = want
        .iter()
        .map(|&(n, t, nn)| (n.to_string(), t.to_string(), nn))
        .collect();
    assert_eq!(got, want);
    let table = Table::read(&mut c, "\"Inferred T\"").unwrap();
    assert_eq!(table.primary_key, ["id"]);

    // The server takes every sampled row as plain SQL text literals...
    let mut reader = RecordReader::new(path, CSV.as_bytes(), Dialect::default());
    let mut rec = Record::new();
    let mut records = Vec::new();
    while reader.read_record(&mut rec).unwrap() {
        records.push(rec.clone());
    }
    for r in &records {
        let values: Vec<String> = r.fields().map(sql_literal).collect();
        c.batch_execute(&format!(
            "INSERT INTO \"Inferred T\" VALUES ({})",
            values.join(", ")
        ))
        .unwrap();
    }
    assert_eq!(count(&url, "\"Inferred T\""), 3);
    let zip: String = c
        .query_one("SELECT zip FROM \"Inferred T\" WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(zip, "01234", "the zip code keeps its leading zero");

    // ...and so does the client-side encoder, through binary COPY.
    c.batch_execute("TRUNCATE \"Inferred T\"").unwrap();
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|tc| Column {
            not_null: tc.not_null,
            ..Column::new(tc.name.clone(), tc.type_name.clone())
        })
        .collect();
    // Binary where the fast path is certain of every value, else text for the server.
    let encode = |format| {
        let enc = Encoder::new(columns.clone(), format);
        let mut out = EncodedRows::new();
        for (i, r) in records.iter().enumerate() {
            enc.encode_row(r.fields(), i as u32, &mut out)?;
        }
        Ok::<_, chunkload::encode::FieldError>(out)
    };
    let (out, format) = match encode(Format::Binary) {
        Ok(out) => (out, Format::Binary),
        Err(e) if e.deferred => (encode(Format::Text).unwrap(), Format::Text),
        Err(e) => panic!("{e}"),
    };
    let name = QualifiedName::parse("\"Inferred T\"").unwrap();
    let mut w = c.copy_in(&copy_sql(&name, &columns, format)).unwrap();
    write_copy(&out, 0..out.len(), format, &mut w).unwrap();
    assert_eq!(w.finish().unwrap(), 3);
}

#[test]
fn concurrent_creators_create_the_table_once() {
    let url = fresh_db("infer_race");
    let inferred = infer::infer(
        &mut RecordReader::new("t.csv", &b"id,v\n1,x\n"[..], Dialect::default()),
        &["id".to_string(), "v".to_string()],
        &InferOptions::default(),
    )
    .unwrap();
    let sql = infer::create_table_sql("s.raced", &inferred, &InferOptions::default()).unwrap();
    client(&url).batch_execute("CREATE SCHEMA s").unwrap();
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, sql, barrier) = (url.clone(), sql.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut c = client(&url);
                barrier.wait();
                infer::create_if_missing(&mut c, "s.raced", &sql).unwrap()
            })
        })
        .collect();
    let created: usize = handles
        .into_iter()
        .map(|h| h.join().unwrap() as usize)
        .sum();
    assert_eq!(created, 1);
    assert_eq!(count(&url, "s.raced"), 0);
    // A CREATE that fails for another reason is an error, not "already there".
    let sql = infer::create_table_sql("nope.t", &inferred, &InferOptions::default()).unwrap();
    let e = infer::create_if_missing(&mut client(&url), "nope.t", &sql).unwrap_err();
    assert_eq!(e.sqlstate(), Some("3F000"), "{e}");
}

#[test]
fn create_missing_table_creates_once_warns_first_and_refuses_stdin() {
    let url = fresh_db("infer_create_missing");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, CSV).unwrap();
    let dialect = Dialect::default();
    let sample = infer::Sample {
        file: path.to_str().unwrap(),
        dialect: &dialect,
        compression: None,
        columns: None,
    };
    // `day` has a NULL in the sample, so declaring it NOT NULL warns.
    let opts = InferOptions {
        not_null: vec!["day".into()],
        ..InferOptions::default()
    };
    let mut c = client(&url);
    let mut warned = Vec::new();
    let created = infer::create_missing_table(&mut c, "made", &sample, &opts, &mut |w| {
        warned.push(w.to_string())
    })
    .unwrap()
    .expect("the table was missing");
    assert!(
        created.sql.starts_with("CREATE TABLE \"made\" ("),
        "{}",
        created.sql
    );
    assert!(
        created.sql.contains("\"day\" date NOT NULL"),
        "{}",
        created.sql
    );
    assert_eq!(created.inferred.rows_sampled, 3);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("\"day\" is declared NOT NULL"),
        "{warned:?}"
    );
    let table = Table::read(&mut c, "made").unwrap();
    assert_eq!(table.columns.len(), 11);

    // It exists now: nothing is inferred, nothing run, nothing warned.
    warned.clear();
    let again = infer::create_missing_table(&mut c, "made", &sample, &opts, &mut |w| {
        warned.push(w.to_string())
    })
    .unwrap();
    assert!(again.is_none() && warned.is_empty());

    // From stdin, a sample read again by the load: `inputs`, through the binary (the test
    // process's own stdin is not its to read).
}

/// A column whose first 50 000 rows are integers and whose later rows are not: a file is
/// read whole for its types, so `--create-table` makes it numeric and the load is exact;
/// `--infer-rows 10000` keeps the old sample, which the load then refutes half-way.
#[test]
fn types_come_from_the_whole_file_unless_a_sample_is_asked_for() {
    use crate::cli::{chunkload, stderr};
    let url = fresh_db("infer_whole");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drift.csv");
    let mut text = String::from("id,amount,at\n");
    for i in 1..=60_000u32 {
        let amount = if i < 50_000 {
            format!("{i}")
        } else {
            format!("{i}.5")
        };
        text.push_str(&format!("{i},{amount},2024-03-10 02:30:00\n"));
    }
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let o = chunkload(&[
        "load",
        file,
        "--table",
        "drift",
        "--create-table",
        "--url",
        &url,
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("types from all 60000 rows of") && err.contains("read in"),
        "{err}"
    );
    let mut c = client(&url);
    let types: Vec<(String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_name = 'drift' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let types: Vec<(&str, &str)> = types
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "bigint"),
            ("amount", "numeric"),
            ("at", "timestamp without time zone")
        ]
    );
    assert_eq!(count(&url, "drift"), 60_000);
    // A wall-clock time stays as written in a session of another time zone (a
    // timestamptz would show 02:30 New York time as 03:30-04, the hour that does not
    // exist on that day).
    c.batch_execute("SET TimeZone = 'America/New_York'")
        .unwrap();
    let at: String = c
        .query_one("SELECT min(at)::text FROM drift", &[])
        .unwrap()
        .get(0);
    assert_eq!(at, "2024-03-10 02:30:00");
    // A sample asked for is a sample: the load stops where the sample's types are refuted.
    let o = chunkload(&[
        "load",
        file,
        "--table",
        "drift2",
        "--create-table",
        "--infer-rows",
        "10000",
        "--url",
        &url,
    ]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("types from the first 10000 rows of"), "{err}");
    assert!(err.contains("line 50001"), "{err}");
}
