//! One audit log line, read by kyc-core's strict parser and by the auditor's fast path, which
//! must agree on every line (the fast path only ever accepts what the strict one accepts, and
//! reads the same entry and event); an accepted line is its own canonical form.
#![no_main]

use kyc_core::tlog::Entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kyc_verifier::audit::fuzzing::parse_line(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(entry) = Entry::parse_line(text) {
            assert_eq!(entry.canonical_line().as_deref().ok(), Some(text));
            let _ = entry.hash();
        }
    }
});
