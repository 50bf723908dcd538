//! The bounds of holder tokens and nonces: what tokens and their errors name, and what the API
//! document states.

/// The JWS `typ` of a holder token (RFC 7519 §5.1).
pub const HOLDER_TOKEN_TYP: &str = "JWT";

/// The longest a holder token may live: `exp - iat` is at most this many seconds.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;

/// How far in the future a holder token's `iat` may be, for clocks that run ahead.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// How long an issued nonce stays usable, in seconds.
pub const NONCE_TTL_SECS: i64 = 300;

/// The most nonces `MemoryNonces` keeps outstanding before it refuses to issue more.
///
/// Nonces are handed out without authentication, so the bound keeps a flood of requests from
/// exhausting memory (about 150 bytes per nonce, so ~150 MB at the bound).
pub const MAX_OUTSTANDING_NONCES: usize = 1_000_000;

/// The most nonces `MemoryNonces` keeps outstanding for one client (by address) unless
/// configured otherwise (`[limits] nonces_per_client`): a wallet uses each at once, so a
/// client holding this many is asking for them to fill the store.
pub const MAX_NONCES_PER_CLIENT: usize = 1_000;
