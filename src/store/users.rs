//! The `users` table.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use super::Store;
use super::entity::user::{self, Entity as Users};
use crate::identity::email::Email;
use crate::identity::user::{AdminChanges, DisplayName, NewUser, User, UserId, Username};

/// A write that hit a uniqueness rule, or failed for an infrastructure reason.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("username taken")]
    UsernameTaken,
    #[error("e-mail taken")]
    EmailTaken,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn write_error(err: sea_orm::DbErr, doing: &'static str) -> WriteError {
    match super::unique_violation(&err) {
        Some(detail) if detail.contains("email") => WriteError::EmailTaken,
        Some(detail) if detail.contains("username") => WriteError::UsernameTaken,
        _ => WriteError::Other(anyhow::Error::new(err).context(doing)),
    }
}

fn to_domain(m: user::Model) -> anyhow::Result<User> {
    Ok(User {
        id: UserId::parse(&m.id).with_context(|| format!("user id {:?} is not a UUID", m.id))?,
        username: m.username,
        email: m.email,
        email_verified: m.email_verified,
        display_name: m.display_name,
        is_admin: m.is_admin,
        disabled: m.disabled,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Inserts a user in one statement: either the whole row exists afterwards or nothing does.
pub async fn insert(db: &impl Store, new: &NewUser, password_hash: &str, now: i64) -> Result<User, WriteError> {
    let model = user::ActiveModel {
        id: Set(UserId::generate().to_string()),
        username: Set(new.username.as_str().to_string()),
        email: Set(new.email.as_str().to_string()),
        email_normalized: Set(new.email.normalized().to_string()),
        email_verified: Set(new.email_verified),
        password_hash: Set(password_hash.to_string()),
        display_name: Set(new.display_name.as_str().to_string()),
        is_admin: Set(new.is_admin),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = model.insert(db.connection()).await.map_err(|e| write_error(e, "inserting a user"))?;
    Ok(to_domain(inserted)?)
}

pub async fn find_by_id(db: &impl Store, id: UserId) -> anyhow::Result<Option<User>> {
    Users::find_by_id(id.to_string()).one(db.connection()).await.context("loading a user")?.map(to_domain).transpose()
}

/// How a person names their account at login.
#[derive(Debug, Clone)]
pub enum LoginName {
    Username(Username),
    Email(Email),
}

/// The user and their password hash, for a login or a re-authentication.
pub async fn find_credentials(db: &impl Store, name: &LoginName) -> anyhow::Result<Option<(User, String)>> {
    let query = match name {
        LoginName::Username(u) => Users::find().filter(user::Column::Username.eq(u.as_str())),
        LoginName::Email(e) => Users::find().filter(user::Column::EmailNormalized.eq(e.normalized())),
    };
    let Some(model) = query.one(db.connection()).await.context("looking up login credentials")? else {
        return Ok(None);
    };
    let hash = model.password_hash.clone();
    Ok(Some((to_domain(model)?, hash)))
}

/// Is the username in use? (A cheap check before hashing a registration's password; the
/// unique index still decides a race.)
pub async fn username_taken(db: &impl Store, username: &Username) -> anyhow::Result<bool> {
    let found = Users::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .count(db.connection())
        .await
        .context("checking a username")?;
    Ok(found > 0)
}

pub async fn find_by_email(db: &impl Store, email: &Email) -> anyhow::Result<Option<User>> {
    Users::find()
        .filter(user::Column::EmailNormalized.eq(email.normalized()))
        .one(db.connection())
        .await
        .context("looking up a user by e-mail")?
        .map(to_domain)
        .transpose()
}

/// Marks the address verified, if it is still the one the link was sent to.
pub async fn mark_email_verified(db: &impl Store, id: UserId, email: &str, now: i64) -> anyhow::Result<bool> {
    let changed = super::execute(
        db,
        "UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3 AND email_normalized = $4",
        vec![true.into(), now.into(), id.to_string().into(), email.to_lowercase().into()],
    )
    .await
    .context("marking an address verified")?;
    Ok(changed == 1)
}

pub async fn password_hash(db: &impl Store, id: UserId) -> anyhow::Result<Option<String>> {
    Ok(Users::find_by_id(id.to_string())
        .one(db.connection())
        .await
        .context("loading a password hash")?
        .map(|m| m.password_hash))
}

pub async fn set_display_name(db: &impl Store, id: UserId, name: &DisplayName, now: i64) -> anyhow::Result<()> {
    let model = user::ActiveModel {
        id: Set(id.to_string()),
        display_name: Set(name.as_str().to_string()),
        updated_at: Set(now),
        ..Default::default()
    };
    model.update(db.connection()).await.context("updating a display name")?;
    Ok(())
}

pub async fn set_password_hash(db: &impl Store, id: UserId, hash: &str, now: i64) -> anyhow::Result<()> {
    let model = user::ActiveModel {
        id: Set(id.to_string()),
        password_hash: Set(hash.to_string()),
        updated_at: Set(now),
        ..Default::default()
    };
    model.update(db.connection()).await.context("updating a password hash")?;
    Ok(())
}

/// Changes the address (after its owner proved it, so it is verified).
pub async fn set_email(db: &impl Store, id: UserId, email: &Email, verified: bool, now: i64) -> Result<(), WriteError> {
    let model = user::ActiveModel {
        id: Set(id.to_string()),
        email: Set(email.as_str().to_string()),
        email_normalized: Set(email.normalized().to_string()),
        email_verified: Set(verified),
        updated_at: Set(now),
        ..Default::default()
    };
    model.update(db.connection()).await.map_err(|e| write_error(e, "updating an e-mail address"))?;
    Ok(())
}

/// Every user, oldest first (UUID v7 ids sort by creation).
pub async fn list(db: &impl Store) -> anyhow::Result<Vec<User>> {
    Users::find()
        .order_by_asc(user::Column::Id)
        .all(db.connection())
        .await
        .context("listing users")?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Escapes `%`, `_` and `\` so a search term matches only itself.
fn like_pattern(term: &str) -> String {
    let mut out = String::from("%");
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A page of users, oldest first, optionally matching `q` in username, e-mail or name.
pub async fn search(db: &impl Store, q: Option<&str>, limit: u64, offset: u64) -> anyhow::Result<Vec<User>> {
    let mut sql = String::from(
        "SELECT id, username, email, email_normalized, email_verified, password_hash, display_name, is_admin, disabled, created_at, updated_at \
         FROM users",
    );
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        sql.push_str(
            " WHERE username LIKE $1 ESCAPE '\\' OR email_normalized LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\'",
        );
        values.push(like_pattern(q).into());
    }
    let n = values.len();
    sql.push_str(&format!(" ORDER BY id LIMIT ${} OFFSET ${}", n + 1, n + 2));
    values.push((limit as i64).into());
    values.push((offset as i64).into());
    let rows = super::query_all(db, &sql, values).await.context("searching users")?;
    rows.iter()
        .map(|r| {
            to_domain(user::Model {
                id: r.try_get_by_index(0)?,
                username: r.try_get_by_index(1)?,
                email: r.try_get_by_index(2)?,
                email_normalized: r.try_get_by_index(3)?,
                email_verified: r.try_get_by_index(4)?,
                password_hash: String::new(),
                display_name: r.try_get_by_index(6)?,
                is_admin: r.try_get_by_index(7)?,
                disabled: r.try_get_by_index(8)?,
                created_at: r.try_get_by_index(9)?,
                updated_at: r.try_get_by_index(10)?,
            })
        })
        .collect()
}

/// Writes an administrator's changes; a `None` field is left as it is.
pub async fn admin_update(db: &impl Store, id: UserId, c: &AdminChanges, now: i64) -> Result<(), WriteError> {
    let mut model = user::ActiveModel { id: Set(id.to_string()), updated_at: Set(now), ..Default::default() };
    if let Some(name) = &c.display_name {
        model.display_name = Set(name.as_str().to_string());
    }
    if let Some(email) = &c.email {
        model.email = Set(email.as_str().to_string());
        model.email_normalized = Set(email.normalized().to_string());
        model.email_verified = Set(false);
    }
    if let Some(admin) = c.is_admin {
        model.is_admin = Set(admin);
    }
    if let Some(disabled) = c.disabled {
        model.disabled = Set(disabled);
    }
    model.update(db.connection()).await.map_err(|e| write_error(e, "updating a user"))?;
    Ok(())
}

/// Deletes a user; sessions, grants, tokens, consents and codes go with the row.
pub async fn delete(db: &impl Store, id: UserId) -> anyhow::Result<bool> {
    Ok(super::execute(db, "DELETE FROM users WHERE id = $1", vec![id.to_string().into()])
        .await
        .context("deleting a user")?
        == 1)
}
