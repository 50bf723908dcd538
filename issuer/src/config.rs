//! The issuer's configuration: a TOML file, then `KYC_ISSUER_*` environment overrides, validated
//! once at start with messages that name the offending key.
//!
//! An environment variable names a key by its dotted path, upper-cased, with `__` for the dot:
//! `KYC_ISSUER_LISTEN`, `KYC_ISSUER_AUDIT__CHECKPOINT_EVERY_ENTRIES`. Its value is read as a TOML
//! value when it parses as one (`8080`, `true`), as a string otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

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
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the store, the signing key and the audit log live.
    pub data_dir: PathBuf,
    /// The issuer's public base URL, e.g. `https://kyc.example`; status list URLs hang off it.
    pub public_url: String,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditSettings,
    /// Request limits.
    #[serde(default)]
    pub limits: Limits,
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
    pub screening: ScreeningSettings,
    /// Face match and liveness (`[biometric]`; disabled by default: *not performed*).
    #[serde(default)]
    pub biometric: crate::checks::biometric::BiometricConfig,
    /// Staff members and their roles; tokens only as SHA-256 digests
    /// (`kyc-issuer staff hash-token` prints one).
    #[serde(default)]
    pub staff: Vec<crate::auth::StaffEntry>,
}

/// Jurisdiction policies and risk data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// A directory of jurisdiction policy files (`*.toml`) adding to or replacing the embedded
    /// ones (`issuer/policies/`).
    #[serde(default)]
    pub policies_dir: Option<PathBuf>,
    /// The FATF lists in force (`issuer/data/fatf/*.toml` format); the embedded ones if unset.
    #[serde(default)]
    pub fatf_file: Option<PathBuf>,
    /// Age in days after which the FATF lists are a start-up warning. The FATF meets three
    /// times a year, so lists older than about five months have likely been superseded.
    #[serde(default = "default_fatf_stale_days")]
    pub fatf_stale_after_days: u32,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self {
            policies_dir: None,
            fatf_file: None,
            fatf_stale_after_days: default_fatf_stale_days(),
        }
    }
}

fn default_fatf_stale_days() -> u32 {
    150
}

/// Sanctions and PEP screening: the list files the operator supplies, reloaded when they
/// change. No list: screening is *not performed* and every case goes to a person.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSettings {
    /// The lists (`[[screening.lists]]`: `name`, `format` = `ftm` or `ofac_sdn`,
    /// `path`, OFAC's `aliases`).
    #[serde(default)]
    pub lists: Vec<crate::checks::screening::ListSource>,
    /// Names scored in full per query after candidate ranking.
    #[serde(default = "default_max_candidates")]
    pub max_candidates: usize,
    /// How often the list files are checked for changes, in seconds.
    #[serde(default = "default_reload_secs")]
    pub reload_interval_secs: u64,
}

impl Default for ScreeningSettings {
    fn default() -> Self {
        Self {
            lists: Vec::new(),
            max_candidates: default_max_candidates(),
            reload_interval_secs: default_reload_secs(),
        }
    }
}

fn default_max_candidates() -> usize {
    crate::checks::screening::ScreeningConfig::default().max_candidates
}
fn default_reload_secs() -> u64 {
    30
}

/// Credential issuance settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceConfig {
    /// Validity of a credential in days, by tier 0, 1, 2, 3.
    #[serde(default = "default_validity_days")]
    pub validity_days: [u32; 4],
    /// How long a signed status list is valid; relying parties refetch after that.
    #[serde(default = "default_status_list_secs")]
    pub status_list_validity_secs: u32,
}

impl Default for IssuanceConfig {
    fn default() -> Self {
        Self {
            validity_days: default_validity_days(),
            status_list_validity_secs: default_status_list_secs(),
        }
    }
}

fn default_validity_days() -> [u32; 4] {
    [30, 365, 365, 365]
}
fn default_status_list_secs() -> u32 {
    3600
}

