//! The KYC issuer: holds the signing key, signs credentials in both securing forms, publishes
//! status lists, and records every action in a tamper-evident audit log served over HTTP.
//!
//! # Layout
//! Each module imports only from the modules listed before it; `scripts/check-layers.py` (run
//! in CI) keeps it so. The domain never imports axum or the [`api`], and takes its settings as
//! plain values; the configuration file's sections are owned by the modules that use them and
//! composed by [`config`].
//!
//! - [`model`]: the domain's types: a submission, the records (applications, checks, decisions,
//!   credentials, subjects), reason codes, the liveness challenge, a reviewer's decision.
//! - [`jurisdiction`]: one policy file per jurisdiction (required fields, accepted documents,
//!   ID-number schemes, provider checks, thresholds, validity), validated at start.
//! - [`signing_key`]: the issuer's Ed25519 key file (created once, mode 0600, refused if others
//!   can read it).
//! - [`issuance`]: credentials and status lists drafted for signing.
//! - [`secret`]: the issuer's long-term secret (audit commitments to credentials and staff, the
//!   association index's key), apart from the signing key so a rotation renames nothing.
//! - [`pii`]: personal data at rest: JWE (`dir` + `A256GCM`) under per-subject keys
//!   (crypto-shredding), keyed commitments for the audit log.
//! - [`subject_keys`]: the subject keys at rest, outside the state store: one file per key,
//!   wrapped under a key-encryption key kept outside the data directory, shredded on erasure;
//!   KEK rotation.
//! - [`audit`]: the durable audit log: group-committed appends, signed checkpoints, proofs.
//! - [`signer`]: the one holder of the signing key, which signs a credential or a status list
//!   only once the audit entry naming it is durable.
//! - [`auth`]: who is calling: single-use nonces, holder tokens, staff tokens and their roles.
//! - [`state`]: the issuer's state behind one trait (subjects, applications, credentials,
//!   webhooks, indexes); sled, and in memory.
//! - [`checks`]: the KYC checks (identity, document, screening, biometric, country risk and
//!   association); a check with no provider says *not performed*.
//! - [`risk`]: the risk engine: outcomes in, level, action and tier out, with reasons.
//! - [`events`]: the channel of application state changes and the holder's status stream.
//! - [`webhooks`]: platforms' endpoints, Standard Webhooks signatures, delivery with backoff.
//! - [`applications`]: the use cases: submission → checks → decision → review → issuance,
//!   revocation, the subject's data export and erasure.
//! - [`api`]: the HTTP routes (axum), extractors, RFC 9457 problems (every error's status),
//!   and the OpenAPI 3.1 document (`GET /openapi.json`).
//! - [`config`]: the TOML configuration with `KYC_ISSUER_*` overrides, validated at start.
//! - [`key_rotation`]: rotating the signing key (issuer stopped): a statement signed by the old
//!   key, logged, published; the new key in place.
//! - [`service`]: the composition root: start-up (data directory, key, store, log), serving,
//!   graceful shutdown.
#![warn(missing_docs)]

pub mod model;

pub mod jurisdiction;

pub mod issuance;
pub mod pii;
pub mod secret;
pub mod signing_key;
pub mod subject_keys;

pub mod audit;
pub mod auth;
pub mod signer;
pub mod state;

pub mod checks;
pub mod risk;

pub mod events;
pub mod webhooks;

pub mod applications;

pub mod api;

pub mod config;
pub mod key_rotation;
pub mod service;
