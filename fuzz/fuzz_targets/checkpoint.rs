//! A signed checkpoint (C2SP signed note + tlog-checkpoint body) as a monitor or auditor
//! fetches it: raw (first byte even), or its body signed here so that the body's parser runs
//! behind the signature. A body that parses writes back to the same text.
#![no_main]

use kyc_core::tlog::{Checkpoint, Note};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let verifier = kyc_fuzz::log_verifier();
    if mode & 1 == 0 {
        if let Ok(note) = Note::parse(text) {
            let _ = note.verify(&verifier);
        }
        let _ = Checkpoint::open(text, &verifier);
    } else {
        if let Ok(checkpoint) = Checkpoint::parse_body(text) {
            assert_eq!(checkpoint.body(), text);
        }
        if let Ok(signed) = kyc_fuzz::log_signer().sign_note(text) {
            if let Ok(checkpoint) = Checkpoint::open(&signed, &verifier) {
                assert_eq!(checkpoint.body(), text);
            }
        }
    }
});
