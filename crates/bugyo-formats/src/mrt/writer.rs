//! [`MrtWriter`]: writes TABLE_DUMP_V2 (PEER_INDEX_TABLE, RIB_IPV4_UNICAST,
//! RIB_IPV6_UNICAST and their ADD-PATH forms) and BGP4MP / BGP4MP_ET
//! (MESSAGE_AS4 UPDATEs, STATE_CHANGE_AS4) from the same entry types the
//! reader yields, so that writing and reading back gives the same entries.

use super::{MrtEntry, RibEntry, StateChange, UpdateEntry, BMP_VIEW};
use crate::bgp::encode::{encode_attributes, encode_update, EncodeOptions, MpMode};
use crate::bgp::nlri::write_nlri;
use crate::bgp::Nlri;
use bugyo_model::{Afi, Peer, Prefix, Timestamp};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Writes MRT records to any `Write`.
pub struct MrtWriter<W: Write> {
    out: W,
    rec: Vec<u8>,
    body: Vec<u8>,
    peers: HashMap<Peer, u16>,
    seq: u32,
}

impl<W: Write> MrtWriter<W> {
    /// A writer to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        MrtWriter {
            out,
            rec: Vec::with_capacity(1 << 16),
            body: Vec::with_capacity(1 << 16),
            peers: HashMap::new(),
            seq: 0,
        }
    }

    /// Flushes what was written to the inner writer (for a gzip encoder: a
    /// sync point, after which a reader can decode everything so far).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn record(&mut self, time: Timestamp, ty: u16, sub: u16, extended: bool) -> io::Result<()> {
        self.rec.clear();
        self.rec
            .extend_from_slice(&(time.secs.clamp(0, i64::from(u32::MAX)) as u32).to_be_bytes());
        self.rec.extend_from_slice(&ty.to_be_bytes());
        self.rec.extend_from_slice(&sub.to_be_bytes());
        let len = self.body.len() + if extended { 4 } else { 0 };
        let len = u32::try_from(len).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "MRT record longer than 4 GiB")
        })?;
        self.rec.extend_from_slice(&len.to_be_bytes());
        if extended {
            self.rec.extend_from_slice(&time.micros.to_be_bytes());
        }
        self.out.write_all(&self.rec)?;
        self.out.write_all(&self.body)
    }

    /// Writes a PEER_INDEX_TABLE; RIB records written after it refer to
    /// these peers (at most 65535).
    pub fn write_peer_index(
        &mut self,
        time: Timestamp,
        collector: Ipv4Addr,
        view: &str,
        peers: &[Peer],
    ) -> io::Result<()> {
        if peers.len() > usize::from(u16::MAX) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "more than 65535 peers",
            ));
        }
        self.body.clear();
        self.body.extend_from_slice(&collector.octets());
        let v = &view.as_bytes()[..view.len().min(65535)];
        self.body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        self.body.extend_from_slice(v);
        self.body
            .extend_from_slice(&(peers.len() as u16).to_be_bytes());
        self.peers.clear();
        for (i, p) in peers.iter().enumerate() {
            let v6 = p.addr.is_ipv6();
            self.body.push(u8::from(v6) | 2);
            let bgp_id = match p.addr {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            self.body.extend_from_slice(&bgp_id.octets());
            match p.addr {
                IpAddr::V4(a) => self.body.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => self.body.extend_from_slice(&a.octets()),
            }
            self.body.extend_from_slice(&p.asn.0.to_be_bytes());
            self.peers.entry(*p).or_insert(i as u16);
        }
        self.seq = 0;
        self.record(time, 13, 1, false)
    }

    /// Writes one RIB record for `prefix` with the given routes (all for
    /// that prefix, their peers in the last peer index). Uses the ADD-PATH
    /// subtype if any route has a path identifier.
    pub fn write_rib(
        &mut self,
        time: Timestamp,
        prefix: Prefix,
        routes: &[&RibEntry],
    ) -> io::Result<()> {
        let add_path = routes.iter().any(|r| r.path_id.is_some());
        let afi = prefix.afi();
        let sub = match (afi, add_path) {
            (Afi::Ipv4, false) => 2,
            (Afi::Ipv6, false) => 4,
            (Afi::Ipv4, true) => 8,
            (Afi::Ipv6, true) => 10,
        };
        self.body.clear();
        self.body.extend_from_slice(&self.seq.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        let mut n = Vec::with_capacity(17);
        write_nlri(
            &mut n,
            &Nlri {
                prefix,
                path_id: None,
            },
            false,
        );
        self.body.extend_from_slice(&n);
        let count = u16::try_from(routes.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "more than 65535 routes"))?;
        self.body.extend_from_slice(&count.to_be_bytes());
        let mut attrs = Vec::with_capacity(128);
        for r in routes {
            let Some(&idx) = self.peers.get(&r.peer) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("peer {} not in the peer index", r.peer),
                ));
            };
            self.body.extend_from_slice(&idx.to_be_bytes());
            self.body.extend_from_slice(
                &(r.originated.secs.clamp(0, i64::from(u32::MAX)) as u32).to_be_bytes(),
            );
            if add_path {
                self.body
                    .extend_from_slice(&r.path_id.unwrap_or(0).to_be_bytes());
            }
            attrs.clear();
            encode_attributes(
                &r.attrs,
                EncodeOptions {
                    asn4: true,
                    add_path: false,
                },
                MpMode::Rib(afi),
                &mut attrs,
            );
            let al = u16::try_from(attrs.len()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "attributes longer than 65535 bytes",
                )
            })?;
            self.body.extend_from_slice(&al.to_be_bytes());
            self.body.extend_from_slice(&attrs);
        }
        self.record(time, 13, sub, false)
    }

    /// Writes a whole table dump: a PEER_INDEX_TABLE of every peer that
    /// appears (at `time`), then one RIB record per prefix (routes grouped by
    /// prefix in order of first appearance, at the time of the first route).
    /// Peers seen through a BMP-monitored router get a table of their own
    /// per router, named by the view name `bmp <router address>` (RFC 6396
    /// §4.3.1), followed by their RIB records.
    pub fn write_rib_dump(&mut self, time: Timestamp, routes: &[RibEntry]) -> io::Result<()> {
        let mut views: Vec<Option<IpAddr>> = Vec::new();
        for r in routes {
            if !views.contains(&r.peer.via) {
                views.push(r.peer.via);
            }
        }
        views.sort();
        if views.is_empty() {
            views.push(None);
        }
        for via in views {
            let mut peers: Vec<Peer> = Vec::new();
            let mut seen: HashMap<Peer, ()> = HashMap::new();
            let mut order: Vec<Prefix> = Vec::new();
            let mut by_prefix: HashMap<Prefix, Vec<&RibEntry>> = HashMap::new();
            for r in routes.iter().filter(|r| r.peer.via == via) {
                if seen.insert(r.peer, ()).is_none() {
                    peers.push(r.peer);
                }
                let v = by_prefix.entry(r.prefix).or_default();
                if v.is_empty() {
                    order.push(r.prefix);
                }
                v.push(r);
            }
            let view = via
                .map(|router| format!("{BMP_VIEW}{router}"))
                .unwrap_or_default();
            self.write_peer_index(time, Ipv4Addr::UNSPECIFIED, &view, &peers)?;
            for p in order {
                if let Some(v) = by_prefix.get(&p) {
                    for chunk in v.chunks(65535) {
                        self.write_rib(chunk[0].time, p, chunk)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes an UPDATE as BGP4MP_ET (or BGP4MP if not `extended`)
    /// MESSAGE_AS4 (MESSAGE_AS4_ADDPATH with path identifiers, the _LOCAL
    /// forms if `outgoing`). Split into several records if one BGP message
    /// cannot hold it.
    pub fn write_update(&mut self, u: &UpdateEntry) -> io::Result<()> {
        let add_path = u
            .withdrawn
            .iter()
            .chain(u.announced.iter())
            .any(|n| n.path_id.is_some());
        let opts = EncodeOptions {
            asn4: true,
            add_path,
        };
        let mut msg = Vec::with_capacity(4096);
        self.split_update(u, &u.withdrawn, &u.announced, opts, &mut msg)
    }

    fn split_update(
        &mut self,
        u: &UpdateEntry,
        w: &[Nlri],
        a: &[Nlri],
        opts: EncodeOptions,
        msg: &mut Vec<u8>,
    ) -> io::Result<()> {
        msg.clear();
        if encode_update(w, a, u.attrs.as_deref(), opts, msg) {
            let m = std::mem::take(msg);
            let r = self.message_record(u, &m, opts.add_path);
            *msg = m;
            return r;
        }
        if w.len() + a.len() <= 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "UPDATE attributes too long for one BGP message",
            ));
        }
        if w.len() > 1 || a.is_empty() {
            let (w1, w2) = w.split_at(w.len() / 2);
            self.split_update(u, w1, &[], opts, msg)?;
            self.split_update(u, w2, a, opts, msg)
        } else {
            let (a1, a2) = a.split_at(a.len() / 2);
            self.split_update(u, w, a1, opts, msg)?;
            self.split_update(u, &[], a2, opts, msg)
        }
    }

    fn message_record(&mut self, u: &UpdateEntry, msg: &[u8], add_path: bool) -> io::Result<()> {
        let sub = match (u.outgoing, add_path) {
            (false, false) => 4,
            (true, false) => 7,
            (false, true) => 9,
            (true, true) => 11,
        };
        self.body.clear();
        self.session_header(&u.peer, u.local.as_ref());
        self.body.extend_from_slice(msg);
        let ty = if u.extended { 17 } else { 16 };
        self.record(u.time, ty, sub, u.extended)
    }

    /// The peer and local fields of a BGP4MP record. A peer seen through a
    /// BMP-monitored router is written with local AS 0 and the router's
    /// address as the local address (an IPv4 router of an IPv6 peer as an
    /// IPv4-mapped address), which is how bugyo's decoder reads it back.
    fn session_header(&mut self, peer: &Peer, local: Option<&Peer>) {
        let unspecified = if peer.addr.is_ipv6() {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        let zero_local = Peer::new(bugyo_model::Asn(0), unspecified);
        let mut l = match peer.via {
            Some(router) => Peer::new(bugyo_model::Asn(0), router),
            None => *local.unwrap_or(&zero_local),
        };
        if l.addr.is_ipv6() != peer.addr.is_ipv6() {
            l.addr = match l.addr {
                IpAddr::V4(a) if peer.via.is_some() => IpAddr::V6(a.to_ipv6_mapped()),
                _ => unspecified,
            };
        }
        self.body.extend_from_slice(&peer.asn.0.to_be_bytes());
        self.body.extend_from_slice(&l.asn.0.to_be_bytes());
        self.body.extend_from_slice(&0u16.to_be_bytes());
        self.body
            .extend_from_slice(&(if peer.addr.is_ipv6() { 2u16 } else { 1 }).to_be_bytes());
        for a in [peer.addr, l.addr] {
            match a {
                IpAddr::V4(x) => self.body.extend_from_slice(&x.octets()),
                IpAddr::V6(x) => self.body.extend_from_slice(&x.octets()),
            }
        }
    }

    /// Writes a STATE_CHANGE_AS4 record (BGP4MP_ET if `extended`).
    pub fn write_state(&mut self, s: &StateChange) -> io::Result<()> {
        self.body.clear();
        self.session_header(&s.peer, None);
        self.body.extend_from_slice(&s.old.to_be_bytes());
        self.body.extend_from_slice(&s.new.to_be_bytes());
        let ty = if s.extended { 17 } else { 16 };
        self.record(s.time, ty, 5, s.extended)
    }

    /// Writes one entry: updates and state changes directly, a RIB entry as
    /// a one-route RIB record (its peer must be in the last peer index),
    /// `Other` not at all.
    pub fn write_entry(&mut self, e: &MrtEntry) -> io::Result<()> {
        match e {
            MrtEntry::Update(u) => self.write_update(u),
            MrtEntry::State(s) => self.write_state(s),
            MrtEntry::Rib(r) => self.write_rib(r.time, r.prefix, &[r]),
            MrtEntry::Other { .. } | MrtEntry::Message { .. } => Ok(()),
        }
    }
}
