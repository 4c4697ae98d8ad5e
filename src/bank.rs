//! The tutorial's bank app, done so that retries are safe.
//!
//! Each step is one [`run_transaction`] whose closure only reads its inputs and returns
//! its results: a retried attempt starts from the same inputs and leaves nothing behind
//! outside the transaction (the Python sample mutates globals from inside its callbacks).
//! Random choices come from a seeded generator cloned into each attempt, so `--seed`
//! makes a run reproducible and a retry picks the same accounts.
//!
//! The app touches only the accounts it created: the transfer and the deletions pick
//! among those ids, so running it beside loaded data leaves that data alone.

use crate::flavour::Server;
use crate::retry::{run_transaction, RetryPath, RetryPolicy};
use crate::{Error, Result};
use postgres::Client;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The schema the bank app (and `chunkload init`) uses by default.
pub const DBINIT_SQL: &str = include_str!("../dbinit.sql");

/// One account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Primary key, a random (v4) UUID made by the client.
    pub id: Uuid,
    /// Balance in whole units.
    pub balance: i64,
}

/// What a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Source and destination before the move.
    pub before: (Account, Account),
    /// The amount moved: half the source's balance.
    pub amount: i64,
    /// Source and destination after the move.
    pub after: (Account, Account),
}

/// Runs the app's steps on a connection.
pub struct Bank<'a> {
    client: &'a mut Client,
    path: RetryPath,
    policy: RetryPolicy,
}

