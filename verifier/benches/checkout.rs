//! Merchant throughput: checkout presentations of a credential shaped as the issuer signs it
//! (`kyc_core::credential::issued_sample`) verified through the `kyc-verifier` library (trust
//! list and status list warm, replay store in memory) on every core, against the two raw
//! Ed25519 `verify_strict` each presentation needs, on the same cores in the same run. Custom
//! harness: the figure is a throughput, each presentation verifiable once (its nonce is then
//! spent).
//!
//! `cargo bench -p kyc-verifier --bench checkout` (a short smoke run under `cargo test`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ed25519_dalek::Signature;
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::status_list::{self, Bitstring, StatusListCredential};
use kyc_core::{sd_jwt, DidKey, KycTier};
use kyc_verifier::replay::{MemoryReplayStore, ReplayStore as _};
use kyc_verifier::status_cache::StatusLists;
use kyc_verifier::trust::TrustedIssuer;
use kyc_verifier::{StatusPolicy, TrustList};
use std::hint::black_box;

const LIST: &str = "https://kyc.example/v1/status-lists/1";

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let per_thread = if measuring { 20_000 } else { 200 };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let now = Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).unwrap();

    let (issuer_key, issuer) = DidKey::generate();
    let (holder_key, holder) = DidKey::generate();
    // Shaped as the issuer signs it (evidence, status at LIST, every claim), issued 30 days ago.
    let credential =
        kyc_core::credential::issued_sample(&issuer, &holder, now - chrono::Duration::days(30));
    assert_eq!(
        credential
            .credential_status
            .as_ref()
            .map(|s| s.status_list_credential.as_str()),
        Some(LIST)
    );
    let issued = sd_jwt::issue(&credential, &issuer_key).unwrap();
    let trust = TrustList::new(vec![TrustedIssuer::single(issuer.as_str(), "Bench")]).unwrap();
    let list_jwt = StatusListCredential::revocation(&issuer, LIST, &Bitstring::new(0), now, None)
        .sign_jwt(&issuer_key)
        .unwrap();
    let lists = StatusLists::single(status_list::verify_jwt(&list_jwt, trust.resolver()).unwrap());
    let status = StatusPolicy {
        lists: Some(&lists),
        max_age: Some(chrono::Duration::hours(1)),
        require: true,
    };

    // One request and presentation per verification: a nonce is accepted once, and only when
    // the shop issued it (each thread's store holds its requests, as a checkout server's would).
    let claims = ["ageOver18", "countryOfResidence", "nationality"];
    let work: Vec<(MemoryReplayStore, Vec<(PresentationRequest, String)>)> = (0..threads)
        .map(|_| {
            let mut store = MemoryReplayStore::default();
            let batch = (0..per_thread)
                .map(|_| {
                    let request = PresentationRequest::new(
                        "shop.example",
                        KycTier::Verified,
                        &claims,
                        now,
                        chrono::Duration::minutes(5),
                    )
                    .unwrap();
                    store.issue(&request).unwrap();
                    let p = presentation::present(&issued, &request, &holder_key, now).unwrap();
                    (request, p)
                })
                .collect();
            (store, batch)
        })
        .collect();

    // Baseline: the two raw verify_strict a presentation needs (the issuer's JWT and the
    // key-binding JWT, over their real signing inputs), on the same threads.
    let sample = &work[0].1[0].1;
    let issuer_jws = split_signature(sample.split('~').next().unwrap());
    let kb_jws = split_signature(sample.rsplit('~').next().unwrap());
    let (issuer_vk, holder_vk) = (issuer_key.verifying_key(), holder_key.verifying_key());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    issuer_vk
                        .verify_strict(black_box(issuer_jws.0), &issuer_jws.1)
                        .unwrap();
                    holder_vk
                        .verify_strict(black_box(kb_jws.0), &kb_jws.1)
                        .unwrap();
                }
            });
        }
    });
    let raw = rate(threads * per_thread, started.elapsed());

    let started = Instant::now();
    std::thread::scope(|s| {
        for (mut replay, batch) in work {
            let (trust, status) = (&trust, &status);
            s.spawn(move || {
                for (request, p) in &batch {
                    let verdict = kyc_verifier::verify_presentation(
                        p,
                        request,
                        trust,
                        status,
                        &mut replay,
                        now,
                    )
                    .unwrap();
                    assert!(verdict.valid, "{verdict:?}");
                }
            });
        }
    });
    let checkout = rate(threads * per_thread, started.elapsed());
    println!("threads {threads}, {per_thread} per thread");
    println!("two raw ed25519 verify_strict  {raw:>10.0} /s");
    println!("checkout presentation verify   {checkout:>10.0} /s  (target >= 10,000)");
    println!(
        "time per presentation / two raw verify_strict: {:.3} (ideal 1.0)",
        raw / checkout
    );
}

fn split_signature(jws: &str) -> (&[u8], Signature) {
    use base64::Engine as _;
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    (input.as_bytes(), Signature::from_slice(&bytes).unwrap())
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}
