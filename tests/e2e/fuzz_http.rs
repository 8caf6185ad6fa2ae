//! Issue 15, acceptance: a property-test harness, run with every `scripts/test`, sends arbitrary
//! authorization queries, token forms and client assertions to the real HTTP server. Whatever
//! arrives, the server answers without a 5xx, redirects only to the registered URI or its own
//! pages, never hands out a code or token it should not, and answers the token endpoint in the
//! OAuth JSON error format. The parsers of phone and line numbers have their own harness
//! (`crates/sekisho-core/tests/parsers_prop.rs`, and `crates/sekisho-core/fuzz` for cargo fuzz).
//!
//! proptest drives synchronous cases; each case blocks on the server's runtime, which is
//! multi-threaded so the server keeps serving meanwhile.

use base64::Engine;
use josekit::jwk::KeyPair;
use josekit::jws::{JwsHeader, ES256, HS256};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sekisho_e2e::{TestApp, REDIRECT_URI};
use serde_json::{json, Value};
use std::future::Future;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Runs `cases` cases of `strategy`, each an async check on the test's runtime.
fn check<S, F, Fut>(cases: u32, strategy: S, test: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |value| handle.block_on(test(value)))
            .unwrap();
    });
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Values that reach the validation's corners: valid ones, empty, huge, control characters,
/// non-ASCII, numbers at the edges.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~]{0,40}",
        2 => any::<String>(),
        1 => Just(String::new()),
        1 => (0usize..5000).prop_map(|n| "x".repeat(n)),
        1 => prop::sample::select(vec![
            "code", "openid", "openid email offline_access", "none", "login", "consent",
            "none login", "S256", "plain", "query", "fragment", "form_post", "0", "-1",
            "99999999999999999999", "\r\nSet-Cookie: x=1", "\u{0}", "ja", "en", "ログイン",
            "urn:mace:incommon:iap:silver", "javascript:alert(1)", REDIRECT_URI,
            "https://evil.example/cb", "http://localhost:3000/callback#x",
        ]).prop_map(str::to_owned),
    ]
}

const AUTHORIZE_PARAMS: [&str; 17] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "acr_values",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
    "id_token_hint",
];

/// An authorization query: the valid request of the seed client, with some parameters dropped,
/// replaced, repeated or added, and sometimes raw bytes that are not valid percent-encoding.
fn authorize_query(client_id: String) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec(
        (
            prop_oneof![
                4 => prop::sample::select(AUTHORIZE_PARAMS.to_vec()).prop_map(str::to_owned),
                1 => "[a-z_]{1,12}",
            ],
            prop::option::of(value()),
            any::<bool>(),
        ),
        0..6,
    );
    let raw_tail = prop::option::of(prop::sample::select(vec![
        "&%FF%FE=%ZZ",
        "&&&",
        "&=",
        "&scope",
        "&state=%",
        "&%00=%00",
        "&a=b=c",
    ]));
    (edits, raw_tail).prop_map(move |(edits, tail)| {
        let mut params: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", "st"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (name, value, repeat) in edits {
            match value {
                None => params.retain(|(k, _)| *k != name),
                Some(v) if repeat => params.push((name, v)),
                Some(v) => {
                    params.retain(|(k, _)| *k != name);
                    params.push((name, v));
                }
            }
        }
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            q.append_pair(k, v);
        }
        let mut q = q.finish();
        if let Some(t) = tail {
            q.push_str(t);
        }
        q
    })
}

// ISSUE-15 (fuzzing: the authorize query) REQ-OP-1: no 5xx; a redirect goes to the registered
// redirect URI (with an error, never a code: nobody logged in) or to the OP's own login page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_authorize_queries() {
    // Rate limits off: a thousand requests from one address are what `authorize_per_ip` stops,
    // and this harness is about what each request holds.
    let app = TestApp::spawn_with_limits(sekisho_e2e::Limits {
        rate_limits: sekisho_web::rate_limit::RateLimits::off(),
        ..sekisho_e2e::Limits::default()
    })
    .await;
    let seed = app.seed().await;
    let http = no_redirects();
    let issuer = app.issuer();
    check(1000, authorize_query(seed.client.client_id.clone()), |q| {
        let (http, issuer) = (&http, &issuer);
        async move {
            let url = format!("{issuer}/authorize?{q}");
            let res = http.get(&url).send().await.unwrap();
            let status = res.status().as_u16();
            prop_assert!(status < 500, "{status} for {url:.300}");
            if (300..400).contains(&status) {
                let location = res.headers()["location"].to_str().unwrap().to_owned();
                let to_rp = location.starts_with(&format!("{REDIRECT_URI}?"));
                let to_login = location.starts_with(&format!("{}/login?", issuer_path(issuer)));
                prop_assert!(to_rp || to_login, "{location:.300} for {url:.300}");
                if to_rp {
                    let back = url::Url::parse(&location).unwrap();
                    let q = sekisho_e2e::query(&back);
                    prop_assert!(
                        q.contains_key("error") && !q.contains_key("code"),
                        "{location}"
                    );
                    prop_assert!(location.len() < 4000, "the answer stays small");
                }
            } else {
                prop_assert!(status == 200 || status == 400, "{status} for {url:.300}");
            }
            Ok(())
        }
    });
}

