//! `--defer-indexes` on CockroachDB: the secondary indexes to drop and rebuild, read from
//! `SHOW CREATE TABLE`, which is exact, and rebuilt from the very text it prints.
//!
//! `pg_get_indexdef` is not exact there: it drops storage parameters and hash sharding
//! (`USING HASH WITH (bucket_count=…)`), may print partial-index predicates differently,
//! and v26 prints `INCLUDE` for `STORING` (cockroach#168908); `SHOW CREATE` is exact
//! (shared/guide/cockroachdb.md, "Catalog answers differ"). Its body lists each secondary
//! index as CockroachDB's `catformat.IndexForDisplay` prints it:
//!
//! ```text
//! [UNIQUE ][INVERTED |VECTOR ]INDEX name (key, …)[ USING HASH][ STORING (…)][ PARTITION BY …]
//!     [ WITH (param=value, …)][ WHERE predicate][ NOT VISIBLE | VISIBILITY 0.50]
//! ```
//!
//! the same clauses, in the same order, that `CREATE INDEX` takes (CockroachDB keeps the
//! two in step), so each index comes back as `CREATE <kind> INDEX name ON table <the rest,
//! as printed>`. What this module does not recognise clause by clause is not rebuilt but
//! left in place, as are the primary key (CockroachDB cannot drop and add it back like
//! this), indexes backing a foreign key (inbound: a unique index on the referenced columns;
//! outbound: an index leading with the referencing columns, which versions before v20.2
//! required), partitioned indexes (their zone configurations are separate statements), and
//! indexes that a trailing statement of the output names (`COMMENT ON INDEX t@i`, a zone
//! configuration), which a rebuild would lose. All of it is pure: the text in, the plan out.

/// An index line of the table's body, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexLine {
    /// The words before `INDEX`, each with its space: `""`, `"UNIQUE "`, `"INVERTED "`, …
    prefix: String,
    unique: bool,
    /// The name, unquoted.
    name: String,
    /// The name as printed (quoted when it must be).
    name_sql: String,
    /// Everything from the key list's `(` to the end of the line, verbatim.
    rest: String,
    /// The key columns (unquoted) when every key is a plain column; `None` when one is an
    /// expression or carries an operator class.
    key_columns: Option<Vec<String>>,
    /// It has a `WHERE` predicate.
    partial: bool,
}

/// One element of the table's body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Element {
    PrimaryKey(Option<String>),
    Index(IndexLine),
    /// An index (or unique constraint) this module cannot rebuild exactly: its name (or
    /// its text) and why.
    Unknown {
        name: String,
        why: String,
    },
    ForeignKey {
        name: String,
        columns: Vec<String>,
    },
    /// A column, a family, a check, `UNIQUE WITHOUT INDEX`: nothing to defer.
    Other,
}

/// A `SHOW CREATE TABLE` output, read.
#[derive(Debug)]
struct ShowCreate {
    elements: Vec<Element>,
    /// What follows the body: table storage parameters, locality, and the statements after
    /// it (`COMMENT ON …`, zone configurations).
    trailing: String,
}

/// A foreign key of some table (this one included) that references the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InboundFk {
    pub(crate) name: String,
    /// The referencing table.
    pub(crate) table: String,
    /// The referenced columns of this table.
    pub(crate) columns: Vec<String>,
}

/// An index to drop now and rebuild after the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rebuild {
    pub(crate) name: String,
    pub(crate) create_sql: String,
    pub(crate) drop_sql: String,
    /// The key columns of a unique, non-partial index on plain columns: where the rebuild
    /// looks for duplicates when the data refuses it.
    pub(crate) key_columns: Vec<String>,
}

/// An index (or the primary key) left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftInPlace {
    pub(crate) what: String,
    pub(crate) why: String,
}

/// What `--defer-indexes` does on CockroachDB.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub(crate) rebuild: Vec<Rebuild>,
    pub(crate) left: Vec<LeftInPlace>,
}

