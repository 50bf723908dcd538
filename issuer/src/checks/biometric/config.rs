//! The `[biometric]` section: which provider, its models and thresholds, liveness, the vendor.

use std::path::PathBuf;

use chrono::Duration;
use serde::Deserialize;

use super::liveness::ChallengeRegistry;
use super::provider::BiometricError;

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
#[serde(default, deny_unknown_fields)]
pub struct BiometricConfig {
    /// Run the check at all. When false it is *not performed*, whatever else is set, and no
    /// model is loaded.
    pub enabled: bool,
    /// Who runs it.
    pub provider: ProviderKind,
    /// Directory of the dlib model files (local provider).
    pub models_dir: PathBuf,
    /// Face detector (local provider).
    pub detector: Detector,
    /// Embedding distance at or below which two faces are the same person (dlib's 0.6).
    pub match_threshold: f64,
    /// Distance at or below which a match is certain; between this and `match_threshold` it is
    /// sent to review.
    pub consider_threshold: f64,
    /// Concurrent local analyses, each with its own copy of the models (~100 MB). Default: the
    /// number of cores.
    pub workers: Option<usize>,
    /// Larger images are shrunk to this many pixels before detection.
    pub max_image_pixels: u64,
    /// Active liveness.
    pub liveness: LivenessConfig,
    /// The external vendor, for `provider = "http"`.
    pub http: Option<HttpConfig>,
}

impl Default for BiometricConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: ProviderKind::default(),
            models_dir: default_models_dir(),
            detector: Detector::default(),
            match_threshold: 0.6,
            consider_threshold: 0.5,
            workers: None,
            max_image_pixels: 1_500_000,
            liveness: LivenessConfig::default(),
            http: None,
        }
    }
}

/// Active liveness settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LivenessConfig {
    /// Poses per challenge (at least 2).
    pub turns: usize,
    /// Yaw ([`liveness::yaw`], in eye distances) at or past which the head counts as turned;
    /// within half of it, as facing the camera.
    pub yaw_threshold: f64,
    /// How long a challenge may be answered.
    pub challenge_ttl_secs: u64,
    /// How long an accepted frame set is remembered, to refuse it again.
    pub frames_ttl_secs: u64,
    /// Most challenges outstanding (and frame digests remembered) at once.
    pub max_challenges: usize,
    /// Most challenges outstanding (unanswered, unexpired) for one holder at once.
    pub max_challenges_per_holder: usize,
    /// Most frames in one submission.
    pub max_frames: usize,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            turns: 3,
            yaw_threshold: 0.12,
            challenge_ttl_secs: 300,
            frames_ttl_secs: 30 * 24 * 3600,
            max_challenges: 100_000,
            max_challenges_per_holder: 3,
            max_frames: 12,
        }
    }
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
    #[serde(default = "HttpConfig::default_match_similarity")]
    pub match_similarity: f64,
    /// Similarity at or above which a match is certain.
    #[serde(default = "HttpConfig::default_certain_similarity")]
    pub certain_similarity: f64,
    /// Request timeout.
    #[serde(default = "HttpConfig::default_timeout_secs")]
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

// The section has required members (the vendor's URL and keys), so its optional ones take
// their defaults one by one.
impl HttpConfig {
    fn default_match_similarity() -> f64 {
        0.8
    }
    fn default_certain_similarity() -> f64 {
        0.9
    }
    fn default_timeout_secs() -> u64 {
        20
    }
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
        if l.max_challenges_per_holder == 0 {
            return invalid(
                "biometric.liveness.max_challenges_per_holder",
                "must be at least 1",
            );
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
            self.liveness.max_challenges_per_holder,
        )
    }
}
