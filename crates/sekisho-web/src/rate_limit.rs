//! Rate limits (issue 15, credential stuffing): per client and per account on the endpoints an
//! attacker repeats — password login, the second factor, forgot-password, the token endpoint,
//! registration and SMS sending, and `/authorize` per client (each anonymous visit there stores a
//! session and a request until they expire: the limit bounds the rows one client can make).
//! Over a limit the request is answered `429 Too Many Requests`
//! with `Retry-After` before any handler runs: nothing is checked, counted or sent, so a throttled
//! login attempt is no failure towards the account lock (REQ-LOCK-1 keeps its exact semantics).
//!
//! The limiters are in-process (governor's GCRA, keyed): each node limits on its own, so N nodes
//! allow up to N times the configured rates. A shared limiter (the database or a cache) is a later
//! issue. Their time is the application's `Clock`, so tests move it with a `FakeClock`.
//!
//! The client is the socket's peer address (axum's `ConnectInfo<SocketAddr>`); `X-Forwarded-For`
//! is believed only when that peer is a configured trusted proxy, and then the client is the
//! right-most address not itself a trusted proxy (the left part is whatever the client wrote).
//! On the line entry the client is the line the carrier gateway asserted (every line request
//! comes from the gateway's one address).

use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as GovernorClock;
use governor::{Quota, RateLimiter};
pub use ipnet::IpNet;
use sekisho_core::Clock;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A rate: `count` requests at once, refilled at `count` per `period` seconds (GCRA). Written
/// `"30/min"`, `"10/h"`, `"5/s"`, `"100/d"`; `"off"` (or a zero count) is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    pub count: u32,
    pub period: u32,
}

impl Rate {
    pub const OFF: Rate = Rate {
        count: 0,
        period: 60,
    };

    pub const fn per_minute(count: u32) -> Self {
        Rate { count, period: 60 }
    }

    pub const fn per_hour(count: u32) -> Self {
        Rate {
            count,
            period: 3600,
        }
    }

    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.count)?;
        // One request back every period/count; at least a nanosecond, which governor requires.
        let interval =
            (Duration::from_secs(u64::from(self.period)) / self.count).max(Duration::from_nanos(1));
        Some(Quota::with_period(interval)?.allow_burst(burst))
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let bad =
            || format!("rate {s:?}: write COUNT/UNIT (s, min, h, d), e.g. \"30/min\", or \"off\"");
        let (count, unit) = t.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        Ok(Rate { count, period })
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        if r.count == 0 {
            return "off".into();
        }
        let unit = match r.period {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => "d",
        };
        format!("{}/{unit}", r.count)
    }
}

/// The limits, each per client (IP, or line) and per account. The defaults leave room for
/// offices behind one address (NAT) and RP back ends, and are far above what a person does;
/// the per-account login limit is above the lock's ten failures, which stays the account's limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// `POST /{brand}/login`, per client and per (brand, address) typed.
    pub login_per_ip: Rate,
    pub login_per_account: Rate,
    /// The second factor's code, recovery code and method choice, per client and per user.
    pub two_factor_per_ip: Rate,
    pub two_factor_per_account: Rate,
    /// `POST /{brand}/password/forgot`, per client and per (brand, address) typed.
    pub forgot_password_per_ip: Rate,
    pub forgot_password_per_account: Rate,
    /// `POST /{brand}/token`, per client and per `client_id`.
    pub token_per_ip: Rate,
    pub token_per_account: Rate,
    /// Registration by mailed link, login-method change, the console's invitation and RFC 7591
    /// client registration, per client and per ticket.
    pub registration_per_ip: Rate,
    pub registration_per_account: Rate,
    /// SMS sending (`/2fa/phone`, `/2fa/resend`), per client and per user.
    pub sms_per_ip: Rate,
    pub sms_per_account: Rate,
    /// `/{brand}/authorize` (GET or POST) and `GET /{brand}/upstream/{name}/start`, per client:
    /// every visit without a session stores one until the purge, so this bounds what one client
    /// can store (rate × 40 minutes).
    pub authorize_per_ip: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_per_ip: Rate::per_minute(60),
            login_per_account: Rate::per_hour(100),
            two_factor_per_ip: Rate::per_minute(60),
            two_factor_per_account: Rate::per_hour(100),
            forgot_password_per_ip: Rate::per_hour(60),
            forgot_password_per_account: Rate::per_hour(10),
            token_per_ip: Rate::per_minute(1200),
            token_per_account: Rate::per_minute(1200),
            registration_per_ip: Rate::per_hour(60),
            registration_per_account: Rate::per_hour(30),
            sms_per_ip: Rate::per_hour(30),
            sms_per_account: Rate::per_hour(10),
            // An office behind one address starting many logins at nine: ten a second.
            authorize_per_ip: Rate::per_minute(600),
        }
    }
}