/// The plan for `table` (its SQL name, as the statements will name it) from the text of
/// its `SHOW CREATE TABLE` and the foreign keys that reference it. An error when the text
/// is not a `CREATE TABLE` this module can read (then nothing is dropped).
pub(crate) fn plan(table: &str, show_create: &str, inbound: &[InboundFk]) -> Result<Plan, String> {
    let parsed = parse(show_create)?;
    let mut plan = Plan::default();
    let outbound: Vec<(&String, &Vec<String>)> = parsed
        .elements
        .iter()
        .filter_map(|e| match e {
            Element::ForeignKey { name, columns } => Some((name, columns)),
            _ => None,
        })
        .collect();
    let mut leave = |what: String, why: String| plan.left.push(LeftInPlace { what, why });
    let mut rebuild = Vec::new();
    for e in &parsed.elements {
        match e {
            Element::PrimaryKey(name) => leave(
                match name {
                    Some(n) => format!("primary key {n}"),
                    None => "the primary key".into(),
                },
                "CockroachDB cannot drop a primary key and add it back like this".into(),
            ),
            Element::Unknown { name, why } => leave(format!("index {name}"), why.clone()),
            Element::Index(ix) => {
                if let Some(why) = kept_for(ix, &parsed.trailing, inbound, &outbound) {
                    leave(format!("index {}", ix.name), why);
                    continue;
                }
                rebuild.push(Rebuild {
                    name: ix.name.clone(),
                    create_sql: format!(
                        "CREATE {}INDEX {} ON {table} {}",
                        ix.prefix, ix.name_sql, ix.rest
                    ),
                    // A unique index that a UNIQUE constraint of CREATE TABLE made cannot
                    // be dropped without CASCADE; what CASCADE would take besides is a
                    // foreign key on it, and those stay (`kept_for`).
                    drop_sql: format!(
                        "DROP INDEX IF EXISTS {table}@{}{}",
                        ix.name_sql,
                        if ix.unique { " CASCADE" } else { "" }
                    ),
                    key_columns: match (ix.unique, ix.partial, &ix.key_columns) {
                        (true, false, Some(k)) => k.clone(),
                        _ => Vec::new(),
                    },
                });
            }
            Element::ForeignKey { .. } | Element::Other => {}
        }
    }
    plan.rebuild = rebuild;
    Ok(plan)
}

/// The one line that names what `--defer-indexes` leaves in place on `table`.
pub(crate) fn left_in_place_line(table: &str, left: &[LeftInPlace]) -> Option<String> {
    if left.is_empty() {
        return None;
    }
    let items: Vec<String> = left
        .iter()
        .map(|l| format!("{} ({})", l.what, l.why))
        .collect();
    Some(format!(
        "--defer-indexes: left in place on {table}, as CockroachDB cannot drop and rebuild \
         them exactly: {}",
        items.join("; ")
    ))
}

/// Why an index that parsed must stay anyway, if it must.
fn kept_for(
    ix: &IndexLine,
    trailing: &str,
    inbound: &[InboundFk],
    outbound: &[(&String, &Vec<String>)],
) -> Option<String> {
    if names_index(trailing, &ix.name_sql) || names_index(trailing, &ix.name) {
        return Some("a comment or zone configuration names it, which a rebuild would lose".into());
    }
    let keys = ix.key_columns.as_deref()?;
    let same = |a: &[String], b: &[String]| {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort();
        b.sort();
        a == b
    };
    if ix.unique && !ix.partial {
        if let Some(fk) = inbound.iter().find(|fk| same(keys, &fk.columns)) {
            return Some(format!(
                "foreign key {} of {} references it",
                fk.name, fk.table
            ));
        }
    }
    outbound
        .iter()
        .find(|(_, cols)| keys.len() >= cols.len() && same(&keys[..cols.len()], cols))
        .map(|(name, _)| format!("it backs foreign key {name}"))
}

/// Whether `text` refers to an index `name` as CockroachDB does, `table@name`.
fn names_index(text: &str, name: &str) -> bool {
    let needle = format!("@{name}");
    text.match_indices(&needle).any(|(at, _)| {
        text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_ident_char(c))
    })
}

/// Reads a `SHOW CREATE TABLE` output.
fn parse(text: &str) -> Result<ShowCreate, String> {
    let t = text.trim_start();
    let not_create = || {
        let first = t.lines().next().unwrap_or_default();
        format!("SHOW CREATE TABLE did not answer with a CREATE TABLE statement: {first:?}")
    };
    if !t.starts_with("CREATE ") {
        return Err(not_create());
    }
    let open = top_level(t)
        .find(|&(_, c)| c == '(')
        .map(|(i, _)| i)
        .ok_or_else(not_create)?;
    if !t[..open].contains(" TABLE ") {
        return Err(not_create());
    }
    let close = matching(t, open)
        .ok_or_else(|| "SHOW CREATE TABLE's CREATE TABLE has no closing parenthesis".to_string())?;
    let elements = split_commas(&t[open + 1..close])
        .into_iter()
        .map(|e| classify(e.trim()))
        .collect();
    Ok(ShowCreate {
        elements,
        trailing: t[close + 1..].to_string(),
    })
}

/// What one element of the body is.
fn classify(e: &str) -> Element {
    let (words, after) = keywords(e);
    match words.as_slice() {
        ["CONSTRAINT", ..] if words.len() == 1 => constraint(after),
        ["PRIMARY", "KEY", ..] => Element::PrimaryKey(None),
        _ => match words.iter().position(|w| *w == "INDEX") {
            Some(i) if i + 1 == words.len() => {
                let prefix = &words[..i];
                if prefix.contains(&"WITHOUT") {
                    return Element::Other;
                }
                if prefix
                    .iter()
                    .all(|w| ["UNIQUE", "INVERTED", "VECTOR"].contains(w))
                {
                    index(prefix, after)
                } else {
                    let name = ident(after).map_or_else(|| e.to_string(), |(n, ..)| n);
                    Element::Unknown {
                        name,
                        why: format!(
                            "{} INDEX is not a kind this build rebuilds",
                            prefix.join(" ")
                        ),
                    }
                }
            }
            _ => Element::Other,
        },
    }
}

