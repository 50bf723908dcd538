//! Issue 12, finding 8: an issuer that answers a submission with a redirect to another origin
//! must not get the application re-posted there. A scripted issuer on a loopback port answers
//! `307` to a second listener (another port: another origin); the wallet refuses, and the
//! second listener never sees a connection. A redirect within the issuer's origin is followed.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kyc_wallet::issuer_client::{ClientError, IssuerClient};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Read one request (headers and a `Content-Length` body); its request line.
async fn read_request(socket: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return head.lines().next().unwrap_or_default().to_owned();
        }
    }
    String::new()
}

/// Answers every request to `/v1/applications` with `307 Location: target`, and
/// `/elsewhere/v1/applications` with an application view.
async fn redirecting_issuer(listener: TcpListener, target: String) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let target = target.clone();
        tokio::spawn(async move {
            let line = read_request(&mut socket).await;
            let response = if line.starts_with("POST /v1/applications ") {
                format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                let body = json!({"id": "app-1", "state": "submitted", "jurisdiction": "EU",
                    "createdAt": "2026-11-26T12:00:00Z"})
                .to_string();
                format!(
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_never_followed() {
    // The attacker's server: counts connections.
    let elsewhere = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_addr = elsewhere.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = elsewhere.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = read_request(&mut socket).await;
        }
    });

    let issuer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", issuer.local_addr().unwrap());
    tokio::spawn(redirecting_issuer(
        issuer,
        format!("http://{elsewhere_addr}/v1/applications"),
    ));

    let client = IssuerClient::new(&base, None).unwrap();
    let err = client
        .submit(&json!({"identity": {"givenName": "Erika"}}))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Redirected { .. }), "{err:?}");
    assert!(err.to_string().contains("another origin"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let issuer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", issuer.local_addr().unwrap());
    tokio::spawn(redirecting_issuer(
        issuer,
        format!("{base}/elsewhere/v1/applications"),
    ));
    let client = IssuerClient::new(&base, None).unwrap();
    let view = client.submit(&json!({})).await.unwrap();
    assert_eq!(view.id, "app-1");
}
