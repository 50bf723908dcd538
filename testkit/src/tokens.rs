//! Bearer tokens: the staff's (fixed, configured by digest) and the holder's (signed per
//! request over a fresh nonce).

use chrono::Utc;
use ed25519_dalek::SigningKey;
use kyc_core::DidKey;
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// The reviewer's bearer token.
pub const REVIEWER_TOKEN: &str = "reviewer-token-0123456789abcdef";
/// The admin's bearer token.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
/// The auditor's bearer token.
pub const AUDITOR_TOKEN: &str = "auditor-token-0123456789abcdef";
/// The compliance officer's bearer token.
pub const COMPLIANCE_TOKEN: &str = "compliance-token-0123456789abcdef";

/// What the issuer's configuration stores for a staff token (`token_sha256`): SHA-256 of its
/// bytes, lower-case hex, as `kyc-issuer staff new-token` prints it.
pub fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A single-use holder token: a JWT signed by `key` for the issuer whose public URL is
/// `audience` ([`crate::PUBLIC_URL`] in the kit's configurations), over `nonce` (the `nonce` of
/// `POST /v1/nonce`'s answer), valid for two minutes.
pub fn holder_token(key: &SigningKey, audience: &str, nonce: &serde_json::Value) -> String {
    let did = DidKey::from_verifying_key(&key.verifying_key());
    let now = Utc::now().timestamp();
    let claims =
        json!({"iss": did.as_str(), "aud": audience, "nonce": nonce, "iat": now, "exp": now + 120});
    kyc_core::jws::sign(
        "JWT",
        Some(&did.key_id()),
        claims.to_string().as_bytes(),
        key,
    )
}

/// The body of `POST /v1/applications/{id}/credential`: a proof of possession of each of
/// `keys` (one credential is issued bound to each) for the issuer whose public URL is
/// `audience`, over `nonce` (a fresh one of `POST /v1/nonce`, not the holder token's).
pub fn collect_body(keys: &[SigningKey], audience: &str, nonce: &str) -> serde_json::Value {
    let now = Utc::now();
    let proofs: Vec<String> = keys
        .iter()
        .map(|k| kyc_core::key_proof::sign(k, audience, nonce, now))
        .collect();
    json!({"proofs": {"jwt": proofs}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        // FIPS 180-2 Appendix B.1: SHA-256("abc").
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
