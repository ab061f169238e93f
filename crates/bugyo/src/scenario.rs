//! A synthetic but realistic routing scenario for `bugyo demo` and the
//! benchmark: an AS topology with Gao-Rexford routing, a RIB as seen by
//! three collector peers, background churn, a 2017-class route leak (a
//! content network leaking more-specifics of other networks to its transit
//! provider) and a sub-prefix hijack of a watched member.
//!
//! Everything is generated from a seed, so the same scenario comes out every
//! time. It is synthetic: the ASNs echo the 2017 incident, the routes do not.

use bugyo_model::{
    AsLink, AsOrg, AsPath, Asn, Community, Member, Origin, PathAttributes, Peer, Prefix,
    Relationship, Timestamp, Vrp,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// A small deterministic pseudo-random generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One BGP UPDATE of the scenario.
#[derive(Clone, Debug)]
pub struct ScenarioUpdate {
    /// Data time.
    pub time: Timestamp,
    /// The collector peer that sent it.
    pub peer: Peer,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Prefix>,
    /// Announced prefixes (sharing `attrs`).
    pub announced: Vec<Prefix>,
    /// The announced routes' attributes.
    pub attrs: Option<Arc<PathAttributes>>,
}

/// A generated scenario.
pub struct Scenario {
    /// Collector peers.
    pub peers: Vec<Peer>,
    /// Data time of the RIB dump.
    pub rib_time: Timestamp,
    /// The RIB: per peer, its routes.
    pub rib: Vec<(Peer, Prefix, Arc<PathAttributes>)>,
    /// Updates after the dump, in time order.
    pub updates: Vec<ScenarioUpdate>,
    /// The AS relationships (the synthetic truth, as CAIDA would publish it).
    pub links: Vec<AsLink>,
    /// AS names.
    pub names: Vec<AsOrg>,
    /// RPKI VRPs.
    pub vrps: Vec<Vrp>,
    /// Watched members.
    pub members: Vec<Member>,
    /// What was injected, for the demo's explanation and the tests.
    pub injected: Vec<String>,
}

/// Size of the scenario.
#[derive(Clone, Copy, Debug)]
pub struct ScenarioSize {
    /// Stub ASes.
    pub stubs: u32,
    /// Prefixes originated per big Japanese ISP.
    pub big_isp_prefixes: u32,
    /// Background updates per minute per peer.
    pub churn_per_minute: u32,
}

impl Default for ScenarioSize {
    fn default() -> Self {
        ScenarioSize {
            stubs: 2000,
            big_isp_prefixes: 3000,
            churn_per_minute: 30,
        }
    }
}

/// ASes of the scenario and their roles.
const TIER1: &[u32] = &[701, 1299, 2914, 3356, 174, 6453];
const JAPAN: &[(u32, &str, &str, &[u32])] = &[
    (4713, "OCN", "NTT Communications", &[2914]),
    (2516, "KDDI", "KDDI Corporation", &[701, 6453]),
    (2497, "IIJ", "Internet Initiative Japan", &[2914, 1299]),
    (17676, "GIGAINFRA", "SoftBank Corp.", &[3356, 174]),
    (9605, "DOCOMO", "NTT DOCOMO", &[2914]),
];
const GOOGLE: u32 = 15169;

/// Gao-Rexford route computation over the synthetic topology.
struct Topology {
    providers: BTreeMap<u32, Vec<u32>>,
    customers: BTreeMap<u32, Vec<u32>>,
    peers: BTreeMap<u32, Vec<u32>>,
}

impl Topology {
    fn new(links: &[AsLink]) -> Topology {
        let mut t = Topology {
            providers: BTreeMap::new(),
            customers: BTreeMap::new(),
            peers: BTreeMap::new(),
        };
        for l in links {
            match l.rel {
                Relationship::ProviderToCustomer => {
                    t.customers.entry(l.a.0).or_default().push(l.b.0);
                    t.providers.entry(l.b.0).or_default().push(l.a.0);
                }
                _ => {
                    t.peers.entry(l.a.0).or_default().push(l.b.0);
                    t.peers.entry(l.b.0).or_default().push(l.a.0);
                }
            }
        }
        t
    }

    /// Best (shortest, customer > peer > provider) valley-free paths from
    /// every AS to `origin`: returns next hops toward the origin.
    fn routes_to(&self, origin: u32) -> BTreeMap<u32, (u8, u32)> {
        // class: 0 = customer route, 1 = peer route, 2 = provider route
        let mut best: BTreeMap<u32, (u8, u32)> = BTreeMap::new();
        best.insert(origin, (0, origin));
        // Up: customers' routes to providers.
        let mut q = VecDeque::from([origin]);
        while let Some(a) = q.pop_front() {
            for &p in self.providers.get(&a).into_iter().flatten() {
                if let std::collections::btree_map::Entry::Vacant(e) = best.entry(p) {
                    e.insert((0, a));
                    q.push_back(p);
                }
            }
        }
        // Across: one peer hop from anything with a customer route.
        let ups: Vec<u32> = best.keys().copied().collect();
        for a in ups {
            for &p in self.peers.get(&a).into_iter().flatten() {
                best.entry(p).or_insert((1, a));
            }
        }
        // Down: to customers from anything routed.
        let mut q: VecDeque<u32> = best.keys().copied().collect();
        while let Some(a) = q.pop_front() {
            for &c in self.customers.get(&a).into_iter().flatten() {
                if let std::collections::btree_map::Entry::Vacant(e) = best.entry(c) {
                    e.insert((2, a));
                    q.push_back(c);
                }
            }
        }
        best
    }
}

fn path_from(routes: &BTreeMap<u32, (u8, u32)>, from: u32, origin: u32) -> Option<Vec<u32>> {
    let mut path = vec![from];
    let mut at = from;
    while at != origin {
        let (_, next) = *routes.get(&at)?;
        path.push(next);
        at = next;
        if path.len() > 32 {
            return None;
        }
    }
    Some(path)
}

fn attrs(path: &[u32], peer: &Peer, communities: &[u32]) -> Arc<PathAttributes> {
    Arc::new(PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(path.iter().copied()),
        next_hop: Some(peer.addr),
        communities: communities.iter().map(|&c| Community(c)).collect(),
        ..PathAttributes::default()
    })
}

