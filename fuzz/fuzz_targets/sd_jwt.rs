//! An SD-JWT (`<JWT>~<D1>~…~<KB-JWT>`), its disclosures and a presentation of it: raw, or
//! (first byte odd) `payload \0 disclosures…` with the payload signed here so that the
//! disclosures' decoding and digests, `cnf` and the key binding are reached.
#![no_main]

use chrono::{DateTime, Utc};
use kyc_core::presentation::{verify_presentation, PresentationRequest};
use kyc_core::sd_jwt::{self, SdJwt, TYP_VC_SD_JWT};
use kyc_core::{jws, KycTier};
use libfuzzer_sys::fuzz_target;

fn request() -> PresentationRequest {
    PresentationRequest {
        nonce: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        aud: "shop.example".into(),
        min_tier: KycTier::Basic,
        claims: vec!["ageOver18".into()],
        expires_at: DateTime::<Utc>::MAX_UTC,
    }
}

fn exercise(text: &str) {
    let resolver = kyc_fuzz::resolver();
    if let Ok(parsed) = SdJwt::parse(text) {
        let _ = parsed.disclosure_names();
        let _ = parsed.select(&["givenName", "ageOver18"]);
        let _ = sd_jwt::verify(&parsed, &resolver);
    }
    let _ = verify_presentation(text, &request(), &resolver, Utc::now());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            exercise(text);
        }
        return;
    }
    let (payload, tail) = kyc_fuzz::split_at_byte(rest, 0);
    let Ok(tail) = std::str::from_utf8(tail) else {
        return;
    };
    let issuer = kyc_fuzz::issuer();
    let mut text = jws::sign(
        TYP_VC_SD_JWT,
        Some(&issuer.key_id()),
        payload,
        &kyc_fuzz::issuer_key(),
    );
    text.push('~');
    text.push_str(tail);
    exercise(&text);
});
