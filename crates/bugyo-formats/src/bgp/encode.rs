//! Writing UPDATE messages and path attributes from the model types: the
//! inverse of [`super::parse_update`] and [`super::parse_attributes`], used
//! by the MRT writer (and later by the live speaker).

use super::attr_type as t;
use super::message::MARKER;
use super::nlri::{write_nlri, Nlri};
use bugyo_model::asn::AS_TRANS;
use bugyo_model::{Afi, AsPath, Origin, PathAttributes, SegmentKind};
use std::net::IpAddr;

/// How to encode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// 4-byte AS numbers in AS_PATH and AGGREGATOR (RFC 6793). When false,
    /// larger ASNs become AS_TRANS and AS4_PATH carries the real path.
    pub asn4: bool,
    /// Write ADD-PATH path identifiers (RFC 7911).
    pub add_path: bool,
}

/// Where the next hop and the multiprotocol NLRI go.
#[derive(Clone, Copy, Debug)]
pub enum MpMode<'a> {
    /// Only the NEXT_HOP attribute (for an IPv4 next hop).
    Classic,
    /// A TABLE_DUMP_V2 RIB entry of this family: NEXT_HOP for IPv4 routes
    /// with an IPv4 next hop, else the abbreviated MP_REACH_NLRI (next hop only).
    Rib(Afi),
    /// An UPDATE: NEXT_HOP if `classic_nh`, plus MP_REACH / MP_UNREACH
    /// with these families and prefixes.
    Update {
        /// Write NEXT_HOP (IPv4 prefixes in the NLRI field).
        classic_nh: bool,
        /// MP_REACH_NLRI family and prefixes.
        reach: Option<(Afi, &'a [Nlri])>,
        /// MP_UNREACH_NLRI family and prefixes.
        unreach: Option<(Afi, &'a [Nlri])>,
    },
}

fn put_attr(out: &mut Vec<u8>, flags: u8, ty: u8, value: &[u8]) {
    if value.len() > 255 {
        out.extend_from_slice(&[flags | 0x10, ty]);
        out.extend_from_slice(&(value.len().min(65535) as u16).to_be_bytes());
        out.extend_from_slice(&value[..value.len().min(65535)]);
    } else {
        out.extend_from_slice(&[flags, ty, value.len() as u8]);
        out.extend_from_slice(value);
    }
}

fn as_path_bytes(p: &AsPath, four: bool, out: &mut Vec<u8>) {
    for seg in &p.segments {
        let code = match seg.kind {
            SegmentKind::Set => 1,
            SegmentKind::Sequence => 2,
            SegmentKind::ConfedSequence => 3,
            SegmentKind::ConfedSet => 4,
        };
        let chunks: Vec<&[bugyo_model::Asn]> = if seg.asns.is_empty() {
            vec![&[][..]]
        } else {
            seg.asns.chunks(255).collect()
        };
        for chunk in chunks {
            out.push(code);
            out.push(chunk.len() as u8);
            for a in chunk {
                if four {
                    out.extend_from_slice(&a.0.to_be_bytes());
                } else {
                    let v = if a.0 > 0xffff { AS_TRANS.0 } else { a.0 };
                    out.extend_from_slice(&(v as u16).to_be_bytes());
                }
            }
        }
    }
}

fn next_hop_bytes(nh: Option<IpAddr>, v: &mut Vec<u8>) {
    match nh {
        Some(IpAddr::V4(a)) => {
            v.push(4);
            v.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            v.push(16);
            v.extend_from_slice(&a.octets());
        }
        None => v.push(0),
    }
}

fn afi_code(a: Afi) -> u16 {
    match a {
        Afi::Ipv4 => 1,
        Afi::Ipv6 => 2,
    }
}

/// Appends the path attributes (without the total length field).
pub fn encode_attributes(
    a: &PathAttributes,
    opts: EncodeOptions,
    mp: MpMode<'_>,
    out: &mut Vec<u8>,
) {
    let mut v = Vec::with_capacity(64);
    if let Some(o) = a.origin {
        let b = match o {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        };
        put_attr(out, 0x40, t::ORIGIN, &[b]);
    }
    as_path_bytes(&a.as_path, opts.asn4, &mut v);
    put_attr(out, 0x40, t::AS_PATH, &v);
    let classic = match mp {
        MpMode::Classic => true,
        MpMode::Rib(afi) => afi == Afi::Ipv4 && matches!(a.next_hop, Some(IpAddr::V4(_))),
        MpMode::Update { classic_nh, .. } => classic_nh,
    };
    if classic {
        if let Some(IpAddr::V4(nh)) = a.next_hop {
            put_attr(out, 0x40, t::NEXT_HOP, &nh.octets());
        }
    }
    if let Some(m) = a.med {
        put_attr(out, 0x80, t::MED, &m.to_be_bytes());
    }
    if let Some(l) = a.local_pref {
        put_attr(out, 0x40, t::LOCAL_PREF, &l.to_be_bytes());
    }
    if a.atomic_aggregate {
        put_attr(out, 0x40, t::ATOMIC_AGGREGATE, &[]);
    }
    let mut need_as4_aggr = None;
    if let Some(g) = a.aggregator {
        if let IpAddr::V4(addr) = g.addr {
            v.clear();
            if opts.asn4 {
                v.extend_from_slice(&g.asn.0.to_be_bytes());
            } else {
                let asn = if g.asn.0 > 0xffff {
                    AS_TRANS.0
                } else {
                    g.asn.0
                };
                if g.asn.0 > 0xffff {
                    need_as4_aggr = Some((g.asn.0, addr));
                }
                v.extend_from_slice(&(asn as u16).to_be_bytes());
            }
            v.extend_from_slice(&addr.octets());
            put_attr(out, 0xc0, t::AGGREGATOR, &v);
        }
    }
    if !a.communities.is_empty() {
        v.clear();
        for c in &a.communities {
            v.extend_from_slice(&c.0.to_be_bytes());
        }
        put_attr(out, 0xc0, t::COMMUNITIES, &v);
    }
    match mp {
        MpMode::Classic => {}
        MpMode::Rib(_) => {
            if !classic && a.next_hop.is_some() {
                v.clear();
                next_hop_bytes(a.next_hop, &mut v);
                put_attr(out, 0x80, t::MP_REACH, &v);
            }
        }
        MpMode::Update { reach, unreach, .. } => {
            if let Some((afi, nlri)) = reach {
                v.clear();
                v.extend_from_slice(&afi_code(afi).to_be_bytes());
                v.push(1);
                next_hop_bytes(a.next_hop, &mut v);
                v.push(0);
                for n in nlri {
                    write_nlri(&mut v, n, opts.add_path);
                }
                put_attr(out, 0x80, t::MP_REACH, &v);
            }
            if let Some((afi, nlri)) = unreach {
                put_unreach(afi, nlri, opts.add_path, out);
            }
        }
    }
    if !opts.asn4 && a.as_path.iter().any(|x| x.0 > 0xffff) {
        v.clear();
        as_path_bytes(&a.as_path, true, &mut v);
        put_attr(out, 0xc0, t::AS4_PATH, &v);
    }
    if let Some((asn, addr)) = need_as4_aggr {
        v.clear();
        v.extend_from_slice(&asn.to_be_bytes());
        v.extend_from_slice(&addr.octets());
        put_attr(out, 0xc0, t::AS4_AGGREGATOR, &v);
    }
    if !a.large_communities.is_empty() {
        v.clear();
        for c in &a.large_communities {
            v.extend_from_slice(&c.0.to_be_bytes());
            v.extend_from_slice(&c.1.to_be_bytes());
            v.extend_from_slice(&c.2.to_be_bytes());
        }
        put_attr(out, 0xc0, t::LARGE_COMMUNITIES, &v);
    }
    if let Some(o) = a.otc {
        put_attr(out, 0xc0, t::OTC, &o.0.to_be_bytes());
    }
}

fn put_unreach(afi: Afi, nlri: &[Nlri], add_path: bool, out: &mut Vec<u8>) {
    let mut v = Vec::with_capacity(3 + nlri.len() * 6);
    v.extend_from_slice(&afi_code(afi).to_be_bytes());
    v.push(1);
    for n in nlri {
        write_nlri(&mut v, n, add_path);
    }
    put_attr(out, 0x80, t::MP_UNREACH, &v);
}

/// Appends a whole UPDATE message (marker, length, type, body). IPv4
/// prefixes go in the classic fields (or in MP_REACH_NLRI when the next hop
/// is IPv6 and no IPv6 prefix is announced), IPv6 prefixes in
/// MP_REACH/MP_UNREACH. Returns false (and appends nothing) if the message
/// would exceed 65535 bytes; split the prefix lists and try again.
pub fn encode_update(
    withdrawn: &[Nlri],
    announced: &[Nlri],
    attrs: Option<&PathAttributes>,
    opts: EncodeOptions,
    out: &mut Vec<u8>,
) -> bool {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, 2]);
    let w4: Vec<Nlri> = withdrawn
        .iter()
        .filter(|n| n.prefix.afi() == Afi::Ipv4)
        .copied()
        .collect();
    let w6: Vec<Nlri> = withdrawn
        .iter()
        .filter(|n| n.prefix.afi() == Afi::Ipv6)
        .copied()
        .collect();
    let a6: Vec<Nlri> = announced
        .iter()
        .filter(|n| n.prefix.afi() == Afi::Ipv6)
        .copied()
        .collect();
    let a4: Vec<Nlri> = announced
        .iter()
        .filter(|n| n.prefix.afi() == Afi::Ipv4)
        .copied()
        .collect();
    let v6_nh = matches!(attrs.and_then(|a| a.next_hop), Some(IpAddr::V6(_)));
    let empty: Vec<Nlri> = Vec::new();
    let (reach, a4_classic) = if !a6.is_empty() {
        (Some((Afi::Ipv6, &a6[..])), &a4)
    } else if v6_nh && !a4.is_empty() {
        (Some((Afi::Ipv4, &a4[..])), &empty)
    } else {
        (None, &a4)
    };
    let wl_pos = out.len();
    out.extend_from_slice(&[0, 0]);
    for n in &w4 {
        write_nlri(out, n, opts.add_path);
    }
    let wl = out.len() - wl_pos - 2;
    let al_pos = out.len();
    out.extend_from_slice(&[0, 0]);
    let unreach = if w6.is_empty() {
        None
    } else {
        Some((Afi::Ipv6, &w6[..]))
    };
    match attrs {
        Some(a) => encode_attributes(
            a,
            opts,
            MpMode::Update {
                classic_nh: !a4_classic.is_empty(),
                reach,
                unreach,
            },
            out,
        ),
        None => {
            if let Some((afi, n)) = unreach {
                put_unreach(afi, n, opts.add_path, out);
            }
        }
    }
    let al = out.len() - al_pos - 2;
    for n in a4_classic {
        write_nlri(out, n, opts.add_path);
    }
    let total = out.len() - start;
    if total > 65535 || wl > 65535 || al > 65535 {
        out.truncate(start);
        return false;
    }
    out[wl_pos..wl_pos + 2].copy_from_slice(&(wl as u16).to_be_bytes());
    out[al_pos..al_pos + 2].copy_from_slice(&(al as u16).to_be_bytes());
    out[start + 16..start + 18].copy_from_slice(&(total as u16).to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::super::{parse_message, parse_update, BgpMessage, UpdateOptions};
    use super::*;
    use bugyo_model::{Aggregator, Asn, Community, LargeCommunity};

    #[test]
    fn round_trip() {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence([64500, 4_200_000_000]),
            next_hop: Some("2001:db8::1".parse().unwrap()),
            med: Some(0),
            local_pref: Some(100),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: Asn(70000),
                addr: "192.0.2.1".parse().unwrap(),
            }),
            communities: vec![Community(0xfde8_0001)],
            large_communities: vec![LargeCommunity(1, 2, 3)],
            otc: Some(Asn(65000)),
        };
        let ann = vec![Nlri {
            prefix: "2001:db8::/32".parse().unwrap(),
            path_id: None,
        }];
        let wd = vec![
            Nlri {
                prefix: "10.0.0.0/8".parse().unwrap(),
                path_id: None,
            },
            Nlri {
                prefix: "2001:db8:1::/48".parse().unwrap(),
                path_id: None,
            },
        ];
        for asn4 in [true, false] {
            let mut buf = Vec::new();
            assert!(encode_update(
                &wd,
                &ann,
                Some(&attrs),
                EncodeOptions {
                    asn4,
                    add_path: false
                },
                &mut buf
            ));
            let (m, n) = parse_message(&buf).unwrap();
            assert_eq!(n, buf.len());
            let BgpMessage::Update(body) = m else {
                panic!()
            };
            let u = parse_update(
                body,
                UpdateOptions {
                    asn4,
                    add_path: false,
                },
            )
            .unwrap();
            assert!(u.errors.is_empty(), "{:?}", u.errors);
            assert_eq!(u.attrs.as_ref(), Some(&attrs));
            assert_eq!(u.announced, ann);
            assert_eq!(u.withdrawn, wd);
        }
    }
}
