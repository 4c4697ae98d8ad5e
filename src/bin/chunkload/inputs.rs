//! The inputs of `load` as they are named: files, directories (their CSV-like files, not
//! recursive) and globs (expanded here too, so a quoted glob works), each in sorted order;
//! and the per-file names of `--table '{stem}'` (also `--reject-file`, `--load-id`).

use chunkload::source::{remote, store, Compression};
use chunkload::Error;
use std::path::Path;

/// What a file in a directory is named to be loaded: a CSV-like extension, after an
/// optional compression suffix the input layer knows (`Compression::from_path`).
const DATA_EXTENSIONS: [&str; 3] = ["csv", "tsv", "txt"];

/// The placeholders of a per-file template.
const PLACEHOLDERS: [&str; 3] = ["{stem}", "{name}", "{dir}"];

/// Every file the arguments name, in order: a directory gives its CSV-like files, a
/// pattern that names no file its matches, each sorted; anything else stays as given
/// (`-`, a URL, a file, a missing path the load reports).
pub(crate) fn expand(args: &[String]) -> Result<Vec<String>, Error> {
    let mut files = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if store::is_store(arg) && (arg.ends_with('/') || is_pattern(arg)) {
            files.extend(objects(arg)?);
        // A URL's `?` starts its query, not a pattern.
        } else if remote::is_remote(arg) {
            files.push(arg.clone());
        } else if arg != "-" && path.is_dir() {
            let found = directory(arg)?;
            if found.is_empty() {
                return Err(Error::usage(format!(
                    "directory {arg} holds no CSV-like file (.csv, .tsv or .txt, optionally \
                     compressed, e.g. .csv.gz); name the files instead"
                )));
            }
            files.extend(found);
        } else if !path.exists() && is_pattern(arg) {
            files.extend(matches(arg)?);
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

fn is_pattern(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// The CSV-like regular files of directory `dir`, sorted by name; hidden files and the
/// reject files of earlier loads (`*.rejects.csv`) are left out.
fn directory(dir: &str) -> Result<Vec<String>, Error> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::usage(format!("cannot list directory {dir}: {e}")))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::usage(format!("cannot list directory {dir}: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".rejects.csv") || !is_csv_like(&name) {
            continue;
        }
        // Symlinks to files count; subdirectories are not entered.
        if entry.path().is_file() {
            names.push(name);
        }
    }
    names.sort();
    let base = Path::new(dir);
    Ok(names
        .into_iter()
        .map(|n| base.join(n).to_string_lossy().into_owned())
        .collect())
}

fn is_csv_like(name: &str) -> bool {
    let (base, _) = split_compression(name);
    extension(base).is_some_and(|e| DATA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// `name` without the compression suffix the input layer recognises, and that suffix.
fn split_compression(name: &str) -> (&str, Option<&str>) {
    match (Compression::from_path(name), name.rfind('.')) {
        (Compression::None, _) | (_, None) => (name, None),
        (_, Some(dot)) => (&name[..dot], Some(&name[dot..])),
    }
}

fn extension(name: &str) -> Option<&str> {
    name.rfind('.')
        .filter(|&dot| dot > 0)
        .map(|dot| &name[dot + 1..])
}

/// The files matching `pattern`, sorted; none is an error (a shell would have passed the
/// pattern on unexpanded too).
fn matches(pattern: &str) -> Result<Vec<String>, Error> {
    // As a shell expands it: `*` does not match a leading dot.
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let paths = glob::glob_with(pattern, options)
        .map_err(|e| Error::usage(format!("bad file pattern {pattern:?}: {e}")))?;
    let mut files: Vec<String> = paths
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::usage(format!("no file matches {pattern}")));
    }
    Ok(files)
}

/// The objects an `s3://`, `az://` or `gs://` prefix (ending in `/`: its CSV-like
/// objects, not those in deeper "folders", as for a directory) or pattern (`*` not
/// crossing a `/`) names, in key order, from a listing of the part before the first
/// wildcard.
fn objects(arg: &str) -> Result<Vec<String>, Error> {
    let literal = arg.find(['*', '?', '[']).unwrap_or(arg.len());
    let listed = chunkload::source::listing::list(&arg[..literal])?;
    let found: Vec<String> = if arg.ends_with('/') && literal == arg.len() {
        listed
            .into_iter()
            .filter(|url| {
                let name = &url[arg.len()..];
                !name.contains('/')
                    && !name.starts_with('.')
                    && !name.ends_with(".rejects.csv")
                    && is_csv_like(name)
            })
            .collect()
    } else {
        let pattern = glob::Pattern::new(arg)
            .map_err(|e| Error::usage(format!("bad object pattern {arg:?}: {e}")))?;
        let options = glob::MatchOptions {
            require_literal_separator: true,
            require_literal_leading_dot: true,
            ..glob::MatchOptions::new()
        };
        listed
            .into_iter()
            .filter(|url| pattern.matches_with(url, options))
            .collect()
    };
    if found.is_empty() {
        return Err(Error::usage(format!("no object matches {arg}")));
    }
    Ok(found)
}

/// Whether `template` names a table (or reject file, or load id) per file.
pub(crate) fn is_template(template: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| template.contains(p))
}

