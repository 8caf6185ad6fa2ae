//! Group commit of used-once keys (issue 18): the `jti` of every DPoP proof (and of client
//! assertions) is stored once, on every node, and stored before its request is answered. On
//! SQLite's single writer one `INSERT` per request was the DPoP token endpoint's bottleneck, as
//! rotations were the refresh grant's (`rotation_group.rs`): here every key waiting when the
//! task is free goes into one `INSERT … ON CONFLICT DO NOTHING RETURNING` (one statement, so
//! one commit). A key the statement returns was stored by it: first use. A key presented twice
//! in one group is first used by its first presentation only. If the statement fails, each key
//! goes through the single `INSERT` of [`Store::use_client_assertion`].

use crate::Store;
use sqlx::{AnyPool, Row};
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// Keys stored in one statement at most (two parameters each).
const MAX_GROUP: usize = 256;
/// Keys waiting for the group task at most; past it a request waits to queue.
const QUEUE: usize = 4096;

#[derive(Debug)]
struct Job {
    key: String,
    expires_at: i64,
    /// Some(first use?), or None when the group's statement failed.
    done: oneshot::Sender<Option<bool>>,
}

#[derive(Clone, Debug)]
pub(crate) struct OnceGroups {
    jobs: mpsc::Sender<Job>,
}

impl OnceGroups {
    pub(crate) fn start(writer: AnyPool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, queue));
        Self { jobs }
    }
}

impl Store {
    /// Stores the used-once `key` until `expires_at`: true the first time it is presented, on
    /// any node; grouped with the keys other requests present at the same moment.
    pub async fn use_once(&self, key: &str, expires_at: i64) -> crate::Result<bool> {
        let (done, answer) = oneshot::channel();
        let job = Job {
            key: key.to_owned(),
            expires_at,
            done,
        };
        if self.once.jobs.send(job).await.is_ok() {
            if let Ok(Some(first)) = answer.await {
                return Ok(first);
            }
        }
        self.use_client_assertion(key, expires_at).await
    }
}

async fn run(writer: AnyPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(jobs) = crate::rotation_group::next_group(&mut queue, MAX_GROUP).await {
        let stored = match store_group(&writer, &jobs).await {
            Ok(stored) => Some(stored),
            Err(e) => {
                tracing::warn!(error = %e, keys = jobs.len(), "a group of used-once keys failed");
                None
            }
        };
        let mut answered = HashSet::new();
        for job in jobs {
            let first = stored
                .as_ref()
                .map(|s| s.contains(&job.key) && answered.insert(job.key.clone()));
            let _ = job.done.send(first);
        }
    }
}

/// The keys of `jobs` the statement stored (not there before).
async fn store_group(writer: &AnyPool, jobs: &[Job]) -> crate::Result<HashSet<String>> {
    let mut seen = HashSet::new();
    let firsts: Vec<&Job> = jobs
        .iter()
        .filter(|j| seen.insert(j.key.as_str()))
        .collect();
    let values = (0..firsts.len())
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO used_client_assertions (jti_key, expires_at) VALUES {values} \
         ON CONFLICT (jti_key) DO NOTHING RETURNING jti_key"
    );
    let mut q = sqlx::query(&sql);
    for j in &firsts {
        q = q.bind(&j.key).bind(j.expires_at);
    }
    let rows = q.fetch_all(writer).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("jti_key").map_err(Into::into))
        .collect()
}
