//! The `users` table.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Count, Store, StoreError, execute, query_all, query_one};
use crate::i18n::Lang;
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

fn write_error(err: StoreError, doing: &'static str) -> WriteError {
    match super::unique_violation(&err) {
        Some(detail) if detail.contains("email") => WriteError::EmailTaken,
        Some(detail) if detail.contains("username") => WriteError::UsernameTaken,
        _ => WriteError::Other(anyhow::Error::new(err).context(doing)),
    }
}

/// The columns of a [`UserRow`].
const COLUMNS: &str = "id, username, email, email_normalized, email_verified, display_name, is_admin, disabled, created_at, updated_at, locale";

/// A `users` row as the domain sees it (no password hash, no second-factor state).
#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    display_name: String,
    is_admin: bool,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
    locale: Option<String>,
}

/// A user row with its password hash.
#[derive(Debug, FromQueryResult)]
struct CredentialsRow {
    #[sea_orm(nested)]
    user: UserRow,
    password_hash: String,
}

#[derive(Debug, FromQueryResult)]
struct HashRow {
    password_hash: String,
}

/// An update of one user by id touched no row: the user is gone (as SeaORM's update said).
fn updated(changed: u64, doing: &'static str) -> anyhow::Result<()> {
    anyhow::ensure!(changed == 1, "{doing}: no user row was updated");
    Ok(())
}

fn to_domain(m: UserRow) -> anyhow::Result<User> {
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
        locale: m.locale.as_deref().and_then(Lang::from_tag),
    })
}

/// Sets (or clears) a user's language.
pub async fn set_locale(db: &impl Store, id: UserId, locale: Option<Lang>, now: i64) -> anyhow::Result<()> {
    let changed = execute(
        db,
        "UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3",
        vec![locale.map(|l| l.tag().to_string()).into(), now.into(), id.to_string().into()],
    )
    .await
    .context("setting a user's language")?;
    updated(changed, "setting a user's language")
}

/// Inserts a user in one statement: either the whole row exists afterwards or nothing does.
pub async fn insert(db: &impl Store, new: &NewUser, password_hash: &str, now: i64) -> Result<User, WriteError> {
    let row: Option<UserRow> = query_one(
        db,
        &format!(
            "INSERT INTO users (id, username, email, email_normalized, email_verified, password_hash, display_name, is_admin, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
        ),
        vec![
            UserId::generate().to_string().into(),
            new.username.as_str().into(),
            new.email.as_str().into(),
            new.email.normalized().into(),
            new.email_verified.into(),
            password_hash.into(),
            new.display_name.as_str().into(),
            new.is_admin.into(),
            false.into(),
            now.into(),
        ],
    )
    .await
    .map_err(|e| write_error(e, "inserting a user"))?;
    let row = row.context("an inserted user row")?;
    Ok(to_domain(row)?)
}

