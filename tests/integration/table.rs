//! Reading the target table from the catalog.

use crate::support::{client, fresh_db};
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
