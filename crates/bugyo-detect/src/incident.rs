//! Incidents: one per cause, with the evidence that explains it, the victims
//! and observers, a severity derived from that evidence, and a life cycle
//! (open → growing → resolved) driven by data time.

use crate::anomaly::AnomalyKind;
use crate::timeline::Timeline;
use bugyo_model::{Asn, Peer, Prefix, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How bad an incident is, from evidence.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, not worth a look.
    Info,
    /// Worth a look when convenient.
    Low,
    /// Worth a look now.
    Medium,
    /// Act now: many prefixes, victims or peers.
    High,
    /// On the scale of 2017: act now and tell others.
    Critical,
}

impl Severity {
    /// Lower-case English name.
    pub fn name(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Japanese name.
    pub fn name_ja(&self) -> &'static str {
        match self {
            Severity::Info => "情報",
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "緊急",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(format!(
                    "unknown severity {s:?} (info, low, medium, high, critical)"
                ))
            }
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Open or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Some of its routes are still seen, or not quiet long enough.
    Open,
    /// Its routes have been gone from every peer for the quiet period.
    Resolved,
}

/// A route kept as an example in the incident.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampleRoute {
    /// When it was seen (data time).
    pub time: Timestamp,
    /// The collector peer's ASN.
    pub peer_asn: Asn,
    /// The collector peer's address.
    pub peer_ip: String,
    /// The BMP-monitored router that reported the route, if it came by BMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_router: Option<std::net::IpAddr>,
    /// The prefix.
    pub prefix: Prefix,
    /// The AS path as received.
    pub as_path: String,
    /// The verdicts on it, one line each.
    pub verdicts: Vec<String>,
}

/// Counters of what the incident's routes were judged to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Evidence {
    /// Route announcements attributed to the incident.
    pub routes: u64,
    /// RPKI invalid routes.
    pub rov_invalid: u64,
    /// RPKI valid routes.
    pub rov_valid: u64,
    /// IRR: origin mismatch or unregistered.
    pub irr_bad: u64,
    /// IRR: exact or more-specific with the same origin.
    pub irr_ok: u64,
    /// Leaks where both relationships were known (valley-free rule).
    pub valley_free: u64,
    /// Leaks judged by the customer-cone rule.
    pub cone: u64,
    /// ASPA invalid routes.
    pub aspa_invalid: u64,
    /// Routes with sanity problems.
    pub sanity: u64,
    /// Hijack routes where the relationship between the new origin and the
    /// victim could not be checked (no AS relationship data for them): a
    /// customer or provider looks like a hijacker then.
    pub unverified: u64,
    /// Leaked routes whose leak (leaker, leaked-to, learned-from) was
    /// already present in the starting RIB or a peer's initial table.
    pub standing: u64,
    /// Free-text findings (e.g. a peer's surge), each once, in English;
    /// add them with [`Evidence::note`].
    pub notes: Vec<String>,
    /// The same findings in Japanese, one for each of `notes` (state
    /// saved before these existed has none: the English stands in).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes_ja: Vec<String>,
}

impl Evidence {
    /// Adds a finding in English and Japanese, unless it is there already.
    pub fn note(&mut self, en: String, ja: String) {
        if self.notes.contains(&en) {
            return;
        }
        // Older state may lack some Japanese notes: keep the two aligned.
        while self.notes_ja.len() < self.notes.len() {
            self.notes_ja.push(self.notes[self.notes_ja.len()].clone());
        }
        self.notes.push(en);
        self.notes_ja.push(ja);
    }

    /// The findings as (English, Japanese) pairs.
    pub fn notes_both(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.notes.iter().enumerate().map(|(k, en)| {
            let ja = self.notes_ja.get(k).unwrap_or(en);
            (en.clone(), ja.clone())
        })
    }
}

