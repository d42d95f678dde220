//! The OpenAPI 3.1 document of the JSON API, written by hand next to the routes (a test
//! checks it lists exactly [`super::ROUTES`]).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn errors(codes: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    for (code, text) in codes {
        map.insert(code.to_string(), problem(text));
    }
    map
}

fn responses(success: (&str, Value), failures: &[(&str, &str)]) -> Value {
    let mut map = errors(failures);
    map.insert(success.0.to_string(), success.1);
    Value::Object(map)
}

const BODY_ERRORS: [(&str, &str); 3] =
    [("400", "Invalid, malformed or unknown fields"), ("413", "Body too large"), ("415", "Not application/json")];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut all = BODY_ERRORS.to_vec();
    all.extend_from_slice(extra);
    all
}

pub fn spec(issuer: &str) -> Value {
    let user = json!({ "$ref": "#/components/schemas/User" });
    let tokens = json!({ "$ref": "#/components/schemas/Tokens" });
    let login_answer = json!({ "oneOf": [tokens.clone(), { "$ref": "#/components/schemas/MfaRequired" }] });
    let register_body = object(
        &["username", "email", "password"],
        json!({
            "username": { "type": "string" }, "email": { "type": "string" }, "password": { "type": "string" },
            "display_name": { "type": ["string", "null"] }
        }),
    );
    let registered = json!({ "type": "object", "required": ["username", "email", "email_verified"], "properties": {
        "username": { "type": "string" }, "email": { "type": "string" }, "display_name": { "type": "string" },
        "email_verified": { "type": "boolean" }, "detail": { "type": "string" } } });
    let login_body = object(
        &["password"],
        json!({
        "username": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] }, "password": { "type": "string" },
        "device_token": { "type": ["string", "null"], "description": "The device_token an earlier successful sign-in of this \
            client returned. For its own account it skips the lock that wrong passwords (anyone's) put on the login name, \
            like the hosted pages' known-device cookie; five wrong passwords in a row with it and it is forgotten." } }),
    );
    let mfa_body =
        object(&["mfa_token", "code"], json!({ "mfa_token": { "type": "string" }, "code": { "type": "string" } }));
    let logout_body = json!({ "required": false, "content": { "application/json": { "schema":
        object(&[], json!({ "refresh_token": { "type": ["string", "null"] } })) } } });
    let reset_body = object(&["email"], json!({ "email": { "type": "string" } }));
    let accepted = json!({ "type": "object", "properties": { "detail": { "type": "string" } } });
    let confirm_body = object(
        &["token", "new_password"],
        json!({ "token": { "type": "string" }, "new_password": { "type": "string" } }),
    );
    let profile_body = object(
        &[],
        json!({
        "display_name": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] },
        "current_password": { "type": ["string", "null"] }, "new_password": { "type": ["string", "null"] },
        "locale": { "type": ["string", "null"], "enum": ["en", "de", "fr", "", null], "description": "The language of pages and mail; \"\" clears it" } }),
    );
    let admin_body = object(
        &[],
        json!({
        "display_name": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] },
        "is_admin": { "type": ["boolean", "null"] }, "disabled": { "type": ["boolean", "null"] } }),
    );
    let bearer = json!([{ "bearer": [] }]);
    let id_param = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);

    let register = json!({ "summary": "Create an account (201 also for a taken e-mail: no enumeration)", "requestBody": body(register_body),
        "responses": responses(("201", ok("Registered; confirm the address by the mailed link", registered)),
            &with(&[("409", "Username taken"),
                ("429", "Too many registrations from this address or in all (see Retry-After); invalid forms and taken usernames do not count")])) });
    let login = json!({ "summary": "Sign in with username or e-mail and password",
        "description": "401 means the password was checked and is wrong (or the user is unknown or disabled: one answer). \
            429 means it was not checked: the client address failed too often, or wrong passwords locked this login name \
            (any name, known or not, alike) until Retry-After; a device_token from an earlier sign-in skips the name's lock. \
            503 with Retry-After means the checks for this name were all busy; retry.",
        "requestBody": body(login_body),
        "responses": responses(("200", ok("Tokens (with a new device_token when the request had no valid one), or the second step for 2FA", login_answer)),
            &with(&[("401", "Wrong credentials"), ("403", "E-mail not confirmed"),
                ("429", "Too many failures from this address, or the login name is locked (Retry-After)"),
                ("503", "Busy; retry after Retry-After")])) });
    let login_mfa = json!({ "summary": "Second step of a 2FA sign-in (the mfa_token is single use, dies after 5 wrong codes or 300 s)", "requestBody": body(mfa_body),
        "responses": responses(("200", ok("Tokens and a new device_token", tokens.clone())), &with(&[("401", "Invalid ticket or code")])) });
    let logout = json!({ "summary": "Revoke the caller's refresh token and end its session", "security": [{ "bearer": [] }, {}],
        "requestBody": logout_body,
        "responses": responses(("204", json!({ "description": "Signed out" })), &with(&[("401", "No valid token"), ("403", "Token not issued for this API")])) });
    let reset = json!({ "summary": "Mail a password-reset link (202 whatever the address)", "requestBody": body(reset_body),
        "responses": responses(("202", ok("Accepted", accepted)), &with(&[("429", "Too many requests from this address")])) });
    let reset_confirm = json!({ "summary": "Set a new password with the mailed token", "requestBody": body(confirm_body),
        "responses": responses(("204", json!({ "description": "Password changed; every session ended" })), &BODY_ERRORS) });
    let profile_get = json!({ "summary": "The caller's profile", "security": bearer,
        "responses": responses(("200", ok("The user", user.clone())), &[("401", "No valid token"), ("403", "Token not issued for this API, or lacks the profile scope")]) });
    let profile_put = json!({ "summary": "Change the caller's profile", "security": bearer, "requestBody": body(profile_body),
        "responses": responses(("200", ok("The user", user.clone())), &with(&[("401", "No valid token"), ("403", "Token not issued for this API, or lacks the profile scope")])) });
    let users_list = json!({ "summary": "List users (admin)", "security": bearer,
        "parameters": [
            { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0 } },
            { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0 } },
            { "name": "q", "in": "query", "schema": { "type": "string" } } ],
        "responses": responses(("200", ok("A page of users", json!({ "type": "object", "required": ["users", "limit", "offset"], "properties": {
            "users": { "type": "array", "items": user.clone() }, "limit": { "type": "integer" }, "offset": { "type": "integer" },
            "next_offset": { "type": ["integer", "null"] } } }))), &[("400", "Bad query"), ("401", "No valid token"), ("403", "Token not issued for this API, or not an administrator")]) });
    let user_get = json!({ "summary": "One user (admin)", "security": bearer, "parameters": id_param,
        "responses": responses(("200", ok("The user", user.clone())), &[("401", "No valid token"), ("403", "Token not issued for this API, or not an administrator"), ("404", "No such user")]) });
    let user_put = json!({ "summary": "Change a user (admin)", "security": bearer, "parameters": id_param, "requestBody": body(admin_body),
        "responses": responses(("200", ok("The user", user.clone())),
            &with(&[("401", "No valid token"), ("403", "Token not issued for this API, or not an administrator"), ("404", "No such user"), ("409", "E-mail taken")])) });
    let user_delete = json!({ "summary": "Delete a user and everything of theirs (admin)", "security": bearer, "parameters": id_param,
        "responses": responses(("204", json!({ "description": "Deleted" })), &[("401", "No valid token"), ("403", "Token not issued for this API, or not an administrator"), ("404", "No such user")]) });
    let events_list = events_operation();
    let openapi =
        json!({ "summary": "This document", "responses": { "200": ok("OpenAPI 3.1", json!({ "type": "object" })) } });

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "Portcullis JSON API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "First-party account API. OAuth 2.0 / OpenID Connect endpoints are described by /.well-known/openid-configuration." },
        "servers": [{ "url": issuer }],
        "paths": {
            "/register": { "post": register.clone() },
            "/login": { "post": login.clone() },
            "/login/mfa": { "post": login_mfa.clone() },
            "/logout": { "post": logout.clone() },
            "/reset-password": { "post": reset.clone() },
            "/reset-password/confirm": { "post": reset_confirm.clone() },
            "/profile": { "get": profile_get, "put": profile_put },
            "/auth/register": { "post": register },
            "/auth/login": { "post": login },
            "/auth/login/mfa": { "post": login_mfa },
            "/auth/logout": { "post": logout },
            "/auth/reset_password_request": { "post": reset },
            "/auth/reset_password": { "post": reset_confirm },
            "/users": { "get": users_list },
            "/users/{id}": { "get": user_get, "put": user_put, "delete": user_delete },
            "/admin/api/events": { "get": events_list },
            "/openapi.json": { "get": openapi },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token whose `aud` includes `<issuer>/api`: from POST /login, or from a client registered with --api-access." } },
            "schemas": {
                "Problem": { "type": "object", "required": ["type", "title", "status", "code", "detail"], "properties": {
                    "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                    "code": { "type": "string" }, "detail": { "type": "string" }, "request_id": { "type": "string" },
                    "errors": { "type": "object", "additionalProperties": { "type": "string" } } } },
                "User": { "type": "object", "required": ["id", "username", "email", "email_verified", "display_name", "is_admin", "disabled", "mfa_enabled", "created_at", "updated_at"],
                    "properties": { "id": { "type": "string" }, "username": { "type": "string" }, "email": { "type": "string" },
                        "email_verified": { "type": "boolean" }, "display_name": { "type": "string" }, "is_admin": { "type": "boolean" },
                        "disabled": { "type": "boolean" }, "mfa_enabled": { "type": "boolean" },
                        "created_at": { "type": "integer" }, "updated_at": { "type": "integer" },
                        "locale": { "type": ["string", "null"] } } },
                "Tokens": { "type": "object", "required": ["access_token", "token_type", "expires_in", "scope"], "properties": {
                    "access_token": { "type": "string" }, "token_type": { "type": "string" }, "expires_in": { "type": "integer" },
                    "refresh_token": { "type": "string" }, "scope": { "type": "string" },
                    "device_token": { "type": "string", "description": "Only after a sign-in: keep it (secret) and send it as \
                        device_token with later sign-ins of this client; a new one replaces the old." } } },
                "EventType": { "type": "string", "enum": event_types(),
                    "description": "What happened; see docs/audit-events.md for when each is written and its detail fields." },
                "Event": event_schema(),
                "MfaRequired": { "type": "object", "required": ["mfa_required", "mfa_token"], "properties": {
                    "mfa_required": { "const": true }, "mfa_token": { "type": "string" } } },
            }
        }
    });
    add_devices(&mut doc);
    add_passkeys(&mut doc);
    doc
}

