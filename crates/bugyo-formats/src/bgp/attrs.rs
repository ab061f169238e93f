//! Path attributes of an UPDATE (RFC 4271 §4.3, §5): parsed into the model's
//! [`PathAttributes`], with MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) left
//! as byte ranges for the caller to decode with the right family and
//! ADD-PATH setting, and AS4_PATH / AS4_AGGREGATOR (RFC 6793) merged into
//! AS_PATH / AGGREGATOR for 2-byte sessions the way bgpdump does it.
//!
//! Errors follow RFC 7606: each bad attribute is reported with the action
//! that applies, and parsing goes on wherever the framing allows.

use super::{attr_type as t, be16, be32, BgpError, ErrorAction};
use bugyo_model::asn::AS_TRANS;
use bugyo_model::{
    Afi, Aggregator, AsPath, Asn, Community, LargeCommunity, Origin, PathAttributes, Segment,
    SegmentKind,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How to read the attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrOptions {
    /// The session uses 4-byte AS numbers in AS_PATH and AGGREGATOR
    /// (RFC 6793). When false, AS4_PATH and AS4_AGGREGATOR are merged in.
    pub asn4: bool,
}

/// The MP_REACH_NLRI attribute, NLRI still packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpReach<'a> {
    /// Address family (1 IPv4, 2 IPv6); 0 for the abbreviated form of
    /// TABLE_DUMP_V2 RIB entries (RFC 6396 §4.3.4), which has no AFI.
    pub afi: u16,
    /// Subsequent address family (1 unicast, 2 multicast, ...); 0 if abbreviated.
    pub safi: u8,
    /// The (global) next hop: IPv4 for a 4-byte next hop, else IPv6.
    pub next_hop: Option<IpAddr>,
    /// The link-local next hop of a 32-byte IPv6 next hop.
    pub link_local: Option<Ipv6Addr>,
    /// The packed NLRI (empty in the abbreviated form).
    pub nlri: &'a [u8],
    /// Position of `nlri` in the caller's numbering.
    pub nlri_pos: usize,
    /// Length in bytes of the attribute value up to the NLRI.
    pub header_len: usize,
}

/// The MP_UNREACH_NLRI attribute, NLRI still packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpUnreach<'a> {
    /// Address family.
    pub afi: u16,
    /// Subsequent address family.
    pub safi: u8,
    /// The packed withdrawn NLRI.
    pub nlri: &'a [u8],
    /// Position of `nlri` in the caller's numbering.
    pub nlri_pos: usize,
}

/// The result of [`parse_attributes`].
#[derive(Clone, Debug, Default)]
pub struct ParsedAttrs<'a> {
    /// The attributes the model keeps.
    pub attrs: PathAttributes,
    /// MP_REACH_NLRI, if present and readable.
    pub mp_reach: Option<MpReach<'a>>,
    /// MP_UNREACH_NLRI, if present and readable.
    pub mp_unreach: Option<MpUnreach<'a>>,
    /// Every problem found, in wire order.
    pub errors: Vec<BgpError>,
}

impl ParsedAttrs<'_> {
    /// The strongest action any error calls for.
    pub fn worst(&self) -> Option<ErrorAction> {
        self.errors.iter().map(|e| e.action).max()
    }
}

/// Where the MP attributes are in an attribute block (value ranges).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrScan {
    /// Byte range of the MP_REACH_NLRI value.
    pub mp_reach: Option<(usize, usize)>,
    /// Byte range of the MP_UNREACH_NLRI value.
    pub mp_unreach: Option<(usize, usize)>,
    /// Byte range of the whole MP_REACH_NLRI attribute, header included.
    pub mp_reach_attr: Option<(usize, usize)>,
    /// Byte range of the whole MP_UNREACH_NLRI attribute, header included.
    pub mp_unreach_attr: Option<(usize, usize)>,
}

/// The address family of an AFI number.
pub fn afi_of(afi: u16) -> Option<Afi> {
    match afi {
        1 => Some(Afi::Ipv4),
        2 => Some(Afi::Ipv6),
        _ => None,
    }
}

