//! Signing in to the portal. A person signs in with their e-mail address
//! and password (`bugyo user password ID`; see `bugyo_store::passwords`),
//! or with the access token made for them (`bugyo token create --user
//! ID`), once; the portal opens a
//! session in the store ([`SESSION_TTL`]) and the browser keeps only the
//! session's secret, in an `HttpOnly`, `SameSite=Strict` cookie, never the
//! token. Each page checks the session like the API checks a bearer token
//! (same caller, same audiences and audit), so a page shows exactly what
//! the API would show the same person; signing out ends the session in the
//! store, and a revoked token or a disabled user ends its sessions within
//! [`bugyo_api::CALLER_TTL`]. Forms that change anything are refused when
//! the browser says they come from another site (`Sec-Fetch-Site`,
//! `Origin`).

use crate::lang::{cookie, Lang};
use crate::layout::page;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use maud::html;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bugyo_session";

/// How long a session lasts (a working day); then one signs in again.
pub const SESSION_TTL: i64 = 12 * 3_600;

/// Who is looking at a page: signed in, or not (public pages).
pub struct Visitor(pub Option<Caller>);

impl FromRequestParts<ApiState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Visitor, Response> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Visitor(None));
        };
        match bugyo_api::authenticate_session(state, &secret).await {
            Ok(c) => Ok(Visitor(Some(c))),
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => Ok(Visitor(None)),
            Err(e) => Err(crate::error_page(
                Lang::of_request(parts.uri.query(), &parts.headers),
                None,
                &e,
            )),
        }
    }
}

/// A signed-in visitor; anyone else is sent to the sign-in page and back.
pub struct Signed(pub Caller);

impl FromRequestParts<ApiState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Signed, Response> {
        match Visitor::from_request_parts(parts, state).await? {
            Visitor(Some(c)) => Ok(Signed(c)),
            Visitor(None) => {
                let back = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                let next = percent_encoding::utf8_percent_encode(
                    &back,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
        }
    }
}

/// A form post from one of our own pages; a cross-site post is refused.
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<SameOrigin, Response> {
        if same_origin(&parts.headers) {
            Ok(SameOrigin)
        } else {
            Err((
                StatusCode::FORBIDDEN,
                "cross-site form refused / 他サイトからの送信は受け付けません",
            )
                .into_response())
        }
    }
}

/// False if the browser says the request comes from another site.
fn same_origin(h: &HeaderMap) -> bool {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    match (get("origin"), get("host")) {
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host),
        _ => true,
    }
}

/// Only local paths are followed after sign-in (no open redirect).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.into(),
        _ => "/".into(),
    }
}

/// `GET /login`.
pub async fn login_form(lang: Lang, q: axum::extract::Query<Vec<(String, String)>>) -> Response {
    let next =
        q.0.iter()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.as_str());
    login_page(lang, &local_path(next), None).into_response()
}

/// A refused sign-in: which form's field it is about, and what to say.
struct LoginError {
    /// `password` (the e-mail and password form) or `token`.
    field: &'static str,
    message: String,
}

fn login_page(lang: Lang, next: &str, error: Option<&LoginError>) -> maud::Markup {
    let on = |field: &str| error.filter(|e| e.field == field);
    page(
        lang,
        lang.pick("ログイン", "Sign in"),
        None,
        html! {
            form method="post" action="/login" #password-login {
                input type="hidden" name="next" value=(next);
                div class={ "field" @if on("password").is_some() { " invalid" } } {
                    label for="email" { (lang.pick("メールアドレス", "E-mail address")) }
                    input type="email" id="email" name="email" autocomplete="username";
                    label for="password" { (lang.pick("パスワード", "Password")) }
                    input type="password" id="password" name="password" autocomplete="current-password"
                        aria-invalid=[on("password").map(|_| "true")]
                        aria-describedby=[on("password").map(|_| "password-error")];
                    @if let Some(e) = on("password") { p.error id="password-error" { (e.message) } }
                }
                button type="submit" { (lang.pick("ログイン", "Sign in")) }
            }
            details open[on("token").is_some()] {
                summary { (lang.pick("アクセストークンでログイン", "Sign in with an access token")) }
                p { (lang.pick(
                    "管理者が発行したアクセストークン(bugyo token create --user)を入力してください。",
                    "Enter the access token your administrator made for you (bugyo token create --user)."
                )) }
                form method="post" action="/login" #token-login {
                    input type="hidden" name="next" value=(next);
                    div class={ "field" @if on("token").is_some() { " invalid" } } {
                        label for="token" { (lang.pick("アクセストークン", "Access token")) }
                        input type="password" id="token" name="token" autocomplete="off"
                            aria-invalid=[on("token").map(|_| "true")]
                            aria-describedby=[on("token").map(|_| "token-error")];
                        @if let Some(e) = on("token") { p.error id="token-error" { (e.message) } }
                    }
                    button type="submit" { (lang.pick("トークンでログイン", "Sign in with the token")) }
                }
            }
        },
    )
}

