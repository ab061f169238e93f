//! Users: the people of member organisations, the hub and the regulator
//! who call the API. A user has a role (as a token does) and, for a member,
//! an organisation; a token made for a user ([`Store::create_user_token`])
//! speaks for both, so the audit log names the person behind every read.
//! A user is never deleted (the audit log refers to it): it is disabled,
//! which revokes its tokens in the same transaction.

use crate::{col, next_id, now_micros, Result, Role, Store, StoreError};

/// A user to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// The organisation (required for members).
    pub org_id: Option<i64>,
    /// The person's name.
    pub name: String,
    /// Where to reach the person, if given.
    pub email: Option<String>,
    /// What the person may do.
    pub role: Role,
}

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The store's id.
    pub id: i64,
    /// The organisation, if any.
    pub org_id: Option<i64>,
    /// The person's name.
    pub name: String,
    /// Where to reach the person.
    pub email: Option<String>,
    /// What the person may do.
    pub role: Role,
    /// Wall time registered (Unix microseconds).
    pub created_at: i64,
    /// Wall time disabled, if it was.
    pub disabled_at: Option<i64>,
}

impl NewUser {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(StoreError::invalid(
                "name",
                "1 to 200 characters / 1〜200 文字",
            ));
        }
        if let Some(e) = &self.email {
            let mut parts = e.splitn(2, '@');
            let ok = matches!((parts.next(), parts.next()), (Some(l), Some(d)) if !l.is_empty() && d.contains('.'))
                && e.len() <= 254
                && !e.contains(char::is_whitespace);
            if !ok {
                return Err(StoreError::invalid(
                    "email",
                    format!("{e:?} is not an e-mail address / メールアドレスではありません"),
                ));
            }
        }
        if self.role == Role::Member && self.org_id.is_none() {
            return Err(StoreError::invalid(
                "org",
                "a member needs an organisation / member には組織が必要です",
            ));
        }
        Ok(())
    }
}

const USER_COLUMNS: &str = "id, org_id, name, email, role, created_at, disabled_at";

fn user(row: &sqlx::any::AnyRow) -> Result<User> {
    let role: String = col(row, "role")?;
    Ok(User {
        id: col(row, "id")?,
        org_id: col(row, "org_id")?,
        name: col(row, "name")?,
        email: col(row, "email")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            what: "user role",
            message: role.clone(),
        })?,
        created_at: col(row, "created_at")?,
        disabled_at: col(row, "disabled_at")?,
    })
}

/// One user, within the caller's transaction.
pub(crate) async fn user_in(tx: &mut sqlx::AnyConnection, id: i64) -> Result<Option<User>> {
    let q = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| user(&r))
        .transpose()
}

/// The active (not disabled) user `id`, within the caller's transaction;
/// refused naming the field `user` otherwise.
pub(crate) async fn active_user_in(tx: &mut sqlx::AnyConnection, id: i64) -> Result<User> {
    user_in(tx, id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| {
            StoreError::invalid(
                "user",
                format!("no active user {id} / 有効な利用者 {id} はいません"),
            )
        })
}

impl Store {
    /// Registers a user.
    pub async fn add_user(&self, new: &NewUser) -> Result<User> {
        new.validate()?;
        let mut tx = self.write().await?;
        if let Some(org) = new.org_id {
            crate::orgs::require_org(&mut tx, org).await?;
        }
        let id = next_id(&mut tx, "users").await?;
        let now = now_micros();
        sqlx::query(
            "INSERT INTO users (id, org_id, name, email, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(new.org_id)
        .bind(&new.name)
        .bind(new.email.clone())
        .bind(new.role.name())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(User {
            id,
            org_id: new.org_id,
            name: new.name.clone(),
            email: new.email.clone(),
            role: new.role,
            created_at: now,
            disabled_at: None,
        })
    }

    /// One user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let mut conn = self.pool().acquire().await?;
        user_in(&mut conn, id).await
    }

    /// The users of one organisation, or all of them, by id.
    pub async fn users(&self, org_id: Option<i64>) -> Result<Vec<User>> {
        let rows = match org_id {
            Some(org) => {
                let q = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY id");
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                let q = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter().map(user).collect()
    }

    /// Disables a user and revokes its tokens, in one transaction; returns
    /// how many tokens were revoked, or `None` if there is no such active
    /// user.
    pub async fn disable_user(&self, id: i64) -> Result<Option<u64>> {
        let mut tx = self.write().await?;
        let now = now_micros();
        let done =
            sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if done == 0 {
            return Ok(None);
        }
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Some(revoked))
    }
}