/// Walks the attribute headers only: checks the framing and finds the MP
/// attributes. `base` is added to error positions.
pub fn scan_attributes(raw: &[u8], base: usize) -> Result<AttrScan, BgpError> {
    let mut scan = AttrScan::default();
    let mut p = 0;
    while p < raw.len() {
        let (ty, vstart, vend) = attr_header(raw, p, base)?;
        if ty == t::MP_REACH && scan.mp_reach.is_none() {
            scan.mp_reach = Some((vstart, vend));
            scan.mp_reach_attr = Some((p, vend));
        } else if ty == t::MP_UNREACH && scan.mp_unreach.is_none() {
            scan.mp_unreach = Some((vstart, vend));
            scan.mp_unreach_attr = Some((p, vend));
        }
        p = vend;
    }
    Ok(scan)
}

/// Reads one attribute header at `p`: (type, value start, value end).
#[inline]
fn attr_header(raw: &[u8], p: usize, base: usize) -> Result<(u8, usize, usize), BgpError> {
    let (Some(&flags), Some(&ty)) = (raw.get(p), raw.get(p + 1)) else {
        return Err(BgpError::new(
            "path attributes",
            base + p,
            "truncated attribute header",
            ErrorAction::TreatAsWithdraw,
        ));
    };
    let (len, vstart) = if flags & 0x10 != 0 {
        match be16(raw, p + 2) {
            Some(l) => (usize::from(l), p + 4),
            None => {
                return Err(BgpError::new(
                    "path attributes",
                    base + p,
                    "truncated attribute header",
                    ErrorAction::TreatAsWithdraw,
                ))
            }
        }
    } else {
        match raw.get(p + 2) {
            Some(&l) => (usize::from(l), p + 3),
            None => {
                return Err(BgpError::new(
                    "path attributes",
                    base + p,
                    "truncated attribute header",
                    ErrorAction::TreatAsWithdraw,
                ))
            }
        }
    };
    let vend = vstart + len;
    if vend > raw.len() {
        return Err(BgpError::new(
            attr_name(ty),
            base + p,
            format!(
                "length {len} overruns the attribute block ({} bytes left)",
                raw.len() - vstart
            ),
            ErrorAction::TreatAsWithdraw,
        ));
    }
    Ok((ty, vstart, vend))
}

/// The name of an attribute type, for errors.
pub fn attr_name(ty: u8) -> &'static str {
    match ty {
        t::ORIGIN => "ORIGIN",
        t::AS_PATH => "AS_PATH",
        t::NEXT_HOP => "NEXT_HOP",
        t::MED => "MULTI_EXIT_DISC",
        t::LOCAL_PREF => "LOCAL_PREF",
        t::ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        t::AGGREGATOR => "AGGREGATOR",
        t::COMMUNITIES => "COMMUNITIES",
        t::MP_REACH => "MP_REACH_NLRI",
        t::MP_UNREACH => "MP_UNREACH_NLRI",
        t::AS4_PATH => "AS4_PATH",
        t::AS4_AGGREGATOR => "AS4_AGGREGATOR",
        t::LARGE_COMMUNITIES => "LARGE_COMMUNITY",
        t::OTC => "OTC",
        _ => "path attribute",
    }
}

