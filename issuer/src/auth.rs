//! Who is calling: customers (holders) prove control of their `did:key`, staff present a bearer
//! token, and each route says which of them it accepts.
//!
//! # Holders
//!
//! Every customer call after submission carries `Authorization: Bearer <holder token>`, a JWT
//! (RFC 7519) secured as a compact JWS with `EdDSA` (RFC 8037 §3.1):
//!
//! ```text
//! header  {"alg":"EdDSA","typ":"JWT","kid":"did:key:z…#z…"}
//! payload {"iss":"did:key:z…","aud":"<issuer public URL>","nonce":"<from POST /v1/nonce>",
//!          "iat":<NumericDate>,"exp":<NumericDate>}
//! ```
//!
//! [`verify_holder_token`] checks, in this order: the JWS shape and `alg` (strict parsing by
//! [`kyc_core::jws::CompactJws`]: `none`, HMAC and every other algorithm are refused before any
//! key is touched), `typ` is exactly `JWT`, `kid` is an Ed25519 `did:key` DID URL, the signature
//! under that key, `iss` is the `kid`'s DID, `aud` is exactly this issuer's audience, the time
//! window ([`MAX_TOKEN_LIFETIME_SECS`], [`MAX_CLOCK_SKEW_SECS`], `exp` not reached), and last the
//! nonce, which is consumed.
//!
//! **Each token is single-use.** A successful verification consumes the token's nonce, so a
//! replayed token (same nonce) is refused; the wallet fetches a fresh nonce for every call. The
//! nonce is consumed *last*: a token that fails any other check does not burn it. That is safe
//! because nonces are not secrets (anyone may ask for one); what they prevent is replay, and only a
//! token that verifies can be replayed. Claims other than the five above are ignored
//! (RFC 7519 §4); `aud` must be a single string, and `iat`/`exp` integers.
//!
//! # Staff
//!
//! Reviewers, admins and auditors authenticate with an opaque bearer token. The configuration
//! holds only its SHA-256 digest ([`hash_token`]), so a leaked configuration file leaks no
//! credential:
//!
//! ```toml
//! [[staff]]
//! id = "alice"
//! role = "admin"
//! token_sha256 = "<64 lowercase hex digits>"
//! ```
//!
//! An unsalted fast hash is enough only because the tokens are random: operators must generate
//! them with at least 128 bits of entropy (e.g. `head -c 32 /dev/urandom | base64`), never choose
//! them. Roles are explicit, with no hierarchy: a route lists every [`Role`] it accepts, and
//! `admin` does not imply `reviewer` (separation of duties: whoever manages the service does not
//! silently get to approve customers).
//!
//! # Errors and HTTP
//!
//! [`AuthError::status`] keeps *no usable credentials* and *credentials that do not verify* (401)
//! apart from *authenticated but not allowed* (403); [`AuthError::www_authenticate`] gives the
//! RFC 6750 §3 challenge for the response. No message ever contains a token, a nonce, a DID or
//! any other value taken from the request.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use kyc_core::did::{DidError, DidKey};
use kyc_core::jws::CompactJws;
use kyc_core::{CryptoError, MalformedError, VerifyError};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

/// The JWS `typ` of a holder token (RFC 7519 §5.1).
pub const HOLDER_TOKEN_TYP: &str = "JWT";

/// The longest a holder token may live: `exp - iat` is at most this many seconds.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;

/// How far in the future a holder token's `iat` may be, for clocks that run ahead.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// How long an issued nonce stays usable, in seconds.
pub const NONCE_TTL_SECS: i64 = 300;

/// The most nonces [`MemoryNonces`] keeps outstanding before it refuses to issue more.
///
/// Nonces are handed out without authentication, so the bound keeps a flood of requests from
/// exhausting memory (about 150 bytes per nonce, so ~150 MB at the bound).
pub const MAX_OUTSTANDING_NONCES: usize = 1_000_000;

/// Random bytes in a nonce: 256 bits, well above the 128 the design asks for.
const NONCE_BYTES: usize = 32;

/// Longest staff id accepted.
const MAX_STAFF_ID_LEN: usize = 64;

