//! The KYC credential's JSON-LD context and JSON Schema, embedded (their URLs are identifiers;
//! nothing is fetched). The interop tests register it with ssi's JSON-LD loader.

/// The JSON-LD context document served under [`crate::credential::KYC_CONTEXT`].
pub const KYC_CONTEXT_DOCUMENT: &str = include_str!("../../schemas/kyc-credential-v1.jsonld");
/// The JSON Schema identified by [`crate::credential::KYC_SCHEMA_ID`].
pub const KYC_CREDENTIAL_SCHEMA: &str = include_str!("../../schemas/kyc-credential-v1.schema.json");
