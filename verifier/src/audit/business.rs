//! The business half of a replay: every application's state machine rebuilt from the events,
//! and the invariants of `docs/design.md` checked as each event arrives.
//!
//! An application is created by `application_submitted`. Its checks run in *rounds*: the first
//! starts at submission, and each `documents_submitted` starts another, forgetting the previous
//! round's check results and decision. Within a round, `check_completed` records the latest
//! outcome of each check and `decision` the latest decision. `credential_issued` needs, in the
//! current round, a standing `approve` decision of the credential's tier that
//! [`approval_allows`], and every check of [`required_checks`] for that tier completed `clear`.
//! A `reject` decision closes the application: any later event for it is a violation. An
//! application may be issued more than one credential (each meeting the rule; ids unique).
//! `credential_revoked` must name an issued credential not yet revoked, and sets its bit in the
//! status list `credential_issued` named; `status_list_published` must count exactly the bits
//! the log set in that list so far. `key_rotated` must carry a statement signed by the key it
//! retires, naming the same two keys, and retire the key the previous rotation put in service;
//! after a rotation, the checkpoint must be signed by the key the last one names. `subject_erased`, `webhook_registered` and
//! `webhook_deleted` carry no invariant here. An event kind this auditor does not know is a
//! violation: it cannot vouch for rules it has not read.

use std::collections::{BTreeSet, HashMap};

use kyc_core::audit_event::{
    approval_allows, required_checks, AuditCheck, AuditEvent, CheckOutcome, DecisionAction,
    RiskLevel,
};
use kyc_core::KycTier;

use super::failure::Violation;
use super::report::DecisionsByLevel;

/// The checks, in [`AuditCheck`]'s order, for indexing a round's results.
const CHECKS: [AuditCheck; 7] = [
    AuditCheck::Identity,
    AuditCheck::Document,
    AuditCheck::Biometric,
    AuditCheck::Screening,
    AuditCheck::Risk,
    AuditCheck::Address,
    AuditCheck::Provider,
];

fn check_index(check: AuditCheck) -> usize {
    CHECKS.iter().position(|c| *c == check).unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
struct Decision {
    level: RiskLevel,
    action: DecisionAction,
    tier: Option<KycTier>,
    reviewed: bool,
}

#[derive(Debug, Default)]
struct Application {
    /// The latest outcome of each check in the current round.
    checks: [Option<CheckOutcome>; CHECKS.len()],
    /// The latest decision in the current round.
    decision: Option<Decision>,
    rejected: bool,
}

/// What the business replay counts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) applications: u64,
    pub(crate) credentials_issued: u64,
    pub(crate) credentials_revoked: u64,
    pub(crate) decisions: DecisionsByLevel,
}

/// An issued credential: its status list slot, and whether it is revoked.
#[derive(Debug)]
struct Issued {
    list: String,
    index: u64,
    revoked: bool,
}

/// A status list to find in the log ([`super::status_list`]): where it was published, and what
/// the log's revocations imply for its URL there and as of its `validFrom`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    /// The digest of the list's signing input.
    pub(crate) digest: String,
    /// The list's URL.
    pub(crate) url: String,
    /// The list's `validFrom`.
    pub(crate) valid_from: chrono::DateTime<chrono::Utc>,
    /// The `status_list_published` entry naming it, and the revocations logged before it.
    pub(crate) published: Option<(u64, BTreeSet<u64>)>,
    /// The revocations logged at or before `valid_from`.
    pub(crate) as_of_valid_from: Option<BTreeSet<u64>>,
}

/// Every application and credential seen so far.
#[derive(Debug, Default)]
pub(crate) struct BusinessReplay {
    applications: HashMap<String, Application>,
    /// Credential (by the log's commitment) → its slot and state.
    credentials: HashMap<String, Issued>,
    /// Status list URL → the indexes the log revoked in it.
    revoked_bits: HashMap<String, BTreeSet<u64>>,
    pub(crate) counts: Counts,
    /// A list being looked for.
    pub(crate) watch: Option<Watch>,
    /// Every `key_rotated` entry: its seq, the retired key, its successor.
    pub(crate) rotations: Vec<(u64, String, String)>,
}