/// `CONSTRAINT name …` (after `CONSTRAINT`).
fn constraint(after: &str) -> Element {
    let Some((name, _, rest)) = ident(after) else {
        return Element::Other;
    };
    let (words, rest) = keywords(rest);
    match words.as_slice() {
        ["PRIMARY", "KEY", ..] => Element::PrimaryKey(Some(name)),
        ["FOREIGN", "KEY", ..] => match columns_in_parens(rest) {
            Some(columns) => Element::ForeignKey { name, columns },
            None => Element::Other,
        },
        ["UNIQUE", "WITHOUT", "INDEX", ..] => Element::Other,
        ["UNIQUE", ..] => Element::Unknown {
            name,
            why: "a UNIQUE constraint printed as such, not as an index".into(),
        },
        _ => Element::Other,
    }
}

/// An index line after its keywords (`prefix` the words before `INDEX`).
fn index(prefix: &[&str], after: &str) -> Element {
    let unknown = |name: &str, why: String| Element::Unknown {
        name: name.to_string(),
        why,
    };
    let Some((name, name_sql, rest)) = ident(after) else {
        return unknown(after, "no index name".into());
    };
    let rest = rest.trim_start();
    if !rest.starts_with('(') {
        return unknown(&name, "no key list after the name".into());
    }
    let Some(close) = matching(rest, 0) else {
        return unknown(&name, "an unclosed key list".into());
    };
    let key_columns = split_commas(&rest[1..close])
        .into_iter()
        .map(|k| plain_column(k.trim()))
        .collect::<Option<Vec<String>>>();
    match clauses(&rest[close + 1..]) {
        Ok(partial) => Element::Index(IndexLine {
            prefix: prefix.iter().map(|w| format!("{w} ")).collect(),
            unique: prefix.contains(&"UNIQUE"),
            name,
            name_sql: name_sql.to_string(),
            rest: rest.trim_end().to_string(),
            key_columns,
            partial,
        }),
        Err(why) => unknown(&name, why),
    }
}

/// Checks the clauses after an index's key list, in the order CockroachDB prints them;
/// whether there is a `WHERE`. Anything else, or out of order, is an error naming it.
fn clauses(s: &str) -> Result<bool, String> {
    let mut s = s.trim();
    let take_parens = |s: &str, keyword: &str| -> Option<usize> {
        let rest = s.strip_prefix(keyword)?;
        let open = keyword.len() + (rest.len() - rest.trim_start().len());
        s[open..]
            .starts_with('(')
            .then(|| matching(s, open))
            .flatten()
            .map(|c| c + 1)
    };
    if let Some(rest) = s.strip_prefix("USING HASH") {
        s = rest.trim_start();
        // Before v22.1: `USING HASH WITH BUCKET_COUNT = 8`.
        if let Some(rest) = s.strip_prefix("WITH BUCKET_COUNT = ") {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            s = rest[digits..].trim_start();
        }
    }
    for keyword in ["STORING", "INCLUDE", "COVERING"] {
        if let Some(end) = take_parens(s, keyword) {
            s = s[end..].trim_start();
            break;
        }
    }
    if s.starts_with("PARTITION BY") {
        return Err("partitioned: its partitions' zone configurations are not in the index".into());
    }
    if let Some(end) = take_parens(s, "WITH") {
        s = s[end..].trim_start();
    }
    if let Some(visibility) = visibility_at_end(s) {
        s = s[..s.len() - visibility].trim_end();
    }
    let partial = match s.strip_prefix("WHERE ") {
        Some(predicate) if !predicate.trim().is_empty() => {
            s = "";
            true
        }
        _ => false,
    };
    match s.is_empty() {
        true => Ok(partial),
        false => Err(format!("not understood: {}", shorten(s))),
    }
}

