//! Member organisations: who they are, which ASNs and prefixes are theirs,
//! and where they want to be told (NOC mailboxes as in RFC 2142, webhooks,
//! Slack, syslog), in which language. The hub and the regulator are
//! organisations too ([`OrgKind`]): they are told of every incident from a
//! chosen severity on, each in its own view.

use crate::{col, next_id, now_micros, Result, Role, Store, StoreError};
use bugyo_detect::Severity;
use bugyo_model::Prefix;
use std::collections::HashMap;

/// What an organisation is to the hub.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// An operator: told of the incidents that concern it.
    #[default]
    Member,
    /// The information-sharing hub: told of every incident from its
    /// severity floor on, with the analysts' full view.
    Hub,
    /// The telecom regulator: told of every incident from its severity
    /// floor on, with the multi-operator summary.
    Regulator,
}

impl OrgKind {
    /// The name used in the store, the API and the command line.
    pub fn name(self) -> &'static str {
        match self {
            OrgKind::Member => "member",
            OrgKind::Hub => "hub",
            OrgKind::Regulator => "regulator",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<OrgKind> {
        Some(match s {
            "member" => OrgKind::Member,
            "hub" => OrgKind::Hub,
            "regulator" => OrgKind::Regulator,
            _ => return None,
        })
    }

    /// The role whose view its notices carry.
    pub fn viewer_role(self) -> Role {
        match self {
            OrgKind::Member => Role::Member,
            OrgKind::Hub => Role::Analyst,
            OrgKind::Regulator => Role::Regulator,
        }
    }

    /// The severity floor of its notices unless it chose one: every
    /// incident for a member (it is told only of its own), `high` for the
    /// hub and the regulator (told of everyone's).
    pub fn default_notify_min_severity(self) -> Severity {
        match self {
            OrgKind::Member => Severity::Info,
            OrgKind::Hub | OrgKind::Regulator => Severity::High,
        }
    }
}

/// How a contact is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// An e-mail address.
    Email,
    /// A URL that takes signed JSON.
    Webhook,
    /// A Slack-compatible incoming-webhook URL.
    Slack,
    /// A syslog collector, `host:port` (RFC 5424 over UDP).
    Syslog,
}

impl ContactKind {
    /// The name used in the store, the API and the command line.
    pub fn name(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Webhook => "webhook",
            ContactKind::Slack => "slack",
            ContactKind::Syslog => "syslog",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<ContactKind> {
        Some(match s {
            "email" => ContactKind::Email,
            "webhook" => ContactKind::Webhook,
            "slack" => ContactKind::Slack,
            "syslog" => ContactKind::Syslog,
            _ => return None,
        })
    }
}

/// Where an organisation is told.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// How.
    pub kind: ContactKind,
    /// Address, URL or `host:port`.
    pub address: String,
    /// The RFC 2142 role of a mailbox (`noc`, `abuse`, `security`), or
    /// `noc` for other kinds.
    pub role: String,
    /// The webhook's HMAC-SHA256 key (never shown back).
    #[serde(skip_serializing)]
    pub secret: Option<String>,
}

/// An organisation to register.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    /// Short unique handle, e.g. `ntt-com` (letters, digits, `-`, `_`).
    pub handle: String,
    /// Full name.
    pub name: String,
    /// `ja` or `en`: the language of its notices.
    pub language: String,
    /// Its ASNs.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// Its prefixes.
    #[serde(default)]
    pub prefixes: Vec<Prefix>,
    /// Where to tell it.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// A member, the hub or the regulator (default: member).
    #[serde(default)]
    pub kind: OrgKind,
    /// The least severity of an incident it is first told of (default:
    /// [`OrgKind::default_notify_min_severity`]). Once told, it hears of the
    /// incident's growth and end whatever the severity.
    #[serde(default)]
    pub notify_min_severity: Option<Severity>,
}

/// A registered organisation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Org {
    /// The store's id.
    pub id: i64,
    /// Unique handle.
    pub handle: String,
    /// Full name.
    pub name: String,
    /// `ja` or `en`.
    pub language: String,
    /// Its ASNs, ascending.
    pub asns: Vec<u32>,
    /// Its prefixes.
    pub prefixes: Vec<Prefix>,
    /// Its contacts.
    pub contacts: Vec<Contact>,
    /// A member, the hub or the regulator.
    pub kind: OrgKind,
    /// The least severity of an incident it is first told of.
    pub notify_min_severity: Severity,
    /// Wall time registered (Unix microseconds).
    pub created_at: i64,
}

