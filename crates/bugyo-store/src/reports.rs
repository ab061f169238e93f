//! Outage reports to the regulator (issue 5): a first report fast, with no
//! minimum detail, follow-ups when useful, a final report and, for a major
//! accident, the detailed report within 30 days.
//!
//! Nothing is overwritten: filing a report and every follow-up or
//! correction is a new version holding the whole report as JSON, who
//! submitted it (token and user) and why (a correction's reason). The
//! `reports` row is the latest state, for listing; with each version the
//! statutory classification of [`bugyo_report`] is stored once the service
//! class, users and duration are known, so a list can filter by
//! classification and quarter. Each write is one transaction.
//!
//! - [`fields`]: what a report says, read from JSON naming the field at fault;
//! - [`changes`](mod@changes): each field's before and after between two versions;
//! - [`view`]: who may see a report and what of it.

pub mod changes;
pub mod fields;
pub mod view;

use crate::sql::{Arg, Conditions};
use crate::{col, next_id, now_micros, Result, Store, StoreError};
use bugyo_model::Timestamp;
pub use changes::{changes, FieldChange};
pub use fields::{CauseCategory, Report, SharingMarks, Stage};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
pub use view::{Access, ReportReader};

/// Who submitted a version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Author {
    /// The API token used, if any.
    pub token_id: Option<i64>,
    /// The person behind it, if the token is a user's.
    pub user_id: Option<i64>,
}

/// A report's latest state as listed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredReport {
    /// The store's id.
    pub id: i64,
    /// The reporting organisation.
    pub org_id: i64,
    /// Its handle.
    pub org: String,
    /// Where the report stands.
    pub stage: Stage,
    /// Latest version (1, 2, ...).
    pub version: i64,
    /// When the outage began (Unix microseconds).
    pub occurred_at: i64,
    /// Place or area.
    pub area: Option<String>,
    /// Services affected.
    pub services: Option<String>,
    /// What is happening.
    pub situation: String,
    /// `major`, `quarterly`, `none`, or `pending` while service class,
    /// users or duration is unknown.
    pub classification: String,
    /// The fiscal quarter (JST) of the occurrence, e.g. `FY2021Q3`.
    pub quarter: String,
    /// The last day of the detailed report (major accidents).
    pub detailed_report_due: Option<String>,
    /// The sharing marks of the latest version.
    pub sharing: SharingMarks,
    /// Wall time filed (Unix microseconds).
    pub created_at: i64,
    /// Wall time of the latest version.
    pub updated_at: i64,
}

/// One version of a report.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReportVersion {
    /// The report.
    pub report_id: i64,
    /// 1, 2, ...
    pub version: i64,
    /// The stage of this version.
    pub stage: Stage,
    /// The whole report at this version (see [`Report::to_json`]).
    pub body: Map<String, Value>,
    /// Its statutory classification, once computable.
    pub classification: Option<Value>,
    /// The token that submitted it.
    pub token_id: Option<i64>,
    /// The person, if the token is a user's.
    pub user_id: Option<i64>,
    /// Why (a correction's reason).
    pub reason: Option<String>,
    /// Wall time recorded (Unix microseconds).
    pub recorded_at: i64,
    /// What it changed from the version before (version 1: every field).
    pub changes: Vec<FieldChange>,
}

/// Which reports to list. Every field narrows; `after_id` pages (ids
/// ascending).
#[derive(Clone, Debug, Default)]
pub struct ReportFilter {
    /// Of this organisation.
    pub org_id: Option<i64>,
    /// At this stage.
    pub stage: Option<Stage>,
    /// `major`, `quarterly`, `none` or `pending`.
    pub classification: Option<String>,
    /// Of this fiscal quarter, e.g. `FY2021Q3`.
    pub quarter: Option<String>,
    /// Occurred at or after (Unix microseconds).
    pub since: Option<i64>,
    /// Occurred before (Unix microseconds).
    pub until: Option<i64>,
    /// Only those a member of this organisation may see: its own and
    /// those marked `share_operators`.
    pub visible_to_org: Option<i64>,
    /// Only those marked `share_public` (the public status page).
    pub public: bool,
    /// Only ids above this.
    pub after_id: Option<i64>,
    /// At most this many (default and maximum [`MAX_PAGE`]).
    pub limit: Option<u32>,
}

