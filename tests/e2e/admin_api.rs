//! The admin REST API (issue 6 item 6), driven by its OpenAPI description: the test reads
//! `/{brand}/api/v1/openapi.json`, calls operations by their `operationId` at the method and path
//! the description gives, checks every answer against the responses and schemas it documents, and
//! ends by asserting that every documented operation succeeded at least once. Auth failures are
//! checked for every operation too: no token (401), a token without the documented scope (403),
//! and for the user operations another contract's user (404) and a plain user's own session (403).
//! Effects are checked where a person would see them: the SMTP sink, userinfo, the login page and
//! the token endpoint.

use crate::support::{error_code, post_basic, redeem, userinfo_status, VERIFIER};
use reqwest::Method;
use sekisho_core::model::{ContractState, Plan, Role};
use sekisho_core::oauth::GrantType;
use sekisho_crypto::tokens::pkce_s256;
use sekisho_e2e::{query, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use url::Url;

pub(crate) const ADMIN: &str = "sekisho:admin";
const OPERATOR: &str = "sekisho:operator";

/// One documented operation.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    /// Relative to the server URL, with `{name}` parameters.
    path: String,
    /// The scope its security requirement names.
    scope: String,
    /// The documented answers, by status.
    responses: Value,
}

/// An answer, checked against the description.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    challenge: Option<String>,
    pub(crate) location: Option<String>,
}

/// The API as its description presents it, and which operations have succeeded.
pub(crate) struct Api {
    http: reqwest::Client,
    pub(crate) doc: Value,
    server: String,
    ops: BTreeMap<String, Operation>,
    succeeded: BTreeSet<String>,
}

impl Api {
    /// Reads the description (public, like discovery) and lists its operations.
    pub(crate) async fn load(app: &TestApp) -> Self {
        let http = reqwest::Client::new();
        let res = http
            .get(format!("{}/api/v1/openapi.json", app.issuer()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let doc: Value = res.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
        let server = doc["servers"][0]["url"].as_str().unwrap().to_owned();
        assert_eq!(server, format!("{}/api/v1", app.issuer()));
        let scheme = &doc["components"]["securitySchemes"]["sekisho"];
        assert_eq!(
            scheme["flows"]["clientCredentials"]["tokenUrl"],
            json!(format!("{}/token", app.issuer()))
        );
        let mut ops = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().expect("operationId").to_owned();
                let security = op["security"].as_array().expect("a security requirement");
                assert_eq!(security.len(), 1, "{id}: one requirement");
                let scopes = security[0]["sekisho"]
                    .as_array()
                    .expect("the bearer scheme");
                assert_eq!(scopes.len(), 1, "{id}");
                let scope = scopes[0].as_str().unwrap().to_owned();
                assert!(
                    scheme["flows"]["clientCredentials"]["scopes"][&scope].is_string(),
                    "{id}: scope {scope} is described"
                );
                for status in ["401", "403"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{id} documents {status}"
                    );
                }
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let operation = Operation {
                    method,
                    path: path.clone(),
                    scope,
                    responses: op["responses"].clone(),
                };
                assert!(ops.insert(id.clone(), operation).is_none(), "{id} twice");
            }
        }
        Self {
            http,
            doc,
            server,
            ops,
            succeeded: BTreeSet::new(),
        }
    }

    fn op(&self, id: &str) -> &Operation {
        self.ops
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the description"))
    }

    /// Calls `id` with path parameters, an optional bearer token and an optional JSON body;
    /// asserts the answer's status is documented and its body matches the documented schema.
    pub(crate) async fn call(
        &mut self,
        id: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let op = self.op(id).clone();
        let mut path = op.path.clone();
        for (k, v) in params {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        assert!(!path.contains('{'), "{id}: parameters missing in {path}");
        let mut req = self
            .http
            .request(op.method.clone(), format!("{}{path}", self.server));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (challenge, location) = (header("www-authenticate"), header("location"));
        let text = res.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{id}: not JSON: {text}"))
        };
        let documented = &op.responses[status.to_string()];
        assert!(
            documented.is_object(),
            "{id} answered {status}, which the description does not list: {body}"
        );
        match documented["content"]["application/json"]["schema"].clone() {
            Value::Null => assert!(body.is_null(), "{id} {status}: no body documented"),
            schema => self.conforms(&schema, &body, &format!("{id} {status}")),
        }
        if (200..300).contains(&status) {
            self.succeeded.insert(id.to_owned());
        }
        Answer {
            status,
            body,
            challenge,
            location,
        }
    }

    /// A small JSON Schema check: `$ref`, types, `required`, `enum`, array items.
    fn conforms(&self, schema: &Value, v: &Value, at: &str) {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = self.doc["components"]["schemas"][name].clone();
            assert!(target.is_object(), "{at}: unknown schema {r}");
            return self.conforms(&target, v, at);
        }
        if let Some(values) = schema["enum"].as_array() {
            assert!(values.contains(v), "{at}: {v} is not one of {values:?}");
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        });
        assert!(ok, "{at}: {v} is not {types:?}");
        if let Some(items) = v.as_array() {
            for (i, item) in items.iter().enumerate() {
                self.conforms(&schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        if let Some(obj) = v.as_object() {
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap();
                assert!(obj.contains_key(key), "{at}: {key} is required: {v}");
            }
            for (key, value) in obj {
                let prop = &schema["properties"][key];
                if prop.is_object() {
                    self.conforms(prop, value, &format!("{at}.{key}"));
                }
            }
        }
    }

    /// Values for every path parameter an operation has.
    fn params_for<'a>(&self, id: &str, values: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let path = &self.op(id).path;
        values
            .iter()
            .filter(|(k, _)| path.contains(&format!("{{{k}}}")))
            .copied()
            .collect()
    }
}

