//! The biometric check: face match and active liveness.
//!
//! ## Biometrics: face match and liveness
//!
//! **Face match.** The issuer finds the face on the document image and on the selfie with
//! dlib's HOG face detector (or its MMOD CNN detector, `detector = "cnn"`), upscaling an image
//! 2× while no face is found (a document's portrait is often smaller than the ~70 px the HOG
//! detector needs), aligns each face with dlib's 5-point landmarks, computes dlib's 128-d ResNet
//! embedding and compares the two by Euclidean distance. Each image must show exactly one face.
//! A distance at or below `consider_threshold` (default 0.5) is a match; up to `match_threshold`
//! (default 0.6, dlib's own threshold, 99.38 % on LFW) it is a match with doubt, sent to review;
//! above it the faces are different people. Everything runs on the issuer's machine, offline,
//! with the model files from `face_recognition_models` 0.3.0 (checked by SHA-256 at set-up).
//!
//! **Active liveness.** When the application starts, the issuer hands the wallet a random
//! challenge (a sequence of head poses such as *left, centre, right*, drawn from the OS CSPRNG,
//! valid for `challenge_ttl_secs`). The wallet films the person and uploads frames. The issuer
//! estimates the head's yaw on each frame from the five landmarks (the base of the nose
//! projected on the line through the eyes, in eye distances) and requires that the poses show
//! the requested sequence, in order, and that the face on *every* frame matches the selfie. A
//! challenge is answered once, and a frame set is accepted once, whatever challenge it claims to
//! answer: replaying an earlier upload is refused.
//!
//! **What this does not stop.** The liveness check shows that whoever uploaded the frames could
//! produce, within a couple of minutes, images of the selfie's face turning as asked. It does
//! *not* detect:
//! - a deep-fake or face-reenactment video generated for the challenge (the frames are ordinary
//!   images; nothing here analyses texture, depth, screen moiré or injection);
//! - a 3-D mask or a realistic head model turned by hand;
//! - a person who is coerced, or who consents to someone else's fraud, in front of the camera;
//! - a virtual camera that injects any of the above into the wallet;
//! - the same person applying twice (there is no search across applicants).
//!
//! It raises the cost of replaying a photo or a recorded video, no more. For a higher assurance
//! level use a certified presentation-attack-detection vendor (`provider = "http"`) and a
//! reviewer. The document's own portrait is compared as an image: security features (holograms,
//! the chip's signed photo) are not read. dlib's ResNet is less accurate on some demographic
//! groups than on others, and on greyscale or small portraits; doubtful distances go to review.
//!
//! ## Outcomes and reasons
//!
//! | outcome | reasons |
//! |---|---|
//! | clear | `face_match` and `liveness_passed` |
//! | consider | `biometric_pending` (a vendor answers later, on the webhook), `face_match_uncertain`, `no_face_on_document`, `no_face_on_selfie`, `several_faces_on_document`, `several_faces_on_selfie`, `liveness_wrong_order`, `liveness_no_face_in_frame`, `liveness_several_faces_in_frame`, `liveness_challenge_unknown`, `liveness_challenge_expired`, `liveness_unknown`, `document_image_unreadable`, `selfie_unreadable`, `liveness_frame_unreadable`, `too_many_liveness_frames`, `biometric_provider_failed` |
//! | rejected | `face_no_match`, `liveness_face_mismatch`, `liveness_challenge_replayed`, `spoof_detected` |
//! | not performed | `no_provider_configured`, `no_selfie`, `no_document_image`, `no_liveness_frames` |
//!
//! The outcome is the worst of the face match's and the liveness's (rejected, then consider,
//! then not performed, then clear): a face match with no liveness frames is *not performed*, so
//! it caps the tier below 2 without sending the case to review. Reasons are codes, never
//! values: no image data, embedding or distance is logged or stored with them.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use serde::Deserialize;

use super::Check;
use crate::applications::Submission;
use crate::store::CheckRecord;

pub mod http;
pub mod liveness;
pub mod local;

