//! A verdict for every route: the stateless checks against reference data,
//! each explainable in one line.

use crate::reference::Reference;
use crate::relations::{check_path, PathCheck};
use crate::sanity::{self, SanityIssue};
use bugyo_model::{Afi, Asn, PathAttributes, Prefix};
use bugyo_state::rpki::AspaVerdict;
use bugyo_state::{IrrMatch, Rib, Rov};

/// The verdicts that depend on the path attributes alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathVerdict {
    /// The origin AS, if the path has a single one.
    pub origin: Option<Asn>,
    /// ASPA path verification.
    pub aspa: Option<AspaVerdict>,
    /// Relationship check (applied to IPv4 routes only).
    pub relations: PathCheck,
    /// Path sanity problems.
    pub sanity: Vec<SanityIssue>,
}

impl PathVerdict {
    /// Judges a path.
    pub fn judge(reference: &Reference, attrs: &PathAttributes) -> PathVerdict {
        let hops = attrs.as_path.hops();
        PathVerdict {
            origin: attrs.as_path.origin(),
            aspa: (!reference.aspa.is_empty()).then(|| reference.aspa.verify_downstream(&hops)),
            relations: check_path(&reference.graph, &hops),
            sanity: sanity::check_path(&attrs.as_path),
        }
    }
}

/// The stateless verdicts on one route. A check whose reference data is not
/// loaded is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteVerdicts {
    /// The origin AS, if the path has a single one.
    pub origin: Option<Asn>,
    /// RPKI route origin validation.
    pub rov: Option<Rov>,
    /// ASPA path verification.
    pub aspa: Option<AspaVerdict>,
    /// IRR route-object match.
    pub irr: Option<IrrMatch>,
    /// Relationship (valley-free and customer-cone) check.
    pub path: PathCheck,
    /// Prefix and path sanity problems.
    pub sanity: Vec<SanityIssue>,
    /// What the RIB's history says of the route (filled in by the engine
    /// for anomalous routes, from the RIB as it was before the route).
    pub history: Option<History>,
}

/// What the RIB held before a route arrived: is its prefix, its origin for
/// that prefix, or an AS adjacency of its path new?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    /// No peer had ever carried the prefix.
    pub new_prefix: bool,
    /// The prefix was known, but never from this origin.
    pub new_origin: bool,
    /// For a new prefix: the routed less-specific that covers it.
    pub covered_by: Option<Prefix>,
    /// The first adjacency of the path (nearest the origin) never seen before.
    pub new_adjacency: Option<(Asn, Asn)>,
}

impl History {
    /// Looks the route up in the RIB (before it is applied).
    pub fn of(rib: &Rib, prefix: &Prefix, attrs: &PathAttributes) -> History {
        let entry = rib.prefix(prefix);
        let origin = attrs.as_path.origin();
        let hops = attrs.as_path.hops();
        History {
            new_prefix: entry.is_none(),
            new_origin: match (entry, origin) {
                (Some(e), Some(o)) => !e.has_seen_origin(o),
                _ => false,
            },
            covered_by: if entry.is_none() {
                rib.covering(prefix).first().map(|(p, _)| *p)
            } else {
                None
            },
            new_adjacency: hops
                .windows(2)
                .rev()
                .find(|w| !rib.has_adjacency(w[0], w[1]))
                .map(|w| (w[0], w[1])),
        }
    }

    /// One line per finding.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (self.new_prefix, self.covered_by) {
            (true, Some(c)) => out.push(format!("history: new more-specific of routed {c}")),
            (true, None) => out.push("history: prefix never seen before".to_string()),
            _ => {}
        }
        if self.new_origin {
            out.push("history: origin never seen for this prefix".to_string());
        }
        if let Some((a, b)) = self.new_adjacency {
            out.push(format!("history: AS adjacency {a}-{b} never seen before"));
        }
        out
    }
}

impl RouteVerdicts {
    /// Judges one route.
    pub fn judge(reference: &Reference, prefix: &Prefix, attrs: &PathAttributes) -> RouteVerdicts {
        RouteVerdicts::with_path(reference, prefix, &PathVerdict::judge(reference, attrs))
    }

    /// Judges one route whose path has already been judged (paths are
    /// shared by many routes, so the engine judges each once).
    pub fn with_path(reference: &Reference, prefix: &Prefix, pv: &PathVerdict) -> RouteVerdicts {
        let origin = pv.origin;
        let mut sanity = sanity::check_prefix(prefix);
        sanity.extend_from_slice(&pv.sanity);
        RouteVerdicts {
            origin,
            rov: (!reference.vrps.is_empty()).then(|| reference.vrps.validate(prefix, origin)),
            aspa: pv.aspa,
            irr: (!reference.irr.is_empty()).then(|| reference.irr.check(prefix, origin)),
            // CAIDA infers relationships from IPv4 paths; IPv6 relationships
            // differ (open IPv6 peering), so only IPv4 routes are judged.
            path: match prefix.afi() {
                Afi::Ipv4 => pv.relations,
                Afi::Ipv6 => PathCheck::Unknown,
            },
            sanity,
            history: None,
        }
    }

    /// One line per check that has something to say.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.rov {
            out.push(r.to_string());
        }
        if let Some(a) = &self.aspa {
            out.push(a.to_string());
        }
        if let Some(i) = &self.irr {
            out.push(i.to_string());
        }
        match &self.path {
            PathCheck::Leak(l) => out.push(l.to_string()),
            PathCheck::Consistent => out.push("AS relationships: path is valley-free".to_string()),
            PathCheck::Unknown => {}
        }
        out.extend(self.sanity.iter().map(|s| s.to_string()));
        if let Some(h) = &self.history {
            out.extend(h.explain());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::{AsLink, AsPath, Relationship, RouteObject, Vrp};
    use bugyo_state::{AsGraph, IrrIndex, VrpIndex};

    #[test]
    fn explains_each_check() {
        let reference = Reference {
            vrps: VrpIndex::new([Vrp {
                prefix: "60.32.0.0/12".parse().unwrap(),
                max_len: 16,
                asn: Asn(4713),
            }]),
            irr: IrrIndex::new([RouteObject {
                prefix: "60.32.0.0/12".parse().unwrap(),
                origin: Asn(4713),
                source: "JPIRR".into(),
            }]),
            graph: AsGraph::new([
                AsLink {
                    a: Asn(701),
                    b: Asn(15169),
                    rel: Relationship::ProviderToCustomer,
                },
                AsLink {
                    a: Asn(2914),
                    b: Asn(4713),
                    rel: Relationship::ProviderToCustomer,
                },
            ]),
            ..Reference::default()
        };
        let attrs = PathAttributes {
            as_path: AsPath::from_sequence([2516, 701, 15169, 4713]),
            ..Default::default()
        };
        let v = RouteVerdicts::judge(&reference, &"60.33.1.0/24".parse().unwrap(), &attrs);
        let lines = v.explain();
        assert!(
            lines[0].starts_with("RPKI invalid: longer than maxLength"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("IRR: more-specific"), "{lines:?}");
        assert!(
            lines[2].contains("AS15169 sent the route to its provider AS701"),
            "{lines:?}"
        );
    }
}
