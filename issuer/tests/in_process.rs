//! The business logic in-process, over the in-memory state store: no HTTP, no sled state, the
//! audit log on a temporary directory. What the service tests do over HTTP, here through
//! `Applications` itself, with the same invariants.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::audit_event::{CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::tlog::SignerKey;
use kyc_core::{DidKey, KycTier};
use kyc_issuer::applications::{
    ApplicationError, Applications, IssuanceSettings, IssuerSecrets, ServiceSettings,
};
use kyc_issuer::audit::{AuditLog, AuditSettings, SledStore};
use kyc_issuer::checks::CheckSuite;
use kyc_issuer::model::{ApplicationState, ReviewDecision};
use kyc_issuer::secret::IssuerSecret;
use kyc_issuer::state::memory::MemoryState;
use kyc_issuer::subject_keys::{MemoryKeys, SubjectKeys as _};
use serde_json::json;

const PUBLIC_URL: &str = "https://kyc.example";

fn applications(dir: &std::path::Path) -> (Applications, AuditLog) {
    applications_with(dir, Arc::new(MemoryKeys::new()))
}

fn applications_with(dir: &std::path::Path, keys: Arc<MemoryKeys>) -> (Applications, AuditLog) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let signer = SignerKey::new("kyc.example/audit", key.clone()).unwrap();
    let audit = AuditLog::open(
        SledStore::open(dir).unwrap(),
        AuditSettings {
            origin: "kyc.example/audit".into(),
            checkpoint_every_entries: 1000,
            checkpoint_interval: StdDuration::from_secs(3600),
        },
        signer,
    )
    .unwrap();
    let applications = Applications::new(
        Arc::new(MemoryState::new()),
        keys,
        audit.clone(),
        IssuerSecrets {
            key,
            secret: IssuerSecret::from_bytes([7; 32]),
        },
        IssuanceSettings {
            public_url: PUBLIC_URL.into(),
            validity_days: [30, 365, 365, 365],
            status_list_validity: Duration::hours(1),
            key_since: None,
        },
        CheckSuite::embedded().unwrap(),
        ServiceSettings {
            events: Default::default(),
            webhooks: Default::default(),
            retention: Duration::zero(),
            open_applications_per_holder: 3,
        },
    )
    .unwrap();
    (applications, audit)
}

fn submission(holder: &DidKey, nationality: &str) -> serde_json::Value {
    json!({
        "jurisdiction": "EU",
        "holder": holder.as_str(),
        "identity": {
            "givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
            "nationality": nationality, "residence": {"country": "DE"},
            "documentNumber": "C01X00T47"
        },
        "document": {"type": "id_card", "mrz": "IDD<<C01X00T478<<<<<<<<<<<<<<<\n9001310F3508013D<<<<<<<<<<<<<6\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<"}
    })
}

