//! Outage reports that arrived by e-mail (`bugyo report intake`, and
//! `bugyo serve --report-maildir`): filing one is a single transaction that
//! checks the message was not filed before (the `report_mail` table, keyed
//! by its Message-ID), files the report or its new version, records the
//! message, writes its `report-mail` audit entry and owes the sender a
//! reply. A crash anywhere before the commit leaves nothing behind, and a
//! message delivered twice, or filed by two runs at once, is filed once:
//! the second finds the first's row, or fails on its key and is told so.
//!
//! The reply (the report number and the tag to use for follow-ups, or why
//! the mail was refused) is owed like a report reminder: one
//! `report_mail_replies` row per message, pending until the notifier sends
//! it, retried with backoff, its fate recorded through the shared
//! `DeliveryRow` (reminders).

use crate::audit::audit_in;
use crate::reminders::{DeliveryRow, KeyValue};
use crate::reports::{amend_in, file_in, Author};
use crate::{col, now_micros, AuditEntry, Result, Store, StoreError};
use serde_json::{Map, Value};

/// The audit action of a message filed (its object is the message's key).
pub const FILED: &str = "report-mail";
/// The audit action of a message refused.
pub const REJECTED: &str = "report-mail-rejected";

/// A message as received.
#[derive(Clone, Debug, PartialEq)]
pub struct MailIn<'a> {
    /// Its key: the Message-ID with angle brackets, or a fingerprint of
    /// its bytes when it has none.
    pub key: &'a str,
    /// Its Message-ID, if it has one: the reply's In-Reply-To.
    pub message_id: Option<&'a str>,
    /// The sender's contact (an e-mail contact of the organisation) the
    /// reply goes to; `None`: no reply.
    pub reply_to: Option<i64>,
    /// What the audit entry and the reply say of it (JSON object); the
    /// store adds `outcome`, `report` and `version`.
    pub detail: Map<String, Value>,
}

/// What to do with a message's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTarget<'a> {
    /// File a new report.
    New,
    /// Lay them over report `id` (which must be the organisation's), with
    /// `reason` on the new version.
    Amend {
        /// The report.
        id: i64,
        /// Why (the mail's key and subject).
        reason: &'a str,
    },
}

/// What became of a message offered to [`Store::file_report_from_mail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailFiled {
    /// Filed: report `report_id` is at `version` (1 for a new report).
    Filed {
        /// The report.
        report_id: i64,
        /// Its version now.
        version: i64,
    },
    /// Filed before (the same key): nothing done.
    Seen,
    /// The report to amend does not exist or is another organisation's.
    NoSuchReport,
}

