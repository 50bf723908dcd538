//! The holder keys of a batch of credentials.
//!
//! A shop that sees the same holder key twice, or two shops that compare notes, could tell one
//! customer's presentations apart from everyone else's. So the wallet asks the issuer for a
//! batch of credentials per approval, each bound to a key of its own, and shows each shop a
//! different one (`docs/design.md` "Privacy at checkout").
//!
//! The keys are not stored: each is derived from the wallet's own key and a random 32-byte label
//! kept beside the credential (`wallet::CredentialMeta::key_label`),
//! `seed = HMAC-SHA256(wallet key seed, "kyc-wallet/holder-key/v1" || label)`, so the keystore
//! remains the one secret, a backup holds everything, and without the wallet key the public
//! keys look unrelated to each other and to the wallet's DID.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use zeroize::Zeroize as _;

/// Credentials fetched per batch unless `collect --batch` says otherwise.
pub const DEFAULT_BATCH: usize = 10;
/// The most the issuer issues in one batch.
pub const MAX_BATCH: usize = 50;
/// A new batch is fetched when fewer credentials than this are left unshown.
pub const REFILL_BELOW: usize = 3;

const DOMAIN: &[u8] = b"kyc-wallet/holder-key/v1";

/// A fresh random label, base64url.
pub fn new_label() -> String {
    let mut label = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut label);
    B64.encode(label)
}

/// The holder key derived from `wallet_key` with `label` (base64url of 32 bytes); `None` for a
/// label that is not one.
pub fn derive(wallet_key: &SigningKey, label: &str) -> Option<SigningKey> {
    let label = B64.decode(label).ok().filter(|l| l.len() == 32)?;
    let mut seed = wallet_key.to_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&seed).ok()?;
    seed.zeroize();
    mac.update(DOMAIN);
    mac.update(&label);
    let mut derived: [u8; 32] = mac.finalize().into_bytes().into();
    let key = SigningKey::from_bytes(&derived);
    derived.zeroize();
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_give_distinct_stable_keys() {
        let wallet = SigningKey::from_bytes(&[9u8; 32]);
        let (a, b) = (new_label(), new_label());
        let ka = derive(&wallet, &a).map(|k| k.verifying_key());
        assert_eq!(ka, derive(&wallet, &a).map(|k| k.verifying_key()));
        assert_ne!(ka, derive(&wallet, &b).map(|k| k.verifying_key()));
        assert_ne!(ka, Some(wallet.verifying_key()));
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert_ne!(ka, derive(&other, &a).map(|k| k.verifying_key()));
        assert!(derive(&wallet, "short").is_none());
    }
}
