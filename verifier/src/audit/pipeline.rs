//! Reading the log in chunks and parsing and hashing them on worker threads, handing the
//! entries back in log order.
//!
//! The log is cut into chunks of about [`CHUNK_LEN`] bytes at line ends. Workers take chunks
//! round-robin, split them into lines, parse each strictly and compute its leaf hash
//! `SHA-256(0x00 || line)` (RFC 9162 §2.1.1), and decode its event when the business replay
//! wants it. The calling thread reads, and links the entries in order (the chain, the tree and
//! the business replay are inherently sequential, and cheap next to hashing every byte).
//! Results come back in the order chunks went out, so no reordering buffer is needed, and at
//! most two chunks per worker are in flight, which bounds memory.

use std::io::{self, BufRead, Read as _};
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use kyc_core::audit_event::AuditEvent;
use kyc_core::tlog::merkle::leaf_hash;
use kyc_core::tlog::{ChainError, EntryError, Hash};

use super::entry_line::LineEntry;
use super::entry_line::MAX_ENTRY_LEN;
use super::failure::AuditFailure;

/// Target chunk size: large enough that per-chunk costs vanish, small enough to keep a few in
/// flight per worker.
const CHUNK_LEN: usize = 1 << 20;

/// Chunks in flight per worker.
const IN_FLIGHT: usize = 2;

/// One entry, parsed and hashed.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    pub(crate) time: DateTime<Utc>,
    pub(crate) prev: Hash,
    pub(crate) leaf: Hash,
}

/// A chunk's entries, their events when asked for, and the first line that is not an entry
/// (its index in the chunk).
#[derive(Debug)]
struct Batch {
    records: Vec<Record>,
    /// Kept apart from the records, which stay small when events are not wanted.
    events: Vec<Result<AuditEvent, String>>,
    failure: Option<(usize, EntryError)>,
    bytes: usize,
    buffer: Vec<u8>,
}

/// How the log was consumed: bytes and entries handed to the sink.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Consumed {
    pub(crate) bytes: u64,
    pub(crate) entries: u64,
}

/// Reads the whole log, handing each entry in order to `sink`, and calling `progress` with the
/// bytes consumed so far after each chunk. Stops at the first failure: a line that is not an
/// entry, or an error from `sink`.
pub(crate) fn run(
    reader: impl BufRead,
    workers: usize,
    decode_events: bool,
    mut sink: impl FnMut(Record, Option<Result<AuditEvent, String>>) -> Result<(), AuditFailure>,
    mut progress: impl FnMut(u64),
) -> io::Result<(Consumed, Result<(), AuditFailure>)> {
    let mut chunks = Chunker::new(reader);
    let mut consumed = Consumed::default();
    let mut consume = |batch: Batch, consumed: &mut Consumed| -> Result<(), AuditFailure> {
        let mut events = batch.events.into_iter();
        for record in batch.records {
            consumed.entries += 1;
            sink(record, events.next())?;
        }
        if let Some((_, source)) = batch.failure {
            return Err(AuditFailure::Chain(ChainError::Malformed {
                seq: consumed.entries,
                source,
            }));
        }
        consumed.bytes += batch.bytes as u64;
        progress(consumed.bytes);
        Ok(())
    };
    let result = if workers <= 1 {
        run_here(&mut chunks, decode_events, &mut |batch| {
            consume(batch, &mut consumed)
        })?
    } else {
        run_on_workers(&mut chunks, workers, decode_events, &mut |batch| {
            consume(batch, &mut consumed)
        })?
    };
    Ok((consumed, result))
}

/// [`run`] with one worker: parse each chunk on this thread.
fn run_here(
    chunks: &mut Chunker<impl BufRead>,
    decode_events: bool,
    consume: &mut impl FnMut(Batch) -> Result<(), AuditFailure>,
) -> io::Result<Result<(), AuditFailure>> {
    let mut scratch = Vec::new();
    while let Some(chunk) = chunks.next()? {
        let mut batch = parse_chunk(chunk, decode_events, &mut scratch);
        chunks.recycle(std::mem::take(&mut batch.buffer));
        if let Err(failure) = consume(batch) {
            return Ok(Err(failure));
        }
    }
    Ok(Ok(()))
}

