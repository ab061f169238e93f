//! The audit log: every read of raw-route detail and every change to
//! members and tokens, with who did it. Entries are only ever added.

use crate::{col, next_id, now_micros, Result, Store};

/// One audited action.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Wall time (Unix microseconds); set by the store when written.
    pub at: i64,
    /// The token used, if any (the command line has none).
    pub token_id: Option<i64>,
    /// The organisation acting, if any.
    pub org_id: Option<i64>,
    /// What was done, e.g. `read-routes`, `org-add`, `token-create`.
    pub action: String,
    /// What it was done to, e.g. `incident/12`.
    pub object: String,
    /// Anything else worth keeping (free text or JSON).
    pub detail: String,
}

impl Store {
    /// Appends an entry (its `at` is set to now).
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut tx = self.write().await?;
        audit_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every entry of `action` on `object`, oldest first: e.g. whether the
    /// mail with a Message-ID has already been filed (`report-mail`).
    pub async fn audit_entries(&self, action: &str, object: &str) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT at, token_id, org_id, action, object, detail FROM audit_log WHERE action = $1 AND object = $2 ORDER BY id")
            .bind(action)
            .bind(object)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(entry).collect()
    }

    /// The newest `limit` entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT at, token_id, org_id, action, object, detail FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(entry).collect()
    }
}

/// Appends `entry` within the caller's transaction, so it is written with
/// what it records or not at all.
pub(crate) async fn audit_in(tx: &mut sqlx::AnyConnection, entry: &AuditEntry) -> Result<()> {
    let id = next_id(&mut *tx, "audit_log").await?;
    sqlx::query("INSERT INTO audit_log (id, at, token_id, org_id, action, object, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id)
        .bind(now_micros())
        .bind(entry.token_id)
        .bind(entry.org_id)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(&entry.detail)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn entry(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        at: col(r, "at")?,
        token_id: col(r, "token_id")?,
        org_id: col(r, "org_id")?,
        action: col(r, "action")?,
        object: col(r, "object")?,
        detail: col(r, "detail")?,
    })
}
