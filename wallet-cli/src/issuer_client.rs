//! The issuer's HTTP API, from the holder's side (issuer/src/api/applications.rs is the server).
//!
//! | call | route | auth |
//! |---|---|---|
//! | [`IssuerClient::liveness_challenge`] | `POST /v1/liveness-challenges` | holder token |
//! | [`IssuerClient::submit`] | `POST /v1/applications` | none |
//! | [`IssuerClient::application`] | `GET /v1/applications/{id}` | holder token |
//! | [`IssuerClient::follow`] | `GET /v1/applications/{id}/events` (SSE), else polling | holder token |
//! | [`IssuerClient::upload`] | `POST /v1/applications/{id}/documents` | holder token |
//! | [`IssuerClient::collect`] | `POST /v1/applications/{id}/credential` | holder token |
//!
//! **Holder tokens.** Each authenticated call fetches a fresh nonce (`POST /v1/nonce`) and sends
//! `Authorization: Bearer <JWT>`, a compact JWS by the holder key with header
//! `{"alg":"EdDSA","typ":"JWT","kid":"<did:key URL>"}` and claims `{"iss": holder DID, "aud":
//! <audience>, "nonce", "iat", "exp"}` with `exp = iat + 120 s` (the issuer allows at most
//! 300 s). Tokens are single-use at the issuer, so none is ever reused here. The audience is the
//! issuer's *public* URL from its configuration; it defaults to the URL the wallet talks to,
//! and differs from it when the issuer sits behind a proxy or, as in the tests, listens on a
//! loopback port while calling itself `https://kyc.example` (`apply --audience`).
//!
//! **Errors** are RFC 9457 problem documents; [`ClientError::Problem`] keeps their `status`,
//! `title` and `detail` for the user. Text from the issuer is stripped of control characters
//! before it is shown, so a response cannot drive the terminal.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::DidKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event_stream::{self, Parser};
use crate::liveness::Challenge;
use crate::wallet::check_identifier;

/// Lifetime of a holder token (the issuer accepts up to 300 s).
pub const TOKEN_LIFETIME_SECS: i64 = 120;
/// How often `follow` polls when the issuer has no event stream.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Time allowed to connect to the issuer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one ordinary request, start to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// An event stream silent for this long is reconnected (servers send keep-alives more often).
const STREAM_IDLE: Duration = Duration::from_secs(60);
/// The largest response body read; the issuer's are a few KiB.
const MAX_BODY: usize = 1024 * 1024;

/// Why a call to the issuer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The issuer URL is not an `https://` URL (or `http://` on loopback) without credentials,
    /// query or fragment.
    #[error("the issuer URL must be https://host[:port][/path] (http:// only for localhost)")]
    BadUrl,
    /// The issuer could not be reached, or did not answer in time.
    #[error("cannot reach the issuer at {url}: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// What the network layer said.
        reason: String,
    },
    /// The issuer answered with a redirect to another origin (scheme, host, port), which the
    /// wallet does not follow: the application would carry personal data to a server the user
    /// never named.
    #[error("the issuer at {url} redirected to another origin; not followed")]
    Redirected {
        /// The URL called.
        url: String,
    },
    /// The issuer answered with an RFC 9457 problem.
    #[error("the issuer refused ({status} {title}){}", detail_suffix(.detail))]
    Problem {
        /// HTTP status.
        status: u16,
        /// The problem's `title`.
        title: String,
        /// The problem's `detail` (may be empty).
        detail: String,
    },
    /// The issuer answered something this wallet cannot read.
    #[error("unexpected answer from the issuer (HTTP {status}): {reason}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// An id from the issuer cannot be used in a URL.
    #[error("the issuer returned an unusable application id")]
    BadIdentifier,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl ClientError {
    /// Whether the issuer answered and said no (a 4xx problem), as opposed to being unreachable
    /// or failing on its side, which may pass if tried again.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Problem { status, .. } if (400..500).contains(status))
    }
}

