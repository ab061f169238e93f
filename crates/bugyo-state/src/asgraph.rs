//! The AS relationship graph (CAIDA AS relationships): who is whose provider,
//! customer, peer or sibling, and each AS's customer cone — the ASes whose
//! routes it may legitimately pass to its providers and peers.

use bugyo_model::{AsLink, AsOrg, Asn, Relationship};
use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex};

/// What AS `b` is to AS `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Neighbour {
    /// `b` is a provider of `a`.
    Provider,
    /// `b` is a customer of `a`.
    Customer,
    /// `b` is a settlement-free peer of `a`.
    Peer,
    /// `b` belongs to the same organisation as `a`.
    Sibling,
}

impl Neighbour {
    /// `provider`, `customer`, `peer`, `sibling`.
    pub fn name(&self) -> &'static str {
        match self {
            Neighbour::Provider => "provider",
            Neighbour::Customer => "customer",
            Neighbour::Peer => "peer",
            Neighbour::Sibling => "sibling",
        }
    }
}

/// The relationship graph, with AS names for output.
#[derive(Default)]
pub struct AsGraph {
    links: FxHashMap<(Asn, Asn), Neighbour>,
    known: rustc_hash::FxHashSet<Asn>,
    customers: FxHashMap<Asn, Vec<Asn>>,
    names: FxHashMap<Asn, (String, String)>,
    orgs: FxHashMap<Asn, u32>,
    cones: Mutex<FxHashMap<Asn, Arc<Vec<Asn>>>>,
}

/// A cone larger than this is not materialised; membership is then assumed.
const CONE_LIMIT: usize = 200_000;

impl AsGraph {
    /// Builds the graph from relationship links.
    pub fn new(links: impl IntoIterator<Item = AsLink>) -> AsGraph {
        let mut g = AsGraph::default();
        for l in links {
            if l.a == l.b {
                continue;
            }
            g.known.insert(l.a);
            g.known.insert(l.b);
            match l.rel {
                Relationship::ProviderToCustomer => {
                    g.links.insert((l.a, l.b), Neighbour::Customer);
                    g.links.insert((l.b, l.a), Neighbour::Provider);
                    g.customers.entry(l.a).or_default().push(l.b);
                }
                Relationship::PeerToPeer => {
                    g.links.insert((l.a, l.b), Neighbour::Peer);
                    g.links.insert((l.b, l.a), Neighbour::Peer);
                }
                Relationship::Sibling => {
                    g.links.insert((l.a, l.b), Neighbour::Sibling);
                    g.links.insert((l.b, l.a), Neighbour::Sibling);
                }
            }
        }
        g
    }

    /// Adds AS names and organisations (CAIDA AS2Org); ASes of one
    /// organisation count as siblings.
    pub fn set_names(&mut self, orgs: impl IntoIterator<Item = AsOrg>) {
        let mut org_ids: FxHashMap<String, u32> = FxHashMap::default();
        for o in orgs {
            let next = org_ids.len() as u32;
            let id = *org_ids.entry(o.org_name.clone()).or_insert(next);
            self.orgs.insert(o.asn, id);
            self.names.insert(o.asn, (o.name, o.org_name));
        }
    }

    /// True if no relationship is loaded.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Number of directed relationship entries / 2.
    pub fn link_count(&self) -> usize {
        self.links.len() / 2
    }

    /// True if the AS has at least one known relationship.
    pub fn knows(&self, asn: Asn) -> bool {
        self.known.contains(&asn)
    }

    /// What `b` is to `a`, if known. ASes of one organisation are siblings.
    pub fn relation(&self, a: Asn, b: Asn) -> Option<Neighbour> {
        if let Some(r) = self.links.get(&(a, b)) {
            return Some(*r);
        }
        match (self.orgs.get(&a), self.orgs.get(&b)) {
            (Some(x), Some(y)) if x == y => Some(Neighbour::Sibling),
            _ => None,
        }
    }