/// The OP's own pages are under `/{brand}`: the path part of the issuer.
fn issuer_path(issuer: &str) -> String {
    url::Url::parse(issuer).unwrap().path().to_owned()
}

/// How a token request authenticates: nothing, the real secret, or garbage in the header.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Valid,
    Header(String),
}

fn token_form() -> impl Strategy<Value = (Auth, Vec<(String, String)>)> {
    let auth = prop_oneof![
        Just(Auth::None),
        Just(Auth::Valid),
        prop_oneof![
            "Basic [A-Za-z0-9+/=]{0,40}",
            "Basic [ -~]{0,20}",
            "Bearer [ -~]{0,20}",
            Just("Basic Og==".to_owned()),
            Just("Basic //79".to_owned()),
        ]
        .prop_map(Auth::Header),
    ];
    let names = prop::sample::select(vec![
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
        "resource",
        "audience",
        "username",
        "password",
    ]);
    let grant = prop::sample::select(vec![
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "",
        "AUTHORIZATION_CODE",
    ]);
    let pairs = prop::collection::vec((names.prop_map(str::to_owned), value()), 0..8);
    (auth, grant, pairs).prop_map(|(auth, grant, mut pairs)| {
        pairs.insert(0, ("grant_type".to_owned(), grant.to_owned()));
        (auth, pairs)
    })
}

const OAUTH_ERRORS: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "slow_down",
];

// ISSUE-15 (fuzzing: the token form) REQ-OP-3: any form, with any Authorization, gets JSON:
// an RFC 6749 §5.2 error with 400 or 401 (429 if throttled), never a 5xx; a token comes only
// for the client credentials grant of a correctly authenticated client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_token_forms() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let http = no_redirects();
    let url = format!("{}/token", app.issuer());
    let (id, secret) = (
        seed.client.client_id.clone(),
        seed.client.client_secret.clone().unwrap(),
    );
    check(1000, token_form(), |(auth, pairs)| {
        let (http, url, id, secret) = (&http, &url, &id, &secret);
        async move {
            let body = {
                let mut f = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &pairs {
                    f.append_pair(k, v);
                }
                f.finish()
            };
            let mut req = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone());
            req = match &auth {
                Auth::None => req,
                Auth::Valid => req.basic_auth(id, Some(secret)),
                Auth::Header(h) => req.header("authorization", h.as_str()),
            };
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let json: Value = res.json().await.unwrap_or(Value::Null);
            prop_assert!(status < 500, "{status} {json} for {body:.300}");
            if status == 200 {
                let grant = pairs.iter().filter(|(k, _)| k == "grant_type").count() == 1
                    && pairs[0].1 == "client_credentials";
                prop_assert!(
                    grant && matches!(auth, Auth::Valid),
                    "{json} for {body:.300}"
                );
                prop_assert!(json["access_token"].is_string());
            } else {
                prop_assert!(
                    [400, 401, 429].contains(&status),
                    "{status} for {body:.300}"
                );
                let error = json["error"].as_str().unwrap_or("");
                prop_assert!(OAUTH_ERRORS.contains(&error), "{json} for {body:.300}");
            }
            Ok(())
        }
    });
}

/// How a client assertion is spoiled: each one must make it worthless.
#[derive(Debug, Clone)]
enum Spoil {
    /// `alg: none`, no signature.
    Unsigned,
    /// HS256 keyed with the client's public JWK (algorithm confusion).
    Hmac,
    /// Signed by a key the client never registered, under its `kid`.
    Stranger,
    /// One claim replaced by an arbitrary JSON value or removed.
    Claim(&'static str, Option<Value>),
    /// One byte of the compact form changed.
    Byte(usize, u8),
    /// Segments dropped, added or truncated.
    Segments(usize),
    /// Issued for an hour and more ahead.
    LongLived(i64),
}

fn spoil() -> impl Strategy<Value = Spoil> {
    let json_value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,20}".prop_map(Value::from),
        Just(json!(["x", 1])),
        Just(json!({"a": 1})),
        Just(json!("https://evil.example/token")),
    ];
    prop_oneof![
        Just(Spoil::Unsigned),
        Just(Spoil::Hmac),
        Just(Spoil::Stranger),
        (
            prop::sample::select(vec!["iss", "sub", "aud", "exp", "jti"]),
            prop::option::of(json_value)
        )
            .prop_map(|(c, v)| Spoil::Claim(c, v)),
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Spoil::Byte(i, x)),
        (0usize..6).prop_map(Spoil::Segments),
        (3601i64..100_000_000).prop_map(Spoil::LongLived),
    ]
}