/// One check as the issuer reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    /// Which check (`identity`, `document`, `biometric`, `screening`, `risk`, …).
    pub check: String,
    /// Its outcome (`clear`, `consider`, `fail`, `not_performed`, …).
    pub outcome: String,
    /// Reason codes.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// When it completed.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The issuer's decision on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionView {
    /// Risk level (`low`, `medium`, `high`).
    pub level: String,
    /// `approve`, `review`, `request_documents` or `reject`.
    pub action: String,
    /// The tier approved, with `approve`.
    #[serde(default)]
    pub tier: Option<u8>,
    /// Reason codes.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The reviewer, when a person decided.
    #[serde(default)]
    pub reviewer: Option<String>,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// An application as the issuer shows it to its holder (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    /// The application id.
    pub id: String,
    /// Its state (`in_review`, `approved`, `issued`, …).
    pub state: String,
    /// The jurisdiction policy applied.
    pub jurisdiction: String,
    /// When the issuer received it.
    pub created_at: DateTime<Utc>,
    /// The checks of the current round.
    #[serde(default)]
    pub checks: Vec<CheckView>,
    /// The latest decision.
    #[serde(default)]
    pub decision: Option<DecisionView>,
    /// The credential id, once issued.
    #[serde(default)]
    pub credential: Option<String>,
}

impl ApplicationView {
    /// Whether the state will not change without someone acting: approved, issued, rejected,
    /// or waiting for the customer's documents. Unknown states count as settled, so `follow`
    /// never waits on a state it does not understand.
    pub fn is_settled(&self) -> bool {
        !matches!(self.state.as_str(), "submitted" | "checking" | "in_review")
    }
}

/// A collected credential in both securing forms (`POST …/credential`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectedCredential {
    /// `urn:uuid:…`.
    pub id: String,
    /// The tier.
    pub tier: u8,
    /// `vc+jwt`.
    pub jwt: String,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
}

/// A batch of credentials, one per holder key proven, in the order of the keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectedBatch {
    /// The tier.
    pub tier: u8,
    /// The credentials.
    pub credentials: Vec<CollectedCredential>,
}

/// A client for one issuer.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    http: reqwest::Client,
    base: String,
    audience: String,
}

