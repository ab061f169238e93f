//! bugyo's portal: pages rendered on the server, in Japanese and English,
//! with no script, served beside the API by `bugyo serve --http ADDR`.
//!
//! | path | for | module |
//! |---|---|---|
//! | `/` | the NOC dashboard: open incidents, my prefixes, feed health | [`dashboard`] |
//! | `/incidents/{id}` | one incident: timeline, AS graph, prefixes, evidence, routes, history | [`incident`] |
//! | `/reports`, `/reports/new`, `/reports/{id}`, `/reports/{id}/amend` | outage reports to the regulator | [`reports`] |
//! | `/deadlines` | detailed and quarterly reports still owed, with days left | [`deadlines`] |
//! | `/picture` | the regulator's whole picture | [`picture`] |
//! | `/advisories`, `/advisories/new`, `/advisories/{id}` | what the regulator or the hub shares back | [`advisories`] |
//! | `/statistics` | reports of a fiscal year or quarter (also CSV) | [`statistics`] |
//! | `/status`, `/status/feed.atom` | the public status page and its Atom feed | [`status`] |
//! | `/login`, `/logout`, `/lang` | signing in, choosing the language | [`session`] |
//! | `/account` | who I am signed in as; changing my password | [`account`] |
//!
//! Every page reads through the same audience rules and audit log as the
//! API (`bugyo_store::audience`, `bugyo_store::reports::view`), with the
//! same token: a page never shows more than the API would.

pub mod account;
pub mod advisories;
pub mod dashboard;
pub mod deadlines;
pub mod incident;
pub mod lang;
pub mod layout;
pub mod picture;
pub mod reports;
pub mod session;
pub mod statistics;
pub mod status;
pub mod svg;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use lang::Lang;
use maud::html;

/// The portal's routes, to merge beside the API's
/// (`bugyo_api::router_with`).
pub fn pages() -> Router<ApiState> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/account", get(account::account))
        .route("/account/password", post(account::change_password))
        .route("/lang", get(session::switch_language))
        .route("/incidents/{id}", get(incident::incident))
        .route("/reports", get(reports::list))
        .route("/reports/new", get(reports::new_form).post(reports::file))
        .route("/reports/{id}", get(reports::report))
        .route(
            "/reports/{id}/amend",
            get(reports::amend_form).post(reports::amend),
        )
        .route("/deadlines", get(deadlines::deadlines))
        .route("/deadlines/quarterly", post(deadlines::file_quarterly))
        .route(
            "/deadlines/quarterly/withdraw",
            post(deadlines::withdraw_quarterly),
        )
        .route("/picture", get(picture::picture))
        .route("/advisories", get(advisories::list).post(advisories::issue))
        .route("/advisories/new", get(advisories::new_form))
        .route("/advisories/{id}", get(advisories::advisory))
        .route("/statistics", get(statistics::statistics))
        .route("/statistics.csv", get(statistics::csv))
        .route("/status", get(status::status))
        .route("/status/feed.atom", get(status::feed))
        .route("/status/reports/{id}", get(status::report))
        .route("/status/reports/{id}/sns.txt", get(status::sns))
}

/// An error as a page, with the API's status and bilingual message.
pub fn error_page(lang: Lang, who: Option<&Caller>, e: &ApiError) -> Response {
    let title = match e.status() {
        StatusCode::NOT_FOUND => lang.pick("見つかりません", "Not found"),
        StatusCode::FORBIDDEN => lang.pick("権限がありません", "Not allowed"),
        StatusCode::TOO_MANY_REQUESTS => lang.pick("リクエストが多すぎます", "Too many requests"),
        s if s.is_server_error() => lang.pick("一時的に利用できません", "Temporarily unavailable"),
        _ => lang.pick("入力に誤りがあります", "Bad request"),
    };
    (
        e.status(),
        layout::page(
            lang,
            title,
            who,
            html! {
                p.error { (e.message()) }
                @if let Some(f) = e.field() { p { (lang.pick("項目: ", "Field: ")) code { (f) } } }
            },
        ),
    )
        .into_response()
}

/// The current wall time, Unix microseconds.
pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A positive id from a path segment, or a 400 naming `field`.
pub(crate) fn path_id(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_field(field, "a positive id / 正の ID"))
}
