//! Which retry path a server takes, from the CockroachDB bugs its version still has: the
//! one table of CockroachDB's savepoint-rollback bugs, read by the retry helper
//! ([`crate::retry`]) and by the strict stand-in that reproduces them
//! ([`crate::standin::rules`]).

use super::Flavour;

/// How a transaction is retried after a 40001.
///
/// CockroachDB's client-side protocol (`SAVEPOINT cockroach_restart` ... `ROLLBACK TO
/// SAVEPOINT cockroach_restart`, run the work again) runs into server bugs after the
/// savepoint rollback on released versions (`shared/guide/cockroachdb.md`, "Savepoint-
/// rollback bugs"):
///
/// | after `ROLLBACK TO SAVEPOINT` | broken on | fixed in |
/// |---|---|---|
/// | `COPY FROM` is an internal error (cockroach#144383, PR #156959) | ≤ 25.2, 25.3.0–25.3.5, 25.4.0 | 25.3.6, 25.4.1, 26.1 |
/// | a statement prepared over the extended protocol hits an assertion failure (PRs #170708, #170709, #170710) | every 25.4.x, 26.1.x, 26.2.x and older (backport patch versions unknown) | 26.3 |
/// | `ROLLBACK` fails and leaves locks held (cockroach#156507, #135118; PR #160346) | ≤ 25.3, 25.4.0–25.4.3 | 25.4.4, 26.1 |
///
/// Every chunk transaction sends prepared statements (its INSERTs and ledger row), so the
/// savepoint path is taken from 26.3 on only; everything older, an unknown version and
/// PostgreSQL restart the whole transaction: `ROLLBACK`, then `BEGIN` and the work again.
/// Both are exactly once: the ledger row commits in the same transaction as the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPath {
    /// CockroachDB's `SAVEPOINT cockroach_restart` protocol: `ROLLBACK TO SAVEPOINT` and
    /// the work again, in the same transaction.
    Savepoint,
    /// `ROLLBACK` the whole transaction, then `BEGIN` and the work again. Never a
    /// `ROLLBACK TO SAVEPOINT`.
    Restart,
}

/// A CockroachDB version, `(major, minor, patch)`.
pub type Version = (u32, u32, u32);

impl RetryPath {
    /// The path for `flavour` (and, on CockroachDB, its `version`).
    pub fn of(flavour: Flavour, version: Option<Version>) -> RetryPath {
        match flavour {
            Flavour::Postgres => RetryPath::Restart,
            Flavour::Cockroach => RetryPath::for_cockroach(version),
        }
    }

    /// The path for a CockroachDB server of `version` (`None`: unknown, so the safe one):
    /// the savepoint protocol only where none of the bugs in the table above is left.
    pub fn for_cockroach(version: Option<Version>) -> RetryPath {
        match version {
            Some(v)
                if !copy_after_savepoint_rollback_broken(v)
                    && !prepared_after_savepoint_rollback_broken(v)
                    && !rollback_after_savepoint_rollback_broken(v) =>
            {
                RetryPath::Savepoint
            }
            _ => RetryPath::Restart,
        }
    }

    /// The path's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            RetryPath::Savepoint => "savepoint",
            RetryPath::Restart => "restart",
        }
    }
}

/// `COPY FROM` after `ROLLBACK TO SAVEPOINT` is an internal error (cockroach#144383):
/// fixed in 25.3.6, 25.4.1 and 26.1 (PR #156959 and its backports).
pub fn copy_after_savepoint_rollback_broken(v: Version) -> bool {
    match (v.0, v.1) {
        (25, 3) => v.2 < 6,
        (25, 4) => v.2 < 1,
        _ => v < (26, 1, 0),
    }
}

/// A statement prepared over the extended protocol after a savepoint rollback hits an
/// assertion failure: backported in May 2026 to 25.4, 26.1 and 26.2 (PRs #170708, #170709,
/// #170710) in patch releases not known here, so every 25.4.x, 26.1.x, 26.2.x and older is
/// taken as affected; 26.3 is the first fixed release.
pub fn prepared_after_savepoint_rollback_broken(v: Version) -> bool {
    v < (26, 3, 0)
}

