//! The audit log's hash chain: one RFC 8785 (JCS) canonical JSON entry a line.
//!
//! An entry is `{seq, time, kind, prev, data}`: `seq` counts from 0 without gaps, `time` is
//! RFC 3339 UTC, `prev` is the previous entry's hash in standard base64 (32 zero bytes for seq
//! 0), `data` is a JSON object. An entry's hash is the RFC 6962 leaf hash of its line,
//! `SHA-256(0x00 || line)` (RFC 9162 §2.1.1), so the entries are also the leaves of the log's
//! Merkle tree. [`Chain`] checks the links and keeps that tree's [`Frontier`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::merkle::{leaf_hash, Frontier, Hash};

/// The `prev` of the entry with seq 0: 32 zero bytes.
pub const GENESIS_PREV: Hash = Hash([0; 32]);

/// One audit log entry.
///
/// Its serde form is the JSON object of the line; [`Entry::canonical_line`] and
/// [`Entry::parse_line`] are the only ways in and out of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log, from 0 without gaps.
    pub seq: u64,
    /// When the event happened, UTC. Serialised as RFC 3339 with `Z` and only as many fractional
    /// digits as needed (0, 3, 6 or 9).
    pub time: DateTime<Utc>,
    /// What kind of event this is.
    pub kind: String,
    /// The previous entry's hash ([`GENESIS_PREV`] for seq 0), in standard base64.
    pub prev: Hash,
    /// The event's fields: pseudonymous ids and commitments, never personal data.
    pub data: Map<String, Value>,
}

/// A line is not an audit entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Not JSON, or not the JSON of an entry: a member missing, unknown or repeated, a value of
    /// the wrong type, a `time` that is not RFC 3339, a `prev` that is not base64 of 32 bytes.
    #[error("not an audit entry: {0}")]
    Json(String),
    /// The JSON is an entry, but the line is not byte for byte its RFC 8785 canonical form
    /// (member order, white space, escapes, number form, time form, base64 form).
    #[error("audit entry is not in RFC 8785 canonical form")]
    NotCanonical,
    /// The entry holds a value RFC 8785 cannot write (a number beyond IEEE 754 double range).
    #[error("audit entry cannot be canonicalised: {0}")]
    Unrepresentable(String),
}

impl Entry {
    /// The entry's line: its RFC 8785 canonical JSON, without a line terminator.
    pub fn canonical_line(&self) -> Result<String, EntryError> {
        serde_json_canonicalizer::to_string(self)
            .map_err(|e| EntryError::Unrepresentable(e.to_string()))
    }

    /// The entry's hash, `SHA-256(0x00 || line)` (RFC 9162 §2.1.1): the next entry's `prev` and
    /// this entry's leaf in the log's Merkle tree.
    pub fn hash(&self) -> Result<Hash, EntryError> {
        Ok(leaf_hash(self.canonical_line()?.as_bytes()))
    }

    /// Parses one line (without its terminator), accepting only the exact bytes
    /// [`Entry::canonical_line`] would write.
    pub fn parse_line(line: &str) -> Result<Self, EntryError> {
        let entry: Self =
            serde_json::from_str(line).map_err(|e| EntryError::Json(e.to_string()))?;
        match entry.canonical_line() {
            Ok(canonical) if canonical == line => Ok(entry),
            _ => Err(EntryError::NotCanonical),
        }
    }
}

/// The chain breaks at entry `seq`: everything before it checked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Malformed: the line at position `seq` is not an audit entry.
    #[error("audit entry {seq}: {source}")]
    Malformed {
        /// The position of the line (the seq it should have had).
        seq: u64,
        /// What is wrong with it.
        source: EntryError,
    },
    /// Does not verify: the entry at position `expected` claims another seq (a gap, a repeat,
    /// or a reordering).
    #[error("audit entry {expected} has seq {found}")]
    Seq {
        /// The position of the entry.
        expected: u64,
        /// The seq it claims.
        found: u64,
    },
    /// Does not verify: `prev` is not the previous entry's hash (for seq 0: not 32 zero bytes).
    #[error("audit entry {seq}: prev is not the previous entry's hash")]
    Prev {
        /// The entry's seq.
        seq: u64,
    },
    /// Does not verify: the entry's time is before the previous entry's.
    #[error("audit entry {seq}: time {time} is before the previous entry's {previous}")]
    TimeReversed {
        /// The entry's seq.
        seq: u64,
        /// Its time.
        time: DateTime<Utc>,
        /// The previous entry's time.
        previous: DateTime<Utc>,
    },
}

impl ChainError {
    /// The seq (position) of the first entry that fails.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Malformed { seq, .. } | Self::Prev { seq } | Self::TimeReversed { seq, .. } => {
                *seq
            }
            Self::Seq { expected, .. } => *expected,
        }
    }
}

