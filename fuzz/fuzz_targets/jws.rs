//! A compact JWS (`header.payload.signature`) as every verifier reads one, and a `vc+jwt`
//! credential: raw, or (first byte odd) the payload signed here so that the credential's
//! parser and structure checks run behind the signature.
#![no_main]

use kyc_core::credential::{verify_jwt, TYP_VC_JWT};
use kyc_core::jws::{self, CompactJws};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let resolver = kyc_fuzz::resolver();
    if mode & 1 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if let Ok(parsed) = CompactJws::parse(text) {
            let _ = parsed.expect_typ(&[TYP_VC_JWT]);
            let _ = parsed.payload_json::<serde_json::Value>("payload");
            let _ = parsed.verify(&kyc_fuzz::issuer_key().verifying_key());
        }
        let _ = verify_jwt(text, &resolver);
    } else {
        let issuer = kyc_fuzz::issuer();
        let signed = jws::sign(
            TYP_VC_JWT,
            Some(&issuer.key_id()),
            rest,
            &kyc_fuzz::issuer_key(),
        );
        if let Ok(verified) = verify_jwt(&signed, &resolver) {
            let _ = verified.credential.check_validity(chrono::Utc::now());
        }
    }
});
