//! bugyo's HTTP server, started by `bugyo serve --http ADDR`:
//!
//! - `/api/v1/...`: the REST API (token auth, each caller's view of an
//!   incident with its TLP label, every read of raw routes audited, rate
//!   limits per token, JSON errors with a code and a message);
//! - `/api/openapi.json`: its OpenAPI 3 document;
//! - `/metrics`: feed health and detection as OpenMetrics text.
//!
//! Handlers are plain async functions over [`ApiState`], grouped by
//! resource: [`incidents`], [`members`], [`reports`], [`situation`],
//! [`advisories`], [`quarterly`].

pub mod advisories;
mod auth;
pub mod error;
pub mod incidents;
pub mod members;
pub mod quarterly;
pub mod reports;
pub mod situation;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use bugyo_io::metrics::MetricSources;
use bugyo_store::Store;
use error::ApiError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub use auth::{
    authenticate, authenticate_session, sign_in_with_password, Caller, CallerCache, PasswordSignIn,
    RateLimiter, CALLER_TTL,
};

/// The API's OpenAPI 3 document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest request body taken, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The store.
    pub store: Store,
    /// Where `/metrics` takes its numbers.
    pub metrics: MetricSources,
    /// Requests per second per token.
    pub limiter: Arc<RateLimiter>,
    /// Callers recently authenticated.
    pub callers: Arc<CallerCache>,
    /// Questions to the live RIB (`bugyo serve`; none over a bare store).
    pub rib: Option<bugyo_io::rib_query::RibQueries>,
}

impl ApiState {
    /// State over `store`, allowing `rate` requests per second per token.
    pub fn new(store: Store, metrics: MetricSources, rate: u32) -> ApiState {
        ApiState {
            store,
            metrics,
            limiter: Arc::new(RateLimiter::new(rate)),
            callers: Arc::default(),
            rib: None,
        }
    }

    /// The same state, able to ask the live RIB through `rib`.
    pub fn with_rib(self, rib: bugyo_io::rib_query::RibQueries) -> ApiState {
        ApiState {
            rib: Some(rib),
            ..self
        }
    }
}

async fn metrics(axum::extract::State(state): axum::extract::State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> ApiError {
    ApiError::not_found("path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// The routes.
pub fn router(state: ApiState) -> Router {
    router_with(state, Router::new())
}

/// The API's routes and `pages` (the portal's, from `bugyo-web`), with the
/// API's answers to unknown paths and methods.
pub fn router_with(state: ApiState, pages: Router<ApiState>) -> Router {
    Router::new()
        .merge(pages)
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/me", get(members::me))
        .route("/api/v1/incidents", get(incidents::list))
        .route("/api/v1/incidents/{id}", get(incidents::get))
        .route("/api/v1/incidents/{id}/history", get(incidents::history))
        .route("/api/v1/orgs", get(members::list).post(members::create))
        .route("/api/v1/orgs/{handle}", get(members::get))
        .route(
            "/api/v1/users",
            get(members::users).post(members::create_user),
        )
        .route("/api/v1/tokens", post(members::create_token))
        .route("/api/v1/situation", get(situation::situation))
        .route("/api/v1/reports", get(reports::list).post(reports::file))
        .route("/api/v1/reports/{id}", get(reports::get))
        .route("/api/v1/reports/{id}/versions", post(reports::amend))
        .route("/api/v1/reports/{id}/history", get(reports::history))
        .route(
            "/api/v1/advisories",
            get(advisories::list).post(advisories::issue),
        )
        .route("/api/v1/advisories/{id}", get(advisories::get))
        .route(
            "/api/v1/quarterly-reports",
            get(quarterly::list).post(quarterly::file),
        )
        .route(
            "/api/v1/quarterly-reports/withdraw",
            post(quarterly::withdraw),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves the routes on `addr`; gives the address bound and the task.
pub async fn serve(
    addr: SocketAddr,
    state: ApiState,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(addr, state, Router::new()).await
}

/// [`serve`] with the portal's `pages` beside the API.
pub async fn serve_with(
    addr: SocketAddr,
    state: ApiState,
    pages: Router<ApiState>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router_with(state, pages);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped / HTTP サーバーが停止しました");
        }
    });
    Ok((local, task))
}