/// The length of a ` NOT VISIBLE` or ` VISIBILITY 0.50` that ends `s`.
fn visibility_at_end(s: &str) -> Option<usize> {
    if s == "NOT VISIBLE" || s.ends_with(" NOT VISIBLE") {
        return Some("NOT VISIBLE".len());
    }
    let at = s.rfind("VISIBILITY ")?;
    let number = &s[at + "VISIBILITY ".len()..];
    let before_ok = at == 0 || s[..at].ends_with(' ');
    (before_ok && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .then(|| s.len() - at)
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The column of a key that is a plain column (`a ASC`, `"Te""st" DESC`, `j` of an
/// inverted index), unquoted; `None` for an expression or an operator class.
fn plain_column(key: &str) -> Option<String> {
    let (name, _, rest) = ident(key)?;
    matches!(rest.trim(), "" | "ASC" | "DESC").then_some(name)
}

/// `(a, "b")` at the start of `s`: the names, unquoted.
fn columns_in_parens(s: &str) -> Option<Vec<String>> {
    let s = s.trim_start();
    let close = s.starts_with('(').then(|| matching(s, 0)).flatten()?;
    split_commas(&s[1..close])
        .into_iter()
        .map(|c| match ident(c.trim()) {
            Some((n, _, rest)) if rest.trim().is_empty() => Some(n),
            _ => None,
        })
        .collect()
}

/// The leading run of upper-case keywords of `s` (`UNIQUE INDEX`, `CONSTRAINT`) and what
/// follows them. Identifiers are printed in lower case or quoted, so they never pass for
/// keywords.
fn keywords(s: &str) -> (Vec<&str>, &str) {
    let mut words = Vec::new();
    let mut rest = s.trim_start();
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(rest.len());
        let next = rest[end..].chars().next();
        if end == 0 || next.is_some_and(|c| !c.is_whitespace()) {
            return (words, rest);
        }
        words.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// An identifier at the start of `s`: its name (unquoted), its text as printed, and what
/// follows.
fn ident(s: &str) -> Option<(String, &str, &str)> {
    let s = s.trim_start();
    if let Some(body) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                name.push(c);
                continue;
            }
            if chars.peek().is_some_and(|&(_, n)| n == '"') {
                name.push('"');
                chars.next();
                continue;
            }
            let end = 1 + i + 1;
            return Some((name, &s[..end], &s[end..]));
        }
        return None;
    }
    let end = s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len());
    if end == 0 || s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((s[..end].to_string(), &s[..end], &s[end..]))
}

/// The characters of `s` outside string literals and quoted identifiers, with their
/// offsets: `'…'` (`''` inside), `e'…'` (backslash escapes too) and `"…"` (`""` inside).
fn top_level(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut chars = s.char_indices().peekable();
    let mut prev: Option<char> = None;
    let mut prev2: Option<char> = None;
    std::iter::from_fn(move || loop {
        let (i, c) = chars.next()?;
        let (p, p2) = (prev, prev2);
        prev2 = prev;
        prev = Some(c);
        if c != '\'' && c != '"' {
            return Some((i, c));
        }
        // An e'…' string: `e` or `E` right before, not ending an identifier.
        let escapes =
            c == '\'' && matches!(p, Some('e') | Some('E')) && !p2.is_some_and(is_ident_char);
        while let Some((_, d)) = chars.next() {
            if escapes && d == '\\' {
                chars.next();
                continue;
            }
            if d == c {
                if chars.peek().is_some_and(|&(_, n)| n == c) {
                    chars.next();
                    continue;
                }
                break;
            }
        }
        prev = Some(c);
        prev2 = None;
    })
}

