//! The value types of a stored passkey, shared by the ceremonies and the store (which imports
//! this type module, never the service).

use super::super::user::UserId;

/// A passkey as the store keeps it.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    /// Our id for it (what the profile's rename and remove forms name).
    pub id: String,
    pub user_id: UserId,
    /// The WebAuthn credential id, base64url without padding.
    pub credential_id: String,
    /// The name its owner gave it.
    pub name: String,
    /// The credential as `webauthn-rs` serializes it (public key, algorithm, flags).
    pub credential: String,
    /// The highest sign counter seen (0: the authenticator keeps none).
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// Transports the browser reported at registration, space-separated (`internal hybrid`).
    pub transports: String,
    /// The authenticator model's AAGUID (all zeros when the authenticator does not say).
    pub aaguid: String,
    /// User verification (PIN, biometrics) was performed at registration.
    pub user_verified: bool,
    /// Its counter once went backwards (a possible clone): shown on the profile.
    pub counter_flagged: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What one successful assertion changes on its credential.
#[derive(Debug, Clone, Copy)]
pub struct Use {
    pub sign_count: i64,
    pub backup_state: bool,
    pub at: i64,
}
