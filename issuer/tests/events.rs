//! Real-time status against the real `kyc-issuer serve`: the holder's server-sent event stream
//! of an application, and signed webhooks delivered to a receiver in this process that checks
//! the Standard Webhooks signature, refuses each first attempt and accepts the retry.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use kyc_core::DidKey;
use serde_json::{json, Value};
use sha2::Sha256;
use spawned_issuer::{
    audit_size, commitment, expect_problem, holder_token, start, submission, submit, ADMIN_TOKEN,
    PERSONAL_DATA, REVIEWER_TOKEN,
};

/// One frame of a server-sent event stream.
#[derive(Debug)]
enum Frame {
    /// `: text`
    Comment(String),
    /// `event: name` + `data: json`
    Event(String, Value),
}

/// Reads frames off a `text/event-stream` response.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(client: &reqwest::Client, url: &str, token: &str) -> Self {
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame, `None` once the server ended the stream; panics after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Frame> {
        tokio::time::timeout(wait, self.read())
            .await
            .expect("no frame in time")
    }

    async fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_frame(frame.trim_end()));
            }
            let chunk = self.response.chunk().await.unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event, skipping keep-alive comments.
    async fn next_event(&mut self, wait: Duration) -> Option<(String, Value)> {
        loop {
            match self.next(wait).await? {
                Frame::Comment(_) => continue,
                Frame::Event(name, data) => return Some((name, data)),
            }
        }
    }
}

fn parse_frame(frame: &str) -> Frame {
    if let Some(comment) = frame.strip_prefix(':') {
        return Frame::Comment(comment.trim().to_owned());
    }
    let (mut name, mut data) = (String::new(), String::new());
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim());
        } else {
            panic!("unexpected line {line:?}");
        }
    }
    Frame::Event(name, serde_json::from_str(&data).unwrap())
}

