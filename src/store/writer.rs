//! The single writer thread and its group commit.
//!
//! Every write request is a closure applied inside one redb write transaction
//! together with whatever other requests are waiting (up to `max_batch`); the
//! transaction commits with `Durability::Immediate` and only then is each
//! request's completion called, in submission order. So:
//! - an acknowledged write is on disk;
//! - completions run in the order requests were submitted, which is what lets
//!   a ticket actor publish events from its completions in decision order;
//! - if any request of a batch fails, the whole batch is aborted and every
//!   request in it fails (a request never sees a half-applied neighbour).
//!   Requests only fail on storage errors: callers validate before submitting.
//!
//! Readers never wait for this thread (redb MVCC read transactions).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;

use redb::{Database, Durability, WriteTransaction};

use super::StoreError;
use crate::metrics::Metrics;

/// One queued write: applied inside the batch transaction, finished after the commit.
trait Job: Send {
    /// Applies the write; `false` if it failed (the batch will be aborted).
    fn apply(&mut self, tx: &WriteTransaction) -> bool;
    /// Hands the caller its result, given the batch's commit outcome.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct TypedJob<A, T, D> {
    apply: Option<A>,
    result: Option<Result<T, StoreError>>,
    done: D,
}

impl<A, T, D> Job for TypedJob<A, T, D>
where
    A: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send,
    T: Send,
    D: FnOnce(Result<T, StoreError>) + Send,
{
    fn apply(&mut self, tx: &WriteTransaction) -> bool {
        let apply = self.apply.take().expect("a job is applied once");
        let result = apply(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let result = match self.result {
            // The job's own error wins over the batch's.
            Some(Err(own)) => Err(own),
            Some(Ok(value)) => commit.map(|()| value),
            None => Err(commit.err().unwrap_or(StoreError::Aborted)),
        };
        (self.done)(result);
    }
}

enum Request {
    Write(Box<dyn Job>),
    Stop,
}

pub(super) struct Writer {
    sender: Sender<Request>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn start(db: Arc<Database>, max_batch: usize, metrics: Arc<Metrics>) -> Writer {
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tandem-writer".into())
            .spawn(move || run(&db, &receiver, max_batch, &metrics))
            .expect("spawning the writer thread");
        Writer {
            sender,
            thread: std::sync::Mutex::new(Some(thread)),
        }
    }

    /// Queues `apply`; `done` gets its result after the commit (or the failure).
    pub(super) fn submit<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
        done: impl FnOnce(Result<T, StoreError>) + Send + 'static,
    ) {
        let job = TypedJob {
            apply: Some(apply),
            result: None,
            done,
        };
        if let Err(std::sync::mpsc::SendError(Request::Write(job))) =
            self.sender.send(Request::Write(Box::new(job)))
        {
            // The writer has stopped: fail the request without applying it.
            job.finish(Err(StoreError::Closed));
        }
    }

    /// Commits everything queued so far, then stops the thread. Idempotent.
    pub(super) fn shutdown(&self) {
        let _ = self.sender.send(Request::Stop);
        if let Some(thread) = self.thread.lock().expect("writer handle lock").take() {
            let _ = thread.join();
        }
    }
}

fn run(db: &Database, receiver: &Receiver<Request>, max_batch: usize, metrics: &Metrics) {
    let mut stopping = false;
    while !stopping {
        let mut batch = match receiver.recv() {
            Ok(Request::Write(job)) => vec![job],
            Ok(Request::Stop) | Err(_) => break,
        };
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(Request::Write(job)) => batch.push(job),
                Ok(Request::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(db, batch, metrics);
    }
    tracing::debug!("writer thread stopped");
}

fn commit_batch(db: &Database, mut batch: Vec<Box<dyn Job>>, metrics: &Metrics) {
    let started = Instant::now();
    let size = batch.len();
    let outcome = match db.begin_write() {
        Ok(mut tx) => {
            tx.set_durability(Durability::Immediate)
                .expect("Immediate is always allowed");
            let mut ok = true;
            for job in &mut batch {
                ok &= job.apply(&tx);
            }
            if ok {
                tx.commit().map_err(StoreError::from)
            } else {
                let _ = tx.abort();
                Err(StoreError::Aborted)
            }
        }
        Err(e) => Err(StoreError::from(e)),
    };
    if let Err(error) = &outcome {
        tracing::error!(
            error = error as &dyn std::error::Error,
            size,
            "write batch not committed"
        );
    }
    metrics.store_commits.inc();
    metrics.store_writes.inc_by(size as u64);
    metrics.store_batch_size.observe(size as f64);
    metrics
        .store_commit_seconds
        .observe(started.elapsed().as_secs_f64());
    for job in batch {
        job.finish(outcome.clone());
    }
}
