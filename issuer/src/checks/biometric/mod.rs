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
//! **Replays are recognised by content.** Besides each frame's SHA-256, the issuer keeps a
//! 128-bit perceptual hash of every frame of an accepted answer ([`perceptual`]), and refuses
//! (`liveness_challenge_replayed`) a submission any of whose frames, or their mirror images, is
//! within 20 bits of a frame another application sent: a frame set re-encoded, cropped by a few
//! pixels, brightness-shifted, with its metadata changed or bytes appended is still a replay.
//! The hashes are erased with the subject. A capture re-framed more heavily (a large crop, a
//! rotation) is not caught by the hash; comparing the frames' face embeddings with earlier
//! answers' (as a review reason) would be the next layer.
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

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};

use crate::checks::check::Check;
use crate::model::{CheckRecord, Reason, Submission};

mod config;
pub mod http;
pub mod liveness;
pub mod local;
pub mod perceptual;
mod provider;

pub use self::http::{
    verify_vendor_webhook, HttpBiometrics, Spoofing, VendorResult, VendorWebhookError,
};
pub use self::liveness::{ChallengeError, ChallengeRegistry, HeadTurn, LivenessChallenge};
pub use self::local::LocalBiometrics;
pub use config::{
    default_models_dir, BiometricConfig, Detector, HttpConfig, LivenessConfig, ProviderKind,
};
pub use provider::{
    Assessment, BiometricError, BiometricProvider, BiometricRequest, FaceMatch, ImageRole,
    Liveness, LivenessRequest, Score,
};

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
        signature_header: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<VendorResult>, VendorWebhookError> {
        let Some((_, secret)) = &self.vendor else {
            return Ok(None);
        };
        verify_vendor_webhook(secret, signature_header, body, now).map(Some)
    }

    /// The outcome and reasons a vendor's result means (as a synchronous answer would).
    pub fn vendor_outcome(
        &self,
        result: &VendorResult,
        liveness_asked: bool,
    ) -> Option<(CheckOutcome, Vec<Reason>)> {
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
    ) -> (CheckOutcome, Vec<Reason>) {
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
        let Some(provider) = &self.provider else {
            return Evaluation::not_performed(Reason::NoProviderConfigured);
        };
        let (selfie, document) = match images(submission) {
            Ok(images) => images,
            Err(verdict) => return Evaluation::combined(&[verdict]),
        };
        // Liveness first: a replay is refused before any image work.
        let answer = self.liveness_answer(submission, now, prior);
        let request = BiometricRequest {
            document: &document,
            selfie: &selfie,
            liveness: answer.challenge.as_ref().map(|challenge| LivenessRequest {
                challenge,
                frames: &answer.frames,
            }),
        };
        match provider.assess(&request) {
            Ok(assessment) => {
                let mut parts = vec![face_outcome(assessment.face)];
                match (answer.verdict, assessment.liveness) {
                    (Some(v), _) => parts.push(v),
                    (None, Some(l)) => parts.push(liveness_outcome(l)),
                    // The selfie had no single face: the face result says so already.
                    (None, None) => {}
                }
                Evaluation {
                    answered: answer.challenge,
                    ..Evaluation::combined(&parts)
                }
            }
            Err(BiometricError::Pending { reference }) => {
                // The frames were sent: the challenge is answered, the verdict comes later.
                let mut parts = vec![(CheckOutcome::Consider, Reason::BiometricPending)];
                parts.extend(answer.verdict);
                Evaluation {
                    pending: Some((reference, answer.challenge.is_some())),
                    answered: answer.challenge,
                    ..Evaluation::combined(&parts)
                }
            }
            Err(e) => {
                if let Some(c) = &answer.challenge {
                    // No verdict: the same answer may come again without being a replay.
                    self.challenges
                        .release(c.id, liveness::frames_digest(&answer.frames));
                }
                Evaluation::consider(failure_reason(e))
            }
        }
    }

    /// The liveness frames decoded and their challenge consumed (or why not).
    fn liveness_answer(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
        prior: &PriorAnswer,
    ) -> FramesAnswer {
        let refused = |verdict| FramesAnswer {
            frames: Vec::new(),
            challenge: None,
            verdict: Some(verdict),
        };
        if submission.liveness_frames.is_empty() {
            return refused((CheckOutcome::NotPerformed, Reason::NoLivenessFrames));
        }
        if submission.liveness_frames.len() > self.max_frames {
            return refused((CheckOutcome::Consider, Reason::TooManyLivenessFrames));
        }
        let Some(frames) = submission
            .liveness_frames
            .iter()
            .map(|f| decode_b64(f))
            .collect::<Option<Vec<_>>>()
        else {
            return refused((CheckOutcome::Consider, Reason::LivenessFrameUnreadable));
        };
        let id = submission
            .liveness_challenge
            .as_deref()
            .and_then(|id| uuid::Uuid::parse_str(id).ok());
        let consumed = match (prior, id) {
            (PriorAnswer::OtherApplication, _) => Err(ChallengeError::Replayed),
            // This application's own answer, checked again (after an upload): the challenge it
            // answered stands.
            (PriorAnswer::ThisApplication(c), Some(id)) if c.id == id => Ok(c.clone()),
            // Frames this application already used, claimed for another challenge: a replay,
            // even after a restart emptied the registry.
            (PriorAnswer::ThisApplication(_), Some(_)) => Err(ChallengeError::Replayed),
            (_, Some(id)) => self.challenges.consume(
                id,
                &submission.holder,
                liveness::frames_digest(&frames),
                now,
            ),
            (_, None) => Err(ChallengeError::Unknown),
        };
        match consumed {
            Ok(challenge) => FramesAnswer {
                frames,
                challenge: Some(challenge),
                verdict: None,
            },
            Err(e) => FramesAnswer {
                frames,
                challenge: None,
                verdict: Some(challenge_failure(e)),
            },
        }
    }
}