#[tokio::test]
async fn submit_collect_revoke_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let (apps, audit) = applications(dir.path());
    let (_, holder) = DidKey::generate();
    let now = Utc::now();

    // No screening list: screening is not performed, so the case goes to a person.
    let view = apps.submit(&submission(&holder, "DE"), now).await.unwrap();
    assert_eq!(view.state, ApplicationState::InReview);
    let screening = view.checks.iter().find(|c| c.check.as_str() == "screening");
    assert_eq!(
        screening.map(|c| c.outcome),
        Some(CheckOutcome::NotPerformed)
    );
    let decision = view.decision.clone().unwrap();
    assert_eq!(
        (decision.level, decision.action),
        (RiskLevel::Medium, DecisionAction::Review)
    );

    // A reviewer cannot approve a tier the checks do not back.
    let approve = |tier| ReviewDecision {
        action: DecisionAction::Approve,
        tier: Some(tier),
        reasons: Vec::new(),
        cleared_screening_matches: Vec::new(),
    };
    let refused = apps
        .review(&view.id, "rita", approve(KycTier::Verified), now)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ApplicationError::TierNotEarned(_)),
        "{refused}"
    );
    let reviewed = apps
        .review(&view.id, "rita", approve(KycTier::Unverified), now)
        .await
        .unwrap();
    assert_eq!(reviewed.state, ApplicationState::Approved);

    // Collected in batches, one credential per holder key, only by its holder; a second
    // collect is a new batch for the same approval.
    let (_, stranger) = DidKey::generate();
    let keys: Vec<DidKey> = (0..3).map(|_| DidKey::generate().1).collect();
    assert!(matches!(
        apps.collect(&view.id, stranger.as_str(), &keys[..1], now)
            .await,
        Err(ApplicationError::NotFound)
    ));
    let first = apps
        .collect(&view.id, holder.as_str(), &keys[..2], now)
        .await
        .unwrap();
    let again = apps
        .collect(&view.id, holder.as_str(), &keys[2..], now)
        .await
        .unwrap();
    assert_eq!(first.tier, KycTier::Unverified);
    let all: Vec<_> = first.credentials.iter().chain(&again.credentials).collect();
    assert_eq!(all.len(), 3);
    let resolver = kyc_core::did::Resolver::new();
    let mut entries = Vec::new();
    for (credential, key) in all.iter().zip(&keys) {
        let v = kyc_core::credential::verify_jwt(&credential.jwt, &resolver).unwrap();
        assert_eq!(v.credential.credential_subject.id, key.as_str());
        entries.push(v.credential.credential_status.unwrap());
    }
    let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    // Revoking one revokes the approval: every credential of it, and no batch after.
    apps.revoke(&first.credentials[0].id, "alice", "fraud_suspected", now)
        .await
        .unwrap();
    assert!(matches!(
        apps.revoke(&again.credentials[0].id, "alice", "fraud_suspected", now)
            .await,
        Err(ApplicationError::WrongState(_))
    ));
    assert!(matches!(
        apps.collect(&view.id, holder.as_str(), &keys[..1], now)
            .await,
        Err(ApplicationError::WrongState(_))
    ));
    let list = apps.status_list(1, now).await.unwrap();
    let trusted = kyc_verifier::TrustList::new(vec![kyc_verifier::trust::TrustedIssuer::single(
        apps.issuer().as_str(),
        "Test",
    )])
    .unwrap();
    let verified = kyc_core::status_list::verify_jwt(&list.jwt, trusted.resolver()).unwrap();
    for entry in &entries {
        assert!(verified.is_set(entry, apps.issuer().as_str()).unwrap());
    }

    // A second fetch within the list's half-life is the same signed list: nothing signed.
    assert_eq!(apps.status_list(1, now).await.unwrap().jwt, list.jwt);

    // Every step is in the log: the submission, six checks (EU reserves none for a provider),
    // the decision, the review, three issuances, three revocations, one list publication.
    assert_eq!(audit.size(), 16);

    // Every signature the key made is named by an entry written before it (issue 19): each
    // credential's two forms by their `credential_issued`, the list by its publication; and
    // the key made no other.
    let mut exported = Vec::new();
    audit.export(&mut exported).unwrap();
    let log = String::from_utf8(exported).unwrap();
    let named: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .flat_map(|e| {
            ["credentialHash", "sdJwtHash", "listHash"]
                .map(|k| e["data"][k].as_str().map(str::to_owned))
        })
        .flatten()
        .collect();
    let signed: Vec<&str> = all
        .iter()
        .flat_map(|c| [c.jwt.as_str(), c.sd_jwt.split('~').next().unwrap()])
        .chain([list.jwt.as_str()])
        .collect();
    for jws in &signed {
        let digest = kyc_core::jws::input_digest(jws).unwrap();
        assert!(named.contains(&digest), "a signature the log does not name");
    }
    assert_eq!(named.len(), signed.len());
    assert_eq!(apps.signatures(), signed.len() as u64);
    audit.close().unwrap();
}

#[tokio::test]
async fn a_call_for_action_country_is_rejected_without_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let (apps, _audit) = applications(dir.path());
    let (_, holder) = DidKey::generate();
    // KP (North Korea) is on the FATF call-for-action list.
    let view = apps
        .submit(&submission(&holder, "KP"), Utc::now())
        .await
        .unwrap();
    assert_eq!(view.state, ApplicationState::Rejected);
    let decision = view.decision.unwrap();
    assert_eq!(decision.level, RiskLevel::High);
    assert!(decision
        .reasons
        .contains(&"risk.fatf_call_for_action_nationality+100".to_owned()));
    assert_eq!(apps.reports().unwrap().len(), 1);
}

#[tokio::test]
async fn erasure_destroys_the_key_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeys::new());
    let (apps, _audit) = applications_with(dir.path(), Arc::clone(&keys));
    let (_, holder) = DidKey::generate();
    let now = Utc::now();
    let view = apps.submit(&submission(&holder, "DE"), now).await.unwrap();
    let subject = view.subject.clone();
    assert!(
        keys.get(&subject).unwrap().is_some(),
        "the key is kept apart"
    );
    assert!(apps.export(&subject, holder.as_str()).is_ok());

    apps.erase(&subject, "adam", now).await.unwrap();
    assert!(keys.get(&subject).unwrap().is_none());
    assert!(matches!(
        apps.export(&subject, holder.as_str()),
        Err(ApplicationError::Erased)
    ));
    assert!(matches!(
        apps.erase(&subject, "adam", now).await,
        Err(ApplicationError::WrongState(_))
    ));
}