/// The offset of the bracket closing the one at `open` (`(` or `[`).
fn matching(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in top_level(s).filter(|&(i, _)| i >= open) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `s` split at its top-level commas (outside brackets, strings and quoted names).
fn split_commas(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in top_level(s) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() || !parts.is_empty() {
        parts.push(&s[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "\"public\".\"t\"";

    /// The plan for table `t` of `text`, with no inbound foreign key.
    fn plan_of(text: &str) -> Plan {
        plan(T, text, &[]).unwrap()
    }

    fn creates(p: &Plan) -> Vec<&str> {
        p.rebuild.iter().map(|r| r.create_sql.as_str()).collect()
    }

    fn left(p: &Plan) -> Vec<String> {
        p.left
            .iter()
            .map(|l| format!("{}: {}", l.what, l.why))
            .collect()
    }

    // Fixtures: SHOW CREATE TABLE outputs as CockroachDB prints them (a tab before each
    // element), from its own tests (pkg/sql/show_create_table_test.go, the logic tests
    // partial_index and create_table), its docs (show-create, movr) and the index
    // formatter (pkg/sql/catalog/catformat/index.go), with the table renamed `t`.

    /// show_create_table_test.go: STORING, an implicit rowid key, families.
    const STORING: &str = "CREATE TABLE public.t (
\ti INT8 NULL,
\tf FLOAT8 NULL,
\ts STRING NULL,
\td DATE NULL,
\trowid INT8 NOT VISIBLE NOT NULL DEFAULT unique_rowid(),
\tCONSTRAINT t_pkey PRIMARY KEY (rowid ASC),
\tINDEX idx_if (f ASC, i ASC) STORING (s, d),
\tUNIQUE INDEX t_d_key (d ASC),
\tFAMILY \"primary\" (i, f, d, rowid),
\tFAMILY fam_1_s (s)
)";

    #[test]
    fn storing_and_unique_indexes_come_back_as_printed() {
        let p = plan_of(STORING);
        assert_eq!(
            creates(&p),
            [
                "CREATE INDEX idx_if ON \"public\".\"t\" (f ASC, i ASC) STORING (s, d)",
                "CREATE UNIQUE INDEX t_d_key ON \"public\".\"t\" (d ASC)",
            ]
        );
        assert_eq!(
            p.rebuild[0].drop_sql,
            "DROP INDEX IF EXISTS \"public\".\"t\"@idx_if"
        );
        // A unique index a UNIQUE constraint made is dropped only with CASCADE.
        assert_eq!(
            p.rebuild[1].drop_sql,
            "DROP INDEX IF EXISTS \"public\".\"t\"@t_d_key CASCADE"
        );
        assert_eq!(p.rebuild[0].key_columns, Vec::<String>::new());
        assert_eq!(p.rebuild[1].key_columns, ["d"]);
        assert_eq!(
            left(&p),
            ["primary key t_pkey: CockroachDB cannot drop a primary key and add it back like this"]
        );
    }

    /// show_create_table_test.go: hash-sharded indexes round-trip.
    const HASH: &str = "CREATE TABLE public.t (
\ta INT8 NULL,
\tcrdb_internal_a_shard_8 INT4 NOT VISIBLE NOT NULL AS (mod(fnv32(crdb_internal.datums_to_bytes(a)), 8:::INT8)) VIRTUAL,
\trowid INT8 NOT VISIBLE NOT NULL DEFAULT unique_rowid(),
\tCONSTRAINT t_pkey PRIMARY KEY (rowid ASC),
\tINDEX t_a_idx (a ASC) USING HASH WITH (bucket_count=8)
)";

    #[test]
    fn hash_sharding_and_its_bucket_count_are_kept() {
        assert_eq!(
            creates(&plan_of(HASH)),
            ["CREATE INDEX t_a_idx ON \"public\".\"t\" (a ASC) USING HASH WITH (bucket_count=8)"]
        );
        // The formatter's order: USING HASH, STORING, then the storage parameters.
        let text = HASH.replace(
            "USING HASH WITH (bucket_count=8)",
            "USING HASH STORING (rowid) WITH (bucket_count=8) NOT VISIBLE",
        );
        assert_eq!(plan_of(&text).rebuild.len(), 1, "{:?}", plan_of(&text));
        // Before v22.1.
        let old = HASH.replace("WITH (bucket_count=8)", "WITH BUCKET_COUNT = 8");
        assert_eq!(
            creates(&plan_of(&old)),
            ["CREATE INDEX t_a_idx ON \"public\".\"t\" (a ASC) USING HASH WITH BUCKET_COUNT = 8"]
        );
    }

    /// The partial_index logic test (printed there with four spaces): predicates with
    /// CockroachDB's type annotations, unique partial indexes.
    const PARTIAL: &str = "CREATE TABLE public.t (
    a INT8 NULL,
    INDEX t6_a_idx (a ASC) WHERE a > 0:::INT8,
    INDEX t6_a_idx2 (a DESC) WHERE a > 2:::INT8,
    UNIQUE INDEX t6_a_key (a ASC) WHERE a > 3:::INT8,
    INDEX t6i3 (a DESC) WHERE a > 8:::INT8,
    FAMILY \"primary\" (a, rowid)
)";

    #[test]
    fn partial_indexes_keep_their_predicate_verbatim() {
        let p = plan_of(PARTIAL);
        assert_eq!(
            creates(&p),
            [
                "CREATE INDEX t6_a_idx ON \"public\".\"t\" (a ASC) WHERE a > 0:::INT8",
                "CREATE INDEX t6_a_idx2 ON \"public\".\"t\" (a DESC) WHERE a > 2:::INT8",
                "CREATE UNIQUE INDEX t6_a_key ON \"public\".\"t\" (a ASC) WHERE a > 3:::INT8",
                "CREATE INDEX t6i3 ON \"public\".\"t\" (a DESC) WHERE a > 8:::INT8",
            ]
        );
        // Duplicates of a partial unique index are not looked up by its columns alone.
        assert!(p.rebuild[2].key_columns.is_empty());
        assert!(left(&p).is_empty(), "no primary key line printed here");
    }

    /// The show-create docs page (movr's drivers): a quoted primary key name, a unique
    /// column constraint printed as a unique index.
    const DRIVERS: &str = "CREATE TABLE public.drivers (
\tid UUID NOT NULL,
\tcity STRING NOT NULL,
\tname STRING NULL,
\tdl STRING NULL,
\taddress STRING NULL,
\tCONSTRAINT \"primary\" PRIMARY KEY (city ASC, id ASC),
\tUNIQUE INDEX drivers_dl_key (dl ASC)
)";

    #[test]
    fn a_unique_constraint_index_is_rebuilt_and_its_duplicates_can_be_named() {
        let p = plan(T, DRIVERS, &[]).unwrap();
        assert_eq!(
            creates(&p),
            ["CREATE UNIQUE INDEX drivers_dl_key ON \"public\".\"t\" (dl ASC)"]
        );
        assert_eq!(p.rebuild[0].key_columns, ["dl"]);
        assert_eq!(p.left[0].what, "primary key primary");
        // A foreign key of another table on dl: the index stays, and says why.
        let fk = InboundFk {
            name: "licences_dl_fkey".into(),
            table: "public.licences".into(),
            columns: vec!["dl".into()],
        };
        let p = plan(T, DRIVERS, &[fk]).unwrap();
        assert!(p.rebuild.is_empty());
        assert_eq!(
            left(&p)[1],
            "index drivers_dl_key: foreign key licences_dl_fkey of public.licences references it"
        );
    }

    /// movr's rides (docs): outbound foreign keys with the indexes that back them, a check.
    const RIDES: &str = "CREATE TABLE public.rides (
\tid UUID NOT NULL,
\tcity VARCHAR NOT NULL,
\tvehicle_city VARCHAR NULL,
\trider_id UUID NULL,
\tvehicle_id UUID NULL,
\tstart_address VARCHAR NULL,
\tend_address VARCHAR NULL,
\tstart_time TIMESTAMP NULL,
\tend_time TIMESTAMP NULL,
\trevenue DECIMAL(10,2) NULL,
\tCONSTRAINT rides_pkey PRIMARY KEY (city ASC, id ASC),
\tCONSTRAINT rides_city_rider_id_fkey FOREIGN KEY (city, rider_id) REFERENCES public.users(city, id),
\tCONSTRAINT rides_vehicle_city_vehicle_id_fkey FOREIGN KEY (vehicle_city, vehicle_id) REFERENCES public.vehicles(city, id),
\tINDEX rides_auto_index_fk_city_ref_users (city ASC, rider_id ASC),
\tINDEX rides_auto_index_fk_vehicle_city_ref_vehicles (vehicle_city ASC, vehicle_id ASC),
\tINDEX rides_start_time_idx (start_time DESC) STORING (revenue),
\tCONSTRAINT check_vehicle_city_city CHECK (vehicle_city = city)
)";

    #[test]
    fn indexes_backing_foreign_keys_stay_and_are_named() {
        let p = plan_of(RIDES);
        assert_eq!(
            creates(&p),
            ["CREATE INDEX rides_start_time_idx ON \"public\".\"t\" (start_time DESC) STORING (revenue)"]
        );
        assert_eq!(
            left(&p)[1..],
            [
                "index rides_auto_index_fk_city_ref_users: it backs foreign key rides_city_rider_id_fkey",
                "index rides_auto_index_fk_vehicle_city_ref_vehicles: it backs foreign key rides_vehicle_city_vehicle_id_fkey",
            ]
        );
        let line = left_in_place_line(T, &p.left).unwrap();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("--defer-indexes: left in place on \"public\".\"t\", as CockroachDB cannot drop and rebuild them exactly: primary key rides_pkey ("),
            "{line}"
        );
        assert_eq!(left_in_place_line(T, &[]), None);
    }

    /// The docs' multi-region example (a hash-sharded primary key, REGIONAL BY ROW, a
    /// vector index, an outbound foreign key on the key's column).
    const DATAPOINTS: &str = "CREATE TABLE public.datapoints (