/// A reply owed to the sender of a report mail.
#[derive(Clone, Debug, PartialEq)]
pub struct MailReply {
    /// The original message's key.
    pub message_key: String,
    /// The contact to tell.
    pub contact_id: i64,
    /// The original's Message-ID.
    pub in_reply_to: Option<String>,
    /// What to say (JSON object: `outcome` — `filed`, `amended` or
    /// `rejected` — `report`, `version`, `subject`, `problems`, and for a
    /// refusal `why_en`, `why_ja`, `why_text`).
    pub what: Value,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl Store {
    /// Whether the message with key `key` was filed.
    pub async fn mail_filed(&self, key: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT message_key FROM report_mail WHERE message_key = $1")
                .bind(key)
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }

    /// Files `fields` from message `mail` for organisation `org_id`, as a
    /// new report or over an existing one, in one transaction with the
    /// record of the message, its `report-mail` audit entry and the reply
    /// owed to `mail.reply_to`. A message filed before (by key) is
    /// [`MailFiled::Seen`], even when filed by another run at the same
    /// moment. A field at fault is an error, as with
    /// [`Store::file_report`]; nothing is written then.
    pub async fn file_report_from_mail(
        &self,
        org_id: i64,
        fields: &Map<String, Value>,
        target: MailTarget<'_>,
        by: Author,
        mail: &MailIn<'_>,
    ) -> Result<MailFiled> {
        match self
            .try_file_from_mail(org_id, fields, target, by, mail)
            .await
        {
            // Two runs at once: the other committed its row first.
            Err(e) if e.is_conflict() => Ok(MailFiled::Seen),
            other => other,
        }
    }

    async fn try_file_from_mail(
        &self,
        org_id: i64,
        fields: &Map<String, Value>,
        target: MailTarget<'_>,
        by: Author,
        mail: &MailIn<'_>,
    ) -> Result<MailFiled> {
        let mut tx = self.write().await?;
        let seen = sqlx::query("SELECT message_key FROM report_mail WHERE message_key = $1")
            .bind(mail.key)
            .fetch_optional(&mut *tx)
            .await?;
        if seen.is_some() {
            return Ok(MailFiled::Seen);
        }
        let (report_id, version, outcome) = match target {
            MailTarget::New => (file_in(&mut tx, org_id, fields, by).await?, 1, "filed"),
            MailTarget::Amend { id, reason } => {
                let owner = sqlx::query("SELECT org_id FROM reports WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| col::<i64>(&r, "org_id"))
                    .transpose()?;
                if owner != Some(org_id) {
                    return Ok(MailFiled::NoSuchReport);
                }
                match amend_in(&mut tx, id, fields, Some(reason), by).await? {
                    Some((_, version)) => (id, version, "amended"),
                    None => return Ok(MailFiled::NoSuchReport),
                }
            }
        };
        let now = now_micros();
        sqlx::query("INSERT INTO report_mail (message_key, org_id, report_id, version, filed_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(mail.key)
            .bind(org_id)
            .bind(report_id)
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let mut detail = mail.detail.clone();
        detail.insert("outcome".into(), outcome.into());
        detail.insert("report".into(), report_id.into());
        detail.insert("version".into(), version.into());
        let detail = Value::Object(detail);
        audit_in(
            &mut tx,
            &AuditEntry {
                at: 0,
                token_id: None,
                org_id: Some(org_id),
                action: FILED.into(),
                object: mail.key.into(),
                detail: detail.to_string(),
            },
        )
        .await?;
        owe_reply(&mut tx, mail, &detail, now).await?;
        tx.commit().await?;
        Ok(MailFiled::Filed { report_id, version })
    }

    /// Records message `mail` refused: its `report-mail-rejected` audit
    /// entry (for organisation `org_id` if the sender is known) and, if it
    /// has a contact to reply to, the reply saying why (`mail.detail`
    /// carries it), once per message however often it is refused.
    pub async fn reject_mail(&self, org_id: Option<i64>, mail: &MailIn<'_>) -> Result<()> {
        let mut detail = mail.detail.clone();
        detail.insert("outcome".into(), "rejected".into());
        let detail = Value::Object(detail);
        let mut tx = self.write().await?;
        audit_in(
            &mut tx,
            &AuditEntry {
                at: 0,
                token_id: None,
                org_id,
                action: REJECTED.into(),
                object: mail.key.into(),
                detail: detail.to_string(),
            },
        )
        .await?;
        owe_reply(&mut tx, mail, &detail, now_micros()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pending replies due at `now` (Unix microseconds), oldest first.
    pub async fn due_mail_replies(&self, now: i64, limit: u32) -> Result<Vec<MailReply>> {
        let rows = sqlx::query(
            "SELECT message_key, contact_id, in_reply_to, what, attempts FROM report_mail_replies WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY created_at, message_key LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let what: String = col(r, "what")?;
                Ok(MailReply {
                    message_key: col(r, "message_key")?,
                    contact_id: col(r, "contact_id")?,
                    in_reply_to: col(r, "in_reply_to")?,
                    what: serde_json::from_str(&what).map_err(|e| StoreError::Corrupt {
                        what: "report mail reply",
                        message: e.to_string(),
                    })?,
                    attempts: col(r, "attempts")?,
                })
            })
            .collect()
    }

    /// The status of the reply owed for message `key` (`pending`, `sent`)
    /// and its attempts, if one is owed.
    pub async fn mail_reply_status(&self, key: &str) -> Result<Option<(String, i64)>> {
        sqlx::query("SELECT status, attempts FROM report_mail_replies WHERE message_key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?
            .map(|r| Ok((col(&r, "status")?, col(&r, "attempts")?)))
            .transpose()
    }

    /// Records a reply sent as message `message_id`.
    pub async fn mark_mail_reply_sent(&self, r: &MailReply, message_id: &str) -> Result<()> {
        self.delivery_sent(&reply_row(r), message_id).await
    }

    /// Records a failed attempt; the reply stays pending until `retry_at`.
    pub async fn mark_mail_reply_failed(
        &self,
        r: &MailReply,
        error: &str,
        retry_at: i64,
    ) -> Result<()> {
        self.delivery_failed(&reply_row(r), error, retry_at).await
    }
}

/// Owes the reply to `mail.reply_to`, if any, unless one is owed for this
/// message already.
async fn owe_reply(
    tx: &mut sqlx::AnyConnection,
    mail: &MailIn<'_>,
    what: &Value,
    now: i64,
) -> Result<()> {
    let Some(contact) = mail.reply_to else {
        return Ok(());
    };
    sqlx::query("INSERT INTO report_mail_replies (message_key, contact_id, in_reply_to, what, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (message_key) DO NOTHING")
        .bind(mail.key)
        .bind(contact)
        .bind(mail.message_id.map(str::to_string))
        .bind(what.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn reply_row(r: &MailReply) -> DeliveryRow<'_> {
    DeliveryRow {
        table: "report_mail_replies",
        key: vec![("message_key", KeyValue::Text(&r.message_key))],
    }
}
