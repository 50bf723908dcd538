//! Why a request is not authenticated, or not allowed.

use kyc_core::did::DidError;

use super::limits::{MAX_CLOCK_SKEW_SECS, MAX_TOKEN_LIFETIME_SECS};
use super::role::Role;

/// What kind of failure an [`AuthError`] is (the API answers 401, 403, 429, 503 and 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No usable credentials, or credentials that do not verify.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// This client's share of outstanding state is used up; others are still served.
    Throttled,
    /// A bound on outstanding state is reached; retry later.
    Unavailable,
    /// The server's side failed.
    Internal,
}

/// Why a request is not authenticated, or not allowed.
///
/// Messages never contain tokens, nonces, DIDs or other values from the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    // ---- no usable credentials (unauthenticated) ----
    /// The request has no `Authorization` header.
    #[error("missing credentials: send `Authorization: Bearer <token>`")]
    MissingCredentials,
    /// The `Authorization` header is not exactly one `Bearer <token>`, or the token is not a
    /// holder token of the right shape (JWS segments, base64url, JSON, claim names and types).
    #[error("malformed credentials: {0}")]
    MalformedCredentials(String),

    // ---- credentials that do not verify (unauthenticated) ----
    /// The token's JWS `alg` is not `EdDSA` (this refuses `none` and every HMAC).
    #[error("token algorithm is not accepted; only EdDSA is")]
    AlgorithmNotAllowed,
    /// The token's JWS `typ` is absent or not `JWT`.
    #[error("token type is not accepted; expected typ \"JWT\"")]
    WrongType,
    /// The token's `kid` is not an Ed25519 `did:key` DID URL whose fragment names the key.
    #[error("token key id is not an Ed25519 did:key DID URL: {0}")]
    BadKeyId(DidError),
    /// The signature does not verify under the key the `kid` names.
    #[error("token signature does not verify")]
    BadSignature,
    /// The token's `iss` is not the DID of the key that signed it.
    #[error("token issuer is not the DID of its signing key")]
    IssuerMismatch,
    /// The token's `aud` is not this issuer.
    #[error("token audience is not this issuer")]
    WrongAudience,
    /// `exp - iat` is not positive, or longer than [`MAX_TOKEN_LIFETIME_SECS`].
    #[error("token lifetime must be positive and at most {MAX_TOKEN_LIFETIME_SECS} seconds")]
    BadLifetime,
    /// `iat` is more than [`MAX_CLOCK_SKEW_SECS`] in the future.
    #[error("token issued more than {MAX_CLOCK_SKEW_SECS} seconds in the future")]
    NotYetValid,
    /// `exp` has been reached.
    #[error("token has expired")]
    Expired,
    /// The nonce was never issued, has expired, or was already used (a replayed token).
    #[error("nonce is unknown, expired or already used; request a new one")]
    NonceRejected,
    /// The bearer token is not any staff member's.
    #[error("bearer token is not a valid staff token")]
    InvalidStaffToken,

    // ---- authenticated, but not allowed (forbidden) ----
    /// A staff member whose role the route does not accept.
    #[error("role {role} is not allowed to do this")]
    Forbidden {
        /// The caller's role.
        role: Role,
    },
    /// A verified holder acting on something that belongs to another holder.
    #[error("the authenticated holder is not the holder of this resource")]
    NotTheHolder,

    // ---- the server's side ----
    /// The client holds as many outstanding nonces as one client may; it must use some or let
    /// them expire.
    #[error("too many outstanding nonces for this client; use or let expire the ones issued")]
    TooManyNoncesForClient,
    /// [`MAX_OUTSTANDING_NONCES`] (or the store's own bound) reached; retry later.
    #[error("too many outstanding nonces; retry later")]
    TooManyNonces,
    /// The nonce store or the random number generator failed.
    #[error("nonce store failure: {0}")]
    NonceStore(String),
}

impl AuthError {
    /// What kind of failure this is.
    pub fn kind(&self) -> AuthFailure {
        match self {
            Self::MissingCredentials
            | Self::MalformedCredentials(_)
            | Self::AlgorithmNotAllowed
            | Self::WrongType
            | Self::BadKeyId(_)
            | Self::BadSignature
            | Self::IssuerMismatch
            | Self::WrongAudience
            | Self::BadLifetime
            | Self::NotYetValid
            | Self::Expired
            | Self::NonceRejected
            | Self::InvalidStaffToken => AuthFailure::Unauthenticated,
            Self::Forbidden { .. } | Self::NotTheHolder => AuthFailure::Forbidden,
            Self::TooManyNoncesForClient => AuthFailure::Throttled,
            Self::TooManyNonces => AuthFailure::Unavailable,
            Self::NonceStore(_) => AuthFailure::Internal,
        }
    }

    /// A stable, machine-readable code (kebab-case, for problem types).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing-credentials",
            Self::MalformedCredentials(_) => "malformed-credentials",
            Self::AlgorithmNotAllowed => "algorithm-not-allowed",
            Self::WrongType => "wrong-token-type",
            Self::BadKeyId(_) => "bad-key-id",
            Self::BadSignature => "bad-signature",
            Self::IssuerMismatch => "issuer-mismatch",
            Self::WrongAudience => "wrong-audience",
            Self::BadLifetime => "bad-token-lifetime",
            Self::NotYetValid => "token-not-yet-valid",
            Self::Expired => "token-expired",
            Self::NonceRejected => "nonce-rejected",
            Self::InvalidStaffToken => "invalid-staff-token",
            Self::Forbidden { .. } => "forbidden",
            Self::NotTheHolder => "not-the-holder",
            Self::TooManyNoncesForClient => "too-many-nonces-for-client",
            Self::TooManyNonces => "too-many-nonces",
            Self::NonceStore(_) => "nonce-store",
        }
    }

    /// Malformed credentials, for `reason` (which names no value).
    pub fn malformed(reason: &str) -> Self {
        Self::MalformedCredentials(reason.to_owned())
    }
}
