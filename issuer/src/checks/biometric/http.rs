//! The adapter for an external biometric vendor over HTTP, and the check of its webhooks.
//!
//! Request (`POST {url}`, `Authorization: Bearer {api_key}`, JSON):
//! `{"reference": "<uuid>", "document": "<base64>", "selfie": "<base64>",
//!   "liveness": {"challenge": ["left", "centre", "right"], "frames": ["<base64>", …]} | null}`.
//! Response: `{"similarity": <0–1>, "spoofing": "live" | "spoof" | "unknown"}` (other members
//! ignored), or `202 Accepted` when the vendor answers later: the check is then *consider*
//! (`biometric_pending`) and the vendor posts the result with its `reference` to the issuer's
//! webhook (`POST /v1/biometric/vendor-results`), signed: header `Kyc-Vendor-Signature: t=<unix seconds>,v1=<hex>` where the
//! hex is HMAC-SHA256(webhook_secret, `"{t}." || body`) (RFC 2104), checked in constant time
//! and within [`WEBHOOK_TOLERANCE_SECS`] of now ([`verify_vendor_webhook`]).
//!
//! The HTTP round trip runs on a small runtime of the adapter's own, so
//! [`BiometricProvider::assess`] can be called from any blocking thread.

use std::sync::mpsc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::config::BiometricConfig;
use super::provider::{
    Assessment, BiometricError, BiometricProvider, BiometricRequest, FaceMatch, Liveness, Score,
};
use crate::model::HeadTurn;

/// The webhook's signature header.
pub const SIGNATURE_HEADER: &str = "kyc-vendor-signature";
/// How far a webhook's timestamp may be from now, either way.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;
/// Largest vendor response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The vendor's presentation-attack verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Spoofing {
    /// A live person.
    Live,
    /// A presentation attack (photo, screen, mask, injected video).
    Spoof,
    /// The vendor could not tell.
    Unknown,
}

/// A vendor result, from a response or a webhook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VendorResult {
    /// The request's reference (webhooks only).
    #[serde(default)]
    pub reference: Option<String>,
    /// Face similarity in [0, 1].
    pub similarity: f64,
    /// Presentation-attack verdict.
    pub spoofing: Spoofing,
}

impl VendorResult {
    fn parse(body: &[u8]) -> Option<Self> {
        let result: Self = serde_json::from_slice(body).ok()?;
        (result.similarity.is_finite() && (0.0..=1.0).contains(&result.similarity))
            .then_some(result)
    }
}

#[derive(Serialize)]
struct VendorRequest<'a> {
    reference: String,
    document: String,
    selfie: String,
    liveness: Option<VendorLiveness<'a>>,
}

#[derive(Serialize)]
struct VendorLiveness<'a> {
    challenge: &'a [HeadTurn],
    frames: Vec<String>,
}

/// The external vendor provider.
pub struct HttpBiometrics {
    url: String,
    api_key: String,
    match_similarity: f64,
    certain_similarity: f64,
    client: reqwest::Client,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for HttpBiometrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBiometrics")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for HttpBiometrics {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime's task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl HttpBiometrics {
    /// The adapter for `config.http`.
    pub fn from_config(config: &BiometricConfig) -> Result<Self, BiometricError> {
        let http = config.http.as_ref().ok_or(BiometricError::Config {
            key: "biometric.http",
            reason: "required with provider = \"http\"".into(),
        })?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(http.timeout_secs))
            .build()
            .map_err(|e| BiometricError::Vendor(format!("client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("biometric-vendor")
            .enable_all()
            .build()
            .map_err(|e| BiometricError::Vendor(format!("runtime: {e}")))?;
        Ok(Self {
            url: http.url.clone(),
            api_key: http.api_key.clone(),
            match_similarity: http.match_similarity,
            certain_similarity: http.certain_similarity,
            client,
            runtime: Some(runtime),
        })
    }

    fn call(&self, body: Vec<u8>) -> Result<Option<VendorResult>, BiometricError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| BiometricError::Vendor("shut down".into()))?;
        let request = self
            .client
            .post(&self.url)
            .bearer_auth(&self.api_key)
            .header("content-type", "application/json")
            .body(body);
        let (tx, rx) = mpsc::channel();
        runtime.spawn(async move {
            let result = async {
                let response = request
                    .send()
                    .await
                    .map_err(|e| format!("request failed: {}", without_url(&e)))?;
                let status = response.status();
                if status == reqwest::StatusCode::ACCEPTED {
                    return Ok(None);
                }
                if !status.is_success() {
                    return Err(format!("HTTP status {status}"));
                }
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| format!("reading response: {}", without_url(&e)))?;
                if bytes.len() > MAX_RESPONSE_BYTES {
                    return Err("response too large".into());
                }
                VendorResult::parse(&bytes)
                    .map(Some)
                    .ok_or_else(|| "malformed response".to_owned())
            }
            .await;
            let _ = tx.send(result);
        });
        rx.recv()
            .map_err(|_| BiometricError::Vendor("call abandoned".into()))?
            .map_err(BiometricError::Vendor)
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<vendor>");
    }
    text
}

impl BiometricProvider for HttpBiometrics {
    fn assess(&self, request: &BiometricRequest<'_>) -> Result<Assessment, BiometricError> {
        let reference = uuid::Uuid::new_v4().to_string();
        let body = VendorRequest {
            reference: reference.clone(),
            document: STANDARD.encode(request.document),
            selfie: STANDARD.encode(request.selfie),
            liveness: request.liveness.map(|l| VendorLiveness {
                challenge: &l.challenge.turns,
                frames: l.frames.iter().map(|f| STANDARD.encode(f)).collect(),
            }),
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| BiometricError::Vendor(format!("encoding request: {e}")))?;
        match self.call(body)? {
            Some(result) => Ok(self.assessment(&result, request.liveness.is_some())),
            None => Err(BiometricError::Pending { reference }),
        }
    }
}