/// Decodes an MP_REACH_NLRI value (full or TABLE_DUMP_V2 abbreviated form).
/// `pos` is the value's position in the caller's numbering.
pub fn parse_mp_reach(v: &[u8], pos: usize) -> Result<MpReach<'_>, BgpError> {
    let err = |at: usize, why: &str| {
        BgpError::new("MP_REACH_NLRI", pos + at, why, ErrorAction::SessionReset)
    };
    let Some(&first) = v.first() else {
        return Err(err(0, "empty attribute"));
    };
    if first != 0 {
        // Abbreviated: next-hop length and next hop only (RFC 6396 §4.3.4).
        let nhl = usize::from(first);
        let nh = v
            .get(1..1 + nhl)
            .ok_or_else(|| err(0, "next hop truncated"))?;
        let (next_hop, link_local) = next_hop_of(nh);
        return Ok(MpReach {
            afi: 0,
            safi: 0,
            next_hop,
            link_local,
            nlri: &[],
            nlri_pos: pos + v.len(),
            header_len: v.len(),
        });
    }
    let afi = be16(v, 0).ok_or_else(|| err(0, "truncated AFI"))?;
    let safi = *v.get(2).ok_or_else(|| err(2, "truncated SAFI"))?;
    let nhl = usize::from(
        *v.get(3)
            .ok_or_else(|| err(3, "truncated next hop length"))?,
    );
    let nh = v
        .get(4..4 + nhl)
        .ok_or_else(|| err(3, "next hop truncated"))?;
    let (next_hop, link_local) = next_hop_of(nh);
    let mut p = 4 + nhl;
    // Reserved octet, formerly the SNPA count: skip SNPAs as bgpdump does.
    let snpas = *v.get(p).ok_or_else(|| err(p, "truncated reserved octet"))?;
    p += 1;
    for _ in 0..snpas {
        let l = usize::from(*v.get(p).ok_or_else(|| err(p, "truncated SNPA"))?);
        p += 1 + l;
        if p > v.len() {
            return Err(err(p, "truncated SNPA"));
        }
    }
    Ok(MpReach {
        afi,
        safi,
        next_hop,
        link_local,
        nlri: &v[p..],
        nlri_pos: pos + p,
        header_len: p,
    })
}

/// Decodes an MP_UNREACH_NLRI value.
pub fn parse_mp_unreach(v: &[u8], pos: usize) -> Result<MpUnreach<'_>, BgpError> {
    let afi = be16(v, 0).ok_or_else(|| {
        BgpError::new(
            "MP_UNREACH_NLRI",
            pos,
            "truncated AFI",
            ErrorAction::SessionReset,
        )
    })?;
    let safi = *v.get(2).ok_or_else(|| {
        BgpError::new(
            "MP_UNREACH_NLRI",
            pos + 2,
            "truncated SAFI",
            ErrorAction::SessionReset,
        )
    })?;
    Ok(MpUnreach {
        afi,
        safi,
        nlri: &v[3..],
        nlri_pos: pos + 3,
    })
}

fn next_hop_of(nh: &[u8]) -> (Option<IpAddr>, Option<Ipv6Addr>) {
    match nh.len() {
        4 => (
            Some(IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))),
            None,
        ),
        16 | 32 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&nh[..16]);
            let ll = if nh.len() == 32 {
                let mut b = [0u8; 16];
                b.copy_from_slice(&nh[16..32]);
                Some(Ipv6Addr::from(b))
            } else {
                None
            };
            (Some(IpAddr::V6(Ipv6Addr::from(a))), ll)
        }
        _ => (None, None),
    }
}

