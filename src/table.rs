//! The target table: its columns and types read from the catalog, and the mapping from
//! the file's header (or `--columns`) to those columns.

use crate::sql::QualifiedName;
use crate::{Error, Result};
use postgres::GenericClient;

/// A column of the target table, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// Column name, exactly as stored.
    pub name: String,
    /// `format_type` of the column, e.g. `numeric(12,2)` or `timestamp with time zone`.
    pub type_name: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Has a default (or is an identity / generated column).
    pub has_default: bool,
}

/// The target table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Schema, as stored.
    pub schema: String,
    /// Table name, as stored.
    pub name: String,
    /// Columns in table order, dropped ones left out.
    pub columns: Vec<TableColumn>,
    /// Primary key columns, in key order (empty when there is none).
    pub primary_key: Vec<String>,
}

impl Table {
    /// The table's schema-qualified name.
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName {
            schema: Some(self.schema.clone()),
            name: self.name.clone(),
        }
    }

    /// The table's name as SQL, always quoted: `"schema"."table"`.
    pub fn sql_name(&self) -> String {
        self.qualified().to_string()
    }

    /// Reads a table from the catalog. `name` is `table` or `schema.table`, each part
    /// optionally double-quoted (`"My Schema"."a.b"`); unquoted parts fold to lower case as
    /// in SQL, and fall back to their exact spelling when only that exists.
    pub fn read(client: &mut impl GenericClient, name: &str) -> Result<Table> {
        let parsed = QualifiedName::parse(name)?;
        // SQL folds unquoted names to lower case; a name typed without quotes also finds a
        // table whose stored name has that exact spelling (e.g. created from a header).
        let mut names = vec![parsed.name.clone()];
        let mut schemas: Vec<String> = parsed.schema.iter().cloned().collect();
        if !name.contains('"') {
            if let Ok(raw) = QualifiedName::parse_exact(name) {
                names.push(raw.name);
                schemas.extend(raw.schema);
            }
        }
        // The path's schemas are compared by name: a cast to regnamespace would parse
        // each as an identifier and fold "Sales" to sales.
        let row = client.query_opt(
            "SELECT c.oid::int8, n.nspname::text, c.relname::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p')
               AND c.relname = ANY($1)
               AND (CASE WHEN cardinality($2::text[]) = 0 THEN n.nspname = ANY(current_schemas(false))
                         ELSE n.nspname = ANY($2) END)
             ORDER BY (c.relname = $3) DESC, (n.nspname = $4) DESC,
                      array_position(current_schemas(false), n.nspname::name)
             LIMIT 1",
            &[&names, &schemas, &parsed.name, &parsed.schema.clone().unwrap_or_default()],
        )?;
        let Some(row) = row else {
            // Something else of that name (a view, a foreign table): say what it is, since
            // "does not exist" and --create-table would both mislead.
            let other = client.query_opt(
                "SELECT c.relkind::text, n.nspname::text, c.relname::text
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relname = ANY($1)
                   AND (CASE WHEN cardinality($2::text[]) = 0 THEN n.nspname = ANY(current_schemas(false))
                             ELSE n.nspname = ANY($2) END)
                 ORDER BY (c.relname = $3) DESC,
                          array_position(current_schemas(false), n.nspname::name)
                 LIMIT 1",
                &[&names, &schemas, &parsed.name],
            )?;
            if let Some(r) = other {
                let (kind, schema, rel): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                let what = match kind.as_str() {
                    "v" => "a view",
                    "m" => "a materialized view",
                    "f" => "a foreign table",
                    "S" => "a sequence",
                    "i" | "I" => "an index",
                    "c" => "a composite type",
                    _ => "not a table",
                };
                let q = QualifiedName {
                    schema: Some(schema),
                    name: rel,
                };
                return Err(Error::schema(format!(
                    "{q} is {what}: chunkload loads into tables and partitioned tables only \
                     (psql's \\copy loads a view only through an INSTEAD OF INSERT trigger); \
                     load the table behind it"
                )));
            }
            return Err(Error::schema(format!(
                "table {name} does not exist in the database the URL names (create it first, e.g. with `chunkload init --schema FILE`, or pass --create-table)"
            )));
        };
        let (oid, schema, rel): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        let columns = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
                 FROM pg_attribute a
                 WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&oid],
            )?
            .iter()
            .map(|r| TableColumn {
                name: r.get(0),
                type_name: r.get(1),
                not_null: r.get(2),
                has_default: r.get(3),
            })
            .collect();
        let primary_key = client
            .query(
                "SELECT a.attname::text
                 FROM pg_index i
                 JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = $1::int8::oid AND i.indisprimary
                 ORDER BY k.ord",
                &[&oid],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Table {
            schema,
            name: rel,
            columns,
            primary_key,
        })
    }

    /// Names of the columns, for error messages.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Maps the file's column names (from its header or `--columns`) to table columns:
    /// exact match first, else a case-insensitive match when exactly one column fits.
    /// Returns the index into `self.columns` of each file column.
    pub fn map_columns(&self, names: &[String], source: &str) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let idx = resolve_name(name, self.columns.iter().map(|c| c.name.as_str()));
            let Some(idx) = idx else {
                return Err(Error::schema(format!(
                    "{source}: column {name:?} is not a column of table {} (its columns: {})",
                    self.sql_name(),
                    self.column_list()
                )));
            };
            if out.contains(&idx) {
                return Err(Error::schema(format!(
                    "{source}: column {name:?} appears twice (as table column {:?})",
                    self.columns[idx].name
                )));
            }
            out.push(idx);
        }
        Ok(out)
    }
}