/// [`run`] with `workers` threads parsing chunks round-robin, at most [`IN_FLIGHT`] each, their
/// batches consumed here in the order the chunks went out.
fn run_on_workers(
    chunks: &mut Chunker<impl BufRead>,
    workers: usize,
    decode_events: bool,
    consume: &mut impl FnMut(Batch) -> Result<(), AuditFailure>,
) -> io::Result<Result<(), AuditFailure>> {
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, from_main) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
            let (to_main, from_worker) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
            scope.spawn(move || {
                let mut scratch = Vec::new();
                for chunk in from_main {
                    if to_main
                        .send(parse_chunk(chunk, decode_events, &mut scratch))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            inputs.push(to_worker);
            outputs.push(from_worker);
        }
        let worker_gone = || io::Error::other("audit worker thread stopped");
        let (mut sent, mut received) = (0usize, 0usize);
        loop {
            while sent - received < IN_FLIGHT * workers {
                let Some(chunk) = chunks.next()? else { break };
                inputs[sent % workers]
                    .send(chunk)
                    .map_err(|_| worker_gone())?;
                sent += 1;
            }
            if sent == received {
                return Ok(Ok(()));
            }
            let mut batch = outputs[received % workers]
                .recv()
                .map_err(|_| worker_gone())?;
            received += 1;
            chunks.recycle(std::mem::take(&mut batch.buffer));
            if let Err(failure) = consume(batch) {
                // Dropping the channels on return stops the workers.
                return Ok(Err(failure));
            }
        }
    })
}

/// Splits a chunk into lines and parses and hashes each, up to the first that fails.
fn parse_chunk(chunk: Vec<u8>, decode_events: bool, scratch: &mut Vec<u8>) -> Batch {
    let mut records = Vec::with_capacity(chunk.len() / 160);
    let mut events = Vec::new();
    let mut failure = None;
    let mut start = 0;
    while start < chunk.len() {
        let rest = &chunk[start..];
        let (len, parsed) = LineEntry::parse_next(rest);
        let line = &rest[..len];
        start += len + 1;
        if len > MAX_ENTRY_LEN {
            failure = Some((
                records.len(),
                EntryError::Json(format!("line longer than {MAX_ENTRY_LEN} bytes")),
            ));
            break;
        }
        match parsed {
            Ok(entry) => {
                if decode_events {
                    events.push(entry.event(scratch));
                }
                records.push(Record {
                    seq: entry.seq,
                    time: entry.time,
                    prev: entry.prev,
                    leaf: leaf_hash(line),
                });
            }
            Err(e) => {
                failure = Some((records.len(), e));
                break;
            }
        }
    }
    Batch {
        records,
        events,
        failure,
        bytes: chunk.len(),
        buffer: chunk,
    }
}

/// Cuts the log into chunks that end at a line end (but the last).
struct Chunker<R> {
    reader: R,
    /// The start of a line that the previous chunk cut.
    carry: Vec<u8>,
    eof: bool,
    /// Buffers to reuse, so that chunks do not cost fresh pages.
    spares: Vec<Vec<u8>>,
}

impl<R: BufRead> Chunker<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            eof: false,
            spares: Vec::new(),
        }
    }

    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spares.len() < 4 {
            self.spares.push(buffer);
        }
    }

    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = self.spares.pop().unwrap_or_default();
        buf.clear();
        buf.append(&mut self.carry);
        loop {
            if !self.eof {
                let want = CHUNK_LEN.saturating_sub(buf.len()).max(MAX_ENTRY_LEN);
                let got = (&mut self.reader).take(want as u64).read_to_end(&mut buf)?;
                self.eof = got < want;
            }
            if self.eof {
                return Ok((!buf.is_empty()).then_some(buf));
            }
            if buf.len() < CHUNK_LEN {
                continue;
            }
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end + 1..]);
                    buf.truncate(end + 1);
                    return Ok(Some(buf));
                }
                // No line end in a whole chunk: that line is over the limit, and reading on
                // would only hold more of it. Hand it over to be reported, and stop.
                None => {
                    self.eof = true;
                    return Ok(Some(buf));
                }
            }
        }
    }
}
