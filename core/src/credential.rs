//! The KYC credential (VC Data Model 2.0) and its `vc+jwt` securing (VC-JOSE-COSE §3.1.1).
//!
//! The shape is fixed by the design document; the JSON Schema and JSON-LD context in `schemas/`
//! describe the same thing for other implementations. Verifiers ignore properties they do not
//! know and never require `evidence`.

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::did::{DidKey, Resolver};
use crate::error::{CryptoError, MalformedError, PolicyError, VerifyError};
use crate::jws::{self, CompactJws};

/// The VC Data Model 2.0 base context.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The KYC credential's own context (embedded, never fetched).
pub const KYC_CONTEXT: &str = "https://w3id.org/kyc-credential/v1";
/// The KYC credential's JSON Schema identifier (embedded, never fetched).
pub const KYC_SCHEMA_ID: &str = "https://w3id.org/kyc-credential/v1/schema.json";
/// `typ` of a credential secured as a JWT (VC-JOSE-COSE §3.1.1).
pub const TYP_VC_JWT: &str = "vc+jwt";
/// An older `typ` some libraries still emit for the same thing; accepted on input only.
pub const TYP_VC_LD_JWT: &str = "vc-ld+jwt";

/// KYC tier: what the issuer verified before signing (see `docs/design.md`, "KYC tiers and
/// risk").
///
/// On the wire an integer 0–3; anything else (4, -1, 2.0, "2") is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KycTier {
    /// Nothing verified.
    Unverified = 0,
    /// Identity data complete, ID numbers valid, screening clear (NIST IAL1, eIDAS low).
    Basic = 1,
    /// Tier 1 plus document, face match and liveness, low risk (NIST IAL2, eIDAS substantial).
    Verified = 2,
    /// Tier 2 plus proof of address and a reviewer's approval (eIDAS high, remote equivalent).
    Enhanced = 3,
}

impl KycTier {
    /// All tiers, lowest first.
    pub const ALL: [KycTier; 4] = [
        Self::Unverified,
        Self::Basic,
        Self::Verified,
        Self::Enhanced,
    ];

    /// The tier's number on the wire.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The eIDAS-style assurance level a tier corresponds to; none for tier 0.
    pub fn assurance_level(self) -> Option<AssuranceLevel> {
        match self {
            Self::Unverified => None,
            Self::Basic => Some(AssuranceLevel::Low),
            Self::Verified => Some(AssuranceLevel::Substantial),
            Self::Enhanced => Some(AssuranceLevel::High),
        }
    }
}

impl TryFrom<u64> for KycTier {
    type Error = MalformedError;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        Self::ALL
            .get(usize::try_from(n).unwrap_or(usize::MAX))
            .copied()
            .ok_or_else(|| MalformedError::Structure("kycTier is not one of 0–3".into()))
    }
}

/// An integer on the wire, so described by hand (a derive would make it a string enum).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for KycTier {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .description(Some(
                "KYC tier: 0 unverified (nothing verified), 1 basic (identity data complete, ID \
                 numbers valid, screening clear), 2 verified (tier 1 plus document, face match \
                 and liveness, low risk), 3 enhanced (tier 2 plus proof of address and a \
                 reviewer's approval)",
            ))
            .enum_values(Some(Self::ALL.map(Self::as_u8)))
            .build()
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for KycTier {}

impl std::fmt::Display for KycTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

impl Serialize for KycTier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.as_u8())
    }
}

impl<'de> Deserialize<'de> for KycTier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // serde_json only calls visit_u64 for non-negative integer literals, so 2.0 and "2" fail.
        let n = u64::deserialize(d)?;
        Self::try_from(n).map_err(serde::de::Error::custom)
    }
}

/// Assurance level of the identity proofing (eIDAS terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssuranceLevel {
    /// eIDAS low.
    Low,
    /// eIDAS substantial.
    Substantial,
    /// eIDAS high.
    High,
}

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parse `"DE"`; lower case, three letters and digits are refused.
    pub fn parse(s: &str) -> Result<Self, MalformedError> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(MalformedError::Structure(
                "country must be an ISO 3166-1 alpha-2 code".into(),
            )),
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Outcome of a check: clear, consider (a person should look), rejected, or not_performed (no
/// provider configured; never counts as passed). The outcomes compliance teams know from the
/// large vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Ran and found nothing of concern.
    Clear,
    /// Ran and found something a person should look at.
    Consider,
    /// Ran and failed.
    Rejected,
    /// Could not run (no provider configured); never counts as passed.
    NotPerformed,
}

