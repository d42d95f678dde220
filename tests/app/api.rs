//! The JSON API: the seeds' endpoints, the admin API, errors, and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::oidc::{ClientSpec, TestClient};
use crate::helpers::totp::code_at;
use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app};

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new().post(app.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req =
        reqwest::Client::new().request(method, app.url(path)).bearer_auth(token).header("accept", "application/json");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn api_login(app: &TestApp, username: &str) -> Value {
    let (status, tokens) = post(app, "/login", json!({"username": username, "password": PASSWORD})).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn api_user(app: &TestApp, username: &str) -> String {
    let (status, _) = post(
        app,
        "/register",
        json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 201);
    api_login(app, username).await["access_token"].as_str().unwrap().to_string()
}

async fn make_admin(app: &TestApp, username: &str) {
    let id = portcullis::identity::user::UserId::parse(&app.user_id(username).await).unwrap();
    let changes = portcullis::identity::admin::AdminChanges { is_admin: Some(true), ..Default::default() };
    app.state.accounts.admin_update(&portcullis::audit::Actor::Cli, id, changes).await.unwrap();
}

db_test!(
    async fn register_login_profile_logout_round_trip(backend) {
        let app = spawn_app(backend).await;
        let (status, body) = post(&app, "/register", json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD, "display_name": "Alice"})).await;
        assert_eq!(status, 201);
        assert!(body.get("password").is_none() && body.get("password_hash").is_none());
        let tokens = api_login(&app, "alice").await;
        assert_eq!(tokens["token_type"], "Bearer");
        let access = tokens["access_token"].as_str().unwrap();
        let (status, me) = call(&app, reqwest::Method::GET, "/profile", access, None).await;
        assert_eq!((status, me["username"].as_str(), me["display_name"].as_str()), (StatusCode::OK, Some("alice"), Some("Alice")));
        assert!(me.get("password_hash").is_none());
        assert_eq!(app.userinfo_status(access).await, 200, "the API token works at userinfo too");

        let (status, me) = call(&app, reqwest::Method::PUT, "/profile", access, Some(json!({"display_name": "Alice L."}))).await;
        assert_eq!((status, me["display_name"].as_str()), (StatusCode::OK, Some("Alice L.")));
        let (status, err) = call(&app, reqwest::Method::PUT, "/profile", access, Some(json!({"email": "new@example.com"}))).await;
        assert_eq!((status, err["errors"]["current_password"].is_string()), (StatusCode::BAD_REQUEST, true));

        let refresh = tokens["refresh_token"].as_str().unwrap();
        let res = reqwest::Client::new()
            .post(app.url("/logout"))
            .bearer_auth(access)
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(call(&app, reqwest::Method::GET, "/profile", access, None).await.0, 401, "revoked with its grant");
        let api_client = TestClient { id: "portcullis-api".into(), secret: None };
        assert_eq!(app.refresh(&api_client, refresh).await.0, 400, "the refresh token is revoked");
    }
);

db_test!(
    async fn wrong_credentials_are_one_generic_401_and_a_duplicate_email_looks_like_success(backend) {
        let app = spawn_app(backend).await;
        api_user(&app, "alice").await;
        let (s1, b1) = post(&app, "/login", json!({"username": "alice", "password": "wrong password"})).await;
        let (s2, b2) = post(&app, "/login", json!({"username": "nobody", "password": PASSWORD})).await;
        assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
        assert_eq!((b1["code"].clone(), b1["detail"].clone()), (b2["code"].clone(), b2["detail"].clone()));

        let fresh = post(&app, "/register", json!({"username": "newbie", "email": "newbie@example.com", "password": PASSWORD})).await;
        let taken = post(&app, "/register", json!({"username": "other", "email": "ALICE@example.com", "password": PASSWORD})).await;
        assert_eq!(fresh.0, taken.0, "the same status");
        let strip = |v: &Value| {
            let mut v = v.clone();
            v["username"] = json!("");
            v["email"] = json!("");
            v
        };
        assert_eq!(strip(&fresh.1), strip(&taken.1), "and the same body apart from what was sent");
        let (status, body) = post(&app, "/register", json!({"username": "alice", "email": "x@example.com", "password": PASSWORD})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("username_taken")));
    }
);