pub use self::http::{verify_vendor_webhook, HttpBiometrics, Spoofing, VendorResult, WebhookError};
pub use self::liveness::{ChallengeError, ChallengeRegistry, HeadTurn, LivenessChallenge};
pub use self::local::LocalBiometrics;

/// Where the model files are by default: `$KYC_MODELS_DIR`, else
/// `$HOME/.cache/kyc-credentials/models` (where `scripts/setup-biometrics.sh` puts them).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KYC_MODELS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache/kyc-credentials/models")
}

/// Which provider runs the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// dlib on this machine ([`LocalBiometrics`]).
    #[default]
    Local,
    /// An external vendor over HTTP ([`HttpBiometrics`]).
    Http,
    /// None: the check is *not performed*.
    None,
}

/// Which face detector the local provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detector {
    /// dlib's HOG frontal face detector: fast on a CPU.
    #[default]
    Hog,
    /// dlib's MMOD CNN detector (`mmod_human_face_detector.dat`): finds more poses, several
    /// times slower on a CPU.
    Cnn,
}

/// The `[biometric]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiometricConfig {
    /// Run the check at all. When false it is *not performed*, whatever else is set, and no
    /// model is loaded.
    #[serde(default)]
    pub enabled: bool,
    /// Who runs it.
    #[serde(default)]
    pub provider: ProviderKind,
    /// Directory of the dlib model files (local provider).
    #[serde(default = "default_models_dir")]
    pub models_dir: PathBuf,
    /// Face detector (local provider).
    #[serde(default)]
    pub detector: Detector,
    /// Embedding distance at or below which two faces are the same person (dlib's 0.6).
    #[serde(default = "default_match_threshold")]
    pub match_threshold: f64,
    /// Distance at or below which a match is certain; between this and `match_threshold` it is
    /// sent to review.
    #[serde(default = "default_consider_threshold")]
    pub consider_threshold: f64,
    /// Concurrent local analyses, each with its own copy of the models (~100 MB). Default: the
    /// number of cores.
    #[serde(default)]
    pub workers: Option<usize>,
    /// Larger images are shrunk to this many pixels before detection.
    #[serde(default = "default_max_image_pixels")]
    pub max_image_pixels: u64,
    /// Active liveness.
    #[serde(default)]
    pub liveness: LivenessConfig,
    /// The external vendor, for `provider = "http"`.
    #[serde(default)]
    pub http: Option<HttpConfig>,
}

impl Default for BiometricConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: ProviderKind::default(),
            models_dir: default_models_dir(),
            detector: Detector::default(),
            match_threshold: default_match_threshold(),
            consider_threshold: default_consider_threshold(),
            workers: None,
            max_image_pixels: default_max_image_pixels(),
            liveness: LivenessConfig::default(),
            http: None,
        }
    }
}

fn default_match_threshold() -> f64 {
    0.6
}
fn default_consider_threshold() -> f64 {
    0.5
}
fn default_max_image_pixels() -> u64 {
    1_500_000
}

/// Active liveness settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessConfig {
    /// Poses per challenge (at least 2).
    #[serde(default = "default_turns")]
    pub turns: usize,
    /// Yaw ([`liveness::yaw`], in eye distances) at or past which the head counts as turned;
    /// within half of it, as facing the camera.
    #[serde(default = "default_yaw_threshold")]
    pub yaw_threshold: f64,
    /// How long a challenge may be answered.
    #[serde(default = "default_challenge_ttl_secs")]
    pub challenge_ttl_secs: u64,
    /// How long an accepted frame set is remembered, to refuse it again.
    #[serde(default = "default_frames_ttl_secs")]
    pub frames_ttl_secs: u64,
    /// Most challenges outstanding (and frame digests remembered) at once.
    #[serde(default = "default_max_challenges")]
    pub max_challenges: usize,
    /// Most frames in one submission.
    #[serde(default = "default_max_frames")]
    pub max_frames: usize,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            turns: default_turns(),
            yaw_threshold: default_yaw_threshold(),
            challenge_ttl_secs: default_challenge_ttl_secs(),
            frames_ttl_secs: default_frames_ttl_secs(),
            max_challenges: default_max_challenges(),
            max_frames: default_max_frames(),
        }
    }
}