/// A valid body for each operation that takes one (the checks below fail before it is read).
fn sample_body(id: &str) -> Option<Value> {
    match id {
        "inviteUser" => Some(json!({ "email": "sample@example.jp", "role": "user" })),
        "sendEmailChange" => Some(json!({ "new_email": "sample-new@example.jp" })),
        "setUserRole" => Some(json!({ "role": "admin" })),
        "setUserEnabled" => Some(json!({ "enabled": false })),
        "createBrand" => Some(json!({ "code": "VX9", "name": "x" })),
        "createClient" => Some(json!({ "client_name": "x", "redirect_uris": [REDIRECT_URI] })),
        "setResourceServer" => Some(json!({ "resource_server": true })),
        "addLine" => Some(json!({ "number": "CAF0123456789" })),
        "setAccessRoute" => Some(json!({ "access_route": "line_only" })),
        _ => None,
    }
}

/// A `client_credentials` access token for the client.
pub(crate) async fn client_token(app: &TestApp, id: &str, secret: &str) -> String {
    let (status, body) = post_basic(
        app,
        "token",
        id,
        secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A client that may use `client_credentials` with `scope`, bound to `contract` if given.
pub(crate) async fn service_client(
    app: &TestApp,
    scope: &str,
    contract: Option<&str>,
) -> (String, String) {
    let c = app
        .client(|c| {
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
            c.grant_types = vec![GrantType::ClientCredentials];
            c.scope = Some(scope.into());
            c.contract_id = contract.map(String::from);
        })
        .await;
    (c.client_id, c.client_secret.unwrap())
}

/// Logs `email` in through `client_id` asking for `scope`; returns the token response.
async fn session_tokens(
    app: &TestApp,
    (id, secret): (&str, &str),
    email: &str,
    scope: &str,
) -> Value {
    let mut url = Url::parse(&format!("{}/authorize", app.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", "st")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &pkce_s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let back = Browser::new()
        .login(&app.base, url.as_str(), email, PASSWORD)
        .await
        .unwrap();
    let code = query(&back).get("code").cloned().expect("a code");
    let (status, tokens) = redeem(app, id, secret, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn scopes(tokens: &Value) -> Vec<&str> {
    tokens["scope"].as_str().unwrap().split(' ').collect()
}

pub(crate) async fn add_user(app: &TestApp, contract: &str, email: &str, role: Role) -> String {
    sekisho::admin::add_user(&app.op, contract, email, PASSWORD, role, "テスト")
        .await
        .unwrap()
}

/// The subjects of the mails the sink received for `to`.
async fn subjects_to(app: &TestApp, to: &str) -> Vec<String> {
    app.deliver_mail()
        .await
        .into_iter()
        .filter(|m| m.to.contains(to))
        .map(|m| m.subject)
        .collect()
}

// Issue 6 item 6, REQ-USER-1, REQ-USER-4, REQ-USER-6, REQ-USER-7, REQ-OP-6: every documented
// operation, called through the description, does what it says; every one refuses a missing
// token and a token without its scope; the user operations never reach another contract's user.
#[tokio::test]
async fn every_documented_operation_works_through_the_description() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let mut api = Api::load(&app).await;

    // Another contract of the same brand, with a user: never visible to contract A's callers.
    let other = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "別会社",
        "boss@other.example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    let outsider = add_user(
        &app,
        &other.contract_id,
        "outsider@other.example.jp",
        Role::User,
    )
    .await;

    // An integrator's client bound to contract A, and the operator's client.
    let (admin_id, admin_secret) = service_client(&app, ADMIN, Some(&seed.contract_id)).await;
    let admin = client_token(&app, &admin_id, &admin_secret).await;
    let (op_id, op_secret) = service_client(&app, OPERATOR, None).await;
    let operator = client_token(&app, &op_id, &op_secret).await;

    // Auth failures, for every documented operation.
    let ids: Vec<String> = api.ops.keys().cloned().collect();
    for id in &ids {
        let params = api.params_for(
            id,
            &[
                ("user_id", &outsider),
                ("code", BRAND),
                ("client_id", &admin_id),
                ("number", "CAF0123456789"),
            ],
        );
        let body = sample_body(id);
        let a = api.call(id, &params, None, body.clone()).await;
        assert_eq!(
            (a.status, error_code(&a.body)),
            (401, "invalid_token"),
            "{id}"
        );
        assert_eq!(
            a.challenge.as_deref(),
            Some("Bearer realm=\"sekisho\""),
            "{id}"
        );
        let a = api
            .call(id, &params, Some("not-a-token"), body.clone())
            .await;
        assert_eq!(a.status, 401, "{id}");
        assert!(
            a.challenge.unwrap().contains("error=\"invalid_token\""),
            "{id}"
        );
        // A valid token of this brand, but with the other scope.
        let scope = api.op(id).scope.clone();
        let wrong = if scope == ADMIN { &operator } else { &admin };
        let a = api.call(id, &params, Some(wrong), body.clone()).await;
        assert_eq!(
            (a.status, error_code(&a.body)),
            (403, "insufficient_scope"),
            "{id}"
        );
        assert!(a.challenge.unwrap().contains(&format!("scope=\"{scope}\"")));
        // Another contract's user is "not found", whatever the operation.
        if api.op(id).path.contains("{user_id}") {
            let a = api.call(id, &params, Some(&admin), body).await;
            assert_eq!((a.status, error_code(&a.body)), (404, "not_found"), "{id}");
        }
    }
    assert!(
        app.op.store.find_user(&outsider).await.unwrap().is_some(),
        "the other contract's user was not touched"
    );
    assert!(
        subjects_to(&app, "@").await.is_empty(),
        "no refused call sent mail"
    );

    // REQ-USER-1: the contractor's users, and an invitation.
    let a = api.call("listUsers", &[], Some(&admin), None).await;
    assert_eq!(a.status, 200);
    let emails: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec![EMAIL], "only contract A's users");
    let invite = json!({ "email": "hanako@example.jp", "name": "山田 花子", "role": "user" });
    let a = api
        .call("inviteUser", &[], Some(&admin), Some(invite.clone()))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["status"], "invited");
    assert_eq!(a.body["pending"], json!(["invitation"]));
    let hanako = a.body["id"].as_str().unwrap().to_owned();
    assert!(a
        .location
        .unwrap()
        .ends_with(&format!("/api/v1/users/{hanako}")));
    assert_eq!(
        subjects_to(&app, "hanako@example.jp").await,
        vec!["【OTクラウド・ストレージ】利用者登録のご案内"]
    );
    let a = api
        .call("inviteUser", &[], Some(&admin), Some(invite))
        .await;
    assert_eq!((a.status, error_code(&a.body)), (409, "email_taken"));
    let bad = json!({ "email": "not an address", "role": "user" });
    let a = api.call("inviteUser", &[], Some(&admin), Some(bad)).await;
    assert_eq!((a.status, error_code(&a.body)), (400, "invalid_email"));
    let bad = json!({ "email": "x@example.jp", "role": "contractor" });
    let a = api.call("inviteUser", &[], Some(&admin), Some(bad)).await;
    assert_eq!((a.status, error_code(&a.body)), (400, "invalid_role"));
    let a = api
        .call("inviteUser", &[], Some(&admin), Some(json!({ "mail": 1 })))
        .await;
    assert_eq!((a.status, error_code(&a.body)), (400, "invalid_request"));
    let a = api
        .call("getUser", &[("user_id", &hanako)], Some(&admin), None)
        .await;
    assert_eq!(
        (a.status, a.body["email"].as_str()),
        (200, Some("hanako@example.jp"))
    );

    // REQ-USER-4, REQ-USER-7: a login-method-change mail; then no email change while it is pending.
    let jiro = add_user(&app, &seed.contract_id, "jiro@example.jp", Role::User).await;
    let a = api
        .call(
            "sendLoginMethodChange",
            &[("user_id", &jiro)],
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["pending"], json!(["login_method_change"]));
    assert_eq!(
        subjects_to(&app, "jiro@example.jp").await,
        vec!["【OTクラウド・ストレージ】ログイン方法の設定変更"]
    );
    let change = json!({ "new_email": "jiro2@example.jp" });
    let a = api
        .call(
            "sendEmailChange",
            &[("user_id", &jiro)],
            Some(&admin),
            Some(change),
        )
        .await;
    assert_eq!((a.status, error_code(&a.body)), (409, "change_pending"));
    // An invited user has no login method to change yet.
    let a = api
        .call(
            "sendLoginMethodChange",
            &[("user_id", &hanako)],
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((a.status, error_code(&a.body)), (409, "wrong_state"));

    // REQ-USER-6: an email change goes to the new address; a taken address is refused.
    let saburo = add_user(&app, &seed.contract_id, "saburo@example.jp", Role::User).await;
    let taken = json!({ "new_email": EMAIL });
    let a = api
        .call(
            "sendEmailChange",
            &[("user_id", &saburo)],
            Some(&admin),
            Some(taken),
        )
        .await;
    assert_eq!((a.status, error_code(&a.body)), (409, "email_taken"));
    let change = json!({ "new_email": "saburo.new@example.jp" });
    let a = api
        .call(
            "sendEmailChange",
            &[("user_id", &saburo)],
            Some(&admin),
            Some(change),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["pending"], json!(["email_change"]));
    assert_eq!(
        subjects_to(&app, "saburo.new@example.jp").await,
        vec!["【OTクラウド・ストレージ】メールアドレス変更登録"]
    );

    // Roles: a user becomes an admin; the contractor's role never changes.
    let a = api
        .call(
            "setUserRole",
            &[("user_id", &jiro)],
            Some(&admin),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!((a.status, a.body["role"].as_str()), (200, Some("admin")));
    let a = api
        .call(
            "setUserRole",
            &[("user_id", &seed.user_id)],
            Some(&admin),
            Some(json!({ "role": "user" })),
        )
        .await;
    assert_eq!((a.status, error_code(&a.body)), (403, "forbidden"));

    // Disable: the user's access token stops at userinfo; enable: they log in again.
    let rp = (
        seed.client.client_id.as_str(),
        seed.client.client_secret.as_deref().unwrap(),
    );
    let tokens = session_tokens(&app, rp, "saburo@example.jp", "openid").await;
    let saburo_token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &saburo_token).await, 200);
    let off = json!({ "enabled": false });
    let a = api
        .call(
            "setUserEnabled",
            &[("user_id", &saburo)],
            Some(&admin),
            Some(off.clone()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["status"].as_str()),
        (200, Some("disabled"))
    );
    assert_eq!(userinfo_status(&app, &saburo_token).await, 401);
    let a = api
        .call(
            "setUserEnabled",
            &[("user_id", &seed.user_id)],
            Some(&admin),
            Some(off),
        )
        .await;
    assert_eq!(
        (a.status, error_code(&a.body)),
        (403, "forbidden"),
        "not the contractor"
    );
    let on = json!({ "enabled": true });
    let a = api
        .call(
            "setUserEnabled",
            &[("user_id", &saburo)],
            Some(&admin),
            Some(on),
        )
        .await;
    assert_eq!((a.status, a.body["status"].as_str()), (200, Some("active")));
    session_tokens(&app, rp, "saburo@example.jp", "openid").await;

    // Delete: gone from the API, and the login is refused.
    let a = api
        .call("deleteUser", &[("user_id", &saburo)], Some(&admin), None)
        .await;
    assert_eq!((a.status, a.body.clone()), (204, Value::Null));
    let a = api
        .call("getUser", &[("user_id", &saburo)], Some(&admin), None)
        .await;
    assert_eq!(a.status, 404);
    assert_login_refused(&app, rp.0, "saburo@example.jp").await;

    // Operators: brands.
    let a = api.call("listBrands", &[], Some(&operator), None).await;
    assert_eq!((a.status, a.body[0]["code"].as_str()), (200, Some(BRAND)));
    let vx4 = json!({ "code": "VX4", "name": "どこでもBOX" });
    let a = api
        .call("createBrand", &[], Some(&operator), Some(vx4.clone()))
        .await;
    assert_eq!(
        (a.status, a.body["issuer"].clone()),
        (201, json!(format!("{}/VX4", app.base)))
    );
    let a = api
        .call("createBrand", &[], Some(&operator), Some(vx4))
        .await;
    assert_eq!((a.status, error_code(&a.body)), (409, "conflict"));
    let bad = json!({ "code": "vx-4", "name": "x" });
    let a = api
        .call("createBrand", &[], Some(&operator), Some(bad))
        .await;
    assert_eq!((a.status, error_code(&a.body)), (400, "invalid_request"));
    // A token is only good at its own issuer, even for the same deployment.
    let res = reqwest::Client::new()
        .get(format!("{}/VX4/api/v1/brands", app.base))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // REQ-OP-6: operators list and register clients; a client bound to a contract works at the
    // token endpoint and then manages that contract; a secret is shown once.
    let a = api
        .call("listClients", &[("code", BRAND)], Some(&operator), None)
        .await;
    assert_eq!(a.status, 200);
    let listed = a.body.as_array().unwrap();
    let bound = listed
        .iter()
        .find(|c| c["client_id"] == admin_id.as_str())
        .unwrap();
    assert_eq!(bound["contract_id"], json!(seed.contract_id));
    assert!(listed.iter().all(|c| c.get("client_secret").is_none()));
    let new_client = json!({
        "client_name": "Integrator",
        "grant_types": ["client_credentials"],
        "scope": ADMIN,
        "contract_id": seed.contract_id,
    });
    let a = api
        .call(
            "createClient",
            &[("code", BRAND)],
            Some(&operator),
            Some(new_client),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (new_id, new_secret) = (
        a.body["client_id"].as_str().unwrap().to_owned(),
        a.body["client_secret"].as_str().unwrap().to_owned(),
    );
    let integrator = client_token(&app, &new_id, &new_secret).await;
    let a = api.call("listUsers", &[], Some(&integrator), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let stray = json!({ "client_name": "x", "grant_types": ["client_credentials"], "contract_id": "ctr_nope" });
    let a = api
        .call(
            "createClient",
            &[("code", BRAND)],
            Some(&operator),
            Some(stray),
        )
        .await;
    assert_eq!((a.status, error_code(&a.body)), (400, "invalid_request"));
    let fragment = json!({ "client_name": "x", "redirect_uris": ["https://rp.example/cb#x"] });
    let a = api
        .call(
            "createClient",
            &[("code", BRAND)],
            Some(&operator),
            Some(fragment),
        )
        .await;
    assert_eq!(
        (a.status, error_code(&a.body)),
        (400, "invalid_redirect_uri")
    );
    let a = api
        .call("listClients", &[("code", "NOPE")], Some(&operator), None)
        .await;
    assert_eq!(a.status, 404);
    // A client with the scope but bound to no contract manages nobody.
    let unbound =
        json!({ "client_name": "Unbound", "grant_types": ["client_credentials"], "scope": ADMIN });
    let a = api
        .call(
            "createClient",
            &[("code", BRAND)],
            Some(&operator),
            Some(unbound),
        )
        .await;
    let unbound_token = client_token(
        &app,
        a.body["client_id"].as_str().unwrap(),
        a.body["client_secret"].as_str().unwrap(),
    )
    .await;
    let a = api.call("listUsers", &[], Some(&unbound_token), None).await;
    assert_eq!((a.status, error_code(&a.body)), (403, "forbidden"));

    // ISSUE-15: introspection scope — the operator registers a client as a resource server (it
    // may then introspect every token of the brand) and withdraws it; an unknown client is 404.
    for on in [true, false] {
        let a = api
            .call(
                "setResourceServer",
                &[("code", BRAND), ("client_id", &new_id)],
                Some(&operator),
                Some(json!({ "resource_server": on })),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["resource_server"], on);
        assert_eq!(
            app.op
                .store
                .client_is_resource_server(&new_id)
                .await
                .unwrap(),
            on
        );
    }
    let a = api
        .call(
            "setResourceServer",
            &[("code", BRAND), ("client_id", "cli_unknown")],
            Some(&operator),
            Some(json!({ "resource_server": true })),
        )
        .await;
    assert_eq!(a.status, 404);

    // Deleting a client stops it at once: its token here, its secret at the token endpoint.
    let a = api
        .call(
            "deleteClient",
            &[("code", BRAND), ("client_id", &new_id)],
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(a.status, 204);
    let a = api.call("listUsers", &[], Some(&integrator), None).await;
    assert_eq!((a.status, error_code(&a.body)), (401, "invalid_token"));
    let (status, body) = post_basic(
        &app,
        "token",
        &new_id,
        &new_secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));
    let a = api
        .call(
            "deleteClient",
            &[("code", BRAND), ("client_id", &new_id)],
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(a.status, 404);

    // REQ-LINE-1 REQ-LINE-2: the line operations, through the same description.
    crate::line_settings::lines_through_the_description(
        &app,
        &mut api,
        &admin,
        &seed.contract_id,
        &other.contract_id,
    )
    .await;

    // A contract that ends stops its integrator too.
    app.op
        .store
        .set_contract_state(&seed.contract_id, ContractState::Cancelled, app.op.now())
        .await
        .unwrap();
    let a = api.call("listUsers", &[], Some(&admin), None).await;
    assert_eq!((a.status, error_code(&a.body)), (403, "forbidden"));

    // Every operation the description lists was answered with success at least once.
    let documented: BTreeSet<String> = api.ops.keys().cloned().collect();
    assert_eq!(api.succeeded, documented);
}

/// The login page refuses `email` (no code reaches the RP).
async fn assert_login_refused(app: &TestApp, client_id: &str, email: &str) {
    let browser = Browser::new();
    let url = crate::support::authorize_url(app, client_id, &[]);
    let Hop::Page { body, .. } = browser.follow(&app.base, &url).await.unwrap() else {
        panic!("no login page")
    };
    match browser
        .submit_login(&app.base, &body, email, PASSWORD)
        .await
        .unwrap()
    {
        Hop::Page { body, .. } => assert!(
            body.contains("メールアドレスまたはパスワードが正しくありません。"),
            "the login is refused: {body}"
        ),
        Hop::LeftOp(url) => panic!("the deleted user got through to {url}"),
    }
}

// Issue 6 item 6: an admin's own session. Only a client registered for `sekisho:admin` gets the
// scope in a code flow (an ordinary RP asking for it does not); the token then acts as the
// signed-in contractor or admin, and a plain user's session with the scope is still refused.
#[tokio::test]
async fn an_admin_session_token_manages_the_contract_and_a_user_session_does_not() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let mut api = Api::load(&app).await;
    let console = app
        .client(|c| c.scope = Some(format!("openid {ADMIN}")))
        .await;
    let console = (
        console.client_id.as_str(),
        console.client_secret.as_deref().unwrap(),
    );
    let rp = (
        seed.client.client_id.as_str(),
        seed.client.client_secret.as_deref().unwrap(),
    );

    // The contractor through the console: the scope is granted and the API answers.
    let tokens = session_tokens(&app, console, EMAIL, &format!("openid {ADMIN}")).await;
    assert!(scopes(&tokens).contains(&ADMIN), "{tokens}");
    let contractor = tokens["access_token"].as_str().unwrap().to_owned();
    let a = api.call("listUsers", &[], Some(&contractor), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let invite = json!({ "email": "admin2@example.jp", "role": "admin" });
    let a = api
        .call("inviteUser", &[], Some(&contractor), Some(invite))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);

    // An ordinary RP asking for the scope does not get it.
    let tokens = session_tokens(&app, rp, EMAIL, &format!("openid {ADMIN}")).await;
    assert!(!scopes(&tokens).contains(&ADMIN), "{tokens}");
    let a = api
        .call("listUsers", &[], tokens["access_token"].as_str(), None)
        .await;
    assert_eq!((a.status, error_code(&a.body)), (403, "insufficient_scope"));

    // A plain user through the console holds the scope, but is not allowed to manage anyone.
    add_user(&app, &seed.contract_id, "plain@example.jp", Role::User).await;
    let tokens = session_tokens(
        &app,
        console,
        "plain@example.jp",
        &format!("openid {ADMIN}"),
    )
    .await;
    let plain = tokens["access_token"].as_str().unwrap().to_owned();
    let a = api.call("listUsers", &[], Some(&plain), None).await;
    assert_eq!((a.status, error_code(&a.body)), (403, "forbidden"));

    // Made an admin, the same token works: the role is read on every call, not from the token.
    let plain_id = app
        .op
        .store
        .list_users(&seed.contract_id)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email.as_str() == "plain@example.jp")
        .unwrap()
        .id;
    let promote = json!({ "role": "admin" });
    let a = api
        .call(
            "setUserRole",
            &[("user_id", &plain_id)],
            Some(&contractor),
            Some(promote),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = api.call("listUsers", &[], Some(&plain), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Nobody disables or deletes themselves.
    let a = api
        .call("deleteUser", &[("user_id", &plain_id)], Some(&plain), None)
        .await;
    assert_eq!((a.status, error_code(&a.body)), (403, "forbidden"));
}
