//! The regulator's whole picture (BRIEF §4: MIC wants to be the hub that
//! sees the whole picture): the detected incidents and the outage reports
//! of a time window, grouped by common cause.
//!
//! Items are linked, and linked items fall into one [`CauseGroup`]
//! (union-find, so links chain), when:
//!
//! - `linked`: a report names the incident (its `incidents` field);
//! - `shared-upstream ASn`: two incidents have an upstream AS in common —
//!   a culprit or leaked-to AS of one is a culprit or leaked-to AS of the
//!   other;
//! - `same time and victim`: a report began within [`NEAR_MICROS`] (30
//!   min) of an incident (from its first sighting to its resolution, or
//!   its last sighting while open) and the reporting organisation holds an
//!   AS that is a victim or an observer of it;
//! - `same area <area>`: two reports of different organisations give the
//!   same area (trimmed, case-folded, not empty) and began within
//!   [`AREA_MICROS`] (2 h) of each other.
//!
//! An item linked to nothing is a group of its own. Each group says why
//! its members were grouped (every link found, naming both members and the
//! rule), its time span, the upstream ASes, the areas, the member
//! organisations concerned, and its incidents and reports in full: this is
//! the oversight view, and the caller decides who may see it.

use crate::incidents::{IncidentFilter, StoredIncident, MAX_PAGE};
use crate::reports::Stage;
use crate::sql::Arg;
use crate::statistics::{latest_reports, LatestReport};
use crate::{Result, Store};
use bugyo_model::Timestamp;
use bugyo_report::calendar::jst_rfc3339;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How near in time a report must be to an incident (either side), in
/// microseconds: 30 minutes.
pub const NEAR_MICROS: i64 = 30 * 60 * 1_000_000;
/// How near in time two reports of the same area must be, in
/// microseconds: 2 hours.
pub const AREA_MICROS: i64 = 2 * 3_600 * 1_000_000;

/// An item of the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Member {
    /// A detected incident (store id): `{"type": "incident", "id": 3}`.
    Incident(i64),
    /// An outage report (store id): `{"type": "report", "id": 5}`.
    Report(i64),
}

/// Why two members are in one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReason {
    /// One member.
    pub a: Member,
    /// The other.
    pub b: Member,
    /// The rule: `linked`, `shared-upstream`, `same-time-and-victim` or
    /// `same-area`.
    pub kind: &'static str,
    /// The rule as shown: `linked`, `shared-upstream AS15169`, `same time
    /// and victim`, `same area <area>` (the area case-folded).
    pub rule: String,
}

/// A member organisation a group concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupOrg {
    /// The store's id.
    pub id: i64,
    /// Its handle.
    pub handle: String,
    /// True if it filed one of the group's reports.
    pub reported: bool,
    /// Its ASes that are victims or observers of the group's incidents.
    pub affected_asns: Vec<u32>,
}

/// An incident of a group: its latest state and the ASes it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupIncident {
    /// The incident as listed (id, kind, severity, summary, times, ...).
    #[serde(flatten)]
    pub incident: StoredIncident,
    /// ASes whose prefixes it affected.
    pub victim_asns: Vec<u32>,
    /// ASes (feed peers) that saw it.
    pub observer_asns: Vec<u32>,
}

/// A report of a group, as its latest version says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    /// The store's id.
    pub id: i64,
    /// The reporting organisation.
    pub org_id: i64,
    /// Its handle.
    pub org: String,
    /// Where the report stands.
    pub stage: Stage,
    /// `major`, `quarterly`, `none` or `pending`.
    pub classification: String,
    /// When the outage began (Unix microseconds).
    pub occurred_at: i64,
    /// The same, JST, RFC 3339.
    pub occurred_at_jst: String,
    /// Place or area.
    pub area: Option<String>,
    /// Services affected.
    pub services: Option<String>,
    /// Users affected.
    pub users: Option<u64>,
    /// Users as the operator estimates them.
    pub users_estimate: Option<String>,
    /// How long it lasted, e.g. `2h57m`.
    pub duration: Option<String>,
    /// What is happening.
    pub situation: String,
    /// The incidents it names.
    pub incidents: Vec<i64>,
}

