//! Decoding one MRT record body into entries: TABLE_DUMP, TABLE_DUMP_V2,
//! BGP4MP / BGP4MP_ET and the deprecated type 5 (BGP).

use super::cache::AttrCache;
use super::{MrtEntry, MrtError, ReadStats, RibEntry, RibKind, StateChange, UpdateEntry};
use crate::bgp::attrs::{
    afi_of, attr_name, cache_key, parse_attributes, parse_mp_reach, parse_mp_unreach,
    scan_attributes, AttrOptions, AttrScan,
};
use crate::bgp::{parse_nlri, split_update, BgpError, ErrorAction, Nlri};
use bugyo_model::{Afi, Asn, PathAttributes, Peer, Prefix, Timestamp};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// MRT record types.
pub(crate) mod ty {
    pub const BGP: u16 = 5;
    pub const TABLE_DUMP: u16 = 12;
    pub const TABLE_DUMP_V2: u16 = 13;
    pub const BGP4MP: u16 = 16;
    pub const BGP4MP_ET: u16 = 17;
}

/// A record header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub time: u32,
    pub ty: u16,
    pub sub: u16,
    pub len: u32,
}

impl Header {
    pub(crate) fn parse(b: &[u8]) -> Header {
        Header {
            time: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            ty: u16::from_be_bytes([b[4], b[5]]),
            sub: u16::from_be_bytes([b[6], b[7]]),
            len: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    /// Known type and subtype, and a length that type can have.
    pub(crate) fn plausible(&self) -> bool {
        let len = self.len as usize;
        match self.ty {
            ty::BGP => self.sub <= 7 && len <= 4096 + 12,
            ty::TABLE_DUMP => (1..=4).contains(&self.sub) && (22..=(1 << 20)).contains(&len),
            ty::TABLE_DUMP_V2 => (1..=12).contains(&self.sub) && (4..=(1 << 26)).contains(&len),
            ty::BGP4MP => self.sub <= 11 && (8..=65535 + 64).contains(&len),
            ty::BGP4MP_ET => self.sub <= 11 && (12..=65535 + 68).contains(&len),
            11 | 32 | 33 | 48 | 49 => len <= 65535 + 64,
            _ => false,
        }
    }
}

/// A bounds-checked reader over a record body.
struct Rd<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        match self.b.get(self.p..self.p + n) {
            Some(s) => {
                self.p += n;
                Ok(s)
            }
            None => Err(format!(
                "truncated {what} at byte {} (need {n}, have {})",
                self.p,
                self.b.len().saturating_sub(self.p)
            )),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let s = self.take(4, what)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn asn(&mut self, four: bool, what: &str) -> Result<Asn, String> {
        Ok(Asn(if four {
            self.u32(what)?
        } else {
            u32::from(self.u16(what)?)
        }))
    }
    fn ip(&mut self, v6: bool, what: &str) -> Result<IpAddr, String> {
        if v6 {
            let s = self.take(16, what)?;
            let mut a = [0u8; 16];
            a.copy_from_slice(s);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        } else {
            let s = self.take(4, what)?;
            Ok(IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])))
        }
    }
    fn rest(&self) -> &'a [u8] {
        &self.b[self.p.min(self.b.len())..]
    }
    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.p)
    }
}

/// One TABLE_DUMP entry: prefix address, length, originated time, peer, attributes.
type TdEntry<'a> = (IpAddr, u8, u32, Peer, &'a [u8]);
/// One TABLE_DUMP_V2 RIB entry: peer index, originated time, path id, attributes.
type Td2Entry<'a> = (u16, u32, Option<u32>, &'a [u8]);

/// Attributes with problems: kept ones (if RFC 7606 allows) and the errors.
type AttrTrouble = (Option<Arc<PathAttributes>>, Vec<BgpError>);

/// Reader-wide decoding state.
pub(crate) struct Decoder {
    peers: Vec<Peer>,
    have_peer_index: bool,
    cache: AttrCache,
    key: Vec<u8>,
}

