//! `/api/v1/reports`: outage reports to the regulator. A member files a
//! report for its own organisation (an admin for any, with `org`), adds
//! follow-ups, the final and the detailed report or corrections as new
//! versions, and everyone reads what [`bugyo_store::reports::view`] lets
//! them: the reporter, the regulator and the hub everything, another member
//! only reports marked `share_operators` (without the private fields). Every
//! read of a report not shared with operators by the regulator or the hub is
//! written to the audit log, as is every filing and version.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::incidents::parse_time;
use crate::members::{object, org_id};
use crate::ApiState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use bugyo_store::reports::view::tlp;
use bugyo_store::reports::{
    fields, Access, Author, ReportFilter, ReportReader, ReportVersion, Stage, StoredReport,
    CLASSIFICATIONS, MAX_PAGE,
};
use bugyo_store::Role;
use serde_json::{json, Map, Value};

fn reader(caller: &Caller) -> ReportReader {
    ReportReader {
        role: caller.token.role,
        org_id: caller.token.org_id,
    }
}

fn author(caller: &Caller) -> Author {
    Author {
        token_id: Some(caller.token.id),
        user_id: caller.token.user_id,
    }
}

/// Refuses the first key of `map` that is not a report field.
fn known_fields(map: &Map<String, Value>) -> Result<(), ApiError> {
    match fields::unknown_field(map) {
        Some(k) => Err(ApiError::bad_field(k, "unknown field / 不明な項目です")),
        None => Ok(()),
    }
}

fn report_id(raw: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    crate::error::path_segment(raw)?
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_field("id", "a positive report id / 正の報告 ID"))
}

/// A report as listed: its latest state, without the full text.
fn summary(r: &StoredReport) -> Value {
    json!({
        "id": r.id,
        "org": r.org,
        "stage": r.stage,
        "version": r.version,
        "occurred_at": bugyo_report::calendar::jst_rfc3339(
            bugyo_model::Timestamp::from_micros(r.occurred_at)
        ),
        "area": r.area,
        "services": r.services,
        "situation": r.situation,
        "classification": r.classification,
        "quarter": r.quarter,
        "detailed_report_due": r.detailed_report_due,
        "share_public": r.sharing.public,
        "share_operators": r.sharing.operators,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "tlp": tlp(r.sharing).label(),
    })
}

/// A version as `access` may see it.
fn version_view(v: &ReportVersion, access: Access) -> Value {
    let changes: Vec<&bugyo_store::reports::FieldChange> = v
        .changes
        .iter()
        .filter(|c| access.sees_field(&c.field))
        .collect();
    let mut out = json!({
        "version": v.version,
        "stage": v.stage,
        "recorded_at": v.recorded_at,
        "reason": v.reason,
        "changes": changes,
        "report": access.redact(&v.body),
        "statutory": v.classification,
    });
    if access.sees_authors() {
        out["token_id"] = json!(v.token_id);
        out["user_id"] = json!(v.user_id);
    }
    out
}

/// The report `id`, its versions and the caller's access; 404 if the
/// caller may not know of it.
pub async fn readable(
    state: &ApiState,
    caller: &Caller,
    id: i64,
) -> Result<(StoredReport, Vec<ReportVersion>, Access), ApiError> {
    let not_found = || ApiError::not_found(&format!("report {id}"));
    let report = state.store.report(id).await?.ok_or_else(not_found)?;
    let access = Access::of(reader(caller), report.org_id, report.sharing).ok_or_else(not_found)?;
    let versions = state.store.report_history(id).await?;
    if versions.is_empty() {
        return Err(not_found());
    }
    Ok((report, versions, access))
}

/// [`readable`], and the read written to the audit log when the regulator
/// or the hub reads a report its reporter did not share (`what`: `""` for
/// the report, `"/history"` for its history).
pub async fn read_audited(
    state: &ApiState,
    caller: &Caller,
    id: i64,
    what: &str,
) -> Result<(StoredReport, Vec<ReportVersion>, Access), ApiError> {
    let (report, versions, access) = readable(state, caller, id).await?;
    if access.audited(report.sharing) {
        caller
            .audit_with(
                state,
                "read-report",
                format!("report/{id}{what}"),
                String::new(),
            )
            .await?;
    }
    Ok((report, versions, access))
}