\tat TIMESTAMP NOT NULL,
\tstation UUID NOT NULL,
\tparam0 INT8 NULL,
\tparam5 JSONB NULL,
\tparam6 VECTOR(384) NULL,
\tcrdb_region public.crdb_internal_region NOT VISIBLE NOT NULL DEFAULT gateway_region()::public.crdb_internal_region,
\tcrdb_internal_at_station_shard_16 INT8 NOT VISIBLE NOT NULL AS (mod(fnv32(md5(crdb_internal.datums_to_bytes(at, station))), 16:::INT8)) VIRTUAL,
\tCONSTRAINT datapoints_pkey PRIMARY KEY (station ASC, at ASC) USING HASH WITH (bucket_count=16),
\tCONSTRAINT datapoints_station_fkey FOREIGN KEY (station) REFERENCES public.stations(id) ON DELETE CASCADE,
\tINDEX datapoints_at_idx (at ASC),
\tVECTOR INDEX datapoints_param6_idx (param6 vector_l2_ops),
\tINVERTED INDEX datapoints_param5_idx (param5)
) LOCALITY REGIONAL BY ROW AS crdb_region";

    #[test]
    fn vector_and_inverted_indexes_come_back_with_their_kind() {
        let p = plan_of(DATAPOINTS);
        assert_eq!(
            creates(&p),
            [
                "CREATE INDEX datapoints_at_idx ON \"public\".\"t\" (at ASC)",
                "CREATE VECTOR INDEX datapoints_param6_idx ON \"public\".\"t\" (param6 vector_l2_ops)",
                "CREATE INVERTED INDEX datapoints_param5_idx ON \"public\".\"t\" (param5)",
            ]
        );
        assert_eq!(left(&p).len(), 1, "{:?}", left(&p));
    }

    /// Kinds and clauses from the index formatter: trigram and geospatial inverted
    /// indexes with storage parameters, expression keys, visibility.
    const KINDS: &str = "CREATE TABLE public.t (
