//! One authorization-code flow the way a browser and a relying party do it together:
//! authorize → login form → (consent form) → redirect with the code → code exchange with
//! PKCE. Endpoints come from the server's discovery document; the forms are read from the
//! pages, so the same code drives Portcullis and the oidc-provider peer.

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::client::{Client, encode, query_param};
use crate::html::main_form;

#[derive(clap::Args, Clone, Debug)]
pub struct FlowArgs {
    /// Server base URL (its issuer), e.g. http://127.0.0.1:5000
    #[arg(long)]
    pub base: String,
    #[arg(long)]
    pub client_id: String,
    /// A confidential client's secret (HTTP Basic at the token endpoint); none: public client.
    #[arg(long)]
    pub client_secret: Option<String>,
    #[arg(long, default_value = "http://127.0.0.1:5999/cb")]
    pub redirect_uri: String,
    #[arg(long, default_value = "openid profile email offline_access")]
    pub scope: String,
    /// The login name; with --users N, a prefix: each flow signs in as `<prefix><1..=N>` in turn
    /// (one account's failure counter then never sees many parallel sign-ins).
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub users: Option<u64>,
    #[arg(long)]
    pub password: String,
}

/// The endpoints one flow needs, as paths on the server.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
}

pub async fn discover(client: &mut Client, base: &str) -> anyhow::Result<Endpoints> {
    let doc = client.get("/.well-known/openid-configuration").await?.json()?;
    let path = |key: &str| -> anyhow::Result<String> {
        let url = doc[key].as_str().ok_or_else(|| anyhow!("discovery has no {key}"))?;
        Ok(url.strip_prefix(base.trim_end_matches('/')).unwrap_or(url).to_string())
    };
    Ok(Endpoints { authorize: path("authorization_endpoint")?, token: path("token_endpoint")? })
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("OS randomness");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Headers and fields that authenticate the client at the token endpoint.
pub fn client_auth(args: &FlowArgs, fields: &mut Vec<(String, String)>) -> Vec<(&'static str, String)> {
    match &args.client_secret {
        Some(secret) => {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(&args.client_id),
                encode(secret)
            ));
            vec![("authorization", format!("Basic {basic}"))]
        }
        None => {
            fields.push(("client_id".into(), args.client_id.clone()));
            Vec::new()
        }
    }
}

impl FlowArgs {
    /// The login name for the `n`-th operation.
    pub fn username(&self, n: u64) -> String {
        match self.users {
            Some(count) if count > 0 => format!("{}{}", self.username, n % count + 1),
            _ => self.username.clone(),
        }
    }
}

/// Runs one flow with a fresh cookie jar (a new browser) and returns the token response.
pub async fn code_flow(
    client: &mut Client,
    ep: &Endpoints,
    args: &FlowArgs,
    n: u64,
) -> anyhow::Result<serde_json::Value> {
    let username = args.username(n);
    client.cookies.clear();
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_b64(12);
    let mut url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        ep.authorize,
        encode(&args.client_id),
        encode(&args.redirect_uri),
        encode(&args.scope),
        state,
        random_b64(12),
        challenge
    );
    let mut form_post: Option<(String, Vec<(String, String)>)> = None;
    let mut code = None;
    for _ in 0..12 {
        let res = match form_post.take() {
            Some((action, fields)) => client.post_form(&action, &fields, &[]).await?,
            None => client.get(&url).await?,
        };
        if res.status.is_redirection() {
            let location = res.location.ok_or_else(|| anyhow!("{} without Location", res.status))?;
            if location.starts_with(&args.redirect_uri) {
                ensure!(query_param(&location, "state").as_deref() == Some(state.as_str()), "state lost: {location}");
                code = Some(query_param(&location, "code").ok_or_else(|| anyhow!("no code: {location}"))?);
                break;
            }
            url = path_of(&location, &args.base);
            continue;
        }
        ensure!(res.status.is_success(), "{} at {url}: {}", res.status, res.text());
        let page = res.text();
        let form = main_form(&page).with_context(|| format!("no form on the page at {url}"))?;
        let mut fields: Vec<(String, String)> = form
            .inputs
            .into_iter()
            .map(|(name, value)| match name.as_str() {
                "username" | "login" | "email" => (name, username.clone()),
                "password" => (name, args.password.clone()),
                _ => (name, value),
            })
            .collect();
        if let Some(button) = form.button {
            fields.push(button);
        }
        let action = if form.action.is_empty() { url.clone() } else { path_of(&form.action, &args.base) };
        form_post = Some((action, fields));
    }
    let code = code.ok_or_else(|| anyhow!("the flow did not reach the redirect URI"))?;
    let mut fields = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), code),
        ("redirect_uri".into(), args.redirect_uri.clone()),
        ("code_verifier".into(), verifier),
    ];
    let headers = client_auth(args, &mut fields);
    let res = client.post_form(&ep.token, &fields, &headers).await?;
    ensure!(res.status.is_success(), "code exchange: {} {}", res.status, res.text());
    res.json()
}

/// A Location as a path on this server (absolute URLs of the same origin lose their origin).
fn path_of(location: &str, base: &str) -> String {
    location.strip_prefix(base.trim_end_matches('/')).unwrap_or(location).to_string()
}

pub async fn print_tokens(args: FlowArgs) -> anyhow::Result<()> {
    let mut client = Client::new(&args.base)?;
    let ep = discover(&mut client, &args.base).await?;
    let tokens = code_flow(&mut client, &ep, &args, 0).await?;
    if tokens.get("access_token").is_none() {
        bail!("no access token: {tokens}");
    }
    println!("{tokens}");
    Ok(())
}
