//! The SMS gateway client against a real HTTP server on loopback (`sms_gateway.py`, see
//! `sekisho_testkit::SmsGatewayDouble`), and the development outbox.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use sekisho_core::{FakeClock, TEST_EPOCH};
use sekisho_notify::sms::{DEFAULT_BODY_TEMPLATE, DEFAULT_CONTENT_TYPE};
use sekisho_notify::{HttpSmsSettings, SmsError, SmsGateway};
use sekisho_testkit::{target_dir, unique_name, SmsGatewayDouble};

const TO: &str = "+819012345678";
/// Japanese, quotes, a backslash, a newline, `&` and `+`: everything a body encoding can get wrong.
const TEXT: &str = "【OTクラウド】認証コード \"123456\" \\ を入力してください\n& +10分";

fn json_settings(url: String) -> HttpSmsSettings {
    HttpSmsSettings {
        url,
        authorization: Some("Bearer sms-t0ken".into()),
        body_template: DEFAULT_BODY_TEMPLATE.into(),
        content_type: DEFAULT_CONTENT_TYPE.into(),
    }
}

// REQ-SMS-1 REQ-2FA-9: the code reaches the gateway as the operator configured it: a JSON body with the
// number and the text exactly, escaped, with the gateway's credentials.
#[tokio::test]
async fn json_body_carries_number_and_text_exactly_with_the_authorization() {
    let double = SmsGatewayDouble::start().unwrap();
    let gateway = SmsGateway::http(json_settings(double.url())).unwrap();
    assert!(!gateway.is_outbox());

    gateway.send(TO, TEXT).await.unwrap();

    let requests = double.requests().unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/messages");
    assert_eq!(request.authorization.as_deref(), Some("Bearer sms-t0ken"));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let body = request.json().unwrap();
    assert_eq!(body, serde_json::json!({ "to": TO, "text": TEXT }));
}

// REQ-2FA-9: no Authorization header when none is configured.
#[tokio::test]
async fn no_authorization_is_sent_when_none_is_configured() {
    let double = SmsGatewayDouble::start().unwrap();
    let gateway = SmsGateway::from_settings(
        &double.url(),
        &"".into(),
        DEFAULT_BODY_TEMPLATE,
        DEFAULT_CONTENT_TYPE,
        &target_dir(),
        Arc::new(FakeClock::new(TEST_EPOCH)),
    )
    .unwrap();
    gateway.send(TO, "123456").await.unwrap();
    let requests = double.requests().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].authorization, None);
}

// REQ-SMS-1 REQ-2FA-9: a gateway that takes a form body: the template URL-encodes, nothing is JSON-escaped.
#[tokio::test]
async fn form_encoded_template_works() {
    let double = SmsGatewayDouble::start().unwrap();
    let gateway = SmsGateway::http(HttpSmsSettings {
        url: double.url(),
        authorization: Some("Basic dXNlcjpwYXNz".into()),
        body_template: "From=Sekisho&To={{ to|urlencode }}&Body={{ text|urlencode }}".into(),
        content_type: "application/x-www-form-urlencoded".into(),
    })
    .unwrap();

    gateway.send(TO, TEXT).await.unwrap();

    let requests = double.requests().unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.authorization.as_deref(), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    // Decoded by Python's parse_qsl: an independent reading of the encoding.
    assert_eq!(
        request.form.as_deref(),
        Some(
            &[
                ("From".to_owned(), "Sekisho".to_owned()),
                ("To".to_owned(), TO.to_owned()),
                ("Body".to_owned(), TEXT.to_owned()),
            ][..]
        )
    );
}

// REQ-2FA-3: a gateway that refuses is an error the caller sees, with the status; and the
// double's status applies to later requests only.
#[tokio::test]
async fn a_500_answer_is_rejected_with_its_status() {
    let double = SmsGatewayDouble::start().unwrap();
    let gateway = SmsGateway::http(json_settings(double.url())).unwrap();

    double.respond_with(500).unwrap();
    let err = gateway.send(TO, "123456").await.unwrap_err();
    assert!(matches!(err, SmsError::Rejected { status: 500 }), "{err:?}");
    assert!(!err.to_string().contains("123456"), "{err}");

    double.respond_with(200).unwrap();
    gateway.send(TO, "654321").await.unwrap();
    assert_eq!(
        double.requests().unwrap().len(),
        2,
        "both reached the gateway"
    );
}

// REQ-2FA-3: nothing listening is `Unreachable`, not a hang and not a panic.
#[tokio::test]
async fn an_unreachable_gateway_is_unreachable() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let gateway = SmsGateway::http(json_settings(format!(
        "http://127.0.0.1:{port}/messages?key=s3cret"
    )))
    .unwrap();
    let err = gateway.send(TO, "123456").await.unwrap_err();
    let SmsError::Unreachable(reason) = &err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert!(!reason.is_empty());
    assert!(
        !reason.contains("s3cret") && !reason.contains("123456"),
        "{reason}"
    );
}

// REQ-2FA-9: a template mistake stops start-up with a message naming the setting, instead of
// failing every code later.
#[test]
fn a_bad_template_is_refused_at_construction() {
    for template in ["{\"to\": {{ to }", "{{ to }} {{ texte }}"] {
        let mut settings = json_settings("https://sms.example/messages".into());
        settings.body_template = template.into();
        let err = SmsGateway::http(settings).unwrap_err();
        match &err {
            SmsError::Config(message) => assert!(message.contains("sms_gateway_body"), "{message}"),
            other => panic!("{template}: expected Config, got {other:?}"),
        }
    }
}

// REQ-2FA-3: a number that is not E.164 is refused before anything is sent.
#[tokio::test]
async fn a_number_that_is_not_e164_is_refused() {
    let double = SmsGatewayDouble::start().unwrap();
    let gateway = SmsGateway::http(json_settings(double.url())).unwrap();
    let err = gateway.send("090-1234-5678", "123456").await.unwrap_err();
    assert!(matches!(err, SmsError::InvalidNumber(_)), "{err:?}");
    assert!(double.requests().unwrap().is_empty());
}

// REQ-SMS-1 REQ-2FA-3 (development): with no gateway URL each message is a JSON file in the outbox folder,
// created when missing; names sort in sending order.
#[tokio::test]
async fn the_outbox_writes_one_file_per_message_with_to_and_text() {
    let dir: PathBuf = target_dir()
        .join("test-sms-outbox")
        .join(unique_name("outbox"))
        .join("not-yet-created");
    let clock = Arc::new(FakeClock::new(TEST_EPOCH));
    let gateway = SmsGateway::from_settings(
        "",
        &"".into(),
        DEFAULT_BODY_TEMPLATE,
        DEFAULT_CONTENT_TYPE,
        &dir,
        clock,
    )
    .unwrap();
    assert!(gateway.is_outbox());

    gateway.send(TO, TEXT).await.unwrap();
    gateway.send("+14155550123", "second").await.unwrap();

    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names
        .iter()
        .all(|p| p.extension().is_some_and(|e| e == "json")));
    let read = |p: &PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    assert_eq!(
        read(&names[0]),
        serde_json::json!({ "to": TO, "text": TEXT })
    );
    assert_eq!(
        read(&names[1]),
        serde_json::json!({ "to": "+14155550123", "text": "second" })
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&names[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the file holds a code: owner only");
    }
}
