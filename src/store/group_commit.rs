//! Group commit of refresh-token rotations on SQLite (one writer). A rotation is two
//! statements (mark the presented token used, store its successor) and a commit, and the
//! commit's fsync (`synchronous=FULL`) and the thread hand-offs of `begin`/`commit` through
//! sqlx's worker cost more than the statements. Rotations queue here; one task takes
//! everything queued, runs each in one transaction, commits once, and only then answers
//! each caller. Nothing is acknowledged before its commit, so a crash loses only rotations
//! that were never answered (their presented token stays unused and works again).
//!
//! A batch whose transaction fails is retried one rotation per transaction, so one bad
//! rotation never fails the others. PostgreSQL runs its writers in parallel and coalesces
//! their WAL flushes itself: it does not use this queue.

use anyhow::Context;
use tokio::sync::{mpsc, oneshot};

use super::Db;
use super::grants::{self, StoredRefresh};

/// At most this many rotations share one transaction (bounds the writer's hold on SQLite).
const MAX_BATCH: usize = 64;

/// One rotation: `presented` (a hash) is marked used at `now_ms` for exactly one caller,
/// and then `successor` (a hash) is stored as `record`.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub presented: String,
    pub sealed_successor: Option<String>,
    pub successor: String,
    pub record: StoredRefresh,
    pub now_ms: i64,
}

struct Job {
    rotation: Rotation,
    done: oneshot::Sender<anyhow::Result<bool>>,
}

/// The queue in front of the writer task (cheap to clone; the task ends with the last clone).
#[derive(Debug, Clone)]
pub struct Rotations {
    queue: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Rotations {
    /// Starts the writer task on `db` (a handle without a queue of its own).
    pub fn start(db: Db) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(writer(db, jobs));
        Self { queue }
    }

    /// Queues `rotation` and waits for its commit: true when this caller rotated the token,
    /// false when it was already used (the winner's rotation is committed by then).
    pub async fn rotate(&self, rotation: Rotation) -> anyhow::Result<bool> {
        let (done, answer) = oneshot::channel();
        self.queue.send(Job { rotation, done }).map_err(|_| anyhow::anyhow!("the rotation writer has stopped"))?;
        answer.await.context("the rotation writer dropped a rotation")?
    }
}

async fn writer(db: Db, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rotations: Vec<&Rotation> = batch.iter().map(|j| &j.rotation).collect();
        match in_one_transaction(&db, &rotations).await {
            Ok(results) => {
                tracing::trace!(size = batch.len(), "rotation batch committed");
                for (job, rotated) in batch.drain(..).zip(results) {
                    let _ = job.done.send(Ok(rotated));
                }
            }
            Err(e) if batch.len() == 1 => {
                let _ = batch.remove(0).done.send(Err(e));
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), size = batch.len(), "a rotation batch failed; retrying one by one");
                for job in batch.drain(..) {
                    let result =
                        in_one_transaction(&db, &[&job.rotation]).await.map(|r| r.first().copied().unwrap_or(false));
                    let _ = job.done.send(result);
                }
            }
        }
    }
}

/// Rotates through the queue when `db` has one (SQLite with `database.group_commit`), else in
/// a transaction of its own.
pub async fn rotate(db: &Db, rotation: Rotation) -> anyhow::Result<bool> {
    match db.rotations() {
        Some(queue) => queue.rotate(rotation).await,
        None => Ok(in_one_transaction(db, &[&rotation]).await?.first().copied().unwrap_or(false)),
    }
}

/// Runs the rotations in one transaction, in order; which of them rotated.
async fn in_one_transaction(db: &Db, rotations: &[&Rotation]) -> anyhow::Result<Vec<bool>> {
    let tx = db.begin().await?;
    let mut results = Vec::with_capacity(rotations.len());
    for r in rotations {
        let rotated = grants::rotate_refresh(&tx, &r.presented, r.sealed_successor.as_deref(), r.now_ms).await?;
        if rotated {
            grants::insert_refresh(&tx, &r.successor, &r.record, r.now_ms.div_euclid(1000)).await?;
        }
        results.push(rotated);
    }
    tx.commit().await?;
    Ok(results)
}
