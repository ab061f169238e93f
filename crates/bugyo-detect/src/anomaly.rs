//! What is wrong with one route, given the verdicts and what the RIB held
//! before it arrived. Each anomaly names its cause — the AS to blame and,
//! for leaks, where the route leaked to — so that the correlator can group
//! thousands of routes with one cause into one incident.

use crate::reference::Reference;
use crate::relations::PathCheck;
use crate::sanity::SanityIssue;
use crate::verdict::RouteVerdicts;
use bugyo_model::{Asn, PathAttributes, Prefix};
use bugyo_state::rpki::AspaVerdict;
use bugyo_state::{Rib, Rov};
use std::fmt;

/// The kinds of anomaly, which are also the kinds of incident.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// A route passed on against the export rules (valley-free, customer
    /// cone, ASPA).
    RouteLeak,
    /// A prefix announced by a new, unrelated origin.
    OriginHijack,
    /// A new more-specific of a routed prefix, from an unrelated origin.
    SubprefixHijack,
    /// RPKI says the origin or length is not authorised.
    RpkiInvalid,
    /// An origin reached through an AS never seen upstream of it.
    NewUpstream,
    /// A new more-specific from the covering prefix's own origin.
    MoreSpecific,
    /// Bogon prefixes or private/reserved ASNs in public routes.
    Bogon,
    /// A surge of new prefixes from one peer (what max-prefix would stop).
    RouteFlood,
    /// Prefixes that several peers saw are now seen by none.
    VisibilityLoss,
    /// A collector peer's session went down: its view is missing.
    FeedDown,
}

impl AnomalyKind {
    /// Every kind.
    pub const ALL: [AnomalyKind; 10] = [
        AnomalyKind::RouteLeak,
        AnomalyKind::OriginHijack,
        AnomalyKind::SubprefixHijack,
        AnomalyKind::RpkiInvalid,
        AnomalyKind::NewUpstream,
        AnomalyKind::MoreSpecific,
        AnomalyKind::Bogon,
        AnomalyKind::RouteFlood,
        AnomalyKind::VisibilityLoss,
        AnomalyKind::FeedDown,
    ];

    /// The kebab-case name used in JSON and on screen.
    pub fn name(&self) -> &'static str {
        match self {
            AnomalyKind::RouteLeak => "route-leak",
            AnomalyKind::OriginHijack => "origin-hijack",
            AnomalyKind::SubprefixHijack => "subprefix-hijack",
            AnomalyKind::RpkiInvalid => "rpki-invalid",
            AnomalyKind::NewUpstream => "new-upstream",
            AnomalyKind::MoreSpecific => "more-specific",
            AnomalyKind::Bogon => "bogon",
            AnomalyKind::RouteFlood => "route-flood",
            AnomalyKind::VisibilityLoss => "visibility-loss",
            AnomalyKind::FeedDown => "feed-down",
        }
    }

    /// Japanese name for notices and the table view.
    pub fn name_ja(&self) -> &'static str {
        match self {
            AnomalyKind::RouteLeak => "経路リーク",
            AnomalyKind::OriginHijack => "経路ハイジャック(オリジン)",
            AnomalyKind::SubprefixHijack => "経路ハイジャック(詳細経路)",
            AnomalyKind::RpkiInvalid => "RPKI不正",
            AnomalyKind::NewUpstream => "新しい上流AS",
            AnomalyKind::MoreSpecific => "新しい詳細経路",
            AnomalyKind::Bogon => "ボゴン",
            AnomalyKind::RouteFlood => "経路の急増",
            AnomalyKind::VisibilityLoss => "可視性の喪失",
            AnomalyKind::FeedDown => "フィード停止",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomalous route's diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// What kind of problem.
    pub kind: AnomalyKind,
    /// The AS whose action caused it, if one can be named.
    pub culprit: Option<Asn>,
    /// For leaks, the AS the route was leaked to.
    pub leaked_to: Option<Asn>,
    /// Whose prefixes are affected (the legitimate origins).
    pub victims: Vec<Asn>,
}

