//! A merchant's presentation request as a wallet receives it (JSON, often from a QR code): a
//! request that parses writes back to JSON that parses to the same request.
#![no_main]

use kyc_core::presentation::PresentationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = PresentationRequest::from_json(data) {
        let json = serde_json::to_vec(&request).expect("a request serialises");
        let again = PresentationRequest::from_json(&json).expect("a written request parses");
        assert_eq!(again, request);
    }
});