/// Real-time status streams (server-sent events).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Seconds between keep-alive comments on an idle stream (proxies close silent ones).
    #[serde(default = "default_keep_alive_secs")]
    pub keep_alive_secs: u64,
    /// A stream ends after this many seconds even if the application is not final; the client
    /// reconnects and gets the current state first, so nothing is lost.
    #[serde(default = "default_stream_timeout_secs")]
    pub stream_timeout_secs: u64,
    /// State changes buffered per subscriber; a subscriber that falls further behind re-reads
    /// the application instead.
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            keep_alive_secs: default_keep_alive_secs(),
            stream_timeout_secs: default_stream_timeout_secs(),
            channel_capacity: default_channel_capacity(),
        }
    }
}

fn default_keep_alive_secs() -> u64 {
    15
}
fn default_stream_timeout_secs() -> u64 {
    600
}
fn default_channel_capacity() -> usize {
    1024
}

/// Webhook delivery: retries with exponential backoff (`retry_base_ms` × 2^(attempt − 1)).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Delay before the first retry, in milliseconds; each further retry waits twice as long.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// Attempts per state change and endpoint, the first included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Seconds one attempt may take (Standard Webhooks recommends 15 to 30).
    #[serde(default = "default_webhook_timeout_secs")]
    pub timeout_secs: u64,
    /// Deliveries waiting or in flight at most; beyond this new ones are dropped and logged.
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_base_ms: default_retry_base_ms(),
            max_attempts: default_max_attempts(),
            timeout_secs: default_webhook_timeout_secs(),
            max_pending: default_max_pending(),
        }
    }
}

fn default_retry_base_ms() -> u64 {
    1000
}
fn default_max_attempts() -> u32 {
    5
}
fn default_webhook_timeout_secs() -> u64 {
    15
}
fn default_max_pending() -> usize {
    10_000
}

/// Retention of personal data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days that must pass after a subject's last activity (its latest application change,
    /// credential issuance or revocation) before `DELETE /v1/subjects/{id}` may erase it.
    ///
    /// The default, 1826 days (five years), is the record-keeping period of the EU anti-money
    /// laundering directive (Directive (EU) 2015/849, Art. 40(1)); GDPR Art. 17(3)(b) lets that
    /// legal obligation take precedence over an erasure request. Set it to the period of the
    /// operator's jurisdiction; 0 allows erasure at any time (tests, demos).
    #[serde(default = "default_min_days")]
    pub min_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            min_days: default_min_days(),
        }
    }
}

fn default_min_days() -> u32 {
    1826
}

/// Audit log settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The log's origin line in checkpoints (C2SP tlog-checkpoint), also the note key's name.
    /// Defaults to the public URL's host followed by `/audit`.
    #[serde(default)]
    pub origin: Option<String>,
    /// Sign a checkpoint at least every this many entries.
    #[serde(default = "default_checkpoint_entries")]
    pub checkpoint_every_entries: u64,
    /// And at least every this many seconds while entries arrive.
    #[serde(default = "default_checkpoint_secs")]
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            origin: None,
            checkpoint_every_entries: default_checkpoint_entries(),
            checkpoint_interval_secs: default_checkpoint_secs(),
        }
    }
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_body_bytes")]
    pub body_bytes: usize,
    /// Requests taking longer are answered 408.
    #[serde(default = "default_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Connections served at once; more wait.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: default_body_bytes(),
            request_timeout_secs: default_timeout_secs(),
            max_concurrent_requests: default_concurrency(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_checkpoint_entries() -> u64 {
    1000
}
fn default_checkpoint_secs() -> u64 {
    60
}
fn default_body_bytes() -> usize {
    // Room for a document image and a few liveness frames, no more.
    8 * 1024 * 1024
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_concurrency() -> usize {
    1024
}

impl Config {
    /// Read `path`, apply the environment's overrides, validate.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, std::env::vars())
    }

    /// Parse `text`, apply the `KYC_ISSUER_*` pairs among `env`, validate.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
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
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Syntax(e.message().to_owned()))?;
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
        if self.retention.min_days > 36_500 {
            return invalid("retention.min_days", "must be at most 36500 days");
        }
        if self.audit_origin().contains(['\n', '+', ' ']) {
            return invalid("audit.origin", "must be one line with no spaces or '+'");
        }
        Ok(())
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
