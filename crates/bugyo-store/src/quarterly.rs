//! Quarterly reports (四半期報告, 電気通信事業報告規則第7条の3): each
//! organisation reports the accidents of a fiscal quarter that reach the
//! quarterly-report thresholds within two months after the quarter ends
//! (see `bugyo_report::calendar::quarterly_report_due`).
//!
//! Which accidents the quarterly report lists: those classified
//! `quarterly` (四半期報告事故: 30,000 users or more, or two hours or more;
//! 001_877f6a2558382331.txt p.1 footnote 5) and those classified `major`
//! (重大な事故): besides the 施行規則 form, a major accident is reported on
//! the 報告規則 form 27 too, and the regulator counts it among the
//! detailed-form quarterly reports (same file, p.4 footnote 8, and table
//! 1, "重大な事故及び四半期報告事故"). A report still `pending` (service
//! class, users or duration unknown) or `none` does not make a quarterly
//! report owed. Footnote 5 ③ (a leak of facility information) has no
//! classification in bugyo; such an accident is owed like any other only
//! once it is filed and classified.
//!
//! bugyo keeps that an organisation filed the quarterly report of a quarter
//! (the form itself goes to the regulator by its own channel), once per
//! organisation and quarter, never changed. A filing recorded by mistake
//! is withdrawn with a reason ([`Store::withdraw_quarterly_report`]): it
//! moves to the withdrawals, kept with who withdrew it and why, and the
//! quarter is owed again until a new filing. [`Store::quarterly_reports_due`]
//! says which quarters are owed, from the reports filed in bugyo. Reminders
//! of those are queued and sent like the detailed report's
//! ([`crate::reminders`]).

use crate::reports::Author;
use crate::sql::{Arg, Conditions};
use crate::{col, now_micros, Result, Store, StoreError};
use bugyo_model::Timestamp;
use bugyo_report::{Date, FiscalQuarter, Rules};
use std::collections::BTreeMap;

/// Longest note of a filing, in characters.
pub const MAX_NOTE: usize = 1000;

/// The classifications of the reports a quarterly report lists.
pub const LISTED: [&str; 2] = ["quarterly", "major"];

/// A quarterly report recorded as filed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuarterlyReport {
    /// The organisation.
    pub org_id: i64,
    /// Its handle.
    pub org: String,
    /// The fiscal quarter, e.g. `FY2021Q3`.
    pub quarter: String,
    /// Wall time recorded (Unix microseconds).
    pub filed_at: i64,
    /// The token that recorded it (none from the command line).
    pub token_id: Option<i64>,
    /// The person behind it, if the token is a user's.
    pub user_id: Option<i64>,
    /// A note or reference (e.g. the regulator's receipt number).
    pub note: Option<String>,
}

/// A filing withdrawn: what it was, and who withdrew it, when and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuarterlyWithdrawal {
    /// The filing as it was recorded.
    pub filing: QuarterlyReport,
    /// Wall time withdrawn (Unix microseconds).
    pub withdrawn_at: i64,
    /// The token that withdrew it (none from the command line).
    pub token_id: Option<i64>,
    /// The person behind it, if the token is a user's.
    pub user_id: Option<i64>,
    /// Why.
    pub reason: String,
}

/// A quarterly report owed and not recorded as filed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuarterlyDue {
    /// The organisation.
    pub org_id: i64,
    /// Its handle.
    pub org: String,
    /// The fiscal quarter, e.g. `FY2021Q3`.
    pub quarter: String,
    /// The last day it is on time (`YYYY-MM-DD`, JST).
    pub due: String,
    /// Days from today (JST) to `due`: 0 due today, negative overdue.
    pub days_left: i64,
    /// The organisation's reports of the quarter it lists, ids ascending.
    pub reports: Vec<i64>,
}

impl QuarterlyDue {
    /// True once the due date has passed.
    pub fn overdue(&self) -> bool {
        self.days_left < 0
    }
}

/// Reads a quarter (`FY2021Q3`), naming the field `quarter` if it is not one.
pub fn parse_quarter(s: &str) -> Result<FiscalQuarter> {
    FiscalQuarter::parse(s.trim()).ok_or_else(|| {
        StoreError::invalid(
            "quarter",
            format!(
                "{s:?} is not a fiscal quarter such as FY2021Q3 (FY2021 runs from April 2021 to March 2022) / {s:?} は FY2021Q3 のような年度の四半期ではありません (FY2021 は 2021年4月から2022年3月)"
            ),
        )
    })
}

/// The due date of the quarterly report of `quarter`, under the rules
/// shipped with bugyo.
pub fn due_date(quarter: FiscalQuarter) -> Result<Date> {
    let rules = Rules::embedded().map_err(|e| StoreError::Corrupt {
        what: "accident rules",
        message: e.to_string(),
    })?;
    Ok(bugyo_report::calendar::quarterly_report_due(
        quarter,
        rules.deadlines.quarterly_report_months,
    ))
}

