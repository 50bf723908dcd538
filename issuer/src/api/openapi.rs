//! The API's OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Generated from the code: each handler's `#[utoipa::path]` (method, path, parameters, request
//! body, every status it answers, who may call it) and the `ToSchema` derives of the request and
//! response types; the kyc-core types on the wire (`KycTier`, `AuditCheck`, …) bring theirs
//! with kyc-core's `openapi` feature, and what no derive can give is written by hand in
//! `schemas`. Built here: the webhook deliveries' body (`WebhookPayload`), which no handler
//! answers; the security schemes; the responses the layers add to every operation (408 from
//! the request timeout, 413 from the body limit, `WWW-Authenticate` on 401 and 403).
//!
//! # Routes and documentation agree
//!
//! The router records each route it serves (`Routes`). The tests compare that table, a
//! list of the expected routes with who may call each, and the document's operations: a route
//! added without documentation, or documented without being served, fails them; so does an
//! operation whose security requirement does not name the caller it accepts. The integration
//! test `tests/openapi.rs` checks the served document against the running service's behaviour.

use kyc_core::audit_event::{AuditCheck, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::KycTier;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{HeaderBuilder, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema};

use super::problem::Problem;
use super::responses::problem_response;
use super::routes::{
    applications, audit, biometric, credentials, holders, review, service, subjects, webhooks,
};
use super::schemas::{webhook_payload, DocumentUpload};
use crate::applications::{
    ApplicationView, CollectedBatch, CollectedCredential, ExportedApplication, ExportedCredential,
    SubjectExport,
};
use crate::auth::{MAX_CLOCK_SKEW_SECS, MAX_TOKEN_LIFETIME_SECS, NONCE_TTL_SECS};
use crate::events::StateChange;
use crate::model::{
    ApplicationState, CheckRecord, DecisionRecord, HeadTurn, LivenessChallenge, MatchDetail,
    ReportRecord, Revocation, Submission,
};
use crate::webhooks::{Endpoint, Registered};

/// The security scheme of holder tokens.
pub const HOLDER_JWT: &str = "holderJwt";

/// The security scheme of staff tokens; an operation's requirement names the role as its scope.
pub const STAFF_TOKEN: &str = "staffToken";

/// The API's OpenAPI document, without its server (see [`document`]).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "KYC issuer",
        version = env!("CARGO_PKG_VERSION"),
        description = "The KYC issuer: customers submit applications and collect reusable KYC \
            credentials (`vc+jwt` and `vc+sd-jwt`) bound to their did:key; reviewers work the \
            manual review queue; admins revoke credentials, manage webhooks and erase subjects; \
            anyone reads the status lists and the tamper-evident audit log.\n\n\
            Every error is an RFC 9457 problem (`application/problem+json`). Holders \
            authenticate with a single-use holder token over a nonce from `POST /v1/nonce` \
            (`holderJwt`); staff with a bearer token whose role each operation names \
            (`staffToken`).",
    ),
    paths(
        service::healthz,
        service::openapi_json,
        service::key_rotations,
        holders::nonce,
        holders::liveness_challenge,
        biometric::vendor_result,
        applications::submit,
        applications::application,
        applications::application_events,
        applications::collect,
        applications::upload_documents,
        review::review_queue,
        review::reports,
        review::review,
        credentials::revoke,
        credentials::status_list,
        webhooks::list_webhooks,
        webhooks::register_webhook,
        webhooks::delete_webhook,
        subjects::export_subject,
        subjects::erase_subject,
        audit::checkpoint,
        audit::entries,
        audit::inclusion,
        audit::consistency,
    ),
    components(schemas(
        Problem,
        service::Health,
        service::KeyRotations,
        holders::Nonce,
        Submission,
        DocumentUpload,
        ApplicationView,
        ApplicationState,
        CheckRecord,
        MatchDetail,
        DecisionRecord,
        ReportRecord,
        LivenessChallenge,
        HeadTurn,
        StateChange,
        CollectedCredential,
        CollectedBatch,
        applications::CollectRequest,
        applications::KeyProofs,
        review::ReviewRequest,
        credentials::RevokeRequest,
        SubjectExport,
        ExportedApplication,
        ExportedCredential,
        Revocation,
        webhooks::WebhookRequest,
        Registered,
        Endpoint,
        audit::InclusionProof,
        audit::ConsistencyProof,
        KycTier,
        AuditCheck,
        CheckOutcome,
        RiskLevel,
        DecisionAction,
    )),
    modifiers(&SecuritySchemes, &LayerResponses, &WebhookPayload),
    tags(
        (name = "service", description = "Health and this document"),
        (name = "holder tokens", description = "Nonces for holder tokens"),
        (name = "applications", description = "A customer's application, from submission to \
            the collected credential"),
        (name = "review", description = "The manual review queue"),
        (name = "credentials", description = "Revocation"),
        (name = "status lists", description = "Signed W3C Bitstring Status Lists"),
        (name = "webhooks", description = "Platforms' endpoints for application state changes"),
        (name = "subjects", description = "A subject's data: GDPR access and erasure"),
        (name = "audit", description = "The tamper-evident audit log: checkpoints, entries, \
            proofs (RFC 9162)"),
    ),
)]
pub struct ApiDoc;

