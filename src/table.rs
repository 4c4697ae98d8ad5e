//! The target table: its columns and types read from the catalog, and the mapping from
//! the file's header (or `--columns`) to those columns.

use crate::flavour::Flavour;
use crate::sql::QualifiedName;
use crate::{Error, Result};
use postgres::GenericClient;
use std::collections::HashSet;

/// A column of the target table, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// Column name, exactly as stored.
    pub name: String,
    /// `format_type` of the column, e.g. `numeric(12,2)` or `timestamp with time zone`.
    pub type_name: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Has a default (or is an identity column).
    pub has_default: bool,
}

/// Why a column of the table is not one a load fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A computed (generated) column: its value is computed, and neither PostgreSQL nor
    /// CockroachDB accepts one inserted (`attgenerated` is `s` or `v`).
    Computed,
    /// A hidden CockroachDB column (`information_schema.columns.is_hidden = 'YES'`): the
    /// `rowid` of a table without a declared primary key, a hash-sharded index's shard
    /// column, a multi-region table's region column.
    Hidden,
}

/// A column of the table that a load leaves to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedColumn {
    /// Column name, exactly as stored.
    pub name: String,
    /// Why a load does not fill it.
    pub why: Skip,
}

/// A column as `pg_attribute` lists it, before the columns a load cannot fill are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// The column as a load sees it.
    pub column: TableColumn,
    /// A computed (generated) column.
    pub computed: bool,
}

/// The target table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Schema, as stored.
    pub schema: String,
    /// Table name, as stored.
    pub name: String,
    /// The columns a load fills, in table order: dropped, computed and (on CockroachDB)
    /// hidden columns are left out ([`loadable`]).
    pub columns: Vec<TableColumn>,
    /// Declared primary key columns, in key order; empty when there is none. A key of
    /// hidden columns only (CockroachDB's `rowid`) is no declared key.
    pub primary_key: Vec<String>,
    /// The table's columns a load does not fill, in table order.
    pub skipped: Vec<SkippedColumn>,
    /// Its `pg_class.oid` (CockroachDB's descriptor id), which the ledger keeps to know
    /// the table again: the same after a rename or TRUNCATE on both servers, new when it is
    /// dropped and created again. `None` for a table inferred without a server.
    pub oid: Option<i64>,
}

