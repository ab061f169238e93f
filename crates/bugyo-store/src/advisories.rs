//! Advisories (注意喚起): the regulator wants to see the whole picture
//! across operators and share it back (BRIEF §4), and the hub routes what
//! it learns to the operators who can act. An advisory is a title and a
//! text in Japanese and English, a TLP 2.0 label, the related incidents and
//! outage reports, and the member organisations it is addressed to.
//!
//! - Written once, never changed: a correction is a new advisory.
//! - Read by its recipients, the regulator and the hub only (the API
//!   enforces it: [`Store::advisories_for`] lists a member's).
//! - Owed to every contact of every recipient from the moment it is issued
//!   (one `advisory_deliveries` row each, in the same transaction), so the
//!   notifier sends it once per contact, in the recipient's language and by
//!   each of its channels, and retries a failure like a report reminder.

use crate::audience::Tlp;
use crate::reminders::{DeliveryRow, KeyValue};
use crate::{col, next_id, now_micros, Result, Role, Store, StoreError};
use sqlx::any::AnyRow;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest text, in characters.
pub const MAX_BODY: usize = 10_000;
/// Most recipients, related incidents or related reports of one advisory.
pub const MAX_LINKS: usize = 1000;
/// The label of an advisory that does not give one: the recipients'
/// organisations and their clients, on a need-to-know basis.
pub const DEFAULT_TLP: Tlp = Tlp::Amber;

/// Who issues an advisory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issuer {
    /// The token's role (regulator, analyst or admin).
    pub role: Role,
    /// The token's organisation, if it has one: its name heads the message.
    pub org_id: Option<i64>,
    /// The token used.
    pub token_id: Option<i64>,
    /// The person behind it, if the token is a user's.
    pub user_id: Option<i64>,
}

/// An advisory to issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAdvisory {
    /// The title in Japanese.
    pub title_ja: String,
    /// The title in English.
    pub title_en: String,
    /// The text in Japanese.
    pub body_ja: String,
    /// The text in English.
    pub body_en: String,
    /// How far it may go on ([`DEFAULT_TLP`] if not given).
    pub tlp: Option<Tlp>,
    /// The organisations it is addressed to (store ids; at least one).
    pub orgs: Vec<i64>,
    /// Related incidents (store ids).
    pub incidents: Vec<i64>,
    /// Related outage reports (store ids).
    pub reports: Vec<i64>,
}

/// An advisory as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Advisory {
    /// The store's id.
    pub id: i64,
    /// Wall time issued (Unix microseconds).
    pub created_at: i64,
    /// The issuing token's role.
    pub issuer_role: Role,
    /// The issuing organisation, if the token had one.
    pub issuer_org_id: Option<i64>,
    /// Its handle.
    pub issuer_org: Option<String>,
    /// Its name.
    pub issuer_name: Option<String>,
    /// The token used.
    pub token_id: Option<i64>,
    /// The person behind it.
    pub user_id: Option<i64>,
    /// The title in Japanese.
    pub title_ja: String,
    /// The title in English.
    pub title_en: String,
    /// The text in Japanese.
    pub body_ja: String,
    /// The text in English.
    pub body_en: String,
    /// Its TLP 2.0 label.
    pub tlp: Tlp,
    /// Related incidents, ascending.
    pub incidents: Vec<i64>,
    /// Related outage reports, ascending.
    pub reports: Vec<i64>,
    /// The organisations it is addressed to: (id, handle), by id.
    pub recipients: Vec<(i64, String)>,
}

/// A delivery owed: advisory `advisory_id` to contact `contact_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisoryDelivery {
    /// The advisory.
    pub advisory_id: i64,
    /// The contact.
    pub contact_id: i64,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// The TLP label written `s` (`TLP:AMBER+STRICT`, or without `TLP:`; any
/// case), if it is one.
pub fn parse_tlp(s: &str) -> Option<Tlp> {
    let s = s.trim();
    [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict]
        .into_iter()
        .find(|t| {
            let label = t.label();
            label.eq_ignore_ascii_case(s) || label[4..].eq_ignore_ascii_case(s)
        })
}