/// Incidents and reports with a common cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CauseGroup {
    /// The earliest start: first sighting or occurrence (Unix microseconds).
    pub start: i64,
    /// The latest end: resolution (or last sighting) of an incident, or a
    /// report's occurrence plus its duration (Unix microseconds).
    pub end: i64,
    /// `start`, JST, RFC 3339.
    pub start_jst: String,
    /// `end`, JST, RFC 3339.
    pub end_jst: String,
    /// Why the members are together; empty for a single item.
    pub reasons: Vec<GroupReason>,
    /// Culprit and leaked-to ASes of its incidents, ascending.
    pub upstream_asns: Vec<u32>,
    /// The areas its reports give (as first written, one per case-folded
    /// spelling), sorted.
    pub areas: Vec<String>,
    /// Member organisations that reported or whose ASes are victims or
    /// observers, by handle.
    pub orgs: Vec<GroupOrg>,
    /// Its incidents, earliest first.
    pub incidents: Vec<GroupIncident>,
    /// Its reports, earliest first.
    pub reports: Vec<GroupReport>,
}

/// The whole picture of a time window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WholePicture {
    /// The window's start (Unix microseconds, inclusive).
    pub since: i64,
    /// Its end (exclusive).
    pub until: i64,
    /// Incidents in the picture.
    pub incident_count: usize,
    /// Reports in the picture.
    pub report_count: usize,
    /// The groups, latest start first.
    pub groups: Vec<CauseGroup>,
}

/// Union-find over item indices.
struct Sets(Vec<usize>);

impl Sets {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

fn group_org<'a>(
    orgs: &'a mut BTreeMap<i64, GroupOrg>,
    handles: &HashMap<i64, String>,
    id: i64,
) -> &'a mut GroupOrg {
    orgs.entry(id).or_insert_with(|| GroupOrg {
        id,
        handle: handles.get(&id).cloned().unwrap_or_default(),
        reported: false,
        affected_asns: Vec::new(),
    })
}

fn incident_end(i: &StoredIncident) -> i64 {
    i.resolved_at.unwrap_or(i.last_seen).max(i.last_seen)
}

fn normal_area(area: Option<&str>) -> Option<String> {
    area.map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
}

fn report_end(r: &LatestReport) -> i64 {
    let secs = r.report.duration.map_or(0, |d| d.as_secs());
    let micros = i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000);
    r.occurred_at.saturating_add(micros)
}

impl Store {
    /// The incidents and reports of `[since_micros, until_micros)` grouped
    /// by common cause (see [the module](self)), latest start first.
    ///
    /// The incidents are those active in the window (first seen before its
    /// end, not resolved before its start) and any incident a report in
    /// the window names; the reports are those that occurred in the
    /// window, as their latest versions say.
    pub async fn whole_picture(
        &self,
        since_micros: i64,
        until_micros: i64,
    ) -> Result<WholePicture> {
        // Incidents active in the window.
        let mut incidents: Vec<StoredIncident> = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .incidents(&IncidentFilter {
                    until: Some(until_micros),
                    active_since: Some(since_micros),
                    after_id: after,
                    limit: Some(MAX_PAGE),
                    ..IncidentFilter::default()
                })
                .await?;
            let full = page.len() == MAX_PAGE as usize;
            after = page.last().map(|i| i.id);
            incidents.extend(page);
            if !full {
                break;
            }
        }
        let reports = latest_reports(self, |q| {
            q.and(" AND r.occurred_at >= ?", Arg::Int(since_micros));
            q.and(" AND r.occurred_at < ?", Arg::Int(until_micros));
        })
        .await?;
        // And the incidents the reports name, wherever they are in time.
        let known: BTreeSet<i64> = incidents.iter().map(|i| i.id).collect();
        let named: BTreeSet<i64> = reports
            .iter()
            .flat_map(|r| r.report.incidents.iter().copied())
            .filter(|id| !known.contains(id))
            .collect();
        for id in named {
            if let Some(i) = self.incident(id).await? {
                incidents.push(i);
            }
        }
        incidents.sort_by_key(|i| i.id);

        // The ASes each incident concerns, and who holds which AS.
        let mut victims: Vec<BTreeSet<u32>> = Vec::with_capacity(incidents.len());
        let mut observers: Vec<BTreeSet<u32>> = Vec::with_capacity(incidents.len());
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let mut asns = self.incidents_asns(&ids).await?;
        for i in &incidents {
            let (mut v, mut o) = (BTreeSet::new(), BTreeSet::new());
            for (asn, role, _) in asns.remove(&i.id).unwrap_or_default() {
                match role.as_str() {
                    "victim" => v.insert(asn),
                    "observer" => o.insert(asn),
                    _ => false,
                };
            }
            victims.push(v);
            observers.push(o);
        }
        let mut org_asns: HashMap<i64, BTreeSet<u32>> = HashMap::new();
        let mut handles: HashMap<i64, String> = HashMap::new();
        let mut holders: HashMap<u32, Vec<i64>> = HashMap::new();
        for o in self.orgs().await? {
            for a in &o.asns {
                holders.entry(*a).or_default().push(o.id);
            }
            org_asns.insert(o.id, o.asns.iter().copied().collect());
            handles.insert(o.id, o.handle);
        }

