//! `/api/v1/incidents`: the list (summaries, filtered and paged), one
//! incident and its history, each in the caller's view (see
//! [`bugyo_store::audience`]). Every response holding raw routes is
//! written to the audit log.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ApiState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use bugyo_detect::Severity;
use bugyo_model::Prefix;
use bugyo_store::audience::{view, Tlp};
use bugyo_store::IncidentFilter;
use serde_json::{json, Value};

/// Parses a time filter: RFC 3339 (`2017-08-25T03:22:00Z`) or Unix
/// seconds; gives Unix microseconds.
pub(crate) fn parse_time(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(secs) = v.parse::<i64>() {
        return secs
            .checked_mul(1_000_000)
            .ok_or_else(|| ApiError::bad_field(field, "out of range / 範囲外です"));
    }
    bugyo_model::Timestamp::parse_rfc3339(v)
        .map(|t| t.secs * 1_000_000 + i64::from(t.micros))
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                format!("{v:?}: RFC 3339 time or Unix seconds / RFC 3339 形式の時刻または Unix 秒"),
            )
        })
}

fn parse<T: std::str::FromStr>(field: &str, v: &str, what: &str) -> Result<T, ApiError> {
    v.parse().map_err(|_| {
        ApiError::bad_field(
            field,
            format!("{v:?}: expected {what} / {what} を指定してください"),
        )
    })
}

/// The list's filters from the query string; unknown parameters are errors.
fn filter(query: &[(String, String)]) -> Result<IncidentFilter, ApiError> {
    let mut f = IncidentFilter::default();
    for (k, v) in query {
        match k.as_str() {
            "since" => f.since = Some(parse_time(k, v)?),
            "until" => f.until = Some(parse_time(k, v)?),
            "active_since" => f.active_since = Some(parse_time(k, v)?),
            "kind" => {
                if !bugyo_detect::AnomalyKind::ALL.iter().any(|a| a.name() == v) {
                    return Err(ApiError::bad_field(
                        k,
                        format!("{v:?}: not a kind of incident / インシデントの種類ではありません"),
                    ));
                }
                f.kind = Some(v.clone());
            }
            "severity" => {
                f.min_severity =
                    Some(v.parse::<Severity>().map_err(|_| {
                        ApiError::bad_field(k, "info, low, medium, high or critical")
                    })?)
            }
            "asn" => f.asn = Some(parse(k, v.trim_start_matches("AS"), "an AS number")?),
            "prefix" => f.prefix = Some(parse::<Prefix>(k, v, "a prefix")?),
            "status" => {
                if !matches!(v.as_str(), "open" | "resolved") {
                    return Err(ApiError::bad_field(k, "open or resolved"));
                }
                f.status = Some(v.clone());
            }
            "after" => f.after_id = Some(parse(k, v, "an incident id")?),
            "limit" => {
                let n: u32 = parse(k, v, "a number 1 to 1000")?;
                if !(1..=bugyo_store::incidents::MAX_PAGE).contains(&n) {
                    return Err(ApiError::bad_field(k, "1 to 1000"));
                }
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

/// `GET /api/v1/incidents`: summaries (no raw routes, TLP:GREEN), ids
/// ascending; `next_after` pages on.
pub async fn list(
    State(state): State<ApiState>,
    _caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = crate::error::query_pairs(query)?;
    let f = filter(&query)?;
    let limit = f.limit.unwrap_or(bugyo_store::incidents::MAX_PAGE) as usize;
    let items = state.store.incidents(&f).await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|i| i.id))
        .flatten();
    let items: Vec<Value> = items
        .into_iter()
        .map(|i| {
            let mut v = json!(i);
            v["tlp"] = json!(Tlp::Green.label());
            v
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_after": next })))
}

fn incident_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_field("id", "a positive incident id / 正のインシデント ID"))
}

/// The views of the versions of incident `id` for the caller (all, or the
/// latest), audited when they hold raw routes; with all, each view is
/// `{version, event, event_time, recorded_at, incident}`.
pub async fn views(
    state: &ApiState,
    caller: &Caller,
    id: i64,
    all: bool,
) -> Result<Vec<Value>, ApiError> {
    let history = if all {
        state.store.incident_history(id).await?
    } else {
        state
            .store
            .incident_version(id, None)
            .await?
            .into_iter()
            .collect()
    };
    if history.is_empty() {
        return Err(ApiError::not_found(&format!("incident {id}")));
    }
    let prefixes = state.store.incident_prefixes(id).await?;
    let viewer = caller.viewer();
    let mut raw = false;
    let mut out = Vec::with_capacity(history.len());
    for v in history {
        let own: Vec<(Prefix, u32)> = prefixes
            .iter()
            .filter(|(_, _, first)| *first <= v.version)
            .map(|(p, a, _)| (*p, *a))
            .collect();
        let seen = view(&viewer, &v.body, &own);
        raw |= seen.raw_routes;
        let mut body = seen.body;
        if all {
            body = json!({
                "version": v.version,
                "event": v.event,
                "event_time": v.event_time,
                "recorded_at": v.recorded_at,
                "incident": body,
            });
        }
        out.push(body);
    }
    if raw {
        let object = format!("incident/{id}{}", if all { "/history" } else { "" });
        caller.audit(state, "read-routes", object).await?;
    }
    Ok(out)
}

/// `GET /api/v1/incidents/{id}`: the latest version, in the caller's view.
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::error::path_segment(id)?;
    let id = incident_id(&id)?;
    let mut v = views(&state, &caller, id, false).await?;
    Ok(Json(v.pop().unwrap_or(Value::Null)))
}

/// `GET /api/v1/incidents/{id}/history`: every version, oldest first.
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::error::path_segment(id)?;
    let id = incident_id(&id)?;
    let versions = views(&state, &caller, id, true).await?;
    Ok(Json(json!({ "incident_id": id, "versions": versions })))
}
