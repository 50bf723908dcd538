//! The biometric check against dlib's real models and real photos (fetched by
//! `scripts/setup-biometrics.sh`; see `biometric_support` for the fixtures), and the vendor
//! adapter against a mock vendor on a loopback port chosen at run time.
#![allow(clippy::unwrap_used)]

mod biometric_support;

use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use biometric_support::*;
use chrono::Utc;
use image::RgbImage;
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use kyc_issuer::checks::biometric::liveness::{pose, ChallengeRegistry};
use kyc_issuer::checks::biometric::local::{FaceModels, LANDMARKS_MODEL};
use kyc_issuer::checks::biometric::{
    default_models_dir, BiometricCheck, BiometricConfig, BiometricError, BiometricProvider,
    Detector, FaceMatch, HeadTurn, ImageRole, LivenessChallenge, LocalBiometrics, Score,
};
use kyc_issuer::checks::Check as _;
use kyc_issuer::model::Submission;

fn config() -> BiometricConfig {
    BiometricConfig {
        enabled: true,
        workers: Some(2),
        ..BiometricConfig::default()
    }
}

/// One provider for the whole test binary (loading the models takes a moment).
fn local() -> Arc<LocalBiometrics> {
    static LOCAL: OnceLock<Arc<LocalBiometrics>> = OnceLock::new();
    LOCAL
        .get_or_init(|| {
            Arc::new(LocalBiometrics::open(&config()).unwrap_or_else(|e| {
                panic!("{e}: run scripts/setup-biometrics.sh (or set KYC_MODELS_DIR)")
            }))
        })
        .clone()
}

/// Models for building fixtures (the portrait crop, the nose position).
fn fixture_models() -> &'static Mutex<FaceModels> {
    static MODELS: OnceLock<Mutex<FaceModels>> = OnceLock::new();
    MODELS
        .get_or_init(|| Mutex::new(FaceModels::open(&default_models_dir(), Detector::Hog).unwrap()))
}

fn card_of(photo: &str) -> Vec<u8> {
    let models = fixture_models().lock().unwrap_or_else(|e| e.into_inner());
    png(&id_card(&models, &load(photo), true))
}

/// Liveness frames from `selfie` showing `turns`, each pose twice (as a short video would).
fn frames(selfie: &RgbImage, turns: &[HeadTurn]) -> Vec<Vec<u8>> {
    let models = fixture_models().lock().unwrap_or_else(|e| e.into_inner());
    liveness_frames(&models, selfie, turns, 2)
}

fn assess_match(document: &[u8], selfie: &[u8]) -> FaceMatch {
    local().face_match(document, selfie).unwrap()
}

fn distance(m: FaceMatch) -> f64 {
    match m {
        FaceMatch::Match(Score::Distance(d))
        | FaceMatch::Uncertain(Score::Distance(d))
        | FaceMatch::NoMatch(Score::Distance(d)) => d,
        other => panic!("no distance in {other:?}"),
    }
}

#[test]
fn same_person_across_different_photos_matches() {
    let selfie = jpeg(&load("obama.jpg"));
    for other in ["obama2.jpg", "obama3.jpg"] {
        let m = assess_match(&jpeg(&load(other)), &selfie);
        assert!(matches!(m, FaceMatch::Match(_)), "{other}: {m:?}");
    }
}

#[test]
fn same_person_across_the_synthetic_document_matches() {
    let selfie = jpeg(&load("obama.jpg"));
    for photo in ["obama2.jpg", "obama3.jpg"] {
        let m = assess_match(&card_of(photo), &selfie);
        assert!(matches!(m, FaceMatch::Match(_)), "card of {photo}: {m:?}");
    }
}

#[test]
fn the_document_portrait_needs_upscaling_and_gets_it() {
    // The portrait's face is too small for the HOG detector at the card's own size.
    let models = fixture_models().lock().unwrap_or_else(|e| e.into_inner());
    let card = id_card(&models, &load("obama2.jpg"), true);
    let matrix = dlib_face_recognition::ImageMatrix::from_image(&card);
    assert!(models.detect(&matrix).is_empty());
    assert_eq!(models.faces(&card).len(), 1);
}

