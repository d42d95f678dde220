//! Portcullis integration tests: one binary, one `spawn_app()` per test (port 0, fresh
//! database, manual clock). Every scenario runs on SQLite; its PostgreSQL twin runs when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set and `--ignored` is passed (see `.ci/run`).

mod helpers;

mod account_flow;
mod admin_console;
mod api;
mod audit_api;
mod audit_identity;
mod audit_oauth;
mod audit_webhooks;
mod authorize;
mod backup;
mod bad_input;
mod branding;
mod cli;
mod client_token_alg;
mod config_apply;
mod crash_safety;
mod device_flow;
mod devices_apps;
mod forged;
mod http_limits;
mod key_rotation;
mod keys;
mod languages;
mod lean_sessions;
mod logout;
mod mail;
mod mail_at_rest;
mod mfa;
mod mfa_hardening;
mod oidc_flow;
mod operations;
mod outage;
mod passkeys;
mod recovery;
mod refresh_reuse;
mod security;
mod sessions;
mod throttle_rules;
mod throttling;
mod token;
mod token_audiences;
mod two_nodes;
mod user_import;
mod verification;
