//! The biometric check's cost, per step, on a 1 MP selfie (obama.jpg scaled to ~1,000,000
//! pixels) and a synthetic ID card (600 × 380 PNG; its portrait needs one 2× upscale):
//!
//! - `baseline/sha256_selfie_jpeg`: one SHA-256 of the selfie's JPEG bytes, the yardstick every
//!   figure is reported against (same run, same machine);
//! - `step/decode`, `step/detect` (HOG), `step/landmarks` (5 points), `step/embed` (alignment
//!   + ResNet), on the 1 MP selfie, one thread;
//! - `face_match/one_worker`: the whole face match (decode, detect, landmarks, embed on both
//!   images, compare);
//! - `application/two_workers`: the whole biometric step of one application (face match + 3
//!   liveness frames of 0.3 MP), two applications at a time on two workers, wall time per
//!   application (applications/s = 1 / that).
//!
//! Run: `cargo bench -p kyc-issuer --bench biometric` (after `scripts/setup-biometrics.sh`).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use dlib_face_recognition::ImageMatrix;
use image::RgbImage;
use kyc_issuer::checks::biometric::local::{decode_image, Face, FaceModels};
use kyc_issuer::checks::biometric::{
    default_models_dir, BiometricConfig, BiometricProvider as _, BiometricRequest, Detector,
    HeadTurn, ImageRole, LivenessChallenge, LivenessRequest, LocalBiometrics,
};
use kyc_testkit::images::{id_card, jpeg, load, png, resize_to_pixels, turned, Turn};
use sha2::{Digest as _, Sha256};

fn models() -> FaceModels {
    FaceModels::open(&default_models_dir(), Detector::Hog)
        .unwrap_or_else(|e| panic!("{e}: run scripts/setup-biometrics.sh"))
}

/// The one face on `image` (the fixtures are built around it).
fn the_face(models: &FaceModels, image: &RgbImage) -> Face {
    let mut faces = models.faces(image);
    assert_eq!(faces.len(), 1, "fixture image should show one face");
    faces.remove(0)
}

fn local(workers: usize) -> LocalBiometrics {
    LocalBiometrics::open(&BiometricConfig {
        enabled: true,
        workers: Some(workers),
        ..BiometricConfig::default()
    })
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let models = models();
    let selfie = resize_to_pixels(&load("obama.jpg"), 1_000_000);
    let selfie_jpeg = jpeg(&selfie);
    let portrait = load("obama2.jpg");
    let card_png = png(&id_card(&portrait, Some(the_face(&models, &portrait).rect)));

    c.bench_function("baseline/sha256_selfie_jpeg", |b| {
        b.iter(|| Sha256::digest(black_box(&selfie_jpeg)))
    });

    let matrix = ImageMatrix::from_image(&selfie);
    let rect = models.detect(&matrix)[0];
    let landmarks = models.landmarks(&matrix, &rect);
    c.bench_function("step/decode", |b| {
        b.iter(|| decode_image(black_box(&selfie_jpeg), ImageRole::Selfie, 1_500_000).unwrap())
    });
    c.bench_function("step/detect", |b| {
        b.iter(|| models.detect(black_box(&matrix)))
    });
    c.bench_function("step/landmarks", |b| {
        b.iter(|| models.landmarks(black_box(&matrix), &rect))
    });
    c.bench_function("step/embed", |b| {
        b.iter(|| models.embed(black_box(&matrix), &landmarks).unwrap())
    });

    let one = local(1);
    c.bench_function("face_match/one_worker", |b| {
        b.iter(|| one.face_match(black_box(&card_png), &selfie_jpeg).unwrap())
    });
    drop(one);

    // Frames at 0.3 MP, as a wallet would sample them from a short video.
    let small = resize_to_pixels(&selfie, 300_000);
    let face = the_face(&models, &small);
    let frames: Vec<Vec<u8>> = [Turn::Left, Turn::Centre, Turn::Right]
        .into_iter()
        .map(|t| jpeg(&turned(&small, &face.points, t)))
        .collect();
    let challenge = LivenessChallenge {
        id: uuid::Uuid::new_v4(),
        turns: vec![HeadTurn::Left, HeadTurn::Centre, HeadTurn::Right],
        issued_at: Utc::now(),
        expires_at: Utc::now(),
    };
    let two = Arc::new(local(2));
    let data = Arc::new((card_png, selfie_jpeg, frames, challenge));
    c.bench_function("application/two_workers", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let threads: Vec<_> = (0..2u64)
                .map(|t| {
                    let (two, data) = (two.clone(), data.clone());
                    // Thread t runs applications t, t + 2, t + 4, … of `iters`.
                    let count = (iters + 1 - t) / 2;
                    std::thread::spawn(move || {
                        let (card, selfie, frames, challenge) = &*data;
                        for _ in 0..count {
                            let request = BiometricRequest {
                                document: card,
                                selfie,
                                liveness: Some(LivenessRequest { challenge, frames }),
                            };
                            black_box(two.assess(&request).unwrap());
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            start.elapsed()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
