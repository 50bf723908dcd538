//! Jurisdiction policies, country risk, association and compliance reports against the real
//! `kyc-issuer serve`: what each jurisdiction's rules do to an application, end to end.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kyc_core::DidKey;
use serde_json::{json, Value};
use spawned_issuer::{
    check, expect_problem, refused_start, staff_get, start, submission, submit, COMPLIANCE_TOKEN,
    REVIEWER_TOKEN,
};

/// A submission of `holder` with `path = value` set (JSON pointer; the parent must exist).
/// Without a document number: the association index would link every such submission (the
/// association test adds it back).
fn with(holder: &DidKey, changes: &[(&str, Value)]) -> Value {
    let mut body = submission(holder);
    body["identity"]
        .as_object_mut()
        .unwrap()
        .remove("documentNumber");
    for (path, value) in changes {
        let (parent, key) = path.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap()[key] = value.clone();
    }
    body
}

fn reasons(value: &Value) -> Vec<String> {
    value["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jurisdiction_rules_country_risk_association_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();

    // An unknown jurisdiction: 422, naming the known ones.
    let (_, holder) = DidKey::generate();
    let response = client
        .post(format!("{base}/v1/applications"))
        .json(&with(&holder, &[("/jurisdiction", json!("XX"))]))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, 422).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("CN, EU, JP, US, default"));

    // Japan: a My Number with a wrong check digit is an ineligible application, rejected
    // without a report.
    let (_, holder) = DidKey::generate();
    let jp = |national_id: &str| {
        with(
            &holder,
            &[
                ("/jurisdiction", json!("JP")),
                ("/identity/nationalId", json!(national_id)),
            ],
        )
    };
    let view = submit(&client, &base, &jp("123456789012")).await;
    assert_eq!(view["state"], "rejected", "{view}");
    assert_eq!(
        reasons(check(&view, "identity")),
        ["national_id_check_digit_invalid"]
    );
    let decision = reasons(&view["decision"]);
    assert!(decision.contains(&"ineligible".to_owned()), "{decision:?}");
    assert_ne!(view["decision"]["level"], "high");
    // The same with a valid number: the identity check is clear (screening is not configured,
    // so a person decides).
    let view = submit(&client, &base, &jp("1234 5678 9018")).await;
    assert_eq!(check(&view, "identity")["outcome"], "clear", "{view}");
    assert_eq!(view["state"], "in_review");

    // The default policy accepts passports only: an ID card is rejected by the document check,
    // which a person can remedy (review, not a report).
    let (_, holder) = DidKey::generate();
    let view = submit(
        &client,
        &base,
        &with(&holder, &[("/jurisdiction", json!("default"))]),
    )
    .await;
    let document = check(&view, "document");
    assert_eq!(document["outcome"], "rejected");
    assert_eq!(reasons(document), ["document_type_not_accepted"]);
    assert_eq!(view["state"], "in_review", "{view}");

    // China: mobile-number verification needs a provider; without one it is not performed and
    // the case goes to a person.
    let (_, holder) = DidKey::generate();
    let view = submit(
        &client,
        &base,
        &with(
            &holder,
            &[
                ("/jurisdiction", json!("CN")),
                ("/identity/birthDate", json!("1949-12-31")),
                ("/identity/nationalId", json!("11010519491231002X")),
                ("/identity/phone", json!("+8613800000000")),
                // No MRZ (an image only): the document check is not performed here.
                (
                    "/document",
                    json!({"type": "passport", "image": STANDARD.encode(
                        kyc_testkit::images::png(&kyc_testkit::images::no_face_image(60, 38))
                    )}),
                ),
            ],
        ),
    )
    .await;
    let provider = check(&view, "provider");
    assert_eq!(provider["outcome"], "not_performed");
    assert_eq!(reasons(provider), ["cn_mobile_verification_no_provider"]);
    assert_eq!(view["state"], "in_review", "{view}");

    // Association: a second holder with the first one's document number.
    let (_, first) = DidKey::generate();
    let view = submit(&client, &base, &submission(&first)).await;
    assert_eq!(check(&view, "risk")["outcome"], "clear", "{view}");
    // The same holder again is no signal.
    let view = submit(&client, &base, &submission(&first)).await;
    assert_eq!(check(&view, "risk")["outcome"], "clear", "{view}");
    let (_, second) = DidKey::generate();
    let view = submit(&client, &base, &submission(&second)).await;
    let risk = check(&view, "risk");
    assert_eq!(risk["outcome"], "consider");
    assert_eq!(reasons(risk), ["association_shared_document_number"]);
    assert!(reasons(&view["decision"])
        .contains(&"risk.association_shared_document_number+30".to_owned()));

    // FATF: a nationality on the call-for-action list is high risk: rejected and reported.
    assert_eq!(
        staff_get(&client, &base, "/v1/reports", COMPLIANCE_TOKEN).await,
        json!([])
    );
    let (_, holder) = DidKey::generate();
    let view = submit(
        &client,
        &base,
        &with(&holder, &[("/identity/nationality", json!("IR"))]),
    )
    .await;
    assert_eq!(view["state"], "rejected");
    assert_eq!(view["decision"]["level"], "high");
    assert_eq!(
        reasons(check(&view, "risk")),
        ["fatf_call_for_action_nationality"]
    );
    assert_eq!(check(&view, "risk")["data_version"], "fatf:2025-10-24");
    let reports = staff_get(&client, &base, "/v1/reports", COMPLIANCE_TOKEN).await;
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["application"], view["id"]);
    assert_eq!(reports[0]["subject"], view["subject"]);
    assert!(reports[0]["jurisdiction"]
        .as_str()
        .unwrap()
        .starts_with("policy:EU:"));
    let text = reports[0].to_string();
    for pii in ["Erika", "Mustermann", "1990-01-31", "C01X00T47"] {
        assert!(
            !text.contains(pii),
            "the report leaks personal data: {text}"
        );
    }
    // Only the compliance role reads them.
    expect_problem(
        client
            .get(format!("{base}/v1/reports"))
            .bearer_auth(REVIEWER_TOKEN)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    expect_problem(
        client
            .get(format!("{base}/v1/reports"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_policies_stop_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("eu.toml"),
        "code = \"EU\"\nname = \"EU\"\nversion = \"1\"\nmin_age = 18\nrequired_fields = [\"shoeSize\"]\n\
         accepted_documents = [\"passport\"]\nprovider_checks = []\nbiometric_not_performed = \"review\"\n\
         [thresholds]\nmedium_risk = 30\nhigh_risk = 70\nscreening_hit = 0.9\n\
         [credential]\nmax_validity_days = [30, 365, 365, 365]\n",
    )
    .unwrap();
    let stderr = refused_start(
        tmp.path(),
        &format!("[checks]\npolicies_dir = \"{}\"\n", policies.display()),
    );
    assert!(
        stderr.contains("eu.toml") && stderr.contains("required_fields"),
        "{stderr}"
    );
}