// ISSUE-15 (fuzzing: client assertions) REQ-OP-3: a private_key_jwt client's assertion,
// spoiled in any way, is refused with 401 invalid_client (never a 5xx, never accepted); the
// unspoiled one authenticates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoiled_client_assertions() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("rp-key-1");
    let public_json = serde_json::to_vec(&Value::Object(public.as_ref().clone())).unwrap();
    let jwks = json!({ "keys": [Value::Object(public.as_ref().clone())] });
    let client = app
        .client(|c| {
            c.jwks = Some(jwks);
            c.grant_types = vec![sekisho_core::oauth::GrantType::ClientCredentials];
            c.redirect_uris.clear();
        })
        .await;
    let stranger = ES256.generate_key_pair().unwrap();
    let token_endpoint = format!("{}/token", app.issuer());
    let now = app.clock.system_time();
    let jti = std::sync::atomic::AtomicU64::new(0);
    let make = |spoil: Option<&Spoil>| -> String {
        let mut claims = json!({
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": token_endpoint,
            "jti": format!("jti-{}", jti.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "exp": now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60,
        });
        if let Some(Spoil::Claim(name, v)) = spoil {
            match v {
                Some(v) => claims[*name] = v.clone(),
                None => {
                    claims.as_object_mut().unwrap().remove(*name);
                }
            }
        }
        if let Some(Spoil::LongLived(s)) = spoil {
            claims["exp"] =
                json!(now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + s);
        }
        // Signed as raw JSON: a JWT library would refuse to build the ill-typed claims.
        let payload = serde_json::to_vec(&claims).unwrap();
        let mut header = JwsHeader::new();
        header.set_key_id("rp-key-1");
        header.set_token_type("JWT");
        let jwt = match spoil {
            Some(Spoil::Unsigned) => {
                let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
                format!(
                    "{}.{}.",
                    b64(br#"{"alg":"none","typ":"JWT"}"#),
                    b64(&payload)
                )
            }
            Some(Spoil::Hmac) => josekit::jws::serialize_compact(
                &payload,
                &header,
                &HS256.signer_from_bytes(&public_json).unwrap(),
            )
            .unwrap(),
            Some(Spoil::Stranger) => josekit::jws::serialize_compact(
                &payload,
                &header,
                &ES256.signer_from_jwk(&stranger.to_jwk_key_pair()).unwrap(),
            )
            .unwrap(),
            _ => josekit::jws::serialize_compact(
                &payload,
                &header,
                &ES256.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap(),
            )
            .unwrap(),
        };
        match spoil {
            Some(Spoil::Byte(i, x)) => {
                let mut bytes = jwt.into_bytes();
                let i = i % bytes.len();
                bytes[i] ^= x;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Some(Spoil::Segments(n)) => {
                let parts: Vec<&str> = jwt.split('.').collect();
                match n {
                    0 => parts[..2].join("."),
                    1 => format!("{jwt}.{}", parts[2]),
                    2 => format!("{}..{}", parts[0], parts[2]),
                    3 => jwt[..jwt.len() / 2].to_owned(),
                    4 => format!("{jwt}{}", "A".repeat(100_000)),
                    _ => format!("{}.{}", parts[1], parts[0]),
                }
            }
            _ => jwt,
        }
    };
    let http = no_redirects();
    let send = |assertion: String| {
        let (http, url) = (&http, &token_endpoint);
        async move {
            let res = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The unspoiled assertion works: the harness would otherwise test nothing.
    let (status, body) = send(make(None)).await;
    assert_eq!(status, 200, "{body}");
    check(600, spoil(), |spoil| {
        let assertion = make(Some(&spoil));
        let send = &send;
        async move {
            let (status, body) = send(assertion).await;
            // A spoiled claim may by chance still be acceptable (a number exp in the next
            // hour); everything else must be refused.
            let harmless = match &spoil {
                Spoil::Claim("exp", Some(v)) => v.as_f64().is_some_and(|e| {
                    let now = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as f64;
                    e.trunc() > now && e <= now + 3600.0
                }),
                Spoil::Claim("jti", Some(Value::String(_))) => true,
                _ => false,
            };
            prop_assert!(status < 500, "{status} {body} for {spoil:?}");
            // A form over the token endpoint's 64 KiB is refused whole, as too large.
            let oversized = matches!(spoil, Spoil::Segments(4));
            if oversized {
                prop_assert!(status == 413 || status == 401, "{status} for {spoil:?}");
            } else if !harmless {
                prop_assert_eq!(status, 401, "{} for {:?}", body, spoil);
                prop_assert_eq!(body["error"].as_str(), Some("invalid_client"));
            }
            Ok(())
        }
    });
}