\tk INT8 NOT NULL,
\ts STRING NULL,
\tg GEOMETRY NULL,
\tj JSONB NULL,
\tCONSTRAINT t_pkey PRIMARY KEY (k ASC),
\tINVERTED INDEX t_s_idx (s gin_trgm_ops),
\tINVERTED INDEX t_g_idx (g) WITH (s2_level_mod=3, s2_max_level=20),
\tINDEX t_expr_idx (lower(s) ASC, (j->>'a':::STRING) DESC),
\tUNIQUE INDEX t_lower_key (lower(s) ASC),
\tINDEX t_hidden_idx (s ASC) NOT VISIBLE,
\tINDEX t_some_idx (s ASC) WHERE s > 'm':::STRING VISIBILITY 0.50,
\tINVERTED INDEX t_k_j_idx (k ASC, j) WHERE k > 0:::INT8
)";

    #[test]
    fn every_clause_the_formatter_prints_is_rebuilt_verbatim() {
        let p = plan_of(KINDS);
        assert_eq!(
            creates(&p),
            [
                "CREATE INVERTED INDEX t_s_idx ON \"public\".\"t\" (s gin_trgm_ops)",
                "CREATE INVERTED INDEX t_g_idx ON \"public\".\"t\" (g) WITH (s2_level_mod=3, s2_max_level=20)",
                "CREATE INDEX t_expr_idx ON \"public\".\"t\" (lower(s) ASC, (j->>'a':::STRING) DESC)",
                "CREATE UNIQUE INDEX t_lower_key ON \"public\".\"t\" (lower(s) ASC)",
                "CREATE INDEX t_hidden_idx ON \"public\".\"t\" (s ASC) NOT VISIBLE",
                "CREATE INDEX t_some_idx ON \"public\".\"t\" (s ASC) WHERE s > 'm':::STRING VISIBILITY 0.50",
                "CREATE INVERTED INDEX t_k_j_idx ON \"public\".\"t\" (k ASC, j) WHERE k > 0:::INT8",
            ]
        );
        // An expression key has no plain columns to look duplicates up by.
        assert!(p.rebuild[3].key_columns.is_empty());
    }

    /// Quoting from show_create_table_test.go, and strings whose commas, parentheses and
    /// quotes must not split or end an element.
    const QUOTED: &str = "CREATE TABLE public.\"T\" (
\t\"te\"\"st\" INT8 NOT NULL,
\tnote STRING NULL DEFAULT e'it\\'s, (not) \"a\" name':::STRING,
\tCONSTRAINT \"pri\"\"mary\" PRIMARY KEY (\"te\"\"st\" ASC),
\tUNIQUE INDEX \"My Idx\" (\"te\"\"st\" DESC, note ASC) WHERE note != ', )':::STRING,
\tINDEX \"index\" (note ASC),
\tCONSTRAINT \"ck, (x)\" CHECK (note != e'\\')')
)";

    #[test]
    fn quoted_names_and_tricky_strings_are_read_exactly() {
        let p = plan_of(QUOTED);
        assert_eq!(
            creates(&p),
            [
                "CREATE UNIQUE INDEX \"My Idx\" ON \"public\".\"t\" (\"te\"\"st\" DESC, note ASC) WHERE note != ', )':::STRING",
                "CREATE INDEX \"index\" ON \"public\".\"t\" (note ASC)",
            ]
        );
        assert_eq!(p.rebuild[0].name, "My Idx");
        assert_eq!(
            p.rebuild[0].drop_sql,
            "DROP INDEX IF EXISTS \"public\".\"t\"@\"My Idx\" CASCADE"
        );
        assert_eq!(p.left[0].what, "primary key pri\"mary");
        // Partial, so no key columns; the columns themselves read unquoted.
        assert_eq!(
            parse(QUOTED).unwrap().elements[3],
            Element::Index(IndexLine {
                prefix: "UNIQUE ".into(),
                unique: true,
                name: "My Idx".into(),
                name_sql: "\"My Idx\"".into(),
                rest: "(\"te\"\"st\" DESC, note ASC) WHERE note != ', )':::STRING".into(),
                key_columns: Some(vec!["te\"st".into(), "note".into()]),
                partial: true,
            })
        );
    }

    /// A TTL table (show_create_table_test.go) with comments (the show-create docs page):
    /// an index a comment names stays, as a rebuild would lose the comment.
    const COMMENTED: &str = "CREATE TABLE public.t (