impl RateLimits {
    /// No limit anywhere (tests of other features that repeat requests on purpose).
    pub fn off() -> Self {
        Self {
            login_per_ip: Rate::OFF,
            login_per_account: Rate::OFF,
            two_factor_per_ip: Rate::OFF,
            two_factor_per_account: Rate::OFF,
            forgot_password_per_ip: Rate::OFF,
            forgot_password_per_account: Rate::OFF,
            token_per_ip: Rate::OFF,
            token_per_account: Rate::OFF,
            registration_per_ip: Rate::OFF,
            registration_per_account: Rate::OFF,
            sms_per_ip: Rate::OFF,
            sms_per_account: Rate::OFF,
            authorize_per_ip: Rate::OFF,
        }
    }
}

/// What a limited request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Action {
    Login,
    TwoFactor,
    ForgotPassword,
    Token,
    Registration,
    Sms,
    Authorize,
}

impl Action {
    /// The action of `POST /{brand}/…` (or of `GET /{brand}/authorize`), from the path after
    /// the brand.
    fn of(method: &Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix('/')?.split_once('/')?.1;
        if rest == "authorize" && (method == Method::GET || method == Method::POST) {
            return Some(Action::Authorize);
        }
        // ISSUE-16: an upstream login's start (a GET, like `/authorize`) keeps an anonymous
        // round-trip row until the purge: the same limit bounds what one client can store.
        let upstream_start = rest.starts_with("upstream/") && rest.ends_with("/start");
        if upstream_start && method == Method::GET {
            return Some(Action::Authorize);
        }
        if method != Method::POST {
            return None;
        }
        Some(match rest {
            // The device verification page: a user code is guessed there as a password is.
            "login" | "device" | "device/approve" | "device/deny" => Action::Login,
            "2fa/code" | "2fa/lost-device" | "2fa/method" | "2fa/phone/change" => Action::TwoFactor,
            "2fa/phone" | "2fa/resend" => Action::Sms,
            "password/forgot" => Action::ForgotPassword,
            // A pushed request is stored until it expires: the token endpoint's limits (per
            // client address and per client) bound the rows one client can make.
            "token" | "par" | "device_authorization" => Action::Token,
            "registration/password"
            | "registration/confirm"
            | "login-method/password"
            | "admin/invite"
            | "clients" => Action::Registration,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::TwoFactor => "two_factor",
            Action::ForgotPassword => "forgot_password",
            Action::Token => "token",
            Action::Registration => "registration",
            Action::Sms => "sms",
            Action::Authorize => "authorize",
        }
    }
}

/// The application's `Clock` as governor's: time since the epoch. The `Clock` counts whole
/// seconds, which is fine grained enough for limits of requests per minute or hour.
#[derive(Clone)]
struct AppClock(Arc<dyn Clock>);

impl GovernorClock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

type Keyed = RateLimiter<
    String,
    governor::state::keyed::DefaultKeyedStateStore<String>,
    AppClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The keyed limiters of every action and scope, built from [`RateLimits`].
pub struct Limiters {
    per_ip: Vec<(Action, Keyed)>,
    per_account: Vec<(Action, Keyed)>,
    trusted: Vec<IpNet>,
    clock: AppClock,
    checks: AtomicU64,
}

/// Every this many checks the limiters drop the keys that are back to a fresh state, so an
/// attacker's many addresses do not grow memory for good.
const PRUNE_EVERY: u64 = 4096;

impl Limiters {
    /// `trusted`: the proxies (CIDRs) whose `X-Forwarded-For` is believed.
    pub fn new(limits: &RateLimits, trusted: Vec<IpNet>, clock: Arc<dyn Clock>) -> Self {
        let clock = AppClock(clock);
        let build = |pairs: Vec<(Action, Rate)>| {
            pairs
                .into_iter()
                .filter_map(|(action, rate)| {
                    let quota = rate.quota()?;
                    Some((
                        action,
                        RateLimiter::dashmap_with_clock(quota, clock.clone()),
                    ))
                })
                .collect()
        };
        let l = limits;
        Self {
            per_ip: build(vec![
                (Action::Authorize, l.authorize_per_ip),
                (Action::Login, l.login_per_ip),
                (Action::TwoFactor, l.two_factor_per_ip),
                (Action::ForgotPassword, l.forgot_password_per_ip),
                (Action::Token, l.token_per_ip),
                (Action::Registration, l.registration_per_ip),
                (Action::Sms, l.sms_per_ip),
            ]),
            per_account: build(vec![
                (Action::Login, l.login_per_account),
                (Action::TwoFactor, l.two_factor_per_account),
                (Action::ForgotPassword, l.forgot_password_per_account),
                (Action::Token, l.token_per_account),
                (Action::Registration, l.registration_per_account),
                (Action::Sms, l.sms_per_account),
            ]),
            trusted,
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// `None` when allowed (a cell taken), else the seconds until a retry can pass.
    fn check(list: &[(Action, Keyed)], action: Action, key: &str, clock: &AppClock) -> Option<u64> {
        let (_, limiter) = list.iter().find(|(a, _)| *a == action)?;
        let not_until = limiter.check_key(&key.to_owned()).err()?;
        let wait = not_until.wait_time_from(clock.now());
        // Whole seconds, rounded up, at least one: `Retry-After` has no fractions.
        Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).map(|s| s.max(1))
    }

    fn prune(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY != PRUNE_EVERY - 1 {
            return;
        }
        for (_, l) in self.per_ip.iter().chain(&self.per_account) {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn limits(&self, action: Action) -> bool {
        self.per_ip
            .iter()
            .chain(&self.per_account)
            .any(|(a, _)| *a == action)
    }

    /// The client of a request: the peer address, or the right-most address of
    /// `X-Forwarded-For` that is no trusted proxy when the peer is one.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let mut client = peer;
        // Right to left: each trusted hop vouches for the address before it.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // Garbage where an address should be: stop at the last proxy that wrote sense.
                break;
            };
            client = ip;
            if !trusted(&ip) {
                break;
            }
        }
        client
    }
}

/// The key of a client: an IPv6 client is its /64 (one subscriber's usual allocation), so that
/// walking through its own addresses gains nothing.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Form bodies read to find the account are small; a larger one is refused as a form would be.
const FORM_LIMIT: usize = 64 * 1024;

/// Middleware of every request: the limits of the action, if it is one.
pub async fn limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(action) = Action::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let limiters = state.limiters.clone();
    if !limiters.limits(action) {
        return next.run(req).await;
    }
    limiters.prune();
    let brand = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_owned();
    let client = match crate::line_entry::line_of(req.extensions()) {
        Some(line) => Some(format!("line:{line}")),
        None => req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| ip_key(limiters.client(peer.ip(), req.headers()))),
    };
    if let Some(client) = &client {
        if let Some(wait) = Limiters::check(&limiters.per_ip, action, client, &limiters.clock) {
            tracing::warn!(action = action.name(), client = %client, brand = %brand, retry_after = wait, "rate limited (client)");
            return too_many(&state, action, &brand, req.headers(), wait).await;
        }
    }
    let (req, account) = match account(&state, action, &brand, req).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    if let Some(account) = account {
        // Hashed: the map holds no addresses or tickets, and the log can name the key.
        let key = sekisho_crypto::tokens::hash_token(&account);
        if let Some(wait) = Limiters::check(&limiters.per_account, action, &key, &limiters.clock) {
            tracing::warn!(action = action.name(), account = %key, brand = %brand, retry_after = wait, "rate limited (account)");
            return too_many(&state, action, &brand, req.headers(), wait).await;
        }
    }
    next.run(req).await
}

