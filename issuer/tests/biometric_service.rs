//! The biometric check inside the real `kyc-issuer serve`: the liveness challenge handed out,
//! a genuine application approved automatically at tier 2, a replayed frame set refused, and
//! the start refused when the face check is enabled without its model files.
#![allow(clippy::unwrap_used)]

mod biometric_support;
mod spawned_issuer;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use biometric_support::{id_card, jpeg, liveness_frames, load, png};
use kyc_core::DidKey;
use kyc_issuer::checks::biometric::local::FaceModels;
use kyc_issuer::checks::biometric::{default_models_dir, Detector, HeadTurn};
use serde_json::{json, Value};
use spawned_issuer::{
    check, expect_problem, holder_token, refused_start, start, submission, submit, REVIEWER_TOKEN,
};

/// A screening list that does not hit the fixture identity, so that screening is clear.
const LIST: &str = r#"{"id":"NK-2","schema":"Person","properties":{"name":["Ivan Petrovich Sidorov"],"birthDate":["1961-08-04"],"nationality":["ru"],"topics":["sanction"]}}"#;

async fn new_challenge(client: &reqwest::Client, base: &str) -> Value {
    let response = client
        .post(format!("{base}/v1/liveness-challenges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_application_reaches_tier_two_and_a_replay_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("list.ftm.json");
    std::fs::write(&list, format!("{LIST}\n")).unwrap();
    let config = format!(
        "[limits]\nbody_bytes = 16777216\n\
             [biometric]\nenabled = true\nprovider = \"local\"\nworkers = 1\n\
             [screening]\n[[screening.lists]]\nname = \"test\"\nformat = \"ftm\"\npath = \"{}\"\n",
        list.display()
    );
    let issuer = start(tmp.path(), &config);
    let base = issuer.base.clone();
    let client = reqwest::Client::new();

    // The images: a selfie, an ID card whose portrait comes from another photo of the same
    // person, and frames answering the challenge's turns.
    let models = FaceModels::open(&default_models_dir(), Detector::Hog).unwrap();
    let selfie = load("obama.jpg");
    let card = png(&id_card(&models, &load("obama2.jpg"), true));
    let challenge = new_challenge(&client, &base).await;
    let turns: Vec<HeadTurn> = serde_json::from_value(challenge["turns"].clone()).unwrap();
    assert!(turns.len() >= 2);
    let encode = |frames: Vec<Vec<u8>>| -> Vec<String> {
        frames.iter().map(|f| STANDARD.encode(f)).collect()
    };
    let frames = encode(liveness_frames(&models, &selfie, &turns, 1));

    let (_, holder) = DidKey::generate();
    let mut body = submission(&holder);
    body["document"]["image"] = json!(STANDARD.encode(&card));
    body["selfie"] = json!(STANDARD.encode(jpeg(&selfie)));
    body["livenessFrames"] = json!(frames);
    body["livenessChallenge"] = challenge["id"].clone();
    let view = submit(&client, &base, &body).await;
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "clear", "{view}");
    assert_eq!(
        biometric["reasons"],
        json!(["face_match", "liveness_passed"])
    );
    assert_eq!(check(&view, "screening")["outcome"], "clear");
    assert_eq!(view["state"], "approved", "{view}");
    assert_eq!(view["decision"]["tier"], 2);
    assert_eq!(view["decision"]["level"], "low");

    // The same frames under a fresh challenge, from another holder: a replay.
    let fresh = new_challenge(&client, &base).await;
    let (_, other) = DidKey::generate();
    let mut replay = body.clone();
    replay["holder"] = json!(other.as_str());
    replay["livenessChallenge"] = fresh["id"].clone();
    let view = submit(&client, &base, &replay).await;
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "rejected", "{view}");
    assert!(biometric["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("liveness_challenge_replayed")));
    assert_ne!(view["state"], "approved");

    // A genuine application sent to review (its document number is the first holder's: an
    // association signal); the reviewer asks for a document; after the upload the application
    // is checked again with the frames it sent, which is no replay.
    let fresh = new_challenge(&client, &base).await;
    let turns: Vec<HeadTurn> = serde_json::from_value(fresh["turns"].clone()).unwrap();
    let (key, third) = DidKey::generate();
    let mut second = body.clone();
    second["holder"] = json!(third.as_str());
    second["livenessFrames"] = json!(encode(liveness_frames(&models, &selfie, &turns, 2)));
    second["livenessChallenge"] = fresh["id"].clone();
    let view = submit(&client, &base, &second).await;
    assert_eq!(check(&view, "biometric")["outcome"], "clear", "{view}");
    assert_eq!(view["state"], "in_review", "{view}");
    let id = view["id"].as_str().unwrap();
    let asked: Value = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "request_documents"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["state"], "more_documents_requested");
    let token = holder_token(&client, &base, &key).await;
    let checked: Value = client
        .post(format!("{base}/v1/applications/{id}/documents"))
        .bearer_auth(&token)
        .json(&json!({"document": body["document"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        check(&checked, "biometric")["outcome"],
        "clear",
        "{checked}"
    );

    // After a restart (a fresh challenge registry), the first frames are still a replay.
    drop(issuer);
    let issuer = start(tmp.path(), &config);
    let base = issuer.base.clone();
    let fresh = new_challenge(&client, &base).await;
    let (_, fourth) = DidKey::generate();
    replay["holder"] = json!(fourth.as_str());
    replay["livenessChallenge"] = fresh["id"].clone();
    let view = submit(&client, &base, &replay).await;
    assert_eq!(check(&view, "biometric")["outcome"], "rejected", "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_biometrics_there_is_no_challenge_and_the_check_is_not_performed() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let client = reqwest::Client::new();
    expect_problem(
        client
            .post(format!("{}/v1/liveness-challenges", issuer.base))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let (_, holder) = DidKey::generate();
    let view = submit(&client, &issuer.base, &submission(&holder)).await;
    assert_eq!(check(&view, "biometric")["outcome"], "not_performed");
}

#[test]
fn enabled_without_models_the_issuer_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let stderr = refused_start(
        tmp.path(),
        &format!(
            "[biometric]\nenabled = true\nmodels_dir = \"{}\"\n",
            tmp.path().join("no-models").display()
        ),
    );
    assert!(stderr.contains("no-models"), "{stderr}");
}
