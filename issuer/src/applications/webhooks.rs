//! Registering and deleting the platforms' webhook endpoints: admin actions, logged in the
//! audit log before they are stored (`webhook_registered`, `webhook_deleted`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use kyc_core::audit_event::AuditEvent;
use sha2::{Digest as _, Sha256};

use super::context::Applications;
use crate::webhooks::{Registered, WebhookError};

impl Applications {
    /// Register `url` for `admin` once its target is checked (400 for a private, loopback,
    /// link-local or metadata target, nothing logged or stored); the answer holds the secret.
    pub async fn register_webhook(
        &self,
        url: &str,
        admin: &str,
        now: DateTime<Utc>,
    ) -> Result<Registered, WebhookError> {
        let (record, registered) = self.webhooks.prepare(url, admin, now).await?;
        self.audit
            .append(&AuditEvent::WebhookRegistered {
                webhook: record.id.clone(),
                url_hash: URL_SAFE_NO_PAD.encode(Sha256::digest(record.url.as_bytes())),
                by: self.secret.staff(admin),
            })
            .await?;
        self.webhooks.insert(record)?;
        Ok(registered)
    }

    /// Delete endpoint `id` (404 if there is none, nothing logged).
    pub async fn delete_webhook(&self, id: &str, admin: &str) -> Result<(), WebhookError> {
        if !self.webhooks.exists(id) {
            return Err(WebhookError::NotFound);
        }
        self.audit
            .append(&AuditEvent::WebhookDeleted {
                webhook: id.to_owned(),
                by: self.secret.staff(admin),
            })
            .await?;
        // A concurrent delete may have got there first: the endpoint is gone either way.
        match self.webhooks.delete(id, admin) {
            Ok(()) | Err(WebhookError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
