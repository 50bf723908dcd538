//! The issuer's configuration: a TOML file, then `KYC_ISSUER_*` environment overrides, validated
//! once at start with messages that name the offending key.
//!
//! An environment variable names a key by its dotted path, upper-cased, with `__` for the dot:
//! `KYC_ISSUER_LISTEN`, `KYC_ISSUER_AUDIT__CHECKPOINT_EVERY_ENTRIES`. Its value is read as a TOML
//! value when it parses as one (`8080`, `true`), as a string otherwise.
//!
//! Each section is owned by the module that uses it (`[events]` is [`EventsConfig`] in
//! `events`, `[audit]` is [`AuditConfig`] in `audit`, …) and composed here. Names say which is
//! which: a `*Config` is a section as written in the file; a `*Settings` is what a component is
//! built with at run time (durations, derived values), converted from its section.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::api::LimitsConfig;
use crate::applications::{IssuanceConfig, RetentionConfig, ServiceSettings};
use crate::audit::AuditConfig;
use crate::auth::StaffEntry;
use crate::checks::biometric::BiometricConfig;
use crate::checks::screening::ScreeningConfig;
use crate::checks::ChecksConfig;
use crate::events::EventsConfig;
use crate::subject_keys::{SubjectKeySettings, SubjectKeysConfig, DEFAULT_DIR, DEFAULT_KEK_FILE};
use crate::webhooks::WebhooksConfig;

/// Prefix of the environment overrides.
pub const ENV_PREFIX: &str = "KYC_ISSUER_";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("configuration: {0}")]
    Syntax(String),
    /// An environment override names no key.
    #[error("environment variable {0} does not name a configuration key")]
    BadOverride(String),
    /// A value is out of its range.
    #[error("configuration key {key}: {reason}")]
    Invalid {
        /// Dotted path of the key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "Config::default_listen")]
    pub listen: SocketAddr,
    /// Where the store, the signing key and the audit log live.
    pub data_dir: PathBuf,
    /// The issuer's public base URL, e.g. `https://kyc.example`; status list URLs hang off it.
    pub public_url: String,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Request limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Credential issuance.
    #[serde(default)]
    pub issuance: IssuanceConfig,
    /// Real-time status streams (`GET /v1/applications/{id}/events`).
    #[serde(default)]
    pub events: EventsConfig,
    /// Webhook delivery.
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// How long personal data must be kept before it may be erased.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Jurisdiction policies and risk data.
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Sanctions and PEP screening lists.
    #[serde(default)]
    pub screening: ScreeningConfig,
    /// Face match and liveness (`[biometric]`; disabled by default: *not performed*).
    #[serde(default)]
    pub biometric: BiometricConfig,
    /// Staff members and their roles; tokens only as SHA-256 digests
    /// (`kyc-issuer staff hash-token` prints one).
    #[serde(default)]
    pub staff: Vec<StaffEntry>,
    /// The subject keys' store and its key-encryption key ([`crate::subject_keys`]).
    #[serde(default)]
    pub subject_keys: SubjectKeysConfig,
    /// The directory of the configuration file [`Config::load`] read (where the KEK is kept
    /// by default); `None` for a configuration made from text.
    #[serde(skip)]
    pub config_dir: Option<PathBuf>,
}

