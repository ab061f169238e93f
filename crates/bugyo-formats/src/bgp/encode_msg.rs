//! Writing the BGP messages a speaker sends besides UPDATE: OPEN with its
//! capabilities (RFC 5492), KEEPALIVE and NOTIFICATION (RFC 4271 §4), and
//! reading the capabilities a live session negotiates (multiprotocol,
//! 4-octet AS, route refresh, ADD-PATH, graceful restart).

use super::message::{Open, MARKER};
use bugyo_model::asn::AS_TRANS;
use std::net::Ipv4Addr;

/// Capability codes (IANA "Capability Codes" registry).
pub mod capability {
    /// Multiprotocol extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Graceful restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 4-octet AS numbers (RFC 6793).
    pub const ASN4: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
}

/// ADD-PATH send/receive values (RFC 7911 §4).
pub mod add_path_mode {
    /// The sender can receive multiple paths.
    pub const RECEIVE: u8 = 1;
    /// The sender can send multiple paths.
    pub const SEND: u8 = 2;
    /// Both.
    pub const BOTH: u8 = 3;
}

/// The graceful restart capability (RFC 4724 §3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart State bit: the sender has restarted.
    pub restart_state: bool,
    /// Restart time in seconds (12 bits: at most 4095).
    pub restart_time: u16,
    /// (AFI, SAFI, forwarding state preserved) per family.
    pub families: Vec<(u16, u8, bool)>,
}

/// A multiprotocol capability for one (AFI, SAFI).
pub fn cap_multiprotocol(afi: u16, safi: u8) -> (u8, Vec<u8>) {
    let a = afi.to_be_bytes();
    (capability::MULTIPROTOCOL, vec![a[0], a[1], 0, safi])
}

/// The 4-octet AS number capability.
pub fn cap_asn4(asn: u32) -> (u8, Vec<u8>) {
    (capability::ASN4, asn.to_be_bytes().to_vec())
}

/// The route refresh capability.
pub fn cap_route_refresh() -> (u8, Vec<u8>) {
    (capability::ROUTE_REFRESH, Vec::new())
}

/// The ADD-PATH capability: (AFI, SAFI, [`add_path_mode`]) triples.
pub fn cap_add_path(families: &[(u16, u8, u8)]) -> (u8, Vec<u8>) {
    let mut v = Vec::with_capacity(families.len() * 4);
    for (afi, safi, mode) in families {
        v.extend_from_slice(&afi.to_be_bytes());
        v.push(*safi);
        v.push(*mode);
    }
    (capability::ADD_PATH, v)
}

/// The graceful restart capability. A restart time above 4095 is cut to 4095.
pub fn cap_graceful_restart(gr: &GracefulRestart) -> (u8, Vec<u8>) {
    let mut head = gr.restart_time.min(0x0fff);
    if gr.restart_state {
        head |= 0x8000;
    }
    let mut v = head.to_be_bytes().to_vec();
    for (afi, safi, fwd) in &gr.families {
        v.extend_from_slice(&afi.to_be_bytes());
        v.push(*safi);
        v.push(if *fwd { 0x80 } else { 0 });
    }
    (capability::GRACEFUL_RESTART, v)
}

