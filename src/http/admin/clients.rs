//! Clients in the console: list, register, edit (redirect URIs, grants, scopes, first-party,
//! require-MFA), a new secret (shown once), delete after a confirmation. The rules are the
//! CLI's: both call `oauth::clients`, which also writes the `client.*` audit events.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ConsoleError;
use super::guard::AdminSession;
use super::paths;
use super::views::{ClientForm, ClientPage, ClientRow, ClientsPage, ConfirmPage, FieldErrors, SecretPage};
use crate::http::form::FormData;
use crate::http::render::render;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::clients::{ClientAdminError, ClientChanges, NewClient};
use crate::state::AppState;

const GRANTS: [GrantType; 4] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode];

fn checked(form: &FormData, name: &str) -> bool {
    form.text(name) == Ok("on")
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn joined<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

impl ClientForm {
    fn of(c: &Client) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            public: c.public,
            first_party: c.first_party,
            require_mfa: c.require_mfa,
            redirect_uris: joined(c.redirect_uris.iter().map(|r| r.as_str())),
            post_logout_redirect_uris: joined(c.post_logout_redirect_uris.iter().map(|r| r.as_str())),
            scopes: joined(c.scopes.iter()),
            grant_authorization_code: c.allows(GrantType::AuthorizationCode),
            grant_refresh_token: c.allows(GrantType::RefreshToken),
            grant_client_credentials: c.allows(GrantType::ClientCredentials),
            grant_device_code: c.allows(GrantType::DeviceCode),
        }
    }

    fn read(form: &FormData) -> Self {
        Self {
            id: form.shown("id").trim().to_string(),
            name: form.shown("name"),
            public: checked(form, "public"),
            first_party: checked(form, "first_party"),
            require_mfa: checked(form, "require_mfa"),
            redirect_uris: form.shown("redirect_uris"),
            post_logout_redirect_uris: form.shown("post_logout_redirect_uris"),
            scopes: form.shown("scopes"),
            grant_authorization_code: checked(form, "grant_authorization_code"),
            grant_refresh_token: checked(form, "grant_refresh_token"),
            grant_client_credentials: checked(form, "grant_client_credentials"),
            grant_device_code: checked(form, "grant_device_code"),
        }
    }

    fn grants(&self) -> Vec<String> {
        let on = [
            self.grant_authorization_code,
            self.grant_refresh_token,
            self.grant_client_credentials,
            self.grant_device_code,
        ];
        GRANTS.iter().zip(on).filter(|(_, on)| *on).map(|(g, _)| g.as_str().to_string()).collect()
    }
}

/// The form field a domain refusal belongs beside, or the form as a whole.
fn place(errors: &mut FieldErrors, e: ClientAdminError) -> Result<Option<String>, ConsoleError> {
    match e {
        ClientAdminError::Invalid { field, message } => {
            let name = match field {
                "id" => "id",
                "redirect-uri" => "redirect_uris",
                "post-logout-redirect-uri" => "post_logout_redirect_uris",
                "grant" => "grants",
                "scope" => "scopes",
                _ => return Ok(Some(message)),
            };
            errors.add(name, message);
            Ok(None)
        }
        ClientAdminError::Taken => {
            errors.add("id", "A client with this id exists.");
            Ok(None)
        }
        ClientAdminError::NotFound => Err(ConsoleError::NotFound),
        ClientAdminError::Internal(e) => Err(e.into()),
    }
}

async fn find(state: &AppState, id: &str) -> Result<Client, ConsoleError> {
    state.provider.client(id).await?.ok_or(ConsoleError::NotFound)
}

pub async fn list(State(state): State<AppState>, who: AdminSession) -> Result<Response, ConsoleError> {
    let clients = state
        .provider
        .clients()
        .await?
        .iter()
        .map(|c| ClientRow {
            id: c.id.clone(),
            name: c.display_name().to_string(),
            kind: if c.public { "public" } else { "confidential" },
            grants: joined(c.grant_types.iter().map(|g| g.as_str())),
            redirect_uris: joined(c.redirect_uris.iter().map(|r| r.as_str())),
            first_party: c.first_party,
            require_mfa: c.require_mfa,
        })
        .collect();
    Ok(render(StatusCode::OK, &ClientsPage { chrome: who.chrome(), clients }))
}

fn client_page(who: &AdminSession, creating: bool, form: ClientForm, client: Option<&Client>) -> ClientPage {
    ClientPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        creating,
        form,
        api_access: client.is_some_and(|c| c.api_access),
        introspect_any: client.is_some_and(|c| c.introspect_any),
        notice: None,
        errors: FieldErrors::default(),
        form_error: None,
    }
}

