//! Hashes in JSON as standard base64 with padding (RFC 4648 §4), as audit entries and
//! checkpoints carry them; decoding is canonical (the engine rejects non-zero trailing bits) and
//! requires exactly 32 bytes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kyc_core::tlog::Hash;
use serde::de::Error as _;
use serde::{Deserialize as _, Deserializer, Serializer};

/// Base64 of a hash.
pub(crate) fn encode(hash: &Hash) -> String {
    B64.encode(hash)
}

/// The hash whose canonical base64 is `text`.
pub(crate) fn decode(text: &[u8]) -> Option<Hash> {
    // 32 bytes are 44 characters with one `=`; one spare byte so that a longer decoding is
    // reported as such rather than as a short buffer.
    let mut out = [0u8; 33];
    if text.len() != 44 {
        return None;
    }
    match B64.decode_slice(text, &mut out) {
        Ok(32) => out[..32].try_into().ok(),
        _ => None,
    }
}

pub(crate) fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&encode(hash))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    decode(text.as_bytes()).ok_or_else(|| D::Error::custom("not standard base64 of 32 bytes"))
}

/// A list of hashes, each as [`serialize`] writes it.
pub(crate) mod list {
    use kyc_core::tlog::Hash;
    use serde::de::Error as _;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        hashes: &[Hash],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(hashes.len()))?;
        for hash in hashes {
            seq.serialize_element(&super::encode(hash))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Hash>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts
            .iter()
            .map(|t| super::decode(t.as_bytes()))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| D::Error::custom("proof hash is not standard base64 of 32 bytes"))
    }
}

/// An optional hash, each as [`serialize`] writes it.
pub(crate) mod option {
    use kyc_core::tlog::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        hash: &Option<Hash>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match hash {
            Some(hash) => super::serialize(hash, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Hash>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] Hash);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(h)| h))
    }
}