impl Open {
    /// An OPEN for version 4 from `asn` (AS_TRANS in the 2-byte field when
    /// it does not fit; add [`cap_asn4`] to the capabilities for the real one).
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_id: Ipv4Addr,
        capabilities: Vec<(u8, Vec<u8>)>,
    ) -> Open {
        Open {
            version: 4,
            asn: u16::try_from(asn).unwrap_or(AS_TRANS.0 as u16),
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The sender's AS number: the 4-octet capability if present, else the
    /// 2-byte field.
    pub fn peer_asn(&self) -> u32 {
        self.asn4().unwrap_or(u32::from(self.asn))
    }

    /// True if the capability `code` was advertised.
    pub fn has_capability(&self, code: u8) -> bool {
        self.capabilities.iter().any(|(c, _)| *c == code)
    }

    /// The (AFI, SAFI) pairs of the multiprotocol capabilities.
    pub fn multiprotocol(&self) -> Vec<(u16, u8)> {
        self.capabilities
            .iter()
            .filter(|(c, v)| *c == capability::MULTIPROTOCOL && v.len() == 4)
            .map(|(_, v)| (u16::from_be_bytes([v[0], v[1]]), v[3]))
            .collect()
    }

    /// The graceful restart capability, if advertised (the last one wins).
    pub fn graceful_restart(&self) -> Option<GracefulRestart> {
        let (_, v) = self
            .capabilities
            .iter()
            .rev()
            .find(|(c, v)| *c == capability::GRACEFUL_RESTART && v.len() >= 2)?;
        let head = u16::from_be_bytes([v[0], v[1]]);
        Some(GracefulRestart {
            restart_state: head & 0x8000 != 0,
            restart_time: head & 0x0fff,
            families: v[2..]
                .chunks_exact(4)
                .map(|c| (u16::from_be_bytes([c[0], c[1]]), c[2], c[3] & 0x80 != 0))
                .collect(),
        })
    }
}

/// Appends the header of a message of type `ty` with a body of `body_len`
/// bytes. False if the message would be longer than 4096 bytes (RFC 4271).
fn header(out: &mut Vec<u8>, ty: u8, body_len: usize) -> bool {
    let Ok(len) = u16::try_from(19 + body_len) else {
        return false;
    };
    if len > 4096 {
        return false;
    }
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(ty);
    true
}

/// Appends an OPEN message, each capability in its own optional parameter
/// (type 2). Returns false (and appends nothing) if the capabilities do not
/// fit in the 255 bytes of optional parameters or one is longer than 253.
pub fn encode_open(open: &Open, out: &mut Vec<u8>) -> bool {
    let mut params = Vec::new();
    for (code, value) in &open.capabilities {
        let Ok(clen) = u8::try_from(value.len()) else {
            return false;
        };
        let Some(plen) = clen.checked_add(2) else {
            return false;
        };
        params.extend_from_slice(&[2, plen, *code, clen]);
        params.extend_from_slice(value);
    }
    let Ok(opt_len) = u8::try_from(params.len()) else {
        return false;
    };
    if !header(out, 1, 10 + params.len()) {
        return false;
    }
    out.push(open.version);
    out.extend_from_slice(&open.asn.to_be_bytes());
    out.extend_from_slice(&open.hold_time.to_be_bytes());
    out.extend_from_slice(&open.bgp_id.octets());
    out.push(opt_len);
    out.extend_from_slice(&params);
    true
}

/// Appends a KEEPALIVE message.
pub fn encode_keepalive(out: &mut Vec<u8>) {
    header(out, 4, 0);
}

/// Appends a NOTIFICATION message; `data` is cut to fit in 4096 bytes.
pub fn encode_notification(code: u8, subcode: u8, data: &[u8], out: &mut Vec<u8>) {
    let data = &data[..data.len().min(4096 - 21)];
    header(out, 3, 2 + data.len());
    out.push(code);
    out.push(subcode);
    out.extend_from_slice(data);
}

/// Appends an End-of-RIB marker (RFC 4724 §2) for (AFI, SAFI): an empty
/// UPDATE for IPv4 unicast, else an UPDATE with an empty MP_UNREACH_NLRI.
pub fn encode_end_of_rib(afi: u16, safi: u8, out: &mut Vec<u8>) {
    if (afi, safi) == (1, 1) {
        header(out, 2, 4);
        out.extend_from_slice(&[0, 0, 0, 0]);
    } else {
        let a = afi.to_be_bytes();
        header(out, 2, 10);
        out.extend_from_slice(&[0, 0, 0, 6, 0x80, 15, 3, a[0], a[1], safi]);
    }
}

/// If the UPDATE body is an End-of-RIB marker, its (AFI, SAFI).
pub fn end_of_rib(body: &[u8]) -> Option<(u16, u8)> {
    match body {
        [0, 0, 0, 0] => Some((1, 1)),
        [0, 0, 0, 6, f, 15, 3, a0, a1, safi] if f & 0x10 == 0 => {
            Some((u16::from_be_bytes([*a0, *a1]), *safi))
        }
        [0, 0, 0, 7, f, 15, 0, 3, a0, a1, safi] if f & 0x10 != 0 => {
            Some((u16::from_be_bytes([*a0, *a1]), *safi))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::{parse_message, BgpMessage, Notification};
    use super::super::{parse_update, UpdateOptions};
    use super::*;

    #[test]
    fn open_round_trip() {
        let gr = GracefulRestart {
            restart_state: true,
            restart_time: 120,
            families: vec![(1, 1, false), (2, 1, true)],
        };
        let open = Open::new(
            4_200_000_000,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![
                cap_multiprotocol(1, 1),
                cap_multiprotocol(2, 1),
                cap_asn4(4_200_000_000),
                cap_route_refresh(),
                cap_add_path(&[(1, 1, add_path_mode::RECEIVE), (2, 1, add_path_mode::BOTH)]),
                cap_graceful_restart(&gr),
            ],
        );
        assert_eq!(open.asn, 23456);
        let mut out = Vec::new();
        assert!(encode_open(&open, &mut out));
        let (msg, len) = parse_message(&out).unwrap();
        assert_eq!(len, out.len());
        let BgpMessage::Open(back) = msg else {
            panic!("not an OPEN")
        };
        assert_eq!(back, open);
        assert_eq!(back.peer_asn(), 4_200_000_000);
        assert_eq!(back.multiprotocol(), vec![(1, 1), (2, 1)]);
        assert_eq!(back.add_path(), vec![(1, 1, 1), (2, 1, 3)]);
        assert!(back.has_capability(capability::ROUTE_REFRESH));
        assert_eq!(back.graceful_restart(), Some(gr));
        let small = Open::new(65001, 0, Ipv4Addr::new(10, 0, 0, 1), vec![]);
        assert_eq!(small.peer_asn(), 65001);
        let too_big = Open::new(1, 0, Ipv4Addr::LOCALHOST, vec![(9, vec![0; 200]); 2]);
        assert!(!encode_open(&too_big, &mut out));
    }

    #[test]
    fn keepalive_notification_eor_round_trip() {
        let mut out = Vec::new();
        encode_keepalive(&mut out);
        assert_eq!(parse_message(&out).unwrap(), (BgpMessage::Keepalive, 19));
        out.clear();
        encode_notification(2, 2, &[0xfd, 0xe9], &mut out);
        let (m, len) = parse_message(&out).unwrap();
        assert_eq!(len, 23);
        assert_eq!(
            m,
            BgpMessage::Notification(Notification {
                code: 2,
                subcode: 2,
                data: &[0xfd, 0xe9]
            })
        );
        for (afi, safi) in [(1, 1), (2, 1)] {
            out.clear();
            encode_end_of_rib(afi, safi, &mut out);
            let (m, _) = parse_message(&out).unwrap();
            let BgpMessage::Update(body) = m else {
                panic!("not an UPDATE")
            };
            assert_eq!(end_of_rib(body), Some((afi, safi)));
            let u = parse_update(body, UpdateOptions::default()).unwrap();
            assert!(u.withdrawn.is_empty() && u.announced.is_empty() && u.errors.is_empty());
        }
        assert_eq!(end_of_rib(&[0, 0, 0, 0, 24, 10, 0, 0]), None);
    }
}