pub async fn new_form(who: AdminSession) -> Result<Response, ConsoleError> {
    let form = ClientForm { grant_authorization_code: true, grant_refresh_token: true, ..Default::default() };
    Ok(render(StatusCode::OK, &client_page(&who, true, form, None)))
}

/// POST /admin/clients: registers the client; a confidential one's secret is shown once.
pub async fn create(
    State(state): State<AppState>,
    who: AdminSession,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let values = ClientForm::read(&form);
    let mut page = client_page(&who, true, values.clone(), None);
    if values.grants().is_empty() {
        page.errors.add("grants", "Choose at least one grant type.");
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    let new = NewClient {
        id: values.id.clone(),
        name: values.name.clone(),
        public: values.public,
        first_party: values.first_party,
        redirect_uris: words(&values.redirect_uris),
        post_logout_redirect_uris: words(&values.post_logout_redirect_uris),
        grant_types: values.grants(),
        scopes: words(&values.scopes),
        audiences: Vec::new(),
        require_mfa: values.require_mfa,
        api_access: false,
        introspect_any: false,
        id_token_alg: None,
        no_refresh_id_token: false,
    };
    match state.provider.create_client(&who.actor(), new).await {
        Ok((client, Some(secret))) => {
            let page = SecretPage {
                chrome: who.chrome(),
                client_id: client.id,
                secret: secret.expose().to_string(),
                created: true,
            };
            Ok(render(StatusCode::OK, &page))
        }
        Ok((client, None)) => Ok(Redirect::to(&format!("{}?done=created", paths::client(&client.id))).into_response()),
        Err(e) => {
            page.form_error = place(&mut page.errors, e)?;
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let client = find(&state, &id).await?;
    let mut page = client_page(&who, false, ClientForm::of(&client), Some(&client));
    page.notice = match FormData::from_query(uri.query()).shown("done").as_str() {
        "created" => Some("The client is registered."),
        "saved" => Some("Changes saved."),
        _ => None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/clients/{client_id}: the changeable settings, under the registration rules.
pub async fn update(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let client = find(&state, &id).await?;
    let values = ClientForm { id: client.id.clone(), public: client.public, ..ClientForm::read(&form) };
    let mut page = client_page(&who, false, values.clone(), Some(&client));
    if values.grants().is_empty() {
        page.errors.add("grants", "Choose at least one grant type.");
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    let changes = ClientChanges {
        name: values.name.clone(),
        redirect_uris: words(&values.redirect_uris),
        post_logout_redirect_uris: words(&values.post_logout_redirect_uris),
        grant_types: values.grants(),
        scopes: words(&values.scopes),
        first_party: values.first_party,
        require_mfa: values.require_mfa,
    };
    match state.provider.update_client(&who.actor(), &client.id, changes).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?done=saved", paths::client(&client.id))).into_response()),
        Err(e) => {
            page.form_error = place(&mut page.errors, e)?;
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

/// POST /admin/clients/{client_id}/rotate-secret: the new secret, shown once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let client = find(&state, &id).await?;
    if client.public {
        return Err(ConsoleError::NotFound);
    }
    match state.provider.rotate_client_secret(&who.actor(), &client.id).await {
        Ok(secret) => {
            let page = SecretPage {
                chrome: who.chrome(),
                client_id: client.id,
                secret: secret.expose().to_string(),
                created: false,
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(ClientAdminError::NotFound) => Err(ConsoleError::NotFound),
        Err(e) => Err(e.into_internal().into()),
    }
}

pub async fn delete_confirm(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let client = find(&state, &id).await?;
    let page = ConfirmPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        title: format!("Delete the client {}?", client.id),
        message: format!(
            "{} will no longer be able to sign people in; its grants and tokens are deleted with it. This cannot be \
             undone.",
            client.display_name()
        ),
        action: paths::fill(paths::CLIENT_DELETE, "client_id", &client.id),
        button: "Delete the client",
        back: paths::client(&client.id),
    };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/clients/{client_id}/delete (from the confirmation page: `confirm=yes`).
pub async fn delete(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let client = find(&state, &id).await?;
    if form.text("confirm") != Ok("yes") {
        return Ok(Redirect::to(&paths::fill(paths::CLIENT_DELETE, "client_id", &client.id)).into_response());
    }
    match state.provider.delete_client(&who.actor(), &client.id).await {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=deleted", paths::CLIENTS)).into_response()),
        Err(ClientAdminError::NotFound) => Err(ConsoleError::NotFound),
        Err(e) => Err(e.into_internal().into()),
    }
}
