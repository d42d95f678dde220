//! What an administrator may do to other accounts. Disabling a user ends their sessions and
//! revokes every grant at once; deleting removes everything that hangs off the account.

use tracing::instrument;

use super::accounts::Accounts;
// `AdminChanges` is a plain value type, defined with the user record so that the store, which
// writes it, need not import this service module (which imports the store).
pub use super::user::AdminChanges;
use super::user::{User, UserId};
use crate::store::users::{self, WriteError};
use crate::store::{grants, sessions};

pub const MAX_PAGE: u64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such user")]
    NotFound,
    #[error("the e-mail address belongs to another account")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AdminError {
    /// For a caller with no answer of its own for this refusal: an internal error as it
    /// came (its whole chain, for the log), any other refusal as an error of its own.
    pub fn into_internal(self) -> anyhow::Error {
        match self {
            Self::Internal(e) => e,
            other => anyhow::Error::new(other),
        }
    }
}

impl Accounts {
    pub async fn search_users(&self, q: Option<&str>, limit: u64, offset: u64) -> anyhow::Result<Vec<User>> {
        users::search(&self.db, q, limit.clamp(1, MAX_PAGE), offset).await
    }

    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn admin_update(&self, id: UserId, changes: AdminChanges) -> Result<User, AdminError> {
        let now = self.clock.unix();
        if users::find_by_id(&self.db, id).await?.is_none() {
            return Err(AdminError::NotFound);
        }
        let tx = self.db.begin().await?;
        match users::admin_update(&tx, id, &changes, now).await {
            Ok(()) => {}
            Err(WriteError::EmailTaken) => return Err(AdminError::EmailTaken),
            Err(WriteError::UsernameTaken) => return Err(AdminError::Internal(anyhow::anyhow!("username conflict"))),
            Err(WriteError::Other(e)) => return Err(AdminError::Internal(e)),
        }
        if changes.disabled == Some(true) {
            sessions::end_all_for_user(&tx, id, None).await?;
            grants::revoke_all_for_user(&tx, id, now).await?;
        }
        let user = users::find_by_id(&tx, id).await?.ok_or(AdminError::NotFound)?;
        tx.commit().await?;
        tracing::info!(disabled = user.disabled, is_admin = user.is_admin, "user updated by an administrator");
        Ok(user)
    }

    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(&self, id: UserId) -> Result<(), AdminError> {
        if users::delete(&self.db, id).await? {
            tracing::info!("user deleted");
            Ok(())
        } else {
            Err(AdminError::NotFound)
        }
    }
}
