//! The connection service file (`pg_service.conf`), as libpq reads it: `service=NAME` or
//! `PGSERVICE` picks a `[NAME]` section whose `keyword=value` lines fill what the
//! connection string left out, before the `PG*` variables do.

use super::libpq::Settings;

/// One service file's name (for messages) and text.
#[derive(Debug, Clone)]
pub(super) struct ServiceFile {
    pub name: String,
    pub text: String,
}

/// The settings of service `service`: from the first file, in order, that has a section
/// of that name (libpq: `PGSERVICEFILE` or `~/.pg_service.conf`, then the system file).
/// An unknown service, a line without `=`, a nested `service` or an unknown keyword is an
/// error, as in libpq.
pub(super) fn lookup(service: &str, files: &[ServiceFile]) -> Result<Settings, String> {
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

fn section(service: &str, file: &ServiceFile) -> Result<Option<Settings>, String> {
    let mut found: Option<Settings> = None;
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
                found = Some(Settings::default());
            }
            continue;
        }
        let Some(settings) = found.as_mut() else {
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
        settings
            .set(key, value.trim().to_string(), "keyword")
            .map_err(|why| format!("{}: {why}", syntax()))?;
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
        let s = lookup("a", &[user.clone(), sys.clone()]).unwrap();
        assert_eq!(s.hosts, Some(vec![("/s".to_string(), None)]));
        assert_eq!(s.ports.as_deref(), Some("6"));
        assert_eq!(s.dbname, None);
        assert_eq!(
            lookup("b", &[user.clone(), sys.clone()]).unwrap().dbname,
            Some("x".into())
        );
        assert_eq!(
            lookup("c", &[user.clone(), sys.clone()]).unwrap().user,
            Some("z".into())
        );
        let e = lookup("d", &[user, sys]).unwrap_err();
        assert!(e.contains("definition of service \"d\" not found"), "{e}");
    }

    #[test]
    fn bad_lines_in_the_section_are_errors() {
        for text in ["[a]\nhost\n", "[a]\nservice=b\n", "[a]\nfrob=1\n"] {
            assert!(lookup("a", &[file("f", text)]).is_err(), "{text}");
        }
        // Lines of other sections are not looked at.
        assert!(lookup("b", &[file("f", "[a]\nfrob\n[b]\nuser=u\n")]).is_ok());
    }
}
