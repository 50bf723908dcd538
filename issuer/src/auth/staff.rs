//! Staff tokens: opaque bearer tokens, kept in the configuration only as SHA-256 digests, each
//! with one [`Role`].

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

use super::error::AuthError;
use super::role::Role;

/// Longest staff id accepted.
const MAX_STAFF_ID_LEN: usize = 64;

/// A `[[staff]]` configuration entry is invalid: refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[[staff]] entry {entry}: {reason}")]
pub struct StaffConfigError {
    /// Position of the entry, counting from 1.
    pub entry: usize,
    /// What is wrong with it.
    pub reason: &'static str,
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
    pub fn new(entries: Vec<StaffEntry>) -> Result<Self, StaffConfigError> {
        let mut ids = HashSet::new();
        let mut digests = HashSet::new();
        let mut members = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let invalid = |reason| StaffConfigError {
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

    /// [`Self::authenticate`] the bearer `token`, then [`StaffMember::require`]: the whole
    /// check for a staff route that accepts the roles in `accepted`.
    pub fn authorize(&self, token: &str, accepted: &[Role]) -> Result<StaffMember, AuthError> {
        let member = self
            .authenticate(token)
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
    use crate::auth::AuthFailure;

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
        assert_eq!(err.kind(), AuthFailure::Forbidden);
        alice.require(&[Role::Reviewer, Role::Admin]).unwrap();
    }

    #[test]
    fn staff_authorize_checks_token_and_role() {
        let staff = directory();
        let accepted = [Role::Reviewer];
        let err = staff.authorize("tok-mallory", &accepted).unwrap_err();
        assert_eq!(err, AuthError::InvalidStaffToken);
        assert_eq!(err.kind(), AuthFailure::Unauthenticated);
        assert!(!err.to_string().contains("tok-mallory"));
        assert_eq!(
            staff.authorize("tok-carol", &accepted),
            Err(AuthError::Forbidden {
                role: Role::Auditor
            })
        );
        assert_eq!(staff.authorize("tok-bob", &accepted).unwrap().id, "bob");
    }

    #[test]
    fn bad_staff_config_is_refused() {
        let good = entry("alice", Role::Admin, "tok-alice");
        let refused = |entries: Vec<StaffEntry>| match StaffDirectory::new(entries) {
            Err(StaffConfigError { entry, reason }) => (entry, reason),
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
}