/// Output sinks for one record.
pub(crate) struct Sink<'a> {
    pub out: &'a mut VecDeque<Result<MrtEntry, MrtError>>,
    pub stats: &'a mut ReadStats,
    pub offset: u64,
}

impl Sink<'_> {
    fn warn(&mut self, reason: String) {
        self.stats.warn(MrtError {
            offset: self.offset,
            reason,
        });
    }
    fn push(&mut self, e: MrtEntry) {
        self.out.push_back(Ok(e));
    }
    fn other(&mut self, time: Timestamp, what: &'static str) -> Result<(), String> {
        self.push(MrtEntry::Other { time, what });
        Ok(())
    }
}

fn ts(secs: u32, micros: u32) -> Timestamp {
    Timestamp {
        secs: i64::from(secs),
        micros: micros.min(999_999),
    }
}

/// The peer and the local side of a BGP4MP record. Local AS 0 with a local
/// address marks a peer seen through a BMP-monitored router at that address
/// (bugyo's archive of BMP feeds; see the writer); otherwise the local side
/// is the collector's, if given.
fn session_peer(pas: Asn, paddr: IpAddr, las: Asn, laddr: IpAddr) -> (Peer, Option<Peer>) {
    let peer = Peer::new(pas, paddr);
    match (las.0, laddr.is_unspecified()) {
        (0, true) => (peer, None),
        (0, false) => (peer.via(laddr.to_canonical()), None),
        _ => (peer, Some(Peer::new(las, laddr))),
    }
}

impl Decoder {
    pub(crate) fn new() -> Self {
        Decoder {
            peers: Vec::new(),
            have_peer_index: false,
            cache: AttrCache::new(1 << 17),
            key: Vec::with_capacity(256),
        }
    }

    /// Attributes for a raw block: from the cache, or parsed (and cached
    /// unless the block calls for treat-as-withdraw).
    fn attrs(
        &mut self,
        raw: &[u8],
        asn4: bool,
        tag: u8,
        scan: &AttrScan,
    ) -> Result<Arc<PathAttributes>, AttrTrouble> {
        self.key.clear();
        self.key.push(u8::from(asn4) | (tag << 1));
        cache_key(raw, scan, &mut self.key);
        if let Some(a) = self.cache.get(&self.key) {
            return Ok(a.clone());
        }
        let parsed = parse_attributes(raw, 0, AttrOptions { asn4 });
        let worst = parsed.worst();
        let a = Arc::new(parsed.attrs);
        if worst >= Some(ErrorAction::TreatAsWithdraw) {
            return Err((None, parsed.errors));
        }
        self.cache.insert(&self.key, a.clone());
        if parsed.errors.is_empty() {
            Ok(a)
        } else {
            Err((Some(a), parsed.errors))
        }
    }

    pub(crate) fn decode(
        &mut self,
        h: &Header,
        body: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let time = ts(h.time, 0);
        match h.ty {
            ty::TABLE_DUMP => self.table_dump(h, body, sink),
            ty::TABLE_DUMP_V2 => self.table_dump_v2(h, body, sink),
            ty::BGP4MP => self.bgp4mp(h, body, time, false, sink),
            ty::BGP4MP_ET => {
                let mut r = Rd { b: body, p: 0 };
                let us = r.u32("microsecond timestamp")?;
                self.bgp4mp(h, r.rest(), ts(h.time, us), true, sink)
            }
            ty::BGP => self.legacy(h, body, time, sink),
            11 => sink.other(time, "OSPFv2"),
            32 | 33 => sink.other(time, "OSPFv3"),
            48 | 49 => {
                sink.push(MrtEntry::Other { time, what: "ISIS" });
                Ok(())
            }
            t => Err(format!("unknown record type {t}")),
        }
    }