/// Parses an AS_PATH or AS4_PATH value with `w`-byte AS numbers.
pub fn parse_as_path(
    v: &[u8],
    w: usize,
    field: &'static str,
    pos: usize,
    action: ErrorAction,
) -> Result<AsPath, BgpError> {
    let mut segments = Vec::new();
    let mut p = 0;
    while p < v.len() {
        let kind = match v[p] {
            1 => SegmentKind::Set,
            2 => SegmentKind::Sequence,
            3 => SegmentKind::ConfedSequence,
            4 => SegmentKind::ConfedSet,
            k => {
                return Err(BgpError::new(
                    field,
                    pos + p,
                    format!("unknown segment type {k}"),
                    action,
                ))
            }
        };
        let Some(&n) = v.get(p + 1) else {
            return Err(BgpError::new(
                field,
                pos + p,
                "truncated segment header",
                action,
            ));
        };
        let n = usize::from(n);
        let body = v.get(p + 2..p + 2 + n * w).ok_or_else(|| {
            BgpError::new(
                field,
                pos + p,
                format!("segment of {n} ASNs overruns the attribute"),
                action,
            )
        })?;
        let asns = if w == 4 {
            body.chunks_exact(4)
                .map(|c| Asn(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        } else {
            body.chunks_exact(2)
                .map(|c| Asn(u32::from(u16::from_be_bytes([c[0], c[1]]))))
                .collect()
        };
        segments.push(Segment { kind, asns });
        p += 2 + n * w;
    }
    Ok(AsPath { segments })
}

/// bgpdump's AS count: sequence members one each, a set as one.
fn as_count(p: &AsPath) -> usize {
    p.segments
        .iter()
        .map(|s| match s.kind {
            SegmentKind::Sequence | SegmentKind::ConfedSequence => s.asns.len(),
            SegmentKind::Set | SegmentKind::ConfedSet => 1,
        })
        .sum()
}

/// Merges AS4_PATH into a 2-byte AS_PATH (RFC 6793 §4.2.3), counting as
/// bgpdump does: keep the leading `count(AS_PATH) - count(AS4_PATH)` ASes of
/// AS_PATH, then append AS4_PATH's segments.
pub fn merge_as4_path(as_path: &AsPath, as4: &AsPath) -> AsPath {
    let need = as_count(as_path).saturating_sub(as_count(as4));
    let mut segments = Vec::with_capacity(as_path.segments.len() + as4.segments.len());
    let mut have = 0;
    for seg in &as_path.segments {
        if have >= need {
            break;
        }
        match seg.kind {
            SegmentKind::Set | SegmentKind::ConfedSet => {
                segments.push(seg.clone());
                have += 1;
            }
            _ => {
                let take = seg.asns.len().min(need - have);
                segments.push(Segment {
                    kind: seg.kind,
                    asns: seg.asns[..take].to_vec(),
                });
                have += take;
            }
        }
    }
    segments.extend(as4.segments.iter().cloned());
    AsPath { segments }
}

fn u32_attr(v: &[u8], ty: u8, pos: usize, errors: &mut Vec<BgpError>) -> Option<u32> {
    if v.len() == 4 {
        be32(v, 0)
    } else {
        errors.push(BgpError::new(
            attr_name(ty),
            pos,
            format!("length {} is not 4", v.len()),
            ErrorAction::TreatAsWithdraw,
        ));
        None
    }
}

fn aggregator_of(v: &[u8]) -> Option<Aggregator> {
    let (asn, a) = match v.len() {
        6 => (u32::from(be16(v, 0)?), 2),
        8 => (be32(v, 0)?, 4),
        _ => return None,
    };
    Some(Aggregator {
        asn: Asn(asn),
        addr: IpAddr::V4(Ipv4Addr::new(v[a], v[a + 1], v[a + 2], v[a + 3])),
    })
}

/// Parses a block of path attributes. `base` is the block's position in the
/// caller's numbering (added to error positions and MP NLRI positions).
///
/// The model's `next_hop` is the MP_REACH_NLRI next hop when that attribute
/// is present (and has one), else NEXT_HOP.
pub fn parse_attributes(raw: &[u8], base: usize, opts: AttrOptions) -> ParsedAttrs<'_> {
    let mut out = ParsedAttrs::default();
    let mut seen = [false; 256];
    let mut as_path: Option<AsPath> = None;
    let mut as4_path: Option<AsPath> = None;
    let mut aggregator: Option<Aggregator> = None;
    let mut as4_aggregator: Option<Aggregator> = None;
    let mut nh_attr: Option<IpAddr> = None;
    let asn_w = if opts.asn4 { 4 } else { 2 };
    let mut p = 0;
    while p < raw.len() {
        let (ty, vs, ve) = match attr_header(raw, p, base) {
            Ok(h) => h,
            Err(e) => {
                out.errors.push(e);
                break;
            }
        };
        let v = &raw[vs..ve];
        let vpos = base + vs;
        p = ve;
        if seen[usize::from(ty)] {
            let action = if ty == t::MP_REACH || ty == t::MP_UNREACH {
                ErrorAction::SessionReset
            } else {
                ErrorAction::AttributeDiscard
            };
            out.errors.push(BgpError::new(
                attr_name(ty),
                vpos,
                "repeated attribute",
                action,
            ));
            continue;
        }
        seen[usize::from(ty)] = true;
        let a = &mut out.attrs;
        match ty {
            t::ORIGIN => match v {
                [0] => a.origin = Some(Origin::Igp),
                [1] => a.origin = Some(Origin::Egp),
                [2] => a.origin = Some(Origin::Incomplete),
                _ => out.errors.push(BgpError::new(
                    "ORIGIN",
                    vpos,
                    format!("bad value {v:02x?}"),
                    ErrorAction::TreatAsWithdraw,
                )),
            },
            t::AS_PATH => {
                match parse_as_path(v, asn_w, "AS_PATH", vpos, ErrorAction::TreatAsWithdraw) {
                    Ok(path) => as_path = Some(path),
                    Err(e) => out.errors.push(e),
                }
            }
            t::NEXT_HOP => {
                if v.len() == 4 {
                    nh_attr = Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])));
                } else {
                    out.errors.push(BgpError::new(
                        "NEXT_HOP",
                        vpos,
                        format!("length {} is not 4", v.len()),
                        ErrorAction::TreatAsWithdraw,
                    ));
                }
            }
            t::MED => a.med = u32_attr(v, ty, vpos, &mut out.errors),
            t::LOCAL_PREF => a.local_pref = u32_attr(v, ty, vpos, &mut out.errors),
            t::ATOMIC_AGGREGATE => {
                if v.is_empty() {
                    a.atomic_aggregate = true;
                } else {
                    out.errors.push(BgpError::new(
                        "ATOMIC_AGGREGATE",
                        vpos,
                        "non-zero length",
                        ErrorAction::AttributeDiscard,
                    ));
                }
            }
            t::AGGREGATOR => match aggregator_of(v) {
                Some(g) => aggregator = Some(g),
                None => out.errors.push(BgpError::new(
                    "AGGREGATOR",
                    vpos,
                    format!("bad length {}", v.len()),
                    ErrorAction::AttributeDiscard,
                )),
            },
            t::COMMUNITIES => {
                if v.len().is_multiple_of(4) {
                    a.communities = v
                        .chunks_exact(4)
                        .map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                        .collect();
                } else {
                    out.errors.push(BgpError::new(
                        "COMMUNITIES",
                        vpos,
                        format!("length {} is not a multiple of 4", v.len()),
                        ErrorAction::TreatAsWithdraw,
                    ));
                }
            }
            t::LARGE_COMMUNITIES => {
                if v.len().is_multiple_of(12) {
                    a.large_communities = v
                        .chunks_exact(12)
                        .map(|c| {
                            LargeCommunity(
                                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                                u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                            )
                        })
                        .collect();
                } else {
                    out.errors.push(BgpError::new(
                        "LARGE_COMMUNITY",
                        vpos,
                        format!("length {} is not a multiple of 12", v.len()),
                        ErrorAction::TreatAsWithdraw,
                    ));
                }
            }
            t::OTC => {
                if let Some(x) = u32_attr(v, ty, vpos, &mut out.errors) {
                    a.otc = Some(Asn(x));
                }
            }
            t::AS4_PATH => {
                match parse_as_path(v, 4, "AS4_PATH", vpos, ErrorAction::AttributeDiscard) {
                    Ok(path) => as4_path = Some(path),
                    Err(e) => out.errors.push(e),
                }
            }
            t::AS4_AGGREGATOR => match (v.len(), aggregator_of(v)) {
                (8, Some(g)) => as4_aggregator = Some(g),
                _ => out.errors.push(BgpError::new(
                    "AS4_AGGREGATOR",
                    vpos,
                    format!("bad length {}", v.len()),
                    ErrorAction::AttributeDiscard,
                )),
            },
            t::MP_REACH => match parse_mp_reach(v, vpos) {
                Ok(m) => out.mp_reach = Some(m),
                Err(e) => out.errors.push(e),
            },
            t::MP_UNREACH => match parse_mp_unreach(v, vpos) {
                Ok(m) => out.mp_unreach = Some(m),
                Err(e) => out.errors.push(e),
            },
            _ => {}
        }
    }
    let a = &mut out.attrs;
    a.next_hop = match &out.mp_reach {
        Some(MpReach {
            next_hop: Some(nh),
            safi: 0..=2,
            ..
        }) => Some(*nh),
        _ => nh_attr,
    };
    // RFC 6793 merging for 2-byte sessions, bgpdump's way: an AGGREGATOR
    // naming a real AS (not AS_TRANS) means the AS4 attributes are ignored.
    let mut use_as4 = !opts.asn4;
    if use_as4 {
        if let (Some(g), Some(g4)) = (aggregator, as4_aggregator) {
            if g.asn == AS_TRANS {
                aggregator = Some(g4);
            } else {
                use_as4 = false;
            }
        }
    }
    a.aggregator = aggregator;
    a.as_path = match (as_path, as4_path) {
        (Some(p), Some(p4)) if use_as4 && as_count(&p) >= as_count(&p4) => merge_as4_path(&p, &p4),
        (Some(p), _) => p,
        (None, _) => AsPath::default(),
    };
    // Distinct sets are kept for as long as a route uses them, hundreds of
    // thousands at once: no spare capacity.
    a.shrink_to_fit();
    out
}

