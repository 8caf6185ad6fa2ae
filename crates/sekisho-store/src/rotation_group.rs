//! Group commit of refresh-token rotations (issue 17: the refresh grant was bound by the write
//! path, one transaction of four round trips per rotation on SQLite's single writer).
//!
//! Every rotation of an unused token goes to one task per store, which takes every rotation
//! waiting when it is free (at most [`MAX_GROUP`]) and does them in one transaction of two
//! statements: one `UPDATE … FROM (VALUES …) RETURNING` spends every old token that is unused,
//! unexpired and whose family is live, and one `INSERT` stores the new tokens of those it spent.
//! Each request is answered after that commit, so an answered token is as durable as before.
//! Alone, a rotation is one group of one: the same statements as before.
//!
//! Reuse detection is unchanged: a token is spent by the group only under the same condition as
//! by [`Store::rotate_refresh_within`], and a token the group did not spend (already used,
//! expired, its family revoked, presented twice in the same group, or the group's transaction
//! failed) is answered "not spent" and goes through that function's own transaction, which
//! tells reuse (revoking the family), the grace and an inactive token apart exactly as before.

use crate::{RefreshRecord, Result, Store};
use sqlx::AnyPool;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// Rotations done in one transaction at most (four parameters each: far below SQLite's limit).
const MAX_GROUP: usize = 256;
/// Rotations waiting for the group task at most; past it a request waits to queue.
const QUEUE: usize = 4096;

/// A rotation waiting for its group.
#[derive(Debug)]
struct Job {
    old_hash: String,
    new: RefreshRecord,
    now: i64,
    /// True when the group spent `old_hash` and stored `new`.
    done: oneshot::Sender<bool>,
}

/// The sending side of the group task, shared by every clone of the store.
#[derive(Clone, Debug)]
pub(crate) struct RotationGroups {
    jobs: mpsc::Sender<Job>,
}

impl RotationGroups {
    /// Starts the group task on the writer pool.
    pub(crate) fn start(writer: AnyPool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, queue));
        Self { jobs }
    }
}

impl Store {
    /// Spends `old_hash` and stores `new` with the rotations other requests asked for at the
    /// same moment, in one transaction. False: not spent by the group (see the module doc); the
    /// caller's own transaction decides what it was.
    pub(crate) async fn rotate_in_group(
        &self,
        old_hash: &str,
        now: i64,
        new: &RefreshRecord,
    ) -> bool {
        let (done, answer) = oneshot::channel();
        let job = Job {
            old_hash: old_hash.to_owned(),
            new: new.clone(),
            now,
            done,
        };
        if self.groups.jobs.send(job).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// The next group of a group-commit task: waits for one job, then takes every job already
/// waiting, up to `max`. `None` once every sender is gone.
pub(crate) async fn next_group<T>(queue: &mut mpsc::Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = queue.recv().await?;
    let mut jobs = vec![first];
    while jobs.len() < max {
        match queue.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}

async fn run(writer: AnyPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(jobs) = next_group(&mut queue, MAX_GROUP).await {
        tracing::trace!(rotations = jobs.len(), "a group of refresh rotations");
        let spent = match rotate_group(&writer, &jobs).await {
            Ok(spent) => spent,
            Err(e) => {
                // Nothing was committed: each rotation goes through its own transaction.
                tracing::warn!(error = %e, rotations = jobs.len(), "a group of refresh rotations failed");
                vec![false; jobs.len()]
            }
        };
        for (job, spent) in jobs.into_iter().zip(spent) {
            let _ = job.done.send(spent);
        }
    }
}

/// One transaction for `jobs`; which of them it spent (in order).
async fn rotate_group(writer: &AnyPool, jobs: &[Job]) -> Result<Vec<bool>> {
    // A token presented twice in one group is spent at most once, by its first presentation.
    let mut seen = HashSet::new();
    let firsts: Vec<usize> = (0..jobs.len())
        .filter(|&i| seen.insert(jobs[i].old_hash.as_str()))
        .collect();
    let values = (0..firsts.len())
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let update = format!(
        "UPDATE refresh_tokens SET used_at = v.column3, rotated_to = v.column2 \
         FROM (VALUES {values}) AS v \
         WHERE refresh_tokens.token_hash = v.column1 AND refresh_tokens.used_at IS NULL \
         AND refresh_tokens.expires_at > v.column3 \
         AND EXISTS (SELECT 1 FROM grants g WHERE g.id = refresh_tokens.grant_id \
                     AND g.revoked_at IS NULL) \
         RETURNING token_hash"
    );
    let mut tx = writer.begin().await?;
    let mut query = sqlx::query_scalar::<_, String>(&update);
    for &i in &firsts {
        let job = &jobs[i];
        query = query
            .bind(&job.old_hash)
            .bind(&job.new.token_hash)
            .bind(job.now);
    }
    let spent: HashSet<String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
    let winners: Vec<usize> = firsts
        .into_iter()
        .filter(|&i| spent.contains(&jobs[i].old_hash))
        .collect();
    if !winners.is_empty() {
        let rows = (0..winners.len())
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, ${}, NULL)",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at) \
             VALUES {rows}"
        );
        let mut query = sqlx::query(&insert);
        for &i in &winners {
            let new = &jobs[i].new;
            query = query
                .bind(&new.token_hash)
                .bind(&new.grant_id)
                .bind(new.created_at)
                .bind(new.expires_at);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let mut won = vec![false; jobs.len()];
    for i in winners {
        won[i] = true;
    }
    Ok(won)
}
