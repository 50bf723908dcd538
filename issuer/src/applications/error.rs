//! What went wrong with a request on an application: the caller's mistakes, each its own
//! variant (the API gives each its status), and the issuer's own failures, which keep their
//! source for the log and are never shown.

use chrono::{DateTime, Utc};

use crate::audit::AuditError;
use crate::pii::PiiError;
use crate::state::StateError;
use crate::subject_keys::KeyStoreError;
use crate::webhooks::WebhookError;

/// Why a request on an application failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicationError {
    /// The request is malformed; the message names the place and the rule, never a value.
    #[error("{0}")]
    BadRequest(String),
    /// The jurisdiction has no policy here; the known ones are listed.
    #[error("unknown jurisdiction; known: {0}")]
    UnknownJurisdiction(String),
    /// No such application or credential, or not the caller's.
    #[error("not found")]
    NotFound,
    /// The application is not in a state that allows this.
    #[error("{0}")]
    WrongState(String),
    /// The requested tier is not backed by the checks.
    #[error("{0}")]
    TierNotEarned(String),
    /// A vendor's message signature does not verify, or is stale.
    #[error("{0}")]
    BadSignature(#[source] crate::checks::biometric::VendorWebhookError),
    /// The holder already has this many applications waiting for a decision.
    #[error(
        "the holder already has {0} open applications; wait for a decision on one before \
         submitting another"
    )]
    TooManyOpen(usize),
    /// The subject's data was erased.
    #[error("the subject's data has been erased")]
    Erased,
    /// The subject's data must still be kept.
    #[error(
        "the retention period runs until {}; the subject cannot be erased before",
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    RetentionNotOver {
        /// When erasure becomes possible.
        until: DateTime<Utc>,
    },
    /// The state store failed.
    #[error("state store")]
    State(#[from] StateError),
    /// The subject key store failed.
    #[error("subject keys")]
    SubjectKeys(#[from] KeyStoreError),
    /// The audit log failed.
    #[error("audit log")]
    Audit(#[from] AuditError),
    /// Sealing or opening personal data failed.
    #[error("personal data")]
    Pii(#[from] PiiError),
    /// A webhook operation failed.
    #[error("webhooks")]
    Webhook(#[from] WebhookError),
    /// Something the issuer relies on does not hold (a record missing, a value that does not
    /// decode): a bug or a damaged store.
    #[error("internal")]
    Broken(#[from] Broken),
}

/// An invariant of the issuer's own data that does not hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Broken {
    /// A record another one points to is not there.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A sealed value does not decode as what was sealed.
    #[error("sealed {0} does not decode")]
    Sealed(&'static str, #[source] serde_json::Error),
    /// A value does not encode (never for the types sealed here).
    #[error("{0} does not encode")]
    Encode(&'static str, #[source] serde_json::Error),
    /// The embedded application schema is not JSON.
    #[error("the application schema is not JSON")]
    ApplicationSchema(#[source] serde_json::Error),
    /// The embedded application schema does not compile.
    #[error("the application schema does not compile: {0}")]
    SchemaCompile(String),
    /// Signing a credential or a status list failed.
    #[error("signing {0}")]
    Signing(&'static str, #[source] kyc_core::MalformedError),
    /// Something to sign was named by no audit event (nothing was logged or signed).
    #[error("a draft to sign is named by no audit event")]
    NotLogged,
    /// An application's jurisdiction has no policy (refused at submission, so never stored).
    #[error("a stored application's jurisdiction has no policy")]
    NoPolicy,
    /// The checks' blocking task did not complete (it panicked; not its text: it may quote the
    /// input).
    #[error("a check failed to complete")]
    CheckTask,
}

impl From<crate::signer::SignError> for ApplicationError {
    fn from(e: crate::signer::SignError) -> Self {
        match e {
            crate::signer::SignError::Audit(e) => Self::Audit(e),
            crate::signer::SignError::NotLogged => Self::Broken(Broken::NotLogged),
        }
    }
}
