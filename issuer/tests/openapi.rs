//! `GET /openapi.json` on the real `kyc-issuer serve`: the document served is the one generated,
//! an OpenAPI 3.1 document with every route the router serves; and what it says about
//! credentials is what the service does. An operation with a security requirement refuses a
//! request without credentials (401), a staff operation refuses a token of another role (403),
//! and every status seen is one the operation documents.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use kyc_core::DidKey;
use serde_json::Value;
use spawned_issuer::{
    expect_problem, holder_token, submission, ADMIN_TOKEN, AUDITOR_TOKEN, COMPLIANCE_TOKEN,
    PUBLIC_URL, REVIEWER_TOKEN,
};

/// The staff tokens of `spawned_issuer`'s configuration, by role.
const STAFF: [(&str, &str); 4] = [
    ("reviewer", REVIEWER_TOKEN),
    ("admin", ADMIN_TOKEN),
    ("compliance", COMPLIANCE_TOKEN),
    ("auditor", AUDITOR_TOKEN),
];

async fn fetch_document(client: &reqwest::Client, base: &str) -> Value {
    let response = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_generated_document_with_every_route() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = spawned_issuer::start(tmp.path(), "");
    let document = fetch_document(&reqwest::Client::new(), &issuer.base).await;

    let generated: Value =
        serde_json::from_str(&kyc_issuer::api::openapi::document(PUBLIC_URL).unwrap()).unwrap();
    assert_eq!(document, generated);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    let routes = kyc_issuer::api::served_routes();
    assert!(routes.len() >= 21);
    for (method, path) in routes {
        let method = method.as_str().to_lowercase();
        assert!(
            document["paths"][&path][&method].is_object(),
            "{method} {path} is served but not documented"
        );
    }
}

/// What an operation's security requirement names: `None` for a public operation, else the
/// scheme and its scopes (the staff role).
fn requirement(operation: &Value) -> Option<(String, Vec<String>)> {
    let security = operation.get("security")?.as_array().unwrap();
    assert_eq!(security.len(), 1, "one requirement per operation");
    let (scheme, scopes) = security[0].as_object().unwrap().iter().next().unwrap();
    Some((
        scheme.clone(),
        serde_json::from_value(scopes.clone()).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_requirements_are_what_the_service_enforces() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = spawned_issuer::start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let document = fetch_document(&client, &base).await;
    let (holder_key, _) = DidKey::generate();

    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        // Unknown ids: nothing is changed, every answer is a refusal or an empty result.
        let url = format!(
            "{base}{}",
            path.replace("{list}", "1")
                .replace("{id}", "00000000-0000-0000-0000-000000000000")
        );
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let documented = |status: reqwest::StatusCode| {
                assert!(
                    operation["responses"].get(status.as_str()).is_some(),
                    "{at} answered {status}, which it does not document"
                );
            };
            let send = |token: Option<String>| {
                let mut request = client.request(method.clone(), &url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                request.send()
            };

            let anonymous = send(None).await.unwrap();
            documented(anonymous.status());
            let Some((scheme, scopes)) = requirement(operation) else {
                assert!(
                    ![401, 403].contains(&anonymous.status().as_u16()),
                    "{at} is documented as public but answered {}",
                    anonymous.status()
                );
                checked += 1;
                continue;
            };
            assert_eq!(anonymous.status(), 401, "{at} without credentials");
            assert_eq!(anonymous.headers()["www-authenticate"], "Bearer", "{at}");

            match scheme.as_str() {
                "holderJwt" => {
                    assert!(scopes.is_empty(), "{at}");
                    let token = holder_token(&client, &base, &holder_key).await;
                    let answer = send(Some(token)).await.unwrap();
                    documented(answer.status());
                    assert!(
                        ![401, 403].contains(&answer.status().as_u16()),
                        "{at} refused a valid holder token: {}",
                        answer.status()
                    );
                }
                "staffToken" => {
                    assert_eq!(scopes.len(), 1, "{at} names one role");
                    let role = scopes[0].as_str();
                    let description = operation["description"].as_str().unwrap();
                    assert!(description.contains(role), "{at}: {description}");
                    for (other, token) in STAFF {
                        let answer = send(Some(token.to_owned())).await.unwrap();
                        documented(answer.status());
                        if other == role {
                            assert!(
                                ![401, 403].contains(&answer.status().as_u16()),
                                "{at} refused role {role}: {}",
                                answer.status()
                            );
                        } else {
                            assert_eq!(answer.status(), 403, "{at} accepted role {other}");
                            assert_eq!(
                                answer.headers()["www-authenticate"],
                                "Bearer error=\"insufficient_scope\"",
                                "{at}"
                            );
                        }
                    }
                    assert!(
                        STAFF.iter().any(|(r, _)| *r == role),
                        "{at} needs role {role}: add a staff member with it to spawned_issuer"
                    );
                }
                other => panic!("{at}: unknown security scheme {other}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, kyc_issuer::api::served_routes().len());
}

/// The 413 of the body limit is documented on every operation that reads a body, and is a
/// problem like every other error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_a_documented_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = spawned_issuer::start(tmp.path(), "");
    let client = reqwest::Client::new();
    let document = fetch_document(&client, &issuer.base).await;
    let submit = &document["paths"]["/v1/applications"]["post"];
    assert!(submit["responses"]["413"].is_object());

    let (_, holder) = DidKey::generate();
    let mut body = submission(&holder);
    body["selfie"] = "A".repeat(100_000).into();
    let response = client
        .post(format!("{}/v1/applications", issuer.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, 413).await;
    assert_eq!(
        problem["type"],
        "https://kyc.invalid/problems/payload-too-large"
    );
}
