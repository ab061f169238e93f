//! Incidents in the store. Each recorded change is a new version holding the
//! incident's JSON at that moment (the schema of `bugyo replay --format
//! json`, with the store's id); nothing is overwritten. Prefixes are kept
//! once each, with their victim and the version that brought them. The
//! `incidents` row is the latest state, for listing and filtering, and
//! `incident_asns` says which ASes the latest version concerns and how.
//!
//! An incident is identified across runs by its natural key (kind, culprit,
//! leaked-to, feed peer, first sighting): the detector gives the same
//! incident the same key whenever it sees the same routes, so replaying the
//! live archive updates the live incidents, and recording a state already
//! recorded is a no-op.

use crate::sql::{Arg, Conditions};
use crate::{col, next_id, now_micros, Result, Store, StoreError};
use bugyo_detect::{Incident, Severity};
use bugyo_model::{Prefix, Timestamp};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// What [`Store::record_incident`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The store's id of the incident.
    pub id: i64,
    /// Its latest version.
    pub version: i64,
    /// False if that state was recorded before (nothing written; `version`
    /// is the one that holds it).
    pub new_version: bool,
}

/// An incident's latest state as listed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredIncident {
    /// The store's id.
    pub id: i64,
    /// Kind (`route-leak`, `hijack`, ...).
    pub kind: String,
    /// `open` or `resolved`.
    pub status: String,
    /// Severity name.
    pub severity: String,
    /// The AS blamed, if named.
    pub culprit_asn: Option<u32>,
    /// Where a leak went.
    pub leaked_to_asn: Option<u32>,
    /// Data time of the first anomalous route (Unix microseconds).
    pub first_seen: i64,
    /// Data time of the last one.
    pub last_seen: i64,
    /// Data time it resolved.
    pub resolved_at: Option<i64>,
    /// Affected prefixes.
    pub prefix_count: i64,
    /// Latest version.
    pub version: i64,
    /// One sentence in English.
    pub summary: String,
    /// One sentence in Japanese.
    pub summary_ja: String,
    /// Wall time of the latest version (Unix microseconds).
    pub updated_at: i64,
}

/// One version of an incident.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct IncidentVersion {
    /// The incident.
    pub incident_id: i64,
    /// 1, 2, ...
    pub version: i64,
    /// `opened`, `updated` or `resolved`.
    pub event: String,
    /// Data time of the change (Unix microseconds).
    pub event_time: i64,
    /// Wall time it was recorded (Unix microseconds).
    pub recorded_at: i64,
    /// The incident's JSON at this version.
    pub body: serde_json::Value,
}

/// Which incidents to list. Every field narrows; `after_id` pages (ids
/// ascending).
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    /// First seen at or after (Unix microseconds).
    pub since: Option<i64>,
    /// First seen before (Unix microseconds).
    pub until: Option<i64>,
    /// Still active at or after (Unix microseconds): its last route was
    /// seen then or later, or it was resolved then or later.
    pub active_since: Option<i64>,
    /// Kind name.
    pub kind: Option<String>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    /// Concerning this AS in any role.
    pub asn: Option<u32>,
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// Touching this prefix: one of its prefixes is this one, more specific
    /// or less specific.
    pub prefix: Option<Prefix>,
    /// Only ids above this (the last id of the previous page).
    pub after_id: Option<i64>,
    /// At most this many (default and maximum 1,000).
    pub limit: Option<u32>,
}

/// Most incidents one listing returns.
pub const MAX_PAGE: u32 = 1000;

fn micros(t: Timestamp) -> i64 {
    t.secs.saturating_mul(1_000_000) + i64::from(t.micros)
}

fn severity_rank(s: Severity) -> i64 {
    s as i64
}

/// A prefix's family (4 or 6) and first and last address as ordered
/// integers: IPv4 as is, IPv6 by its top 64 bits with the sign bit flipped
/// (prefixes longer than /64 count as their /64).
fn range(p: &Prefix) -> (i64, i64, i64) {
    let host = |bits: u32, len: u8| -> u64 {
        let h = bits.saturating_sub(u32::from(len));
        if h >= 64 {
            u64::MAX
        } else {
            (1u64 << h) - 1
        }
    };
    match p.addr() {
        std::net::IpAddr::V4(a) => {
            let start = u64::from(u32::from(a));
            (4, start as i64, (start + host(32, p.len())) as i64)
        }
        std::net::IpAddr::V6(a) => {
            let start = (u128::from(a) >> 64) as u64;
            let end = start | host(64, p.len().min(64));
            let flip = |v: u64| (v ^ (1 << 63)) as i64;
            (6, flip(start), flip(end))
        }
    }
}

