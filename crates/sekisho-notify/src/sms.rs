//! SMS for two-step verification codes (REQ-2FA-3, REQ-2FA-9): one HTTP POST to an operator's
//! SMS gateway, or one JSON file per message in a folder (development).
//!
//! Gateways differ in what they want, so the request is configuration, not code: the URL, the
//! full `Authorization` header value, the `Content-Type` and a minijinja template of the body with
//! the variables `to` (E.164, e.g. `+819012345678`) and `text`. With a JSON content type the
//! values are JSON-escaped as they are inserted ([`DEFAULT_BODY_TEMPLATE`]); otherwise nothing
//! is escaped and a form body says `to={{ to|urlencode }}&text={{ text|urlencode }}`.
//!
//! Invariant: the text holds a one-time code: it is never logged, nor is the gateway's answer
//! (gateways echo the text). Logs show the destination with all but its last 4 digits masked,
//! and the gateway as `scheme://host:port` (never the Authorization value, path or query).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use sekisho_core::Clock;
use sekisho_core::Secret;

/// The body for a JSON gateway: `{"to": "+819012345678", "text": "…"}`.
pub const DEFAULT_BODY_TEMPLATE: &str = r#"{"to": {{ to }}, "text": {{ text }}}"#;
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";
/// Longest wait for the gateway's answer, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

const TEMPLATE_NAME: &str = "sms_gateway_body";
/// Values the template is tried with at construction: quotes, `&`, `+` and Japanese, so a JSON
/// template that does not escape is caught before the first real message.
const PROBE_TO: &str = "+810000000000";
const PROBE_TEXT: &str = "確認コード \"123456\" & +";

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Unusable settings (URL, header values, body template); caught at start-up.
    #[error("SMS gateway configuration: {0}")]
    Config(String),
    /// The destination is not `+` and 2 to 15 digits (shown masked).
    #[error("not an E.164 phone number (+ followed by 2 to 15 digits): {0}")]
    InvalidNumber(String),
    /// The gateway answered with a status other than 2xx.
    #[error("the SMS gateway refused the message: HTTP status {status}")]
    Rejected { status: u16 },
    /// No answer: connection refused, DNS, TLS, or no response within [`TIMEOUT`].
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
    /// The body template failed on this message (it rendered fine at construction).
    #[error("rendering the SMS gateway request body: {0}")]
    Template(String),
    #[error("writing to the SMS outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

/// How to talk to an HTTP SMS gateway.
#[derive(Clone)]
pub struct HttpSmsSettings {
    /// `https://…` (or `http://` on a trusted network) that messages are POSTed to.
    pub url: String,
    /// The full `Authorization` header value, e.g. `Bearer abc` or `Basic …`. A secret: never
    /// logged, and `Debug` does not print it.
    pub authorization: Option<Secret<String>>,
    /// minijinja template of the body, with `to` and `text`.
    pub body_template: String,
    /// The request's `Content-Type`; with a JSON type (`application/json`, `…+json`) values are
    /// JSON-escaped.
    pub content_type: String,
}

impl fmt::Debug for HttpSmsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSmsSettings")
            .field("url", &endpoint_of(&self.url))
            .field("authorization", &self.authorization)
            .field("body_template", &self.body_template)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// Where SMS go; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct SmsGateway {
    inner: Arc<Inner>,
}

enum Inner {
    Http(Box<HttpGateway>),
    /// `{dir}/{seconds}-{pid}-{n}.json`, one file per message; the seconds come from the clock.
    Outbox(PathBuf, Arc<dyn Clock>),
}

struct HttpGateway {
    client: reqwest::Client,
    url: reqwest::Url,
    /// `scheme://host:port`, all that logs and `Debug` say about the gateway.
    endpoint: String,
    authorization: Option<HeaderValue>,
    content_type: HeaderValue,
    templates: Environment<'static>,
}

