//! The RPKI-to-Router protocol (RTR) PDU codec, sans-IO.
//!
//! Covers version 0 (RFC 6810), version 1 (RFC 8210) and the ASPA PDU of
//! version 2 (draft-ietf-sidrops-8210bis, in the layout of drafts -10/-11
//! that StayRTR and the APNIC test suite use: flags, AFI flags, provider
//! count, customer ASN, provider ASNs).
//!
//! [`Pdu::encode`] writes one PDU, [`Pdu::decode`] reads exactly one, and
//! [`Decoder`] cuts a byte stream into PDUs (`push` bytes, then `next` until
//! it returns `None`). Every error names the field and its byte offset; no
//! input makes the decoder panic.

use bugyo_model::{Asn, Prefix, Vrp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The highest protocol version this codec understands.
pub const MAX_VERSION: u8 = 2;

/// The longest PDU accepted (a Router Key with a large key, as StayRTR
/// allows); anything longer is treated as a corrupt stream.
pub const MAX_PDU_LEN: u32 = 262_168;

/// The length of the common PDU header.
pub const HEADER_LEN: usize = 8;

/// PDU type numbers (RFC 8210 §5 and the 8210bis draft).
pub mod pdu_type {
    /// Serial Notify.
    pub const SERIAL_NOTIFY: u8 = 0;
    /// Serial Query.
    pub const SERIAL_QUERY: u8 = 1;
    /// Reset Query.
    pub const RESET_QUERY: u8 = 2;
    /// Cache Response.
    pub const CACHE_RESPONSE: u8 = 3;
    /// IPv4 Prefix.
    pub const IPV4_PREFIX: u8 = 4;
    /// IPv6 Prefix.
    pub const IPV6_PREFIX: u8 = 6;
    /// End of Data.
    pub const END_OF_DATA: u8 = 7;
    /// Cache Reset.
    pub const CACHE_RESET: u8 = 8;
    /// Router Key (version 1 and later).
    pub const ROUTER_KEY: u8 = 9;
    /// Error Report.
    pub const ERROR_REPORT: u8 = 10;
    /// ASPA (version 2).
    pub const ASPA: u8 = 11;
}

/// Error codes of the Error Report PDU (RFC 8210 §12).
pub mod error_code {
    /// Corrupt Data.
    pub const CORRUPT_DATA: u16 = 0;
    /// Internal Error.
    pub const INTERNAL_ERROR: u16 = 1;
    /// No Data Available.
    pub const NO_DATA_AVAILABLE: u16 = 2;
    /// Invalid Request.
    pub const INVALID_REQUEST: u16 = 3;
    /// Unsupported Protocol Version.
    pub const UNSUPPORTED_VERSION: u16 = 4;
    /// Unsupported PDU Type.
    pub const UNSUPPORTED_PDU_TYPE: u16 = 5;
    /// Withdrawal of Unknown Record.
    pub const WITHDRAWAL_OF_UNKNOWN: u16 = 6;
    /// Duplicate Announcement Received.
    pub const DUPLICATE_ANNOUNCEMENT: u16 = 7;
    /// Unexpected Protocol Version.
    pub const UNEXPECTED_VERSION: u16 = 8;
}

/// A malformed PDU: which field, where (offset from the start of the stream
/// for [`Decoder`], of the PDU for [`Pdu::decode`]) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RTR {field} at byte {offset}: {problem}")]
pub struct RtrError {
    /// The field that is wrong (`length`, `version`, `pdu type`, ...).
    pub field: &'static str,
    /// Its byte offset.
    pub offset: u64,
    /// What is wrong with it.
    pub problem: String,
    /// The Error Report code a peer should be sent for it.
    pub code: u16,
    /// True when the stream cannot be resynchronised after this error.
    pub fatal: bool,
}

impl RtrError {
    fn new(field: &'static str, offset: usize, code: u16, problem: impl Into<String>) -> Self {
        RtrError {
            field,
            offset: offset as u64,
            problem: problem.into(),
            code,
            fatal: false,
        }
    }
}

/// Refresh, retry and expire intervals in seconds (End of Data, version 1+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    /// How long to wait before the next Serial Query.
    pub refresh: u32,
    /// How long to wait before retrying a failed query.
    pub retry: u32,
    /// How long data may be used without a successful refresh.
    pub expire: u32,
}

