//! `GET /api/v1/situation?asn=N`: "is it only us?" For the incidents open
//! now or seen in the caller's window, how many other member organisations
//! they concern, by kind, without naming them; the incidents that concern
//! the caller too are listed, with the other members in them named (the
//! incident is shared with the caller).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::incidents::parse_time;
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use bugyo_store::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The default window: the last hour.
const WINDOW_SECS: i64 = 3600;

/// The handler.
pub async fn situation(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = crate::error::query_pairs(query)?;
    let mut asn: Option<u32> = None;
    let mut since: Option<i64> = None;
    for (k, v) in &query {
        match k.as_str() {
            "asn" => {
                asn = Some(
                    v.trim_start_matches("AS")
                        .parse()
                        .map_err(|_| ApiError::bad_field("asn", "an AS number / AS 番号"))?,
                )
            }
            "since" => since = Some(parse_time(k, v)?),
            _ => {
                return Err(ApiError::bad_field(
                    k.clone(),
                    "unknown parameter / 不明なパラメーターです",
                ))
            }
        }
    }
    let asn = asn.ok_or_else(|| ApiError::bad_field("asn", "required / 必須です"))?;
    // A member asks about itself only.
    if caller.token.role == Role::Member && !caller.asns.contains(&asn) {
        return Err(ApiError::forbidden());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let since = since.unwrap_or(now - WINDOW_SECS * 1_000_000);
    let own_orgs: BTreeSet<i64> = state.store.orgs_of_asn(asn).await?.into_iter().collect();
    let concerns = state.store.concerns(since).await?;
    // Incidents concerning the asked-about AS's organisation(s).
    let ours: BTreeSet<i64> = concerns
        .iter()
        .filter(|c| own_orgs.contains(&c.org_id))
        .map(|c| c.incident_id)
        .collect();
    let mut by_kind: BTreeMap<&str, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
    let mut shared: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for c in &concerns {
        if own_orgs.contains(&c.org_id) {
            continue;
        }
        let e = by_kind.entry(c.kind.as_str()).or_default();
        e.0.insert(c.incident_id);
        e.1.insert(c.org_id);
        if ours.contains(&c.incident_id) {
            shared.entry(c.incident_id).or_default().insert(c.org_id);
        }
    }
    let others: BTreeSet<i64> = by_kind
        .values()
        .flat_map(|(_, o)| o.iter().copied())
        .collect();
    let mut shared_out = Vec::new();
    for id in &ours {
        let Some(inc) = state.store.incident(*id).await? else {
            continue;
        };
        let mut names = Vec::new();
        for org in shared.get(id).into_iter().flatten() {
            if let Some(o) = state.store.org_by_id(*org).await? {
                names.push(o.handle);
            }
        }
        shared_out.push(json!({
            "id": inc.id,
            "kind": inc.kind,
            "severity": inc.severity,
            "status": inc.status,
            "summary": inc.summary,
            "summary_ja": inc.summary_ja,
            "other_members": names,
        }));
    }
    Ok(Json(json!({
        "asn": asn,
        "since": since,
        "only_us": others.is_empty(),
        "other_members_affected": others.len(),
        "by_kind": by_kind.iter().map(|(k, (i, o))| json!({
            "kind": k,
            "incidents": i.len(),
            "other_members": o.len(),
        })).collect::<Vec<_>>(),
        "ours": shared_out,
        "tlp": "TLP:AMBER",
    })))
}
