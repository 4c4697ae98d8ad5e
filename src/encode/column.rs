//! The target columns: their types as far as client-side conversion cares.

/// The target column's type, as far as client-side conversion cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `numeric` / `decimal`, with or without precision and scale.
    Numeric,
    /// `real`.
    Float4,
    /// `double precision`.
    Float8,
    /// `boolean`.
    Bool,
    /// `text`, `varchar(n)`, `character(n)`, `citext`: UTF-8 without NUL.
    Text,
    /// `name`: like text, but PostgreSQL truncates it to 63 bytes.
    Name,
    /// `uuid`.
    Uuid,
    /// `date`.
    Date,
    /// `timestamp [(p)] without time zone`.
    Timestamp,
    /// `timestamp [(p)] with time zone`.
    Timestamptz,
    /// `time [(p)] without time zone`.
    Time,
    /// `interval [(p)]` without a field restriction.
    Interval,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `bytea`.
    Bytea,
    /// Anything else (arrays, enums, domains, `inet`, ...): sent as text, cast by the server.
    Other,
}

impl ColumnType {
    /// Maps a type name as `pg_catalog.format_type` (or `typname`) prints it.
    pub fn from_pg(type_name: &str) -> ColumnType {
        let lower = type_name.trim().to_ascii_lowercase();
        let t = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
        if t.ends_with(']') || t.starts_with('"') {
            // Arrays, and quoted names such as the one-byte `"char"`.
            return ColumnType::Other;
        }
        // Drop typmods: numeric(10,2), timestamp(3) without time zone, varchar(20).
        let mut base = String::with_capacity(t.len());
        let mut depth = 0u32;
        let mut had_typmod = false;
        for c in t.chars() {
            match c {
                '(' => {
                    depth += 1;
                    had_typmod = true;
                }
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => base.push(c),
                _ => {}
            }
        }
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        match base.as_str() {
            "int2" | "smallint" => ColumnType::Int2,
            "int4" | "integer" | "int" => ColumnType::Int4,
            "int8" | "bigint" => ColumnType::Int8,
            "numeric" | "decimal" => ColumnType::Numeric,
            "real" | "float4" => ColumnType::Float4,
            "double precision" | "float8" => ColumnType::Float8,
            "boolean" | "bool" => ColumnType::Bool,
            "text" | "character varying" | "varchar" | "character" | "bpchar" | "citext" => {
                ColumnType::Text
            }
            // Unquoted `char` is the one-byte type as a typname, `character(n)` with a typmod.
            "char" if had_typmod => ColumnType::Text,
            "name" => ColumnType::Name,
            "uuid" => ColumnType::Uuid,
            "date" => ColumnType::Date,
            "timestamp" | "timestamp without time zone" => ColumnType::Timestamp,
            "timestamptz" | "timestamp with time zone" => ColumnType::Timestamptz,
            "time" | "time without time zone" => ColumnType::Time,
            "interval" => ColumnType::Interval,
            "json" => ColumnType::Json,
            "jsonb" => ColumnType::Jsonb,
            "bytea" => ColumnType::Bytea,
            b if b.ends_with(".citext") => ColumnType::Text,
            _ => ColumnType::Other,
        }
    }

    /// The SQL name used in error messages, like PostgreSQL's own.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Int2 => "smallint",
            ColumnType::Int4 => "integer",
            ColumnType::Int8 => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Float4 => "real",
            ColumnType::Float8 => "double precision",
            ColumnType::Bool => "boolean",
            ColumnType::Text => "text",
            ColumnType::Name => "name",
            ColumnType::Uuid => "uuid",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamp with time zone",
            ColumnType::Time => "time",
            ColumnType::Interval => "interval",
            ColumnType::Json => "json",
            ColumnType::Jsonb => "jsonb",
            ColumnType::Bytea => "bytea",
            ColumnType::Other => "text",
        }
    }
}

/// A target column, as read from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name, unquoted.
    pub name: String,
    /// How values are converted.
    pub ty: ColumnType,
    /// The type as `format_type` prints it; used for casts of [`ColumnType::Other`].
    pub type_name: String,
    /// `NOT NULL`: a NULL is rejected client-side.
    pub not_null: bool,
    /// Has a default (matters only for columns left out of the load).
    pub has_default: bool,
}

impl Column {
    /// A nullable column without default whose type is mapped from `type_name`.
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> Column {
        let type_name = type_name.into();
        Column {
            name: name.into(),
            ty: ColumnType::from_pg(&type_name),
            type_name,
            not_null: false,
            has_default: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pg_maps_format_type_and_typname_spellings() {
        use ColumnType::*;
        let cases = [
            ("smallint", Int2),
            ("int2", Int2),
            ("integer", Int4),
            ("int4", Int4),
            ("bigint", Int8),
            ("int8", Int8),
            ("numeric(10,2)", Numeric),
            ("numeric", Numeric),
            ("real", Float4),
            ("double precision", Float8),
            ("boolean", Bool),
            ("character varying(20)", Text),
            ("character(3)", Text),
            ("bpchar", Text),
            ("text", Text),
            ("citext", Text),
            ("public.citext", Text),
            ("name", Name),
            ("uuid", Uuid),
            ("date", Date),
            ("timestamp without time zone", Timestamp),
            ("timestamp(3) without time zone", Timestamp),
            ("timestamp with time zone", Timestamptz),
            ("timestamptz", Timestamptz),
            ("time without time zone", Time),
            ("time(6) without time zone", Time),
            ("time with time zone", Other),
            ("interval", Interval),
            ("interval(3)", Interval),
            ("interval year to month", Other),
            ("json", Json),
            ("jsonb", Jsonb),
            ("bytea", Bytea),
            ("integer[]", Other),
            ("\"char\"", Other),
            ("char", Other),
            ("mood", Other),
            ("inet", Other),
            ("pg_catalog.int4", Int4),
            ("  BIGINT ", Int8),
        ];
        for (name, want) in cases {
            assert_eq!(ColumnType::from_pg(name), want, "{name}");
        }
    }
}