/// The selfie and the document image, decoded; or the verdict when one is missing or
/// unreadable.
fn images(submission: &Submission) -> Result<(Vec<u8>, Vec<u8>), (CheckOutcome, Reason)> {
    let Some(selfie) = &submission.selfie else {
        return Err((CheckOutcome::NotPerformed, Reason::NoSelfie));
    };
    let Some(document) = submission.document.get("image").and_then(|v| v.as_str()) else {
        return Err((CheckOutcome::NotPerformed, Reason::NoDocumentImage));
    };
    let selfie = decode_b64(selfie).ok_or((CheckOutcome::Consider, Reason::SelfieUnreadable))?;
    let document =
        decode_b64(document).ok_or((CheckOutcome::Consider, Reason::DocumentImageUnreadable))?;
    Ok((selfie, document))
}

/// The reason a provider that reached no verdict gives.
fn failure_reason(e: BiometricError) -> Reason {
    match e {
        BiometricError::ImageUnreadable(ImageRole::Document) => Reason::DocumentImageUnreadable,
        BiometricError::ImageUnreadable(ImageRole::Selfie) => Reason::SelfieUnreadable,
        BiometricError::ImageUnreadable(ImageRole::Frame(_)) => Reason::LivenessFrameUnreadable,
        BiometricError::TooManyFrames => Reason::TooManyLivenessFrames,
        e => {
            tracing::warn!(error = %e, "biometric provider failed");
            Reason::BiometricProviderFailed
        }
    }
}

/// The liveness frames of a submission, with the challenge they answer, or the verdict that
/// stops the liveness part.
#[derive(Debug)]
struct FramesAnswer {
    frames: Vec<Vec<u8>>,
    challenge: Option<LivenessChallenge>,
    verdict: Option<(CheckOutcome, Reason)>,
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
    pub reasons: Vec<Reason>,
    /// The challenge answered (for the store to remember the frames against the application).
    pub answered: Option<LivenessChallenge>,
    /// A vendor's pending request: its reference, and whether liveness was asked.
    pub pending: Option<(String, bool)>,
}

impl Evaluation {
    fn not_performed(reason: Reason) -> Self {
        Self::combined(&[(CheckOutcome::NotPerformed, reason)])
    }

    fn consider(reason: Reason) -> Self {
        Self::combined(&[(CheckOutcome::Consider, reason)])
    }

    /// The worst of `parts`, with no challenge answered and nothing pending.
    fn combined(parts: &[(CheckOutcome, Reason)]) -> Self {
        let (outcome, reasons) = combine(parts);
        Self {
            outcome,
            reasons,
            answered: None,
            pending: None,
        }
    }
}