/// One incident.
///
/// Its serde form is the detector's state of it, for resuming after a
/// restart ([`crate::Engine::resume`]); the prefixes are left out, as the
/// store keeps them once each. The form for people and the API is
/// [`Incident::to_json`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    /// Sequential id, in order of opening.
    pub id: u64,
    /// The kind of incident.
    pub kind: AnomalyKind,
    /// Open or resolved.
    pub status: IncidentStatus,
    /// Data time of the first anomalous route.
    pub first_seen: Timestamp,
    /// Data time of the last anomalous route.
    pub last_seen: Timestamp,
    /// Data time its last route disappeared, once resolved.
    pub resolved_at: Option<Timestamp>,
    /// The AS to blame, if named.
    pub culprit: Option<Asn>,
    /// Where a leak went.
    pub leaked_to: Option<Asn>,
    /// The flooding peer, for route floods.
    pub feed_peer: Option<Peer>,
    /// Affected prefixes and the victim each belongs to.
    #[serde(skip)]
    pub prefixes: BTreeMap<Prefix, Asn>,
    /// Observing collector peers.
    pub peers: BTreeSet<Peer>,
    /// Example routes.
    pub samples: Vec<SampleRoute>,
    /// Counters of verdicts.
    pub evidence: Evidence,
    /// Watched members affected (victims or culprit), by member id.
    pub members: BTreeSet<String>,
    /// Routes (or lost prefixes) still present.
    pub active: usize,
    /// Since when no route has been present.
    pub quiet_since: Option<Timestamp>,
    /// Incremented at every reported change.
    pub version: u32,
    /// How many collector peers the RIB had at the last change (for judging
    /// how widely the incident is seen).
    pub collector_peers: usize,
    /// Active route counts per observing peer over time (absent from the
    /// state of an older version: empty then).
    #[serde(default)]
    pub timeline: Timeline,
}

