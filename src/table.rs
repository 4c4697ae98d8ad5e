//! The target table: its columns and types read from the catalog, and the mapping from
//! the file's header (or `--columns`) to those columns.

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

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Table {
    /// The table's name as SQL, always quoted: `"schema"."table"`.
    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }

    /// Reads a table from the catalog. `name` is `table` or `schema.table`, each part
    /// optionally double-quoted (`"My Schema"."a.b"`); unquoted parts fold to lower case as
    /// in SQL, and fall back to their exact spelling when only that exists.
    pub fn read(client: &mut impl GenericClient, name: &str) -> Result<Table> {
        let (schema, table) = split_qualified(name)?;
        let row = client.query_opt(
            "SELECT c.oid::int8, n.nspname::text, c.relname::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p')
               AND c.relname = ANY($1)
               AND (CASE WHEN $2::text IS NULL THEN n.oid = ANY(current_schemas(false)::regnamespace[])
                         ELSE n.nspname = ANY($3) END)
             ORDER BY (c.relname = $4) DESC, array_position(current_schemas(false), n.nspname::name)
             LIMIT 1",
            &[&table.candidates(), &schema.as_ref().map(|s| s.preferred()), &schema.as_ref().map(|s| s.candidates()).unwrap_or_default(), &table.preferred()],
        )?;
        let Some(row) = row else {
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
            let idx = self
                .columns
                .iter()
                .position(|c| &c.name == name)
                .or_else(|| {
                    let lower = name.to_lowercase();
                    let mut hits = self
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.name.to_lowercase() == lower);
                    match (hits.next(), hits.next()) {
                        (Some((i, _)), None) => Some(i),
                        _ => None,
                    }
                });
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

/// One part of a possibly qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NamePart {
    text: String,
    quoted: bool,
}

impl NamePart {
    /// The spelling SQL would use: as written when quoted, else lower-cased.
    fn preferred(&self) -> String {
        if self.quoted {
            self.text.clone()
        } else {
            self.text.to_lowercase()
        }
    }

    /// Spellings to look for: SQL's folding first, the exact one as a fallback.
    fn candidates(&self) -> Vec<String> {
        let mut v = vec![self.preferred()];
        if !self.quoted && self.text != v[0] {
            v.push(self.text.clone());
        }
        v
    }
}

fn split_qualified(name: &str) -> Result<(Option<NamePart>, NamePart)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_quote = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quote && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => {
                in_quote = !in_quote;
                quoted = true;
            }
            '.' if !in_quote => {
                parts.push(NamePart {
                    text: std::mem::take(&mut cur),
                    quoted,
                });
                quoted = false;
            }
            c => cur.push(c),
        }
    }
    if in_quote {
        return Err(Error::usage(format!(
            "table name {name:?} has an unterminated quote"
        )));
    }
    parts.push(NamePart { text: cur, quoted });
    if parts.iter().any(|p| p.text.is_empty()) || parts.len() > 2 {
        return Err(Error::usage(format!(
            "table name {name:?} is not `table` or `schema.table`"
        )));
    }
    let table = parts.pop().expect("one part at least");
    Ok((parts.pop(), table))
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
    fn qualified_names_split_and_honour_quotes() {
        let (s, t) = split_qualified("Sales.Orders").unwrap();
        assert_eq!(s.unwrap().preferred(), "sales");
        assert_eq!(
            t.candidates(),
            vec!["orders".to_string(), "Orders".to_string()]
        );
        let (s, t) = split_qualified("\"my.schema\".\"A\"\"b\"").unwrap();
        assert_eq!(s.unwrap().preferred(), "my.schema");
        assert_eq!(t.preferred(), "A\"b");
        assert!(split_qualified("a.b.c").is_err());
        assert!(split_qualified("\"open").is_err());
        assert!(split_qualified("").is_err());
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
