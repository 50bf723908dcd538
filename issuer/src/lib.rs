//! The KYC issuer: holds the signing key, signs credentials in both securing forms, publishes
//! status lists, and records every action in a tamper-evident audit log served over HTTP.
//!
//! # Layout
//! - [`config`]: the TOML configuration with `KYC_ISSUER_*` overrides, validated at start.
//! - [`signing_key`]: the issuer's Ed25519 key file (created once, mode 0600, refused if others
//!   can read it).
//! - [`issuance`]: credential and status list signing.
//! - [`audit`]: the durable audit log: group-committed appends, signed checkpoints, proofs.
//! - [`api`]: the HTTP routes (axum), their limits, RFC 9457 problem responses.
//! - [`service`]: start-up (data directory, key, store, log), serving, graceful shutdown.
#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod config;
pub mod issuance;
pub mod service;
pub mod signing_key;