    fn table_dump(&mut self, h: &Header, body: &[u8], sink: &mut Sink<'_>) -> Result<(), String> {
        let (v6, asn4) = match h.sub {
            1 => (false, false),
            2 => (true, false),
            3 => (false, true),
            4 => (true, true),
            s => return Err(format!("TABLE_DUMP: unknown subtype {s}")),
        };
        let time = ts(h.time, 0);
        let mut r = Rd { b: body, p: 0 };
        r.u16("view")?;
        r.u16("sequence")?;
        // One entry normally; old RIS dumps pack several per record.
        let mut first = true;
        while r.left() > 0 {
            let start = r.p;
            let entry = (|| -> Result<TdEntry<'_>, String> {
                let prefix = r.ip(v6, "prefix")?;
                let mask = r.u8("prefix length")?;
                r.u8("status")?;
                let orig = r.u32("originated time")?;
                let addr = r.ip(v6, "peer address")?;
                let asn = r.asn(asn4, "peer AS")?;
                let al = usize::from(r.u16("attribute length")?);
                let raw = r.take(al, "attributes")?;
                Ok((prefix, mask, orig, Peer::new(asn, addr), raw))
            })();
            let (addr, mask, orig, peer, raw) = match entry {
                Ok(x) => x,
                Err(e) if first => return Err(format!("TABLE_DUMP: {e}")),
                Err(e) => {
                    sink.warn(format!("TABLE_DUMP: trailing entry at byte {start}: {e}"));
                    break;
                }
            };
            first = false;
            let Ok(prefix) = Prefix::new(addr, mask) else {
                sink.warn(format!(
                    "TABLE_DUMP: bad prefix length {mask} at byte {start}"
                ));
                continue;
            };
            if let Some(attrs) = self.rib_attrs(raw, asn4, if v6 { 2 } else { 1 }, start, sink) {
                sink.push(MrtEntry::Rib(RibEntry {
                    time,
                    kind: RibKind::TableDump,
                    peer,
                    prefix,
                    path_id: None,
                    attrs,
                    originated: ts(orig, 0),
                }));
            }
        }
        Ok(())
    }

    /// Attributes of one RIB entry; `None` (with a warning) if unusable.
    fn rib_attrs(
        &mut self,
        raw: &[u8],
        asn4: bool,
        tag: u8,
        at: usize,
        sink: &mut Sink<'_>,
    ) -> Option<Arc<PathAttributes>> {
        let scan = match scan_attributes(raw, 0) {
            Ok(s) => s,
            Err(e) => {
                sink.warn(format!("route at byte {at} dropped: {e}"));
                return None;
            }
        };
        match self.attrs(raw, asn4, tag, &scan) {
            Ok(a) => Some(a),
            Err((a, errs)) => {
                let what = if a.is_some() {
                    "kept"
                } else {
                    "dropped (treat-as-withdraw)"
                };
                sink.warn(format!("route at byte {at} {what}: {}", join(&errs)));
                a
            }
        }
    }

    fn table_dump_v2(
        &mut self,
        h: &Header,
        body: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let time = ts(h.time, 0);
        let mut r = Rd { b: body, p: 0 };
        let (afi, add_path, generic) = match h.sub {
            1 => return self.peer_index(body, time, sink),
            2 => (Some(Afi::Ipv4), false, false),
            4 => (Some(Afi::Ipv6), false, false),
            8 => (Some(Afi::Ipv4), true, false),
            10 => (Some(Afi::Ipv6), true, false),
            6 => (None, false, true),
            12 => (None, true, true),
            3 | 5 | 9 | 11 => return sink.other(time, "RIB_MULTICAST"),
            7 => return sink.other(time, "GEO_PEER_TABLE"),
            s => return Err(format!("TABLE_DUMP_V2: unknown subtype {s}")),
        };
        r.u32("sequence")?;
        let afi = match afi {
            Some(a) => a,
            None => {
                let a = r.u16("AFI")?;
                let safi = r.u8("SAFI")?;
                match (afi_of(a), safi) {
                    (Some(x), 1) => x,
                    _ => return sink.other(time, "RIB_GENERIC"),
                }
            }
        };
        let _ = generic;
        let plen = r.u8("prefix length")?;
        let pbytes = r.take(usize::from(plen).div_ceil(8), "prefix")?;
        let prefix = crate::bgp::nlri::prefix_from_bytes(afi, pbytes, plen)
            .ok_or_else(|| format!("bad prefix length {plen}"))?;
        let count = r.u16("entry count")?;
        if count > 0 && !self.have_peer_index {
            return Err("TABLE_DUMP_V2 RIB record before any PEER_INDEX_TABLE".into());
        }
        let kind = if add_path {
            RibKind::TableDumpV2AddPath
        } else {
            RibKind::TableDumpV2
        };
        let tag = match afi {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        };
        for i in 0..count {
            let start = r.p;
            let e = (|| -> Result<Td2Entry<'_>, String> {
                let idx = r.u16("peer index")?;
                let orig = r.u32("originated time")?;
                let pid = if add_path {
                    Some(r.u32("path identifier")?)
                } else {
                    None
                };
                let al = usize::from(r.u16("attribute length")?);
                Ok((idx, orig, pid, r.take(al, "attributes")?))
            })();
            let (idx, orig, path_id, raw) = match e {
                Ok(x) => x,
                Err(e) => {
                    let msg = format!("TABLE_DUMP_V2 entry {i} of {count}: {e}");
                    if i == 0 {
                        return Err(msg);
                    }
                    sink.warn(msg);
                    break;
                }
            };
            let Some(&peer) = self.peers.get(usize::from(idx)) else {
                sink.warn(format!(
                    "entry at byte {start}: peer index {idx} not in the peer table ({} peers)",
                    self.peers.len()
                ));
                continue;
            };
            if let Some(attrs) = self.rib_attrs(raw, true, tag, start, sink) {
                sink.push(MrtEntry::Rib(RibEntry {
                    time,
                    kind,
                    peer,
                    prefix,
                    path_id,
                    attrs,
                    originated: ts(orig, 0),
                }));
            }
        }
        if r.left() > 0 {
            sink.warn(format!("{} bytes after the last RIB entry", r.left()));
        }
        Ok(())
    }

    fn peer_index(
        &mut self,
        body: &[u8],
        time: Timestamp,
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let mut r = Rd { b: body, p: 0 };
        r.u32("collector BGP ID")?;
        let vl = usize::from(r.u16("view name length")?);
        let view = r.take(vl, "view name")?;
        // A view of peers seen through one BMP-monitored router (see the
        // writer); any other view name is the collector's own.
        let via = std::str::from_utf8(view)
            .ok()
            .and_then(|v| v.strip_prefix(super::BMP_VIEW))
            .and_then(|a| a.parse::<IpAddr>().ok());
        let n = r.u16("peer count")?;
        let mut peers = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let t = r.u8("peer type")?;
            r.u32("peer BGP ID")?;
            let addr = r.ip(t & 1 != 0, "peer address")?;
            let asn = r.asn(t & 2 != 0, "peer AS")?;
            let peer = Peer::new(asn, addr);
            peers.push(match via {
                Some(router) => peer.via(router),
                None => peer,
            });
        }
        self.peers = peers;
        self.have_peer_index = true;
        sink.push(MrtEntry::Other {
            time,
            what: "PEER_INDEX_TABLE",
        });
        Ok(())
    }

    fn bgp4mp(
        &mut self,
        h: &Header,
        body: &[u8],
        time: Timestamp,
        extended: bool,
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let mut r = Rd { b: body, p: 0 };
        match h.sub {
            0 | 5 => {
                let asn4 = h.sub == 5;
                let pas = r.asn(asn4, "peer AS")?;
                let las = r.asn(asn4, "local AS")?;
                let addr = if body.len() == 8 {
                    // Zebra bug: no interface, family or addresses.
                    let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                    (none, none)
                } else {
                    r.u16("interface index")?;
                    let afi = r.u16("address family")?;
                    let v6 = match afi {
                        1 => false,
                        2 => true,
                        a => return Err(format!("STATE_CHANGE: unknown address family {a}")),
                    };
                    let a = r.ip(v6, "peer address")?;
                    let l = r.ip(v6, "local address")?;
                    (a, l)
                };
                let old = r.u16("old state")?;
                let new = r.u16("new state")?;
                sink.push(MrtEntry::State(StateChange {
                    time,
                    extended,
                    peer: session_peer(pas, addr.0, las, addr.1).0,
                    old,
                    new,
                    legacy: false,
                }));
                Ok(())
            }
            1 | 4 | 6 | 7 | 8 | 9 | 10 | 11 => {
                let asn4 = matches!(h.sub, 4 | 7 | 9 | 11);
                let outgoing = matches!(h.sub, 6 | 7 | 10 | 11);
                let add_path = h.sub >= 8;
                let pas = r.asn(asn4, "peer AS")?;
                let las = r.asn(asn4, "local AS")?;
                let ifindex = r.u16("interface index")?;
                let afi = r.u16("address family")?;
                let (paddr, laddr, marker_len) = match afi {
                    1 | 2 => {
                        let p = r.ip(afi == 2, "peer address")?;
                        let l = r.ip(afi == 2, "local address")?;
                        (p, l, 16)
                    }
                    // Zebra wrote no addresses for some OPENs, and ate 4
                    // bytes of the marker (bgpdump's workaround).
                    0xffff if ifindex == 0xffff => (
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        12,
                    ),
                    a => return Err(format!("BGP4MP message: unknown address family {a}")),
                };
                let marker = r.take(marker_len, "BGP marker")?;
                if marker.iter().any(|&b| b != 0xff) {
                    return Err("BGP4MP message: bad BGP marker".into());
                }
                let mlen = usize::from(r.u16("BGP message length")?);
                let mtype = r.u8("BGP message type")?;
                if mlen < 19 {
                    return Err(format!("BGP message length {mlen} below 19"));
                }
                let want = mlen - 19;
                let body_start = r.p;
                let mbody = if want > r.left() {
                    sink.warn(format!(
                        "BGP message cut: {} of {want} body bytes present",
                        r.left()
                    ));
                    r.rest()
                } else {
                    r.take(want, "BGP message")?
                };
                let (peer, local) = session_peer(pas, paddr, las, laddr);
                let what = match mtype {
                    2 => {
                        let tmpl = UpdateEntry {
                            time,
                            extended,
                            peer,
                            local,
                            outgoing,
                            ..Default::default()
                        };
                        return self.update(mbody, asn4, add_path, tmpl, body_start, sink);
                    }
                    1 => "OPEN",
                    3 => "NOTIFICATION",
                    4 => "KEEPALIVE",
                    5 | 128 => "ROUTE-REFRESH",
                    t => return Err(format!("unknown BGP message type {t}")),
                };
                sink.push(MrtEntry::Message {
                    time,
                    peer,
                    what,
                    outgoing,
                });
                Ok(())
            }
            2 => sink.other(time, "BGP4MP_ENTRY"),
            3 => sink.other(time, "BGP4MP_SNAPSHOT"),
            s => Err(format!("BGP4MP: unknown subtype {s}")),
        }
    }

    fn legacy(
        &mut self,
        h: &Header,
        body: &[u8],
        time: Timestamp,
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let mut r = Rd { b: body, p: 0 };
        match h.sub {
            1 => {
                let pas = r.asn(false, "peer AS")?;
                let paddr = r.ip(false, "peer address")?;
                let las = r.asn(false, "local AS")?;
                let laddr = r.ip(false, "local address")?;
                let tmpl = UpdateEntry {
                    time,
                    peer: Peer::new(pas, paddr),
                    local: Some(Peer::new(las, laddr)),
                    legacy: true,
                    ..Default::default()
                };
                self.update(r.rest(), false, false, tmpl, 12, sink)
            }
            3 => {
                let asn = r.asn(false, "peer AS")?;
                let addr = r.ip(false, "peer address")?;
                let old = r.u16("old state")?;
                let new = r.u16("new state")?;
                sink.push(MrtEntry::State(StateChange {
                    time,
                    extended: false,
                    peer: Peer::new(asn, addr),
                    old,
                    new,
                    legacy: true,
                }));
                Ok(())
            }
            s => {
                let what = match s {
                    0 => "NULL",
                    2 => "PREF_UPDATE",
                    4 => "SYNC",
                    5 => "OPEN",
                    6 => "NOTIFICATION",
                    7 => "KEEPALIVE",
                    _ => "BGP",
                };
                // OPEN, NOTIFICATION and KEEPALIVE start like an UPDATE
                // record: peer AS, peer address, local AS, local address.
                let peer = match s {
                    5..=7 => r
                        .asn(false, "peer AS")
                        .and_then(|asn| {
                            r.ip(false, "peer address").map(|addr| Peer::new(asn, addr))
                        })
                        .ok(),
                    _ => None,
                };
                match peer {
                    Some(peer) => sink.push(MrtEntry::Message {
                        time,
                        peer,
                        what,
                        outgoing: false,
                    }),
                    None => sink.push(MrtEntry::Other { time, what }),
                }
                Ok(())
            }
        }
    }

    /// Decodes an UPDATE body into one entry (two when IPv4 NLRI and
    /// MP_REACH_NLRI with different next hops share a message).
    fn update(
        &mut self,
        body: &[u8],
        asn4: bool,
        add_path: bool,
        mut u: UpdateEntry,
        base: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        let parts = split_update(body).map_err(|e| format!("UPDATE: {e}"))?;
        if let Err(e) = parse_nlri(
            parts.withdrawn,
            Afi::Ipv4,
            add_path,
            base + parts.withdrawn_pos,
            "withdrawn routes",
            &mut u.withdrawn,
        ) {
            sink.warn(format!("UPDATE: {e}"));
        }
        let mut plain: Vec<Nlri> = Vec::new();
        if let Err(e) = parse_nlri(
            parts.nlri,
            Afi::Ipv4,
            add_path,
            base + parts.nlri_pos,
            "NLRI",
            &mut plain,
        ) {
            sink.warn(format!("UPDATE: {e}"));
        }
        let raw = parts.attrs;
        let abase = base + parts.attrs_pos;
        let scan = match scan_attributes(raw, abase) {
            Ok(s) => s,
            Err(e) => {
                sink.warn(format!("UPDATE treat-as-withdraw: {e}"));
                u.withdrawn.append(&mut plain);
                u.treat_as_withdraw = true;
                sink.push(MrtEntry::Update(u));
                return Ok(());
            }
        };
        let mut multi = UpdateEntry {
            multicast: true,
            withdrawn: Vec::new(),
            ..u.clone()
        };
        if let Some((s, e)) = scan.mp_unreach {
            match parse_mp_unreach(&raw[s..e], abase + s) {
                Ok(m) => {
                    let dst = if m.safi == 1 {
                        &mut u.withdrawn
                    } else {
                        &mut multi.withdrawn
                    };
                    if let (Some(afi), 1..=3) = (afi_of(m.afi), m.safi) {
                        if let Err(e) =
                            parse_nlri(m.nlri, afi, add_path, m.nlri_pos, "MP_UNREACH_NLRI", dst)
                        {
                            sink.warn(format!("UPDATE: {e}"));
                        }
                    }
                }
                Err(e) => sink.warn(format!("UPDATE: {e}")),
            }
        }
        let mut mp: Vec<Nlri> = Vec::new();
        let mut mp_present = false;
        if let Some((s, e)) = scan.mp_reach {
            match parse_mp_reach(&raw[s..e], abase + s) {
                Ok(m) => {
                    if let (Some(afi), 1..=3) = (afi_of(m.afi), m.safi) {
                        mp_present = m.next_hop.is_some();
                        let dst = if m.safi == 1 {
                            &mut mp
                        } else {
                            &mut multi.announced
                        };
                        if let Err(e) =
                            parse_nlri(m.nlri, afi, add_path, m.nlri_pos, "MP_REACH_NLRI", dst)
                        {
                            sink.warn(format!("UPDATE: {e}"));
                        }
                    }
                }
                Err(e) => sink.warn(format!("UPDATE: {e}")),
            }
        }
        if raw.is_empty() {
            u.announced = plain;
            sink.push(MrtEntry::Update(u));
            return Ok(());
        }
        let attrs = match self.attrs(raw, asn4, 0, &scan) {
            Ok(a) => Some(a),
            Err((a, errs)) => {
                if a.is_none() {
                    sink.warn(format!("UPDATE treat-as-withdraw: {}", join(&errs)));
                } else {
                    sink.warn(format!("UPDATE: {}", join(&errs)));
                }
                a
            }
        };
        let Some(attrs) = attrs else {
            u.withdrawn.append(&mut plain);
            u.withdrawn.append(&mut mp);
            u.treat_as_withdraw = true;
            sink.push(MrtEntry::Update(u));
            if !multi.withdrawn.is_empty() || !multi.announced.is_empty() {
                multi.withdrawn.append(&mut multi.announced);
                multi.treat_as_withdraw = true;
                sink.push(MrtEntry::Update(multi));
            }
            return Ok(());
        };
        let has_multi = !multi.withdrawn.is_empty() || !multi.announced.is_empty();
        if has_multi {
            multi.attrs = Some(attrs.clone());
        }
        // IPv4 NLRI next to MP_REACH_NLRI: the NLRI field uses NEXT_HOP.
        let mut split = false;
        if !plain.is_empty() && mp_present {
            let nh = classic_next_hop(raw);
            if nh != attrs.next_hop {
                let mut a2 = (*attrs).clone();
                a2.next_hop = nh;
                let mut first = UpdateEntry {
                    announced: std::mem::take(&mut plain),
                    attrs: Some(Arc::new(a2)),
                    ..u.clone()
                };
                first.withdrawn = std::mem::take(&mut u.withdrawn);
                sink.push(MrtEntry::Update(first));
                split = true;
            }
        }
        if split && mp.is_empty() {
            if has_multi {
                sink.push(MrtEntry::Update(multi));
            }
            return Ok(());
        }
        plain.append(&mut mp);
        if !(has_multi && plain.is_empty() && u.withdrawn.is_empty()) {
            u.announced = plain;
            u.attrs = Some(attrs);
            sink.push(MrtEntry::Update(u));
        }
        if has_multi {
            sink.push(MrtEntry::Update(multi));
        }
        Ok(())
    }
}

/// The value of the NEXT_HOP attribute in a raw block, if valid.
fn classic_next_hop(raw: &[u8]) -> Option<IpAddr> {
    let mut p = 0;
    while p + 3 <= raw.len() {
        let flags = raw[p];
        let t = raw[p + 1];
        let (len, vs) = if flags & 0x10 != 0 {
            (
                usize::from(u16::from_be_bytes([raw[p + 2], *raw.get(p + 3)?])),
                p + 4,
            )
        } else {
            (usize::from(raw[p + 2]), p + 3)
        };
        if t == crate::bgp::attr_type::NEXT_HOP && len == 4 {
            let v = raw.get(vs..vs + 4)?;
            return Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])));
        }
        p = vs + len;
    }
    None
}

fn join(errs: &[BgpError]) -> String {
    let mut s = String::new();
    for (i, e) in errs.iter().enumerate() {
        if i > 0 {
            s.push_str("; ");
        }
        s.push_str(&e.to_string());
    }
    if s.is_empty() {
        s.push_str(attr_name(0));
    }
    s
}