/// A required text of at most `max` characters, trimmed; line breaks
/// allowed only if `lines`.
fn required(field: &'static str, value: &str, max: usize, lines: bool) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StoreError::invalid(
            field,
            "required, in Japanese and in English / 必須です (日本語と英語の両方)",
        ));
    }
    if v.chars().count() > max {
        return Err(StoreError::invalid(
            field,
            format!("at most {max} characters / {max} 文字以内"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(StoreError::invalid(
            field,
            if lines {
                "control characters are not allowed / 制御文字は使えません"
            } else {
                "one line without control characters / 制御文字を含まない1行で書いてください"
            },
        ));
    }
    Ok(v.to_string())
}

/// Ids sorted and deduplicated, all positive, at most [`MAX_LINKS`].
fn ids(field: &'static str, list: &[i64]) -> Result<Vec<i64>> {
    if list.iter().any(|id| *id <= 0) {
        return Err(StoreError::invalid(
            field,
            "expected positive ids / 正の ID を指定してください",
        ));
    }
    let mut v = list.to_vec();
    v.sort_unstable();
    v.dedup();
    if v.len() > MAX_LINKS {
        return Err(StoreError::invalid(
            field,
            format!("at most {MAX_LINKS} / {MAX_LINKS} 件まで"),
        ));
    }
    Ok(v)
}

impl NewAdvisory {
    /// The advisory with its texts trimmed and its ids sorted, or the error
    /// naming the first field at fault (whether the organisations,
    /// incidents and reports exist is checked when it is issued).
    pub fn validate(&self) -> Result<NewAdvisory> {
        let out = NewAdvisory {
            title_ja: required("title_ja", &self.title_ja, MAX_TITLE, false)?,
            title_en: required("title_en", &self.title_en, MAX_TITLE, false)?,
            body_ja: required("body_ja", &self.body_ja, MAX_BODY, true)?,
            body_en: required("body_en", &self.body_en, MAX_BODY, true)?,
            tlp: self.tlp,
            orgs: ids("orgs", &self.orgs)?,
            incidents: ids("incidents", &self.incidents)?,
            reports: ids("reports", &self.reports)?,
        };
        if out.orgs.is_empty() {
            return Err(StoreError::invalid(
                "orgs",
                "at least one recipient organisation / 宛先の組織を1つ以上指定してください",
            ));
        }
        Ok(out)
    }
}

/// Fails naming `field` unless every id of `ids` is in `table`.
async fn require_all(
    tx: &mut sqlx::AnyConnection,
    table: &'static str,
    field: &'static str,
    ids: &[i64],
) -> Result<()> {
    let q = format!("SELECT id FROM {table} WHERE id = $1");
    for id in ids {
        let found = sqlx::query(sqlx::AssertSqlSafe(q.clone()))
            .bind(*id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid(
                field,
                format!("no such id {id} / ID {id} はありません"),
            ));
        }
    }
    Ok(())
}

fn id_list(what: &'static str, text: &str) -> Result<Vec<i64>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what,
        message: format!("{text:?}: {e}"),
    })
}

const ADVISORY_COLUMNS: &str = "a.id AS id, a.created_at AS created_at, a.token_id AS token_id, \
     a.user_id AS user_id, a.issuer_role AS issuer_role, a.issuer_org_id AS issuer_org_id, \
     o.handle AS issuer_org, o.name AS issuer_name, a.title_ja AS title_ja, a.title_en AS title_en, \
     a.body_ja AS body_ja, a.body_en AS body_en, a.tlp AS tlp, a.incidents AS incidents, \
     a.reports AS reports";

