//! Static assets: the stylesheet and the passkey script, compiled into the binary so one file
//! is the whole server, and the operator's brand files (`crate::branding`), read at start and
//! served under content-hashed names, so they are cached for good and revalidate by ETag.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

pub const STYLESHEET: &str = "/static/style.css";
/// `crate::branding::ASSET_PREFIX` followed by the asset's name.
const BRAND_ASSET: &str = "/static/brand/{name}";
/// The passkey ceremonies' script (the only JavaScript; pages that load it widen their CSP
/// with `csp::with_scripts`).
pub const PASSKEYS_SCRIPT: &str = "/static/passkeys.js";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(STYLESHEET, get(stylesheet))
        .route(PASSKEYS_SCRIPT, get(passkeys_script))
        .route(BRAND_ASSET, get(brand_asset))
}

async fn passkeys_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/passkeys.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/style.css"),
    )
}

/// A brand file. Its name changes with its bytes, so it may be cached for a year; a
/// revalidation with its ETag gets 304.
async fn brand_asset(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = state.branding.asset(&name) else {
        return crate::http::browser_error::BrowserError::NotFound.into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).ok();
    let cache = [(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"))];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag || tag.trim() == "*"));
    let mut res = if matches {
        (StatusCode::NOT_MODIFIED, cache).into_response()
    } else {
        (cache, [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body.to_vec())
            .into_response()
    };
    if let Some(etag) = etag {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res
}