impl<'a> Bank<'a> {
    /// A bank on an open connection to `server` (a [`crate::Flavour`] alone is a server
    /// of unknown version: on CockroachDB the safe retry path).
    pub fn new(client: &'a mut Client, server: impl Into<Server>, policy: RetryPolicy) -> Bank<'a> {
        Bank {
            client,
            path: server.into().retry_path(),
            policy,
        }
    }

    /// Applies a schema script (dbinit.sql by default).
    pub fn init(&mut self, schema_sql: &str) -> Result<()> {
        self.client.batch_execute(schema_sql)?;
        Ok(())
    }

    /// Step 1: creates `n` accounts with balances in 0..=999 999, in one transaction.
    pub fn create_accounts(&mut self, n: usize, rng: &mut StdRng) -> Result<Vec<Account>> {
        // Inputs are drawn once, outside the retried closure.
        let accounts: Vec<Account> = (0..n)
            .map(|_| {
                let mut bytes = [0u8; 16];
                rng.fill(&mut bytes);
                Account {
                    id: uuid::Builder::from_random_bytes(bytes).into_uuid(),
                    balance: rng.gen_range(0..=999_999),
                }
            })
            .collect();
        let done = run_transaction(self.client, self.path, &self.policy, |tx| {
            let stmt = tx.prepare("INSERT INTO accounts (id, balance) VALUES ($1, $2)")?;
            for a in &accounts {
                tx.execute(&stmt, &[&a.id, &a.balance])?;
            }
            Ok(accounts.clone())
        })?;
        Ok(done.value)
    }

    /// Step 2: moves half the balance of a random account among `ids` (the accounts this
    /// run created) to a different one among them.
    pub fn transfer_random(&mut self, ids: &[Uuid], rng: &StdRng) -> Result<Transfer> {
        if ids.len() < 2 {
            return Err(Error::usage("a transfer needs at least two accounts"));
        }
        let done = run_transaction(self.client, self.path, &self.policy, |tx| {
            let mut rng = rng.clone();
            let picked: Vec<Uuid> = ids.choose_multiple(&mut rng, 2).copied().collect();
            let (from, to) = (picked[0], picked[1]);
            let from_before = balance_for_update(tx, from)?;
            let to_before = balance_for_update(tx, to)?;
            let amount = from_before / 2;
            if from_before < amount || amount <= 0 {
                return Err(Error::other(format!(
                    "insufficient funds: account {from} has {from_before}, cannot transfer {amount}"
                )));
            }
            tx.execute(
                "UPDATE accounts SET balance = balance - $2 WHERE id = $1",
                &[&from, &amount],
            )?;
            tx.execute(
                "UPDATE accounts SET balance = balance + $2 WHERE id = $1",
                &[&to, &amount],
            )?;
            let after = (
                Account {
                    id: from,
                    balance: balance_for_update(tx, from)?,
                },
                Account {
                    id: to,
                    balance: balance_for_update(tx, to)?,
                },
            );
            Ok(Transfer {
                before: (
                    Account {
                        id: from,
                        balance: from_before,
                    },
                    Account {
                        id: to,
                        balance: to_before,
                    },
                ),
                amount,
                after,
            })
        })?;
        Ok(done.value)
    }

    /// Step 3: deletes `n` distinct random accounts among `ids` (the accounts this run
    /// created); returns the deleted ids and how many accounts the table still holds.
    pub fn delete_random(
        &mut self,
        n: usize,
        ids: &[Uuid],
        rng: &StdRng,
    ) -> Result<(Vec<Uuid>, i64)> {
        let done = run_transaction(self.client, self.path, &self.policy, |tx| {
            let mut rng = rng.clone();
            let victims: Vec<Uuid> = ids
                .choose_multiple(&mut rng, n.min(ids.len()))
                .copied()
                .collect();
            for id in &victims {
                tx.execute("DELETE FROM accounts WHERE id = $1", &[id])?;
            }
            let left: i64 = tx.query_one("SELECT count(*) FROM accounts", &[])?.get(0);
            Ok((victims, left))
        })?;
        Ok(done.value)
    }
}

fn balance_for_update(tx: &mut postgres::Transaction<'_>, id: Uuid) -> Result<i64> {
    let row = tx.query_opt(
        "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE",
        &[&id],
    )?;
    let row = row.ok_or_else(|| Error::other(format!("account {id} not found")))?;
    Ok(row.get::<_, Option<i64>>(0).unwrap_or(0))
}

/// How many of its accounts the app deletes, as the tutorial does.
const DELETIONS: usize = 5;

/// The fewest accounts a run may create: the transfer needs two of its own.
pub const MIN_ACCOUNTS: usize = 2;

/// The whole tutorial run, printed as the tutorial prints it: creates `accounts`
/// (at least [`MIN_ACCOUNTS`]), then transfers and deletes among those only.
pub fn run_app(
    client: &mut Client,
    server: impl Into<Server>,
    policy: RetryPolicy,
    accounts: usize,
    seed: Option<u64>,
    out: &mut impl std::io::Write,
) -> Result<i64> {
    if accounts < MIN_ACCOUNTS {
        return Err(Error::usage(format!(
            "--accounts must be at least {MIN_ACCOUNTS}: the app transfers between two \
             accounts it created (it never touches other rows)"
        )));
    }
    let seed = seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bank = Bank::new(client, server, policy);
    let w = |e: std::io::Error| Error::io("stdout", e);
    writeln!(out, "Creating new accounts...").map_err(w)?;
    let created = bank.create_accounts(accounts, &mut rng)?;
    for a in &created {
        writeln!(
            out,
            "Created new account with id {} and balance {}.",
            a.id, a.balance
        )
        .map_err(w)?;
    }
    let ids: Vec<Uuid> = created.iter().map(|a| a.id).collect();
    let t = bank.transfer_random(&ids, &rng)?;
    let (from, to) = t.before;
    writeln!(out, "Random account balances:").map_err(w)?;
    writeln!(out, "Account {}: {}", from.id, from.balance).map_err(w)?;
    writeln!(out, "Account {}: {}", to.id, to.balance).map_err(w)?;
    writeln!(
        out,
        "Transferring {} from account {} to account {}...",
        t.amount, from.id, to.id
    )
    .map_err(w)?;
    writeln!(out, "Transfer complete.\nNew balances:").map_err(w)?;
    writeln!(out, "Account {}: {}", t.after.0.id, t.after.0.balance).map_err(w)?;
    writeln!(out, "Account {}: {}", t.after.1.id, t.after.1.balance).map_err(w)?;
    let n = DELETIONS.min(ids.len());
    writeln!(
        out,
        "Deleting {n} of the {} accounts this run created...",
        ids.len()
    )
    .map_err(w)?;
    let (deleted, left) = bank.delete_random(n, &ids, &rng)?;
    for id in deleted {
        writeln!(out, "Deleted account {id}.").map_err(w)?;
    }
    writeln!(out, "{left} accounts remain (seed {seed}).").map_err(w)?;
    Ok(left)
}