/// Appends the attribute-cache key of an attribute block to `key`: the raw
/// bytes minus MP_UNREACH_NLRI and minus the NLRI part of MP_REACH_NLRI, so
/// that UPDATEs that differ only in their prefixes share one key.
pub fn cache_key(raw: &[u8], scan: &AttrScan, key: &mut Vec<u8>) {
    let mut cuts: [(usize, usize); 2] = [(usize::MAX, usize::MAX); 2];
    if let Some((s, e)) = scan.mp_unreach_attr {
        cuts[0] = (s, e);
    }
    if let (Some((_, e)), Some((vs, _))) = (scan.mp_reach_attr, scan.mp_reach) {
        let hdr = parse_mp_reach(&raw[vs..e], vs)
            .map(|m| m.header_len)
            .unwrap_or(e - vs);
        cuts[1] = (vs + hdr, e);
    }
    cuts.sort_unstable();
    let mut p = 0;
    for (s, e) in cuts {
        if s == usize::MAX {
            break;
        }
        key.extend_from_slice(&raw[p..s]);
        p = e;
    }
    key.extend_from_slice(&raw[p.min(raw.len())..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_as4_path_like_bgpdump() {
        // AS_PATH 2-byte: 1 2 23456 23456; AS4_PATH: 70000 80000
        let raw = [
            0x40, 2, 10, 2, 4, 0, 1, 0, 2, 0x5b, 0xa0, 0x5b, 0xa0, // AS_PATH
            0xc0, 17, 10, 2, 2, 0, 1, 0x11, 0x70, 0, 1, 0x38, 0x80, // AS4_PATH
        ];
        let p = parse_attributes(&raw, 0, AttrOptions { asn4: false });
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.attrs.as_path.to_string(), "1 2 70000 80000");
        let p4 = parse_attributes(&raw[..13], 0, AttrOptions { asn4: false });
        assert_eq!(p4.attrs.as_path.to_string(), "1 2 23456 23456");
    }

    #[test]
    fn bad_attributes_are_reported_with_positions() {
        let raw = [0x40, 1, 2, 0, 0, 0x40, 5, 3, 0, 0, 0];
        let p = parse_attributes(&raw, 10, AttrOptions { asn4: true });
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[0].field, "ORIGIN");
        assert_eq!(p.errors[0].pos, 13);
        assert_eq!(p.worst(), Some(ErrorAction::TreatAsWithdraw));
        let trunc = [0x40, 2, 9, 2];
        let p = parse_attributes(&trunc, 0, AttrOptions { asn4: true });
        assert_eq!(p.errors[0].field, "AS_PATH");
    }
}