/// Whom the notifier considers for an incident, and from which severity.
#[derive(Clone, Debug, Default)]
pub struct NoticeRecipients {
    /// Every organisation's kind and severity floor, by id.
    pub orgs: HashMap<i64, (OrgKind, Severity)>,
}

impl NoticeRecipients {
    /// The hub and regulator organisations: told of every incident.
    pub fn watchers(&self) -> impl Iterator<Item = i64> + '_ {
        self.orgs
            .iter()
            .filter(|(_, (kind, _))| *kind != OrgKind::Member)
            .map(|(id, _)| *id)
    }

    /// Whether an incident of `severity` is worth a first notice to `org`.
    pub fn worth_telling(&self, org: i64, severity: Severity) -> bool {
        self.orgs
            .get(&org)
            .is_some_and(|(_, floor)| severity >= *floor)
    }
}

impl NewOrg {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        let h = &self.handle;
        if h.is_empty()
            || h.len() > 64
            || !h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::invalid(
                "handle",
                "1 to 64 letters, digits, '-' or '_' / 英数字・'-'・'_' の 1〜64 文字",
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(StoreError::invalid(
                "name",
                "1 to 200 characters / 1〜200 文字",
            ));
        }
        if !matches!(self.language.as_str(), "ja" | "en") {
            return Err(StoreError::invalid("language", "ja or en / ja または en"));
        }
        if let Some(a) = self.asns.iter().find(|a| **a == 0) {
            return Err(StoreError::invalid(
                "asns",
                format!("AS{a} is not an AS number / AS 番号ではありません"),
            ));
        }
        for c in &self.contacts {
            let ok = match c.kind {
                ContactKind::Email => {
                    let mut parts = c.address.splitn(2, '@');
                    matches!((parts.next(), parts.next()), (Some(l), Some(d)) if !l.is_empty() && d.contains('.') && !c.address.contains(char::is_whitespace))
                }
                ContactKind::Webhook | ContactKind::Slack => {
                    c.address.starts_with("https://") || c.address.starts_with("http://")
                }
                ContactKind::Syslog => c
                    .address
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()),
            };
            if !ok {
                return Err(StoreError::invalid(
                    "contacts",
                    format!(
                        "{:?} is not a valid {} address / {} の宛先として正しくありません",
                        c.address,
                        c.kind.name(),
                        c.kind.name()
                    ),
                ));
            }
            if !matches!(c.role.as_str(), "noc" | "abuse" | "security") {
                return Err(StoreError::invalid(
                    "contacts",
                    format!("role {:?}: noc, abuse or security (RFC 2142)", c.role),
                ));
            }
        }
        Ok(())
    }
}

impl Store {
    /// Registers an organisation. A handle already taken is an error
    /// ([`StoreError::is_conflict`]).
    pub async fn add_org(&self, org: &NewOrg) -> Result<Org> {
        org.validate()?;
        let mut tx = self.write().await?;
        let id = next_id(&mut tx, "orgs").await?;
        let now = now_micros();
        let floor = org
            .notify_min_severity
            .unwrap_or(org.kind.default_notify_min_severity());
        sqlx::query(
            "INSERT INTO orgs (id, handle, name, language, created_at, kind, notify_min_severity) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(&org.handle)
        .bind(&org.name)
        .bind(&org.language)
        .bind(now)
        .bind(org.kind.name())
        .bind(floor.name())
        .execute(&mut *tx)
        .await?;
        let mut asns = org.asns.clone();
        asns.sort_unstable();
        asns.dedup();
        for a in &asns {
            sqlx::query("INSERT INTO org_asns (org_id, asn) VALUES ($1, $2)")
                .bind(id)
                .bind(i64::from(*a))
                .execute(&mut *tx)
                .await?;
        }
        let mut prefixes = org.prefixes.clone();
        prefixes.sort();
        prefixes.dedup();
        for p in &prefixes {
            sqlx::query("INSERT INTO org_prefixes (org_id, prefix) VALUES ($1, $2)")
                .bind(id)
                .bind(p.to_string())
                .execute(&mut *tx)
                .await?;
        }
        for c in &org.contacts {
            let cid = next_id(&mut tx, "contacts").await?;
            sqlx::query("INSERT INTO contacts (id, org_id, kind, address, role, secret) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(cid)
                .bind(id)
                .bind(c.kind.name())
                .bind(&c.address)
                .bind(&c.role)
                .bind(c.secret.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Org {
            id,
            handle: org.handle.clone(),
            name: org.name.clone(),
            language: org.language.clone(),
            asns,
            prefixes,
            contacts: org.contacts.clone(),
            kind: org.kind,
            notify_min_severity: floor,
            created_at: now,
        })
    }

    /// Every organisation's kind and severity floor, for the notifier.
    pub async fn notice_recipients(&self) -> Result<NoticeRecipients> {
        let rows = sqlx::query("SELECT id, kind, notify_min_severity FROM orgs")
            .fetch_all(self.pool())
            .await?;
        let mut orgs = HashMap::with_capacity(rows.len());
        for r in &rows {
            orgs.insert(col(r, "id")?, org_settings(r)?);
        }
        Ok(NoticeRecipients { orgs })
    }

    /// Every organisation, by handle.
    pub async fn orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT id FROM orgs ORDER BY handle")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(o) = self.org_by_id(col(&r, "id")?).await? {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// One organisation by handle.
    pub async fn org(&self, handle: &str) -> Result<Option<Org>> {
        let row = sqlx::query("SELECT id FROM orgs WHERE handle = $1")
            .bind(handle)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => self.org_by_id(col(&r, "id")?).await,
            None => Ok(None),
        }
    }

    /// The organisations holding `asn`.
    pub async fn orgs_of_asn(&self, asn: u32) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT org_id FROM org_asns WHERE asn = $1 ORDER BY org_id")
            .bind(i64::from(asn))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| col(r, "org_id")).collect()
    }

