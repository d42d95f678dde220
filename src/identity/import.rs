//! Accounts brought over from another system with their password hashes as they were
//! (`user import`): validated here, stored as-is, upgraded to argon2id at the owner's next
//! sign-in (see `login.rs`). An imported TOTP secret is sealed like an enrolled one.

use super::accounts::Accounts;
use super::email::Email;
use super::password::legacy::{ForeignHash, UnsupportedHash};
use super::user::{DisplayName, NewUser, Username};
use crate::audit::{Actor, Event, EventKind};
use crate::store::users::{self, WriteError};
use crate::store::{Store, audit, mfa};

/// One account to import, as read from a line of the file.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ImportFields {
    pub username: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub display_name: Option<String>,
    pub password_hash: String,
    #[serde(default)]
    pub totp_secret: Option<String>,
}

/// An account checked and ready to write.
pub struct ImportRecord {
    new: NewUser,
    hash: String,
    totp: Option<Vec<u8>>,
}

/// What importing one account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    Created,
    Updated,
    /// The username exists and `--update` was not given.
    Unchanged,
}

/// Why one line could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(String),
    #[error("password_hash: {0}")]
    Hash(#[from] UnsupportedHash),
    #[error("an account with that e-mail address exists")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ImportRecord {
    /// Validates every field; the hash must be a format [`ForeignHash`] knows.
    pub fn parse(f: ImportFields) -> Result<Self, ImportError> {
        let invalid = |field: &str, m: &str| ImportError::Invalid(format!("{field}: {m}"));
        let username = Username::parse(&f.username).map_err(|m| invalid("username", m))?;
        let email = Email::parse(&f.email).map_err(|m| invalid("email", m))?;
        let display_name = DisplayName::parse(f.display_name.as_deref().unwrap_or_default())
            .map_err(|m| invalid("display_name", m))?;
        ForeignHash::parse(f.password_hash.trim())?;
        let totp = match f.totp_secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(b32) => {
                let cleaned = b32.replace(' ', "").trim_end_matches('=').to_ascii_uppercase();
                let secret =
                    totp_rs::Secret::try_from_base32(cleaned).map_err(|_| invalid("totp_secret", "not base32"))?;
                let bytes = secret.as_ref().to_vec();
                if bytes.len() < 10 {
                    return Err(invalid("totp_secret", "shorter than 80 bits"));
                }
                Some(bytes)
            }
        };
        let new = NewUser { username, email, display_name, is_admin: false, email_verified: f.email_verified };
        Ok(Self { new, hash: f.password_hash.trim().to_string(), totp })
    }

    pub fn username(&self) -> &str {
        self.new.username.as_str()
    }
}

impl Accounts {
    /// Writes one imported account on `s` (the caller's transaction): the row, its sealed
    /// TOTP secret, and `user.created` by the CLI with `{"by":"import"}`. An existing
    /// username is left alone unless `update`.
    pub async fn import_user(&self, s: &impl Store, rec: &ImportRecord, update: bool) -> Result<Imported, ImportError> {
        let now = self.clock.unix();
        let sealed = rec.totp.as_deref().map(|t| self.totp_box.seal(t)).transpose()?;
        let taken = |e: WriteError| match e {
            WriteError::EmailTaken => ImportError::EmailTaken,
            WriteError::UsernameTaken => ImportError::Invalid("username: taken".into()),
            WriteError::Other(e) => ImportError::Internal(e),
        };
        let (id, outcome) = match users::id_by_username(s, &rec.new.username).await? {
            Some(_) if !update => return Ok(Imported::Unchanged),
            Some(id) => {
                users::import_update(s, id, &rec.new, &rec.hash, now).await.map_err(taken)?;
                (id, Imported::Updated)
            }
            None => {
                let user = users::insert(s, &rec.new, &rec.hash, now).await.map_err(taken)?;
                let event = Event::new(EventKind::UserCreated).actor(Actor::Cli).user(user.id).detail("by", "import");
                audit::append(s, self.clock.now_ms(), &event).await?;
                (user.id, Imported::Created)
            }
        };
        if let Some(sealed) = sealed {
            mfa::enable(s, id, &sealed, 0, now).await?;
        }
        Ok(outcome)
    }
}
