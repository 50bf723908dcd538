//! The writer thread: the only place that assigns seqs, links the chain, grows the tree and
//! commits to the store.
//!
//! Callers send [`Request`]s over a channel. The writer takes one, drains everything else
//! pending (up to [`MAX_BATCH`], see [`Writer::gather`]) into the same batch, commits the batch
//! with one durable write, publishes the new entries to readers, and only then answers each
//! caller: group commit. Between requests it waits at most until the next timed checkpoint is
//! due.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kyc_core::tlog::{Chain, ChainError, Checkpoint, Hash, SignerKey};
use serde_json::{Map, Value};

use super::error::AuditError;
use super::published::Shared;
use super::store::{AuditStore, StoreBatch, StoreError, StoredCheckpoint};

/// The most requests in one commit: bounds a batch's memory and the latency of its first caller.
pub(crate) const MAX_BATCH: usize = 4096;

/// While gathering a batch under concurrency, the pause in arrivals that ends it.
const GATHER_GAP: Duration = Duration::from_micros(50);

/// The longest a batch waits for stragglers: small beside a sync (about 1 ms here).
const GATHER_MAX: Duration = Duration::from_micros(500);

/// Where the writer sends an answer: a task awaiting it, or a thread blocked on it.
#[derive(Debug)]
pub(crate) enum Responder<T> {
    /// An async caller.
    Async(tokio::sync::oneshot::Sender<Result<T, AuditError>>),
    /// A blocking caller.
    Blocking(SyncSender<Result<T, AuditError>>),
}

impl<T> Responder<T> {
    fn send(self, result: Result<T, AuditError>) {
        // A caller that stopped waiting (a dropped future) gets no answer; what it asked for
        // was done all the same.
        match self {
            Self::Async(tx) => drop(tx.send(result)),
            Self::Blocking(tx) => drop(tx.send(result)),
        }
    }
}

/// What callers ask of the writer.
#[derive(Debug)]
pub(crate) enum Request {
    /// Append an entry with this kind and data; answer with its seq once durable.
    Append {
        kind: String,
        data: Map<String, Value>,
        reply: Responder<u64>,
    },
    /// Answer with a durable checkpoint of everything appended before this request (the
    /// latest one if it covers it all, else a new one).
    Checkpoint { reply: Responder<String> },
    /// Commit what is pending, checkpoint, stop.
    Close { reply: Responder<()> },
}

impl Request {
    fn reject(self, error: impl Fn() -> AuditError) {
        match self {
            Self::Append { reply, .. } => reply.send(Err(error())),
            Self::Checkpoint { reply } => reply.send(Err(error())),
            Self::Close { reply } => reply.send(Err(error())),
        }
    }
}

/// An answer held back until its batch is durable.
enum Held {
    Seq(Responder<u64>, u64),
    Note(Responder<String>, String),
    Closed(Responder<()>),
}

/// The writer's state: the chain tip and what has been checkpointed.
pub(crate) struct Writer {
    pub(crate) store: Arc<dyn AuditStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) signer: SignerKey,
    pub(crate) origin: String,
    pub(crate) checkpoint_every_entries: u64,
    pub(crate) checkpoint_interval: Duration,
    /// Seq, `prev` and the root of everything appended, committed or not.
    pub(crate) chain: Chain,
    /// The time of the last entry, which the next may not precede.
    pub(crate) last_time: Option<DateTime<Utc>>,
    /// The size of the latest checkpoint signed.
    pub(crate) checkpointed_size: u64,
    /// The latest checkpoint signed with this key, if any.
    pub(crate) latest_note: Option<String>,
    /// When the timed checkpoint is next due.
    pub(crate) checkpoint_due: Option<Instant>,
    /// Set by a failed commit: from then on every request gets [`AuditError::Failed`].
    pub(crate) failure: Option<StoreError>,
    /// How many requests the last batch held: more than one means concurrent callers.
    pub(crate) last_batch: usize,
}