/// Why a request is not authenticated, or not allowed.
///
/// Messages never contain tokens, nonces, DIDs or other values from the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    // ---- no usable credentials (401) ----
    /// The request has no `Authorization` header.
    #[error("missing credentials: send `Authorization: Bearer <token>`")]
    MissingCredentials,
    /// The `Authorization` header is not exactly one `Bearer <token>`, or the token is not a
    /// holder token of the right shape (JWS segments, base64url, JSON, claim names and types).
    #[error("malformed credentials: {0}")]
    MalformedCredentials(String),

    // ---- credentials that do not verify (401) ----
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

    // ---- authenticated, but not allowed (403) ----
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
    /// [`MAX_OUTSTANDING_NONCES`] (or the store's own bound) reached; retry later (503).
    #[error("too many outstanding nonces; retry later")]
    TooManyNonces,
    /// The nonce store or the random number generator failed (500).
    #[error("nonce store failure: {0}")]
    NonceStore(String),
    /// A `[[staff]]` configuration entry is invalid; refused at start (500 if ever served).
    #[error("[[staff]] entry {entry}: {reason}")]
    InvalidStaffConfig {
        /// Position of the entry, counting from 1.
        entry: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl AuthError {
    /// The HTTP status for this error: 401, 403, 500 or 503.
    pub fn status(&self) -> u16 {
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
            | Self::InvalidStaffToken => 401,
            Self::Forbidden { .. } | Self::NotTheHolder => 403,
            Self::TooManyNonces => 503,
            Self::NonceStore(_) | Self::InvalidStaffConfig { .. } => 500,
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
            Self::TooManyNonces => "too-many-nonces",
            Self::NonceStore(_) => "nonce-store",
            Self::InvalidStaffConfig { .. } => "invalid-staff-config",
        }
    }

    /// The `WWW-Authenticate` challenge for a 401 or 403 response (RFC 6750 §3, §3.1): no error
    /// code when credentials are missing, `invalid_request` when malformed, `invalid_token` when
    /// they do not verify, `insufficient_scope` when forbidden. `None` for server errors.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::MissingCredentials => Some("Bearer"),
            Self::MalformedCredentials(_) => Some("Bearer error=\"invalid_request\""),
            Self::Forbidden { .. } | Self::NotTheHolder => {
                Some("Bearer error=\"insufficient_scope\"")
            }
            e if e.status() == 401 => Some("Bearer error=\"invalid_token\""),
            _ => None,
        }
    }

    fn malformed(reason: &str) -> Self {
        Self::MalformedCredentials(reason.to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// Bearer extraction

/// The bearer token of a request: exactly one `Authorization` header of the form
/// `Bearer <b64token>` (RFC 6750 §2.1).
///
/// The scheme name is matched case-insensitively, as RFC 9110 §11.1 requires; everything else is
/// exact: a single space, then a non-empty `b64token` with nothing after it.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
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

// ---------------------------------------------------------------------------------------------
// Nonces

/// Where server nonces live between `POST /v1/nonce` and the holder token that uses them.
///
/// Implementations must be safe to share between request handlers. A nonce is usable exactly
/// once, and only before its expiry.
pub trait NonceStore: Send + Sync {
    /// Issue a fresh random nonce ([`generate_nonce`]), usable until `now + self.lifetime()`.
    fn issue(&self, now: DateTime<Utc>) -> Result<String, AuthError>;

    /// Use up `nonce`: `Ok(true)` the first time for a nonce issued here and not expired at
    /// `now`; `Ok(false)` afterwards, and for nonces that are unknown or expired.
    fn consume(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, AuthError>;

    /// How long an issued nonce stays usable (for the `expiresAt` of the nonce response).
    fn lifetime(&self) -> TimeDelta {
        TimeDelta::seconds(NONCE_TTL_SECS)
    }
}

/// A fresh nonce: 256 bits from the operating system's RNG, unpadded base64url (43 characters).
pub fn generate_nonce() -> Result<String, AuthError> {
    let mut bytes = [0u8; NONCE_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| AuthError::NonceStore("the random number generator failed".into()))?;
    Ok(B64.encode(bytes))
}

/// Outstanding nonces in memory, for a single issuer node.
///
/// Expired nonces are pruned on every call, oldest first, so the work per call is proportional
/// to what expired since the last one. At most `capacity` nonces are outstanding; beyond that
/// [`NonceStore::issue`] answers [`AuthError::TooManyNonces`]. Nonces do not survive a restart,
/// which only means holders fetch a new one.
pub struct MemoryNonces {
    ttl: TimeDelta,
    capacity: usize,
    outstanding: Mutex<Outstanding>,
}

#[derive(Default)]
struct Outstanding {
    expiry_of: HashMap<String, DateTime<Utc>>,
    by_expiry: BTreeSet<(DateTime<Utc>, String)>,
}

impl Outstanding {
    /// Drop every nonce whose expiry is at or before `now`.
    fn prune(&mut self, now: DateTime<Utc>) {
        while self
            .by_expiry
            .first()
            .is_some_and(|(expiry, _)| *expiry <= now)
        {
            if let Some((_, nonce)) = self.by_expiry.pop_first() {
                self.expiry_of.remove(&nonce);
            }
        }
    }
}

impl MemoryNonces {
    /// A store with [`NONCE_TTL_SECS`] and [`MAX_OUTSTANDING_NONCES`].
    pub fn new() -> Self {
        Self::with_limits(TimeDelta::seconds(NONCE_TTL_SECS), MAX_OUTSTANDING_NONCES)
    }

    /// A store with its own nonce lifetime and bound on outstanding nonces.
    pub fn with_limits(ttl: TimeDelta, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            outstanding: Mutex::new(Outstanding::default()),
        }
    }

    /// How many nonces are outstanding (issued, not used, possibly expired but not yet pruned).
    pub fn len(&self) -> usize {
        self.lock().expiry_of.len()
    }

    /// True when no nonce is outstanding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Every update leaves the two indexes consistent before it can panic, so a poisoned lock
    // still guards valid state.
    fn lock(&self) -> MutexGuard<'_, Outstanding> {
        self.outstanding
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryNonces {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNonces")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("outstanding", &self.len())
            .finish()
    }
}

impl NonceStore for MemoryNonces {
    fn issue(&self, now: DateTime<Utc>) -> Result<String, AuthError> {
        let nonce = generate_nonce()?;
        let expiry = now
            .checked_add_signed(self.ttl)
            .ok_or_else(|| AuthError::NonceStore("nonce expiry out of range".into()))?;
        let mut outstanding = self.lock();
        outstanding.prune(now);
        if outstanding.expiry_of.len() >= self.capacity {
            return Err(AuthError::TooManyNonces);
        }
        if outstanding.expiry_of.contains_key(&nonce) {
            // 2^-256: a broken RNG, not bad luck.
            return Err(AuthError::NonceStore("random nonce repeated".into()));
        }
        outstanding.expiry_of.insert(nonce.clone(), expiry);
        outstanding.by_expiry.insert((expiry, nonce.clone()));
        Ok(nonce)
    }

    fn consume(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, AuthError> {
        let mut outstanding = self.lock();
        outstanding.prune(now);
        match outstanding.expiry_of.remove(nonce) {
            Some(expiry) => {
                outstanding.by_expiry.remove(&(expiry, nonce.to_owned()));
                Ok(expiry > now)
            }
            None => Ok(false),
        }
    }

    fn lifetime(&self) -> TimeDelta {
        self.ttl
    }
}

// ---------------------------------------------------------------------------------------------
// Holder tokens

/// A holder whose token verified: the DID that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderIdentity {
    /// The holder's `did:key` (the token's `iss`, equal to its `kid`'s DID).
    pub did: String,
}

impl HolderIdentity {
    /// Require this holder to be `holder_did` (e.g. the application's holder).
    pub fn require(&self, holder_did: &str) -> Result<(), AuthError> {
        if self.did == holder_did {
            Ok(())
        } else {
            Err(AuthError::NotTheHolder)
        }
    }
}

/// The claims of a holder token. Unknown claims are ignored (RFC 7519 §4); serde refuses
/// duplicate members and wrong types.
#[derive(Deserialize)]
struct HolderClaims {
    iss: String,
    aud: String,
    nonce: String,
    iat: i64,
    exp: i64,
}

/// Verify a holder token for `audience` at `now`, and consume its nonce.
///
/// See the [module documentation](self) for the format and the order of the checks. On success
/// the nonce is used up: the same token is refused the next time ([`AuthError::NonceRejected`]).
/// The caller still has to check that the holder is the one the resource belongs to
/// ([`HolderIdentity::require`]).
pub fn verify_holder_token(
    token: &str,
    audience: &str,
    nonces: &dyn NonceStore,
    now: DateTime<Utc>,
) -> Result<HolderIdentity, AuthError> {
    let jws = CompactJws::parse(token).map_err(from_jws_error)?;
    jws.expect_typ(&[HOLDER_TOKEN_TYP])
        .map_err(|_| AuthError::WrongType)?;
    let kid = jws
        .header
        .kid
        .as_deref()
        .ok_or_else(|| AuthError::malformed("token header has no kid"))?;
    let signer = DidKey::parse_key_id(kid).map_err(AuthError::BadKeyId)?;
    jws.verify(signer.verifying_key())
        .map_err(|_| AuthError::BadSignature)?;
    let claims: HolderClaims = serde_json::from_slice(&jws.payload).map_err(|e| {
        AuthError::MalformedCredentials(MalformedError::json("token claims", &e).to_string())
    })?;
    if claims.iss != signer.as_str() {
        return Err(AuthError::IssuerMismatch);
    }
    if claims.aud != audience {
        return Err(AuthError::WrongAudience);
    }
    check_time_window(claims.iat, claims.exp, now)?;
    if !nonces.consume(&claims.nonce, now)? {
        return Err(AuthError::NonceRejected);
    }
    Ok(HolderIdentity { did: claims.iss })
}

/// [`bearer`] then [`verify_holder_token`]: the whole check for a customer route.
pub fn authenticate_holder(
    headers: &HeaderMap,
    audience: &str,
    nonces: &dyn NonceStore,
    now: DateTime<Utc>,
) -> Result<HolderIdentity, AuthError> {
    verify_holder_token(bearer(headers)?, audience, nonces, now)
}

/// `0 < exp - iat <= 300`, `iat <= now + 60`, `now < exp` (RFC 7519 §4.1.4: the current time
/// must be before `exp`), all in whole seconds.
fn check_time_window(iat: i64, exp: i64, now: DateTime<Utc>) -> Result<(), AuthError> {
    match exp.checked_sub(iat) {
        Some(lifetime) if lifetime > 0 && lifetime <= MAX_TOKEN_LIFETIME_SECS => {}
        _ => return Err(AuthError::BadLifetime),
    }
    let now = now.timestamp();
    if iat > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(AuthError::NotYetValid);
    }
    if exp <= now {
        return Err(AuthError::Expired);
    }
    Ok(())
}

fn from_jws_error(e: VerifyError) -> AuthError {
    match e {
        VerifyError::Crypto(CryptoError::AlgorithmNotAllowed(_)) => AuthError::AlgorithmNotAllowed,
        // kyc-core's messages never echo input values.
        other => AuthError::MalformedCredentials(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Staff

/// A staff role. Roles do not imply one another; a route lists each role it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the manual review queue: approves, rejects, asks for documents.
    Reviewer,
    /// Operates the service: revocation, configuration, key and log maintenance.
    Admin,
    /// Reads the audit log and exports; changes nothing.
    Auditor,
    /// The compliance officer: reads the reports of high-risk rejections.
    Compliance,
}

impl Role {
    /// The role's name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
            Self::Compliance => "compliance",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[staff]]` entry of the configuration.
///
/// `id` appears in the audit log as the actor of what this member does, so it should be a
/// pseudonymous handle (`alice`, `reviewer-07`), not an e-mail address: 1 to 64 characters of
/// ASCII letters, digits, `-`, `_` and `.`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    /// The staff member's id.
    pub id: String,
    /// The staff member's one role.
    pub role: Role,
    /// SHA-256 of the bearer token, 64 lowercase hex digits ([`hash_token`]).
    pub token_sha256: String,
}

impl fmt::Debug for StaffEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffEntry")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An authenticated staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// The member's id from the configuration.
    pub id: String,
    /// The member's role.
    pub role: Role,
}

impl StaffMember {
    /// Allow the member only if their role is one of `accepted`; otherwise
    /// [`AuthError::Forbidden`] (403).
    pub fn require(&self, accepted: &[Role]) -> Result<(), AuthError> {
        if accepted.contains(&self.role) {
            Ok(())
        } else {
            Err(AuthError::Forbidden { role: self.role })
        }
    }
}

/// The staff who may call the issuer, with the digests of their tokens.
///
/// Its `Debug` shows ids and roles only.
#[derive(Clone)]
pub struct StaffDirectory {
    members: Vec<(StaffMember, [u8; 32])>,
}

impl fmt::Debug for StaffDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.members.iter().map(|(member, _)| member))
            .finish()
    }
}

impl StaffDirectory {
    /// Validate the configured entries: well-formed unique ids, 64 lowercase hex digits, and no
    /// two entries sharing a token. An empty directory is allowed (no staff route will accept
    /// anyone). Unknown roles are already refused when the configuration is deserialized.
    pub fn new(entries: Vec<StaffEntry>) -> Result<Self, AuthError> {
        let mut ids = HashSet::new();
        let mut digests = HashSet::new();
        let mut members = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let invalid = |reason| AuthError::InvalidStaffConfig {
                entry: i + 1,
                reason,
            };
            if !is_valid_staff_id(&entry.id) {
                return Err(invalid(
                    "id must be 1 to 64 ASCII letters, digits, '-', '_' or '.'",
                ));
            }
            let digest = parse_sha256_hex(&entry.token_sha256)
                .ok_or_else(|| invalid("token_sha256 must be 64 lowercase hex digits"))?;
            if !ids.insert(entry.id.clone()) {
                return Err(invalid("duplicate staff id"));
            }
            if !digests.insert(digest) {
                return Err(invalid("token_sha256 is shared with another entry"));
            }
            members.push((
                StaffMember {
                    id: entry.id,
                    role: entry.role,
                },
                digest,
            ));
        }
        Ok(Self { members })
    }

    /// The staff member whose token `bearer` is, if any.
    ///
    /// The token's digest is compared with every entry in constant time, and all entries are
    /// always examined, so timing reveals neither which entry matched nor how much of a digest
    /// did.
    pub fn authenticate(&self, bearer: &str) -> Option<StaffMember> {
        let digest: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
        let mut found = u64::MAX;
        for (i, (_, known)) in self.members.iter().enumerate() {
            let index = u64::try_from(i).unwrap_or(u64::MAX);
            found.conditional_assign(&index, known.ct_eq(&digest));
        }
        let index = usize::try_from(found).ok()?;
        self.members.get(index).map(|(member, _)| member.clone())
    }

    /// [`bearer`], [`Self::authenticate`] and [`StaffMember::require`]: the whole check for a
    /// staff route that accepts the roles in `accepted`.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        accepted: &[Role],
    ) -> Result<StaffMember, AuthError> {
        let member = self
            .authenticate(bearer(headers)?)
            .ok_or(AuthError::InvalidStaffToken)?;
        member.require(accepted)?;
        Ok(member)
    }

    /// How many staff members are configured.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no staff member is configured.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The `token_sha256` value for a staff token: SHA-256 (FIPS 180-4) of its UTF-8 bytes, as 64
/// lowercase hex digits.
pub fn hash_token(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

fn is_valid_staff_id(id: &str) -> bool {
    (1..=MAX_STAFF_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Exactly 64 lowercase hex digits, decoded.
fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use ed25519_dalek::SigningKey;
    use serde_json::{json, Value};

    const AUD: &str = "https://kyc.example";

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    fn holder() -> (SigningKey, DidKey) {
        DidKey::generate()
    }

    /// A token with an arbitrary header, signed by `key` (or a zero signature when `None`).
    fn raw_token(header: &Value, claims: &Value, key: Option<&SigningKey>) -> String {
        use ed25519_dalek::Signer as _;
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = key.map_or([0u8; 64], |k| k.sign(input.as_bytes()).to_bytes());
        format!("{input}.{}", B64.encode(signature))
    }

    fn claims(did: &DidKey, nonce: &str, iat: DateTime<Utc>, lifetime: i64) -> Value {
        json!({
            "iss": did.as_str(),
            "aud": AUD,
            "nonce": nonce,
            "iat": iat.timestamp(),
            "exp": iat.timestamp() + lifetime,
        })
    }

    fn sign_claims(key: &SigningKey, kid: &str, claims: &Value) -> String {
        kyc_core::jws::sign(
            HOLDER_TOKEN_TYP,
            Some(kid),
            claims.to_string().as_bytes(),
            key,
        )
    }

    /// A valid token for a freshly issued nonce.
    fn valid(nonces: &MemoryNonces) -> (String, DidKey) {
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        (
            sign_claims(&key, &did.key_id(), &claims(&did, &nonce, t0(), 120)),
            did,
        )
    }

    fn verify(token: &str, nonces: &MemoryNonces) -> Result<HolderIdentity, AuthError> {
        verify_holder_token(token, AUD, nonces, t0())
    }

    /// The rejection, checked to be a 401 that does not echo the token.
    fn rejected(token: &str, nonces: &MemoryNonces) -> AuthError {
        let err = verify(token, nonces).unwrap_err();
        assert_eq!(err.status(), 401, "{err}");
        let shown = err.to_string();
        assert!(!token.is_empty() && !shown.contains(token), "{shown}");
        assert!(!shown.contains("did:key:z"), "{shown}");
        err
    }

    // ---- holder tokens ----

    #[test]
    fn valid_token_is_accepted_once() {
        let nonces = MemoryNonces::new();
        let (token, did) = valid(&nonces);
        let identity = verify(&token, &nonces).unwrap();
        assert_eq!(identity.did, did.as_str());
        identity.require(did.as_str()).unwrap();
        assert_eq!(
            identity.require(holder().1.as_str()),
            Err(AuthError::NotTheHolder)
        );
        // Replay: the nonce is spent.
        assert_eq!(rejected(&token, &nonces), AuthError::NonceRejected);
        assert!(nonces.is_empty());
    }

    #[test]
    fn alg_none_and_hs256_are_refused() {
        let nonces = MemoryNonces::new();
        let (_, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let none = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
            B64.encode(body.to_string())
        );
        assert_eq!(rejected(&none, &nonces), AuthError::AlgorithmNotAllowed);
        let hs256 = format!(
            "{}.{}.{}",
            B64.encode(json!({"alg": "HS256", "typ": "JWT", "kid": did.key_id()}).to_string()),
            B64.encode(body.to_string()),
            B64.encode([7u8; 32])
        );
        assert_eq!(rejected(&hs256, &nonces), AuthError::AlgorithmNotAllowed);
        // Neither burnt the nonce.
        assert_eq!(nonces.len(), 1);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let nonces = MemoryNonces::new();
        let (token, _) = valid(&nonces);
        for bad in [
            "abc".to_owned(),
            format!("{token}.x"),
            format!("{token}="),
            token.replacen('.', ".!", 1),
        ] {
            assert!(
                matches!(rejected(&bad, &nonces), AuthError::MalformedCredentials(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn wrong_or_missing_typ_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let vc = kyc_core::jws::sign(
            "vc+jwt",
            Some(&did.key_id()),
            body.to_string().as_bytes(),
            &key,
        );
        assert_eq!(rejected(&vc, &nonces), AuthError::WrongType);
        let untyped = raw_token(
            &json!({"alg": "EdDSA", "kid": did.key_id()}),
            &body,
            Some(&key),
        );
        assert_eq!(rejected(&untyped, &nonces), AuthError::WrongType);
    }

    #[test]
    fn signature_by_another_key_than_the_kid_is_refused() {
        let nonces = MemoryNonces::new();
        let (_, did) = holder();
        let (other_key, _) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let token = sign_claims(&other_key, &did.key_id(), &claims(&did, &nonce, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::BadSignature);
        // A zeroed signature as well.
        let zero = raw_token(
            &json!({"alg": "EdDSA", "typ": "JWT", "kid": did.key_id()}),
            &claims(&did, &nonce, t0(), 120),
            None,
        );
        assert_eq!(rejected(&zero, &nonces), AuthError::BadSignature);
    }

    #[test]
    fn kid_must_be_a_did_key_url() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let body = claims(&did, &nonce, t0(), 120);
        let web = sign_claims(&key, "did:web:example.com#key-1", &body);
        assert_eq!(
            rejected(&web, &nonces),
            AuthError::BadKeyId(DidError::BadFragment)
        );
        let bare = sign_claims(&key, did.as_str(), &body);
        assert_eq!(
            rejected(&bare, &nonces),
            AuthError::BadKeyId(DidError::BadFragment)
        );
        let not_key = sign_claims(&key, "did:key:web#web", &body);
        assert_eq!(
            rejected(&not_key, &nonces),
            AuthError::BadKeyId(DidError::NotDidKey)
        );
        let no_kid = raw_token(&json!({"alg": "EdDSA", "typ": "JWT"}), &body, Some(&key));
        assert!(matches!(
            rejected(&no_kid, &nonces),
            AuthError::MalformedCredentials(_)
        ));
    }

    #[test]
    fn iss_must_be_the_kid_did() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let (_, victim) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        // Properly signed by `did`, but claiming to be `victim`.
        let token = sign_claims(&key, &did.key_id(), &claims(&victim, &nonce, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::IssuerMismatch);
    }

    #[test]
    fn wrong_audience_is_refused_and_keeps_the_nonce() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let mut body = claims(&did, &nonce, t0(), 120);
        body["aud"] = json!("https://other.example");
        let token = sign_claims(&key, &did.key_id(), &body);
        assert_eq!(rejected(&token, &nonces), AuthError::WrongAudience);
        body["aud"] = json!([AUD]);
        let token = sign_claims(&key, &did.key_id(), &body);
        assert!(matches!(
            rejected(&token, &nonces),
            AuthError::MalformedCredentials(_)
        ));
        // A failed token does not burn the nonce: the right token still works.
        let good = sign_claims(&key, &did.key_id(), &claims(&did, &nonce, t0(), 120));
        assert_eq!(verify(&good, &nonces).unwrap().did, did.as_str());
    }

    #[test]
    fn claims_must_have_the_right_types() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        for (claim, value) in [
            ("iat", json!(1.5)),
            ("exp", json!("soon")),
            ("nonce", json!(null)),
        ] {
            let mut body = claims(&did, &nonce, t0(), 120);
            body[claim] = value;
            let token = sign_claims(&key, &did.key_id(), &body);
            assert!(matches!(
                rejected(&token, &nonces),
                AuthError::MalformedCredentials(_)
            ));
        }
        let mut body = claims(&did, &nonce, t0(), 120);
        body.as_object_mut().unwrap().remove("nonce");
        let token = sign_claims(&key, &did.key_id(), &body);
        assert!(matches!(
            rejected(&token, &nonces),
            AuthError::MalformedCredentials(m) if m.contains("nonce")
        ));
    }

    #[test]
    fn time_window_is_enforced() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let with = |iat: DateTime<Utc>, lifetime: i64| {
            sign_claims(&key, &did.key_id(), &claims(&did, &nonce, iat, lifetime))
        };
        // Expired, and exactly at exp (the current time must be before exp).
        assert_eq!(
            rejected(&with(t0() - secs(200), 100), &nonces),
            AuthError::Expired
        );
        assert_eq!(
            rejected(&with(t0() - secs(100), 100), &nonces),
            AuthError::Expired
        );
        // Lifetime over 300 s, zero, negative.
        assert_eq!(rejected(&with(t0(), 301), &nonces), AuthError::BadLifetime);
        assert_eq!(rejected(&with(t0(), 0), &nonces), AuthError::BadLifetime);
        assert_eq!(rejected(&with(t0(), -10), &nonces), AuthError::BadLifetime);
        // iat more than 60 s ahead.
        assert_eq!(
            rejected(&with(t0() + secs(61), 100), &nonces),
            AuthError::NotYetValid
        );
        // Overflowing NumericDates are refused, not wrapped.
        let mut body = claims(&did, &nonce, t0(), 100);
        body["iat"] = json!(i64::MIN);
        body["exp"] = json!(i64::MAX);
        let extreme = sign_claims(&key, &did.key_id(), &body);
        assert_eq!(rejected(&extreme, &nonces), AuthError::BadLifetime);
        // Boundaries that pass: 300 s lifetime, iat exactly 60 s ahead.
        assert!(verify(&with(t0() + secs(60), 300), &nonces).is_ok());
    }

    #[test]
    fn unknown_nonce_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let made_up = generate_nonce().unwrap();
        let token = sign_claims(&key, &did.key_id(), &claims(&did, &made_up, t0(), 120));
        assert_eq!(rejected(&token, &nonces), AuthError::NonceRejected);
    }

    #[test]
    fn expired_nonce_is_refused() {
        let nonces = MemoryNonces::new();
        let (key, did) = holder();
        let nonce = nonces.issue(t0()).unwrap();
        let later = t0() + secs(NONCE_TTL_SECS);
        let token = sign_claims(&key, &did.key_id(), &claims(&did, &nonce, later, 120));
        assert_eq!(
            verify_holder_token(&token, AUD, &nonces, later),
            Err(AuthError::NonceRejected)
        );
    }

    #[test]
    fn authenticate_holder_reads_the_header() {
        let nonces = MemoryNonces::new();
        let (token, did) = valid(&nonces);
        let mut headers = HeaderMap::new();
        assert_eq!(
            authenticate_holder(&headers, AUD, &nonces, t0()),
            Err(AuthError::MissingCredentials)
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let identity = authenticate_holder(&headers, AUD, &nonces, t0()).unwrap();
        assert_eq!(identity.did, did.as_str());
    }

    // ---- nonces ----

    #[test]
    fn nonces_are_random_base64url_and_single_use() {
        let nonces = MemoryNonces::new();
        let a = nonces.issue(t0()).unwrap();
        let b = nonces.issue(t0()).unwrap();
        assert_ne!(a, b);
        assert_eq!(B64.decode(&a).unwrap().len(), NONCE_BYTES);
        assert_eq!(nonces.len(), 2);
        assert!(nonces.consume(&a, t0()).unwrap());
        assert!(!nonces.consume(&a, t0()).unwrap());
        assert!(!nonces.consume("never-issued", t0()).unwrap());
        // Expiry: usable until just before issue time + TTL.
        assert!(nonces.consume(&b, t0() + secs(NONCE_TTL_SECS - 1)).unwrap());
        let c = nonces.issue(t0()).unwrap();
        assert!(!nonces.consume(&c, t0() + secs(NONCE_TTL_SECS)).unwrap());
        assert!(nonces.is_empty());
        assert_eq!(nonces.lifetime(), secs(NONCE_TTL_SECS));
    }

    #[test]
    fn nonce_store_is_bounded_and_prunes() {
        let nonces = MemoryNonces::with_limits(secs(10), 2);
        let a = nonces.issue(t0()).unwrap();
        nonces.issue(t0() + secs(5)).unwrap();
        let err = nonces.issue(t0() + secs(6)).unwrap_err();
        assert_eq!(err, AuthError::TooManyNonces);
        assert_eq!(err.status(), 503);
        // Using one frees a slot.
        assert!(nonces.consume(&a, t0() + secs(6)).unwrap());
        nonces.issue(t0() + secs(6)).unwrap();
        // Once both remaining expire they are pruned on the next call.
        nonces.issue(t0() + secs(16)).unwrap();
        assert_eq!(nonces.len(), 1);
        let shown = format!("{nonces:?}");
        assert!(shown.contains("outstanding: 1"), "{shown}");
    }

    // ---- bearer extraction ----

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
            assert_eq!(err.status(), 401);
            assert_eq!(
                err.www_authenticate(),
                Some("Bearer error=\"invalid_request\"")
            );
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

    // ---- staff ----

    fn entry(id: &str, role: Role, token: &str) -> StaffEntry {
        StaffEntry {
            id: id.into(),
            role,
            token_sha256: hash_token(token),
        }
    }

    fn directory() -> StaffDirectory {
        StaffDirectory::new(vec![
            entry("alice", Role::Admin, "tok-alice"),
            entry("bob", Role::Reviewer, "tok-bob"),
            entry("carol", Role::Auditor, "tok-carol"),
        ])
        .unwrap()
    }

    // FIPS 180-2 Appendix B.1: SHA-256("abc").
    #[test]
    fn hash_token_known_answer() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            parse_sha256_hex(&hash_token("abc")).unwrap().to_vec(),
            Sha256::digest(b"abc").to_vec()
        );
    }

    #[test]
    fn staff_config_parses_from_toml() {
        #[derive(Deserialize)]
        struct Config {
            staff: Vec<StaffEntry>,
        }
        let text = format!(
            "[[staff]]\nid = \"alice\"\nrole = \"admin\"\ntoken_sha256 = \"{}\"\n\
             [[staff]]\nid = \"bob\"\nrole = \"reviewer\"\ntoken_sha256 = \"{}\"\n",
            hash_token("tok-alice"),
            hash_token("tok-bob")
        );
        let config: Config = toml::from_str(&text).unwrap();
        let staff = StaffDirectory::new(config.staff).unwrap();
        assert_eq!(staff.len(), 2);
        assert_eq!(
            staff.authenticate("tok-bob"),
            Some(StaffMember {
                id: "bob".into(),
                role: Role::Reviewer
            })
        );
        let unknown_role = text.replace("\"reviewer\"", "\"superuser\"");
        assert!(toml::from_str::<Config>(&unknown_role).is_err());
        let extra_field = text.replace("role = \"admin\"", "role = \"admin\"\ntoken = \"x\"");
        assert!(toml::from_str::<Config>(&extra_field).is_err());
    }

    #[test]
    fn staff_authentication() {
        let staff = directory();
        let alice = staff.authenticate("tok-alice").unwrap();
        assert_eq!((alice.id.as_str(), alice.role), ("alice", Role::Admin));
        assert_eq!(staff.authenticate("tok-carol").unwrap().role, Role::Auditor);
        assert_eq!(staff.authenticate("tok-mallory"), None);
        assert_eq!(staff.authenticate(""), None);
        assert_eq!(StaffDirectory::new(vec![]).unwrap().authenticate("x"), None);
    }

    #[test]
    fn roles_are_explicit() {
        let staff = directory();
        let alice = staff.authenticate("tok-alice").unwrap();
        // admin does not imply reviewer.
        let err = alice.require(&[Role::Reviewer]).unwrap_err();
        assert_eq!(err, AuthError::Forbidden { role: Role::Admin });
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.www_authenticate(),
            Some("Bearer error=\"insufficient_scope\"")
        );
        alice.require(&[Role::Reviewer, Role::Admin]).unwrap();
    }

    #[test]
    fn staff_authorize_reads_the_header() {
        let staff = directory();
        let accepted = [Role::Reviewer];
        assert_eq!(
            staff.authorize(&headers(&[]), &accepted),
            Err(AuthError::MissingCredentials)
        );
        let err = staff
            .authorize(&headers(&["Bearer tok-mallory"]), &accepted)
            .unwrap_err();
        assert_eq!(err, AuthError::InvalidStaffToken);
        assert_eq!(err.status(), 401);
        assert!(!err.to_string().contains("tok-mallory"));
        assert_eq!(
            staff.authorize(&headers(&["Bearer tok-carol"]), &accepted),
            Err(AuthError::Forbidden {
                role: Role::Auditor
            })
        );
        assert_eq!(
            staff
                .authorize(&headers(&["Bearer tok-bob"]), &accepted)
                .unwrap()
                .id,
            "bob"
        );
    }

    #[test]
    fn bad_staff_config_is_refused() {
        let good = entry("alice", Role::Admin, "tok-alice");
        let refused = |entries: Vec<StaffEntry>| match StaffDirectory::new(entries) {
            Err(AuthError::InvalidStaffConfig { entry, reason }) => (entry, reason),
            other => panic!("expected InvalidStaffConfig, got {other:?}"),
        };
        // Duplicate id.
        let (at, reason) = refused(vec![good.clone(), entry("alice", Role::Reviewer, "other")]);
        assert_eq!(at, 2);
        assert!(reason.contains("duplicate"), "{reason}");
        // Same token twice.
        let (at, _) = refused(vec![
            good.clone(),
            entry("bob", Role::Reviewer, "tok-alice"),
        ]);
        assert_eq!(at, 2);
        // Bad digests: short, long, uppercase, not hex, the token itself.
        let digest = hash_token("tok");
        for bad in [
            digest[..63].to_owned(),
            format!("{digest}0"),
            digest.to_uppercase(),
            digest.replacen(|c: char| c.is_ascii_hexdigit(), "g", 1),
            "tok".to_owned(),
            String::new(),
        ] {
            let mut e = good.clone();
            e.token_sha256 = bad.clone();
            let (at, reason) = refused(vec![e]);
            assert_eq!(at, 1);
            assert!(reason.contains("hex"), "{bad}: {reason}");
        }
        // Bad ids.
        for bad in ["", "alice@example.com", "a b", &"x".repeat(65)] {
            let mut e = good.clone();
            e.id = bad.into();
            let (_, reason) = refused(vec![e]);
            assert!(reason.contains("id"), "{bad}: {reason}");
        }
        let err = StaffDirectory::new(vec![good.clone(), good]).unwrap_err();
        assert_eq!(err.status(), 500);
        assert!(err.to_string().starts_with("[[staff]] entry 2:"), "{err}");
    }

    #[test]
    fn debug_shows_no_tokens_or_digests() {
        let staff = directory();
        let shown = format!("{staff:?}");
        assert!(
            shown.contains("alice") && shown.contains("Admin"),
            "{shown}"
        );
        for token in ["tok-alice", "tok-bob", "tok-carol"] {
            assert!(!shown.contains(token), "{shown}");
            assert!(!shown.contains(&hash_token(token)), "{shown}");
        }
        let e = entry("alice", Role::Admin, "tok-alice");
        let shown = format!("{e:?}");
        assert!(!shown.contains(&e.token_sha256), "{shown}");
    }

    #[test]
    fn statuses_and_challenges() {
        assert_eq!(
            AuthError::MissingCredentials.www_authenticate(),
            Some("Bearer")
        );
        assert_eq!(
            AuthError::Expired.www_authenticate(),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(AuthError::NotTheHolder.status(), 403);
        assert_eq!(AuthError::TooManyNonces.www_authenticate(), None);
        assert_eq!(AuthError::NonceStore("x".into()).status(), 500);
        assert_eq!(AuthError::BadSignature.code(), "bad-signature");
    }
}
