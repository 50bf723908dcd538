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
//! # Errors
//!
//! [`AuthError::kind`] keeps *no usable credentials* and *credentials that do not verify*
//! ([`AuthFailure::Unauthenticated`]) apart from *authenticated but not allowed*
//! ([`AuthFailure::Forbidden`]); the API maps them to 401 and 403 with their RFC 6750 §3
//! challenge. No message ever contains a token, a nonce, a DID or any other value taken from the
//! request. Reading the bearer token out of the `Authorization` header is the API's too.
//!
//! # Layout
//! - `error`: [`AuthError`] and what kind of failure each is.
//! - `limits`: the bounds of holder tokens and nonces.
//! - `role`: the staff [`Role`]s.
//! - `nonces`: single-use server nonces ([`NonceStore`], [`MemoryNonces`]).
//! - `holder`: holder tokens ([`verify_holder_token`]).
//! - `staff`: staff tokens and the [`StaffDirectory`].

mod error;
mod holder;
mod limits;
mod nonces;
mod role;
mod staff;

pub use error::{AuthError, AuthFailure};
pub use holder::{verify_holder_token, HolderIdentity};
pub use limits::{
    HOLDER_TOKEN_TYP, MAX_CLOCK_SKEW_SECS, MAX_NONCES_PER_CLIENT, MAX_OUTSTANDING_NONCES,
    MAX_TOKEN_LIFETIME_SECS, NONCE_TTL_SECS,
};
pub use nonces::{generate_nonce, MemoryNonces, NonceStore};
pub use role::Role;
pub use staff::{hash_token, StaffConfigError, StaffDirectory, StaffEntry, StaffMember};
