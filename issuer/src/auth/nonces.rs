//! Single-use server nonces: handed out by `POST /v1/nonce`, used up by the holder token that
//! names them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore as _;

use super::error::AuthError;
use super::limits::{MAX_NONCES_PER_CLIENT, MAX_OUTSTANDING_NONCES, NONCE_TTL_SECS};

/// Random bytes in a nonce: 256 bits, well above the 128 the design asks for.
const NONCE_BYTES: usize = 32;

/// Where server nonces live between `POST /v1/nonce` and the holder token that uses them.
///
/// Implementations must be safe to share between request handlers. A nonce is usable exactly
/// once, and only before its expiry. Nonces are handed out to anyone, so a store bounds how
/// many one client (by address, as the API counts clients) may hold, and how many all may.
pub trait NonceStore: Send + Sync {
    /// Issue a fresh random nonce ([`generate_nonce`]) to `client`, usable until
    /// `now + self.lifetime()`.
    fn issue(&self, client: IpAddr, now: DateTime<Utc>) -> Result<String, AuthError>;

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
/// to what expired since the last one. At most `per_client` nonces are outstanding for one
/// client (beyond that [`NonceStore::issue`] answers [`AuthError::TooManyNoncesForClient`] to
/// that client alone), and at most `capacity` in all ([`AuthError::TooManyNonces`]), so that
/// one client exhausting its share leaves the others theirs, and filling the whole store takes
/// `capacity / per_client` clients. Nonces do not survive a restart, which only means holders
/// fetch a new one.
pub struct MemoryNonces {
    ttl: TimeDelta,
    capacity: usize,
    per_client: usize,
    outstanding: Mutex<Outstanding>,
}

#[derive(Default)]
struct Outstanding {
    /// Each nonce's expiry and the client it was issued to.
    expiry_of: HashMap<String, (DateTime<Utc>, IpAddr)>,
    by_expiry: BTreeSet<(DateTime<Utc>, String)>,
    /// How many nonces each client holds (clients with none are not kept).
    by_client: HashMap<IpAddr, usize>,
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
                self.forget(&nonce);
            }
        }
    }

    /// Remove `nonce` from the expiry map and its client's count; its expiry, if it was there.
    fn forget(&mut self, nonce: &str) -> Option<DateTime<Utc>> {
        let (expiry, client) = self.expiry_of.remove(nonce)?;
        if let Some(count) = self.by_client.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_client.remove(&client);
            }
        }
        Some(expiry)
    }
}

impl MemoryNonces {
    /// A store with [`NONCE_TTL_SECS`], [`MAX_OUTSTANDING_NONCES`] and
    /// [`MAX_NONCES_PER_CLIENT`].
    pub fn new() -> Self {
        Self::with_limits(
            TimeDelta::seconds(NONCE_TTL_SECS),
            MAX_OUTSTANDING_NONCES,
            MAX_NONCES_PER_CLIENT,
        )
    }

    /// A store with its own nonce lifetime, bound on outstanding nonces, and bound per client.
    pub fn with_limits(ttl: TimeDelta, capacity: usize, per_client: usize) -> Self {
        Self {
            ttl,
            capacity,
            per_client: per_client.max(1),
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
            .field("per_client", &self.per_client)
            .field("outstanding", &self.len())
            .finish()
    }
}

impl NonceStore for MemoryNonces {
    fn issue(&self, client: IpAddr, now: DateTime<Utc>) -> Result<String, AuthError> {
        let nonce = generate_nonce()?;
        let expiry = now
            .checked_add_signed(self.ttl)
            .ok_or_else(|| AuthError::NonceStore("nonce expiry out of range".into()))?;
        let mut outstanding = self.lock();
        outstanding.prune(now);
        if outstanding.by_client.get(&client).copied().unwrap_or(0) >= self.per_client {
            return Err(AuthError::TooManyNoncesForClient);
        }
        if outstanding.expiry_of.len() >= self.capacity {
            return Err(AuthError::TooManyNonces);
        }
        if outstanding.expiry_of.contains_key(&nonce) {
            // 2^-256: a broken RNG, not bad luck.
            return Err(AuthError::NonceStore("random nonce repeated".into()));
        }
        outstanding
            .expiry_of
            .insert(nonce.clone(), (expiry, client));
        outstanding.by_expiry.insert((expiry, nonce.clone()));
        *outstanding.by_client.entry(client).or_default() += 1;
        Ok(nonce)
    }