fn default_turns() -> usize {
    3
}
fn default_yaw_threshold() -> f64 {
    0.12
}
fn default_challenge_ttl_secs() -> u64 {
    300
}
fn default_frames_ttl_secs() -> u64 {
    30 * 24 * 3600
}
fn default_max_challenges() -> usize {
    100_000
}
fn default_max_frames() -> usize {
    12
}

/// The external vendor.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Endpoint that takes the images (POST, JSON).
    pub url: String,
    /// Sent as `Authorization: Bearer …`.
    pub api_key: String,
    /// HMAC-SHA256 key of the vendor's webhooks.
    pub webhook_secret: String,
    /// Similarity (0–1) at or above which the faces match.
    #[serde(default = "default_vendor_match")]
    pub match_similarity: f64,
    /// Similarity at or above which a match is certain.
    #[serde(default = "default_vendor_certain")]
    pub certain_similarity: f64,
    /// Request timeout.
    #[serde(default = "default_vendor_timeout")]
    pub timeout_secs: u64,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("url", &self.url)
            .field("match_similarity", &self.match_similarity)
            .field("certain_similarity", &self.certain_similarity)
            .finish_non_exhaustive()
    }
}

fn default_vendor_match() -> f64 {
    0.8
}
fn default_vendor_certain() -> f64 {
    0.9
}
fn default_vendor_timeout() -> u64 {
    20
}

impl BiometricConfig {
    /// The number of local workers.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    /// Check the values' ranges; the error names the key.
    pub fn validate(&self) -> Result<(), BiometricError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(BiometricError::Config {
                key,
                reason: reason.into(),
            })
        };
        let unit = |x: f64| x.is_finite() && (0.0..=2.0).contains(&x);
        if !unit(self.match_threshold) {
            return invalid("biometric.match_threshold", "must be in [0, 2]");
        }
        if !unit(self.consider_threshold) || self.consider_threshold > self.match_threshold {
            return invalid(
                "biometric.consider_threshold",
                "must be in [0, match_threshold]",
            );
        }
        if self.workers == Some(0) {
            return invalid("biometric.workers", "must be at least 1");
        }
        if self.max_image_pixels < 10_000 {
            return invalid("biometric.max_image_pixels", "must be at least 10000");
        }
        let l = &self.liveness;
        if !(2..=10).contains(&l.turns) {
            return invalid("biometric.liveness.turns", "must be in [2, 10]");
        }
        if !(l.yaw_threshold.is_finite() && l.yaw_threshold > 0.0 && l.yaw_threshold < 1.0) {
            return invalid("biometric.liveness.yaw_threshold", "must be in (0, 1)");
        }
        if l.challenge_ttl_secs == 0 || l.challenge_ttl_secs > 24 * 3600 {
            return invalid(
                "biometric.liveness.challenge_ttl_secs",
                "must be in [1, 86400]",
            );
        }
        if l.max_challenges == 0 {
            return invalid("biometric.liveness.max_challenges", "must be at least 1");
        }
        if l.max_frames < l.turns {
            return invalid("biometric.liveness.max_frames", "must be at least turns");
        }
        if self.enabled && self.provider == ProviderKind::Http {
            let Some(http) = &self.http else {
                return invalid("biometric.http", "required with provider = \"http\"");
            };
            if !(http.url.starts_with("https://") || http.url.starts_with("http://")) {
                return invalid("biometric.http.url", "must be an http(s) URL");
            }
            let sim = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
            if !sim(http.match_similarity) {
                return invalid("biometric.http.match_similarity", "must be in [0, 1]");
            }
            if !sim(http.certain_similarity) || http.certain_similarity < http.match_similarity {
                return invalid(
                    "biometric.http.certain_similarity",
                    "must be in [match_similarity, 1]",
                );
            }
        }
        Ok(())
    }

    /// The challenge registry these settings describe.
    pub fn challenge_registry(&self) -> ChallengeRegistry {
        let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        ChallengeRegistry::new(
            self.liveness.turns,
            secs(self.liveness.challenge_ttl_secs),
            secs(self.liveness.frames_ttl_secs),
            self.liveness.max_challenges,
        )
    }
}

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