/// A filing's note or a withdrawal's reason (`field`), trimmed; empty is
/// none.
fn check_text(field: &'static str, note: Option<&str>) -> Result<Option<String>> {
    let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if n.chars().count() > MAX_NOTE {
        return Err(StoreError::invalid(
            field,
            format!("at most {MAX_NOTE} characters / {MAX_NOTE} 文字以内"),
        ));
    }
    if n.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(StoreError::invalid(
            field,
            "control characters are not allowed / 制御文字は使えません",
        ));
    }
    Ok(Some(n.to_string()))
}

fn filed(row: &sqlx::any::AnyRow) -> Result<QuarterlyReport> {
    Ok(QuarterlyReport {
        org_id: col(row, "org_id")?,
        org: col(row, "org")?,
        quarter: col(row, "quarter")?,
        filed_at: col(row, "filed_at")?,
        token_id: col(row, "token_id")?,
        user_id: col(row, "user_id")?,
        note: col(row, "note")?,
    })
}

const FILED_COLUMNS: &str = "q.org_id AS org_id, o.handle AS org, q.quarter AS quarter, \
     q.filed_at AS filed_at, q.token_id AS token_id, q.user_id AS user_id, q.note AS note";

impl Store {
    /// Records that organisation `org_id` filed its quarterly report of
    /// `quarter` (`FY2021Q3`), by `by`, with an optional note or
    /// reference. Refused, naming the field, for a quarter that is not one,
    /// has not ended yet or was filed already, and for a note too long.
    pub async fn file_quarterly_report(
        &self,
        org_id: i64,
        quarter: &str,
        by: Author,
        note: Option<&str>,
    ) -> Result<QuarterlyReport> {
        let q = parse_quarter(quarter)?;
        let now = now_micros();
        let today = Date::jst(Timestamp::from_micros(now));
        if q.last_day() >= today {
            return Err(StoreError::invalid(
                "quarter",
                format!(
                    "{q} has not ended yet (its last day is {}): its quarterly report is filed after it / {q} はまだ終わっていません (最終日 {}): 四半期報告は四半期の終了後に提出します",
                    q.last_day(),
                    q.last_day()
                ),
            ));
        }
        let note = check_text("note", note)?;
        let quarter = q.to_string();
        let mut tx = self.write().await?;
        crate::orgs::require_org(&mut tx, org_id).await?;
        let before = sqlx::query(
            "SELECT filed_at FROM quarterly_reports WHERE org_id = $1 AND quarter = $2",
        )
        .bind(org_id)
        .bind(&quarter)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = before {
            let at =
                bugyo_report::calendar::jst_rfc3339(Timestamp::from_micros(col(&r, "filed_at")?));
            return Err(StoreError::invalid(
                "quarter",
                format!("the quarterly report of {quarter} was recorded as filed at {at} / {quarter} の四半期報告は {at} に提出済みです"),
            ));
        }
        sqlx::query("INSERT INTO quarterly_reports (org_id, quarter, filed_at, token_id, user_id, note) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(org_id)
            .bind(&quarter)
            .bind(now)
            .bind(by.token_id)
            .bind(by.user_id)
            .bind(note)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let q = format!(
            "SELECT {FILED_COLUMNS} FROM quarterly_reports q JOIN orgs o ON o.id = q.org_id WHERE q.org_id = $1 AND q.quarter = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(org_id)
            .bind(&quarter)
            .fetch_one(self.pool())
            .await?;
        filed(&row)
    }

    /// Withdraws the filing of `quarter` recorded for organisation
    /// `org_id`, by `by`, for `reason` (required): the filing moves to the
    /// withdrawals in one transaction, and the quarter is owed again.
    /// Refused, naming the field, for a quarter that is not one or has no
    /// filing, and for a reason missing or too long.
    pub async fn withdraw_quarterly_report(
        &self,
        org_id: i64,
        quarter: &str,
        by: Author,
        reason: &str,
    ) -> Result<QuarterlyWithdrawal> {
        let quarter = parse_quarter(quarter)?.to_string();
        let reason = check_text("reason", Some(reason))?.ok_or_else(|| {
            StoreError::invalid(
                "reason",
                "required: why the filing is withdrawn / 必須です: 取り下げる理由",
            )
        })?;
        let now = now_micros();
        let mut tx = self.write().await?;
        crate::orgs::require_org(&mut tx, org_id).await?;
        let q = format!(
            "SELECT {FILED_COLUMNS} FROM quarterly_reports q JOIN orgs o ON o.id = q.org_id WHERE q.org_id = $1 AND q.quarter = $2"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(org_id)
            .bind(&quarter)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::invalid(
                "quarter",
                format!("the quarterly report of {quarter} is not recorded as filed / {quarter} の四半期報告は提出済みとして記録されていません"),
            ));
        };
        let filing = filed(&row)?;
        sqlx::query("INSERT INTO quarterly_withdrawals (org_id, quarter, filed_at, filed_token_id, filed_user_id, note, withdrawn_at, token_id, user_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(org_id)
            .bind(&quarter)
            .bind(filing.filed_at)
            .bind(filing.token_id)
            .bind(filing.user_id)
            .bind(filing.note.clone())
            .bind(now)
            .bind(by.token_id)
            .bind(by.user_id)
            .bind(&reason)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM quarterly_reports WHERE org_id = $1 AND quarter = $2")
            .bind(org_id)
            .bind(&quarter)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(QuarterlyWithdrawal {
            filing,
            withdrawn_at: now,
            token_id: by.token_id,
            user_id: by.user_id,
            reason,
        })
    }

    /// The filings withdrawn, of organisation `org_id` or of all; by
    /// organisation handle, quarter, then time withdrawn.
    pub async fn quarterly_withdrawals(
        &self,
        org_id: Option<i64>,
    ) -> Result<Vec<QuarterlyWithdrawal>> {
        let mut q = Conditions::new(
            "SELECT w.org_id AS org_id, o.handle AS org, w.quarter AS quarter, w.filed_at AS filed_at, \
             w.filed_token_id AS filed_token_id, w.filed_user_id AS filed_user_id, w.note AS note, \
             w.withdrawn_at AS withdrawn_at, w.token_id AS token_id, w.user_id AS user_id, w.reason AS reason \
             FROM quarterly_withdrawals w JOIN orgs o ON o.id = w.org_id WHERE 1 = 1",
        );
        if let Some(o) = org_id {
            q.and(" AND w.org_id = ?", Arg::Int(o));
        }
        q.push(" ORDER BY o.handle, w.quarter, w.withdrawn_at");
        let rows = q.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(QuarterlyWithdrawal {
                    filing: QuarterlyReport {
                        org_id: col(r, "org_id")?,
                        org: col(r, "org")?,
                        quarter: col(r, "quarter")?,
                        filed_at: col(r, "filed_at")?,
                        token_id: col(r, "filed_token_id")?,
                        user_id: col(r, "filed_user_id")?,
                        note: col(r, "note")?,
                    },
                    withdrawn_at: col(r, "withdrawn_at")?,
                    token_id: col(r, "token_id")?,
                    user_id: col(r, "user_id")?,
                    reason: col(r, "reason")?,
                })
            })
            .collect()
    }

