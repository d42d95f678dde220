//! The account domain: who users are, how they prove it, and how we slow down those who
//! guess. Nothing here knows about HTTP or SeaORM; handlers call [`accounts::Accounts`].

/// Registration, login, profile changes: the use cases the surfaces call.
pub mod accounts;
/// Administration of other accounts.
pub mod admin;
/// The clients a person has let in, and removing their access.
pub mod connected_apps;
/// Where a person is signed in: listing and ending their browser sessions.
pub mod devices;
/// E-mail addresses, parsed and normalized for uniqueness.
pub mod email;
/// `user import`: accounts from another system, with their password hashes.
pub mod import;
/// Signing in with a password: admit, check, then success or failure bookkeeping.
pub mod login;
/// Two-factor authentication: TOTP and recovery codes.
pub mod mfa;
/// The mail sent when a sign-in completes on a device not known before.
mod new_device;
/// Passkeys (WebAuthn): registration, passwordless sign-in, the relying party.
pub mod passkeys;
/// Password policy, normalization and argon2id hashing.
pub mod password;
/// Changes users make to their own account; confirming addresses.
pub mod profile;
/// Password reset by e-mail link.
pub mod recovery;
/// Proving the second factor within atomic budgets; step-up for 2FA changes.
pub mod second_factor;
/// The browser session id, as the domain and the store see it.
pub mod session;
/// The audit events of a sign-in: success after every factor, failure by reason class.
pub mod sign_in_events;
/// The surface an action came in through, for audit details.
pub mod surface;
/// Per-account and per-IP login throttling and known devices.
pub mod throttle;
/// The user record and its small value types.
pub mod user;
/// A short device summary ("Firefox on Linux") from a user agent.
pub mod user_agent;