impl Store {
    /// Issues an advisory: stores it with its recipients and owes it to
    /// every contact of each recipient, in one transaction. Nothing is
    /// stored if a field is at fault (the error names it: `orgs`,
    /// `incidents` or `reports` for an id that does not exist).
    pub async fn issue_advisory(&self, new: &NewAdvisory, by: Issuer) -> Result<Advisory> {
        let a = new.validate()?;
        let tlp = a.tlp.unwrap_or(DEFAULT_TLP);
        let mut tx = self.write().await?;
        require_all(&mut tx, "orgs", "orgs", &a.orgs).await?;
        require_all(&mut tx, "incidents", "incidents", &a.incidents).await?;
        require_all(&mut tx, "reports", "reports", &a.reports).await?;
        if let Some(org) = by.org_id {
            crate::orgs::require_org(&mut tx, org).await?;
        }
        let id = next_id(&mut tx, "advisories").await?;
        let now = now_micros();
        let json = |v: &[i64]| serde_json::Value::from(v.to_vec()).to_string();
        sqlx::query("INSERT INTO advisories (id, created_at, token_id, user_id, issuer_role, issuer_org_id, title_ja, title_en, body_ja, body_en, tlp, incidents, reports) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(id)
            .bind(now)
            .bind(by.token_id)
            .bind(by.user_id)
            .bind(by.role.name())
            .bind(by.org_id)
            .bind(&a.title_ja)
            .bind(&a.title_en)
            .bind(&a.body_ja)
            .bind(&a.body_en)
            .bind(tlp.label())
            .bind(json(&a.incidents))
            .bind(json(&a.reports))
            .execute(&mut *tx)
            .await?;
        for org in &a.orgs {
            sqlx::query("INSERT INTO advisory_recipients (advisory_id, org_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*org)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO advisory_deliveries (advisory_id, contact_id, status, attempts, next_attempt_at, created_at) SELECT $1, id, 'pending', 0, $2, $2 FROM contacts WHERE org_id = $3")
                .bind(id)
                .bind(now)
                .bind(*org)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.advisory(id).await?.ok_or_else(|| StoreError::Corrupt {
            what: "advisory",
            message: format!("advisory {id} vanished after issuing"),
        })
    }

    /// One advisory.
    pub async fn advisory(&self, id: i64) -> Result<Option<Advisory>> {
        let q = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a LEFT JOIN orgs o ON o.id = a.issuer_org_id WHERE a.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(Some(self.stored_advisory(&r).await?)),
            None => Ok(None),
        }
    }

    /// Every advisory (for the regulator and the hub), ids ascending.
    pub async fn advisories(&self) -> Result<Vec<Advisory>> {
        let q = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a LEFT JOIN orgs o ON o.id = a.issuer_org_id ORDER BY a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.stored_advisory(r).await?);
        }
        Ok(out)
    }

    /// The advisories addressed to organisation `org_id`, ids ascending.
    pub async fn advisories_for(&self, org_id: i64) -> Result<Vec<Advisory>> {
        let q = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a JOIN advisory_recipients t ON t.advisory_id = a.id AND t.org_id = $1 LEFT JOIN orgs o ON o.id = a.issuer_org_id ORDER BY a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(org_id)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.stored_advisory(r).await?);
        }
        Ok(out)
    }

    async fn stored_advisory(&self, row: &AnyRow) -> Result<Advisory> {
        let id: i64 = col(row, "id")?;
        let role: String = col(row, "issuer_role")?;
        let tlp: String = col(row, "tlp")?;
        let recipients = sqlx::query(
            "SELECT o.id AS id, o.handle AS handle FROM advisory_recipients t JOIN orgs o ON o.id = t.org_id WHERE t.advisory_id = $1 ORDER BY o.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((col(r, "id")?, col(r, "handle")?)))
        .collect::<Result<Vec<(i64, String)>>>()?;
        Ok(Advisory {
            id,
            created_at: col(row, "created_at")?,
            issuer_role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
                what: "advisory issuer role",
                message: role.clone(),
            })?,
            issuer_org_id: col(row, "issuer_org_id")?,
            issuer_org: col(row, "issuer_org")?,
            issuer_name: col(row, "issuer_name")?,
            token_id: col(row, "token_id")?,
            user_id: col(row, "user_id")?,
            title_ja: col(row, "title_ja")?,
            title_en: col(row, "title_en")?,
            body_ja: col(row, "body_ja")?,
            body_en: col(row, "body_en")?,
            tlp: parse_tlp(&tlp).ok_or_else(|| StoreError::Corrupt {
                what: "advisory tlp",
                message: tlp.clone(),
            })?,
            incidents: id_list("advisory incidents", &col::<String>(row, "incidents")?)?,
            reports: id_list("advisory reports", &col::<String>(row, "reports")?)?,
            recipients,
        })
    }

    /// Deliveries of advisories pending and due at `now` (Unix
    /// microseconds), oldest first.
    pub async fn due_advisory_deliveries(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<AdvisoryDelivery>> {
        let rows = sqlx::query(
            "SELECT advisory_id, contact_id, attempts FROM advisory_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY created_at, advisory_id, contact_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AdvisoryDelivery {
                    advisory_id: col(r, "advisory_id")?,
                    contact_id: col(r, "contact_id")?,
                    attempts: col(r, "attempts")?,
                })
            })
            .collect()
    }

    /// Each delivery of advisory `id`: (contact, status, attempts), by
    /// contact.
    pub async fn advisory_deliveries(&self, id: i64) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT contact_id, status, attempts FROM advisory_deliveries WHERE advisory_id = $1 ORDER BY contact_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    col(r, "contact_id")?,
                    col(r, "status")?,
                    col(r, "attempts")?,
                ))
            })
            .collect()
    }

    /// Records a delivery sent as message `message_id`.
    pub async fn mark_advisory_sent(&self, d: &AdvisoryDelivery, message_id: &str) -> Result<()> {
        self.delivery_sent(&delivery_row(d), message_id).await
    }

    /// Records a failed attempt; the delivery stays pending until
    /// `retry_at` (Unix microseconds).
    pub async fn mark_advisory_failed(
        &self,
        d: &AdvisoryDelivery,
        error: &str,
        retry_at: i64,
    ) -> Result<()> {
        self.delivery_failed(&delivery_row(d), error, retry_at)
            .await
    }
}