    /// The AS name and organisation name, if known.
    pub fn name(&self, asn: Asn) -> Option<(&str, &str)> {
        self.names.get(&asn).map(|(n, o)| (n.as_str(), o.as_str()))
    }

    /// `AS4713 (OCN NTT Communications Corporation)` or just `AS4713`.
    pub fn label(&self, asn: Asn) -> String {
        match self.name(asn) {
            Some((n, o)) if !o.is_empty() => format!("{asn} {n} ({o})"),
            Some((n, _)) => format!("{asn} {n}"),
            None => asn.to_string(),
        }
    }

    /// True if `asn` is in the customer cone of `of` (or is `of` itself).
    /// Unknown ASes have a cone of themselves.
    pub fn in_customer_cone(&self, of: Asn, asn: Asn) -> bool {
        if of == asn {
            return true;
        }
        if !self.customers.contains_key(&of) {
            return false;
        }
        let cone = self.cone(of);
        cone.is_empty() || cone.binary_search(&asn).is_ok()
    }

    /// True if `asn` is a customer of `of`, or a customer of one of its
    /// customers, down to `depth` levels: the networks an AS plausibly
    /// assigns its own address space to. (Full CAIDA cones are far wider.)
    pub fn is_customer_within(&self, of: Asn, asn: Asn, depth: usize) -> bool {
        let mut level = vec![of];
        for _ in 0..depth {
            let mut next = Vec::new();
            for a in level {
                for &c in self.customers.get(&a).map(|v| v.as_slice()).unwrap_or(&[]) {
                    if c == asn {
                        return true;
                    }
                    next.push(c);
                }
            }
            level = next;
        }
        false
    }

    /// Size of the customer cone of `asn` (itself included).
    pub fn cone_size(&self, asn: Asn) -> usize {
        if !self.customers.contains_key(&asn) {
            return 1;
        }
        self.cone(asn).len().max(1)
    }

    fn cone(&self, of: Asn) -> Arc<Vec<Asn>> {
        if let Ok(cache) = self.cones.lock() {
            if let Some(c) = cache.get(&of) {
                return Arc::clone(c);
            }
        }
        let mut seen: rustc_hash::FxHashSet<Asn> = rustc_hash::FxHashSet::default();
        let mut stack = vec![of];
        seen.insert(of);
        while let Some(a) = stack.pop() {
            if seen.len() > CONE_LIMIT {
                break;
            }
            if let Some(cs) = self.customers.get(&a) {
                for &c in cs {
                    if seen.insert(c) {
                        stack.push(c);
                    }
                }
            }
        }
        let mut v: Vec<Asn> = if seen.len() > CONE_LIMIT {
            Vec::new()
        } else {
            seen.into_iter().collect()
        };
        v.sort_unstable();
        let v = Arc::new(v);
        if let Ok(mut cache) = self.cones.lock() {
            cache.insert(of, Arc::clone(&v));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(a: u32, b: u32, rel: Relationship) -> AsLink {
        AsLink {
            a: Asn(a),
            b: Asn(b),
            rel,
        }
    }

    #[test]
    fn relations_and_cones() {
        let g = AsGraph::new([
            link(701, 15169, Relationship::PeerToPeer),
            link(2914, 4713, Relationship::PeerToPeer),
            link(4713, 65001, Relationship::ProviderToCustomer),
            link(65001, 65002, Relationship::ProviderToCustomer),
        ]);
        assert_eq!(
            g.relation(Asn(701), Asn(15169)).map(|r| r.name()),
            Some("peer")
        );
        assert_eq!(g.relation(Asn(4713), Asn(65001)), Some(Neighbour::Customer));
        assert_eq!(g.relation(Asn(65001), Asn(4713)), Some(Neighbour::Provider));
        assert!(g.in_customer_cone(Asn(4713), Asn(65002)));
        assert!(!g.in_customer_cone(Asn(15169), Asn(4713)));
        assert_eq!(g.cone_size(Asn(4713)), 3);
        assert!(g.is_customer_within(Asn(4713), Asn(65002), 2));
        assert!(!g.is_customer_within(Asn(4713), Asn(65002), 1));
    }
}
