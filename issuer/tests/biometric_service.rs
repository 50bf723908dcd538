//! The biometric check inside the real `kyc-issuer serve`: the liveness challenge handed out,
//! a genuine application approved automatically at tier 2, a replayed frame set refused, and
//! the start refused when the face check is enabled without its model files.
#![allow(clippy::unwrap_used)]

mod biometric_support;
mod spawned_issuer;

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use biometric_support::{
    id_card, jpeg, liveness_frames, load, no_face_image, png, the_face, turned, Turn,
};
use ed25519_dalek::SigningKey;
use image::RgbImage;
use kyc_core::DidKey;
use kyc_issuer::checks::biometric::http::sign_vendor_webhook;
use kyc_issuer::checks::biometric::local::FaceModels;
use kyc_issuer::checks::biometric::{default_models_dir, Detector, HeadTurn};
use serde_json::{json, Value};
use spawned_issuer::{
    check, expect_problem, holder_token, post_json, refused_start, start, submission, submit,
    REVIEWER_TOKEN,
};

/// The vendor's webhook secret.
const SECRET: &str = "vendor-webhook-secret";

/// A screening list that does not hit the fixture identity, so that screening is clear.
const LIST: &str = r#"{"id":"NK-2","schema":"Person","properties":{"name":["Ivan Petrovich Sidorov"],"birthDate":["1961-08-04"],"nationality":["ru"],"topics":["sanction"]}}"#;

