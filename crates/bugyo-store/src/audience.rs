//! Who may see what of an incident. Each party gets its own view of the
//! same stored version, labelled with TLP 2.0:
//!
//! | viewer | view | label |
//! |---|---|---|
//! | analyst, admin (the hub) | everything | TLP:AMBER+STRICT |
//! | regulator | the multi-operator summary: victims, members affected, counts; no routes | TLP:AMBER |
//! | member, victim | its own prefixes in full (routes, paths, peers); counts for the rest | TLP:AMBER+STRICT |
//! | member whose routers observed it | what its own routers saw | TLP:AMBER+STRICT |
//! | member, culprit | the routes it announced | TLP:AMBER+STRICT |
//! | any other member | a summary without raw routes | TLP:GREEN |
//!
//! A member may be victim and observer at once: it gets both parts. A view
//! that holds raw routes (prefixes, sample routes, peers) says so, and the
//! caller must write a `read-routes` entry to the audit log.
//!
//! The `timeline` (route counts per observing peer over time) names peers,
//! which are raw detail: the hub sees it as it is; everyone else sees the
//! total over all peers at each time, under the pseudo peer `"all"`
//! ([`bugyo_detect::timeline::ALL`]), in the same shape, so the spike and
//! its withdrawal show without whose routers saw them. A member whose
//! routers observed the incident also gets its own peers' points, beside
//! the totals (what its own routers saw).

use crate::tokens::Role;
use bugyo_detect::timeline::{peer_asn, totals_of, TimelinePoint};
use bugyo_model::Prefix;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// The TLP 2.0 label of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Tlp {
    /// May be shared with anyone (an outage report marked for the public).
    #[serde(rename = "TLP:CLEAR")]
    Clear,
    /// May be shared with the community.
    #[serde(rename = "TLP:GREEN")]
    Green,
    /// The recipient's organisation and its clients, need to know.
    #[serde(rename = "TLP:AMBER")]
    Amber,
    /// The recipient's organisation only.
    #[serde(rename = "TLP:AMBER+STRICT")]
    AmberStrict,
}

impl Tlp {
    /// The label as written, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
        }
    }
}

/// Who is looking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The token's role.
    pub role: Role,
    /// The viewer's organisation's ASNs (members).
    pub asns: BTreeSet<u32>,
}

/// How a member stands to an incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Relation {
    /// Some of its prefixes are affected.
    pub victim: bool,
    /// Its routers (collector peers) saw the routes.
    pub observer: bool,
    /// It is the AS blamed.
    pub culprit: bool,
}

impl Relation {
    /// The relation of an organisation with `asns` to the incident version
    /// `body` (its victims, its culprit, the ASes of its observing peers).
    pub fn of(asns: &BTreeSet<u32>, body: &Value) -> Relation {
        let has = |v: &Value| v.as_u64().is_some_and(|a| asns.contains(&(a as u32)));
        let any = |field: &str, key: Option<&str>| {
            body[field]
                .as_array()
                .is_some_and(|list| list.iter().any(|x| has(key.map_or(x, |k| &x[k]))))
        };
        Relation {
            victim: any("victims", Some("asn")),
            observer: any("peers", None),
            culprit: has(&body["culprit_asn"]),
        }
    }

    /// True if the member is concerned at all.
    pub fn any(self) -> bool {
        self.victim || self.observer || self.culprit
    }
}

/// One party's view of an incident version.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentView {
    /// The JSON shown.
    pub body: Value,
    /// Its label.
    pub tlp: Tlp,
    /// True if it holds raw routes (to be audited).
    pub raw_routes: bool,
    /// The viewer's relation (members only).
    pub relation: Option<Relation>,
}

/// Fields every view may show: what happened, how bad, when, who did it,
/// and how big it is.
const SUMMARY_FIELDS: &[&str] = &[
    "id",
    "kind",
    "status",
    "severity",
    "first_seen",
    "last_seen",
    "resolved_at",
    "culprit_asn",
    "culprit_name",
    "leaked_to_asn",
    "leaked_to_name",
    "prefix_count",
    "version",
    "summary",
    "summary_ja",
];

fn pick(body: &Value, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = body.get(*f) {
            out.insert((*f).to_string(), v.clone());
        }
    }
    out
}

