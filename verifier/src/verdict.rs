//! The verdict: one JSON object saying whether a credential or presentation is acceptable, and
//! every reason it is not.

use kyc_core::VerifyError;
use serde::Serialize;
use serde_json::{Map, Value};

/// Whether the revocation status was checked, and what it said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusOutcome {
    /// The credential carries no status entry.
    NoStatus,
    /// It has one, but no status list was supplied: revocation was not checked.
    NotChecked,
    /// Checked: not revoked.
    Valid,
    /// Checked: revoked.
    Revoked,
}

/// One reason for rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictError {
    /// Stable code (`bad_signature`, `expired`, …).
    pub code: &'static str,
    /// Human-readable explanation; never contains personal data.
    pub message: String,
}

/// What this relying party refuses on its own account, beyond `kyc-core`'s [`VerifyError`]:
/// the parts of its policy that need its state (the trust file's key windows, the nonces it
/// issued, its status cache).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The issuer's key was retired before it signed this (`until` in the trust file).
    #[error("signed by an issuer key retired at {0}")]
    KeyRetired(chrono::DateTime<chrono::Utc>),
    /// The issuer's key was not yet in service when it signed this (`from` in the trust file).
    #[error("signed by an issuer key not in service before {0}")]
    KeyNotYetActive(chrono::DateTime<chrono::Utc>),
    /// The presentation answers a nonce this relying party never issued (or a request that
    /// differs from the one it issued).
    #[error("the request's nonce was not issued by this verifier")]
    UnknownNonce,
    /// The credential has a status entry and no status list for it is at hand, which the policy
    /// requires.
    #[error("no status list for this credential is at hand")]
    StatusUnavailable,
}

impl Refusal {
    /// A stable, machine-readable code for verdicts (`snake_case`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyRetired(_) => "key_retired",
            Self::KeyNotYetActive(_) => "key_not_yet_active",
            Self::UnknownNonce => "unknown_nonce",
            Self::StatusUnavailable => "status_unavailable",
        }
    }
}

impl From<&Refusal> for VerdictError {
    fn from(e: &Refusal) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<&VerifyError> for VerdictError {
    fn from(e: &VerifyError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The outcome of verifying one credential or presentation.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// True only when there is no error at all.
    pub valid: bool,
    /// `vc+jwt` or `vc+sd-jwt`, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<&'static str>,
    /// The issuer's DID, once the signature checked out.
    pub issuer: Option<String>,
    /// The issuer's name from the trust list, when trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// The holder's DID.
    pub subject: Option<String>,
    /// The KYC tier.
    pub kyc_tier: Option<u8>,
    /// The revocation status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusOutcome>,
    /// For presentations: the disclosed subject claims and their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed: Option<Map<String, Value>>,
    /// Whether revocation status had to be checked: `required` (a credential with a status
    /// entry and no list at hand is refused) or `unchecked_allowed` (it passes with `status`
    /// `not_checked`), when the caller says which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_policy: Option<&'static str>,
    /// Every reason for rejection; empty when valid.
    pub errors: Vec<VerdictError>,
    #[serde(skip)]
    malformed: bool,
}

impl Verdict {
    /// A verdict for input that failed before anything was learned from it.
    pub fn failed(e: &VerifyError) -> Self {
        let mut v = Self::default();
        v.push(e);
        v
    }

    /// The same verdict, naming the status policy it was reached under.
    pub fn with_status_policy(mut self, required: bool) -> Self {
        self.status_policy = Some(if required {
            "required"
        } else {
            "unchecked_allowed"
        });
        self
    }

    /// The same verdict, naming the securing form.
    pub fn with_form(mut self, form: &'static str) -> Self {
        self.form = Some(form);
        self
    }

    /// Record a reason for rejection.
    pub fn push(&mut self, e: &VerifyError) {
        self.malformed |= e.is_malformed();
        self.errors.push(e.into());
        self.valid = false;
    }

    /// Record a refusal of this relying party's own policy.
    pub fn refuse(&mut self, e: &Refusal) {
        self.errors.push(e.into());
        self.valid = false;
    }

    /// Whether one of the errors has this code.
    pub fn has_error(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    /// True when the input could not be parsed (the CLI's exit code 2).
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }

    /// The CLI's exit code: 0 valid, 1 not valid, 2 unreadable or unparseable.
    pub fn exit_code(&self) -> u8 {
        match (self.valid, self.malformed) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        }
    }
}