/// The account a request acts on, as a key: the address typed (login, forgot-password), the
/// `client_id` (token), the user of the second step in progress (2FA, SMS), the ticket
/// (registration). Reads the form body when needed and puts it back.
async fn account(
    state: &AppState,
    action: Action,
    brand: &str,
    req: Request,
) -> Result<(Request, Option<String>), Response> {
    // RFC 7591 registration is JSON under an initial access token: no ticket to read, and its
    // own body limit answers an oversized body. `/authorize` has no account.
    if action == Action::Authorize || req.uri().path().ends_with("/clients") {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    if matches!(action, Action::TwoFactor | Action::Sms) {
        let user = second_step_user(state, brand, &parts.headers).await;
        return Ok((
            Request::from_parts(parts, body),
            user.map(|u| format!("user:{u}")),
        ));
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let field = |name: &str| {
        url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let key = match action {
        Action::Login | Action::ForgotPassword => {
            field("email").map(|e| format!("{}:{brand}:{}", action.name(), e.to_lowercase()))
        }
        Action::Token => field("client_id")
            .or_else(|| basic_user(&parts.headers))
            .map(|c| format!("client:{brand}:{c}")),
        Action::Registration => field("ticket").map(|t| format!("ticket:{brand}:{t}")),
        Action::TwoFactor | Action::Sms | Action::Authorize => None,
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), key))
}

/// The user of the second step this browser has in progress, if any.
async fn second_step_user(state: &AppState, brand: &str, headers: &HeaderMap) -> Option<String> {
    let session = crate::session::current(state, brand, headers)
        .await
        .ok()??;
    let challenge = state
        .op
        .store
        .find_challenge(&session.sid, state.now())
        .await
        .ok()??;
    Some(challenge.user_id)
}

/// The user name of HTTP Basic client authentication (the `client_id`, form-urlencoded).
fn basic_user(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':')?.0;
    Some(
        url::form_urlencoded::parse(format!("u={user}").as_bytes())
            .next()?
            .1
            .into_owned(),
    )
}

