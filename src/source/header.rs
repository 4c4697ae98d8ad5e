//! Header cells as people write them, and the column names made of them.
//!
//! A created table's columns are [`column_names`] of the header: trimmed, an empty cell
//! named `column_N` after its position, at most 63 bytes (PostgreSQL truncates longer
//! names), a repeated name numbered `name_2`, `name_3`. Case is kept: every identifier is
//! quoted (`crate::sql`), so `Amount` stays `Amount`. The function is deterministic, so a
//! rerun maps the same header onto the same columns without remembering anything.
//! [`mismatches`] says, cell by cell, why a header does not fit a table someone else made.

use std::fmt;

/// PostgreSQL keeps identifiers to this many bytes (NAMEDATALEN - 1).
pub const MAX_NAME_BYTES: usize = 63;

/// A header cell whose column got another name, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    /// The cell's position, from 1.
    pub position: usize,
    /// The cell as written.
    pub cell: String,
    /// The column's name.
    pub name: String,
    /// What was changed, in words.
    pub why: String,
}

impl fmt::Display for Renamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "header cell {} {:?} is column {:?} ({})",
            self.position, self.cell, self.name, self.why
        )
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The name a cell makes before duplicates are numbered, and what changed.
fn base_name(position: usize, cell: &str) -> (String, Vec<&'static str>) {
    let mut why = Vec::new();
    let mut name: String = cell.chars().filter(|&c| c != '\0').collect();
    if name.len() != cell.len() {
        why.push("NUL bytes removed");
    }
    let trimmed = name.trim();
    if trimmed.len() != name.len() {
        why.push("spaces trimmed");
        name = trimmed.to_string();
    }
    if name.is_empty() {
        why.push("the cell is empty");
        name = format!("column_{position}");
    }
    if name.len() > MAX_NAME_BYTES {
        why.push("cut to 63 bytes");
        name = truncated(&name, MAX_NAME_BYTES).to_string();
    }
    (name, why)
}

/// Valid distinct column names for `header`, in order, and the cells whose name differs
/// from the cell. Each cell's cleaned name is kept by its first holder; later holders are
/// numbered from 2, skipping names any cell takes, cut so the suffix fits in 63 bytes.
pub fn column_names(header: &[String]) -> (Vec<String>, Vec<Renamed>) {
    let bases: Vec<(String, Vec<&str>)> = header
        .iter()
        .enumerate()
        .map(|(i, c)| base_name(i + 1, c))
        .collect();
    let taken: std::collections::HashSet<&str> = bases.iter().map(|(n, _)| n.as_str()).collect();
    // Each name's holder: its first cell that was not empty, else its first cell.
    let mut owner = std::collections::HashMap::new();
    let empty = |i: usize| header[i].trim().is_empty();
    for i in (0..bases.len())
        .filter(|&i| !empty(i))
        .chain((0..bases.len()).filter(|&i| empty(i)))
    {
        owner.entry(bases[i].0.as_str()).or_insert(i);
    }
    let mut names = Vec::with_capacity(header.len());
    let mut renamed = Vec::new();
    let mut numbered: Vec<String> = Vec::new();
    for (i, (base, why)) in bases.iter().enumerate() {
        let mut why = why.join(", ");
        let name = if owner[base.as_str()] == i {
            base.clone()
        } else {
            let mut k = 2;
            let name = loop {
                let suffix = format!("_{k}");
                let n = format!("{}{suffix}", truncated(base, MAX_NAME_BYTES - suffix.len()));
                if !taken.contains(n.as_str()) && !numbered.contains(&n) {
                    break n;
                }
                k += 1;
            };
            numbered.push(name.clone());
            if !why.is_empty() {
                why.push_str(", ");
            }
            why.push_str(&format!("{base:?} came before"));
            name
        };
        if name != header[i] {
            renamed.push(Renamed {
                position: i + 1,
                cell: header[i].clone(),
                name: name.clone(),
                why,
            });
        }
        names.push(name);
    }
    (names, renamed)
}