/// The biometric check over a [`BiometricProvider`] (or none: *not performed*).
#[derive(Debug, Clone)]
pub struct BiometricCheck {
    provider: Option<Arc<dyn BiometricProvider>>,
    challenges: Arc<ChallengeRegistry>,
    max_frames: usize,
    /// The vendor adapter and its webhook secret, with `provider = "http"`.
    vendor: Option<(Arc<HttpBiometrics>, Vec<u8>)>,
}

impl BiometricCheck {
    /// The check as `config` says: disabled or `provider = "none"` → *not performed*; `local`
    /// → loads the models now (an error names a missing file: refuse to start); `http` → the
    /// vendor adapter.
    pub fn from_config(config: &BiometricConfig) -> Result<Self, BiometricError> {
        config.validate()?;
        let mut vendor = None;
        let provider: Option<Arc<dyn BiometricProvider>> = match (config.enabled, config.provider) {
            (false, _) | (true, ProviderKind::None) => None,
            (true, ProviderKind::Local) => Some(Arc::new(LocalBiometrics::open(config)?)),
            (true, ProviderKind::Http) => {
                let http = Arc::new(HttpBiometrics::from_config(config)?);
                let secret = config
                    .http
                    .as_ref()
                    .map(|h| h.webhook_secret.as_bytes().to_vec())
                    .unwrap_or_default();
                vendor = Some((Arc::clone(&http), secret));
                Some(http)
            }
        };
        let mut check = Self::new(
            provider,
            Arc::new(config.challenge_registry()),
            config.liveness.max_frames,
        );
        check.vendor = vendor;
        Ok(check)
    }

    /// The check over `provider` with `challenges`, accepting up to `max_frames` frames.
    pub fn new(
        provider: Option<Arc<dyn BiometricProvider>>,
        challenges: Arc<ChallengeRegistry>,
        max_frames: usize,
    ) -> Self {
        Self {
            provider,
            challenges,
            max_frames,
            vendor: None,
        }
    }