impl SmsGateway {
    /// An HTTP gateway. Refuses (as [`SmsError::Config`]) a URL that is not http(s), header
    /// values that are not valid, and a body template that does not parse or render (with a JSON
    /// content type: does not render to JSON).
    pub fn http(settings: HttpSmsSettings) -> Result<Self, SmsError> {
        let HttpSmsSettings {
            url,
            authorization,
            body_template,
            content_type,
        } = settings;
        let endpoint = endpoint_of(&url);
        let url = reqwest::Url::parse(url.trim())
            .map_err(|e| SmsError::Config(format!("sms_gateway_url {endpoint}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SmsError::Config(format!(
                "sms_gateway_url {endpoint}: must be http:// or https://"
            )));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            tracing::warn!(gateway = %endpoint, "the SMS gateway is plain http: codes and credentials cross the network unencrypted");
        }
        let authorization = match authorization.as_ref().map(|a| a.expose().trim()) {
            None | Some("") => None,
            Some(value) => {
                let mut value = HeaderValue::from_str(value).map_err(|_| {
                    // The value itself is a secret: not in the message.
                    SmsError::Config("sms_gateway_authorization is not a valid header value".into())
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let content_type = content_type.trim();
        if content_type.is_empty() {
            return Err(SmsError::Config("sms_gateway_content_type is empty".into()));
        }
        let json = is_json(content_type);
        let content_type = HeaderValue::from_str(content_type).map_err(|_| {
            SmsError::Config(format!(
                "sms_gateway_content_type {content_type:?} is not a valid header value"
            ))
        })?;
        let templates = body_templates(body_template, json)?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A gateway that redirects a POST is misconfigured; following it could hand the code
            // (and, on the same host, the Authorization header) to another URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner::Http(Box::new(HttpGateway {
                client,
                url,
                endpoint,
                authorization,
                content_type,
                templates,
            }))),
        })
    }

    /// Development: each message written as a JSON file `{"to":…,"text":…}` into `dir` (created
    /// when the first message is written). File names sort by `clock`'s time (to the second),
    /// then by process and sending order, and never repeat.
    pub fn outbox(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner::Outbox(dir.into(), clock)),
        }
    }

    /// The deployment's choice: the HTTP gateway when `url` is set, otherwise the outbox in
    /// `outbox_dir`, named by `clock`'s time (the other settings are then unused). An empty
    /// `authorization` sends none.
    pub fn from_settings(
        url: &str,
        authorization: &Secret<String>,
        body_template: &str,
        content_type: &str,
        outbox_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SmsError> {
        if url.trim().is_empty() {
            return Ok(Self::outbox(outbox_dir, clock));
        }
        Self::http(HttpSmsSettings {
            url: url.to_owned(),
            authorization: Some(authorization.clone()).filter(|a| !a.expose().trim().is_empty()),
            body_template: body_template.to_owned(),
            content_type: content_type.to_owned(),
        })
    }

    pub fn is_outbox(&self) -> bool {
        matches!(*self.inner, Inner::Outbox(..))
    }

    /// Sends `text` to `to` (E.164, e.g. `+819012345678`). Returns once the gateway answered 2xx
    /// (or the file is written).
    pub async fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let sent = self.send_once(to, text).await;
        let outcome = if sent.is_ok() { "sent" } else { "failed" };
        metrics::counter!("sekisho_sms_sends_total", "outcome" => outcome).increment(1);
        sent
    }

    async fn send_once(&self, to: &str, text: &str) -> Result<(), SmsError> {
        if !is_e164(to) {
            return Err(SmsError::InvalidNumber(mask_number(to)));
        }
        match &*self.inner {
            Inner::Http(gateway) => gateway.send(to, text).await,
            Inner::Outbox(dir, clock) => {
                let path = write_outbox(dir, clock.now(), to, text).await?;
                tracing::info!(to = %mask_number(to), file = %path.display(), "SMS written to the outbox (development)");
                Ok(())
            }
        }
    }
}

impl fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Http(g) => f
                .debug_tuple("SmsGateway::Http")
                .field(&g.endpoint)
                .finish(),
            Inner::Outbox(dir, _) => f.debug_tuple("SmsGateway::Outbox").field(dir).finish(),
        }
    }
}