impl Incident {
    /// Prefix counts per victim, largest first (ties by ASN).
    pub fn victims(&self) -> Vec<(Asn, usize)> {
        let mut m: BTreeMap<Asn, usize> = BTreeMap::new();
        for v in self.prefixes.values() {
            *m.entry(*v).or_default() += 1;
        }
        let mut v: Vec<(Asn, usize)> = m.into_iter().filter(|(a, _)| a.0 != 0).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Address space affected: IPv4 in /24s and IPv6 in /32s (a typical
    /// allocation), counting overlapping prefixes once per prefix.
    pub fn address_space(&self) -> (u64, u64) {
        let mut v4 = 0u64;
        let mut v6 = 0u64;
        for p in self.prefixes.keys() {
            match p.afi() {
                bugyo_model::Afi::Ipv4 => v4 += 1u64 << 24u8.saturating_sub(p.len()).min(24),
                bugyo_model::Afi::Ipv6 => v6 += 1u64 << 32u8.saturating_sub(p.len()).min(32),
            }
        }
        (v4, v6)
    }

    /// The severity and the reasons for it (English).
    pub fn assess(&self) -> (Severity, Vec<String>) {
        let (sev, why) = self.assess_both();
        (sev, why.into_iter().map(|(en, _)| en).collect())
    }

    /// The severity and the reasons for it, each in English and Japanese.
    pub fn assess_both(&self) -> (Severity, Vec<(String, String)>) {
        let e = &self.evidence;
        let standing = e.standing > 0 && e.standing == e.routes;
        let mut score: i32 = match self.kind {
            AnomalyKind::OriginHijack | AnomalyKind::SubprefixHijack => 2,
            AnomalyKind::RouteLeak if standing => -2,
            AnomalyKind::RouteLeak => 2,
            AnomalyKind::RpkiInvalid | AnomalyKind::RouteFlood | AnomalyKind::VisibilityLoss => 0,
            // Feed health, not routing: recorded and reported, not alarming.
            AnomalyKind::FeedDown => -1,
            AnomalyKind::NewUpstream | AnomalyKind::MoreSpecific | AnomalyKind::Bogon => -1,
        };
        let mut why: Vec<(String, String)> = Vec::new();
        let n = self.prefixes.len();
        score += match n {
            0..=9 => 0,
            10..=99 => 1,
            100..=999 => 2,
            1000..=9999 => 4,
            _ => 5,
        };
        why.push((
            format!("{n} {} affected", plural(n, "prefix", "prefixes")),
            format!("影響を受けたプレフィックス {n} 件"),
        ));
        let victims = self.victims().len();
        score += match victims {
            0..=9 => 0,
            10..=99 => 1,
            100..=999 => 2,
            _ => 3,
        };
        why.push((
            format!("{victims} victim {}", plural(victims, "AS", "ASes")),
            format!("被害 AS {victims} 件"),
        ));
        let (v4, v6) = self.address_space();
        if v4 >= 65_536 || v6 >= 65_536 {
            score += 2;
        } else if v4 >= 4_096 || v6 >= 4_096 {
            score += 1;
        }
        why.push((
            format!("address space: {v4} IPv4 /24s, {v6} IPv6 /32s"),
            format!("アドレス空間: IPv4 /24 換算 {v4}、IPv6 /32 換算 {v6}"),
        ));
        let peers = self.peers.len();
        // Relationship data is often wrong about one link; a leak only one
        // of several peers sees is more likely such an error, or at least narrow.
        if self.kind == AnomalyKind::RouteLeak && peers == 1 && self.collector_peers >= 3 {
            score -= 1;
            why.push((
                format!("seen by only 1 of {} collector peers", self.collector_peers),
                format!("観測ピア {} 中 1 のみが観測", self.collector_peers),
            ));
        } else {
            let all = self.collector_peers.max(peers);
            why.push((
                format!("seen by {peers} of {all} collector peers"),
                format!("観測ピア {all} 中 {peers} が観測"),
            ));
        }
        if e.unverified > 0 && e.unverified == e.routes {
            score -= 2;
            why.push((
                "relationship between origin and victim unknown (no AS relationship data): may be a customer or provider".to_string(),
                "オリジンと被害 AS の関係が不明 (AS 関係データなし): 顧客か上流の可能性があります".to_string(),
            ));
        }
        if standing {
            why.push((
                "standing: the same leak was already in the starting RIB or a peer's initial table"
                    .to_string(),
                "継続中: 同じリークが開始時の RIB かピアの初期経路表に既にありました".to_string(),
            ));
        }
        if e.rov_invalid > 0 {
            score += 2;
            why.push((
                format!("{} routes RPKI invalid", e.rov_invalid),
                format!("RPKI で不正な経路 {} 件", e.rov_invalid),
            ));
        }
        if e.rov_valid > 0 && e.rov_invalid == 0 {
            score -= 1;
            why.push((
                format!("{} routes RPKI valid", e.rov_valid),
                format!("RPKI で正当な経路 {} 件", e.rov_valid),
            ));
        }
        if e.irr_bad > 0 && e.irr_ok == 0 {
            score += 1;
            why.push((
                format!("{} routes without a matching IRR route object", e.irr_bad),
                format!("一致する IRR route オブジェクトのない経路 {} 件", e.irr_bad),
            ));
        } else if e.irr_ok > 0 {
            why.push((
                format!(
                    "{} routes match IRR route objects (origin correct)",
                    e.irr_ok
                ),
                format!(
                    "IRR route オブジェクトと一致する経路 {} 件 (オリジンは正しい)",
                    e.irr_ok
                ),
            ));
        }
        if e.valley_free > 0 {
            why.push((
                format!(
                    "{} routes break the valley-free rule with both relationships known",
                    e.valley_free
                ),
                format!(
                    "両側の関係が既知で valley-free 原則に反する経路 {} 件",
                    e.valley_free
                ),
            ));
        }
        if e.cone > 0 {
            why.push((
                format!(
                    "{} routes come from outside the leaker's customer cone",
                    e.cone
                ),
                format!("リーク元の顧客コーン外から来た経路 {} 件", e.cone),
            ));
        }
        if e.aspa_invalid > 0 {
            score += 1;
            why.push((
                format!("{} routes ASPA invalid", e.aspa_invalid),
                format!("ASPA で不正な経路 {} 件", e.aspa_invalid),
            ));
        }
        if !self.members.is_empty() {
            score += 2;
            let m: Vec<&str> = self.members.iter().map(|s| s.as_str()).collect();
            why.push((
                format!("watched members affected: {}", m.join(", ")),
                format!("監視対象の会員が影響を受けています: {}", m.join(", ")),
            ));
        }
        why.extend(e.notes_both());
        let mut sev = match score {
            i32::MIN..=1 => Severity::Info,
            2..=3 => Severity::Low,
            4..=5 => Severity::Medium,
            6..=8 => Severity::High,
            _ => Severity::Critical,
        };
        if standing {
            // A condition that predates detection is a finding, not an event.
            sev = sev.min(Severity::Low);
        }
        (sev, why)
    }

    /// The JSON form documented in README.md (one object per line).
    pub fn to_json(&self, names: &dyn Fn(Asn) -> Option<String>) -> serde_json::Value {
        let (severity, reasons) = self.assess_both();
        let (evidence, evidence_ja): (Vec<String>, Vec<String>) = reasons.into_iter().unzip();
        let victims: Vec<serde_json::Value> = self
            .victims()
            .into_iter()
            .map(|(a, n)| serde_json::json!({"asn": a.0, "name": names(a), "prefix_count": n}))
            .collect();
        let peers: BTreeSet<u32> = self.peers.iter().map(|p| p.asn.0).collect();
        serde_json::json!({
            "id": self.id,
            "kind": self.kind.name(),
            "status": self.status,
            "severity": severity,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "resolved_at": self.resolved_at,
            "culprit_asn": self.culprit.map(|a| a.0),
            "culprit_name": self.culprit.and_then(names),
            "leaked_to_asn": self.leaked_to.map(|a| a.0),
            "leaked_to_name": self.leaked_to.and_then(names),
            "feed_peer": self.feed_peer.map(|p| p.to_string()),
            "victims": victims,
            "prefix_count": self.prefixes.len(),
            "prefixes": self.prefixes.keys().collect::<Vec<_>>(),
            "peers": peers,
            "active_routes": self.active,
            "timeline": self.timeline.points(),
            "evidence": evidence,
            "evidence_ja": evidence_ja,
            "samples": self.samples,
            "members": self.members,
            "version": self.version,
            "summary": self.summary(names),
            "summary_ja": self.summary_ja(names),
        })
    }

    /// One English sentence: who did what to whom.
    pub fn summary(&self, names: &dyn Fn(Asn) -> Option<String>) -> String {
        let label = |a: Asn| match names(a) {
            Some(n) => format!("{a} ({n})"),
            None => a.to_string(),
        };
        let victims = self.victims();
        let vtxt = match victims.len() {
            0 => String::new(),
            1 => label(victims[0].0),
            n => format!("{} and {} other ASes", label(victims[0].0), n - 1),
        };
        let n = self.prefixes.len();
        let routes = plural(n, "route", "routes");
        let prefixes = plural(n, "prefix", "prefixes");
        let more_specifics = plural(n, "more-specific", "more-specifics");
        match (self.kind, self.culprit, self.leaked_to) {
            (AnomalyKind::RouteLeak, Some(c), Some(t)) => {
                format!("{} leaked {n} {routes} of {vtxt} to {}", label(c), label(t))
            }
            (AnomalyKind::OriginHijack, Some(c), _) => {
                format!("{} announced {n} {prefixes} of {vtxt}", label(c))
            }
            (AnomalyKind::SubprefixHijack, Some(c), _) => {
                format!(
                    "{} announced {n} {more_specifics} of prefixes of {vtxt}",
                    label(c)
                )
            }
            (AnomalyKind::RpkiInvalid, Some(c), _) => {
                format!("{} announced {n} RPKI-invalid {routes}", label(c))
            }
            (AnomalyKind::NewUpstream, Some(c), _) => {
                format!(
                    "{} appeared as a new upstream for {n} {prefixes} of {vtxt}",
                    label(c)
                )
            }
            (AnomalyKind::MoreSpecific, Some(c), _) => {
                format!("{} announced {n} new more-specific {prefixes}", label(c))
            }
            (AnomalyKind::RouteFlood, _, _) => format!(
                "peer {} sent a surge of {n} new {prefixes}",
                self.feed_peer.map(|p| p.to_string()).unwrap_or_default()
            ),
            (AnomalyKind::FeedDown, _, _) => format!(
                "the feed from peer {} is down",
                self.feed_peer.map(|p| p.to_string()).unwrap_or_default()
            ),
            (AnomalyKind::VisibilityLoss, _, _) => {
                format!(
                    "{n} {prefixes} of {vtxt} {} no longer seen by any peer",
                    if n == 1 { "is" } else { "are" }
                )
            }
            (kind, c, _) => format!(
                "{kind}: {n} {prefixes}{}",
                c.map(|c| format!(" involving {}", label(c)))
                    .unwrap_or_default()
            ),
        }
    }

    /// The same sentence in Japanese.
    pub fn summary_ja(&self, names: &dyn Fn(Asn) -> Option<String>) -> String {
        let label = |a: Asn| match names(a) {
            Some(n) => format!("{a}({n})"),
            None => a.to_string(),
        };
        let victims = self.victims();
        let vtxt = match victims.len() {
            0 => String::new(),
            1 => label(victims[0].0),
            n => format!("{} ほか{}AS", label(victims[0].0), n - 1),
        };
        let n = self.prefixes.len();
        match (self.kind, self.culprit, self.leaked_to) {
            (AnomalyKind::RouteLeak, Some(c), Some(t)) => {
                format!(
                    "{}が{}の経路{n}件を{}へ漏洩しました",
                    label(c),
                    vtxt,
                    label(t)
                )
            }
            (AnomalyKind::OriginHijack, Some(c), _) => format!(
                "{}が{}のプレフィックス{n}件を広告しています",
                label(c),
                vtxt
            ),
            (AnomalyKind::SubprefixHijack, Some(c), _) => {
                format!(
                    "{}が{}のプレフィックスの詳細経路{n}件を広告しています",
                    label(c),
                    vtxt
                )
            }
            (AnomalyKind::RpkiInvalid, Some(c), _) => {
                format!("{}がRPKI不正な経路{n}件を広告しています", label(c))
            }
            (AnomalyKind::NewUpstream, Some(c), _) => {
                format!(
                    "{}が{}の{n}件のプレフィックスの新しい上流ASとして現れました",
                    label(c),
                    vtxt
                )
            }
            (AnomalyKind::MoreSpecific, Some(c), _) => {
                format!("{}が新しい詳細経路{n}件を広告しています", label(c))
            }
            (AnomalyKind::RouteFlood, _, _) => format!(
                "ピア{}から新しいプレフィックス{n}件が急増しました",
                self.feed_peer.map(|p| p.to_string()).unwrap_or_default()
            ),
            (AnomalyKind::FeedDown, _, _) => format!(
                "ピア{}からのフィードが停止しています",
                self.feed_peer.map(|p| p.to_string()).unwrap_or_default()
            ),
            (AnomalyKind::VisibilityLoss, _, _) => {
                format!("{vtxt}のプレフィックス{n}件がどのピアからも見えなくなりました")
            }
            (kind, _, _) => format!("{}: {n}件", kind.name_ja()),
        }
    }
}

/// What happened to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentEventKind {
    /// It was opened.
    Opened,
    /// It grew significantly or its severity changed.
    Updated,
    /// It was resolved.
    Resolved,
}

/// A change to an incident, for live consumers.
#[derive(Clone, Debug)]
pub struct IncidentEvent {
    /// What happened.
    pub event: IncidentEventKind,
    /// The incident's id.
    pub id: u64,
    /// Data time of the change.
    pub time: Timestamp,
}

/// Merges the events of one batch that would be written with the same
/// incident state: per incident (in order of first appearance) an `opened`
/// if it opened, a `resolved` if it resolved, otherwise one `updated` (the
/// last). One UPDATE that doubles an incident several times thus gives one
/// line, not several identical ones.
pub fn coalesce_events(events: Vec<IncidentEvent>) -> Vec<IncidentEvent> {
    let mut order: Vec<u64> = Vec::new();
    let mut by_id: BTreeMap<u64, Vec<IncidentEvent>> = BTreeMap::new();
    for ev in events {
        let list = by_id.entry(ev.id).or_default();
        if list.is_empty() {
            order.push(ev.id);
        }
        list.push(ev);
    }
    let mut out = Vec::new();
    for id in order {
        let list = by_id.remove(&id).unwrap_or_default();
        let find = |k| list.iter().find(|e| e.event == k).cloned();
        let opened = find(IncidentEventKind::Opened);
        let resolved = find(IncidentEventKind::Resolved);
        if opened.is_none() && resolved.is_none() {
            out.extend(list.last().cloned());
        }
        out.extend(opened);
        out.extend(resolved);
    }
    out
}

/// `one` for 1, `many` otherwise.
fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    fn ev(event: IncidentEventKind, id: u64, secs: i64) -> IncidentEvent {
        IncidentEvent {
            event,
            id,
            time: Timestamp::from_secs(secs),
        }
    }