    /// A vendor's result posted to the webhook, its signature and time checked
    /// ([`verify_vendor_webhook`]); `Ok(None)` when no vendor is configured.
    pub fn verify_vendor_result(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<VendorResult>, WebhookError> {
        let Some((_, secret)) = &self.vendor else {
            return Ok(None);
        };
        verify_vendor_webhook(secret, headers, body, now).map(Some)
    }

    /// The outcome and reasons a vendor's result means (as a synchronous answer would).
    pub fn vendor_outcome(
        &self,
        result: &VendorResult,
        liveness_asked: bool,
    ) -> Option<(CheckOutcome, Vec<String>)> {
        let (http, _) = self.vendor.as_ref()?;
        let assessment = http.assessment(result, liveness_asked);
        let mut parts = vec![face_outcome(assessment.face)];
        parts.extend(assessment.liveness.map(liveness_outcome));
        Some(combine(&parts))
    }

    /// Whether a vendor (`provider = "http"`) runs the check, so that its webhook is served.
    pub fn has_vendor(&self) -> bool {
        self.vendor.is_some()
    }

    /// Whether a provider is configured (else every run is *not performed*).
    pub fn is_performed(&self) -> bool {
        self.provider.is_some()
    }

    /// The challenge registry: the application-start endpoint calls
    /// [`ChallengeRegistry::issue`] on it and hands the challenge to the wallet.
    pub fn challenges(&self) -> &Arc<ChallengeRegistry> {
        &self.challenges
    }

    /// The outcome and reasons for `submission` at `now`.
    pub fn evaluate(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> (CheckOutcome, Vec<String>) {
        let e = self.evaluate_in(submission, now, &PriorAnswer::None);
        (e.outcome, e.reasons)
    }

    /// The outcome and reasons for `submission` at `now`, given what the store knows of its
    /// frame set ([`PriorAnswer`]), and the challenge the frames answered when a verdict was
    /// reached (for the store to remember).
    pub fn evaluate_in(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
        prior: &PriorAnswer,
    ) -> Evaluation {
        let mut answered = None;
        let mut pending = None;
        let (outcome, reasons) =
            self.evaluate_inner(submission, now, prior, &mut answered, &mut pending);
        Evaluation {
            outcome,
            reasons,
            answered,
            pending,
        }
    }

    fn evaluate_inner(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
        prior: &PriorAnswer,
        answered: &mut Option<LivenessChallenge>,
        pending: &mut Option<(String, bool)>,
    ) -> (CheckOutcome, Vec<String>) {
        let Some(provider) = &self.provider else {
            return not_performed("no_provider_configured");
        };
        let Some(selfie) = &submission.selfie else {
            return not_performed("no_selfie");
        };
        let Some(document) = submission.document.get("image").and_then(|v| v.as_str()) else {
            return not_performed("no_document_image");
        };
        let (Some(selfie), Some(document)) = (decode_b64(selfie), decode_b64(document)) else {
            let reason = if decode_b64(selfie).is_none() {
                "selfie_unreadable"
            } else {
                "document_image_unreadable"
            };
            return (CheckOutcome::Consider, vec![reason.into()]);
        };

        // Liveness first: a replay is refused before any image work.
        let mut liveness_verdict: Option<(CheckOutcome, &'static str)> = None;
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut challenge = None;
        if submission.liveness_frames.is_empty() {
            liveness_verdict = Some((CheckOutcome::NotPerformed, "no_liveness_frames"));
        } else if submission.liveness_frames.len() > self.max_frames {
            liveness_verdict = Some((CheckOutcome::Consider, "too_many_liveness_frames"));
        } else {
            match submission
                .liveness_frames
                .iter()
                .map(|f| decode_b64(f))
                .collect::<Option<Vec<_>>>()
            {
                None => {
                    liveness_verdict = Some((CheckOutcome::Consider, "liveness_frame_unreadable"))
                }
                Some(decoded) => {
                    frames = decoded;
                    let id = submission
                        .liveness_challenge
                        .as_deref()
                        .and_then(|id| uuid::Uuid::parse_str(id).ok());
                    let digest = liveness::frames_digest(&frames);
                    let consumed = match (prior, id) {
                        (PriorAnswer::OtherApplication, _) => Err(ChallengeError::Replayed),
                        // This application's own answer, checked again (after an upload): the
                        // challenge it answered stands.
                        (PriorAnswer::ThisApplication(c), Some(id)) if c.id == id => Ok(c.clone()),
                        // Frames this application already used, claimed for another
                        // challenge: a replay, even after a restart emptied the registry.
                        (PriorAnswer::ThisApplication(_), Some(_)) => Err(ChallengeError::Replayed),
                        (_, Some(id)) => self.challenges.consume(id, digest, now),
                        (_, None) => Err(ChallengeError::Unknown),
                    };
                    match consumed {
                        Ok(c) => challenge = Some(c),
                        Err(e) => liveness_verdict = Some(challenge_failure(e)),
                    }
                }
            }
        }

        let request = BiometricRequest {
            document: &document,
            selfie: &selfie,
            liveness: challenge.as_ref().map(|challenge| LivenessRequest {
                challenge,
                frames: &frames,
            }),
        };
        let assessment = provider.assess(&request);
        if let Err(BiometricError::Pending { reference }) = &assessment {
            // The frames were sent: the challenge is answered, the verdict comes later.
            *answered = challenge.clone();
            *pending = Some((reference.clone(), challenge.is_some()));
            let mut parts = vec![(CheckOutcome::Consider, "biometric_pending")];
            parts.extend(liveness_verdict);
            return combine(&parts);
        }
        if let (Err(_), Some(c)) = (&assessment, &challenge) {
            // No verdict: the same answer may come again without being a replay.
            self.challenges
                .release(c.id, liveness::frames_digest(&frames));
        }
        let assessment = match assessment {
            Ok(a) => {
                *answered = challenge.clone();
                a
            }
            Err(BiometricError::ImageUnreadable(role)) => {
                let reason = match role {
                    ImageRole::Document => "document_image_unreadable",
                    ImageRole::Selfie => "selfie_unreadable",
                    ImageRole::Frame(_) => "liveness_frame_unreadable",
                };
                return (CheckOutcome::Consider, vec![reason.into()]);
            }
            Err(BiometricError::TooManyFrames) => {
                return (
                    CheckOutcome::Consider,
                    vec!["too_many_liveness_frames".into()],
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "biometric provider failed");
                return (
                    CheckOutcome::Consider,
                    vec!["biometric_provider_failed".into()],
                );
            }
        };
        let mut parts = vec![face_outcome(assessment.face)];
        match (liveness_verdict, assessment.liveness) {
            (Some(v), _) => parts.push(v),
            (None, Some(l)) => parts.push(liveness_outcome(l)),
            // The selfie had no single face: the face result says so already.
            (None, None) => {}
        }
        combine(&parts)
    }
}

impl Check for BiometricCheck {
    fn kind(&self) -> AuditCheck {
        AuditCheck::Biometric
    }

    fn run(&self, submission: &Submission, now: DateTime<Utc>) -> CheckRecord {
        let (outcome, reasons) = self.evaluate(submission, now);
        CheckRecord::new(AuditCheck::Biometric, outcome, reasons, now)
    }
}

/// What the issuer's store knows of a submission's frame set (by its digest), beyond this
/// process's challenge registry, which a restart forgets.
#[derive(Debug, Clone, Default)]
pub enum PriorAnswer {
    /// Never seen.
    #[default]
    None,
    /// This application answered this challenge with these frames before (it is being checked
    /// again): not a replay.
    ThisApplication(LivenessChallenge),
    /// Another application sent these frames: a replay.
    OtherApplication,
}

/// The biometric check's result, with the challenge the frames answered when a verdict was
/// reached.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Outcome.
    pub outcome: CheckOutcome,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// The challenge answered (for the store to remember the frames against the application).
    pub answered: Option<LivenessChallenge>,
    /// A vendor's pending request: its reference, and whether liveness was asked.
    pub pending: Option<(String, bool)>,
}

/// The digests of a submission's liveness frames, when it has frames that decode: the whole
/// set's ([`liveness::frames_digest`]) and each frame's SHA-256 (a frame reused in another
/// order, or among other frames, is still a replay).
pub fn submission_frame_digests(submission: &Submission) -> Option<([u8; 32], Vec<[u8; 32]>)> {
    use sha2::Digest as _;
    if submission.liveness_frames.is_empty() {
        return None;
    }
    let frames: Vec<Vec<u8>> = submission
        .liveness_frames
        .iter()
        .map(|f| decode_b64(f))
        .collect::<Option<_>>()?;
    let each = frames
        .iter()
        .map(|f| sha2::Sha256::digest(f).into())
        .collect();
    Some((liveness::frames_digest(&frames), each))
}

fn not_performed(reason: &str) -> (CheckOutcome, Vec<String>) {
    (CheckOutcome::NotPerformed, vec![reason.into()])
}

/// Standard base64, with or without padding; whitespace (line breaks) ignored.
fn decode_b64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok().filter(|b| !b.is_empty())
}

fn challenge_failure(e: ChallengeError) -> (CheckOutcome, &'static str) {
    match e {
        ChallengeError::Replayed => (CheckOutcome::Rejected, "liveness_challenge_replayed"),
        ChallengeError::Expired => (CheckOutcome::Consider, "liveness_challenge_expired"),
        ChallengeError::Unknown | ChallengeError::Full => {
            (CheckOutcome::Consider, "liveness_challenge_unknown")
        }
    }
}

fn face_outcome(face: FaceMatch) -> (CheckOutcome, &'static str) {
    use ImageRole::{Document, Frame, Selfie};
    match face {
        FaceMatch::Match(_) => (CheckOutcome::Clear, "face_match"),
        FaceMatch::Uncertain(_) => (CheckOutcome::Consider, "face_match_uncertain"),
        FaceMatch::NoMatch(_) => (CheckOutcome::Rejected, "face_no_match"),
        FaceMatch::NoFace(Document) => (CheckOutcome::Consider, "no_face_on_document"),
        FaceMatch::NoFace(Selfie | Frame(_)) => (CheckOutcome::Consider, "no_face_on_selfie"),
        FaceMatch::SeveralFaces(Document) => (CheckOutcome::Consider, "several_faces_on_document"),
        FaceMatch::SeveralFaces(Selfie | Frame(_)) => {
            (CheckOutcome::Consider, "several_faces_on_selfie")
        }
        FaceMatch::Spoof => (CheckOutcome::Rejected, "spoof_detected"),
    }
}

fn liveness_outcome(liveness: Liveness) -> (CheckOutcome, &'static str) {
    match liveness {
        Liveness::Passed => (CheckOutcome::Clear, "liveness_passed"),
        Liveness::WrongOrder => (CheckOutcome::Consider, "liveness_wrong_order"),
        Liveness::FaceMismatch { .. } => (CheckOutcome::Rejected, "liveness_face_mismatch"),
        Liveness::NoFace { .. } => (CheckOutcome::Consider, "liveness_no_face_in_frame"),
        Liveness::SeveralFaces { .. } => {
            (CheckOutcome::Consider, "liveness_several_faces_in_frame")
        }
        Liveness::Spoof => (CheckOutcome::Rejected, "spoof_detected"),
        Liveness::Unknown => (CheckOutcome::Consider, "liveness_unknown"),
    }
}

/// The worst outcome (rejected > consider > not performed > clear) with every part's reason.
fn combine(parts: &[(CheckOutcome, &'static str)]) -> (CheckOutcome, Vec<String>) {
    let rank = |o: CheckOutcome| match o {
        CheckOutcome::Rejected => 3,
        CheckOutcome::Consider => 2,
        CheckOutcome::NotPerformed => 1,
        _ => 0,
    };
    let outcome = parts
        .iter()
        .map(|p| p.0)
        .max_by_key(|o| rank(*o))
        .unwrap_or(CheckOutcome::NotPerformed);
    let mut reasons: Vec<String> = Vec::new();
    for (_, reason) in parts {
        if !reasons.iter().any(|r| r == reason) {
            reasons.push((*reason).to_owned());
        }
    }
    (outcome, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_combine_worst_first() {
        let (o, r) = combine(&[
            (CheckOutcome::Clear, "face_match"),
            (CheckOutcome::NotPerformed, "no_liveness_frames"),
        ]);
        assert_eq!(o, CheckOutcome::NotPerformed);
        assert_eq!(r, ["face_match", "no_liveness_frames"]);
        let (o, _) = combine(&[
            (CheckOutcome::Consider, "face_match_uncertain"),
            (CheckOutcome::Rejected, "liveness_face_mismatch"),
        ]);
        assert_eq!(o, CheckOutcome::Rejected);
    }

    #[test]
    fn config_defaults_and_validation() {
        let c: BiometricConfig = toml::from_str("enabled = true").unwrap();
        assert_eq!(c.provider, ProviderKind::Local);
        assert_eq!(c.match_threshold, 0.6);
        c.validate().unwrap();
        assert!(toml::from_str::<BiometricConfig>("enabled = true\nbogus = 1").is_err());
        let bad: BiometricConfig =
            toml::from_str("match_threshold = 0.4\nconsider_threshold = 0.5").unwrap();
        assert!(matches!(
            bad.validate(),
            Err(BiometricError::Config {
                key: "biometric.consider_threshold",
                ..
            })
        ));
        let http: BiometricConfig = toml::from_str("enabled = true\nprovider = \"http\"").unwrap();
        assert!(matches!(
            http.validate(),
            Err(BiometricError::Config {
                key: "biometric.http",
                ..
            })
        ));
    }

    #[test]
    fn base64_lenient_on_padding_and_line_breaks() {
        assert_eq!(decode_b64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_b64("aG\nk").unwrap(), b"hi");
        assert!(decode_b64("***").is_none());
        assert!(decode_b64("").is_none());
    }
}
