//! The multi-peer RIB: one Adj-RIB-In per collector peer, with interned path
//! attributes, and a prefix index across all peers that remembers history —
//! which origins each prefix has had, how many routes carried it at most, and
//! which AS adjacencies have ever been seen.
//!
//! Visibility is counted in routes (one per peer and ADD-PATH path id), which
//! equals peers for ordinary sessions.

use crate::attrs::{AttrId, AttrStore};
use bugyo_model::{Asn, PathAttributes, Peer, Prefix, Timestamp};
use ipnet::IpNet;
use prefix_trie::joint::JointPrefixMap;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// Index of a peer in the RIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u16);

/// What the RIB knows of one peer.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer.
    pub peer: Peer,
    /// Routes currently held from it.
    pub routes: u64,
    /// Data time of its first message.
    pub first_seen: Timestamp,
    /// Data time of its last message.
    pub last_seen: Timestamp,
    /// Data time its current session came up (first message, or the last
    /// transition to Established); routes learned shortly after are the
    /// initial table transfer.
    pub session_start: Timestamp,
}

/// One origin of a prefix and how many routes carry it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginCount {
    /// The origin AS (AS0 for a path ending in an AS_SET).
    pub asn: Asn,
    /// Routes carrying it now (0: seen before, gone now).
    pub routes: u32,
}

/// Everything the RIB remembers of one prefix across peers: a view into
/// the prefix index (see [`Rib::prefix`]).
#[derive(Clone, Copy, Debug)]
pub struct PrefixEntry<'a> {
    /// The first origin seen, then any others (rare: multiple-origin
    /// prefixes), with their current route counts.
    first: OriginCount,
    more: &'a [OriginCount],
    /// Most routes that carried the prefix at once.
    pub max_routes: u32,
    /// Data time (Unix seconds) the prefix was first seen.
    pub first_seen_secs: i64,
}

impl PrefixEntry<'_> {
    /// Origins ever seen, with their current route counts.
    pub fn origins(&self) -> impl Iterator<Item = OriginCount> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }

    /// Routes carrying the prefix now.
    pub fn routes(&self) -> u32 {
        self.origins().map(|o| o.routes).sum()
    }

    /// Origins that carry the prefix now.
    pub fn current_origins(&self) -> impl Iterator<Item = Asn> + '_ {
        self.origins().filter(|o| o.routes > 0).map(|o| o.asn)
    }

    /// True if `asn` has ever originated the prefix.
    pub fn has_seen_origin(&self, asn: Asn) -> bool {
        self.origins().any(|o| o.asn == asn)
    }
}

/// What the prefix index stores per prefix, in 16 bytes (a full table has a
/// million prefixes, and the index keeps about two slots per prefix): the
/// first origin inline, further origins in [`Rib`]'s side table.
#[derive(Clone, Copy, Debug)]
struct Packed {
    first: OriginCount,
    /// Most routes at once; the top bit marks further origins.
    max_routes: u32,
    /// Unix seconds of the first sighting (0 before 1970, saturating in 2106).
    first_seen: u32,
}

/// The top bit of [`Packed::max_routes`]: the prefix has had more than one
/// origin, listed in the side table.
const MORE_ORIGINS: u32 = 1 << 31;

impl Packed {
    fn new(asn: Asn, now: Timestamp) -> Packed {
        Packed {
            first: OriginCount { asn, routes: 0 },
            max_routes: 0,
            first_seen: now.secs.clamp(0, i64::from(u32::MAX)) as u32,
        }
    }

