//! `/api/v1/advisories`: what the regulator or the hub shares back to the
//! members concerned (see `bugyo_store::advisories`). The regulator, the
//! hub's analysts and admins issue an advisory to named organisations; a
//! member reads only those addressed to its organisation (another one is
//! "not found"), without the list of who else got it; the regulator and
//! the hub read all, each such read written to the audit log. The notifier
//! delivers each advisory to every contact of its recipients.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::members::{object, only_fields, org_id};
use crate::ApiState;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bugyo_store::advisories::{parse_tlp, Advisory, Issuer, NewAdvisory};
use bugyo_store::Role;
use serde_json::{json, Map, Value};

/// The fields of a new advisory.
const FIELDS: &[&str] = &[
    "title_ja",
    "title_en",
    "body_ja",
    "body_en",
    "orgs",
    "incidents",
    "reports",
    "tlp",
];

/// The roles that see every advisory and may issue one.
const OVERSIGHT: &[Role] = &[Role::Regulator, Role::Analyst, Role::Admin];

fn oversight(caller: &Caller) -> bool {
    OVERSIGHT.contains(&caller.token.role)
}

/// An advisory as `caller` may see it: the recipients only for the
/// regulator and the hub.
fn view(a: &Advisory, caller: &Caller) -> Value {
    let mut out = json!({
        "id": a.id,
        "created_at": bugyo_model::Timestamp::from_micros(a.created_at).rfc3339(),
        "issuer": {
            "role": a.issuer_role,
            "org": a.issuer_org,
            "name": a.issuer_name,
        },
        "title_ja": a.title_ja,
        "title_en": a.title_en,
        "body_ja": a.body_ja,
        "body_en": a.body_en,
        "tlp": a.tlp.label(),
        "incidents": a.incidents,
        "reports": a.reports,
    });
    if oversight(caller) {
        out["orgs"] = json!(a.recipients.iter().map(|(_, h)| h).collect::<Vec<_>>());
    }
    out
}

/// A text field: absent or null is empty (the store says it is required).
fn text(map: &Map<String, Value>, field: &'static str) -> Result<String, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ApiError::bad_field(
            field,
            "expected a text / 文字列を指定してください",
        )),
    }
}

/// An array of positive ids (absent or null: none).
fn id_list(map: &Map<String, Value>, field: &'static str) -> Result<Vec<i64>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_i64().filter(|id| *id > 0))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| {
                ApiError::bad_field(
                    field,
                    "expected an array of ids (positive integers) / ID (正の整数) の配列を指定してください",
                )
            }),
        Some(_) => Err(ApiError::bad_field(
            field,
            "expected an array of ids / ID の配列を指定してください",
        )),
    }
}

/// The recipients' ids from their handles.
async fn recipients(state: &ApiState, map: &Map<String, Value>) -> Result<Vec<i64>, ApiError> {
    let handles = match map.get("orgs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str())
            .collect::<Option<Vec<&str>>>()
            .ok_or_else(|| {
                ApiError::bad_field(
                    "orgs",
                    "expected an array of organisation handles / 組織のハンドルの配列を指定してください",
                )
            })?,
        Some(_) => {
            return Err(ApiError::bad_field(
                "orgs",
                "expected an array of organisation handles / 組織のハンドルの配列を指定してください",
            ))
        }
    };
    let mut ids = Vec::with_capacity(handles.len());
    for h in handles {
        ids.push(org_id(state, "orgs", h).await?);
    }
    Ok(ids)
}

fn advisory_id(raw: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    crate::error::path_segment(raw)?
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_field("id", "a positive advisory id / 正の注意喚起 ID"))
}