/// One RTR PDU. `version` is the protocol version in its header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pdu {
    /// The cache has new data.
    SerialNotify {
        /// Protocol version.
        version: u8,
        /// Cache session.
        session_id: u16,
        /// The cache's newest serial.
        serial: u32,
    },
    /// The router asks for changes since `serial`.
    SerialQuery {
        /// Protocol version.
        version: u8,
        /// Cache session the router knows.
        session_id: u16,
        /// The router's serial.
        serial: u32,
    },
    /// The router asks for the whole data set.
    ResetQuery {
        /// Protocol version.
        version: u8,
    },
    /// The cache starts sending data.
    CacheResponse {
        /// Protocol version.
        version: u8,
        /// Cache session.
        session_id: u16,
    },
    /// An IPv4 or IPv6 Prefix PDU (the family follows the prefix).
    Prefix {
        /// Protocol version.
        version: u8,
        /// True to announce, false to withdraw.
        announce: bool,
        /// The VRP.
        vrp: Vrp,
    },
    /// The cache has sent everything up to `serial`.
    EndOfData {
        /// Protocol version.
        version: u8,
        /// Cache session.
        session_id: u16,
        /// Serial of the data sent.
        serial: u32,
        /// Intervals (absent in version 0).
        timing: Option<Timing>,
    },
    /// The cache cannot send incremental data: the router must reset.
    CacheReset {
        /// Protocol version.
        version: u8,
    },
    /// A BGPsec router key (recognised, not used).
    RouterKey {
        /// Protocol version.
        version: u8,
        /// True to announce, false to withdraw.
        announce: bool,
        /// Subject Key Identifier.
        ski: [u8; 20],
        /// The router's AS.
        asn: Asn,
        /// Subject Public Key Info (DER).
        spki: Vec<u8>,
    },
    /// An error, with a copy of the offending PDU and a text.
    ErrorReport {
        /// Protocol version.
        version: u8,
        /// One of [`error_code`].
        code: u16,
        /// The erroneous PDU, possibly empty.
        pdu: Vec<u8>,
        /// Diagnostic text (UTF-8, possibly empty).
        text: String,
    },
    /// An ASPA record (version 2).
    Aspa {
        /// Protocol version.
        version: u8,
        /// True to announce, false to withdraw.
        announce: bool,
        /// AFI flags of drafts -10/-11 (bit 0 IPv4, bit 1 IPv6).
        afi_flags: u8,
        /// The customer AS.
        customer: Asn,
        /// Its providers (empty on withdrawal).
        providers: Vec<Asn>,
    },
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn header(out: &mut Vec<u8>, version: u8, typ: u8, field: u16, len: usize) {
    out.push(version);
    out.push(typ);
    out.extend_from_slice(&field.to_be_bytes());
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

impl Pdu {
    /// The protocol version in the PDU's header.
    pub fn version(&self) -> u8 {
        match self {
            Pdu::SerialNotify { version, .. }
            | Pdu::SerialQuery { version, .. }
            | Pdu::ResetQuery { version }
            | Pdu::CacheResponse { version, .. }
            | Pdu::Prefix { version, .. }
            | Pdu::EndOfData { version, .. }
            | Pdu::CacheReset { version }
            | Pdu::RouterKey { version, .. }
            | Pdu::ErrorReport { version, .. }
            | Pdu::Aspa { version, .. } => *version,
        }
    }

    /// The PDU type number.
    pub fn pdu_type(&self) -> u8 {
        match self {
            Pdu::SerialNotify { .. } => pdu_type::SERIAL_NOTIFY,
            Pdu::SerialQuery { .. } => pdu_type::SERIAL_QUERY,
            Pdu::ResetQuery { .. } => pdu_type::RESET_QUERY,
            Pdu::CacheResponse { .. } => pdu_type::CACHE_RESPONSE,
            Pdu::Prefix { vrp, .. } => match vrp.prefix.addr() {
                IpAddr::V4(_) => pdu_type::IPV4_PREFIX,
                IpAddr::V6(_) => pdu_type::IPV6_PREFIX,
            },
            Pdu::EndOfData { .. } => pdu_type::END_OF_DATA,
            Pdu::CacheReset { .. } => pdu_type::CACHE_RESET,
            Pdu::RouterKey { .. } => pdu_type::ROUTER_KEY,
            Pdu::ErrorReport { .. } => pdu_type::ERROR_REPORT,
            Pdu::Aspa { .. } => pdu_type::ASPA,
        }
    }

    /// Appends the PDU's wire form to `out`. An End of Data PDU is written
    /// in the version-0 layout when `timing` is `None`, else in the
    /// version-1 layout; an ASPA withdrawal carries no providers.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Pdu::SerialNotify {
                version,
                session_id,
                serial,
            } => {
                header(out, *version, pdu_type::SERIAL_NOTIFY, *session_id, 12);
                out.extend_from_slice(&serial.to_be_bytes());
            }
            Pdu::SerialQuery {
                version,
                session_id,
                serial,
            } => {
                header(out, *version, pdu_type::SERIAL_QUERY, *session_id, 12);
                out.extend_from_slice(&serial.to_be_bytes());
            }
            Pdu::ResetQuery { version } => header(out, *version, pdu_type::RESET_QUERY, 0, 8),
            Pdu::CacheResponse {
                version,
                session_id,
            } => header(out, *version, pdu_type::CACHE_RESPONSE, *session_id, 8),
            Pdu::Prefix {
                version,
                announce,
                vrp,
            } => {
                let (typ, len) = match vrp.prefix.addr() {
                    IpAddr::V4(_) => (pdu_type::IPV4_PREFIX, 20),
                    IpAddr::V6(_) => (pdu_type::IPV6_PREFIX, 32),
                };
                header(out, *version, typ, 0, len);
                out.extend_from_slice(&[u8::from(*announce), vrp.prefix.len(), vrp.max_len, 0]);
                match vrp.prefix.addr() {
                    IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                    IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
                }
                out.extend_from_slice(&vrp.asn.0.to_be_bytes());
            }
            Pdu::EndOfData {
                version,
                session_id,
                serial,
                timing,
            } => {
                let len = if timing.is_some() { 24 } else { 12 };
                header(out, *version, pdu_type::END_OF_DATA, *session_id, len);
                out.extend_from_slice(&serial.to_be_bytes());
                if let Some(t) = timing {
                    out.extend_from_slice(&t.refresh.to_be_bytes());
                    out.extend_from_slice(&t.retry.to_be_bytes());
                    out.extend_from_slice(&t.expire.to_be_bytes());
                }
            }
            Pdu::CacheReset { version } => header(out, *version, pdu_type::CACHE_RESET, 0, 8),
            Pdu::RouterKey {
                version,
                announce,
                ski,
                asn,
                spki,
            } => {
                let field = u16::from(u8::from(*announce)) << 8;
                header(out, *version, pdu_type::ROUTER_KEY, field, 32 + spki.len());
                out.extend_from_slice(ski);
                out.extend_from_slice(&asn.0.to_be_bytes());
                out.extend_from_slice(spki);
            }
            Pdu::ErrorReport {
                version,
                code,
                pdu,
                text,
            } => {
                let len = 16 + pdu.len() + text.len();
                header(out, *version, pdu_type::ERROR_REPORT, *code, len);
                out.extend_from_slice(&(pdu.len() as u32).to_be_bytes());
                out.extend_from_slice(pdu);
                out.extend_from_slice(&(text.len() as u32).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Pdu::Aspa {
                version,
                announce,
                afi_flags,
                customer,
                providers,
            } => {
                let providers: &[Asn] = if *announce { providers } else { &[] };
                header(out, *version, pdu_type::ASPA, 0, 16 + 4 * providers.len());
                out.push(u8::from(*announce));
                out.push(*afi_flags);
                out.extend_from_slice(&(providers.len() as u16).to_be_bytes());
                out.extend_from_slice(&customer.0.to_be_bytes());
                for p in providers {
                    out.extend_from_slice(&p.0.to_be_bytes());
                }
            }
        }
    }

    /// The PDU's wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one PDU: `b` must be the whole PDU, its length field
    /// equal to `b.len()`. Offsets in errors are relative to `b`.
    pub fn decode(b: &[u8]) -> Result<Pdu, RtrError> {
        if b.len() < HEADER_LEN {
            return Err(RtrError::new(
                "header",
                0,
                error_code::CORRUPT_DATA,
                format!("{} bytes, a header needs 8", b.len()),
            ));
        }
        let version = b[0];
        let typ = b[1];
        let field = u16_at(b, 2);
        let len = u32_at(b, 4) as usize;
        if len != b.len() {
            return Err(RtrError::new(
                "length",
                4,
                error_code::CORRUPT_DATA,
                format!("says {len} but the PDU has {} bytes", b.len()),
            ));
        }
        if version > MAX_VERSION {
            return Err(RtrError::new(
                "version",
                0,
                error_code::UNSUPPORTED_VERSION,
                format!("version {version} is not supported"),
            ));
        }
        let want = |expected: usize| -> Result<(), RtrError> {
            if len == expected {
                Ok(())
            } else {
                Err(RtrError::new(
                    "length",
                    4,
                    error_code::CORRUPT_DATA,
                    format!("{len} for PDU type {typ}, expected {expected}"),
                ))
            }
        };
        let zero = |at: usize, name: &'static str| -> Result<(), RtrError> {
            match b.get(at) {
                Some(0) | None => Ok(()),
                Some(v) => Err(RtrError::new(
                    name,
                    at,
                    error_code::CORRUPT_DATA,
                    format!("must be zero, is {v}"),
                )),
            }
        };
        match typ {
            pdu_type::SERIAL_NOTIFY | pdu_type::SERIAL_QUERY => {
                want(12)?;
                let serial = u32_at(b, 8);
                Ok(if typ == pdu_type::SERIAL_NOTIFY {
                    Pdu::SerialNotify {
                        version,
                        session_id: field,
                        serial,
                    }
                } else {
                    Pdu::SerialQuery {
                        version,
                        session_id: field,
                        serial,
                    }
                })
            }
            pdu_type::RESET_QUERY => {
                want(8)?;
                Ok(Pdu::ResetQuery { version })
            }
            pdu_type::CACHE_RESPONSE => {
                want(8)?;
                Ok(Pdu::CacheResponse {
                    version,
                    session_id: field,
                })
            }
            pdu_type::IPV4_PREFIX | pdu_type::IPV6_PREFIX => {
                let v4 = typ == pdu_type::IPV4_PREFIX;
                want(if v4 { 20 } else { 32 })?;
                let flags = b[8];
                if flags > 1 {
                    return Err(RtrError::new(
                        "flags",
                        8,
                        error_code::CORRUPT_DATA,
                        format!("unknown flags {flags:#04x}"),
                    ));
                }
                zero(11, "zero")?;
                let (plen, max_len) = (b[9], b[10]);
                let family_max = if v4 { 32 } else { 128 };
                if plen > family_max {
                    return Err(RtrError::new(
                        "prefix length",
                        9,
                        error_code::CORRUPT_DATA,
                        format!("{plen} is longer than {family_max}"),
                    ));
                }
                if max_len < plen || max_len > family_max {
                    return Err(RtrError::new(
                        "max length",
                        10,
                        error_code::CORRUPT_DATA,
                        format!("{max_len} is not between {plen} and {family_max}"),
                    ));
                }
                let (addr, asn_at) = if v4 {
                    (IpAddr::V4(Ipv4Addr::from(u32_at(b, 12))), 16)
                } else {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(&b[12..28]);
                    (IpAddr::V6(Ipv6Addr::from(o)), 28)
                };
                let prefix = Prefix::new(addr, plen).map_err(|e| {
                    RtrError::new("prefix", 12, error_code::CORRUPT_DATA, e.to_string())
                })?;
                if prefix.addr() != addr {
                    return Err(RtrError::new(
                        "prefix",
                        12,
                        error_code::CORRUPT_DATA,
                        format!("{addr}/{plen} has host bits set"),
                    ));
                }
                Ok(Pdu::Prefix {
                    version,
                    announce: flags == 1,
                    vrp: Vrp {
                        prefix,
                        max_len,
                        asn: Asn(u32_at(b, asn_at)),
                    },
                })
            }
            pdu_type::END_OF_DATA => {
                let timing = if version == 0 {
                    want(12)?;
                    None
                } else {
                    want(24)?;
                    Some(Timing {
                        refresh: u32_at(b, 12),
                        retry: u32_at(b, 16),
                        expire: u32_at(b, 20),
                    })
                };
                Ok(Pdu::EndOfData {
                    version,
                    session_id: field,
                    serial: u32_at(b, 8),
                    timing,
                })
            }
            pdu_type::CACHE_RESET => {
                want(8)?;
                Ok(Pdu::CacheReset { version })
            }
            pdu_type::ROUTER_KEY => {
                if version == 0 {
                    return Err(RtrError::new(
                        "pdu type",
                        1,
                        error_code::UNSUPPORTED_PDU_TYPE,
                        "Router Key in version 0",
                    ));
                }
                if len < 32 {
                    return Err(RtrError::new(
                        "length",
                        4,
                        error_code::CORRUPT_DATA,
                        format!("{len} is too short for a Router Key (32)"),
                    ));
                }
                let flags = b[2];
                if flags > 1 {
                    return Err(RtrError::new(
                        "flags",
                        2,
                        error_code::CORRUPT_DATA,
                        format!("unknown flags {flags:#04x}"),
                    ));
                }
                let mut ski = [0u8; 20];
                ski.copy_from_slice(&b[8..28]);
                Ok(Pdu::RouterKey {
                    version,
                    announce: flags == 1,
                    ski,
                    asn: Asn(u32_at(b, 28)),
                    spki: b[32..].to_vec(),
                })
            }
            pdu_type::ERROR_REPORT => {
                if len < 16 {
                    return Err(RtrError::new(
                        "length",
                        4,
                        error_code::CORRUPT_DATA,
                        format!("{len} is too short for an Error Report (16)"),
                    ));
                }
                let pdu_len = u32_at(b, 8) as usize;
                if pdu_len > len - 16 {
                    return Err(RtrError::new(
                        "encapsulated PDU length",
                        8,
                        error_code::CORRUPT_DATA,
                        format!("{pdu_len} does not fit in {len}"),
                    ));
                }
                let pdu = b[12..12 + pdu_len].to_vec();
                let text_at = 12 + pdu_len;
                let text_len = u32_at(b, text_at) as usize;
                if text_len != len - text_at - 4 {
                    return Err(RtrError::new(
                        "error text length",
                        text_at,
                        error_code::CORRUPT_DATA,
                        format!("{text_len}, but {} bytes remain", len - text_at - 4),
                    ));
                }
                let raw = &b[text_at + 4..];
                let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
                Ok(Pdu::ErrorReport {
                    version,
                    code: field,
                    pdu,
                    text: String::from_utf8_lossy(raw).into_owned(),
                })
            }
            pdu_type::ASPA => {
                if version < 2 {
                    return Err(RtrError::new(
                        "pdu type",
                        1,
                        error_code::UNSUPPORTED_PDU_TYPE,
                        format!("ASPA in version {version}"),
                    ));
                }
                if len < 16 {
                    return Err(RtrError::new(
                        "length",
                        4,
                        error_code::CORRUPT_DATA,
                        format!("{len} is too short for an ASPA PDU (16)"),
                    ));
                }
                let flags = b[8];
                if flags > 1 {
                    return Err(RtrError::new(
                        "flags",
                        8,
                        error_code::CORRUPT_DATA,
                        format!("unknown flags {flags:#04x}"),
                    ));
                }
                let count = usize::from(u16_at(b, 10));
                if len != 16 + 4 * count {
                    return Err(RtrError::new(
                        "provider count",
                        10,
                        error_code::CORRUPT_DATA,
                        format!("{count} providers do not fill length {len}"),
                    ));
                }
                let providers = (0..count).map(|i| Asn(u32_at(b, 16 + 4 * i))).collect();
                Ok(Pdu::Aspa {
                    version,
                    announce: flags == 1,
                    afi_flags: b[9],
                    customer: Asn(u32_at(b, 12)),
                    providers,
                })
            }
            other => Err(RtrError::new(
                "pdu type",
                1,
                error_code::UNSUPPORTED_PDU_TYPE,
                format!("unknown PDU type {other}"),
            )),
        }
    }
}

