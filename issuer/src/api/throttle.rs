//! Who the client is (its address, [`ClientAddress`]) and how much it may ask: rate limits on
//! the intake routes, per client address and over all clients, and the concurrency limit's
//! answer when it sheds a request.
//!
//! The intake routes are the ones anyone may call that make the issuer keep something: a nonce,
//! a liveness challenge, an application. Each is a token bucket (GCRA, the `governor` crate): a
//! client may send `client_burst` requests at once, then `client_requests_per_minute`; all
//! clients together `burst`, then `requests_per_minute`. An empty bucket is a 429 problem with
//! `Retry-After` (RFC 9110 §10.2.3, in seconds) and uses up nothing.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::problem::Problem;
use super::state::LimitsConfig;

/// The routes a rate limit applies to: `POST` on these paths.
const INTAKE: [&str; 3] = ["/v1/nonce", "/v1/liveness-challenges", "/v1/applications"];

/// How many intake requests between two sweeps of the per-client buckets that are full again
/// (clients that stopped asking), so that their number stays bounded by the recent clients.
const SWEEP_EVERY: u64 = 4096;

/// The client a request comes from, as the limits count it: its IP address, an IPv6 address
/// cut to its /64 (a host is usually handed a whole /64, so counting single addresses would
/// give it 2^64 allowances). An IPv4 address mapped into IPv6 counts as the IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl ClientAddress {
    /// The client of `ip`.
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }

    /// The client of a request: the last value of `trusted_header` when one is configured and
    /// present and is an IP address (what the operator's proxy appended), else the peer.
    /// `None` when neither is known (a request not from a TCP connection).
    fn from_parts(
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        trusted_header: Option<&str>,
    ) -> Option<Self> {
        let forwarded = trusted_header.and_then(|name| {
            let last = headers.get_all(name).iter().next_back()?;
            let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
            entry
                .parse::<IpAddr>()
                .ok()
                .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        });
        forwarded.or(peer.map(|p| p.ip())).map(Self::of)
    }
}

impl FromRequestParts<super::AppState> for ClientAddress {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &super::AppState) -> Result<Self, Problem> {
        // The throttle middleware puts it there for every request (it runs first).
        parts.extensions.get::<Self>().copied().ok_or_else(|| {
            tracing::error!("no client address on the request");
            Problem::internal()
        })
    }
}

/// The rate limiters and the client-address rule, shared by every request.
#[derive(Clone)]
pub(crate) struct Throttle(Arc<Limiters>);

struct Limiters {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    overall: DefaultDirectRateLimiter,
    clock: DefaultClock,
    trusted_header: Option<String>,
    intake_requests: AtomicU64,
}

/// A quota of `per_minute` sustained with bursts of `burst` (both at least 1).
fn quota(per_minute: u32, burst: u32) -> Quota {
    let one = NonZeroU32::MIN;
    let period = Duration::from_secs(60) / per_minute.max(1);
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(one))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(one))
}

impl Throttle {
    /// The limits of `[limits]`.
    pub(crate) fn new(limits: &LimitsConfig) -> Self {
        Self(Arc::new(Limiters {
            per_client: RateLimiter::keyed(quota(
                limits.client_requests_per_minute,
                limits.client_burst,
            )),
            overall: RateLimiter::direct(quota(limits.requests_per_minute, limits.burst)),
            clock: DefaultClock::default(),
            trusted_header: limits.client_ip_header.clone(),
            intake_requests: AtomicU64::new(0),
        }))
    }

    /// Whether `client` may make an intake request now; if not, how long until it may.
    fn admit(&self, client: ClientAddress) -> Result<(), Duration> {
        let limiters = &self.0;
        if limiters.intake_requests.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == 0 {
            limiters.per_client.retain_recent();
        }
        let now = limiters.clock.now();
        // The client's own bucket first: a client over its share is refused without taking
        // a token from everyone's.
        limiters
            .per_client
            .check_key(&client.0)
            .map_err(|not_until| not_until.wait_time_from(now))?;
        limiters
            .overall
            .check()
            .map_err(|not_until| not_until.wait_time_from(now))
    }
}

/// The middleware: note the client's address on every request, and apply the rate limits to
/// the intake routes.
pub(crate) async fn throttle(
    State(throttle): State<Throttle>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = ClientAddress::from_parts(
        request.headers(),
        peer,
        throttle.0.trusted_header.as_deref(),
    );
    let Some(client) = client else {
        tracing::error!("request without a peer address");
        return Problem::internal().into_response();
    };
    request.extensions_mut().insert(client);
    let intake = request.method() == Method::POST && INTAKE.contains(&request.uri().path());
    if intake {
        if let Err(wait) = throttle.admit(client) {
            return too_many_requests(wait);
        }
    }
    next.run(request).await
}

/// 429 with `Retry-After` in whole seconds, rounded up (at least 1).
pub(crate) fn too_many_requests(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        format!("too many requests; retry in {secs} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The answer when the concurrency limit sheds a request (`tower::load_shed`): 503 with
/// `Retry-After: 1`; any other error of the layers is a 500.
pub(crate) async fn overloaded(error: tower::BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        let mut response = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "Overloaded",
            "the issuer is serving as many requests as it may; retry shortly",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    tracing::error!(error = %error, "middleware failed");
    Problem::internal().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddress::of(a), ClientAddress::of(b));
        assert_ne!(ClientAddress::of(a), ClientAddress::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            ClientAddress::of(mapped),
            ClientAddress("192.0.2.7".parse().unwrap())
        );
    }

    #[test]
    fn a_header_is_believed_only_when_configured() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        let client = |headers: &HeaderMap, name| {
            ClientAddress::from_parts(headers, Some(peer), name)
                .unwrap()
                .0
        };
        assert_eq!(client(&headers, None), peer.ip());
        // The last entry: the one the operator's proxy appended.
        assert_eq!(
            client(&headers, Some("x-forwarded-for")),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // Configured but absent or not an address: the peer.
        assert_eq!(client(&headers, Some("x-real-ip")), peer.ip());
        headers.insert("x-real-ip", HeaderValue::from_static("not an address"));
        assert_eq!(client(&headers, Some("x-real-ip")), peer.ip());
    }

    #[test]
    fn each_client_has_its_bucket_and_all_share_one() {
        let limits = LimitsConfig {
            client_requests_per_minute: 1,
            client_burst: 2,
            requests_per_minute: 1,
            burst: 3,
            ..LimitsConfig::default()
        };
        let throttle = Throttle::new(&limits);
        let one = ClientAddress("192.0.2.1".parse().unwrap());
        let two = ClientAddress("192.0.2.2".parse().unwrap());
        assert!(throttle.admit(one).is_ok());
        assert!(throttle.admit(one).is_ok());
        let wait = throttle.admit(one).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        // The refused request took nothing from the shared bucket: one left for `two`.
        assert!(throttle.admit(two).is_ok());
        assert!(throttle.admit(two).is_err());
        let response = too_many_requests(Duration::from_millis(1500));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
