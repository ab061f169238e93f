//! `/api/v1/quarterly-reports`: the quarterly reports (四半期報告) filed and
//! owed (see `bugyo_store::quarterly`). A member records that its
//! organisation filed the quarterly report of a quarter (an admin for any,
//! with `org`), so the notifier stops reminding it; a member lists its own
//! filings and the quarters it still owes, the regulator and the hub every
//! organisation's, with the organisations whose report is overdue (their
//! reads audited). A filing recorded by mistake is withdrawn with a reason
//! (`POST /api/v1/quarterly-reports/withdraw`); the quarter is owed again
//! and the filing is listed among the withdrawals. Every filing and
//! withdrawal is written to the audit log.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::members::{object, only_fields, org_id};
use crate::ApiState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use bugyo_store::quarterly::{QuarterlyDue, QuarterlyReport, QuarterlyWithdrawal};
use bugyo_store::reports::Author;
use bugyo_store::Role;
use serde_json::{json, Value};

/// The roles that see every organisation's.
const OVERSIGHT: &[Role] = &[Role::Regulator, Role::Analyst, Role::Admin];

fn filed_view(f: &QuarterlyReport, authors: bool) -> Value {
    let mut out = json!({
        "org": f.org,
        "quarter": f.quarter,
        "filed_at": bugyo_report::calendar::jst_rfc3339(
            bugyo_model::Timestamp::from_micros(f.filed_at)
        ),
        "note": f.note,
    });
    if authors {
        out["token_id"] = json!(f.token_id);
        out["user_id"] = json!(f.user_id);
    }
    out
}

fn withdrawn_view(w: &QuarterlyWithdrawal) -> Value {
    json!({
        "filing": filed_view(&w.filing, true),
        "withdrawn_at": bugyo_report::calendar::jst_rfc3339(
            bugyo_model::Timestamp::from_micros(w.withdrawn_at)
        ),
        "token_id": w.token_id,
        "user_id": w.user_id,
        "reason": w.reason,
    })
}

fn owed_view(d: &QuarterlyDue) -> Value {
    json!({
        "org": d.org,
        "quarter": d.quarter,
        "due": d.due,
        "days_left": d.days_left,
        "overdue": d.overdue(),
        "reports": d.reports,
    })
}

/// An optional text field (absent or null: none).
fn text(
    map: &serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_field(
            field,
            "expected a text / 文字列を指定してください",
        )),
    }
}

/// The required `quarter` of a body.
fn quarter_of(map: &serde_json::Map<String, Value>) -> Result<String, ApiError> {
    text(map, "quarter")?.ok_or_else(|| {
        ApiError::bad_field(
            "quarter",
            "required: the fiscal quarter, e.g. FY2021Q3 / 必須です: FY2021Q3 のような四半期",
        )
    })
}

/// The organisation a body names by handle in `org`, if any.
async fn org_of(
    state: &ApiState,
    map: &serde_json::Map<String, Value>,
) -> Result<Option<i64>, ApiError> {
    match text(map, "org")? {
        Some(h) => Ok(Some(org_id(state, "org", &h).await?)),
        None => Ok(None),
    }
}

/// `POST /api/v1/quarterly-reports` `{"quarter": "FY2021Q3", "note"?,
/// "org"?}`: records that the organisation (a member's own, or `org` for
/// an admin) filed its quarterly report of that quarter; once per
/// organisation and quarter, for a quarter that has ended.
pub async fn file(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    let map = object(b)?;
    only_fields(&map, &["quarter", "note", "org"])?;
    let quarter = quarter_of(&map)?;
    let note = text(&map, "note")?;
    let org = org_of(&state, &map).await?;
    let filed = file_for(&state, &caller, org, &quarter, note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(filed_view(&filed, true))))
}

/// `POST /api/v1/quarterly-reports/withdraw` `{"quarter": "FY2021Q3",
/// "reason": "…", "org"?}`: withdraws a filing recorded by mistake (a
/// member's own, or `org`'s for an admin); the quarter is owed again and
/// the filing is kept among the withdrawals.
pub async fn withdraw(
    State(state): State<ApiState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    let map = object(b)?;
    only_fields(&map, &["quarter", "reason", "org"])?;
    let quarter = quarter_of(&map)?;
    let reason = text(&map, "reason")?.unwrap_or_default();
    let org = org_of(&state, &map).await?;
    let w = withdraw_for(&state, &caller, org, &quarter, &reason).await?;
    Ok(Json(withdrawn_view(&w)))
}

