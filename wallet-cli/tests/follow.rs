//! `IssuerClient::follow` against a scripted issuer on a loopback port: over Server-Sent Events
//! when the issuer has `…/events`, by polling when it answers 404. The issuer's own events route
//! is being built elsewhere; this pins down what the wallet expects of it (events whose `data`
//! is the application view, or an object with at least a `state`).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use kyc_core::DidKey;
use kyc_wallet::issuer_client::IssuerClient;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const AUDIENCE: &str = "https://kyc.example";

#[derive(Default)]
struct Seen {
    state: String,
    nonces: HashSet<String>,
    tokens: usize,
    view_calls: usize,
    event_calls: usize,
}

fn view(state: &str) -> Value {
    json!({"id": "app-1", "state": state, "jurisdiction": "EU",
           "createdAt": "2026-11-26T12:00:00Z", "checks": [], "decision": null, "credential": null})
}

/// A scripted issuer: nonces, the view, and `…/events` either streaming (then approving) or 404.
async fn serve(listener: TcpListener, seen: Arc<Mutex<Seen>>, stream_events: bool) {
    loop {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::spawn(handle(socket, seen.clone(), stream_events));
    }
}

async fn handle(mut socket: TcpStream, seen: Arc<Mutex<Seen>>, stream_events: bool) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let path = head.split(' ').nth(1).unwrap().to_owned();
    if let Some(token) = head
        .lines()
        .find_map(|l| l.strip_prefix("authorization: Bearer "))
    {
        let claims: Value =
            serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(claims["aud"], AUDIENCE);
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
        let mut seen = seen.lock().unwrap();
        seen.tokens += 1;
        assert!(
            seen.nonces.remove(claims["nonce"].as_str().unwrap()),
            "a token reused a nonce, or used one never issued"
        );
    }
    let respond = |status: &str, kind: &str, body: String| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let reply = match path.as_str() {
        "/v1/nonce" => {
            let nonce = format!("n{}", rand_suffix());
            seen.lock().unwrap().nonces.insert(nonce.clone());
            respond(
                "200 OK",
                "application/json",
                json!({"nonce": nonce, "expiresAt": "2099-01-01T00:00:00Z"}).to_string(),
            )
        }
        "/v1/applications/app-1" => {
            let mut seen = seen.lock().unwrap();
            seen.view_calls += 1;
            // Polling: the third look sees the approval.
            if !stream_events && seen.view_calls >= 3 {
                seen.state = "approved".into();
            }
            respond("200 OK", "application/json", view(&seen.state).to_string())
        }
        "/v1/applications/app-1/events" if stream_events => {
            seen.lock().unwrap().event_calls += 1;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n\r\n";
            socket.write_all(head.as_bytes()).await.unwrap();
            let steps = [
                ": keep-alive\n\n".to_owned(),
                "event: state\ndata: {\"state\":\"in_review\"}\n\n".to_owned(),
                "event: check\ndata: {\"check\":\"document\",\"outcome\":\"clear\"}\n\n".to_owned(),
            ];
            for step in steps {
                socket.write_all(step.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen.lock().unwrap().state = "approved".into();
            let event = format!("event: state\r\ndata: {}\r\n\r\n", view("approved"));
            socket.write_all(event.as_bytes()).await.unwrap();
            // Hold the stream open, as a real one would.
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        "/v1/applications/app-1/events" => {
            seen.lock().unwrap().event_calls += 1;
            respond(
                "404 Not Found",
                "application/problem+json",
                json!({"type": "https://kyc.invalid/problems/not-found", "title": "Not found",
                       "status": 404, "detail": "no such route"})
                .to_string(),
            )
        }
        other => panic!("unexpected request for {other}"),
    };
    let _ = socket.write_all(reply.as_bytes()).await;
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn follow(stream_events: bool) -> (Vec<String>, Value, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen {
        state: "in_review".into(),
        ..Seen::default()
    }));
    tokio::spawn(serve(listener, seen.clone(), stream_events));
    let client = IssuerClient::new(&base, Some(AUDIENCE)).unwrap();
    let (key, _) = DidKey::generate();
    let mut states = Vec::new();
    let settled = tokio::time::timeout(
        Duration::from_secs(20),
        client.follow("app-1", &key, |v| states.push(v.state.clone())),
    )
    .await
    .expect("follow did not settle")
    .unwrap();
    (states, serde_json::to_value(settled).unwrap(), seen)
}

#[tokio::test]
async fn follows_the_event_stream() {
    let (states, settled, seen) = follow(true).await;
    assert_eq!(states, ["in_review", "approved"]);
    assert_eq!(settled["state"], "approved");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.event_calls, 1);
    // The first look, then the authoritative one after the stream settled.
    assert_eq!(seen.view_calls, 2);
    assert_eq!(seen.tokens, 3, "one fresh token per call");
}

#[tokio::test]
async fn polls_when_the_issuer_has_no_event_stream() {
    let (states, settled, seen) = follow(false).await;
    assert_eq!(states, ["in_review", "approved"]);
    assert_eq!(settled["state"], "approved");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.event_calls, 1);
    assert_eq!(seen.view_calls, 3);
}