        let n_inc = incidents.len();
        let member = |k: usize| {
            if k < n_inc {
                Member::Incident(incidents[k].id)
            } else {
                Member::Report(reports[k - n_inc].id)
            }
        };
        let mut sets = Sets((0..n_inc + reports.len()).collect());
        let mut reasons: Vec<(usize, usize, &'static str, String)> = Vec::new();
        let mut link = |sets: &mut Sets, a: usize, b: usize, kind: &'static str, rule: String| {
            sets.union(a, b);
            reasons.push((a, b, kind, rule));
        };
        let index_of: HashMap<i64, usize> = incidents
            .iter()
            .enumerate()
            .map(|(k, i)| (i.id, k))
            .collect();
        // A report names an incident.
        for (r, rep) in reports.iter().enumerate() {
            for id in &rep.report.incidents {
                if let Some(&k) = index_of.get(id) {
                    link(&mut sets, n_inc + r, k, "linked", "linked".into());
                }
            }
        }
        // Incidents with an upstream AS in common.
        let mut first_with: BTreeMap<u32, usize> = BTreeMap::new();
        for (k, i) in incidents.iter().enumerate() {
            let ups: BTreeSet<u32> = i.culprit_asn.into_iter().chain(i.leaked_to_asn).collect();
            for asn in ups {
                match first_with.get(&asn) {
                    Some(&j) => link(
                        &mut sets,
                        j,
                        k,
                        "shared-upstream",
                        format!("shared-upstream AS{asn}"),
                    ),
                    None => {
                        first_with.insert(asn, k);
                    }
                }
            }
        }
        // A report near an incident in time, from a member it concerns.
        for (r, rep) in reports.iter().enumerate() {
            let Some(asns) = org_asns.get(&rep.org_id) else {
                continue;
            };
            for (k, i) in incidents.iter().enumerate() {
                let near = rep.occurred_at >= i.first_seen.saturating_sub(NEAR_MICROS)
                    && rep.occurred_at <= incident_end(i).saturating_add(NEAR_MICROS);
                let concerned = asns
                    .iter()
                    .any(|a| victims[k].contains(a) || observers[k].contains(a));
                if near && concerned {
                    link(
                        &mut sets,
                        n_inc + r,
                        k,
                        "same-time-and-victim",
                        "same time and victim".into(),
                    );
                }
            }
        }
        // Reports of different members from the same area at about the
        // same time.
        let mut by_area: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (r, rep) in reports.iter().enumerate() {
            if let Some(area) = normal_area(rep.report.area.as_deref()) {
                by_area.entry(area).or_default().push(r);
            }
        }
        for (area, mut rs) in by_area {
            rs.sort_by_key(|&r| (reports[r].occurred_at, reports[r].id));
            for (x, &a) in rs.iter().enumerate() {
                for &b in &rs[x + 1..] {
                    if reports[b].occurred_at - reports[a].occurred_at > AREA_MICROS {
                        break;
                    }
                    if reports[a].org_id != reports[b].org_id {
                        link(
                            &mut sets,
                            n_inc + a,
                            n_inc + b,
                            "same-area",
                            format!("same area {area}"),
                        );
                    }
                }
            }
        }