/// `ROLLBACK` after `ROLLBACK TO SAVEPOINT` fails and leaves locks held for seconds
/// (cockroach#156507, #135118): fixed in 25.4.4 and 26.1 (PR #160346).
pub fn rollback_after_savepoint_rollback_broken(v: Version) -> bool {
    match (v.0, v.1) {
        (25, 4) => v.2 < 4,
        _ => v < (26, 1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_after_savepoint_rollback_is_fixed_in_25_3_6_25_4_1_and_26_1() {
        let broken = copy_after_savepoint_rollback_broken;
        for v in [
            (23, 2, 4),
            (24, 3, 9),
            (25, 2, 99),
            (25, 3, 0),
            (25, 3, 5),
            (25, 4, 0),
        ] {
            assert!(broken(v), "{v:?}");
        }
        for v in [
            (25, 3, 6),
            (25, 3, 7),
            (25, 4, 1),
            (25, 4, 9),
            (26, 1, 0),
            (26, 3, 0),
        ] {
            assert!(!broken(v), "{v:?}");
        }
    }

    #[test]
    fn prepared_after_savepoint_rollback_is_fixed_from_26_3_only() {
        let broken = prepared_after_savepoint_rollback_broken;
        // The May 2026 backports' patch versions are unknown: every 25.4.x, 26.1.x and
        // 26.2.x counts as affected.
        for v in [
            (23, 2, 0),
            (25, 4, 99),
            (26, 1, 99),
            (26, 2, 0),
            (26, 2, 99),
        ] {
            assert!(broken(v), "{v:?}");
        }
        for v in [(26, 3, 0), (26, 3, 1), (26, 4, 0), (27, 1, 0)] {
            assert!(!broken(v), "{v:?}");
        }
    }

    #[test]
    fn rollback_after_savepoint_rollback_is_fixed_in_25_4_4_and_26_1() {
        let broken = rollback_after_savepoint_rollback_broken;
        for v in [(24, 1, 0), (25, 3, 99), (25, 4, 0), (25, 4, 3)] {
            assert!(broken(v), "{v:?}");
        }
        for v in [(25, 4, 4), (25, 4, 5), (26, 1, 0), (26, 2, 3)] {
            assert!(!broken(v), "{v:?}");
        }
    }

    #[test]
    fn the_savepoint_path_is_taken_only_where_no_bug_is_left() {
        use RetryPath::{Restart, Savepoint};
        let cases = [
            (None, Restart),
            (Some((23, 1, 2)), Restart),
            (Some((23, 2, 4)), Restart),
            (Some((25, 3, 6)), Restart),
            (Some((25, 4, 4)), Restart),
            (Some((26, 1, 0)), Restart),
            (Some((26, 2, 99)), Restart),
            (Some((26, 3, 0)), Savepoint),
            (Some((26, 3, 2)), Savepoint),
            (Some((27, 0, 0)), Savepoint),
        ];
        for (version, path) in cases {
            assert_eq!(RetryPath::for_cockroach(version), path, "{version:?}");
            assert_eq!(
                RetryPath::of(Flavour::Cockroach, version),
                path,
                "{version:?}"
            );
            assert_eq!(RetryPath::of(Flavour::Postgres, version), Restart);
        }
        // Read from the server's own words, as a load reads them.
        let v = |text: &str| crate::flavour::Server::from_version(text).retry_path();
        assert_eq!(v("CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built 2024/04/05 17:36:42, go1.21.9 X:nocoverageredesign)"), Restart);
        assert_eq!(
            v("CockroachDB CCL v26.3.0 (x86_64-pc-linux-gnu, built 2026/08/01, go1.24)"),
            Savepoint
        );
        assert_eq!(
            v("CockroachDB CCL (no version)"),
            Restart,
            "unparseable: safe"
        );
        assert_eq!(v("PostgreSQL 16.4 on x86_64-pc-linux-gnu"), Restart);
    }
}