/// A state event: `{id, state, at}` exactly, for application `id`; its state.
fn state_of(event: &(String, Value), id: &str) -> String {
    let (name, data) = event;
    assert_eq!(name, "state");
    let object = data.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["at", "id", "state"], "{data}");
    assert_eq!(data["id"], id);
    chrono::DateTime::parse_from_rfc3339(data["at"].as_str().unwrap()).unwrap();
    data["state"].as_str().unwrap().to_owned()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_stream_follows_the_application_to_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "[events]\nkeep_alive_secs = 1\n");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let view = submit(&client, &base, &submission(&holder)).await;
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view["state"], "in_review");
    let events = format!("{base}/v1/applications/{id}/events");

    // Bad requests first: none opens a stream, none changes anything.
    let before = audit_size(&client, &base).await;
    expect_problem(client.get(&events).send().await.unwrap(), 401).await;
    let (stranger, _) = DidKey::generate();
    let token = holder_token(&client, &base, &stranger).await;
    expect_problem(
        client
            .get(&events)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let token = holder_token(&client, &base, &holder_key).await;
    expect_problem(
        client
            .get(format!(
                "{base}/v1/applications/00000000-0000-0000-0000-000000000000/events"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(audit_size(&client, &base).await, before);

    // The stream: the current state, keep-alives while nothing happens, then each change.
    let token = holder_token(&client, &base, &holder_key).await;
    let mut stream = EventStream::open(&client, &events, &token).await;
    let first = stream.next_event(WAIT).await.unwrap();
    assert_eq!(state_of(&first, &id), "in_review");
    for pii in PERSONAL_DATA {
        assert!(!first.1.to_string().contains(pii));
    }
    match stream.next(WAIT).await.unwrap() {
        Frame::Comment(text) => assert_eq!(text, "keep-alive"),
        other => panic!("expected a keep-alive, got {other:?}"),
    }

    spawned_issuer::approve_tier0(&client, &base, &id).await;
    assert_eq!(
        state_of(&stream.next_event(WAIT).await.unwrap(), &id),
        "approved"
    );
    let collected = spawned_issuer::collect(&client, &base, &id, &holder_key, 1).await;
    assert_eq!(collected.status(), 200);
    assert_eq!(
        state_of(&stream.next_event(WAIT).await.unwrap(), &id),
        "issued"
    );
    // Issued is final: the server ends the stream.
    assert!(stream.next_event(WAIT).await.is_none());

    // A final application: its state, then the end.
    let (key2, holder2) = DidKey::generate();
    let mut bad = submission(&holder2);
    bad["identity"]["birthDate"] = json!("2999-01-01");
    let rejected = submit(&client, &base, &bad).await;
    assert_eq!(rejected["state"], "rejected");
    let rid = rejected["id"].as_str().unwrap();
    let token = holder_token(&client, &base, &key2).await;
    let mut stream = EventStream::open(
        &client,
        &format!("{base}/v1/applications/{rid}/events"),
        &token,
    )
    .await;
    assert_eq!(
        state_of(&stream.next_event(WAIT).await.unwrap(), rid),
        "rejected"
    );
    assert!(stream.next_event(WAIT).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_stream_ends_after_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "[events]\nstream_timeout_secs = 1\n");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let id = submit(&client, &base, &submission(&holder)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = holder_token(&client, &base, &holder_key).await;
    let started = std::time::Instant::now();
    let mut stream = EventStream::open(
        &client,
        &format!("{base}/v1/applications/{id}/events"),
        &token,
    )
    .await;
    assert_eq!(
        state_of(&stream.next_event(WAIT).await.unwrap(), &id),
        "in_review"
    );
    assert!(stream.next_event(WAIT).await.is_none());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams() {
    let tmp = tempfile::tempdir().unwrap();
    // The default stream timeout (10 minutes) would hold a graceful shutdown that long.
    let mut issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (holder_key, holder) = DidKey::generate();
    let id = submit(&client, &base, &submission(&holder)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = holder_token(&client, &base, &holder_key).await;
    let mut stream = EventStream::open(
        &client,
        &format!("{base}/v1/applications/{id}/events"),
        &token,
    )
    .await;
    stream.next_event(WAIT).await.unwrap();

    let status = std::process::Command::new("kill")
        .args(["-TERM", &issuer.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(stream.next_event(WAIT).await.is_none());
    let deadline = std::time::Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = issuer.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    answered: StatusCode,
}

type Received = Arc<Mutex<Vec<Delivery>>>;

/// A platform's endpoint: answers 500 to the first attempt of each message, 204 to the rest.
async fn receiver() -> (String, Received) {
    async fn hook(
        axum::extract::State(received): axum::extract::State<Received>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let header = |name: &str| headers[name].to_str().unwrap().to_owned();
        assert_eq!(header("content-type"), "application/json");
        let id = header("webhook-id");
        let mut received = received.lock().unwrap();
        let answered = if received.iter().any(|d| d.id == id) {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        received.push(Delivery {
            id,
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            answered,
        });
        answered
    }
    let received = Received::default();
    let app = axum::Router::new()
        .route("/hooks/kyc", axum::routing::post(hook))
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks/kyc"), received)
}

/// Standard Webhooks verification as a receiver does it: `v1,` + base64 of
/// HMAC-SHA256(key, id "." timestamp "." body), compared in constant time, timestamp within
/// five minutes.
fn verify(secret: &str, delivery: &Delivery) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let timestamp: i64 = delivery.timestamp.parse().unwrap();
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    let Some(signature) = delivery.signature.strip_prefix("v1,") else {
        return false;
    };
    let Ok(signature) = STANDARD.decode(signature) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", delivery.id, delivery.timestamp).as_bytes());
    mac.update(&delivery.body);
    mac.verify_slice(&signature).is_ok()
}

/// Wait until `received` holds `accepted` accepted deliveries.
async fn accepted(received: &Received, accepted: usize) -> Vec<Delivery> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all = received.lock().unwrap().clone();
        if all
            .iter()
            .filter(|d| d.answered == StatusCode::NO_CONTENT)
            .count()
            >= accepted
        {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries so far: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_retried() {
    let tmp = tempfile::tempdir().unwrap();
    // The receiver listens on loopback, which only the allow-list lets a webhook reach.
    let issuer = start(
        tmp.path(),
        "[webhooks]\nretry_base_ms = 50\nallow_private = [\"127.0.0.1/32\"]\n",
    );
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (url, received) = receiver().await;
    let hooks = format!("{base}/v1/webhooks");

    // Bad registrations: refused, nothing registered, nothing logged.
    let before = audit_size(&client, &base).await;
    expect_problem(
        client
            .post(&hooks)
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    expect_problem(
        client
            .post(&hooks)
            .bearer_auth(REVIEWER_TOKEN)
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    for bad in [
        "ftp://platform.example/hooks",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "/hooks/kyc",
        "https://user:secret@platform.example/hooks",
    ] {
        let p = expect_problem(
            client
                .post(&hooks)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"url": bad}))
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert!(!p["detail"].as_str().unwrap().contains(bad), "{p}");
    }
    expect_problem(
        client
            .post(&hooks)
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"url": url, "events": ["all"]}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    expect_problem(
        client
            .delete(format!("{hooks}/no-such-webhook"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let listed = spawned_issuer::staff_get(&client, &base, "/v1/webhooks", ADMIN_TOKEN).await;
    assert_eq!(listed, json!([]));
    assert_eq!(audit_size(&client, &base).await, before);

    // Register: the secret comes once, in the Standard Webhooks form.
    let response = client
        .post(&hooks)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let registered: Value = response.json().await.unwrap();
    let secret = registered["secret"].as_str().unwrap().to_owned();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);
    let hook_id = registered["id"].as_str().unwrap().to_owned();
    let listed = spawned_issuer::staff_get(&client, &base, "/v1/webhooks", ADMIN_TOKEN).await;
    assert_eq!(listed[0]["id"], hook_id.as_str());
    assert_eq!(listed[0]["createdBy"], "adam");
    // Registering is an audit event naming the endpoint, the admin and a hash of the URL
    // (never the URL, which may carry a token).
    assert_eq!(audit_size(&client, &base).await, before + 1);
    let last = audit_entries(&client, &base, 1).await;
    assert_eq!(last[0]["kind"], "webhook_registered", "{last:?}");
    assert_eq!(last[0]["data"]["webhook"], hook_id.as_str());
    assert_eq!(
        last[0]["data"]["byCommitment"],
        commitment(tmp.path(), "--staff", "adam").as_str()
    );
    assert!(!last[0].to_string().contains(&url));
    assert!(!listed.to_string().contains(&secret[6..]));

    // A submission goes submitted → checking → in_review: three changes, each refused once and
    // accepted on the retry, with the same message id and a fresh signature.
    let (_, holder) = DidKey::generate();
    let id = submit(&client, &base, &submission(&holder)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = accepted(&received, 3).await;
    let mut states = Vec::new();
    for delivery in all.iter().filter(|d| d.answered == StatusCode::NO_CONTENT) {
        assert!(verify(&secret, delivery), "{delivery:?}");
        let attempts: Vec<&Delivery> = all.iter().filter(|d| d.id == delivery.id).collect();
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        assert_eq!(attempts[0].answered, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(verify(&secret, attempts[0]));
        assert_eq!(attempts[0].body, delivery.body);
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["at", "id", "state", "type"], "{body}");
        assert_eq!(body["type"], "application.state_changed");
        assert_eq!(body["id"], id.as_str());
        for pii in PERSONAL_DATA {
            assert!(!body.to_string().contains(pii));
        }
        states.push((
            body["at"].as_str().unwrap().to_owned(),
            body["state"].as_str().unwrap().to_owned(),
        ));
    }
    let mut names: Vec<&str> = states.iter().map(|(_, s)| s.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["checking", "in_review", "submitted"]);

    // The receiver's check is a real one: another body, id or key does not verify.
    let good = all
        .iter()
        .find(|d| d.answered == StatusCode::NO_CONTENT)
        .unwrap();
    let mut tampered = good.clone();
    tampered.body.push(b' ');
    assert!(!verify(&secret, &tampered));
    let mut tampered = good.clone();
    tampered.id.push('x');
    assert!(!verify(&secret, &tampered));
    assert!(!verify(
        &format!("whsec_{}", STANDARD.encode([7u8; 32])),
        good
    ));

    // A review decision is delivered too.
    let review = client
        .post(format!("{base}/v1/review/{id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .json(&json!({"action": "approve", "tier": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(review.status(), 200);
    let all = accepted(&received, 4).await;
    let last = all.last().unwrap();
    assert!(verify(&secret, last));
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(body["state"], "approved");

    // Deleted: no more deliveries.
    let reviewer_delete = client
        .delete(format!("{hooks}/{hook_id}"))
        .bearer_auth(REVIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    expect_problem(reviewer_delete, 403).await;
    let deleted = client
        .delete(format!("{hooks}/{hook_id}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let last = audit_entries(&client, &base, 1).await;
    assert_eq!(last[0]["kind"], "webhook_deleted", "{last:?}");
    assert_eq!(last[0]["data"]["webhook"], hook_id.as_str());
    assert_eq!(
        last[0]["data"]["byCommitment"],
        commitment(tmp.path(), "--staff", "adam").as_str()
    );
    let count = received.lock().unwrap().len();
    let (_, holder) = DidKey::generate();
    submit(&client, &base, &submission(&holder)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.lock().unwrap().len(), count);
}

/// The last `n` audit entries, parsed.
async fn audit_entries(client: &reqwest::Client, base: &str, n: u64) -> Vec<Value> {
    let size = audit_size(client, base).await;
    let text = client
        .get(format!(
            "{base}/v1/audit/entries?from={}&to={size}",
            size - n
        ))
        .bearer_auth(spawned_issuer::AUDITOR_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Issue 12, finding 10: a webhook may not point into the issuer's own network. Every internal
/// target (metadata services, loopback, unspecified, private, CGNAT, unique-local, mapped, any
/// spelling of an IPv4 address, a name that resolves to loopback) is refused at registration
/// with a 400 that does not echo the URL, and nothing is registered or logged; with the
/// loopback receiver's address in `allow_private`, it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_internal_targets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let base = issuer.base.clone();
    let client = reqwest::Client::new();
    let (url, _) = receiver().await;
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let hooks = format!("{base}/v1/webhooks");
    let before = audit_size(&client, &base).await;
    for bad in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "http://127.0.0.1/hooks".to_owned(),
        url.clone(),
        format!("http://localhost:{port}/hooks/kyc"),
        "http://0.0.0.0/hooks".to_owned(),
        "http://2130706433/hooks".to_owned(),
        "http://0x7f000001/hooks".to_owned(),
        "http://017700000001/hooks".to_owned(),
        "http://127.1/hooks".to_owned(),
        "http://[::1]/hooks".to_owned(),
        "http://[::ffff:127.0.0.1]/hooks".to_owned(),
        "http://[::ffff:a9fe:a9fe]/hooks".to_owned(),
        "http://10.0.0.8/hooks".to_owned(),
        "http://172.16.5.4/hooks".to_owned(),
        "http://192.168.1.1/hooks".to_owned(),
        "http://100.64.0.1/hooks".to_owned(),
        "http://[fe80::1]/hooks".to_owned(),
        "http://224.0.0.1/hooks".to_owned(),
        "http://192.0.2.10/hooks".to_owned(),
        "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
    ] {
        let response = client
            .post(&hooks)
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"url": bad}))
            .send()
            .await
            .unwrap();
        let p = expect_problem(response, 400).await;
        let detail = p["detail"].as_str().unwrap();
        assert!(!detail.contains(&bad), "{bad}: {p}");
        assert!(
            !detail.contains("127.0.0.1") && !detail.contains("169.254"),
            "{p}"
        );
    }
    let listed = spawned_issuer::staff_get(&client, &base, "/v1/webhooks", ADMIN_TOKEN).await;
    assert_eq!(listed, json!([]));
    assert_eq!(audit_size(&client, &base).await, before);
    drop(issuer);

    // With the receiver's address allowed, the same receiver is accepted.
    let issuer = start(
        tmp.path(),
        "[webhooks]\nallow_private = [\"127.0.0.1/32\"]\n",
    );
    let response = client
        .post(format!("{}/v1/webhooks", issuer.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // Allowing loopback does not allow the metadata service.
    let response = client
        .post(format!("{}/v1/webhooks", issuer.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": "http://169.254.169.254/"}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400).await;
}

/// A name registered while it was allowed and resolving to loopback is refused at delivery
/// once loopback is no longer allowed (what a DNS answer changed after registration meets):
/// the receiver gets nothing, and the refusal is logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_refused_at_delivery() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, received) = receiver().await;
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let by_name = format!("http://localhost:{port}/hooks/kyc");
    let allowed = "[webhooks]\nretry_base_ms = 50\nmax_attempts = 2\n\
                   allow_private = [\"127.0.0.0/8\", \"::1/128\"]\n";
    let issuer = start(tmp.path(), allowed);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/v1/webhooks", issuer.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": by_name}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // Allowed, the name is delivered to.
    let (_, holder) = DidKey::generate();
    submit(&client, &issuer.base, &submission(&holder)).await;
    accepted(&received, 1).await;
    drop(issuer);

    // The same endpoint, the allow-list gone: every connection to the name is refused.
    let log = tmp.path().join("issuer.log");
    let issuer = start_logging(
        tmp.path(),
        "[webhooks]\nretry_base_ms = 50\nmax_attempts = 2\n",
        &log,
    );
    let count = received.lock().unwrap().len();
    let (_, holder) = DidKey::generate();
    submit(&client, &issuer.base, &submission(&holder)).await;
    // Three changes (submitted, checking, in_review), each abandoned after its two attempts.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("webhook delivery abandoned").count() >= 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(received.lock().unwrap().len(), count);
}

/// [`start`], with the service's log (stderr, `RUST_LOG=warn`) written to `log`.
fn start_logging(dir: &std::path::Path, extra: &str, log: &std::path::Path) -> Logged {
    use std::io::BufRead as _;
    let config = spawned_issuer::write_config(dir, extra);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kyc-issuer"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Logged {
        child,
        base: format!("http://{addr}"),
    }
}

/// A service started by [`start_logging`]; killed when dropped.
struct Logged {
    child: std::process::Child,
    base: String,
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