/// Hands out IPv4 address blocks from public space, skipping bogons.
struct AddressPlan {
    next: u32,
}

impl AddressPlan {
    fn take(&mut self, len: u8) -> Prefix {
        let size = 1u32 << (32 - u32::from(len));
        loop {
            // align
            let start = (self.next + size - 1) & !(size - 1);
            self.next = start + size;
            let first = start >> 24;
            let bogon = matches!(
                first,
                0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255
            );
            if !bogon {
                if let Ok(p) = Prefix::v4(start, len) {
                    return p;
                }
            }
        }
    }
}

/// Generates the scenario.
pub fn generate(size: ScenarioSize, seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut links = Vec::new();
    let l = AsLink::new;
    for (i, &a) in TIER1.iter().enumerate() {
        for &b in &TIER1[i + 1..] {
            links.push(l(a, b, Relationship::PeerToPeer));
        }
    }
    for (asn, _, _, ups) in JAPAN {
        for &u in *ups {
            links.push(l(u, *asn, Relationship::ProviderToCustomer));
        }
    }
    // Japanese ISPs peer with each other (at JPIX/JPNAP), not with Google.
    for (i, a) in JAPAN.iter().enumerate() {
        for b in &JAPAN[i + 1..] {
            links.push(l(a.0, b.0, Relationship::PeerToPeer));
        }
    }
    links.push(l(701, GOOGLE, Relationship::ProviderToCustomer));
    links.push(l(3356, GOOGLE, Relationship::ProviderToCustomer));
    // Regional transit ASes below the tier-1s, and stubs below everything.
    let regionals: Vec<u32> = (0..40).map(|i| 38_000 + i * 7).collect();
    for &r in &regionals {
        let a = TIER1[rng.below(TIER1.len() as u64) as usize];
        let b = TIER1[rng.below(TIER1.len() as u64) as usize];
        links.push(l(a, r, Relationship::ProviderToCustomer));
        if b != a {
            links.push(l(b, r, Relationship::ProviderToCustomer));
        }
    }
    let mut stubs = Vec::new();
    let mut transits: Vec<u32> = regionals.clone();
    transits.extend(JAPAN.iter().map(|j| j.0));
    for i in 0..size.stubs {
        let s = 131_072 + i * 3;
        stubs.push(s);
        let a = transits[rng.below(transits.len() as u64) as usize];
        links.push(l(a, s, Relationship::ProviderToCustomer));
        if rng.below(3) == 0 {
            let b = transits[rng.below(transits.len() as u64) as usize];
            if b != a {
                links.push(l(b, s, Relationship::ProviderToCustomer));
            }
        }
    }
    links.sort_by_key(|k| (k.a, k.b));
    links.dedup_by_key(|k| (k.a, k.b));
    let topo = Topology::new(&links);

    // Address plan: who originates what.
    let mut plan = AddressPlan { next: 1 << 24 };
    let mut originated: Vec<(u32, Prefix)> = Vec::new();
    for (asn, _, _, _) in JAPAN {
        for _ in 0..size.big_isp_prefixes / 16 {
            let block = plan.take(16);
            originated.push((*asn, block));
            // the ISP also announces some /20s and /22s inside its blocks
            for k in 0..(rng.below(4) as u32) {
                if let Ok(p) = Prefix::v4(ipv4_bits(&block) + (k << 12), 20) {
                    originated.push((*asn, p));
                }
            }
        }
    }
    for &t in TIER1.iter().chain(&[GOOGLE]).chain(&regionals) {
        for _ in 0..(8 + rng.below(24)) {
            originated.push((t, plan.take(if rng.below(2) == 0 { 16 } else { 19 })));
        }
    }
    for &s in &stubs {
        for _ in 0..(1 + rng.below(4)) {
            originated.push((s, plan.take(22 + rng.below(3) as u8)));
        }
    }
    originated.sort_by_key(|(a, p)| (*p, *a));
    originated.dedup_by_key(|(_, p)| *p);

    // Collector peers: IIJ, KDDI and a European tier-1 view.
    let peers = vec![
        Peer::new(Asn(2497), IpAddr::V4(Ipv4Addr::new(202, 249, 2, 169))),
        Peer::new(Asn(2516), IpAddr::V4(Ipv4Addr::new(202, 249, 2, 83))),
        Peer::new(Asn(1299), IpAddr::V4(Ipv4Addr::new(202, 249, 2, 20))),
    ];
    let rib_time = Timestamp::from_secs(1_503_630_000); // 2017-08-25 03:00 UTC
    let mut by_origin: BTreeMap<u32, Vec<Prefix>> = BTreeMap::new();
    for (a, p) in &originated {
        by_origin.entry(*a).or_default().push(*p);
    }
    let mut rib = Vec::new();
    let mut paths: BTreeMap<(u32, u32), Arc<PathAttributes>> = BTreeMap::new();
    for (&origin, prefixes) in &by_origin {
        let routes = topo.routes_to(origin);
        for peer in &peers {
            let Some(path) = path_from(&routes, peer.asn.0, origin) else {
                continue;
            };
            let a = attrs(&path, peer, &[(peer.asn.0 << 16) | 100]);
            paths.insert((peer.asn.0, origin), Arc::clone(&a));
            for p in prefixes {
                rib.push((*peer, *p, Arc::clone(&a)));
            }
        }
    }

    let mut updates = Vec::new();
    let mut injected = Vec::new();
    let minute = 60i64;
    // Background churn: flaps of stub prefixes over the hour, each
    // withdrawn and re-announced 20-90 s later with the same path.
    let stub_routes: Vec<&(Peer, Prefix, Arc<PathAttributes>)> = rib
        .iter()
        .filter(|(_, _, a)| a.as_path.origin().is_some_and(|o| o.0 >= 131_072))
        .collect();
    for m in 0..60 {
        for _ in 0..size.churn_per_minute {
            let (peer, p, a) = stub_routes[rng.below(stub_routes.len() as u64) as usize];
            let t = rib_time.plus_secs(m * minute + rng.below(60) as i64);
            updates.push(ScenarioUpdate {
                time: t,
                peer: *peer,
                withdrawn: vec![*p],
                announced: vec![],
                attrs: None,
            });
            updates.push(ScenarioUpdate {
                time: t.plus_secs(20 + rng.below(70) as i64),
                peer: *peer,
                withdrawn: vec![],
                announced: vec![*p],
                attrs: Some(Arc::clone(a)),
            });
        }
    }

    // 03:22 UTC-equivalent: AS15169 leaks more-specifics of routes it learned
    // (OCN's above all) to its provider AS701; 8 minutes later it withdraws.
    let leak_start = rib_time.plus_secs(22 * minute);
    let leak_end = rib_time.plus_secs(30 * minute);
    let mut leaked: Vec<(u32, Prefix)> = Vec::new();
    for (asn, p) in &originated {
        let victim = JAPAN.iter().any(|j| j.0 == *asn) || (*asn >= 131_072 && rng.below(8) == 0);
        if !victim || p.len() > 20 {
            continue;
        }
        // split into /24 more-specifics (OCN) or /23 (others), a few of each
        let sub = if *asn == 4713 { 24 } else { 23 };
        let bits = ipv4_bits(p);
        let n = if *asn == 4713 { 8 } else { 2 };
        for k in 0..n {
            if let Ok(ms) = Prefix::v4(bits + (k << (32 - sub)), sub as u8) {
                leaked.push((*asn, ms));
            }
        }
    }
    leaked.sort_by_key(|(_, p)| *p);
    leaked.dedup_by_key(|(_, p)| *p);
    let mut leaked_by_victim: BTreeMap<u32, usize> = BTreeMap::new();
    for (a, _) in &leaked {
        *leaked_by_victim.entry(*a).or_default() += 1;
    }
    for peer in &peers {
        // What each peer sees of AS701's new routes.
        let to_701 = topo.routes_to(701);
        let Some(mut via) = path_from(&to_701, peer.asn.0, 701) else {
            continue;
        };
        if peer.asn.0 == 701 {
            via = vec![701];
        }
        for (i, chunk) in leaked.chunks(500).enumerate() {
            let t = Timestamp {
                secs: leak_start.secs + (i as i64 * 2),
                micros: 0,
            };
            // group by victim within the chunk so each update has one path
            let mut groups: BTreeMap<u32, Vec<Prefix>> = BTreeMap::new();
            for (a, p) in chunk {
                groups.entry(*a).or_default().push(*p);
            }
            for (victim, prefixes) in groups {
                if victim == peer.asn.0 {
                    continue; // a router drops routes with its own AS in the path
                }
                let mut path = via.clone();
                path.push(GOOGLE);
                // Google learned these from the victim directly or via its peer.
                path.push(victim);
                updates.push(ScenarioUpdate {
                    time: t,
                    peer: *peer,
                    withdrawn: vec![],
                    announced: prefixes,
                    attrs: Some(attrs(&path, peer, &[])),
                });
            }
        }
        for (i, chunk) in leaked.chunks(1000).enumerate() {
            updates.push(ScenarioUpdate {
                time: leak_end.plus_secs(i as i64),
                peer: *peer,
                withdrawn: chunk.iter().map(|(_, p)| *p).collect(),
                announced: vec![],
                attrs: None,
            });
        }
    }
    injected.push(format!(
        "route leak: AS15169 leaks {} more-specifics of {} ASes (AS4713 OCN: {}) to its provider AS701, {} to {}",
        leaked.len(),
        leaked_by_victim.len(),
        leaked_by_victim.get(&4713).copied().unwrap_or(0),
        leak_start,
        leak_end
    ));

    // 03:40: a stub AS announces a /24 inside a KDDI block: a sub-prefix
    // hijack that RPKI marks invalid; withdrawn at 03:50.
    let hijacker = stubs[stubs.len() / 2..]
        .iter()
        .copied()
        .find(|s| !topo.providers.get(s).is_some_and(|p| p.contains(&2516)))
        .unwrap_or(stubs[0]);
    let kddi_block = by_origin
        .get(&2516)
        .and_then(|v| v.iter().find(|p| p.len() == 16))
        .copied();
    let mut vrps = Vec::new();
    if let Some(block) = kddi_block {
        vrps.push(Vrp {
            prefix: block,
            max_len: 20,
            asn: Asn(2516),
        });
        if let Ok(target) = Prefix::v4(ipv4_bits(&block) + (7 << 8), 24) {
            let routes = topo.routes_to(hijacker);
            let t = rib_time.plus_secs(40 * minute);
            for peer in &peers {
                if let Some(path) = path_from(&routes, peer.asn.0, hijacker) {
                    updates.push(ScenarioUpdate {
                        time: t,
                        peer: *peer,
                        withdrawn: vec![],
                        announced: vec![target],
                        attrs: Some(attrs(&path, peer, &[])),
                    });
                    updates.push(ScenarioUpdate {
                        time: t.plus_secs(10 * minute),
                        peer: *peer,
                        withdrawn: vec![target],
                        announced: vec![],
                        attrs: None,
                    });
                }
            }
            injected.push(format!(
                "sub-prefix hijack: AS{hijacker} announces {target} inside AS2516's {block} (RPKI: AS2516 up to /20), {} to {}",
                t,
                t.plus_secs(10 * minute)
            ));
        }
    }
    // OCN has ROAs too; the leaked /24s are longer than their maxLength.
    for p in by_origin
        .get(&4713)
        .into_iter()
        .flatten()
        .filter(|p| p.len() == 16)
        .take(50)
    {
        vrps.push(Vrp {
            prefix: *p,
            max_len: 16,
            asn: Asn(4713),
        });
    }
    updates.sort_by_key(|u| (u.time, u.peer));

    let mut names = vec![
        org(701, "UUNET", "Verizon Business", "US"),
        org(1299, "TELIANET", "Arelion", "SE"),
        org(2914, "NTT-COMMUNICATIONS-2914", "NTT America", "US"),
        org(3356, "LEVEL3", "Level 3 Parent", "US"),
        org(174, "COGENT-174", "Cogent Communications", "US"),
        org(6453, "AS6453", "TATA Communications", "US"),
        org(GOOGLE, "GOOGLE", "Google LLC", "US"),
    ];
    for (asn, name, orgname, _) in JAPAN {
        names.push(org(*asn, name, orgname, "JP"));
    }
    let members = vec![
        member(
            "ocn",
            "NTT Communications (OCN)",
            4713,
            "noc@ocn.example.jp",
        ),
        member("kddi", "KDDI", 2516, "noc@kddi.example.jp"),
        member("iij", "IIJ", 2497, "noc@iij.example.jp"),
    ];
    Scenario {
        peers,
        rib_time,
        rib,
        updates,
        links,
        names,
        vrps,
        members,
        injected,
    }
}