    #[test]
    fn one_line_per_incident_and_batch() {
        use IncidentEventKind::*;
        let got = coalesce_events(vec![
            ev(Opened, 1, 10),
            ev(Updated, 1, 10),
            ev(Updated, 2, 10),
            ev(Updated, 1, 10),
            ev(Updated, 2, 11),
            ev(Resolved, 3, 11),
        ]);
        let got: Vec<_> = got.iter().map(|e| (e.event, e.id, e.time.secs)).collect();
        assert_eq!(
            got,
            vec![(Opened, 1, 10), (Updated, 2, 11), (Resolved, 3, 11)]
        );
        assert!(coalesce_events(Vec::new()).is_empty());
    }
}

#[cfg(test)]
mod note_tests {
    use super::*;

    #[test]
    fn notes_in_both_languages_each_once_and_from_older_state() {
        // Evidence saved before Japanese notes existed.
        let mut e: Evidence = serde_json::from_str(r#"{"routes": 3, "notes": ["old"]}"#).unwrap();
        assert!(e.notes_ja.is_empty());
        e.note("new".into(), "新".into());
        e.note("new".into(), "新".into());
        let both: Vec<(String, String)> = e.notes_both().collect();
        assert_eq!(
            both,
            [("old".into(), "old".into()), ("new".into(), "新".into())]
        );
        // Saved again and read back: the same.
        let text = serde_json::to_string(&e).unwrap();
        let back: Evidence = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        // No note: the field stays out of the JSON.
        let plain = serde_json::to_string(&Evidence::default()).unwrap();
        assert!(!plain.contains("notes_ja"), "{plain}");
    }
}
