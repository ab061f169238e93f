//! Reminders of report deadlines: a major accident's detailed report is
//! due 30 days after it occurred (see `bugyo_report`), and the reporting
//! organisation is reminded a week before, the day before and once it is
//! overdue, until its report reaches the `detailed` stage. Each reminder is
//! owed once per contact (the table's key), stays pending until sent, and
//! is retried with backoff like a notice.
//!
//! Advisories ([`crate::advisories`]) are delivered the same way: both
//! record a delivery's fate through the same `DeliveryRow`.

use crate::{col, now_micros, Result, Store};

/// A report still owing its detailed report: (report id, organisation id,
/// due date `YYYY-MM-DD` in JST).
pub type AwaitingDetailed = (i64, i64, String);

/// A reminder owed to a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    /// The report.
    pub report_id: i64,
    /// The contact to tell.
    pub contact_id: i64,
    /// Which reminder: `detailed-week`, `detailed-day` or `detailed-overdue`.
    pub reminder: String,
    /// The date the report is due (`YYYY-MM-DD`, JST).
    pub due: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl Store {
    /// Reports of major accidents whose detailed report is still owed.
    pub async fn reports_awaiting_detailed(&self) -> Result<Vec<AwaitingDetailed>> {
        let rows = sqlx::query(
            "SELECT id, org_id, detailed_report_due FROM reports WHERE classification = 'major' AND stage <> 'detailed' AND detailed_report_due IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    col(r, "id")?,
                    col(r, "org_id")?,
                    col(r, "detailed_report_due")?,
                ))
            })
            .collect()
    }

    /// Owes `reminder` of report `report_id` to `contact_id`, unless it is
    /// owed (or was sent) already; true if it is new.
    pub async fn enqueue_reminder(
        &self,
        report_id: i64,
        contact_id: i64,
        reminder: &str,
        due: &str,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let now = now_micros();
        let done = sqlx::query(
            "INSERT INTO report_reminders (report_id, contact_id, reminder, due, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (report_id, contact_id, reminder) DO NOTHING",
        )
        .bind(report_id)
        .bind(contact_id)
        .bind(reminder)
        .bind(due)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Pending reminders due at `now` (Unix microseconds), oldest first;
    /// those of reports that have since reached the detailed stage are
    /// left out.
    pub async fn due_reminders(&self, now: i64, limit: u32) -> Result<Vec<Reminder>> {
        let rows = sqlx::query(
            "SELECT m.report_id, m.contact_id, m.reminder, m.due, m.attempts FROM report_reminders m JOIN reports r ON r.id = m.report_id WHERE m.status = 'pending' AND m.next_attempt_at <= $1 AND r.stage <> 'detailed' ORDER BY m.created_at, m.report_id, m.contact_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Reminder {
                    report_id: col(r, "report_id")?,
                    contact_id: col(r, "contact_id")?,
                    reminder: col(r, "reminder")?,
                    due: col(r, "due")?,
                    attempts: col(r, "attempts")?,
                })
            })
            .collect()
    }

    /// Records a reminder sent as message `message_id`.
    pub async fn mark_reminder_sent(&self, r: &Reminder, message_id: &str) -> Result<()> {
        self.delivery_sent(&reminder_row(r), message_id).await
    }

    /// Records a failed attempt; the reminder stays pending until `retry_at`.
    pub async fn mark_reminder_failed(
        &self,
        r: &Reminder,
        error: &str,
        retry_at: i64,
    ) -> Result<()> {
        self.delivery_failed(&reminder_row(r), error, retry_at)
            .await
    }

    /// Records the delivery row `row` sent as message `message_id`.
    pub(crate) async fn delivery_sent(
        &self,
        row: &DeliveryRow<'_>,
        message_id: &str,
    ) -> Result<()> {
        let q = format!(
            "UPDATE {} SET status = 'sent', sent_at = $1, message_id = $2, attempts = attempts + 1, last_error = NULL WHERE {}",
            row.table,
            row.condition(3)
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(now_micros())
            .bind(message_id);
        let mut tx = self.write().await?;
        row.bind(query).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt at delivery row `row`; it stays pending
    /// until `retry_at` (Unix microseconds).
    pub(crate) async fn delivery_failed(
        &self,
        row: &DeliveryRow<'_>,
        error: &str,
        retry_at: i64,
    ) -> Result<()> {
        let q = format!(
            "UPDATE {} SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE {}",
            row.table,
            row.condition(3)
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(error)
            .bind(retry_at);
        let mut tx = self.write().await?;
        row.bind(query).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One row of a delivery table — `report_reminders`, `advisory_deliveries`:
/// a message owed to a contact, with `status` (`pending`, `sent`),
/// `attempts`, `last_error`, `next_attempt_at`, `sent_at` and `message_id`
/// — named by its table and its key columns' values.
pub(crate) struct DeliveryRow<'a> {
    /// The table.
    pub table: &'static str,
    /// Its key: each column with its value.
    pub key: Vec<(&'static str, KeyValue<'a>)>,
}

/// A key column's value.
pub(crate) enum KeyValue<'a> {
    /// A number (an id).
    Int(i64),
    /// A text.
    Text(&'a str),
}

impl DeliveryRow<'_> {
    /// `col = $first AND col = $first+1 ...` over the key.
    fn condition(&self, first: usize) -> String {
        self.key
            .iter()
            .enumerate()
            .map(|(i, (col, _))| format!("{col} = ${}", first + i))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// `query` with the key's values bound after what it has.
    fn bind<'q>(
        &self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for (_, v) in &self.key {
            query = match v {
                KeyValue::Int(n) => query.bind(*n),
                KeyValue::Text(t) => query.bind(t.to_string()),
            };
        }
        query
    }
}

fn reminder_row(r: &Reminder) -> DeliveryRow<'_> {
    DeliveryRow {
        table: "report_reminders",
        key: vec![
            ("report_id", KeyValue::Int(r.report_id)),
            ("contact_id", KeyValue::Int(r.contact_id)),
            ("reminder", KeyValue::Text(&r.reminder)),
        ],
    }
}