impl IssuerClient {
    /// A client for the issuer at `base` (`https://host[:port][/prefix]`); holder tokens name
    /// `audience`, or `base` when `None`.
    ///
    /// Plain `http://` is accepted for loopback hosts only (a local or test issuer): the
    /// application carries personal data, which never crosses a network unencrypted.
    pub fn new(base: &str, audience: Option<&str>) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/');
        let origin = check_base_url(base)?.origin();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // Redirects are followed only within the issuer's origin (at most 5): a 307 to
            // another host would re-post the whole application there.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.url().origin() != origin {
                    attempt.error(LeftOrigin)
                } else if attempt.previous().len() > 5 {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("kyc-wallet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_owned(),
                reason: chain(&e),
            })?;
        Ok(Self {
            http,
            base: base.to_owned(),
            audience: audience.unwrap_or(base).to_owned(),
        })
    }

    /// The issuer's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The audience holder tokens name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A liveness challenge for the holder of `key` (the issuer binds it to that did:key: it
    /// answers only an application the same key holds): the head turns to capture, in order.
    /// `None` when the issuer answers 404: it performs no biometric check, so there is no
    /// liveness step to answer.
    pub async fn liveness_challenge(
        &self,
        key: &SigningKey,
    ) -> Result<Option<Challenge>, ClientError> {
        let url = format!("{}/v1/liveness-challenges", self.base);
        let token = self.holder_token(key).await?;
        let request = self
            .http
            .post(&url)
            .bearer_auth(token)
            .timeout(REQUEST_TIMEOUT);
        let challenge: Challenge = match self.call(&url, request).await {
            Ok(c) => c,
            Err(ClientError::Problem { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !is_uuid(&challenge.id) {
            return Err(ClientError::Unexpected {
                status: 201,
                reason: "the liveness challenge's id is not a UUID".into(),
            });
        }
        Ok(Some(challenge))
    }

    /// Submit an application (`submission` as in schemas/application-v1.schema.json).
    pub async fn submit(&self, submission: &Value) -> Result<ApplicationView, ClientError> {
        let url = format!("{}/v1/applications", self.base);
        let request = self
            .http
            .post(&url)
            .json(submission)
            .timeout(REQUEST_TIMEOUT);
        let view: ApplicationView = self.call(&url, request).await?;
        check_identifier(&view.id, "application id").map_err(|_| ClientError::BadIdentifier)?;
        Ok(view)
    }

    /// The application `id`, as its holder sees it.
    pub async fn application(
        &self,
        id: &str,
        key: &SigningKey,
    ) -> Result<ApplicationView, ClientError> {
        let url = self.application_url(id, "")?;
        let token = self.holder_token(key).await?;
        let request = self
            .http
            .get(&url)
            .bearer_auth(token)
            .timeout(REQUEST_TIMEOUT);
        self.call(&url, request).await
    }

    /// Fetch a batch of credentials of an approved application (the issuer answers 409
    /// before), one bound to each of `holder_keys`, whose possession is proven to the issuer
    /// (`kyc_core::key_proof`, one proof per key over a fresh nonce). `key` is the wallet's
    /// own key, which the application belongs to.
    pub async fn collect(
        &self,
        id: &str,
        key: &SigningKey,
        holder_keys: &[SigningKey],
    ) -> Result<CollectedBatch, ClientError> {
        let url = self.application_url(id, "/credential")?;
        let nonce = self.nonce().await?;
        let now = Utc::now();
        let proofs: Vec<String> = holder_keys
            .iter()
            .map(|k| kyc_core::key_proof::sign(k, &self.audience, &nonce, now))
            .collect();
        let token = self.holder_token(key).await?;
        let request = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({"proofs": {"jwt": proofs}}))
            .timeout(REQUEST_TIMEOUT);
        self.call(&url, request).await
    }

    /// Send the documents a reviewer asked for (`additions`: any of `document`, `selfie`,
    /// `livenessFrames`, `proofOfAddress`); the application is checked again. The issuer
    /// answers 409 unless the application is `more_documents_requested`.
    pub async fn upload(
        &self,
        id: &str,
        key: &SigningKey,
        additions: &Value,
    ) -> Result<ApplicationView, ClientError> {
        let url = self.application_url(id, "/documents")?;
        let token = self.holder_token(key).await?;
        let request = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(additions)
            .timeout(REQUEST_TIMEOUT);
        self.call(&url, request).await
    }

    /// Wait until the application settles ([`ApplicationView::is_settled`]), calling `on_change`
    /// with every state seen (the first included). Listens to the issuer's event stream; when
    /// the issuer has none (404, 405 or 501 on `…/events`), refuses it (any other 4xx), or it
    /// fails three times running, polls the view every [`POLL_INTERVAL`] instead. Returns the
    /// settled view, fetched afresh.
    pub async fn follow(
        &self,
        id: &str,
        key: &SigningKey,
        mut on_change: impl FnMut(&ApplicationView),
    ) -> Result<ApplicationView, ClientError> {
        let mut view = self.application(id, key).await?;
        on_change(&view);
        let mut failures = 0;
        while !view.is_settled() {
            match self.stream(id, key, &mut view, &mut on_change).await {
                Ok(StreamEnd::Settled) => {}
                Ok(StreamEnd::Closed) => {
                    failures = 0;
                    // A change between two connections is in no stream; the view has it.
                    let next = self.application(id, key).await?;
                    if next.state != view.state {
                        on_change(&next);
                    }
                    view = next;
                }
                // The stream route may not exist yet, or want another kind of authentication
                // (an EventSource cannot send headers); polling needs only the view.
                Ok(StreamEnd::Unsupported) => return self.poll(id, key, view, on_change).await,
                Err(e) if e.is_refusal() => return self.poll(id, key, view, on_change).await,
                Err(_) => {
                    failures += 1;
                    if failures >= 3 {
                        return self.poll(id, key, view, on_change).await;
                    }
                }
            }
            if !view.is_settled() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        // The stream's last event may be partial; the view is the authority.
        self.application(id, key).await
    }

    async fn poll(
        &self,
        id: &str,
        key: &SigningKey,
        mut view: ApplicationView,
        mut on_change: impl FnMut(&ApplicationView),
    ) -> Result<ApplicationView, ClientError> {
        while !view.is_settled() {
            tokio::time::sleep(POLL_INTERVAL).await;
            let next = self.application(id, key).await?;
            if next.state != view.state {
                on_change(&next);
            }
            view = next;
        }
        Ok(view)
    }

    /// One connection to the event stream; updates `view` from each event that carries a state.
    async fn stream(
        &self,
        id: &str,
        key: &SigningKey,
        view: &mut ApplicationView,
        on_change: &mut impl FnMut(&ApplicationView),
    ) -> Result<StreamEnd, ClientError> {
        let url = self.application_url(id, "/events")?;
        let token = self.holder_token(key).await?;
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = response.status().as_u16();
        if matches!(status, 404 | 405 | 501) {
            return Ok(StreamEnd::Unsupported);
        }
        if !response.status().is_success() {
            return Err(problem(response).await);
        }
        let is_stream = content_type(&response).starts_with("text/event-stream");
        if !is_stream {
            return Ok(StreamEnd::Unsupported);
        }
        let mut response = response;
        let mut parser = Parser::new();
        loop {
            let chunk = match tokio::time::timeout(STREAM_IDLE, response.chunk()).await {
                Err(_) => return Ok(StreamEnd::Closed),
                Ok(chunk) => chunk.map_err(|e| unreachable(&url, &e))?,
            };
            let Some(chunk) = chunk else {
                return Ok(StreamEnd::Closed);
            };
            let events = parser.push(&chunk).map_err(|e| ClientError::Unexpected {
                status,
                reason: e.to_string(),
            })?;
            for event in events {
                if apply_event(view, &event) {
                    on_change(view);
                }
                if view.is_settled() {
                    return Ok(StreamEnd::Settled);
                }
            }
        }
    }

    /// A fresh single-use holder token (see the module documentation).
    /// A single-use nonce from `POST /v1/nonce`.
    async fn nonce(&self) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Nonce {
            nonce: String,
        }
        let url = format!("{}/v1/nonce", self.base);
        let request = self.http.post(&url).timeout(REQUEST_TIMEOUT);
        let nonce: Nonce = self.call(&url, request).await?;
        Ok(nonce.nonce)
    }

    async fn holder_token(&self, key: &SigningKey) -> Result<String, ClientError> {
        let nonce = self.nonce().await?;
        let did = DidKey::from_verifying_key(&key.verifying_key());
        let iat = Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": did.as_str(),
            "aud": self.audience,
            "nonce": nonce,
            "iat": iat,
            "exp": iat + TOKEN_LIFETIME_SECS,
        });
        Ok(kyc_core::jws::sign(
            "JWT",
            Some(&did.key_id()),
            claims.to_string().as_bytes(),
            key,
        ))
    }

    fn application_url(&self, id: &str, suffix: &str) -> Result<String, ClientError> {
        check_identifier(id, "application id").map_err(|_| ClientError::BadIdentifier)?;
        Ok(format!("{}/v1/applications/{id}{suffix}", self.base))
    }

    /// Send, then read a JSON answer or the problem.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request.send().await.map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(ClientError::Unexpected {
                status,
                reason: "a redirect that was not followed".into(),
            });
        }
        if !response.status().is_success() {
            return Err(problem(response).await);
        }
        let body = read_body(response, url).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected {
            status,
            reason: kyc_core::MalformedError::json("response", &e).to_string(),
        })
    }
}