/// The kinds of check a credential's evidence may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Identity document (MRZ, expiry, consistency).
    Document,
    /// Face match and liveness.
    Biometric,
    /// Sanctions and PEP screening.
    Screening,
    /// Risk assessment.
    Risk,
}

/// One `evidence` entry: which check ran, with what outcome, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Includes `KycEvidence`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    /// The check.
    pub check: CheckKind,
    /// Its outcome.
    pub outcome: CheckOutcome,
    /// When it completed.
    #[serde(deserialize_with = "crate::timestamp::required")]
    pub performed_at: DateTime<Utc>,
}

impl Evidence {
    /// Evidence for `check` with `outcome` at `performed_at`.
    pub fn new(check: CheckKind, outcome: CheckOutcome, performed_at: DateTime<Utc>) -> Self {
        Self {
            types: vec!["KycEvidence".into()],
            check,
            outcome,
            performed_at,
        }
    }
}

/// VC Data Model 2.0 lets a set of one be written as the value itself (`"type": "KycEvidence"`),
/// and libraries such as ssi do so; accept both, emit the array.
///
/// An array is always the set; a string or an object is the one member. Hand-written rather than
/// a `#[serde(untagged)]` enum, which buffers the whole value (every evidence entry, every string
/// in it) into an intermediate tree before trying each variant: on an issued credential that
/// buffering was the largest cost of `verify_jwt` after the signature.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StrDeserializer};
    use serde::de::{MapAccess, SeqAccess, Visitor};

    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("one value or an array of them")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
            while let Some(x) = seq.next_element()? {
                all.push(x);
            }
            Ok(all)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(|x| vec![x])
        }

        fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Vec<T>, E> {
            T::deserialize(BorrowedStrDeserializer::new(s)).map(|x| vec![x])
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<T>, E> {
            T::deserialize(StrDeserializer::new(s)).map(|x| vec![x])
        }
    }

    d.deserialize_any(OneOrMany(std::marker::PhantomData))
}

/// `credentialSchema`: which JSON Schema the credential conforms to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSchema {
    /// Schema identifier.
    pub id: String,
    /// `JsonSchema`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `credentialStatus`: a `BitstringStatusListEntry` (Bitstring Status List v1.0 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusEntry {
    /// `<statusListCredential>#<index>`.
    pub id: String,
    /// `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `revocation`.
    pub status_purpose: String,
    /// The entry's index, as a decimal string.
    pub status_list_index: String,
    /// URL of the status list credential.
    pub status_list_credential: String,
}

impl StatusEntry {
    /// A revocation entry at `index` of the list at `list_url`.
    pub fn revocation(list_url: &str, index: u64) -> Self {
        Self {
            id: format!("{list_url}#{index}"),
            kind: "BitstringStatusListEntry".into(),
            status_purpose: "revocation".into(),
            status_list_index: index.to_string(),
            status_list_credential: list_url.into(),
        }
    }

    /// The index, parsed strictly (decimal, no sign, no leading zeros).
    pub fn index(&self) -> Result<u64, MalformedError> {
        let s = &self.status_list_index;
        let canonical = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        canonical.then(|| s.parse().ok()).flatten().ok_or_else(|| {
            MalformedError::Structure("statusListIndex is not a canonical decimal".into())
        })
    }
}

