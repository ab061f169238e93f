//! Passwords for signing in to the portal: a person signs in with their
//! e-mail address and a password instead of pasting an access token.
//!
//! Only an Argon2id hash is kept (a PHC string: algorithm, parameters,
//! salt). A sign-in speaks through the user's *portal token*, made when the
//! password is first set and never shown to anyone: the portal's session
//! then works exactly as one opened with a token, and dies with it (the
//! user disabled revokes it, [`Store::disable_user`]). Five wrong passwords
//! in a row lock the account for [`LOCK_SECS`]; a sign-in with an unknown
//! address costs the same hashing as a known one, so the answer's timing
//! does not tell which addresses exist.

use crate::tokens::{insert_token, token_of, Token};
use crate::{col, now_micros, Result, Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Fewest characters of a password.
pub const MIN_PASSWORD: usize = 12;
/// Most characters of a password.
pub const MAX_PASSWORD: usize = 1024;
/// Wrong passwords in a row that lock the account.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked, in seconds.
pub const LOCK_SECS: i64 = 15 * 60;

/// The label of a user's portal token.
const PORTAL_TOKEN_LABEL: &str = "portal sign-in (password) / ポータルのパスワードログイン";

/// What a sign-in with a password came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// The password is right: the user's portal token.
    Accepted(Token),
    /// Unknown address, wrong password, or a user since disabled: one
    /// answer for all, so nothing is learnt about which.
    Refused,
    /// Too many wrong passwords: locked until this time (Unix
    /// microseconds).
    Locked {
        /// When the lock ends.
        until: i64,
    },
}

/// Checks a new password: long enough, not too long, no control
/// characters; refusals name the field `password`.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(StoreError::invalid(
            "password",
            format!("at least {MIN_PASSWORD} characters / {MIN_PASSWORD} 文字以上にしてください"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(StoreError::invalid(
            "password",
            format!("at most {MAX_PASSWORD} characters / {MAX_PASSWORD} 文字以内にしてください"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "password",
            "control characters are not allowed / 制御文字は使えません",
        ));
    }
    Ok(())
}