/// Inserts many users sharing one password hash in one statement, skipping any whose
/// username or address is taken (bench and bulk data). Returns how many rows it added.
pub async fn insert_many(db: &impl Store, new: &[NewUser], password_hash: &str, now: i64) -> anyhow::Result<u64> {
    if new.is_empty() {
        return Ok(0);
    }
    let mut sql = String::from(
        "INSERT INTO users (id, username, email, email_normalized, email_verified, password_hash, display_name, is_admin, disabled, created_at, updated_at) VALUES ",
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(new.len() * 11);
    for (i, user) in new.iter().enumerate() {
        let base = values.len();
        if i > 0 {
            sql.push(',');
        }
        let slots: Vec<String> = (1..=11).map(|k| format!("${}", base + k)).collect();
        sql.push_str(&format!("({})", slots.join(",")));
        values.extend([
            UserId::generate().to_string().into(),
            user.username.as_str().into(),
            user.email.as_str().into(),
            user.email.normalized().into(),
            user.email_verified.into(),
            password_hash.into(),
            user.display_name.as_str().into(),
            user.is_admin.into(),
            false.into(),
            now.into(),
            now.into(),
        ]);
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    execute(db, &sql, values).await.context("inserting users")
}

pub async fn find_by_id(db: &impl Store, id: UserId) -> anyhow::Result<Option<User>> {
    let row = query_one(db, &format!("SELECT {COLUMNS} FROM users WHERE id = $1"), vec![id.to_string().into()])
        .await
        .context("loading a user")?;
    row.map(to_domain).transpose()
}

/// How a person names their account at login.
#[derive(Debug, Clone)]
pub enum LoginName {
    Username(Username),
    Email(Email),
}

/// The user and their password hash, for a login or a re-authentication.
pub async fn find_credentials(db: &impl Store, name: &LoginName) -> anyhow::Result<Option<(User, String)>> {
    let (column, value) = match name {
        LoginName::Username(u) => ("username", u.as_str()),
        LoginName::Email(e) => ("email_normalized", e.normalized()),
    };
    let row: Option<CredentialsRow> =
        query_one(db, &format!("SELECT {COLUMNS}, password_hash FROM users WHERE {column} = $1"), vec![value.into()])
            .await
            .context("looking up login credentials")?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((to_domain(row.user)?, row.password_hash)))
}

/// Is the username in use? (A cheap check before hashing a registration's password; the
/// unique index still decides a race.)
pub async fn username_taken(db: &impl Store, username: &Username) -> anyhow::Result<bool> {
    let found: Option<Count> =
        query_one(db, "SELECT COUNT(*) AS n FROM users WHERE username = $1", vec![username.as_str().into()])
            .await
            .context("checking a username")?;
    Ok(found.is_some_and(|c| c.n > 0))
}

/// The id behind a username, if it is in use.
pub async fn id_by_username(db: &impl Store, username: &Username) -> anyhow::Result<Option<UserId>> {
    #[derive(FromQueryResult)]
    struct IdRow {
        id: String,
    }
    let row: Option<IdRow> = query_one(db, "SELECT id FROM users WHERE username = $1", vec![username.as_str().into()])
        .await
        .context("looking up a username")?;
    row.map(|r| UserId::parse(&r.id).with_context(|| format!("user id {:?} is not a UUID", r.id))).transpose()
}

/// Overwrites an imported account's address, name and password hash (`user import --update`).
pub async fn import_update(
    db: &impl Store,
    id: UserId,
    new: &NewUser,
    password_hash: &str,
    now: i64,
) -> Result<(), WriteError> {
    let changed = execute(
        db,
        "UPDATE users SET email = $1, email_normalized = $2, email_verified = $3, display_name = $4, password_hash = $5, updated_at = $6 WHERE id = $7",
        vec![
            new.email.as_str().into(),
            new.email.normalized().into(),
            new.email_verified.into(),
            new.display_name.as_str().into(),
            password_hash.into(),
            now.into(),
            id.to_string().into(),
        ],
    )
    .await
    .map_err(|e| write_error(e, "updating an imported user"))?;
    Ok(updated(changed, "updating an imported user")?)
}

pub async fn find_by_email(db: &impl Store, email: &Email) -> anyhow::Result<Option<User>> {
    let row = query_one(
        db,
        &format!("SELECT {COLUMNS} FROM users WHERE email_normalized = $1"),
        vec![email.normalized().into()],
    )
    .await
    .context("looking up a user by e-mail")?;
    row.map(to_domain).transpose()
}

/// Marks the address verified, if it is still the one the link was sent to.
pub async fn mark_email_verified(db: &impl Store, id: UserId, email: &str, now: i64) -> anyhow::Result<bool> {
    let changed = execute(
        db,
        "UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3 AND email_normalized = $4",
        vec![true.into(), now.into(), id.to_string().into(), email.to_lowercase().into()],
    )
    .await
    .context("marking an address verified")?;
    Ok(changed == 1)
}

pub async fn password_hash(db: &impl Store, id: UserId) -> anyhow::Result<Option<String>> {
    let row: Option<HashRow> =
        query_one(db, "SELECT password_hash FROM users WHERE id = $1", vec![id.to_string().into()])
            .await
            .context("loading a password hash")?;
    Ok(row.map(|r| r.password_hash))
}

pub async fn set_display_name(db: &impl Store, id: UserId, name: &DisplayName, now: i64) -> anyhow::Result<()> {
    let changed = execute(
        db,
        "UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3",
        vec![name.as_str().into(), now.into(), id.to_string().into()],
    )
    .await
    .context("updating a display name")?;
    updated(changed, "updating a display name")
}

pub async fn set_password_hash(db: &impl Store, id: UserId, hash: &str, now: i64) -> anyhow::Result<()> {
    let changed = execute(
        db,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        vec![hash.into(), now.into(), id.to_string().into()],
    )
    .await
    .context("updating a password hash")?;
    updated(changed, "updating a password hash")
}

/// Changes the address (after its owner proved it, so it is verified).
pub async fn set_email(db: &impl Store, id: UserId, email: &Email, verified: bool, now: i64) -> Result<(), WriteError> {
    let changed = execute(
        db,
        "UPDATE users SET email = $1, email_normalized = $2, email_verified = $3, updated_at = $4 WHERE id = $5",
        vec![email.as_str().into(), email.normalized().into(), verified.into(), now.into(), id.to_string().into()],
    )
    .await
    .map_err(|e| write_error(e, "updating an e-mail address"))?;
    Ok(updated(changed, "updating an e-mail address")?)
}

/// Every user, oldest first (UUID v7 ids sort by creation).
pub async fn list(db: &impl Store) -> anyhow::Result<Vec<User>> {
    let rows =
        query_all(db, &format!("SELECT {COLUMNS} FROM users ORDER BY id"), vec![]).await.context("listing users")?;
    rows.into_iter().map(to_domain).collect()
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
    let mut sql = format!("SELECT {COLUMNS} FROM users");
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
    let rows = query_all(db, &sql, values).await.context("searching users")?;
    rows.into_iter().map(to_domain).collect()
}

/// Writes an administrator's changes; a `None` field is left as it is.
pub async fn admin_update(db: &impl Store, id: UserId, c: &AdminChanges, now: i64) -> Result<(), WriteError> {
    let mut sets = vec!["updated_at = $1".to_string()];
    let mut values: Vec<sea_orm::Value> = vec![now.into()];
    let mut set = |column: &str, value: sea_orm::Value| {
        values.push(value);
        sets.push(format!("{column} = ${}", values.len()));
    };
    if let Some(name) = &c.display_name {
        set("display_name", name.as_str().into());
    }
    if let Some(email) = &c.email {
        set("email", email.as_str().into());
        set("email_normalized", email.normalized().into());
        set("email_verified", false.into());
    }
    if let Some(admin) = c.is_admin {
        set("is_admin", admin.into());
    }
    if let Some(disabled) = c.disabled {
        set("disabled", disabled.into());
    }
    values.push(id.to_string().into());
    let sql = format!("UPDATE users SET {} WHERE id = ${}", sets.join(", "), values.len());
    let changed = execute(db, &sql, values).await.map_err(|e| write_error(e, "updating a user"))?;
    Ok(updated(changed, "updating a user")?)
}

/// Deletes a user; sessions, grants, tokens, consents and codes go with the row.
pub async fn delete(db: &impl Store, id: UserId) -> anyhow::Result<bool> {
    Ok(execute(db, "DELETE FROM users WHERE id = $1", vec![id.to_string().into()]).await.context("deleting a user")?
        == 1)
}
