//! Real-time application status: every state change an application goes through, announced on
//! one in-process channel, followed by the holder's server-sent event streams and by the webhook
//! dispatcher ([`crate::webhooks`]).
//!
//! A [`StateChange`] is `{id, state, at}`: the pseudonymous application id, the new state and
//! when it changed. It carries no personal data, so it can go to a platform's webhook and
//! through any proxy's logs.
//!
//! [`crate::applications::Applications`] publishes a change once the state is stored (after its
//! audit entry is durable), so a subscriber never hears of a state it could not read back. The
//! channel is a `tokio::sync::broadcast`: publishing never waits, and a subscriber that falls
//! more than [`EventSettings::capacity`] changes behind is told so and re-reads the application
//! (a [`watch`](Events::watch) stream then reports the latest state, not every one it missed).
//!
//! # The stream of one application
//!
//! [`Events::watch`] yields the current state first, then each later change of that application,
//! and ends after a final state (issued or rejected), after [`EventSettings::stream_timeout`], or
//! when the service shuts down ([`Events::shut_down`]). Because the first item is always the
//! current state, a client that reconnects (with a fresh holder token: tokens are single-use)
//! has lost nothing, and no `Last-Event-ID` bookkeeping is needed. A change already contained in
//! the first item (published between subscribing and reading the application) is skipped: changes
//! of one application are ordered by `at`, and equal `at` with equal state is the same change.
//!
//! Changes made by one request share its `at`: a submission announces `submitted`, `checking`
//! and the decision's state with the same time. They are published in that order; between
//! changes of equal `at`, the state machine gives the order.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use crate::state::{ApplicationRecord, ApplicationState, StateStore};

/// Real-time status streams (server-sent events): the `[events]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Seconds between keep-alive comments on an idle stream (proxies close silent ones).
    pub keep_alive_secs: u64,
    /// A stream ends after this many seconds even if the application is not final; the client
    /// reconnects and gets the current state first, so nothing is lost.
    pub stream_timeout_secs: u64,
    /// State changes buffered per subscriber; a subscriber that falls further behind re-reads
    /// the application instead.
    pub channel_capacity: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            keep_alive_secs: 15,
            stream_timeout_secs: 600,
            channel_capacity: 1024,
        }
    }
}

/// One state change of one application; no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    /// The application id.
    pub id: String,
    /// Its new state.
    pub state: ApplicationState,
    /// When it changed.
    pub at: DateTime<Utc>,
}

impl StateChange {
    /// The state `application` is in now.
    pub fn current(application: &ApplicationRecord) -> Self {
        Self {
            id: application.id.clone(),
            state: application.state,
            at: application.updated_at,
        }
    }

    /// Whether this change is later than `seen` (see the [module docs](self)).
    fn is_after(&self, seen: &StateChange) -> bool {
        self.at > seen.at || (self.at == seen.at && self.state != seen.state)
    }
}

/// How the channel and the streams behave.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// Changes buffered for each subscriber.
    pub capacity: usize,
    /// Interval of keep-alive comments on an idle stream.
    pub keep_alive: Duration,
    /// A stream ends after this long even if its application is not final.
    pub stream_timeout: Duration,
}

impl From<&EventsConfig> for EventSettings {
    fn from(config: &EventsConfig) -> Self {
        Self {
            capacity: config.channel_capacity,
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            stream_timeout: Duration::from_secs(config.stream_timeout_secs),
        }
    }
}

impl Default for EventSettings {
    /// The configuration's defaults.
    fn default() -> Self {
        Self::from(&EventsConfig::default())
    }
}

/// The channel of state changes, and the signal that ends every stream at shutdown.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<StateChange>,
    shutdown: watch::Sender<bool>,
    settings: EventSettings,
}

impl Events {
    /// A channel with these settings (a capacity of 0 is taken as 1).
    pub fn new(settings: EventSettings) -> Self {
        let (sender, _) = broadcast::channel(settings.capacity.max(1));
        let (shutdown, _) = watch::channel(false);
        Self {
            sender,
            shutdown,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &EventSettings {
        &self.settings
    }

    /// Announce a change to every subscriber; never waits.
    pub fn publish(&self, change: StateChange) {
        // An error only means that nobody is listening right now.
        let _ = self.sender.send(change);
    }

    /// Every change published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StateChange> {
        self.sender.subscribe()
    }

    /// End every stream (the service is stopping; streams would otherwise hold the graceful
    /// shutdown until their timeout).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// The stream of one application: `current` first, then the changes of the same
    /// application that `changes` delivers (subscribe before reading `current`, or a change in
    /// between is lost). `store` is read again when the subscriber lags.
    pub fn watch(
        &self,
        current: StateChange,
        changes: broadcast::Receiver<StateChange>,
        store: Arc<dyn StateStore>,
    ) -> impl Stream<Item = StateChange> + Send + 'static {
        let watcher = Watcher {
            changes,
            shutdown: self.shutdown.subscribe(),
            store,
            deadline: tokio::time::Instant::now() + self.settings.stream_timeout,
            first: Some(current.clone()),
            seen: current,
        };
        stream::unfold(watcher, |mut w| async move {
            let next = w.next().await?;
            Some((next, w))
        })
    }
}