#[test]
fn different_people_do_not_match() {
    let selfie = jpeg(&load("obama.jpg"));
    for (document, what) in [
        (card_of("biden.jpg"), "card of biden.jpg"),
        (jpeg(&load("biden.jpg")), "biden.jpg"),
        (png(&load("astronaut.png")), "astronaut.png"),
    ] {
        let m = assess_match(&document, &selfie);
        assert!(matches!(m, FaceMatch::NoMatch(_)), "{what}: {m:?}");
        assert!(distance(m) > 0.7, "{what}: {m:?}");
    }
}

#[test]
fn no_face_on_either_image_is_said_plainly() {
    let selfie = jpeg(&load("obama.jpg"));
    let blank_card = {
        let models = fixture_models().lock().unwrap_or_else(|e| e.into_inner());
        png(&id_card(&models, &load("obama.jpg"), false))
    };
    assert_eq!(
        assess_match(&blank_card, &selfie),
        FaceMatch::NoFace(ImageRole::Document)
    );
    assert_eq!(
        assess_match(&card_of("obama2.jpg"), &jpeg(&no_face_image(900, 700))),
        FaceMatch::NoFace(ImageRole::Selfie)
    );
}

#[test]
fn two_faces_on_the_selfie_are_refused() {
    let two = jpeg(&side_by_side(&load("obama.jpg"), &load("biden.jpg")));
    assert_eq!(
        assess_match(&card_of("obama2.jpg"), &two),
        FaceMatch::SeveralFaces(ImageRole::Selfie)
    );
}

#[test]
fn garbage_is_an_unreadable_image_not_a_panic() {
    let selfie = jpeg(&load("obama.jpg"));
    let err = local().face_match(b"not an image", &selfie).unwrap_err();
    assert!(
        matches!(err, BiometricError::ImageUnreadable(ImageRole::Document)),
        "{err:?}"
    );
    let truncated = &selfie[..selfie.len() / 3];
    let err = local()
        .face_match(&card_of("obama2.jpg"), truncated)
        .unwrap_err();
    assert!(
        matches!(err, BiometricError::ImageUnreadable(ImageRole::Selfie)),
        "{err:?}"
    );
}

#[test]
fn the_yaw_estimate_has_the_expected_sign_on_simulated_turns() {
    let models = fixture_models().lock().unwrap_or_else(|e| e.into_inner());
    for name in ["obama.jpg", "astronaut.png"] {
        let selfie = load(name);
        let face = the_face(&models, &selfie);
        let threshold = config().liveness.yaw_threshold;
        for (turn, expected) in [
            (Turn::Left, HeadTurn::Left),
            (Turn::Centre, HeadTurn::Centre),
            (Turn::Right, HeadTurn::Right),
        ] {
            let frame = the_face(&models, &turned(&selfie, &face, turn));
            assert_eq!(
                pose(frame.yaw(), threshold),
                Some(expected),
                "{name} {turn:?}"
            );
        }
    }
}

// --- The whole check: submissions, challenges, outcomes and reasons.

/// The holder of every submission here, to whom the challenges are issued.
const HOLDER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

fn submission(
    document: Option<&[u8]>,
    selfie: Option<&[u8]>,
    frames: &[Vec<u8>],
    challenge: Option<&LivenessChallenge>,
) -> Submission {
    let mut doc = serde_json::json!({"type": "id_card"});
    if let Some(d) = document {
        doc["image"] = STANDARD.encode(d).into();
    }
    serde_json::from_value(serde_json::json!({
        "jurisdiction": "EU",
        "holder": HOLDER,
        "identity": {"givenName": "Anna", "familyName": "Eriksson", "birthDate": "1974-08-12",
                     "nationality": "SE"},
        "document": doc,
        "selfie": selfie.map(|s| STANDARD.encode(s)),
        "livenessFrames": frames.iter().map(|f| STANDARD.encode(f)).collect::<Vec<_>>(),
        "livenessChallenge": challenge.map(|c| c.id.to_string()),
    }))
    .unwrap()
}

fn local_check() -> BiometricCheck {
    let provider: Arc<dyn BiometricProvider> = local();
    BiometricCheck::new(
        Some(provider),
        Arc::new(config().challenge_registry()),
        config().liveness.max_frames,
    )
}