impl HttpBiometrics {
    /// What a vendor result (a response, or a webhook's) means under this configuration.
    pub fn assessment(&self, result: &VendorResult, liveness_asked: bool) -> Assessment {
        let score = Score::Similarity(result.similarity);
        let face = if !liveness_asked && result.spoofing == Spoofing::Spoof {
            FaceMatch::Spoof
        } else if result.similarity >= self.certain_similarity {
            FaceMatch::Match(score)
        } else if result.similarity >= self.match_similarity {
            FaceMatch::Uncertain(score)
        } else {
            FaceMatch::NoMatch(score)
        };
        let liveness = liveness_asked.then_some(match result.spoofing {
            Spoofing::Live => Liveness::Passed,
            Spoofing::Spoof => Liveness::Spoof,
            Spoofing::Unknown => Liveness::Unknown,
        });
        Assessment { face, liveness }
    }
}

/// Why a webhook is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VendorWebhookError {
    /// No signature header, or not `t=…,v1=…`.
    #[error("missing or malformed signature header")]
    MalformedSignature,
    /// The timestamp is too far from now (a replay, or a wrong clock).
    #[error("webhook timestamp outside the tolerance")]
    Stale,
    /// The signature does not verify.
    #[error("webhook signature does not verify")]
    BadSignature,
    /// Signed, but not a vendor result.
    #[error("malformed webhook body")]
    MalformedBody,
}

/// The HMAC-SHA256 signature of a webhook `body` sent at unix time `t` (RFC 2104 over
/// `"{t}." || body`), lower-case hex: what the vendor puts after `v1=`.
pub fn sign_vendor_webhook(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length (RFC 2104 §2): this cannot fail.
    <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Check a vendor webhook: the signature header ([`SIGNATURE_HEADER`]), its timestamp within
/// [`WEBHOOK_TOLERANCE_SECS`] of `now`, the HMAC over timestamp and body (compared in constant
/// time), then the body.
pub fn verify_vendor_webhook(
    secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<VendorResult, VendorWebhookError> {
    let header = signature_header.ok_or(VendorWebhookError::MalformedSignature)?;
    let mut t: Option<i64> = None;
    let mut signature: Option<Vec<u8>> = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = v.parse().ok(),
            Some(("v1", v)) if signature.is_none() => signature = unhex(v),
            _ => return Err(VendorWebhookError::MalformedSignature),
        }
    }
    let (Some(t), Some(signature)) = (t, signature) else {
        return Err(VendorWebhookError::MalformedSignature);
    };
    if now.timestamp().abs_diff(t) > WEBHOOK_TOLERANCE_SECS.unsigned_abs() {
        return Err(VendorWebhookError::Stale);
    }
    let mut mac = mac(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    // `verify_slice` compares in constant time (the `subtle` crate underneath).
    mac.verify_slice(&signature)
        .map_err(|_| VendorWebhookError::BadSignature)?;
    VendorResult::parse(body).ok_or(VendorWebhookError::MalformedBody)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> Option<&str> {
        Some(value)
    }

    #[test]
    fn webhook_signature_time_and_body() {
        let secret = b"whsec";
        let now = Utc::now();
        let t = now.timestamp();
        let body = br#"{"reference":"r1","similarity":0.93,"spoofing":"live"}"#;
        let sig = sign_vendor_webhook(secret, t, body);
        let ok =
            verify_vendor_webhook(secret, headers(&format!("t={t},v1={sig}")), body, now).unwrap();
        assert_eq!(ok.spoofing, Spoofing::Live);
        assert_eq!(ok.reference.as_deref(), Some("r1"));

        let tampered = br#"{"reference":"r1","similarity":0.99,"spoofing":"live"}"#;
        assert_eq!(
            verify_vendor_webhook(secret, headers(&format!("t={t},v1={sig}")), tampered, now),
            Err(VendorWebhookError::BadSignature)
        );
        assert_eq!(
            verify_vendor_webhook(b"other", headers(&format!("t={t},v1={sig}")), body, now),
            Err(VendorWebhookError::BadSignature)
        );
        let old = t - WEBHOOK_TOLERANCE_SECS - 1;
        let old_sig = sign_vendor_webhook(secret, old, body);
        assert_eq!(
            verify_vendor_webhook(secret, headers(&format!("t={old},v1={old_sig}")), body, now),
            Err(VendorWebhookError::Stale)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            &format!("t={t},v1=zz"),
            "t=1,v1=00,x=1",
        ] {
            assert_eq!(
                verify_vendor_webhook(secret, headers(bad), body, now),
                Err(VendorWebhookError::MalformedSignature),
                "{bad}"
            );
        }
        assert_eq!(
            verify_vendor_webhook(secret, None, body, now),
            Err(VendorWebhookError::MalformedSignature)
        );
        let junk = br#"{"similarity":7,"spoofing":"live"}"#;
        let junk_sig = sign_vendor_webhook(secret, t, junk);
        assert_eq!(
            verify_vendor_webhook(secret, headers(&format!("t={t},v1={junk_sig}")), junk, now),
            Err(VendorWebhookError::MalformedBody)
        );
    }

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 §4.3, test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut m = mac(b"Jefe");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