impl Config {
    fn default_listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    /// Read `path`, apply the environment's overrides, validate.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        Self::parse(&text, std::env::vars(), Some(dir))
    }

    /// Parse `text`, apply the `KYC_ISSUER_*` pairs among `env`, validate.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::parse(text, env, None)
    }

    fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        config_dir: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.message().to_owned()))?;
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::BadOverride(name));
            }
            let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            set_path(&mut table, &keys, value).ok_or(ConfigError::BadOverride(name))?;
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Syntax(e.message().to_owned()))?;
        config.config_dir = config_dir;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://"))
            || self.public_url.ends_with('/')
        {
            return invalid(
                "public_url",
                "must be an http(s) URL without a trailing slash",
            );
        }
        if self.audit.checkpoint_every_entries == 0 {
            return invalid("audit.checkpoint_every_entries", "must be at least 1");
        }
        if self.audit.checkpoint_interval_secs == 0 {
            return invalid("audit.checkpoint_interval_secs", "must be at least 1");
        }
        if self.limits.body_bytes < 1024 {
            return invalid("limits.body_bytes", "must be at least 1024");
        }
        if self.limits.request_timeout_secs == 0 {
            return invalid("limits.request_timeout_secs", "must be at least 1");
        }
        if self.limits.max_concurrent_requests == 0 {
            return invalid("limits.max_concurrent_requests", "must be at least 1");
        }
        if !(1..=300).contains(&self.limits.header_read_timeout_secs) {
            return invalid(
                "limits.header_read_timeout_secs",
                "must be 1 to 300 seconds",
            );
        }
        for (key, value) in [
            (
                "limits.client_requests_per_minute",
                self.limits.client_requests_per_minute,
            ),
            ("limits.client_burst", self.limits.client_burst),
            (
                "limits.requests_per_minute",
                self.limits.requests_per_minute,
            ),
            ("limits.burst", self.limits.burst),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.limits.nonces_per_client == 0 {
            return invalid("limits.nonces_per_client", "must be at least 1");
        }
        if self.limits.open_applications_per_holder == 0 {
            return invalid("limits.open_applications_per_holder", "must be at least 1");
        }
        if let Some(name) = &self.limits.client_ip_header {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return invalid("limits.client_ip_header", "must be an HTTP header name");
            }
        }
        if self
            .issuance
            .validity_days
            .iter()
            .any(|d| *d == 0 || *d > 3650)
        {
            return invalid("issuance.validity_days", "each must be 1 to 3650 days");
        }
        if !(60..=86_400).contains(&self.issuance.status_list_validity_secs) {
            return invalid(
                "issuance.status_list_validity_secs",
                "must be 60 to 86400 seconds",
            );
        }
        if !(1..=300).contains(&self.events.keep_alive_secs) {
            return invalid("events.keep_alive_secs", "must be 1 to 300 seconds");
        }
        if !(1..=86_400).contains(&self.events.stream_timeout_secs) {
            return invalid("events.stream_timeout_secs", "must be 1 to 86400 seconds");
        }
        if !(16..=1_048_576).contains(&self.events.channel_capacity) {
            return invalid("events.channel_capacity", "must be 16 to 1048576");
        }
        if !(1..=3_600_000).contains(&self.webhooks.retry_base_ms) {
            return invalid(
                "webhooks.retry_base_ms",
                "must be 1 to 3600000 milliseconds",
            );
        }
        if !(1..=20).contains(&self.webhooks.max_attempts) {
            return invalid("webhooks.max_attempts", "must be 1 to 20");
        }
        if !(1..=300).contains(&self.webhooks.timeout_secs) {
            return invalid("webhooks.timeout_secs", "must be 1 to 300 seconds");
        }
        if self.webhooks.max_pending == 0 {
            return invalid("webhooks.max_pending", "must be at least 1");
        }
        if let Err(e) = crate::webhooks::target::AllowList::parse(&self.webhooks.allow_private) {
            return invalid("webhooks.allow_private", &e);
        }
        if self.retention.min_days > 36_500 {
            return invalid("retention.min_days", "must be at most 36500 days");
        }
        if self.audit_origin().contains(['\n', '+', ' ']) {
            return invalid("audit.origin", "must be one line with no spaces or '+'");
        }
        if let Some(kek) = self.kek_file() {
            if inside(&kek, &self.data_dir) {
                return invalid(
                    "subject_keys.kek_file",
                    "must be outside data_dir: a copy of the data directory must not carry \
                     the key that opens it",
                );
            }
        }
        Ok(())
    }

    /// The KEK file: configured, or [`DEFAULT_KEK_FILE`] beside the configuration file.
    fn kek_file(&self) -> Option<PathBuf> {
        self.subject_keys.kek_file.clone().or_else(|| {
            self.config_dir
                .as_ref()
                .map(|dir| dir.join(DEFAULT_KEK_FILE))
        })
    }

    /// Where the subject keys and their KEK are.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a configuration made from text without `kek_file`: there
    /// is no configuration file to keep the KEK beside.
    pub fn subject_key_settings(&self) -> Result<SubjectKeySettings, ConfigError> {
        let kek_file = self.kek_file().ok_or(ConfigError::Invalid {
            key: "subject_keys.kek_file",
            reason: "must be set (no configuration file to keep it beside)".into(),
        })?;
        Ok(SubjectKeySettings {
            kek_file,
            dir: self
                .subject_keys
                .dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join(DEFAULT_DIR)),
        })
    }

    /// The audit log's origin: configured, or `<public host>/audit`.
    pub fn audit_origin(&self) -> String {
        self.audit.origin.clone().unwrap_or_else(|| {
            let host = self
                .public_url
                .split_once("://")
                .map_or(self.public_url.as_str(), |(_, rest)| rest);
            format!("{host}/audit")
        })
    }
}

impl From<&crate::config::Config> for ServiceSettings {
    fn from(config: &crate::config::Config) -> Self {
        Self {
            events: (&config.events).into(),
            webhooks: (&config.webhooks).into(),
            retention: chrono::Duration::days(config.retention.min_days.into()),
            open_applications_per_holder: config.limits.open_applications_per_holder,
        }
    }
}

