//! The OAuth 2.0 / OpenID Connect provider: clients, keys, the authorization request, the
//! grants, tokens, revocation, introspection and logout. No axum or SeaORM types here; the
//! endpoints in `http::oauth` call [`provider::Provider`].

/// Token audiences: who each access token is for, and who may use or inspect it.
pub mod audience;
/// Authorization requests: parsing, the checks in order, and the decision.
pub mod authorize;
/// Registered clients.
pub mod client;
/// A per-node cache of clients (read on every token request).
pub mod client_cache;
/// Client management (create, change, new secret, delete), for the CLI and the console.
pub mod clients;
/// Clients as a configuration file declares them: compared and written on the apply's transaction.
pub mod declared;
/// The device authorization grant's request and the person's answer (RFC 8628 §3.1–3.3).
pub mod device;
/// RFC error codes, split by how they travel.
pub mod error;
/// Tokens for the first-party JSON API.
pub mod first_party;
/// The grants of the token endpoint, one file each.
pub mod grant;
/// Refresh and client-credentials issuances, counted for the audit log.
pub mod issuance;
/// When signing keys rotate (schedule, publish delay, retirement) and each key's state.
pub mod key_rotation;
/// Signing keys: generation, rotation, JWKS, signing, verification.
pub mod keys;
/// RP-initiated logout.
pub mod logout;
/// PKCE S256.
pub mod pkce;
/// The provider service.
pub mod provider;
/// Redirect URIs: registration rules and exact matching.
pub mod redirect;
/// Revocation (RFC 7009) and introspection (RFC 7662).
pub mod revocation;
/// Scopes.
pub mod scope;
/// Access and ID tokens: claims, signing, strict verification.
pub mod tokens;
/// Value types the grants and the store share (GrantId, Amr).
pub mod values;
