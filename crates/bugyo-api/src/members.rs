//! `/api/v1/orgs`, `/api/v1/tokens` and `/api/v1/me`: member organisations
//! and tokens over the API, for admins (and, read-only, the hub and the
//! regulator; a member sees its own organisation). Every change is audited.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ApiState;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bugyo_store::{AuditEntry, NewOrg, Role};
use serde_json::{json, Value};

/// A JSON body, or the error saying why it is not acceptable.
pub(crate) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|r| ApiError::bad_request(r.status(), r.body_text()))
}

async fn audit(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    object: String,
) -> Result<(), ApiError> {
    state
        .store
        .audit(&AuditEntry {
            at: 0,
            token_id: Some(caller.token.id),
            org_id: caller.token.org_id,
            action: action.into(),
            object,
            detail: String::new(),
        })
        .await?;
    Ok(())
}

/// `GET /api/v1/me`: the caller's token and organisation.
pub async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let org = match caller.token.org_id {
        Some(id) => state.store.org_by_id(id).await?,
        None => None,
    };
    Ok(Json(json!({ "token": caller.token, "org": org })))
}

/// `GET /api/v1/orgs`: every organisation (admin, analyst, regulator).
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Analyst, Role::Regulator])?;
    Ok(Json(json!({ "items": state.store.orgs().await? })))
}

/// `GET /api/v1/orgs/{handle}`: one organisation (those roles, or a
/// member of it).
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    handle: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let handle = crate::error::path_segment(handle)?;
    let org = state
        .store
        .org(&handle)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("organisation {handle:?}")))?;
    if caller.token.role == Role::Member && caller.token.org_id != Some(org.id) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(json!(org)))
}

/// `POST /api/v1/orgs`: registers an organisation (admin).
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<NewOrg>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin])?;
    let new = body(b)?;
    let org = state.store.add_org(&new).await?;
    audit(&state, &caller, "org-add", format!("org/{}", org.id)).await?;
    Ok((StatusCode::CREATED, Json(json!(org))))
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The organisation's handle (required for members).
    #[serde(default)]
    org: Option<String>,
    /// member, analyst, regulator or admin.
    role: String,
    /// A label for people.
    #[serde(default)]
    label: String,
}

/// `POST /api/v1/tokens`: creates a token (admin); the secret is in the
/// response only.
pub async fn create_token(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin])?;
    let new = body(b)?;
    let role = Role::parse(&new.role)
        .ok_or_else(|| ApiError::bad_field("role", "member, analyst, regulator or admin"))?;
    let org_id = match &new.org {
        Some(h) => Some(
            state
                .store
                .org(h)
                .await?
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "org",
                        format!("{h:?}: no such organisation / その組織はありません"),
                    )
                })?
                .id,
        ),
        None => None,
    };
    let (token, secret) = state.store.create_token(org_id, role, &new.label).await?;
    audit(
        &state,
        &caller,
        "token-create",
        format!("token/{}", token.id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "secret": secret })),
    ))
}