impl BusinessReplay {
    /// A replay looking for `watch`'s list on the way.
    pub(crate) fn watching(watch: Option<Watch>) -> Self {
        Self {
            watch,
            ..Self::default()
        }
    }

    /// The revocations logged so far in the list at `url`.
    fn revoked_in(&self, url: &str) -> BTreeSet<u64> {
        self.revoked_bits.get(url).cloned().unwrap_or_default()
    }

    /// Whether `signer` (the checkpoint's key) may have signed a checkpoint of `size` entries:
    /// once the log has rotated the key, only the key the last rotation within `size` names,
    /// or, for the checkpoint that closes the rotation itself (`size` = its seq + 1), the key
    /// it retired. Before any rotation the log says nothing about the key. The seq of the
    /// rotation that refuses it, if one does.
    pub(crate) fn checkpoint_key_refused(&self, size: u64, signer: &[u8; 32]) -> Option<u64> {
        let (seq, previous, current) = self.rotations.iter().rev().find(|(s, ..)| *s < size)?;
        let is = |did: &str| kyc_core::did::public_key_bytes(did).is_ok_and(|k| k == *signer);
        let allowed = is(current) || (size == seq + 1 && is(previous));
        (!allowed).then_some(*seq)
    }

    /// The end of the log: a watched list's `validFrom` after every entry sees them all.
    pub(crate) fn finish(&mut self) {
        let final_set = self
            .watch
            .as_ref()
            .filter(|w| w.as_of_valid_from.is_none())
            .map(|w| self.revoked_in(&w.url));
        if let (Some(watch), Some(set)) = (self.watch.as_mut(), final_set) {
            watch.as_of_valid_from = Some(set);
        }
    }