/// The columns a load fills and the declared primary key, from the catalog's columns
/// (`pg_attribute` order), the names `information_schema.columns.is_hidden` marks hidden
/// (CockroachDB only; none on PostgreSQL) and the primary key's columns in key order
/// (`pg_index.indkey`, which lists hidden columns from CockroachDB v24.2 on,
/// cockroach#126397). Computed columns are left out on both servers; hidden ones are left
/// out of the columns and of the key, so a key of hidden columns only (the `rowid` a
/// keyless table gets) is no key at all.
pub fn loadable(
    catalog: Vec<CatalogColumn>,
    hidden: &HashSet<String>,
    key: Vec<String>,
) -> (Vec<TableColumn>, Vec<SkippedColumn>, Vec<String>) {
    let mut columns = Vec::with_capacity(catalog.len());
    let mut skipped = Vec::new();
    for c in catalog {
        let why = match (hidden.contains(&c.column.name), c.computed) {
            (true, _) => Some(Skip::Hidden),
            (false, true) => Some(Skip::Computed),
            (false, false) => None,
        };
        match why {
            Some(why) => skipped.push(SkippedColumn {
                name: c.column.name,
                why,
            }),
            None => columns.push(c.column),
        }
    }
    let key = key.into_iter().filter(|k| !hidden.contains(k)).collect();
    (columns, skipped, key)
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

    /// Reads a table from the catalog; asks the server which it is first (see
    /// [`Table::read_as`], which a caller that knows it uses).
    pub fn read(client: &mut impl GenericClient, name: &str) -> Result<Table> {
        let row = client.query_one("SELECT version()", &[])?;
        let flavour = Flavour::from_version(row.get::<_, &str>(0));
        Table::read_as(client, name, flavour)
    }

    /// Reads a table from the catalog of a `flavour` server. `name` is `table` or
    /// `schema.table`, each part optionally double-quoted (`"My Schema"."a.b"`); unquoted
    /// parts fold to lower case as in SQL, and fall back to their exact spelling when only
    /// that exists. Computed columns, and on CockroachDB hidden ones, are left out of the
    /// columns a load fills ([`loadable`]). Every catalog answer that CockroachDB might
    /// give as NULL is read as an Option.
    pub fn read_as(client: &mut impl GenericClient, name: &str, flavour: Flavour) -> Result<Table> {
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
        let catalog = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        a.atthasdef OR coalesce(a.attidentity::text, '') <> '',
                        coalesce(a.attgenerated::text, '') <> ''
                 FROM pg_attribute a
                 WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&oid],
            )?
            .iter()
            .map(|r| CatalogColumn {
                column: TableColumn {
                    name: r.get(0),
                    // Unknown to format_type (NULL): loaded as text, which the server casts.
                    type_name: r
                        .get::<_, Option<String>>(1)
                        .unwrap_or_else(|| "text".into()),
                    not_null: r.get::<_, Option<bool>>(2).unwrap_or(false),
                    has_default: r.get::<_, Option<bool>>(3).unwrap_or(false),
                },
                computed: r.get::<_, Option<bool>>(4).unwrap_or(false),
            })
            .collect();
        let key: Vec<String> = client
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
        let hidden = match flavour {
            Flavour::Cockroach => hidden_columns(client, &schema, &rel)?,
            Flavour::Postgres => HashSet::new(),
        };
        let (columns, skipped, primary_key) = loadable(catalog, &hidden, key);
        Ok(Table {
            schema,
            name: rel,
            columns,
            primary_key,
            skipped,
            oid: Some(oid),
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
                let skipped = self.skipped.iter().map(|c| c.name.as_str());
                if let Some(i) = resolve_name(name, skipped) {
                    let c = &self.skipped[i];
                    let what = match c.why {
                        Skip::Computed => "a computed (generated) column, whose values the server computes",
                        Skip::Hidden => "a hidden CockroachDB column (such as the rowid of a table without a primary key), whose values the server makes",
                    };
                    return Err(Error::schema(format!(
                        "{source}: column {name:?} of table {} is {what}: leave it out of the \
                         file (or of --columns); the columns a load fills: {}",
                        self.sql_name(),
                        self.column_list()
                    )));
                }
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

/// The hidden columns of CockroachDB table `schema.table`, as
/// `information_schema.columns.is_hidden` (a CockroachDB-only column, `YES`/`NO`) says.
/// A server whose `information_schema.columns` has no `is_hidden` (42703: PostgreSQL
/// answering `version()` as CockroachDB, as the test stand-in does) has no hidden columns.
/// Runs outside a transaction, so that refusal costs nothing.
fn hidden_columns(
    client: &mut impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<HashSet<String>> {
    let rows = client.query(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2
           AND is_hidden = 'YES'",
        &[&schema, &table],
    );
    match rows {
        Ok(rows) => Ok(rows.iter().map(|r| r.get(0)).collect()),
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_COLUMN) => {
            Ok(HashSet::new())
        }
        Err(e) => Err(e.into()),
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
            skipped: vec![SkippedColumn {
                name: "total".into(),
                why: Skip::Computed,
            }],
            oid: None,
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

    fn catalog(cols: &[(&str, bool)]) -> Vec<CatalogColumn> {
        cols.iter()
            .map(|&(name, computed)| CatalogColumn {
                column: TableColumn {
                    name: name.into(),
                    type_name: "int8".into(),
                    not_null: false,
                    has_default: computed,
                },
                computed,
            })
            .collect()
    }

    fn names(cols: &[TableColumn]) -> Vec<&str> {
        cols.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn computed_columns_are_not_loaded_on_either_server() {
        // PostgreSQL: `total int8 GENERATED ALWAYS AS (qty * price) STORED`.
        let cols = catalog(&[
            ("id", false),
            ("qty", false),
            ("total", true),
            ("price", false),
        ]);
        let (loaded, skipped, key) = loadable(cols, &HashSet::new(), vec!["id".into()]);
        assert_eq!(names(&loaded), ["id", "qty", "price"]);
        assert_eq!(
            skipped,
            [SkippedColumn {
                name: "total".into(),
                why: Skip::Computed
            }]
        );
        assert_eq!(key, ["id"]);
    }

    #[test]
    fn cockroachdb_hidden_columns_are_not_loaded_and_a_rowid_key_is_no_key() {
        // A keyless table: CockroachDB adds `rowid INT8 NOT VISIBLE DEFAULT unique_rowid()`
        // as its primary key.
        let hidden: HashSet<String> = ["rowid".to_string()].into();
        let cols = catalog(&[("id", false), ("balance", false), ("rowid", false)]);
        let (loaded, skipped, key) = loadable(cols, &hidden, vec!["rowid".into()]);
        assert_eq!(names(&loaded), ["id", "balance"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            (skipped[0].name.as_str(), skipped[0].why),
            ("rowid", Skip::Hidden)
        );
        assert!(key.is_empty(), "rowid is no declared key: {key:?}");
        // A hash-sharded primary key: the hidden, computed shard column comes first in
        // `indkey` from v24.2 on; the declared key is the visible rest.
        let hidden: HashSet<String> = ["crdb_internal_id_shard_16".to_string()].into();
        let cols = catalog(&[
            ("crdb_internal_id_shard_16", true),
            ("id", false),
            ("v", false),
        ]);
        let key = vec!["crdb_internal_id_shard_16".into(), "id".into()];
        let (loaded, skipped, key) = loadable(cols, &hidden, key);
        assert_eq!(names(&loaded), ["id", "v"]);
        assert_eq!(skipped[0].why, Skip::Hidden, "hidden wins over computed");
        assert_eq!(key, ["id"]);
    }

    #[test]
    fn a_file_naming_a_skipped_column_is_told_why() {
        let err = table()
            .map_columns(&["id".into(), "total".into()], "f.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"total\" of table"), "{err}");
        assert!(err.contains("computed (generated) column"), "{err}");
        assert!(err.contains("leave it out of the file"), "{err}");
    }
}