/// The document as served: [`ApiDoc`] with `public_url` as its server, the URL holder tokens
/// name as their audience.
pub fn document(public_url: &str) -> Result<String, serde_json::Error> {
    let mut openapi = ApiDoc::openapi();
    openapi.servers = Some(vec![ServerBuilder::new()
        .url(public_url)
        .description(Some(
            "The issuer's public URL, the audience of holder tokens",
        ))
        .build()]);
    openapi.to_json()
}

/// The security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let holder = format!(
            "A holder token: a JWT (RFC 7519) as a compact JWS signed with EdDSA (Ed25519, \
             RFC 8037) by the holder's did:key. Header `{{\"alg\": \"EdDSA\", \"typ\": \"JWT\", \
             \"kid\": \"did:key:z…#z…\"}}`; claims `iss` (the did:key), `aud` (exactly the \
             issuer's public URL: this document's server), `nonce` (from `POST /v1/nonce`, \
             valid {NONCE_TTL_SECS} s), `iat` and `exp` (integers, `0 < exp - iat <= \
             {MAX_TOKEN_LIFETIME_SECS}` seconds, `iat` at most {MAX_CLOCK_SKEW_SECS} s ahead). \
             Single use: verifying a token consumes its nonce, so every call needs a fresh \
             nonce and token."
        );
        let staff = "An opaque staff token (at least 128 random bits; the configuration keeps \
             only its SHA-256). Roles are `reviewer`, `admin` and `auditor`, with no hierarchy: \
             each operation names the role it accepts, as the scope of its security requirement \
             and in its description. A valid token of another role is refused with 403.";
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            HOLDER_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(holder))
                    .build(),
            ),
        );
        components.add_security_scheme(
            STAFF_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(staff))
                    .build(),
            ),
        );
    }
}

/// What the router's layers and `auth_problem` add to every operation they cover (`api::router`):
/// 408 from the request timeout, 413 from the body limit on operations that read a body, and the
/// RFC 6750 challenge on 401 and 403.
struct LayerResponses;

impl Modify for LayerResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                add_layer_responses(operation);
            }
        }
    }
}

fn add_layer_responses(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses.insert(
        "408".into(),
        Response::new("The request took longer than the configured limit; no body").into(),
    );
    if operation.request_body.is_some() {
        responses.insert(
            "413".into(),
            problem_response("The body is larger than the configured limit").into(),
        );
    }
    for status in ["401", "403"] {
        if let Some(RefOr::T(response)) = responses.get_mut(status) {
            response.headers.insert(
                "WWW-Authenticate".into(),
                HeaderBuilder::new()
                    .schema(String::schema())
                    .description(Some(
                        "The RFC 6750 §3 challenge: `Bearer`, with `error=\"invalid_request\"`, \
                         `\"invalid_token\"` or `\"insufficient_scope\"`",
                    ))
                    .build(),
            );
        }
    }
}