/// Refuses a `{…}` that is not a placeholder: a typo would name one table for all.
pub(crate) fn check_template(flag: &str, template: &str) -> Result<(), Error> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let tail = &rest[open..];
        match PLACEHOLDERS.iter().find(|p| tail.starts_with(*p)) {
            Some(p) => rest = &tail[p.len()..],
            None => {
                return Err(Error::usage(format!(
                    "{flag} {template:?}: unknown placeholder at {:?}; use {{stem}} (the file \
                     name without directory and extensions), {{name}} (with its extensions) \
                     or {{dir}} (its directory's name)",
                    tail.split('}').next().unwrap_or(tail)
                )))
            }
        }
    }
    Ok(())
}

/// The parts of `file` a template names.
struct Parts {
    stem: String,
    name: String,
    dir: String,
}

fn parts(file: &str) -> Parts {
    let path = Path::new(file);
    let name = path
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    let (base, _) = split_compression(&name);
    let stem = match extension(base) {
        Some(ext) => &base[..base.len() - ext.len() - 1],
        None => base,
    }
    .to_string();
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = parent
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok())
        .and_then(|d| std::fs::canonicalize(&d).ok().or(Some(d)))
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    Parts { stem, name, dir }
}

/// The table for `file`: each placeholder replaced by that part of its name made a plain
/// SQL identifier (see [`identifier`]).
pub(crate) fn table_for(template: &str, file: &str) -> String {
    let p = parts(file);
    substitute(template, &p, identifier)
}

/// A reject file or load id for `file`: the parts as they are.
pub(crate) fn text_for(template: &str, file: &str) -> String {
    let p = parts(file);
    substitute(template, &p, str::to_string)
}

fn substitute(template: &str, p: &Parts, f: impl Fn(&str) -> String) -> String {
    template
        .replace("{stem}", &f(&p.stem))
        .replace("{name}", &f(&p.name))
        .replace("{dir}", &f(&p.dir))
}

/// A part of a file name as an unquoted SQL identifier: lower case, every character
/// other than a letter, digit or `_` made `_`, a leading digit prefixed with `_`, at most
/// 63 bytes (PostgreSQL's limit).
pub(crate) fn identifier(part: &str) -> String {
    let mut s: String = part
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s.truncate(63);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_a_table_per_file() {
        assert_eq!(table_for("{stem}", "data/Sales 2024.csv.gz"), "sales_2024");
        assert_eq!(table_for("raw.{stem}", "a/b/x.y.tsv"), "raw.x_y");
        assert_eq!(table_for("{dir}_{stem}", "data/2024/01.csv"), "_2024__01");
        assert_eq!(table_for("{name}", "d/a.csv.zst"), "a_csv_zst");
        assert_eq!(table_for("{stem}", "noext"), "noext");
        assert_eq!(
            text_for("{stem}.rejects.csv", "d/A b.csv"),
            "A b.rejects.csv"
        );
        assert!(is_template("t_{stem}") && !is_template("t"));
        assert!(check_template("--table", "{dir}.{stem}").is_ok());
        let e = check_template("--table", "{file}").unwrap_err().to_string();
        assert!(e.contains("unknown placeholder at \"{file\""), "{e}");
    }

    #[test]
    fn directories_give_their_csv_like_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.csv",
            "a.tsv.gz",
            "c.TXT",
            "d.json",
            ".hidden.csv",
            "b.csv.rejects.csv",
            "e.csv.zst",
        ] {
            std::fs::write(dir.path().join(f), "x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let got = expand(std::slice::from_ref(&d)).unwrap();
        let names: Vec<&str> = got.iter().map(|f| &f[d.len() + 1..]).collect();
        assert_eq!(names, ["a.tsv.gz", "b.csv", "c.TXT", "e.csv.zst"]);
        let pattern = format!("{d}/*.csv*");
        let got = expand(&[pattern]).unwrap();
        let names: Vec<&str> = got.iter().map(|f| &f[d.len() + 1..]).collect();
        assert_eq!(names, ["b.csv", "b.csv.rejects.csv", "e.csv.zst"]);
        let none = expand(&[format!("{d}/*.parquet")]).unwrap_err();
        assert!(none.to_string().contains("no file matches"), "{none}");
        let empty = tempfile::tempdir().unwrap();
        let e = expand(&[empty.path().to_str().unwrap().to_string()]).unwrap_err();
        assert!(e.to_string().contains("holds no CSV-like file"), "{e}");
        // A URL's query is not a pattern.
        let url = "https://127.0.0.1:9/a.csv?X-Amz-Signature=abc[1]".to_string();
        assert_eq!(expand(std::slice::from_ref(&url)).unwrap(), [url]);
    }
}