/// `credentialSubject`: the holder and what the issuer attests about them.
///
/// Everything but `id` and `kycTier` is selectively disclosable in the SD-JWT form, so it is
/// optional here: a presentation carries only what the holder chose to disclose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KycSubject {
    /// The holder's `did:key`.
    pub id: String,
    /// The tier the checks earned.
    pub kyc_tier: KycTier,
    /// Assurance level matching the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<AssuranceLevel>,
    /// Over 18 at issuance.
    #[serde(default, rename = "ageOver18", skip_serializing_if = "Option::is_none")]
    pub age_over_18: Option<bool>,
    /// Over 21 at issuance.
    #[serde(default, rename = "ageOver21", skip_serializing_if = "Option::is_none")]
    pub age_over_21: Option<bool>,
    /// Country of residence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_of_residence: Option<CountryCode>,
    /// Nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<CountryCode>,
    /// Given name(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
}

/// The names of the subject claims a holder may disclose or withhold (all but `id`, `kycTier`).
pub const DISCLOSABLE_CLAIMS: [&str; 8] = [
    "assuranceLevel",
    "ageOver18",
    "ageOver21",
    "countryOfResidence",
    "nationality",
    "givenName",
    "familyName",
    "birthDate",
];

/// The KYC credential, exactly the shape of `docs/design.md` "Formats".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KycCredential {
    /// `[VC v2 context, KYC context]`.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// `urn:uuid:…`. Absent from the `vc+sd-jwt` form, which carries no identifier a relying
    /// party could use to recognise the holder (`docs/design.md` "Privacy at checkout"); the
    /// issuer keeps the mapping from its own records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `["VerifiableCredential", "KycCredential"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The issuer's `did:key`.
    pub issuer: String,
    /// Start of validity.
    #[serde(deserialize_with = "crate::timestamp::required")]
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::timestamp::optional"
    )]
    pub valid_until: Option<DateTime<Utc>>,
    /// The JSON Schema it conforms to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_schema: Option<CredentialSchema>,
    /// Where its revocation status is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<StatusEntry>,
    /// Which checks backed it (informative; verifiers never require it).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub evidence: Vec<Evidence>,
    /// The holder and the attested claims.
    pub credential_subject: KycSubject,
}

impl KycCredential {
    /// A new credential with a fresh `urn:uuid` id, the standard contexts, types and schema.
    pub fn new(
        issuer: &DidKey,
        subject: KycSubject,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            context: vec![VC_V2_CONTEXT.into(), KYC_CONTEXT.into()],
            id: Some(format!("urn:uuid:{}", uuid::Uuid::new_v4())),
            types: vec!["VerifiableCredential".into(), "KycCredential".into()],
            issuer: issuer.as_str().into(),
            valid_from,
            valid_until,
            credential_schema: Some(CredentialSchema {
                id: KYC_SCHEMA_ID.into(),
                kind: "JsonSchema".into(),
            }),
            credential_status: None,
            evidence: Vec::new(),
            credential_subject: subject,
        }
    }

    /// Check the structural rules serde cannot express: contexts, types, DIDs, validity order.
    pub fn check_structure(&self) -> Result<(), MalformedError> {
        crate::did::public_key_bytes(&self.issuer)?;
        self.check_structure_of_verified(&self.issuer)
    }

    /// [`Self::check_structure`] once the issuer is known to be `issuer`, a DID already parsed
    /// (the key that verified the signature): the issuer is compared, not decoded again.
    pub(crate) fn check_structure_of_verified(&self, issuer: &str) -> Result<(), MalformedError> {
        if self.issuer != issuer {
            return Err(MalformedError::Structure(
                "issuer is not the DID given".into(),
            ));
        }
        let bad = |m: &str| Err(MalformedError::Structure(m.into()));
        if self.context.first().map(String::as_str) != Some(VC_V2_CONTEXT) {
            return bad("@context must start with the VC 2.0 context");
        }
        if !self.context.iter().any(|c| c == KYC_CONTEXT) {
            return bad("@context lacks the KYC credential context");
        }
        if !self.types.iter().any(|t| t == "VerifiableCredential")
            || !self.types.iter().any(|t| t == "KycCredential")
        {
            return bad("type must include VerifiableCredential and KycCredential");
        }
        crate::did::public_key_bytes(&self.credential_subject.id)?;
        if let Some(until) = self.valid_until {
            if until < self.valid_from {
                return bad("validUntil is before validFrom");
            }
        }
        if let Some(status) = &self.credential_status {
            if status.kind != "BitstringStatusListEntry" {
                return bad("credentialStatus type must be BitstringStatusListEntry");
            }
            status.index()?;
        }
        Ok(())
    }

    /// Validity window at `at`: every violation, empty when valid.
    pub fn check_validity(&self, at: DateTime<Utc>) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        if at < self.valid_from {
            errors.push(PolicyError::NotYetValid(self.valid_from));
        }
        if let Some(until) = self.valid_until {
            if at >= until {
                errors.push(PolicyError::Expired(until));
            }
        }
        errors
    }

    /// Secure as `vc+jwt`: the payload is this credential's JSON, signed by `issuer_key`.
    ///
    /// `issuer_key` must be the key of `self.issuer`; the `kid` is its DID URL.
    pub fn sign_jwt(&self, issuer_key: &SigningKey) -> Result<String, MalformedError> {
        let issuer = DidKey::from_verifying_key(&issuer_key.verifying_key());
        Ok(self.unsigned_jwt(&issuer)?.sign(issuer_key))
    }

    /// The `vc+jwt` form before its signature by `issuer`'s key ([`jws::Unsigned`]).
    pub fn unsigned_jwt(&self, issuer: &DidKey) -> Result<jws::Unsigned, MalformedError> {
        if issuer.as_str() != self.issuer {
            return Err(MalformedError::Structure(
                "signing key is not the issuer's".into(),
            ));
        }
        self.check_structure()?;
        let payload =
            serde_json::to_vec(self).map_err(|e| MalformedError::json("credential", &e))?;
        Ok(jws::Unsigned::new(
            TYP_VC_JWT,
            Some(&issuer.key_id()),
            &payload,
        ))
    }
}