/// The view of `body` (a stored version, with `prefixes`) for `viewer`;
/// `prefixes` (prefix, victim) are the version's, as the store lists them.
/// How a member stands to the incident is read from the version itself.
pub fn view(viewer: &Viewer, body: &Value, prefixes: &[(Prefix, u32)]) -> IncidentView {
    match viewer.role {
        Role::Analyst | Role::Admin => {
            let mut body = body.clone();
            if let Some(o) = body.as_object_mut() {
                o.insert("tlp".into(), json!(Tlp::AmberStrict.label()));
            }
            IncidentView {
                body,
                tlp: Tlp::AmberStrict,
                raw_routes: true,
                relation: None,
            }
        }
        Role::Regulator => {
            let mut out = pick(body, SUMMARY_FIELDS);
            for f in ["victims", "members", "evidence", "evidence_ja"] {
                if let Some(v) = body.get(f) {
                    out.insert(f.to_string(), v.clone());
                }
            }
            out.insert("peer_count".into(), json!(count(body, "peers")));
            if let Some(t) = timeline(body, None) {
                out.insert("timeline".into(), t);
            }
            out.insert("tlp".into(), json!(Tlp::Amber.label()));
            IncidentView {
                body: Value::Object(out),
                tlp: Tlp::Amber,
                raw_routes: false,
                relation: None,
            }
        }
        Role::Member => member_view(viewer, body, prefixes),
    }
}

/// The `timeline` of `body` without peer identities: the totals over all
/// peers, and the points of the peers of `own` ASNs (the viewer's routers)
/// if given, in time order. `None` if `body` has no timeline (a version
/// stored before there were timelines).
fn timeline(body: &Value, own: Option<&BTreeSet<u32>>) -> Option<Value> {
    let points: Vec<TimelinePoint> = serde_json::from_value(body.get("timeline")?.clone()).ok()?;
    let mut shown = totals_of(&points);
    if let Some(asns) = own {
        shown.extend(
            points
                .into_iter()
                .filter(|p| peer_asn(&p.peer).is_some_and(|a| asns.contains(&a))),
        );
        // Stable: at equal times the total comes first.
        shown.sort_by_key(|p| p.time);
    }
    Some(json!(shown))
}

fn count(body: &Value, field: &str) -> usize {
    body.get(field)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn member_view(viewer: &Viewer, body: &Value, prefixes: &[(Prefix, u32)]) -> IncidentView {
    let relation = Relation::of(&viewer.asns, body);
    let mut out = pick(body, SUMMARY_FIELDS);
    // Counts per victim are no raw routes: "is it only us?".
    if let Some(v) = body.get("victims") {
        out.insert("victims".into(), v.clone());
    }
    out.insert("peer_count".into(), json!(count(body, "peers")));
    let own_peers = relation.observer.then_some(&viewer.asns);
    if let Some(t) = timeline(body, own_peers) {
        out.insert("timeline".into(), t);
    }
    out.insert("relation".into(), json!(relation));
    let samples: Vec<&Value> = body
        .get("samples")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let mut raw = false;
    let tlp = if relation.any() {
        Tlp::AmberStrict
    } else {
        Tlp::Green
    };
    if relation.culprit {
        // Its own announcements: all of them.
        out.insert(
            "prefixes".into(),
            body.get("prefixes").cloned().unwrap_or(json!([])),
        );
        out.insert("samples".into(), json!(samples));
        raw = true;
    } else {
        let own: BTreeSet<Prefix> = prefixes
            .iter()
            .filter(|(_, v)| viewer.asns.contains(v))
            .map(|(p, _)| *p)
            .collect();
        if relation.victim {
            out.insert(
                "own_prefixes".into(),
                json!(own.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
            );
            raw = true;
        }
        let shown: Vec<&Value> = samples
            .into_iter()
            .filter(|s| {
                let prefix = s
                    .get("prefix")
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse::<Prefix>().ok());
                let peer = s.get("peer_asn").and_then(Value::as_u64);
                (relation.victim && prefix.is_some_and(|p| own.contains(&p)))
                    || (relation.observer
                        && peer.is_some_and(|a| viewer.asns.contains(&(a as u32))))
            })
            .collect();
        if relation.victim || relation.observer {
            raw = raw || !shown.is_empty();
            out.insert("samples".into(), json!(shown));
        }
    }
    out.insert("tlp".into(), json!(tlp.label()));
    IncidentView {
        body: Value::Object(out),
        tlp,
        raw_routes: raw,
        relation: Some(relation),
    }
}
