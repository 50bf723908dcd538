//! What a biometric provider is asked and answers, and how it fails: the interface the local
//! (dlib) and vendor (HTTP) providers implement.

use std::path::PathBuf;

use crate::model::LivenessChallenge;

/// Which image a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageRole {
    /// The document's image.
    Document,
    /// The selfie.
    Selfie,
    /// Liveness frame number `n` (from 0).
    Frame(usize),
}

/// Why the biometric check could not run or be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BiometricError {
    /// A model file is not there: run `scripts/setup-biometrics.sh` (or point `models_dir` at
    /// the files).
    #[error("biometric model file missing: {path} (run scripts/setup-biometrics.sh)")]
    ModelMissing {
        /// The file.
        path: PathBuf,
    },
    /// A model file is there but dlib cannot load it.
    #[error("biometric model file unreadable: {path}")]
    ModelUnreadable {
        /// The file.
        path: PathBuf,
    },
    /// A configuration value is out of range.
    #[error("configuration key {key}: {reason}")]
    Config {
        /// Dotted path of the key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An image is not a JPEG or PNG this check can decode (or is too large).
    #[error("{0:?} image unreadable")]
    ImageUnreadable(ImageRole),
    /// More liveness frames than allowed.
    #[error("too many liveness frames")]
    TooManyFrames,
    /// The vendor could not be reached or answered badly (no personal data in the text).
    #[error("biometric vendor: {0}")]
    Vendor(String),
    /// The vendor accepted the request and will post the result to the webhook later.
    #[error("biometric vendor result pending")]
    Pending {
        /// The request's reference, which the webhook names.
        reference: String,
    },
}

/// A face-match score: the local provider's embedding distance (lower is closer), or a
/// vendor's similarity (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// Euclidean distance between dlib embeddings.
    Distance(f64),
    /// A vendor's similarity in [0, 1].
    Similarity(f64),
}

/// The face match's result.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FaceMatch {
    /// Same person.
    Match(Score),
    /// Probably the same person, with doubt.
    Uncertain(Score),
    /// Different people.
    NoMatch(Score),
    /// No face on this image.
    NoFace(ImageRole),
    /// More than one face on this image.
    SeveralFaces(ImageRole),
    /// The vendor says the selfie is a presentation attack.
    Spoof,
}

/// The liveness result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Liveness {
    /// The frames show the challenge's poses in order, all with the selfie's face.
    Passed,
    /// The poses are not the challenge's, or not in its order.
    WrongOrder,
    /// This frame shows someone other than the selfie's person.
    FaceMismatch {
        /// Frame number (from 0).
        frame: usize,
    },
    /// No face on this frame.
    NoFace {
        /// Frame number (from 0).
        frame: usize,
    },
    /// Several faces on this frame.
    SeveralFaces {
        /// Frame number (from 0).
        frame: usize,
    },
    /// The vendor says the frames are a presentation attack.
    Spoof,
    /// The vendor could not tell.
    Unknown,
}

/// The liveness part of a request: the challenge (already consumed from the registry) and the
/// frames that answer it.
#[derive(Debug, Clone, Copy)]
pub struct LivenessRequest<'a> {
    /// The challenge.
    pub challenge: &'a LivenessChallenge,
    /// The frames, decoded from base64, in order.
    pub frames: &'a [Vec<u8>],
}

/// What a provider is asked: the images, raw (JPEG or PNG bytes).
#[derive(Debug, Clone, Copy)]
pub struct BiometricRequest<'a> {
    /// The document's image.
    pub document: &'a [u8],
    /// The selfie.
    pub selfie: &'a [u8],
    /// The liveness frames, if any were submitted with a known challenge.
    pub liveness: Option<LivenessRequest<'a>>,
}

/// What a provider answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// Document portrait against selfie.
    pub face: FaceMatch,
    /// Frames against challenge and selfie; `None` when not asked (or the selfie had no single
    /// face to compare the frames with).
    pub liveness: Option<Liveness>,
}

/// Runs face match and liveness. Calls block (dlib work or an HTTP round trip): call from a
/// blocking thread (`spawn_blocking`), never on the async runtime's workers.
pub trait BiometricProvider: Send + Sync + std::fmt::Debug {
    /// Assess one request.
    fn assess(&self, request: &BiometricRequest<'_>) -> Result<Assessment, BiometricError>;
}
