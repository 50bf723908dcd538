//! The checkout hot path against its baseline, in one run (the machine is shared and noisy, so
//! only ratios within a run mean anything; `scripts/bench-ratios.sh` prints them), on a
//! credential shaped as the issuer signs it (`credential::issued_sample`: evidence, status,
//! every claim; 2.1 KB as `vc+jwt`):
//! - `vc_jwt_verify` against one raw `verify_strict` of the same signing input;
//! - `presentation_verify` (SD-JWT, 3 disclosures, key binding) against two raw verifies.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::Signature;
use kyc_core::credential;
use kyc_core::did::Resolver;
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::{sd_jwt, DidKey, KycCredential, KycTier};

fn fixture() -> (
    KycCredential,
    ed25519_dalek::SigningKey,
    ed25519_dalek::SigningKey,
    DidKey,
) {
    let (issuer_key, issuer) = DidKey::generate();
    let (holder_key, holder) = DidKey::generate();
    let issued_at = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
    let c = credential::issued_sample(&issuer, &holder, issued_at);
    (c, issuer_key, holder_key, issuer)
}

fn split_signature(jws: &str) -> (&[u8], Signature) {
    use base64::Engine as _;
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    (input.as_bytes(), Signature::from_slice(&bytes).unwrap())
}

/// Not inlined, so that `scripts/bench-ratios.sh --callgrind` can count the iterations by it.
#[inline(never)]
fn raw_verify_strict(key: &ed25519_dalek::VerifyingKey, input: &[u8], signature: &Signature) {
    key.verify_strict(input, signature).unwrap()
}

fn bench(c: &mut Criterion) {
    let (credential, issuer_key, holder_key, issuer) = fixture();
    let mut resolver = Resolver::new();
    resolver.preload(issuer.as_str()).unwrap();
    let issuer_vk = issuer_key.verifying_key();
    let holder_vk = holder_key.verifying_key();

    let jwt = credential.sign_jwt(&issuer_key).unwrap();
    let (jwt_input, jwt_sig) = split_signature(&jwt);

    let now = Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).unwrap();
    let request = PresentationRequest::new(
        "shop.example",
        KycTier::Verified,
        &["ageOver18", "countryOfResidence", "nationality"],
        now,
        Duration::minutes(5),
    )
    .unwrap();
    let sd = sd_jwt::issue(&credential, &issuer_key).unwrap();
    let presented = presentation::present(&sd, &request, &holder_key, now).unwrap();
    let issuer_jwt = presented.split('~').next().unwrap();
    let (sd_input, sd_sig) = split_signature(issuer_jwt);
    let (kb_input, kb_sig) = split_signature(presented.rsplit('~').next().unwrap());
    assert_eq!(
        presentation::verify_presentation(&presented, &request, &resolver, now)
            .unwrap()
            .disclosed
            .len(),
        3
    );

    let mut g = c.benchmark_group("checkout");
    g.bench_function("raw_verify_strict", |b| {
        b.iter(|| raw_verify_strict(&issuer_vk, black_box(jwt_input), black_box(&jwt_sig)))
    });
    g.bench_function("vc_jwt_verify", |b| {
        b.iter(|| credential::verify_jwt(black_box(&jwt), &resolver).unwrap())
    });
    g.bench_function("two_raw_verify_strict", |b| {
        b.iter(|| {
            raw_verify_strict(&issuer_vk, black_box(sd_input), black_box(&sd_sig));
            raw_verify_strict(&holder_vk, black_box(kb_input), black_box(&kb_sig));
        })
    });
    g.bench_function("presentation_verify", |b| {
        b.iter(|| {
            presentation::verify_presentation(black_box(&presented), &request, &resolver, now)
                .unwrap()
        })
    });
    g.finish();

    // Criterion times one function after the other; paired rounds cancel the machine's drift.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--profile-time" || a.starts_with("checkout/"));
    let rounds = if measuring { 1000 } else { 3 };
    interleaved(
        "vc+jwt verify / raw verify_strict",
        rounds,
        || raw_verify_strict(&issuer_vk, black_box(jwt_input), black_box(&jwt_sig)),
        || {
            drop(black_box(
                credential::verify_jwt(black_box(&jwt), &resolver).unwrap(),
            ))
        },
    );
    interleaved(
        "presentation verify / two raw verify_strict",
        rounds,
        || {
            raw_verify_strict(&issuer_vk, black_box(sd_input), black_box(&sd_sig));
            raw_verify_strict(&holder_vk, black_box(kb_input), black_box(&kb_sig));
        },
        || {
            let v =
                presentation::verify_presentation(black_box(&presented), &request, &resolver, now);
            drop(black_box(v.unwrap()));
        },
    );
}

/// Time `subject` against `base` in alternating rounds of ten calls each (which goes first
/// alternates too), and print the ratio of their fastest-decile and median round times: a slow
/// stretch of the shared machine then hits both sides, and noise, which only ever adds time,
/// weighs least on the fastest rounds.
fn interleaved(name: &str, rounds: usize, base: impl Fn(), subject: impl Fn()) {
    let time = |f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..10 {
            f();
        }
        started.elapsed().as_secs_f64()
    };
    let (mut b, mut s) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for i in 0..rounds {
        if i % 2 == 0 {
            b.push(time(&base));
            s.push(time(&subject));
        } else {
            s.push(time(&subject));
            b.push(time(&base));
        }
    }
    b.sort_by(f64::total_cmp);
    s.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: usize| v[(v.len() - 1) * q / 100];
    println!(
        "interleaved {name}: {:.3} (fastest decile), {:.3} (median); {rounds} rounds",
        at(&s, 10) / at(&b, 10),
        at(&s, 50) / at(&b, 50),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