/// `/profile/sessions` and `/profile/apps`: a person's sessions and connected apps.
fn add_devices(doc: &mut Value) {
    let bearer = json!([{ "bearer": [] }]);
    let denied = [("401", "No valid token"), ("403", "Token not issued for this API, or lacks the profile scope")];
    let with_404 = |what: &'static str| {
        let mut all = denied.to_vec();
        all.push(("404", what));
        all
    };
    let path_param =
        |name: &str| json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }]);
    let list = |key: &str, schema: &str| {
        json!({ "type": "object", "additionalProperties": false, "required": [key], "properties": {
            key: { "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } } } })
    };
    let paths = [
        (
            "/profile/sessions",
            json!({ "get": { "summary": "Where the caller is signed in: their live browser sessions",
            "description": "`current` marks the browser session this request carries (its cookie), if any.",
            "security": bearer,
            "responses": responses(("200", ok("The sessions, most recently seen first", list("sessions", "Session"))), &denied) } }),
        ),
        (
            "/profile/sessions/{id}",
            json!({ "delete": { "summary": "Sign out one of the caller's sessions, by its public id",
            "security": bearer, "parameters": path_param("id"),
            "responses": responses(("204", json!({ "description": "Signed out" })), &with_404("No live session of the caller has this id")) } }),
        ),
        (
            "/profile/sessions/end-others",
            json!({ "post": { "summary": "Sign out every session of the caller but the current one",
            "description": "Without a session cookie on the request, every browser session of the caller ends.",
            "security": bearer,
            "responses": responses(("200", ok("How many sessions ended", json!({ "type": "object", "additionalProperties": false,
                "required": ["ended"], "properties": { "ended": { "type": "integer", "minimum": 0 } } }))), &denied) } }),
        ),
        (
            "/profile/apps",
            json!({ "get": { "summary": "The apps holding a live grant or a remembered consent of the caller",
            "security": bearer,
            "responses": responses(("200", ok("The apps, by name", list("apps", "ConnectedApp"))), &denied) } }),
        ),
        (
            "/profile/apps/{client_id}",
            json!({ "delete": { "summary": "Remove an app's access: revoke its grants and tokens, forget the consent",
            "security": bearer, "parameters": path_param("client_id"),
            "responses": responses(("204", json!({ "description": "Access removed; the next authorization asks again" })),
                &with_404("This app has no access to the caller's account")) } }),
        ),
    ];
    if let Some(map) = doc["paths"].as_object_mut() {
        for (path, item) in paths {
            map.insert(path.to_string(), item);
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.insert("Session".into(), json!({ "type": "object", "additionalProperties": false,
            "required": ["id", "device", "browser", "os", "ip", "signed_in_at", "last_seen_at", "current"], "properties": {
            "id": { "type": "string", "description": "Public id (not the session cookie)" },
            "device": { "type": "string", "description": "Browser and system from the user agent, e.g. \"Firefox on Linux\"" },
            "browser": { "type": "string" }, "os": { "type": "string" }, "ip": { "type": ["string", "null"] },
            "signed_in_at": { "type": "integer", "description": "Unix seconds" },
            "last_seen_at": { "type": "integer", "description": "Unix seconds, updated at most every 5 minutes" },
            "current": { "type": "boolean" } } }));
        schemas.insert(
            "ConnectedApp".into(),
            json!({ "type": "object", "additionalProperties": false,
            "required": ["client_id", "name", "scopes", "granted_at"], "properties": {
            "client_id": { "type": "string" }, "name": { "type": "string" },
            "scopes": { "type": "array", "items": { "type": "string" } },
            "granted_at": { "type": "integer", "description": "Unix seconds" } } }),
        );
    }
}

/// `GET /admin/api/events`: filters, cursor, page size.
fn events_operation() -> Value {
    let param = |name: &str, schema: Value, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description });
    let types = json!({ "name": "type", "in": "query", "required": false, "style": "form", "explode": true,
        "schema": { "type": "array", "items": { "$ref": "#/components/schemas/EventType" } },
        "description": "Only these types: repeat the parameter, or give a comma-separated list. An unknown type is a 400." });
    let page = json!({ "type": "object", "additionalProperties": false, "required": ["events", "next_cursor"], "properties": {
        "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } },
        "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` for the next (older) page; null on the last page." } } });
    json!({ "summary": "The audit log, newest first (admin; read-only)", "security": [{ "bearer": [] }],
        "description": "Security events (sign-ins, changes, tokens, keys, admin actions). There is no operation that writes, \
            changes or deletes an event; events older than audit.retention_days are purged by housekeeping.",
        "parameters": [
            param("user", json!({ "type": "string" }), "Only events about this user id."),
            types,
            param("client", json!({ "type": "string" }), "Only events of this client id."),
            param("since", json!({ "type": "string", "format": "date-time" }), "RFC 3339; events at or after this time."),
            param("until", json!({ "type": "string", "format": "date-time" }), "RFC 3339; events before this time."),
            param("cursor", json!({ "type": "string" }), "The next_cursor of the previous page."),
            param("limit", json!({ "type": "integer", "minimum": 1, "maximum": crate::audit::MAX_PAGE, "default": 50 }),
                "Events per page (1 to 500, default 50)."),
        ],
        "responses": responses(("200", ok("A page of events", page)), &[
            ("400", "A bad filter, timestamp, cursor or limit (the parameter is named in `errors`)"),
            ("401", "No valid token"), ("403", "Token not issued for this API, or not an administrator")]) })
}

fn event_types() -> Vec<&'static str> {
    crate::audit::EventKind::ALL.iter().map(|k| k.as_str()).collect()
}

