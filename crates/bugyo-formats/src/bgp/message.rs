//! The BGP message header (RFC 4271 §4.1) and the message types other than
//! UPDATE, decoded just enough to recognise them: OPEN (with its
//! capabilities, RFC 5492), NOTIFICATION, KEEPALIVE and ROUTE-REFRESH
//! (RFC 2918).

use super::{be16, BgpError, ErrorAction};
use std::net::Ipv4Addr;

/// The 16 bytes of all-ones that start every BGP message.
pub const MARKER: [u8; 16] = [0xff; 16];

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// BGP version (4).
    pub version: u8,
    /// The 2-byte "My Autonomous System" field (AS_TRANS for 4-byte ASNs).
    pub asn: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// The BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities (code, value) from the optional parameters.
    pub capabilities: Vec<(u8, Vec<u8>)>,
}

impl Open {
    /// The 4-byte AS number capability (code 65), if advertised.
    pub fn asn4(&self) -> Option<u32> {
        self.capabilities
            .iter()
            .find(|(c, v)| *c == 65 && v.len() == 4)
            .map(|(_, v)| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// The ADD-PATH capability (code 69): (AFI, SAFI, send/receive) triples.
    pub fn add_path(&self) -> Vec<(u16, u8, u8)> {
        self.capabilities
            .iter()
            .filter(|(c, _)| *c == 69)
            .flat_map(|(_, v)| {
                v.chunks_exact(4)
                    .map(|c| (u16::from_be_bytes([c[0], c[1]]), c[2], c[3]))
            })
            .collect()
    }
}

/// A NOTIFICATION message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification<'a> {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: &'a [u8],
}

/// A BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BgpMessage<'a> {
    /// OPEN (type 1).
    Open(Open),
    /// UPDATE (type 2): the body, for [`super::parse_update`].
    Update(&'a [u8]),
    /// NOTIFICATION (type 3).
    Notification(Notification<'a>),
    /// KEEPALIVE (type 4).
    Keepalive,
    /// ROUTE-REFRESH (type 5; 128 for the pre-standard form).
    RouteRefresh {
        /// Address family.
        afi: u16,
        /// Subsequent address family.
        safi: u8,
    },
}

impl BgpMessage<'_> {
    /// A short name: `OPEN`, `UPDATE`, `NOTIFICATION`, `KEEPALIVE`, `ROUTE-REFRESH`.
    pub fn name(&self) -> &'static str {
        match self {
            BgpMessage::Open(_) => "OPEN",
            BgpMessage::Update(_) => "UPDATE",
            BgpMessage::Notification(_) => "NOTIFICATION",
            BgpMessage::Keepalive => "KEEPALIVE",
            BgpMessage::RouteRefresh { .. } => "ROUTE-REFRESH",
        }
    }
}

/// Reads one message from the start of `buf` (marker, length, type, body).
/// Returns the message and the number of bytes it took. A declared length
/// longer than `buf` is an error; lengths up to 65535 are accepted (RFC 8654).
pub fn parse_message(buf: &[u8]) -> Result<(BgpMessage<'_>, usize), BgpError> {
    if buf.len() < 19 {
        return Err(BgpError::new(
            "message header",
            0,
            format!("only {} bytes", buf.len()),
            ErrorAction::SessionReset,
        ));
    }
    if buf[..16] != MARKER {
        return Err(BgpError::new(
            "marker",
            0,
            "not all ones",
            ErrorAction::SessionReset,
        ));
    }
    let len = usize::from(be16(buf, 16).unwrap_or(0));
    if len < 19 || len > buf.len() {
        return Err(BgpError::new(
            "message length",
            16,
            format!("{len} with {} bytes present", buf.len()),
            ErrorAction::SessionReset,
        ));
    }
    let body = &buf[19..len];
    let msg = parse_body(buf[18], body, 19)?;
    Ok((msg, len))
}

/// Decodes a message body of type `ty`; `pos` is the body's position.
pub fn parse_body(ty: u8, body: &[u8], pos: usize) -> Result<BgpMessage<'_>, BgpError> {
    match ty {
        1 => parse_open(body, pos).map(BgpMessage::Open),
        2 => Ok(BgpMessage::Update(body)),
        3 => {
            if body.len() < 2 {
                return Err(BgpError::new(
                    "NOTIFICATION",
                    pos,
                    "shorter than 2 bytes",
                    ErrorAction::SessionReset,
                ));
            }
            Ok(BgpMessage::Notification(Notification {
                code: body[0],
                subcode: body[1],
                data: &body[2..],
            }))
        }
        4 => Ok(BgpMessage::Keepalive),
        5 | 128 => {
            let afi = be16(body, 0).ok_or_else(|| {
                BgpError::new("ROUTE-REFRESH", pos, "truncated", ErrorAction::SessionReset)
            })?;
            let safi = *body.get(3).ok_or_else(|| {
                BgpError::new("ROUTE-REFRESH", pos, "truncated", ErrorAction::SessionReset)
            })?;
            Ok(BgpMessage::RouteRefresh { afi, safi })
        }
        t => Err(BgpError::new(
            "message type",
            pos - 1,
            format!("unknown type {t}"),
            ErrorAction::SessionReset,
        )),
    }
}

fn parse_open(b: &[u8], pos: usize) -> Result<Open, BgpError> {
    let short = || BgpError::new("OPEN", pos, "truncated", ErrorAction::SessionReset);
    if b.len() < 10 {
        return Err(short());
    }
    let mut open = Open {
        version: b[0],
        asn: u16::from_be_bytes([b[1], b[2]]),
        hold_time: u16::from_be_bytes([b[3], b[4]]),
        bgp_id: Ipv4Addr::new(b[5], b[6], b[7], b[8]),
        capabilities: Vec::new(),
    };
    let opt_len = usize::from(b[9]);
    let params = b.get(10..10 + opt_len).ok_or_else(short)?;
    let mut p = 0;
    while p + 2 <= params.len() {
        let (ptype, plen) = (params[p], usize::from(params[p + 1]));
        let pv = params.get(p + 2..p + 2 + plen).ok_or_else(|| {
            BgpError::new(
                "OPEN optional parameter",
                pos + 10 + p,
                "truncated",
                ErrorAction::SessionReset,
            )
        })?;
        if ptype == 2 {
            let mut q = 0;
            while q + 2 <= pv.len() {
                let (code, clen) = (pv[q], usize::from(pv[q + 1]));
                let Some(cv) = pv.get(q + 2..q + 2 + clen) else {
                    break;
                };
                open.capabilities.push((code, cv.to_vec()));
                q += 2 + clen;
            }
        }
        p += 2 + plen;
    }
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_and_open() {
        let mut k = MARKER.to_vec();
        k.extend_from_slice(&[0, 19, 4]);
        assert_eq!(parse_message(&k).unwrap(), (BgpMessage::Keepalive, 19));
        let mut o = MARKER.to_vec();
        o.extend_from_slice(&[
            0, 37, 1, 4, 0x5b, 0xa0, 0, 90, 192, 0, 2, 1, 8, 2, 6, 65, 4, 0, 1, 0x11, 0x70,
        ]);
        let (m, _) = parse_message(&o).unwrap();
        let BgpMessage::Open(open) = m else {
            panic!("not open")
        };
        assert_eq!(open.asn4(), Some(70000));
        assert!(parse_message(&o[..30]).is_err());
    }
}
