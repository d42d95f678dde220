//! Token audiences (issue 20): an access token opens only the resource it was minted for. A
//! relying party's token, even an admin's, opens neither the account API nor the admin API;
//! introspection answers a client only about tokens meant for it; client ids never look like
//! user ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::call;
use crate::cli::portcullis;
use crate::helpers::oidc::{ClientSpec, Consent, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::{PASSWORD, TestApp, db_test, location, spawn_app};

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

async fn register(app: &TestApp, username: &str) -> String {
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    let res = reqwest::Client::new().post(app.url("/register")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "registration of {username}");
    app.user_id(username).await
}

async fn make_admin(app: &TestApp, user_id: &str) {
    let id = portcullis::identity::user::UserId::parse(user_id).unwrap();
    let changes = portcullis::identity::admin::AdminChanges { is_admin: Some(true), ..Default::default() };
    app.state.accounts.admin_update(&portcullis::audit::Actor::Cli, id, changes).await.unwrap();
}

/// `username`'s tokens from a code flow of `client` (consented in a fresh browser).
async fn code_flow_tokens(app: &TestApp, client: &TestClient, username: &str, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let start = authorize_path(&client.id, &challenge, &[("scope", scope)]);
    let back = drive(&app.browser(), &start, (username, PASSWORD), Consent::Allow).await;
    let (status, tokens) = app.exchange(client, &param(&back, "code").expect("a code"), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn json_login(app: &TestApp, username: &str) -> Value {
    let body = json!({"username": username, "password": PASSWORD});
    let res = reqwest::Client::new().post(app.url("/login")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn client_token(app: &TestApp, client: &TestClient, scope: Option<&str>) -> (u16, Value) {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    let res = app.token_request("/token", client, &fields).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    app.token_request("/introspect", caller, &[("token", token)]).await.json().await.unwrap()
}

db_test!(
    async fn a_relying_partys_token_for_an_admin_opens_neither_the_admin_api_nor_the_profile(backend) {
        let app = spawn_app(backend).await;
        let admin_id = register(&app, "alice").await;
        make_admin(&app, &admin_id).await;
        let victim = register(&app, "bob").await;
        let rp = app.web_client("rp").await;
        let tokens = code_flow_tokens(&app, &rp, "alice", "openid profile email").await;
        let access = tokens["access_token"].as_str().unwrap();

        let aud = claims(access)["aud"].clone();
        assert_eq!(aud, json!(["rp"]), "the client's own audience, never the issuer or the API");
        assert_eq!(app.userinfo_status(access).await, 200, "userinfo is the relying party's resource");

        let user = format!("/users/{victim}");
        let cases: [(&str, Method, &str, Option<Value>); 6] = [
            ("list users", Method::GET, "/users", None),
            ("read a user", Method::GET, &user, None),
            ("change a user's e-mail", Method::PUT, &user, Some(json!({"email": "mallory@example.com"}))),
            ("delete a user", Method::DELETE, &user, None),
            ("read the profile", Method::GET, "/profile", None),
            ("change the profile", Method::PUT, "/profile", Some(json!({"display_name": "Pwned"}))),
        ];
        for (case, method, path, body) in cases {
            let (status, problem) = call(&app, method, path, access, body).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_audience")), "{case}");
        }
        let res = reqwest::Client::new().post(app.url("/logout")).bearer_auth(access).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 403, "the account API's logout takes only its own tokens");

        assert_eq!(app.count(&format!("users WHERE id = '{victim}' AND email = 'bob@example.com'")).await, 1, "bob untouched");
        assert_eq!(app.count(&format!("users WHERE id = '{admin_id}' AND display_name = ''")).await, 1, "alice untouched");
        assert_eq!(app.userinfo_status(access).await, 200, "and nothing revoked the token");
    }
);

db_test!(
    async fn the_json_login_token_opens_the_profile_and_for_an_admin_the_users_api(backend) {
        let app = spawn_app(backend).await;
        let admin_id = register(&app, "alice").await;
        let victim = register(&app, "bob").await;
        let access = json_login(&app, "alice").await["access_token"].as_str().unwrap().to_string();
        let aud = claims(&access)["aud"].clone();
        assert!(aud.as_array().unwrap().contains(&json!(format!("{}/api", app.issuer))), "the API audience: {aud}");
        assert!(!aud.as_array().unwrap().contains(&json!(app.issuer)), "not the issuer: {aud}");

        assert_eq!(call(&app, Method::GET, "/profile", &access, None).await.0, 200);
        let (status, me) = call(&app, Method::PUT, "/profile", &access, Some(json!({"display_name": "Alice"}))).await;
        assert_eq!((status, me["display_name"].as_str()), (StatusCode::OK, Some("Alice")));
        assert_eq!(app.userinfo_status(&access).await, 200, "and userinfo");
        assert_eq!(call(&app, Method::GET, "/users", &access, None).await.0, 403, "not an admin yet");

        make_admin(&app, &admin_id).await;
        assert_eq!(call(&app, Method::GET, "/users", &access, None).await.0, 200);
        let (status, bob) = call(&app, Method::PUT, &format!("/users/{victim}"), &access, Some(json!({"display_name": "Bob"}))).await;
        assert_eq!((status, bob["display_name"].as_str()), (StatusCode::OK, Some("Bob")));
        assert_eq!(call(&app, Method::DELETE, &format!("/users/{victim}"), &access, None).await.0, 204);
    }
);

db_test!(
    async fn a_client_the_operator_allows_the_api_works_there_and_only_its_admin_token_administers(backend) {
        let app = spawn_app(backend).await;
        let admin_id = register(&app, "alice").await;
        make_admin(&app, &admin_id).await;
        let console = app.client("console", ClientSpec { api_access: true, ..Default::default() }).await;
        let tokens = code_flow_tokens(&app, &console, "alice", "openid profile").await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(call(&app, Method::GET, "/profile", access, None).await.0, 200, "an allowed client's user token");
        assert_eq!(call(&app, Method::GET, "/users", access, None).await.0, 200, "for an admin, the users API too");
        assert_eq!(app.userinfo_status(access).await, 200);
        let (status, refreshed) = app.refresh(&console, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(call(&app, Method::GET, "/users", refreshed["access_token"].as_str().unwrap(), None).await.0, 200, "after a refresh");

        let ops = app.client("ops", ClientSpec { grants: &["client_credentials"], scopes: &["admin", "reports"], api_access: true, ..Default::default() }).await;
        let (_, admin_token) = client_token(&app, &ops, Some("admin")).await;
        assert_eq!(call(&app, Method::GET, "/users", admin_token["access_token"].as_str().unwrap(), None).await.0, 200);
        let (_, reports) = client_token(&app, &ops, Some("reports")).await;
        let reports = reports["access_token"].as_str().unwrap();
        assert_eq!(call(&app, Method::GET, "/users", reports, None).await.0, 403, "without the admin scope");
        assert_eq!(call(&app, Method::GET, "/profile", reports, None).await.0, 403, "a client's own token has no profile");

        app.state.provider.delete_client(&portcullis::audit::Actor::Cli, "ops").await.unwrap();
        let status = call(&app, Method::GET, "/users", admin_token["access_token"].as_str().unwrap(), None).await.0;
        assert_eq!(status, 403, "a removed client's tokens stop opening the API at once");
    }
);

db_test!(
    async fn an_ordinary_client_asking_for_the_admin_scope_does_not_get_it(backend) {
        let app = spawn_app(backend).await;
        let new = portcullis::oauth::clients::NewClient {
            id: "sneaky".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["admin".into()],
            ..Default::default()
        };
        let refused = app.state.provider.create_client(&portcullis::audit::Actor::Cli, new).await.map(|_| ()).unwrap_err().to_string();
        assert!(refused.contains("--api-access"), "{refused}");

        // A client stored with `admin` among its scopes but not allowed the API (as any client
        // registered with `--scope admin` before the rule was): the scope is never granted.
        let redirect = portcullis::oauth::redirect::RedirectUri::register(crate::helpers::oidc::REDIRECT_URI).unwrap();
        let stored = portcullis::oauth::client::Client {
            id: "legacy".into(),
            name: "Legacy".into(),
            secret_hash: None,
            public: false,
            first_party: false,
            redirect_uris: vec![redirect],
            post_logout_redirect_uris: vec![],
            grant_types: ["authorization_code", "client_credentials"].iter().filter_map(|g| portcullis::oauth::client::GrantType::parse(g)).collect(),
            scopes: portcullis::oauth::scope::Scope::from_names(["openid", "admin", "reports"]),
            audiences: vec![],
            require_mfa: false,
            api_access: false,
            introspect_any: false,
            id_token_alg: None,
            id_token_on_refresh: true,
        };
        assert!(portcullis::store::clients::insert(&app.state.db, &stored, app.now()).await.unwrap());
        let secret = app.state.provider.rotate_client_secret(&portcullis::audit::Actor::Cli, "legacy").await.unwrap();
        let legacy = TestClient { id: "legacy".into(), secret: Some(secret.expose().to_string()) };

        let (status, body) = client_token(&app, &legacy, Some("admin")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "client credentials: {body}");
        let (status, body) = client_token(&app, &legacy, None).await;
        assert_eq!((status, body["scope"].as_str()), (200, Some("reports")), "the default scope leaves admin out");
        assert_eq!(call(&app, Method::GET, "/users", body["access_token"].as_str().unwrap(), None).await.0, 403);

        let (_, challenge) = pkce();
        let res = app.browser().get(&authorize_path("legacy", &challenge, &[("scope", "openid admin")])).await;
        let back = location(&res);
        assert_eq!(param(&back, "error").as_deref(), Some("invalid_scope"), "the authorization request: {back}");
    }
);

db_test!(
    async fn introspection_answers_only_about_tokens_meant_for_the_caller(backend) {
        let app = spawn_app(backend).await;
        register(&app, "alice").await;
        let a = app.web_client("rp").await;
        let b = app.web_client("other").await;
        let tokens = code_flow_tokens(&app, &a, "alice", "openid profile offline_access").await;
        let (access, refresh) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
        let api_access = json_login(&app, "alice").await["access_token"].as_str().unwrap().to_string();

        assert_eq!(introspect(&app, &b, access).await, json!({"active": false}), "B about A's access token");
        assert_eq!(introspect(&app, &b, refresh).await, json!({"active": false}), "B about A's refresh token");
        assert_eq!(introspect(&app, &b, &api_access).await, json!({"active": false}), "B about the API's token");
        assert_eq!(introspect(&app, &a, access).await["active"], true, "A about its own access token");
        assert_eq!(introspect(&app, &a, refresh).await["active"], true, "A about its own refresh token");

        let rs = app.client("gateway", ClientSpec { grants: &["client_credentials"], scopes: &["gateway"], introspect_any: true, ..Default::default() }).await;
        let info = introspect(&app, &rs, access).await;
        assert_eq!((info["active"].as_bool(), info["client_id"].as_str()), (Some(true), Some("rp")), "a resource server allowed every token");
        assert_eq!(introspect(&app, &rs, &api_access).await["active"], true);
        assert_eq!(introspect(&app, &rs, refresh).await, json!({"active": false}), "refresh tokens stay with their client");

        // A client named in `aud` (the API a caller registered with --audience) may ask too.
        let caller = portcullis::oauth::clients::NewClient {
            id: "batch".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["reports.read".into()],
            audiences: vec!["reports".into()],
            ..Default::default()
        };
        let (caller, secret) = app.state.provider.create_client(&portcullis::audit::Actor::Cli, caller).await.unwrap();
        let caller = TestClient { id: caller.id, secret: secret.map(|s| s.expose().to_string()) };
        let reports = app.client("reports", ClientSpec { grants: &["client_credentials"], scopes: &["x"], ..Default::default() }).await;
        let (_, token) = client_token(&app, &caller, None).await;
        let token = token["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["aud"], json!(["batch", "reports"]));
        assert_eq!(introspect(&app, &reports, token).await["active"], true, "the audience it names");
        assert_eq!(introspect(&app, &b, token).await, json!({"active": false}), "not anyone else");
    }
);

db_test!(
    async fn client_add_refuses_ids_shaped_like_user_ids_and_admin_without_api_access(backend) {
        let app = spawn_app(backend).await;
        let user_id = register(&app, "alice").await;
        let cases: [(&str, &str); 3] = [
            ("a user's id", &user_id),
            ("a UUID without hyphens", "0191d6c45b8e7c3a9f1e2a4b6c8d0e1f"),
            ("a UUID URN", "urn:uuid:0191d6c4-5b8e-7c3a-9f1e-2a4b6c8d0e1f"),
        ];
        for (case, id) in cases {
            let out = portcullis(&app, &["client", "add", "--id", id, "--grant", "client_credentials", "--scope", "reports"], "");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
            assert!(stderr.contains("error:") && stderr.contains("UUID"), "{case}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{case}: one line");
        }
        let out = portcullis(&app, &["client", "add", "--id", "ops", "--grant", "client_credentials", "--scope", "admin"], "");
        assert_eq!(out.status.code(), Some(1), "admin without --api-access");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--api-access"));
        assert_eq!(app.count("oauth_clients WHERE id <> 'portcullis-api'").await, 0, "nothing was created");

        let out = portcullis(&app, &["client", "add", "--id", "ops", "--grant", "client_credentials", "--scope", "admin", "--api-access"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let list = String::from_utf8_lossy(&portcullis(&app, &["client", "list"], "").stdout).to_string();
        assert!(list.lines().any(|l| l.starts_with("ops ") && l.contains("api-access")), "{list}");
    }
);

db_test!(
    async fn no_client_may_register_the_issuer_or_the_api_as_its_audience(backend) {
        let app = spawn_app(backend).await;
        let api = format!("{}/api", app.issuer);
        for (case, aud) in [("the issuer", app.issuer.clone()), ("the API", api.clone()), ("the API, slashed", format!("{api}/"))] {
            let new = portcullis::oauth::clients::NewClient {
                id: "svc".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec!["reports".into()],
                audiences: vec![aud],
                ..Default::default()
            };
            let refused = app.state.provider.create_client(&portcullis::audit::Actor::Cli, new).await.map(|_| ()).unwrap_err().to_string();
            assert!(refused.contains("reserved"), "{case}: {refused}");
        }
        assert_eq!(app.count("oauth_clients WHERE id = 'svc'").await, 0);
    }
);
