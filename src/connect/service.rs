//! The connection service file (`pg_service.conf`), as libpq reads it: `service=NAME` or
//! `PGSERVICE` picks a `[NAME]` section whose `keyword=value` lines fill what the
//! connection string left out, before the `PG*` variables do. The keywords themselves
//! are the connection string's, so the caller reads them (`libpq::Settings::set`).

/// One service file's name (for messages) and text.
#[derive(Debug, Clone)]
pub(super) struct ServiceFile {
    pub name: String,
    pub text: String,
}

/// The `keyword=value` lines of one service's section, with the file and line each came
/// from (for the caller's message on a keyword it does not know).
#[derive(Debug)]
pub(super) struct Section<'a> {
    pub file: &'a str,
    /// (line number, keyword, value), in file order.
    pub entries: Vec<(usize, String, String)>,
}

/// Service `service`'s section: from the first file, in order, that has one of that name
/// (libpq: `PGSERVICEFILE` or `~/.pg_service.conf`, then the system file). An unknown
/// service, a line without `=` or a nested `service` is an error, as in libpq.
pub(super) fn lookup<'a>(service: &str, files: &'a [ServiceFile]) -> Result<Section<'a>, String> {
    for file in files {
        if let Some(s) = section(service, file)? {
            return Ok(s);
        }
    }
    Err(format!(
        "definition of service \"{service}\" not found{}",
        if files.is_empty() {
            " (no service file: set PGSERVICEFILE or create ~/.pg_service.conf)".to_string()
        } else {
            format!(
                " (looked in {})",
                files
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

fn section<'a>(service: &str, file: &'a ServiceFile) -> Result<Option<Section<'a>>, String> {
    let mut found: Option<Section<'a>> = None;
    for (n, line) in file.text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            if found.is_some() {
                break;
            }
            if rest.strip_suffix(']') == Some(service) {
                found = Some(Section {
                    file: &file.name,
                    entries: Vec::new(),
                });
            }
            continue;
        }
        let Some(section) = found.as_mut() else {
            continue;
        };
        let syntax = || {
            format!(
                "syntax error in service file \"{}\", line {}",
                file.name,
                n + 1
            )
        };
        let (key, value) = line.split_once('=').ok_or_else(syntax)?;
        let key = key.trim();
        if key == "service" {
            return Err(format!(
                "nested service specifications not supported in service file \"{}\", line {}",
                file.name,
                n + 1
            ));
        }
        section
            .entries
            .push((n + 1, key.to_string(), value.trim().to_string()));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> ServiceFile {
        ServiceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn first_file_with_the_section_wins() {
        let user = file("u", "# c\n[a]\nhost=/s\nport = 6\n\n[b]\ndbname=x\n");
        let sys = file("s", "[b]\ndbname=y\n[c]\nuser=z\n");
        let files = [user.clone(), sys.clone()];
        let keys = |name: &str| {
            let s = lookup(name, &files).unwrap();
            (s.file.to_string(), s.entries)
        };
        let kv = |line: usize, k: &str, v: &str| (line, k.to_string(), v.to_string());
        assert_eq!(
            keys("a"),
            ("u".into(), vec![kv(3, "host", "/s"), kv(4, "port", "6")])
        );
        assert_eq!(keys("b"), ("u".into(), vec![kv(7, "dbname", "x")]));
        assert_eq!(keys("c"), ("s".into(), vec![kv(4, "user", "z")]));
        let e = lookup("d", &[user, sys]).unwrap_err();
        assert!(e.contains("definition of service \"d\" not found"), "{e}");
    }

    #[test]
    fn bad_lines_in_the_section_are_errors() {
        for text in ["[a]\nhost\n", "[a]\nservice=b\n"] {
            assert!(lookup("a", &[file("f", text)]).is_err(), "{text}");
        }
        // Lines of other sections are not looked at.
        assert!(lookup("b", &[file("f", "[a]\nfrob\n[b]\nuser=u\n")]).is_ok());
    }
}