/// The state of one application's stream.
struct Watcher {
    changes: broadcast::Receiver<StateChange>,
    shutdown: watch::Receiver<bool>,
    store: Arc<dyn StateStore>,
    deadline: tokio::time::Instant,
    /// The current state, not yet sent.
    first: Option<StateChange>,
    /// The last change sent.
    seen: StateChange,
}

impl Watcher {
    async fn next(&mut self) -> Option<StateChange> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.seen.state.is_final() {
            return None;
        }
        loop {
            let received = tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|down| *down) => return None,
                () = tokio::time::sleep_until(self.deadline) => return None,
                received = self.changes.recv() => received,
            };
            let change = match received {
                Ok(change) if change.id == self.seen.id => change,
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "status stream lagged; re-reading the application");
                    match self.store.application(&self.seen.id) {
                        Ok(Some(application)) => StateChange::current(&application),
                        Ok(None) => return None,
                        Err(e) => {
                            tracing::warn!(error = %e, "status stream cannot re-read its application");
                            return None;
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            };
            if change.is_after(&self.seen) {
                self.seen = change.clone();
                return Some(change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;
    use crate::state::sled::SledState;

    fn change(state: ApplicationState, at: i64) -> StateChange {
        StateChange {
            id: "a".into(),
            state,
            at: DateTime::from_timestamp(at, 0).unwrap(),
        }
    }

    fn application(state: ApplicationState, at: i64) -> ApplicationRecord {
        let at = DateTime::from_timestamp(at, 0).unwrap();
        ApplicationRecord {
            id: "a".into(),
            subject: "s".into(),
            holder: "did:key:z".into(),
            jurisdiction: "EU".into(),
            state,
            created_at: at,
            updated_at: at,
            sealed_submission: String::new(),
            checks: Vec::new(),
            decision: None,
            credential: None,
            credentials: Vec::new(),
            revoked: None,
        }
    }

    fn store(dir: &std::path::Path) -> Arc<dyn StateStore> {
        let db = crate::audit::open_db(dir).unwrap();
        Arc::new(SledState::new(&db, dir).unwrap())
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn current_first_then_own_changes_until_final() {
        let dir = tempfile::tempdir().unwrap();
        let events = Events::new(EventSettings::default());
        let changes = events.subscribe();
        // Published between subscribing and reading: already in the current state.
        events.publish(change(ApplicationState::InReview, 10));
        let stream = events.watch(
            change(ApplicationState::InReview, 10),
            changes,
            store(dir.path()),
        );
        events.publish(StateChange {
            id: "other".into(),
            ..change(ApplicationState::Rejected, 11)
        });
        events.publish(change(ApplicationState::Approved, 12));
        events.publish(change(ApplicationState::Issued, 13));
        events.publish(change(ApplicationState::Issued, 14));
        let seen: Vec<_> = tokio::time::timeout(WAIT, stream.collect()).await.unwrap();
        assert_eq!(
            seen,
            [
                change(ApplicationState::InReview, 10),
                change(ApplicationState::Approved, 12),
                change(ApplicationState::Issued, 13),
            ]
        );
    }

    #[tokio::test]
    async fn a_lagging_stream_reads_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store
            .insert_application(&application(ApplicationState::Approved, 20))
            .unwrap();
        let events = Events::new(EventSettings {
            capacity: 2,
            ..EventSettings::default()
        });
        let changes = events.subscribe();
        let mut stream =
            Box::pin(events.watch(change(ApplicationState::InReview, 10), changes, store));
        for at in 11..20 {
            events.publish(StateChange {
                id: "other".into(),
                ..change(ApplicationState::Checking, at)
            });
        }
        assert_eq!(
            tokio::time::timeout(WAIT, stream.next()).await.unwrap(),
            Some(change(ApplicationState::InReview, 10))
        );
        assert_eq!(
            tokio::time::timeout(WAIT, stream.next()).await.unwrap(),
            Some(change(ApplicationState::Approved, 20))
        );
    }

    #[tokio::test]
    async fn shutdown_and_timeout_end_streams() {
        let dir = tempfile::tempdir().unwrap();
        let events = Events::new(EventSettings::default());
        let stream = events.watch(
            change(ApplicationState::InReview, 10),
            events.subscribe(),
            store(dir.path()),
        );
        events.shut_down();
        let seen: Vec<_> = tokio::time::timeout(WAIT, stream.collect()).await.unwrap();
        assert_eq!(seen, [change(ApplicationState::InReview, 10)]);

        let dir = tempfile::tempdir().unwrap();
        let events = Events::new(EventSettings {
            stream_timeout: Duration::from_millis(50),
            ..EventSettings::default()
        });
        let stream = events.watch(
            change(ApplicationState::InReview, 10),
            events.subscribe(),
            store(dir.path()),
        );
        let seen: Vec<_> = tokio::time::timeout(WAIT, stream.collect()).await.unwrap();
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn later_or_different_is_news() {
        let seen = change(ApplicationState::InReview, 10);
        assert!(change(ApplicationState::Approved, 11).is_after(&seen));
        assert!(change(ApplicationState::Approved, 10).is_after(&seen));
        assert!(!change(ApplicationState::InReview, 10).is_after(&seen));
        assert!(!change(ApplicationState::Checking, 9).is_after(&seen));
    }
}
