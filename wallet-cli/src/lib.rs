//! The customer's wallet: holds the holder key and credentials, answers presentation requests.
//!
//! # Layout
//! - [`holder_key`]: the holder's Ed25519 key file (mode 0600). A password-protected keystore
//!   (PBES2 JWE) replaces it when the wallet gets its own issue; the format is the same JWK inside.
#![warn(missing_docs)]

pub mod holder_key;