/// The redirect policy's refusal: the target left the issuer's origin.
#[derive(Debug)]
struct LeftOrigin;

impl std::fmt::Display for LeftOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("redirected to another origin")
    }
}

impl std::error::Error for LeftOrigin {}

/// The schema's `livenessChallenge`: a lower-case hyphenated UUID (RFC 9562 §4).
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// `base` parsed, when it is a URL the wallet sends an application to.
fn check_base_url(base: &str) -> Result<reqwest::Url, ClientError> {
    let url = reqwest::Url::parse(base).map_err(|_| ClientError::BadUrl)?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || host.is_empty()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(ClientError::BadUrl);
    }
    Ok(url)
}

/// How one connection to the event stream ended.
enum StreamEnd {
    /// An event brought a settled state.
    Settled,
    /// The server closed it, or it went silent; reconnect.
    Closed,
    /// The issuer has no event stream for applications.
    Unsupported,
}

/// Update `view` from one event: a whole application view, or an object with at least a
/// `state`. Returns whether the state changed. Events of other shapes are ignored, so the
/// stream may carry more than this wallet reads.
fn apply_event(view: &mut ApplicationView, event: &event_stream::Event) -> bool {
    let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&event.data) else {
        return false;
    };
    if let Ok(full) = serde_json::from_value::<ApplicationView>(Value::Object(data.clone())) {
        if full.id == view.id {
            let changed = full.state != view.state;
            *view = full;
            return changed;
        }
        return false;
    }
    match data.get("state").and_then(Value::as_str) {
        Some(state) if state != view.state => {
            view.state = state.to_owned();
            true
        }
        _ => false,
    }
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The body, refusing more than [`MAX_BODY`] bytes.
async fn read_body(mut response: reqwest::Response, url: &str) -> Result<Vec<u8>, ClientError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, &e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ClientError::Unexpected {
                status,
                reason: format!("response larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error response as a [`ClientError`]: the problem's title and detail when it is one.
async fn problem(response: reqwest::Response) -> ClientError {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        detail: Option<String>,
    }
    let status = response.status();
    let url = response.url().to_string();
    let is_json = content_type(&response).contains("json");
    let body = read_body(response, &url).await.unwrap_or_default();
    let parsed = is_json
        .then(|| serde_json::from_slice::<Problem>(&body).ok())
        .flatten();
    match parsed {
        Some(p) => ClientError::Problem {
            status: status.as_u16(),
            title: printable(
                p.title
                    .as_deref()
                    .or(status.canonical_reason())
                    .unwrap_or("error"),
            ),
            detail: printable(p.detail.as_deref().unwrap_or_default()),
        },
        None => ClientError::Unexpected {
            status: status.as_u16(),
            reason: status
                .canonical_reason()
                .unwrap_or("not a problem document")
                .to_owned(),
        },
    }
}

/// Issuer text made safe to print: control characters dropped, length bounded.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(500).collect()
}

