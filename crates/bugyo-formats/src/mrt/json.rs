//! JSON lines: one object per route line of the `bgpdump -m` form, with the
//! same fields named (`--format json` of `bugyo dump`).

use super::bgpdump::{origin_word, push_as_path};
use super::ipfmt::ip_string;
use super::{MrtEntry, RibKind};
use bugyo_model::{PathAttributes, Timestamp};
use serde::Serialize;
use std::io::{self, Write};

/// One output line.
#[derive(Serialize, Debug, Default)]
pub struct JsonLine<'a> {
    /// Record format, as in bgpdump: `TABLE_DUMP2`, `BGP4MP_ET`, ...
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Time, RFC 3339 UTC.
    pub timestamp: String,
    /// Time, seconds since the epoch (with microseconds for BGP4MP_ET).
    pub time: f64,
    /// `B` (table dump), `A` (announce), `W` (withdraw) or `STATE`.
    pub entry: &'a str,
    /// The peer's address.
    pub peer_ip: String,
    /// The BMP-monitored router that reported the peer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_router: Option<String>,
    /// The peer's AS number.
    pub peer_asn: u32,
    /// The prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// ADD-PATH path identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// AS path in bgpdump notation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<String>,
    /// IGP, EGP or INCOMPLETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'a str>,
    /// Next hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
    /// LOCAL_PREF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// Communities, `asn:value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<Vec<String>>,
    /// Large communities, `global:local1:local2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_communities: Option<Vec<String>>,
    /// ATOMIC_AGGREGATE present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atomic_aggregate: Option<bool>,
    /// AGGREGATOR as `asn address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<String>,
    /// Old FSM state (STATE lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_state: Option<u16>,
    /// New FSM state (STATE lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_state: Option<u16>,
}

fn time_num(t: Timestamp) -> f64 {
    t.secs as f64 + f64::from(t.micros) / 1e6
}

fn fill_attrs(l: &mut JsonLine<'_>, a: &PathAttributes) {
    let mut p = Vec::new();
    push_as_path(&mut p, &a.as_path);
    l.as_path = Some(String::from_utf8(p).unwrap_or_default());
    l.origin = a.origin.map(|o| origin_word(Some(o)));
    l.next_hop = a.next_hop.map(ip_string);
    l.local_pref = a.local_pref;
    l.med = a.med;
    l.communities = Some(a.communities.iter().map(|c| c.to_string()).collect());
    l.large_communities = Some(a.large_communities.iter().map(|c| c.to_string()).collect());
    l.atomic_aggregate = Some(a.atomic_aggregate);
    l.aggregator = a
        .aggregator
        .map(|g| format!("{} {}", g.asn.0, ip_string(g.addr)));
}

/// Writes the JSON lines of one entry.
pub fn write_json(e: &MrtEntry, out: &mut impl Write) -> io::Result<()> {
    let mut emit = |l: &JsonLine<'_>| -> io::Result<()> {
        serde_json::to_writer(&mut *out, l)?;
        out.write_all(b"\n")
    };
    match e {
        MrtEntry::Rib(r) => {
            let kind = match r.kind {
                RibKind::TableDump => "TABLE_DUMP",
                RibKind::TableDumpV2 => "TABLE_DUMP2",
                RibKind::TableDumpV2AddPath => "TABLE_DUMP2_AP",
            };
            let mut l = JsonLine {
                kind,
                timestamp: r.time.rfc3339(),
                time: time_num(r.time),
                entry: "B",
                peer_ip: ip_string(r.peer.addr),
                peer_router: r.peer.via.map(ip_string),
                peer_asn: r.peer.asn.0,
                prefix: Some(r.prefix.to_string()),
                path_id: r.path_id,
                ..Default::default()
            };
            fill_attrs(&mut l, &r.attrs);
            emit(&l)?;
        }
        MrtEntry::Update(u) => {
            let kind = match (u.legacy, u.extended, u.outgoing) {
                (true, _, _) => "BGP",
                (_, false, false) => "BGP4MP",
                (_, false, true) => "BGP4MP_LOCAL",
                (_, true, false) => "BGP4MP_ET",
                (_, true, true) => "BGP4MP_ET_LOCAL",
            };
            let base = JsonLine {
                kind,
                timestamp: u.time.rfc3339(),
                time: time_num(u.time),
                peer_ip: ip_string(u.peer.addr),
                peer_router: u.peer.via.map(ip_string),
                peer_asn: u.peer.asn.0,
                ..Default::default()
            };
            for n in &u.withdrawn {
                let l = JsonLine {
                    entry: "W",
                    prefix: Some(n.prefix.to_string()),
                    path_id: n.path_id,
                    timestamp: base.timestamp.clone(),
                    peer_ip: base.peer_ip.clone(),
                    peer_router: base.peer_router.clone(),
                    ..base_copy(&base)
                };
                emit(&l)?;
            }
            for n in &u.announced {
                let mut l = JsonLine {
                    entry: "A",
                    prefix: Some(n.prefix.to_string()),
                    path_id: n.path_id,
                    timestamp: base.timestamp.clone(),
                    peer_ip: base.peer_ip.clone(),
                    peer_router: base.peer_router.clone(),
                    ..base_copy(&base)
                };
                if let Some(a) = &u.attrs {
                    fill_attrs(&mut l, a);
                }
                emit(&l)?;
            }
        }
        MrtEntry::State(s) => {
            let l = JsonLine {
                kind: if s.legacy {
                    "BGP"
                } else if s.extended {
                    "BGP4MP_ET"
                } else {
                    "BGP4MP"
                },
                timestamp: s.time.rfc3339(),
                time: time_num(s.time),
                entry: "STATE",
                peer_ip: ip_string(s.peer.addr),
                peer_router: s.peer.via.map(ip_string),
                peer_asn: s.peer.asn.0,
                old_state: Some(s.old),
                new_state: Some(s.new),
                ..Default::default()
            };
            emit(&l)?;
        }
        MrtEntry::Other { .. } | MrtEntry::Message { .. } => {}
    }
    Ok(())
}

fn base_copy<'a>(b: &JsonLine<'a>) -> JsonLine<'a> {
    JsonLine {
        kind: b.kind,
        time: b.time,
        peer_asn: b.peer_asn,
        ..Default::default()
    }
}