/// A tier-2 credential shaped exactly as `kyc-issuer` signs one for an approved application
/// (`issuance::issue`): every subject claim, a revocation entry at an index in the issuer's
/// random-looking range, one `evidence` entry per check (document, biometric, screening, risk),
/// and timestamps carrying the nanoseconds `Utc::now()` gives. About 1.4 KB of JSON, 2.1 KB as
/// `vc+jwt`: what merchants really receive, so benchmarks measure that and not a trimmed one.
///
/// Not part of the API: shared by the benchmarks of this crate and `kyc-verifier`.
#[doc(hidden)]
pub fn issued_sample(issuer: &DidKey, holder: &DidKey, issued_at: DateTime<Utc>) -> KycCredential {
    let at = |minutes_before: i64, nanos: i64| {
        issued_at - chrono::Duration::minutes(minutes_before) + chrono::Duration::nanoseconds(nanos)
    };
    let issued_at = at(0, 417_093_612);
    let mut c = KycCredential::new(
        issuer,
        KycSubject {
            id: holder.as_str().into(),
            kyc_tier: KycTier::Verified,
            assurance_level: KycTier::Verified.assurance_level(),
            age_over_18: Some(true),
            age_over_21: Some(true),
            country_of_residence: Some(CountryCode([b'D', b'E'])),
            nationality: Some(CountryCode([b'D', b'E'])),
            given_name: Some("Erika".into()),
            family_name: Some("Mustermann".into()),
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 31),
        },
        issued_at,
        Some(issued_at + chrono::Duration::days(365)),
    );
    c.credential_status = Some(StatusEntry::revocation(
        "https://kyc.example/v1/status-lists/1",
        104_729,
    ));
    c.evidence = vec![
        Evidence::new(CheckKind::Document, CheckOutcome::Clear, at(9, 120_553_871)),
        Evidence::new(
            CheckKind::Biometric,
            CheckOutcome::Clear,
            at(8, 903_418_207),
        ),
        Evidence::new(
            CheckKind::Screening,
            CheckOutcome::Clear,
            at(8, 911_072_335),
        ),
        Evidence::new(CheckKind::Risk, CheckOutcome::Clear, at(8, 911_640_908)),
    ];
    c
}

/// A credential whose issuer signature checked out. Policy (trust, time, status) is still to do.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// The credential (for the SD-JWT form: with the disclosed claims only).
    pub credential: KycCredential,
    /// The issuer, resolved.
    pub issuer: DidKey,
}

