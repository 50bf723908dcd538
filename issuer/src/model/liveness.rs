//! The liveness challenge a customer answers: a sequence of head turns to film, handed out by
//! the issuer and remembered with the application that answered it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A head pose, as the person in front of the camera sees it: `Left` is a turn to the
/// person's own left, which moves the nose towards the *right* of an unmirrored photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeadTurn {
    /// Turned to the person's left.
    Left,
    /// Facing the camera.
    Centre,
    /// Turned to the person's right.
    Right,
}

/// What the wallet is asked to film: the head turns, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LivenessChallenge {
    /// The challenge's id; the submission names it in `livenessChallenge`.
    #[schema(value_type = String)]
    #[serde(with = "uuid_text")]
    pub id: Uuid,
    /// The poses to show, in this order.
    pub turns: Vec<HeadTurn>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// After this it is refused.
    pub expires_at: DateTime<Utc>,
}

/// A UUID as its hyphenated lower-case text (the `uuid` crate is built without serde here).
mod uuid_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use uuid::Uuid;

    pub(super) fn serialize<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&id.hyphenated())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Uuid::try_parse(&text).map_err(serde::de::Error::custom)
    }
}
