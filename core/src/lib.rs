//! Every wire format of the reusable KYC credential, defined once, signed and checked here.
//!
//! Pure: no disk, no network, no runtime. Callers bring bytes, clocks and keys.
//!
//! # Layout
//! - [`did`]: Ed25519 `did:key` identifiers: generate, parse, resolve offline.
//! - [`jws`]: compact JWS with `EdDSA` only, strictly parsed (the one signature primitive).
//! - [`credential`]: the KYC credential (VC Data Model 2.0), its tiers, and `vc+jwt` securing.
//! - [`sd_jwt`]: the credential as `vc+sd-jwt` (RFC 9901): issuance, disclosures, verification.
//! - [`key_proof`]: the holder's proofs of possession of the keys a batch of credentials is
//!   bound to (OpenID4VCI `jwt` proofs).
//! - [`presentation`]: the merchant's request and the holder's key-bound presentation.
//! - `timestamp` (private): the credential's RFC 3339 times, read fast, accepted as chrono does.
//! - [`status_list`]: Bitstring Status List encoding and the signed status list credential.
//! - [`context`]: the embedded JSON-LD context and JSON Schema.
//! - [`error`]: what can go wrong, kept apart as *malformed*, *crypto* and *policy*.
//! - [`tlog`]: RFC 6962 Merkle tree, the audit hash chain, C2SP signed checkpoints, the one
//!   [`tlog::Hash`] type (base64 on the wire) and the proofs' JSON.
//! - [`audit_event`]: the typed events of the audit log and the checks each tier requires.
#![warn(missing_docs)]

pub mod audit_event;
pub mod context;
pub mod credential;
pub mod did;
pub mod error;
pub mod jws;
pub mod key_proof;
pub mod key_rotation;
pub mod presentation;
pub mod sd_jwt;
pub mod status_list;
mod timestamp;
pub mod tlog;

pub use credential::{AssuranceLevel, KycCredential, KycSubject, KycTier};
pub use did::DidKey;
pub use error::MAX_INPUT_LEN;
pub use error::{CryptoError, MalformedError, PolicyError, VerifyError};
