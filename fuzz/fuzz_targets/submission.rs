//! The body of `POST /v1/applications` as the issuer reads it: the JSON body extractor
//! (members named once, strict parse), the application schema and the typed submission
//! (`Applications::validate`), then every check that runs without a model or a network
//! (identity and ID numbers, document, screening against a small list, country risk).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::tlog::SignerKey;
use kyc_issuer::applications::{Applications, IssuanceSettings, IssuerSecrets, ServiceSettings};
use kyc_issuer::audit::{AuditLog, AuditSettings, SledStore};
use kyc_issuer::checks::biometric::PriorAnswer;
use kyc_issuer::checks::screening::{ListFormat, ListSource, Screener, ScreeningSettings};
use kyc_issuer::checks::{CheckContext, CheckSuite};
use kyc_issuer::state::memory::MemoryState;
use libfuzzer_sys::fuzz_target;

const LIST: &str = r#"{"id":"Q1","schema":"Person","properties":{"name":["Erika Mustermann"],"birthDate":["1990-01-31"],"nationality":["de"],"topics":["sanction"]}}
{"id":"Q2","schema":"Person","properties":{"firstName":["Ivan"],"lastName":["Petrov"],"birthDate":["1961-08"],"topics":["role.pep"]}}
"#;

struct World {
    applications: Applications,
    checks: CheckSuite,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kyc-fuzz-{}-store", std::process::id()));
        let key = SigningKey::from_bytes(&[9; 32]);
        let signer = SignerKey::new("kyc.example/audit", key.clone()).expect("a key name");
        let audit = AuditLog::open(
            SledStore::open(&dir).expect("a store"),
            AuditSettings {
                origin: "kyc.example/audit".into(),
                checkpoint_every_entries: 1000,
                checkpoint_interval: StdDuration::from_secs(3600),
            },
            signer,
        )
        .expect("an audit log");
        let applications = Applications::new(
            Arc::new(MemoryState::new()),
            Arc::new(kyc_issuer::subject_keys::MemoryKeys::new()),
            audit,
            IssuerSecrets {
                key,
                secret: kyc_issuer::secret::IssuerSecret::from_bytes([7; 32]),
            },
            IssuanceSettings {
                public_url: "https://kyc.example".into(),
                validity_days: [30, 365, 365, 365],
                status_list_validity: Duration::hours(1),
                key_since: None,
            },
            CheckSuite::embedded().expect("the embedded policies"),
            ServiceSettings {
                events: Default::default(),
                webhooks: Default::default(),
                retention: Duration::zero(),
                open_applications_per_holder: 3,
            },
        )
        .expect("the applications");
        let list = kyc_fuzz::scratch_file("screening.ftm.json");
        std::fs::write(&list, LIST).expect("the scratch file is writable");
        let screener = Screener::new(
            vec![ListSource {
                name: "fuzz".into(),
                format: ListFormat::FollowTheMoney,
                path: list,
                aliases: None,
                default_kind: None,
            }],
            ScreeningSettings::default(),
        )
        .expect("the list loads");
        let checks = CheckSuite::embedded()
            .expect("the embedded policies")
            .with_screening(Arc::new(screener), ScreeningSettings::default());
        World {
            applications,
            checks,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = kyc_issuer::api::fuzzing::json_body(data) else {
        return;
    };
    let world = world();
    let Ok(submission) = world.applications.validate(&body) else {
        return;
    };
    let liveness = PriorAnswer::default();
    let ctx = CheckContext {
        now: Utc::now(),
        shared: &[],
        cleared: &[],
        liveness: &liveness,
    };
    let _ = world.checks.run(&submission, ctx);
});