/// Diagnoses an announcement before it is applied to the RIB. `settled` is
/// false while the peer is still sending its initial table, when history
/// cannot tell new from known.
pub fn classify(
    reference: &Reference,
    rib: &Rib,
    settled: bool,
    prefix: &Prefix,
    attrs: &PathAttributes,
    v: &RouteVerdicts,
) -> Option<Anomaly> {
    let origin = v.origin;
    let one = |kind, culprit: Option<Asn>, leaked_to, victims: Vec<Asn>| {
        Some(Anomaly {
            kind,
            culprit,
            leaked_to,
            victims,
        })
    };
    if let PathCheck::Leak(l) = v.path {
        return one(
            AnomalyKind::RouteLeak,
            Some(l.leaker),
            Some(l.leaked_to),
            origin.into_iter().collect(),
        );
    }
    if let Some(AspaVerdict::Invalid { customer, to }) = v.aspa {
        return one(
            AnomalyKind::RouteLeak,
            Some(customer),
            Some(to),
            origin.into_iter().collect(),
        );
    }
    let rov_valid = matches!(v.rov, Some(Rov::Valid(_)));
    let related = |a: Asn, b: Asn| {
        a == b
            || reference.graph.relation(a, b).is_some()
            || reference.graph.is_customer_within(b, a, 2)
    };
    let entry = rib.prefix(prefix);
    // RPKI authorises this origin for this prefix length: history-based
    // suspicions (new origin, new more-specific, new upstream) are answered.
    // A leak (above) can still carry valid routes, as in 2017.
    if rov_valid {
        return None;
    }
    if settled {
        if let Some(o) = origin.filter(|o| o.0 != 0) {
            match entry.filter(|e| e.routes() > 0) {
                Some(e) => {
                    let others: Vec<Asn> = e.current_origins().filter(|c| *c != o).collect();
                    if !others.is_empty()
                        && !e.has_seen_origin(o)
                        && !others.iter().any(|c| related(o, *c))
                    {
                        return one(AnomalyKind::OriginHijack, Some(o), None, others);
                    }
                }
                None => {
                    if let Some((_, cover)) = rib.covering(prefix).into_iter().next() {
                        let owners: Vec<Asn> = cover.current_origins().collect();
                        if !owners.contains(&o) {
                            if !owners.iter().any(|c| related(o, *c)) {
                                return one(AnomalyKind::SubprefixHijack, Some(o), None, owners);
                            }
                        } else if !entry.is_some_and(|e| e.has_seen_origin(o)) {
                            if let Some(up) = upstream_of_origin(attrs) {
                                if !rib.has_adjacency(up, o) {
                                    return one(AnomalyKind::NewUpstream, Some(up), None, vec![o]);
                                }
                            }
                            if !v.rov.as_ref().is_some_and(|r| r.is_invalid()) {
                                return one(AnomalyKind::MoreSpecific, Some(o), None, vec![o]);
                            }
                        }
                    }
                }
            }
        }
    }
    match v.rov {
        Some(Rov::InvalidAsn(vrp)) => {
            let victims = if vrp.asn.0 == 0 {
                Vec::new()
            } else {
                vec![vrp.asn]
            };
            return one(AnomalyKind::RpkiInvalid, origin, None, victims);
        }
        Some(Rov::InvalidLength(vrp)) => {
            return one(AnomalyKind::RpkiInvalid, origin, None, vec![vrp.asn])
        }
        _ => {}
    }
    if settled {
        if let (Some(o), Some(up)) = (origin, upstream_of_origin(attrs)) {
            if entry.is_some_and(|e| e.has_seen_origin(o)) && !rib.has_adjacency(up, o) {
                return one(AnomalyKind::NewUpstream, Some(up), None, vec![o]);
            }
        }
    }
    let bogon = v
        .sanity
        .iter()
        .any(|s| matches!(s, SanityIssue::BogonPrefix | SanityIssue::BogonAsn(_)));
    if bogon {
        return one(
            AnomalyKind::Bogon,
            attrs.as_path.first(),
            None,
            origin.into_iter().collect(),
        );
    }
    None
}

/// The AS just before the origin in the path.
pub fn upstream_of_origin(attrs: &PathAttributes) -> Option<Asn> {
    let hops = attrs.as_path.hops();
    (hops.len() >= 2).then(|| hops[hops.len() - 2])
}