    fn view<'a>(
        &self,
        more: &'a FxHashMap<IpNet, Vec<OriginCount>>,
        net: &IpNet,
    ) -> PrefixEntry<'a> {
        let more = if self.max_routes & MORE_ORIGINS != 0 {
            more.get(net).map(|v| v.as_slice()).unwrap_or(&[])
        } else {
            &[]
        };
        PrefixEntry {
            first: self.first,
            more,
            max_routes: self.max_routes & !MORE_ORIGINS,
            first_seen_secs: i64::from(self.first_seen),
        }
    }

    /// Adds `delta` routes of origin `asn`.
    fn count(
        &mut self,
        more: &mut FxHashMap<IpNet, Vec<OriginCount>>,
        net: IpNet,
        asn: Asn,
        delta: i32,
    ) {
        let mut routes;
        if self.first.asn == asn {
            self.first.routes = self.first.routes.saturating_add_signed(delta);
            routes = self.first.routes;
            if self.max_routes & MORE_ORIGINS != 0 {
                routes += more
                    .get(&net)
                    .map_or(0, |v| v.iter().map(|o| o.routes).sum());
            }
        } else {
            if self.max_routes & MORE_ORIGINS == 0 && delta <= 0 {
                return;
            }
            let v = more.entry(net).or_default();
            match v.iter_mut().find(|o| o.asn == asn) {
                Some(o) => o.routes = o.routes.saturating_add_signed(delta),
                None if delta > 0 => v.push(OriginCount {
                    asn,
                    routes: delta as u32,
                }),
                None => {}
            }
            if v.is_empty() {
                more.remove(&net);
                return;
            }
            self.max_routes |= MORE_ORIGINS;
            routes = self.first.routes + v.iter().map(|o| o.routes).sum::<u32>();
        }
        routes = routes.min(MORE_ORIGINS - 1);
        let flag = self.max_routes & MORE_ORIGINS;
        self.max_routes = (self.max_routes & !MORE_ORIGINS).max(routes) | flag;
    }
}

/// Memory used by the RIB's structures, in bytes (heap allocations of
/// attribute sets counted separately, as a number of sets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RibMemory {
    /// The per-peer route tables.
    pub tables: usize,
    /// The prefix index with its history.
    pub prefix_index: usize,
    /// The set of AS adjacencies ever seen.
    pub adjacencies: usize,
    /// The attribute store's slots and indexes (not the sets themselves).
    pub attribute_index: usize,
    /// Distinct attribute sets held.
    pub attribute_sets: usize,
}

/// The change a new announcement makes to a peer's table.
#[derive(Clone, Debug)]
pub struct RouteChange {
    /// The route it replaces, if any (an implicit withdrawal).
    pub previous: Option<Arc<PathAttributes>>,
    /// The held attribute set the route now uses.
    pub attrs: AttrId,
    /// True if that set was not held before this route.
    pub new_set: bool,
}

/// The origin of a path as the RIB counts it: AS0 stands for "no single
/// origin" (a path ending in an AS_SET, or an empty path).
pub fn origin_of(attrs: &PathAttributes) -> Asn {
    attrs.as_path.origin().unwrap_or(Asn(0))
}

/// One peer's routes, in four tables by how compactly the key packs:
/// nearly every route of a full table is an IPv4 prefix of /24 or shorter
/// (or IPv6 of /48 or shorter) without an ADD-PATH id, whose key fits 4 (8)
/// bytes; a hash table entry is then 8 (12 → 16) bytes instead of 32. The
/// RIB's memory is mostly these tables, one entry per route.
#[derive(Default)]
struct AdjRibIn {
    v4_short: FxHashMap<u32, AttrId>,
    v6_short: FxHashMap<u64, AttrId>,
    v4: FxHashMap<u64, AttrId>,
    other: FxHashMap<(Prefix, u32), AttrId>,
}

/// A route's key in the table that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RouteKey {
    /// IPv4 up to /24, path id 0: the top 24 address bits, then 5 bits of
    /// length.
    V4Short(u32),
    /// IPv6 up to /48, path id 0: the top 48 address bits, then 8 bits of
    /// length.
    V6Short(u64),
    /// Other IPv4 with a path id below 2^24: address, length, path id.
    V4(u64),
    /// Everything else.
    Other(Prefix, u32),
}

/// Path ids below this fit the [`RouteKey::V4`] key.
const COMPACT_PATH_ID: u32 = 1 << 24;