fn event_schema() -> Value {
    let text = |description: &str| json!({ "type": ["string", "null"], "description": description });
    json!({ "type": "object", "additionalProperties": false,
        "required": ["id", "at_ms", "type", "actor", "user_id", "client_id", "ip", "user_agent", "request_id", "detail"],
        "properties": {
            "id": { "type": "string", "description": "UUID v7; sorts by time" },
            "at_ms": { "type": "integer", "description": "Unix time in milliseconds" },
            "type": { "$ref": "#/components/schemas/EventType" },
            "actor": text("Who caused it: user:<id>, admin:<id>, client:<id>, cli, system; null when nobody was signed in"),
            "user_id": text("The account the event is about"),
            "client_id": text("The OAuth client involved"),
            "ip": text("The client address (after the trusted-proxy rule)"),
            "user_agent": text("The request's User-Agent (at most 256 bytes)"),
            "request_id": text("The request id (x-request-id)"),
            "detail": { "type": ["object", "null"], "description": "A small JSON object; never a secret" } } })
}

pub async fn document(State(state): State<AppState>) -> Json<Value> {
    Json(spec(state.provider.issuer()))
}

/// `/auth/passkey/*`: the WebAuthn ceremonies as JSON (begin hands out a `ceremony` id that
/// finish must send back; single use, at most 300 s).
fn add_passkeys(doc: &mut Value) {
    let bearer = json!([{ "bearer": [] }]);
    let started = json!({ "type": "object", "required": ["ceremony", "options"], "properties": {
        "ceremony": { "type": "string", "description": "Send it back with the answer (single use, 300 s)" },
        "options": { "type": "object", "description": "For navigator.credentials.create() / get(): {\"publicKey\": …}" } } });
    let credential = json!({ "type": "object", "description": "The authenticator's answer, as PublicKeyCredential.toJSON() gives it" });
    let refused: &[(&str, &str)] = &[
        ("400", "Invalid body, or the ceremony is not open (used, expired or unknown)"),
        (
            "401",
            "The answer was refused (origin, RP ID, challenge, signature, user verification, unknown credential, counter)",
        ),
        ("413", "Body too large"),
        ("415", "Not application/json"),
        ("429", "Too many failures from this address"),
        ("403", "Passkeys are not available on this server (its issuer has no domain name)"),
        ("503", "Too many ceremonies are waiting"),
    ];
    let paths = [
        (
            "/auth/passkey/register/begin",
            json!({ "post": { "summary": "Start adding a passkey to the caller's account (re-asks the password)",
            "security": bearer,
            "requestBody": body(object(&["current_password"], json!({ "current_password": { "type": "string" } }))),
            "responses": responses(("200", ok("The creation options", started.clone())), &with(&[("401", "No valid token"), ("403", "Token not issued for this API, or passkeys are not available on this server")])) } }),
        ),
        (
            "/auth/passkey/register/finish",
            json!({ "post": { "summary": "Store the new passkey (a notice mail goes to the owner)",
            "security": bearer,
            "requestBody": body(object(&["ceremony", "name", "credential"], json!({ "ceremony": { "type": "string" }, "name": { "type": "string", "maxLength": 64 }, "credential": credential }))),
            "responses": responses(("201", ok("The passkey", json!({ "type": "object", "required": ["id", "name", "created_at"], "properties": {
                "id": { "type": "string" }, "name": { "type": "string" }, "created_at": { "type": "integer" } } }))), refused) } }),
        ),
        (
            "/auth/passkey/login/begin",
            json!({ "post": { "summary": "Start a passwordless sign-in (no username: a discoverable credential)",
            "responses": responses(("200", ok("The request options", started)), &[("403", "Passkeys are not available on this server"), ("503", "Too many ceremonies are waiting")]) } }),
        ),
        (
            "/auth/passkey/login/finish",
            json!({ "post": { "summary": "Finish a passwordless sign-in: API tokens whose ID token carries amr hwk/swk, user, mfa",
            "requestBody": body(object(&["ceremony", "credential"], json!({ "ceremony": { "type": "string" }, "credential": credential }))),
            "responses": responses(("200", ok("Tokens and a new device_token", json!({ "$ref": "#/components/schemas/Tokens" }))), refused) } }),
        ),
    ];
    if let Some(map) = doc["paths"].as_object_mut() {
        for (path, item) in paths {
            map.insert(path.to_string(), item);
        }
    }
}