/// The organisation `caller` acts for: a member its own (naming another
/// is forbidden); an admin the one named, which is required.
fn acting_org(caller: &Caller, org: Option<i64>) -> Result<i64, ApiError> {
    match (caller.token.role, org) {
        (Role::Member, Some(o)) if Some(o) != caller.token.org_id => Err(ApiError::forbidden()),
        (Role::Member, _) => caller.token.org_id.ok_or_else(ApiError::forbidden),
        (_, Some(o)) => Ok(o),
        (_, None) => Err(ApiError::bad_field(
            "org",
            "required: the filing organisation's handle / 必須です: 提出した組織のハンドル",
        )),
    }
}

/// Withdraws the filing of `quarter` of `org` (as [`file_for`] chooses
/// it), audited: the one way, by the API and the portal alike.
pub async fn withdraw_for(
    state: &ApiState,
    caller: &Caller,
    org: Option<i64>,
    quarter: &str,
    reason: &str,
) -> Result<QuarterlyWithdrawal, ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    let org_id = acting_org(caller, org)?;
    let by = Author {
        token_id: Some(caller.token.id),
        user_id: caller.token.user_id,
    };
    let w = state
        .store
        .withdraw_quarterly_report(org_id, quarter, by, reason)
        .await?;
    caller
        .audit_with(
            state,
            "quarterly-report-withdraw",
            format!("quarterly-report/{}/{}", w.filing.org, w.filing.quarter),
            w.reason.clone(),
        )
        .await?;
    Ok(w)
}

/// Records the quarterly report of `quarter` as filed for `org` (a member:
/// its own organisation; an admin: the one named), audited: the one way
/// it is recorded, by the API and the portal alike.
pub async fn file_for(
    state: &ApiState,
    caller: &Caller,
    org: Option<i64>,
    quarter: &str,
    note: Option<&str>,
) -> Result<QuarterlyReport, ApiError> {
    caller.require(&[Role::Member, Role::Admin])?;
    let org_id = acting_org(caller, org)?;
    let by = Author {
        token_id: Some(caller.token.id),
        user_id: caller.token.user_id,
    };
    let filed = state
        .store
        .file_quarterly_report(org_id, quarter, by, note)
        .await?;
    caller
        .audit_with(
            state,
            "quarterly-report-file",
            format!("quarterly-report/{}/{}", filed.org, filed.quarter),
            filed.note.clone().unwrap_or_default(),
        )
        .await?;
    Ok(filed)
}

/// What [`readable`] gives: the quarterly reports filed, those owed and
/// the filings withdrawn.
#[derive(Debug)]
pub struct Readable {
    /// Recorded as filed.
    pub filed: Vec<QuarterlyReport>,
    /// Owed and not filed.
    pub owed: Vec<QuarterlyDue>,
    /// Filings withdrawn.
    pub withdrawn: Vec<QuarterlyWithdrawal>,
}

/// The quarterly reports `caller` may see, filed, owed and withdrawn (a
/// member: its organisation's; the regulator and the hub: all, the read
/// audited).
pub async fn readable(state: &ApiState, caller: &Caller) -> Result<Readable, ApiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let all = OVERSIGHT.contains(&caller.token.role);
    let org = if all {
        None
    } else {
        caller.require(&[Role::Member])?;
        Some(caller.token.org_id.ok_or_else(ApiError::forbidden)?)
    };
    let filed = state.store.quarterly_reports(org).await?;
    let withdrawn = state.store.quarterly_withdrawals(org).await?;
    let owed: Vec<QuarterlyDue> = state
        .store
        .quarterly_reports_due(now)
        .await?
        .into_iter()
        .filter(|d| org.is_none_or(|o| o == d.org_id))
        .collect();
    if all {
        caller
            .audit(state, "read-quarterly-reports", "quarterly-reports".into())
            .await?;
    }
    Ok(Readable {
        filed,
        owed,
        withdrawn,
    })
}

/// `GET /api/v1/quarterly-reports`: the quarterly reports filed and those
/// owed (a member: its organisation's; the regulator and the hub: every
/// organisation's, with `overdue_orgs`).
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let Readable {
        filed,
        owed,
        withdrawn,
    } = readable(&state, &caller).await?;
    let all = OVERSIGHT.contains(&caller.token.role);
    let mut out = json!({
        "filed": filed.iter().map(|f| filed_view(f, true)).collect::<Vec<_>>(),
        "owed": owed.iter().map(owed_view).collect::<Vec<_>>(),
        "withdrawn": withdrawn.iter().map(withdrawn_view).collect::<Vec<_>>(),
    });
    if all {
        let mut overdue: Vec<&str> = owed
            .iter()
            .filter(|d| d.overdue())
            .map(|d| d.org.as_str())
            .collect();
        overdue.sort_unstable();
        overdue.dedup();
        out["overdue_orgs"] = json!(overdue);
    }
    Ok(Json(out))
}
