//! The relying party's side of reusable KYC credentials: which issuers to trust, what to ask
//! for, and offline verification producing one verdict.
//!
//! # Layout
//! - [`trust`]: the trust list (`[[issuer]]` tables of `did` and `name`), preloaded keys.
//! - [`verdict`]: the JSON verdict printed by `kyc-verify` and its error codes.
//! - [`check`]: credential and presentation checks: signature (via `kyc-core`), trust, validity
//!   window, revocation status, request policy and replay.
//! - [`replay`]: which presentations were already accepted (nonce store).
//! - [`audit`]: the auditor: log replay against signed checkpoints, single proofs.
#![warn(missing_docs)]

pub mod audit;
pub mod check;
pub mod replay;
pub mod trust;
pub mod verdict;

pub use check::{verify_credential, verify_presentation, StatusPolicy};
pub use trust::TrustList;
pub use verdict::Verdict;
