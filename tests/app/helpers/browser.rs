//! A browser stand-in: its own cookie jar, redirects not followed (every `Location` is
//! asserted), CSRF tokens read from the pages like a person's browser would submit them.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Client, Response};

pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
    base: String,
}

pub fn location(res: &Response) -> String {
    res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// The text between the first `start` and the next `end` after it.
pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let to = s[from..].find(end)? + from;
    Some(s[from..to].to_string())
}

/// The CSRF token embedded in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    between(html, "name=\"csrf_token\" value=\"", "\"")
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::build(base, None)
    }

    /// A browser that sends this `User-Agent` header.
    pub fn with_user_agent(base: &str, user_agent: &str) -> Self {
        Self::build(base, Some(user_agent))
    }

    fn build(base: &str, user_agent: Option<&str>) -> Self {
        let jar = Arc::new(Jar::default());
        let mut builder = Client::builder().cookie_provider(jar.clone()).redirect(reqwest::redirect::Policy::none());
        if let Some(user_agent) = user_agent {
            builder = builder.user_agent(user_agent);
        }
        Self { client: builder.build().expect("client"), jar, base: base.to_string() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET with one extra request header (e.g. `Accept-Language`).
    pub async fn get_with(&self, path: &str, name: &str, value: &str) -> Response {
        self.client.get(self.url(path)).header(name, value).send().await.expect("GET")
    }

    pub async fn text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// The value of one of our cookies in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookie("portcullis_session")
    }

    /// This session's CSRF token, as any page with a form shows it.
    pub async fn csrf(&self) -> String {
        csrf_in(&self.text("/logout").await).expect("the logout page carries a CSRF token")
    }

    /// Submits a form with this session's CSRF token added.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Submits exactly these fields (no token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(self.url(path)).form(fields).send().await.expect("POST")
    }

    /// Submits a raw body, for malformed input.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        self.client.post(self.url(path)).header(CONTENT_TYPE, content_type).body(body).send().await.expect("POST")
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.submit(
            "/register",
            &[("username", username), ("email", email), ("display_name", ""), ("password", password)],
        )
        .await
    }

    /// Registers and signs in (registration itself signs nobody in).
    pub async fn sign_up(&self, username: &str, email: &str, password: &str) -> Response {
        let res = self.register(username, email, password).await;
        assert_eq!(res.status(), 200, "registration of {username}");
        let res = self.login(username, password).await;
        assert_eq!(res.status(), 303, "first sign-in of {username}");
        res
    }

    pub async fn login(&self, login_name: &str, password: &str) -> Response {
        self.submit("/login", &[("username", login_name), ("password", password)]).await
    }

    pub async fn logout(&self) -> Response {
        self.submit("/logout", &[]).await
    }
}
