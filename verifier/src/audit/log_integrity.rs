//! The cryptographic half of a replay: the hash chain, the RFC 6962 tree over the entries, and
//! the checkpoint and the saved state against that tree.
//!
//! The links are [`kyc_core::tlog::Chain`]'s, with its [`ChainError`]s; this copy exists because
//! `Chain` takes a line (and parses it) or an entry (and re-serialises it), while the auditor
//! parses and hashes lines on worker threads and links them here, in order, from their fields
//! and leaf hash. The tests check the two against each other.

use chrono::{DateTime, Utc};
use kyc_core::tlog::chain::GENESIS_PREV;
use kyc_core::tlog::{ChainError, Checkpoint, Frontier, Hash};

use super::failure::AuditFailure;
use super::state::AuditorState;

/// The chain and tree checked so far, and the roots they must reach.
#[derive(Debug)]
pub(crate) struct LogIntegrity {
    tree: Frontier,
    last_hash: Hash,
    last_time: Option<DateTime<Utc>>,
    checkpoint: (u64, Hash),
    state: Option<(u64, Hash)>,
}

impl LogIntegrity {
    /// Starts a replay against `checkpoint` (already opened with the key) and the state saved
    /// by the last audit, if any. Fails at once when the checkpoint cannot extend that state.
    pub(crate) fn new(
        checkpoint: &Checkpoint,
        state: Option<&AuditorState>,
    ) -> Result<Self, AuditFailure> {
        if let Some(state) = state {
            if state.origin != checkpoint.origin() {
                return Err(AuditFailure::StateOrigin {
                    state: state.origin.clone(),
                    checkpoint: checkpoint.origin().to_owned(),
                });
            }
            if checkpoint.size() < state.size {
                return Err(AuditFailure::Rollback {
                    state: state.size,
                    checkpoint: checkpoint.size(),
                });
            }
        }
        let this = Self {
            tree: Frontier::new(),
            last_hash: GENESIS_PREV,
            last_time: None,
            checkpoint: (checkpoint.size(), *checkpoint.root()),
            state: state.map(|s| (s.size, s.root)),
        };
        // Size 0 has one root, SHA-256() (RFC 9162 §2.1.1).
        this.check_roots()?;
        Ok(this)
    }

    /// How many entries have been linked.
    pub(crate) fn len(&self) -> u64 {
        self.tree.size()
    }

    /// Links the next entry, whose line hashes to `leaf`: seq contiguous from 0, `prev` the
    /// previous entry's hash, time never backwards; then appends `leaf` to the tree and checks
    /// the checkpoint's and the state's roots when the tree reaches their sizes.
    pub(crate) fn link(
        &mut self,
        seq: u64,
        time: DateTime<Utc>,
        prev: &Hash,
        leaf: Hash,
    ) -> Result<(), AuditFailure> {
        let position = self.len();
        if seq != position {
            return Err(AuditFailure::Chain(ChainError::Seq {
                expected: position,
                found: seq,
            }));
        }
        if *prev != self.last_hash {
            return Err(AuditFailure::Chain(ChainError::Prev { seq }));
        }
        if let Some(previous) = self.last_time {
            if time < previous {
                return Err(AuditFailure::Chain(ChainError::TimeReversed {
                    seq,
                    time,
                    previous,
                }));
            }
        }
        self.tree.push(leaf);
        self.last_hash = leaf;
        self.last_time = Some(time);
        self.check_roots()
    }

    /// After the last entry: the log must reach the checkpoint's size.
    pub(crate) fn finish(&self) -> Result<(), AuditFailure> {
        let (size, _) = self.checkpoint;
        if self.len() < size {
            return Err(AuditFailure::Truncated {
                entries: self.len(),
                size,
            });
        }
        Ok(())
    }