/// Cuts a byte stream into PDUs.
///
/// A PDU whose content is malformed but whose length is sane is skipped
/// with an error and decoding continues after it. A header with an
/// impossible length makes the stream unusable: `next` returns that error
/// once (with `fatal` set) and `None` afterwards, and further input is
/// ignored.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    consumed: u64,
    broken: bool,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet decoded.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True after a fatal framing error.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The raw bytes of the PDU that `next` would decode, if complete
    /// (for copying into an Error Report).
    pub fn peek_raw(&self) -> Option<&[u8]> {
        let rest = &self.buf[self.start..];
        let len = u32_at(rest, 4) as usize;
        if rest.len() >= HEADER_LEN && len >= HEADER_LEN && rest.len() >= len {
            Some(&rest[..len])
        } else {
            None
        }
    }
}

impl Iterator for Decoder {
    type Item = Result<Pdu, RtrError>;

    /// The next PDU, an error for a malformed one, or `None` when more
    /// bytes are needed.
    fn next(&mut self) -> Option<Result<Pdu, RtrError>> {
        if self.broken {
            return None;
        }
        let rest = &self.buf[self.start..];
        if rest.len() < HEADER_LEN {
            return None;
        }
        let len = u32_at(rest, 4);
        if !(HEADER_LEN as u32..=MAX_PDU_LEN).contains(&len) {
            self.broken = true;
            let offset = self.consumed + 4;
            self.buf.clear();
            self.start = 0;
            return Some(Err(RtrError {
                field: "length",
                offset,
                problem: format!("{len} is outside 8..={MAX_PDU_LEN}"),
                code: error_code::CORRUPT_DATA,
                fatal: true,
            }));
        }
        let len = len as usize;
        if rest.len() < len {
            return None;
        }
        let result = Pdu::decode(&rest[..len]).map_err(|mut e| {
            e.offset += self.consumed;
            e
        });
        self.start += len;
        self.consumed += len as u64;
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrp(s: &str, max_len: u8, asn: u32) -> Vrp {
        let (a, l) = s.split_once('/').unwrap_or((s, "0"));
        Vrp {
            prefix: Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap(),
            max_len,
            asn: Asn(asn),
        }
    }

    #[test]
    fn ipv4_prefix_layout() {
        let pdu = Pdu::Prefix {
            version: 1,
            announce: true,
            vrp: vrp("192.0.2.0/24", 24, 65001),
        };
        let b = pdu.to_bytes();
        assert_eq!(
            b,
            [1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 24, 0, 192, 0, 2, 0, 0, 0, 0xfd, 0xe9]
        );
        assert_eq!(Pdu::decode(&b), Ok(pdu));
    }

    #[test]
    fn end_of_data_layouts() {
        let v0 = Pdu::EndOfData {
            version: 0,
            session_id: 7,
            serial: 9,
            timing: None,
        };
        assert_eq!(v0.to_bytes().len(), 12);
        assert_eq!(Pdu::decode(&v0.to_bytes()), Ok(v0));
        let v1 = Pdu::EndOfData {
            version: 1,
            session_id: 7,
            serial: 9,
            timing: Some(Timing {
                refresh: 1,
                retry: 2,
                expire: 3,
            }),
        };
        assert_eq!(v1.to_bytes().len(), 24);
        assert_eq!(Pdu::decode(&v1.to_bytes()), Ok(v1));
    }

    #[test]
    fn errors_name_field_and_offset() {
        let mut b = Pdu::Prefix {
            version: 1,
            announce: true,
            vrp: vrp("192.0.2.0/24", 24, 65001),
        }
        .to_bytes();
        b[10] = 20;
        let e = Pdu::decode(&b).unwrap_err();
        assert_eq!((e.field, e.offset), ("max length", 10));

        let mut d = Decoder::new();
        d.push(&Pdu::ResetQuery { version: 1 }.to_bytes());
        d.push(&b);
        assert!(matches!(d.next(), Some(Ok(Pdu::ResetQuery { .. }))));
        let e = d.next().unwrap().unwrap_err();
        assert_eq!((e.field, e.offset), ("max length", 18));
        assert!(d.next().is_none());
    }

    #[test]
    fn bad_length_breaks_stream() {
        let mut d = Decoder::new();
        d.push(&[1, 2, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
        let e = d.next().unwrap().unwrap_err();
        assert!(e.fatal);
        assert_eq!(e.field, "length");
        assert!(d.next().is_none());
    }

    #[test]
    fn error_report_with_nul_text() {
        let mut b = vec![0, 10, 0, 4, 0, 0, 0, 0];
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(b"bad\0");
        let len = b.len() as u32;
        b[4..8].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            Pdu::decode(&b),
            Ok(Pdu::ErrorReport {
                version: 0,
                code: 4,
                pdu: vec![],
                text: "bad".into()
            })
        );
    }
}