fn ipv4_bits(p: &Prefix) -> u32 {
    match p.addr() {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(_) => 0,
    }
}

fn org(asn: u32, name: &str, org_name: &str, country: &str) -> AsOrg {
    AsOrg {
        asn: Asn(asn),
        name: name.into(),
        org_name: org_name.into(),
        country: country.into(),
    }
}

fn member(id: &str, name: &str, asn: u32, contact: &str) -> Member {
    Member {
        id: id.into(),
        name: name.into(),
        asns: vec![Asn(asn)],
        prefixes: vec![],
        contacts: vec![contact.into()],
        language: "ja".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valley_free() {
        let a = generate(
            ScenarioSize {
                stubs: 200,
                big_isp_prefixes: 320,
                churn_per_minute: 2,
            },
            7,
        );
        let b = generate(
            ScenarioSize {
                stubs: 200,
                big_isp_prefixes: 320,
                churn_per_minute: 2,
            },
            7,
        );
        assert_eq!(a.rib.len(), b.rib.len());
        assert_eq!(a.updates.len(), b.updates.len());
        assert!(a.rib.len() > 1000);
        // Every RIB path is valley-free in the scenario's own graph.
        let graph = bugyo_state::AsGraph::new(a.links.clone());
        for (_, _, attrs) in &a.rib {
            let hops = attrs.as_path.hops();
            assert_eq!(
                bugyo_detect::relations::check_path(&graph, &hops),
                if hops.len() < 3 {
                    bugyo_detect::relations::PathCheck::Unknown
                } else {
                    bugyo_detect::relations::PathCheck::Consistent
                },
                "{}",
                attrs.as_path
            );
        }
    }
}
