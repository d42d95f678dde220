//! Helpers for protocol tests: registering clients, PKCE pairs, a browser that follows an
//! authorization request through login and consent, raw token requests, and an HTTP
//! adapter so the `openidconnect` crate (the independent relying party) can talk to us.

use super::browser::between;
use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::oauth::clients::NewClient;
use sha2::{Digest, Sha256};

use super::{Browser, TestApp, location};

pub const REDIRECT_URI: &str = "https://rp.example/callback";
pub const POST_LOGOUT_URI: &str = "https://rp.example/signed-out";

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

#[derive(Default)]
pub struct ClientSpec<'a> {
    pub require_mfa: bool,
    pub public: bool,
    pub first_party: bool,
    pub grants: &'a [&'a str],
    pub scopes: &'a [&'a str],
    pub api_access: bool,
    pub introspect_any: bool,
    pub id_token_alg: Option<portcullis::oauth::keys::Alg>,
    pub no_refresh_id_token: bool,
}

impl TestApp {
    pub async fn client(&self, id: &str, spec: ClientSpec<'_>) -> TestClient {
        let new = NewClient {
            id: id.into(),
            name: format!("{id} app"),
            public: spec.public,
            first_party: spec.first_party,
            redirect_uris: vec![REDIRECT_URI.into(), "http://127.0.0.1/native-callback".into()],
            post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
            grant_types: spec.grants.iter().map(|s| s.to_string()).collect(),
            scopes: spec.scopes.iter().map(|s| s.to_string()).collect(),
            audiences: vec![],
            require_mfa: spec.require_mfa,
            api_access: spec.api_access,
            introspect_any: spec.introspect_any,
            id_token_alg: spec.id_token_alg,
            no_refresh_id_token: spec.no_refresh_id_token,
        };
        let (client, secret) =
            self.state.provider.create_client(&portcullis::audit::Actor::Cli, new).await.expect("client registers");
        TestClient { id: client.id, secret: secret.map(|s| s.expose().to_string()) }
    }

    /// A confidential, third-party client with the default grants and scopes.
    pub async fn web_client(&self, id: &str) -> TestClient {
        self.client(id, ClientSpec::default()).await
    }

    /// A raw token-side POST with client_secret_basic (when the client has a secret).
    pub async fn token_request(&self, path: &str, client: &TestClient, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(self.url(path)).form(fields);
        match &client.secret {
            Some(secret) => req = req.basic_auth(&client.id, Some(secret)),
            None => {
                let mut with_id = fields.to_vec();
                with_id.push(("client_id", &client.id));
                req = reqwest::Client::new().post(self.url(path)).form(&with_id);
            }
        }
        req.send().await.expect("token request")
    }

    /// Exchanges a code; returns status and JSON body.
    pub async fn exchange(&self, client: &TestClient, code: &str, verifier: &str) -> (u16, serde_json::Value) {
        let res = self
            .token_request(
                "/token",
                client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        (res.status().as_u16(), res.json().await.unwrap_or_default())
    }

    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> (u16, serde_json::Value) {
        let res = self
            .token_request("/token", client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
            .await;
        (res.status().as_u16(), res.json().await.unwrap_or_default())
    }

    pub async fn userinfo_status(&self, access_token: &str) -> u16 {
        reqwest::Client::new()
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(portcullis::secret::random_bytes::<48>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `/authorize?…` for `client` with PKCE `challenge`; `extra` adds or (with an empty value)
/// removes parameters.
pub fn authorize_path(client_id: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile email"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    format!("/authorize?{}", url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish())
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// How the browser answers the consent page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Allow,
    Deny,
}

/// Follows `start` like a browser: signs in with `credentials` when asked, answers consent,
/// and returns the first `Location` that leaves this server.
pub async fn drive(browser: &Browser, start: &str, credentials: (&str, &str), consent: Consent) -> String {
    let mut res = browser.get(start).await;
    for _ in 0..10 {
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            let loc = location(&res);
            if !loc.starts_with('/') {
                return loc;
            }
            if loc.starts_with("/login") {
                let next = url::Url::parse(&format!("http://x{loc}"))
                    .unwrap()
                    .query_pairs()
                    .find(|(k, _)| k == "next")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                browser.get(&loc).await;
                res = browser
                    .submit("/login", &[("username", credentials.0), ("password", credentials.1), ("next", &next)])
                    .await;
            } else {
                res = browser.get(&loc).await;
            }
            continue;
        }
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "unexpected page: {body}");
        let pending = between(&body, "name=\"pending\" value=\"", "\"").expect("a consent page");
        let decision = if consent == Consent::Allow { "allow" } else { "deny" };
        res = browser.submit("/authorize/consent", &[("pending", &pending), ("decision", decision)]).await;
    }
    panic!("the authorization flow did not leave the server");
}

type HttpFuture = Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>> + Send>>;

/// Lets the `openidconnect` crate use our reqwest 0.13 (redirects off, as it recommends).
pub fn rp_http() -> impl Fn(openidconnect::HttpRequest) -> HttpFuture {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    move |req: openidconnect::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let res =
                client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let mut out = http::Response::builder().status(res.status());
            for (k, v) in res.headers() {
                out = out.header(k, v);
            }
            Ok(out.body(res.bytes().await?.to_vec()).expect("response"))
        })
    }
}
