//! The floor servers, on the same stack Portcullis uses (tokio, hyper, axum) with nothing
//! else: `GET /bare` answers a fixed small JSON body; `POST /token` signs a fresh access
//! token (no client lookup, no storage) — the cost any token endpoint must pay.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use josekit::jws::JwsSigner;

use crate::limits::{sign, signers};

#[derive(clap::Args, Debug)]
pub struct BareArgs {
    #[arg(long, default_value = "127.0.0.1:5200")]
    bind: String,
    /// Algorithm of the sign-only endpoint.
    #[arg(long, default_value = "ES256")]
    alg: String,
}

struct Floor {
    signer: Box<dyn JwsSigner>,
    counter: AtomicU64,
}

pub async fn run(args: BareArgs) -> anyhow::Result<()> {
    let signer = signers()?
        .into_iter()
        .find(|(name, _)| *name == args.alg)
        .map(|(_, s)| s)
        .ok_or_else(|| anyhow::anyhow!("unknown alg {}", args.alg))?;
    let state = Arc::new(Floor { signer, counter: AtomicU64::new(0) });
    let app = Router::new().route("/bare", get(bare)).route("/token", post(token)).with_state(state);
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    println!("bare ready on http://{}", args.bind);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn bare() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"ok":true}"#)
}

async fn token(State(floor): State<Arc<Floor>>) -> axum::response::Response {
    let n = floor.counter.fetch_add(1, Ordering::Relaxed);
    match sign(floor.signer.as_ref(), n) {
        Ok(jwt) => (
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
            format!(r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":600}}"#),
        )
            .into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
