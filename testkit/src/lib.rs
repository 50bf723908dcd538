#![doc = include_str!("../README.md")]
//!
//! # Layout
//! - [`config`]: [`IssuerConfig`], the issuer's configuration file as the tests write it
//!   (loopback, a data directory, the public URL, staff by token digest, further sections).
//! - [`process`]: [`IssuerProcess`], a running `kyc-issuer serve` and the `listening on` line
//!   that says where; killed when dropped.
//! - [`binaries`]: [`binaries::build`], the workspace's binaries built from the current sources
//!   into the running test's target directory (Cargo names only a package's own binaries to its
//!   tests).
//! - [`applicant`]: the person every test applies as; her identity, machine readable zones and
//!   personal data (which no error, event or log may carry), and her submission.
//! - [`tokens`]: staff bearer tokens and their `token_sha256` digests; holder tokens.
//! - [`images`]: the biometric test photos, a synthetic ID card, head-turn frames, encoders;
//!   where a face is comes from the caller (the issuer's dlib face models).
#![warn(missing_docs)]

pub mod applicant;
pub mod binaries;
pub mod config;
pub mod images;
pub mod process;
pub mod tokens;

pub use config::{IssuerConfig, PUBLIC_URL};
pub use process::IssuerProcess;
