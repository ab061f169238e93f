//! The `bgpdump -m` one-line-per-route text format, byte for byte as
//! RIPE NCC's bgpdump prints it (the master branch's behaviour):
//!
//! ```text
//! TABLE_DUMP2|1277971199|B|202.249.2.169|2497|1.9.0.0/16|2497 2914 4788|IGP|202.249.2.169|0|0||NAG||
//! BGP4MP_ET|1445565678.509481|STATE|206.220.231.55|3856|1|2
//! BGP4MP|1027377522|W|193.203.0.81|20751|200.31.199.0/24
//! ```
//!
//! Missing LOCAL_PREF and MED print as 0, a missing next hop as
//! 255.255.255.255 and a missing ORIGIN as INCOMPLETE, as bgpdump does.
//! Lines of the deprecated type 5 (`BGP|...`) keep bgpdump's quirk of
//! gluing the communities to the MED field.

use super::ipfmt::{push_i64, push_ip, push_u32};
use super::{MrtEntry, RibKind};
use bugyo_model::{AsPath, Origin, PathAttributes, Peer, Prefix, SegmentKind, Timestamp};
use std::sync::{Arc, OnceLock};

/// Formats entries as `bgpdump -m` lines, caching the attribute part of the
/// line for consecutive routes that share attributes.
#[derive(Default)]
pub struct BgpdumpFormatter {
    last: Option<(Arc<PathAttributes>, bool)>,
    tail: Vec<u8>,
    head: Vec<u8>,
}

fn empty_attrs() -> &'static Arc<PathAttributes> {
    static E: OnceLock<Arc<PathAttributes>> = OnceLock::new();
    E.get_or_init(|| Arc::new(PathAttributes::default()))
}

/// Appends an AS path exactly as bgpdump's `process_attr_aspath_string`
/// renders it (sets `{a,b}`, confederation sequences `(a b)`, confederation
/// sets `[a,b]`, cut with `...` past about 7900 characters).
pub fn push_as_path(out: &mut Vec<u8>, p: &AsPath) {
    let start = out.len();
    let mut space = false;
    let mut prev = SegmentKind::Sequence;
    for seg in &p.segments {
        if prev != SegmentKind::Sequence {
            out.push(delim(prev).1);
        }
        if space {
            out.push(b' ');
        }
        if seg.kind != SegmentKind::Sequence {
            out.push(delim(seg.kind).0);
        }
        space = false;
        let sep = if matches!(seg.kind, SegmentKind::Set | SegmentKind::ConfedSet) {
            b','
        } else {
            b' '
        };
        for a in &seg.asns {
            if space {
                out.push(sep);
            } else {
                space = true;
            }
            push_u32(out, a.0);
            if out.len() - start > 8000 - 100 {
                out.extend_from_slice(b"...");
                return;
            }
        }
        prev = seg.kind;
    }
    if let Some(last) = p.segments.last() {
        if last.kind != SegmentKind::Sequence {
            out.push(delim(last.kind).1);
        }
    }
}

fn delim(k: SegmentKind) -> (u8, u8) {
    match k {
        SegmentKind::Set => (b'{', b'}'),
        SegmentKind::Sequence => (b' ', b' '),
        SegmentKind::ConfedSet => (b'[', b']'),
        SegmentKind::ConfedSequence => (b'(', b')'),
    }
}

/// Appends the communities as bgpdump does (space separated, with the
/// well-known names `no-export`, `no-advertise`, `local-AS`).
pub fn push_communities(out: &mut Vec<u8>, a: &PathAttributes) {
    for (i, c) in a.communities.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match c.0 {
            0xFFFF_FF01 => out.extend_from_slice(b"no-export"),
            0xFFFF_FF02 => out.extend_from_slice(b"no-advertise"),
            0xFFFF_FF03 => out.extend_from_slice(b"local-AS"),
            v => {
                push_u32(out, v >> 16);
                out.push(b':');
                push_u32(out, v & 0xffff);
            }
        }
    }
}

/// bgpdump's origin word (a missing ORIGIN prints as INCOMPLETE).
pub fn origin_word(o: Option<Origin>) -> &'static str {
    match o {
        Some(Origin::Igp) => "IGP",
        Some(Origin::Egp) => "EGP",
        _ => "INCOMPLETE",
    }
}

/// Appends `aspath|origin|nexthop|localpref|med|communities|AG|aggregator|\n`
/// (the legacy type-5 form glues communities to the MED).
fn push_tail(out: &mut Vec<u8>, a: &PathAttributes, legacy: bool) {
    push_as_path(out, &a.as_path);
    out.push(b'|');
    out.extend_from_slice(origin_word(a.origin).as_bytes());
    out.push(b'|');
    match a.next_hop {
        Some(nh) => push_ip(out, nh),
        None => out.extend_from_slice(b"255.255.255.255"),
    }
    out.push(b'|');
    push_u32(out, a.local_pref.unwrap_or(0));
    out.push(b'|');
    push_u32(out, a.med.unwrap_or(0));
    if !legacy {
        out.push(b'|');
    }
    push_communities(out, a);
    out.push(b'|');
    out.extend_from_slice(if a.atomic_aggregate { b"AG" } else { b"NAG" });
    out.push(b'|');
    if let Some(g) = a.aggregator {
        if g.addr != std::net::IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
            push_u32(out, g.asn.0);
            out.push(b' ');
            push_ip(out, g.addr);
        }
    }
    out.extend_from_slice(b"|\n");
}

