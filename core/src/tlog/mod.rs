//! The audit log's formats and proofs: pure, exact, each formula next to the section it
//! implements. In the manner of Go's `golang.org/x/mod/sumdb/tlog`; no disk, no network.
//!
//! # Layout
//! - [`Hash`]: the one hash type (SHA-256) and its one text form, standard base64; serde,
//!   [`Display`](std::fmt::Display) and [`FromStr`](std::str::FromStr) through it.
//! - [`merkle`]: the RFC 6962 / RFC 9162 §2.1 Merkle tree: leaf and node hashes, roots,
//!   inclusion and consistency proofs (generated and verified), and the append-only [`Tree`]
//!   with its O(log n) [`Frontier`].
//! - [`chain`]: the hash chain of audit entries, one RFC 8785 canonical JSON [`Entry`] a line,
//!   strictly parsed and checked link by link by [`Chain`].
//! - [`note`]: C2SP signed notes with Ed25519: [`SignerKey`], [`VerifierKey`], [`Note`].
//! - [`checkpoint`]: C2SP `tlog-checkpoint`, the signed tree head: origin, size, root.
//! - [`proof`]: inclusion and consistency proofs as JSON, as the issuer serves them and the
//!   auditor reads them.
//!
//! Each module has its own error type, and each keeps *malformed* (the input is not what it
//! claims to be) apart from *does not verify* (well formed, but a hash or signature says no).

pub mod chain;
pub mod checkpoint;
mod hash;
pub mod merkle;
pub mod note;
pub mod proof;

pub use chain::{Chain, ChainError, Entry, EntryError};
pub use checkpoint::{Checkpoint, CheckpointError};
pub use hash::{Hash, ParseHashError};
pub use merkle::{Frontier, ProofError, Tree};
pub use note::{Note, NoteError, SignerKey, VerifierKey};
pub use proof::{ConsistencyProof, InclusionProof};