/// The whole latest state of a report as `access` may see it.
fn full(report: &StoredReport, latest: &ReportVersion, access: Access) -> Value {
    let mut out = summary(report);
    out["access"] = json!(access);
    out["report"] = json!(access.redact(&latest.body));
    out["statutory"] = json!(latest.classification);
    out
}

/// Files the report `map` for `org` (a member: its own organisation, an
/// admin: the one named), audited: the one way reports are filed, by the
/// API and the portal's form alike.
pub async fn file_for(
    state: &ApiState,
    caller: &Caller,
    org: Option<i64>,
    map: &Map<String, Value>,
) -> Result<StoredReport, ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    known_fields(map)?;
    let org_id =
        match (caller.token.role, org) {
            (Role::Member, Some(o)) if Some(o) != caller.token.org_id => {
                return Err(ApiError::forbidden())
            }
            (Role::Member, _) => caller.token.org_id.ok_or_else(ApiError::forbidden)?,
            (_, Some(o)) => o,
            (_, None) => return Err(ApiError::bad_field(
                "org",
                "required: the reporting organisation's handle / 必須です: 報告する組織のハンドル",
            )),
        };
    let report = state.store.file_report(org_id, map, author(caller)).await?;
    caller
        .audit_with(
            state,
            "report-file",
            format!("report/{}", report.id),
            String::new(),
        )
        .await?;
    Ok(report)
}

/// Adds the version `map` (with `reason`) to report `id`, if the caller
/// reported it (or is an admin), audited: the one way reports are amended.
pub async fn amend_for(
    state: &ApiState,
    caller: &Caller,
    id: i64,
    map: &Map<String, Value>,
    reason: Option<&str>,
) -> Result<StoredReport, ApiError> {
    known_fields(map)?;
    let (report, _, access) = readable(state, caller, id).await?;
    match (caller.token.role, access) {
        (Role::Admin, _) | (Role::Member, Access::Reporter) => {}
        _ => return Err(ApiError::forbidden()),
    }
    let report = state
        .store
        .amend_report(report.id, map, reason, author(caller))
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("report {id}")))?;
    caller
        .audit_with(
            state,
            "report-version",
            format!("report/{id}/version/{}", report.version),
            String::new(),
        )
        .await?;
    Ok(report)
}

/// `POST /api/v1/reports`: files a report (a member for its own
/// organisation, an admin for any with `org`); version 1, stage `first`
/// unless given.
pub async fn file(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    let mut map = object(b)?;
    let org = match map.remove("org") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) => Some(org_id(&state, "org", &h).await?),
        Some(_) => {
            return Err(ApiError::bad_field(
                "org",
                "expected an organisation's handle / 組織のハンドルを指定してください",
            ))
        }
    };
    let report = file_for(&state, &caller, org, &map).await?;
    let (report, versions, access) = readable(&state, &caller, report.id).await?;
    let latest = versions
        .last()
        .ok_or_else(|| ApiError::not_found("report"))?;
    Ok((StatusCode::CREATED, Json(full(&report, latest, access))))
}

/// `POST /api/v1/reports/{id}/versions`: a follow-up, the final or the
/// detailed report, or a correction: the fields given are laid over the
/// current state (`null` clears one), with an optional `reason`.
pub async fn amend(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = report_id(id)?;
    let mut map = object(b)?;
    let reason = match map.remove("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(r),
        Some(_) => {
            return Err(ApiError::bad_field(
                "reason",
                "expected a text / 文字列を指定してください",
            ))
        }
    };
    amend_for(&state, &caller, id, &map, reason.as_deref()).await?;
    let (report, versions, access) = readable(&state, &caller, id).await?;
    let latest = versions
        .last()
        .ok_or_else(|| ApiError::not_found("report"))?;
    Ok((StatusCode::CREATED, Json(full(&report, latest, access))))
}

