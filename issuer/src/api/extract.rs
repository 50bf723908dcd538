//! Request extractors: who is calling ([`Holder`], [`Staff`], from the bearer token), a
//! vendor's signature header ([`VendorSignature`]) and a strict JSON body ([`JsonBody`]). Each rejects with a problem, so a handler sees only what it may act on.
//!
//! axum runs extractors in argument order, the body last. A handler takes `Path` before the
//! caller, so a malformed path is refused without spending a holder token's nonce, and the
//! caller before its `JsonBody`, so an unauthenticated request is refused (401 or 403) before
//! its body is read.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::de::DeserializeOwned;

use super::problem::{auth_problem, Problem};
use super::AppState;
use crate::auth::{self, AuthError, HolderIdentity, Role, StaffMember};
use crate::checks::biometric::http::SIGNATURE_HEADER;

/// The bearer token of a request: exactly one `Authorization` header of the form
/// `Bearer <b64token>` (RFC 6750 §2.1).
///
/// The scheme name is matched case-insensitively, as RFC 9110 §11.1 requires; everything else is
/// exact: a single space, then a non-empty `b64token` with nothing after it.
pub(super) fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::MissingCredentials)?;
    if values.next().is_some() {
        return Err(AuthError::malformed("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::malformed("Authorization header is not visible ASCII"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError::malformed("Authorization header is not `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(AuthError::malformed("authorization scheme is not Bearer"));
    }
    if !is_b64token(token) {
        return Err(AuthError::malformed(
            "bearer token is not a b64token (RFC 6750 §2.1)",
        ));
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The caller, authenticated by a holder token (which uses up its nonce).
pub(super) struct Holder(pub(super) HolderIdentity);

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        bearer(&parts.headers)
            .and_then(|token| {
                auth::verify_holder_token(token, &state.audience, state.nonces.as_ref(), Utc::now())
            })
            .map(Self)
            .map_err(|e| auth_problem(&e))
    }
}

/// The roles a [`Staff`] extractor accepts.
pub(super) trait StaffRoles {
    /// Any one of these will do.
    const ACCEPTED: &'static [Role];
}

/// Staff with role `reviewer`.
pub(super) enum Reviewer {}

impl StaffRoles for Reviewer {
    const ACCEPTED: &'static [Role] = &[Role::Reviewer];
}

/// Staff with role `admin`.
pub(super) enum Admin {}

impl StaffRoles for Admin {
    const ACCEPTED: &'static [Role] = &[Role::Admin];
}

/// Staff with role `auditor`: reads the audit log's entries and proofs.
pub(super) enum Auditor {}

impl StaffRoles for Auditor {
    const ACCEPTED: &'static [Role] = &[Role::Auditor];
}

/// Staff with role `compliance` (the compliance officer).
pub(super) enum Compliance {}

impl StaffRoles for Compliance {
    const ACCEPTED: &'static [Role] = &[Role::Compliance];
}

/// The caller, a staff member holding one of `R`'s roles: a missing or unknown token is 401,
/// another role 403.
pub(super) struct Staff<R>(pub(super) StaffMember, pub(super) PhantomData<R>);

impl<R: StaffRoles> FromRequestParts<AppState> for Staff<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        bearer(&parts.headers)
            .and_then(|token| state.staff.authorize(token, R::ACCEPTED))
            .map(|member| Self(member, PhantomData))
            .map_err(|e| auth_problem(&e))
    }
}

/// A biometric vendor's signature header (`t=…,v1=…`), when sent and visible ASCII; the
/// domain checks it against the body.
pub(super) struct VendorSignature(pub(super) Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for VendorSignature {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self(value))
    }
}

/// A JSON body: `application/json` only, parsed strictly (trailing data refused); a body over
/// the size limit is a 413 problem.
pub(super) struct JsonBody<T>(pub(super) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let JsonBytes(body) = JsonBytes::from_request(req, state).await?;
        let malformed = |e: serde_json::Error| {
            Problem::bad_request(kyc_core::MalformedError::json("body", &e).to_string())
        };
        unique_members(&body).map_err(malformed)?;
        serde_json::from_slice(&body).map(Self).map_err(malformed)
    }
}

/// Refuse a JSON text in which an object names a member twice (RFC 8259 §4 leaves what that
/// means to the parser: serde_json keeps the last, another parser the first, so a signature
/// checker, a schema validator and the code after them could each see a different document).
/// The error names the member when it is a plain identifier, never anything else.
pub(super) fn unique_members(body: &[u8]) -> Result<(), serde_json::Error> {
    use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

    struct Unique;

    impl<'de> DeserializeSeed<'de> for Unique {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Unique {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Unique)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    let plain = !key.is_empty()
                        && key.len() <= 64
                        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    return Err(A::Error::custom(if plain {
                        format!("duplicate member `{key}`")
                    } else {
                        "duplicate member".to_owned()
                    }));
                }
                map.next_value_seed(Unique)?;
            }
            Ok(())
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    Unique.deserialize(&mut de)?;
    de.end()
}

/// An `application/json` body as the bytes that were sent (for a signature over them); a body
/// over the size limit is a 413 problem, another media type a 415.
pub(super) struct JsonBytes(pub(super) Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|content_type| content_type.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        // Read first: an unreadable or oversized body is answered as such, whatever its type.
        let body = Bytes::from_request(req, state).await?;
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be application/json",
            ));
        }
        Ok(Self(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn bearer_is_strict() {
        assert_eq!(bearer(&headers(&[])), Err(AuthError::MissingCredentials));
        assert_eq!(
            bearer(&headers(&["Bearer a.b-c_d~e+f/g=="])),
            Ok("a.b-c_d~e+f/g==")
        );
        // RFC 9110 §11.1: the scheme is case-insensitive.
        assert_eq!(bearer(&headers(&["bearer abc"])), Ok("abc"));
        for bad in [
            "Basic YWxpY2U6c2VjcmV0",
            "Bearer",
            "Bearer ",
            "Bearer  abc",
            "Bearer abc def",
            "Bearer abc ",
            "Bearer =",
            "Bearer a=b",
            "Bearer\tabc",
            "Token abc",
            "abc",
        ] {
            let err = bearer(&headers(&[bad])).unwrap_err();
            assert!(matches!(err, AuthError::MalformedCredentials(_)), "{bad}");
            assert_eq!(err.kind(), auth::AuthFailure::Unauthenticated);
        }
        assert!(matches!(
            bearer(&headers(&["Bearer abc", "Bearer abc"])),
            Err(AuthError::MalformedCredentials(_))
        ));
        let mut opaque = HeaderMap::new();
        opaque.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert!(matches!(
            bearer(&opaque),
            Err(AuthError::MalformedCredentials(_))
        ));
    }

    #[test]
    fn a_member_named_twice_is_refused_at_any_depth() {
        for body in [
            r#"{"jurisdiction": "EU", "jurisdiction": "JP"}"#,
            r#"{"identity": {"givenName": "A", "givenName": "B"}}"#,
            r#"[{"a": 1}, {"b": [{"c": 1, "c": 2}]}]"#,
        ] {
            let err = unique_members(body.as_bytes()).unwrap_err();
            assert!(
                err.to_string().contains("duplicate member"),
                "{body}: {err}"
            );
        }
        // A name that is not a plain identifier is not echoed.
        let err = unique_members(br#"{"Erika 1990": 1, "Erika 1990": 2}"#).unwrap_err();
        assert!(!err.to_string().contains("Erika"), "{err}");
        for body in [
            r#"{"a": {"b": 1}, "b": {"a": 2}}"#,
            "[1, 2, 1]",
            r#""x""#,
            "null",
        ] {
            unique_members(body.as_bytes()).unwrap();
        }
        // Malformed JSON is still an error here, before the real parse.
        assert!(unique_members(b"{\"a\": 1").is_err());
    }

    #[test]
    fn staff_and_holders_are_read_from_the_header() {
        use crate::auth::{hash_token, MemoryNonces, NonceStore as _, StaffDirectory, StaffEntry};
        let staff = StaffDirectory::new(vec![StaffEntry {
            id: "bob".into(),
            role: Role::Reviewer,
            token_sha256: hash_token("tok-bob"),
        }])
        .unwrap();
        let authorize =
            |h: &HeaderMap| bearer(h).and_then(|t| staff.authorize(t, &[Role::Reviewer]));
        assert_eq!(authorize(&headers(&[])), Err(AuthError::MissingCredentials));
        assert_eq!(authorize(&headers(&["Bearer tok-bob"])).unwrap().id, "bob");

        let nonces = MemoryNonces::new();
        let now = Utc::now();
        let (key, did) = kyc_core::DidKey::generate();
        let claims = serde_json::json!({
            "iss": did.as_str(), "aud": "https://kyc.example",
            "nonce": nonces.issue(std::net::Ipv4Addr::LOCALHOST.into(), now).unwrap(),
            "iat": now.timestamp(), "exp": now.timestamp() + 120,
        });
        let token = kyc_core::jws::sign(
            auth::HOLDER_TOKEN_TYP,
            Some(&did.key_id()),
            claims.to_string().as_bytes(),
            &key,
        );
        let holder = |h: &HeaderMap| {
            bearer(h)
                .and_then(|t| auth::verify_holder_token(t, "https://kyc.example", &nonces, now))
        };
        assert_eq!(holder(&headers(&[])), Err(AuthError::MissingCredentials));
        let identity = holder(&headers(&[&format!("Bearer {token}")])).unwrap();
        assert_eq!(identity.did, did.as_str());
    }
}
