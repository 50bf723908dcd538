//! What the fuzz targets share: a fixed issuer key and its resolver, and a signer, so that a
//! target can sign the bytes the fuzzer chose and reach the code behind a signature check.

use ed25519_dalek::SigningKey;
use kyc_core::did::Resolver;
use kyc_core::tlog::{SignerKey, VerifierKey};
use kyc_core::DidKey;

/// The issuer's fixed key (the fuzzer never needs to find a signature).
pub fn issuer_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The issuer's did:key.
pub fn issuer() -> DidKey {
    DidKey::from_verifying_key(&issuer_key().verifying_key())
}

/// A resolver that knows the issuer.
pub fn resolver() -> Resolver {
    let mut resolver = Resolver::new();
    let _ = resolver.preload(issuer().as_str());
    resolver
}

/// The audit log's origin in the targets.
pub const ORIGIN: &str = "kyc.example/audit";

/// The log's note signer.
pub fn log_signer() -> SignerKey {
    SignerKey::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).expect("a valid key name")
}

/// The log's note verifier.
pub fn log_verifier() -> VerifierKey {
    log_signer().verifier()
}

/// `data` split at the first `sep`: (before, after); all of it and nothing without one.
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A file of the fuzz process's own for a target that reads its input from a path (the
/// screening lists): `name` under the temporary directory, with the process id.
pub fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kyc-fuzz-{}-{name}", std::process::id()))
}