/// Every operation of a path item.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The body of every webhook delivery (`crate::webhooks`): a [`StateChange`] with its type. No
/// handler answers it, so it is added to the components here.
struct WebhookPayload;

impl Modify for WebhookPayload {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("WebhookPayload".into(), webhook_payload());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use serde_json::json;

    use super::*;
    use crate::model::{APPLICATION_SCHEMA, UPLOADABLE};
    use serde_json::Value;

    /// Who may call a route.
    #[derive(Debug, Clone, Copy)]
    enum Caller {
        Anyone,
        Holder,
        Staff(&'static str),
    }
    use Caller::*;

    /// Every route the API serves, and who may call it. A new route goes here, in the router and,
    /// with its `#[utoipa::path]`, in [`ApiDoc`]: these tests fail until the three agree.
    const ROUTES: &[(&str, &str, Caller)] = &[
        ("GET", "/healthz", Anyone),
        ("GET", "/openapi.json", Anyone),
        ("GET", "/v1/key-rotations", Anyone),
        ("GET", "/v1/audit/checkpoint", Anyone),
        ("GET", "/v1/audit/entries", Staff("auditor")),
        ("GET", "/v1/audit/proof/inclusion", Staff("auditor")),
        ("GET", "/v1/audit/proof/consistency", Staff("auditor")),
        ("POST", "/v1/nonce", Anyone),
        ("POST", "/v1/liveness-challenges", Holder),
        ("POST", "/v1/biometric/vendor-results", Anyone),
        ("POST", "/v1/applications", Anyone),
        ("GET", "/v1/applications/{id}", Holder),
        ("GET", "/v1/applications/{id}/events", Holder),
        ("POST", "/v1/applications/{id}/credential", Holder),
        ("POST", "/v1/applications/{id}/documents", Holder),
        ("GET", "/v1/review/queue", Staff("reviewer")),
        ("GET", "/v1/reports", Staff("compliance")),
        ("POST", "/v1/review/{id}", Staff("reviewer")),
        ("POST", "/v1/credentials/{id}/revoke", Staff("admin")),
        ("GET", "/v1/status-lists/{list}", Anyone),
        ("GET", "/v1/webhooks", Staff("admin")),
        ("POST", "/v1/webhooks", Staff("admin")),
        ("DELETE", "/v1/webhooks/{id}", Staff("admin")),
        ("DELETE", "/v1/subjects/{id}", Staff("admin")),
        ("GET", "/v1/subjects/{id}/export", Holder),
    ];

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn doc() -> Value {
        serde_json::from_str(&document("https://kyc.example").unwrap()).unwrap()
    }

    fn listed() -> BTreeSet<(String, String)> {
        ROUTES
            .iter()
            .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
            .collect()
    }

    /// `(METHOD, path)` of every operation of `doc`.
    fn operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                if item.get(method).is_some() {
                    found.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        found
    }

    fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        op
    }

    #[test]
    fn is_an_openapi_3_1_document() {
        let doc = doc();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(!doc["info"]["title"].as_str().unwrap().is_empty());
        assert!(!doc["info"]["description"].as_str().unwrap().is_empty());
        assert_eq!(
            doc["servers"],
            json!([{
                "url": "https://kyc.example",
                "description": "The issuer's public URL, the audience of holder tokens",
            }])
        );
    }

    #[test]
    fn the_router_serves_the_listed_routes() {
        let served = crate::api::served_routes();
        let set: BTreeSet<_> = served
            .iter()
            .map(|(method, path)| (method.to_string(), path.clone()))
            .collect();
        assert_eq!(set.len(), served.len(), "a route is added twice");
        assert_eq!(set, listed());
    }

