//! Starting and stopping the issuer service: data directory, signing key, store, audit log,
//! webhook delivery, HTTP listener, graceful shutdown on SIGTERM or Ctrl-C (which also ends the
//! open status streams, so that they do not hold the shutdown up).

use std::path::PathBuf;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kyc_core::tlog::SignerKey;
use kyc_core::DidKey;

use std::sync::Arc;

use crate::api::{self, AppState};
use crate::applications::{Applications, IssuanceSettings, IssuerSecrets, ServiceSettings};
use crate::audit::{AuditLog, AuditSettings, SledStore};
use crate::auth::{MemoryNonces, StaffDirectory};
use crate::checks;
use crate::checks::country_risk::FatfLists;
use crate::config::Config;
use crate::jurisdiction::Jurisdictions;
use crate::secret::IssuerSecret;
use crate::signing_key;
use crate::state::sled::SledState;
use crate::subject_keys::FileKeys;

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The data directory cannot be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The signing key cannot be created or loaded.
    #[error(transparent)]
    Key(#[from] signing_key::KeyFileError),
    /// The audit log cannot be opened (or is corrupt).
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The store cannot be opened.
    #[error("store: {0}")]
    Store(#[from] crate::audit::StoreError),
    /// The listener cannot be bound, or serving failed.
    #[error("listener: {0}")]
    Listen(#[source] std::io::Error),
    /// The state store cannot be opened.
    #[error("state: {0}")]
    State(#[source] crate::state::StateError),
    /// The configuration does not say where something is.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The subject key store or its KEK cannot be used.
    #[error(transparent)]
    SubjectKeys(#[from] crate::subject_keys::KeyStoreError),
    /// The staff configuration is invalid.
    #[error(transparent)]
    Staff(#[from] crate::auth::StaffConfigError),
    /// The business logic cannot start over the store (its records, its schema).
    #[error("applications")]
    Applications(#[source] crate::applications::ApplicationError),
    /// The API document cannot be built.
    #[error("OpenAPI document")]
    OpenApi(#[source] serde_json::Error),
    /// A jurisdiction policy or the FATF lists cannot be used.
    #[error(transparent)]
    Policy(#[from] crate::jurisdiction::PolicyFileError),
    /// The FATF lists cannot be used.
    #[error(transparent)]
    Fatf(#[from] checks::country_risk::FatfFileError),
    /// The biometric check cannot start (a model file missing, a bad setting).
    #[error("biometric: {0}")]
    Biometric(#[from] checks::biometric::BiometricError),
    /// A screening list cannot be loaded.
    #[error("screening: {0}")]
    Screening(#[from] checks::screening::ListError),
    /// A key rotation cannot go on, or one was interrupted.
    #[error("key rotation: {0}")]
    Rotation(#[from] crate::key_rotation::RotationError),
    /// The checkpoint key cannot be named after the origin.
    #[error("audit origin cannot name a note key: {0}")]
    Origin(#[from] kyc_core::tlog::NoteError),
}

/// The issuer's files under the data directory.
#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// The data directory of `config`, created (mode 0700) when missing.
    pub fn create(config: &Config) -> Result<Self, ServiceError> {
        use std::os::unix::fs::DirBuilderExt as _;
        let path = config.data_dir.clone();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(|source| ServiceError::DataDir {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self(path))
    }

    /// The directory itself.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// The signing key file.
    pub fn key_path(&self) -> PathBuf {
        self.0.join("issuer-key.jwk")
    }

    /// Where a key rotation reads and writes ([`crate::key_rotation`]).
    pub fn rotation_paths(&self) -> crate::key_rotation::RotationPaths {
        crate::key_rotation::RotationPaths {
            dir: self.0.clone(),
            key: self.key_path(),
            next: self.0.join("issuer-key.jwk.next"),
            statements: self.0.join("key-rotations"),
        }
    }

    /// The issuer's long-term secret ([`crate::secret`]).
    pub fn secret_path(&self) -> PathBuf {
        self.0.join("issuer-secret.key")
    }

    /// The sled database.
    pub fn store_path(&self) -> PathBuf {
        self.0.join("store")
    }
}

/// The issuer's key, created on first start; refused while a rotation is unfinished.
pub fn issuer_key(dir: &DataDir) -> Result<(SigningKey, DidKey), ServiceError> {
    Ok(signing_key::load_or_create(&dir.key_path())?)
}

/// Rotate the signing key of the stopped issuer of `config` ([`crate::key_rotation`]), as the
/// staff member `by`.
pub fn rotate_key(
    config: &Config,
    dir: &DataDir,
    by: &str,
) -> Result<crate::key_rotation::Rotated, ServiceError> {
    let (old_key, _) = issuer_key(dir)?;
    let secret = IssuerSecret::load_or_create(&dir.secret_path())?;
    let db = open_db(dir)?;
    let log = open_audit(config, dir, &db, &old_key)?;
    let rotated =
        crate::key_rotation::rotate(&log, &old_key, &dir.rotation_paths(), secret.staff(by))?;
    log.close()?;
    Ok(rotated)
}

/// Open the audit log in the data directory's database, its checkpoints signed by the
/// issuer's key under the configured origin.
pub fn open_audit(
    config: &Config,
    dir: &DataDir,
    db: &sled::Db,
    key: &SigningKey,
) -> Result<AuditLog, ServiceError> {
    let origin = config.audit_origin();
    let signer = SignerKey::new(&origin, key.clone())?;
    let store = SledStore::new(db, dir.store_path())?;
    Ok(AuditLog::open(
        store,
        AuditSettings {
            origin,
            checkpoint_every_entries: config.audit.checkpoint_every_entries,
            checkpoint_interval: Duration::from_secs(config.audit.checkpoint_interval_secs),
        },
        signer,
    )?)
}

/// Open the data directory's database (one per directory; the audit log and the state share it).
pub fn open_db(dir: &DataDir) -> Result<sled::Db, ServiceError> {
    Ok(crate::audit::open_db(&dir.store_path())?)
}

/// The KYC checks as configured: jurisdiction policies, FATF lists (a start-up warning when
/// they are old), providers.
pub fn check_suite(config: &Config) -> Result<checks::CheckSuite, ServiceError> {
    let jurisdictions = Jurisdictions::load(config.checks.policies_dir.as_deref())?;
    let fatf = FatfLists::load(config.checks.fatf_file.as_deref())?;
    if let Some(warning) = fatf.staleness_warning(
        chrono::Utc::now().date_naive(),
        config.checks.fatf_stale_after_days,
    ) {
        tracing::warn!("{warning}");
    }
    let biometric = checks::biometric::BiometricCheck::from_config(&config.biometric)?;
    let suite =
        checks::CheckSuite::new(Arc::new(jurisdictions), Arc::new(fatf)).with_biometric(biometric);
    let settings = &config.screening;
    if settings.lists.is_empty() {
        return Ok(suite);
    }
    let screening_config = checks::screening::ScreeningSettings {
        max_candidates: settings.max_candidates,
        ..Default::default()
    };
    let screener = checks::screening::Screener::new(settings.lists.clone(), screening_config)?;
    let current = screener.current();
    tracing::info!(
        lists = current.versions().len(),
        entities = current.entities(),
        "screening lists loaded"
    );
    Ok(suite.with_screening(Arc::new(screener), screening_config))
}

/// Everything the service runs on, opened from the configuration.
pub fn open_state(config: &Config) -> Result<(AppState, DidKey), ServiceError> {
    let dir = DataDir::create(config)?;
    crate::key_rotation::refuse_interrupted(&dir.rotation_paths())?;
    let statements: Vec<String> = crate::key_rotation::published(&dir.rotation_paths().statements)?
        .into_iter()
        .map(|(_, statement)| statement)
        .collect();
    // What they say, each checked: a statement the data directory holds that does not verify
    // is refused rather than served.
    let rotations = statements
        .iter()
        .map(|s| kyc_core::key_rotation::KeyRotation::verify(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| crate::key_rotation::RotationError::Statement(e.to_string()))?;
    let (key, did) = issuer_key(&dir)?;
    let db = open_db(&dir)?;
    let audit = open_audit(config, &dir, &db, &key)?;
    let store = SledState::new(&db, &dir.store_path()).map_err(ServiceError::State)?;
    let keys = FileKeys::open_configured(&config.subject_key_settings()?)?;
    let staff = StaffDirectory::new(config.staff.clone())?;
    let applications = Applications::new(
        Arc::new(store),
        Arc::new(keys),
        audit.clone(),
        IssuerSecrets {
            key,
            secret: IssuerSecret::load_or_create(&dir.secret_path())?,
        },
        IssuanceSettings {
            key_since: rotations.last().map(|r| r.at),
            public_url: config.public_url.clone(),
            validity_days: config.issuance.validity_days,
            status_list_validity: chrono::Duration::seconds(
                config.issuance.status_list_validity_secs.into(),
            ),
        },
        check_suite(config)?,
        ServiceSettings::from(config),
    )
    .map_err(ServiceError::Applications)?;
    let state = AppState {
        audit,
        applications: Arc::new(applications),
        nonces: Arc::new(MemoryNonces::with_limits(
            chrono::TimeDelta::seconds(crate::auth::NONCE_TTL_SECS),
            crate::auth::MAX_OUTSTANDING_NONCES,
            config.limits.nonces_per_client,
        )),
        staff: Arc::new(staff),
        audience: config.public_url.clone(),
        key_rotations: statements.into(),
        openapi: api::openapi::document(&config.public_url)
            .map_err(ServiceError::OpenApi)?
            .into(),
    };
    Ok((state, did))
}

/// Run the service until SIGTERM or Ctrl-C; in-flight requests finish, then the audit log is
/// flushed and closed. Prints the bound address on stdout once listening (port 0 picks one).
pub async fn serve(config: Config) -> Result<(), ServiceError> {
    let (state, did) = open_state(&config)?;
    let audit = state.audit.clone();
    let applications = Arc::clone(&state.applications);
    let webhooks = applications.start_webhooks();
    let list_watch = applications.checks().screener().map(|s| {
        Arc::clone(s).watch(Duration::from_secs(
            config.screening.reload_interval_secs.max(1),
        ))
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(ServiceError::Listen)?;
    let addr = listener.local_addr().map_err(ServiceError::Listen)?;
    tracing::info!(%addr, issuer = %did, "listening");
    println!("listening on {addr}");
    let app = api::router(state, &config.limits);
    let served = serve_http(listener, app, &config.limits, async move {
        shutdown_signal().await;
        applications.events().shut_down();
    })
    .await;
    // Pending webhook deliveries are not resumed after a restart (see `webhooks`).
    webhooks.abort();
    if let Some(watch) = list_watch {
        watch.abort();
    }
    audit.close()?;
    tracing::info!("stopped");
    served.map_err(ServiceError::Listen)
}

/// Serve `app` on `listener` over HTTP/1.1 until `shutdown` completes, then let the open
/// connections finish their requests (for at most the request timeout plus the header
/// timeout) and return.
///
/// hyper rather than `axum::serve`, for the header-read timeout: axum's loop sets no timer, so
/// a client that opens a connection and never finishes a request's header holds it (and a file
/// descriptor) forever. Here a connection whose next request's header is not in within
/// `header_read_timeout_secs` is closed, idle keep-alive ones included. Each request carries
/// the peer's address (`ConnectInfo<SocketAddr>`) for the rate limits.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: &api::LimitsConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), std::io::Error> {
    use axum::extract::ConnectInfo;
    use tower::ServiceExt as _;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs));
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // keep serving the others, without spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let grace = Duration::from_secs(limits.request_timeout_secs + limits.header_read_timeout_secs);
    if tokio::time::timeout(grace, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were dropped");
    }
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
