//! A status list: the `vc+jwt` credential a verifier fetches (raw), its payload signed here
//! (first byte 1 mod 3) so that the credential's parse and the bitstring are reached, or an
//! `encodedList` alone (2 mod 3): multibase, base64url, GZIP, size bounds.
#![no_main]

use kyc_core::credential::TYP_VC_JWT;
use kyc_core::jws;
use kyc_core::status_list::{verify_jwt, Bitstring};
use libfuzzer_sys::fuzz_target;

fn bits(list: &Bitstring) {
    let len = list.len() as u64;
    for index in [0, 1, len.saturating_sub(1), len, len + 1, u64::MAX] {
        let _ = list.get(index);
    }
    let again = Bitstring::decode(&list.encode()).expect("an encoded list decodes");
    assert_eq!(again.len(), list.len());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let resolver = kyc_fuzz::resolver();
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(verified) = verify_jwt(text, &resolver) {
                    bits(&verified.list);
                }
            }
        }
        1 => {
            let issuer = kyc_fuzz::issuer();
            let signed = jws::sign(
                TYP_VC_JWT,
                Some(&issuer.key_id()),
                rest,
                &kyc_fuzz::issuer_key(),
            );
            if let Ok(verified) = verify_jwt(&signed, &resolver) {
                bits(&verified.list);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(list) = Bitstring::decode(text) {
                    bits(&list);
                }
            }
        }
    }
});