impl RouteKey {
    fn of(prefix: &Prefix, path_id: u32) -> RouteKey {
        let len = prefix.len();
        match prefix.addr() {
            std::net::IpAddr::V4(a) if path_id == 0 && len <= 24 => {
                RouteKey::V4Short(((u32::from(a) >> 8) << 5) | u32::from(len))
            }
            std::net::IpAddr::V6(a) if path_id == 0 && len <= 48 => {
                RouteKey::V6Short((((u128::from(a) >> 80) as u64) << 8) | u64::from(len))
            }
            std::net::IpAddr::V4(a) if path_id < COMPACT_PATH_ID => RouteKey::V4(
                (u64::from(u32::from(a)) << 32) | (u64::from(len) << 24) | u64::from(path_id),
            ),
            _ => RouteKey::Other(*prefix, path_id),
        }
    }
}

/// The prefix a packed key was made from (it was valid, so this cannot fail).
fn unpacked(prefix: Result<Prefix, bugyo_model::PrefixError>) -> Prefix {
    prefix.unwrap_or_else(|_| unreachable!("a packed key holds a valid prefix"))
}

fn from_v4_short(key: u32) -> (Prefix, u32) {
    (unpacked(Prefix::v4((key >> 5) << 8, (key & 31) as u8)), 0)
}

fn from_v6_short(key: u64) -> (Prefix, u32) {
    let addr = u128::from(key >> 8) << 80;
    (unpacked(Prefix::v6(addr, (key & 0xff) as u8)), 0)
}

fn from_v4(key: u64) -> (Prefix, u32) {
    let addr = (key >> 32) as u32;
    let len = ((key >> 24) & 0xff) as u8;
    (unpacked(Prefix::v4(addr, len)), (key & 0xff_ffff) as u32)
}

impl AdjRibIn {
    fn get(&self, prefix: &Prefix, path_id: u32) -> Option<AttrId> {
        match RouteKey::of(prefix, path_id) {
            RouteKey::V4Short(k) => self.v4_short.get(&k),
            RouteKey::V6Short(k) => self.v6_short.get(&k),
            RouteKey::V4(k) => self.v4.get(&k),
            RouteKey::Other(p, id) => self.other.get(&(p, id)),
        }
        .copied()
    }

    fn insert(&mut self, prefix: Prefix, path_id: u32, id: AttrId) -> Option<AttrId> {
        match RouteKey::of(&prefix, path_id) {
            RouteKey::V4Short(k) => self.v4_short.insert(k, id),
            RouteKey::V6Short(k) => self.v6_short.insert(k, id),
            RouteKey::V4(k) => self.v4.insert(k, id),
            RouteKey::Other(p, pid) => self.other.insert((p, pid), id),
        }
    }