    /// Applies the next event, entry `seq` of `time`, or says which rule it breaks.
    pub(crate) fn apply(
        &mut self,
        seq: u64,
        time: chrono::DateTime<chrono::Utc>,
        event: AuditEvent,
    ) -> Result<(), Violation> {
        let before = self
            .watch
            .as_ref()
            .filter(|w| w.as_of_valid_from.is_none() && time > w.valid_from)
            .map(|w| self.revoked_in(&w.url));
        if let (Some(watch), Some(set)) = (self.watch.as_mut(), before) {
            watch.as_of_valid_from = Some(set);
        }
        match event {
            AuditEvent::ApplicationSubmitted { application, .. } => {
                if self.applications.contains_key(&application) {
                    return Err(Violation::DuplicateApplication);
                }
                self.applications
                    .insert(application, Application::default());
                self.counts.applications += 1;
            }
            AuditEvent::DocumentsSubmitted { application } => {
                let app = self.open(&application)?;
                app.checks = Default::default();
                app.decision = None;
            }
            AuditEvent::CheckCompleted {
                application,
                check,
                outcome,
                ..
            } => {
                self.open(&application)?.checks[check_index(check)] = Some(outcome);
            }
            AuditEvent::Decision {
                application,
                level,
                action,
                tier,
                reviewer,
                ..
            } => {
                let app = self.open(&application)?;
                if action == DecisionAction::Approve && tier.is_none() {
                    return Err(Violation::ApproveWithoutTier);
                }
                app.decision = Some(Decision {
                    level,
                    action,
                    tier,
                    reviewed: reviewer.is_some(),
                });
                app.rejected = action == DecisionAction::Reject;
                let counter = match level {
                    RiskLevel::Low => &mut self.counts.decisions.low,
                    RiskLevel::Medium => &mut self.counts.decisions.medium,
                    RiskLevel::High => &mut self.counts.decisions.high,
                };
                *counter += 1;
            }
            AuditEvent::CredentialIssued {
                application,
                credential,
                tier,
                status_list,
                status_index,
                ..
            } => {
                let app = self.open(&application)?;
                earned(app, tier)?;
                if self.credentials.contains_key(&credential) {
                    return Err(Violation::DuplicateCredential);
                }
                self.credentials.insert(
                    credential,
                    Issued {
                        list: status_list,
                        index: status_index,
                        revoked: false,
                    },
                );
                self.counts.credentials_issued += 1;
            }
            AuditEvent::CredentialRevoked { credential, .. } => {
                let issued = match self.credentials.get_mut(&credential) {
                    None => return Err(Violation::RevokeUnknownCredential),
                    Some(issued) if issued.revoked => return Err(Violation::RevokeTwice),
                    Some(issued) => issued,
                };
                issued.revoked = true;
                self.revoked_bits
                    .entry(issued.list.clone())
                    .or_default()
                    .insert(issued.index);
                self.counts.credentials_revoked += 1;
            }
            AuditEvent::StatusListPublished {
                status_list,
                list_hash,
                revoked,
            } => {
                let logged = self.revoked_in(&status_list);
                if logged.len() as u64 != revoked {
                    return Err(Violation::StatusListCount {
                        published: revoked,
                        logged: logged.len() as u64,
                    });
                }
                if let Some(watch) = self.watch.as_mut() {
                    if watch.digest == list_hash && watch.published.is_none() {
                        watch.published = Some((seq, logged));
                    }
                }
            }
            AuditEvent::KeyRotated {
                previous,
                current,
                statement,
                ..
            } => {
                let signed = kyc_core::key_rotation::KeyRotation::verify(&statement)
                    .map_err(|_| Violation::RotationNotSigned)?;
                if signed.previous != previous || signed.current != current {
                    return Err(Violation::RotationNotSigned);
                }
                // Each rotation retires the key the one before put in service.
                if self
                    .rotations
                    .last()
                    .is_some_and(|(_, _, in_service)| *in_service != previous)
                {
                    return Err(Violation::RotationOutOfChain);
                }
                self.rotations.push((seq, previous, current));
            }
            AuditEvent::SubjectErased { .. }
            | AuditEvent::WebhookRegistered { .. }
            | AuditEvent::WebhookDeleted { .. } => {}
            other => {
                let (kind, _) = other.to_parts();
                return Err(Violation::UnsupportedEvent(kind));
            }
        }
        Ok(())
    }

    /// The application, submitted and not rejected.
    fn open(&mut self, application: &str) -> Result<&mut Application, Violation> {
        match self.applications.get_mut(application) {
            None => Err(Violation::UnknownApplication),
            Some(app) if app.rejected => Err(Violation::ApplicationClosed),
            Some(app) => Ok(app),
        }
    }
}

/// Whether the current round earned a credential of `tier` (`docs/design.md`, "Invariants": issued
/// only on completed checks and an approve decision, at the tier the checks earned).
fn earned(app: &Application, tier: KycTier) -> Result<(), Violation> {
    let decision = match app.decision {
        Some(d) if d.action == DecisionAction::Approve => d,
        _ => return Err(Violation::IssuedWithoutApproval),
    };
    let approved = decision.tier.ok_or(Violation::ApproveWithoutTier)?;
    if approved != tier {
        return Err(Violation::TierMismatch {
            approved,
            issued: tier,
        });
    }
    if let Some(&check) = required_checks(tier)
        .iter()
        .find(|&&c| app.checks[check_index(c)] != Some(CheckOutcome::Clear))
    {
        return Err(Violation::TierNotEarned { tier, check });
    }
    // The reviewer's name is not needed to decide, only whether there was one.
    let reviewer = decision.reviewed.then_some("reviewer");
    if !approval_allows(tier, decision.level, reviewer) {
        return Err(Violation::ApprovalNotAllowed {
            tier,
            level: decision.level,
            reviewer: if decision.reviewed {
                "by a reviewer"
            } else {
                "without a reviewer"
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_index_covers_every_check() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert_eq!(check_index(*c), i);
        }
    }
}