/// The Argon2id hash of `password` with a fresh salt (slow on purpose:
/// run off the async threads).
async fn hash_password(password: String) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::invalid("password", format!("no randomness: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| StoreError::invalid("password", e.to_string()))?
    .map_err(|e| StoreError::invalid("password", e))
}

/// True if `password` matches the PHC string `hash` (false for a hash
/// that cannot be read).
async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A hash nobody's password matches, verified against when the address is
/// unknown so that costs as much as a known one.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$YnVneW8tZGVjb3ktc2FsdA$ZDVDHbmgIRr5jlt07vCFxxcAthKvTJVTD8cHCLLvJHU";

impl Store {
    /// Sets the portal password of active user `user_id`, who needs an
    /// e-mail address (the name they sign in with) no other user with a
    /// password has. Makes the user's portal token the first time, or
    /// again if it was revoked; clears any lock. Refusals name the field
    /// (`password`, `email`, `user`).
    pub async fn set_password(&self, user_id: i64, password: &str) -> Result<()> {
        check_password(password)?;
        let hash = hash_password(password.to_string()).await?;
        let now = now_micros();
        let mut tx = self.write().await?;
        let user = crate::users::active_user_in(&mut tx, user_id).await?;
        let Some(email) = user.email.clone() else {
            return Err(StoreError::invalid(
                "email",
                "the user has no e-mail address, the name they sign in with: add one first / 利用者にメールアドレス(ログイン名)がありません",
            ));
        };
        let taken = sqlx::query(
            "SELECT id FROM users WHERE LOWER(email) = LOWER($1) AND id <> $2 AND password_hash IS NOT NULL AND disabled_at IS NULL",
        )
        .bind(&email)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(other) = taken {
            let other: i64 = col(&other, "id")?;
            return Err(StoreError::invalid(
                "email",
                format!("{email} already signs in user {other}: each sign-in name belongs to one person / {email} は利用者 {other} のログイン名です"),
            ));
        }
        let row = sqlx::query(
            "SELECT u.portal_token_id AS token_id FROM users u JOIN api_tokens t ON t.id = u.portal_token_id WHERE u.id = $1 AND t.revoked_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let token_id: i64 = match row {
            Some(r) => col(&r, "token_id")?,
            None => {
                // Its secret is dropped here: only sign-ins speak through it.
                let (token, _) = insert_token(
                    &mut tx,
                    user.org_id,
                    Some(user.id),
                    user.role,
                    PORTAL_TOKEN_LABEL,
                )
                .await?;
                token.id
            }
        };
        sqlx::query(
            "UPDATE users SET password_hash = $2, password_set_at = $3, portal_token_id = $4, failed_sign_ins = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user changes their own password: `current` is checked as a
    /// sign-in is (a wrong one counts towards the lock), then `new` set.
    /// Refusals name the field: `current_password` (wrong, or locked),
    /// `new_password` (see [`check_password`]), `user`.
    pub async fn change_password(&self, user_id: i64, current: &str, new: &str) -> Result<()> {
        let user = {
            let mut conn = self.pool().acquire().await?;
            crate::users::active_user_in(&mut conn, user_id).await?
        };
        let email = user.email.unwrap_or_default();
        match self.sign_in_with_password(&email, current, now_micros()).await? {
            SignIn::Accepted(t) if t.user_id == Some(user_id) => {}
            SignIn::Locked { .. } => {
                return Err(StoreError::invalid(
                    "current_password",
                    "too many wrong passwords: try again later / パスワードの誤りが続いたため、しばらくしてからやり直してください",
                ))
            }
            _ => {
                return Err(StoreError::invalid(
                    "current_password",
                    "not your current password / 現在のパスワードが違います",
                ))
            }
        }
        check_password(new).map_err(|e| match e {
            StoreError::Invalid { message, .. } => StoreError::invalid("new_password", message),
            e => e,
        })?;
        self.set_password(user_id, new).await
    }

    /// Checks a sign-in with `email` and `password` at `now` (Unix
    /// microseconds): the user's portal token if right; counts a wrong
    /// password, locking the account at the [`MAX_FAILURES`]th in a row.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &str,
        now: i64,
    ) -> Result<SignIn> {
        let row = sqlx::query(
            "SELECT id, password_hash, locked_until, portal_token_id FROM users \
             WHERE LOWER(email) = LOWER($1) AND password_hash IS NOT NULL AND disabled_at IS NULL",
        )
        .bind(email.trim())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            verify_password(password.to_string(), DECOY.to_string()).await;
            return Ok(SignIn::Refused);
        };
        let user_id: i64 = col(&row, "id")?;
        if let Some(until) = col::<Option<i64>>(&row, "locked_until")?.filter(|u| *u > now) {
            return Ok(SignIn::Locked { until });
        }
        let hash: String = col(&row, "password_hash")?;
        let right = verify_password(password.to_string(), hash).await;
        let mut tx = self.write().await?;
        if !right {
            let row = sqlx::query(
                "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1 RETURNING failed_sign_ins",
            )
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            let failed: i64 = col(&row, "failed_sign_ins")?;
            let out = if failed >= MAX_FAILURES {
                let until = now.saturating_add(LOCK_SECS * 1_000_000);
                sqlx::query(
                    "UPDATE users SET failed_sign_ins = 0, locked_until = $2 WHERE id = $1",
                )
                .bind(user_id)
                .bind(until)
                .execute(&mut *tx)
                .await?;
                SignIn::Locked { until }
            } else {
                SignIn::Refused
            };
            tx.commit().await?;
            return Ok(out);
        }
        sqlx::query("UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let token = sqlx::query(
            "SELECT id, org_id, user_id, role, label, created_at FROM api_tokens WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(col::<Option<i64>>(&row, "portal_token_id")?)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        match token {
            Some(t) => Ok(SignIn::Accepted(token_of(&t)?)),
            None => Ok(SignIn::Refused),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_is_a_readable_hash() {
        assert!(PasswordHash::new(DECOY).is_ok());
    }

    #[test]
    fn passwords_are_checked_by_length_and_characters() {
        assert!(check_password("correct horse battery").is_ok());
        assert!(check_password("パスワードは十二文字以上必要です").is_ok());
        for bad in [
            "short",
            "eleven char",
            "tab\tin the middle",
            &"x".repeat(1025),
        ] {
            match check_password(bad) {
                Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "password"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