fn delivery_row(d: &AdvisoryDelivery) -> DeliveryRow<'static> {
    DeliveryRow {
        table: "advisory_deliveries",
        key: vec![
            ("advisory_id", KeyValue::Int(d.advisory_id)),
            ("contact_id", KeyValue::Int(d.contact_id)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewAdvisory {
        NewAdvisory {
            title_ja: " 経路リークに関する注意喚起 ".into(),
            title_en: "Route leak advisory".into(),
            body_ja: "AS64500 からの経路リークが続いています。\n経路フィルターを確認してください。"
                .into(),
            body_en: "A route leak from AS64500 goes on.\nCheck your route filters.".into(),
            tlp: None,
            orgs: vec![3, 2, 3],
            incidents: vec![],
            reports: vec![7],
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = new().validate().expect("valid");
        assert_eq!(ok.title_ja, "経路リークに関する注意喚起");
        assert_eq!(ok.orgs, [2, 3]);
        let bad = |f: fn(&mut NewAdvisory)| {
            let mut a = new();
            f(&mut a);
            match a.validate() {
                Err(StoreError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(bad(|a| a.title_en = "  ".into()), "title_en");
        assert_eq!(bad(|a| a.body_ja = String::new()), "body_ja");
        assert_eq!(bad(|a| a.title_ja = "a\nb".into()), "title_ja");
        assert_eq!(bad(|a| a.title_en = "x".repeat(MAX_TITLE + 1)), "title_en");
        assert_eq!(bad(|a| a.body_en = "x".repeat(MAX_BODY + 1)), "body_en");
        assert_eq!(bad(|a| a.body_en = "bell \u{7}".into()), "body_en");
        assert_eq!(bad(|a| a.orgs.clear()), "orgs");
        assert_eq!(bad(|a| a.incidents = vec![0]), "incidents");
        assert_eq!(bad(|a| a.reports = vec![-1]), "reports");
    }

    #[test]
    fn tlp_labels() {
        assert_eq!(parse_tlp("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
        assert_eq!(parse_tlp("green"), Some(Tlp::Green));
        assert_eq!(parse_tlp("tlp:clear"), Some(Tlp::Clear));
        assert_eq!(parse_tlp("red"), None);
        assert_eq!(parse_tlp("TLP:"), None);
    }
}