/// Whether `path` is `dir` or under it, compared as absolute paths (symbolic links are not
/// followed: this catches the mistake, not every way around it).
fn inside(path: &std::path::Path, dir: &std::path::Path) -> bool {
    match (std::path::absolute(path), std::path::absolute(dir)) {
        (Ok(path), Ok(dir)) => path.starts_with(dir),
        _ => false,
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Option<()> {
    let (last, parents) = keys.split_last()?;
    let mut current = table;
    for key in parents {
        current = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()?;
    }
    current.insert(last.clone(), value);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "data_dir = \"/tmp/x\"\npublic_url = \"https://kyc.example\"\n";

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_toml(BASE, env(&[])).unwrap();
        assert_eq!(c.audit_origin(), "kyc.example/audit");
        assert_eq!(c.audit.checkpoint_every_entries, 1000);
        assert_eq!(c.retention.min_days, 1826);
        assert_eq!(c.webhooks.max_attempts, 5);
        let c = Config::from_toml(
            BASE,
            env(&[
                ("KYC_ISSUER_LISTEN", "0.0.0.0:9000"),
                ("KYC_ISSUER_AUDIT__CHECKPOINT_EVERY_ENTRIES", "10"),
                ("KYC_ISSUER_RETENTION__MIN_DAYS", "0"),
                ("KYC_ISSUER_WEBHOOKS__RETRY_BASE_MS", "50"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.audit.checkpoint_every_entries, 10);
        assert_eq!(c.retention.min_days, 0);
        assert_eq!(c.webhooks.retry_base_ms, 50);
    }

    #[test]
    fn kek_beside_the_configuration_and_never_in_data_dir() {
        let c = Config::from_toml(BASE, env(&[])).unwrap();
        assert!(
            c.subject_key_settings().is_err(),
            "no file to keep it beside"
        );
        let c = Config::parse(BASE, env(&[]), Some("/etc/kyc".into())).unwrap();
        let settings = c.subject_key_settings().unwrap();
        assert_eq!(
            settings.kek_file,
            PathBuf::from("/etc/kyc/subject-keys.kek")
        );
        assert_eq!(settings.dir, PathBuf::from("/tmp/x/subject-keys"));
        let c = Config::from_toml(
            BASE,
            env(&[("KYC_ISSUER_SUBJECT_KEYS__KEK_FILE", "/run/secrets/kek")]),
        )
        .unwrap();
        let settings = c.subject_key_settings().unwrap();
        assert_eq!(settings.kek_file, PathBuf::from("/run/secrets/kek"));
        for inside in ["/tmp/x/kek", "/tmp/x/store/kek"] {
            assert!(matches!(
                Config::from_toml(BASE, env(&[("KYC_ISSUER_SUBJECT_KEYS__KEK_FILE", inside)])),
                Err(ConfigError::Invalid {
                    key: "subject_keys.kek_file",
                    ..
                })
            ));
        }
        // A configuration file inside data_dir would put the default KEK there.
        assert!(Config::parse(BASE, env(&[]), Some("/tmp/x".into())).is_err());
    }

    #[test]
    fn clear_errors() {
        assert!(matches!(
            Config::from_toml("data_dir = 1\npublic_url = \"https://x\"", env(&[])),
            Err(ConfigError::Syntax(_))
        ));
        assert!(matches!(
            Config::from_toml(BASE, env(&[("KYC_ISSUER_NO_SUCH_KEY", "1")])),
            Err(ConfigError::Syntax(m)) if m.contains("no_such_key")
        ));
        assert!(matches!(
            Config::from_toml(
                BASE,
                env(&[("KYC_ISSUER_AUDIT__CHECKPOINT_EVERY_ENTRIES", "0")])
            ),
            Err(ConfigError::Invalid {
                key: "audit.checkpoint_every_entries",
                ..
            })
        ));
        assert!(matches!(
            Config::from_toml(BASE, env(&[("KYC_ISSUER_PUBLIC_URL", "ftp://x")])),
            Err(ConfigError::Invalid {
                key: "public_url",
                ..
            })
        ));
        assert!(matches!(
            Config::from_toml(BASE, env(&[("KYC_ISSUER_WEBHOOKS__MAX_ATTEMPTS", "0")])),
            Err(ConfigError::Invalid {
                key: "webhooks.max_attempts",
                ..
            })
        ));
        assert!(matches!(
            Config::from_toml(BASE, env(&[("KYC_ISSUER_EVENTS__KEEP_ALIVE_SECS", "0")])),
            Err(ConfigError::Invalid {
                key: "events.keep_alive_secs",
                ..
            })
        ));
        assert!(matches!(
            Config::from_toml(BASE, env(&[("KYC_ISSUER___", "1")])),
            Err(ConfigError::BadOverride(_))
        ));
    }
}