fn run(check: &BiometricCheck, s: &Submission) -> (CheckOutcome, Vec<String>) {
    let record = check.run(s, Utc::now());
    assert_eq!(record.check, AuditCheck::Biometric);
    (record.outcome, record.wire_reasons())
}

struct Case {
    check: BiometricCheck,
    challenge: LivenessChallenge,
    card: Vec<u8>,
    selfie: RgbImage,
}

fn case() -> Case {
    let check = local_check();
    let challenge = check.challenges().issue(HOLDER, Utc::now()).unwrap();
    Case {
        check,
        challenge,
        card: card_of("obama2.jpg"),
        selfie: load("obama.jpg"),
    }
}

#[test]
fn a_good_liveness_sequence_passes() {
    let c = case();
    let frames = frames(&c.selfie, &c.challenge.turns);
    let s = submission(
        Some(&c.card),
        Some(&jpeg(&c.selfie)),
        &frames,
        Some(&c.challenge),
    );
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Clear,
            vec!["face_match".to_owned(), "liveness_passed".to_owned()]
        )
    );
}

#[test]
fn a_liveness_sequence_in_the_wrong_order_fails() {
    let c = case();
    // Swapping the first two poses never follows the challenge: consecutive poses differ, and
    // whichever of the two is not centre then comes out of turn.
    let mut turns = c.challenge.turns.clone();
    turns.swap(0, 1);
    let frames = frames(&c.selfie, &turns);
    let s = submission(
        Some(&c.card),
        Some(&jpeg(&c.selfie)),
        &frames,
        Some(&c.challenge),
    );
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Consider,
            vec!["face_match".to_owned(), "liveness_wrong_order".to_owned()]
        )
    );
}

#[test]
fn frames_of_a_different_person_in_the_middle_are_rejected() {
    let c = case();
    let mut frames = frames(&c.selfie, &c.challenge.turns);
    let middle = frames.len() / 2;
    frames[middle] = jpeg(&load("biden.jpg"));
    let s = submission(
        Some(&c.card),
        Some(&jpeg(&c.selfie)),
        &frames,
        Some(&c.challenge),
    );
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Rejected,
            vec!["face_match".to_owned(), "liveness_face_mismatch".to_owned()]
        )
    );
}

#[test]
fn a_replayed_frame_set_is_rejected() {
    let c = case();
    let frames = frames(&c.selfie, &c.challenge.turns);
    let selfie = jpeg(&c.selfie);
    let s = submission(Some(&c.card), Some(&selfie), &frames, Some(&c.challenge));
    assert_eq!(run(&c.check, &s).0, CheckOutcome::Clear);
    // The same challenge id and frames again.
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Rejected,
            vec![
                "face_match".to_owned(),
                "liveness_challenge_replayed".to_owned()
            ]
        )
    );
    // The same frames as the answer to a fresh challenge.
    let fresh = c.check.challenges().issue(HOLDER, Utc::now()).unwrap();
    let s = submission(Some(&c.card), Some(&selfie), &frames, Some(&fresh));
    assert_eq!(run(&c.check, &s).1[1], "liveness_challenge_replayed");
}

#[test]
fn unknown_challenges_missing_parts_and_other_people() {
    let c = case();
    let selfie = jpeg(&c.selfie);
    let frames = frames(&c.selfie, &c.challenge.turns);
    let forged = LivenessChallenge {
        id: uuid::Uuid::new_v4(),
        ..c.challenge.clone()
    };
    let s = submission(Some(&c.card), Some(&selfie), &frames, Some(&forged));
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Consider,
            vec![
                "face_match".to_owned(),
                "liveness_challenge_unknown".to_owned()
            ]
        )
    );
    let s = submission(Some(&c.card), Some(&selfie), &[], None);
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::NotPerformed,
            vec!["face_match".to_owned(), "no_liveness_frames".to_owned()]
        )
    );
    let s = submission(Some(&c.card), None, &[], None);
    assert_eq!(
        run(&c.check, &s),
        (CheckOutcome::NotPerformed, vec!["no_selfie".to_owned()])
    );
    let s = submission(None, Some(&selfie), &[], None);
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::NotPerformed,
            vec!["no_document_image".to_owned()]
        )
    );
    let s = submission(Some(&card_of("biden.jpg")), Some(&selfie), &[], None);
    assert_eq!(run(&c.check, &s).0, CheckOutcome::Rejected);
    assert_eq!(run(&c.check, &s).1[0], "face_no_match");
    let two = jpeg(&side_by_side(&load("obama.jpg"), &load("biden.jpg")));
    let s = submission(Some(&c.card), Some(&two), &[], None);
    assert_eq!(
        run(&c.check, &s),
        (
            CheckOutcome::Consider,
            vec![
                "several_faces_on_selfie".to_owned(),
                "no_liveness_frames".to_owned()
            ]
        )
    );
}

