//! The one switch between PostgreSQL and CockroachDB. Every piece of SQL that only one of
//! the two understands is chosen through [`Flavour`].

use crate::Result;

/// Which server we talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// PostgreSQL: retry a failed transaction from BEGIN; COPY BINARY; ON CONFLICT.
    Postgres,
    /// CockroachDB: `SAVEPOINT cockroach_restart` retries; COPY text; UPSERT.
    Cockroach,
}

impl Flavour {
    /// Reads the flavour from the text of `SELECT version()`.
    pub fn from_version(version: &str) -> Flavour {
        if version.contains("CockroachDB") {
            Flavour::Cockroach
        } else {
            Flavour::Postgres
        }
    }

    /// A short name for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Postgres => "PostgreSQL",
            Flavour::Cockroach => "CockroachDB",
        }
    }

    /// Asks the server once; callers keep the answer for the connection's lifetime.
    pub fn detect(client: &mut postgres::Client) -> Result<Flavour> {
        let row = client.query_one("SELECT version()", &[])?;
        Ok(Flavour::from_version(row.get::<_, &str>(0)))
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strings_pick_the_flavour() {
        assert_eq!(
            Flavour::from_version("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)"),
            Flavour::Cockroach
        );
        assert_eq!(
            Flavour::from_version("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64"),
            Flavour::Postgres
        );
    }
}