fn unreachable(url: &str, e: &reqwest::Error) -> ClientError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<LeftOrigin>() {
            return ClientError::Redirected {
                url: url.to_owned(),
            };
        }
        source = s.source();
    }
    ClientError::Unreachable {
        url: url.to_owned(),
        reason: chain(e),
    }
}

/// An error and its sources on one line (reqwest's own message is often just "error sending
/// request"; the cause, such as "Connection refused", is further down).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: &str) -> ApplicationView {
        ApplicationView {
            id: "a-1".into(),
            state: state.into(),
            jurisdiction: "EU".into(),
            created_at: Utc::now(),
            checks: Vec::new(),
            decision: None,
            credential: None,
        }
    }

    fn event(data: &str) -> event_stream::Event {
        event_stream::Event {
            event: "message".into(),
            data: data.into(),
            id: None,
        }
    }

    #[test]
    fn events_update_the_view() {
        let mut v = view("in_review");
        assert!(!apply_event(&mut v, &event("not json")));
        assert!(!apply_event(&mut v, &event(r#"{"state":"in_review"}"#)));
        assert!(apply_event(&mut v, &event(r#"{"state":"approved"}"#)));
        assert!(v.is_settled());
        let mut full = serde_json::to_value(view("issued")).unwrap();
        full["credential"] = "urn:uuid:x".into();
        assert!(apply_event(&mut v, &event(&full.to_string())));
        assert_eq!(v.credential.as_deref(), Some("urn:uuid:x"));
        // Another application's view is not ours.
        full["id"] = "a-2".into();
        full["state"] = "rejected".into();
        assert!(!apply_event(&mut v, &event(&full.to_string())));
        assert_eq!(v.state, "issued");
    }

    #[test]
    fn settled_states() {
        for s in ["submitted", "checking", "in_review"] {
            assert!(!view(s).is_settled(), "{s}");
        }
        for s in [
            "approved",
            "issued",
            "rejected",
            "more_documents_requested",
            "new",
        ] {
            assert!(view(s).is_settled(), "{s}");
        }
    }

    #[test]
    fn urls_and_text() {
        for bad in [
            "ftp://x",
            "http://kyc.example",
            "http://10.0.0.1",
            "https://user:pw@kyc.example",
            "https://kyc.example/?a=b",
            "kyc.example",
        ] {
            assert!(
                matches!(IssuerClient::new(bad, None), Err(ClientError::BadUrl)),
                "{bad}"
            );
        }
        for good in [
            "https://kyc.example",
            "https://kyc.example:8443/api/",
            "http://localhost:8080",
            "http://[::1]:1",
        ] {
            assert!(IssuerClient::new(good, None).is_ok(), "{good}");
        }
        let c = IssuerClient::new("http://127.0.0.1:1/", None).unwrap();
        assert_eq!(c.audience(), "http://127.0.0.1:1");
        assert!(matches!(
            c.application_url("../admin", ""),
            Err(ClientError::BadIdentifier)
        ));
        assert_eq!(printable("ok\u{1b}[31m\n"), "ok[31m");
        assert!(is_uuid("5b1c6e0e-8f7a-4d1b-9a57-0b4f3f0a9c11"));
        for bad in [
            "5B1C6E0E-8F7A-4D1B-9A57-0B4F3F0A9C11",
            "5b1c6e0e8f7a4d1b9a570b4f3f0a9c11",
            "5b1c6e0e-8f7a-4d1b-9a57-0b4f3f0a9c1",
            "../5b1c6e0e-8f7a-4d1b-9a57-0b4f3f0a9",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