impl HttpGateway {
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let body = render(&self.templates, to, text).map_err(SmsError::Template)?;
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, self.content_type.clone())
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let masked = mask_number(to);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let reason = describe(e);
                tracing::warn!(to = %masked, gateway = %self.endpoint, error = %reason, "SMS gateway unreachable");
                return Err(SmsError::Unreachable(reason));
            }
        };
        // The answer's body is not read: gateways echo the text, which holds the code.
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(to = %masked, gateway = %self.endpoint, status = status.as_u16(), "SMS gateway refused the message");
            return Err(SmsError::Rejected {
                status: status.as_u16(),
            });
        }
        tracing::info!(to = %masked, gateway = %self.endpoint, status = status.as_u16(), "SMS handed to the gateway");
        Ok(())
    }
}

/// The template environment: JSON auto-escape for a JSON body, none otherwise; an undefined
/// variable is an error, so a typo (`{{ phone }}`) is caught by the probe render.
fn body_templates(source: String, json: bool) -> Result<Environment<'static>, SmsError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Decided per template when it is added, so set first.
    env.set_auto_escape_callback(move |_| {
        if json {
            AutoEscape::Json
        } else {
            AutoEscape::None
        }
    });
    env.add_template_owned(TEMPLATE_NAME, source)
        .map_err(|e| SmsError::Config(format!("sms_gateway_body is not a valid template: {e}")))?;
    let probe = render(&env, PROBE_TO, PROBE_TEXT)
        .map_err(|e| SmsError::Config(format!("sms_gateway_body does not render: {e}")))?;
    if json {
        serde_json::from_str::<serde_json::Value>(&probe).map_err(|e| {
            SmsError::Config(format!(
                "sms_gateway_body does not render to JSON ({e}); insert values as {{{{ to }}}} and \
                 {{{{ text }}}} without quotes: they are JSON-escaped and quoted for you"
            ))
        })?;
    }
    Ok(env)
}

fn render(env: &Environment<'static>, to: &str, text: &str) -> Result<String, String> {
    env.get_template(TEMPLATE_NAME)
        .and_then(|t| t.render(minijinja::context! { to, text }))
        .map_err(|e| {
            // minijinja's Display names the problem and its line, never the values.
            let mut message = e.to_string();
            if let Some(detail) = e.detail() {
                if !message.contains(detail) {
                    message = format!("{message}: {detail}");
                }
            }
            message
        })
}

/// `application/json`, `application/json; charset=utf-8`, `application/vnd.x+json`, …
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// `+` then 2 to 15 digits, the first not 0 (ITU-T E.164).
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// `+819012345678` → `+********5678`: a leading `+` stays, the last 4 characters stay when more
/// than 4 follow the `+`, and every other character becomes `*` (so a number is never shown whole).
pub fn mask_number(number: &str) -> String {
    let (plus, rest) = match number.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", number),
    };
    let count = rest.chars().count();
    let keep = if count > 4 { 4 } else { 0 };
    let masked: String = rest
        .chars()
        .enumerate()
        .map(|(i, c)| if i + keep >= count { c } else { '*' })
        .collect();
    format!("{plus}{masked}")
}

