//! Schemas the derives cannot give: the submission body, which is the JSON Schema
//! `schemas/application-v1.schema.json` ([`Submission`], and the [`DocumentUpload`] made of its
//! uploadable members); a check record in its wire form; the webhook deliveries' body; the
//! actions a reviewer may take; the OpenAPI document itself.

use std::borrow::Cow;

use kyc_core::audit_event::DecisionAction;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Ref, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::events::StateChange;
use crate::model::{CheckRecord, CheckRecordWire, Submission, APPLICATION_SCHEMA, UPLOADABLE};
use crate::webhooks::EVENT_TYPE;

/// The body of `POST /v1/applications/{id}/documents`: the uploadable members of a submission
/// (its schema is the application JSON Schema's).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct DocumentUpload(pub(crate) serde_json::Value);

/// A schema given as JSON Schema keywords, serialised exactly as they are.
///
/// utoipa's schema model cannot hold every keyword (`anyOf` beside `properties`, `$comment`),
/// and parsing into it gives a schema without `type` the type `object`. An [`ObjectBuilder`]
/// with no type and nothing set but its extensions serialises those, flattened; built from an
/// iterator, their names are kept as they are (the builder's `add` would prefix `x-`). The
/// tests compare the result with the file.
fn verbatim(keywords: Map<String, Value>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .extensions(Some(keywords.into_iter().collect()))
        .build()
        .into()
}

/// `schemas/application-v1.schema.json` as an OpenAPI schema: its `$defs` inlined where they are
/// referenced (an OpenAPI document resolves `#/…` against itself, not against the schema's
/// `$id`), without `$schema`, `$id` and `$defs`.
fn submission_keywords() -> Map<String, Value> {
    let Ok(Value::Object(mut file)) = serde_json::from_str::<Value>(APPLICATION_SCHEMA) else {
        // The schema is compiled at start (`Applications::new`), so this is never reached by a
        // running issuer; the tests compare the result with the file.
        return Map::new();
    };
    let defs = match file.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    file.remove("$schema");
    let id = file.remove("$id");
    let id = id.as_ref().and_then(Value::as_str).unwrap_or_default();
    file.insert(
        "$comment".into(),
        format!("schemas/application-v1.schema.json ($id {id}) with its $defs inlined").into(),
    );
    let mut schema = Value::Object(file);
    inline_defs(&mut schema, &defs);
    match schema {
        Value::Object(keywords) => keywords,
        _ => Map::new(),
    }
}

/// Replace each `{"$ref": "#/$defs/NAME"}` in `value` by the definition (a `$ref` with sibling
/// keywords keeps them and gets the definition as an `allOf` member, which is what `$ref` means
/// in JSON Schema 2020-12, §8.2.3.1).
fn inline_defs(value: &mut Value, defs: &Map<String, Value>) {
    match value {
        Value::Object(keywords) => {
            let target = keywords
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| defs.get(name))
                .cloned();
            if let Some(mut target) = target {
                inline_defs(&mut target, defs);
                keywords.remove("$ref");
                if keywords.is_empty() {
                    *value = target;
                    return;
                }
                match keywords
                    .entry("allOf")
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(all) => all.push(target),
                    other => *other = Value::Array(vec![other.take(), target]),
                }
            }
            for nested in keywords.values_mut() {
                inline_defs(nested, defs);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| inline_defs(v, defs)),
        _ => {}
    }
}

/// A type described by hand: `$name` is its name in the document, `$schema` its schema.
macro_rules! component {
    ($(#[$doc:meta])* $type:ty, $name:literal, $schema:expr) => {
        $(#[$doc])*
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

component!(
    /// The body of `POST /v1/applications`: the application JSON Schema.
    Submission,
    "Submission",
    verbatim(submission_keywords())
);

component!(
    /// The body of `POST /v1/applications/{id}/documents`: the uploadable members of a
    /// submission, with their schemas from the application JSON Schema.
    DocumentUpload,
    "DocumentUpload",
    verbatim(document_upload_keywords())
);

fn document_upload_keywords() -> Map<String, Value> {
    let submission = submission_keywords();
    let properties: Map<String, Value> = UPLOADABLE
        .iter()
        .filter_map(|name| {
            let schema = submission.get("properties")?.get(*name)?;
            Some(((*name).to_owned(), schema.clone()))
        })
        .collect();
    let mut keywords = Map::new();
    keywords.insert(
        "description".into(),
        "Documents and captures that replace the submitted ones; at least one, nothing else. \
         The whole submission must still match the application schema."
            .into(),
    );
    keywords.insert("type".into(), "object".into());
    keywords.insert("additionalProperties".into(), false.into());
    keywords.insert("minProperties".into(), 1.into());
    keywords.insert("properties".into(), properties.into());
    keywords
}

pub(super) fn webhook_payload() -> RefOr<Schema> {
    let kind = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([EVENT_TYPE])),
        )
        .required("type");
    let payload = AllOfBuilder::new()
        .description(Some(
            "POSTed to every webhook endpoint on each application state change, signed the \
             Standard Webhooks way: headers `webhook-id`, `webhook-timestamp` and \
             `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`",
        ))
        .item(kind)
        .item(Ref::from_schema_name(StateChange::name()))
        .build();
    RefOr::T(Schema::AllOf(payload))
}

/// The schema of `ReviewDecision::action`: the actions a reviewer may take (not `review`).
pub(crate) fn reviewer_action() -> RefOr<Schema> {
    string_enum(
        "approve (needs `tier`), reject, or request_documents",
        &[
            DecisionAction::Approve,
            DecisionAction::Reject,
            DecisionAction::RequestDocuments,
        ],
    )
}

/// A string enum whose values are `variants` as serde writes them.
fn string_enum<T: serde::Serialize>(description: &str, variants: &[T]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(
            variants.iter().filter_map(|v| serde_json::to_value(v).ok()),
        ))
        .build()
        .into()
}

component!(
    /// A check record as the API carries it: its wire form, with the matches among the reasons.
    CheckRecord,
    "CheckRecord",
    CheckRecordWire::schema()
);

/// The schema of the `GET /openapi.json` body.
#[derive(Debug)]
pub(crate) struct OpenApiDocument;

impl PartialSchema for OpenApiDocument {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)",
            ))
            .required("openapi")
            .required("info")
            .build()
            .into()
    }
}

impl ToSchema for OpenApiDocument {}