    /// The quarterly reports recorded as filed, of organisation `org_id`
    /// or of all; by organisation handle, then quarter.
    pub async fn quarterly_reports(&self, org_id: Option<i64>) -> Result<Vec<QuarterlyReport>> {
        let of_org = if org_id.is_some() {
            "WHERE q.org_id = $1 "
        } else {
            ""
        };
        let q = format!(
            "SELECT {FILED_COLUMNS} FROM quarterly_reports q JOIN orgs o ON o.id = q.org_id {of_org}ORDER BY o.handle, q.quarter"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        if let Some(org) = org_id {
            query = query.bind(org);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(filed).collect()
    }

    /// The quarterly reports owed at `now` (Unix microseconds) and not
    /// recorded as filed: for each organisation with at least one report
    /// classified `quarterly` or `major` (see the module's reading) in a
    /// quarter that has ended (JST), the quarter, its due date and those
    /// reports; by organisation id, then quarter.
    pub async fn quarterly_reports_due(&self, now: i64) -> Result<Vec<QuarterlyDue>> {
        let rows = sqlx::query(
            "SELECT r.org_id AS org_id, o.handle AS org, r.quarter AS quarter, r.id AS id FROM reports r \
             JOIN orgs o ON o.id = r.org_id \
             WHERE r.classification IN ('quarterly', 'major') \
             AND NOT EXISTS (SELECT 1 FROM quarterly_reports f WHERE f.org_id = r.org_id AND f.quarter = r.quarter) \
             ORDER BY r.org_id, r.quarter, r.id",
        )
        .fetch_all(self.pool())
        .await?;
        let today = Date::jst(Timestamp::from_micros(now));
        let mut owed: BTreeMap<(i64, String), QuarterlyDue> = BTreeMap::new();
        for r in &rows {
            let org_id: i64 = col(r, "org_id")?;
            let text: String = col(r, "quarter")?;
            let q = FiscalQuarter::parse(&text).ok_or_else(|| StoreError::Corrupt {
                what: "report quarter",
                message: text.clone(),
            })?;
            if q.last_day() >= today {
                continue;
            }
            let due = due_date(q)?;
            owed.entry((org_id, text.clone()))
                .or_insert(QuarterlyDue {
                    org_id,
                    org: col(r, "org")?,
                    quarter: text,
                    due: due.to_string(),
                    days_left: due.days() - today.days(),
                    reports: Vec::new(),
                })
                .reports
                .push(col(r, "id")?);
        }
        Ok(owed.into_values().collect())
    }
}