/// The incident's identity across runs.
pub fn natural_key(inc: &Incident) -> String {
    let opt = |a: Option<bugyo_model::Asn>| a.map_or("-".to_string(), |a| a.0.to_string());
    format!(
        "{}|{}|{}|{}|{}",
        inc.kind.name(),
        opt(inc.culprit),
        opt(inc.leaked_to),
        inc.feed_peer.map_or("-".to_string(), |p| p.to_string()),
        micros(inc.first_seen)
    )
}

/// The detector's state of `inc`, as kept in `incidents.detector_state`.
fn detector_state(inc: &Incident) -> Result<String> {
    serde_json::to_string(inc).map_err(|e| StoreError::invalid("incident", e.to_string()))
}

/// The ASes an incident concerns: (asn, role, prefix count).
fn asn_roles(inc: &Incident) -> Vec<(i64, &'static str, i64)> {
    let mut v: Vec<(i64, &'static str, i64)> = inc
        .victims()
        .into_iter()
        .map(|(a, n)| (i64::from(a.0), "victim", n as i64))
        .collect();
    if let Some(a) = inc.culprit {
        v.push((i64::from(a.0), "culprit", 0));
    }
    if let Some(a) = inc.leaked_to {
        v.push((i64::from(a.0), "leaked_to", 0));
    }
    let mut observers: Vec<i64> = inc.peers.iter().map(|p| i64::from(p.asn.0)).collect();
    observers.sort_unstable();
    observers.dedup();
    v.extend(observers.into_iter().map(|a| (a, "observer", 0)));
    v
}

fn stored(row: &AnyRow) -> Result<StoredIncident> {
    let asn = |name| -> Result<Option<u32>> {
        Ok(col::<Option<i64>>(row, name)?.and_then(|a| u32::try_from(a).ok()))
    };
    Ok(StoredIncident {
        id: col(row, "id")?,
        kind: col(row, "kind")?,
        status: col(row, "status")?,
        severity: col(row, "severity")?,
        culprit_asn: asn("culprit_asn")?,
        leaked_to_asn: asn("leaked_to_asn")?,
        first_seen: col(row, "first_seen")?,
        last_seen: col(row, "last_seen")?,
        resolved_at: col(row, "resolved_at")?,
        prefix_count: col(row, "prefix_count")?,
        version: col(row, "version")?,
        summary: col(row, "summary")?,
        summary_ja: col(row, "summary_ja")?,
        updated_at: col(row, "updated_at")?,
    })
}

const INCIDENT_COLUMNS: &str = "id, kind, status, severity, culprit_asn, leaked_to_asn, first_seen, last_seen, resolved_at, prefix_count, version, summary, summary_ja, updated_at";

impl Store {
    /// Records a change of `inc` (`event`: opened, updated or resolved, at
    /// data time `event_time`) as a new version whose content is `body`
    /// (its JSON form; the store puts its own id in `id`). A body equal to
    /// one already recorded for the incident is not recorded again.
    pub async fn record_incident(
        &self,
        inc: &Incident,
        event: &str,
        event_time: Timestamp,
        body: &serde_json::Value,
    ) -> Result<Recorded> {
        let mut tx = self.write().await?;
        let r = record_in(&mut tx, inc, event, event_time, body).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Records several changes in one transaction, in order: all or none.
    pub async fn record_incidents(
        &self,
        changes: &[(&Incident, &str, Timestamp, &serde_json::Value)],
    ) -> Result<Vec<Recorded>> {
        let mut tx = self.write().await?;
        let mut out = Vec::with_capacity(changes.len());
        for (inc, event, time, body) in changes {
            out.push(record_in(&mut tx, inc, event, *time, body).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Records one change within the caller's transaction.
async fn record_in(
    tx: &mut sqlx::AnyConnection,
    inc: &Incident,
    event: &str,
    event_time: Timestamp,
    body: &serde_json::Value,
) -> Result<Recorded> {
    if !matches!(event, "opened" | "updated" | "resolved") {
        return Err(StoreError::invalid(
            "event",
            format!("{event:?} is not opened, updated or resolved"),
        ));
    }
    let key = natural_key(inc);
    let (severity, _) = inc.assess();
    let existing = sqlx::query("SELECT id, version FROM incidents WHERE natural_key = $1")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    let (id, last_version) = match &existing {
        Some(row) => (col::<i64>(row, "id")?, col::<i64>(row, "version")?),
        None => (next_id(tx, "incidents").await?, 0),
    };
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.insert("id".to_string(), serde_json::json!(id));
        // Kept once in incident_prefixes, not in every version.
        o.remove("prefixes");
    }
    let text = body.to_string();
    let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
    if existing.is_some() {
        // A state already recorded (a replay of routes already seen)
        // is not a new version. A new state never equals an old one:
        // the detector's own version counter is in the body.
        let same: Option<i64> = sqlx::query(
            "SELECT version FROM incident_versions WHERE incident_id = $1 AND content_hash = $2",
        )
        .bind(id)
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| col(&r, "version"))
        .transpose()?;
        if let Some(version) = same {
            return Ok(Recorded {
                id,
                version,
                new_version: false,
            });
        }
    }
    let version = last_version + 1;
    let now = now_micros();
    let status = match inc.status {
        bugyo_detect::IncidentStatus::Open => "open",
        bugyo_detect::IncidentStatus::Resolved => "resolved",
    };
    let names = |_| None;
    let q = if existing.is_some() {
        "UPDATE incidents SET kind = $2, status = $3, severity = $4, severity_rank = $5, culprit_asn = $6, leaked_to_asn = $7, first_seen = $8, last_seen = $9, resolved_at = $10, prefix_count = $11, version = $12, summary = $13, summary_ja = $14, updated_at = $15, natural_key = $16, detector_state = $17 WHERE id = $1"
    } else {
        "INSERT INTO incidents (id, kind, status, severity, severity_rank, culprit_asn, leaked_to_asn, first_seen, last_seen, resolved_at, prefix_count, version, summary, summary_ja, updated_at, natural_key, detector_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    };
    let summary = body["summary"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| inc.summary(&names));
    let summary_ja = body["summary_ja"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| inc.summary_ja(&names));
    sqlx::query(q)
        .bind(id)
        .bind(inc.kind.name())
        .bind(status)
        .bind(severity.name())
        .bind(severity_rank(severity))
        .bind(inc.culprit.map(|a| i64::from(a.0)))
        .bind(inc.leaked_to.map(|a| i64::from(a.0)))
        .bind(micros(inc.first_seen))
        .bind(micros(inc.last_seen))
        .bind(inc.resolved_at.map(micros))
        .bind(inc.prefixes.len() as i64)
        .bind(version)
        .bind(summary)
        .bind(summary_ja)
        .bind(now)
        .bind(&key)
        .bind(detector_state(inc)?)
        .execute(&mut *tx)
        .await?;
    let seq = next_id(tx, "incident_versions").await?;
    sqlx::query("INSERT INTO incident_versions (incident_id, version, seq, event, event_time, recorded_at, content_hash, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id)
            .bind(version)
            .bind(seq)
            .bind(event)
            .bind(micros(event_time))
            .bind(now)
            .bind(&hash)
            .bind(&text)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    // The prefixes this version adds (an incident only gains prefixes).
    let known: std::collections::HashSet<String> = if existing.is_some() {
        sqlx::query("SELECT prefix FROM incident_prefixes WHERE incident_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| col(r, "prefix"))
            .collect::<Result<_>>()?
    } else {
        Default::default()
    };
    for (prefix, victim) in &inc.prefixes {
        let text = prefix.to_string();
        if known.contains(&text) {
            continue;
        }
        let (family, start, end) = range(prefix);
        sqlx::query("INSERT INTO incident_prefixes (incident_id, prefix, victim_asn, first_version, family, net_start, net_end) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(text)
            .bind(i64::from(victim.0))
            .bind(version)
            .bind(family)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM incident_asns WHERE incident_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut seen = std::collections::BTreeSet::new();
    for (asn, role, n) in asn_roles(inc) {
        if !seen.insert((asn, role)) {
            continue;
        }
        sqlx::query("INSERT INTO incident_asns (incident_id, asn, role, prefix_count) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(asn)
                .bind(role)
                .bind(n)
                .execute(&mut *tx)
                .await?;
    }
    Ok(Recorded {
        id,
        version,
        new_version: true,
    })
}

impl Store {
    /// One incident's latest state.
    pub async fn incident(&self, id: i64) -> Result<Option<StoredIncident>> {
        let q = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| stored(&r))
            .transpose()
    }

    /// Incidents matching `filter`, ids ascending.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<StoredIncident>> {
        let mut q = Conditions::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1"
        ));
        let mut cond = |sql: &str, a: Arg| q.and(sql, a);
        if let Some(v) = filter.since {
            cond(" AND first_seen >= ?", Arg::Int(v));
        }
        if let Some(v) = filter.until {
            cond(" AND first_seen < ?", Arg::Int(v));
        }
        if let Some(v) = filter.active_since {
            cond(" AND (last_seen >= ?", Arg::Int(v));
            cond(" OR resolved_at >= ?)", Arg::Int(v));
        }
        if let Some(v) = &filter.kind {
            cond(" AND kind = ?", Arg::Text(v.clone()));
        }
        if let Some(v) = filter.min_severity {
            cond(" AND severity_rank >= ?", Arg::Int(severity_rank(v)));
        }
        if let Some(v) = filter.asn {
            cond(
                " AND id IN (SELECT incident_id FROM incident_asns WHERE asn = ?)",
                Arg::Int(i64::from(v)),
            );
        }
        if let Some(v) = &filter.status {
            cond(" AND status = ?", Arg::Text(v.clone()));
        }
        if let Some(p) = &filter.prefix {
            let (family, start, end) = range(p);
            cond(
                " AND id IN (SELECT incident_id FROM incident_prefixes WHERE family = ?",
                Arg::Int(family),
            );
            cond(" AND ((net_start >= ?", Arg::Int(start));
            cond(" AND net_end <= ?)", Arg::Int(end));
            cond(" OR (net_start <= ?", Arg::Int(start));
            cond(" AND net_end >= ?)))", Arg::Int(end));
        }
        if let Some(v) = filter.after_id {
            cond(" AND id > ?", Arg::Int(v));
        }
        let limit = filter.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        q.push(&format!(" ORDER BY id LIMIT {limit}"));
        let rows = q.query().fetch_all(self.pool()).await?;
        rows.iter().map(stored).collect()
    }

    /// The incidents open in the store whose last route was seen at or
    /// after `since` (data time), in the detector's state of their latest
    /// version with all their prefixes: what `bugyo serve` takes over at a
    /// restart ([`bugyo_detect::Engine::resume`]). Incidents recorded
    /// before the store kept that state are left out.
    pub async fn open_incident_states(&self, since: Timestamp) -> Result<Vec<Incident>> {
        let rows = sqlx::query(
            "SELECT id, detector_state FROM incidents WHERE status = 'open' AND last_seen >= $1 AND detector_state IS NOT NULL ORDER BY id",
        )
        .bind(micros(since))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = col(r, "id")?;
            let text: String = col(r, "detector_state")?;
            let mut inc: Incident =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    what: "incident state",
                    message: format!("incident {id}: {e}"),
                })?;
            inc.prefixes = self
                .incident_prefixes(id)
                .await?
                .into_iter()
                .map(|(p, victim, _)| (p, bugyo_model::Asn(victim)))
                .collect();
            out.push(inc);
        }
        Ok(out)
    }

    /// An incident's prefixes with the victim AS of each (AS0: no single
    /// victim) and the version that first had it, in prefix order.
    pub async fn incident_prefixes(&self, id: i64) -> Result<Vec<(Prefix, u32, i64)>> {
        let rows = sqlx::query(
            "SELECT prefix, victim_asn, first_version FROM incident_prefixes WHERE incident_id = $1",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut v = rows
            .iter()
            .map(|r| {
                let text: String = col(r, "prefix")?;
                let prefix = text.parse::<Prefix>().map_err(|e| StoreError::Corrupt {
                    what: "incident prefix",
                    message: format!("{text:?}: {e}"),
                })?;
                let victim: i64 = col(r, "victim_asn")?;
                Ok((prefix, victim as u32, col::<i64>(r, "first_version")?))
            })
            .collect::<Result<Vec<_>>>()?;
        v.sort_unstable();
        Ok(v)
    }

    /// Every version of an incident, oldest first, each with the prefixes
    /// it had (`prefixes`, as in `bugyo replay --format json`).
    pub async fn incident_history(&self, id: i64) -> Result<Vec<IncidentVersion>> {
        let prefixes = self.incident_prefixes(id).await?;
        self.versions(id, None, &prefixes).await
    }

    /// One version of an incident (`None`: the latest), with the prefixes
    /// it had.
    pub async fn incident_version(
        &self,
        id: i64,
        version: Option<i64>,
    ) -> Result<Option<IncidentVersion>> {
        let version = match version {
            Some(v) => v,
            None => match self.incident(id).await? {
                Some(i) => i.version,
                None => return Ok(None),
            },
        };
        let prefixes = self.incident_prefixes(id).await?;
        Ok(self.versions(id, Some(version), &prefixes).await?.pop())
    }

    /// One version of an incident given its prefixes (as
    /// [`Store::incident_prefixes`] lists them), for callers that read many
    /// versions of one incident.
    pub async fn incident_version_with(
        &self,
        id: i64,
        version: i64,
        prefixes: &[(Prefix, u32, i64)],
    ) -> Result<Option<IncidentVersion>> {
        Ok(self.versions(id, Some(version), prefixes).await?.pop())
    }

    async fn versions(
        &self,
        id: i64,
        only: Option<i64>,
        prefixes: &[(Prefix, u32, i64)],
    ) -> Result<Vec<IncidentVersion>> {
        let rows = sqlx::query("SELECT incident_id, version, event, event_time, recorded_at, body FROM incident_versions WHERE incident_id = $1 AND ($2 < 0 OR version = $2) ORDER BY version")
            .bind(id)
            .bind(only.unwrap_or(-1))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let body: String = col(r, "body")?;
                let version: i64 = col(r, "version")?;
                let mut body: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                        what: "incident version body",
                        message: e.to_string(),
                    })?;
                if let Some(o) = body.as_object_mut() {
                    let list: Vec<String> = prefixes
                        .iter()
                        .filter(|(_, _, first)| *first <= version)
                        .map(|(p, _, _)| p.to_string())
                        .collect();
                    o.insert("prefixes".to_string(), list.into());
                }
                Ok(IncidentVersion {
                    incident_id: col(r, "incident_id")?,
                    version,
                    event: col(r, "event")?,
                    event_time: col(r, "event_time")?,
                    recorded_at: col(r, "recorded_at")?,
                    body,
                })
            })
            .collect()
    }

    /// The ASes an incident's latest version concerns: (asn, role, prefixes).
    pub async fn incident_asns(&self, id: i64) -> Result<Vec<(u32, String, i64)>> {
        Ok(self
            .incidents_asns(&[id])
            .await?
            .remove(&id)
            .unwrap_or_default())
    }

    /// [`Store::incident_asns`] of many incidents at once (a few queries
    /// for any number): each incident's ASes by role, as one list each;
    /// incidents without any are left out of the map.
    pub async fn incidents_asns(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<(u32, String, i64)>>> {
        let mut out: HashMap<i64, Vec<(u32, String, i64)>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut q =
                Conditions::new("SELECT incident_id, asn, role, prefix_count FROM incident_asns");
            q.in_list(
                " WHERE incident_id IN ",
                chunk.iter().map(|id| Arg::Int(*id)),
            );
            q.push(" ORDER BY incident_id, role, asn");
            for r in q.query().fetch_all(self.pool()).await? {
                let asn: i64 = col(&r, "asn")?;
                out.entry(col(&r, "incident_id")?).or_default().push((
                    asn as u32,
                    col(&r, "role")?,
                    col(&r, "prefix_count")?,
                ));
            }
        }
        Ok(out)
    }
}

/// A member organisation concerned by an incident (one of its ASNs is a
/// victim or an observer of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concern {
    /// The incident.
    pub incident_id: i64,
    /// Its kind.
    pub kind: String,
    /// The organisation.
    pub org_id: i64,
}

impl Store {
    /// Which member organisations the incidents open now, or seen since
    /// `since` (Unix microseconds, data time), concern.
    pub async fn concerns(&self, since: i64) -> Result<Vec<Concern>> {
        let rows = sqlx::query(
            "SELECT DISTINCT i.id AS incident_id, i.kind AS kind, o.org_id AS org_id \
             FROM incidents i \
             JOIN incident_asns a ON a.incident_id = i.id \
             JOIN org_asns o ON o.asn = a.asn \
             WHERE (i.status = 'open' OR i.last_seen >= $1) AND a.role IN ('victim', 'observer') \
             ORDER BY i.id, o.org_id",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Concern {
                    incident_id: col(r, "incident_id")?,
                    kind: col(r, "kind")?,
                    org_id: col(r, "org_id")?,
                })
            })
            .collect()
    }
}
