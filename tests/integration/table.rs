//! Reading the target table from the catalog.

use crate::support::{client, command, count, fresh_db};
use chunkload::table::Table;

#[test]
fn table_read_finds_quoted_and_schema_qualified_tables() {
    let url = fresh_db("table_read");
    let mut c = client(&url);
    c.batch_execute(
        "CREATE SCHEMA \"My Schema\";
         CREATE TABLE \"My Schema\".\"Odd \"\"T\" (
             id int8 PRIMARY KEY, \"Cost Total $\" numeric(12,2) NOT NULL,
             \"select\" text DEFAULT 'x', k int GENERATED ALWAYS AS IDENTITY);
         CREATE TABLE plain (a int, b int, PRIMARY KEY (b, a));
         ALTER TABLE plain ADD COLUMN c text; ALTER TABLE plain DROP COLUMN c;",
    )
    .unwrap();
    let t = Table::read(&mut c, "\"My Schema\".\"Odd \"\"T\"").unwrap();
    assert_eq!(t.sql_name(), "\"My Schema\".\"Odd \"\"T\"");
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "Cost Total $", "select", "k"]);
    assert_eq!(t.columns[1].type_name, "numeric(12,2)");
    assert!(t.columns[1].not_null && !t.columns[1].has_default);
    assert!(t.columns[2].has_default && t.columns[3].has_default);
    assert_eq!(t.primary_key, ["id"]);
    let p = Table::read(&mut c, "PLAIN").unwrap();
    assert_eq!(
        p.primary_key,
        ["b", "a"],
        "key order, dropped column left out"
    );
    assert_eq!(p.columns.len(), 2);
    let p = Table::read(&mut c, "public.plain").unwrap();
    assert_eq!(p.schema, "public");
    let err = Table::read(&mut c, "nope").unwrap_err().to_string();
    assert!(err.contains("table nope does not exist"), "{err}");
}

#[test]
fn table_read_follows_a_search_path_of_quoted_schemas() {
    // A search_path naming a schema with capitals (as `ALTER ROLE ... SET search_path`
    // or PGOPTIONS set it): an unqualified table is found there, as psql's \copy finds it.
    let url = fresh_db("table_search_path");
    let mut c = client(&url);
    c.batch_execute(
        "CREATE SCHEMA \"Sales\"; CREATE TABLE \"Sales\".t (a int);
         CREATE TABLE public.t (a int);
         SET search_path = \"Sales\", public;",
    )
    .unwrap();
    let t = Table::read(&mut c, "t").unwrap();
    assert_eq!(t.sql_name(), "\"Sales\".\"t\"");
    // End to end, with the path from PGOPTIONS.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(&f, "a\n1\n2\n").unwrap();
    let o = command(&["load", f.to_str().unwrap(), "--table", "t", "--url", &url])
        .env("PGOPTIONS", "-c search_path=\"Sales\",public")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(count(&url, "\"Sales\".t"), 2);
    assert_eq!(count(&url, "public.t"), 0);
}

#[test]
fn table_read_names_a_view_for_what_it_is() {
    // \copy says "cannot copy to view"; "does not exist, pass --create-table" would mislead.
    let url = fresh_db("table_view");
    let mut c = client(&url);
    c.batch_execute("CREATE TABLE base (a int); CREATE VIEW v AS SELECT a FROM base;")
        .unwrap();
    let err = Table::read(&mut c, "v").unwrap_err().to_string();
    assert!(err.contains("\"public\".\"v\" is a view"), "{err}");
    assert!(!err.contains("--create-table"), "{err}");
}

#[test]
fn table_generated_columns_are_left_to_the_server() {
    // A stored generated column cannot be inserted into (PostgreSQL: "cannot insert a
    // non-DEFAULT value into column"; CockroachDB's computed columns likewise): a
    // headerless file fills the other columns, and a file naming it is told why.
    let url = fresh_db("table_generated");
    let mut c = client(&url);
    c.batch_execute(
        "CREATE TABLE items (id int8 PRIMARY KEY, qty int8 NOT NULL,
             total int8 GENERATED ALWAYS AS (qty * 10) STORED, note text)",
    )
    .unwrap();
    let t = Table::read(&mut c, "items").unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "qty", "note"]);
    assert_eq!(t.skipped.len(), 1);
    assert_eq!(t.skipped[0].name, "total");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("items.csv");
    std::fs::write(&f, "1,2,a\n2,5,\n").unwrap();
    let file = f.to_str().unwrap();
    for method in ["copy", "insert", "upsert"] {
        c.batch_execute("TRUNCATE items").unwrap();
        let o = command(&[
            "load",
            file,
            "--table",
            "items",
            "--url",
            &url,
            "--no-header",
            "--fresh",
            "--method",
            method,
        ])
        .output()
        .unwrap();
        assert!(
            o.status.success(),
            "{method}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let totals: Vec<i64> = c
            .query("SELECT total FROM items ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(totals, [20, 50], "{method}");
    }
    std::fs::write(&f, "id,qty,total\n3,1,99\n").unwrap();
    let o = command(&["load", file, "--table", "items", "--url", &url])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("\"total\" of table \"public\".\"items\" is a computed (generated) column"),
        "{err}"
    );
}
