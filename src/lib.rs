//! Portcullis: a self-hosted OAuth 2.0 / OpenID Connect authorization server with hosted
//! account pages. The binary in `main.rs` is a thin shell around this library, and the
//! integration tests build the very same [`startup::Application`].

/// The audit log's domain: security events, who caused them, how the log is read.
pub mod audit;
/// The operator's brand: names, logo, colours, template overrides (read at start).
pub mod branding;
/// Command-line interface: `serve`, `migrate`, `user …`.
pub mod cli;
/// Injectable wall clock, so expiry logic takes `now` as a parameter.
pub mod clock;
/// Typed, layered settings: defaults < config file < environment.
pub mod config;
/// Encryption at rest (AES-256-GCM under keys derived from SECRET_KEY).
pub mod crypto;
/// Configuration as code: `portcullis apply FILE` reconciles declared clients, with a plan.
pub mod declarative;
/// HTTP surfaces: hosted pages, health, static assets, shared layers.
pub mod http;
/// Languages: the shipped messages, their lookup and the choice of a language.
pub mod i18n;
/// Users, passwords, login throttling: the account domain.
pub mod identity;
/// The JWS algorithm names shared by the settings and the signing keys.
pub mod jws;
/// Outgoing mail: typed messages, the durable outbox and its delivery worker.
pub mod mail;
/// IP networks (trusted proxies).
pub mod net;
/// The OAuth 2.0 / OpenID Connect provider.
pub mod oauth;
/// Outbound HTTP requests (webhooks): plain TCP or TLS, one timeout, no redirects.
pub mod outbound;
/// Property tests of the parsers and verifiers (test builds only).
#[cfg(test)]
mod proptests;
/// Secret values that redact themselves in logs and `Debug` output.
pub mod secret;
/// The HTTP server loop (header-read timeout, graceful shutdown).
pub mod server;
/// Builds and runs the application (listener, state, router).
pub mod startup;
/// Shared application state handed to every handler.
pub mod state;
/// Database connection, migrations and repositories.
pub mod store;
/// Logging setup.
pub mod telemetry;