    fn remove(&mut self, prefix: &Prefix, path_id: u32) -> Option<AttrId> {
        match RouteKey::of(prefix, path_id) {
            RouteKey::V4Short(k) => self.v4_short.remove(&k),
            RouteKey::V6Short(k) => self.v6_short.remove(&k),
            RouteKey::V4(k) => self.v4.remove(&k),
            RouteKey::Other(p, id) => self.other.remove(&(p, id)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Prefix, u32, AttrId)> + '_ {
        let with = |(p, id): (Prefix, u32), a: AttrId| (p, id, a);
        let v4_short = self
            .v4_short
            .iter()
            .map(move |(&k, &a)| with(from_v4_short(k), a));
        let v6_short = self
            .v6_short
            .iter()
            .map(move |(&k, &a)| with(from_v6_short(k), a));
        let v4 = self.v4.iter().map(move |(&k, &a)| with(from_v4(k), a));
        let other = self.other.iter().map(|(&(p, id), &a)| (p, id, a));
        v4_short.chain(v6_short).chain(v4).chain(other)
    }

    /// Bytes held by the tables (a hash table slot is its entry plus one
    /// control byte).
    fn memory(&self) -> usize {
        fn table<K, V>(t: &FxHashMap<K, V>) -> usize {
            t.capacity() * (std::mem::size_of::<(K, V)>() + 1)
        }
        table(&self.v4_short) + table(&self.v6_short) + table(&self.v4) + table(&self.other)
    }
}

/// The multi-peer RIB with history.
#[derive(Default)]
pub struct Rib {
    peers: Vec<PeerInfo>,
    peer_ids: FxHashMap<Peer, PeerId>,
    tables: Vec<AdjRibIn>,
    attrs: AttrStore,
    prefixes: JointPrefixMap<IpNet, Packed>,
    /// Origins after the first of prefixes that have had several.
    more_origins: FxHashMap<IpNet, Vec<OriginCount>>,
    adjacencies: FxHashSet<u64>,
}

fn adjacency_key(left: Asn, right: Asn) -> u64 {
    (u64::from(left.0) << 32) | u64::from(right.0)
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Rib {
        Rib::default()
    }

    /// The id of `peer`, registering it on first sight at data time `now`.
    pub fn peer_id(&mut self, peer: Peer, now: Timestamp) -> PeerId {
        if let Some(&id) = self.peer_ids.get(&peer) {
            return id;
        }
        let id = PeerId(self.peers.len() as u16);
        self.peers.push(PeerInfo {
            peer,
            routes: 0,
            first_seen: now,
            last_seen: now,
            session_start: now,
        });
        self.tables.push(AdjRibIn::default());
        self.peer_ids.insert(peer, id);
        id
    }

    /// All peers, indexed by [`PeerId`].
    pub fn peers(&self) -> &[PeerInfo] {
        &self.peers
    }

    /// One peer's record.
    pub fn peer(&self, id: PeerId) -> &PeerInfo {
        &self.peers[id.0 as usize]
    }

    /// Notes that a peer was heard from at `now`.
    pub fn touch(&mut self, id: PeerId, now: Timestamp) {
        let p = &mut self.peers[id.0 as usize];
        if now > p.last_seen {
            p.last_seen = now;
        }
    }

    /// Marks the start of a new session with the peer (BGP Established).
    pub fn session_up(&mut self, id: PeerId, now: Timestamp) {
        self.peers[id.0 as usize].session_start = now;
    }

    /// The route `peer` holds for `prefix` with ADD-PATH id `path_id` (0
    /// without ADD-PATH).
    pub fn route(
        &self,
        peer: PeerId,
        prefix: &Prefix,
        path_id: u32,
    ) -> Option<&Arc<PathAttributes>> {
        let id = self.tables[peer.0 as usize].get(prefix, path_id)?;
        Some(self.attrs.get(id))
    }

    /// The attribute set the RIB holds that equals `attrs`, if any (see
    /// [`AttrStore::canonical`]).
    pub fn canonical_attrs(&self, attrs: &Arc<PathAttributes>) -> Option<&Arc<PathAttributes>> {
        self.attrs.canonical(attrs)
    }

    /// The handle and note of the held attribute set equal to `attrs`, if
    /// any. A note is 4 bytes kept with the set for the layer above (0 for
    /// a set that has none yet); it goes when the set's last route goes.
    pub fn attr_note(&self, attrs: &Arc<PathAttributes>) -> Option<(AttrId, u32)> {
        self.attrs.note_of(attrs)
    }

    /// Sets the note of a held attribute set (see [`Rib::attr_note`]).
    pub fn set_attr_note(&mut self, id: AttrId, note: u32) {
        self.attrs.set_note(id, note);
    }

    /// Resets every attribute set's note to 0.
    pub fn clear_attr_notes(&mut self) {
        self.attrs.clear_notes();
    }

    /// Stores an announcement, replacing any route with the same key.
    pub fn announce(
        &mut self,
        peer: PeerId,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
        now: Timestamp,
    ) -> RouteChange {
        let (id, new_attrs) = self.attrs.intern(attrs);
        let old = self.tables[peer.0 as usize].insert(prefix, path_id, id);
        let previous = old.map(|old| {
            let prev = Arc::clone(self.attrs.get(old));
            self.attrs.release(old);
            prev
        });
        let new_origin = origin_of(attrs);
        let net = prefix.net();
        let entry = self
            .prefixes
            .entry(net)
            .or_insert_with(|| Packed::new(new_origin, now));
        let more = &mut self.more_origins;
        match &previous {
            Some(prev) => {
                let old_origin = origin_of(prev);
                if old_origin != new_origin {
                    entry.count(more, net, old_origin, -1);
                    entry.count(more, net, new_origin, 1);
                }
            }
            None => {
                entry.count(more, net, new_origin, 1);
                self.peers[peer.0 as usize].routes += 1;
            }
        }
        // An attribute set already held has had its adjacencies recorded.
        if new_attrs {
            let hops = attrs.as_path.hops();
            for w in hops.windows(2) {
                self.adjacencies.insert(adjacency_key(w[0], w[1]));
            }
        }
        RouteChange {
            previous,
            attrs: id,
            new_set: new_attrs,
        }
    }

    /// Removes a route; returns what it was, if it existed.
    pub fn withdraw(
        &mut self,
        peer: PeerId,
        prefix: &Prefix,
        path_id: u32,
    ) -> Option<Arc<PathAttributes>> {
        let id = self.tables[peer.0 as usize].remove(prefix, path_id)?;
        let attrs = Arc::clone(self.attrs.get(id));
        self.attrs.release(id);
        self.peers[peer.0 as usize].routes -= 1;
        let net = prefix.net();
        if let Some(entry) = self.prefixes.get_mut(&net) {
            entry.count(&mut self.more_origins, net, origin_of(&attrs), -1);
        }
        Some(attrs)
    }

    /// Drops every route of a peer (session down); returns them.
    pub fn clear_peer(&mut self, peer: PeerId) -> Vec<(Prefix, u32, Arc<PathAttributes>)> {
        let keys: Vec<(Prefix, u32)> = self.tables[peer.0 as usize]
            .iter()
            .map(|(p, id, _)| (p, id))
            .collect();
        keys.into_iter()
            .filter_map(|(p, id)| self.withdraw(peer, &p, id).map(|a| (p, id, a)))
            .collect()
    }

    /// What the RIB remembers of `prefix`.
    pub fn prefix(&self, prefix: &Prefix) -> Option<PrefixEntry<'_>> {
        let net = prefix.net();
        self.prefixes
            .get(&net)
            .map(|e| e.view(&self.more_origins, &net))
    }