/// Finds `name` among `names`: the exact spelling first, else the one case-insensitive
/// match (none when several fit). Headers, `--columns` and `--primary-key` all map so.
pub fn resolve_name<'a>(name: &str, names: impl Iterator<Item = &'a str> + Clone) -> Option<usize> {
    names.clone().position(|n| n == name).or_else(|| {
        let lower = name.to_lowercase();
        let mut hits = names.enumerate().filter(|(_, n)| n.to_lowercase() == lower);
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let col = |n: &str| TableColumn {
            name: n.into(),
            type_name: "text".into(),
            not_null: false,
            has_default: false,
        };
        Table {
            schema: "public".into(),
            name: "t".into(),
            columns: vec![col("id"), col("Name"), col("name2"), col("AB"), col("ab")],
            primary_key: vec!["id".into()],
        }
    }

    #[test]
    fn resolve_name_prefers_exact_then_unique_case_insensitive() {
        let names = ["id", "Name", "AB", "ab"];
        assert_eq!(resolve_name("NAME", names.iter().copied()), Some(1));
        assert_eq!(resolve_name("ab", names.iter().copied()), Some(3));
        assert_eq!(resolve_name("Ab", names.iter().copied()), None, "ambiguous");
        assert_eq!(resolve_name("zz", names.iter().copied()), None);
    }

    #[test]
    fn header_maps_exactly_then_case_insensitively_when_unambiguous() {
        let t = table();
        let names: Vec<String> = ["NAME", "ID", "name2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(t.map_columns(&names, "f.csv").unwrap(), vec![1, 0, 2]);
        // "ab" exists exactly; "Ab" is ambiguous between "AB" and "ab".
        assert_eq!(
            t.map_columns(&["ab".to_string()], "f.csv").unwrap(),
            vec![4]
        );
        let err = t
            .map_columns(&["Ab".to_string()], "f.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"Ab\" is not a column"), "{err}");
        assert!(
            err.contains("its columns: id, Name, name2, AB, ab"),
            "{err}"
        );
        let err = t
            .map_columns(&["id".into(), "ID".into()], "f.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn sql_name_is_always_quoted() {
        let mut t = table();
        t.name = "a\"b".into();
        assert_eq!(t.sql_name(), "\"public\".\"a\"\"b\"");
    }
}
