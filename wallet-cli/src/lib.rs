//! The customer's wallet: holds the holder key and credentials, talks to the issuer, answers
//! presentation requests. The `kyc-wallet` binary is a thin shell over these modules.
//!
//! # Layout
//! - [`location`]: which directory is the wallet (`--wallet`, `KYC_WALLET_DIR`, XDG data dir).
//! - [`keystore`]: the private key at rest, a PBES2-HS512+A256KW / A256GCM JWE; its parameters.
//! - [`password`]: the password, from `KYC_WALLET_PASSWORD` or a prompt without echo.
//! - [`wallet`]: the directory on disk: keystore, applications sent, credentials held; private
//!   modes and atomic writes.
//! - [`image`]: image files as the application carries them (JPEG or PNG, base64) and the
//!   schema's limits on images; the leaf that [`submission`] and [`liveness`] both read with.
//! - [`submission`]: an application built from the customer's identity file and images.
//! - [`liveness`]: the captures per head pose and the frames answering the issuer's challenge.
//! - [`issuer_client`]: the issuer's HTTP API with single-use holder tokens; problem+json errors;
//!   following an application over Server-Sent Events or by polling.
//! - [`event_stream`]: the `text/event-stream` parser.
//! - [`backup`]: `export` / `import`, the whole wallet as one password-based JWE.
//! - [`batch`]: the per-credential holder keys of a batch, derived from the wallet key.
//! - [`held`]: credentials checked when collected and summarised for `list` and `show`.
//! - [`checkout`]: answering a presentation request: which credential, which claims, refusals.
//! - [`render`]: human-readable output.
//! - [`error`]: every failure of a command and its class (the exit code).
//! - [`holder_key`]: a bare key file (mode 0600), for the low-level `keygen`, `did --key` and
//!   `present --key` commands.
//!
//! The commands, the wallet directory, the keystore's parameters and the exit codes follow
//! (the crate's README).
//!
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod backup;
pub mod batch;
pub mod checkout;
pub mod error;
pub mod event_stream;
pub mod held;
pub mod holder_key;
pub mod image;
pub mod issuer_client;
pub mod keystore;
pub mod liveness;
pub mod location;
pub mod password;
pub mod render;
pub mod submission;
pub mod wallet;

pub use error::{Class, Error};
