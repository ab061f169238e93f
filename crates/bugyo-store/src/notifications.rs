//! The notification log: the notices owed to contacts, each delivery
//! attempt's outcome, and the cursor by which the notifier follows the
//! incident versions as they are recorded (so that a restart neither loses
//! nor repeats a decision).

use crate::{col, next_id, now_micros, Result, Store, StoreError};

/// An incident version recorded after the notifier's cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionToNotify {
    /// Its place in the order of recording.
    pub seq: i64,
    /// The incident.
    pub incident_id: i64,
    /// The version.
    pub version: i64,
    /// `opened`, `updated` or `resolved`.
    pub event: String,
    /// The incident's JSON at this version (without `prefixes`).
    pub body: serde_json::Value,
}

/// A notice to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotice {
    /// The incident.
    pub incident_id: i64,
    /// The version it is about.
    pub version: i64,
    /// The contact to tell.
    pub contact_id: i64,
    /// What it says: `opened`, `grown`, `resolved`.
    pub event: String,
    /// The prefix count it reports (to judge later growth).
    pub prefix_count: i64,
    /// The severity it reports (0 info … 4 critical).
    pub severity_rank: i64,
}

/// A notice in the log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// The store's id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The version it is about.
    pub version: i64,
    /// The contact.
    pub contact_id: i64,
    /// `opened`, `grown`, `resolved`.
    pub event: String,
    /// The prefix count it reports.
    pub prefix_count: i64,
    /// The severity it reports.
    pub severity_rank: i64,
    /// `pending` or `sent`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When it may next be tried (Unix microseconds).
    pub next_attempt_at: i64,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The message that carried it (one message may carry a digest).
    pub message_id: Option<String>,
    /// When it was sent.
    pub sent_at: Option<i64>,
}

const NOTICE_COLUMNS: &str = "id, incident_id, version, contact_id, event, prefix_count, severity_rank, status, attempts, next_attempt_at, last_error, message_id, sent_at";

fn notice(r: &sqlx::any::AnyRow) -> Result<Notice> {
    Ok(Notice {
        id: col(r, "id")?,
        incident_id: col(r, "incident_id")?,
        version: col(r, "version")?,
        contact_id: col(r, "contact_id")?,
        event: col(r, "event")?,
        prefix_count: col(r, "prefix_count")?,
        severity_rank: col(r, "severity_rank")?,
        status: col(r, "status")?,
        attempts: col(r, "attempts")?,
        next_attempt_at: col(r, "next_attempt_at")?,
        last_error: col(r, "last_error")?,
        message_id: col(r, "message_id")?,
        sent_at: col(r, "sent_at")?,
    })
}

