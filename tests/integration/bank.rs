//! The tutorial's bank app on the real server.

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
    let t = bank.transfer_random(&rng).unwrap();
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
