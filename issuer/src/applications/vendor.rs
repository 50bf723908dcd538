//! A biometric vendor's result, delivered on its webhook after it answered `202`: the
//! biometric check replaced, the application decided again.

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, AuditEvent};

use super::context::{apply_decision, check_event, conflict, decision_event, Applications};
use super::error::{ApplicationError, Broken};
use super::views::ApplicationView;
use crate::model::{ApplicationRecord, ApplicationState, CheckRecord, Reason, VendorPending};
use crate::risk::RiskPolicy;
use crate::secret::IssuerSecret;

impl Applications {
    /// A biometric vendor posts a result it promised (`202` at the time of the check): the
    /// signature and its time are checked, the request must still be waiting and its
    /// application in review; the biometric check's record is replaced and the application
    /// decided again, both logged.
    pub async fn vendor_result(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ApplicationView, ApplicationError> {
        let Some(check) = self.checks.biometric().filter(|c| c.has_vendor()) else {
            return Err(ApplicationError::NotFound);
        };
        // The signature first: an unauthenticated caller learns nothing about what waits.
        let result = check
            .verify_vendor_result(signature_header, body, now)
            .map_err(|e| match e {
                crate::checks::biometric::VendorWebhookError::MalformedBody => {
                    ApplicationError::BadRequest(e.to_string())
                }
                _ => ApplicationError::BadSignature(e),
            })?
            .ok_or(ApplicationError::NotFound)?;
        let reference = result
            .reference
            .clone()
            .ok_or_else(|| ApplicationError::BadRequest("no reference in the result".into()))?;
        let pending = self
            .store
            .vendor_pending(&reference)?
            .ok_or(ApplicationError::NotFound)?;
        let (outcome, reasons) = check
            .vendor_outcome(&result, pending.liveness_asked)
            .ok_or(ApplicationError::NotFound)?;
        let current = self.waiting_for(&reference, &pending)?;
        let policy = self
            .checks
            .policy(&current.jurisdiction)
            .ok_or_else(|| ApplicationError::from(Broken::NoPolicy))?;
        // Taken once: a second delivery of the same result finds nothing waiting.
        let Some(taken) = self.store.take_vendor_pending(&reference)? else {
            return Err(ApplicationError::NotFound);
        };
        let record = CheckRecord::new(AuditCheck::Biometric, outcome, reasons, now);
        let (next, events) = redecided(&self.secret, &current, record, &policy.into(), now);
        let applied = match self.audit.append_all(&events).await {
            Ok(_) => self
                .store
                .replace_application(&current, &next)
                .map_err(conflict),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = applied {
            // Nothing applied: the vendor's retry must find the request waiting again.
            self.store.record_vendor_pending(&reference, &taken)?;
            return Err(e);
        }
        self.announce(&next);
        Ok((&next).into())
    }

    /// The application `pending` (under `reference`) is about, while it still waits for this
    /// result: the result applies to the round that asked for it, and only while that round's
    /// biometric record still waits for it. One that can never apply is forgotten.
    fn waiting_for(
        &self,
        reference: &str,
        pending: &VendorPending,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let current = self
            .store
            .application(&pending.application)?
            .ok_or(ApplicationError::NotFound)?;
        let same_round = current.checks.iter().any(|r| {
            r.check == AuditCheck::Biometric
                && r.at == pending.round_at
                && r.reasons.contains(&Reason::BiometricPending)
        });
        if !same_round || current.state.is_final() {
            self.store.take_vendor_pending(reference)?;
        }
        if !same_round || current.state != ApplicationState::InReview {
            return Err(ApplicationError::WrongState(
                "the application does not wait for this result now".into(),
            ));
        }
        Ok(current)
    }
}

/// `current` with its biometric record replaced by `record` and decided again under `policy`,
/// with the events that log both.
fn redecided(
    secret: &IssuerSecret,
    current: &ApplicationRecord,
    record: CheckRecord,
    policy: &RiskPolicy,
    now: DateTime<Utc>,
) -> (ApplicationRecord, [AuditEvent; 2]) {
    let mut next = current.clone();
    for r in next
        .checks
        .iter_mut()
        .filter(|r| r.check == AuditCheck::Biometric)
    {
        *r = record.clone();
    }
    let decision = crate::risk::decide(&next.checks, policy, now);
    let events = [
        check_event(&next.id, &record),
        decision_event(secret, &next.id, &decision),
    ];
    apply_decision(&mut next, decision, now);
    (next, events)
}
