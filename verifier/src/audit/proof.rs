//! Single proofs against signed checkpoints: that an entry is in the log (inclusion), and that a
//! later checkpoint extends an earlier one (consistency).
//!
//! The proofs' JSON ([`InclusionProof`], [`ConsistencyProof`]) is defined once, in
//! `kyc_core::tlog::proof`, for the issuer that serves it and this auditor alike. A proof's
//! informative `root`, when present, must equal the signed checkpoint's root. Roots always come
//! from checkpoints opened with the log's key: a proof alone proves nothing.

use kyc_core::tlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use kyc_core::tlog::{
    Checkpoint, CheckpointError, ConsistencyProof, Entry, EntryError, Hash, InclusionProof,
    ProofError, VerifierKey,
};
use serde::{Deserialize, Serialize};

use super::failure::{checkpoint_code, checkpoint_is_malformed, proof_is_malformed};

/// The largest proof file read. A proof holds at most 2·64 hashes.
pub const MAX_PROOF_LEN: usize = 64 * 1024;

/// A proof is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofFailure {
    /// Malformed: the proof file is not a proof of this kind.
    #[error("proof is malformed: {0}")]
    Malformed(String),
    /// A checkpoint is malformed or does not verify with the key.
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// Malformed: the entry given is not an audit entry line.
    #[error("entry: {0}")]
    Entry(EntryError),
    /// Does not verify: the proof is for another tree size than the checkpoint's.
    #[error("proof is for tree size {proof}, the checkpoint has size {checkpoint}")]
    SizeMismatch {
        /// The size the proof names.
        proof: u64,
        /// The checkpoint's size.
        checkpoint: u64,
    },
    /// Does not verify: the entry given has another seq than the proof's.
    #[error("entry has seq {entry}, the proof is for seq {proof}")]
    SeqMismatch {
        /// The entry's seq.
        entry: u64,
        /// The proof's seq.
        proof: u64,
    },
    /// Does not verify: the entry given does not hash to the proof's leaf hash.
    #[error("entry does not hash to the proof's leaf hash")]
    LeafMismatch,
    /// Does not verify: the proof's informative root is not the checkpoint's.
    #[error("proof's root is not the checkpoint's root")]
    ClaimedRootMismatch,
    /// The proof is malformed for its sizes (RFC 9162), or does not lead to the roots.
    #[error("{0}")]
    Proof(ProofError),
}

impl ProofFailure {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "proof_malformed",
            Self::Checkpoint(e) => checkpoint_code(e),
            Self::Entry(_) => "entry_malformed",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::SeqMismatch { .. } => "seq_mismatch",
            Self::LeafMismatch => "leaf_mismatch",
            Self::ClaimedRootMismatch => "claimed_root_mismatch",
            Self::Proof(ProofError::RootMismatch) => "proof_root_mismatch",
            Self::Proof(ProofError::FirstRootMismatch) => "proof_first_root_mismatch",
            Self::Proof(_) => "proof_malformed",
        }
    }

    /// Whether an input could not be parsed (exit code 2) rather than found wrong (1).
    pub fn is_malformed(&self) -> bool {
        match self {
            Self::Malformed(_) | Self::Entry(_) => true,
            Self::Checkpoint(e) => checkpoint_is_malformed(e),
            Self::Proof(e) => proof_is_malformed(e),
            _ => false,
        }
    }
}

/// Checks an inclusion proof against a checkpoint opened with the log's key. With
/// `entry_line` (one line of the log, without its terminator), also checks that it is the
/// entry proved: its seq and its leaf hash.
pub fn check_inclusion(
    proof: &InclusionProof,
    entry_line: Option<&str>,
    checkpoint: &Checkpoint,
) -> Result<(), ProofFailure> {
    if let Some(line) = entry_line {
        let entry = Entry::parse_line(line).map_err(ProofFailure::Entry)?;
        if entry.seq != proof.seq {
            return Err(ProofFailure::SeqMismatch {
                entry: entry.seq,
                proof: proof.seq,
            });
        }
        // SHA-256(0x00 || line), RFC 9162 §2.1.1.
        if leaf_hash(line.as_bytes()) != proof.leaf_hash {
            return Err(ProofFailure::LeafMismatch);
        }
    }
    if proof.size != checkpoint.size() {
        return Err(ProofFailure::SizeMismatch {
            proof: proof.size,
            checkpoint: checkpoint.size(),
        });
    }
    if proof.root.is_some_and(|r| r != *checkpoint.root()) {
        return Err(ProofFailure::ClaimedRootMismatch);
    }
    verify_inclusion(
        &proof.leaf_hash,
        proof.seq,
        proof.size,
        &proof.proof,
        checkpoint.root(),
    )
    .map_err(ProofFailure::Proof)
}