\tpk INT8 NOT NULL,
\tname STRING NULL,
\tcity STRING NULL,
\tcrdb_internal_expiration TIMESTAMPTZ NOT VISIBLE NOT NULL DEFAULT current_timestamp():::TIMESTAMPTZ + '00:10:00':::INTERVAL ON UPDATE current_timestamp():::TIMESTAMPTZ + '00:10:00':::INTERVAL,
\tCONSTRAINT t_pkey PRIMARY KEY (pk ASC),
\tINDEX t_name_idx (name ASC),
\tINDEX t_name_idx_city (city ASC)
) WITH (ttl = 'on', ttl_automatic_column = 'on', ttl_expire_after = '00:10:00':::INTERVAL);
COMMENT ON TABLE public.t IS 'This table contains information about users.';
COMMENT ON INDEX public.t@t_name_idx IS 'users by name'";

    #[test]
    fn an_index_a_trailing_statement_names_stays() {
        let p = plan_of(COMMENTED);
        assert_eq!(
            left(&p)[1],
            "index t_name_idx: a comment or zone configuration names it, which a rebuild would lose"
        );
        // Names are compared whole: `@t_name_idx` does not name t_name_idx_city.
        assert_eq!(
            creates(&p),
            ["CREATE INDEX t_name_idx_city ON \"public\".\"t\" (city ASC)"]
        );
        assert!(names_index("x@\"primary\";", "\"primary\""));
        assert!(!names_index("x@ab", "a"));
    }

    /// A partitioned index (the formatter puts PARTITION BY before WITH and WHERE), an
    /// interleaved one (before v21.2), an unknown kind and a constraint printed as such.
    const UNKNOWN: &str = "CREATE TABLE public.t (
\ta INT8 NOT NULL,
\tb INT8 NULL,
\tCONSTRAINT t_pkey PRIMARY KEY (a ASC),
\tINDEX t_b_idx (b ASC) PARTITION BY LIST (b) (
\t\tPARTITION p1 VALUES IN ((1)),
\t\tPARTITION \"default\" VALUES IN ((DEFAULT))
\t),
\tINDEX t_old_idx (a ASC, b ASC) INTERLEAVE IN PARENT public.p (a),
\tTRIGRAM INDEX t_tri_idx (b),
\tCONSTRAINT t_b_key UNIQUE (b ASC),
\tCONSTRAINT t_b_nokey UNIQUE WITHOUT INDEX (b),
\tINDEX t_ok_idx (b DESC)
)";

    #[test]
    fn what_is_not_understood_stays_and_says_why() {
        let p = plan_of(UNKNOWN);
        assert_eq!(
            creates(&p),
            ["CREATE INDEX t_ok_idx ON \"public\".\"t\" (b DESC)"]
        );
        assert_eq!(
            left(&p),
            [
                "primary key t_pkey: CockroachDB cannot drop a primary key and add it back like this",
                "index t_b_idx: partitioned: its partitions' zone configurations are not in the index",
                "index t_old_idx: not understood: INTERLEAVE IN PARENT public.p (a)",
                "index t_tri_idx: TRIGRAM INDEX is not a kind this build rebuilds",
                "index t_b_key: a UNIQUE constraint printed as such, not as an index",
            ]
        );
    }

    #[test]
    fn text_that_is_not_a_create_table_is_an_error() {
        for bad in [
            "",
            "CREATE VIEW public.v (a) AS SELECT 1",
            "CREATE TABLE public.t (a INT8",
            "SELECT 1",
        ] {
            assert!(plan(T, bad, &[]).is_err(), "{bad:?}");
        }
        // A table without secondary indexes: nothing to rebuild, the key stays.
        let p = plan_of("CREATE TABLE public.t (\n\ti INT8 NOT NULL,\n\tCONSTRAINT t_pkey PRIMARY KEY (i ASC)\n)");
        assert!(p.rebuild.is_empty());
        assert_eq!(p.left.len(), 1);
    }

    #[test]
    fn the_reader_splits_at_top_level_commas_only() {
        assert_eq!(
            split_commas("a, f(b, c), 'x, y', \"p, q\", e'\\', z', [1, 2]"),
            [
                "a",
                " f(b, c)",
                " 'x, y'",
                " \"p, q\"",
                " e'\\', z'",
                " [1, 2]"
            ]
        );
        assert_eq!(split_commas(""), Vec::<&str>::new());
        assert_eq!(matching("(a, (b), ')')", 0), Some(12));
        assert_eq!(
            ident("\"a\"\"b\" rest"),
            Some(("a\"b".into(), "\"a\"\"b\"", " rest"))
        );
        assert_eq!(ident("idx_1 (a)"), Some(("idx_1".into(), "idx_1", " (a)")));
        assert_eq!(ident("(a)"), None);
        assert_eq!(plain_column("a ASC"), Some("a".into()));
        assert_eq!(plain_column("lower(a) ASC"), None);
        assert_eq!(
            keywords("UNIQUE INDEX i (a)"),
            (vec!["UNIQUE", "INDEX"], "i (a)")
        );
        assert_eq!(keywords("id UUID NOT NULL"), (vec![], "id UUID NOT NULL"));
    }
}
