//! The KYC issuer: holds the signing key, signs credentials in both securing forms, publishes
//! status lists. (The HTTP service, checks and audit log build on this.)
//!
//! # Layout
//! - [`signing_key`]: the issuer's Ed25519 key file (created once, mode 0600, refused if others
//!   can read it).
//! - [`config`]: the TOML configuration with `KYC_ISSUER_*` overrides, validated at start.
//! - [`issuance`]: credential and status list signing from the command line's inputs.
#![warn(missing_docs)]

pub mod config;
pub mod issuance;
pub mod signing_key;