db_test!(
    async fn json_login_with_2fa_needs_the_second_step(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let enrolled = app.enrol(&browser, PASSWORD).await;
        let (status, first) = post(&app, "/login", json!({"email": "alice@example.com", "password": PASSWORD})).await;
        assert_eq!((status, first["mfa_required"].as_bool()), (StatusCode::OK, Some(true)));
        assert!(first.get("access_token").is_none(), "no token before the second factor");
        let ticket = first["mfa_token"].as_str().unwrap();
        assert_eq!(app.userinfo_status(ticket).await, 401, "the ticket is not an access token");
        assert_eq!(post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": "000000"})).await.0, 401);
        app.clock.advance(time::Duration::seconds(30));
        let (status, tokens) = post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": code_at(&enrolled.secret, app.now())})).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(app.userinfo_status(tokens["access_token"].as_str().unwrap()).await, 200);
    }
);

db_test!(
    async fn seed_two_auth_login_opens_a_browser_session(backend) {
        let app = spawn_app(backend).await;
        let (status, _) = post(&app, "/auth/register", json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD})).await;
        assert_eq!(status, 201);
        let browser = app.browser();
        let res = browser.client.post(app.url("/auth/login")).json(&json!({"username": "alice", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("set-cookie").is_some());
        assert!(res.json::<Value>().await.unwrap()["access_token"].is_string());
        assert_eq!(browser.get("/profile").await.status(), 200, "the hosted profile opens with that cookie");
        let res = browser.client.post(app.url("/auth/logout")).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(browser.get("/profile").await.status(), 303, "and /auth/logout ends it");
        let (status, body) = post(&app, "/auth/reset_password_request", json!({"email": "nobody@example.com"})).await;
        assert_eq!((status, body["detail"].is_string()), (StatusCode::ACCEPTED, true));
    }
);

db_test!(
    async fn the_admin_api_needs_an_admin(backend) {
        let app = spawn_app(backend).await;
        let user_token = api_user(&app, "alice").await;
        let res = reqwest::Client::new().get(app.url("/users")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers().get("www-authenticate").is_some());
        let (status, _) = call(&app, reqwest::Method::GET, "/users", &user_token, None).await;
        assert_eq!(status, 403);
        make_admin(&app, "alice").await;
        let (status, page) = call(&app, reqwest::Method::GET, "/users", &user_token, None).await;
        assert_eq!(status, 200, "admin rights are checked per request, not from the token");
        assert!(page["users"][0].get("password_hash").is_none());

        let svc = app.client("ops", ClientSpec { grants: &["client_credentials"], scopes: &["admin"], api_access: true, ..Default::default() }).await;
        let res = app.token_request("/token", &svc, &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
        let token = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
        assert_eq!(call(&app, reqwest::Method::GET, "/users", &token, None).await.0, 200, "a client with the admin scope");
        let plain = app.client("plain", ClientSpec { grants: &["client_credentials"], scopes: &["reports"], ..Default::default() }).await;
        let res = app.token_request("/token", &plain, &[("grant_type", "client_credentials")]).await;
        let token = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
        assert_eq!(call(&app, reqwest::Method::GET, "/users", &token, None).await.0, 403);
    }
);

db_test!(
    async fn listing_pages_and_searches_safely(backend) {
        let app = spawn_app(backend).await;
        let token = api_user(&app, "admin").await;
        make_admin(&app, "admin").await;
        for name in ["ann_a", "ann-b", "bob_c"] {
            post(&app, "/register", json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD})).await;
        }
        let (_, page) = call(&app, reqwest::Method::GET, "/users?limit=1000", &token, None).await;
        assert_eq!(page["limit"], 100, "the limit is capped");
        let (_, page) = call(&app, reqwest::Method::GET, "/users?limit=2&offset=0", &token, None).await;
        assert_eq!((page["users"].as_array().unwrap().len(), page["next_offset"].as_i64()), (2, Some(2)));
        let (_, page) = call(&app, reqwest::Method::GET, "/users?q=ann", &token, None).await;
        assert_eq!(page["users"].as_array().unwrap().len(), 2);
        let (_, page) = call(&app, reqwest::Method::GET, "/users?q=_", &token, None).await;
        let names: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(names, ["ann_a", "bob_c"], "`_` matches itself, not any character");
        let (_, page) = call(&app, reqwest::Method::GET, "/users?q=%25", &token, None).await;
        assert!(page["users"].as_array().unwrap().is_empty(), "`%` matches itself");
        let (status, _) = call(&app, reqwest::Method::GET, "/users?limit=lots", &token, None).await;
        assert_eq!(status, 400);
    }
);

db_test!(
    async fn disabling_and_deleting_end_everything_and_a_new_account_gets_a_new_sub(backend) {
        let app = spawn_app(backend).await;
        let admin = api_user(&app, "admin").await;
        make_admin(&app, "admin").await;
        let victim = api_user(&app, "alice").await;
        let browser = app.browser();
        browser.login("alice", PASSWORD).await;
        let id = app.user_id("alice").await;

        let (status, user) = call(&app, reqwest::Method::PUT, &format!("/users/{id}"), &admin, Some(json!({"disabled": true}))).await;
        assert_eq!((status, user["disabled"].as_bool()), (StatusCode::OK, Some(true)));
        assert_eq!(call(&app, reqwest::Method::GET, "/profile", &victim, None).await.0, 401, "tokens end");
        assert_eq!(browser.get("/profile").await.status(), 303, "sessions end");
        assert_eq!(post(&app, "/login", json!({"username": "alice", "password": PASSWORD})).await.0, 401);

        let (status, _) = call(&app, reqwest::Method::PUT, &format!("/users/{id}"), &admin, Some(json!({"password_hash": "x"}))).await;
        assert_eq!(status, 400, "never the password hash");
        assert_eq!(call(&app, reqwest::Method::DELETE, &format!("/users/{id}"), &admin, None).await.0, 204);
        assert_eq!(call(&app, reqwest::Method::GET, &format!("/users/{id}"), &admin, None).await.0, 404);
        assert_eq!(app.count(&format!("sessions WHERE user_id = '{id}'")).await, 0);
        api_user(&app, "alice").await;
        assert_ne!(app.user_id("alice").await, id, "a new account, a new sub");
    }
);

