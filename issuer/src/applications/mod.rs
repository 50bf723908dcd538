//! Applications, from submission to issued credential, and revocation: the issuer's business.
//!
//! Every state change is appended to the audit log (durably) before it is stored; see
//! [`crate::state`] for why that order. Once stored it is announced on the state change channel
//! ([`crate::events`]), which feeds the holder's status stream and the platforms' webhooks
//! ([`crate::webhooks`]). Personal data is sealed under the subject's key the moment it arrives
//! and opened only to sign a credential or to give the customer their data ([`Applications::export`]);
//! [`Applications::erase`] destroys that key once the retention period allows it.
//!
//! # Erasure
//!
//! Erasing a subject (crypto-shredding) sets its key to `None` and records when; the sealed
//! submissions and credential forms stay in the store as ciphertext nobody can open, and the
//! audit log, which holds only pseudonymous ids and keyed commitments, stays valid and
//! replayable. What is left in clear is what was never personal data in clear: ids, states,
//! check outcomes, decisions, and the holder's `did:key`, which stays so that the holder can
//! still authenticate and be told (410 Gone) that the data is gone. A credential already issued
//! is not revoked by erasure: it belongs to the holder and remains true. The retention period
//! runs from the subject's last activity (the latest application change, issuance or
//! revocation). The sled backend overwrites the key in place; its log-structured files may keep
//! the old bytes until sled reclaims the segment, and backups keep them for their lifetime, so
//! an operator that needs erasure to reach those too keeps subject keys in a key service.
//!
//! # Layout
//! - `error`: [`ApplicationError`]: the caller's mistakes apart from the issuer's failures.
//! - `context`: [`Applications`] and what every use case shares: settings, sealing, logging
//!   then storing.
//! - `submit`: submission, and documents uploaded on a reviewer's request.
//! - [`images`]: the submission's images checked at intake (JPEG or PNG, size limits).
//! - `quota`: the open applications of each holder, and the quota on them.
//! - `vendor`: a biometric vendor's late result.
//! - `review`: the review queue, a reviewer's decision, the compliance reports.
//! - `credentials`: collection (issuance), revocation, status lists.
//! - `subjects`: the subject's data export and erasure.
//! - `views`: what a holder or reviewer sees, and the status stream.
//! - `webhooks`: registering and deleting webhook endpoints (audited).

mod context;
mod credentials;
mod error;
pub mod images;
mod quota;
mod review;
mod subjects;
mod submit;
mod vendor;
mod views;
mod webhooks;

pub use context::{
    Applications, IssuanceConfig, IssuanceSettings, IssuerSecrets, RetentionConfig,
    ServiceSettings, SignedStatusList,
};
pub use credentials::{
    attested_claims, day_floor, CollectedBatch, CollectedCredential, MAX_BATCH,
    MAX_CREDENTIALS_PER_APPROVAL,
};
pub use error::{ApplicationError, Broken};
pub use subjects::{ExportedApplication, ExportedCredential, SubjectExport};
pub use views::ApplicationView;