        // The groups.
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for k in 0..n_inc + reports.len() {
            let root = sets.find(k);
            members.entry(root).or_default().push(k);
        }
        let mut group_reasons: BTreeMap<usize, Vec<GroupReason>> = BTreeMap::new();
        for (a, b, kind, rule) in reasons {
            group_reasons
                .entry(sets.find(a))
                .or_default()
                .push(GroupReason {
                    a: member(a),
                    b: member(b),
                    kind,
                    rule,
                });
        }
        let mut groups: Vec<(Member, CauseGroup)> = Vec::with_capacity(members.len());
        for (root, ks) in members {
            let (mut start, mut end) = (i64::MAX, i64::MIN);
            let mut upstream = BTreeSet::new();
            let mut areas: BTreeMap<String, String> = BTreeMap::new();
            let mut orgs: BTreeMap<i64, GroupOrg> = BTreeMap::new();
            let mut g_incidents = Vec::new();
            let mut g_reports = Vec::new();
            for &k in &ks {
                if k < n_inc {
                    let i = &incidents[k];
                    start = start.min(i.first_seen);
                    end = end.max(incident_end(i));
                    upstream.extend(i.culprit_asn.into_iter().chain(i.leaked_to_asn));
                    for asn in victims[k].union(&observers[k]) {
                        for org in holders.get(asn).into_iter().flatten() {
                            let o = group_org(&mut orgs, &handles, *org);
                            if !o.affected_asns.contains(asn) {
                                o.affected_asns.push(*asn);
                            }
                        }
                    }
                    g_incidents.push(GroupIncident {
                        incident: i.clone(),
                        victim_asns: victims[k].iter().copied().collect(),
                        observer_asns: observers[k].iter().copied().collect(),
                    });
                } else {
                    let r = &reports[k - n_inc];
                    start = start.min(r.occurred_at);
                    end = end.max(report_end(r));
                    if let (Some(key), Some(area)) =
                        (normal_area(r.report.area.as_deref()), &r.report.area)
                    {
                        areas.entry(key).or_insert_with(|| area.trim().to_string());
                    }
                    group_org(&mut orgs, &handles, r.org_id).reported = true;
                    g_reports.push(GroupReport {
                        id: r.id,
                        org_id: r.org_id,
                        org: r.org.clone(),
                        stage: r.report.stage,
                        classification: r.classification.clone(),
                        occurred_at: r.occurred_at,
                        occurred_at_jst: jst_rfc3339(Timestamp::from_micros(r.occurred_at)),
                        area: r.report.area.clone(),
                        services: r.report.services.clone(),
                        users: r.report.users,
                        users_estimate: r.report.users_estimate.clone(),
                        duration: r.report.duration.map(|d| d.to_string()),
                        situation: r.report.situation.clone(),
                        incidents: r.report.incidents.clone(),
                    });
                }
            }
            g_incidents.sort_by_key(|i| (i.incident.first_seen, i.incident.id));
            g_reports.sort_by_key(|r| (r.occurred_at, r.id));
            let mut orgs: Vec<GroupOrg> = orgs.into_values().collect();
            for o in &mut orgs {
                o.affected_asns.sort_unstable();
            }
            orgs.sort_by(|a, b| a.handle.cmp(&b.handle).then(a.id.cmp(&b.id)));
            let mut areas: Vec<String> = areas.into_values().collect();
            areas.sort();
            let first = ks.iter().map(|&k| member(k)).min().expect("a member");
            groups.push((
                first,
                CauseGroup {
                    start,
                    end,
                    start_jst: jst_rfc3339(Timestamp::from_micros(start)),
                    end_jst: jst_rfc3339(Timestamp::from_micros(end)),
                    reasons: group_reasons.remove(&root).unwrap_or_default(),
                    upstream_asns: upstream.into_iter().collect(),
                    areas,
                    orgs,
                    incidents: g_incidents,
                    reports: g_reports,
                },
            ));
        }
        groups.sort_by(|(ma, a), (mb, b)| b.start.cmp(&a.start).then(ma.cmp(mb)));
        Ok(WholePicture {
            since: since_micros,
            until: until_micros,
            incident_count: n_inc,
            report_count: reports.len(),
            groups: groups.into_iter().map(|(_, g)| g).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_join_transitively() {
        let mut s = Sets((0..5).collect());
        s.union(0, 3);
        s.union(4, 3);
        assert_eq!(s.find(4), s.find(0));
        assert_ne!(s.find(1), s.find(0));
        assert_ne!(s.find(1), s.find(2));
    }

    #[test]
    fn members_serialise_with_their_type() {
        assert_eq!(
            serde_json::to_value(Member::Incident(3)).unwrap(),
            serde_json::json!({"type": "incident", "id": 3})
        );
        assert_eq!(
            serde_json::to_value(Member::Report(5)).unwrap(),
            serde_json::json!({"type": "report", "id": 5})
        );
    }

    #[test]
    fn areas_are_trimmed_and_case_folded() {
        assert_eq!(normal_area(Some("  Osaka ")), Some("osaka".into()));
        assert_eq!(normal_area(Some("   ")), None);
        assert_eq!(normal_area(None), None);
    }
}