/// The error without the URL (its query may hold a key), with its causes: reqwest's own text
/// is only "error sending request".
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host:port` of a URL: tells gateways apart without credentials, path or query.
fn endpoint_of(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

/// Writes through a temporary name and renames, so a reader never sees half a message. The file
/// holds a live code: readable by the owner only. `now` is the clock's time (seconds).
async fn write_outbox(
    dir: &Path,
    now: sekisho_core::Timestamp,
    to: &str,
    text: &str,
) -> Result<PathBuf, SmsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Fixed widths, so names sort by time as text; pid and counter make them unique (and keep
    // one process's messages of the same second in sending order).
    let name = format!("{now:020}-{:010}-{n:08}.json", std::process::id());
    let bytes = serde_json::to_vec(&serde_json::json!({ "to": to, "text": text }))
        .map_err(std::io::Error::other)?;
    let dir = dir.to_path_buf();
    let path = tokio::task::spawn_blocking(move || -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        write_private(&tmp, &bytes)?;
        let path = dir.join(&name);
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(template: &str, content_type: &str) -> HttpSmsSettings {
        HttpSmsSettings {
            url: "https://sms.example/v1/messages?key=s3cret".into(),
            authorization: Some("Bearer t0ken".into()),
            body_template: template.into(),
            content_type: content_type.into(),
        }
    }

    #[test]
    fn numbers_are_masked_but_the_last_four_digits() {
        assert_eq!(mask_number("+819012345678"), "+********5678");
        assert_eq!(mask_number("090-1234-5678"), "*********5678");
        assert_eq!(mask_number("+81901"), "+*1901");
        // Never a whole number, however short.
        assert_eq!(mask_number("+1234"), "+****");
        assert_eq!(mask_number("1234"), "****");
        assert_eq!(mask_number("+"), "+");
        assert_eq!(mask_number(""), "");
    }

    #[test]
    fn only_e164_numbers_are_sent() {
        assert!(is_e164("+819012345678"));
        assert!(is_e164("+12"));
        for bad in [
            "09012345678",
            "+",
            "+0123",
            "+81 90 1234 5678",
            "+8190123456789012",
            "+81-90",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.gateway+json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn debug_shows_neither_the_authorization_nor_the_query() {
        let s = settings(DEFAULT_BODY_TEMPLATE, DEFAULT_CONTENT_TYPE);
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("t0ken") && !shown.contains("s3cret"),
            "{shown}"
        );
        let gateway = SmsGateway::http(s).unwrap();
        let shown = format!("{gateway:?}");
        assert!(
            !shown.contains("t0ken") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("https://sms.example"), "{shown}");
    }

    #[test]
    fn the_default_template_escapes_json() {
        let env = body_templates(DEFAULT_BODY_TEMPLATE.into(), true).unwrap();
        let body = render(&env, "+819012345678", "コード \"1\"\n</script>").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "+819012345678");
        assert_eq!(v["text"], "コード \"1\"\n</script>");
    }

    #[test]
    fn templates_that_cannot_work_are_config_errors() {
        for (template, content_type) in [
            ("{{ to ", DEFAULT_CONTENT_TYPE),
            ("{{ phone }}", "text/plain"),
            ("{{ to|no_such_filter }}", "text/plain"),
            // Quoted by hand: the escaped value comes with its own quotes.
            (r#"{"to": "{{ to }}"}"#, DEFAULT_CONTENT_TYPE),
        ] {
            let e = SmsGateway::http(settings(template, content_type)).unwrap_err();
            assert!(
                matches!(&e, SmsError::Config(m) if m.contains("sms_gateway_body")),
                "{template}: {e}"
            );
        }
    }

    #[test]
    fn other_settings_are_checked_too() {
        let mut s = settings(DEFAULT_BODY_TEMPLATE, DEFAULT_CONTENT_TYPE);
        s.url = "ftp://sms.example".into();
        assert!(matches!(SmsGateway::http(s), Err(SmsError::Config(_))));
        let mut s = settings(DEFAULT_BODY_TEMPLATE, DEFAULT_CONTENT_TYPE);
        s.authorization = Some("Bearer a\nb".into());
        let e = SmsGateway::http(s).unwrap_err();
        assert!(!e.to_string().contains("Bearer"), "{e}");
        let s = settings(DEFAULT_BODY_TEMPLATE, " ");
        assert!(matches!(SmsGateway::http(s), Err(SmsError::Config(_))));
    }

    #[test]
    fn empty_url_means_the_outbox() {
        let clock = || Arc::new(sekisho_core::FakeClock::new(sekisho_core::TEST_EPOCH));
        let none = Secret::default();
        let g = SmsGateway::from_settings(" ", &none, "{{", "", Path::new("sms-outbox"), clock())
            .unwrap();
        assert!(g.is_outbox());
        let g = SmsGateway::from_settings(
            "https://sms.example/send",
            &none,
            DEFAULT_BODY_TEMPLATE,
            DEFAULT_CONTENT_TYPE,
            Path::new("sms-outbox"),
            clock(),
        )
        .unwrap();
        assert!(!g.is_outbox());
    }

    #[test]
    fn endpoints_hide_credentials_path_and_query() {
        assert_eq!(
            endpoint_of("https://user:pw@sms.example:8443/a/b?key=x"),
            "https://sms.example:8443"
        );
    }
}