fn push_time(out: &mut Vec<u8>, t: Timestamp, extended: bool) {
    push_i64(out, t.secs);
    if extended {
        out.push(b'.');
        let m = t.micros;
        let s = [
            m / 100_000,
            m / 10_000 % 10,
            m / 1000 % 10,
            m / 100 % 10,
            m / 10 % 10,
            m % 10,
        ];
        for d in s {
            out.push(b'0' + d as u8);
        }
    }
}

fn push_prefix(out: &mut Vec<u8>, p: &Prefix) {
    push_ip(out, p.addr());
    out.push(b'/');
    push_u32(out, u32::from(p.len()));
}

fn push_peer(out: &mut Vec<u8>, p: &Peer) {
    push_ip(out, p.addr);
    out.push(b'|');
    push_u32(out, p.asn.0);
    out.push(b'|');
}

impl BgpdumpFormatter {
    /// A new formatter.
    pub fn new() -> Self {
        Self::default()
    }

    fn tail_for(&mut self, a: &Arc<PathAttributes>, legacy: bool) -> &[u8] {
        let hit = matches!(&self.last, Some((l, lg)) if Arc::ptr_eq(l, a) && *lg == legacy);
        if !hit {
            self.tail.clear();
            push_tail(&mut self.tail, a, legacy);
            self.last = Some((a.clone(), legacy));
        }
        &self.tail
    }

    /// Appends the lines of one entry (none for [`MrtEntry::Other`]).
    pub fn write_entry(&mut self, e: &MrtEntry, out: &mut Vec<u8>) {
        match e {
            MrtEntry::Rib(r) => {
                let (label, ap): (&[u8], bool) = match r.kind {
                    RibKind::TableDump => (b"TABLE_DUMP|", false),
                    RibKind::TableDumpV2 => (b"TABLE_DUMP2|", false),
                    RibKind::TableDumpV2AddPath => (b"TABLE_DUMP2_AP|", true),
                };
                out.extend_from_slice(label);
                push_time(out, r.time, false);
                out.extend_from_slice(b"|B|");
                push_peer(out, &r.peer);
                push_prefix(out, &r.prefix);
                out.push(b'|');
                if ap {
                    push_u32(out, r.path_id.unwrap_or(0));
                    out.push(b'|');
                }
                let tail = self.tail_for(&r.attrs, false);
                out.extend_from_slice(tail);
            }
            MrtEntry::Update(u) => {
                let ap = u
                    .withdrawn
                    .iter()
                    .chain(u.announced.iter())
                    .any(|n| n.path_id.is_some());
                let label: &[u8] = if u.legacy {
                    b"BGP"
                } else {
                    match (u.extended, u.outgoing, ap) {
                        (false, false, false) => b"BGP4MP",
                        (false, false, true) => b"BGP4MP_AP",
                        (false, true, false) => b"BGP4MP_LOCAL",
                        (false, true, true) => b"BGP4MP_LOCAL_AP",
                        (true, false, false) => b"BGP4MP_ET",
                        (true, false, true) => b"BGP4MP_ET_AP",
                        (true, true, false) => b"BGP4MP_ET_LOCAL",
                        (true, true, true) => b"BGP4MP_ET_LOCAL_AP",
                    }
                };
                let mut head = std::mem::take(&mut self.head);
                head.clear();
                head.extend_from_slice(label);
                head.push(b'|');
                push_time(&mut head, u.time, u.extended);
                let kind_at = head.len();
                head.extend_from_slice(b"|W|");
                push_peer(&mut head, &u.peer);
                for n in &u.withdrawn {
                    out.extend_from_slice(&head);
                    push_prefix(out, &n.prefix);
                    if ap {
                        out.push(b'|');
                        push_u32(out, n.path_id.unwrap_or(0));
                    }
                    out.push(b'\n');
                }
                if !u.announced.is_empty() {
                    head[kind_at + 1] = b'A';
                    let attrs = u.attrs.clone().unwrap_or_else(|| empty_attrs().clone());
                    self.tail_for(&attrs, u.legacy);
                    for n in &u.announced {
                        out.extend_from_slice(&head);
                        push_prefix(out, &n.prefix);
                        out.push(b'|');
                        if ap {
                            push_u32(out, n.path_id.unwrap_or(0));
                            out.push(b'|');
                        }
                        out.extend_from_slice(&self.tail);
                    }
                }
                self.head = head;
            }
            MrtEntry::State(s) => {
                out.extend_from_slice(if s.legacy {
                    b"BGP|"
                } else if s.extended {
                    b"BGP4MP_ET|"
                } else {
                    b"BGP4MP|"
                });
                push_time(out, s.time, s.extended);
                out.extend_from_slice(b"|STATE|");
                push_peer(out, &s.peer);
                push_u32(out, u32::from(s.old));
                out.push(b'|');
                push_u32(out, u32::from(s.new));
                out.push(b'\n');
            }
            MrtEntry::Other { .. } | MrtEntry::Message { .. } => {}
        }
    }
}

/// The lines of one entry as a string (convenience for tests).
pub fn entry_lines(e: &MrtEntry) -> String {
    let mut v = Vec::new();
    BgpdumpFormatter::new().write_entry(e, &mut v);
    String::from_utf8(v).unwrap_or_default()
}