/// A hash chain checked so far: what the next entry must link to, and the Merkle root over all
/// entries accepted.
///
/// An auditor feeds it every line of the log ([`Chain::append_line`]); the log itself uses
/// [`Chain::next_entry`] and [`Chain::append`] to write. Memory is O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    tree: Frontier,
    last_hash: Hash,
    last_time: Option<DateTime<Utc>>,
}

impl Chain {
    /// The empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries have been accepted; also the seq of the next one.
    pub fn len(&self) -> u64 {
        self.tree.size()
    }

    /// Whether no entry has been accepted yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of the last entry accepted ([`GENESIS_PREV`] when empty): the next `prev`.
    pub fn last_hash(&self) -> Hash {
        self.last_hash
    }

    /// The RFC 6962 root over the hashes of all entries accepted (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The entry that would come next, with these contents. Does not append it.
    pub fn next_entry(
        &self,
        time: DateTime<Utc>,
        kind: impl Into<String>,
        data: Map<String, Value>,
    ) -> Entry {
        Entry {
            seq: self.len(),
            time,
            kind: kind.into(),
            prev: self.last_hash,
            data,
        }
    }

    /// Checks one line of the log (strictly parsed, see [`Entry::parse_line`]) against the chain
    /// and appends it; returns the entry's hash.
    pub fn append_line(&mut self, line: &str) -> Result<Hash, ChainError> {
        let entry = Entry::parse_line(line).map_err(|source| ChainError::Malformed {
            seq: self.len(),
            source,
        })?;
        self.link(&entry, line)
    }

    /// Checks an entry against the chain and appends it; returns the entry's hash.
    pub fn append(&mut self, entry: &Entry) -> Result<Hash, ChainError> {
        let line = entry
            .canonical_line()
            .map_err(|source| ChainError::Malformed {
                seq: self.len(),
                source,
            })?;
        self.link(entry, &line)
    }

    fn link(&mut self, entry: &Entry, line: &str) -> Result<Hash, ChainError> {
        let seq = self.len();
        if entry.seq != seq {
            return Err(ChainError::Seq {
                expected: seq,
                found: entry.seq,
            });
        }
        if entry.prev != self.last_hash {
            return Err(ChainError::Prev { seq });
        }
        if let Some(previous) = self.last_time {
            if entry.time < previous {
                return Err(ChainError::TimeReversed {
                    seq,
                    time: entry.time,
                    previous,
                });
            }
        }
        // SHA-256(0x00 || line), RFC 9162 §2.1.1.
        let hash = leaf_hash(line.as_bytes());
        self.tree.push(hash);
        self.last_hash = hash;
        self.last_time = Some(entry.time);
        Ok(hash)
    }
}

