//! Adding a passkey to one's account (begin: the options for `navigator.credentials.create`;
//! finish: the authenticator's answer checked and stored), and the profile's list, rename and
//! remove. Every addition and removal is an audit event and a notice mail, on the change's
//! transaction. The surfaces check that the sign-in is recent before they call `begin`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{RegisterPublicKeyCredential, Uuid};

use super::credential::StoredPasskey;
use super::{CeremonyId, PasskeyError, PendingKind, rejected};
use crate::audit::{Actor, Event, EventKind};
use crate::identity::accounts::Accounts;
use crate::identity::email::Email;
use crate::identity::user::{User, UserId};
use crate::mail::Mail;
use crate::store::passkeys::{self as store, Removal};
use crate::store::{Store, audit};

/// The longest name a passkey may have (characters).
pub const NAME_MAX: usize = 64;

/// A passkey's name as its owner typed it: trimmed, 1 to [`NAME_MAX`] characters, no controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(typed: &str) -> Result<Self, &'static str> {
        let name = typed.trim();
        if name.is_empty() {
            return Err("Give the passkey a name, for example the device it is on.");
        }
        if name.chars().count() > NAME_MAX {
            return Err("A passkey's name can have at most 64 characters.");
        }
        if name.chars().any(char::is_control) {
            return Err("A passkey's name cannot contain control characters.");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The options to hand to `navigator.credentials.create()` (`{"publicKey": …}`), and the id
/// of the ceremony that waits for the answer.
#[derive(Debug)]
pub struct RegistrationStarted {
    pub options: serde_json::Value,
    pub ceremony: CeremonyId,
}

impl Accounts {
    /// Starts adding a passkey for `user`: a discoverable credential with user verification
    /// (so it can sign in alone), excluding the authenticators already registered.
    pub async fn begin_passkey_registration(&self, user: &User) -> Result<RegistrationStarted, PasskeyError> {
        let handle = self.passkey_handle(user.id).await?;
        let existing = store::list_for_user(&self.db, user.id).await?;
        let exclude = existing.iter().filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok()).collect::<Vec<_>>();
        let (ccr, state) = self
            .passkeys
            .webauthn()?
            .start_passkey_registration(handle, &user.username, user.name(), Some(exclude))
            .map_err(|e| anyhow::Error::new(e).context("starting a passkey registration"))?;
        let mut options = serde_json::to_value(&ccr).map_err(anyhow::Error::new)?;
        // A passkey here must be discoverable (sign-in without a username): ask for a
        // resident key. (webauthn-rs leaves it to the authenticator.)
        if let Some(selection) =
            options.pointer_mut("/publicKey/authenticatorSelection").and_then(|v| v.as_object_mut())
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let kind = PendingKind::Register { user: user.id, state: Box::new(state) };
        let ceremony = self.passkeys.keep(kind, self.clock.unix())?;
        Ok(RegistrationStarted { options, ceremony })
    }

    /// Checks the authenticator's answer to the ceremony and stores the new passkey under
    /// `name`; records `passkey.added` and queues the notice mail in the same transaction.
    pub async fn finish_passkey_registration(
        &self,
        user: &User,
        ceremony: &CeremonyId,
        name: &PasskeyName,
        answer: &serde_json::Value,
    ) -> Result<StoredPasskey, PasskeyError> {
        let now = self.clock.unix();
        let PendingKind::Register { user: owner, state } = self.passkeys.take(ceremony, now)? else {
            return Err(PasskeyError::NoCeremony);
        };
        if owner != user.id {
            return Err(PasskeyError::NoCeremony);
        }
        let reg: RegisterPublicKeyCredential = serde_json::from_value(answer.clone())
            .map_err(|_| PasskeyError::Rejected("it is not a valid passkey answer"))?;
        let passkey = self.passkeys.webauthn()?.finish_passkey_registration(&reg, &state).map_err(rejected)?;
        let credential = serde_json::to_value(&passkey).map_err(anyhow::Error::new)?;
        let flag = |name: &str| credential.pointer(&format!("/cred/{name}")).and_then(|v| v.as_bool()).unwrap_or(false);
        let transports = reg
            .response
            .transports
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join(" ");
        let stored = StoredPasskey {
            id: Uuid::now_v7().to_string(),
            user_id: user.id,
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            name: name.as_str().to_string(),
            credential: credential.to_string(),
            sign_count: credential.pointer("/cred/counter").and_then(|v| v.as_i64()).unwrap_or(0),
            backup_eligible: flag("backup_eligible"),
            backup_state: flag("backup_state"),
            transports,
            aaguid: aaguid(&reg.response.attestation_object).unwrap_or_else(|| Uuid::nil().to_string()),
            user_verified: flag("user_verified"),
            counter_flagged: false,
            created_at: now,
            last_used_at: None,
        };
        let tx = self.db.begin().await?;
        if store::insert(&tx, &stored).await?.is_err() {
            return Err(PasskeyError::Rejected("this passkey is registered already"));
        }
        let event = Event::new(EventKind::PasskeyAdded)
            .actor(Actor::User(user.id))
            .user(user.id)
            .detail("passkey_id", stored.id.as_str())
            .detail("aaguid", stored.aaguid.as_str());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        self.passkey_notice(&tx, user, "mail-notice-passkey-added").await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, passkey_id = %stored.id, "passkey added");
        Ok(stored)
    }

    /// Re-asks for the password before a passkey is added through the API (throttled like a
    /// login by the name's budget): false when it is wrong.
    pub async fn confirm_password(&self, user: &User, current: &crate::secret::Secret) -> anyhow::Result<bool> {
        use crate::identity::accounts::ChangeError;
        match self.check_current_password(user, current).await {
            Ok(()) => Ok(true),
            Err(ChangeError::WrongCurrentPassword | ChangeError::Policy(_)) => Ok(false),
            Err(ChangeError::Internal(e)) => Err(e),
        }
    }

    /// The person's passkeys, oldest first.
    pub async fn passkeys_of(&self, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        store::list_for_user(&self.db, user).await
    }

    /// Renames one of the person's passkeys; false when they have none by that id.
    pub async fn rename_passkey(&self, user: UserId, id: &str, name: &PasskeyName) -> anyhow::Result<bool> {
        store::rename(&self.db, user, id, name.as_str()).await
    }

    /// Removes one of the person's passkeys (never the last way into an account without a
    /// password); `passkey.removed` and the notice mail go with it.
    pub async fn remove_passkey(&self, user: &User, id: &str) -> anyhow::Result<Removal> {
        let tx = self.db.begin().await?;
        let removal = store::remove(&tx, user.id, id).await?;
        if let Removal::Removed(_) = &removal {
            let event = Event::new(EventKind::PasskeyRemoved)
                .actor(Actor::User(user.id))
                .user(user.id)
                .detail("passkey_id", id);
            audit::append(&tx, self.clock.now_ms(), &event).await?;
            self.passkey_notice(&tx, user, "mail-notice-passkey-removed").await?;
        }
        tx.commit().await?;
        self.outbox.wake();
        Ok(removal)
    }

    /// The person's WebAuthn user handle, made on first use (random: never the username).
    async fn passkey_handle(&self, user: UserId) -> anyhow::Result<Uuid> {
        let handle = match store::handle_of(&self.db, user).await? {
            Some(handle) => handle,
            None => store::ensure_handle(&self.db, user, &Uuid::new_v4().to_string()).await?,
        };
        Uuid::parse_str(&handle).map_err(anyhow::Error::new)
    }

    /// The security-notice mail; `what` is its message key (`locales/*/mail.ftl`).
    pub(super) async fn passkey_notice(&self, s: &impl Store, user: &User, what: &str) -> anyhow::Result<()> {
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let mail = Mail::SecurityNotice { name: user.name().to_string(), what: what.to_string() };
        self.outbox.queue_in(s, &address, user.locale, mail, self.clock.unix()).await
    }
}

/// The AAGUID in a registration's attestation object (CBOR map, `authData`: rpIdHash 32,
/// flags 1, counter 4, then the attested credential data starting with the AAGUID), if any.
fn aaguid(attestation_object: &[u8]) -> Option<String> {
    let value: serde_cbor_2::Value = serde_cbor_2::from_slice(attestation_object).ok()?;
    let serde_cbor_2::Value::Map(map) = value else { return None };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (serde_cbor_2::Value::Text(k), serde_cbor_2::Value::Bytes(v)) if k == "authData" => Some(v),
        _ => None,
    })?;
    let bytes: [u8; 16] = auth_data.get(37..53)?.try_into().ok()?;
    Some(Uuid::from_bytes(bytes).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_name_is_trimmed_and_bounded() {
        assert_eq!(PasskeyName::parse("  Laptop ").unwrap().as_str(), "Laptop");
        assert!(PasskeyName::parse("   ").is_err(), "blank");
        assert!(PasskeyName::parse(&"x".repeat(65)).is_err(), "too long");
        assert!(PasskeyName::parse("a\u{7}b").is_err(), "control character");
    }
}
