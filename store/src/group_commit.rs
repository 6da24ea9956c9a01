//! Group commit for submissions: one writer stores every submission waiting at that moment in a
//! single transaction, so many concurrent SMTP sessions share one durable write (one fsync on
//! SQLite) instead of queueing for the database's single writer one by one. Each caller still
//! gets its answer only after the commit that holds its submission.

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
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Store) -> SubmissionWriter {
        let (queue, jobs) = mpsc::channel(MAX_GROUP * 4);
        tokio::spawn(write_groups(store, jobs));
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
        match store.record_submissions(&records).await {
            Ok(stored) => {
                for (job, one) in group.drain(..).zip(stored) {
                    // A caller that went away (client disconnected) has nothing to be told;
                    // its submission is stored all the same, as after any 250.
                    let _ = job.done.send(Ok(one));
                }
            }
            Err(e) if group.len() == 1 => {
                let job = group.remove(0);
                let _ = job.done.send(Err(e));
            }
            Err(e) => {
                // One bad submission must not fail the others: store each on its own, so every
                // caller gets its own outcome.
                tracing::warn!(event = "store.group_commit_failed", size = group.len(), error = %e);
                for job in group.drain(..) {
                    let one = store.record_submission(&job.record).await;
                    let _ = job.done.send(one);
                }
            }
        }
    }
}