// --- Configuration: models missing, check disabled.

#[test]
fn missing_models_refuse_the_enabled_check_and_leave_the_disabled_one_not_performed() {
    let empty = tempfile::tempdir().unwrap();
    let enabled = BiometricConfig {
        models_dir: empty.path().to_owned(),
        ..config()
    };
    match BiometricCheck::from_config(&enabled) {
        Err(BiometricError::ModelMissing { path }) => {
            assert!(path.ends_with(LANDMARKS_MODEL), "{path:?}")
        }
        other => panic!("expected ModelMissing, got {other:?}"),
    }
    for disabled in [
        BiometricConfig {
            enabled: false,
            ..enabled.clone()
        },
        toml::from_str(&format!(
            "enabled = true\nprovider = \"none\"\nmodels_dir = {:?}",
            empty.path()
        ))
        .unwrap(),
    ] {
        let check = BiometricCheck::from_config(&disabled).unwrap();
        assert!(!check.is_performed());
        let s = submission(Some(b"x".as_slice()), Some(b"y".as_slice()), &[], None);
        assert_eq!(
            run(&check, &s),
            (
                CheckOutcome::NotPerformed,
                vec!["no_provider_configured".to_owned()]
            )
        );
    }
}

// --- The vendor adapter against a mock vendor.

#[derive(Clone, Default)]
struct Vendor {
    requests: Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>,
    reply: Arc<Mutex<(StatusCode, serde_json::Value)>>,
}