impl Writer {
    /// Serves requests until asked to close or until every handle is gone.
    pub(crate) fn run(mut self, requests: Receiver<Request>) {
        loop {
            let first = match self.checkpoint_due {
                Some(due) => {
                    match requests.recv_timeout(due.saturating_duration_since(Instant::now())) {
                        Ok(request) => request,
                        Err(RecvTimeoutError::Timeout) => {
                            self.process(Vec::new());
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match requests.recv() {
                    Ok(request) => request,
                    Err(_) => return,
                },
            };
            let batch = self.gather(first, &requests);
            self.last_batch = batch.len();
            if self.process(batch) {
                return;
            }
        }
    }

    /// The batch that starts with `first`: everything already queued, and, when the last batch
    /// showed concurrent callers, whatever keeps arriving without a pause of [`GATHER_GAP`], for
    /// at most [`GATHER_MAX`].
    ///
    /// Without the wait, callers split into cohorts: those answered by one commit come back
    /// while the next (holding the callers that queued during the first one's sync) is already
    /// being written, so each commit carries half of them and every append waits for two
    /// syncs. A short wait for the stragglers (PostgreSQL's `commit_delay` idea) lets one sync
    /// serve them all; a lone caller never waits.
    fn gather(&self, first: Request, requests: &Receiver<Request>) -> Vec<Request> {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        if self.last_batch <= 1 {
            return batch;
        }
        let started = Instant::now();
        while batch.len() < MAX_BATCH {
            let left = GATHER_MAX.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            match requests.recv_timeout(GATHER_GAP.min(left)) {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        batch
    }

    /// Handles one batch; returns whether the log was closed.
    fn process(&mut self, requests: Vec<Request>) -> bool {
        if let Some(failure) = &self.failure {
            let mut closed = false;
            for request in requests {
                closed |= matches!(request, Request::Close { .. });
                request.reject(|| AuditError::Failed(failure.clone()));
            }
            return closed;
        }

        let mut batch = StoreBatch {
            first_seq: self.chain.len(),
            ..StoreBatch::default()
        };
        let mut leaves = Vec::new();
        let mut held = Vec::new();
        let mut closing = false;
        for request in requests {
            if closing {
                request.reject(|| AuditError::Closed);
                continue;
            }
            match request {
                Request::Append { kind, data, reply } => {
                    match self.push_entry(kind, data, &mut batch.lines) {
                        Ok((seq, leaf)) => {
                            leaves.push(leaf);
                            held.push(Held::Seq(reply, seq));
                            if self.chain.len() - self.checkpointed_size
                                >= self.checkpoint_every_entries
                            {
                                self.periodic_checkpoint(&mut batch.checkpoints);
                            }
                        }
                        Err(error) => reply.send(Err(error)),
                    }
                }
                Request::Checkpoint { reply } => match self.current_checkpoint() {
                    // Nothing new since the last one: no signature, no write.
                    Some(note) => held.push(Held::Note(reply, note)),
                    None => match self.sign_checkpoint() {
                        Ok(checkpoint) => {
                            held.push(Held::Note(reply, checkpoint.note.clone()));
                            batch.checkpoints.push(checkpoint);
                        }
                        Err(error) => reply.send(Err(error)),
                    },
                },
                Request::Close { reply } => {
                    closing = true;
                    held.push(Held::Closed(reply));
                }
            }
        }
        let timer_due = self.checkpoint_due.is_some_and(|due| Instant::now() >= due);
        if (closing || timer_due) && self.chain.len() > self.checkpointed_size {
            self.periodic_checkpoint(&mut batch.checkpoints);
        }
        if timer_due {
            self.checkpoint_due = self.next_due();
        }
        if batch.lines.is_empty() && batch.checkpoints.is_empty() && !closing {
            // Only answers about what is durable already.
            answer(held);
            return false;
        }
        self.commit(&batch, leaves, held);
        closing
    }

    /// Builds the next entry, links it into the chain, and adds its line to `lines`; returns
    /// its seq and leaf hash.
    fn push_entry(
        &mut self,
        kind: String,
        data: Map<String, Value>,
        lines: &mut Vec<String>,
    ) -> Result<(u64, Hash), AuditError> {
        // The chain requires times that never decrease. If the clock stepped back (NTP, a VM
        // migration), the entry takes the previous entry's time: order is the truth the log
        // keeps, the time stamps are as good as the clock.
        let now = Utc::now();
        let time = match self.last_time {
            Some(previous) if now < previous => previous,
            _ => now,
        };
        let seq = self.chain.len();
        let entry = self.chain.next_entry(time, kind, data);
        let line = entry
            .canonical_line()
            .map_err(|source| AuditError::Event(ChainError::Malformed { seq, source }))?;
        let leaf = self.chain.append(&entry).map_err(AuditError::Event)?;
        self.last_time = Some(time);
        lines.push(line);
        Ok((seq, leaf))
    }

    /// The latest checkpoint, if it covers every entry appended so far.
    fn current_checkpoint(&self) -> Option<String> {
        (self.chain.len() == self.checkpointed_size)
            .then(|| self.latest_note.clone())
            .flatten()
    }

    /// Signs a checkpoint of the chain so far and restarts the timer.
    fn sign_checkpoint(&mut self) -> Result<StoredCheckpoint, AuditError> {
        let size = self.chain.len();
        let note = Checkpoint::new(&self.origin, size, self.chain.root())?.sign(&self.signer)?;
        self.checkpointed_size = size;
        self.latest_note = Some(note.clone());
        self.checkpoint_due = self.next_due();
        Ok(StoredCheckpoint { size, note })
    }

    /// A checkpoint nobody waits for (every N entries, every T, at close).
    fn periodic_checkpoint(&mut self, checkpoints: &mut Vec<StoredCheckpoint>) {
        match self.sign_checkpoint() {
            Ok(checkpoint) => checkpoints.push(checkpoint),
            // Open signed one with the same key and origin, so this does not happen; if it
            // does, the entries still go in.
            Err(error) => tracing::error!(%error, "audit checkpoint not signed"),
        }
    }

    fn next_due(&self) -> Option<Instant> {
        Instant::now().checked_add(self.checkpoint_interval)
    }

    /// Makes the batch durable, publishes it to readers, then answers the callers.
    fn commit(&mut self, batch: &StoreBatch, leaves: Vec<Hash>, held: Vec<Held>) {
        let result = self.store.commit(batch);
        let stats = &self.shared.stats;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = result {
            tracing::error!(%error, first_seq = batch.first_seq, "audit commit failed; appends stop");
            for answer in held {
                let error = AuditError::Store(error.clone());
                match answer {
                    Held::Seq(reply, _) => reply.send(Err(error)),
                    Held::Note(reply, _) => reply.send(Err(error)),
                    Held::Closed(reply) => reply.send(Err(error)),
                }
            }
            self.failure = Some(error);
            // No more timed checkpoints: there is nothing the writer can vouch for.
            self.checkpoint_due = None;
            return;
        }
        stats
            .entries
            .fetch_add(batch.lines.len() as u64, Ordering::Relaxed);
        stats
            .checkpoints
            .fetch_add(batch.checkpoints.len() as u64, Ordering::Relaxed);
        self.shared
            .publish(leaves, batch.checkpoints.last().map(|c| c.note.clone()));
        answer(held);
    }
}

/// Sends the answers held for a batch that is durable.
fn answer(held: Vec<Held>) {
    for answer in held {
        match answer {
            Held::Seq(reply, seq) => reply.send(Ok(seq)),
            Held::Note(reply, note) => reply.send(Ok(note)),
            Held::Closed(reply) => reply.send(Ok(())),
        }
    }
}
