//! The shared test kit (`kyc-testkit`) stands in for the issuer where a test writes its
//! configuration without linking it: its staff token digest must be the one the issuer checks.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// `kyc-issuer staff new-token` prints a token and its `token_sha256`; the kit's digest of the
/// token is that line.
#[test]
fn staff_token_digest_is_the_issuers() {
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["staff", "new-token"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let (token, digest) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(kyc_testkit::tokens::token_sha256(token), digest);
}
