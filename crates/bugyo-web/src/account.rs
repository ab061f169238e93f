//! `/account`: who the visitor is signed in as (name, organisation, role,
//! e-mail address) and, for a person, changing their own portal password:
//! the current one is checked as a sign-in is (a wrong one counts towards
//! the lock, see `bugyo_store::passwords`), the new one given twice.
//! Messages stand by their field and nothing is changed until all are
//! right; a change is audited (`user-password`), and so is a wrong current
//! password (`password-change-refused`).

use crate::lang::Lang;
use crate::layout::page;
use crate::session::{SameOrigin, Signed};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_store::StoreError;
use maud::{html, Markup};

/// The password form's fields.
const FIELDS: [(&str, &str, &str); 3] = [
    ("current_password", "現在のパスワード", "Current password"),
    (
        "new_password",
        "新しいパスワード(12文字以上)",
        "New password (12 characters or more)",
    ),
    (
        "new_password_again",
        "新しいパスワード(確認)",
        "New password again",
    ),
];

async fn render(
    state: &ApiState,
    lang: Lang,
    c: &Caller,
    error: Option<(&str, &str)>,
    changed: bool,
) -> Result<Markup, ApiError> {
    let user = match c.token.user_id {
        Some(id) => state.store.user(id).await?,
        None => None,
    };
    let org = match c.token.org_id {
        Some(id) => state.store.org_by_id(id).await?,
        None => None,
    };
    Ok(page(
        lang,
        lang.pick("アカウント", "Account"),
        Some(c),
        html! {
            dl #who {
                @if let Some(u) = &user {
                    dt { (lang.pick("氏名", "Name")) } dd { (u.name) }
                    dt { (lang.pick("メールアドレス(ログイン名)", "E-mail address (sign-in name)")) }
                    dd { (u.email.as_deref().unwrap_or("—")) }
                }
                dt { (lang.pick("組織", "Organisation")) }
                dd { (org.as_ref().map_or("—".to_string(), |o| format!("{} ({})", o.name, o.handle))) }
                dt { (lang.pick("役割", "Role")) } dd { (c.token.role.name()) }
            }
            @if changed {
                p.notice role="status" #changed { (lang.pick("パスワードを変更しました。", "Your password was changed.")) }
            }
            @if user.is_some() {
                h2 { (lang.pick("パスワードの変更", "Change your password")) }
                form method="post" action="/account/password" {
                    @for (name, ja, en) in FIELDS {
                        @let bad = error.filter(|(f, _)| *f == name);
                        div class={ "field" @if bad.is_some() { " invalid" } } {
                            label for=(name) { (lang.pick(ja, en)) }
                            input type="password" id=(name) name=(name)
                                autocomplete=(if name == "current_password" { "current-password" } else { "new-password" })
                                aria-invalid=[bad.map(|_| "true")]
                                aria-describedby=[bad.map(|_| format!("{name}-error"))];
                            @if let Some((_, m)) = bad { p.error id={ (name) "-error" } { (m) } }
                        }
                    }
                    button type="submit" { (lang.pick("変更する", "Change")) }
                }
            } @else {
                p { (lang.pick(
                    "このセッションは個人に発行されていないトークンで開かれたため、パスワードはありません。",
                    "This session was opened with a token not made for a person: there is no password to change."
                )) }
            }
        },
    ))
}

/// `GET /account`.
pub async fn account(State(state): State<ApiState>, lang: Lang, Signed(c): Signed) -> Response {
    match render(&state, lang, &c, None, false).await {
        Ok(m) => m.into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

/// The password form.
#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

/// `POST /account/password`: changes the signed-in person's password.
pub async fn change_password(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Form(f): Form<PasswordForm>,
) -> Response {
    let Some(user_id) = c.token.user_id else {
        return crate::error_page(lang, Some(&c), &ApiError::forbidden());
    };
    let done = if f.new_password != f.new_password_again {
        Err(StoreError::Invalid {
            field: "new_password_again",
            message: lang
                .pick(
                    "新しいパスワードが一致しません。",
                    "The two new passwords differ.",
                )
                .into(),
        })
    } else {
        state
            .store
            .change_password(user_id, &f.current_password, &f.new_password)
            .await
    };
    let (status, error) = match done {
        Ok(()) => {
            if let Err(e) = c
                .audit(&state, "user-password", format!("user/{user_id}"))
                .await
            {
                return crate::error_page(lang, Some(&c), &e);
            }
            (StatusCode::OK, None)
        }
        Err(StoreError::Invalid { field, message }) => {
            // A wrong current password is a guess like a wrong sign-in.
            if field == "current_password" {
                if let Err(e) = c
                    .audit(&state, "password-change-refused", format!("user/{user_id}"))
                    .await
                {
                    return crate::error_page(lang, Some(&c), &e);
                }
            }
            (StatusCode::UNPROCESSABLE_ENTITY, Some((field, message)))
        }
        Err(e) => return crate::error_page(lang, Some(&c), &ApiError::from(e)),
    };
    let error = error.as_ref().map(|(f, m)| (*f, m.as_str()));
    match render(&state, lang, &c, error, error.is_none()).await {
        Ok(m) => (status, m).into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}
