//! Roles and API tokens. A token is 32 random bytes shown once, as
//! `bugyo_` and 64 hex digits; the store keeps only its SHA-256, so a
//! stolen database yields no usable token.

use crate::{col, next_id, now_micros, Result, Store, StoreError};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An operator: sees what concerns its own organisation.
    Member,
    /// The regulator: multi-operator summaries.
    Regulator,
    /// The hub's analysts: everything.
    Analyst,
    /// Manages members and tokens.
    Admin,
}

impl Role {
    /// The name used in the store, the API and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Regulator => "regulator",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "member" => Role::Member,
            "regulator" => Role::Regulator,
            "analyst" => Role::Analyst,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// A token as the store knows it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Token {
    /// The store's id.
    pub id: i64,
    /// The organisation it speaks for (members must have one).
    pub org_id: Option<i64>,
    /// The person it belongs to, if it is a user's (see [`crate::users`]).
    pub user_id: Option<i64>,
    /// Its role.
    pub role: Role,
    /// A label for people.
    pub label: String,
    /// Wall time created (Unix microseconds).
    pub created_at: i64,
}

/// The prefix of every token's text.
pub const TOKEN_PREFIX: &str = "bugyo_";

/// The prefix of every portal session's secret.
pub const SESSION_PREFIX: &str = "bugyosession_";

/// A new secret: `prefix` and 32 random bytes in hex.
fn random_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::invalid("token", format!("no randomness: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// A token from its row.
pub(crate) fn token_of(r: &sqlx::any::AnyRow) -> Result<Token> {
    let role: String = col(r, "role")?;
    Ok(Token {
        id: col(r, "id")?,
        org_id: col(r, "org_id")?,
        user_id: col(r, "user_id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            what: "token role",
            message: role.clone(),
        })?,
        label: col(r, "label")?,
        created_at: col(r, "created_at")?,
    })
}

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Creates a token; returns it with its secret, which is not kept.
    pub async fn create_token(
        &self,
        org_id: Option<i64>,
        role: Role,
        label: &str,
    ) -> Result<(Token, String)> {
        if role == Role::Member && org_id.is_none() {
            return Err(StoreError::invalid(
                "org",
                "a member token needs an organisation / member のトークンには組織が必要です",
            ));
        }
        let mut tx = self.write().await?;
        if let Some(org) = org_id {
            crate::orgs::require_org(&mut tx, org).await?;
        }
        let made = insert_token(&mut tx, org_id, None, role, label).await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Creates a token for a user: it speaks for the user's organisation
    /// with the user's role, and dies with the user ([`Store::disable_user`]).
    /// Returns it with its secret, which is not kept.
    pub async fn create_user_token(&self, user_id: i64, label: &str) -> Result<(Token, String)> {
        let mut tx = self.write().await?;
        let user = crate::users::active_user_in(&mut tx, user_id).await?;
        let made = insert_token(&mut tx, user.org_id, Some(user.id), user.role, label).await?;
        tx.commit().await?;
        Ok(made)
    }

    /// The live token whose secret this is, if any.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() != TOKEN_PREFIX.len() + 64 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, org_id, user_id, role, label, created_at FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL")
            .bind(hash(secret))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_of).transpose()
    }

    /// Opens a portal session for the live token `token_id`, lasting
    /// `ttl_secs`; returns its secret (prefix [`SESSION_PREFIX`]), which
    /// is not kept.
    pub async fn open_session(&self, token_id: i64, ttl_secs: i64) -> Result<String> {
        let secret = random_secret(SESSION_PREFIX)?;
        let now = now_micros();
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO portal_sessions (hash, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash(&secret))
            .bind(token_id)
            .bind(now)
            .bind(now.saturating_add(ttl_secs.saturating_mul(1_000_000)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The token of the portal session whose secret this is, if the
    /// session is open and unexpired at `now` (Unix microseconds) and its
    /// token live.
    pub async fn session_token(&self, secret: &str, now: i64) -> Result<Option<Token>> {
        if !secret.starts_with(SESSION_PREFIX) || secret.len() != SESSION_PREFIX.len() + 64 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT t.id AS id, t.org_id AS org_id, t.user_id AS user_id, t.role AS role, t.label AS label, t.created_at AS created_at \
             FROM portal_sessions s JOIN api_tokens t ON t.id = s.token_id \
             WHERE s.hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND t.revoked_at IS NULL",
        )
        .bind(hash(secret))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token_of).transpose()
    }

    /// Ends the portal session whose secret this is (sign-out); true if it
    /// was open.
    pub async fn end_session(&self, secret: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE portal_sessions SET ended_at = $2 WHERE hash = $1 AND ended_at IS NULL",
        )
        .bind(hash(secret))
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes a token; true if it was live.
    pub async fn revoke_token(&self, id: i64) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}

/// Makes a token's secret and stores its hash, within the caller's
/// transaction (which has checked the organisation or user).
pub(crate) async fn insert_token(
    tx: &mut sqlx::AnyConnection,
    org_id: Option<i64>,
    user_id: Option<i64>,
    role: Role,
    label: &str,
) -> Result<(Token, String)> {
    if label.len() > 200 {
        return Err(StoreError::invalid(
            "label",
            "at most 200 characters / 200 文字以内",
        ));
    }
    let secret = random_secret(TOKEN_PREFIX)?;
    let id = next_id(tx, "api_tokens").await?;
    let now = now_micros();
    sqlx::query("INSERT INTO api_tokens (id, org_id, user_id, role, label, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id)
        .bind(org_id)
        .bind(user_id)
        .bind(role.name())
        .bind(label)
        .bind(hash(&secret))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok((
        Token {
            id,
            org_id,
            user_id,
            role,
            label: label.to_string(),
            created_at: now,
        },
        secret,
    ))
}
