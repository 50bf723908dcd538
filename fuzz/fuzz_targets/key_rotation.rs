//! A key rotation statement as `kyc-verify trust learn` reads one, learnt into a trust file
//! that trusts the fixed issuer key: raw (first byte even), or (odd) the fuzzer's payload
//! signed by the trusted key so that the statement's payload rules and the learning run. A
//! list that learnt something must read back from the file it writes as the same list.
#![no_main]

use kyc_core::jws;
use kyc_core::key_rotation::{KeyRotation, TYP_KEY_ROTATION};
use kyc_verifier::trust::TrustedIssuer;
use kyc_verifier::TrustList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let statement = if mode & 1 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let issuer = kyc_fuzz::issuer();
        jws::sign(
            TYP_KEY_ROTATION,
            Some(&issuer.key_id()),
            rest,
            &kyc_fuzz::issuer_key(),
        )
    };
    if let Ok(rotation) = KeyRotation::verify(&statement) {
        assert_ne!(rotation.previous, rotation.current);
    }
    let Ok(mut trust) = TrustList::new(vec![TrustedIssuer::single(
        kyc_fuzz::issuer().as_str(),
        "Fuzz \"KYC\"\n[[issuer]]",
    )]) else {
        return;
    };
    if let Ok(learnt) = trust.learn(&statement) {
        let again = TrustList::from_toml(&trust.to_toml()).expect("the written file reads back");
        assert_eq!(again.issuers(), trust.issuers());
        assert!(!learnt.changed || trust.same_issuer(&learnt.previous, &learnt.current));
    }
});