/// Verify a `vc+jwt` (or `vc-ld+jwt`): `alg`, `typ`, `kid` ⇔ `issuer`, signature, structure.
pub fn verify_jwt(input: &str, resolver: &Resolver) -> Result<VerifiedCredential, VerifyError> {
    let jws = CompactJws::parse(input)?;
    jws.expect_typ(&[TYP_VC_JWT, TYP_VC_LD_JWT])?;
    let issuer = resolve_kid(&jws, resolver)?;
    jws.verify(issuer.verifying_key())?;
    let credential: KycCredential = jws.payload_json("credential")?;
    if credential.issuer != issuer.as_str() {
        return Err(CryptoError::KeyIdNotIssuer.into());
    }
    credential.check_structure_of_verified(issuer.as_str())?;
    Ok(VerifiedCredential { credential, issuer })
}

/// Resolve the `kid` of an issuer-signed JWS to the issuer's `did:key`.
pub(crate) fn resolve_kid(
    jws: &CompactJws<'_>,
    resolver: &Resolver,
) -> Result<DidKey, CryptoError> {
    let kid = jws
        .header
        .kid
        .as_deref()
        .ok_or_else(|| CryptoError::BadKeyId("missing".into()))?;
    resolver
        .resolve_key_id(kid)
        .map_err(|e| CryptoError::BadKeyId(e.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn sample(issuer: &DidKey, holder: &DidKey) -> KycCredential {
        let from = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2027, 11, 26, 12, 0, 0).unwrap();
        let mut c = KycCredential::new(
            issuer,
            KycSubject {
                id: holder.as_str().into(),
                kyc_tier: KycTier::Verified,
                assurance_level: KycTier::Verified.assurance_level(),
                age_over_18: Some(true),
                age_over_21: Some(true),
                country_of_residence: Some(CountryCode::parse("DE").unwrap()),
                nationality: Some(CountryCode::parse("DE").unwrap()),
                given_name: Some("Erika".into()),
                family_name: Some("Mustermann".into()),
                birth_date: NaiveDate::from_ymd_opt(1990, 1, 31),
            },
            from,
            Some(until),
        );
        c.credential_status = Some(StatusEntry::revocation(
            "https://issuer.example/v1/status-lists/1",
            7,
        ));
        c.evidence.push(Evidence::new(
            CheckKind::Document,
            CheckOutcome::Clear,
            from,
        ));
        c
    }

    #[test]
    fn tier_is_strict() {
        assert_eq!(
            serde_json::from_str::<KycTier>("2").unwrap(),
            KycTier::Verified
        );
        for bad in ["4", "-1", "2.0", "\"2\"", "null"] {
            assert!(serde_json::from_str::<KycTier>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_index_is_canonical() {
        let mut e = StatusEntry::revocation("https://x/1", 0);
        assert_eq!(e.index().unwrap(), 0);
        for bad in ["", "01", "+1", "-1", "1e3", " 1"] {
            e.status_list_index = bad.into();
            assert!(e.index().is_err(), "{bad}");
        }
    }

    #[test]
    fn issued_sample_has_the_issuers_size() {
        let (ik, issuer) = DidKey::generate();
        let (_, holder) = DidKey::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let c = issued_sample(&issuer, &holder, now);
        let json = serde_json::to_vec(&c).unwrap().len();
        let jwt = c.sign_jwt(&ik).unwrap().len();
        assert!((1300..1500).contains(&json), "{json} bytes of JSON");
        assert!((2000..2200).contains(&jwt), "{jwt} bytes of vc+jwt");
        assert_eq!(
            verify_jwt(&c.sign_jwt(&ik).unwrap(), &Resolver::new())
                .unwrap()
                .credential,
            c
        );
    }

    #[test]
    fn sign_and_verify_jwt() {
        let (ik, issuer) = DidKey::generate();
        let (_, holder) = DidKey::generate();
        let c = sample(&issuer, &holder);
        let jwt = c.sign_jwt(&ik).unwrap();
        let v = verify_jwt(&jwt, &Resolver::new()).unwrap();
        assert_eq!(v.credential, c);
        assert_eq!(v.issuer, issuer);
    }
}
