//! Floods against the real `kyc-issuer serve` (issue 12, findings 6 and 7), each at a bounded
//! rate against limits configured small: one client's flood is refused (429) while a client
//! from another address is still served; the overall limit; a client's share of nonces;
//! non-images refused before anything is stored; the quota of open applications per holder;
//! the header-read timeout; the concurrency limit shedding what is over it (503).
//!
//! A second client address is `127.0.0.2`: all of 127/8 is loopback on Linux, so a client
//! bound to it reaches the service on 127.0.0.1 from another address.
#![allow(clippy::unwrap_used)]

mod spawned_issuer;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kyc_core::DidKey;
use serde_json::{json, Value};
use spawned_issuer::{
    audit_size, expect_problem, post_json, staff_get, start, submission, submit, REVIEWER_TOKEN,
};

/// Rate limits no test here reaches, for the tests about something else.
const UNLIMITED: &str = "body_bytes = 65536\nclient_requests_per_minute = 1000000\n\
    client_burst = 100000\nrequests_per_minute = 1000000\nburst = 100000\n";

fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(address)))
        .build()
        .unwrap()
}

async fn post_nonce(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/v1/nonce"))
        .send()
        .await
        .unwrap()
}

/// Send `POST /v1/nonce` from `client` until one is refused (at most `tries`); the refusal.
async fn until_refused(client: &reqwest::Client, base: &str, tries: usize) -> reqwest::Response {
    for _ in 0..tries {
        let response = post_nonce(client, base).await;
        if response.status() != 200 {
            return response;
        }
    }
    panic!("{tries} requests from one address, none refused");
}