db_test!(
    async fn mass_assignment_and_malformed_bodies_are_refused_with_problem_details(backend) {
        let app = spawn_app(backend).await;
        let token = api_user(&app, "alice").await;
        for field in ["role", "is_admin", "email_verified", "id", "totp_secret"] {
            let mut body = json!({"username": "mallory", "email": "m@example.com", "password": PASSWORD});
            body[field] = json!(true);
            let (status, problem) = post(&app, "/register", body).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("forbidden_field")), "{field}");
            assert!(problem["errors"][field].is_string(), "{field} is named");
            let (status, problem) = call(&app, reqwest::Method::PUT, "/profile", &token, Some(json!({ field: true }))).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("forbidden_field")), "profile {field}");
        }
        assert_eq!(app.count("users WHERE username = 'mallory'").await, 0);

        let raw = |body: Vec<u8>, content_type: &'static str| {
            reqwest::Client::new().post(app.url("/auth/register")).header("content-type", content_type).body(body).send()
        };
        let cases: Vec<(&str, reqwest::Response, u16)> = vec![
            ("malformed", raw(b"{\"username\":".to_vec(), "application/json").await.unwrap(), 400),
            ("wrong type", raw(br#"{"username":1,"email":"a@b.co","password":"x"}"#.to_vec(), "application/json").await.unwrap(), 400),
            ("unknown field", raw(br#"{"username":"a","email":"a@b.co","password":"x","foo":1}"#.to_vec(), "application/json").await.unwrap(), 400),
            ("invalid UTF-8", raw(b"{\"username\":\"\xff\"}".to_vec(), "application/json").await.unwrap(), 400),
            ("oversized", raw(vec![b' '; 70 * 1024], "application/json").await.unwrap(), 413),
            ("not JSON", raw(b"username=a".to_vec(), "text/plain").await.unwrap(), 415),
        ];
        for (case, res, status) in cases {
            assert_eq!(res.status().as_u16(), status, "{case}");
            assert_eq!(res.headers()["content-type"], "application/problem+json", "{case}");
            let problem: Value = res.json().await.unwrap();
            assert!(problem["code"].is_string() && problem["status"] == status, "{case}: {problem}");
        }
    }
);

db_test!(
    async fn a_password_reset_through_the_json_api(backend) {
        let app = spawn_app(backend).await;
        api_user(&app, "alice").await;
        let (status, _) = post(&app, "/reset-password", json!({"email": "alice@example.com"})).await;
        assert_eq!(status, 202);
        let body = app.mail_text("Reset your password").await;
        let token = body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        let (status, problem) = post(&app, "/reset-password/confirm", json!({"token": token, "new_password": "password"})).await;
        assert_eq!((status, problem["errors"]["new_password"].is_string()), (StatusCode::BAD_REQUEST, true));
        assert_eq!(post(&app, "/reset-password/confirm", json!({"token": token, "new_password": "a fresh passphrase"})).await.0, 204);
        assert_eq!(post(&app, "/reset-password/confirm", json!({"token": token, "new_password": "another passphrase"})).await.0, 400);
        assert_eq!(post(&app, "/login", json!({"username": "alice", "password": "a fresh passphrase"})).await.0, 200);
    }
);

#[tokio::test]
async fn the_openapi_document_lists_every_json_route_and_every_route_exists() {
    let app = spawn_app(crate::helpers::Backend::Sqlite).await;
    let doc: Value = reqwest::get(app.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    documented.sort();
    let mut routed: Vec<(String, String)> =
        portcullis::http::api::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    routed.sort();
    assert_eq!(documented, routed, "the document and the router list the same routes");
    for (method, path) in portcullis::http::api::ROUTES {
        let path = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let res = reqwest::Client::new()
            .request(method.parse().unwrap(), app.url(&path))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(
            !matches!(res.status().as_u16(), 404 | 405) || path.starts_with("/users/"),
            "{method} {path}: {}",
            res.status()
        );
        assert!(res.status().as_u16() < 500, "{method} {path}");
    }
}
