//! `/api/v1/orgs`, `/api/v1/users`, `/api/v1/tokens` and `/api/v1/me`:
//! member organisations, the people who use bugyo and tokens over the API,
//! for admins (and, read-only, the hub and the regulator; a member sees its
//! own organisation and its people). Every change is audited.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ApiState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use bugyo_store::{NewOrg, NewUser, Role};
use serde_json::{json, Value};

/// A JSON body, or the error saying why it is not acceptable.
pub(crate) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|r| ApiError::bad_request(r.status(), r.body_text()))
}

/// `GET /api/v1/me`: the caller's token and organisation.
pub async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let org = match caller.token.org_id {
        Some(id) => state.store.org_by_id(id).await?,
        None => None,
    };
    let user = match caller.token.user_id {
        Some(id) => state.store.user(id).await?,
        None => None,
    };
    Ok(Json(
        json!({ "token": caller.token, "org": org, "user": user }),
    ))
}

/// A request body that must be a JSON object.
pub(crate) fn object(
    b: Result<Json<Value>, JsonRejection>,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body(b)? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_field(
            "body",
            "expected a JSON object / JSON オブジェクトを指定してください",
        )),
    }
}

/// Refuses the first key of `map` not among `allowed`, naming it.
pub(crate) fn only_fields(
    map: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_field(
            k.clone(),
            "unknown field / 不明な項目です",
        )),
        None => Ok(()),
    }
}

/// The id of the organisation `handle`, or an error naming `field`.
pub(crate) async fn org_id(state: &ApiState, field: &str, handle: &str) -> Result<i64, ApiError> {
    Ok(state
        .store
        .org(handle)
        .await?
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                format!("{handle:?}: no such organisation / その組織はありません"),
            )
        })?
        .id)
}

/// `GET /api/v1/users[?org=HANDLE]`: the people (admin, analyst,
/// regulator: anyone's; a member: its own organisation's).
pub async fn users(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut org = None;
    for (k, v) in crate::error::query_pairs(query)? {
        match k.as_str() {
            "org" => org = Some(org_id(&state, "org", &v).await?),
            _ => {
                return Err(ApiError::bad_field(
                    k,
                    "unknown parameter / 不明なパラメーターです",
                ))
            }
        }
    }
    if caller.token.role == Role::Member {
        if org.is_some_and(|o| Some(o) != caller.token.org_id) {
            return Err(ApiError::forbidden());
        }
        org = caller.token.org_id;
    }
    Ok(Json(json!({ "items": state.store.users(org).await? })))
}

/// The body of `POST /api/v1/users`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// The organisation's handle (required for members).
    #[serde(default)]
    org: Option<String>,
    /// The person's name.
    name: String,
    /// Where to reach the person.
    #[serde(default)]
    email: Option<String>,
    /// member, analyst, regulator or admin.
    role: String,
}

/// `POST /api/v1/users`: registers a person (admin).
pub async fn create_user(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<NewUserBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Admin])?;
    let new = body(b)?;
    let role = parse_role(&new.role)?;
    let org_id = match &new.org {
        Some(h) => Some(org_id(&state, "org", h).await?),
        None => None,
    };
    let user = state
        .store
        .add_user(&NewUser {
            org_id,
            name: new.name,
            email: new.email,
            role,
        })
        .await?;
    caller
        .audit(&state, "user-add", format!("user/{}", user.id))
        .await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    Role::parse(role)
        .ok_or_else(|| ApiError::bad_field("role", "member, analyst, regulator or admin"))
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
    caller
        .audit(&state, "org-add", format!("org/{}", org.id))
        .await?;
    Ok((StatusCode::CREATED, Json(json!(org))))
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The organisation's handle (required for members).
    #[serde(default)]
    org: Option<String>,
    /// member, analyst, regulator or admin (unless `user` is given).
    #[serde(default)]
    role: Option<String>,
    /// A user's id instead: the token speaks for the user's organisation
    /// with the user's role, and dies with the user.
    #[serde(default)]
    user: Option<i64>,
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
    let (token, secret) = match (new.user, &new.role) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "user",
                "a user's token takes the user's role: give user or role, not both / user と role の両方は指定できません",
            ))
        }
        (Some(_), None) if new.org.is_some() => {
            return Err(ApiError::bad_field(
                "user",
                "a user's token takes the user's organisation: give user or org, not both / user と org の両方は指定できません",
            ))
        }
        (Some(user), None) => state.store.create_user_token(user, &new.label).await?,
        (None, None) => {
            return Err(ApiError::bad_field(
                "role",
                "role (or user) is required / role か user が必要です",
            ))
        }
        (None, Some(role)) => {
            let role = parse_role(role)?;
            let org_id = match &new.org {
                Some(h) => Some(org_id(&state, "org", h).await?),
                None => None,
            };
            state.store.create_token(org_id, role, &new.label).await?
        }
    };
    caller
        .audit(&state, "token-create", format!("token/{}", token.id))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "secret": secret })),
    ))
}