/// A 429 problem with a `Retry-After` of whole seconds, at least 1.
async fn expect_rate_limited(response: reqwest::Response) -> Value {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let problem = expect_problem(response, 429).await;
    assert_eq!(problem["type"], "https://kyc.invalid/problems/rate-limited");
    problem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_flood_is_refused_while_another_address_is_served() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        "[limits]\nbody_bytes = 65536\nclient_requests_per_minute = 1\nclient_burst = 3\n",
    );
    let base = &issuer.base;
    let flooder = client_from([127, 0, 0, 1]);
    // Its burst, then refusals: at one request a minute, 20 requests are never all served.
    expect_rate_limited(until_refused(&flooder, base, 20).await).await;
    // Every intake route shares the client's bucket: a submission is refused too, and nothing
    // is logged for it.
    let before = audit_size(&flooder, base).await;
    let (_, holder) = DidKey::generate();
    let refused = flooder
        .post(format!("{base}/v1/applications"))
        .json(&submission(&holder))
        .send()
        .await
        .unwrap();
    expect_rate_limited(refused).await;
    assert_eq!(audit_size(&flooder, base).await, before);
    // Reads are not intake: still served.
    assert_eq!(
        flooder
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Another address has its own bucket.
    let other = client_from([127, 0, 0, 2]);
    assert_eq!(post_nonce(&other, base).await.status(), 200);
    let (_, holder) = DidKey::generate();
    submit(&other, base, &submission(&holder)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overall_limit_counts_every_client() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        "[limits]\nbody_bytes = 65536\nrequests_per_minute = 1\nburst = 3\n",
    );
    let base = &issuer.base;
    let first = client_from([127, 0, 0, 1]);
    expect_rate_limited(until_refused(&first, base, 20).await).await;
    // A client that sent nothing yet is refused too: the issuer's own bound, not its share.
    expect_rate_limited(post_nonce(&client_from([127, 0, 0, 2]), base).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_holding_its_share_of_nonces_gets_no_more_and_others_do() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        &format!("[limits]\n{UNLIMITED}nonces_per_client = 5\n"),
    );
    let base = &issuer.base;
    let hoarder = client_from([127, 0, 0, 1]);
    let mut nonces = Vec::new();
    for _ in 0..5 {
        let response = post_nonce(&hoarder, base).await;
        assert_eq!(response.status(), 200);
        nonces.push(response.json::<Value>().await.unwrap()["nonce"].clone());
    }
    let problem = expect_problem(post_nonce(&hoarder, base).await, 429).await;
    assert_eq!(
        problem["type"],
        "https://kyc.invalid/problems/too-many-nonces-for-client"
    );
    // Another client is served: one client's hoard no longer makes every holder route 503.
    assert_eq!(
        post_nonce(&client_from([127, 0, 0, 2]), base)
            .await
            .status(),
        200
    );
    // Spending a nonce (a holder call) gives the hoarder one back.
    let (key, _) = DidKey::generate();
    let token = kyc_testkit::tokens::holder_token(&key, spawned_issuer::PUBLIC_URL, &nonces[0]);
    let response = hoarder
        .get(format!(
            "{base}/v1/applications/00000000-0000-4000-8000-000000000000"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_problem(response, 404).await;
    assert_eq!(post_nonce(&hoarder, base).await.status(), 200);
}

/// A PNG whose header (IHDR, with its CRC) claims `w` × `h` pixels, and no pixel data: the
/// few bytes of a decompression bomb.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut crc = !0u32;
    for byte in &ihdr {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend((!crc).to_be_bytes());
    png
}

fn small_jpeg(w: u32, h: u32) -> String {
    STANDARD.encode(kyc_testkit::images::jpeg(
        &kyc_testkit::images::no_face_image(w, h),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_images_are_refused_before_anything_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(tmp.path(), "");
    let base = &issuer.base;
    let client = reqwest::Client::new();
    let before = audit_size(&client, base).await;
    let (_, holder) = DidKey::generate();
    let blob: Vec<u8> = (0..40_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let cases = [
        ("/selfie", json!({"selfie": STANDARD.encode(&blob)})),
        (
            "/proofOfAddress",
            json!({"proofOfAddress": STANDARD.encode(b"%PDF-1.7 not an image")}),
        ),
        (
            "/document/image",
            json!({"document": {"type": "id_card", "image": STANDARD.encode(png_claiming(100_000, 100_000))}}),
        ),
        (
            "/livenessFrames/1",
            json!({"livenessFrames": [small_jpeg(40, 40), STANDARD.encode(&blob[..3000])]}),
        ),
    ];
    for (place, parts) in cases {
        let mut body = submission(&holder);
        for (name, value) in parts.as_object().unwrap() {
            body[name] = value.clone();
        }
        let response = client
            .post(format!("{base}/v1/applications"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(response, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with(place), "{detail}");
    }
    // Nothing was logged or stored: no entry, nothing in the review queue.
    assert_eq!(audit_size(&client, base).await, before);
    let queue = staff_get(&client, base, "/v1/review/queue", REVIEWER_TOKEN).await;
    assert_eq!(queue.as_array().map(Vec::len), Some(0), "{queue}");
    // Real images are taken.
    let mut body = submission(&holder);
    body["selfie"] = json!(small_jpeg(48, 64));
    body["livenessFrames"] = json!([small_jpeg(40, 40)]);
    submit(&client, base, &body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_may_have_only_a_few_open_applications() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        &format!("[limits]\n{UNLIMITED}open_applications_per_holder = 2\n"),
    );
    let base = &issuer.base;
    let client = reqwest::Client::new();
    let (_, holder) = DidKey::generate();
    // Without a screening list every application waits for a reviewer: open.
    let first = submit(&client, base, &submission(&holder)).await;
    assert_eq!(first["state"], "in_review");
    submit(&client, base, &submission(&holder)).await;
    let before = audit_size(&client, base).await;
    let response = client
        .post(format!("{base}/v1/applications"))
        .json(&submission(&holder))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, 409).await;
    assert_eq!(
        problem["type"],
        "https://kyc.invalid/problems/too-many-open-applications"
    );
    assert_eq!(audit_size(&client, base).await, before);
    // Another holder is not affected.
    let (_, other) = DidKey::generate();
    submit(&client, base, &submission(&other)).await;
    // A decision closes one: the holder may apply again.
    let id = first["id"].as_str().unwrap();
    let rejected = post_json(
        &client,
        base,
        &format!("/v1/review/{id}"),
        REVIEWER_TOKEN,
        &json!({"action": "reject"}),
    )
    .await;
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    submit(&client, base, &submission(&holder)).await;
}

/// Read from `stream` until the server closes it; false if it is still open after `wait`
/// (far longer than the timeout under test).
fn closed_by_server(mut stream: TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_closed_after_the_header_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        &format!("[limits]\n{UNLIMITED}header_read_timeout_secs = 1\n"),
    );
    let addr = issuer.base.trim_start_matches("http://").to_owned();
    // Half a request's header, then silence; and a connection that never sends a byte.
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial
        .write_all(b"POST /v1/nonce HTTP/1.1\r\nHost: kyc.example\r\n")
        .unwrap();
    let silent = TcpStream::connect(&addr).unwrap();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            closed_by_server(partial, Duration::from_secs(30)),
            closed_by_server(silent, Duration::from_secs(30)),
        )
    })
    .await
    .unwrap();
    assert!(a, "a connection with half a header stayed open");
    assert!(b, "a connection that sent nothing stayed open");
    // The service still serves.
    let response = reqwest::get(format!("{}/healthz", issuer.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_are_shed_with_503() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = start(
        tmp.path(),
        &format!("[limits]\n{UNLIMITED}max_concurrent_requests = 1\n"),
    );
    let base = &issuer.base;
    let addr = base.trim_start_matches("http://").to_owned();
    // A request that stays in flight: its body announced and never sent.
    let mut held = TcpStream::connect(&addr).unwrap();
    held.write_all(
        b"POST /v1/applications HTTP/1.1\r\nHost: kyc.example\r\n\
          Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .unwrap();
    let client = reqwest::Client::new();
    let health = || client.get(format!("{base}/healthz")).send();
    // Once the held request has its place, every other is shed at once.
    let mut shed = None;
    for _ in 0..200 {
        let response = health().await.unwrap();
        if response.status() == 503 {
            shed = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let shed = shed.expect("no request was shed with one request in flight and a limit of 1");
    assert_eq!(shed.headers()["retry-after"], "1");
    let problem = expect_problem(shed, 503).await;
    assert_eq!(problem["type"], "https://kyc.invalid/problems/overloaded");
    // When it ends, the place is free again.
    drop(held);
    let mut served = false;
    for _ in 0..200 {
        if health().await.unwrap().status() == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        served,
        "the service did not serve again after the held request ended"
    );
}