    /// Less-specific prefixes that are routed now and cover `prefix`
    /// (excluding `prefix` itself), most specific first.
    pub fn covering(&self, prefix: &Prefix) -> Vec<(Prefix, PrefixEntry<'_>)> {
        let mut v: Vec<(Prefix, PrefixEntry<'_>)> = self
            .prefixes
            .cover(&prefix.net())
            .filter(|(p, _)| p.prefix_len() < prefix.len())
            .map(|(p, e)| (Prefix::from(p), e.view(&self.more_origins, &p)))
            .filter(|(_, e)| e.routes() > 0)
            .collect();
        v.reverse();
        v
    }

    /// True if the AS adjacency `left right` (left nearer the collector) has
    /// ever been seen in a path.
    pub fn has_adjacency(&self, left: Asn, right: Asn) -> bool {
        self.adjacencies.contains(&adjacency_key(left, right))
    }

    /// Routes held across all peers.
    pub fn route_count(&self) -> u64 {
        self.peers.iter().map(|p| p.routes).sum()
    }

    /// Prefixes ever seen.
    pub fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }

    /// Distinct attribute sets held.
    pub fn attr_count(&self) -> usize {
        self.attrs.len()
    }

    /// An estimate of the memory the RIB's own structures use, by part.
    pub fn memory(&self) -> RibMemory {
        use std::mem::size_of;
        let bucket = |cap: usize, entry: usize| cap * (entry + 1);
        let tables = self.tables.iter().map(AdjRibIn::memory).sum();
        RibMemory {
            tables,
            prefix_index: self.prefixes.t1.mem_size()
                + self.prefixes.t2.mem_size()
                + bucket(
                    self.more_origins.capacity(),
                    size_of::<(IpNet, Vec<OriginCount>)>(),
                )
                + self
                    .more_origins
                    .values()
                    .map(|v| v.capacity() * size_of::<OriginCount>())
                    .sum::<usize>(),
            adjacencies: bucket(self.adjacencies.capacity(), size_of::<u64>()),
            attribute_index: self.attrs.memory(),
            attribute_sets: self.attrs.len(),
        }
    }