/// Most reports one listing returns.
pub const MAX_PAGE: u32 = 1000;
/// Longest reason of a correction, in characters.
pub const MAX_REASON: usize = 1000;
/// The classifications a list can filter by.
pub const CLASSIFICATIONS: [&str; 4] = ["major", "quarterly", "none", "pending"];

const REPORT_COLUMNS: &str = "r.id AS id, r.org_id AS org_id, o.handle AS org, r.stage AS stage, \
     r.version AS version, r.occurred_at AS occurred_at, r.area AS area, r.services AS services, \
     r.situation AS situation, r.classification AS classification, r.quarter AS quarter, \
     r.detailed_report_due AS detailed_report_due, r.share_public AS share_public, \
     r.share_operators AS share_operators, r.created_at AS created_at, r.updated_at AS updated_at";

fn stage_of(text: &str) -> Result<Stage> {
    Stage::parse(text).ok_or_else(|| StoreError::Corrupt {
        what: "report stage",
        message: text.to_string(),
    })
}

fn stored(row: &AnyRow) -> Result<StoredReport> {
    let stage: String = col(row, "stage")?;
    Ok(StoredReport {
        id: col(row, "id")?,
        org_id: col(row, "org_id")?,
        org: col(row, "org")?,
        stage: stage_of(&stage)?,
        version: col(row, "version")?,
        occurred_at: col(row, "occurred_at")?,
        area: col(row, "area")?,
        services: col(row, "services")?,
        situation: col(row, "situation")?,
        classification: col(row, "classification")?,
        quarter: col(row, "quarter")?,
        detailed_report_due: col(row, "detailed_report_due")?,
        sharing: SharingMarks {
            public: col::<i64>(row, "share_public")? != 0,
            operators: col::<i64>(row, "share_operators")? != 0,
        },
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn now() -> Timestamp {
    Timestamp::from_micros(now_micros())
}

fn check_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.chars().count() > MAX_REASON {
        return Err(StoreError::invalid(
            "reason",
            format!("at most {MAX_REASON} characters / {MAX_REASON} 文字以内"),
        ));
    }
    if r.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(StoreError::invalid(
            "reason",
            "control characters are not allowed / 制御文字は使えません",
        ));
    }
    Ok(Some(r.to_string()))
}

/// Writes version `version` of report `id` (and its latest state and
/// incident links) within the caller's transaction.
async fn write_version(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    org_id: i64,
    version: i64,
    report: &Report,
    reason: Option<String>,
    by: Author,
) -> Result<()> {
    for incident in &report.incidents {
        let found = sqlx::query("SELECT id FROM incidents WHERE id = $1")
            .bind(incident)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid(
                "incidents",
                format!("no incident {incident} / インシデント {incident} はありません"),
            ));
        }
    }
    let classification = report.classification()?;
    let class = classification
        .as_ref()
        .map_or("pending", |c| c.classification.as_str());
    let due = classification
        .as_ref()
        .and_then(|c| c.detailed_report_due)
        .map(|d| d.to_string());
    let class_json = classification
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::invalid("classification", e.to_string()))?;
    let body = Value::Object(report.to_json()).to_string();
    let now = now_micros();
    let q = if version == 1 {
        "INSERT INTO reports (id, org_id, stage, version, occurred_at, share_public, share_operators, classification, quarter, detailed_report_due, area, services, situation, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    } else {
        "UPDATE reports SET org_id = $2, stage = $3, version = $4, occurred_at = $5, share_public = $6, share_operators = $7, classification = $8, quarter = $9, detailed_report_due = $10, area = $11, services = $12, situation = $13, updated_at = $14 WHERE id = $1"
    };
    sqlx::query(q)
        .bind(id)
        .bind(org_id)
        .bind(report.stage.name())
        .bind(version)
        .bind(report.occurred_at.as_micros())
        .bind(i64::from(report.sharing.public))
        .bind(i64::from(report.sharing.operators))
        .bind(class)
        .bind(report.quarter())
        .bind(due)
        .bind(report.area.clone())
        .bind(report.services.clone())
        .bind(report.situation.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO report_versions (report_id, version, stage, body, classification, token_id, user_id, reason, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(id)
        .bind(version)
        .bind(report.stage.name())
        .bind(body)
        .bind(class_json)
        .bind(by.token_id)
        .bind(by.user_id)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM report_incidents WHERE report_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for incident in &report.incidents {
        sqlx::query("INSERT INTO report_incidents (report_id, incident_id) VALUES ($1, $2)")
            .bind(id)
            .bind(incident)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The latest version's body of report `id` and its organisation, within
/// the caller's transaction.
async fn current(tx: &mut sqlx::AnyConnection, id: i64) -> Result<Option<(i64, i64, Report)>> {
    let Some(row) = sqlx::query(
        "SELECT r.org_id AS org_id, r.version AS version, v.body AS body FROM reports r \
         JOIN report_versions v ON v.report_id = r.id AND v.version = r.version WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let body = parse_body(&col::<String>(&row, "body")?)?;
    // Read back as written: the bound on occurred_at does not apply.
    let report = Report::from_json(&body, Timestamp::from_secs(i64::MAX / 2)).map_err(|e| {
        StoreError::Corrupt {
            what: "report version body",
            message: format!("report {id}: {e}"),
        }
    })?;
    Ok(Some((col(&row, "org_id")?, col(&row, "version")?, report)))
}

/// Files a new report for organisation `org_id` from `fields` within the
/// caller's transaction (see [`Store::file_report`]); its id.
pub(crate) async fn file_in(
    tx: &mut sqlx::AnyConnection,
    org_id: i64,
    fields: &Map<String, Value>,
    by: Author,
) -> Result<i64> {
    let mut fields = fields.clone();
    if fields.get("stage").is_none_or(Value::is_null) {
        fields.insert("stage".into(), Stage::First.name().into());
    }
    let report = Report::from_json(&fields, now())?;
    crate::orgs::require_org(&mut *tx, org_id).await?;
    let id = next_id(&mut *tx, "reports").await?;
    write_version(tx, id, org_id, 1, &report, None, by).await?;
    Ok(id)
}

/// Adds a version to report `id` within the caller's transaction (see
/// [`Store::amend_report`]): its organisation and the new version's
/// number, `None` if there is no such report.
pub(crate) async fn amend_in(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    patch: &Map<String, Value>,
    reason: Option<&str>,
    by: Author,
) -> Result<Option<(i64, i64)>> {
    let reason = check_reason(reason)?;
    if let Some(k) = fields::unknown_field(patch) {
        return Err(StoreError::invalid(
            "body",
            format!("{k:?} is not a field of a report / {k:?} は報告の項目ではありません"),
        ));
    }
    let Some((org_id, version, before)) = current(&mut *tx, id).await? else {
        return Ok(None);
    };
    let after = before.merged(patch, now())?;
    if after == before {
        return Err(StoreError::invalid(
            "body",
            "nothing changed: give the fields that are new or corrected / 変更がありません: 新しい項目か訂正する項目を指定してください",
        ));
    }
    write_version(tx, id, org_id, version + 1, &after, reason, by).await?;
    Ok(Some((org_id, version + 1)))
}

fn parse_body(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(StoreError::Corrupt {
            what: "report version body",
            message: "not an object".into(),
        }),
        Err(e) => Err(StoreError::Corrupt {
            what: "report version body",
            message: e.to_string(),
        }),
    }
}

impl Store {
    /// Files a new report for organisation `org_id` from `fields` (a
    /// report's JSON; `stage` defaults to `first`): version 1. Nothing is
    /// stored if any field is at fault.
    pub async fn file_report(
        &self,
        org_id: i64,
        fields: &Map<String, Value>,
        by: Author,
    ) -> Result<StoredReport> {
        let mut tx = self.write().await?;
        let id = file_in(&mut tx, org_id, fields, by).await?;
        tx.commit().await?;
        self.report(id).await?.ok_or_else(|| StoreError::Corrupt {
            what: "report",
            message: format!("report {id} vanished after filing"),
        })
    }

    /// Adds a version to report `id`: `patch` laid over the current state
    /// (see [`Report::merged`]), with an optional `reason`. `None` if there
    /// is no such report; an error if nothing would change.
    pub async fn amend_report(
        &self,
        id: i64,
        patch: &Map<String, Value>,
        reason: Option<&str>,
        by: Author,
    ) -> Result<Option<StoredReport>> {
        let mut tx = self.write().await?;
        if amend_in(&mut tx, id, patch, reason, by).await?.is_none() {
            return Ok(None);
        }
        tx.commit().await?;
        self.report(id).await
    }

    /// One report's latest state.
    pub async fn report(&self, id: i64) -> Result<Option<StoredReport>> {
        let q = format!(
            "SELECT {REPORT_COLUMNS} FROM reports r JOIN orgs o ON o.id = r.org_id WHERE r.id = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| stored(&r))
            .transpose()
    }

    /// Reports matching `filter`, ids ascending.
    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<StoredReport>> {
        let mut q = Conditions::new(format!(
            "SELECT {REPORT_COLUMNS} FROM reports r JOIN orgs o ON o.id = r.org_id WHERE 1 = 1"
        ));
        let mut cond = |sql: &str, a: Arg| q.and(sql, a);
        if let Some(v) = filter.org_id {
            cond(" AND r.org_id = ?", Arg::Int(v));
        }
        if let Some(v) = filter.stage {
            cond(" AND r.stage = ?", Arg::Text(v.name().to_string()));
        }
        if let Some(v) = &filter.classification {
            cond(" AND r.classification = ?", Arg::Text(v.clone()));
        }
        if let Some(v) = &filter.quarter {
            cond(" AND r.quarter = ?", Arg::Text(v.clone()));
        }
        if let Some(v) = filter.since {
            cond(" AND r.occurred_at >= ?", Arg::Int(v));
        }
        if let Some(v) = filter.until {
            cond(" AND r.occurred_at < ?", Arg::Int(v));
        }
        if let Some(v) = filter.visible_to_org {
            cond(" AND (r.org_id = ? OR r.share_operators = 1)", Arg::Int(v));
        }
        if filter.public {
            cond(" AND r.share_public = ?", Arg::Int(1));
        }
        if let Some(v) = filter.after_id {
            cond(" AND r.id > ?", Arg::Int(v));
        }
        let limit = filter.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        q.push(&format!(" ORDER BY r.id LIMIT {limit}"));
        let rows = q.query().fetch_all(self.pool()).await?;
        rows.iter().map(stored).collect()
    }

    /// Every version of a report, oldest first, each with what it changed
    /// from the one before. Empty if there is no such report.
    pub async fn report_history(&self, id: i64) -> Result<Vec<ReportVersion>> {
        let rows = sqlx::query("SELECT report_id, version, stage, body, classification, token_id, user_id, reason, recorded_at FROM report_versions WHERE report_id = $1 ORDER BY version")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        let mut out: Vec<ReportVersion> = Vec::with_capacity(rows.len());
        for r in &rows {
            let body = parse_body(&col::<String>(r, "body")?)?;
            let classification = col::<Option<String>>(r, "classification")?
                .map(|t| {
                    serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                        what: "report classification",
                        message: e.to_string(),
                    })
                })
                .transpose()?;
            let empty = Map::new();
            let before = out.last().map_or(&empty, |v| &v.body);
            let changes = changes(before, &body);
            let stage: String = col(r, "stage")?;
            out.push(ReportVersion {
                report_id: col(r, "report_id")?,
                version: col(r, "version")?,
                stage: stage_of(&stage)?,
                body,
                classification,
                token_id: col(r, "token_id")?,
                user_id: col(r, "user_id")?,
                reason: col(r, "reason")?,
                recorded_at: col(r, "recorded_at")?,
                changes,
            });
        }
        Ok(out)
    }

    /// The reports linked to a detected incident, ids ascending.
    pub async fn reports_of_incident(&self, incident_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT report_id FROM report_incidents WHERE incident_id = $1 ORDER BY report_id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| col(r, "report_id")).collect()
    }
}