/// Checks a whole log, line by line from seq 0; the chain returned gives its length and root.
pub fn verify_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Chain, ChainError> {
    let mut chain = Chain::new();
    for line in lines {
        chain.append_line(line)?;
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn three_lines() -> Vec<String> {
        let mut chain = Chain::new();
        let mut lines = Vec::new();
        for (i, time) in [
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.5Z",
            "2026-02-01T00:00:00Z",
        ]
        .iter()
        .enumerate()
        {
            let entry = chain.next_entry(at(time), "credential.issued", data(json!({"n": i})));
            let line = entry.canonical_line().unwrap();
            assert_eq!(chain.append(&entry).unwrap(), leaf_hash(line.as_bytes()));
            lines.push(line);
        }
        lines
    }

    #[test]
    fn known_answer_first_entry() {
        let entry = Entry {
            seq: 0,
            time: at("2026-01-02T03:04:05Z"),
            kind: "credential.issued".into(),
            prev: GENESIS_PREV,
            data: data(json!({"subject": "psn:1", "tier": 2, "b": [true, null, 1.5]})),
        };
        // RFC 8785 §3.2.3: members sorted by UTF-16 code units; no white space.
        let want = concat!(
            r#"{"data":{"b":[true,null,1.5],"subject":"psn:1","tier":2},"#,
            r#""kind":"credential.issued","#,
            r#""prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","#,
            r#""seq":0,"time":"2026-01-02T03:04:05Z"}"#
        );
        assert_eq!(entry.canonical_line().unwrap(), want);
        // SHA-256(0x00 || line), computed independently with Python's hashlib.
        let hex: String = entry
            .hash()
            .unwrap()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "ca4564e9a7072c5129d14b0bfc9bbad1ac8252994d11034e4975ee7ec4de06f5"
        );
        assert_eq!(Entry::parse_line(want).unwrap(), entry);
    }

    #[test]
    fn chain_verifies_and_tracks_root() {
        let lines = three_lines();
        let chain = verify_lines(lines.iter().map(String::as_str)).unwrap();
        assert_eq!(chain.len(), 3);
        let leaves: Vec<Hash> = lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
        assert_eq!(chain.root(), crate::tlog::merkle::root(&leaves));
        assert_eq!(chain.last_hash(), leaves[2]);
        let second = Entry::parse_line(&lines[1]).unwrap();
        assert_eq!(second.prev, leaves[0]);
        assert_eq!(second.seq, 1);
    }

    #[test]
    fn parse_rejects_non_canonical_lines() {
        let line = three_lines().remove(0);
        let reject = |bad: &str, json_error: bool| {
            let err = Entry::parse_line(bad).unwrap_err();
            assert_eq!(
                matches!(err, EntryError::Json(_)),
                json_error,
                "{bad}: {err:?}"
            );
            if !json_error {
                assert_eq!(err, EntryError::NotCanonical, "{bad}");
            }
        };
        // White space, member order, number form, time form, escapes, line terminators.
        reject(&line.replacen(':', ": ", 1), false);
        reject(&format!("{line}\n"), false);
        reject(&format!(" {line}"), false);
        reject(&line.replace(r#""n":0"#, r#""n":0.0"#), false);
        reject(&line.replace(r#""n":0"#, r#""n":-0"#), false);
        reject(&line.replace("03:04:05Z", "03:04:05.000Z"), false);
        reject(&line.replace("03:04:05Z", "03:04:05+00:00"), false);
        reject(
            &line.replace("credential.issued", r"credential\u002eissued"),
            false,
        );
        let reordered = line.replacen(r#"{"data":{"n":0},"#, "{", 1).replacen(
            r#""time":"2026-01-02T03:04:05Z"}"#,
            r#""time":"2026-01-02T03:04:05Z","data":{"n":0}}"#,
            1,
        );
        reject(&reordered, false);
        // Structure.
        reject(
            &line.replacen(r#""seq":0"#, r#""seq":0,"extra":1"#, 1),
            true,
        );
        reject(&line.replacen(r#","seq":0"#, "", 1), true);
        reject(&line.replacen(r#""seq":0"#, r#""seq":0,"seq":0"#, 1), true);
        reject(&line.replacen(r#"{"n":0}"#, "[0]", 1), true);
        reject(&line.replacen(r#""seq":0"#, r#""seq":-1"#, 1), true);
        reject(&line.replacen(r#""seq":0"#, r#""seq":"0""#, 1), true);
        reject(&line.replace("2026-01-02T03:04:05Z", "yesterday"), true);
        reject(
            &line.replace("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAA"),
            true,
        );
        reject(
            &line.replace(
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
            ),
            true,
        );
        reject("", true);
    }

    #[test]
    fn chain_reports_first_broken_link() {
        let lines = three_lines();
        let entries: Vec<Entry> = lines
            .iter()
            .map(|l| Entry::parse_line(l).unwrap())
            .collect();

        // A gap: drop entry 1.
        let err = verify_lines([lines[0].as_str(), lines[2].as_str()]).unwrap_err();
        assert_eq!(
            err,
            ChainError::Seq {
                expected: 1,
                found: 2
            }
        );
        assert_eq!(err.seq(), 1);

        // A repeat.
        let err = verify_lines([lines[0].as_str(), lines[0].as_str()]).unwrap_err();
        assert_eq!(
            err,
            ChainError::Seq {
                expected: 1,
                found: 0
            }
        );

        // Entry 1 edited: entry 2's prev no longer matches.
        let mut edited = entries[1].clone();
        edited.kind = "credential.revoked".into();
        let edited = edited.canonical_line().unwrap();
        let err =
            verify_lines([lines[0].as_str(), edited.as_str(), lines[2].as_str()]).unwrap_err();
        assert_eq!(err, ChainError::Prev { seq: 2 });

        // Entry 0 with a non-zero prev.
        let mut first = entries[0].clone();
        first.prev = Hash([1; 32]);
        let err = Chain::new().append(&first).unwrap_err();
        assert_eq!(err, ChainError::Prev { seq: 0 });

        // Time going backwards.
        let mut chain = verify_lines(lines.iter().map(String::as_str)).unwrap();
        let back = chain.next_entry(at("2026-01-31T23:59:59Z"), "x", Map::new());
        assert_eq!(
            chain.append(&back),
            Err(ChainError::TimeReversed {
                seq: 3,
                time: at("2026-01-31T23:59:59Z"),
                previous: at("2026-02-01T00:00:00Z"),
            })
        );
        // Equal times are fine.
        let same = chain.next_entry(at("2026-02-01T00:00:00Z"), "x", Map::new());
        assert!(chain.append(&same).is_ok());

        // A malformed line reports its position.
        let err = verify_lines([lines[0].as_str(), "{}"]).unwrap_err();
        assert!(matches!(
            err,
            ChainError::Malformed {
                seq: 1,
                source: EntryError::Json(_)
            }
        ));
        assert_eq!(err.seq(), 1);
    }
}