    /// The root of the first `size` entries, for each size to check, is computed once, when
    /// the tree holds exactly that many.
    fn check_roots(&self) -> Result<(), AuditFailure> {
        let len = self.len();
        if let Some((size, root)) = self.state {
            if len == size && self.tree.root() != root {
                return Err(AuditFailure::Forked { size });
            }
        }
        let (size, root) = self.checkpoint;
        if len == size && self.tree.root() != root {
            return Err(AuditFailure::RootMismatch { size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_core::tlog::chain::verify_lines;
    use kyc_core::tlog::merkle::leaf_hash;
    use kyc_core::tlog::Entry;
    use serde_json::Map;

    /// Linked lines, whatever their times.
    fn lines(times: &[&str]) -> Vec<String> {
        let mut prev = GENESIS_PREV;
        (0..)
            .zip(times)
            .map(|(seq, t)| {
                let entry = Entry {
                    seq,
                    time: t.parse().unwrap(),
                    kind: "x".into(),
                    prev,
                    data: Map::new(),
                };
                let line = entry.canonical_line().unwrap();
                prev = leaf_hash(line.as_bytes());
                line
            })
            .collect()
    }

    fn link_all(lines: &[String], checkpoint: &Checkpoint) -> Result<u64, AuditFailure> {
        let mut log = LogIntegrity::new(checkpoint, None)?;
        for line in lines {
            let e = Entry::parse_line(line).unwrap();
            log.link(e.seq, e.time, &e.prev, leaf_hash(line.as_bytes()))?;
        }
        log.finish()?;
        Ok(log.len())
    }

    /// Same verdict as `Chain` on gaps, repeats, edits and time reversals.
    #[test]
    fn agrees_with_core_chain() {
        let good = lines(&[
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:02Z",
        ]);
        let chain = verify_lines(good.iter().map(String::as_str)).unwrap();
        let checkpoint = Checkpoint::new("o", 4, chain.root()).unwrap();
        assert_eq!(link_all(&good, &checkpoint), Ok(4));

        let mut back = lines(&["2026-01-01T00:00:05Z", "2026-01-01T00:00:04Z"]);
        let mut variants = vec![
            vec![good[0].clone(), good[2].clone()],
            vec![good[0].clone(), good[0].clone()],
            vec![good[1].clone()],
            std::mem::take(&mut back),
        ];
        let mut edited = Entry::parse_line(&good[1]).unwrap();
        edited.kind = "y".into();
        variants.push(vec![
            good[0].clone(),
            edited.canonical_line().unwrap(),
            good[2].clone(),
        ]);
        for v in variants {
            let want = verify_lines(v.iter().map(String::as_str)).unwrap_err();
            let permissive = Checkpoint::new("o", 0, kyc_core::tlog::merkle::EMPTY_ROOT).unwrap();
            assert_eq!(link_all(&v, &permissive), Err(AuditFailure::Chain(want)));
        }
    }

    #[test]
    fn roots_checked_at_their_sizes() {
        let good = lines(&["2026-01-01T00:00:00Z"; 5]);
        let at = |n: usize| {
            verify_lines(good[..n].iter().map(String::as_str))
                .unwrap()
                .root()
        };
        let checkpoint = Checkpoint::new("o", 5, at(5)).unwrap();
        let state = |size: u64, root| AuditorState {
            origin: "o".into(),
            size,
            root,
        };
        let run = |state: Option<&AuditorState>, n: usize| {
            let mut log = LogIntegrity::new(&checkpoint, state)?;
            for line in &good[..n] {
                let e = Entry::parse_line(line).unwrap();
                log.link(e.seq, e.time, &e.prev, leaf_hash(line.as_bytes()))?;
            }
            log.finish()
        };
        assert_eq!(run(Some(&state(3, at(3))), 5), Ok(()));
        assert_eq!(run(Some(&state(0, at(0))), 5), Ok(()));
        assert_eq!(
            run(Some(&state(3, at(2))), 5),
            Err(AuditFailure::Forked { size: 3 })
        );
        assert_eq!(
            run(Some(&state(0, at(1))), 5),
            Err(AuditFailure::Forked { size: 0 })
        );
        assert_eq!(
            run(Some(&state(6, at(5))), 5),
            Err(AuditFailure::Rollback {
                state: 6,
                checkpoint: 5
            })
        );
        assert_eq!(
            run(None, 4),
            Err(AuditFailure::Truncated {
                entries: 4,
                size: 5
            })
        );
        let other = AuditorState {
            origin: "p".into(),
            size: 1,
            root: at(1),
        };
        assert!(matches!(
            run(Some(&other), 5),
            Err(AuditFailure::StateOrigin { .. })
        ));
        let wrong = Checkpoint::new("o", 2, at(3)).unwrap();
        let mut log = LogIntegrity::new(&wrong, None).unwrap();
        let e = Entry::parse_line(&good[0]).unwrap();
        log.link(0, e.time, &e.prev, leaf_hash(good[0].as_bytes()))
            .unwrap();
        let e = Entry::parse_line(&good[1]).unwrap();
        assert_eq!(
            log.link(1, e.time, &e.prev, leaf_hash(good[1].as_bytes())),
            Err(AuditFailure::RootMismatch { size: 2 })
        );
    }
}