/// A challenge for the holder of `key` (asked with a holder token).
async fn new_challenge(client: &reqwest::Client, base: &str, key: &SigningKey) -> Value {
    let token = holder_token(client, base, key).await;
    let response = client
        .post(format!("{base}/v1/liveness-challenges"))
        .bearer_auth(token)
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
    let (first_key, holder) = DidKey::generate();
    let challenge = new_challenge(&client, &base, &first_key).await;
    let turns: Vec<HeadTurn> = serde_json::from_value(challenge["turns"].clone()).unwrap();
    assert!(turns.len() >= 2);
    let encode = |frames: Vec<Vec<u8>>| -> Vec<String> {
        frames.iter().map(|f| STANDARD.encode(f)).collect()
    };
    let frames = encode(liveness_frames(&models, &selfie, &turns, 1));

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
    let (other_key, other) = DidKey::generate();
    let fresh = new_challenge(&client, &base, &other_key).await;
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

    // The same frames in another order (what a fresh challenge in another order would ask):
    // still a replay.
    let (fifth_key, fifth) = DidKey::generate();
    let fresh = new_challenge(&client, &base, &fifth_key).await;
    let mut reordered = replay.clone();
    reordered["holder"] = json!(fifth.as_str());
    reordered["livenessChallenge"] = fresh["id"].clone();
    let mut frames_reversed = frames.clone();
    frames_reversed.reverse();
    reordered["livenessFrames"] = json!(frames_reversed);
    let view = submit(&client, &base, &reordered).await;
    assert_eq!(check(&view, "biometric")["outcome"], "rejected", "{view}");

    // A genuine application sent to review (its document number is the first holder's: an
    // association signal); the reviewer asks for a document; after the upload the application
    // is checked again with the frames it sent, which is no replay. Its own captures: another
    // photo of the same person (the first photo at another size would be a replay: the frames
    // are compared by content, not bytes).
    let (key, third) = DidKey::generate();
    let fresh = new_challenge(&client, &base, &key).await;
    let turns: Vec<HeadTurn> = serde_json::from_value(fresh["turns"].clone()).unwrap();
    let mut second = body.clone();
    second["holder"] = json!(third.as_str());
    let other_selfie = load("obama2.jpg");
    second["selfie"] = json!(STANDARD.encode(jpeg(&other_selfie)));
    second["livenessFrames"] = json!(encode(posed_frames(&models, &other_selfie, &turns)));
    second["livenessChallenge"] = fresh["id"].clone();
    let view = submit(&client, &base, &second).await;
    assert_eq!(check(&view, "biometric")["outcome"], "clear", "{view}");
    assert_eq!(view["state"], "in_review", "{view}");
    let id = view["id"].as_str().unwrap();
    let request_documents = json!({"action": "request_documents"});
    let review = format!("/v1/review/{id}");
    let asked = post_json(&client, &base, &review, REVIEWER_TOKEN, &request_documents).await;
    assert_eq!(asked["state"], "more_documents_requested");
    let token = holder_token(&client, &base, &key).await;
    let upload = format!("/v1/applications/{id}/documents");
    let document = json!({"document": body["document"]});
    let checked = post_json(&client, &base, &upload, &token, &document).await;
    assert_eq!(
        check(&checked, "biometric")["outcome"],
        "clear",
        "{checked}"
    );

    // After a restart (a fresh challenge registry), the first frames are still a replay.
    drop(issuer);
    let issuer = start(tmp.path(), &config);
    let base = issuer.base.clone();
    let (fourth_key, fourth) = DidKey::generate();
    let fresh = new_challenge(&client, &base, &fourth_key).await;
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
    let (key, _) = DidKey::generate();
    let token = holder_token(&client, &issuer.base, &key).await;
    expect_problem(
        client
            .post(format!("{}/v1/liveness-challenges", issuer.base))
            .bearer_auth(token)
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

/// A vendor that answers every request `202 Accepted` and keeps the references it was sent;
/// its URL.
async fn spawn_deferring_vendor(references: Arc<Mutex<Vec<String>>>) -> String {
    let app = axum::Router::new().route(
        "/verify",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| async move {
            let reference = body["reference"].as_str().unwrap_or_default().to_owned();
            references.lock().unwrap().push(reference);
            axum::http::StatusCode::ACCEPTED
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/verify")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_result_delivered_later_by_signed_webhook_decides_the_application() {
    let references = Arc::new(Mutex::new(Vec::new()));
    let url = spawn_deferring_vendor(Arc::clone(&references)).await;
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("list.ftm.json");
    std::fs::write(&list, format!("{LIST}\n")).unwrap();
    let issuer = start(
        tmp.path(),
        &format!(
            "[biometric]\nenabled = true\nprovider = \"http\"\n\
             [biometric.http]\nurl = \"{url}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\
             [screening]\n[[screening.lists]]\nname = \"test\"\nformat = \"ftm\"\npath = \"{}\"\n",
            list.display()
        ),
    );
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (key, holder) = DidKey::generate();
    let challenge = new_challenge(&client, &base, &key).await;
    let mut body = submission(&holder);
    // Images (the vendor's answer is canned; the issuer takes only real JPEGs and PNGs).
    let image = |w, h| STANDARD.encode(jpeg(&no_face_image(w, h)));
    body["document"]["image"] = json!(STANDARD.encode(png(&no_face_image(60, 38))));
    body["selfie"] = json!(image(48, 64));
    body["livenessFrames"] = json!([image(40, 40), image(41, 41)]);
    body["livenessChallenge"] = challenge["id"].clone();
    let view = submit(&client, &base, &body).await;
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "consider", "{view}");
    assert_eq!(biometric["reasons"], json!(["biometric_pending"]));
    assert_eq!(view["state"], "in_review");
    let reference = references.lock().unwrap().pop().unwrap();

    let url = format!("{base}/v1/biometric/vendor-results");
    let result =
        json!({"reference": reference, "similarity": 0.97, "spoofing": "live"}).to_string();
    let now = chrono::Utc::now().timestamp();
    let post = |signature: String, body: String| {
        client
            .post(&url)
            .header("kyc-vendor-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Unsigned, wrongly signed, stale: refused, nothing changes.
    let forged = sign_vendor_webhook(b"not the secret", now, result.as_bytes());
    let stale = sign_vendor_webhook(SECRET.as_bytes(), now - 3600, result.as_bytes());
    for signature in [
        "garbage".to_owned(),
        format!("t={now},v1={forged}"),
        format!("t={},v1={stale}", now - 3600),
    ] {
        expect_problem(post(signature, result.clone()).await.unwrap(), 400).await;
    }
    // A body changed after signing does not verify either.
    let good = sign_vendor_webhook(SECRET.as_bytes(), now, result.as_bytes());
    let tampered = result.replace("0.97", "0.99");
    expect_problem(
        post(format!("t={now},v1={good}"), tampered).await.unwrap(),
        400,
    )
    .await;

    // The reviewer asks for a document; the upload starts a new round, with a new vendor
    // request. The first round's result, signed and in time, no longer decides anything.
    let id = view["id"].as_str().unwrap();
    let ask = json!({"action": "request_documents"});
    post_json(
        &client,
        &base,
        &format!("/v1/review/{id}"),
        REVIEWER_TOKEN,
        &ask,
    )
    .await;
    let token = holder_token(&client, &base, &key).await;
    let upload = json!({"document": body["document"]});
    let round_two = post_json(
        &client,
        &base,
        &format!("/v1/applications/{id}/documents"),
        &token,
        &upload,
    )
    .await;
    assert_eq!(
        check(&round_two, "biometric")["reasons"],
        json!(["biometric_pending"])
    );
    expect_problem(
        post(format!("t={now},v1={good}"), result.clone())
            .await
            .unwrap(),
        409,
    )
    .await;
    let reference = references.lock().unwrap().pop().unwrap();
    let result =
        json!({"reference": reference, "similarity": 0.97, "spoofing": "live"}).to_string();
    let good = sign_vendor_webhook(SECRET.as_bytes(), now, result.as_bytes());

    // Signed: the biometric check is clear, the application approved at tier 2.
    let response = post(format!("t={now},v1={good}"), result.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "clear", "{view}");
    assert_eq!(
        biometric["reasons"],
        json!(["face_match", "liveness_passed"])
    );
    assert_eq!(view["state"], "approved");
    assert_eq!(view["decision"]["tier"], 2);
    // Delivered twice: nothing waits for it any more.
    expect_problem(
        post(format!("t={now},v1={good}"), result).await.unwrap(),
        404,
    )
    .await;
    // The auditor's replay accepts the decision taken on the vendor's late result.
    drop(issuer);
    let (report, text) = spawned_issuer::replay_export(tmp.path());
    assert!(report.valid, "{text}");
}

/// A liveness challenge is asked for with a holder token and belongs to that holder: without
/// a token it is refused, a holder gets only a few at once (another holder is not affected),
/// and another holder's submission that names it finds it unknown (and leaves it open).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_liveness_challenge_is_its_holders_and_a_holder_has_few() {
    let references = Arc::new(Mutex::new(Vec::new()));
    let url = spawn_deferring_vendor(Arc::clone(&references)).await;
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        &format!(
            "[biometric]\nenabled = true\nprovider = \"http\"\n\
             [biometric.http]\nurl = \"{url}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\
             [biometric.liveness]\nmax_challenges_per_holder = 2\n"
        ),
    );
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let anonymous = client
        .post(format!("{base}/v1/liveness-challenges"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;

    let (key, holder) = DidKey::generate();
    let challenge = new_challenge(&client, &base, &key).await;
    new_challenge(&client, &base, &key).await;
    let token = holder_token(&client, &base, &key).await;
    let third = client
        .post(format!("{base}/v1/liveness-challenges"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(third, 429).await;
    assert_eq!(
        problem["type"],
        "https://kyc.invalid/problems/too-many-challenges-for-holder"
    );
    let (other_key, other) = DidKey::generate();
    new_challenge(&client, &base, &other_key).await;

    // Another holder's submission naming the first holder's challenge: unknown to it.
    let image = |w, h| STANDARD.encode(jpeg(&no_face_image(w, h)));
    let with_challenge = |holder: &DidKey, frame: u32| {
        let mut body = submission(holder);
        body["document"]["image"] = json!(STANDARD.encode(png(&no_face_image(60, 38))));
        body["selfie"] = json!(image(48, 64));
        body["livenessFrames"] = json!([image(40 + frame, 40), image(40, 40 + frame)]);
        body["livenessChallenge"] = challenge["id"].clone();
        body
    };
    let view = submit(&client, &base, &with_challenge(&other, 1)).await;
    let reasons = check(&view, "biometric")["reasons"].clone();
    assert!(
        reasons
            .as_array()
            .unwrap()
            .contains(&json!("liveness_challenge_unknown")),
        "{view}"
    );
    // Its own holder's submission answers it.
    let view = submit(&client, &base, &with_challenge(&holder, 2)).await;
    assert_eq!(
        check(&view, "biometric")["reasons"],
        json!(["biometric_pending"]),
        "{view}"
    );
}

/// A challenge asking for `wanted` poses among its turns (asked again, by a new holder each
/// time since a holder may hold only a few, until one does), and its holder.
async fn challenge_with(
    client: &reqwest::Client,
    base: &str,
    wanted: &[HeadTurn],
) -> (Value, DidKey) {
    for _ in 0..64 {
        let (key, holder) = DidKey::generate();
        let challenge = new_challenge(client, base, &key).await;
        let turns: Vec<HeadTurn> = serde_json::from_value(challenge["turns"].clone()).unwrap();
        if wanted.iter().all(|w| turns.contains(w)) {
            return (challenge, holder);
        }
    }
    panic!("no challenge with every pose in 64 tries");
}

fn decode(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).unwrap().into_rgb8()
}

fn jpeg_at(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

/// A JPEG with a comment segment (COM, 0xFFFE) after its start-of-image marker: the same
/// pixels, other metadata.
fn with_comment(jpeg: &[u8]) -> Vec<u8> {
    let text = b"edited by hand";
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE, 0, (text.len() + 2) as u8]);
    out.extend_from_slice(text);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn mirrored(pose: HeadTurn) -> HeadTurn {
    match pose {
        HeadTurn::Left => HeadTurn::Right,
        HeadTurn::Right => HeadTurn::Left,
        HeadTurn::Centre => HeadTurn::Centre,
    }
}

/// Issue 12, finding 5: an accepted frame set, retouched so that no byte sequence repeats
/// (re-encoded, cropped by a few pixels, brightness-shifted, metadata changed, one byte
/// appended, mirrored), and sent in the order a new challenge asks, under a new holder, is a
/// replay: the frames are compared by content. Another capture of the same person is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retouched_copies_of_an_accepted_frame_set_are_replays() {
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
    let models = FaceModels::open(&default_models_dir(), Detector::Hog).unwrap();
    let selfie = load("obama.jpg");
    let card = png(&id_card(&models, &load("obama2.jpg"), true));

    // The victim's genuine answer, to a challenge showing every pose.
    let all = [HeadTurn::Left, HeadTurn::Centre, HeadTurn::Right];
    let (challenge, holder) = challenge_with(&client, &base, &all).await;
    let turns: Vec<HeadTurn> = serde_json::from_value(challenge["turns"].clone()).unwrap();
    let frames = liveness_frames(&models, &selfie, &turns, 1);
    let by_pose = |pose: HeadTurn| -> Vec<u8> {
        frames[turns.iter().position(|t| *t == pose).unwrap()].clone()
    };
    let mut body = submission(&holder);
    body["document"]["image"] = json!(STANDARD.encode(&card));
    body["selfie"] = json!(STANDARD.encode(jpeg(&selfie)));
    body["livenessFrames"] = json!(frames
        .iter()
        .map(|f| STANDARD.encode(f))
        .collect::<Vec<_>>());
    body["livenessChallenge"] = challenge["id"].clone();
    let view = submit(&client, &base, &body).await;
    assert_eq!(check(&view, "biometric")["outcome"], "clear", "{view}");
    assert_eq!(view["state"], "approved", "{view}");

    type Retouch = fn(&[u8]) -> Vec<u8>;
    let retouches: [(&str, Retouch, bool); 6] = [
        (
            "re-encoded at quality 60",
            |f| jpeg_at(&decode(f), 60),
            false,
        ),
        (
            "cropped by 4 px",
            |f| {
                let i = decode(f);
                jpeg(&image::imageops::crop_imm(&i, 4, 4, i.width() - 8, i.height() - 8).to_image())
            },
            false,
        ),
        (
            "brightened by 25 levels",
            |f| {
                let mut i = decode(f);
                i.pixels_mut()
                    .for_each(|p| p.0.iter_mut().for_each(|c| *c = c.saturating_add(25)));
                jpeg(&i)
            },
            false,
        ),
        ("with a comment segment", with_comment, false),
        (
            "with one byte appended",
            |f| [f, &[0u8][..]].concat(),
            false,
        ),
        (
            "mirrored",
            |f| jpeg(&image::imageops::flip_horizontal(&decode(f))),
            true,
        ),
    ];
    for (what, retouch, mirror) in retouches {
        // The attacker answers a fresh challenge with the victim's frames, in its order.
        let (attacker_key, attacker) = DidKey::generate();
        let fresh = new_challenge(&client, &base, &attacker_key).await;
        let asked: Vec<HeadTurn> = serde_json::from_value(fresh["turns"].clone()).unwrap();
        let replayed: Vec<String> = asked
            .iter()
            .map(|pose| {
                let source = if mirror { mirrored(*pose) } else { *pose };
                STANDARD.encode(retouch(&by_pose(source)))
            })
            .collect();
        let mut replay = body.clone();
        replay["holder"] = json!(attacker.as_str());
        replay["livenessChallenge"] = fresh["id"].clone();
        replay["livenessFrames"] = json!(replayed);
        let view = submit(&client, &base, &replay).await;
        let biometric = check(&view, "biometric");
        assert_eq!(biometric["outcome"], "rejected", "{what}: {view}");
        assert!(
            biometric["reasons"]
                .as_array()
                .unwrap()
                .contains(&json!("liveness_challenge_replayed")),
            "{what}: {view}"
        );
        assert_ne!(view["state"], "approved", "{what}");
    }

    // The same person again, in a new session (another photo, obama2.jpg, whose head is
    // turned a little to start with), against a card made from the first photo: not a replay.
    let (later_key, later) = DidKey::generate();
    let fresh = new_challenge(&client, &base, &later_key).await;
    let asked: Vec<HeadTurn> = serde_json::from_value(fresh["turns"].clone()).unwrap();
    let again = load("obama2.jpg");
    let mut genuine = body.clone();
    genuine["holder"] = json!(later.as_str());
    genuine["document"]["image"] = json!(STANDARD.encode(png(&id_card(&models, &selfie, true))));
    genuine["selfie"] = json!(STANDARD.encode(jpeg(&again)));
    genuine["livenessChallenge"] = fresh["id"].clone();
    genuine["livenessFrames"] = json!(posed_frames(&models, &again, &asked)
        .iter()
        .map(|f| STANDARD.encode(f))
        .collect::<Vec<_>>());
    let view = submit(&client, &base, &genuine).await;
    let biometric = check(&view, "biometric");
    assert_eq!(biometric["outcome"], "clear", "{view}");
}

/// Frames of `selfie` showing `asked`, for a photo whose head is not quite frontal: each pose
/// is the selfie turned as often as it takes (up to three times either way) for the issuer's
/// yaw estimate (default threshold 0.12) to read it.
fn posed_frames(models: &FaceModels, selfie: &RgbImage, asked: &[HeadTurn]) -> Vec<Vec<u8>> {
    use kyc_issuer::checks::biometric::liveness::pose;
    asked
        .iter()
        .map(|wanted| {
            for (turn, times) in [(Turn::Centre, 0), (Turn::Left, 1), (Turn::Right, 1)]
                .into_iter()
                .chain([
                    (Turn::Left, 2),
                    (Turn::Right, 2),
                    (Turn::Left, 3),
                    (Turn::Right, 3),
                ])
            {
                let mut frame = selfie.clone();
                for _ in 0..times {
                    let face = the_face(models, &frame);
                    frame = turned(&frame, &face, turn);
                }
                let frame = decode(&jpeg(&frame));
                if pose(the_face(models, &frame).yaw(), 0.12) == Some(*wanted) {
                    return jpeg(&frame);
                }
            }
            panic!("no frame of the photo shows {wanted:?}");
        })
        .collect()
}