/// Checks a consistency proof between two checkpoints opened with the log's key.
pub fn check_consistency(
    proof: &ConsistencyProof,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), ProofFailure> {
    for (claimed, checkpoint) in [(proof.from, old), (proof.to, new)] {
        if claimed != checkpoint.size() {
            return Err(ProofFailure::SizeMismatch {
                proof: claimed,
                checkpoint: checkpoint.size(),
            });
        }
    }
    if proof.root.is_some_and(|r| r != *new.root()) {
        return Err(ProofFailure::ClaimedRootMismatch);
    }
    verify_consistency(proof.from, proof.to, &proof.proof, old.root(), new.root())
        .map_err(ProofFailure::Proof)
}

/// The error part of a [`ProofVerdict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofVerdictError {
    /// See [`ProofFailure::code`].
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

/// The JSON verdict `kyc-verify audit inclusion|consistency` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofVerdict {
    /// True when the proof verifies against the signed checkpoint(s).
    pub valid: bool,
    /// `inclusion` or `consistency`.
    pub proof: &'static str,
    /// Inclusion: the entry's seq.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Consistency: the earlier size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// The tree size of the (later) checkpoint, once it opened.
    pub size: Option<u64>,
    /// Its root, base64, once it opened.
    pub root: Option<Hash>,
    /// Why not valid.
    pub error: Option<ProofVerdictError>,
    #[serde(skip)]
    malformed: bool,
}

impl ProofVerdict {
    fn new(proof: &'static str) -> Self {
        Self {
            valid: false,
            proof,
            seq: None,
            from: None,
            size: None,
            root: None,
            error: None,
            malformed: false,
        }
    }

    fn conclude(mut self, result: Result<(), ProofFailure>) -> Self {
        self.valid = result.is_ok();
        if let Err(e) = result {
            self.malformed = e.is_malformed();
            self.error = Some(ProofVerdictError {
                code: e.code(),
                message: e.to_string(),
            });
        }
        self
    }

    /// The CLI's exit code: 0 valid, 1 not valid, 2 unreadable or unparseable.
    pub fn exit_code(&self) -> u8 {
        match (self.valid, self.malformed) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        }
    }
}

fn parse_proof<T: for<'de> Deserialize<'de>>(json: &[u8]) -> Result<T, ProofFailure> {
    if json.len() > MAX_PROOF_LEN {
        return Err(ProofFailure::Malformed(format!(
            "larger than {MAX_PROOF_LEN} bytes"
        )));
    }
    serde_json::from_slice(json).map_err(|e| {
        ProofFailure::Malformed(kyc_core::MalformedError::json("proof", &e).to_string())
    })
}

fn open(note: &str, key: &VerifierKey) -> Result<Checkpoint, ProofFailure> {
    Checkpoint::open(note, key).map_err(ProofFailure::Checkpoint)
}

/// `kyc-verify audit inclusion`: an inclusion proof (JSON), optionally the entry line, and the
/// signed checkpoint, checked with the log's key.
pub fn verify_inclusion_json(
    proof_json: &[u8],
    entry_line: Option<&str>,
    checkpoint_note: &str,
    key: &VerifierKey,
) -> ProofVerdict {
    let mut verdict = ProofVerdict::new("inclusion");
    let result = (|| {
        let checkpoint = open(checkpoint_note, key)?;
        verdict.size = Some(checkpoint.size());
        verdict.root = Some(*checkpoint.root());
        let proof: InclusionProof = parse_proof(proof_json)?;
        verdict.seq = Some(proof.seq);
        check_inclusion(&proof, entry_line, &checkpoint)
    })();
    verdict.conclude(result)
}

/// `kyc-verify audit consistency`: a consistency proof (JSON) and the two signed checkpoints,
/// checked with the log's key.
pub fn verify_consistency_json(
    proof_json: &[u8],
    old_checkpoint_note: &str,
    checkpoint_note: &str,
    key: &VerifierKey,
) -> ProofVerdict {
    let mut verdict = ProofVerdict::new("consistency");
    let result = (|| {
        let old = open(old_checkpoint_note, key)?;
        let new = open(checkpoint_note, key)?;
        verdict.from = Some(old.size());
        verdict.size = Some(new.size());
        verdict.root = Some(*new.root());
        let proof: ConsistencyProof = parse_proof(proof_json)?;
        check_consistency(&proof, &old, &new)
    })();
    verdict.conclude(result)
}
