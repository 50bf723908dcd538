//! did:key conformance: every seed in the W3C CCG did-method-key vectors
//! (`test-vectors/ed25519-x25519.json`, commit f5abee840c31e92cd1ac11737e0b62103ab99d21) gives
//! its DID, its public key (base58), and a key id whose fragment is the DID's own value.
//!
//! The vectors live beside the project (`../shared/vectors`); the test runs when
//! `KYC_CONFORMANCE_VECTORS` names that folder (CI sets it) and says it skipped otherwise.
#![allow(clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use kyc_core::DidKey;
use serde_json::Value;

#[test]
fn seed_to_did_vectors() {
    let Ok(dir) = std::env::var("KYC_CONFORMANCE_VECTORS") else {
        eprintln!("skipped: KYC_CONFORMANCE_VECTORS is not set");
        return;
    };
    let path = std::path::Path::new(&dir).join("did-key/ed25519-x25519.json");
    let vectors: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(!vectors.is_empty());
    for (did, vector) in &vectors {
        let seed = hex(vector["seed"].as_str().unwrap());
        let key = SigningKey::from_bytes(&seed.try_into().unwrap());
        let derived = DidKey::from_verifying_key(&key.verifying_key());
        assert_eq!(derived.as_str(), did, "seed of {did}");
        // The key pair is given as base58 (Ed25519VerificationKey2018) or as a JWK
        // (JsonWebKey2020); each must be the seed's public key.
        let pair = &vector["verificationKeyPair"];
        let public = key.verifying_key();
        if let Some(b58) = pair["publicKeyBase58"].as_str() {
            assert_eq!(bs58::encode(public.as_bytes()).into_string(), b58, "{did}");
        } else {
            use base64::Engine as _;
            let x = pair["publicKeyJwk"]["x"].as_str().unwrap();
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            assert_eq!(b64.encode(public.as_bytes()), x, "{did}");
        }
        let parsed = DidKey::parse(did).unwrap();
        assert_eq!(parsed.verifying_key(), &public);
        let vm = vector["didDocument"]["verificationMethod"][0]["id"]
            .as_str()
            .unwrap();
        assert_eq!(derived.key_id(), vm, "{did}");
        assert_eq!(DidKey::parse_key_id(vm).unwrap(), derived);
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