/// `POST /api/v1/advisories`: issues an advisory (regulator, analyst,
/// admin) to the organisations named in `orgs`, in Japanese and English.
pub async fn issue(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(OVERSIGHT)?;
    let map = object(b)?;
    only_fields(&map, FIELDS)?;
    let tlp = match map.get("tlp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_tlp(s).ok_or_else(|| {
            ApiError::bad_field("tlp", "TLP:CLEAR, TLP:GREEN, TLP:AMBER or TLP:AMBER+STRICT")
        })?),
        Some(_) => {
            return Err(ApiError::bad_field(
                "tlp",
                "TLP:CLEAR, TLP:GREEN, TLP:AMBER or TLP:AMBER+STRICT",
            ))
        }
    };
    let new = NewAdvisory {
        title_ja: text(&map, "title_ja")?,
        title_en: text(&map, "title_en")?,
        body_ja: text(&map, "body_ja")?,
        body_en: text(&map, "body_en")?,
        tlp,
        orgs: recipients(&state, &map).await?,
        incidents: id_list(&map, "incidents")?,
        reports: id_list(&map, "reports")?,
    };
    let a = issue_for(&state, &caller, &new).await?;
    Ok((StatusCode::CREATED, Json(view(&a, &caller))))
}

/// Issues `new` as `caller` (regulator, analyst, admin), audited: the one
/// way advisories are issued, by the API and the portal's form alike.
pub async fn issue_for(
    state: &ApiState,
    caller: &Caller,
    new: &NewAdvisory,
) -> Result<Advisory, ApiError> {
    caller.require(OVERSIGHT)?;
    let issuer = Issuer {
        role: caller.token.role,
        org_id: caller.token.org_id,
        token_id: Some(caller.token.id),
        user_id: caller.token.user_id,
    };
    let a = state.store.issue_advisory(new, issuer).await?;
    let to: Vec<&str> = a.recipients.iter().map(|(_, h)| h.as_str()).collect();
    caller
        .audit_with(
            state,
            "advisory-issue",
            format!("advisory/{}", a.id),
            to.join(","),
        )
        .await?;
    Ok(a)
}

/// The advisories `caller` may read (a member: those addressed to its
/// organisation; the regulator and the hub: all, the read audited), ids
/// ascending.
pub async fn readable_list(state: &ApiState, caller: &Caller) -> Result<Vec<Advisory>, ApiError> {
    let items = if oversight(caller) {
        state.store.advisories().await?
    } else {
        let org = caller.token.org_id.ok_or_else(ApiError::forbidden)?;
        state.store.advisories_for(org).await?
    };
    if oversight(caller) && !items.is_empty() {
        let ids: Vec<String> = items.iter().map(|a| a.id.to_string()).collect();
        caller
            .audit_with(state, "read-advisory", "advisories".into(), ids.join(","))
            .await?;
    }
    Ok(items)
}

/// Advisory `id` if `caller` may read it (audited for the regulator and
/// the hub); "not found" otherwise.
pub async fn readable(state: &ApiState, caller: &Caller, id: i64) -> Result<Advisory, ApiError> {
    let not_found = || ApiError::not_found(&format!("advisory {id}"));
    let a = state.store.advisory(id).await?.ok_or_else(not_found)?;
    if oversight(caller) {
        caller
            .audit(state, "read-advisory", format!("advisory/{id}"))
            .await?;
    } else {
        let org = caller.token.org_id.ok_or_else(not_found)?;
        if !a.recipients.iter().any(|(o, _)| *o == org) {
            return Err(not_found());
        }
    }
    Ok(a)
}

/// `GET /api/v1/advisories`: a member's advisories (those addressed to its
/// organisation), or every one for the regulator and the hub; ids
/// ascending.
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let items = readable_list(&state, &caller).await?;
    let items: Vec<Value> = items.iter().map(|a| view(a, &caller)).collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/advisories/{id}`: one advisory, to its recipients, the
/// regulator and the hub; "not found" to anyone else.
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = advisory_id(id)?;
    let a = readable(&state, &caller, id).await?;
    Ok(Json(view(&a, &caller)))
}