/// The list's filters from the query string; unknown parameters are errors.
async fn filter(state: &ApiState, query: &[(String, String)]) -> Result<ReportFilter, ApiError> {
    let mut f = ReportFilter::default();
    for (k, v) in query {
        match k.as_str() {
            "org" => f.org_id = Some(org_id(state, "org", v).await?),
            "stage" => {
                f.stage =
                    Some(Stage::parse(v).ok_or_else(|| {
                        ApiError::bad_field(k, "first, follow-up, final or detailed")
                    })?)
            }
            "classification" => {
                if !CLASSIFICATIONS.contains(&v.as_str()) {
                    return Err(ApiError::bad_field(k, "major, quarterly, none or pending"));
                }
                f.classification = Some(v.clone());
            }
            "quarter" => {
                let b = v.as_bytes();
                let ok = b.len() == 8
                    && v.starts_with("FY")
                    && b[2..6].iter().all(u8::is_ascii_digit)
                    && b[6] == b'Q'
                    && (b'1'..=b'4').contains(&b[7]);
                if !ok {
                    return Err(ApiError::bad_field(
                        k,
                        "a fiscal quarter such as FY2021Q3 / FY2021Q3 のような年度四半期",
                    ));
                }
                f.quarter = Some(v.clone());
            }
            "since" => f.since = Some(parse_time(k, v)?),
            "until" => f.until = Some(parse_time(k, v)?),
            "after" => {
                f.after_id = Some(v.parse().map_err(|_| {
                    ApiError::bad_field(k, "a report id / 報告 ID を指定してください")
                })?)
            }
            "limit" => {
                let n = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| ApiError::bad_field(k, "1 to 1000 / 1〜1000"))?;
                f.limit = Some(n);
            }
            _ => {
                return Err(ApiError::bad_field(
                    k.clone(),
                    "unknown parameter / 不明なパラメーターです",
                ))
            }
        }
    }
    Ok(f)
}

/// `GET /api/v1/reports`: the reports the caller may see (a member: its
/// own and those shared with operators), ids ascending; `next_after` pages
/// on.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = crate::error::query_pairs(query)?;
    let mut f = filter(&state, &query).await?;
    if caller.token.role == Role::Member {
        f.visible_to_org = Some(caller.token.org_id.ok_or_else(ApiError::forbidden)?);
    }
    let limit = f.limit.unwrap_or(MAX_PAGE) as usize;
    let items = state.store.reports(&f).await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|r| r.id))
        .flatten();
    let unshared: Vec<String> = items
        .iter()
        .filter(|r| {
            Access::of(reader(&caller), r.org_id, r.sharing).is_some_and(|a| a.audited(r.sharing))
        })
        .map(|r| r.id.to_string())
        .collect();
    if !unshared.is_empty() {
        caller
            .audit_with(&state, "read-report", "reports".into(), unshared.join(","))
            .await?;
    }
    let items: Vec<Value> = items.iter().map(summary).collect();
    Ok(Json(json!({ "items": items, "next_after": next })))
}

/// `GET /api/v1/reports/{id}`: the latest version in the caller's view.
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = report_id(id)?;
    let (report, versions, access) = read_audited(&state, &caller, id, "").await?;
    let latest = versions
        .last()
        .ok_or_else(|| ApiError::not_found("report"))?;
    Ok(Json(full(&report, latest, access)))
}

/// `GET /api/v1/reports/{id}/history`: every version, oldest first, each
/// with the fields it changed (before and after).
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = report_id(id)?;
    let (report, versions, access) = read_audited(&state, &caller, id, "/history").await?;
    let versions: Vec<Value> = versions.iter().map(|v| version_view(v, access)).collect();
    Ok(Json(json!({
        "report_id": id,
        "org": report.org,
        "tlp": tlp(report.sharing).label(),
        "versions": versions,
    })))
}
