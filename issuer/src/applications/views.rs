//! What a holder or a reviewer sees of an application (no personal data), and the holder's
//! status stream.

use std::sync::Arc;

use serde::Serialize;

use super::context::Applications;
use super::error::ApplicationError;
use crate::events::StateChange;
use crate::model::{ApplicationRecord, ApplicationState, CheckRecord, DecisionRecord};
use chrono::{DateTime, Utc};

/// An application as its holder (or a reviewer) sees it: no personal data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    /// Id.
    pub id: String,
    /// The pseudonymous subject id (for `GET /v1/subjects/{id}/export`).
    pub subject: String,
    /// State.
    pub state: ApplicationState,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Submitted at.
    pub created_at: DateTime<Utc>,
    /// Checks of the current round.
    pub checks: Vec<CheckRecord>,
    /// The latest decision.
    #[schema(required = true)]
    pub decision: Option<DecisionRecord>,
    /// The credential id once issued.
    #[schema(required = true)]
    pub credential: Option<String>,
}

/// The view anyone but staff gets: without the screening-list entries a check matched
/// (`match:list/entity`), which only a reviewer needs. Telling a customer which sanctions or PEP
/// entry they resemble would tip them off and let them probe the lists.
impl From<&ApplicationRecord> for ApplicationView {
    fn from(a: &ApplicationRecord) -> Self {
        let mut view = Self::for_staff(a);
        for check in &mut view.checks {
            check.matches.clear();
            check.match_details.clear();
        }
        view
    }
}

impl ApplicationView {
    /// The view a reviewer gets: every reason, the matched list entries included.
    pub fn for_staff(a: &ApplicationRecord) -> Self {
        Self {
            id: a.id.clone(),
            subject: a.subject.clone(),
            state: a.state,
            jurisdiction: a.jurisdiction.clone(),
            created_at: a.created_at,
            checks: a.checks.clone(),
            decision: a.decision.clone(),
            credential: a.credential.clone(),
        }
    }
}

impl Applications {
    /// The status stream of application `id` for its holder (404 for anyone else): its current
    /// state, then each change, until a final state, the stream timeout or shutdown
    /// ([`Events::watch`]).
    pub fn watch(
        &self,
        id: &str,
        holder: &str,
    ) -> Result<impl futures_util::Stream<Item = StateChange> + Send + 'static, ApplicationError>
    {
        // Subscribe first: a change between reading and subscribing would be lost.
        let changes = self.events.subscribe();
        let current = self.for_holder(id, holder)?;
        Ok(self.events.watch(
            StateChange::current(&current),
            changes,
            Arc::clone(&self.store),
        ))
    }
}
