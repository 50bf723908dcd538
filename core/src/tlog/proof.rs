//! Inclusion and consistency proofs as JSON: what the issuer serves under
//! `/v1/audit/proof/*` and `kyc-verify audit inclusion|consistency` reads. One type each, so the
//! two sides cannot drift apart.
//!
//! Hashes are [`Hash`]es, standard base64 with padding (RFC 4648 §4), ordered as RFC 9162
//! §2.1.3.1 and §2.1.4.1 produce them. Unknown members are refused.
//!
//! Inclusion (`leafIndex` is accepted for `seq`; an entry's seq is its leaf index):
//!
//! ```json
//! {"seq": 7, "size": 12, "leafHash": "<base64 of SHA-256(0x00 || line)>", "proof": ["<base64>", "…"]}
//! ```
//!
//! Consistency from tree size `from` to tree size `to`:
//!
//! ```json
//! {"from": 4, "to": 12, "proof": ["<base64>", "…"]}
//! ```
//!
//! Either may carry `"root": "<base64>"`, the root the prover computed for `size` (or `to`); it
//! is informative only. The issuer does not send it. Checking a proof needs a root from a signed
//! checkpoint ([`super::merkle::verify_inclusion`], [`super::merkle::verify_consistency`]): a
//! proof alone proves nothing.

use serde::{Deserialize, Serialize};

use super::hash::Hash;

/// An RFC 9162 §2.1.3 inclusion proof: that the entry with `seq` is leaf `seq` of the tree of
/// `size` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionProof {
    /// The entry's seq, which is its leaf index.
    #[serde(alias = "leafIndex")]
    pub seq: u64,
    /// The tree size the proof is for (greater than `seq`).
    pub size: u64,
    /// The entry's leaf hash, `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1), base64.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub leaf_hash: Hash,
    /// The audit path (RFC 9162 §2.1.3.1), base64 hashes, leaf to root.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
    /// The root the prover claims for `size` (informative; the issuer does not send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub root: Option<Hash>,
}

/// An RFC 9162 §2.1.4 consistency proof: that the tree of `to` entries extends the tree of
/// `from` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The proof (RFC 9162 §2.1.4.1), base64 hashes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
    /// The root the prover claims for `to` (informative; the issuer does not send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub root: Option<Hash>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::{leaf_hash, Tree};

    /// The issuer's wire form, member for member, as it was before the type moved here.
    #[test]
    fn wire_form() {
        let mut tree = Tree::new();
        for i in 0u8..5 {
            tree.push(leaf_hash(&[i]));
        }
        let proof = InclusionProof {
            seq: 1,
            size: 5,
            leaf_hash: tree.leaves()[1],
            proof: tree.inclusion_proof(1, 5).unwrap(),
            root: None,
        };
        let json = serde_json::to_string(&proof).unwrap();
        let path: Vec<String> = proof.proof.iter().map(|h| format!("\"{h}\"")).collect();
        assert_eq!(
            json,
            format!(
                "{{\"seq\":1,\"size\":5,\"leafHash\":\"{}\",\"proof\":[{}]}}",
                proof.leaf_hash,
                path.join(",")
            )
        );
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&json).unwrap(),
            proof
        );
        let aliased = json.replace("\"seq\"", "\"leafIndex\"");
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&aliased).unwrap(),
            proof
        );

        let proof = ConsistencyProof {
            from: 2,
            to: 5,
            proof: tree.consistency_proof(2, 5).unwrap(),
            root: Some(tree.root()),
        };
        let json = serde_json::to_string(&proof).unwrap();
        assert!(
            json.starts_with("{\"from\":2,\"to\":5,\"proof\":[\""),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<ConsistencyProof>(&json).unwrap(),
            proof
        );

        for bad in [
            r#"{"from":2,"to":5,"proof":[],"extra":1}"#,
            r#"{"from":2,"to":5,"proof":["V3JvbmdSb290"]}"#,
            r#"{"from":2,"to":5}"#,
        ] {
            assert!(
                serde_json::from_str::<ConsistencyProof>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