async fn spawn_vendor(vendor: Vendor) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/verify",
            axum::routing::post(
                |axum::extract::State(v): axum::extract::State<Vendor>,
                 headers: HeaderMap,
                 Json(body): Json<serde_json::Value>| async move {
                    v.requests.lock().unwrap().push((headers, body));
                    let (status, reply) = v.reply.lock().unwrap().clone();
                    (status, Json(reply))
                },
            ),
        )
        .with_state(vendor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1/verify")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_adapter_sends_the_images_and_maps_the_answer() {
    let vendor = Vendor::default();
    *vendor.reply.lock().unwrap() = (
        StatusCode::OK,
        serde_json::json!({"similarity": 0.95, "spoofing": "live", "extra": 1}),
    );
    let url = spawn_vendor(vendor.clone()).await;
    let config: BiometricConfig = toml::from_str(&format!(
        "enabled = true\nprovider = \"http\"\n[http]\nurl = {url:?}\napi_key = \"k-123\"\n\
         webhook_secret = \"whsec\""
    ))
    .unwrap();
    let check = Arc::new(BiometricCheck::from_config(&config).unwrap());
    let challenge = check.challenges().issue(HOLDER, Utc::now()).unwrap();
    let frames = vec![b"frame-1".to_vec(), b"frame-2".to_vec()];
    let s = submission(
        Some(b"document".as_slice()),
        Some(b"selfie".as_slice()),
        &frames,
        Some(&challenge),
    );

    // As the service calls it: off the async runtime.
    let run_blocking = |check: Arc<BiometricCheck>, s: Submission| {
        tokio::task::spawn_blocking(move || run(&check, &s))
    };
    assert_eq!(
        run_blocking(check.clone(), s.clone()).await.unwrap(),
        (
            CheckOutcome::Clear,
            vec!["face_match".to_owned(), "liveness_passed".to_owned()]
        )
    );
    {
        let requests = vendor.requests.lock().unwrap();
        let (headers, body) = &requests[0];
        assert_eq!(headers["authorization"], "Bearer k-123");
        assert_eq!(body["document"], STANDARD.encode(b"document"));
        assert_eq!(body["selfie"], STANDARD.encode(b"selfie"));
        assert_eq!(
            body["liveness"]["challenge"],
            serde_json::to_value(&challenge.turns).unwrap()
        );
        assert_eq!(body["liveness"]["frames"][1], STANDARD.encode(b"frame-2"));
    }

    // A spoof, without liveness frames: the face result says so.
    *vendor.reply.lock().unwrap() = (
        StatusCode::OK,
        serde_json::json!({"similarity": 0.95, "spoofing": "spoof"}),
    );
    let s = submission(
        Some(b"document".as_slice()),
        Some(b"selfie".as_slice()),
        &[],
        None,
    );
    assert_eq!(
        run_blocking(check.clone(), s.clone()).await.unwrap().1,
        ["spoof_detected", "no_liveness_frames"]
    );
    // Low similarity: different people.
    *vendor.reply.lock().unwrap() = (
        StatusCode::OK,
        serde_json::json!({"similarity": 0.2, "spoofing": "live"}),
    );
    assert_eq!(
        run_blocking(check.clone(), s.clone()).await.unwrap().0,
        CheckOutcome::Rejected
    );
    // A vendor error or a malformed answer: review, never a pass.
    for (status, reply) in [
        (StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({})),
        (
            StatusCode::OK,
            serde_json::json!({"similarity": 3.0, "spoofing": "live"}),
        ),
        (
            StatusCode::OK,
            serde_json::json!({"similarity": 0.9, "spoofing": "maybe"}),
        ),
    ] {
        *vendor.reply.lock().unwrap() = (status, reply);
        assert_eq!(
            run_blocking(check.clone(), s.clone()).await.unwrap(),
            (
                CheckOutcome::Consider,
                vec!["biometric_provider_failed".to_owned()]
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_failure_does_not_burn_the_challenge() {
    let vendor = Vendor::default();
    *vendor.reply.lock().unwrap() = (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({}));
    let url = spawn_vendor(vendor.clone()).await;
    let config: BiometricConfig = toml::from_str(&format!(
        "enabled = true\nprovider = \"http\"\n[http]\nurl = {url:?}\napi_key = \"k\"\n\
         webhook_secret = \"w\""
    ))
    .unwrap();
    let check = Arc::new(BiometricCheck::from_config(&config).unwrap());
    let challenge = check.challenges().issue(HOLDER, Utc::now()).unwrap();
    let frames = vec![b"frame".to_vec()];
    let s = submission(
        Some(b"document".as_slice()),
        Some(b"selfie".as_slice()),
        &frames,
        Some(&challenge),
    );
    let (c, s2) = (check.clone(), s.clone());
    let first = tokio::task::spawn_blocking(move || run(&c, &s2))
        .await
        .unwrap();
    assert_eq!(first.1, ["biometric_provider_failed"]);
    *vendor.reply.lock().unwrap() = (
        StatusCode::OK,
        serde_json::json!({"similarity": 0.95, "spoofing": "live"}),
    );
    let (c, s2) = (check.clone(), s.clone());
    let retry = tokio::task::spawn_blocking(move || run(&c, &s2))
        .await
        .unwrap();
    assert_eq!(retry.0, CheckOutcome::Clear, "{retry:?}");
    let again = tokio::task::spawn_blocking(move || run(&check, &s))
        .await
        .unwrap();
    assert_eq!(again.1[1], "liveness_challenge_replayed");
}

#[test]
fn the_registry_from_the_configuration_issues_the_configured_turns() {
    let registry: ChallengeRegistry = BiometricConfig {
        liveness: toml::from_str("turns = 4").unwrap(),
        ..config()
    }
    .challenge_registry();
    let c = registry.issue(HOLDER, Utc::now()).unwrap();
    assert_eq!(c.turns.len(), 4);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["id"], c.id.to_string());
    assert!(json["turns"][0].is_string());
    assert!(json.get("expiresAt").is_some());
}