/// The sign-in forms' fields: a token, or an e-mail address and password.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: checks the token, or the e-mail address and password,
/// opens a session and sets its cookie.
pub async fn login(
    State(state): State<ApiState>,
    lang: Lang,
    _: SameOrigin,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_path(Some(&f.next));
    let refused = |status: StatusCode, field: &'static str, ja: &str, en: &str| {
        let e = LoginError {
            field,
            message: lang.pick(ja, en).to_string(),
        };
        (status, login_page(lang, &next, Some(&e))).into_response()
    };
    let caller = if !f.token.trim().is_empty() || f.email.trim().is_empty() {
        let secret = f.token.trim();
        let readable = !secret.is_empty()
            && secret
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
        if !readable {
            return refused(
                StatusCode::BAD_REQUEST,
                "token",
                "トークンを入力してください。",
                "Enter your token.",
            );
        }
        match bugyo_api::authenticate(&state, secret).await {
            Ok(c) => c,
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "token",
                    "このトークンは無効か、失効しています。",
                    "This token is not valid or has been revoked.",
                )
            }
            Err(e) => return crate::error_page(lang, None, &e),
        }
    } else {
        match bugyo_api::sign_in_with_password(&state, &f.email, &f.password).await {
            Ok(bugyo_api::PasswordSignIn::Accepted(c)) => c,
            Ok(bugyo_api::PasswordSignIn::Refused) => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "password",
                    "メールアドレスかパスワードが違います。",
                    "Wrong e-mail address or password.",
                )
            }
            Ok(bugyo_api::PasswordSignIn::Locked { until }) => {
                let at =
                    bugyo_report::calendar::jst_rfc3339(bugyo_model::Timestamp::from_micros(until));
                let e = LoginError {
                    field: "password",
                    message: lang
                        .pick(
                            "パスワードの誤りが続いたため、{at} までログインできません。",
                            "Too many wrong passwords: signing in is locked until {at}.",
                        )
                        .replace("{at}", &at),
                };
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    login_page(lang, &next, Some(&e)),
                )
                    .into_response();
            }
            Err(e) => return crate::error_page(lang, None, &e),
        }
    };
    match open(&state, &caller).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                format!(
                    "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL}"
                ),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        Err(e) => crate::error_page(lang, None, &e),
    }
}

/// Opens a session for the signed-in `c` (audited); gives the session's
/// secret.
async fn open(state: &ApiState, c: &Caller) -> Result<String, ApiError> {
    let session = state.store.open_session(c.token.id, SESSION_TTL).await?;
    c.audit(state, "session-open", format!("token/{}", c.token.id))
        .await?;
    Ok(session)
}

/// `POST /logout`: ends the session, in the store and in the browser.
pub async fn logout(State(state): State<ApiState>, headers: HeaderMap, _: SameOrigin) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.callers.forget(&secret);
        if let Err(e) = state.store.end_session(&secret).await {
            tracing::warn!(error = %e, "ending a portal session failed / ポータルのセッションを終了できません");
        }
    }
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/status"),
    )
        .into_response()
}

/// `GET /lang?to=en`: remembers the language and goes back.
pub async fn switch_language(
    headers: HeaderMap,
    q: axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    let to =
        q.0.iter()
            .find(|(k, _)| k == "to")
            .and_then(|(_, v)| Lang::from_code(v))
            .unwrap_or_default();
    // Back to the page the link was on, if it was ours.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()));
    let back = local_path(back.as_deref());
    let back = strip_lang(&back);
    (
        [(
            header::SET_COOKIE,
            format!("lang={}; Path=/; SameSite=Lax; Max-Age=31536000", to.code()),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

/// `path` without a `lang=` query parameter (it would win over the cookie).
fn strip_lang(path: &str) -> String {
    match path.split_once('?') {
        None => path.into(),
        Some((p, q)) => {
            let rest: Vec<&str> = q.split('&').filter(|kv| !kv.starts_with("lang=")).collect();
            if rest.is_empty() {
                p.into()
            } else {
                format!("{p}?{}", rest.join("&"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/reports/3")), "/reports/3");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil")), "/");
        assert_eq!(local_path(None), "/");
        assert_eq!(strip_lang("/status?lang=en&org=a"), "/status?org=a");
        assert_eq!(strip_lang("/status?lang=en"), "/status");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "a client that says nothing (curl)");
        h.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        h.remove("origin");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
    }
}