impl Store {
    /// Up to `limit` incident versions recorded after the notifier's cursor,
    /// in order of recording.
    pub async fn versions_to_notify(&self, limit: u32) -> Result<Vec<VersionToNotify>> {
        let rows = sqlx::query(
            "SELECT v.seq AS seq, v.incident_id AS incident_id, v.version AS version, v.event AS event, v.body AS body \
             FROM incident_versions v WHERE v.seq > (SELECT seq FROM cursors WHERE name = 'notifier') \
             ORDER BY v.seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let body: String = col(r, "body")?;
                Ok(VersionToNotify {
                    seq: col(r, "seq")?,
                    incident_id: col(r, "incident_id")?,
                    version: col(r, "version")?,
                    event: col(r, "event")?,
                    body: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                        what: "incident version body",
                        message: e.to_string(),
                    })?,
                })
            })
            .collect()
    }

    /// The latest notice enqueued for `contact` about `incident`.
    pub async fn last_notice(&self, incident_id: i64, contact_id: i64) -> Result<Option<Notice>> {
        let q = format!("SELECT {NOTICE_COLUMNS} FROM notifications WHERE incident_id = $1 AND contact_id = $2 ORDER BY version DESC LIMIT 1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(incident_id)
            .bind(contact_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| notice(&r))
            .transpose()
    }

    /// Enqueues `notices` and moves the notifier's cursor to `seq`, in one
    /// transaction: each decision is taken once. A notice already enqueued
    /// (same incident, version and contact) is not enqueued again.
    pub async fn enqueue_notices(&self, seq: i64, notices: &[NewNotice]) -> Result<()> {
        let mut tx = self.write().await?;
        let now = now_micros();
        for n in notices {
            let exists = sqlx::query("SELECT id FROM notifications WHERE incident_id = $1 AND version = $2 AND contact_id = $3")
                .bind(n.incident_id)
                .bind(n.version)
                .bind(n.contact_id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_some() {
                continue;
            }
            let id = next_id(&mut tx, "notifications").await?;
            sqlx::query("INSERT INTO notifications (id, incident_id, version, contact_id, event, prefix_count, severity_rank, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)")
                .bind(id)
                .bind(n.incident_id)
                .bind(n.version)
                .bind(n.contact_id)
                .bind(&n.event)
                .bind(n.prefix_count)
                .bind(n.severity_rank)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE cursors SET seq = $1 WHERE name = 'notifier' AND seq < $1")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pending notices due at `now` (Unix microseconds), oldest first.
    pub async fn due_notices(&self, now: i64, limit: u32) -> Result<Vec<Notice>> {
        let q = format!("SELECT {NOTICE_COLUMNS} FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(notice).collect()
    }

    /// Every notice about an incident, in order.
    pub async fn notices_of(&self, incident_id: i64) -> Result<Vec<Notice>> {
        let q = format!(
            "SELECT {NOTICE_COLUMNS} FROM notifications WHERE incident_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(incident_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(notice).collect()
    }

    /// Every notice, in order (for tests and reports; bounded by `limit`).
    pub async fn notices(&self, limit: u32) -> Result<Vec<Notice>> {
        let q = format!("SELECT {NOTICE_COLUMNS} FROM notifications ORDER BY id LIMIT $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(notice).collect()
    }

    /// Marks notices sent in the message `message_id`.
    pub async fn mark_sent(&self, ids: &[i64], message_id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let now = now_micros();
        for id in ids {
            sqlx::query("UPDATE notifications SET status = 'sent', sent_at = $2, message_id = $3, attempts = attempts + 1, last_error = NULL WHERE id = $1")
                .bind(id)
                .bind(now)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt; the notices stay pending until `retry_at`.
    pub async fn mark_failed(&self, ids: &[i64], error: &str, retry_at: i64) -> Result<()> {
        let mut tx = self.write().await?;
        for id in ids {
            sqlx::query("UPDATE notifications SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1")
                .bind(id)
                .bind(error)
                .bind(retry_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Contacts with messages still pending after `attempts` tries or more
    /// (notices, report and quarterly reminders, advisories): (contact id, pending
    /// messages, last error).
    pub async fn failing_contacts(&self, attempts: i64) -> Result<Vec<(i64, i64, String)>> {
        let rows = sqlx::query("SELECT contact_id, COUNT(*) AS n, MAX(last_error) AS error FROM (\
             SELECT contact_id, last_error FROM notifications WHERE status = 'pending' AND attempts >= $1 \
             UNION ALL SELECT contact_id, last_error FROM report_reminders WHERE status = 'pending' AND attempts >= $1 \
             UNION ALL SELECT contact_id, last_error FROM quarterly_reminders WHERE status = 'pending' AND attempts >= $1 \
             UNION ALL SELECT contact_id, last_error FROM advisory_deliveries WHERE status = 'pending' AND attempts >= $1 \
             UNION ALL SELECT contact_id, last_error FROM report_mail_replies WHERE status = 'pending' AND attempts >= $1\
             ) AS f GROUP BY contact_id ORDER BY contact_id")
            .bind(attempts)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    col(r, "contact_id")?,
                    col(r, "n")?,
                    col::<Option<String>>(r, "error")?.unwrap_or_default(),
                ))
            })
            .collect()
    }

    /// One contact by id, with its organisation's id.
    pub async fn contact(&self, id: i64) -> Result<Option<(i64, crate::Contact)>> {
        let row = sqlx::query("SELECT org_id FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let org: i64 = col(&r, "org_id")?;
        Ok(self
            .contacts_of(org)
            .await?
            .into_iter()
            .find(|(cid, _)| *cid == id)
            .map(|(_, c)| (org, c)))
    }
}
