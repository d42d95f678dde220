//! What a page needs to show the language picker, per request: the session's CSRF token (as
//! far as the request has seen it) and the path to come back to. A leaf of the browser
//! toolkit: `http::language` fills it, `render` and `session` read and feed it.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// Session key: the `ui_locales` of the authorization flow in progress.
pub const UI_LOCALES_KEY: &str = "ui_locales";
/// Session key: the signed-in person's profile language.
pub const PROFILE_KEY: &str = "locale";

/// The session's CSRF token as far as this request has seen it: filled when a handler reads
/// or creates the token, read when the page renders (so the picker carries the same token
/// as the page's own forms). Empty: no picker (a page without a session).
#[derive(Debug, Default, Clone)]
pub struct PickerToken(Arc<Mutex<Option<String>>>);

impl PickerToken {
    /// A cell holding the token the session had when the request came in, if any.
    pub fn new(token: Option<String>) -> Self {
        Self(Arc::new(Mutex::new(token)))
    }

    /// The token, if the session has one by the time the page renders.
    pub fn token(&self) -> Option<String> {
        self.0.lock().ok().and_then(|t| t.clone())
    }
}

/// The picker's inputs for one request.
#[derive(Clone)]
pub struct PickerContext {
    pub token: PickerToken,
    pub here: String,
}

tokio::task_local! {
    static PICKER: PickerContext;
}

/// The picker's token cell and return path of the request being served.
pub fn picker() -> (PickerToken, String) {
    PICKER.try_with(|p| (p.token.clone(), p.here.clone())).unwrap_or_else(|_| (PickerToken::default(), "/".into()))
}

/// Records the session's CSRF token for this request's language picker.
pub fn remember_csrf(token: &str) {
    let _ = PICKER.try_with(|p| {
        if let Ok(mut cell) = p.token.0.lock() {
            *cell = Some(token.to_string());
        }
    });
}

/// Runs `fut` with `picker` as the request's picker inputs.
pub async fn scope<F: Future>(picker: PickerContext, fut: F) -> F::Output {
    PICKER.scope(picker, fut).await
}