/// Why header cells do not fit a table with `columns`, one sentence per cell that does
/// not: empty, spaces around a name the table has, longer than PostgreSQL keeps, a name
/// the table has only in other cases, or not a column at all; and names given twice.
/// `resolve` finds a cell's column as the load does (exact, else case-insensitive).
pub fn mismatches(
    header: &[String],
    columns: &[&str],
    resolve: impl Fn(&str) -> Option<usize>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut claimed: Vec<(usize, usize)> = Vec::new();
    let say = |i: usize, cell: &str| format!("header cell {} {cell:?}", i + 1);
    for (i, cell) in header.iter().enumerate() {
        if let Some(c) = resolve(cell) {
            match claimed.iter().find(|(col, _)| *col == c) {
                Some(&(_, before)) => out.push(format!(
                    "column {:?} appears twice in the header (cells {} and {})",
                    columns[c],
                    before + 1,
                    i + 1
                )),
                None => claimed.push((c, i)),
            }
            continue;
        }
        let trimmed = cell.trim();
        if trimmed.is_empty() {
            let trailing = match i + 1 == header.len() {
                true => " (a delimiter at the end of the line?)",
                false => "",
            };
            out.push(format!("header cell {} is empty{trailing}", i + 1));
            continue;
        }
        if trimmed.len() != cell.len() {
            if let Some(c) = resolve(trimmed) {
                let side = match (cell.starts_with(trimmed), cell.ends_with(trimmed)) {
                    (true, false) => "a trailing space",
                    (false, true) => "a leading space",
                    _ => "spaces around it",
                };
                out.push(format!(
                    "{} has {side}; the table has {:?}",
                    say(i, cell),
                    columns[c]
                ));
                continue;
            }
        }
        if cell.len() > MAX_NAME_BYTES {
            let cut = truncated(cell, MAX_NAME_BYTES);
            let has = match resolve(cut) {
                Some(c) => format!("; the table has {:?}", columns[c]),
                None => String::new(),
            };
            out.push(format!(
                "header cell {} is {} bytes long, more than the {MAX_NAME_BYTES} PostgreSQL keeps{has}",
                i + 1,
                cell.len()
            ));
            continue;
        }
        let lower = cell.to_lowercase();
        let cased: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| c.to_lowercase() == lower)
            .collect();
        if cased.len() > 1 {
            out.push(format!(
                "{} matches {} only by case; write one of them exactly",
                say(i, cell),
                cased
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
            continue;
        }
        out.push(format!("{} is not a column of the table", say(i, cell)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_trimmed_numbered_and_kept_distinct() {
        let (names, renamed) = column_names(&strings(&[
            " id", "Amount ", "", "a", "a", "a_2", "a", "x\0y",
        ]));
        assert_eq!(
            names,
            strings(&["id", "Amount", "column_3", "a", "a_3", "a_2", "a_4", "xy"])
        );
        let said: Vec<String> = renamed.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            said,
            strings(&[
                r#"header cell 1 " id" is column "id" (spaces trimmed)"#,
                r#"header cell 2 "Amount " is column "Amount" (spaces trimmed)"#,
                r#"header cell 3 "" is column "column_3" (the cell is empty)"#,
                r#"header cell 5 "a" is column "a_3" ("a" came before)"#,
                r#"header cell 7 "a" is column "a_4" ("a" came before)"#,
                r#"header cell 8 "x\0y" is column "xy" (NUL bytes removed)"#,
            ])
        );
        // Good names stay as they are, case included.
        let (names, renamed) = column_names(&strings(&["Id", "name"]));
        assert_eq!((names, renamed.len()), (strings(&["Id", "name"]), 0));
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary_and_stay_distinct() {
        let long = format!("{}é-tail", "x".repeat(62));
        let (names, renamed) =
            column_names(&[long.clone(), long.clone(), "column_4".into(), "".into()]);
        assert_eq!(names[0], "x".repeat(62), "é would pass byte 63");
        assert_eq!(names[1], format!("{}_2", "x".repeat(61)));
        // An empty cell's name yields to a real header's.
        assert_eq!(names[2], "column_4");
        assert_eq!(names[3], "column_4_2");
        assert!(names.iter().all(|n| n.len() <= MAX_NAME_BYTES));
        assert_eq!(renamed[0].why, "cut to 63 bytes");
        // The same header always gives the same names.
        assert_eq!(column_names(&[long.clone(), long]).0, names[..2].to_vec());
    }

    #[test]
    fn mismatches_say_which_cell_and_why() {
        let cols = ["id", "amount", "AB", "ab", &*"y".repeat(63)];
        let resolve = |n: &str| crate::table::resolve_name(n, cols.iter().copied());
        let header = strings(&["id", "Amount ", "", "Ab", "zz", "ID", &"y".repeat(70), ""]);
        let got = mismatches(&header, &cols, resolve);
        assert_eq!(
            got,
            strings(&[
                r#"header cell 2 "Amount " has a trailing space; the table has "amount""#,
                "header cell 3 is empty",
                r#"header cell 4 "Ab" matches "AB" and "ab" only by case; write one of them exactly"#,
                r#"header cell 5 "zz" is not a column of the table"#,
                r#"column "id" appears twice in the header (cells 1 and 6)"#,
                &format!("header cell 7 is 70 bytes long, more than the 63 PostgreSQL keeps; the table has \"{}\"", "y".repeat(63)),
                "header cell 8 is empty (a delimiter at the end of the line?)",
            ])
        );
    }
}
