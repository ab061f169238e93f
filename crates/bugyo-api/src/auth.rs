//! Who is calling: the bearer token, its role and organisation, and a
//! per-token rate limit (a token bucket). An authenticated caller is
//! remembered for [`CALLER_TTL`], so that a burst of requests does not ask
//! the store for the same token and organisation every time.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use bugyo_store::audience::Viewer;
use bugyo_store::{Role, Token};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token used.
    pub token: Token,
    /// Its organisation's ASNs (empty without one).
    pub asns: BTreeSet<u32>,
}

impl Caller {
    /// The caller as an audience.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            role: self.token.role,
            asns: self.asns.clone(),
        }
    }

    /// Writes `action` on `object` to the audit log, as done by this caller.
    pub async fn audit(
        &self,
        state: &ApiState,
        action: &str,
        object: String,
    ) -> Result<(), ApiError> {
        self.audit_with(state, action, object, String::new()).await
    }

    /// [`Caller::audit`] with a detail (e.g. which reports a list held).
    pub async fn audit_with(
        &self,
        state: &ApiState,
        action: &str,
        object: String,
        detail: String,
    ) -> Result<(), ApiError> {
        state
            .store
            .audit(&bugyo_store::AuditEntry {
                at: 0,
                token_id: Some(self.token.id),
                org_id: self.token.org_id,
                action: action.into(),
                object,
                detail,
            })
            .await?;
        Ok(())
    }

    /// Fails unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.token.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// How long an authenticated caller is trusted without asking the store
/// again: a token revoked with `bugyo token revoke`, or an organisation's
/// ASNs changed, take effect within this time.
pub const CALLER_TTL: Duration = Duration::from_secs(5);

/// Most callers remembered at once (beyond, the oldest are dropped).
const CALLERS_MAX: usize = 10_000;

/// Callers recently authenticated, by their secret.
#[derive(Debug, Default)]
pub struct CallerCache {
    callers: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl CallerCache {
    /// The caller with `secret`, if authenticated less than [`CALLER_TTL`] ago.
    fn get(&self, secret: &str) -> Option<Caller> {
        let callers = self.callers.lock().ok()?;
        let (at, caller) = callers.get(secret)?;
        (at.elapsed() < CALLER_TTL).then(|| caller.clone())
    }

    /// Forgets the caller with `secret` (a session ended).
    pub fn forget(&self, secret: &str) {
        if let Ok(mut callers) = self.callers.lock() {
            callers.remove(secret);
        }
    }

    /// Remembers an authenticated caller.
    fn put(&self, secret: &str, caller: &Caller) {
        let Ok(mut callers) = self.callers.lock() else {
            return;
        };
        if callers.len() >= CALLERS_MAX {
            callers.retain(|_, (at, _)| at.elapsed() < CALLER_TTL);
            if callers.len() >= CALLERS_MAX {
                callers.clear();
            }
        }
        callers.insert(secret.to_string(), (Instant::now(), caller.clone()));
    }
}

/// Requests per second each token may make, with bursts of twice that.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter of `per_sec` requests per second per token.
    pub fn new(per_sec: u32) -> RateLimiter {
        RateLimiter {
            per_sec: f64::from(per_sec.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket; false if empty.
    fn allow(&self, token: i64) -> bool {
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let burst = self.per_sec * 2.0;
        let (level, at) = b.entry(token).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.per_sec).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The caller behind `secret`, a token's secret (the API's bearer
/// header): remembered callers first, then the store; every call takes one
/// request from the token's rate limit.
pub async fn authenticate(state: &ApiState, secret: &str) -> Result<Caller, ApiError> {
    // The remembered callers hold both kinds of secret: a session's is no
    // token.
    if !secret.starts_with(bugyo_store::tokens::TOKEN_PREFIX) {
        return Err(ApiError::unauthorized());
    }
    caller_of(state, secret, state.store.authenticate(secret)).await
}

/// The caller behind a portal session's secret (the portal's cookie), as
/// [`authenticate`]: the session's token, while the session is open and
/// unexpired and the token live.
pub async fn authenticate_session(state: &ApiState, secret: &str) -> Result<Caller, ApiError> {
    // A token is no session (the browser never holds a token).
    if !secret.starts_with(bugyo_store::tokens::SESSION_PREFIX) {
        return Err(ApiError::unauthorized());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    caller_of(state, secret, state.store.session_token(secret, now)).await
}

/// The caller remembered for `secret`, or the one `lookup` finds.
async fn caller_of(
    state: &ApiState,
    secret: &str,
    lookup: impl std::future::Future<Output = bugyo_store::Result<Option<Token>>>,
) -> Result<Caller, ApiError> {
    if let Some(caller) = state.callers.get(secret) {
        if !state.limiter.allow(caller.token.id) {
            return Err(ApiError::rate_limited());
        }
        return Ok(caller);
    }
    let token = lookup.await?.ok_or_else(ApiError::unauthorized)?;
    let caller = caller_of_token(state, token).await?;
    state.callers.put(secret, &caller);
    Ok(caller)
}

/// The caller speaking through `token`, once the rate limit allows it.
async fn caller_of_token(state: &ApiState, token: Token) -> Result<Caller, ApiError> {
    if !state.limiter.allow(token.id) {
        return Err(ApiError::rate_limited());
    }
    let asns = match token.org_id {
        Some(org) => state
            .store
            .org_by_id(org)
            .await?
            .map(|o| o.asns.into_iter().collect())
            .unwrap_or_default(),
        None => BTreeSet::new(),
    };
    Ok(Caller { token, asns })
}

/// What a sign-in with an e-mail address and a password came to.
#[derive(Clone, Debug)]
pub enum PasswordSignIn {
    /// Right: the person, speaking through their portal token.
    Accepted(Caller),
    /// Wrong address or password (one answer for both); audited as
    /// `sign-in-refused`.
    Refused,
    /// Too many wrong passwords: locked until this time (Unix
    /// microseconds); audited as `sign-in-locked`.
    Locked {
        /// When the lock ends.
        until: i64,
    },
}

/// Checks the portal's sign-in with `email` and `password` (see
/// `bugyo_store::passwords`); refusals and locks are written to the audit
/// log with the address tried.
pub async fn sign_in_with_password(
    state: &ApiState,
    email: &str,
    password: &str,
) -> Result<PasswordSignIn, ApiError> {
    use bugyo_store::passwords::SignIn;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let (action, out) = match state
        .store
        .sign_in_with_password(email, password, now)
        .await?
    {
        SignIn::Accepted(token) => {
            return Ok(PasswordSignIn::Accepted(
                caller_of_token(state, token).await?,
            ))
        }
        SignIn::Refused => ("sign-in-refused", PasswordSignIn::Refused),
        SignIn::Locked { until } => ("sign-in-locked", PasswordSignIn::Locked { until }),
    };
    let address: String = email.trim().chars().take(254).collect();
    state
        .store
        .audit(&bugyo_store::AuditEntry {
            at: 0,
            token_id: None,
            org_id: None,
            action: action.into(),
            object: format!("sign-in/{address}"),
            detail: String::new(),
        })
        .await?;
    Ok(out)
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let secret = header
            .strip_prefix("Bearer ")
            .ok_or_else(ApiError::unauthorized)?
            .trim();
        authenticate(state, secret).await
    }
}