/// The 429 answer: the OAuth JSON error at the token endpoint, a page elsewhere.
async fn too_many(
    state: &AppState,
    action: Action,
    brand: &str,
    headers: &HeaderMap,
    wait: u64,
) -> Response {
    let mut res = match action {
        // `slow_down` (RFC 8628 §3.5, in the IANA OAuth extensions error registry for the token
        // endpoint) says exactly "retry, more slowly"; `invalid_request` would tell the client its
        // request is wrong and not to send it again.
        Action::Token => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({
                "error": "slow_down",
                "error_description": "too many requests; retry after the time in Retry-After",
            })),
        )
            .into_response(),
        _ => {
            let lang = crate::routes::lang(None, headers);
            let brand = state.op.brand(brand).await.ok().flatten();
            state.pages.message(
                StatusCode::TOO_MANY_REQUESTS,
                lang,
                brand.as_ref(),
                "rate_limited_title",
                "rate_limited_body",
                None,
            )
        }
    };
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_write_the_same() {
        for s in ["30/min", "10/h", "5/s", "100/d", "off"] {
            let r = Rate::try_from(s.to_owned()).unwrap();
            assert_eq!(String::from(r), s);
        }
        assert!(Rate::try_from("ten/min".to_owned()).is_err());
        assert!(Rate::try_from("10/week".to_owned()).is_err());
        assert_eq!(Rate::try_from("0/min".to_owned()).unwrap().quota(), None);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let clock: Arc<dyn Clock> = Arc::new(sekisho_core::FakeClock::new(0));
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let l = Limiters::new(&RateLimits::default(), trusted, clock);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "1.2.3.4, 203.0.113.9, 10.0.0.7".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(l.client(proxy, &h).to_string(), "203.0.113.9");
        assert_eq!(l.client(stranger, &h), stranger);
        assert_eq!(l.client(proxy, &HeaderMap::new()), proxy);
    }

    // ISSUE-16: an upstream login's start, a GET that stores a round trip, counts with
    // `/authorize`; binding (a POST) and the callback are not limited here.
    #[test]
    fn upstream_start_counts_as_authorize() {
        let get = Method::GET;
        let start = Action::of(&get, "/VX5/upstream/google/start");
        assert_eq!(start, Some(Action::Authorize));
        assert_eq!(
            Action::of(&Method::POST, "/VX5/upstream/google/start"),
            None
        );
        assert_eq!(Action::of(&get, "/VX5/upstream/callback"), None);
        assert_eq!(Action::of(&Method::POST, "/VX5/upstream/google/bind"), None);
    }

    #[test]
    fn ipv6_clients_are_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_eq!(ip_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