    /// One organisation by id.
    pub async fn org_by_id(&self, id: i64) -> Result<Option<Org>> {
        let Some(row) =
            sqlx::query("SELECT id, handle, name, language, created_at, kind, notify_min_severity FROM orgs WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let asns = sqlx::query("SELECT asn FROM org_asns WHERE org_id = $1 ORDER BY asn")
            .bind(id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| col::<i64>(r, "asn").map(|a| a as u32))
            .collect::<Result<Vec<u32>>>()?;
        let prefixes =
            sqlx::query("SELECT prefix FROM org_prefixes WHERE org_id = $1 ORDER BY prefix")
                .bind(id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| {
                    let s: String = col(r, "prefix")?;
                    s.parse::<Prefix>().map_err(|e| StoreError::Corrupt {
                        what: "org prefix",
                        message: format!("{s:?}: {e}"),
                    })
                })
                .collect::<Result<Vec<Prefix>>>()?;
        let (kind, notify_min_severity) = org_settings(&row)?;
        let contacts = self
            .contacts_of(id)
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        Ok(Some(Org {
            id: col(&row, "id")?,
            handle: col(&row, "handle")?,
            name: col(&row, "name")?,
            language: col(&row, "language")?,
            asns,
            prefixes,
            contacts,
            kind,
            notify_min_severity,
            created_at: col(&row, "created_at")?,
        }))
    }

    /// The contacts of an organisation with their ids.
    pub async fn contacts_of(&self, org_id: i64) -> Result<Vec<(i64, Contact)>> {
        let rows = sqlx::query(
            "SELECT id, kind, address, role, secret FROM contacts WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = col(r, "kind")?;
                Ok((
                    col(r, "id")?,
                    Contact {
                        kind: ContactKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                            what: "contact kind",
                            message: kind.clone(),
                        })?,
                        address: col(r, "address")?,
                        role: col(r, "role")?,
                        secret: col(r, "secret")?,
                    },
                ))
            })
            .collect()
    }
}

/// Fails with an error on field `org` unless organisation `org` exists
/// (within the caller's transaction).
pub(crate) async fn require_org(tx: &mut sqlx::AnyConnection, org: i64) -> Result<()> {
    let found = sqlx::query("SELECT id FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid(
            "org",
            format!("no organisation {org} / 組織 {org} はありません"),
        )),
    }
}

/// An `orgs` row's kind and severity floor.
fn org_settings(row: &sqlx::any::AnyRow) -> Result<(OrgKind, Severity)> {
    let kind: String = col(row, "kind")?;
    let floor: String = col(row, "notify_min_severity")?;
    Ok((
        OrgKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            what: "org kind",
            message: kind.clone(),
        })?,
        floor.parse().map_err(|e: String| StoreError::Corrupt {
            what: "org notify_min_severity",
            message: e,
        })?,
    ))
}