    fn consume(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, AuthError> {
        let mut outstanding = self.lock();
        outstanding.prune(now);
        match outstanding.forget(nonce) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthFailure;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    #[test]
    fn nonces_are_random_base64url_and_single_use() {
        let nonces = MemoryNonces::new();
        let a = nonces.issue(CLIENT, t0()).unwrap();
        let b = nonces.issue(CLIENT, t0()).unwrap();
        assert_ne!(a, b);
        assert_eq!(B64.decode(&a).unwrap().len(), NONCE_BYTES);
        assert_eq!(nonces.len(), 2);
        assert!(nonces.consume(&a, t0()).unwrap());
        assert!(!nonces.consume(&a, t0()).unwrap());
        assert!(!nonces.consume("never-issued", t0()).unwrap());
        // Expiry: usable until just before issue time + TTL.
        assert!(nonces.consume(&b, t0() + secs(NONCE_TTL_SECS - 1)).unwrap());
        let c = nonces.issue(CLIENT, t0()).unwrap();
        assert!(!nonces.consume(&c, t0() + secs(NONCE_TTL_SECS)).unwrap());
        assert!(nonces.is_empty());
        assert_eq!(nonces.lifetime(), secs(NONCE_TTL_SECS));
    }

    #[test]
    fn nonce_store_is_bounded_and_prunes() {
        let nonces = MemoryNonces::with_limits(secs(10), 2, 10);
        let a = nonces.issue(CLIENT, t0()).unwrap();
        nonces.issue(CLIENT, t0() + secs(5)).unwrap();
        let err = nonces.issue(CLIENT, t0() + secs(6)).unwrap_err();
        assert_eq!(err, AuthError::TooManyNonces);
        assert_eq!(err.kind(), AuthFailure::Unavailable);
        // Using one frees a slot.
        assert!(nonces.consume(&a, t0() + secs(6)).unwrap());
        nonces.issue(CLIENT, t0() + secs(6)).unwrap();
        // Once both remaining expire they are pruned on the next call.
        nonces.issue(CLIENT, t0() + secs(16)).unwrap();
        assert_eq!(nonces.len(), 1);
        let shown = format!("{nonces:?}");
        assert!(shown.contains("outstanding: 1"), "{shown}");
    }

    #[test]
    fn one_client_at_its_share_leaves_the_others_theirs() {
        let other = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
        let nonces = MemoryNonces::with_limits(secs(10), 3, 2);
        let a = nonces.issue(CLIENT, t0()).unwrap();
        nonces.issue(CLIENT, t0()).unwrap();
        let err = nonces.issue(CLIENT, t0()).unwrap_err();
        assert_eq!(err, AuthError::TooManyNoncesForClient);
        assert_eq!(err.kind(), AuthFailure::Throttled);
        nonces.issue(other, t0()).unwrap();
        // The store is full now: everyone waits.
        assert_eq!(
            nonces.issue(other, t0()).unwrap_err(),
            AuthError::TooManyNonces
        );
        // Using one gives the client its place back; expiry gives back the rest.
        assert!(nonces.consume(&a, t0()).unwrap());
        nonces.issue(CLIENT, t0()).unwrap();
        nonces.issue(CLIENT, t0() + secs(10)).unwrap();
        assert_eq!(nonces.len(), 1);
    }
}
