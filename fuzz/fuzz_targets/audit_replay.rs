//! A whole exported audit log replayed by the auditor (`kyc-verify audit`): lines, chain,
//! tree, checkpoint and the business rules. When the bytes form a valid chain, the checkpoint
//! is signed here over it, so that the business replay runs; otherwise a checkpoint of an
//! empty log is used.
#![no_main]

use kyc_core::tlog::{chain::verify_lines, merkle, Checkpoint};
use kyc_verifier::audit::{replay_with, ReplayOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let signer = kyc_fuzz::log_signer();
    let (size, root) = std::str::from_utf8(data)
        .ok()
        .and_then(|text| verify_lines(text.lines()).ok())
        .map_or((0, merkle::root(&[])), |chain| (chain.len(), chain.root()));
    let Ok(checkpoint) = Checkpoint::new(kyc_fuzz::ORIGIN, size, root) else {
        return;
    };
    let Ok(note) = checkpoint.sign(&signer) else {
        return;
    };
    for options in [
        ReplayOptions::default().threads(1),
        ReplayOptions::default().threads(1).cryptographic_only(),
    ] {
        let _ = replay_with(data, &note, &signer.verifier(), None, &options, |_| {});
    }
});