/// The digests of a submission's liveness frames, when it has frames that decode: the whole
/// set's ([`liveness::frames_digest`]) and each frame's SHA-256 (a frame reused in another
/// order, or among other frames, is still a replay).
pub fn submission_frame_digests(submission: &Submission) -> Option<([u8; 32], Vec<[u8; 32]>)> {
    use sha2::Digest as _;
    let frames = submission_frames(submission)?;
    let each = frames
        .iter()
        .map(|f| sha2::Sha256::digest(f).into())
        .collect();
    Some((liveness::frames_digest(&frames), each))
}

/// A submission's liveness frames, decoded from base64, when it has frames and all decode.
pub fn submission_frames(submission: &Submission) -> Option<Vec<Vec<u8>>> {
    if submission.liveness_frames.is_empty() {
        return None;
    }
    submission
        .liveness_frames
        .iter()
        .map(|f| decode_b64(f))
        .collect()
}

/// Standard base64, with or without padding; whitespace (line breaks) ignored. `None` when it
/// is not base64 or decodes to nothing.
pub fn decode_b64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok().filter(|b| !b.is_empty())
}

fn challenge_failure(e: ChallengeError) -> (CheckOutcome, Reason) {
    match e {
        ChallengeError::Replayed => (CheckOutcome::Rejected, Reason::LivenessChallengeReplayed),
        ChallengeError::Expired => (CheckOutcome::Consider, Reason::LivenessChallengeExpired),
        ChallengeError::Unknown | ChallengeError::HolderFull | ChallengeError::Full => {
            (CheckOutcome::Consider, Reason::LivenessChallengeUnknown)
        }
    }
}

fn face_outcome(face: FaceMatch) -> (CheckOutcome, Reason) {
    use ImageRole::{Document, Frame, Selfie};
    match face {
        FaceMatch::Match(_) => (CheckOutcome::Clear, Reason::FaceMatch),
        FaceMatch::Uncertain(_) => (CheckOutcome::Consider, Reason::FaceMatchUncertain),
        FaceMatch::NoMatch(_) => (CheckOutcome::Rejected, Reason::FaceNoMatch),
        FaceMatch::NoFace(Document) => (CheckOutcome::Consider, Reason::NoFaceOnDocument),
        FaceMatch::NoFace(Selfie | Frame(_)) => (CheckOutcome::Consider, Reason::NoFaceOnSelfie),
        FaceMatch::SeveralFaces(Document) => {
            (CheckOutcome::Consider, Reason::SeveralFacesOnDocument)
        }
        FaceMatch::SeveralFaces(Selfie | Frame(_)) => {
            (CheckOutcome::Consider, Reason::SeveralFacesOnSelfie)
        }
        FaceMatch::Spoof => (CheckOutcome::Rejected, Reason::SpoofDetected),
    }
}

fn liveness_outcome(liveness: Liveness) -> (CheckOutcome, Reason) {
    match liveness {
        Liveness::Passed => (CheckOutcome::Clear, Reason::LivenessPassed),
        Liveness::WrongOrder => (CheckOutcome::Consider, Reason::LivenessWrongOrder),
        Liveness::FaceMismatch { .. } => (CheckOutcome::Rejected, Reason::LivenessFaceMismatch),
        Liveness::NoFace { .. } => (CheckOutcome::Consider, Reason::LivenessNoFaceInFrame),
        Liveness::SeveralFaces { .. } => {
            (CheckOutcome::Consider, Reason::LivenessSeveralFacesInFrame)
        }
        Liveness::Spoof => (CheckOutcome::Rejected, Reason::SpoofDetected),
        Liveness::Unknown => (CheckOutcome::Consider, Reason::LivenessUnknown),
    }
}

/// The worst outcome (rejected > consider > not performed > clear) with every part's reason.
fn combine(parts: &[(CheckOutcome, Reason)]) -> (CheckOutcome, Vec<Reason>) {
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
    let mut reasons: Vec<Reason> = Vec::new();
    for (_, reason) in parts {
        if !reasons.contains(reason) {
            reasons.push(reason.clone());
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
            (CheckOutcome::Clear, Reason::FaceMatch),
            (CheckOutcome::NotPerformed, Reason::NoLivenessFrames),
        ]);
        assert_eq!(o, CheckOutcome::NotPerformed);
        assert_eq!(r, ["face_match", "no_liveness_frames"]);
        let (o, _) = combine(&[
            (CheckOutcome::Consider, Reason::FaceMatchUncertain),
            (CheckOutcome::Rejected, Reason::LivenessFaceMismatch),
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
