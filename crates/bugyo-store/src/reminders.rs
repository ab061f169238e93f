//! Reminders of report deadlines: a major accident's detailed report is
//! due 30 days after it occurred (see `bugyo_report`), and the reporting
//! organisation is reminded a week before, the day before and once it is
//! overdue, until its report reaches the `detailed` stage. Each reminder is
//! owed once per contact (the table's key), stays pending until sent, and
//! is retried with backoff like a notice.
//!
//! The quarterly report ([`crate::quarterly`]) is reminded the same way,
//! per organisation and quarter, until it is recorded as filed: one
//! [`Reminder`] type and one queue of due reminders serve both, each kept
//! in its own table (`report_reminders` is keyed by a report,
//! `quarterly_reminders` by organisation and quarter).
//!
//! Advisories ([`crate::advisories`]) are delivered the same way: all
//! record a delivery's fate through the same `DeliveryRow`.

use crate::{col, now_micros, Result, Store};

/// A report still owing its detailed report: (report id, organisation id,
/// due date `YYYY-MM-DD` in JST).
pub type AwaitingDetailed = (i64, i64, String);

/// What a reminder is of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owed {
    /// The detailed report of report `report_id` (a major accident).
    Detailed {
        /// The report.
        report_id: i64,
    },
    /// The quarterly report of organisation `org_id` for `quarter`.
    Quarterly {
        /// The organisation.
        org_id: i64,
        /// The fiscal quarter, e.g. `FY2021Q3`.
        quarter: String,
    },
}

/// A reminder owed to a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    /// What is owed.
    pub owed: Owed,
    /// The contact to tell.
    pub contact_id: i64,
    /// Which reminder: `detailed-week`, `detailed-day`, `detailed-overdue`,
    /// or the same of `quarterly-`.
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

    /// Owes `reminder` of `owed` to `contact_id`, unless it is owed (or was
    /// sent) already; true if it is new.
    pub async fn enqueue_reminder(
        &self,
        owed: &Owed,
        contact_id: i64,
        reminder: &str,
        due: &str,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let now = now_micros();
        let query = match owed {
            Owed::Detailed { report_id } => sqlx::query(
                "INSERT INTO report_reminders (report_id, contact_id, reminder, due, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (report_id, contact_id, reminder) DO NOTHING",
            )
            .bind(*report_id),
            Owed::Quarterly { org_id, .. } => sqlx::query(
                "INSERT INTO quarterly_reminders (quarter, org_id, contact_id, reminder, due, status, attempts, next_attempt_at, created_at) VALUES ($6, $1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (org_id, quarter, contact_id, reminder) DO NOTHING",
            )
            .bind(*org_id),
        };
        let mut query = query.bind(contact_id).bind(reminder).bind(due).bind(now);
        if let Owed::Quarterly { quarter, .. } = owed {
            // $6: after the columns both tables share.
            query = query.bind(quarter.clone());
        }
        let done = query.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Pending reminders due at `now` (Unix microseconds), oldest first,
    /// at most `limit`; those no longer owed are left out: a report that
    /// has since reached the detailed stage, a quarterly report since
    /// recorded as filed or whose quarter no longer has a report it lists.
    pub async fn due_reminders(&self, now: i64, limit: u32) -> Result<Vec<Reminder>> {
        let detailed = sqlx::query(
            "SELECT m.report_id, m.contact_id, m.reminder, m.due, m.attempts, m.created_at FROM report_reminders m JOIN reports r ON r.id = m.report_id WHERE m.status = 'pending' AND m.next_attempt_at <= $1 AND r.stage <> 'detailed' ORDER BY m.created_at, m.report_id, m.contact_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let quarterly = sqlx::query(
            "SELECT m.org_id, m.quarter, m.contact_id, m.reminder, m.due, m.attempts, m.created_at FROM quarterly_reminders m \
             WHERE m.status = 'pending' AND m.next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM quarterly_reports f WHERE f.org_id = m.org_id AND f.quarter = m.quarter) \
             AND EXISTS (SELECT 1 FROM reports r WHERE r.org_id = m.org_id AND r.quarter = m.quarter AND r.classification IN ('quarterly', 'major')) \
             ORDER BY m.created_at, m.org_id, m.quarter, m.contact_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(detailed.len() + quarterly.len());
        for (r, quarterly) in detailed
            .iter()
            .map(|r| (r, false))
            .chain(quarterly.iter().map(|r| (r, true)))
        {
            let owed = if quarterly {
                Owed::Quarterly {
                    org_id: col(r, "org_id")?,
                    quarter: col(r, "quarter")?,
                }
            } else {
                Owed::Detailed {
                    report_id: col(r, "report_id")?,
                }
            };
            let created_at: i64 = col(r, "created_at")?;
            out.push((
                created_at,
                Reminder {
                    owed,
                    contact_id: col(r, "contact_id")?,
                    reminder: col(r, "reminder")?,
                    due: col(r, "due")?,
                    attempts: col(r, "attempts")?,
                },
            ));
        }
        out.sort_by(|a, b| (a.0, &a.1.owed, a.1.contact_id).cmp(&(b.0, &b.1.owed, b.1.contact_id)));
        out.truncate(limit as usize);
        Ok(out.into_iter().map(|(_, r)| r).collect())
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

/// One row of a delivery table — `report_reminders`, `quarterly_reminders`,
/// `advisory_deliveries`:
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
    let (table, mut key) = match &r.owed {
        Owed::Detailed { report_id } => (
            "report_reminders",
            vec![("report_id", KeyValue::Int(*report_id))],
        ),
        Owed::Quarterly { org_id, quarter } => (
            "quarterly_reminders",
            vec![
                ("org_id", KeyValue::Int(*org_id)),
                ("quarter", KeyValue::Text(quarter)),
            ],
        ),
    };
    key.push(("contact_id", KeyValue::Int(r.contact_id)));
    key.push(("reminder", KeyValue::Text(&r.reminder)));
    DeliveryRow { table, key }
}