    #[test]
    fn the_document_describes_the_served_routes() {
        let served: BTreeSet<_> = crate::api::served_routes()
            .into_iter()
            .map(|(method, path)| (method.to_string(), path))
            .collect();
        let documented = operations(&doc());
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "served, not documented: {undocumented:?}"
        );
        assert!(
            not_served.is_empty(),
            "documented, not served: {not_served:?}"
        );
    }

    #[test]
    fn operations_require_the_credentials_of_their_callers() {
        let doc = doc();
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes[HOLDER_JWT]["type"], "http");
        assert_eq!(schemes[HOLDER_JWT]["scheme"], "bearer");
        assert_eq!(schemes[HOLDER_JWT]["bearerFormat"], "JWT");
        let holder = schemes[HOLDER_JWT]["description"].as_str().unwrap();
        for needed in ["EdDSA", "POST /v1/nonce", "`aud`", "300", "Single use"] {
            assert!(holder.contains(needed), "holderJwt does not say {needed}");
        }
        assert_eq!(schemes[STAFF_TOKEN]["type"], "http");
        assert_eq!(schemes[STAFF_TOKEN]["scheme"], "bearer");
        assert!(
            doc.get("security").is_none(),
            "no document-wide requirement"
        );

        for (method, path, caller) in ROUTES {
            let op = operation(&doc, method, path);
            let description = op["description"].as_str().unwrap_or_default();
            let responses = &op["responses"];
            match caller {
                Anyone => {
                    assert!(op.get("security").is_none(), "{method} {path} is public");
                    assert!(responses.get("401").is_none(), "{method} {path}: 401");
                }
                Holder => {
                    assert_eq!(op["security"], json!([{HOLDER_JWT: []}]), "{method} {path}");
                    assert!(description.contains("holder token"), "{method} {path}");
                    assert!(responses.get("401").is_some(), "{method} {path}: no 401");
                }
                Staff(role) => {
                    assert_eq!(
                        op["security"],
                        json!([{STAFF_TOKEN: [role]}]),
                        "{method} {path}"
                    );
                    assert!(
                        description.contains(&format!("role `{role}`")),
                        "{method} {path}: the description does not name the role"
                    );
                    assert!(responses.get("401").is_some(), "{method} {path}: no 401");
                    assert!(responses.get("403").is_some(), "{method} {path}: no 403");
                }
            }
            for status in ["401", "403"] {
                if let Some(response) = responses.get(status) {
                    assert!(
                        response["headers"].get("WWW-Authenticate").is_some(),
                        "{method} {path} {status}: no challenge"
                    );
                }
            }
        }
    }

    #[test]
    fn every_operation_is_complete_and_its_errors_are_problems() {
        let doc = doc();
        let problem = json!({"$ref": "#/components/schemas/Problem"});
        for (method, path) in operations(&doc) {
            let op = operation(&doc, &method, &path);
            let at = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{at}: operationId");
            assert!(op["summary"].is_string(), "{at}: summary");
            assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{at}: tag");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{at}: no 2xx");
            assert!(responses.contains_key("408"), "{at}: no 408");
            if let Some(body) = op.get("requestBody") {
                assert_eq!(body["required"], true, "{at}");
                let types: Vec<_> = body["content"].as_object().unwrap().keys().collect();
                assert_eq!(types, ["application/json"], "{at}");
                assert!(responses.contains_key("413"), "{at}: no 413");
                assert!(responses.contains_key("415"), "{at}: no 415");
                assert!(responses.contains_key("400"), "{at}: no 400");
            }
            for (status, response) in responses {
                assert!(response["description"].is_string(), "{at} {status}");
                let code: u16 = status.parse().unwrap();
                if code >= 400 && code != 408 {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(content.len(), 1, "{at} {status}");
                    assert_eq!(
                        content["application/problem+json"]["schema"], problem,
                        "{at} {status}"
                    );
                }
            }
        }
        let schema = &doc["components"]["schemas"]["Problem"];
        assert_eq!(
            schema["required"],
            json!(["type", "title", "status", "detail"])
        );
        let example = serde_json::to_value(Problem::not_found("not found")).unwrap();
        assert_eq!(schema["example"], example);
    }

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    found.push(r);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn references_resolve_within_the_document() {
        let doc = doc();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 20);
        for r in found {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            assert!(pointer.starts_with("/components/"), "{r}");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    /// A submission the application schema accepts (the one `tests/spawned_issuer` sends).
    fn submission() -> Value {
        json!({
            "jurisdiction": "EU",
            "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "identity": {
                "givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
                "nationality": "DE", "residence": {"country": "DE", "city": "Köln"},
                "documentNumber": "C01X00T47"
            },
            "document": {"type": "id_card", "mrz": "IDD<<C01X00T478<<<<<<<<<<<<<<<"}
        })
    }

    /// `base` with the JSON pointer `at` set to `value` (or removed, for `None`).
    fn with(base: &Value, at: &str, value: Option<Value>) -> Value {
        let mut changed = base.clone();
        let (parent, name) = at.rsplit_once('/').unwrap();
        let parent = changed
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap();
        match value {
            Some(v) => parent.insert(name.to_owned(), v),
            None => parent.remove(name),
        };
        changed
    }

    #[test]
    fn the_submission_body_is_the_application_schema() {
        let doc = doc();
        let body = &operation(&doc, "POST", "/v1/applications")["requestBody"];
        assert_eq!(
            body["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/Submission"})
        );
        let component = &doc["components"]["schemas"]["Submission"];
        assert!(component["$comment"]
            .as_str()
            .unwrap()
            .starts_with("schemas/application-v1.schema.json ($id https://"));
        let file: Value = serde_json::from_str(APPLICATION_SCHEMA).unwrap();
        assert_eq!(component["description"], file["description"]);
        assert_eq!(
            component["properties"]["identity"]["properties"]["givenName"],
            file["$defs"]["text"]
        );

        // The component and the file accept and refuse the same submissions.
        let from_file = jsonschema::validator_for(&file).unwrap();
        let from_document = jsonschema::validator_for(component).unwrap();
        let valid = submission();
        let cases = [
            (valid.clone(), true),
            (with(&valid, "/selfie", Some(json!("aGVsbG8="))), true),
            (with(&valid, "/document", None), false),
            (with(&valid, "/document/mrz", None), false),
            (with(&valid, "/identity/givenName", Some(json!(""))), false),
            (
                with(&valid, "/identity/nationality", Some(json!("de"))),
                false,
            ),
            (
                with(&valid, "/identity/residence/country", Some(json!("DEU"))),
                false,
            ),
            (with(&valid, "/selfie", Some(json!("not base64!"))), false),
            (
                with(&valid, "/livenessFrames", Some(json!(vec!["aGVsbG8="; 17]))),
                false,
            ),
            (with(&valid, "/unknown", Some(json!(1))), false),
        ];
        for (instance, expected) in cases {
            assert_eq!(from_file.is_valid(&instance), expected, "{instance}");
            assert_eq!(from_document.is_valid(&instance), expected, "{instance}");
        }
    }

    #[test]
    fn the_document_upload_body_takes_the_uploadable_members_only() {
        let doc = doc();
        let body = &operation(&doc, "POST", "/v1/applications/{id}/documents")["requestBody"];
        assert_eq!(
            body["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/DocumentUpload"})
        );
        let component = &doc["components"]["schemas"]["DocumentUpload"];
        let names: BTreeSet<&str> = component["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, BTreeSet::from(UPLOADABLE));
        let validator = jsonschema::validator_for(component).unwrap();
        assert!(validator.is_valid(&json!({"selfie": "aGVsbG8="})));
        assert!(validator.is_valid(&json!({"document": {"type": "passport", "image": "aGVsbG8="}})));
        assert!(!validator.is_valid(&json!({})));
        assert!(!validator.is_valid(&json!({"document": {"type": "passport"}})));
        assert!(!validator.is_valid(&json!({"holder": "did:key:z6Mk"})));
    }

    // Every variant of the kyc-core enums. The matches are exhaustive on purpose: a variant
    // added to kyc-core stops the build here until it is listed.

    fn audit_checks() -> [AuditCheck; 7] {
        use AuditCheck::*;
        let _listed = |c: AuditCheck| match c {
            Identity | Document | Biometric | Screening | Risk | Address | Provider => (),
        };
        [
            Identity, Document, Biometric, Screening, Risk, Address, Provider,
        ]
    }

    fn check_outcomes() -> [CheckOutcome; 4] {
        use CheckOutcome::*;
        let _listed = |o: CheckOutcome| match o {
            Clear | Consider | Rejected | NotPerformed => (),
        };
        [Clear, Consider, Rejected, NotPerformed]
    }

    fn risk_levels() -> [RiskLevel; 3] {
        use RiskLevel::*;
        let _listed = |l: RiskLevel| match l {
            Low | Medium | High => (),
        };
        [Low, Medium, High]
    }

    fn decision_actions() -> [DecisionAction; 4] {
        use DecisionAction::*;
        let _listed = |a: DecisionAction| match a {
            Approve | Review | RequestDocuments | Reject => (),
        };
        [Approve, Review, RequestDocuments, Reject]
    }

    #[test]
    fn core_types_are_described_by_their_wire_values() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let values = |name: &str| schemas[name]["enum"].as_array().unwrap().clone();
        for v in values("KycTier") {
            serde_json::from_value::<KycTier>(v).unwrap();
        }
        assert_eq!(values("KycTier").len(), KycTier::ALL.len());
        for v in values("AuditCheck") {
            serde_json::from_value::<AuditCheck>(v).unwrap();
        }
        for v in values("CheckOutcome") {
            serde_json::from_value::<CheckOutcome>(v).unwrap();
        }
        for v in values("RiskLevel") {
            serde_json::from_value::<RiskLevel>(v).unwrap();
        }
        for v in values("DecisionAction") {
            serde_json::from_value::<DecisionAction>(v).unwrap();
        }
        assert_eq!(values("AuditCheck").len(), audit_checks().len());
        assert_eq!(values("CheckOutcome").len(), check_outcomes().len());
        assert_eq!(values("RiskLevel").len(), risk_levels().len());
        assert_eq!(values("DecisionAction").len(), decision_actions().len());
        assert_eq!(
            schemas["ReviewDecision"]["properties"]["action"]["enum"],
            json!(["approve", "reject", "request_documents"])
        );
        assert_eq!(
            schemas["CollectedCredential"]["properties"]["tier"]["$ref"],
            "#/components/schemas/KycTier"
        );
    }

    #[test]
    fn always_present_members_are_required_and_nullable_ones_say_so() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let required = |name: &str| -> BTreeSet<String> {
            serde_json::from_value(schemas[name]["required"].clone()).unwrap()
        };
        let view = serde_json::to_value(crate::applications::ApplicationView {
            id: "a".into(),
            subject: "s".into(),
            state: ApplicationState::InReview,
            jurisdiction: "EU".into(),
            created_at: chrono::Utc::now(),
            checks: Vec::new(),
            decision: None,
            credential: None,
        })
        .unwrap();
        let members: BTreeSet<String> = view.as_object().unwrap().keys().cloned().collect();
        assert_eq!(required("ApplicationView"), members);
        assert_eq!(
            schemas["ApplicationView"]["properties"]["credential"]["type"],
            json!(["string", "null"])
        );
        assert!(required("DecisionRecord").contains("tier"));
        assert!(required("ExportedCredential").contains("revoked"));
        assert!(!required("ReviewDecision").contains("tier"));
    }

    /// The document against the OpenAPI 3.1 schema, with the Python `openapi-spec-validator`
    /// (`pip install openapi-spec-validator==0.9.0`); skipped, with a message, without it.
    #[test]
    fn openapi_spec_validator_accepts_the_document() {
        const PIP: &str = "pip install openapi-spec-validator==0.9.0";
        let importable = Command::new("python3")
            .args(["-c", "import openapi_spec_validator"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !importable {
            eprintln!(
                "openapi_spec_validator_accepts_the_document: SKIPPED: \
                 `python3 -c \"import openapi_spec_validator\"` fails; run `{PIP}`"
            );
            return;
        }
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import json, sys\n\
                 from openapi_spec_validator import validate\n\
                 validate(json.load(sys.stdin))",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(document("https://kyc.example").unwrap().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "openapi-spec-validator refuses the document:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
