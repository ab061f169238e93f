//! Relationship checks on an AS path (Gao-Rexford export rules): a route an
//! AS learned from a provider or a peer may go only to its customers
//! (valley-free), and a route an AS sends to a provider or a peer must come
//! from its customer cone. A violation names the leaking AS, the AS it
//! learned the route from and the AS it leaked it to.

use bugyo_model::Asn;
use bugyo_state::{AsGraph, Neighbour};
use std::fmt;

/// Which export rule a leak breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakRule {
    /// Learned from a provider or peer, sent to a provider or peer (RFC 7908
    /// types 1-4): both relationships are known.
    ValleyFree,
    /// Sent to a provider or peer, but the origin is outside the sender's
    /// customer cone (the relationship to the AS it learned from is unknown).
    CustomerCone,
}

/// A relationship violation in a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathLeak {
    /// The AS that exported the route against the rules.
    pub leaker: Asn,
    /// The AS it sent the route to (its provider or peer).
    pub leaked_to: Asn,
    /// The AS it learned the route from.
    pub learned_from: Asn,
    /// What `leaked_to` is to the leaker.
    pub to_rel: Neighbour,
    /// What `learned_from` is to the leaker, if known.
    pub from_rel: Option<Neighbour>,
    /// The rule broken.
    pub rule: LeakRule,
}

impl fmt::Display for PathLeak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            LeakRule::ValleyFree => write!(
                f,
                "route leak: {} learned the route from its {} {} and sent it to its {} {} (valley-free rule)",
                self.leaker,
                self.from_rel.map(|r| r.name()).unwrap_or("neighbour"),
                self.learned_from,
                self.to_rel.name(),
                self.leaked_to
            ),
            LeakRule::CustomerCone => write!(
                f,
                "route leak: {} sent the route to its {} {}, but the origin is outside {}'s customer cone (learned from {})",
                self.leaker,
                self.to_rel.name(),
                self.leaked_to,
                self.leaker,
                self.learned_from
            ),
        }
    }
}

/// The result of checking a path against the relationship graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathCheck {
    /// Every exporting AS follows the rules as far as relationships are known.
    Consistent,
    /// A leak, nearest to the origin first.
    Leak(PathLeak),
    /// No relationship data, or the path is too short to judge.
    Unknown,
}

/// Checks a path (`hops`: prepends collapsed, the collector's neighbour
/// first, the origin last). The neighbour's own export to the collector is
/// not judged: a collector session is not a customer, peer or provider.
pub fn check_path(graph: &AsGraph, hops: &[Asn]) -> PathCheck {
    if graph.is_empty() || hops.len() < 3 {
        return PathCheck::Unknown;
    }
    let origin = hops[hops.len() - 1];
    // Walk from the origin side: the first violation is the leaker; ASes
    // after it merely propagate what they were given.
    for i in (1..hops.len() - 1).rev() {
        let x = hops[i];
        let from = hops[i + 1];
        let to = hops[i - 1];
        let to_rel = match graph.relation(x, to) {
            Some(r @ (Neighbour::Provider | Neighbour::Peer)) => r,
            _ => continue,
        };
        let from_rel = graph.relation(x, from);
        let leak = |rule| {
            PathCheck::Leak(PathLeak {
                leaker: x,
                leaked_to: to,
                learned_from: from,
                to_rel,
                from_rel,
                rule,
            })
        };
        match from_rel {
            Some(Neighbour::Provider | Neighbour::Peer) => return leak(LeakRule::ValleyFree),
            Some(Neighbour::Customer | Neighbour::Sibling) => {}
            None => {
                let judgeable = graph.knows(origin) && graph.relation(x, origin).is_none();
                if judgeable && !graph.in_customer_cone(x, origin) {
                    return leak(LeakRule::CustomerCone);
                }
            }
        }
    }
    PathCheck::Consistent
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::{AsLink, Relationship};

    fn g() -> AsGraph {
        let l = AsLink::new;
        AsGraph::new([
            l(701, 15169, Relationship::ProviderToCustomer),
            l(701, 2516, Relationship::ProviderToCustomer),
            l(2914, 4713, Relationship::ProviderToCustomer),
            l(701, 2914, Relationship::PeerToPeer),
            l(4713, 64600, Relationship::PeerToPeer),
            l(64600, 64700, Relationship::PeerToPeer),
        ])
    }

    fn hops(v: &[u32]) -> Vec<Asn> {
        v.iter().map(|&a| Asn(a)).collect()
    }

    #[test]
    fn cone_leak_2017() {
        // KDDI sees Google's leak of an OCN prefix via Verizon.
        match check_path(&g(), &hops(&[2516, 701, 15169, 4713])) {
            PathCheck::Leak(l) => {
                assert_eq!(
                    (l.leaker, l.leaked_to, l.rule),
                    (Asn(15169), Asn(701), LeakRule::CustomerCone)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check_path(&g(), &hops(&[2516, 701, 2914, 4713])),
            PathCheck::Consistent
        );
    }

    #[test]
    fn valley() {
        // 64600 learned from its peer 4713 and sent to its peer 64700.
        match check_path(&g(), &hops(&[1, 64700, 64600, 4713])) {
            PathCheck::Leak(l) => {
                assert_eq!((l.leaker, l.rule), (Asn(64600), LeakRule::ValleyFree))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check_path(&AsGraph::default(), &hops(&[1, 2, 3])),
            PathCheck::Unknown
        );
    }
}
