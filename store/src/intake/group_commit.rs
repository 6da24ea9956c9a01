//! Group commit for submissions: one writer stores every submission waiting at that moment in a
//! single transaction, so many concurrent SMTP sessions share one durable write (one fsync on
//! SQLite) instead of queueing for the database's single writer one by one. Each caller still
//! gets its answer only after the commit that holds its submission.

use crate::db::direct_sqlite_writer::DirectSqliteWriter;
use crate::{Store, StoreError, StoredSubmission, SubmissionRecord};
use tokio::sync::{mpsc, oneshot};

/// Submissions stored together at most: bounds the transaction and the wait of the first.
pub const MAX_GROUP: usize = 128;

struct Job {
    record: SubmissionRecord,
    done: oneshot::Sender<Result<StoredSubmission, StoreError>>,
}

/// The handle ingresses store submissions through; cheap to clone. The writer task ends once
/// every handle is dropped, after finishing the group it holds.
#[derive(Clone, Debug)]
pub struct SubmissionWriter {
    queue: mpsc::Sender<Job>,
}

impl SubmissionWriter {
    /// Starts the writer: on SQLite a thread with its own connection (see
    /// [`crate::db::direct_sqlite_writer`]), otherwise a task on the current tokio runtime.
    pub fn start(store: Store) -> SubmissionWriter {
        let (queue, jobs) = mpsc::channel(MAX_GROUP * 4);
        let direct = store
            .sqlite_file
            .as_deref()
            .map(|path| DirectSqliteWriter::open(path, store.privacy.clone()));
        match direct {
            Some(Ok(direct)) => {
                let spawned = std::thread::Builder::new()
                    .name("submission-writer".into())
                    .spawn(move || write_groups_directly(direct, jobs));
                if let Err(e) = spawned {
                    // The queue's receiver is gone with the closure: every record() then
                    // answers WriterStopped, a temporary failure the client retries.
                    tracing::error!(event = "store.writer_thread_failed", error = %e);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(event = "store.direct_sqlite_writer_unavailable", error = %e,
                    "storing submissions through the pool instead");
                tokio::spawn(write_groups(store, jobs));
            }
            None => {
                tokio::spawn(write_groups(store, jobs));
            }
        }
        SubmissionWriter { queue }
    }

    /// Stores one submission; returns once it is committed.
    pub async fn record(&self, record: SubmissionRecord) -> Result<StoredSubmission, StoreError> {
        let (done, stored) = oneshot::channel();
        self.queue
            .send(Job { record, done })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        stored.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn write_groups(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let records: Vec<&SubmissionRecord> = group.iter().map(|j| &j.record).collect();
        let outcome = store.record_submissions(&records).await;
        if answer(&mut group, outcome) {
            for job in group.drain(..) {
                let one = store.record_submission(&job.record).await;
                let _ = job.done.send(one);
            }
        }
    }
}

fn write_groups_directly(mut direct: DirectSqliteWriter, mut jobs: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(job) = jobs.blocking_recv() {
        group.push(job);
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let records: Vec<&SubmissionRecord> = group.iter().map(|j| &j.record).collect();
        let started = std::time::Instant::now();
        let outcome = direct.record(&records);
        tracing::debug!(
            event = "store.group_committed",
            size = records.len(),
            micros = started.elapsed().as_micros() as u64
        );
        if answer(&mut group, outcome) {
            for job in group.drain(..) {
                let one = direct.record(&[&job.record]).map(|mut s| s.remove(0));
                let _ = job.done.send(one);
            }
        }
    }
}

/// Tells each caller of a stored group its submission. Returns true when a group of several
/// failed: then each must be stored on its own, so one bad submission does not fail the others
/// and every caller gets its own outcome.
fn answer(group: &mut Vec<Job>, outcome: Result<Vec<StoredSubmission>, StoreError>) -> bool {
    match outcome {
        Ok(stored) => {
            for (job, one) in group.drain(..).zip(stored) {
                // A caller that went away (client disconnected) has nothing to be told; its
                // submission is stored all the same, as after any 250.
                let _ = job.done.send(Ok(one));
            }
            false
        }
        Err(e) if group.len() == 1 => {
            let job = group.remove(0);
            let _ = job.done.send(Err(e));
            false
        }
        Err(e) => {
            tracing::warn!(event = "store.group_commit_failed", size = group.len(), error = %e);
            true
        }
    }
}