    /// Every route of one peer (unordered).
    pub fn routes_of(
        &self,
        peer: PeerId,
    ) -> impl Iterator<Item = (Prefix, u32, &Arc<PathAttributes>)> + '_ {
        self.tables[peer.0 as usize]
            .iter()
            .map(|(p, id, a)| (p, id, self.attrs.get(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::AsPath;
    use std::net::IpAddr;

    fn attrs(path: &[u32]) -> Arc<PathAttributes> {
        Arc::new(PathAttributes {
            as_path: AsPath::from_sequence(path.iter().copied()),
            ..Default::default()
        })
    }

    #[test]
    fn several_origins_counts_and_first_sighting() {
        let mut rib = Rib::new();
        let t = Timestamp {
            secs: 1_500_000_000,
            micros: 0,
        };
        let peers: Vec<PeerId> = (1..=3u8)
            .map(|i| {
                rib.peer_id(
                    Peer::new(Asn(u32::from(i)), IpAddr::from([192, 0, 2, i])),
                    t,
                )
            })
            .collect();
        let pfx: Prefix = "2001:db8::/32".parse().unwrap();
        rib.announce(peers[0], pfx, 0, &attrs(&[1, 10]), t);
        let later = Timestamp {
            secs: t.secs + 100,
            micros: 0,
        };
        rib.announce(peers[1], pfx, 0, &attrs(&[2, 20]), later);
        rib.announce(peers[2], pfx, 0, &attrs(&[3, 30]), later);
        let e = rib.prefix(&pfx).unwrap();
        assert_eq!(e.first_seen_secs, t.secs);
        assert_eq!(e.routes(), 3);
        assert_eq!(e.max_routes, 3);
        assert_eq!(
            e.current_origins().collect::<Vec<_>>(),
            vec![Asn(10), Asn(20), Asn(30)]
        );
        // The first origin goes, the others stay; all are remembered.
        rib.withdraw(peers[0], &pfx, 0);
        rib.announce(peers[2], pfx, 0, &attrs(&[3, 20]), later);
        let e = rib.prefix(&pfx).unwrap();
        assert_eq!(e.routes(), 2);
        assert_eq!(e.max_routes, 3);
        assert_eq!(e.current_origins().collect::<Vec<_>>(), vec![Asn(20)]);
        assert!(e.has_seen_origin(Asn(10)) && e.has_seen_origin(Asn(30)));
        assert!(!e.has_seen_origin(Asn(40)));
        rib.clear_peer(peers[1]);
        rib.clear_peer(peers[2]);
        let e = rib.prefix(&pfx).unwrap();
        assert_eq!((e.routes(), e.max_routes), (0, 3));
        assert_eq!(e.origins().count(), 3);
        // A covering prefix is listed only while routed.
        let sub: Prefix = "2001:db8:1::/48".parse().unwrap();
        assert!(rib.covering(&sub).is_empty());
        rib.announce(peers[0], pfx, 0, &attrs(&[1, 30]), later);
        let cover = rib.covering(&sub);
        assert_eq!(cover.len(), 1);
        assert_eq!(
            cover[0].1.current_origins().collect::<Vec<_>>(),
            vec![Asn(30)]
        );
    }

    #[test]
    fn route_keys_round_trip_in_every_table() {
        let mut t = AdjRibIn::default();
        let routes: Vec<(Prefix, u32)> = [
            ("0.0.0.0/0", 0),
            ("255.255.255.0/24", 0),
            ("192.0.2.128/25", 0),
            ("192.0.2.0/24", 7),
            ("198.51.100.1/32", (1 << 24) - 1),
            ("198.51.100.0/24", 1 << 24),
            ("::/0", 0),
            ("2001:db8:ffff::/48", 0),
            ("2001:db8:ffff:8000::/49", 0),
            ("2001:db8::/32", 3),
        ]
        .iter()
        .map(|(p, id)| (p.parse().unwrap(), *id))
        .collect();
        for (i, (p, id)) in routes.iter().enumerate() {
            assert_eq!(t.insert(*p, *id, AttrId::from_index(i as u32)), None);
        }
        let mut back: Vec<(Prefix, u32, AttrId)> = t.iter().collect();
        back.sort_by_key(|r| r.2.index());
        let expected: Vec<(Prefix, u32, AttrId)> = routes
            .iter()
            .enumerate()
            .map(|(i, (p, id))| (*p, *id, AttrId::from_index(i as u32)))
            .collect();
        assert_eq!(back, expected);
        assert!(
            [
                t.v4_short.len(),
                t.v6_short.len(),
                t.v4.len(),
                t.other.len()
            ] == [2, 2, 3, 3]
        );
        for (i, (p, id)) in routes.iter().enumerate() {
            assert_eq!(t.get(p, *id), Some(AttrId::from_index(i as u32)));
            assert_eq!(t.remove(p, *id), Some(AttrId::from_index(i as u32)));
            assert_eq!(t.get(p, *id), None);
        }
    }

    #[test]
    fn prefix_index_entries_are_small() {
        assert_eq!(std::mem::size_of::<Packed>(), 16);
    }

    #[test]
    fn announce_withdraw_history() {
        let mut rib = Rib::new();
        let t = Timestamp::from_secs(100);
        let p = rib.peer_id(
            Peer::new(Asn(2497), "192.0.2.1".parse::<IpAddr>().unwrap()),
            t,
        );
        let q = rib.peer_id(
            Peer::new(Asn(4777), "192.0.2.2".parse::<IpAddr>().unwrap()),
            t,
        );
        let pfx: Prefix = "1.0.0.0/16".parse().unwrap();
        let sub: Prefix = "1.0.1.0/24".parse().unwrap();
        rib.announce(p, pfx, 0, &attrs(&[2497, 4713]), t);
        rib.announce(q, pfx, 0, &attrs(&[4777, 2914, 4713]), t);
        assert_eq!(rib.prefix(&pfx).unwrap().routes(), 2);
        assert!(rib.has_adjacency(Asn(2914), Asn(4713)));
        assert!(!rib.has_adjacency(Asn(4713), Asn(2914)));
        // implicit withdrawal with origin change
        let ch = rib.announce(p, pfx, 0, &attrs(&[2497, 666]), t);
        assert!(ch.previous.is_some());
        let e = rib.prefix(&pfx).unwrap();
        assert_eq!(
            e.current_origins().collect::<Vec<_>>(),
            vec![Asn(4713), Asn(666)]
        );
        rib.announce(p, sub, 0, &attrs(&[2497, 4713]), t);
        assert_eq!(rib.covering(&sub).len(), 1);
        assert!(rib.withdraw(p, &sub, 0).is_some());
        assert!(rib.withdraw(p, &sub, 0).is_none());
        assert_eq!(rib.prefix(&sub).unwrap().routes(), 0);
        assert!(rib.prefix(&sub).unwrap().has_seen_origin(Asn(4713)));
        assert_eq!(rib.clear_peer(q).len(), 1);
        assert_eq!(rib.route_count(), 1);
        assert_eq!(rib.attr_count(), 1);
    }
}
