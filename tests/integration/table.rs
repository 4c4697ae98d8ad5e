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
