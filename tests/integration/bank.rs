//! The tutorial's bank app on the real server.

use crate::cli::{chunkload, stderr};
use crate::support::{client, fresh_db};
use chunkload::bank::{run_app, Bank, DBINIT_SQL};
use chunkload::retry::RetryPolicy;
use chunkload::Flavour;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn total(c: &mut postgres::Client) -> i64 {
    c.query_one("SELECT sum(balance)::int8 FROM accounts", &[])
        .unwrap()
        .get(0)
}

#[test]
fn bank_transfer_keeps_the_sum_of_balances() {
    let url = fresh_db("bank_sum");
    let mut c = client(&url);
    let mut bank = Bank::new(&mut c, Flavour::Postgres, RetryPolicy::default());
    bank.init(DBINIT_SQL).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let created = bank.create_accounts(100, &mut rng).unwrap();
    assert_eq!(created.len(), 100);
    assert!(created.iter().all(|a| (0..=999_999).contains(&a.balance)));
    let before: i64 = created.iter().map(|a| a.balance).sum();
    let ids: Vec<_> = created.iter().map(|a| a.id).collect();
    let t = bank.transfer_random(&ids, &rng).unwrap();
    assert_ne!(t.before.0.id, t.before.1.id, "distinct accounts");
    assert_eq!(t.amount, t.before.0.balance / 2);
    assert_eq!(t.after.0.balance, t.before.0.balance - t.amount);
    assert_eq!(t.after.1.balance, t.before.1.balance + t.amount);
    assert_eq!(total(&mut c), before, "money is neither made nor lost");
}

#[test]
fn bank_app_prints_the_tutorial_messages_and_leaves_95() {
    let url = fresh_db("bank_app");
    let mut c = client(&url);
    c.batch_execute(DBINIT_SQL).unwrap();
    let mut out = Vec::new();
    let left = run_app(
        &mut c,
        Flavour::Postgres,
        RetryPolicy::default(),
        100,
        Some(9),
        &mut out,
    )
    .unwrap();
    assert_eq!(left, 95);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("Created new account with id ").count(), 100);
    assert_eq!(text.matches("Deleted account ").count(), 5);
    assert!(text.contains("Transfer complete."));
    // The same seed gives the same run.
    let url2 = fresh_db("bank_app2");
    let mut c2 = client(&url2);
    c2.batch_execute(DBINIT_SQL).unwrap();
    let mut out2 = Vec::new();
    run_app(
        &mut c2,
        Flavour::Postgres,
        RetryPolicy::default(),
        100,
        Some(9),
        &mut out2,
    )
    .unwrap();
    assert_eq!(
        text,
        String::from_utf8(out2).unwrap(),
        "--seed makes a run reproducible"
    );
}

/// Every account, in id order.
fn snapshot(c: &mut postgres::Client) -> Vec<(uuid::Uuid, Option<i64>)> {
    c.query("SELECT id, balance FROM accounts ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn bank_beside_loaded_accounts_touches_only_its_own() {
    let url = fresh_db("bank_beside_loaded");
    let mut c = client(&url);
    c.batch_execute(DBINIT_SQL).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::accounts_file(dir.path(), 1000, 11);
    let o = chunkload(&[
        "load",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let loaded = snapshot(&mut c);
    assert_eq!(loaded.len(), 1000);

    // Too few accounts of its own is a usage error, and nothing changes.
    for n in ["0", "1"] {
        let o = chunkload(&["bank", "--url", &url, "--accounts", n, "--seed", "1"]);
        assert_eq!(o.status.code(), Some(2), "--accounts {n}: {}", stderr(&o));
        assert!(stderr(&o).contains("at least 2"), "{}", stderr(&o));
        assert_eq!(snapshot(&mut c), loaded);
    }

    for (n, seed) in [("2", "3"), ("10", "4")] {
        let o = chunkload(&["bank", "--url", &url, "--accounts", n, "--seed", seed]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let now = snapshot(&mut c);
        for row in &loaded {
            assert!(now.contains(row), "loaded account {row:?} changed:\n{out}");
        }
        // What it did names only ids it created.
        let created: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("Created new account with id "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(created.len(), n.parse::<usize>().unwrap(), "{out}");
        let deleted: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("Deleted account "))
            .map(|l| l.trim_end_matches('.'))
            .collect();
        assert_eq!(deleted.len(), created.len().min(5), "{out}");
        for id in out
            .lines()
            .filter_map(|l| l.strip_prefix("Account "))
            .filter_map(|l| l.split(':').next())
            .chain(deleted.iter().copied())
        {
            assert!(
                created.contains(&id),
                "{id} is not one of this run's:\n{out}"
            );
        }
    }
    let now = snapshot(&mut c);
    assert_eq!(now.len(), 1000 + 5, "1000 loaded + (2 - 2) + (10 - 5)");
    let mine: Vec<_> = now.iter().filter(|r| !loaded.contains(r)).collect();
    assert_eq!(mine.len(), 5);
}
