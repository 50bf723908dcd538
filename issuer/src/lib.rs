//! The KYC issuer: holds the signing key, signs credentials in both securing forms, publishes
//! status lists, and records every action in a tamper-evident audit log served over HTTP.
//!
//! # Layout
//! - [`config`]: the TOML configuration with `KYC_ISSUER_*` overrides, validated at start.
//! - [`signing_key`]: the issuer's Ed25519 key file (created once, mode 0600, refused if others
//!   can read it).
//! - [`issuance`]: credential and status list signing.
//! - [`pii`]: personal data at rest: JWE (`dir` + `A256GCM`) under per-subject keys
//!   (crypto-shredding), keyed commitments for the audit log.
//! - [`audit`]: the durable audit log: group-committed appends, signed checkpoints, proofs.
//! - [`auth`]: who is calling: holder JWTs over single-use nonces, staff tokens and their roles.
//! - [`store`]: the issuer's state behind one trait (subjects, applications, credentials,
//!   webhooks), sled.
//! - [`applications`]: submission → checks → decision → review → issuance, and revocation;
//!   the subject's data export and erasure.
//! - [`events`]: the channel of application state changes and the holder's status stream.
//! - [`webhooks`]: platforms' endpoints, Standard Webhooks signatures, delivery with backoff.
//! - [`jurisdiction`]: one policy file per jurisdiction (required fields, accepted documents,
//!   ID-number schemes, provider checks, thresholds, validity), validated at start.
//! - [`checks`]: the KYC checks (identity, document, screening, biometric, country risk and
//!   association); a check with no provider says *not performed*.
//! - [`risk`]: the risk engine: outcomes in, level, action and tier out, with reasons.
//! - [`api`]: the HTTP routes (axum), their limits, RFC 9457 problem responses, and the
//!   OpenAPI 3.1 document generated from them (`GET /openapi.json`).
//! - [`service`]: start-up (data directory, key, store, log), serving, graceful shutdown.
#![warn(missing_docs)]

pub mod api;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod config;
pub mod events;
pub mod issuance;
pub mod jurisdiction;
pub mod pii;
pub mod risk;
pub mod service;
pub mod signing_key;
pub mod store;
pub mod webhooks;
